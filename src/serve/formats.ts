/**
 * Content negotiation and the request formats of the endpoint for models of the pairs record kind (any detector):
 * text/csv, application/json instances and application/jsonlines, as SageMaker IP Insights defined them
 * (ipinsights.md §3.1–3.2). Response bodies are each model's own (its detector's wire format).
 */
import { ParseError } from '../core/errors.js';
import { readCsvPairs } from '../detectors/pairs/csv.js';
import type { PairRecord, ResponseType } from '../detectors/types.js';

export type RequestFormat = 'text/csv' | 'application/json' | 'application/jsonlines';
export type ResponseFormat = ResponseType;

export const REQUEST_FORMATS: readonly RequestFormat[] = ['text/csv', 'application/json', 'application/jsonlines'];
export const RESPONSE_FORMATS: readonly ResponseFormat[] = ['application/json', 'application/jsonlines'];

export type Pair = PairRecord;

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
 * (first one on ties). No header, an empty header, `*\/*` and `application/*` mean `application/json`;
 * `text/csv` (and `text/*`) only when the model's detector lists it in `extra` (its wire format's responseTypes).
 * Returns undefined when nothing acceptable is supported (the container answers 406).
 */
export function negotiateAccept(accept: string | undefined, extra: readonly ResponseType[] = []): AcceptChoice | undefined {
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
    else if ((type === 'text/csv' || type === 'text/*') && extra.includes('text/csv')) resolved = 'text/csv';
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

/** Where each parsed record came from, for errors found after parsing (an address the model cannot score). */
export interface ParsedPairs {
  pairs: PairRecord[];
  /** Per record: its 1-based line (text/csv, application/jsonlines) or its index in `instances` (application/json). */
  where: number[];
  /** The first malformed record, if any; `pairs` then holds the records before it. */
  error?: ParseError;
}

/**
 * Parses a request body of the pairs record kind, in any of the three request formats, without throwing: a
 * malformed record stops parsing and is returned as `error`. Addresses are not checked here (the model decides what
 * it can score; see scoreBody), only the shape of each record.
 */
export function parsePairs(fmt: RequestFormat, body: string, source: string): ParsedPairs {
  const out: ParsedPairs = { pairs: [], where: [] };
  if (fmt === 'text/csv') csvPairs(body, source, out);
  else if (fmt === 'application/json') jsonInstances(body, source, out);
  else jsonLines(body, source, out);
  return out;
}

/** The location of record `i` of a parsed body, as a ParseError context (`field`: the CSV column at fault). */
export function recordWhere(fmt: RequestFormat, parsed: ParsedPairs, i: number, source: string, field?: string): { file: string; line?: number; field?: string } {
  const w = parsed.where[i]!;
  if (fmt === 'application/json') return { file: source, field: `instances[${w}]` };
  // A CSV error names the column; a JSON Lines error the line only (as the parsers above do).
  return { file: source, line: w, ...(field !== undefined && fmt === 'text/csv' ? { field } : {}) };
}

function throwIfError(p: ParsedPairs): PairRecord[] {
  if (p.error) throw p.error;
  return p.pairs;
}

/**
 * A headerless `entity,ip` CSV body (SageMaker's text/csv request). Whitespace around fields is trimmed, `\r\n`
 * accepted, blank lines skipped. A bad line (quotes, column count, empty entity) throws a ParseError naming `source`
 * and the 1-based line. Addresses are not checked.
 */
export function parseCsvPairs(body: string, source: string): PairRecord[] {
  return throwIfError(parsePairs('text/csv', body, source));
}

/**
 * `{"instances": [...]}` where each instance is `{"features": [entity, ip]}` or
 * `{"data": {"features": {"values": [entity, ip]}}}`; the two shapes may be mixed (§3.1).
 * Throws ParseError naming the instance (and the line for a JSON syntax error). Addresses are not checked.
 */
export function parseJsonInstances(body: string, source: string): PairRecord[] {
  return throwIfError(parsePairs('application/json', body, source));
}

/** One instance object per line, in either shape; blank lines are skipped. Errors name the line (1-based). */
export function parseJsonLines(body: string, source: string): PairRecord[] {
  return throwIfError(parsePairs('application/jsonlines', body, source));
}

function csvPairs(body: string, source: string, out: ParsedPairs): void {
  try {
    readCsvPairs(body, source, out.pairs, out.where);
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    out.error = err;
  }
}

function jsonInstances(body: string, source: string, out: ParsedPairs): void {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    out.error = jsonSyntaxError(err, body, source, undefined);
    return;
  }
  if (!isObject(doc) || !Array.isArray(doc.instances)) {
    out.error = new ParseError('expected a JSON object {"instances": [...]}', { file: source, line: 1, field: 'instances' });
    return;
  }
  const instances = doc.instances as unknown[];
  for (let i = 0; i < instances.length; i++) {
    const p = instancePair(instances[i], source, undefined, `instances[${i}]`);
    if (p instanceof ParseError) {
      out.error = p;
      return;
    }
    out.pairs.push(p);
    out.where.push(i);
  }
}

function jsonLines(body: string, source: string, out: ParsedPairs): void {
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
      out.error = jsonSyntaxError(err, text, source, line);
      return;
    }
    const p = instancePair(doc, source, line, undefined);
    if (p instanceof ParseError) {
      out.error = p;
      return;
    }
    out.pairs.push(p);
    out.where.push(line);
  }
}

function instancePair(inst: unknown, source: string, line: number | undefined, field: string | undefined): PairRecord | ParseError {
  const fail = (msg: string): ParseError => new ParseError(msg, { file: source, ...(line !== undefined ? { line } : {}), ...(field !== undefined ? { field } : {}) });
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
  if (entityText === '') return fail('entity is empty');
  return { entity: entityText, ip: ip.trim() };
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
