/**
 * Request bodies of the endpoint for models of the `features` record kind (Random Cut Forest), as SageMaker RCF
 * defines them (rcf.md §1.8):
 * - text/csv: one record per line, `feature_dim` numbers, no header;
 * - application/json: `{"instances": [{"features": [1.5, 16.0]}, ...]}` (or `{"data": {"features": {"values": [...]}}}`);
 * - application/jsonlines: one `{"features": [...]}` per line.
 * seclake's one extension: an instance may carry `"entity": "i-0abc"` (and `"group"`), so a model that scales
 * features per entity uses that entity's history. Parsing never throws: the first malformed record stops it and is
 * returned as `error`, named by line (and column) or by `instances[i]`.
 */
import { ParseError } from '../core/errors.js';
import type { FeatureRecord } from '../detectors/types.js';
import type { RequestFormat } from './formats.js';

export interface ParsedFeatures {
  records: FeatureRecord[];
  /** Per record: its 1-based line (text/csv, application/jsonlines) or its index in `instances` (application/json). */
  where: number[];
  /** The first malformed record, if any; `records` then holds the records before it. */
  error?: ParseError;
}

/** Parses a features body; `dim` (the model's feature_dim) is checked for every record when given. */
export function parseFeatures(fmt: RequestFormat, body: string, source: string, dim?: number): ParsedFeatures {
  const out: ParsedFeatures = { records: [], where: [] };
  if (fmt === 'text/csv') csvRecords(body, source, dim, out);
  else if (fmt === 'application/json') jsonInstances(body, source, dim, out);
  else jsonLines(body, source, dim, out);
  return out;
}

function csvRecords(body: string, source: string, dim: number | undefined, out: ParsedFeatures): void {
  let start = 0;
  let line = 0;
  while (start < body.length) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    line++;
    let text = body.slice(start, end);
    start = end + 1;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') continue;
    const cells = text.split(',');
    if (dim !== undefined && cells.length !== dim) {
      out.error = new ParseError(`expected ${dim} comma-separated numbers (the model's feature_dim), got ${cells.length}`, { file: source, line });
      return;
    }
    const values = new Float64Array(cells.length);
    for (let c = 0; c < cells.length; c++) {
      const cell = cells[c]!.trim();
      const v = cell === '' ? Number.NaN : Number(cell);
      if (!Number.isFinite(v)) {
        out.error = new ParseError(`not a finite number: ${JSON.stringify(cell.slice(0, 40))}`, { file: source, line, field: `column ${c + 1}` });
        return;
      }
      values[c] = v;
    }
    out.records.push({ values });
    out.where.push(line);
  }
}

function jsonInstances(body: string, source: string, dim: number | undefined, out: ParsedFeatures): void {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    out.error = new ParseError(`invalid JSON: ${errorText(err)}`, { file: source, line: 1 });
    return;
  }
  if (!isObject(doc) || !Array.isArray(doc.instances)) {
    out.error = new ParseError('expected a JSON object {"instances": [{"features": [...]}, ...]}', { file: source, line: 1, field: 'instances' });
    return;
  }
  const instances = doc.instances as unknown[];
  for (let i = 0; i < instances.length; i++) {
    const r = instanceRecord(instances[i], dim, (msg) => new ParseError(msg, { file: source, field: `instances[${i}]` }));
    if (r instanceof ParseError) {
      out.error = r;
      return;
    }
    out.records.push(r);
    out.where.push(i);
  }
}

function jsonLines(body: string, source: string, dim: number | undefined, out: ParsedFeatures): void {
  let start = 0;
  let line = 0;
  while (start < body.length) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    line++;
    const text = body.slice(start, end).trim();
    start = end + 1;
    if (text === '') continue;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      out.error = new ParseError(`invalid JSON: ${errorText(err)}`, { file: source, line });
      return;
    }
    const at = line;
    const r = instanceRecord(doc, dim, (msg) => new ParseError(msg, { file: source, line: at }));
    if (r instanceof ParseError) {
      out.error = r;
      return;
    }
    out.records.push(r);
    out.where.push(line);
  }
}

function instanceRecord(inst: unknown, dim: number | undefined, fail: (msg: string) => ParseError): FeatureRecord | ParseError {
  if (!isObject(inst)) return fail('expected an object {"features": [numbers]}');
  let values: unknown;
  if ('features' in inst) values = inst.features;
  else if (isObject(inst.data) && isObject(inst.data.features)) values = inst.data.features.values;
  else return fail('expected "features": [numbers] or "data": {"features": {"values": [numbers]}}');
  if (!Array.isArray(values)) return fail('"features" must be an array of numbers');
  if (dim !== undefined && values.length !== dim) return fail(`expected ${dim} features (the model's feature_dim), got ${values.length}`);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) return fail(`features[${i}] must be a finite number, got ${JSON.stringify(v)?.slice(0, 40) ?? String(v)}`);
    out[i] = v;
  }
  const rec: FeatureRecord = { values: out };
  if (inst.entity !== undefined) {
    if (typeof inst.entity !== 'string' || inst.entity.trim() === '') return fail('"entity" must be a non-empty string');
    rec.entity = inst.entity.trim();
  }
  if (inst.group !== undefined) {
    if (typeof inst.group !== 'string') return fail('"group" must be a string');
    rec.group = inst.group;
  }
  return rec;
}

function errorText(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  return raw.length > 200 ? raw.slice(0, 200) + '…' : raw;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
