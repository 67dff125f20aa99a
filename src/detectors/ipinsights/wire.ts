/**
 * SageMaker IP Insights response bodies (ipinsights.md §3.1-3.2), shared by `seclake score` and the inference
 * server (request bodies: ../pairs/csv.ts and serve/formats.ts): application/json / application/jsonlines,
 * byte-for-byte in Python `json.dumps` style (", " and ": " separators, floats printed
 * as Python's repr of the float64 value, e.g. -0.0025198650546371937, 1e-05, 3.0).
 */
import { pyFloat } from '../../core/py-json.js';
import { predictionsBody } from '../wire.js';

export type { PairRecord as Pair } from '../types.js';

export interface ScoreResult {
  dot_product: number;
  entity_embedding?: number[];
  ip_embedding?: number[];
  /** false when the entity was not seen in training (its score uses the population vector). */
  entity_known?: boolean;
  /** Verbose only, when the model is calibrated: share of normal traffic scoring higher, in [0, 1]. */
  anomaly_percentile?: number;
  /** Verbose only, when the model is calibrated: dot_product below the calibrated threshold. */
  is_anomaly?: boolean;
}

export type ResponseType = 'application/json' | 'application/jsonlines';

function floatList(v: readonly number[]): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) {
    if (i > 0) s += ', ';
    s += pyFloat(v[i]!);
  }
  return s + ']';
}

function formatOne(r: ScoreResult, verbose: boolean): string {
  if (!verbose) return `{"dot_product": ${pyFloat(r.dot_product)}}`;
  // Key order as SageMaker emitted it (ipinsights.md §3.2); entity_known only when the entity is unknown.
  let s = `{"dot_product": ${pyFloat(r.dot_product)}`;
  if (r.ip_embedding) s += `, "ip_embedding": ${floatList(r.ip_embedding)}`;
  if (r.entity_embedding) s += `, "entity_embedding": ${floatList(r.entity_embedding)}`;
  if (r.entity_known === false) s += ', "entity_known": false';
  // seclake additions after SageMaker's keys, present only for calibrated models.
  if (r.anomaly_percentile !== undefined) s += `, "anomaly_percentile": ${pyFloat(r.anomaly_percentile)}`;
  if (r.is_anomaly !== undefined) s += `, "is_anomaly": ${r.is_anomaly ? 'true' : 'false'}`;
  return s + '}';
}

/**
 * The response body SageMaker returns: `{"predictions": [{"dot_product": x}, ...]}` for application/json,
 * one `{"dot_product": x}` per line (each line ends with a newline) for application/jsonlines. With
 * `verbose`, each record also has `ip_embedding` and `entity_embedding`, and `"entity_known": false`
 * when the entity was never seen in training.
 */
export function formatPredictions(results: readonly ScoreResult[], accept: ResponseType, verbose: boolean): string {
  return predictionsBody(results, accept, (r) => formatOne(r, verbose));
}
