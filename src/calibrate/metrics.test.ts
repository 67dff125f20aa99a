import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  averagePrecision,
  buildCurve,
  confusionForMix,
  pointAtMaxFpr,
  pointAtMinPrecision,
  pointAtThreshold,
  quantiles,
  rocAuc,
} from './metrics.js';

const close = (a: number, b: number, eps = 1e-12): void => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

/** Brute-force Mann–Whitney: abnormal "wins" when its dot_product is lower; ties count ½. */
function mannWhitney(normal: number[], abnormal: number[]): number {
  let u = 0;
  for (const a of abnormal) for (const n of normal) u += a < n ? 1 : a === n ? 0.5 : 0;
  return u / (normal.length * abnormal.length);
}

test('AUC and AP without ties match hand-computed values', () => {
  // Ascending: 1(A) 2(A) 3(N) 4(N) 4.5(A) 5(N)
  const curve = buildCurve([3, 4, 5], [1, 2, 4.5]);
  close(rocAuc(curve), 7 / 9);
  // AP = 1/3·1 + 1/3·1 + 1/3·(3/5)
  close(averagePrecision(curve), (1 + 1 + 0.6) / 3);
});

test('AUC and AP with ties: tie groups count one half (rank-average / trapezoid)', () => {
  // normal [2,3,3,4], abnormal [1,2,3]
  // Mann–Whitney by hand: 1 beats 4 normals = 4; 2 ties one and beats three = 3.5; 3 ties two and beats one = 2.
  const normal = [2, 3, 3, 4];
  const abnormal = [1, 2, 3];
  const curve = buildCurve(normal, abnormal);
  close(rocAuc(curve), 9.5 / 12);
  close(rocAuc(curve), mannWhitney(normal, abnormal));
  // One point per distinct score; tied normal+abnormal groups move both rates at once.
  assert.deepEqual(
    curve.points.map((p) => [p.fp, p.tp]),
    [[0, 0], [0, 1], [1, 2], [3, 3], [4, 3]],
  );
  // AP steps: (R 1/3, P 1), (R 2/3, P 2/3), (R 1, P 1/2) -> 13/18
  close(averagePrecision(curve), 13 / 18);
});

test('all scores tied gives AUC 0.5 and AP = base rate', () => {
  const curve = buildCurve([1, 1, 1], [1]);
  close(rocAuc(curve), 0.5);
  close(averagePrecision(curve), 0.25);
});

test('AUC equals brute-force Mann–Whitney on integer scores with many ties', () => {
  // deterministic pseudo-random integers without Math.random
  let x = 12345;
  const next = (): number => (x = (x * 1103515245 + 12345) % 2147483648) % 7;
  const normal = Array.from({ length: 200 }, () => next() + 2);
  const abnormal = Array.from({ length: 150 }, () => next());
  close(rocAuc(buildCurve(normal, abnormal)), mannWhitney(normal, abnormal), 1e-12);
});

test('perfect separation: AUC 1, AP 1; inverted: AUC 0', () => {
  close(rocAuc(buildCurve([5, 6], [1, 2])), 1);
  close(averagePrecision(buildCurve([5, 6], [1, 2])), 1);
  close(rocAuc(buildCurve([1, 2], [5, 6])), 0);
});

test('AP re-weighted to a normal:abnormal mix', () => {
  // one normal between two abnormal: ascending 1(A) 2(N) 3(A)
  const curve = buildCurve([2], [1, 3]);
  // own mix (1 normal : 2 abnormal): 1/2·1 + 1/2·(2/3)
  close(averagePrecision(curve), 0.5 + (0.5 * 2) / 3);
  // ratio 10:1 -> precision at the second step = recall/(recall + fpr·10) = 1/(1+10)
  close(averagePrecision(curve, 10), 0.5 + 0.5 / 11);
});

test('rejects empty and non-finite inputs', () => {
  assert.throws(() => buildCurve([], [1]), /no normal/);
  assert.throws(() => buildCurve([1], []), /no abnormal/);
  assert.throws(() => buildCurve([1, Number.NaN], [0]), /normal score #2/);
});

test('threshold at a target FPR: highest recall within the false-positive budget', () => {
  const normal = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  const abnormal = [-10, -5, -1, 5.7, 50.5];
  const curve = buildCurve(normal, abnormal);
  const pt = pointAtMaxFpr(curve, 0.05); // 5 false positives allowed: normals 1..5
  assert.equal(pt.fp, 5);
  assert.equal(pt.tp, 4); // includes 5.7, which sits between the 5th and 6th normal
  close(pt.threshold, (5.7 + 6) / 2);
  close(pt.fpr, 0.05);
  close(pt.recall, 4 / 5);
  close(pt.precision, 4 / 9);
  // The reported threshold reproduces the point on the raw scores.
  assert.deepEqual(pointAtThreshold(normal, abnormal, pt.threshold), pt);
  // FPR 0: nothing normal flagged; the threshold sits between the last abnormal and the first normal.
  const zero = pointAtMaxFpr(curve, 0);
  assert.equal(zero.fp, 0);
  assert.equal(zero.tp, 3);
  close(zero.threshold, 0);
  // 0.1% of 100 normals is less than one pair: same as FPR 0.
  assert.deepEqual(pointAtMaxFpr(curve, 0.001), zero);
});

test('threshold at a target FPR never splits a tie group', () => {
  // normals tied at 2: allowing 2 false positives (FPR 0.5) may flag them, 1 (FPR 0.25) may not.
  const curve = buildCurve([1, 2, 2, 9], [0, 2]);
  const p25 = pointAtMaxFpr(curve, 0.25);
  assert.equal(p25.fp, 1);
  assert.equal(p25.tp, 1);
  close(p25.threshold, 1.5);
  const p75 = pointAtMaxFpr(curve, 0.75);
  assert.equal(p75.fp, 3);
  assert.equal(p75.tp, 2);
});

test('threshold at a minimum precision: highest recall whose precision is high enough', () => {
  // ascending: 0(A) 1(A) 2(N) 3(A) 4(A) 5(N) 6(N) 7(A) 8(N)
  const normal = [2, 5, 6, 8];
  const abnormal = [0, 1, 3, 4, 7];
  const curve = buildCurve(normal, abnormal);
  // precision per step: 1, 1, 2/3, 3/4, 4/5, 4/6, 4/7, 5/8, 5/9
  const p80 = pointAtMinPrecision(curve, 0.8)!;
  assert.equal(p80.tp, 4);
  assert.equal(p80.fp, 1);
  close(p80.threshold, 4.5);
  const p62 = pointAtMinPrecision(curve, 0.62)!;
  assert.equal(p62.tp, 5); // 5/8 = 0.625
  const p100 = pointAtMinPrecision(curve, 1)!;
  assert.equal(p100.tp, 2);
  assert.equal(p100.fp, 0);
  // Re-weighted to a mix, the FPR is taken as (fp + 1) / n: at 10:1 the clean point (recall 0.4, fp 0) has
  // 0.4 / (0.4 + 0.25·10) = 0.138 and (recall 0.8, fp 1) 0.8 / (0.8 + 0.5·10) = 0.138 too (more recall wins);
  // (recall 0.6, fp 1) has 0.107. At 0.1:1 the point with 4 TP and 1 FP has 0.8 / (0.8 + 0.5·0.1) = 0.941.
  assert.equal(pointAtMinPrecision(curve, 0.8, 10), undefined);
  assert.equal(pointAtMinPrecision(curve, 0.13, 10)!.tp, 4);
  assert.equal(pointAtMinPrecision(curve, 0.1, 10)!.tp, 4);
  const mixed = pointAtMinPrecision(curve, 0.94, 0.1)!;
  assert.equal(mixed.tp, 4);
  assert.equal(mixed.fp, 1);
  assert.equal(pointAtMinPrecision(buildCurve([1], [2]), 0.6), undefined);
});

test('confusion counts for a normal:abnormal mix; precision falls with the base rate', () => {
  const pt = { fpr: 0.01, recall: 0.9 };
  const r1 = confusionForMix(pt, 1, 1_000_000);
  assert.equal(r1.abnormal, 500_000);
  assert.equal(r1.tp, 450_000);
  assert.equal(r1.fp, 5_000);
  close(r1.precision, 0.9 / 0.91);
  const r1000 = confusionForMix(pt, 1000, 1_000_000);
  assert.equal(r1000.abnormal, 999);
  assert.equal(r1000.normal, 999_001);
  assert.equal(r1000.tp, 899);
  assert.equal(r1000.fp, 9_990);
  assert.equal(r1000.tp + r1000.fn, r1000.abnormal);
  assert.equal(r1000.fp + r1000.tn, r1000.normal);
  close(r1000.precision, 0.9 / (0.9 + 10));
});

test('quantiles are linear-interpolated (type 7)', () => {
  assert.deepEqual(quantiles([0, 10], 3), [0, 5, 10]);
  assert.deepEqual(quantiles([1, 2, 3, 4, 5], 5), [1, 2, 3, 4, 5]);
  assert.deepEqual(quantiles([7], 3), [7, 7, 7]);
});
