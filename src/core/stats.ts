/** Small statistics over score arrays, shared by calibration and the detectors. */

/** Linear-interpolated quantiles (type 7) of sorted values at probabilities 0, 1/(k-1), ..., 1. */
export function quantiles(sorted: ArrayLike<number>, k: number): number[] {
  const n = sorted.length;
  if (n === 0) throw new RangeError('no values');
  if (k < 2) throw new RangeError('need at least 2 quantile points');
  const out: number[] = new Array(k);
  for (let q = 0; q < k; q++) {
    const h = (q / (k - 1)) * (n - 1);
    const lo = Math.floor(h);
    const hi = Math.min(lo + 1, n - 1);
    out[q] = sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
  }
  return out;
}

/** Mean and population standard deviation (0 and 0 for no values). */
export function meanStd(xs: ArrayLike<number>): { mean: number; std: number } {
  const n = xs.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += xs[i]!;
  const mean = n ? s / n : 0;
  let v = 0;
  for (let i = 0; i < n; i++) v += (xs[i]! - mean) ** 2;
  return { mean, std: n ? Math.sqrt(v / n) : 0 };
}

/**
 * Fisher's method: one p-value from k independent ones (each the probability, under normal traffic, of a score at
 * least this anomalous). X = -2 Σ ln p_i follows χ² with 2k degrees of freedom, whose survival function has the
 * closed form e^(-X/2) Σ_{i<k} (X/2)^i / i!. Agreeing evidence makes the result smaller than any input; a single
 * p-value comes back unchanged. p-values are clamped to [1e-300, 1]; NaN inputs are ignored; no inputs give 1.
 */
export function fisherCombine(ps: readonly number[]): number {
  let x = 0;
  let k = 0;
  for (const p of ps) {
    if (Number.isNaN(p)) continue;
    x += -2 * Math.log(Math.min(1, Math.max(1e-300, p)));
    k++;
  }
  if (k === 0) return 1;
  const h = x / 2;
  let term = 1;
  let sum = 1;
  for (let i = 1; i < k; i++) {
    term *= h / i;
    sum += term;
  }
  return Math.min(1, Math.max(1e-300, Math.exp(-h) * sum));
}

/**
 * The Cauchy combination (Liu & Xie 2020, "ACAT"): one p-value from k p-values that may be arbitrarily dependent,
 * e.g. two detectors judging the same records. T = mean of tan((0.5 - p_i) π); p = 0.5 - atan(T) / π. For
 * identical inputs it returns that p (the same evidence twice is not stronger); for one it returns it unchanged; it is
 * dominated by the smallest p. p-values are clamped to [1e-300, 1 - 1e-15]; NaN inputs are ignored; no inputs give 1.
 */
export function cauchyCombine(ps: readonly number[]): number {
  let t = 0;
  let k = 0;
  for (const p0 of ps) {
    if (Number.isNaN(p0)) continue;
    const p = Math.min(1 - 1e-15, Math.max(1e-300, p0));
    // tan((0.5 - p) π) = 1 / tan(p π); for tiny p, 1 / (p π) without loss of precision
    t += p < 1e-15 ? 1 / (p * Math.PI) : 1 / Math.tan(p * Math.PI);
    k++;
  }
  if (k === 0) return 1;
  t /= k;
  // 0.5 - atan(t)/π; for large t, atan(t) = π/2 - atan(1/t), so p = atan(1/t)/π ≈ 1/(t π)
  const p = t > 1e15 ? 1 / (t * Math.PI) : t > 0 ? Math.atan(1 / t) / Math.PI : 0.5 - Math.atan(t) / Math.PI;
  return Math.min(1, Math.max(1e-300, p));
}
