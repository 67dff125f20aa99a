/**
 * Calibration of a behaviour model (a detector of the features kind trained on the lake's behaviour windows, e.g.
 * `seclake train --detector rcf --lake`): the threshold is chosen on held-out NORMAL windows only, as there is no
 * generator of abnormal behaviour to measure recall against.
 *
 *   - held-out windows: the model's feature sets computed over the lake (LakeBehaviour.windows) for the windows after
 *     the model's training cutoff (`closed_through`), or from `since`, up to `until` (default: every window the
 *     lake's watermark has closed); scored as the monitor scores them: in time order, each window against the model
 *     that has learnt the earlier ones (score-then-update; `prequential: false` scores them by the model as trained);
 *     with `learn: true` the stored model keeps what it learnt: its forest and training cutoff move to the end of the
 *     held-out windows, so a monitor started from it begins after them (instead of scoring them again);
 *   - rule: `max_fpr` (default 1%): the lowest threshold that flags at most that share of the held-out windows;
 *     `three_sigma`: their mean + 3 standard deviations (stored as rule three_sigma);
 *     `threshold`: a given one, just measured;
 *   - stored: the Calibration record pair calibration stores (src/detectors/calibration.ts) in the model's direction
 *     (higher_is_anomalous for RCF), with the normal windows' quantiles (for percentiles and severity), the measured
 *     false-positive rate, and recall/precision/AUC null (no abnormal set).
 */
import { ConfigError, SeclakeError } from '../core/errors.js';
import { anomalyScoreOf, beyondThreshold, CALIBRATION_VERSION, type Calibration, type ScoreDirection } from '../detectors/calibration.js';
import { featuresModel, loadModel, updateModelMetadata } from '../detectors/index.js';
import type { FeatureRecord, LakeBehaviour } from '../detectors/types.js';
import { openLakeQuery } from '../lake/views.js';
import { QUANTILE_POINTS, STANDARD_FPRS } from './evaluate.js';
import { meanStd, quantiles } from '../core/stats.js';
import { fitPerEntity, nativePerEntity, supportFor } from './entities.js';
import { InsufficientCalibrationDataError } from './run.js';

/** The one-sided tail of a normal distribution beyond 3 standard deviations: the rate three-sigma aims at. */
export const THREE_SIGMA_RATE = 0.00135;

export type FeatureCalibrationRule = { kind: 'max_fpr'; max_fpr: number } | { kind: 'three_sigma' } | { kind: 'threshold'; threshold: number };

export interface FeatureCalibrateOptions {
  /** The model file (the calibration is written into its header). */
  model: string;
  lakeDir: string;
  /** Held-out windows start at or after this (epoch ms; default the model's training cutoff). */
  sinceMs?: number;
  /** ... and end at or before this (default: every window the lake has closed). */
  untilMs?: number;
  rule?: FeatureCalibrationRule;
  dryRun?: boolean;
  now?: Date;
  /** Per-entity thresholds (default true): each entity's own quantile shrunk toward its group's and the global one. */
  perEntity?: boolean;
  /** The per-entity prior's weight in windows (default 3 / target rate). */
  priorN?: number;
  /** Refuse (InsufficientCalibrationDataError) when the held-out windows cannot resolve the rule's rate. */
  requireSupport?: boolean;
  /** Messages of the window computation (sets skipped, columns read as NULL). */
  onMessage?: (m: string) => void;
  /**
   * Score the held-out windows score-then-update, in time order, as the monitor does (default true when they start
   * at or after the training cutoff); false: by the model as trained.
   */
  prequential?: boolean;
  /** With a prequential replay that is stored: keep what it learnt in the model (default false; see `learnt`). */
  learn?: boolean;
}

/**
 * Native scores of records against a streaming copy of the model (score, then learn), in their order: windows() gives
 * them in window then entity order, as the monitor meets them.
 */
function scorePrequential(b: LakeBehaviour, records: readonly FeatureRecord[]): { native: number[]; state: () => Uint8Array } {
  const stream = b.stream();
  const native = records.map((r) => {
    const s = stream.score(r).native;
    stream.update(r);
    return s;
  });
  return { native, state: () => stream.state() };
}

export interface FeatureCalibrationJson {
  model: string;
  detector: string;
  score_name: string;
  direction: ScoreDirection;
  feature_sets: string[];
  window_ms: number;
  /** The held-out windows: their period, count and entities. */
  held_out: { since: string; until: string; windows: number; entities: number; training_cutoff: string; overlaps_training: boolean };
  rule: FeatureCalibrationRule;
  threshold: number;
  /** Share of the held-out windows beyond the threshold. */
  fpr: number;
  flagged: number;
  /** The rule asks for an FPR finer than one window in the held-out set. */
  under_resolved: boolean;
  /** Whether the held-out windows resolve the rule's rate (3 / rate of them), with the achieved FPR's interval. */
  support: NonNullable<Calibration['support']>;
  /** Entities with a threshold of their own, and groups. */
  per_entity: { entities: number; groups: number; measured: number } | null;
  scores: { mean: number; std: number; min: number; p50: number; p99: number; max: number };
  thresholds_at_fpr: { target_fpr: number; threshold: number; fpr: number }[];
  /** The threshold before (the training calibration), and how many held-out windows it flags. */
  previous: { threshold: number; flagged: number; fpr: number; source: string } | null;
  stored: boolean;
  /** The model learnt the held-out windows (score-then-update): its training cutoff is now held_out.until. */
  learnt: boolean;
  calibration: Calibration;
}

const DEFAULT_RULE: FeatureCalibrationRule = { kind: 'max_fpr', max_fpr: 0.01 };

/** The lowest threshold (anomaly units, sorted ascending) that leaves at most floor(rate * n) scores above it. */
function thresholdAtRate(sortedAnomaly: Float64Array, rate: number): number {
  const n = sortedAnomaly.length;
  const allowed = Math.floor(rate * n + 1e-9);
  return sortedAnomaly[Math.max(0, n - 1 - allowed)]!;
}

function countBeyond(scores: Float64Array, threshold: number, direction: ScoreDirection): number {
  let k = 0;
  for (const s of scores) if (beyondThreshold(s, threshold, direction)) k++;
  return k;
}

export async function runFeatureCalibration(opts: FeatureCalibrateOptions): Promise<FeatureCalibrationJson> {
  const model = featuresModel(await loadModel(opts.model), 'calibration on behaviour windows');
  const b = model.behaviour?.();
  if (!b) {
    throw new ConfigError(
      `${opts.model} (${model.detector.type}) was trained from CSV features, not from the lake's behaviour windows: there are no held-out windows to calibrate it on ` +
        '(its threshold stays the training scores\' mean + z_factor x std)',
      ['model'],
    );
  }
  const rule = opts.rule ?? DEFAULT_RULE;
  const since = opts.sinceMs ?? b.closedThrough;
  const db = await openLakeQuery(opts.lakeDir, { schema: 'objects' }); // the feature sets read absent columns as NULL themselves
  let w: Awaited<ReturnType<typeof b.windows>>;
  try {
    w = await b.windows(db, { start: since, ...(opts.untilMs !== undefined ? { end: opts.untilMs } : {}), ...(opts.onMessage ? { onMessage: opts.onMessage } : {}) });
  } finally {
    db.close();
  }
  const iso = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));
  if (w.records.length === 0) {
    throw new SeclakeError(
      `no closed behaviour windows of ${b.sets.join(', ')} in the lake ${opts.lakeDir} from ${iso(w.from)}` +
        `${opts.untilMs !== undefined ? ` to ${iso(opts.untilMs)}` : ''} (the model's training ended at ${iso(b.closedThrough)}; ` +
        `the lake's watermark is ${iso(w.watermark)}): ingest logs newer than the training data, or give --since`,
    );
  }
  const direction = model.detector.score.direction;
  // Score-then-update, as the monitor does (src/monitor/behaviour.ts): each window against the model that has learnt
  // every earlier one, so the held-out scores are those the monitor gives. Held-out windows overlapping the training
  // period are scored by the model as trained (learning them again would count them twice).
  const prequential = opts.prequential !== false && since >= b.closedThrough;
  const replay = prequential ? scorePrequential(b, w.records) : undefined;
  const scored = replay ? replay.native : model.scoreBatch(w.records).native;
  const scores = Float64Array.from(scored.filter((x) => Number.isFinite(x)));
  if (scores.length === 0) throw new SeclakeError(`none of the ${w.records.length} held-out windows could be scored by ${opts.model}`);
  const n = scores.length;
  // Anomaly units (larger = more anomalous), ascending.
  const anomaly = Float64Array.from(scores, (s) => anomalyScoreOf(s, direction)).sort();
  const { mean, std } = meanStd(anomaly);
  const back = (a: number): number => anomalyScoreOf(a, direction); // its own inverse
  let threshold: number;
  let ruleText: string;
  switch (rule.kind) {
    case 'max_fpr':
      threshold = back(thresholdAtRate(anomaly, rule.max_fpr));
      ruleText = `the lowest threshold flagging at most ${(rule.max_fpr * 100).toPrecision(3).replace(/\.?0+$/, '')}% of them`;
      break;
    case 'three_sigma':
      threshold = back(mean + 3 * std);
      ruleText = 'their mean + 3 x std (three-sigma)';
      break;
    case 'threshold':
      if (!Number.isFinite(rule.threshold)) throw new ConfigError(`--threshold must be a finite number, got ${rule.threshold}`, ['threshold']);
      threshold = rule.threshold;
      ruleText = 'a threshold given by hand';
      break;
  }
  const flagged = countBeyond(scores, threshold, direction);
  const entities = new Set(w.records.map((r) => r.entity)).size;
  const heldOut = { since: iso(w.from), until: iso(w.closedThrough), windows: n, entities, training_cutoff: iso(b.closedThrough), overlaps_training: w.from < b.closedThrough };
  // Stored quantiles are ascending in native units (as calibration.ts reads them for either direction).
  const nativeSorted = Float64Array.from(scores).sort();
  const atFpr = STANDARD_FPRS.map((f) => {
    const t = back(thresholdAtRate(anomaly, f));
    return { target_fpr: f, threshold: t, fpr: countBeyond(scores, t, direction) / n };
  });
  const calibration: Calibration = {
    version: CALIBRATION_VERSION,
    created_at: (opts.now ?? new Date()).toISOString(),
    direction,
    score_name: model.detector.score.name,
    threshold,
    rule: rule.kind === 'max_fpr' ? { kind: 'max_fpr', max_fpr: rule.max_fpr } : rule.kind === 'three_sigma' ? { kind: 'three_sigma', z_factor: 3 } : { kind: 'threshold' },
    fpr: flagged / n,
    recall: null,
    precision: null,
    auc: null,
    average_precision: null,
    n_normal: n,
    n_abnormal: 0,
    abnormal_source: `none: ${n} held-out normal behaviour windows (${entities} entities, ${heldOut.since} .. ${heldOut.until}); threshold: ${ruleText}`,
    normal_quantiles: quantiles(nativeSorted, QUANTILE_POINTS),
    thresholds_at_fpr: atFpr.map((t) => ({ ...t, recall: null, precision: null })),
  };
  // Honest confidence and per-entity thresholds at the rule's rate (three-sigma: its nominal Gaussian tail).
  const rate = rule.kind === 'max_fpr' ? rule.max_fpr : rule.kind === 'three_sigma' ? THREE_SIGMA_RATE : flagged > 0 ? flagged / n : undefined;
  calibration.support = supportFor(n, flagged, rate, 'windows');
  if (!calibration.support.sufficient && opts.requireSupport) {
    throw new InsufficientCalibrationDataError(`${opts.model}: ${calibration.support.note.replace(/\. Low support.*$/, '')}; refusing to calibrate (--require-support). Give a longer held-out period, or a larger --max-fpr`);
  }
  if (rate !== undefined && opts.perEntity !== false) {
    const finite = w.records.filter((_, i) => Number.isFinite(scored[i]!));
    const oriented = Float64Array.from(scores, (s) => -anomalyScoreOf(s, direction));
    const pe = fitPerEntity({
      scores: oriented,
      entities: finite.map((r) => r.entity ?? ''),
      groups: finite.map((r) => r.group),
      targetFpr: rate,
      globalThreshold: -anomalyScoreOf(threshold, direction),
      ...(opts.priorN !== undefined ? { priorN: opts.priorN } : {}),
      unit: 'windows',
    });
    calibration.per_entity = nativePerEntity(pe, direction === 'higher_is_anomalous' ? 'higher_is_anomalous' : 'lower_is_anomalous');
  }
  const prev = model.calibration;
  const stored = !opts.dryRun;
  // learn: the model keeps what the replay learnt (as the monitor would have): its forest and training cutoff move to
  // the end of the held-out windows, so a monitor started from it goes on after them instead of scoring them again.
  const learnt = stored && replay !== undefined && opts.learn === true;
  if (learnt) b.saveLearnt(opts.model, replay.state(), w.closedThrough);
  if (stored) updateModelMetadata(opts.model, { calibration: calibration as unknown as Record<string, unknown> });
  const q = (p: number): number => nativeSorted[Math.min(n - 1, Math.round(p * (n - 1)))]!;
  return {
    model: opts.model,
    detector: model.detector.type,
    score_name: model.detector.score.name,
    direction,
    feature_sets: [...b.sets],
    window_ms: b.windowMs,
    held_out: heldOut,
    rule,
    threshold,
    fpr: flagged / n,
    flagged,
    under_resolved: rule.kind === 'max_fpr' && rule.max_fpr > 0 && rule.max_fpr * n < 1,
    support: calibration.support,
    per_entity: calibration.per_entity
      ? { entities: Object.keys(calibration.per_entity.entities).length, groups: Object.keys(calibration.per_entity.groups).length, measured: Object.values(calibration.per_entity.entities).filter((e) => e.own !== null).length }
      : null,
    scores: { mean: back(mean), std, min: nativeSorted[0]!, p50: q(0.5), p99: q(0.99), max: nativeSorted[n - 1]! },
    thresholds_at_fpr: atFpr,
    previous: prev
      ? { threshold: prev.threshold, flagged: countBeyond(scores, prev.threshold, direction), fpr: countBeyond(scores, prev.threshold, direction) / n, source: prev.abnormal_source }
      : null,
    stored,
    learnt,
    calibration,
  };
}
