/**
 * Source `ocsf`: events that are already OCSF (JSON lines, a JSON array or one object, or Parquet as the
 * lake writes it). Events pass through unchanged; the ingest pipeline derives missing names and validates.
 * The lake source comes from `metadata.product`. See README.md.
 */
import { ParseError, errorMessage } from '../../core/errors.js';
import { Duck } from '../../lake/duckdb.js';
import { HIVE_PARTITION_COLUMNS, rowToEvent } from '../../ocsf/from-row.js';
import type { LakeSourceName, OcsfEvent, SourceDefinition, SourceHints, SourceInput, SourceItem } from '../types.js';
import { cloudTrailLakeSource } from '../aws_cloudtrail/to-ocsf.js';
import { batched, isPlainObject, readJsonRecords, truncateRaw } from './json-records.js';

/** Custom-source names are at most 20 characters in Security Lake. */
const MAX_EXT_NAME = 20;

/** `EXT_<name>` from a product name: lower-case letters, digits and `_`; `EXT_ocsf` when nothing is left. */
export function extSourceName(product: string | undefined): LakeSourceName {
  const name = (product ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, MAX_EXT_NAME)
    .replace(/_+$/, '');
  return `EXT_${name || 'ocsf'}`;
}

function at(obj: unknown, ...path: string[]): unknown {
  let o = obj;
  for (const p of path) {
    if (!isPlainObject(o)) return undefined;
    o = o[p];
  }
  return o;
}

/** Lake source of an OCSF event, from `metadata.product` (and, for CloudTrail, the feature and service). */
export function ocsfLakeSource(event: OcsfEvent): LakeSourceName {
  const product = at(event, 'metadata', 'product', 'name');
  const name = typeof product === 'string' ? product : undefined;
  switch (name?.toLowerCase()) {
    case 'amazon vpc':
      return 'VPC_FLOW';
    case 'route 53':
      return 'ROUTE53';
    case 'cloudtrail': {
      const feature = at(event, 'metadata', 'product', 'feature', 'name');
      const service = at(event, 'api', 'service', 'name');
      const f = feature === 'Data' || feature === 'Insight' || feature === 'Insights' ? feature : 'Management';
      return cloudTrailLakeSource(f, typeof service === 'string' ? service : undefined);
    }
    default:
      return extSourceName(name);
  }
}

/** Why a decoded value is not an OCSF event, or undefined if it looks like one. */
export function notOcsf(value: unknown): { field: string; reason: string } | undefined {
  if (!isPlainObject(value)) {
    return { field: 'record', reason: `record: not a JSON object (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})` };
  }
  if (typeof value.class_uid !== 'number' || !Number.isInteger(value.class_uid)) {
    return { field: 'class_uid', reason: value.class_uid === undefined ? 'class_uid: missing' : 'class_uid: not an integer' };
  }
  if (!isPlainObject(value.metadata)) return { field: 'metadata', reason: value.metadata === undefined ? 'metadata: missing' : 'metadata: not an object' };
  return undefined;
}

export function detectOcsf(head: string, _name: string, columns?: string[]): number {
  if (columns) return columns.includes('class_uid') && columns.includes('metadata') ? 0.9 : 0;
  const t = head.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return 0;
  return /"class_uid"\s*:\s*\d/.test(head) && /"metadata"\s*:\s*\{/.test(head) ? 0.9 : 0;
}

function toItem(value: unknown, line: number, raw: () => string): SourceItem {
  const bad = notOcsf(value);
  if (bad) return { kind: 'reject', line, reason: bad.reason, field: bad.field, raw: truncateRaw(raw()) };
  const event = value as OcsfEvent;
  return { kind: 'event', event, line, lakeSource: ocsfLakeSource(event) };
}

async function* jsonItems(input: SourceInput): AsyncGenerator<SourceItem> {
  for await (const rec of readJsonRecords(input)) {
    if (!rec.ok) yield { kind: 'reject', line: rec.line, reason: rec.reason, raw: rec.raw };
    else yield toItem(rec.value, rec.line, rec.raw);
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Parquet rows, streamed through DuckDB; rows are numbered from 1. A file DuckDB cannot read fails as a
 * whole (ParseError, kind `total`): nothing of it is published, so it can be retried once repaired.
 */
async function* parquetBatches(input: SourceInput): AsyncGenerator<SourceItem[]> {
  const db = await Duck.open({ threads: 1 });
  try {
    let n = 0;
    const rows = db.stream('SELECT * FROM read_parquet($1, hive_partitioning = false)', [input.path]);
    const next = async (): Promise<IteratorResult<{ columns: string[]; rows: unknown[][] }>> => {
      try {
        return await rows.next();
      } catch (err) {
        throw new ParseError(`cannot read Parquet after ${n} rows: ${errorMessage(err)}`, { file: input.name, line: n + 1, kind: 'total' }, { cause: err });
      }
    };
    for (let r = await next(); !r.done; r = await next()) {
      const chunk = r.value;
      const batch: SourceItem[] = [];
      for (const values of chunk.rows) {
        n++;
        const row: Record<string, unknown> = {};
        chunk.columns.forEach((c, i) => (row[c] = values[i]));
        const event = rowToEvent(row, { dropColumns: HIVE_PARTITION_COLUMNS });
        batch.push(toItem(event, n, () => safeJson(event)));
      }
      if (batch.length > 0) yield batch;
    }
  } finally {
    db.close();
  }
}

export const ocsfSource: SourceDefinition = {
  type: 'ocsf',
  description: 'Events already in OCSF (JSON lines, JSON array, or Parquet); passed through, lake source from metadata.product',
  detect: detectOcsf,
  read(input: SourceInput, _hints: SourceHints): AsyncIterable<SourceItem[]> {
    return input.isParquet ? parquetBatches(input) : batched(jsonItems(input));
  },
};
