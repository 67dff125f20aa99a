import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../../core/errors.js';
import { Rng } from '../../../core/rng.js';
import { RandomCutForest, checkForest, ForestInputError, ForestStateError, NIL } from './index.js';

const PAPER = fileURLToPath(new URL('../../../../test/samples/rcf/rcf-paper.csv', import.meta.url));

function assertConsistent(f: RandomCutForest, when: string): void {
  const problems = checkForest(f);
  assert.deepEqual(problems, [], `${when}: ${problems.join('; ')}`);
}

/** A stream mixing a Gaussian cluster, a second cluster, far outliers, and exact repeats of earlier points. */
function mixedStream(rng: Rng, n: number, dim: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    let p: number[];
    if (r < 0.15 && out.length > 0) p = out[rng.int(out.length)]!.slice();
    else if (r < 0.2) p = Array.from({ length: dim }, () => (rng.next() - 0.5) * 200);
    else if (r < 0.3) p = Array.from({ length: dim }, () => 10 + rng.normal());
    else p = Array.from({ length: dim }, () => rng.normal());
    out.push(p);
  }
  return out;
}

describe('RandomCutForest: tree invariants under insertion and deletion', () => {
  for (const [name, opts] of [
    ['1-d, sample 8, strong decay', { inputDims: 1, sampleSize: 8, numTrees: 5, timeDecay: 0.05 }],
    ['3-d, sample 16, no decay', { inputDims: 3, sampleSize: 16, numTrees: 4, timeDecay: 0 }],
    ['2-d shingle 3, sample 32, default decay', { inputDims: 2, shingleSize: 3, sampleSize: 32, numTrees: 3 }],
    ['5-d, sample 1', { inputDims: 5, sampleSize: 1, numTrees: 3 }],
  ] as const) {
    it(`keeps every tree consistent after each update (${name})`, () => {
      const f = new RandomCutForest({ ...opts, seed: 7 });
      const rng = new Rng(11);
      const stream = mixedStream(rng, 1500, opts.inputDims);
      stream.forEach((p, i) => {
        f.scoreAndUpdate(p);
        if (i < 200 || i % 25 === 0) assertConsistent(f, `after update ${i + 1}`);
      });
      assertConsistent(f, 'at the end');
      for (let t = 0; t < f.numTrees; t++) assert.equal(f.treeMass(t), Math.min(f.sampleSize, f.points), `tree ${t} mass`);
    });
  }

  it('keeps trees consistent on a stream of few distinct values (duplicates merge into leaves with mass)', () => {
    const f = new RandomCutForest({ inputDims: 2, sampleSize: 32, numTrees: 4, timeDecay: 0.01, seed: 3 });
    const rng = new Rng(5);
    for (let i = 0; i < 3000; i++) {
      f.update([rng.int(4), rng.int(3)]);
      if (i % 50 === 0) assertConsistent(f, `after update ${i + 1}`);
    }
    assertConsistent(f, 'at the end');
    // 12 distinct points at most: every tree has at most 12 leaves, mass 32 in total
    for (let t = 0; t < f.numTrees; t++) {
      let leaves = 0;
      for (let s = 0; s < f.sampleSize; s++) if (f.leaf(t, s, 'point') >= 0) leaves++;
      assert.ok(leaves <= 12, `tree ${t} has ${leaves} leaves`);
      assert.equal(f.treeMass(t), 32);
    }
  });

  it('the checker notices a broken mass, box, parent link, cut and reference count', () => {
    const make = (): RandomCutForest => {
      const f = new RandomCutForest({ inputDims: 2, sampleSize: 16, numTrees: 2, seed: 1 });
      const rng = new Rng(2);
      for (let i = 0; i < 100; i++) f.update([rng.normal(), rng.normal()]);
      assertConsistent(f, 'before the damage');
      return f;
    };
    const S = 16;
    const r = (f: RandomCutForest): number => f.root[0]!;
    let f = make();
    f.setNode(0, r(f), 'mass', f.node(0, r(f), 'mass') + 1);
    assert.match(checkForest(f).join('\n'), /mass/);
    f = make();
    const b = f.boxOf(0, r(f));
    f.setBox(0, r(f), 0, b.min[0]! - 1, b.max[0]!);
    assert.match(checkForest(f).join('\n'), /box/);
    f = make();
    const child = f.node(0, r(f), 'left');
    if (child >= S) f.setLeaf(0, child - S, 'parent', NIL);
    else f.setNode(0, child, 'parent', NIL);
    assert.match(checkForest(f).join('\n'), /names parent/);
    f = make();
    f.setNode(0, r(f), 'cutVal', f.node(0, r(f), 'cutVal') + 100);
    assert.match(checkForest(f).join('\n'), /cut/);
    f = make();
    f.store.refs[f.leaf(0, 0, 'point')]! += 1;
    assert.match(checkForest(f).join('\n'), /references/);
    f = make();
    f.heapSize[0]! -= 1;
    assert.match(checkForest(f).join('\n'), /sampler/);
  });
});

describe('RandomCutForest: scores', () => {
  it('a point far from the sample scores near log2(sampleSize + 1)', () => {
    for (const sampleSize of [64, 256]) {
      const f = new RandomCutForest({ inputDims: 3, sampleSize, numTrees: 50, seed: 9 });
      const rng = new Rng(4);
      for (let i = 0; i < 3000; i++) f.update([rng.normal(), rng.normal(), rng.normal()]);
      const far = f.score([1e5, -1e5, 1e5]);
      const top = Math.log2(sampleSize + 1);
      assert.ok(Math.abs(far - top) < 0.01 * top, `far point scored ${far}, expected about ${top}`);
      const inlier = f.score([0.1, -0.2, 0.05]);
      assert.ok(inlier < 1.2, `an inlier scored ${inlier}`);
    }
  });

  it('scores 0 until outputAfter updates, and rejects bad input', () => {
    const f = new RandomCutForest({ inputDims: 2, sampleSize: 16, numTrees: 3, outputAfter: 10 });
    for (let i = 0; i < 9; i++) assert.equal(f.scoreAndUpdate([i, i]), 0);
    assert.equal(f.isReady(), false);
    f.update([9, 9]);
    assert.ok(f.score([100, -100]) > 0);
    assert.throws(() => f.score([1]), ForestInputError);
    assert.throws(() => f.update([1, Number.NaN]), ForestInputError);
    assert.throws(() => f.update([1, 1e39]), ForestInputError); // beyond float32
    assert.throws(() => new RandomCutForest({ inputDims: 2, sampleSize: 40000 }), ConfigError);
    assert.throws(() => new RandomCutForest({ inputDims: 0 }), ConfigError);
    assert.throws(() => new RandomCutForest({ inputDims: 1, timeDecay: -1 }), ConfigError);
  });

  it('duplicates: a constant stream scores its value 0.5 (the damped leaf score) and anything else log2(S+1)', () => {
    const f = new RandomCutForest({ inputDims: 2, sampleSize: 32, numTrees: 10, seed: 2 });
    for (let i = 0; i < 500; i++) f.update([3, 4]);
    assertConsistent(f, 'constant stream');
    for (let t = 0; t < f.numTrees; t++) assert.ok(f.root[t]! >= f.sampleSize, 'the tree is one leaf');
    // damp(m=32, M=32) / (depth 0 + log2(33)) * log2(33) = 1 - 32/64
    assert.ok(Math.abs(f.score([3, 4]) - 0.5) < 1e-12, `score ${f.score([3, 4])}`);
    assert.ok(Math.abs(f.score([3, 5]) - Math.log2(33)) < 1e-12);
    const a = f.attribution([3, 4]);
    assert.ok(Math.abs(a.score - 0.5) < 1e-12);
    // a duplicate with no other points: equal split
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(a.high[i]! - 0.125) < 1e-12 && Math.abs(a.low[i]! - 0.125) < 1e-12);
  });

  it('a repeated point scores lower the more often it was seen', () => {
    const f = new RandomCutForest({ inputDims: 2, sampleSize: 64, numTrees: 30, timeDecay: 0, seed: 8 });
    const rng = new Rng(8);
    for (let i = 0; i < 1000; i++) f.update([rng.normal(), rng.normal()]);
    const p = [4, 4];
    const seen: number[] = [f.score(p)];
    for (let k = 0; k < 3; k++) {
      for (let j = 0; j < 30; j++) f.update(p);
      seen.push(f.score(p));
    }
    assertConsistent(f, 'after repeats');
    for (let k = 1; k < seen.length; k++) assert.ok(seen[k]! < seen[k - 1]!, `scores ${seen.join(', ')}`);
  });

  it('rcf-paper.csv: the eleven points near the origin score far above the two clusters', () => {
    const rows = readFileSync(PAPER, 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
    assert.equal(rows.length, 2010);
    const f = new RandomCutForest({ inputDims: 3, timeDecay: 0 }); // the AWS CLI runner's settings
    const scores = rows.map((r) => f.scoreAndUpdate(r));
    const origin = scores.filter((_, i) => i >= 64 && Math.abs(rows[i]![0]!) < 1);
    const cluster = scores.filter((_, i) => i >= 64 && Math.abs(rows[i]![0]!) >= 1).sort((a, b) => a - b);
    assert.equal(origin.length, 11);
    // the library's README: cluster points about 0.66-0.91, the origin point about 2.8
    const median = cluster[cluster.length >> 1]!;
    assert.ok(median > 0.5 && median < 1, `cluster median ${median}`);
    for (const s of origin) assert.ok(s > 2, `origin point scored ${s}`);
  });
});

/** The score by the book (rcf.md §1.4b), walking the trees through the accessors, with full box loops. */
function referenceScore(f: RandomCutForest, point: number[]): number {
  const S = f.sampleSize;
  const D = f.dimensions;
  const q = point.map(Math.fround);
  let total = 0;
  for (let t = 0; t < f.numTrees; t++) {
    const path: number[] = [];
    let n = f.root[t]!;
    while (n < S) {
      path.push(n);
      n = q[f.node(t, n, 'cutDim')]! <= f.node(t, n, 'cutVal') ? f.node(t, n, 'left') : f.node(t, n, 'right');
    }
    const M = f.treeMass(t);
    const pb = f.leaf(t, n - S, 'point') * D;
    const leafPoint = Array.from(f.store.data.subarray(pb, pb + D));
    const depth = path.length;
    let score: number;
    if (leafPoint.every((v, i) => v === q[i])) {
      const m = f.leaf(t, n - S, 'mass');
      score = (1 - m / (2 * M)) / (depth + Math.log2(m + 1));
    } else {
      score = 1 / (depth + 1);
      for (let k = depth - 1; k >= 0; k--) {
        const b = f.boxOf(t, path[k]!);
        let out = 0;
        let range = 0;
        for (let i = 0; i < D; i++) {
          range += b.max[i]! - b.min[i]!;
          out += Math.max(0, b.min[i]! - q[i]!) + Math.max(0, q[i]! - b.max[i]!);
        }
        if (out === 0) break;
        const p = out / (range + out);
        score = p / (k + 1) + (1 - p) * score;
      }
    }
    total += score * Math.log2(M + 1);
  }
  return total / f.numTrees;
}

describe('RandomCutForest: the score against the book', () => {
  for (const dim of [1, 3, 30, 31, 40]) {
    it(`${dim} dimensions: score() equals the straightforward computation (inliers, outliers, duplicates)`, () => {
      const f = new RandomCutForest({ inputDims: dim, sampleSize: 64, numTrees: 10, seed: dim });
      const rng = new Rng(dim);
      const stream = mixedStream(rng, 600, dim);
      let compared = 0;
      for (const p of stream) {
        if (f.isReady()) {
          const got = f.score(p);
          const want = referenceScore(f, p);
          assert.ok(Math.abs(got - want) <= 1e-6 * Math.max(1, want), `score ${got}, by the book ${want}`);
          compared++;
        }
        f.update(p);
      }
      assert.ok(compared > 500);
    });
  }
});

describe('RandomCutForest: attribution', () => {
  it('high + low over all dimensions sums to the score (plain, shingled, duplicates, outliers)', () => {
    for (const opts of [
      { inputDims: 4, sampleSize: 64, numTrees: 20 },
      { inputDims: 1, shingleSize: 6, sampleSize: 32, numTrees: 10 },
      { inputDims: 3, sampleSize: 16, numTrees: 10, timeDecay: 0.02 },
    ]) {
      const f = new RandomCutForest({ ...opts, seed: 3 });
      const rng = new Rng(6);
      const stream = mixedStream(rng, 800, opts.inputDims);
      let checked = 0;
      for (const p of stream) {
        if (f.isReady()) {
          const s = f.score(p);
          const a = f.attribution(p);
          let sum = 0;
          for (let i = 0; i < f.dimensions; i++) {
            assert.ok(a.high[i]! >= 0 && a.low[i]! >= 0);
            sum += a.high[i]! + a.low[i]!;
          }
          assert.ok(Math.abs(sum - s) <= 1e-9 * Math.max(1, s), `attribution sums to ${sum}, score ${s}`);
          assert.ok(Math.abs(a.score - s) <= 1e-9 * Math.max(1, s));
          checked++;
        }
        f.update(p);
      }
      assert.ok(checked > 500);
    }
  });

  it('points the way: a spike in one dimension is attributed to high of that dimension', () => {
    const f = new RandomCutForest({ inputDims: 3, sampleSize: 128, numTrees: 40, seed: 12 });
    const rng = new Rng(13);
    for (let i = 0; i < 2000; i++) f.update([rng.normal(), rng.normal(), rng.normal()]);
    const up = f.attribution([0, 9, 0]);
    assert.ok(up.high[1]! > 0.8 * up.score, `high[1] ${up.high[1]} of ${up.score}`);
    const down = f.attribution([0, 0, -9]);
    assert.ok(down.low[2]! > 0.8 * down.score, `low[2] ${down.low[2]} of ${down.score}`);
  });
});

describe('RandomCutForest: reproducibility and state', () => {
  const stream = mixedStream(new Rng(21), 1200, 3);

  it('the same seed gives identical scores; another seed does not', () => {
    const run = (seed: number): number[] => {
      const f = new RandomCutForest({ inputDims: 3, sampleSize: 64, numTrees: 20, seed });
      return stream.map((p) => f.scoreAndUpdate(p));
    };
    assert.deepEqual(run(5), run(5));
    assert.notDeepEqual(run(5), run(6));
  });

  it('toState/fromState round trip: identical subsequent scores and attributions, mid-shingle too', () => {
    for (const opts of [
      { inputDims: 3, sampleSize: 64, numTrees: 20 },
      { inputDims: 1, shingleSize: 5, sampleSize: 32, numTrees: 10, timeDecay: 0.01 },
    ]) {
      const a = new RandomCutForest({ ...opts, seed: 4 });
      const flat = stream.flat();
      const rows: number[][] = [];
      for (let i = 0; i + opts.inputDims <= flat.length && rows.length < 1000; i += opts.inputDims) rows.push(flat.slice(i, i + opts.inputDims));
      for (let i = 0; i < 603; i++) a.update(rows[i]!);
      const b = RandomCutForest.fromState(a.toState());
      assertConsistent(b, 'loaded');
      assert.equal(b.updates, a.updates);
      assert.deepEqual(b.toState(), a.toState());
      for (let i = 603; i < rows.length; i++) {
        assert.equal(b.scoreAndUpdate(rows[i]!), a.scoreAndUpdate(rows[i]!), `score ${i}`);
        if (i % 97 === 0) assert.deepEqual(b.attribution(rows[i]!), a.attribution(rows[i]!));
      }
      assertConsistent(b, 'after more updates');
    }
  });

  it('fromState refuses other data, other versions, truncated and inconsistent state', () => {
    const f = new RandomCutForest({ inputDims: 2, sampleSize: 16, numTrees: 3, seed: 1 });
    for (let i = 0; i < 100; i++) f.update([i % 7, i % 5]);
    const st = f.toState();
    assert.throws(() => RandomCutForest.fromState(new Uint8Array(10)), ForestStateError);
    const v2 = st.slice();
    v2[4] = 2;
    assert.throws(() => RandomCutForest.fromState(v2), /version 2/);
    assert.throws(() => RandomCutForest.fromState(st.subarray(0, st.length - 5)), ForestStateError);
    // break a parent link inside the left-child array: find its byte block by rewriting a known tree
    const g = RandomCutForest.fromState(st);
    const r = g.root[0]!;
    g.setNode(0, r, 'left', g.node(0, r, 'right'));
    assert.throws(() => RandomCutForest.fromState(g.toState()), /inconsistent/);
  });

  it('shingling inside the forest equals shingling outside it', () => {
    const rng = new Rng(31);
    const series = Array.from({ length: 700 }, (_, i) => Math.sin(i / 5) + 0.1 * rng.normal());
    const k = 4;
    const inside = new RandomCutForest({ inputDims: 1, shingleSize: k, sampleSize: 32, numTrees: 10, seed: 2, outputAfter: 20 + k - 1 });
    const outside = new RandomCutForest({ inputDims: k, sampleSize: 32, numTrees: 10, seed: 2, outputAfter: 20 });
    for (let i = 0; i < series.length; i++) {
      const a = inside.scoreAndUpdate([series[i]!]);
      if (i >= k - 1) {
        const b = outside.scoreAndUpdate(series.slice(i - k + 1, i + 1));
        assert.equal(a, b, `point ${i}`);
      } else {
        assert.equal(a, 0);
      }
    }
    assert.deepEqual(Array.from(inside.shingle), series.slice(-k).map(Math.fround));
  });

  it('a shingle sees a broken rhythm that single values do not', () => {
    const period = 16;
    const series = Array.from({ length: 3000 }, (_, i) => Math.sin((2 * Math.PI * i) / period));
    // at 2600 the wave skips half a period for 8 steps: every value is an ordinary value of the wave
    for (let i = 2600; i < 2608; i++) series[i] = Math.sin((2 * Math.PI * (i + period / 2)) / period);
    const run = (shingleSize: number): { glitch: number; usual: number } => {
      const f = new RandomCutForest({ inputDims: 1, shingleSize, sampleSize: 128, numTrees: 50, seed: 5 });
      const s = series.map((v) => f.scoreAndUpdate([v]));
      const usual = s.slice(2000, 2590).sort((a, b) => a - b)[Math.floor(590 * 0.99)]!;
      return { glitch: Math.max(...s.slice(2600, 2612)), usual };
    };
    const one = run(1);
    const eight = run(8);
    assert.ok(one.glitch <= one.usual * 1.1, `without a shingle: glitch ${one.glitch}, usual ${one.usual}`);
    assert.ok(eight.glitch > 1.4 * eight.usual, `shingle 8: glitch ${eight.glitch}, usual ${eight.usual}`);
  });

  it('time decay forgets: after a level shift the old level becomes anomalous again only with decay', () => {
    const run = (timeDecay: number): number => {
      const f = new RandomCutForest({ inputDims: 1, sampleSize: 64, numTrees: 30, timeDecay, seed: 3 });
      const rng = new Rng(3);
      for (let i = 0; i < 2000; i++) f.update([rng.normal()]);
      for (let i = 0; i < 4000; i++) f.update([50 + rng.normal()]);
      return f.score([0]);
    };
    const decayed = run(1 / 640);
    const uniform = run(0);
    assert.ok(decayed > 3 * uniform, `with decay ${decayed}, without ${uniform}`);
  });

  it('renumbering the nodes (relayout) changes no score', () => {
    const a = new RandomCutForest({ inputDims: 3, sampleSize: 32, numTrees: 8, seed: 4 });
    const b = new RandomCutForest({ inputDims: 3, sampleSize: 32, numTrees: 8, seed: 4 });
    (b as unknown as { relayoutAfter: number }).relayoutAfter = 1e9; // never
    for (const p of stream) assert.equal(a.scoreAndUpdate(p), b.scoreAndUpdate(p));
    assert.notDeepEqual(a.toState(), b.toState(), 'the layouts differ');
    assertConsistent(a, 'relaid out');
    assertConsistent(b, 'never relaid out');
  });

  it('memoryBytes counts the typed arrays', () => {
    const f = new RandomCutForest({ inputDims: 1, sampleSize: 256, numTrees: 10 });
    for (let i = 0; i < 3000; i++) f.update([Math.sin(i)]);
    const m = f.memoryBytes();
    assert.ok(m.perTree > 4000 && m.perTree < 20000, `per tree ${m.perTree}`);
    assert.equal(m.total, m.perTree * 10);
  });
});
