/**
 * Calibration as a pure computation: scores of normal and abnormal pairs + a rule -> threshold, metrics, tables and
 * the `Calibration` record stored in the model header. No I/O here (see run.ts for model files and inputs).
 */
import { CALIBRATION_VERSION, CalibrationError, type Calibration } from '../detectors/calibration.js';
import {
  averagePrecision,
  buildCurve,
  confusionForMix,
  pointAtMaxFpr,
  pointAtMinPrecision,
  pointAtThreshold,
  quantiles,
  selectionPrecision,
  rocAuc,
  type Curve,
  type MixRow,
  type OperatingPoint,
} from './metrics.js';

export type CalibrationRule =
  | { kind: 'max_fpr'; max_fpr: number }
  /** `ratio` = normal pairs per abnormal pair at which precision is judged; omitted = the evaluation set's mix. */
  | { kind: 'min_precision'; min_precision: number; ratio?: number }
  | { kind: 'threshold'; threshold: number };

export const DEFAULT_RULE: CalibrationRule = { kind: 'max_fpr', max_fpr: 0.01 };
/** FPR budgets always tabulated. */
export const STANDARD_FPRS = [0.001, 0.01, 0.05] as const;
/** Normal:abnormal mixes always tabulated (normal pairs per abnormal pair). */
export const STANDARD_MIXES = [1, 10, 100, 1000] as const;
/** Stored normal-score quantiles: 0, 0.1%, …, 100%. */
export const QUANTILE_POINTS = 1001;

export interface EvaluateInput {
  normal: ArrayLike<number>;
  abnormal: ArrayLike<number>;
  rule: CalibrationRule;
  /** random | shuffled | asn | file (stored with the model). */
  abnormalSource: string;
  /** Timestamp for the record (tests pass a fixed one). */
  now?: Date;
}

export interface Evaluation {
  curve: Curve;
  auc: number;
  averagePrecision: number;
  /** AP re-weighted to each standard mix. */
  apByMix: { ratio: number; ap: number }[];
  chosen: OperatingPoint;
  targets: { target: number; point: OperatingPoint; /** fewer than one normal pair per FPR step: the budget cannot be resolved */ underResolved: boolean }[];
  mixes: MixRow[];
  /** The sample's own counts at the chosen threshold. */
  confusion: { tp: number; fp: number; fn: number; tn: number };
  normalQuantiles: number[];
  calibration: Calibration;
}

const nullable = (x: number): number | null => (Number.isFinite(x) ? x : null);

function choose(curve: Curve, rule: CalibrationRule, normal: ArrayLike<number>, abnormal: ArrayLike<number>): OperatingPoint {
  switch (rule.kind) {
    case 'max_fpr':
      return pointAtMaxFpr(curve, rule.max_fpr);
    case 'min_precision': {
      const pt = pointAtMinPrecision(curve, rule.min_precision, rule.ratio);
      if (pt) return pt;
      let best = 0;
      for (const p of curve.points) if (p.tp > 0) best = Math.max(best, selectionPrecision(p, curve, rule.ratio));
      throw new CalibrationError(
        `no threshold reaches precision ${rule.min_precision}` +
          (rule.ratio !== undefined ? ` at ${rule.ratio}:1 normal:abnormal` : '') +
          `; the best this model reaches on this data is ${best.toFixed(4)}` +
          (rule.ratio !== undefined ? ' (counting one more false positive than observed, since the mix multiplies them)' : ''),
      );
    }
    case 'threshold':
      if (!Number.isFinite(rule.threshold)) throw new CalibrationError(`threshold must be a finite number, got ${rule.threshold}`);
      return pointAtThreshold(normal, abnormal, rule.threshold);
  }
}

export function evaluate(input: EvaluateInput): Evaluation {
  const curve = buildCurve(input.normal, input.abnormal);
  const auc = rocAuc(curve);
  const ap = averagePrecision(curve);
  const chosen = choose(curve, input.rule, input.normal, input.abnormal);
  const targets = STANDARD_FPRS.map((target) => ({
    target,
    point: pointAtMaxFpr(curve, target),
    underResolved: target * curve.nNormal < 1,
  }));
  const sortedNormal = Float64Array.from(input.normal as ArrayLike<number>).sort();
  const normalQuantiles = quantiles(sortedNormal, QUANTILE_POINTS);
  const rule: Calibration['rule'] =
    input.rule.kind === 'max_fpr'
      ? { kind: 'max_fpr', max_fpr: input.rule.max_fpr }
      : input.rule.kind === 'min_precision'
        ? { kind: 'min_precision', min_precision: input.rule.min_precision, ratio: input.rule.ratio ?? null }
        : { kind: 'threshold' };
  const calibration: Calibration = {
    version: CALIBRATION_VERSION,
    created_at: (input.now ?? new Date()).toISOString(),
    threshold: chosen.threshold,
    rule,
    fpr: nullable(chosen.fpr),
    recall: nullable(chosen.recall),
    precision: nullable(chosen.precision),
    auc: nullable(auc),
    average_precision: nullable(ap),
    n_normal: curve.nNormal,
    n_abnormal: curve.nAbnormal,
    abnormal_source: input.abnormalSource,
    normal_quantiles: normalQuantiles,
    thresholds_at_fpr: targets.map((t) => ({
      target_fpr: t.target,
      threshold: t.point.threshold,
      fpr: nullable(t.point.fpr),
      recall: nullable(t.point.recall),
      precision: nullable(t.point.precision),
    })),
  };
  return {
    curve,
    auc,
    averagePrecision: ap,
    apByMix: STANDARD_MIXES.map((ratio) => ({ ratio, ap: averagePrecision(curve, ratio) })),
    chosen,
    targets,
    mixes: STANDARD_MIXES.map((ratio) => confusionForMix(chosen, ratio)),
    confusion: { tp: chosen.tp, fp: chosen.fp, fn: curve.nAbnormal - chosen.tp, tn: curve.nNormal - chosen.fp },
    normalQuantiles,
    calibration,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Analyst feedback

export interface FeedbackInput {
  /** Scores of pairs analysts marked false positive: they join the normal set. */
  falsePositives: number[];
  /** Scores of pairs analysts marked true positive: they join the abnormal set. */
  truePositives: number[];
  /** Each false positive counts as this many normal pairs (default 1). */
  weight?: number;
}

export interface FeedbackEffect {
  false_positives: number;
  true_positives: number;
  weight: number;
  threshold_before: number;
  threshold_after: number;
  /** Labelled false positives that the threshold flags, before and after folding them in. */
  fp_flagged_before: number;
  fp_flagged_after: number;
  /** Labelled true positives that the threshold flags, before and after. */
  tp_flagged_before: number;
  tp_flagged_after: number;
  /** The highest threshold that flags none of the labelled false positives, and the recall it would have. */
  silence_all_fps: { threshold: number; recall: number; fpr: number } | null;
}

function countBelow(xs: readonly number[], t: number): number {
  let n = 0;
  for (const x of xs) if (x < t) n++;
  return n;
}

/**
 * Calibrate without and with the analyst labels, and describe the effect. Returns the evaluation *with* the labels
 * folded in (that is what gets stored) and the before/after comparison.
 */
export function evaluateWithFeedback(input: EvaluateInput, feedback: FeedbackInput): { before: Evaluation; after: Evaluation; effect: FeedbackEffect } {
  const weight = feedback.weight ?? 1;
  if (!(Number.isInteger(weight) && weight >= 1)) throw new CalibrationError(`label weight must be a positive integer, got ${weight}`);
  const before = evaluate(input);
  const normal = Array.from(input.normal as ArrayLike<number>);
  for (const s of feedback.falsePositives) for (let k = 0; k < weight; k++) normal.push(s);
  const abnormal = Array.from(input.abnormal as ArrayLike<number>).concat(feedback.truePositives);
  const after = evaluate({ ...input, normal, abnormal });
  after.calibration.feedback = { false_positives: feedback.falsePositives.length, true_positives: feedback.truePositives.length };
  let silence: FeedbackEffect['silence_all_fps'] = null;
  if (feedback.falsePositives.length > 0) {
    const t = Math.min(...feedback.falsePositives);
    const pt = pointAtThreshold(normal, abnormal, t);
    silence = { threshold: t, recall: pt.recall, fpr: pt.fpr };
  }
  return {
    before,
    after,
    effect: {
      false_positives: feedback.falsePositives.length,
      true_positives: feedback.truePositives.length,
      weight,
      threshold_before: before.chosen.threshold,
      threshold_after: after.chosen.threshold,
      fp_flagged_before: countBelow(feedback.falsePositives, before.chosen.threshold),
      fp_flagged_after: countBelow(feedback.falsePositives, after.chosen.threshold),
      tp_flagged_before: countBelow(feedback.truePositives, before.chosen.threshold),
      tp_flagged_after: countBelow(feedback.truePositives, after.chosen.threshold),
      silence_all_fps: silence,
    },
  };
}
