/**
 * Bounded request-body reading. A body is never buffered past `limit` bytes: a Content-Length over the
 * limit is refused before any byte is read, and a chunked body is refused as soon as it crosses the limit.
 *
 * This is on the hot path of every invocation, so it uses module-level listeners and a state object
 * instead of per-request closures and promises.
 */
import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  readonly limit: number;
  /** Bytes seen before giving up (the declared Content-Length when that alone was over the limit). */
  readonly seen: number;
  constructor(limit: number, seen: number) {
    super(`request body of ${seen} bytes exceeds the limit of ${limit} bytes`);
    this.name = 'BodyTooLargeError';
    this.limit = limit;
    this.seen = seen;
  }
}

/** The client went away (or the socket failed) before the body was complete. Nothing can be answered. */
export class BodyAbortedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BodyAbortedError';
  }
}

/** Receives the outcome of collectBody: exactly one of the two methods is called, once. */
export interface BodyTarget {
  onBody(body: Buffer): void;
  onBodyError(err: BodyTooLargeError | BodyAbortedError): void;
}

interface BodyState {
  limit: number;
  target: BodyTarget;
  first: Buffer | undefined;
  chunks: Buffer[] | undefined;
  size: number;
  done: boolean;
}

const kBody = Symbol('seclake.body');
type WithState = IncomingMessage & { [kBody]?: BodyState };
const EMPTY = Buffer.alloc(0);

/**
 * Collects the body of `req` into one Buffer and hands it to `target`. `declaredLength` is the
 * Content-Length header value, if any. After an over-limit refusal the rest of the body keeps flowing
 * and is dropped (see discardRest to bound that).
 */
export function collectBody(req: IncomingMessage, limit: number, declaredLength: string | undefined, target: BodyTarget): void {
  if (declaredLength !== undefined) {
    const n = Number(declaredLength);
    if (n > limit) {
      target.onBodyError(new BodyTooLargeError(limit, n));
      return;
    }
  }
  (req as WithState)[kBody] = { limit, target, first: undefined, chunks: undefined, size: 0, done: false };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
  req.on('close', onClose);
}

function onData(this: WithState, chunk: Buffer): void {
  const st = this[kBody]!;
  if (st.done) return;
  st.size += chunk.length;
  if (st.size > st.limit) {
    st.done = true;
    st.first = undefined;
    st.chunks = undefined;
    st.target.onBodyError(new BodyTooLargeError(st.limit, st.size));
    return;
  }
  if (st.first === undefined) st.first = chunk;
  else if (st.chunks === undefined) st.chunks = [st.first, chunk];
  else st.chunks.push(chunk);
}

function onEnd(this: WithState): void {
  const st = this[kBody]!;
  if (st.done) return;
  st.done = true;
  const body = st.chunks !== undefined ? Buffer.concat(st.chunks, st.size) : (st.first ?? EMPTY);
  st.first = undefined;
  st.chunks = undefined;
  st.target.onBody(body);
}

function onError(this: WithState, err: Error): void {
  const st = this[kBody]!;
  if (st.done) return;
  st.done = true;
  st.target.onBodyError(new BodyAbortedError(`request body failed: ${err.message}`, { cause: err }));
}

function onClose(this: WithState): void {
  const st = this[kBody]!;
  if (st.done || this.complete) return;
  st.done = true;
  st.target.onBodyError(new BodyAbortedError('client closed the connection before the body was complete'));
}

/** Promise form of collectBody (convenience for mounted routes and tests; not used on the hot path). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    collectBody(req, limit, req.headers['content-length'], { onBody: resolve, onBodyError: reject });
  });
}

/**
 * After refusing a body, discard (never keep) what the client still sends, so it can finish writing and
 * read the error reply instead of seeing a reset. Bounded: after `maxBytes` or `maxMs` the socket is
 * destroyed.
 */
export function discardRest(req: IncomingMessage, maxBytes: number, maxMs: number): void {
  if (req.complete) return;
  let seen = 0;
  const timer = setTimeout(() => req.socket.destroy(), maxMs);
  timer.unref();
  const stop = (): void => clearTimeout(timer);
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > maxBytes) {
      stop();
      req.socket.destroy();
    }
  });
  req.once('end', stop);
  req.once('close', stop);
  req.once('error', stop);
  req.resume();
}
