import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, ParseError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { featuresModel, loadModel } from '../index.js';
import { parseHyperparameters } from './config.js';
import { parseFeatureCsv } from './csv.js';
import { rcf, RcfModel } from './index.js';
import { testMetrics } from './metrics.js';
import { formatScores } from './wire.js';

const dir = mkdtempSync(path.join(tmpdir(), 'seclake-rcf-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** n rows of `dim` features around 0 (feature j has scale 10^j, as entities' counts differ). */
function normalRows(n: number, dim: number, seed: number): string {
  const rng = new Rng(seed);
  let s = '';
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < dim; j++) row.push((rng.next() - 0.5) * 10 ** j);
    s += row.join(',') + '\n';
  }
  return s;
}

describe('rcf hyperparameters', () => {
  it("takes SageMaker RCF's names, ranges and defaults; strings as SageMaker sends them", () => {
    const hp = parseHyperparameters({ feature_dim: '3', num_trees: '50', eval_metrics: '["accuracy"]' });
    assert.equal(hp.feature_dim, 3);
    assert.equal(hp.num_trees, 50);
    assert.equal(hp.num_samples_per_tree, 256);
    assert.equal(hp.eval_metrics, 'accuracy');
    assert.equal(parseHyperparameters({}).feature_dim, undefined);
  });
  it('names every bad key at once, and an unknown one', () => {
    assert.throws(() => parseHyperparameters({ num_trees: 10, num_samples_per_tree: 5000, nmu_trees: 3, eval_metrics: 'f1' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /num_trees: must be an integer >= 50/);
      assert.match(err.message, /num_samples_per_tree: .*<= 2048/);
      assert.match(err.message, /nmu_trees: unknown hyperparameter/);
      assert.match(err.message, /eval_metrics: must be a list of accuracy, precision_recall_fscore/);
      return true;
    });
  });
});

describe('feature CSV', () => {
  it('reads headerless rows, a header of names, and a labelled test channel (label first)', () => {
    const m = parseFeatureCsv('1,2\n3,4\n\n5,6\n', 'a.csv');
    assert.deepEqual([m.n, m.dim, m.names], [3, 2, ['f1', 'f2']]);
    assert.deepEqual(Array.from(m.rows), [1, 2, 3, 4, 5, 6]);
    const h = parseFeatureCsv('bytes_out,flows\r\n1,2\r\n', 'h.csv');
    assert.deepEqual(h.names, ['bytes_out', 'flows']);
    const t = parseFeatureCsv('0,1,2\n1,3,4\n', 't.csv', { labelled: true });
    assert.deepEqual(Array.from(t.labels!), [0, 1]);
    assert.equal(t.dim, 2);
  });
  it('names the file, line and column of a bad cell, a wrong width, a bad label', () => {
    assert.throws(() => parseFeatureCsv('1,2\n3,x\n', 'a.csv'), (e: unknown) => e instanceof ParseError && /a\.csv:2 field column 2/.test(e.message) && /not a finite number/.test(e.message));
    assert.throws(() => parseFeatureCsv('1,2\n3\n', 'a.csv'), (e: unknown) => e instanceof ParseError && /a\.csv:2/.test(e.message) && /expected 2/.test(e.message));
    assert.throws(() => parseFeatureCsv('2,1,1\n', 't.csv', { labelled: true }), (e: unknown) => e instanceof ParseError && /label must be 0/.test(e.message));
    assert.throws(() => parseFeatureCsv('\n', 'e.csv'), (e: unknown) => e instanceof ParseError && /no records/.test(e.message));
  });
});

describe('wire format (SageMaker RCF)', () => {
  const r = [{ score: 0.5 }, { score: 2.25, attribution: { high: [1, 0.25], low: [0.5, 0.5] } }];
  it('application/json, application/jsonlines and text/csv bodies', () => {
    assert.equal(formatScores(r, 'application/json', false), '{"scores":[{"score":0.5},{"score":2.25}]}');
    assert.equal(formatScores(r, 'application/jsonlines', false), '{"score":0.5}\n{"score":2.25}\n');
    assert.equal(formatScores(r, 'text/csv', false), '0.5\n2.25\n');
    assert.equal(formatScores(r, 'application/json', true), '{"scores":[{"score":0.5},{"score":2.25,"attribution":{"high":[1.0,0.25],"low":[0.5,0.5]}}]}');
  });
});

describe('rcf detector', () => {
  const trainCsv = normalRows(3000, 3, 1);
  it('trains, saves and loads: the loaded model scores exactly as the trained one', async () => {
    const file = path.join(dir, 'a.model');
    const res = await rcf.train({ train: { matrix: parseFeatureCsv(trainCsv, 'train.csv') }, hyperparameters: { num_trees: 50, seed: 3 }, modelPath: file, log: () => {} });
    const loaded = featuresModel(await loadModel(file), 'test');
    assert.ok(loaded instanceof RcfModel);
    assert.equal(loaded.detector.type, 'rcf');
    const probes = [{ values: [0, 0, 0] }, { values: [0.4, 4, 40] }, { values: [3, 0, 0] }, { values: [0, 0, 500] }];
    assert.deepEqual(Array.from(loaded.scoreBatch(probes).native), Array.from(res.model.scoreBatch(probes as never).native));
    const s = Array.from(loaded.scoreBatch(probes).native);
    assert.ok(s[2]! > s[0]! && s[3]! > s[0]!, `outliers ${s[2]}, ${s[3]} vs inlier ${s[0]}`);
    // Calibrated at training: mean + 3 std of the training scores, higher is anomalous.
    assert.equal(loaded.calibration?.direction, 'higher_is_anomalous');
    assert.ok(loaded.calibration!.threshold > 0 && loaded.calibration!.threshold < s[3]!);
  });
  it('an unscorable record is NaN in scoreBatch and a ParseError naming the record in predict', async () => {
    const res = await rcf.train({ train: { matrix: parseFeatureCsv(trainCsv, 'train.csv') }, hyperparameters: { num_trees: 50 }, log: () => {} });
    const m = res.model as RcfModel;
    const b = m.scoreBatch([{ values: [0, 0, 0] }, { values: [0, 0] }, { values: [0, Number.NaN, 0] }]);
    assert.ok(Number.isFinite(b.native[0]!));
    assert.ok(Number.isNaN(b.native[1]!) && Number.isNaN(b.native[2]!));
    assert.throws(() => m.predict([{ values: [0, 0, 0] }, { values: [1] }], { source: 'req' }), (e: unknown) => e instanceof ParseError && /req:2/.test(e.message) && /expected 3 features/.test(e.message));
  });
  it('explains a score by the features that drove it, with their share', async () => {
    const res = await rcf.train({ train: { matrix: parseFeatureCsv('a,b,c\n' + trainCsv, 'train.csv') }, hyperparameters: { num_trees: 50 }, log: () => {} });
    const m = res.model as RcfModel;
    const rec = { values: [0, 0, 500] };
    const e = m.explain(rec, m.scoreBatch([rec]).native[0]!);
    assert.match(e.reason, /^c 500, high: \d+% of the score/);
    const parts = (e.details as { features: { feature: string; share: number }[] }).features;
    assert.equal(parts[0]!.feature, 'c');
    assert.ok(parts[0]!.share > 0.5);
  });
  it("a labelled test channel gives SageMaker's test metrics", async () => {
    const test = parseFeatureCsv('0,0,0,0\n0,0.1,1,-2\n1,4,0,0\n1,0,30,0\n', 'test.csv', { labelled: true });
    const res = await rcf.train({ train: { matrix: parseFeatureCsv(trainCsv, 'train.csv'), test }, hyperparameters: { num_trees: 50 }, log: () => {} });
    const t = res.summary.test as ReturnType<typeof testMetrics>;
    assert.equal(t.n, 4);
    assert.equal(t.positives, 2);
    assert.equal(t.accuracy, 1);
    assert.deepEqual(t.precision_recall_fscore!.positive, { precision: 1, recall: 1, f1: 1 });
  });
  it('test metrics: precision, recall, F1 of both classes; null when undefined', () => {
    const m = testMetrics(Float64Array.from([5, 1, 5, 1]), Float64Array.from([1, 1, 0, 0]), 3, ['accuracy', 'precision_recall_fscore']);
    assert.equal(m.accuracy, 0.5);
    assert.deepEqual(m.precision_recall_fscore!.positive, { precision: 0.5, recall: 0.5, f1: 0.5 });
    const none = testMetrics(Float64Array.from([1, 1]), Float64Array.from([0, 0]), 3, ['precision_recall_fscore']);
    assert.deepEqual(none.precision_recall_fscore!.positive, { precision: null, recall: null, f1: null });
  });
});
