/**
 * AWS Signature Version 4 verification for the runtime route (`Authorization: AWS4-HMAC-SHA256 ...`
 * header form), with node:crypto only. It rebuilds the canonical request, the string to sign and the
 * signing key exactly as the SDKs do (double-encoded, dot-segment-normalised path for non-S3 services),
 * checks the access key id, the credential scope (service `sagemaker`), the request time against a skew
 * window, and compares signatures in constant time. Error codes are the ones AWS JSON services send.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS accepts request times within 15 minutes of its clock. */
export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;

export interface SigV4Request {
  method: string;
  /** The request target as received: raw (still percent-encoded) path plus optional `?query`. */
  url: string;
  /** Node's `req.rawHeaders`: [name, value, name, value, ...]. */
  rawHeaders: readonly string[];
  body: Buffer;
}

export interface SigV4VerifyOptions {
  /** access key id -> secret access key. */
  keys: ReadonlyMap<string, string>;
  service: string;
  maxSkewMs?: number;
  /** Current time in ms (tests). */
  now?: number;
}

export type SigV4Result =
  | { ok: true; accessKeyId: string; region: string }
  | { ok: false; code: SigV4ErrorCode; message: string };

export type SigV4ErrorCode =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'UnrecognizedClientException';

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

export function verifySigV4(req: SigV4Request, opts: SigV4VerifyOptions): SigV4Result {
  const fail = (code: SigV4ErrorCode, message: string): SigV4Result => ({ ok: false, code, message });
  const auth = headerValues(req.rawHeaders, 'authorization');
  if (auth.length === 0) {
    return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  if (auth.length > 1) return fail('IncompleteSignatureException', 'More than one Authorization header.');
  const parsed = parseAuthorization(auth[0]!);
  if (typeof parsed === 'string') return fail('IncompleteSignatureException', parsed);
  const { accessKeyId, scopeDate, region, service, terminator, signedHeaders, signature } = parsed;
  if (terminator !== 'aws4_request') {
    return fail('IncompleteSignatureException', `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`);
  }
  if (service !== opts.service) {
    return fail('InvalidSignatureException', `Credential should be scoped to correct service: '${opts.service}'.`);
  }
  const secret = opts.keys.get(accessKeyId);
  if (secret === undefined) return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');

  const amzDates = headerValues(req.rawHeaders, 'x-amz-date');
  let amzDate: string;
  let time: number;
  if (amzDates.length > 0) {
    amzDate = amzDates[0]!.trim();
    time = parseAmzDate(amzDate);
  } else {
    const dates = headerValues(req.rawHeaders, 'date');
    if (dates.length === 0) {
      return fail('IncompleteSignatureException', "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    }
    time = Date.parse(dates[0]!);
    amzDate = Number.isFinite(time) ? formatAmzDate(time) : '';
  }
  if (!Number.isFinite(time)) return fail('IncompleteSignatureException', `Invalid request date '${amzDate}'.`);
  if (amzDate.slice(0, 8) !== scopeDate) {
    return fail('InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}'.`);
  }
  const now = opts.now ?? Date.now();
  const skew = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (time < now - skew) {
    return fail('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - skew)} (${formatAmzDate(now)} - ${skew / 60000} min.)`);
  }
  if (time > now + skew) {
    return fail('InvalidSignatureException', `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + skew)} (${formatAmzDate(now)} + ${skew / 60000} min.)`);
  }
  if (!signedHeaders.includes('host')) {
    return fail('InvalidSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  const payloadHash = sha256Hex(req.body);
  const declared = headerValues(req.rawHeaders, 'x-amz-content-sha256');
  if (declared.length > 0 && declared[0]!.trim() !== payloadHash) {
    return fail('InvalidSignatureException', 'The provided x-amz-content-sha256 header does not match the computed payload hash.');
  }
  const canonical = canonicalRequest(req, signedHeaders, payloadHash);
  if (canonical === undefined) return fail('InvalidSignatureException', MISMATCH);
  const scope = `${scopeDate}/${region}/${service}/${terminator}`;
  const expected = signString(secret, scopeDate, region, service, stringToSign(amzDate, scope, canonical));
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(signature.toLowerCase(), 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) return fail('InvalidSignatureException', MISMATCH);
  return { ok: true, accessKeyId, region };
}

interface ParsedAuthorization {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses the Authorization header; returns an error message string when it is malformed. */
export function parseAuthorization(value: string): ParsedAuthorization | string {
  const v = value.trim();
  const space = v.indexOf(' ');
  const algorithm = space < 0 ? v : v.slice(0, space);
  if (algorithm !== SIGV4_ALGORITHM) return `Unsupported Authorization Type: expected ${SIGV4_ALGORITHM}.`;
  const params = new Map<string, string>();
  for (const part of v.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  for (const key of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!params.get(key)) return `Authorization header requires '${key}' parameter.`;
  }
  const cred = params.get('Credential')!.split('/');
  if (cred.length !== 5 || cred.some((c) => c === '')) {
    return "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.";
  }
  const signature = params.get('Signature')!;
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) return 'Signature must be 64 hex characters.';
  return {
    accessKeyId: cred[0]!,
    scopeDate: cred[1]!,
    region: cred[2]!,
    service: cred[3]!,
    terminator: cred[4]!,
    signedHeaders: params.get('SignedHeaders')!.split(';').map((h) => h.trim().toLowerCase()),
    signature,
  };
}

/** The canonical request, or undefined when the URL cannot be decoded. */
export function canonicalRequest(req: SigV4Request, signedHeaders: readonly string[], payloadHash: string): string | undefined {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  const canonicalQuery = canonicalQueryString(query);
  if (canonicalQuery === undefined) return undefined;
  const headerLines: string[] = [];
  for (const name of signedHeaders) {
    const values = headerValues(req.rawHeaders, name);
    if (values.length === 0) return undefined;
    headerLines.push(`${name}:${values.map((x) => x.trim().replace(/\s+/g, ' ')).join(',')}\n`);
  }
  return [req.method.toUpperCase(), canonicalPath(path), canonicalQuery, headerLines.join(''), signedHeaders.join(';'), payloadHash].join('\n');
}

/** Non-S3 services: drop empty and `.` segments, resolve `..`, then URI-encode the (already encoded) path again. */
export function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

function canonicalQueryString(query: string): string | undefined {
  if (query === '') return '';
  const pairs: [string, string][] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    try {
      pairs.push([escapeUri(decodeURIComponent(k)), escapeUri(decodeURIComponent(v))]);
    } catch {
      return undefined;
    }
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** RFC 3986 unreserved characters stay; everything else is percent-encoded (as the SDKs' escapeUri). */
export function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${SIGV4_ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secret}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

export function signString(secret: string, date: string, region: string, service: string, toSign: string): string {
  return createHmac('sha256', signingKey(secret, date, region, service)).update(toSign, 'utf8').digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `20150830T123600Z` -> ms since epoch (NaN when malformed). */
export function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** All values of a header (case-insensitive name) from rawHeaders, in order. */
function headerValues(raw: readonly string[], lowerName: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === lowerName) out.push(raw[i + 1]!);
  }
  return out;
}
