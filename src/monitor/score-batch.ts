/**
 * Score one batch of an object's pairs, as the processor reads them from DuckDB: JSON arrays
 * `[entity, ip, time_ms, file_row_number]` joined by commas (the elements of a JSON array, without the brackets). Pairs with a null, empty or '-' entity or IP are not pairs (counted in
 * `rows` only); an address that does not parse is a bad IP (counted, skipped). Only records that may become findings
 * (FindingPolicy.kindOf is not null) come back in full; the rest are counted, with their latest event time.
 *
 * The same function runs inline and on the monitor's scoring worker (score-worker.ts), so both give the same result.
 */
import { annotateEntity, beyondThreshold, calibrationLowSupport, thresholdValue, MIN_ENTITY_TRAINING_RECORDS } from '../detectors/calibration.js';
import type { DetectorModel, EntityHistory, PairRecord } from '../detectors/types.js';
import type { FindingPolicy } from '../findings/policy.js';
import type { ModelRef, RecordJudgement } from '../findings/types.js';

/** A scored record that may become a finding (plain data: crosses a worker boundary). */
export interface Candidate extends RecordJudgement {
  entity: string;
  ip: string;
  time: number;
  row: number;
  /** The detector's native score. */
  native_score: number;
  entity_known: boolean;
}

/** Whether the model's stored training addresses of the entity include this exact address. */
export function seenInTraining(history: EntityHistory | undefined, entity: string, ip: string): boolean {
  if (!history) return false;
  const m = history.nearest(entity, ip);
  return m !== undefined && m.prefix_len === (ip.includes(':') ? 128 : 32);
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

export function scoreBatch(
  text: string,
  model: Pick<DetectorModel, 'scoreBatch' | 'calibration'> & Partial<Pick<DetectorModel, 'history' | 'entityInfo'>>,
  policy: Pick<FindingPolicy, 'kindOf'>,
  modelRef: ModelRef,
): BatchResult {
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
  const calThin = calibrationLowSupport(cal);
  const history = model.history?.();
  for (let i = 0; i < pairs.length; i++) {
    const s = native[i]!;
    if (Number.isNaN(s)) {
      out.badIps++;
      continue;
    }
    out.pairs++;
    const isKnown = known[i] === 1;
    const p = pairs[i]!;
    // The entity's own threshold (calibration version 2), else its group's, else the global one; a pair seen in
    // training only by the global threshold (calibration.ts seenThreshold).
    let isAnomaly = cal ? beyondThreshold(s, thresholdValue(cal, p.entity).threshold, cal.direction) : undefined;
    let seen: boolean | undefined;
    if (isAnomaly && cal!.per_entity && isKnown && !beyondThreshold(s, cal!.threshold, cal!.direction)) {
      seen = seenInTraining(history, p.entity, p.ip);
      if (seen) isAnomaly = false;
    }
    if (policy.kindOf(isKnown, s, isAnomaly, modelRef) === null) {
      out.unflagged++;
      if (times[i]! > out.unflaggedMaxTime) out.unflaggedMaxTime = times[i]!;
      continue;
    }
    const c: Candidate = { entity: p.entity, ip: p.ip, time: times[i]!, row: rowNos[i]!, native_score: s, entity_known: isKnown };
    seen ??= isKnown && seenInTraining(history, p.entity, p.ip);
    if (seen) c.seen_in_training = true;
    const thinEntity = isKnown && model.entityInfo !== undefined && model.entityInfo(p.entity).count < MIN_ENTITY_TRAINING_RECORDS;
    if (calThin || thinEntity) c.low_support = true;
    if (cal) {
      const ann = annotateEntity(s, cal, p.entity, { seen });
      c.anomaly_percentile = ann.anomaly_percentile;
      c.is_anomaly = ann.is_anomaly;
      c.p_value = ann.p_value;
      c.threshold = ann.threshold.threshold;
      c.threshold_source = ann.threshold.source;
      c.threshold_text = ann.threshold.text;
    }
    out.candidates.push(c);
  }
  return out;
}
