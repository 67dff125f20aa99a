/**
 * Bounded request-body reading. A body is never buffered past `limit` bytes: a Content-Length over the
 * limit is refused before any byte is read, and a chunked body is refused as soon as it crosses the limit.
 */
import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  readonly limit: number;
  /** Bytes seen before giving up (the declared Content-Length when that alone was over the limit). */
  readonly seen: number;
  constructor(limit: number, seen: number) {
    super(`request body of ${seen >= limit ? `more than ${limit}` : seen} bytes exceeds the limit of ${limit} bytes`);
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

const EMPTY = Buffer.alloc(0);

/** Reads the whole body into one Buffer, or rejects with BodyTooLargeError / BodyAbortedError. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const n = Number(declared);
    if (Number.isFinite(n) && n > limit) return Promise.reject(new BodyTooLargeError(limit, n));
  }
  if (req.complete && req.readableLength === 0) return Promise.resolve(EMPTY);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | undefined, body?: Buffer): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err) reject(err);
      else resolve(body!);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        finish(new BodyTooLargeError(limit, size));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      finish(undefined, chunks.length === 1 ? chunks[0]! : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => finish(new BodyAbortedError(`request body failed: ${err.message}`, { cause: err }));
    const onClose = (): void => {
      if (!req.complete) finish(new BodyAbortedError('client closed the connection before the body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
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
