import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rocAuc } from './auc.js';

describe('rocAuc (Mann-Whitney, ties = 1/2)', () => {
  it('is 1 for perfect separation and 0 for reversed', () => {
    assert.equal(rocAuc([3, 4, 5], [0, 1, 2]), 1);
    assert.equal(rocAuc([0, 1], [2, 3]), 0);
  });
  it('counts ties as one half', () => {
    assert.equal(rocAuc([1, 1], [1, 1]), 0.5);
    // positives {1, 2}, negatives {1, 0}: pairs (1>1 tie .5)(1>0 1)(2>1 1)(2>0 1) = 3.5 / 4
    assert.equal(rocAuc([1, 2], [1, 0]), 0.875);
    assert.equal(rocAuc([5], [5, 5, 4, 6]), (0.5 + 0.5 + 1 + 0) / 4);
  });
  it('matches a brute-force count on random data with many ties', () => {
    let x = 7;
    const rnd = (): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % 7);
    const p = Array.from({ length: 300 }, rnd);
    const n = Array.from({ length: 200 }, rnd);
    let s = 0;
    for (const a of p) for (const b of n) s += a > b ? 1 : a === b ? 0.5 : 0;
    assert.ok(Math.abs(rocAuc(p, n) - s / (p.length * n.length)) < 1e-12);
  });
  it('is NaN without data and rejects NaN scores', () => {
    assert.ok(Number.isNaN(rocAuc([], [1])));
    assert.throws(() => rocAuc([Number.NaN], [1]), RangeError);
  });
});
