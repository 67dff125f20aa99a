/**
 * IP Insights detector: learns which IP addresses each entity normally uses and scores (entity, IP)
 * pairs like Amazon SageMaker's IP Insights (`dot_product`, larger = more normal).
 *
 * Public API (the inference server and the CLI build on it):
 * - IpInsightsModel.load(path) -> immutable model; scorePairs(pairs, { verbose }) -> ScoreResult[]
 * - wire.ts: parseCsvPairs / formatPredictions (SageMaker request/response bodies)
 * - model-file.ts: readModelHeader, updateModelMetadata (calibration/extras slots)
 * - train.ts: trainIpInsights (worker-thread Hogwild training)
 */
import { annotate, readCalibration, type Calibration } from '../calibration.js';
import { ParseError } from '../../core/errors.js';
import { packModelData, readModelFile, type ModelData, type ModelHeader as ContainerHeader } from '../model-file.js';
import type { BatchScores, PairsDetectorDefinition, DetectorModel, EntityInfo, Explanation, PairRecord, WireFormat } from '../types.js';
import { entityFingerprint, entityRow, findFingerprint } from '../pairs/hash.js';
import { parseIpInto, type IpFamily } from '../pairs/ip.js';
import { IPINSIGHTS_TYPE, IPINSIGHTS_VERSION, ipInsightsFromData, ipInsightsSections, type ModelHeader } from './model-file.js';
import { dot, encodeRows, ipRows, rowsPerIp, touchRows, type Weights } from './model.js';
import { formatPredictions, type Pair, type ScoreResult } from './wire.js';
import { ModelEntityHistory, type HistoryData } from './history.js';
import { parseHyperparameters, hyperparametersSchema } from './config.js';
import { trainIpInsights } from './train.js';
import type { PairData } from '../pairs/data.js';
import { hyperparameterDocs } from '../hyperparameters.js';
import { jsonResponseType } from '../wire.js';

export type { ModelHeader, TrainingMetadata, MetadataPatch, SectionInfo } from './model-file.js';
export { readModelHeader, updateModelMetadata, MODEL_FORMAT_VERSION, MODEL_MAGIC, IPINSIGHTS_TYPE } from './model-file.js';
export type { Pair, ScoreResult, ResponseType } from './wire.js';
export { formatPredictions } from './wire.js';
export type { Hyperparameters, HyperparameterInput } from './config.js';
export { parseHyperparameters, hyperparametersSchema, SAGEMAKER_HYPERPARAMETERS } from './config.js';
export type { TrainOptions, TrainResult, EpochStats } from './train.js';
export { trainIpInsights } from './train.js';
export type { HistoryData } from './history.js';
export { ModelEntityHistory, buildHistory, HISTORY_PER_ENTITY } from './history.js';

/** How many pairs ahead scorePairs touches prefix rows (measured: 1.6x on a 512 MiB table, random IPs). */
const PREFETCH = 4;

export interface ScoreOptions {
  /** Add entity_embedding and ip_embedding (SageMaker's verbose=True). */
  verbose?: boolean;
  /** Name used in ParseError messages for bad records (default "request"). */
  source?: string;
}

export type { EntityInfo } from '../types.js';

/** A loaded model: immutable, safe to share between concurrent requests. */
export class IpInsightsModel implements DetectorModel<ScoreResult & Record<string, unknown>> {
  readonly detector: PairsDetectorDefinition = ipinsights;
  readonly path: string;
  readonly header: ModelHeader;
  readonly weights: Weights;
  private packed: ModelData | undefined;
  private readonly historyData: HistoryData | undefined;
  private readonly k: number;
  private readonly words = new Uint32Array(4);
  private rows: Uint32Array;
  private eOff = new Int32Array(0);
  /** Keeps the prefetch loads of scorePairs observable (otherwise they could be optimised away). */
  prefetchSink = 0;
  private readonly ipVec: Float32Array;
  private readonly tmp: Float32Array;
  /** The stored calibration (threshold and normal-score quantiles), if `seclake calibrate` has run on this model. */
  readonly calibration: Calibration | undefined;

  /** Throws CalibrationError naming the file when the header's calibration is malformed. */
  private readonly entityHistory: ModelEntityHistory;

  constructor(path: string, header: ModelHeader, weights: Weights, history?: HistoryData, data?: ModelData) {
    this.path = path;
    this.historyData = history;
    this.packed = data;
    this.entityHistory = new ModelEntityHistory(history);
    this.header = header;
    this.weights = weights;
    this.calibration = readCalibration(header, path);
    this.k = rowsPerIp(header.params.encoder);
    this.rows = new Uint32Array(this.k * 1024);
    this.ipVec = new Float32Array(weights.dim);
    this.tmp = new Float32Array(weights.dim);
  }

  /** Load a model file; throws ModelFileError naming the file (bad magic, newer format, corrupt, another detector). */
  static async load(path: string): Promise<IpInsightsModel> {
    return IpInsightsModel.fromData(readModelFile(path));
  }

  /** The model over a loaded container (its arrays are views of the container's data, shared or not). */
  static fromData(md: ModelData): IpInsightsModel {
    const { header, weights, history } = ipInsightsFromData(md);
    return new IpInsightsModel(md.file, header, weights, history, md);
  }

  /** The container (header and data); a model built from arrays packs them once. */
  get data(): ModelData {
    this.packed ??= packModelData(this.path, this.header as unknown as ContainerHeader, ipInsightsSections(this.weights, this.historyData));
    return this.packed;
  }

  /**
   * Training addresses per entity, for explanations (size, nearest training address by longest common prefix).
   * Models written before the history sections existed give size 0 and no nearest address.
   */
  history(): ModelEntityHistory {
    return this.entityHistory;
  }

  /** Native scores (dot_product) and known flags; an address that does not parse gets NaN (never throws). */
  scoreBatch(records: readonly PairRecord[]): BatchScores {
    const n = records.length;
    const out: BatchScores = { native: new Float64Array(n), known: new Uint8Array(n) };
    this.run(records, false, undefined, out);
    return out;
  }

  /** The endpoint's predictions: scorePairs. */
  predict(records: readonly PairRecord[], opts: ScoreOptions = {}): (ScoreResult & Record<string, unknown>)[] {
    return this.scorePairs(records, opts) as (ScoreResult & Record<string, unknown>)[];
  }

  /** The explanation's facts beyond the entity's address history (which findings read through history()). */
  explain(record: PairRecord, native: number): Explanation {
    const info = this.entityInfo(record.entity);
    return { reason: '', details: { dot_product: native, entity_training_rows: info.count } };
  }

  get vectorDim(): number {
    return this.weights.dim;
  }

  /** Whether an entity was seen in training, and how often. */
  entityInfo(entity: string): EntityInfo {
    const i = findFingerprint(this.weights.knownFp, entityFingerprint(entity));
    return i < 0 ? { known: false, count: 0 } : { known: true, count: this.weights.knownCount[i]! };
  }

  /**
   * Score pairs. `dot_product` is the float64 sum of the float32 products entity_embedding[i] *
   * ip_embedding[i] (in index order), so it equals the dot product of the verbose arrays exactly.
   * Entities never seen in training are scored with the population vector and get entity_known=false.
   * An invalid IP throws a ParseError naming the 1-based record.
   */
  scorePairs(pairs: readonly Pair[], opts: ScoreOptions = {}): ScoreResult[] {
    return this.run(pairs, true, opts, undefined)!;
  }

  /**
   * The scoring loop. With `throwOnBad`, an invalid IP throws a ParseError naming the 1-based record; otherwise it
   * gets NaN. Results go to `into` (typed arrays) when given, else to ScoreResult objects.
   */
  private run(pairs: readonly Pair[], throwOnBad: boolean, opts: ScoreOptions | undefined, into: BatchScores | undefined): ScoreResult[] | undefined {
    const verbose = opts?.verbose === true;
    const w = this.weights;
    const d = w.dim;
    const k = this.k;
    const spec = this.header.params.encoder;
    const words = this.words;
    const ipVec = this.ipVec;
    const tmp = this.tmp;
    const E = w.entity;
    const n = pairs.length;
    // Pass 1: parse, hash, look up the entity. Pass 2: encode and score, touching the rows of the address
    // PREFETCH pairs ahead so their cache misses overlap.
    const rows = this.rows.length >= n * k ? this.rows : (this.rows = new Uint32Array(Math.max(n, 1024) * k));
    const eOff = this.eOff.length >= n ? this.eOff : (this.eOff = new Int32Array(Math.max(n, 1024)));
    for (let i = 0; i < n; i++) {
      const p = pairs[i]!;
      let fam = parseIpInto(p.ip, words);
      if (fam === 0 && typeof p.ip === 'string') fam = parseIpInto(p.ip.trim(), words);
      if (fam === 0) {
        if (throwOnBad) throw new ParseError(`invalid IP address ${JSON.stringify(String(p.ip).slice(0, 80))}`, { file: opts?.source ?? 'request', line: i + 1, field: 'ip' });
        eOff[i] = -2;
        // Any valid rows keep pass 2 simple; the result is discarded.
        rows.fill(0, i * k, i * k + k);
        continue;
      }
      ipRows(spec, fam as IpFamily, words, rows, i * k);
      const known = findFingerprint(w.knownFp, entityFingerprint(p.entity)) >= 0;
      eOff[i] = known ? entityRow(p.entity, w.numEntityVectors) * d : -1;
    }
    const out: ScoreResult[] | undefined = into ? undefined : new Array(n);
    const cal = this.calibration;
    const P = w.ip;
    let sink = 0;
    for (let i = 0; i < n; i++) {
      if (i + PREFETCH < n) sink += touchRows(P, rows, (i + PREFETCH) * k, k, d);
      const off = eOff[i]!;
      if (off === -2) {
        into!.native[i] = Number.NaN;
        into!.known[i] = 0;
        continue;
      }
      encodeRows(w, rows, i * k, k, ipVec, tmp);
      const known = off >= 0;
      const vec = known ? E : w.population;
      const o = known ? off : 0;
      const s = dot(vec, o, ipVec, 0, d);
      if (into) {
        into.native[i] = s;
        into.known[i] = known ? 1 : 0;
      } else if (verbose) {
        const r: ScoreResult = { dot_product: s, ip_embedding: Array.from(ipVec), entity_embedding: Array.from(vec.subarray(o, o + d)), entity_known: known };
        if (cal) {
          const a = annotate(r, cal);
          r.anomaly_percentile = a.anomaly_percentile;
          r.is_anomaly = a.is_anomaly;
        }
        out![i] = r;
      } else {
        out![i] = { dot_product: s, entity_known: known };
      }
    }
    this.prefetchSink = sink;
    return out;
  }
}

const wire: WireFormat = {
  formatPredictions: (results, accept, verbose) => formatPredictions(results as unknown as ScoreResult[], jsonResponseType(accept), verbose),
};

/** IP Insights as a detector of the platform. */
export const ipinsights: PairsDetectorDefinition = {
  type: IPINSIGHTS_TYPE,
  version: IPINSIGHTS_VERSION,
  title: 'IP Insights',
  description: 'learns which IP addresses each entity normally uses (hashed entity embeddings, prefix IP encoder); SageMaker IP Insights compatible',
  records: 'pairs',
  score: { name: 'dot_product', direction: 'lower_is_anomalous', default_threshold: 0 },
  finding: { type: 'Anomalous Entity-IP Pair' },
  hyperparameters: hyperparameterDocs(hyperparametersSchema.shape, parseHyperparameters({}) as unknown as Record<string, unknown>),
  parseHyperparameters: (input) => parseHyperparameters(input) as unknown as Record<string, unknown>,
  async train(opts) {
    const res = await trainIpInsights({
      train: opts.train as PairData,
      ...(opts.validation ? { validation: opts.validation as PairData } : {}),
      ...(opts.hyperparameters ? { hyperparameters: opts.hyperparameters } : {}),
      ...(opts.modelPath ? { modelPath: opts.modelPath } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.source ? { source: opts.source } : {}),
      ...(opts.recordDefinition ? { recordDefinition: opts.recordDefinition } : {}),
    });
    const model = new IpInsightsModel(opts.modelPath ?? '', res.header, res.weights, res.history);
    const t = res.header.training;
    const summary = {
      rows: t.rows,
      bad_rows: t.bad_rows,
      distinct_entities: t.distinct_entities,
      ipv6_rows: t.ipv6_rows,
      epochs: t.epochs,
      final_loss: t.final_loss,
      final_accuracy: t.final_accuracy,
      validation_auc: t.validation_auc,
      threads: t.threads,
      seed: t.seed,
      seconds: t.training_seconds,
      records_per_second: t.records_per_second,
      data_time_range: t.data_time_range,
      hyperparameters: res.hyperparameters,
      bad_row_examples: res.bad.examples,
    };
    const message =
      `${t.rows.toLocaleString('en-US')} pairs, ${t.distinct_entities.toLocaleString('en-US')} entities, ` +
      `${t.epochs} epochs in ${t.training_seconds.toFixed(1)} s (${Math.round(t.records_per_second).toLocaleString('en-US')} records/s, ${t.threads} threads); ` +
      `final loss ${t.final_loss.toFixed(4)}` +
      (t.validation_auc !== null ? `, validation AUC ${t.validation_auc.toFixed(4)}` : '') +
      (t.bad_rows > 0 ? `; ${t.bad_rows} malformed rows skipped` : '');
    return { model, summary, message };
  },
  load: (md) => IpInsightsModel.fromData(md),
  wire,
};
