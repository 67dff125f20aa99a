/**
 * ROC AUC as the Mann-Whitney statistic: the probability that a random positive scores above a random
 * negative, ties counted one half. Higher scores = more "positive" (here: more normal).
 */
export function rocAuc(positive: ArrayLike<number>, negative: ArrayLike<number>): number {
  const p = Float64Array.from(positive).sort();
  const n = Float64Array.from(negative).sort();
  if (p.length === 0 || n.length === 0) return Number.NaN;
  for (const arr of [p, n]) if (Number.isNaN(arr[arr.length - 1]!)) throw new RangeError('AUC: NaN score');
  // For each positive, count negatives strictly below and equal to it (both sorted ascending).
  let below = 0;
  let j = 0;
  let total = 0;
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    while (j < n.length && n[j]! < v) j++;
    below = j;
    let k = j;
    while (k < n.length && n[k] === v) k++;
    total += below + 0.5 * (k - j);
  }
  return total / (p.length * n.length);
}
