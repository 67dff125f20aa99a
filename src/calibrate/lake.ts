/**
 * Held-out normal traffic from the lake: the training pairs (a record definition of src/detectors/pairs/definitions.ts, by default
 * the one the model was trained on, else `default`; or the custom query it was trained on) restricted to a time window
 * [since, until) on OCSF `time` (epoch milliseconds). Window bounds are bound parameters.
 */
import { openLakeQuery } from '../lake/views.js';
import { ConfigError } from '../core/errors.js';
import { lakeDefinitionSql } from '../detectors/pairs/lake.js';
import { DEFAULT_PAIR_DEFINITION, definitionParts, pairDefinition } from '../detectors/pairs/definitions.js';
import type { Duck } from '../lake/duckdb.js';
import type { Pair } from './inputs.js';

/**
 * The group of an entity, per record definition preset, for per-entity thresholds (the monitor does not use it: it
 * scores pairs as before and reads the entity's group from the calibration):
 * - `flow-peer`: the subnet of the instance's own address (its /24, IPv6 /64): instances of one subnet share a tier;
 * - `user-login`: the account signed in to.
 * Returned by the SQL as text, turned into the group's name by `groupName`.
 */
export const GROUP_EXPRESSIONS: Readonly<Record<string, { sql: string; kind: 'subnet' | 'account' }>> = {
  'flow-peer': { sql: 'CASE WHEN connection_info.direction_id = 1 THEN dst_endpoint.ip ELSE src_endpoint.ip END', kind: 'subnet' },
  'user-login': { sql: 'cloud.account.uid', kind: 'account' },
};

/** "10.0.20.167" -> "subnet 10.0.20.0/24"; IPv6 -> its /64; an account id -> "account 123456789012". */
export function groupName(kind: 'subnet' | 'account', value: string): string | undefined {
  const v = value.trim();
  if (v === '' || v === '-') return undefined;
  if (kind === 'account') return `account ${v}`;
  const m4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/.exec(v);
  if (m4) return `subnet ${m4[1]}.${m4[2]}.${m4[3]}.0/24`;
  if (v.includes(':')) {
    const [head] = v.split('::');
    const parts = (head ?? '').split(':').filter((x) => x !== '');
    while (parts.length < 4) parts.push('0');
    return `subnet ${parts.slice(0, 4).join(':')}::/64`;
  }
  return undefined;
}

/**
 * Rows of `from` (columns entity, ip, time and `extra`) in the window `$1` = since (ms, inclusive) .. `$2` = until
 * (ms, exclusive), without missing entities or addresses; with `distinct`, one row per (entity, ip, extra) per window
 * of `$3` ms (see LakeWindow.distinctMs).
 */
function windowSelect(from: string, extra: readonly string[], distinct: boolean): string {
  return `
SELECT ${distinct ? 'DISTINCT ' : ''}${['entity', 'ip', ...extra].join(', ')}${distinct ? ', time // $3 AS bucket' : ''} FROM (${from}) w
WHERE ip IS NOT NULL AND entity IS NOT NULL AND entity <> '-' AND ip <> '-'
  AND time >= $1 AND time < $2${distinct ? '\nORDER BY bucket, entity, ip' : ''}`;
}

/** A pair query (entity, ip, time) in a window (windowSelect). */
export function windowPairsSql(pairsSql: string, distinct = false): string {
  return windowSelect(`SELECT * FROM (${pairsSql}) q (entity, ip, time)`, [], distinct);
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
  /**
   * The unit of calibration: one normal example per distinct (entity, ip) per window of this many ms (default 1 h, the
   * findings policy's dedup window: an alert is one distinct pair per window, so the false-positive rate is per alert,
   * not per connection); 0 = every record (a busy pair then outweighs a thousand one-off peers).
   */
  distinctMs?: number;
}

/** Default unit of calibration: distinct (entity, ip) per hour (src/findings/policy.ts DEFAULT_WINDOW_MS). */
export const DEFAULT_DISTINCT_MS = 3_600_000;

/**
 * The definition's parts with their group expression (a 4th column `grp`, with the kind per part), for the parts that
 * bind against this lake; undefined when a part with a group does not bind (the caller falls back to no groups).
 */
async function groupedSql(db: Duck, def: string): Promise<{ sql: string; kinds: ('subnet' | 'account' | null)[] } | undefined> {
  const d = pairDefinition(def);
  const parts: string[] = [];
  const kinds: ('subnet' | 'account' | null)[] = [];
  for (const part of definitionParts(d)) {
    const g = part.spec.name !== undefined ? GROUP_EXPRESSIONS[part.spec.name] : undefined;
    const sql = `SELECT (${part.spec.entity}) AS entity, (${part.spec.ip}) AS ip, time, ${g ? `CAST((${g.sql}) AS VARCHAR)` : 'NULL::VARCHAR'} AS grp, ${parts.length} AS part FROM ${part.view}${part.spec.where ? ` WHERE ${part.spec.where}` : ''}`;
    try {
      await db.describe(sql);
    } catch {
      continue;
    }
    parts.push(sql);
    kinds.push(g ? g.kind : null);
  }
  return parts.length > 0 ? { sql: parts.join('\nUNION ALL\n'), kinds } : undefined;
}

export async function readLakeWindowPairs(w: LakeWindow): Promise<Pair[]> {
  if (!(w.untilMs > w.sinceMs)) throw new ConfigError('--until must be later than --since', ['until']);
  const distinct = w.distinctMs ?? DEFAULT_DISTINCT_MS;
  if (!Number.isSafeInteger(distinct) || distinct < 0) throw new ConfigError(`distinct window must be a whole number of ms >= 0, got ${distinct}`, ['distinct']);
  const db = await openLakeQuery(w.lakeDir);
  try {
    const out: Pair[] = [];
    const params = [BigInt(w.sinceMs), BigInt(w.untilMs), ...(distinct > 0 ? [BigInt(distinct)] : [])];
    const grouped = w.sql === undefined ? await groupedSql(db, w.pairs ?? DEFAULT_PAIR_DEFINITION) : undefined;
    if (grouped) {
      for await (const chunk of db.stream(windowSelect(grouped.sql, ['grp', 'part'], distinct > 0), params)) {
        for (const r of chunk.rows) {
          const kind = grouped.kinds[Number(r[3])];
          const group = kind && r[2] !== null && r[2] !== undefined ? groupName(kind, String(r[2])) : undefined;
          const p: Pair = { entity: String(r[0]).trim(), ip: String(r[1]).trim() };
          if (group !== undefined) p.group = group;
          out.push(p);
        }
      }
      return out;
    }
    const pairsSql = w.sql !== undefined ? w.sql.trim().replace(/;+$/, '') : (await lakeDefinitionSql(db, w.pairs ?? DEFAULT_PAIR_DEFINITION)).sql;
    for await (const chunk of db.stream(windowPairsSql(pairsSql, distinct > 0), params)) {
      for (const r of chunk.rows) out.push({ entity: String(r[0]).trim(), ip: String(r[1]).trim() });
    }
    return out;
  } finally {
    db.close();
  }
}
