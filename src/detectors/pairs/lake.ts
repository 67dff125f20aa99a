/**
 * Training pairs from the lake: a record definition (src/detectors/pairs/definitions.ts; default `default` = flow-peer for VPC
 * flow logs + user-login for CloudTrail sign-ins) compiled to SQL over the lake's views, with exactly the
 * expressions the monitor applies to each object. Parts whose view is empty or lacks the columns (a lake without
 * CloudTrail, flow logs without flow-direction) are left out. A custom query may be given instead; its first two
 * columns are (entity, ip) and an optional third column `time` (epoch milliseconds or a timestamp) feeds the model's
 * data time range.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { ConfigError, errorMessage } from '../../core/errors.js';
import type { Duck } from '../../lake/duckdb.js';
import { openLakeQuery } from '../../lake/views.js';
import { DEFAULT_PAIR_DEFINITION, definitionParts, pairDefinition, type PairDefinition } from './definitions.js';
import { PairCollector, type PairData } from './data.js';

const FILTER =
  "src_endpoint.ip IS NOT NULL AND src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid != '-' AND src_endpoint.ip != '-'";

/**
 * The blog notebook's two Athena queries, concatenated (UNION ALL, no dedup, no shuffle), plus the event time: the
 * `reference` definition as the reference solution wrote it. Degenerate on VPC flow logs v5+ (it pairs each instance
 * with its own address; see src/detectors/pairs/definitions.ts); no longer the default.
 */
export const REFERENCE_PAIRS_SQL =
  `SELECT src_endpoint.instance_uid AS instance_id, src_endpoint.ip AS sourceip, time FROM vpc_flow WHERE ${FILTER}\n` +
  `UNION ALL\n` +
  `SELECT src_endpoint.instance_uid AS instance_id, src_endpoint.ip AS sourceip, time FROM route53 WHERE ${FILTER}`;

/** @deprecated the reference query under its old name; the lake pipeline's default is the `default` definition. */
export const DEFAULT_PAIRS_SQL = REFERENCE_PAIRS_SQL;

/** What to read: a custom SQL query, or a record definition (name or object). */
export type LakePairsQuery = string | { definition: string | PairDefinition };

/** The default: the `default` record definition. */
export const DEFAULT_LAKE_PAIRS: LakePairsQuery = { definition: DEFAULT_PAIR_DEFINITION };

/**
 * A definition's training SQL for this lake: the parts (spec x view) that bind against the lake's views and read at
 * least one record, UNION ALL. A part over a source the lake does not hold, or whose filter no record meets (flow-peer
 * over flow logs without flow-direction: the views have every column of their class, NULL where the data has none),
 * is left out rather than adding nothing or failing the whole query. When no part reads anything, a ConfigError says
 * why and what to use instead.
 */
export async function lakeDefinitionSql(db: Duck, def: string | PairDefinition): Promise<{ sql: string; skipped: string[] }> {
  const d = typeof def === 'string' ? pairDefinition(def) : def;
  const keep: string[] = [];
  const skipped: string[] = [];
  const reasons: string[] = [];
  for (const part of definitionParts(d)) {
    try {
      await db.describe(part.sql);
      if ((await db.all(`SELECT 1 FROM (${part.sql}) AS part LIMIT 1`)).length === 0) {
        skipped.push(`${part.spec.name ?? d.name} over ${part.view}`);
        reasons.push(`${part.spec.name ?? d.name} over ${part.view}: no record of ${part.view} meets it`);
        continue;
      }
      keep.push(part.sql);
    } catch (err) {
      const msg = errorMessage(err);
      if (!/Binder Error|Catalog Error/i.test(msg)) throw err;
      skipped.push(`${part.spec.name ?? d.name} over ${part.view}`);
      reasons.push(`${part.spec.name ?? d.name} over ${part.view}: ${msg.replace(/^SQL failed: /, '').split('\n')[0]}`);
    }
  }
  if (keep.length === 0) {
    throw new ConfigError(
      `pair definition '${d.name}' reads nothing in this lake (${reasons.join('; ')}). ` +
        `flow-peer needs VPC flow logs with flow-direction (v5+); for v2-v4 flow logs without it use --pairs reference; ` +
        `user-login needs CloudTrail sign-ins`,
      ['pairs'],
    );
  }
  return { sql: keep.join('\nUNION ALL\n'), skipped };
}

async function resolveQuery(db: Duck, q: LakePairsQuery): Promise<string> {
  return typeof q === 'string' ? q : (await lakeDefinitionSql(db, q.definition)).sql;
}

/** (entity fingerprint, address) keys of every pair: the input of checkDegenerate (src/detectors/pairs/definitions.ts). */
export function* pairDataKeys(data: PairData): Generator<[string, string]> {
  for (let i = 0; i < data.n; i++) {
    const ip = data.fam[i] === 4 ? `4:${data.addr[i]}` : `6:${Array.from(data.v6.subarray(data.addr[i]! * 4, data.addr[i]! * 4 + 4)).join('.')}`;
    yield [String(data.fp[i]), ip];
  }
}

function timeMs(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  if (v && typeof v === 'object' && 'micros' in v) return Number((v as { micros: bigint }).micros) / 1000;
  return undefined;
}

/** Stream the rows of `sql` into `onRow(entity, ip, time, rowNumber)`. */
export async function streamLakePairs(
  db: Duck,
  sql: string,
  onRow: (entity: string, ip: string, time: number | undefined, row: number) => void,
  afterChunk?: () => Promise<void>,
): Promise<number> {
  let row = 0;
  let checked = false;
  for await (const chunk of db.stream(sql)) {
    if (!checked) {
      if (chunk.columns.length < 2) throw new ConfigError(`the pairs query must return (entity, ip[, time]) columns; got ${chunk.columns.join(', ')}`, ['sql']);
      checked = true;
    }
    const hasTime = chunk.columns.length >= 3;
    for (const r of chunk.rows) {
      row++;
      const e = r[0];
      const ip = r[1];
      onRow(e === null || e === undefined ? '' : String(e).trim(), ip === null || ip === undefined ? '' : String(ip).trim(), hasTime ? timeMs(r[2]) : undefined, row);
    }
    if (afterChunk) await afterChunk();
  }
  return row;
}

/** Collect training pairs from a lake directory. */
export async function loadPairsFromLake(lakeDir: string, query: LakePairsQuery = DEFAULT_LAKE_PAIRS): Promise<PairData> {
  const db = await openLakeQuery(lakeDir);
  const c = new PairCollector();
  const source = `lake:${lakeDir}`;
  c.addSource(source);
  try {
    const sql = await resolveQuery(db, query);
    await streamLakePairs(db, sql, (entity, ip, time, row) => c.add(entity, ip, source, row, time));
  } finally {
    db.close();
  }
  return c.finish();
}

/** CSV field: quoted only when needed (RFC 4180). */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
}

export interface PairsExport {
  rows: number;
  written: number;
  skipped: number;
}

/** Write the lake's training pairs as headerless `entity,ip` CSV (SageMaker's training format). */
export async function writeLakePairsCsv(lakeDir: string, out: string | Writable, query: LakePairsQuery = DEFAULT_LAKE_PAIRS): Promise<PairsExport> {
  const db = await openLakeQuery(lakeDir);
  let sql: string;
  try {
    sql = await resolveQuery(db, query);
  } catch (err) {
    db.close();
    throw err;
  }
  const stream = typeof out === 'string' ? createWriteStream(out) : out;
  let buf = '';
  let written = 0;
  let skipped = 0;
  let rows = 0;
  try {
    rows = await streamLakePairs(
      db,
      sql,
      (entity, ip) => {
        if (entity === '' || ip === '' || ip === '-' || entity === '-') {
          skipped++;
          return;
        }
        buf += `${csvField(entity)},${csvField(ip)}\n`;
        written++;
      },
      async () => {
        if (buf.length > 1 << 16) {
          const b = buf;
          buf = '';
          if (!stream.write(b)) await once(stream, 'drain');
        }
      },
    );
    if (buf.length > 0 && !stream.write(buf)) await once(stream, 'drain');
  } finally {
    db.close();
  }
  if (typeof out === 'string') {
    stream.end();
    await once(stream, 'finish');
  }
  return { rows, written, skipped };
}
