/**
 * Score one batch of an object's pairs, as the processor reads them from DuckDB: JSON arrays
 * `[entity, ip, time_ms, file_row_number]` joined by commas (the elements of a JSON array, without the brackets). Pairs with a null, empty or '-' entity or IP are not pairs (counted in
 * `rows` only); an address that does not parse is a bad IP (counted, skipped). Only records that may become findings
 * (FindingPolicy.kindOf is not null) come back in full; the rest are counted, with their latest event time.
 *
 * The same function runs inline and on the monitor's scoring worker (score-worker.ts), so both give the same result.
 */
import { annotateScore } from '../detectors/calibration.js';
import type { DetectorModel, PairRecord } from '../detectors/types.js';
import type { FindingPolicy } from '../findings/policy.js';
import type { ModelRef } from '../findings/types.js';

/** A scored record that may become a finding (plain data: crosses a worker boundary). */
export interface Candidate {
  entity: string;
  ip: string;
  time: number;
  row: number;
  /** The detector's native score. */
  native_score: number;
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

export function scoreBatch(text: string, model: Pick<DetectorModel, 'scoreBatch' | 'calibration'>, policy: Pick<FindingPolicy, 'kindOf'>, modelRef: ModelRef): BatchResult {
  const batch = JSON.parse(`[${text}]`) as [unknown, unknown, unknown, unknown][];
  const out: BatchResult = { rows: batch.length, pairs: 0, badIps: 0, candidates: [], unflagged: 0, unflaggedMaxTime: -Infinity };
  const pairs: PairRecord[] = [];
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
  // A record the detector cannot score (an address that does not parse) has a NaN score: counted, skipped.
  const { native, known } = model.scoreBatch(pairs);
  const cal = model.calibration;
  for (let i = 0; i < pairs.length; i++) {
    const s = native[i]!;
    if (Number.isNaN(s)) {
      out.badIps++;
      continue;
    }
    out.pairs++;
    const isKnown = known[i] === 1;
    const ann = cal ? annotateScore(s, cal) : undefined;
    if (policy.kindOf(isKnown, s, ann?.is_anomaly, modelRef) === null) {
      out.unflagged++;
      if (times[i]! > out.unflaggedMaxTime) out.unflaggedMaxTime = times[i]!;
      continue;
    }
    const p = pairs[i]!;
    const c: Candidate = { entity: p.entity, ip: p.ip, time: times[i]!, row: rowNos[i]!, native_score: s, entity_known: isKnown };
    if (ann) {
      c.anomaly_percentile = ann.anomaly_percentile;
      c.is_anomaly = ann.is_anomaly;
    }
    out.candidates.push(c);
  }
  return out;
}
