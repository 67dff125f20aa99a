import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../core/rng.js';
import { ForestStateError, Thresholder } from './index.js';

describe('Thresholder', () => {
  it('before minimumScores scores: the initial threshold (1.5) decides, grades grow from the absolute threshold', () => {
    const th = new Thresholder();
    assert.deepEqual(th.thresholdAndGrade(1.2), { threshold: 1.5, grade: 0 });
    // (score - 0.8) / 0.8 = 0.875 -> floor(0.875 * 20) / 16 = 1 (capped)
    assert.equal(th.grade(1.5), 1);
    for (let i = 0; i < 9; i++) th.update(1);
    assert.equal(th.grade(1.4), 0);
    assert.equal(th.scores, 9);
  });

  it('scores <= 0 (a forest warming up) are not absorbed', () => {
    const th = new Thresholder();
    for (let i = 0; i < 50; i++) th.update(0);
    assert.equal(th.scores, 0);
    assert.throws(() => th.update(Number.NaN));
  });

  it('on a stream of ordinary scores: grade 0 for ordinary ones, rising with the score to 1, always in [0, 1]', () => {
    const th = new Thresholder();
    const rng = new Rng(1);
    let flagged = 0;
    for (let i = 0; i < 5000; i++) {
      const s = 0.8 + 0.05 * rng.normal();
      const g = th.grade(s);
      assert.ok(g >= 0 && g <= 1);
      if (g > 0) flagged++;
      th.update(s);
    }
    assert.ok(flagged < 50, `${flagged} of 5000 ordinary scores graded`);
    const { mean, deviation } = th.stats();
    assert.ok(Math.abs(mean - 0.8) < 0.02 && Math.abs(deviation - 0.05) < 0.02, `mean ${mean}, deviation ${deviation}`);
    const threshold = th.thresholdAndGrade(0).threshold;
    assert.ok(threshold > mean + deviation && threshold < mean + 6 * deviation, `threshold ${threshold}`);
    let last = 0;
    for (let s = 0.5; s < 3; s += 0.01) {
      const g = th.grade(s);
      assert.ok(g >= last, `grade falls at ${s}`);
      last = g;
    }
    assert.equal(th.grade(0.8), 0);
    assert.equal(th.grade(3), 1);
  });

  it('the threshold follows the library formula once 2*minimumScores scores are in (shingle 1, no transform)', () => {
    const th = new Thresholder({ timeDecay: 0, anomalyRate: 0 });
    const scores = [1, 1.2, 0.9, 1.1, 1, 0.95, 1.05, 1.3, 0.85, 1, 1.1, 0.9, 1, 1.2, 1, 0.8, 1.1, 1, 0.9, 1, 1.05];
    const below: number[] = [];
    let sum = 0;
    scores.forEach((s, i) => {
      const m = i === 0 ? 0 : sum / i;
      if (m - s > 0) below.push(m - s);
      sum += s;
      th.update(s);
    });
    const n = scores.length;
    const mean = sum / n;
    const dev = Math.sqrt(scores.reduce((a, s) => a + s * s, 0) / n - mean * mean);
    const bm = below.reduce((a, b) => a + b, 0) / below.length;
    const bdev = Math.sqrt(below.reduce((a, b) => a + b * b, 0) / below.length - bm * bm);
    const longTerm = Math.min(Math.SQRT2 * bdev, dev);
    const expected = Math.max(0.8, mean + 2 * longTerm + dev);
    const got = th.thresholdAndGrade(0).threshold;
    assert.ok(Math.abs(got - expected) < 1e-9, `threshold ${got}, expected ${expected}`);
  });

  it('state round trip gives the same grades afterwards', () => {
    const a = new Thresholder({ shingleSize: 4 });
    const rng = new Rng(2);
    for (let i = 0; i < 300; i++) a.update(1 + 0.1 * rng.normal());
    const b = Thresholder.fromState(a.toState());
    for (let i = 0; i < 300; i++) {
      const s = 1 + 0.3 * rng.normal();
      assert.deepEqual(b.gradeAndUpdate(s), a.gradeAndUpdate(s));
    }
    assert.throws(() => Thresholder.fromState(new Uint8Array(4)), ForestStateError);
  });
});
