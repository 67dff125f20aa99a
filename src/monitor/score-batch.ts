/**
 * Score one batch of an object's pairs, as the processor reads them from DuckDB: JSON arrays
 * `[entity, ip, time_ms, file_row_number]` joined by commas (the elements of a JSON array, without the brackets). Pairs with a null, empty or '-' entity or IP are not pairs (counted in
 * `rows` only); an address that does not parse is a bad IP (counted, skipped). Only records that may become findings
 * (FindingPolicy.kindOf is not null) come back in full; the rest are counted, with their latest event time.
 *
 * The same function runs inline and on the monitor's scoring worker (score-worker.ts), so both give the same result.
 */
import { annotate } from '../detectors/calibration.js';
import type { IpInsightsModel } from '../detectors/ipinsights/index.js';
import type { Pair } from '../detectors/ipinsights/wire.js';
import type { FindingPolicy } from '../findings/policy.js';
import type { ModelRef } from '../findings/types.js';

/** A scored record that may become a finding (plain data: crosses a worker boundary). */
export interface Candidate {
  entity: string;
  ip: string;
  time: number;
  row: number;
  dot_product: number;
  entity_known: boolean;
  anomaly_percentile?: number;
  is_anomaly?: boolean;
}

export interface BatchResult {
  /** Rows in the batch (pairs before the entity/IP checks). */
  rows: number;
  pairs: number;
  badIps: number;
  candidates: Candidate[];
  /** Scored records that qualify for no finding, and the highest event time among them (-Infinity if none). */
  unflagged: number;
  unflaggedMaxTime: number;
}

export function scoreBatch(text: string, model: IpInsightsModel, policy: Pick<FindingPolicy, 'kindOf'>, modelRef: ModelRef): BatchResult {
  const batch = JSON.parse(`[${text}]`) as [unknown, unknown, unknown, unknown][];
  const out: BatchResult = { rows: batch.length, pairs: 0, badIps: 0, candidates: [], unflagged: 0, unflaggedMaxTime: -Infinity };
  const pairs: Pair[] = [];
  const times: number[] = [];
  const rowNos: number[] = [];
  for (const [e, ip, time, rowNo] of batch) {
    if (e === null || e === undefined || ip === null || ip === undefined) continue;
    const es = (typeof e === 'string' ? e : String(e)).trim();
    const ips = (typeof ip === 'string' ? ip : String(ip)).trim();
    if (es === '' || es === '-' || ips === '' || ips === '-') continue;
    pairs.push({ entity: es, ip: ips });
    times.push(typeof time === 'number' ? time : 0);
    rowNos.push(Number(rowNo));
  }
  if (pairs.length === 0) return out;
  let results;
  try {
    results = model.scorePairs(pairs);
  } catch {
    // An unparsable IP in the batch: score one by one so the rest still count.
    results = pairs.map((p) => {
      try {
        return model.scorePairs([p])[0]!;
      } catch {
        return undefined;
      }
    });
  }
  const cal = model.calibration;
  const threshold = cal?.threshold;
  for (let i = 0; i < pairs.length; i++) {
    const res = results[i];
    if (!res) {
      out.badIps++;
      continue;
    }
    out.pairs++;
    const known = res.entity_known !== false;
    const isAnomaly = threshold === undefined ? undefined : res.dot_product < threshold;
    if (policy.kindOf(known, res.dot_product, isAnomaly, modelRef) === null) {
      out.unflagged++;
      if (times[i]! > out.unflaggedMaxTime) out.unflaggedMaxTime = times[i]!;
      continue;
    }
    const p = pairs[i]!;
    const c: Candidate = { entity: p.entity, ip: p.ip, time: times[i]!, row: rowNos[i]!, dot_product: res.dot_product, entity_known: known };
    if (cal) {
      const a = annotate(res, cal);
      c.anomaly_percentile = a.anomaly_percentile;
      c.is_anomaly = a.is_anomaly;
    }
    out.candidates.push(c);
  }
  return out;
}
