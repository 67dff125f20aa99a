/**
 * Listening, signals and graceful shutdown for a ServeApp.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ServeApp, ServeLogger } from './app.js';
import type { ServableModel } from './registry.js';

export interface ListenOptions {
  /** Default 8080 (the SageMaker container port); 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Most connections open at once (default 1024); connections beyond it are closed as soon as they are accepted. */
  maxConnections?: number;
  /**
   * Host names (besides the bound address, localhost, 127.0.0.1 and [::1]) that requests may name in their Host
   * header when the server binds a loopback address. Other Hosts get 403 (DNS rebinding). `*` turns the check off.
   */
  allowedHosts?: readonly string[];
  /** Called once the server has closed (e.g. to stop worker threads). */
  onClose?: () => void | Promise<void>;
}

export interface RunningServer<M extends ServableModel = ServableModel> {
  readonly app: ServeApp<M>;
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /**
   * Graceful shutdown: stop accepting, let in-flight requests finish (their replies say
   * `Connection: close`), close idle keep-alive connections, stop watching model files.
   * Connections still open after `timeoutMs` (default 30 s) are destroyed.
   */
  close(opts?: { timeoutMs?: number }): Promise<void>;
}

/** SageMaker containers must answer within 60 s; allow a little more for the body upload. */
const REQUEST_TIMEOUT_MS = 65_000;
/** Default cap on open connections (each is a file handle). */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** A connection must send its request headers within this time (also bounds a new connection that sends nothing). */
const HEADERS_TIMEOUT_MS = 15_000;
/** An idle keep-alive connection is closed after this time. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How often node:http checks the headers and request timeouts. */
const TIMEOUT_CHECK_INTERVAL_MS = 2_000;

/** Whether `host` (an address or name to bind) is loopback only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || h.startsWith('127.');
}

/**
 * The Host header values (lower case) a loopback-bound server accepts: the bound address, localhost, 127.0.0.1 and
 * [::1], and every `extra` name, each with the bound port (or without a port, as a browser sends it for port 80,
 * and as some tools do). An `extra` value that already names a port is kept as given.
 */
export function loopbackHostSet(boundHost: string, port: number, extra: readonly string[] = []): Set<string> {
  const names = new Set<string>(['localhost', '127.0.0.1', '[::1]']);
  const b = boundHost.toLowerCase();
  names.add(b.includes(':') && !b.startsWith('[') ? `[${b}]` : b);
  const out = new Set<string>();
  const add = (name: string): void => {
    out.add(name);
    out.add(`${name}:${port}`);
  };
  for (const n of names) add(n);
  for (const raw of extra) {
    const e = raw.trim().toLowerCase();
    if (e === '') continue;
    if (/:\d+$/.test(e) && (!e.includes('[') || e.includes(']:'))) out.add(e);
    else add(e.includes(':') && !e.startsWith('[') ? `[${e}]` : e);
  }
  return out;
}

const rootRedirects = new WeakMap<object, string>();

/**
 * Makes `GET /` (and `GET /?query`) on this app's server redirect to `location` (e.g. the dashboard at `/ui/`)
 * instead of answering 404. Every other request goes to the app unchanged.
 */
export function setRootRedirect(app: object, location: string): void {
  rootRedirects.set(app, location);
}

export function listen<M extends ServableModel>(app: ServeApp<M>, opts: ListenOptions = {}): Promise<RunningServer<M>> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer({
    requestTimeout: REQUEST_TIMEOUT_MS,
    headersTimeout: HEADERS_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    // node:http would answer an HTTP/1.1 request without Host with a bare 400 and no body: refused below with a reason.
    requireHostHeader: false,
  }, (req, res) => {
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) {
      const body = JSON.stringify({ message: 'Bad Request: an HTTP/1.1 request must carry a Host header' });
      res.writeHead(400, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'x-amzn-ErrorType': 'ValidationError', Connection: 'close' });
      res.end(body);
      return;
    }
    const url = req.url;
    if (url !== undefined && app.hostAllowed(req) && url.charCodeAt(0) === 47 /* / */ && (url.length === 1 || url.charCodeAt(1) === 63 /* ? */) && (req.method === 'GET' || req.method === 'HEAD')) {
      const location = rootRedirects.get(app);
      if (location !== undefined) {
        res.writeHead(302, { Location: location + url.slice(1), 'Content-Length': '0' });
        res.end();
        return;
      }
    }
    app.handler(req, res);
  });
  server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Malformed HTTP framing: answer in the same shape as every other error, then close.
    if (!socket.writable || (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, reason, type] =
      err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large', 'ValidationError']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout', 'RequestTimeout']
          : [400, 'Bad Request', 'ValidationError'];
    const body = JSON.stringify({ message: `${reason}: ${err.code ?? err.message}` });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `x-amzn-ErrorType: ${type}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(opts.port ?? 8080, host, () => {
      server.off('error', onError);
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 8080);
      const urlHost = host.includes(':') ? `[${host}]` : host;
      if (isLoopbackHost(host) && !(opts.allowedHosts ?? []).includes('*') && app.allowedHosts === undefined) {
        app.allowedHosts = loopbackHostSet(host, port, opts.allowedHosts);
      }
      let closing: Promise<void> | undefined;
      resolve({
        app,
        server,
        host,
        port,
        url: `http://${urlHost}:${port}`,
        close(closeOpts = {}) {
          closing ??= new Promise<void>((done) => {
            app.draining = true;
            app.registry.close();
            const timer = setTimeout(() => server.closeAllConnections(), closeOpts.timeoutMs ?? 30_000);
            timer.unref();
            server.close(() => {
              clearTimeout(timer);
              Promise.resolve()
                .then(() => opts.onClose?.())
                .catch(() => {})
                .then(() => done());
            });
            server.closeIdleConnections();
          });
          return closing;
        },
      });
    });
  });
}

/**
 * SIGHUP reloads every model (forced); SIGTERM and SIGINT shut down gracefully. Returns a promise that
 * resolves once the server has closed after a signal, and a function that removes the handlers.
 */
export function handleSignals<M extends ServableModel>(running: RunningServer<M>, log: ServeLogger): { closed: Promise<string>; dispose: () => void } {
  let dispose = (): void => {};
  const closed = new Promise<string>((resolve) => {
    const onHup = (): void => {
      log.info('SIGHUP: reloading all models');
      running.app.registry.reloadAll({ force: true, trigger: 'signal' }).catch((err: unknown) => log.error(`Reload failed: ${String(err)}`));
    };
    const onStop = (signal: NodeJS.Signals): void => {
      log.info(`${signal}: shutting down (finishing in-flight requests)`);
      dispose();
      void running.close().then(() => resolve(signal));
    };
    const onTerm = (): void => onStop('SIGTERM');
    const onInt = (): void => onStop('SIGINT');
    process.on('SIGHUP', onHup);
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    dispose = () => {
      process.off('SIGHUP', onHup);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
    };
  });
  return { closed, dispose };
}
