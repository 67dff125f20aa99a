/**
 * SageMaker RCF's response bodies (rcf.md §1.8): application/json `{"scores":[{"score":0.02},{"score":0.25}]}`,
 * application/jsonlines one `{"score":0.02}` per line, and text/csv one score per line. `verbose` (seclake's
 * extension, as IP Insights' verbose=True) adds the attribution: `"attribution":{"high":[...],"low":[...]}` per input
 * dimension, which sums to the score, and the feature names when the model has them.
 */
import { pyFloat } from '../../core/py-json.js';
import type { ResponseType } from '../types.js';

export interface RcfPrediction {
  [key: string]: unknown;
  score: number;
  attribution?: { high: ArrayLike<number>; low: ArrayLike<number> };
  entity_known?: boolean;
}

export const RESPONSE_TYPES: readonly ResponseType[] = ['text/csv'];

function floats(a: ArrayLike<number>): string {
  let s = '[';
  for (let i = 0; i < a.length; i++) s += (i > 0 ? ',' : '') + pyFloat(a[i]!);
  return s + ']';
}

function one(p: RcfPrediction, verbose: boolean): string {
  if (!verbose || !p.attribution) return `{"score":${pyFloat(p.score)}}`;
  return `{"score":${pyFloat(p.score)},"attribution":{"high":${floats(p.attribution.high)},"low":${floats(p.attribution.low)}}}`;
}

export function formatScores(results: readonly RcfPrediction[], accept: ResponseType, verbose: boolean): string {
  let s = '';
  if (accept === 'text/csv') {
    for (const r of results) s += pyFloat(r.score) + '\n';
    return s;
  }
  if (accept === 'application/jsonlines') {
    for (const r of results) s += one(r, verbose) + '\n';
    return s;
  }
  s = '{"scores":[';
  for (let i = 0; i < results.length; i++) s += (i > 0 ? ',' : '') + one(results[i]!, verbose);
  return s + ']}';
}
