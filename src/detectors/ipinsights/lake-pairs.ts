/**
 * Training pairs from the lake: the reference solution's query (ipinsights.md §6.2) over the `vpc_flow` and
 * `route53` views: entity = src_endpoint.instance_uid, ip = src_endpoint.ip, dropping nulls and '-'.
 * A custom query may be given; its first two columns are (entity, ip) and an optional third column `time`
 * (epoch milliseconds or a timestamp) feeds the model's data time range.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { ConfigError } from '../../core/errors.js';
import type { Duck } from '../../lake/duckdb.js';
import { openLakeQuery } from '../../lake/views.js';
import { PairCollector, type PairData } from './data.js';

const FILTER =
  "src_endpoint.ip IS NOT NULL AND src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid != '-' AND src_endpoint.ip != '-'";

/** The blog notebook's two Athena queries, concatenated (UNION ALL, no dedup, no shuffle), plus the event time. */
export const DEFAULT_PAIRS_SQL =
  `SELECT src_endpoint.instance_uid AS instance_id, src_endpoint.ip AS sourceip, time FROM vpc_flow WHERE ${FILTER}\n` +
  `UNION ALL\n` +
  `SELECT src_endpoint.instance_uid AS instance_id, src_endpoint.ip AS sourceip, time FROM route53 WHERE ${FILTER}`;

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
export async function loadPairsFromLake(lakeDir: string, sql = DEFAULT_PAIRS_SQL): Promise<PairData> {
  const db = await openLakeQuery(lakeDir);
  const c = new PairCollector();
  const source = `lake:${lakeDir}`;
  c.addSource(source);
  try {
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
export async function writeLakePairsCsv(lakeDir: string, out: string | Writable, sql = DEFAULT_PAIRS_SQL): Promise<PairsExport> {
  const stream = typeof out === 'string' ? createWriteStream(out) : out;
  const db = await openLakeQuery(lakeDir);
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
