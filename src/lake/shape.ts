/**
 * Parquet column types for OCSF events. While events stream into the writer, their shape (the union of
 * attributes actually present) is tracked, and each attribute's type comes from the OCSF schema, as Security Lake
 * stores it: a port is INTEGER, a byte count BIGINT, a `*_dt` (datetime_t) a TIMESTAMP in milliseconds, UTC (Parquet
 * INT64 TIMESTAMP_MILLIS; the RFC 3339 text is parsed, offsets applied), `unmapped` a MAP(VARCHAR, VARCHAR), and
 * nested objects structs. Only attributes present in the data become columns, as Security Lake does; the views give
 * every table its full schema (columns.ts).
 */
import { attributeAt } from '../ocsf/schema.js';
import type { BulkExpr } from '../core/bulk.js';
import { quoteIdent } from './duckdb.js';

type Leaf = 'BOOLEAN' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'TIMESTAMP' | 'VARCHAR' | 'MAP';
type Base = AttrKind['base'];
/** Shape nodes remember their schema kind (`b`), so the schema is consulted once per attribute path, not per event. */
export type Shape =
  | { k: 'leaf'; t: Leaf; b?: Base }
  | { k: 'struct'; fields: Map<string, Shape>; b?: Base }
  | { k: 'list'; el: Shape | undefined; b?: Base };

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

interface AttrKind {
  /** The schema's storage base, `datetime` for datetime_t (a string in OCSF JSON, a TIMESTAMP in the lake). */
  base: 'string' | 'datetime' | 'integer' | 'long' | 'float' | 'boolean' | 'json' | 'object' | 'struct' | 'unknown';
}

const attrCache = new Map<string, AttrKind>();

function attrKind(classUid: number, segs: string[]): AttrKind {
  const key = `${classUid}|${segs.join('.')}`;
  let k = attrCache.get(key);
  if (!k) {
    const info = attributeAt(classUid, segs);
    k = { base: info ? (info.type === 'datetime_t' ? 'datetime' : info.base) : 'unknown' };
    attrCache.set(key, k);
  }
  return k;
}

/**
 * Merge `event` into `shape` (a struct). Returns an error message when a value cannot be stored in its
 * schema type (e.g. an integer_t outside 32 bits); the caller quarantines that event. May rewrite
 * free-form `object` attributes (unmapped) into flat string maps in place.
 */
export function mergeEvent(shape: Shape & { k: 'struct' }, event: Record<string, unknown>, classUid: number): string | undefined {
  return mergeObject(shape, event, classUid, []);
}

function mergeObject(
  shape: Shape & { k: 'struct' },
  obj: Record<string, unknown>,
  classUid: number,
  segs: string[],
): string | undefined {
  for (const key in obj) {
    const value = obj[key];
    if (value === null || value === undefined) continue;
    segs.push(key);
    const err = mergeValue(shape.fields, key, value, classUid, segs, obj);
    segs.pop();
    if (err) return err;
  }
  return undefined;
}

function mergeValue(
  fields: Map<string, Shape>,
  key: string,
  value: unknown,
  classUid: number,
  segs: string[],
  parent: Record<string, unknown>,
): string | undefined {
  const existing = fields.get(key);
  const kind = existing?.b ?? attrKind(classUid, segs).base;
  if (Array.isArray(value)) {
    let node = existing;
    if (!node || node.k !== 'list') {
      node = { k: 'list', el: undefined, b: kind };
      fields.set(key, node);
    }
    for (const item of value) {
      if (item === null || item === undefined) continue;
      const holder = new Map<string, Shape>();
      if (node.el) holder.set('el', node.el);
      const err = mergeValue(holder, 'el', item, classUid, segs, {});
      if (err) return err;
      node.el = holder.get('el');
    }
    return undefined;
  }
  if (kind === 'object' || kind === 'json') {
    if (kind === 'object' && typeof value === 'object') {
      parent[key] = flattenToStrings(value as Record<string, unknown>);
      setLeaf(fields, key, 'MAP', kind);
    } else {
      setLeaf(fields, key, 'VARCHAR', kind);
    }
    return undefined;
  }
  if (typeof value === 'object') {
    let node = existing;
    if (!node || node.k !== 'struct') {
      node = { k: 'struct', fields: new Map(), b: kind };
      fields.set(key, node);
    }
    return mergeObject(node, value as Record<string, unknown>, classUid, segs);
  }
  switch (kind) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
        return `${segs.join('.')}: ${JSON.stringify(value)} does not fit a 32-bit integer`;
      }
      setLeaf(fields, key, 'INTEGER', kind);
      return undefined;
    case 'long':
      if (typeof value !== 'number' || !Number.isInteger(value)) return `${segs.join('.')}: ${JSON.stringify(value)} is not an integer`;
      setLeaf(fields, key, 'BIGINT', kind);
      return undefined;
    case 'float':
      if (typeof value !== 'number') return `${segs.join('.')}: ${JSON.stringify(value)} is not a number`;
      setLeaf(fields, key, 'DOUBLE', kind);
      return undefined;
    case 'boolean':
      if (typeof value !== 'boolean') return `${segs.join('.')}: ${JSON.stringify(value)} is not a boolean`;
      setLeaf(fields, key, 'BOOLEAN', kind);
      return undefined;
    case 'string':
      if (typeof value !== 'string') return `${segs.join('.')}: ${JSON.stringify(value)} is not a string`;
      setLeaf(fields, key, 'VARCHAR', kind);
      return undefined;
    case 'datetime': {
      const iso = typeof value === 'string' ? utcIso(value) : undefined;
      if (iso === undefined) return `${segs.join('.')}: ${JSON.stringify(value)} is not an RFC 3339 date-time`;
      parent[key] = iso;
      setLeaf(fields, key, 'TIMESTAMP', kind);
      return undefined;
    }
    default:
      // Not in the schema (only reachable when validation is off): infer from the value.
      setLeaf(
        fields,
        key,
        typeof value === 'boolean' ? 'BOOLEAN' : typeof value === 'number' ? (Number.isInteger(value) ? 'BIGINT' : 'DOUBLE') : 'VARCHAR',
        kind,
      );
      return undefined;
  }
}

const WIDEN: Record<Leaf, number> = { BOOLEAN: 0, INTEGER: 1, BIGINT: 2, DOUBLE: 3, TIMESTAMP: 4, MAP: 5, VARCHAR: 6 };

function setLeaf(fields: Map<string, Shape>, key: string, t: Leaf, b: Base): void {
  const cur = fields.get(key);
  if (cur && cur.k === 'leaf') {
    if (cur.t !== t && WIDEN[t] > WIDEN[cur.t]) cur.t = t;
    return;
  }
  fields.set(key, { k: 'leaf', t, b });
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$/;

/**
 * A datetime_t value as the lake stores it: the instant in UTC with milliseconds (`2024-01-02T03:04:05.123Z`), which
 * DuckDB reads into TIMESTAMP_MS exactly. Text without an offset is UTC (as OCSF's datetime_t means it); digits
 * beyond milliseconds are dropped. Undefined when the text is not a date-time.
 */
export function utcIso(text: string): string | undefined {
  if (isCanonicalUtc(text)) return text;
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const frac = m[7] ? m[7].slice(0, 4).padEnd(4, '0') : '.000';
  const zone = !m[8] || m[8] === 'z' ? 'Z' : m[8];
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${frac}${zone}`);
  if (!Number.isFinite(ms)) return undefined;
  const d = new Date(ms);
  // Years outside 0000-9999 have no 4-digit form; TIMESTAMP holds them, but datetime_t text cannot name them.
  return d.getUTCFullYear() >= 0 && d.getUTCFullYear() <= 9999 ? d.toISOString() : undefined;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two ASCII digits at `i` as a number, or -1. */
function two(t: string, i: number): number {
  const a = t.charCodeAt(i) - 48;
  const b = t.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Whether `t` is already `YYYY-MM-DDTHH:MM:SS.sssZ` naming a real instant (what deriveEvent writes): the common case,
 * checked without building a Date (the writer sees several `*_dt` per event).
 */
function isCanonicalUtc(t: string): boolean {
  if (t.length !== 24 || t[4] !== '-' || t[7] !== '-' || t[10] !== 'T' || t[13] !== ':' || t[16] !== ':' || t[19] !== '.' || t[23] !== 'Z') return false;
  const hi = two(t, 0);
  const lo = two(t, 2);
  const month = two(t, 5);
  const day = two(t, 8);
  if (hi < 0 || lo < 0 || month < 1 || month > 12 || day < 1 || two(t, 11) < 0 || two(t, 11) > 23 || two(t, 14) < 0 || two(t, 14) > 59) return false;
  if (two(t, 17) < 0 || two(t, 17) > 59 || two(t, 20) < 0 || t.charCodeAt(22) < 48 || t.charCodeAt(22) > 57) return false;
  const year = hi * 100 + lo;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS[month - 1]!);
}

/** `unmapped`-style free-form objects become flat string maps with dotted keys (as Security Lake stores them). */
export function flattenToStrings(obj: Record<string, unknown>, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v === null || v === undefined) continue;
    if (typeof v === 'string') out[key] = v;
    else if (typeof v === 'object' && !Array.isArray(v)) flattenToStrings(v as Record<string, unknown>, key, out);
    else out[key] = JSON.stringify(v);
  }
  return out;
}

/** DuckDB type text for a shape node. */
export function duckType(shape: Shape): string {
  switch (shape.k) {
    case 'leaf':
      return shape.t === 'MAP' ? 'MAP(VARCHAR, VARCHAR)' : shape.t === 'TIMESTAMP' ? 'TIMESTAMP_MS' : shape.t;
    case 'list':
      return `${shape.el ? duckType(shape.el) : 'VARCHAR'}[]`;
    case 'struct':
      return `STRUCT(${[...shape.fields].map(([n, s]) => `${quoteIdent(n)} ${duckType(s)}`).join(', ')})`;
  }
}

/** The `columns={...}` argument of read_json for a top-level struct shape. */
export function readJsonColumns(shape: Shape & { k: 'struct' }): string {
  const cols = [...shape.fields].map(([n, s]) => `${sqlString(n)}: ${sqlString(duckType(s))}`);
  return `{${cols.join(', ')}}`;
}

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

// ---- SQL from a shape (bulk path) -------------------------------------------------------------------

/** Thrown when a bulk plan has no expression for an attribute its events have (a plan that is out of date). */
export class BulkPlanError extends Error {}

/**
 * The SELECT list that produces exactly the columns of `shape` (names, order, types) from the bulk
 * expressions `exprs` (see {@link BulkExpr}). Every leaf is cast to its shape type, objects are
 * `struct_pack`s in shape order, lists of objects are built from their candidate elements. Paths of
 * `exprs` the shape lacks are ignored (no event of this part has them); a shape path without an
 * expression throws {@link BulkPlanError}.
 */
export function selectFromShape(shape: Shape & { k: 'struct' }, exprs: Readonly<Record<string, BulkExpr>>): string {
  const cols: string[] = [];
  for (const [name, node] of shape.fields) cols.push(`${sqlOf(node, name, exprs)} AS ${quoteIdent(name)}`);
  return cols.join(',\n  ');
}

function exprAt(exprs: Readonly<Record<string, BulkExpr>>, path: string): BulkExpr | undefined {
  return Object.hasOwn(exprs, path) ? exprs[path] : undefined;
}

function sqlOf(node: Shape, path: string, exprs: Readonly<Record<string, BulkExpr>>): string {
  const e = exprAt(exprs, path);
  switch (node.k) {
    case 'leaf':
      if (typeof e !== 'string') throw new BulkPlanError(`bulk plan has no SQL for ${path}`);
      return `CAST(${e} AS ${duckType(node)})`;
    case 'struct': {
      const packed = `struct_pack(${[...node.fields].map(([n, s]) => `${quoteIdent(n)} := ${sqlOf(s, `${path}.${n}`, exprs)}`).join(', ')})`;
      if (e === undefined) return packed;
      if (typeof e === 'object' && 'when' in e) return `CASE WHEN ${e.when} THEN ${packed} END`;
      throw new BulkPlanError(`bulk plan: ${path} is an object, its SQL must be { when }`);
    }
    case 'list': {
      if (node.el?.k !== 'struct') {
        if (typeof e !== 'string') throw new BulkPlanError(`bulk plan has no SQL for ${path}`);
        return `CAST(${e} AS ${duckType(node)})`;
      }
      if (typeof e !== 'object' || !('items' in e) || e.items.length === 0) throw new BulkPlanError(`bulk plan: ${path} is a list of objects, its SQL must be { items: [...] }`);
      const el = node.el;
      const items = e.items.map((item) => {
        const fields = [...el.fields].map(([n, s]) => {
          if (s.k !== 'leaf') throw new BulkPlanError(`bulk plan: ${path}[].${n} must be a scalar`);
          const f = Object.hasOwn(item.fields, n) ? item.fields[n] : undefined;
          if (f === undefined) throw new BulkPlanError(`bulk plan has no SQL for ${path}[].${n}`);
          return `${quoteIdent(n)} := CAST(${f} AS ${duckType(s)})`;
        });
        const packed = `struct_pack(${fields.join(', ')})`;
        return item.when ? `CASE WHEN ${item.when} THEN ${packed} END` : packed;
      });
      const conditional = e.items.every((i) => i.when);
      const list = e.items.some((i) => i.when) ? `list_filter([${items.join(', ')}], x -> x IS NOT NULL)` : `[${items.join(', ')}]`;
      return conditional ? `CASE WHEN ${e.items.map((i) => `(${i.when})`).join(' OR ')} THEN ${list} END` : list;
    }
  }
}
