import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../core/rng.js';
import { checkForest, ForestInputError, RandomCutForest, trainBatch } from './index.js';

function gaussianRows(rng: Rng, n: number, dim: number): Float64Array {
  const rows = new Float64Array(n * dim);
  for (let i = 0; i < rows.length; i++) rows[i] = rng.normal();
  return rows;
}

describe('trainBatch (SageMaker RCF batch semantics)', () => {
  it('fills every tree with sampleSize rows, consistent trees, scores without updating', () => {
    const rows = gaussianRows(new Rng(1), 5000, 4);
    const f = trainBatch(rows, 5000, 4, { numTrees: 20, sampleSize: 64, seed: 3 });
    assert.deepEqual(checkForest(f), []);
    for (let t = 0; t < f.numTrees; t++) assert.equal(f.treeMass(t), 64);
    assert.equal(f.updates, 5000);
    const before = f.toState();
    const out = f.score([8, 8, 8, 8]);
    const inl = f.score([0, 0.1, -0.1, 0]);
    assert.ok(out > 3 * inl, `outlier ${out}, inlier ${inl}`);
    assert.deepEqual(f.toState(), before, 'scoring changed the forest');
    const scores = f.scoreRows(rows.subarray(0, 40), 10);
    assert.equal(scores.length, 10);
    assert.equal(scores[0], f.score(Array.from(rows.subarray(0, 4))));
  });

  it('samples uniformly over the rows (no recency bias) and independently per tree', () => {
    const n = 20000;
    const rows = new Float64Array(n);
    for (let i = 0; i < n; i++) rows[i] = i;
    const f = trainBatch(rows, n, 1, { numTrees: 50, sampleSize: 256, seed: 9 });
    let sum = 0;
    let count = 0;
    const distinct = new Set<number>();
    for (let t = 0; t < f.numTrees; t++) {
      for (let s = 0; s < f.sampleSize; s++) {
        const p = f.leaf(t, s, 'point');
        if (p < 0) continue;
        const v = f.store.data[p]!;
        sum += v;
        count++;
        distinct.add(v);
      }
    }
    assert.equal(count, 50 * 256);
    const mean = sum / count;
    // uniform over 0..n-1: mean n/2, standard error about n/sqrt(12 * count) = 51
    assert.ok(Math.abs(mean - n / 2) < 250, `sampled rows average ${mean}`);
    assert.ok(distinct.size > 0.7 * count, `${distinct.size} distinct rows in ${count} samples`);
  });

  it('fewer rows than sampleSize: every tree holds them all; deterministic with a seed; bad rows refused', () => {
    const rows = gaussianRows(new Rng(4), 30, 2);
    const a = trainBatch(rows, 30, 2, { numTrees: 5, sampleSize: 64, seed: 1 });
    for (let t = 0; t < 5; t++) assert.equal(a.treeMass(t), 30);
    const b = trainBatch(rows, 30, 2, { numTrees: 5, sampleSize: 64, seed: 1 });
    assert.deepEqual(a.toState(), b.toState());
    assert.ok(a.score([0, 0]) > 0, 'scores from the first row on');
    const bad = rows.slice();
    bad[7] = Number.POSITIVE_INFINITY;
    assert.throws(() => trainBatch(bad, 30, 2), /row 4 value 2/);
    assert.throws(() => trainBatch(rows, 31, 2), ForestInputError);
  });

  it('a trained forest streams on after a save and load, identically', () => {
    const rows = gaussianRows(new Rng(5), 2000, 3);
    const f = trainBatch(rows, 2000, 3, { numTrees: 10, sampleSize: 32, seed: 2, timeDecay: 0.001 });
    const g = RandomCutForest.fromState(f.toState());
    const rng = new Rng(6);
    for (let i = 0; i < 500; i++) {
      const p = [rng.normal(), rng.normal(), rng.normal()];
      assert.equal(f.scoreAndUpdate(p), g.scoreAndUpdate(p));
    }
    assert.deepEqual(checkForest(f), []);
  });
});
