/**
 * Turn a row read back from Parquet (through `Duck.all()` / `Duck.stream()`) into OCSF JSON:
 *
 * - null/undefined members are dropped at every depth (a Parquet struct has every field of the file's
 *   schema, null where the event had none);
 * - DuckDB MAP values, which come back as arrays of `{ key, value }`, become plain objects (`unmapped`);
 * - BIGINTs are kept as the wrapper gives them (a number, or a decimal string beyond 2^53);
 * - TIMESTAMP values (how Security Lake stores `*_dt` datetime_t attributes) come back as `Date` and
 *   become RFC 3339 strings (`2021-09-07T20:37:30.642Z`);
 * - partition columns added by hive partitioning (`region`, `accountId`, `eventDay`) are not OCSF
 *   attributes: list them in `dropColumns`.
 *
 * Whether a list of `{key, value}` is a MAP is decided by the schema where the row's class knows the path
 * (`object`/`json_t` attributes are maps, arrays of OCSF objects are not); for paths outside the schema a
 * non-empty list whose elements all have exactly the keys `key` and `value` is taken for a map.
 */
import type { OcsfEvent } from '../core/events.js';
import { attributeAt } from './schema.js';

export interface RowToEventOptions {
  /** Top-level columns to drop (hive partition columns such as `region`, `accountId`, `eventDay`). */
  dropColumns?: readonly string[];
}

/** Hive partition column names used by the Security Lake layout. */
export const HIVE_PARTITION_COLUMNS: readonly string[] = ['region', 'accountId', 'accountid', 'eventDay', 'eventday'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function isMapEntries(v: unknown[]): boolean {
  if (v.length === 0) return false;
  for (const el of v) {
    if (!isPlainObject(el)) return false;
    const keys = Object.keys(el);
    if (keys.length !== 2 || !('key' in el) || !('value' in el)) return false;
  }
  return true;
}

function mapToObject(entries: unknown[], classUid: number | undefined, path: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const el of entries) {
    const { key, value } = el as { key: unknown; value: unknown };
    if (value === null || value === undefined || key === null || key === undefined) continue;
    out[String(key)] = convert(value, classUid, path, true);
  }
  return out;
}

/** `freeForm`: inside an `object`/`json_t` value, where the schema says nothing. */
function convert(v: unknown, classUid: number | undefined, path: string[], freeForm: boolean): unknown {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (Array.isArray(v)) {
    const info = !freeForm && classUid !== undefined ? attributeAt(classUid, path) : undefined;
    const mapLike = info ? (info.base === 'object' || info.base === 'json') && !info.isArray : undefined;
    if (mapLike === true && (v.length === 0 || isMapEntries(v))) return mapToObject(v, classUid, path);
    if (mapLike === undefined && isMapEntries(v)) return mapToObject(v, classUid, path);
    const inner = freeForm || (info !== undefined && (info.base === 'object' || info.base === 'json'));
    return v.map((el) => convert(el, classUid, path, inner));
  }
  if (isPlainObject(v)) {
    const info = !freeForm && classUid !== undefined && path.length > 0 ? attributeAt(classUid, path) : undefined;
    const inner = freeForm || (info !== undefined && (info.base === 'object' || info.base === 'json'));
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) {
      const x = v[key];
      if (x === null || x === undefined) continue;
      path.push(key);
      out[key] = convert(x, classUid, path, inner);
      path.pop();
    }
    return out;
  }
  return v;
}

/** Convert one Parquet/DuckDB row to an OCSF event (a new object; the row is not modified). */
export function rowToEvent(row: Record<string, unknown>, opts: RowToEventOptions = {}): OcsfEvent {
  const drop = opts.dropColumns && opts.dropColumns.length > 0 ? new Set(opts.dropColumns) : undefined;
  const classUid = typeof row.class_uid === 'number' ? row.class_uid : undefined;
  const out: OcsfEvent = {};
  const path: string[] = [];
  for (const key of Object.keys(row)) {
    if (drop?.has(key)) continue;
    const x = row[key];
    if (x === null || x === undefined) continue;
    path.push(key);
    out[key] = convert(x, classUid, path, false);
    path.pop();
  }
  return out;
}
