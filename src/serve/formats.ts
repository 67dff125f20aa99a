/**
 * Content negotiation and the JSON request formats of the IP Insights inference API
 * (ipinsights.md §3.1–3.2). CSV parsing and response formatting live in src/detectors/ipinsights/wire.ts,
 * shared with `seclake score`; this file owns `application/json` and `application/jsonlines` request bodies.
 */
import { ParseError } from '../core/errors.js';

export type RequestFormat = 'text/csv' | 'application/json' | 'application/jsonlines';
export type ResponseFormat = 'application/json' | 'application/jsonlines';

export const REQUEST_FORMATS: readonly RequestFormat[] = ['text/csv', 'application/json', 'application/jsonlines'];
export const RESPONSE_FORMATS: readonly ResponseFormat[] = ['application/json', 'application/jsonlines'];

export interface Pair {
  entity: string;
  ip: string;
}

export interface AcceptChoice {
  type: ResponseFormat;
  /** `verbose=True` (any case) was set on the chosen media range. */
  verbose: boolean;
}

/** `text/csv; charset=utf-8` -> `text/csv`; undefined for a missing or unsupported type. */
export function requestFormat(contentType: string | undefined): RequestFormat | undefined {
  if (contentType === undefined) return undefined;
  // Fast path for the exact strings the SDKs send.
  if (contentType === 'text/csv' || contentType === 'application/json' || contentType === 'application/jsonlines') {
    return contentType;
  }
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return (REQUEST_FORMATS as readonly string[]).includes(type) ? (type as RequestFormat) : undefined;
}

const DEFAULT_ACCEPT: AcceptChoice = { type: 'application/json', verbose: false };

/**
 * Picks the response format from an Accept header: the supported media range with the highest q
 * (first one on ties). No header, an empty header, `*\/*` and `application/*` mean `application/json`.
 * Returns undefined when nothing acceptable is supported (the container answers 406).
 */
export function negotiateAccept(accept: string | undefined): AcceptChoice | undefined {
  if (accept === undefined || accept === '' || accept === 'application/json') return DEFAULT_ACCEPT;
  let best: AcceptChoice | undefined;
  let bestQ = 0;
  for (const range of accept.split(',')) {
    const parts = range.split(';');
    const type = parts[0]!.trim().toLowerCase();
    if (type === '') continue;
    let resolved: ResponseFormat | undefined;
    if (type === 'application/json' || type === 'application/jsonlines') resolved = type;
    else if (type === '*/*' || type === 'application/*') resolved = 'application/json';
    if (resolved === undefined) continue;
    let q = 1;
    let verbose = false;
    for (let i = 1; i < parts.length; i++) {
      const p = parts[i]!;
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const key = p.slice(0, eq).trim().toLowerCase();
      const value = unquote(p.slice(eq + 1).trim());
      if (key === 'q') {
        const n = Number(value);
        q = Number.isFinite(n) ? Math.min(Math.max(n, 0), 1) : 0;
      } else if (key === 'verbose') {
        verbose = value.toLowerCase() === 'true';
      }
    }
    if (q > bestQ) {
      best = { type: resolved, verbose };
      bestQ = q;
    }
  }
  return best;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/**
 * `{"instances": [...]}` where each instance is `{"features": [entity, ip]}` or
 * `{"data": {"features": {"values": [entity, ip]}}}`; the two shapes may be mixed (§3.1).
 * Throws ParseError naming the instance (and the line for a JSON syntax error). With `isValidIp`, IP
 * addresses are checked here too, so the error names the instance rather than a record number.
 */
export function parseJsonInstances(body: string, source: string, isValidIp?: (ip: string) => boolean): Pair[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw jsonSyntaxError(err, body, source, undefined);
  }
  if (!isObject(doc) || !Array.isArray(doc.instances)) {
    throw new ParseError('expected a JSON object {"instances": [...]}', { file: source, line: 1, field: 'instances' });
  }
  const instances = doc.instances as unknown[];
  const pairs: Pair[] = new Array(instances.length);
  for (let i = 0; i < instances.length; i++) {
    pairs[i] = instancePair(instances[i], source, undefined, `instances[${i}]`, isValidIp);
  }
  return pairs;
}

/** One instance object per line, in either shape; blank lines are skipped. Errors name the line (1-based). */
export function parseJsonLines(body: string, source: string, isValidIp?: (ip: string) => boolean): Pair[] {
  const pairs: Pair[] = [];
  let start = 0;
  let line = 0;
  while (start <= body.length) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    line++;
    let text = body.slice(start, end);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    start = end + 1;
    if (text.trim() === '') continue;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw jsonSyntaxError(err, text, source, line);
    }
    pairs.push(instancePair(doc, source, line, undefined, isValidIp));
  }
  return pairs;
}

function instancePair(inst: unknown, source: string, line: number | undefined, field: string | undefined, isValidIp: ((ip: string) => boolean) | undefined): Pair {
  const fail = (msg: string): never => {
    throw new ParseError(msg, { file: source, ...(line !== undefined ? { line } : {}), ...(field !== undefined ? { field } : {}) });
  };
  if (!isObject(inst)) return fail('expected an object {"features": [entity, ip]} or {"data": {"features": {"values": [entity, ip]}}}');
  let values: unknown;
  if ('features' in inst) {
    values = inst.features;
  } else if (isObject(inst.data) && isObject(inst.data.features)) {
    values = inst.data.features.values;
  } else {
    return fail('expected "features": [entity, ip] or "data": {"features": {"values": [entity, ip]}}');
  }
  if (!Array.isArray(values) || values.length !== 2) {
    return fail(`expected exactly 2 values [entity, ip], got ${Array.isArray(values) ? `${values.length} values` : describe(values)}`);
  }
  const [entity, ip] = values as [unknown, unknown];
  let e: string;
  if (typeof entity === 'string') e = entity;
  else if (typeof entity === 'number' && Number.isFinite(entity)) e = String(entity);
  else return fail(`entity must be a string, got ${describe(entity)}`);
  if (typeof ip !== 'string') return fail(`ip must be a string, got ${describe(ip)}`);
  const entityText = e.trim();
  const ipText = ip.trim();
  if (entityText === '') return fail('entity is empty');
  if (isValidIp !== undefined && !isValidIp(ipText)) {
    return fail(`invalid IP address ${JSON.stringify(ipText.length > 80 ? ipText.slice(0, 80) + '…' : ipText)}`);
  }
  return { entity: entityText, ip: ipText };
}

function jsonSyntaxError(err: unknown, text: string, source: string, line: number | undefined): ParseError {
  const raw = err instanceof Error ? err.message : String(err);
  // V8 reports "... in JSON at position N" (Node 20) or "(line L column C)" (newer); turn a position into a line.
  const m = /position (\d+)/.exec(raw);
  let where = line;
  if (where === undefined) {
    where = 1;
    if (m) {
      const pos = Math.min(Number(m[1]), text.length);
      for (let i = 0; i < pos; i++) if (text.charCodeAt(i) === 10) where++;
    }
  }
  const detail = raw.length > 200 ? raw.slice(0, 200) + '…' : raw;
  return new ParseError(`invalid JSON: ${detail}`, { file: source, line: where });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40) ?? String(v)}`;
}
