/**
 * Held-out normal traffic from the lake: the training pair query (the reference solution's two Athena queries, over
 * vpc_flow and route53: entity = src_endpoint.instance_uid, ip = src_endpoint.ip, nulls and '-' dropped) restricted
 * to a time window [since, until) on OCSF `time` (epoch milliseconds). Window bounds are bound parameters.
 */
import { openLakeQuery } from '../lake/views.js';
import { ConfigError } from '../core/errors.js';
import type { Pair } from './inputs.js';

/** The pair query with `$1` = since (ms, inclusive) and `$2` = until (ms, exclusive). */
export const LAKE_WINDOW_PAIRS_SQL = `
SELECT entity, ip FROM (
  SELECT src_endpoint.instance_uid AS entity, src_endpoint.ip AS ip, time FROM vpc_flow
  UNION ALL
  SELECT src_endpoint.instance_uid AS entity, src_endpoint.ip AS ip, time FROM route53
)
WHERE ip IS NOT NULL AND entity IS NOT NULL AND entity <> '-' AND ip <> '-'
  AND time >= $1 AND time < $2`;

/** Parse an ISO-8601 instant (a bare date means midnight UTC); names the option on error. */
export function parseInstant(text: string, option: string): number {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(ms)) throw new ConfigError(`${option}: not an ISO-8601 date or time: '${text}'`, [option]);
  return ms;
}

export interface LakeWindow {
  lakeDir: string;
  sinceMs: number;
  untilMs: number;
}

export async function readLakeWindowPairs(w: LakeWindow): Promise<Pair[]> {
  if (!(w.untilMs > w.sinceMs)) throw new ConfigError('--until must be later than --since', ['until']);
  const db = await openLakeQuery(w.lakeDir);
  try {
    const out: Pair[] = [];
    for await (const chunk of db.stream(LAKE_WINDOW_PAIRS_SQL, [BigInt(w.sinceMs), BigInt(w.untilMs)])) {
      for (const r of chunk.rows) out.push({ entity: String(r[0]).trim(), ip: String(r[1]).trim() });
    }
    return out;
  } finally {
    db.close();
  }
}
