/**
 * One invocation's model work: parse the request body (the shared pairs formats), predict with the model, format the
 * reply with the model's own wire format. The main thread and the worker pool's serve task (score-task.ts) both run
 * exactly this, so a body gives the same bytes wherever it is scored.
 */
import { ParseError } from '../core/errors.js';
import { applyEntityThresholds } from '../detectors/calibration.js';
import { invalidIpMessage } from '../detectors/pairs/csv.js';
import { parseFeatures } from './features.js';
import { parsePairs, recordWhere, type AcceptChoice, type ParsedPairs, type RequestFormat } from './formats.js';
import type { ServableFeaturesModel, ServableModel, ServablePairsModel } from './registry.js';

export interface ScoredBody {
  body: string;
  /** Records scored (pairs or feature vectors). */
  pairs: number;
}

/**
 * Parses, predicts and formats. Throws a ParseError naming the record (line, or JSON instance) for a malformed
 * record, one the model cannot score (an invalid address), or an empty body; the first bad record in the body is
 * the one named, whichever kind it is.
 */
export function scoreBody(model: ServableModel, fmt: RequestFormat, text: string, accept: AcceptChoice, source: string): ScoredBody {
  return model.detector.records === 'features'
    ? scoreFeatures(model as ServableFeaturesModel, fmt, text, accept, source)
    : scorePairs(model as ServablePairsModel, fmt, text, accept, source);
}

function scorePairs(model: ServablePairsModel, fmt: RequestFormat, text: string, accept: AcceptChoice, source: string): ScoredBody {
  const parsed = parsePairs(fmt, text, source);
  if (parsed.error) throw firstUnscorable(model, fmt, parsed, source) ?? parsed.error;
  if (parsed.pairs.length === 0) throw new ParseError('no records (expected at least one entity, ip pair)', { file: source });
  let results;
  try {
    results = model.predict(parsed.pairs, { verbose: accept.verbose, source });
  } catch (err) {
    throw err instanceof ParseError ? locate(err, fmt, parsed, source) : err;
  }
  // Per-entity calibration: is_anomaly against the entity's own threshold (thresholdFor).
  if (accept.verbose && model.detector.score) applyEntityThresholds(results, parsed.pairs, model.calibration, model.detector.score.name);
  return { body: model.detector.wire.formatPredictions(results, accept.type, accept.verbose), pairs: parsed.pairs.length };
}

/** predict() names the 1-based record; name where it is in the body instead. */
function locate(err: ParseError, fmt: RequestFormat, parsed: ParsedPairs, source: string): ParseError {
  const i = err.line === undefined ? -1 : err.line - 1;
  if (i < 0 || i >= parsed.pairs.length) return err;
  if (err.field === 'ip') return new ParseError(invalidIpMessage(parsed.pairs[i]!.ip), recordWhere(fmt, parsed, i, source, 'ip'));
  const where = `${err.file}:${err.line}${err.field ? ` field ${err.field}` : ''}: `;
  const bare = err.message.startsWith(where) ? err.message.slice(where.length) : err.message;
  return new ParseError(bare, recordWhere(fmt, parsed, i, source, err.field));
}

/**
 * When a body has a malformed record, a record before it that the model cannot score is the first error (records
 * are checked in order): found with scoreBatch, which gives NaN for such a record. Only runs on the error path.
 */
function firstUnscorable(model: ServablePairsModel, fmt: RequestFormat, parsed: ParsedPairs, source: string): ParseError | undefined {
  if (parsed.pairs.length === 0) return undefined;
  const { native } = model.scoreBatch(parsed.pairs);
  for (let i = 0; i < native.length; i++) {
    if (Number.isNaN(native[i]!)) return new ParseError(invalidIpMessage(parsed.pairs[i]!.ip), recordWhere(fmt, parsed, i, source, 'ip'));
  }
  return undefined;
}

/** A features body: the records must all parse; predict() checks each against the model (its feature_dim). */
function scoreFeatures(model: ServableFeaturesModel, fmt: RequestFormat, text: string, accept: AcceptChoice, source: string): ScoredBody {
  const parsed = parseFeatures(fmt, text, source);
  if (parsed.error) throw parsed.error;
  if (parsed.records.length === 0) throw new ParseError('no records (expected at least one feature vector)', { file: source });
  let results;
  try {
    results = model.predict(parsed.records, { verbose: accept.verbose, source });
  } catch (err) {
    if (!(err instanceof ParseError) || err.line === undefined) throw err;
    const i = err.line - 1;
    if (i < 0 || i >= parsed.records.length) throw err;
    const where = `${err.file}:${err.line}${err.field ? ` field ${err.field}` : ''}: `;
    const bare = err.message.startsWith(where) ? err.message.slice(where.length) : err.message;
    const w = parsed.where[i]!;
    throw new ParseError(bare, fmt === 'application/json' ? { file: source, field: `instances[${w}]` } : { file: source, line: w });
  }
  return { body: model.detector.wire.formatPredictions(results, accept.type, accept.verbose), pairs: parsed.records.length };
}
