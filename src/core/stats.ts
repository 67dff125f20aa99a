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
