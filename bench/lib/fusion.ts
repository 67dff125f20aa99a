/**
 * Fusing pair detectors the way incidents do (docs/ipinsights.md "Fusion"): each detector's native score becomes a
 * p-value, the tail probability of a score at least this anomalous under held-out normal scores (never below
 * 1 / (n + 1)), and the p-values of one pair are combined with Fisher's method (`fisherCombine`) or the Cauchy
 * combination (`cauchyCombine`, what incidents use for the pair detectors). The fused
 * normality score is log10 of the combined p (larger = more normal, like the detectors' own scores).
 */
import { cauchyCombine, fisherCombine } from '../../src/core/stats.js';
import { rocAuc } from '../../src/detectors/ipinsights/auc.js';

/**
 * p-values of `scores` (larger = more normal) under the normal sample: (1 + #{normal <= s}) / (n + 1).
 * NaN scores give NaN (no evidence; fisherCombine ignores them).
 */
export function pValues(normal: ArrayLike<number>, scores: ArrayLike<number>): Float64Array {
  const sorted = Float64Array.from(normal).filter((x) => !Number.isNaN(x)).sort();
  const n = sorted.length;
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (Number.isNaN(s)) {
      out[i] = Number.NaN;
      continue;
    }
    // count of sorted values <= s
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! <= s) lo = mid + 1;
      else hi = mid;
    }
    out[i] = (1 + lo) / (n + 1);
  }
  return out;
}

/**
 * Fused normality score per pair: log10 of the combined p-value, by Fisher's method (independent evidence) or the
 * Cauchy combination (what incidents use for the pair detectors, whose evidence about one pair is dependent:
 * src/findings/incidents.ts).
 */
export function fuseLog10(ps: readonly Float64Array[], method: 'fisher' | 'cauchy' = 'fisher'): Float64Array {
  const combine = method === 'cauchy' ? cauchyCombine : fisherCombine;
  const n = ps[0]?.length ?? 0;
  const out = new Float64Array(n);
  const row: number[] = new Array(ps.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < ps.length; j++) row[j] = ps[j]![i]!;
    out[i] = Math.log10(combine(row));
  }
  return out;
}

/**
 * Recall at a false-positive rate: flag `score < t` with t the largest threshold that flags at most `fpr` of the
 * normal scores (ties at t are not flagged, so the FPR is never above the target).
 */
export function recallAtFpr(normal: ArrayLike<number>, attack: ArrayLike<number>, fpr: number): { recall: number; fpr: number; threshold: number } {
  const sorted = Float64Array.from(normal).sort();
  const n = sorted.length;
  const allowed = Math.floor(fpr * n);
  // Values below sorted[allowed] are among the first `allowed`: at most fpr x n normal scores are flagged.
  const t = allowed < n ? sorted[allowed]! : Number.POSITIVE_INFINITY;
  let tp = 0;
  for (let i = 0; i < attack.length; i++) if (attack[i]! < t) tp++;
  let fp = 0;
  for (let i = 0; i < n; i++) if (sorted[i]! < t) fp++;
  return { recall: tp / Math.max(1, attack.length), fpr: fp / Math.max(1, n), threshold: t };
}

export function median(xs: ArrayLike<number>): number {
  const s = Float64Array.from(xs).filter((x) => !Number.isNaN(x)).sort();
  if (s.length === 0) return Number.NaN;
  const h = (s.length - 1) / 2;
  return (s[Math.floor(h)]! + s[Math.ceil(h)]!) / 2;
}

/** AUC that `higher` scores above `lower` (ties count half). */
export function orderAuc(higher: ArrayLike<number>, lower: ArrayLike<number>): number {
  return rocAuc(higher, lower);
}
