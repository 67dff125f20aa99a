/**
 * Held-out normal traffic from the lake: the training pairs (a record definition of src/detectors/pairs/definitions.ts, by default
 * the one the model was trained on, else `default`; or the custom query it was trained on) restricted to a time window
 * [since, until) on OCSF `time` (epoch milliseconds). Window bounds are bound parameters.
 */
import { openLakeQuery } from '../lake/views.js';
import { ConfigError } from '../core/errors.js';
import { lakeDefinitionSql } from '../detectors/pairs/lake.js';
import { DEFAULT_PAIR_DEFINITION } from '../detectors/pairs/definitions.js';
import type { Pair } from './inputs.js';

/** A pair query (entity, ip, time) wrapped with `$1` = since (ms, inclusive) and `$2` = until (ms, exclusive). */
export function windowPairsSql(pairsSql: string): string {
  return `
SELECT entity, ip FROM (
  SELECT * FROM (${pairsSql}) q (entity, ip, time)
)
WHERE ip IS NOT NULL AND entity IS NOT NULL AND entity <> '-' AND ip <> '-'
  AND time >= $1 AND time < $2`;
}

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
  /** Record definition name (default `default`). */
  pairs?: string;
  /** A custom training query returning (entity, ip, time) instead of a definition (what `train --sql` recorded). */
  sql?: string;
}

export async function readLakeWindowPairs(w: LakeWindow): Promise<Pair[]> {
  if (!(w.untilMs > w.sinceMs)) throw new ConfigError('--until must be later than --since', ['until']);
  const db = await openLakeQuery(w.lakeDir);
  try {
    const pairsSql = w.sql !== undefined ? w.sql.trim().replace(/;+$/, '') : (await lakeDefinitionSql(db, w.pairs ?? DEFAULT_PAIR_DEFINITION)).sql;
    const out: Pair[] = [];
    for await (const chunk of db.stream(windowPairsSql(pairsSql), [BigInt(w.sinceMs), BigInt(w.untilMs)])) {
      for (const r of chunk.rows) out.push({ entity: String(r[0]).trim(), ip: String(r[1]).trim() });
    }
    return out;
  } finally {
    db.close();
  }
}
