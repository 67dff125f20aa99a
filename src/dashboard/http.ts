/**
 * HTTP plumbing for the dashboard: who may ask (Host check against DNS rebinding, bearer token or session cookie),
 * whether a POST really comes from our own pages (Origin + CSRF token + JSON body), bounded request bodies, and
 * replies with strict security headers (no inline script, no framing, no referrer, no caching).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../core/errors.js';

/** Pages may load only our own script, style and images; no inline code; no external requests of any kind. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const BASE_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export const COOKIE_NAME = 'seclake_dashboard';
export const CSRF_HEADER = 'x-csrf-token';

export interface Reply {
  status: number;
  body: string | Buffer;
  type: string;
  headers?: Record<string, string>;
}

export function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
  res.writeHead(reply.status, {
    ...BASE_HEADERS,
    'Cache-Control': 'no-store',
    ...reply.headers,
    'Content-Type': reply.type,
    'Content-Length': String(body.length),
  });
  res.end(body);
}

export const HTML = 'text/html; charset=utf-8';
export const JSON_TYPE = 'application/json; charset=utf-8';

export function html(body: string, status = 200, headers?: Record<string, string>): Reply {
  return { status, body, type: HTML, ...(headers ? { headers } : {}) };
}

export function json(value: unknown, status = 200): Reply {
  return {
    status,
    type: JSON_TYPE,
    body: JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : v)),
  };
}

/** The raw query string of a request target. */
export function searchParams(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}

/** Reads a request body of at most `limit` bytes; throws HttpError 413 beyond it (and stops reading). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new HttpError(413, 'PayloadTooLarge', `Request body is too large: ${declared} bytes > ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    const onData = (c: Buffer): void => {
      seen += c.length;
      if (seen > limit) {
        req.off('data', onData);
        req.resume();
        reject(new HttpError(413, 'PayloadTooLarge', `Request body is too large: more than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** A JSON object body (Content-Type application/json); throws HttpError 400/415. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'UnsupportedMediaType', 'Expected Content-Type: application/json');
  const buf = await readBody(req, limit);
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new HttpError(400, 'ValidationError', 'Request body is not valid JSON');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new HttpError(400, 'ValidationError', 'Request body must be a JSON object');
  return doc as Record<string, unknown>;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/** The hostname part of a Host header (`[::1]:8080` -> `::1`, `localhost:80` -> `localhost`). */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

export interface GuardOptions {
  /** When set, every request needs it (bearer header, or the session cookie obtained with `?token=`). */
  authToken?: string;
  /**
   * Host names (besides IP literals and `localhost`) that may appear in the Host header. Without a token the
   * dashboard refuses other names, so a web page cannot reach it through DNS rebinding. `*` allows any.
   */
  allowedHosts?: readonly string[];
  /** Cookie path (the mount prefix). */
  cookiePath: string;
}

export type AuthResult = { ok: true; session: string } | { ok: false; reason: string };

/**
 * Access control. The session cookie holds HMAC(token, "dashboard-session"), never the token itself; the CSRF token
 * is an HMAC of the session under a per-process secret, so it is valid only for this session and this process.
 */
export class Guard {
  private readonly token: string | undefined;
  private readonly sessionValue: string;
  private readonly csrfSecret = randomBytes(32);
  private readonly allowedHosts: Set<string>;
  private readonly anyHost: boolean;
  readonly cookiePath: string;

  constructor(opts: GuardOptions) {
    this.token = opts.authToken !== undefined && opts.authToken !== '' ? opts.authToken : undefined;
    this.sessionValue = this.token ? createHmac('sha256', this.token).update('seclake dashboard session').digest('hex') : 'anonymous';
    this.allowedHosts = new Set((opts.allowedHosts ?? []).map((h) => h.toLowerCase()));
    this.anyHost = this.allowedHosts.has('*');
    this.cookiePath = opts.cookiePath;
  }

  get requiresToken(): boolean {
    return this.token !== undefined;
  }

  /**
   * Host header check: IP literals and `localhost` always pass (DNS rebinding needs a name the attacker controls);
   * other names pass when listed, or when a token protects the dashboard anyway.
   */
  hostAllowed(hostHeader: string | undefined): boolean {
    if (hostHeader === undefined || hostHeader === '') return false;
    if (this.anyHost || this.token !== undefined) return true;
    const name = hostName(hostHeader);
    return isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost') || this.allowedHosts.has(name);
  }

  /** Bearer header or session cookie. */
  authenticate(req: IncomingMessage): AuthResult {
    if (!this.token) return { ok: true, session: this.sessionValue };
    const auth = req.headers.authorization;
    if (auth !== undefined && auth.slice(0, 7).toLowerCase() === 'bearer ' && safeEqual(auth.slice(7).trim(), this.token)) {
      return { ok: true, session: this.sessionValue };
    }
    const cookie = parseCookies(req.headers.cookie).get(COOKIE_NAME);
    if (cookie !== undefined && safeEqual(cookie, this.sessionValue)) return { ok: true, session: this.sessionValue };
    return { ok: false, reason: cookie !== undefined ? 'the session cookie is not valid (the token changed?)' : 'no token' };
  }

  /** `?token=` on a GET: when it is right, the Set-Cookie header that starts a session. */
  loginCookie(token: string): string | undefined {
    if (!this.token || !safeEqual(token, this.token)) return undefined;
    return `${COOKIE_NAME}=${this.sessionValue}; Path=${this.cookiePath}; HttpOnly; SameSite=Strict`;
  }

  csrfToken(session: string): string {
    return createHmac('sha256', this.csrfSecret).update(session).digest('base64url');
  }

  /**
   * A state-changing request must come from our own page: Origin (when sent) equal to this server's origin,
   * Sec-Fetch-Site (when sent) same-origin, and the CSRF token in its header. Throws HttpError 403.
   */
  checkCsrf(req: IncomingMessage, session: string): void {
    const host = req.headers.host ?? '';
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`) {
      throw new HttpError(403, 'Forbidden', 'Cross-origin request refused (Origin does not match this server)');
    }
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw new HttpError(403, 'Forbidden', `Cross-site request refused (Sec-Fetch-Site: ${String(site).slice(0, 40)})`);
    }
    const given = req.headers[CSRF_HEADER];
    if (typeof given !== 'string' || !safeEqual(given, this.csrfToken(session))) {
      throw new HttpError(403, 'Forbidden', 'Missing or invalid CSRF token (reload the page)');
    }
  }
}
