/**
 * Binomial tail probabilities and the Clopper-Pearson ("exact") confidence interval of a proportion: how honestly a
 * false-positive rate measured as k flagged out of n held-out records is known. Pure functions.
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: about 15 significant digits). */
export function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X <= k) for X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  const lc = lnGamma(n + 1);
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  let s = 0;
  for (let i = 0; i <= k; i++) s += Math.exp(lc - lnGamma(i + 1) - lnGamma(n - i + 1) + i * lp + (n - i) * lq);
  return Math.min(1, s);
}

/** The p in [0, 1] where a decreasing function f(p) crosses `target` (bisection to 1e-12). */
function solveDecreasing(f: (p: number) => number, target: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) > target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Clopper-Pearson interval of a proportion with k successes in n trials, at confidence 1 - alpha (default 95%):
 * [lo, hi] with P(X >= k | lo) = alpha/2 and P(X <= k | hi) = alpha/2; lo = 0 when k = 0, hi = 1 when k = n.
 * Conservative: its coverage is at least 1 - alpha for every true proportion.
 */
export function clopperPearson(k: number, n: number, alpha = 0.05): [number, number] {
  if (!(Number.isInteger(k) && Number.isInteger(n) && n > 0 && k >= 0 && k <= n)) throw new RangeError(`clopperPearson: need integers 0 <= k <= n, n > 0 (got k=${k}, n=${n})`);
  const half = alpha / 2;
  // P(X <= k-1 | p) decreases in p; lo solves 1 - P(X <= k-1 | lo) = half.
  const lo = k === 0 ? 0 : solveDecreasing((p) => binomialCdf(k - 1, n, p), 1 - half);
  const hi = k === n ? 1 : k === 0 ? 1 - half ** (1 / n) : solveDecreasing((p) => binomialCdf(k, n, p), half);
  return [lo, hi];
}
