/**
 * The inference server as a plain node:http request handler (no listen; see server.ts).
 *
 * It plays two parts, like SageMaker hosting does:
 * - the **runtime front end** (`POST /endpoints/{name}/invocations`): endpoint lookup, the body-size limit
 *   and (optionally) SigV4; its own errors are runtime errors (400 ValidationError, 403 ...), and any error
 *   of the model container is wrapped as 424 ModelError with OriginalStatusCode/OriginalMessage;
 * - the **model container** (`POST /invocations`, `GET /ping`, `GET /execution-parameters`): it answers
 *   container errors directly (400 bad record, 406 unsupported Accept, 415 unsupported Content-Type).
 * Every reply carries `x-amzn-RequestId`; every error reply carries `x-amzn-ErrorType` and a JSON body.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { HttpError, ParseError, errorMessage } from '../core/errors.js';
import { BodyBudgetError, collectBody, discardRest, releaseBody, type BodyAbortedError, type BodyBudget, BodyTooLargeError, type BodyTarget } from './body.js';
import { negotiateAccept, requestFormat, type AcceptChoice, type RequestFormat, type ResponseFormat } from './formats.js';
import { ServeMetrics, type RouteLabel } from './metrics.js';
import { isValidEndpointName, ENDPOINT_NAME_RE, type LoadedModel, type ModelRegistry, type ServableModel } from './registry.js';
import { scoreBody } from './score-body.js';
import { verifySigV4 } from './sigv4.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_INFLIGHT_BYTES } from './limits.js';

export { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_INFLIGHT_BYTES };
/** Seconds a client is told to wait (`Retry-After`) when the in-flight budget is spent. */
const RETRY_AFTER_SECONDS = 1;
/** The production variant name SDK-created endpoints use. */
export const DEFAULT_VARIANT = 'AllTraffic';

/**
 * Scores large bodies elsewhere (worker threads, see score-pool.ts). It parses, scores and formats like the
 * main thread (scoreBody), and rejects with a ParseError for a bad record.
 */
export interface Offloader<M extends ServableModel> {
  /** Whether a body of this many bytes should be offloaded. */
  accepts(bodyBytes: number): boolean;
  score(snap: LoadedModel<M>, fmt: RequestFormat, text: string, accept: AcceptChoice, source: string): Promise<{ body: string; pairs: number }>;
}

export interface ServeLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface ServeAppOptions<M extends ServableModel> {
  /** The served models, of any detector: each endpoint parses the shared request formats and replies in its own model's wire format. */
  registry: ModelRegistry<M>;
  /** Largest accepted request body in bytes (default 6 MiB, as SageMaker). */
  maxBodyBytes?: number;
  /** Bearer token required on /invocations, /execution-parameters, /metrics and mounted routes. /ping stays open. */
  authToken?: string;
  /** access key id -> secret. When set, the runtime route requires a valid SigV4 signature by one of them. */
  accessKeys?: ReadonlyMap<string, string>;
  /** Allowed clock skew for SigV4 (default 15 min). */
  maxSkewMs?: number;
  /** Value of x-Amzn-Invoked-Production-Variant (default AllTraffic). */
  variant?: string;
  metrics?: ServeMetrics;
  log?: ServeLogger;
  /** Scores large bodies on worker threads (optional; without it everything is scored inline). */
  offload?: Offloader<M>;
  /**
   * Bytes the request bodies of all requests in flight may hold together (default 256 MiB). A body that would go
   * over it is refused with 503 ServiceUnavailable and `Retry-After`.
   */
  maxInflightBytes?: number;
  /**
   * Host header check (DNS rebinding): when set, a request whose Host is not one of these (lower case,
   * `name` or `name:port`) gets 403 on every route. listen() sets it when binding a loopback address.
   */
  allowedHosts?: ReadonlySet<string>;
}

export interface RouteContext {
  /** Path below the mount prefix, always starting with '/'. */
  path: string;
  requestId: string;
}

export type MountedHandler = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => void | Promise<void>;

export interface MountOptions {
  /** 'bearer' (default) applies --auth-token when configured; 'none' leaves the routes open. */
  auth?: 'bearer' | 'none';
}

interface Mount {
  prefix: string;
  handler: MountedHandler;
  auth: 'bearer' | 'none';
}

const REQUEST_SOURCE: Record<string, string> = {
  'text/csv': 'text/csv body',
  'application/json': 'application/json body',
  'application/jsonlines': 'application/jsonlines body',
};

/** How much of a refused oversize body is read and thrown away (so the client can read the reply). */
const DISCARD_MAX_BYTES = 64 * 1024 * 1024;
const DISCARD_MAX_MS = 10_000;

/** The request headers the server reads, found in one pass over rawHeaders (no headers object is built). */
interface WantedHeaders {
  contentType: string | undefined;
  accept: string | undefined;
  contentLength: string | undefined;
  authorization: string | undefined;
}

function scanHeaders(raw: readonly string[]): WantedHeaders {
  const h: WantedHeaders = { contentType: undefined, accept: undefined, contentLength: undefined, authorization: undefined };
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 6:
        if (name.toLowerCase() === 'accept') h.accept = h.accept === undefined ? raw[i + 1]! : `${h.accept}, ${raw[i + 1]!}`;
        break;
      case 12:
        if (h.contentType === undefined && name.toLowerCase() === 'content-type') h.contentType = raw[i + 1]!;
        break;
      case 13:
        if (h.authorization === undefined && name.toLowerCase() === 'authorization') h.authorization = raw[i + 1]!;
        break;
      case 14:
        if (h.contentLength === undefined && name.toLowerCase() === 'content-length') h.contentLength = raw[i + 1]!;
        break;
    }
  }
  return h;
}

/** One invocation in progress: holds the model snapshot it started with until it is answered. */
class Invocation<M extends ServableModel> implements BodyTarget {
  constructor(
    readonly app: ServeApp<M>,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly requestId: string,
    readonly t0: number,
    readonly route: 'endpoint' | 'invocations',
    readonly snap: LoadedModel<M>,
    readonly headers: WantedHeaders,
  ) {}

  onBody(body: Buffer): void {
    try {
      this.app.completeInvocation(this, body);
    } catch (err) {
      this.app.internalError(this.res, err);
    }
  }

  onBodyError(err: BodyTooLargeError | BodyAbortedError | BodyBudgetError): void {
    try {
      this.app.failInvocationBody(this, err);
    } catch (e) {
      this.app.internalError(this.res, e);
    }
  }
}

export class ServeApp<M extends ServableModel = ServableModel> {
  readonly registry: ModelRegistry<M>;
  readonly metrics: ServeMetrics;
  readonly maxBodyBytes: number;
  /** The in-flight body budget: `used` is what the bodies of requests in flight hold now. */
  readonly inflight: BodyBudget;
  /** See ServeAppOptions.allowedHosts; listen() sets it for a loopback bind. undefined: any Host. */
  allowedHosts: ReadonlySet<string> | undefined;
  /** Set by the server while shutting down: replies say `Connection: close`. */
  draining = false;
  private readonly authToken: Buffer | undefined;
  private readonly accessKeys: ReadonlyMap<string, string> | undefined;
  private readonly maxSkewMs: number | undefined;
  private readonly variant: string;
  private readonly log: ServeLogger;
  private readonly mounts: Mount[] = [];
  private readonly offload: Offloader<M> | undefined;

  /** The node:http request listener. Never throws. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;

  constructor(opts: ServeAppOptions<M>) {
    this.registry = opts.registry;
    this.offload = opts.offload;
    this.metrics = opts.metrics ?? new ServeMetrics();
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.inflight = { used: 0, max: opts.maxInflightBytes ?? DEFAULT_MAX_INFLIGHT_BYTES };
    this.allowedHosts = opts.allowedHosts;
    this.authToken = opts.authToken ? Buffer.from(opts.authToken, 'utf8') : undefined;
    this.accessKeys = opts.accessKeys && opts.accessKeys.size > 0 ? opts.accessKeys : undefined;
    this.maxSkewMs = opts.maxSkewMs;
    this.variant = opts.variant ?? DEFAULT_VARIANT;
    this.log = opts.log ?? { info: () => {}, warn: () => {}, error: () => {} };
    this.registry.on((ev) => {
      if (ev.kind === 'reloaded') this.metrics.reload(ev.name, true);
      else if (ev.kind === 'failed') this.metrics.reload(ev.name, false);
    });
    this.handler = (req, res) => {
      try {
        this.dispatch(req, res);
      } catch (err) {
        this.internalError(res, err);
      }
    };
  }

  /**
   * Serves `handler` for every path equal to `prefix` or below `prefix/` (e.g. a dashboard at `/dashboard`).
   * Mounted routes are matched before the built-in ones' 404; the longest prefix wins.
   */
  mount(prefix: string, handler: MountedHandler, opts: MountOptions = {}): this {
    const p = prefix.replace(/\/+$/, '');
    if (!p.startsWith('/') || p === '') throw new Error(`mount prefix must start with '/' and not be '/': '${prefix}'`);
    this.mounts.push({ prefix: p, handler, auth: opts.auth ?? 'bearer' });
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    return this;
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const t0 = performance.now();
    const requestId = randomUUID();
    this.metrics.requestStarted();
    const path = requestPath(req.url);
    const method = req.method ?? 'GET';
    if (!this.hostAllowed(req)) {
      res.shouldKeepAlive = false;
      return this.error(res, requestId, t0, '', routeOf(path), 403, 'ForbiddenException',
        `Host '${truncate(req.headers.host ?? '', 100)}' is not allowed: this server answers only requests addressed to its loopback address or localhost (DNS rebinding protection; add names with --allowed-host)`);
    }

    if (path.startsWith('/endpoints/')) {
      const rest = path.slice('/endpoints/'.length);
      const slash = rest.indexOf('/');
      if (slash > 0 && rest.slice(slash) === '/invocations') {
        if (method !== 'POST') return this.methodNotAllowed(req, res, requestId, t0, 'endpoint', 'POST');
        return this.invoke(req, res, requestId, t0, 'endpoint', rest.slice(0, slash));
      }
    }
    switch (path) {
      case '/invocations':
        if (method !== 'POST') return this.methodNotAllowed(req, res, requestId, t0, 'invocations', 'POST');
        return this.invoke(req, res, requestId, t0, 'invocations', undefined);
      case '/ping':
        if (method !== 'GET' && method !== 'HEAD') return this.methodNotAllowed(req, res, requestId, t0, 'ping', 'GET, HEAD');
        return this.finish(res, requestId, t0, '', 'ping', 200, PING_BODY, JSON_TYPE, undefined);
      case '/execution-parameters':
        if (method !== 'GET' && method !== 'HEAD') return this.methodNotAllowed(req, res, requestId, t0, 'execution_parameters', 'GET, HEAD');
        if (!this.bearerOk(req.headers.authorization)) return this.unauthorized(res, requestId, t0, 'execution_parameters');
        return this.finish(res, requestId, t0, '', 'execution_parameters', 200, this.executionParameters(), JSON_TYPE, undefined);
      case '/metrics':
        if (method !== 'GET' && method !== 'HEAD') return this.methodNotAllowed(req, res, requestId, t0, 'metrics', 'GET, HEAD');
        if (!this.bearerOk(req.headers.authorization)) return this.unauthorized(res, requestId, t0, 'metrics');
        // Rendered after this scrape is counted, so the numbers include it.
        return this.finish(res, requestId, t0, '', 'metrics', 200, () => this.metrics.render(this.registry.names().map((n) => this.registry.get(n)!)),
          'text/plain; version=0.0.4; charset=utf-8', undefined);
    }
    for (const m of this.mounts) {
      if (path === m.prefix || path.startsWith(m.prefix + '/')) {
        this.runMounted(req, res, requestId, t0, m, path).catch((err: unknown) => this.internalError(res, err));
        return;
      }
    }
    return this.error(res, requestId, t0, '', 'unknown', 404, 'UnknownOperationException', `No route for ${truncate(method, 20)} ${truncate(path, 200)}`);
  }

  private invoke(req: IncomingMessage, res: ServerResponse, requestId: string, t0: number, route: 'endpoint' | 'invocations', rawName: string | undefined): void {
    const headers = scanHeaders(req.rawHeaders);
    // Take the model snapshot first: a reload during this request does not change it.
    let snap: LoadedModel<M>;
    if (route === 'endpoint') {
      let name = rawName!;
      if (name.includes('%')) {
        try {
          name = decodeURIComponent(name);
        } catch {
          // keep it as sent; it fails the name check below
        }
      }
      const found = this.registry.get(name);
      if (!found) {
        if (!isValidEndpointName(name)) {
          return this.error(res, requestId, t0, '', route, 400, 'ValidationError',
            `1 validation error detected: Value '${truncate(name, 100)}' at 'endpointName' failed to satisfy constraint: ` +
              `Member must satisfy regular expression pattern: ${ENDPOINT_NAME_RE.source} and have length less than or equal to 63`);
        }
        return this.error(res, requestId, t0, '', route, 400, 'ValidationError',
          `Endpoint ${name} not found. This server serves: ${this.registry.names().join(', ')}.`);
      }
      snap = found;
    } else {
      if (!this.bearerOk(headers.authorization)) return this.unauthorized(res, requestId, t0, route);
      snap = this.registry.default;
    }
    res.once('close', () => releaseBody(req));
    collectBody(req, this.maxBodyBytes, headers.contentLength, new Invocation(this, req, res, requestId, t0, route, snap, headers), this.inflight);
  }

  /** Whether the request's Host header passes the DNS-rebinding check (always, without allowedHosts; a request without Host passes too). */
  hostAllowed(req: IncomingMessage): boolean {
    if (this.allowedHosts === undefined) return true;
    const host = req.headers.host;
    if (host === undefined) return true;
    return this.allowedHosts.has(host.trim().toLowerCase());
  }

  /** @internal The body of an invocation was refused or lost. */
  failInvocationBody(inv: Invocation<M>, err: BodyTooLargeError | BodyAbortedError | BodyBudgetError): void {
    const model = inv.snap.name;
    if (err instanceof BodyBudgetError) {
      discardRest(inv.req, DISCARD_MAX_BYTES, DISCARD_MAX_MS);
      inv.res.shouldKeepAlive = false;
      inv.res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
      return this.error(inv.res, inv.requestId, inv.t0, model, inv.route, 503, 'ServiceUnavailable',
        `The server is busy: the request bodies in flight would exceed ${err.max} bytes. Retry after ${RETRY_AFTER_SECONDS} s.`);
    }
    if (err instanceof BodyTooLargeError) {
      discardRest(inv.req, DISCARD_MAX_BYTES, DISCARD_MAX_MS);
      inv.res.shouldKeepAlive = false;
      return this.error(inv.res, inv.requestId, inv.t0, model, inv.route, 400, 'ValidationError',
        `Request body is too large: ${err.seen} bytes > ${this.maxBodyBytes} bytes. The maximum payload size is ${this.maxBodyBytes} bytes.`);
    }
    this.metrics.requestFinished(model, inv.route, 499, (performance.now() - inv.t0) / 1000, 'ClientClosedRequest');
  }

  /** @internal The body of an invocation is complete: authenticate, parse, score, answer. */
  completeInvocation(inv: Invocation<M>, body: Buffer): void {
    const { res, requestId, t0, route } = inv;
    const model = inv.snap.name;
    if (route === 'endpoint' && this.accessKeys) {
      const v = verifySigV4(
        { method: inv.req.method ?? 'POST', url: inv.req.url ?? '/', rawHeaders: inv.req.rawHeaders, body },
        { keys: this.accessKeys, service: 'sagemaker', ...(this.maxSkewMs !== undefined ? { maxSkewMs: this.maxSkewMs } : {}) },
      );
      if (!v.ok) return this.error(res, requestId, t0, model, route, 403, v.code, v.message);
    }
    let out: string;
    let accept: ResponseFormat;
    let pairs: number;
    try {
      const req = this.negotiate(inv.headers, inv.snap.model.detector.wire.responseTypes);
      if (this.offload?.accepts(body.length)) {
        const source = REQUEST_SOURCE[req.fmt]!;
        this.offload.score(inv.snap, req.fmt, body.toString('utf8'), req.accept, source).then(
          (r) => {
            this.metrics.pairsScored(model, r.pairs);
            this.finish(res, requestId, t0, model, route, 200, r.body, req.accept.type, undefined);
          },
          (err: unknown) => this.scoreFailed(inv, err instanceof ParseError ? new HttpError(400, 'ValidationError', err.message) : err),
        ).catch((err: unknown) => this.internalError(res, err));
        return;
      }
      [out, accept, pairs] = this.score(inv.snap, req.fmt, req.accept, body);
    } catch (err) {
      return this.scoreFailed(inv, err);
    }
    this.metrics.pairsScored(model, pairs);
    return this.finish(res, requestId, t0, model, route, 200, out, accept, undefined);
  }

  private scoreFailed(inv: Invocation<M>, err: unknown): void {
    const { res, requestId, t0, route } = inv;
    const model = inv.snap.name;
    const ce = err instanceof HttpError ? err : undefined;
    if (!ce) this.log.error(`Scoring failed for model ${model} (request ${requestId}): ${errorMessage(err)}`);
    const status = ce?.status ?? 500;
    const message = ce ? ce.message : `Internal error while scoring: ${truncate(errorMessage(err), 500)}`;
    if (route === 'invocations') return this.error(res, requestId, t0, model, route, status, ce?.errorType ?? 'InternalFailure', message);
    return this.modelError(res, requestId, t0, model, status, message);
  }

  /** Content negotiation; throws HttpError 415 / 406. */
  private negotiate(headers: WantedHeaders, extra: readonly ResponseFormat[] = []): { fmt: RequestFormat; accept: AcceptChoice } {
    const fmt = requestFormat(headers.contentType);
    if (fmt === undefined) {
      throw new HttpError(415, 'UnsupportedMediaType',
        `${headers.contentType === undefined ? 'Missing Content-Type' : `Unsupported Content-Type '${truncate(headers.contentType, 100)}'`}; ` +
          'supported: text/csv, application/json, application/jsonlines');
    }
    const accept = negotiateAccept(headers.accept, extra);
    if (accept === undefined) {
      throw new HttpError(406, 'NotAcceptable',
        `Unsupported Accept '${truncate(headers.accept ?? '', 100)}'; supported: ${['application/json', 'application/jsonlines', ...extra].join(', ')} (optionally with verbose=True)`);
    }
    return { fmt, accept };
  }

  /** Parses, scores and formats; throws HttpError (the container's answer) for anything the container refuses. */
  private score(snap: LoadedModel<M>, fmt: RequestFormat, accept: AcceptChoice, body: Buffer): [string, ResponseFormat, number] {
    try {
      const r = scoreBody(snap.model, fmt, body.toString('utf8'), accept, REQUEST_SOURCE[fmt]!);
      return [r.body, accept.type, r.pairs];
    } catch (err) {
      if (err instanceof ParseError) throw new HttpError(400, 'ValidationError', err.message);
      throw err;
    }
  }

  private async runMounted(req: IncomingMessage, res: ServerResponse, requestId: string, t0: number, m: Mount, path: string): Promise<void> {
    if (m.auth === 'bearer' && !this.bearerOk(req.headers.authorization)) return this.unauthorized(res, requestId, t0, 'mounted');
    res.setHeader('x-amzn-RequestId', requestId);
    if (this.draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      const status = res.headersSent ? res.statusCode : 499;
      this.metrics.requestFinished('', 'mounted', status, (performance.now() - t0) / 1000, status >= 400 ? String(res.getHeader('x-amzn-ErrorType') ?? 'HttpError') : undefined);
    });
    try {
      await m.handler(req, res, { path: path.slice(m.prefix.length) || '/', requestId });
    } catch (err) {
      // A thrown HttpError is answered as such; anything else is a 500 and is logged.
      const he = err instanceof HttpError ? err : undefined;
      if (!he) this.log.error(`Mounted route ${m.prefix} failed (request ${requestId}): ${errorMessage(err)}`);
      if (!res.headersSent) {
        const body = errorBody(he ? he.message : `Internal error: ${truncate(errorMessage(err), 500)}`);
        res.writeHead(he?.status ?? 500, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(body), 'x-amzn-ErrorType': he?.errorType ?? 'InternalFailure' });
        res.end(body);
      } else {
        res.destroy();
      }
    }
  }

  private bearerOk(authorization: string | undefined): boolean {
    if (!this.authToken) return true;
    const h = authorization;
    if (h === undefined || h.length < 7 || h.slice(0, 7).toLowerCase() !== 'bearer ') return false;
    const given = Buffer.from(h.slice(7).trim(), 'utf8');
    return given.length === this.authToken.length && timingSafeEqual(given, this.authToken);
  }

  private unauthorized(res: ServerResponse, requestId: string, t0: number, route: RouteLabel): void {
    res.setHeader('WWW-Authenticate', 'Bearer realm="seclake"');
    return this.error(res, requestId, t0, '', route, 401, 'UnauthorizedException', 'Missing or invalid bearer token (Authorization: Bearer <token>)');
  }

  private methodNotAllowed(req: IncomingMessage, res: ServerResponse, requestId: string, t0: number, route: RouteLabel, allow: string): void {
    res.setHeader('Allow', allow);
    return this.error(res, requestId, t0, '', route, 405, 'MethodNotAllowed', `Method ${truncate(req.method ?? '', 20)} is not allowed here; use ${allow}`);
  }

  /** The runtime's wrapping of a container error (§7): 424 ModelError. */
  private modelError(res: ServerResponse, requestId: string, t0: number, model: string, originalStatus: number, originalMessage: string): void {
    const kind = originalStatus >= 500 ? 'server' : 'client';
    const body = JSON.stringify({
      ErrorCode: originalStatus >= 500 ? 'SERVER_ERROR_FROM_MODEL' : 'CLIENT_ERROR_FROM_MODEL',
      Message: `Received ${kind} error (${originalStatus}) from primary with message "${originalMessage}". See the seclake serve log for more information.`,
      OriginalStatusCode: originalStatus,
      OriginalMessage: originalMessage,
    });
    return this.finish(res, requestId, t0, model, 'endpoint', 424, body, JSON_TYPE, 'ModelError');
  }

  private error(res: ServerResponse, requestId: string, t0: number, model: string, route: RouteLabel, status: number, errorType: string, message: string): void {
    return this.finish(res, requestId, t0, model, route, status, errorBody(message), JSON_TYPE, errorType);
  }

  private finish(
    res: ServerResponse,
    requestId: string,
    t0: number,
    model: string,
    route: RouteLabel,
    status: number,
    body: string | (() => string),
    contentType: string,
    errorType: string | undefined,
  ): void {
    if (res.headersSent || res.destroyed) {
      this.metrics.requestFinished(model, route, 499, (performance.now() - t0) / 1000, 'ClientClosedRequest');
      return;
    }
    this.metrics.requestFinished(model, route, status, (performance.now() - t0) / 1000, errorType);
    const text = typeof body === 'function' ? body() : body;
    const headers: string[] = ['Content-Type', contentType, 'Content-Length', String(Buffer.byteLength(text)), 'x-amzn-RequestId', requestId];
    if (errorType !== undefined) headers.push('x-amzn-ErrorType', errorType);
    else if (route === 'endpoint' || route === 'invocations') headers.push('x-Amzn-Invoked-Production-Variant', this.variant);
    if (this.draining || !res.shouldKeepAlive) headers.push('Connection', 'close');
    res.writeHead(status, headers);
    res.end(text);
  }

  /** @internal Last-resort reply for an unexpected exception; never throws. */
  internalError(res: ServerResponse, err: unknown): void {
    this.log.error(`Request failed: ${errorMessage(err)}`);
    try {
      if (!res.headersSent && !res.destroyed) {
        const body = errorBody('Internal server error');
        res.writeHead(500, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(body), 'x-amzn-ErrorType': 'InternalFailure', 'x-amzn-RequestId': randomUUID() });
        res.end(body);
      } else {
        res.destroy();
      }
    } catch {
      res.destroy();
    }
  }

  private executionParameters(): string {
    // What the IP Insights container told batch transform (ipinsights.md §3.2, §3.4).
    return JSON.stringify({ MaxConcurrentTransforms: 4, BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: Math.max(1, Math.floor(this.maxBodyBytes / (1024 * 1024))) });
  }
}

/** Creates the app; `app.handler` is the node:http request listener. */
export function createServeApp<M extends ServableModel>(opts: ServeAppOptions<M>): ServeApp<M> {
  return new ServeApp(opts);
}

const JSON_TYPE = 'application/json';
const PING_BODY = '{"status":"Healthy"}';

function errorBody(message: string): string {
  return JSON.stringify({ message });
}

/** The metrics route label of a path (for replies given before routing). */
function routeOf(path: string): RouteLabel {
  if (path.startsWith('/endpoints/')) return 'endpoint';
  switch (path) {
    case '/invocations':
      return 'invocations';
    case '/ping':
      return 'ping';
    case '/execution-parameters':
      return 'execution_parameters';
    case '/metrics':
      return 'metrics';
    default:
      return 'unknown';
  }
}

/** The path part of a request target (origin-form or absolute-form), without the query. */
function requestPath(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  let p = url;
  if (p.charCodeAt(0) !== 47 /* / */) {
    try {
      p = new URL(p).pathname;
    } catch {
      return p;
    }
  }
  const q = p.indexOf('?');
  return q < 0 ? p : p.slice(0, q);
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) + '…' : s;
}
