/**
 * Small value helpers shared by the JSON-based sources: timestamps, IP checks, `unmapped` flattening.
 */
import { isIP } from 'node:net';
import { isPlainObject } from './json-records.js';

/** ISO-8601 / RFC 3339 date-time with `T`, optional fraction, optional zone (no zone = UTC). */
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|z|[+-]\d{2}:?\d{2})?$/;

/** Milliseconds since the epoch for an ISO-8601 date-time, or undefined if it is not one. */
export function parseIsoTime(value: string): number | undefined {
  const m = ISO_TIME.exec(value);
  if (!m) return undefined;
  let zone = m[4] ?? 'Z';
  if (zone === 'z') zone = 'Z';
  else if (zone.length === 5) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  // Date.parse only reliably handles up to milliseconds; keep 3 fraction digits.
  const frac = m[3] ? m[3].slice(0, 4).padEnd(4, '0') : '';
  const ms = Date.parse(`${m[1]}T${m[2]}${frac}${zone}`);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * True for a dotted-quad IPv4 or an IPv6 address (optionally with a `%zone`), the forms `ip_t` accepts.
 * `node:net` isIP is native and strict (no `01.2.3.4`, no short forms); ipaddr.js's IPv6 check is ~50x
 * slower, which matters per record.
 */
export function isIpAddress(value: string): boolean {
  return isIP(value) !== 0;
}

/** The OCSF `hostname_t` pattern (labels of letters, digits and inner hyphens; no trailing dot). */
export const HOSTNAME_RE = /^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/;

/**
 * Flatten leftover raw fields into `unmapped`: dotted keys, string values (numbers and booleans as their
 * JSON text, arrays as JSON), nulls, empty strings and empty objects dropped. This is how Security Lake
 * stores `unmapped` (MAP<string,string>) and what the lake writer does to free-form objects.
 */
export function flattenUnmapped(obj: Record<string, unknown>, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v === null || v === undefined || v === '') continue;
    if (typeof v === 'string') out[key] = v;
    else if (isPlainObject(v)) flattenUnmapped(v, key, out);
    else out[key] = JSON.stringify(v);
  }
  return out;
}

/** A string value, or a number rendered as a string; undefined for anything else (and for ''). */
export function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/**
 * Remove keys whose value is undefined, recursively through plain objects and the objects inside
 * arrays; drop objects left empty. Builds new objects rather than deleting keys (`delete` would turn
 * them into slow dictionary-mode objects for everything downstream: derive, validate, JSON).
 */
export function compact<T extends Record<string, unknown>>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const k in obj) {
    const v = compactValue(obj[k]);
    if (v !== undefined) out[k] = v;
  }
  return out as T;
}

function compactValue(v: unknown): unknown {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    let changed = false;
    const arr = v.map((x) => {
      if (!isPlainObject(x)) return x;
      changed = true;
      return compact(x);
    });
    return changed ? arr : v;
  }
  if (isPlainObject(v)) {
    const c = compact(v);
    for (const _ in c) return c;
    return undefined;
  }
  return v;
}
