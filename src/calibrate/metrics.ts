/**
 * Detection metrics for IP Insights scores: ROC, AUC, precision-recall, average precision and threshold selection.
 *
 * Conventions (used everywhere in src/calibrate):
 * - A score is the model's `dot_product`: higher = more normal. The anomaly score is `-dot_product` (tutorial §5.3).
 * - Positives are the abnormal pairs. A pair is flagged when `dot_product < threshold` (strictly), which is the
 *   tutorial's "anomaly score > -threshold".
 * - Ties: pairs with equal scores are always flagged together. The ROC curve therefore has one point per distinct
 *   score, a tie group of normal and abnormal pairs becomes a diagonal segment, and the trapezoid AUC equals the
 *   Mann-Whitney statistic with ties counted one half (the rank-average way).
 */

/** One operating point: everything with `dot_product < threshold` is flagged. */
export interface OperatingPoint {
  /** Flag when dot_product < threshold. */
  threshold: number;
  /** Normal pairs flagged (false positives). */
  fp: number;
  /** Abnormal pairs flagged (true positives). */
  tp: number;
  fpr: number;
  /** Recall = true positive rate. */
  recall: number;
  /** Precision at the evaluation set's own normal:abnormal ratio (NaN when nothing is flagged). */
  precision: number;
}

/** The full curve: point 0 flags nothing, the last point flags everything. */
export interface Curve {
  nNormal: number;
  nAbnormal: number;
  points: OperatingPoint[];
}

/** Build the ROC/PR curve from raw dot_product scores. Non-finite scores are rejected. */
export function buildCurve(normal: ArrayLike<number>, abnormal: ArrayLike<number>): Curve {
  const n = normal.length;
  const p = abnormal.length;
  if (n === 0) throw new RangeError('no normal scores');
  if (p === 0) throw new RangeError('no abnormal scores');
  const ns = sortedFinite(normal, 'normal');
  const as = sortedFinite(abnormal, 'abnormal');
  const points: OperatingPoint[] = [];
  const first = Math.min(ns[0]!, as[0]!);
  points.push({ threshold: first, fp: 0, tp: 0, fpr: 0, recall: 0, precision: Number.NaN });
  let i = 0;
  let j = 0;
  while (i < n || j < p) {
    const v = Math.min(i < n ? ns[i]! : Infinity, j < p ? as[j]! : Infinity);
    while (i < n && ns[i] === v) i++;
    while (j < p && as[j] === v) j++;
    const next = Math.min(i < n ? ns[i]! : Infinity, j < p ? as[j]! : Infinity);
    // Midpoint to the next distinct score; past the largest score any larger value flags everything.
    const threshold = next === Infinity ? v + Math.max(1, Math.abs(v)) : v + (next - v) / 2;
    points.push({ threshold, fp: i, tp: j, fpr: i / n, recall: j / p, precision: j / (i + j) });
  }
  return { nNormal: n, nAbnormal: p, points };
}

function sortedFinite(xs: ArrayLike<number>, what: string): Float64Array {
  const out = Float64Array.from(xs as ArrayLike<number>);
  for (let k = 0; k < out.length; k++) {
    if (!Number.isFinite(out[k]!)) throw new RangeError(`${what} score #${k + 1} is not a finite number`);
  }
  return out.sort();
}

/** Area under the ROC curve by the trapezoid rule over the tie-grouped curve (= Mann-Whitney U / (n·p), ties ½). */
export function rocAuc(curve: Curve): number {
  let auc = 0;
  const pts = curve.points;
  for (let k = 1; k < pts.length; k++) {
    const a = pts[k - 1]!;
    const b = pts[k]!;
    auc += (b.fpr - a.fpr) * (a.recall + b.recall) / 2;
  }
  return auc;
}

/**
 * Precision of an operating point when normal pairs are `ratio` times as common as abnormal ones
 * (ratio = normal per abnormal). `undefined` ratio = the evaluation set's own mix.
 */
export function precisionAt(pt: Pick<OperatingPoint, 'fpr' | 'recall' | 'tp' | 'fp'>, ratio?: number): number {
  if (ratio === undefined) return pt.tp + pt.fp === 0 ? Number.NaN : pt.tp / (pt.tp + pt.fp);
  const tp = pt.recall;
  const fp = pt.fpr * ratio;
  return tp + fp === 0 ? Number.NaN : tp / (tp + fp);
}

/**
 * Average precision: Σ (Rₖ − Rₖ₋₁)·Pₖ over the tie-grouped thresholds (the step-wise definition scikit-learn uses,
 * no interpolation). `ratio` re-weights the normal pairs to a normal:abnormal mix of ratio:1.
 */
export function averagePrecision(curve: Curve, ratio?: number): number {
  let ap = 0;
  const pts = curve.points;
  for (let k = 1; k < pts.length; k++) {
    const dr = pts[k]!.recall - pts[k - 1]!.recall;
    if (dr > 0) ap += dr * precisionAt(pts[k]!, ratio);
  }
  return ap;
}

/** The highest-recall point whose false-positive rate is at most `maxFpr`. */
export function pointAtMaxFpr(curve: Curve, maxFpr: number): OperatingPoint {
  if (!(maxFpr >= 0 && maxFpr <= 1)) throw new RangeError(`max FPR must be in [0, 1], got ${maxFpr}`);
  const allowed = Math.floor(maxFpr * curve.nNormal + 1e-9);
  let best = curve.points[0]!;
  for (const pt of curve.points) {
    if (pt.fp <= allowed) best = pt;
    else break;
  }
  return best;
}

/**
 * Precision used to *select* a threshold. At the evaluation mix it is the plain count ratio. Re-weighted to a mix of
 * `ratio` normal per abnormal, the false-positive rate is taken pessimistically as (fp + 1) / n: multiplying a
 * handful of false positives by a large ratio is noisy, and a threshold must not be chosen just because no normal
 * pair happened to fall below it (with 0 of 100,000 normal pairs flagged, the FPR can still be ~1e-5).
 */
export function selectionPrecision(pt: OperatingPoint, curve: Curve, ratio?: number): number {
  if (ratio === undefined) return precisionAt(pt);
  const fpr = (pt.fp + 1) / curve.nNormal;
  return pt.recall === 0 ? Number.NaN : pt.recall / (pt.recall + fpr * ratio);
}

/**
 * The highest-recall point whose precision (at `ratio` normal per abnormal, see selectionPrecision; default the
 * evaluation mix) is at least `minPrecision`; among equal recall, the one with fewest false positives.
 * `undefined` when no point qualifies.
 */
export function pointAtMinPrecision(curve: Curve, minPrecision: number, ratio?: number): OperatingPoint | undefined {
  if (!(minPrecision > 0 && minPrecision <= 1)) throw new RangeError(`min precision must be in (0, 1], got ${minPrecision}`);
  let best: OperatingPoint | undefined;
  for (const pt of curve.points) {
    if (pt.tp === 0) continue;
    const prec = selectionPrecision(pt, curve, ratio);
    if (prec + 1e-12 < minPrecision) continue;
    if (!best || pt.tp > best.tp) best = pt;
  }
  return best;
}

/** Evaluate an arbitrary threshold (flag when dot_product < threshold) on the raw scores. */
export function pointAtThreshold(normal: ArrayLike<number>, abnormal: ArrayLike<number>, threshold: number): OperatingPoint {
  let fp = 0;
  let tp = 0;
  for (let k = 0; k < normal.length; k++) if (normal[k]! < threshold) fp++;
  for (let k = 0; k < abnormal.length; k++) if (abnormal[k]! < threshold) tp++;
  const n = normal.length;
  const p = abnormal.length;
  return {
    threshold,
    fp,
    tp,
    fpr: n === 0 ? Number.NaN : fp / n,
    recall: p === 0 ? Number.NaN : tp / p,
    precision: tp + fp === 0 ? Number.NaN : tp / (tp + fp),
  };
}

/** Expected confusion counts of an operating point in a population of `total` pairs mixed `ratio` normal : 1 abnormal. */
export interface MixRow {
  /** Normal pairs per abnormal pair. */
  ratio: number;
  total: number;
  normal: number;
  abnormal: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  precision: number;
  recall: number;
  fpr: number;
}

export function confusionForMix(pt: Pick<OperatingPoint, 'fpr' | 'recall'>, ratio: number, total = 1_000_000): MixRow {
  const abnormal = Math.round(total / (ratio + 1));
  const normal = total - abnormal;
  const tp = Math.round(pt.recall * abnormal);
  const fp = Math.round(pt.fpr * normal);
  return {
    ratio,
    total,
    normal,
    abnormal,
    tp,
    fp,
    fn: abnormal - tp,
    tn: normal - fp,
    precision: pt.recall + pt.fpr * ratio === 0 ? Number.NaN : pt.recall / (pt.recall + pt.fpr * ratio),
    recall: pt.recall,
    fpr: pt.fpr,
  };
}

export { quantiles } from '../core/stats.js';
