/**
 * The history detector's endpoint response bodies, in the same Python `json.dumps` byte style as IP Insights
 * (", " and ": " separators, floats as Python's repr): `{"predictions": [{"prefix_score": 24.5}, ...]}` for
 * application/json, one object per line (each ending in a newline) for application/jsonlines. With verbose:
 * `prefix_score, prefix_len, nearest_ip, prefix_count, entity_known` in that order, then `anomaly_percentile` and
 * `is_anomaly` when the model is calibrated.
 */
import { pyFloat } from '../../core/py-json.js';
import type { Prediction } from '../types.js';
import { predictionsBody } from '../wire.js';

/** One record's prediction. */
export interface HistoryPrediction extends Prediction {
  /** The native score (see score.ts): larger = more familiar. */
  prefix_score: number;
  entity_known: boolean;
  /** Verbose: longest prefix, in bits of the address's family, shared with a stored training address. */
  prefix_len?: number;
  /** Verbose: that training address (null when the entity has none of the address's family). */
  nearest_ip?: string | null;
  /** Verbose: the entity's training rows under that prefix. */
  prefix_count?: number;
  /** Verbose, calibrated models: share of calibration normal records more familiar than this one. */
  anomaly_percentile?: number;
  /** Verbose, calibrated models: prefix_score below the calibrated threshold. */
  is_anomaly?: boolean;
}

function formatOne(r: HistoryPrediction, verbose: boolean): string {
  let s = `{"prefix_score": ${pyFloat(r.prefix_score)}`;
  if (!verbose) return s + '}';
  if (r.prefix_len !== undefined) s += `, "prefix_len": ${r.prefix_len}`;
  if (r.nearest_ip !== undefined) s += `, "nearest_ip": ${r.nearest_ip === null ? 'null' : JSON.stringify(r.nearest_ip)}`;
  if (r.prefix_count !== undefined) s += `, "prefix_count": ${r.prefix_count}`;
  s += `, "entity_known": ${r.entity_known ? 'true' : 'false'}`;
  if (r.anomaly_percentile !== undefined) s += `, "anomaly_percentile": ${pyFloat(r.anomaly_percentile)}`;
  if (r.is_anomaly !== undefined) s += `, "is_anomaly": ${r.is_anomaly ? 'true' : 'false'}`;
  return s + '}';
}

export function formatPredictions(results: readonly HistoryPrediction[], accept: 'application/json' | 'application/jsonlines', verbose: boolean): string {
  return predictionsBody(results, accept, (r) => formatOne(r, verbose));
}
