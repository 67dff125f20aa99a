/**
 * The (entity, IP) pairs the demo's two models learn, taken from the monitor's pair presets
 * (`src/monitor/processor.ts`) so that training and monitoring use one definition:
 *
 * - `flows` = preset `flow-peer` over the `vpc_flow` view: the instance whose interface logged a flow record and the
 *   address at the other end (source of an ingress record, destination of an egress record). "Which addresses does
 *   this instance talk to." (The reference solution's pair, src_endpoint.instance_uid with src_endpoint.ip, pairs
 *   an instance with its *own* address for flow logs that carry flow-direction, as v5 logs do, because OCSF puts
 *   the instance on the destination endpoint of ingress records; it cannot see who connects to an instance.)
 * - `logins` = preset `user-login` over the `cloudtrail_auth` view: actor.user.name with src_endpoint.ip of console
 *   sign-ins and other authentications. Service-invoked events (no user name, no IP) drop out.
 *
 * Every query returns (entity, ip, time) and accepts an optional time window, given as integer epoch milliseconds
 * (validated here, so the literals spliced into the SQL are always plain integers).
 */
import { ConfigError } from '../core/errors.js';
import { pairPreset } from '../detectors/pairs/definitions.js';

export type PairModel = 'flows' | 'logins';

/** The monitor preset and the lake view each model uses. */
export const PAIR_SOURCES: Record<PairModel, { preset: string; view: string }> = {
  flows: { preset: 'flow-peer', view: 'vpc_flow' },
  logins: { preset: 'user-login', view: 'cloudtrail_auth' },
};

function msLiteral(ms: number, name: string): string {
  if (!Number.isSafeInteger(ms)) throw new ConfigError(`${name} must be an integer epoch-millisecond time, got ${ms}`, [name]);
  return String(ms);
}

/** The model's pair query over its lake view, restricted to since <= time < until (either bound optional). */
export function pairSql(model: PairModel, window: { sinceMs?: number; untilMs?: number } = {}): string {
  const { preset, view } = PAIR_SOURCES[model];
  const spec = pairPreset(preset);
  const conds: string[] = [];
  if (spec.where) conds.push(`(${spec.where})`);
  if (window.sinceMs !== undefined) conds.push(`time >= ${msLiteral(window.sinceMs, 'since')}`);
  if (window.untilMs !== undefined) conds.push(`time < ${msLiteral(window.untilMs, 'until')}`);
  return `SELECT (${spec.entity}) AS entity, (${spec.ip}) AS ip, time FROM ${view}${conds.length ? `\nWHERE ${conds.join('\n  AND ')}` : ''}`;
}
