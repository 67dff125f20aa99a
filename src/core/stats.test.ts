import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fisherCombine, meanStd, quantiles } from './stats.js';

test('fisherCombine: one p-value is unchanged, agreement lowers it, NaN is ignored', () => {
  assert.ok(Math.abs(fisherCombine([0.01]) - 0.01) < 1e-12);
  // two independent p = 0.01: X = 18.42, chi2(4) sf = e^-9.21 (1 + 9.21) = 0.00102
  const two = fisherCombine([0.01, 0.01]);
  assert.ok(two < 0.01 && Math.abs(two - 0.001021) < 2e-5, String(two));
  assert.equal(fisherCombine([]), 1);
  assert.equal(fisherCombine([Number.NaN]), 1);
  assert.ok(Math.abs(fisherCombine([0.2, Number.NaN]) - 0.2) < 1e-12);
  // weak evidence does not become strong: two p = 0.5 stay above 0.3
  assert.ok(fisherCombine([0.5, 0.5]) > 0.3);
  // never 0, never above 1
  assert.ok(fisherCombine([0, 0, 0]) > 0);
  assert.ok(fisherCombine([1, 1]) <= 1);
});

test('quantiles and meanStd', () => {
  assert.deepEqual(quantiles([1, 2, 3, 4, 5], 3), [1, 3, 5]);
  const { mean, std } = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(mean, 5);
  assert.ok(std > 0);
});

test('cauchyCombine: the same evidence twice is not stronger; the smallest p dominates; valid under dependence', async () => {
  const { cauchyCombine } = await import('./stats.js');
  assert.ok(Math.abs(cauchyCombine([0.01]) - 0.01) < 1e-9);
  assert.ok(Math.abs(cauchyCombine([0.001, 0.001]) - 0.001) < 1e-9);
  assert.ok(Math.abs(cauchyCombine([1e-8, 1e-8]) - 1e-8) < 1e-15);
  // one strong, one weak: about twice the strong p (equal weights), far above Fisher's product
  const mixed = cauchyCombine([1e-4, 0.5]);
  assert.ok(mixed > 1e-4 && mixed < 3e-4, String(mixed));
  assert.ok(fisherCombine([1e-4, 1e-4]) < cauchyCombine([1e-4, 1e-4]));
  assert.equal(cauchyCombine([]), 1);
  assert.ok(cauchyCombine([0.9, 0.95]) <= 1);
});
