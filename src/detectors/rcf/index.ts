/**
 * Random Cut Forest as a detector of the platform (records: `features`): SageMaker RCF's hyperparameters, request and
 * response formats, over the streaming forest in forest/ and, for models trained from the lake, the per-entity
 * behaviour features in features/. The native score is the forest's anomaly score (expected inverse depth: about 1 for
 * ordinary records, up to log2(num_samples_per_tree + 1) for isolated ones), higher is anomalous.
 */
import { ParseError } from '../../core/errors.js';
import { readCalibration, type Calibration } from '../calibration.js';
import { hyperparameterDocs } from '../hyperparameters.js';
import { packModelData, writeModelFile, type ModelData, type ModelHeader } from '../model-file.js';
import type { BatchScores, DetectorModel, EntityInfo, Explanation, FeatureRecord, FeaturesDetectorDefinition, LakeBehaviour, WireFormat } from '../types.js';
import { rcfBehaviour } from './behaviour.js';
import { hyperparametersSchema, parseHyperparameters, type Hyperparameters } from './config.js';
import { RandomCutForest } from './forest/forest.js';
import { FeatureScaler } from './features/scaler.js';
import { explainFeature } from './features/format.js';
import { RCF_TYPE, RCF_VERSION, rcfSections, trainRcf, type RcfParams, type RcfTrainingData, type RcfTrainingMetadata } from './train.js';
import { formatScores, RESPONSE_TYPES, type RcfPrediction } from './wire.js';

export type RcfHeader = ModelHeader<Hyperparameters, RcfParams, RcfTrainingMetadata>;

/** A loaded RCF model: immutable (scoring does not update the forest), safe to share between requests. */
export class RcfModel implements DetectorModel<RcfPrediction, FeatureRecord> {
  readonly detector: FeaturesDetectorDefinition = rcf;
  readonly path: string;
  readonly header: RcfHeader;
  readonly calibration: Calibration | undefined;
  readonly forest: RandomCutForest;
  readonly scaler: FeatureScaler | undefined;
  readonly dim: number;
  private packed: ModelData | undefined;
  private readonly row: Float64Array;

  constructor(path: string, header: RcfHeader, forest: RandomCutForest, scaler: FeatureScaler | undefined, data?: ModelData) {
    this.path = path;
    this.header = header;
    this.forest = forest;
    this.scaler = scaler;
    this.dim = header.params.feature_dim;
    this.packed = data;
    this.calibration = readCalibration(header, path || 'model header');
    this.row = new Float64Array(this.dim);
  }

  static fromData(md: ModelData): RcfModel {
    const header = md.header as unknown as RcfHeader;
    const forest = RandomCutForest.fromState(md.u8('forest'));
    const scaler = header.params.scaled ? FeatureScaler.fromState(md.u8('scaler'), `${md.file}: feature scaler`) : undefined;
    return new RcfModel(md.file, header, forest, scaler, md);
  }

  get data(): ModelData {
    if (!this.packed) {
      this.packed = packModelData(this.path, this.header as unknown as ModelHeader, rcfSections(this.forest, this.scaler));
    }
    return this.packed;
  }

  /** The point the forest sees for a record (scaled when the model scales); false when the record has the wrong size. */
  private point(r: FeatureRecord): { known: boolean } | undefined {
    const v = r.values;
    if (!v || v.length !== this.dim) return undefined;
    for (let i = 0; i < this.dim; i++) if (!Number.isFinite(v[i]!)) return undefined;
    if (this.scaler) {
      this.scaler.transformRow(v, r.entity, r.group, this.row);
      return { known: this.scaler.levelOf(r.entity, r.group).level === 'entity' };
    }
    for (let i = 0; i < this.dim; i++) this.row[i] = v[i]!;
    return { known: true };
  }

  scoreBatch(records: readonly FeatureRecord[]): BatchScores {
    const native = new Float64Array(records.length);
    const known = new Uint8Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const p = this.point(records[i]!);
      if (!p) {
        native[i] = Number.NaN;
        continue;
      }
      native[i] = this.forest.scorePoint(this.row);
      known[i] = p.known ? 1 : 0;
    }
    return { native, known };
  }

  predict(records: readonly FeatureRecord[], opts: { verbose?: boolean; source?: string } = {}): RcfPrediction[] {
    const out: RcfPrediction[] = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const p = this.point(r);
      if (!p) {
        const n = r.values?.length ?? 0;
        const msg = n !== this.dim ? `expected ${this.dim} features (the model's feature_dim), got ${n}` : 'features must be finite numbers';
        throw new ParseError(msg, { file: opts.source ?? '(request)', line: i + 1 });
      }
      if (opts.verbose) {
        const a = this.forest.attributionPoint(this.row);
        out.push({ score: a.score, attribution: { high: a.high, low: a.low }, ...(this.scaler ? { entity_known: p.known } : {}) });
      } else {
        out.push({ score: this.forest.scorePoint(this.row), ...(this.scaler ? { entity_known: p.known } : {}) });
      }
    }
    return out;
  }

  entityInfo(entity: string): EntityInfo {
    if (!this.scaler) return { known: false, count: 0 };
    const l = this.scaler.levelOf(entity);
    return l.level === 'entity' ? { known: true, count: l.windows } : { known: false, count: 0 };
  }

  /**
   * The features that drove the score: the attribution's largest shares, each with its direction, the observed
   * value and (for per-entity models) the entity's usual value: "bytes_out 2.1e9 (usually 4.0e7; high): 81% of the score".
   */
  explain(record: FeatureRecord, native: number): Explanation {
    if (!this.point(record)) return { reason: '', details: {} };
    const a = this.forest.attributionPoint(this.row);
    const total = a.score > 0 ? a.score : 1;
    const names = this.header.params.feature_names;
    const contrib = names.map((name, j) => ({ name, j, high: a.high[j]!, low: a.low[j]!, share: (a.high[j]! + a.low[j]!) / total }));
    contrib.sort((x, y) => y.share - x.share);
    const top = contrib.filter((c, i) => i === 0 || c.share >= 0.1).slice(0, 3);
    const windowMs = this.header.params.features?.window_ms;
    const parts = top.map((c) => {
      const observed = record.values[c.j]!;
      const u = this.scaler?.describe(record.entity, c.j, record.group);
      const dir = c.high >= c.low ? 'high' : 'low';
      const text =
        this.scaler && windowMs !== undefined
          ? explainFeature(this.scaler, c.j, observed, record.entity, windowMs, record.group)
          : `${c.name} ${fmtValue(observed)}`;
      return { feature: c.name, direction: dir, observed, ...(u ? { usual: u.usual, usual_low: u.low, usual_high: u.high, usual_from: u.level } : {}), share: c.share, text };
    });
    const reason = parts.map((p) => `${p.text}${this.scaler ? '' : `, ${p.direction}`}: ${Math.round(p.share * 100)}% of the score`).join('; ');
    return { reason, details: { score: native, features: parts } };
  }

  history(): undefined {
    return undefined;
  }

  /** The lake behaviour (windows as they close, a streaming copy) of a model trained with `--lake`; else undefined. */
  behaviour(): LakeBehaviour | undefined {
    const features = this.header.params.features;
    if (!features) return undefined;
    return rcfBehaviour({
      path: this.path,
      dim: this.dim,
      forest: this.forest,
      scaler: this.scaler,
      features,
      withForest: (forest) => new RcfModel(this.path, this.header, forest, this.scaler),
      saveWithForest: (file, forest, closedThrough) => {
        const { sections: _s, data_crc32: _c, format: _f, format_version: _v, ...rest } = this.header;
        const h = this.header;
        const learnt = `; then learnt the windows up to ${new Date(closedThrough).toISOString()} (score-then-update)`;
        writeModelFile(
          file,
          {
            ...rest,
            params: { ...h.params, features: { ...features, closed_through: closedThrough } },
            training: { ...h.training, source: `${h.training.source.replace(/; then learnt the windows up to \S+ \(score-then-update\)$/, '')}${learnt}` },
          },
          rcfSections(forest, this.scaler),
        );
      },
    });
  }
}

function fmtValue(x: number): string {
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return x.toExponential(2);
  return Number.isInteger(x) ? String(x) : x.toFixed(a >= 100 ? 0 : a >= 1 ? 2 : 3);
}

const wire: WireFormat = {
  formatPredictions: (results, accept, verbose) => formatScores(results as unknown as RcfPrediction[], accept, verbose),
  responseTypes: RESPONSE_TYPES,
};

/** Random Cut Forest as a detector of the platform. */
export const rcf: FeaturesDetectorDefinition = {
  type: RCF_TYPE,
  version: RCF_VERSION,
  title: 'Random Cut Forest',
  description: 'scores how easily a feature vector (an entity\'s behaviour in a time window) is isolated by random cuts (SageMaker RCF)',
  records: 'features',
  // A forest trained on 256-point samples scores ordinary points about 1 and isolated ones up to ~8; models store their
  // own mean + 3 std of the training scores as their calibration, so this default only applies to a model without one.
  score: { name: 'score', direction: 'higher_is_anomalous', default_threshold: 3 },
  finding: { type: 'Anomalous Behaviour' },
  hyperparameters: hyperparameterDocs(hyperparametersSchema.shape, parseHyperparameters({}) as unknown as Record<string, unknown>),
  parseHyperparameters: (input) => parseHyperparameters(input) as unknown as Record<string, unknown>,
  async train(opts) {
    const res = trainRcf({
      data: opts.train as RcfTrainingData,
      ...(opts.hyperparameters ? { hyperparameters: opts.hyperparameters } : {}),
      ...(opts.modelPath ? { modelPath: opts.modelPath } : {}),
      ...(opts.recordDefinition ? { recordDefinition: opts.recordDefinition } : {}),
      ...(opts.source ? { source: opts.source } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
    const data = opts.train as RcfTrainingData;
    const model = new RcfModel(opts.modelPath ?? '', res.header as unknown as RcfHeader, res.forest, data.scaler);
    const t = res.header.training;
    return {
      model,
      summary: { ...t, hyperparameters: res.hyperparameters, score_stats: res.header.params.score_stats, memory: res.header.params.memory },
      message: `${t.rows.toLocaleString('en-US')} records x ${res.header.params.feature_dim} features, ${res.hyperparameters.num_trees} trees in ${t.training_seconds.toFixed(1)} s; threshold ${res.header.params.score_stats.threshold.toFixed(3)} (training mean + ${res.hyperparameters.z_factor} std)`,
    };
  },
  load: (md) => RcfModel.fromData(md),
  wire,
};
