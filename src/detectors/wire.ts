import type { ResponseType } from './types.js';

/**
 * The response type of a detector whose wire format writes JSON only (serve negotiates only the types a detector
 * lists, so text/csv never reaches it; a caller that passes it anyway gets an Error, not a wrong body).
 */
export function jsonResponseType(accept: ResponseType): 'application/json' | 'application/jsonlines' {
  if (accept === 'text/csv') throw new Error('this detector has no text/csv response format');
  return accept;
}

/**
 * The SageMaker runtime response body around one JSON object per record, shared by every detector's wire format:
 * `{"predictions": [a, b]}` (", " between records, as Python's json.dumps) for application/json, one object per line
 * (each ending in a newline) for application/jsonlines.
 */
export function predictionsBody<R>(results: readonly R[], accept: 'application/json' | 'application/jsonlines', one: (r: R) => string): string {
  if (accept === 'application/jsonlines') {
    let s = '';
    for (const r of results) s += one(r) + '\n';
    return s;
  }
  let s = '{"predictions": [';
  for (let i = 0; i < results.length; i++) {
    if (i > 0) s += ', ';
    s += one(results[i]!);
  }
  return s + ']}';
}
