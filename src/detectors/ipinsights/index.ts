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
import { ParseError } from '../../core/errors.js';
import { entityFingerprint, entityRow } from './hash.js';
import { parseIpInto, type IpFamily } from './ip.js';
import { loadModelFile, type ModelHeader } from './model-file.js';
import { dot, encodeRows, findFingerprint, ipRows, rowsPerIp, type Weights } from './model.js';
import type { Pair, ScoreResult } from './wire.js';

export type { ModelHeader, TrainingMetadata, MetadataPatch, SectionInfo } from './model-file.js';
export { readModelHeader, updateModelMetadata, MODEL_FORMAT_VERSION, MODEL_MAGIC } from './model-file.js';
export type { Pair, ScoreResult, ResponseType } from './wire.js';
export { parseCsvPairs, formatPredictions } from './wire.js';
export type { Hyperparameters, HyperparameterInput } from './config.js';
export { parseHyperparameters, hyperparametersSchema, SAGEMAKER_HYPERPARAMETERS } from './config.js';

export interface ScoreOptions {
  /** Add entity_embedding and ip_embedding (SageMaker's verbose=True). */
  verbose?: boolean;
  /** Name used in ParseError messages for bad records (default "request"). */
  source?: string;
}

export interface EntityInfo {
  /** Seen in training. */
  known: boolean;
  /** Training rows with this entity (0 when unknown). */
  count: number;
}

/** A loaded model: immutable, safe to share between concurrent requests. */
export class IpInsightsModel {
  readonly path: string;
  readonly header: ModelHeader;
  readonly weights: Weights;
  private readonly k: number;
  private readonly words = new Uint32Array(4);
  private readonly rows: Uint32Array;
  private readonly ipVec: Float32Array;
  private readonly tmp: Float32Array;

  constructor(path: string, header: ModelHeader, weights: Weights) {
    this.path = path;
    this.header = header;
    this.weights = weights;
    this.k = rowsPerIp(header.encoder);
    this.rows = new Uint32Array(this.k);
    this.ipVec = new Float32Array(weights.dim);
    this.tmp = new Float32Array(weights.dim);
  }

  /** Load a model file; throws ModelFileError naming the file (bad magic, newer format, corrupt). */
  static async load(path: string): Promise<IpInsightsModel> {
    const { header, weights } = loadModelFile(path);
    return new IpInsightsModel(path, header, weights);
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
    const verbose = opts.verbose === true;
    const w = this.weights;
    const d = w.dim;
    const k = this.k;
    const spec = this.header.encoder;
    const words = this.words;
    const rows = this.rows;
    const ipVec = this.ipVec;
    const tmp = this.tmp;
    const E = w.entity;
    const out: ScoreResult[] = new Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const p = pairs[i]!;
      let fam = parseIpInto(p.ip, words);
      if (fam === 0 && typeof p.ip === 'string') fam = parseIpInto(p.ip.trim(), words);
      if (fam === 0) {
        throw new ParseError(`invalid IP address ${JSON.stringify(String(p.ip).slice(0, 80))}`, { file: opts.source ?? 'request', line: i + 1, field: 'ip' });
      }
      ipRows(spec, fam as IpFamily, words, rows, 0);
      encodeRows(w, rows, 0, k, ipVec, tmp);
      const known = findFingerprint(w.knownFp, entityFingerprint(p.entity)) >= 0;
      let vec: Float32Array;
      let off: number;
      if (known) {
        vec = E;
        off = entityRow(p.entity, w.numEntityVectors) * d;
      } else {
        vec = w.population;
        off = 0;
      }
      const s = dot(vec, off, ipVec, 0, d);
      if (verbose) {
        out[i] = {
          dot_product: s,
          ip_embedding: Array.from(ipVec),
          entity_embedding: Array.from(vec.subarray(off, off + d)),
          entity_known: known,
        };
      } else {
        out[i] = { dot_product: s, entity_known: known };
      }
    }
    return out;
  }
}
