/**
 * IP Insights in the model file container (../model-file.ts): the sections it writes and reads.
 *
 *   entity            float32 [num_entity_vectors, vector_dim]
 *   ip                float32 [num_ip_vectors, vector_dim]     prefix rows (see model.ts)
 *   layer<k>.weight   float32 [d, d]  (dense layers only); layer<k>.bias float32 [d]
 *   population        float32 [d]     the vector unknown entities are scored with
 *   known.fingerprint float64 [m]     sorted fingerprints of the training entities; known.count uint32 [m]
 *   history.*                         optional: per-entity training addresses for explanations (history.ts)
 *
 * The header's `params.encoder` is the encoder spec; `detector` is { type: "ipinsights", version: 1 }. Files written
 * before the detector platform ("SECLAKE-IPI", encoder at the top of the header) load through the container's legacy
 * path unchanged.
 */
import { ModelFileError } from '../../core/errors.js';
import {
  modelHeaderFor,
  readModelFile,
  writeModelFile,
  type BaseTrainingMetadata,
  type ModelData,
  type ModelHeader as ContainerHeader,
  type RecordDefinitionRef,
  type Section,
} from '../model-file.js';
import type { Hyperparameters } from './config.js';
import type { EncoderSpec, Layer, Weights } from './model.js';
import type { HistoryData } from './history.js';

export { readModelHeader, updateModelMetadata, MODEL_FORMAT_VERSION, MODEL_MAGIC } from '../model-file.js';
export type { MetadataPatch, SectionInfo } from '../model-file.js';

/** The detector type and the version of its sections' layout. */
export const IPINSIGHTS_TYPE = 'ipinsights';
export const IPINSIGHTS_VERSION = 1;

export interface TrainingMetadata extends BaseTrainingMetadata {
  /** Valid training rows (positive pairs) used. */
  rows: number;
  /** Rows skipped as malformed. */
  bad_rows: number;
  distinct_entities: number;
  ipv6_rows: number;
  epochs: number;
  /** Mean binary cross-entropy over the last epoch (positives + negatives). */
  final_loss: number;
  final_accuracy: number;
  /** validation:discriminator_auc of the last epoch, null without a validation set. */
  validation_auc: number | null;
  validation_rows: number;
  seed: number;
  threads: number;
  /** Earliest and latest event time of the training data (ISO 8601), when the source has times. */
  data_time_range: { start: string; end: string } | null;
  /** Where the pairs came from (file names or "lake:<dir>"). */
  source: string;
  trained_at: string;
  training_seconds: number;
  /** Training records (positives + negatives) per second, as SageMaker counts them. */
  records_per_second: number;
  seclake_version: string;
  /** Per-epoch statistics (the training curve); absent in models trained before it was recorded. */
  epoch_history?: { epoch: number; loss: number; accuracy: number; validation_auc: number | null; seconds: number }[];
}

export type ModelHeader = ContainerHeader<Hyperparameters, { encoder: EncoderSpec }, TrainingMetadata>;

/** The header fields a caller provides (the container computes the rest). */
export interface IpInsightsHeaderInput {
  hyperparameters: Hyperparameters;
  encoder: EncoderSpec;
  training: TrainingMetadata;
  record_definition?: RecordDefinitionRef | null;
  calibration?: Record<string, unknown> | null;
  extras?: Record<string, unknown>;
}

/** The optional entity-history sections (history.ts); old files have none and old readers ignore them. */
function historySections(h: HistoryData): Section[] {
  const m = h.fp.length;
  return [
    { name: 'history.fingerprint', dtype: 'float64', shape: [m], data: h.fp },
    { name: 'history.size', dtype: 'uint32', shape: [m], data: h.size },
    { name: 'history.offset', dtype: 'uint32', shape: [m + 1], data: h.offset },
    { name: 'history.addr', dtype: 'uint32', shape: [h.addr.length / 4, 4], data: h.addr },
  ];
}

function weightSections(w: Weights): Section[] {
  const d = w.dim;
  const out: Section[] = [
    { name: 'entity', dtype: 'float32', shape: [w.numEntityVectors, d], data: w.entity },
    { name: 'ip', dtype: 'float32', shape: [w.ip.length / d, d], data: w.ip },
  ];
  w.layers.forEach((layer, k) => {
    if (layer.weight) out.push({ name: `layer${k}.weight`, dtype: 'float32', shape: [d, d], data: layer.weight });
    out.push({ name: `layer${k}.bias`, dtype: 'float32', shape: [d], data: layer.bias });
  });
  out.push({ name: 'population', dtype: 'float32', shape: [d], data: w.population });
  out.push({ name: 'known.fingerprint', dtype: 'float64', shape: [w.knownFp.length], data: w.knownFp });
  out.push({ name: 'known.count', dtype: 'uint32', shape: [w.knownCount.length], data: w.knownCount });
  return out;
}

function containerInput(h: IpInsightsHeaderInput) {
  return {
    detector: { type: IPINSIGHTS_TYPE, version: IPINSIGHTS_VERSION },
    record_definition: h.record_definition ?? null,
    hyperparameters: h.hyperparameters,
    params: { encoder: h.encoder },
    training: h.training,
    calibration: h.calibration ?? null,
    extras: h.extras ?? {},
  };
}

/** The sections of a model's arrays, in file order. */
export function ipInsightsSections(weights: Weights, history?: HistoryData): Section[] {
  const secs = weightSections(weights);
  if (history) secs.push(...historySections(history));
  return secs;
}

/** Write an IP Insights model file atomically (see ../model-file.ts). */
export function saveModel(file: string, header: IpInsightsHeaderInput, weights: Weights, history?: HistoryData): ModelHeader {
  const secs = weightSections(weights);
  if (history) secs.push(...historySections(history));
  return writeModelFile(file, containerInput(header), secs);
}

/** The header an in-memory model gets (no file written). */
export function memoryHeader(header: IpInsightsHeaderInput, weights: Weights, history?: HistoryData): ModelHeader {
  const secs = weightSections(weights);
  if (history) secs.push(...historySections(history));
  return modelHeaderFor(containerInput(header), secs);
}

/** Weights and history from a loaded container; ModelFileError when it is not an IP Insights model. */
export function ipInsightsFromData(md: ModelData): { header: ModelHeader; weights: Weights; history?: HistoryData } {
  const file = md.file;
  const header = md.header as unknown as ModelHeader;
  if (header.detector.type !== IPINSIGHTS_TYPE) throw new ModelFileError(file, `not an IP Insights model (detector ${header.detector.type})`);
  if (header.detector.version > IPINSIGHTS_VERSION) {
    throw new ModelFileError(file, `IP Insights model version ${header.detector.version} is newer than this seclake supports (${IPINSIGHTS_VERSION}); upgrade seclake`);
  }
  const encoder = header.params?.encoder;
  if (!encoder || !Array.isArray(encoder.layers)) throw new ModelFileError(file, 'corrupt model header (missing params.encoder)');
  const hp = header.hyperparameters;
  const d = hp.vector_dim;
  const nP = encoder.num_ip_vectors;
  const layers: Layer[] = encoder.layers.map((spec, k) => ({
    weight: spec.weight === 'dense' ? md.f32(`layer${k}.weight`, d * d) : null,
    bias: md.f32(`layer${k}.bias`, d),
    activation: spec.activation,
  }));
  const knownFp = md.f64('known.fingerprint');
  const knownCount = md.u32('known.count', knownFp.length);
  const weights: Weights = {
    dim: d,
    numEntityVectors: hp.num_entity_vectors,
    entity: md.f32('entity', hp.num_entity_vectors * d),
    ip: md.f32('ip', nP * d),
    layers,
    population: md.f32('population', d),
    knownFp,
    knownCount,
  };
  const history = readHistory(md);
  return history ? { header, weights, history } : { header, weights };
}

/**
 * Load header and weights (and the entity history, when the file has it); verifies sizes and the CRC.
 * The history sections are optional: files written before they existed load with `history` undefined.
 */
export function loadModelFile(file: string): { header: ModelHeader; weights: Weights; history?: HistoryData } {
  return ipInsightsFromData(readModelFile(file));
}

function readHistory(md: ModelData): HistoryData | undefined {
  const names = ['history.fingerprint', 'history.size', 'history.offset', 'history.addr'];
  const present = names.filter((n) => md.has(n)).length;
  if (present === 0) return undefined;
  const bad = (): never => {
    throw new ModelFileError(md.file, 'model section history.* is incomplete or inconsistent');
  };
  if (present !== names.length) return bad();
  let h: HistoryData;
  try {
    const fp = md.f64('history.fingerprint');
    const m = fp.length;
    h = { fp, size: md.u32('history.size', m), offset: md.u32('history.offset', m + 1), addr: md.u32('history.addr') };
  } catch {
    return bad();
  }
  const m = h.fp.length;
  if (h.addr.length % 4 !== 0 || h.offset[0] !== 0 || h.offset[m] !== h.addr.length / 4) return bad();
  for (let i = 0; i < m; i++) if (h.offset[i + 1]! < h.offset[i]!) return bad();
  return h;
}
