/**
 * Batch training of the RCF detector, as SageMaker RCF trains (rcf.md §1.2): every tree samples
 * num_samples_per_tree records of the training matrix, then the forest is fixed. The training scores give the
 * default threshold (mean + z_factor x std, the three-sigma rule SageMaker's test metrics use), stored as the model's
 * calibration on training data until `seclake calibrate` replaces it; a labelled test channel gives SageMaker's
 * test metrics (accuracy, precision_recall_fscore).
 */
import { TrainingError } from '../../core/errors.js';
import { meanStd, quantiles } from '../../core/stats.js';
import { seclakeVersion } from '../../core/version.js';
import { CALIBRATION_VERSION, type Calibration } from '../calibration.js';
import { modelHeaderFor, writeModelFile, type BaseTrainingMetadata, type RecordDefinitionRef, type Section } from '../model-file.js';
import { trainBatch, type RandomCutForest } from './forest/forest.js';
import type { FeatureMatrix } from './csv.js';
import type { FeatureScaler } from './features/scaler.js';
import type { LakeFeatureParams } from './lake.js';
import { parseHyperparameters, type Hyperparameters } from './config.js';
import { testMetrics, type TestMetrics } from './metrics.js';

export const RCF_TYPE = 'rcf';
export const RCF_VERSION = 1;


/** What the RCF detector trains on. */
export interface RcfTrainingData {
  /** The records to train on, raw (the scaler, if any, is applied here). */
  matrix: FeatureMatrix;
  /** Per row: its entity and group (lake features), for the scaler. */
  entities?: string[];
  groups?: string[];
  /** Per-entity scaling (lake features), applied before the forest and stored with the model. */
  scaler?: FeatureScaler;
  /** A labelled test channel (labels 0/1), for SageMaker's test metrics. */
  test?: FeatureMatrix;
  /** Lake features: which feature sets and window the matrix came from (stored so the monitor computes the same). */
  features?: LakeFeatureParams;
  /** Event time range of the data (epoch ms). */
  timeRange?: { start: number; end: number };
}

// A type alias (not an interface) so it fits the container header's Record<string, unknown> params.
export type RcfParams = {
  feature_dim: number;
  feature_names: string[];
  /** Lake feature sets and window, when trained from the lake. */
  features: LakeFeatureParams | null;
  scaled: boolean;
  /** Training score distribution (the default threshold is mean + z_factor x std). */
  score_stats: { mean: number; std: number; n: number; threshold: number };
  /** Bytes of the forest's typed arrays, and per tree. */
  memory: { total: number; per_tree: number };
};

export interface RcfTrainingMetadata extends BaseTrainingMetadata {
  test?: TestMetrics;
}

export interface RcfTrainResult {
  forest: RandomCutForest;
  header: ReturnType<typeof modelHeaderFor<Hyperparameters, RcfParams, RcfTrainingMetadata>>;
  sections: Section[];
  hyperparameters: Hyperparameters;
  seconds: number;
}

/** At most this many training rows are scored for the score statistics (an even sample of the rest). */
const MAX_STAT_ROWS = 200_000;

/** Scale every row of a matrix with the scaler (entity per row). */
export function scaledRows(data: RcfTrainingData): Float64Array {
  const { matrix, scaler } = data;
  if (!scaler) return matrix.rows;
  const out = new Float64Array(matrix.rows.length);
  const d = matrix.dim;
  for (let i = 0; i < matrix.n; i++) scaler.transformRow(matrix.rows.subarray(i * d, (i + 1) * d), data.entities?.[i], data.groups?.[i], out.subarray(i * d, (i + 1) * d));
  return out;
}

/** The model file sections of an rcf model: the forest's state, and the scaler's when it scales per entity. */
export function rcfSections(forest: RandomCutForest, scaler: FeatureScaler | undefined): Section[] {
  const bytes = (name: string, data: Uint8Array): Section => ({ name, dtype: 'uint8', shape: [data.length], data });
  return scaler ? [bytes('forest', forest.toState()), bytes('scaler', scaler.toState())] : [bytes('forest', forest.toState())];
}

export function trainRcf(opts: {
  data: RcfTrainingData;
  hyperparameters?: Record<string, string | number | undefined>;
  modelPath?: string;
  recordDefinition?: RecordDefinitionRef;
  source?: string;
  onProgress?: (done: number, total: number) => void;
  log?: (line: string) => void;
}): RcfTrainResult {
  const hp = parseHyperparameters(opts.hyperparameters ?? {});
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const { data } = opts;
  const m = data.matrix;
  if (m.n === 0) throw new TrainingError('no training records');
  if (hp.feature_dim !== undefined && hp.feature_dim !== m.dim) {
    throw new TrainingError(`feature_dim is ${hp.feature_dim} but the training records have ${m.dim} features (${m.source})`);
  }
  if (data.test && data.test.dim !== m.dim) throw new TrainingError(`the test channel has ${data.test.dim} features, the training channel ${m.dim} (${data.test.source})`);
  const t0 = performance.now();
  opts.onProgress?.(0, m.n);
  const rows = scaledRows(data);
  // Lake windows come in time order, and the monitor keeps learning: AWS's recency default. CSV: SageMaker's uniform sample.
  const timeDecay = hp.time_decay ?? (data.features ? 1 / (10 * hp.num_samples_per_tree) : 0);
  const forest = trainBatch(rows, m.n, m.dim, { numTrees: hp.num_trees, sampleSize: hp.num_samples_per_tree, seed: hp.seed, timeDecay });
  // Score statistics on (a sample of) the training rows.
  const step = Math.max(1, Math.ceil(m.n / MAX_STAT_ROWS));
  const k = Math.ceil(m.n / step);
  const sample = new Float64Array(k * m.dim);
  for (let i = 0, j = 0; i < m.n; i += step, j++) sample.set(rows.subarray(i * m.dim, (i + 1) * m.dim), j * m.dim);
  const scores = forest.scoreRows(sample, k);
  const { mean, std } = meanStd(scores);
  const threshold = mean + hp.z_factor * std;
  opts.onProgress?.(m.n, m.n);
  let test: TestMetrics | undefined;
  if (data.test) {
    const t = data.test;
    const tr: RcfTrainingData = { matrix: t, ...(data.scaler ? { scaler: data.scaler } : {}) };
    const testScores = forest.scoreRows(scaledRows(tr), t.n);
    test = testMetrics(testScores, t.labels ?? new Float64Array(t.n), threshold, hp.eval_metrics.split(','));
  }
  const seconds = (performance.now() - t0) / 1000;
  const mem = forest.memoryBytes();
  const sorted = Float64Array.from(scores).sort();
  let above = 0;
  for (const s of scores) if (s > threshold) above++;
  const calibration: Calibration = {
    version: CALIBRATION_VERSION,
    created_at: new Date().toISOString(),
    direction: 'higher_is_anomalous',
    score_name: 'score',
    threshold,
    rule: { kind: 'three_sigma', z_factor: hp.z_factor },
    fpr: scores.length ? above / scores.length : null,
    recall: null,
    precision: null,
    auc: null,
    average_precision: null,
    n_normal: scores.length,
    n_abnormal: 0,
    abnormal_source: `none: training scores, mean + ${hp.z_factor} x std (run \`seclake calibrate\` to measure on held-out traffic)`,
    normal_quantiles: quantiles(sorted, 101),
    thresholds_at_fpr: [0.001, 0.01, 0.05].map((f) => ({
      target_fpr: f,
      threshold: sorted[Math.min(sorted.length - 1, Math.floor((1 - f) * sorted.length))]!,
      fpr: f,
      recall: null,
      precision: null,
    })),
  };
  const params: RcfParams = {
    feature_dim: m.dim,
    feature_names: m.names,
    features: data.features ?? null,
    scaled: data.scaler !== undefined,
    score_stats: { mean, std, n: scores.length, threshold },
    memory: { total: mem.total, per_tree: mem.perTree },
  };
  const entities = data.entities ? new Set(data.entities).size : 0;
  const training: RcfTrainingMetadata = {
    rows: m.n,
    distinct_entities: entities,
    data_time_range: data.timeRange ? { start: new Date(data.timeRange.start).toISOString(), end: new Date(data.timeRange.end).toISOString() } : null,
    source: opts.source ?? m.source,
    trained_at: new Date().toISOString(),
    training_seconds: seconds,
    seclake_version: seclakeVersion(),
    ...(test ? { test } : {}),
  };
  const sections = rcfSections(forest, data.scaler);
  const input = {
    detector: { type: RCF_TYPE, version: RCF_VERSION },
    record_definition: opts.recordDefinition ?? (data.features ? { kind: 'features', name: data.features.sets.join('+') } : null),
    hyperparameters: hp,
    params,
    training,
    calibration: calibration as unknown as Record<string, unknown>,
    extras: {},
  };
  const header = opts.modelPath ? writeModelFile(opts.modelPath, input, sections) : modelHeaderFor(input, sections);
  const testLine = test
    ? `; test: ${test.n} records, ${test.positives} anomalies${test.accuracy !== undefined ? `, accuracy ${test.accuracy.toFixed(4)}` : ''}` +
      (test.precision_recall_fscore ? `, precision ${fmt(test.precision_recall_fscore.positive.precision)} recall ${fmt(test.precision_recall_fscore.positive.recall)} f1 ${fmt(test.precision_recall_fscore.positive.f1)}` : '')
    : '';
  log(
    `#rcf: ${m.n} records x ${m.dim} features, ${hp.num_trees} trees x ${hp.num_samples_per_tree} samples, ` +
      `training scores mean ${mean.toFixed(3)} std ${std.toFixed(3)} -> threshold ${threshold.toFixed(3)} (${(100 * above / Math.max(1, scores.length)).toFixed(2)}% of training records above)` +
      `${testLine}; ${(mem.total / 1048576).toFixed(1)} MiB (${(mem.perTree / 1024).toFixed(1)} KiB/tree), ${seconds.toFixed(2)} s`,
  );
  if (test?.accuracy !== undefined) log(`#test_score (algo-1) : ('accuracy', ${test.accuracy})`);
  if (test?.precision_recall_fscore) {
    const p = test.precision_recall_fscore.positive;
    log(`#test_score (algo-1) : ('precision_recall_fscore', [(${p.precision ?? 0}, ${p.recall ?? 0}, ${p.f1 ?? 0})])`);
  }
  return { forest, header, sections, hyperparameters: hp, seconds };
}

function fmt(x: number | null): string {
  return x === null ? 'n/a' : x.toFixed(4);
}
