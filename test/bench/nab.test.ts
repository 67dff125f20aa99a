/**
 * The NAB scorer of bench/lib/nab.ts on small synthetic series whose scores are worked out by hand from NAB's rules
 * (probationary period, scaled sigmoid, earliest detection per window, false positives weighed by their distance
 * after the previous window, per-profile costs, normalisation), and the one-sort threshold sweep against scoring
 * every candidate threshold directly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  PROFILES,
  groupScores,
  normalisedScore,
  probationaryPeriod,
  rowCredits,
  scaledSigmoid,
  scoreFile,
  sweepThreshold,
  windowRows,
  type LabelledSeries,
  type ScoredSeries,
} from '../../bench/lib/nab.js';

const STD = PROFILES.standard;
const close = (a: number, b: number, msg?: string): void => assert.ok(Math.abs(a - b) < 1e-9, `${msg ?? ''} ${a} != ${b}`);
const sigma = (y: number): number => 2 / (1 + Math.exp(5 * y)) - 1;

/** 100 rows (probation 15), one window of 10 rows: 40..49. */
const ONE: LabelledSeries = { name: 'one', length: 100, windows: [{ left: 40, right: 49 }] };

function detections(n: number, rows: number[]): Float64Array {
  const s = new Float64Array(n);
  for (const r of rows) s[r] = 1;
  return s;
}

test('probationary period is min(floor(0.15 n), 750)', () => {
  assert.equal(probationaryPeriod(100), 15);
  assert.equal(probationaryPeriod(4032), 604);
  assert.equal(probationaryPeriod(5000), 750);
  assert.equal(probationaryPeriod(22695), 750);
  assert.equal(probationaryPeriod(3), 0);
});

test('scaled sigmoid: 0 at y = 0, ~0.987 at y = -1, -1 beyond y = 3', () => {
  assert.equal(scaledSigmoid(0), 0);
  close(scaledSigmoid(-1), 0.9866142981514305);
  close(scaledSigmoid(3), 2 / (1 + Math.exp(15)) - 1);
  assert.equal(scaledSigmoid(3.0001), -1);
  assert.ok(scaledSigmoid(0.5) < 0 && scaledSigmoid(0.5) > -1);
});

test('windows map to the rows whose time is inside, ends included, repeated timestamps allowed', () => {
  const times = [0, 10, 20, 20, 30, 40, 50, 60];
  assert.deepEqual(windowRows(times, [[10, 30], [45, 60]]), [{ left: 1, right: 4 }, { left: 6, right: 7 }]);
  assert.throws(() => windowRows(times, [[21, 29]]), /holds no row/);
  assert.deepEqual(windowRows([0, 10, 5, 20], [[4, 6]]), [{ left: 2, right: 2 }]);
  assert.throws(() => windowRows([0, 10, 30, 5, 20], [[4, 11]]), /not contiguous/);
  assert.throws(() => windowRows(times, [[40, 60], [10, 30]]), /overlap or are not sorted/);
});

test('a detection early in a window earns more than a late one; only the earliest counts', () => {
  const early = scoreFile(ONE, detections(100, [40]), 0.5, STD);
  close(early.score, 1, 'first row of the window');
  const mid = scoreFile(ONE, detections(100, [42]), 0.5, STD);
  close(mid.score, sigma(-(49 - 42 + 1) / 10) / sigma(-1));
  const last = scoreFile(ONE, detections(100, [49]), 0.5, STD);
  close(last.score, sigma(-0.1) / sigma(-1));
  assert.ok(early.score > mid.score && mid.score > last.score && last.score > 0);
  const two = scoreFile(ONE, detections(100, [42, 45, 49]), 0.5, STD);
  close(two.score, mid.score, 'later detections in the same window add nothing');
  assert.deepEqual([two.tp, two.fn, two.fp, two.tn, two.total], [3, 7, 0, 75, 85]);
  assert.equal(two.detectedWindows, 1);
});

test('a missed window costs A_FN; the null detector scores -A_FN per window', () => {
  const none = scoreFile(ONE, new Float64Array(100), 0.5, STD);
  close(none.score, -1);
  assert.deepEqual([none.tp, none.fn, none.fp, none.tn], [0, 10, 0, 75]);
  close(scoreFile(ONE, new Float64Array(100), 0.5, PROFILES.reward_low_FN_rate).score, -2);
});

test('false positives: -A_FP before any window, sigmoid-weighted after one, -A_FP far after; none in probation', () => {
  close(scoreFile(ONE, detections(100, [20]), 0.5, STD).score, -1 - 0.11, 'before the window');
  close(scoreFile(ONE, detections(100, [10]), 0.5, STD).score, -1, 'probationary row: nothing');
  const near = scoreFile(ONE, detections(100, [55]), 0.5, STD);
  close(near.score, -1 + 0.11 * sigma(6 / 9), 'y = |49 - 55| / (10 - 1)');
  assert.ok(near.score > -1 - 0.11 && near.score < -1);
  close(scoreFile(ONE, detections(100, [50]), 0.5, STD).score, -1 + 0.11 * sigma(1 / 9));
  close(scoreFile(ONE, detections(100, [90]), 0.5, STD).score, -1 - 0.11, 'y = 41/9 > 3');
  close(scoreFile(ONE, detections(100, [90]), 0.5, PROFILES.reward_low_FP_rate).score, -1 - 0.22);
  const every = scoreFile(ONE, detections(100, [20, 21, 90]), 0.5, STD);
  close(every.score, -1 - 3 * 0.11, 'every false positive counts');
  assert.equal(every.fp, 3);
});

test('after two windows a false positive is weighed against the nearest window before it', () => {
  const s: LabelledSeries = { name: 'two', length: 200, windows: [{ left: 40, right: 49 }, { left: 100, right: 119 }] };
  const r = scoreFile(s, detections(200, [40, 100, 125]), 0.5, STD);
  close(r.score, 2 + 0.11 * sigma(6 / 19));
  const { window } = rowCredits(s, STD);
  assert.equal(window[10], -2);
  assert.equal(window[45], 0);
  assert.equal(window[60], -1);
  assert.equal(window[110], 1);
});

test('a one-row window: a detection on it earns A_TP, any detection after it is far', () => {
  const s: LabelledSeries = { name: 'point', length: 100, windows: [{ left: 50, right: 50 }] };
  close(scoreFile(s, detections(100, [50]), 0.5, STD).score, 1);
  close(scoreFile(s, detections(100, [51]), 0.5, STD).score, -1 - 0.11);
});

test('threshold: score >= threshold is a detection', () => {
  const scores = new Float64Array(100);
  scores[40] = 0.7;
  close(scoreFile(ONE, scores, 0.7, STD).score, 1);
  close(scoreFile(ONE, scores, 0.7000001, STD).score, -1);
});

test('normalisation: null 0, perfect 100, per profile', () => {
  for (const cost of Object.values(PROFILES)) {
    assert.equal(normalisedScore(-cost.fnWeight * 5, 5, cost), 0);
    assert.equal(normalisedScore(cost.tpWeight * 5, 5, cost), 100);
  }
  // NAB's published Kinesis RCF totals (raw 3.98 standard, -27.0 low FP, -24.07 low FN; 116 windows)
  close(Math.round(normalisedScore(3.98356657241316, 116, PROFILES.standard) * 100) / 100, 51.72);
  close(Math.round(normalisedScore(-27.003008629582606, 116, PROFILES.reward_low_FP_rate) * 100) / 100, 38.36);
  close(Math.round(normalisedScore(-24.07429862443211, 116, PROFILES.reward_low_FN_rate) * 100) / 100, 59.75);
  assert.ok(Number.isNaN(normalisedScore(-0.5, 0, STD)));
});

test('the perfect detector (first row of every window) normalises to 100, the null one to 0', () => {
  const s: LabelledSeries = { name: 'two', length: 300, windows: [{ left: 60, right: 79 }, { left: 200, right: 204 }] };
  const perfect = scoreFile(s, detections(300, [60, 200]), 0.5, STD);
  assert.equal(normalisedScore(perfect.score, 2, STD), 100);
  assert.equal(normalisedScore(scoreFile(s, new Float64Array(300), 0.5, STD).score, 2, STD), 0);
});

test('sweep: picks the threshold that excludes a high-scoring false positive when it costs more than it earns', () => {
  const scores = new Float64Array(100);
  scores[45] = 0.6; // in the window
  scores[20] = 0.9; // before the window
  const r = sweepThreshold([{ series: ONE, scores }], STD);
  assert.equal(r.threshold, 0.6);
  close(r.score, sigma(-0.5) / sigma(-1) - 0.11);
  // with a higher threshold only the false positive fires; above 0.9 nothing does
  assert.deepEqual([...r.curve.threshold], [Number.POSITIVE_INFINITY, 0.9, 0.6, 0]);
  close(r.curve.score[1]!, -1.11);
  // a detector whose only detections are false fires never
  const bad = new Float64Array(100);
  bad[20] = 0.9;
  assert.equal(sweepThreshold([{ series: ONE, scores: bad }], STD).threshold, Number.POSITIVE_INFINITY);
});

test('sweep: its curve equals scoring every candidate threshold file by file (random series)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          n: fc.integer({ min: 20, max: 120 }),
          cuts: fc.uniqueArray(fc.integer({ min: 0, max: 119 }), { maxLength: 6 }),
          levels: fc.integer({ min: 2, max: 12 }),
          seed: fc.integer(),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      fc.constantFrom(...Object.values(PROFILES)),
      (specs, cost) => {
        const files: ScoredSeries[] = specs.map((sp, k) => {
          const cuts = sp.cuts.filter((c) => c < sp.n).sort((a, b) => a - b);
          const windows = [];
          for (let i = 0; i + 1 < cuts.length; i += 2) windows.push({ left: cuts[i]!, right: cuts[i + 1]! });
          let x = sp.seed >>> 0;
          const scores = new Float64Array(sp.n);
          for (let i = 0; i < sp.n; i++) {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0;
            scores[i] = (x % sp.levels) / sp.levels; // few levels: many ties
          }
          return { series: { name: `f${k}`, length: sp.n, windows }, scores };
        });
        const r = sweepThreshold(files, cost);
        for (let i = 0; i < r.curve.threshold.length; i++) {
          const t = r.curve.threshold[i]!;
          const direct = files.reduce((acc, f) => acc + scoreFile(f.series, f.scores, t, cost).score, 0);
          if (Math.abs(direct - r.curve.score[i]!) > 1e-9) return false;
        }
        const best = Math.max(...r.curve.score);
        return Math.abs(r.score - best) < 1e-9;
      },
    ),
    { numRuns: 200, seed: 13 },
  );
});

test('groups: per-category sums, normalised against their own windows; no windows gives NaN', () => {
  const a = scoreFile(ONE, detections(100, [40]), 0.5, STD);
  const b = scoreFile({ ...ONE, name: 'b' }, new Float64Array(100), 0.5, STD);
  const c = scoreFile({ name: 'c', length: 100, windows: [] }, detections(100, [30]), 0.5, STD);
  const g = groupScores([a, b, c], STD, (f) => (f.name === 'c' ? 'noAnomaly' : 'real'));
  assert.deepEqual(g.map((x) => [x.group, x.files, x.windows, x.detectedWindows, x.falseDetections]), [
    ['noAnomaly', 1, 0, 0, 1],
    ['real', 2, 2, 1, 0],
  ]);
  close(g[1]!.raw, 0);
  assert.equal(g[1]!.normalised, 50);
  assert.ok(Number.isNaN(g[0]!.normalised));
  close(g[0]!.raw, -0.11);
});

test('mismatched lengths and NaN scores are errors naming the series', () => {
  assert.throws(() => scoreFile(ONE, new Float64Array(99), 0.5, STD), /one: 99 scores for 100 rows/);
  const s = new Float64Array(100);
  s[50] = Number.NaN;
  assert.throws(() => sweepThreshold([{ series: ONE, scores: s }], STD), /one: row 50 has a NaN score/);
});
