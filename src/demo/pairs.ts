/**
 * The (entity, IP) pairs the demo's two models learn and score.
 *
 * - `flows` (instance -> peer): for every VPC flow record, the instance whose interface logged it and the address
 *   at the other end: the source of an ingress record, the destination of an egress record. "Which addresses does
 *   this instance talk to." (The reference solution's query, src_endpoint.instance_uid with src_endpoint.ip, pairs
 *   an instance with its *own* address for flow logs that carry flow-direction, as v5 logs do, because OCSF puts
 *   the instance on the destination endpoint of ingress records; it cannot see who connects to an instance.)
 * - `logins` (user -> source address): console sign-ins and other authentications in `cloudtrail_auth`:
 *   actor.user.name with src_endpoint.ip. Service-invoked events (no user name, no IP) drop out.
 *
 * Every query returns (entity, ip, time) and accepts an optional time window, given as integer epoch milliseconds
 * (validated here, so the literals spliced into the SQL are always plain integers).
 */
import { ConfigError } from '../core/errors.js';

export type PairModel = 'flows' | 'logins';

export const FLOW_ENTITY_SQL = "CASE WHEN connection_info.direction_id = 1 THEN dst_endpoint.instance_uid ELSE src_endpoint.instance_uid END";
export const FLOW_PEER_SQL = 'CASE WHEN connection_info.direction_id = 1 THEN src_endpoint.ip ELSE dst_endpoint.ip END';

export const FLOW_PAIRS_SQL =
  `SELECT ${FLOW_ENTITY_SQL} AS entity, ${FLOW_PEER_SQL} AS ip, time FROM vpc_flow\n` +
  `WHERE connection_info.direction_id IN (1, 2) AND ${FLOW_ENTITY_SQL} IS NOT NULL AND ${FLOW_ENTITY_SQL} <> '-'\n` +
  `  AND ${FLOW_PEER_SQL} IS NOT NULL`;

export const LOGIN_PAIRS_SQL =
  'SELECT actor.user.name AS entity, src_endpoint.ip AS ip, time FROM cloudtrail_auth\n' +
  "WHERE actor.user.name IS NOT NULL AND actor.user.name <> '' AND src_endpoint.ip IS NOT NULL";

export const PAIR_SQL: Record<PairModel, string> = { flows: FLOW_PAIRS_SQL, logins: LOGIN_PAIRS_SQL };

function msLiteral(ms: number, name: string): string {
  if (!Number.isSafeInteger(ms)) throw new ConfigError(`${name} must be an integer epoch-millisecond time, got ${ms}`, [name]);
  return String(ms);
}

/** The model's pair query restricted to since <= time < until (either bound optional). */
export function pairSql(model: PairModel, window: { sinceMs?: number; untilMs?: number } = {}): string {
  const conds: string[] = [];
  if (window.sinceMs !== undefined) conds.push(`time >= ${msLiteral(window.sinceMs, 'since')}`);
  if (window.untilMs !== undefined) conds.push(`time < ${msLiteral(window.untilMs, 'until')}`);
  const base = PAIR_SQL[model];
  return conds.length === 0 ? base : `SELECT entity, ip, time FROM (\n${base}\n) WHERE ${conds.join(' AND ')}`;
}
