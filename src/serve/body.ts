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

/**
 * The request bodies of all requests in flight together may hold at most `max` bytes (a body declared with
 * Content-Length reserves its length up front; a chunked one is charged as it arrives). Released by releaseBody.
 */
export interface BodyBudget {
  used: number;
  readonly max: number;
}

/** Taking this body would put the bytes held by all in-flight bodies over the budget: answer 503 and retry later. */
export class BodyBudgetError extends Error {
  readonly max: number;
  constructor(max: number, wanted: number) {
    super(`the request bodies in flight would exceed the in-flight budget of ${max} bytes (this body: ${wanted} bytes so far)`);
    this.name = 'BodyBudgetError';
    this.max = max;
  }
}

/** Receives the outcome of collectBody: exactly one of the two methods is called, once. */
export interface BodyTarget {
  onBody(body: Buffer): void;
  onBodyError(err: BodyTooLargeError | BodyAbortedError | BodyBudgetError): void;
}

interface BodyState {
  limit: number;
  target: BodyTarget;
  first: Buffer | undefined;
  chunks: Buffer[] | undefined;
  size: number;
  done: boolean;
  budget: BodyBudget | undefined;
  /** Bytes of `budget` this body holds. */
  charged: number;
}

const kBody = Symbol('seclake.body');
type WithState = IncomingMessage & { [kBody]?: BodyState };
const EMPTY = Buffer.alloc(0);

/**
 * Collects the body of `req` into one Buffer and hands it to `target`. `declaredLength` is the
 * Content-Length header value, if any. After an over-limit refusal the rest of the body keeps flowing
 * and is dropped (see discardRest to bound that).
 */
export function collectBody(req: IncomingMessage, limit: number, declaredLength: string | undefined, target: BodyTarget, budget?: BodyBudget): void {
  let charged = 0;
  if (declaredLength !== undefined) {
    const n = Number(declaredLength);
    if (n > limit) {
      target.onBodyError(new BodyTooLargeError(limit, n));
      return;
    }
    if (budget !== undefined && n > 0) {
      if (budget.used + n > budget.max) {
        target.onBodyError(new BodyBudgetError(budget.max, n));
        return;
      }
      budget.used += n;
      charged = n;
    }
  }
  (req as WithState)[kBody] = { limit, target, first: undefined, chunks: undefined, size: 0, done: false, budget, charged };
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
  const b = st.budget;
  if (b !== undefined && st.size > st.charged) {
    // A chunked body (or more than was declared): charge what arrived beyond the reservation.
    b.used += st.size - st.charged;
    st.charged = st.size;
    if (b.used > b.max) {
      st.done = true;
      st.first = undefined;
      st.chunks = undefined;
      b.used -= st.charged;
      st.charged = 0;
      st.target.onBodyError(new BodyBudgetError(b.max, st.size));
      return;
    }
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

/**
 * Gives the bytes `req`'s body holds back to its budget (call once the reply is done or the request is gone).
 * Safe to call more than once, or for a request whose body was never collected.
 */
export function releaseBody(req: IncomingMessage): void {
  const st = (req as WithState)[kBody];
  if (st === undefined || st.budget === undefined || st.charged === 0) return;
  st.budget.used -= st.charged;
  st.charged = 0;
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
