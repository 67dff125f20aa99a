/**
 * SageMaker IP Insights wire formats (ipinsights.md §3.1-3.2), shared by `seclake score` and the
 * inference server: headerless CSV request bodies and the application/json / application/jsonlines
 * responses, byte-for-byte in Python `json.dumps` style (", " and ": " separators, floats printed
 * as Python's repr of the float64 value, e.g. -0.0025198650546371937, 1e-05, 3.0).
 */
import { ParseError } from '../../core/errors.js';
import { parseIpInto } from './ip.js';

export interface Pair {
  entity: string;
  ip: string;
}

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

const ipScratch = new Uint32Array(4);

/**
 * Split one CSV line into fields (RFC 4180 quoting: "a,b" and "" inside quotes). Returns undefined
 * when a quote is unbalanced.
 */
export function splitCsvLine(line: string): string[] | undefined {
  if (line.indexOf('"') < 0) return line.split(',');
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  while (true) {
    // skip leading spaces before a quoted field
    let j = i;
    while (j < n && (line[j] === ' ' || line[j] === '\t')) j++;
    if (j < n && line[j] === '"') {
      let val = '';
      j++;
      while (true) {
        const q = line.indexOf('"', j);
        if (q < 0) return undefined;
        val += line.slice(j, q);
        if (line[q + 1] === '"') {
          val += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      while (j < n && (line[j] === ' ' || line[j] === '\t')) j++;
      out.push(val);
      if (j >= n) return out;
      if (line[j] !== ',') return undefined;
      i = j + 1;
      continue;
    }
    const c = line.indexOf(',', i);
    if (c < 0) {
      out.push(line.slice(i));
      return out;
    }
    out.push(line.slice(i, c));
    i = c + 1;
  }
}

/**
 * Parse a headerless `entity,ip` CSV body (SageMaker's text/csv request). Whitespace around fields is
 * trimmed, `\r\n` accepted, blank lines skipped. Any bad line (column count, empty entity, invalid IP)
 * throws a ParseError naming `source` and the 1-based line.
 */
export function parseCsvPairs(body: string, source: string): Pair[] {
  const pairs: Pair[] = [];
  const len = body.length;
  let start = 0;
  let lineNo = 0;
  while (start < len) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = len;
    lineNo++;
    let line = body.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    const fields = splitCsvLine(line);
    if (fields === undefined) throw new ParseError('unbalanced quotes', { file: source, line: lineNo });
    if (fields.length !== 2) {
      throw new ParseError(`expected 2 columns (entity, ip), got ${fields.length}`, { file: source, line: lineNo });
    }
    const entity = fields[0]!.trim();
    const ip = fields[1]!.trim();
    if (entity === '') throw new ParseError('empty entity', { file: source, line: lineNo, field: 'entity' });
    if (parseIpInto(ip, ipScratch) === 0) {
      throw new ParseError(`invalid IP address ${JSON.stringify(ip.length > 80 ? ip.slice(0, 80) + '…' : ip)}`, { file: source, line: lineNo, field: 'ip' });
    }
    pairs.push({ entity, ip });
  }
  return pairs;
}

/** Python's repr() of a float (what json.dumps prints), from the shortest round-trip digits. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Number.POSITIVE_INFINITY) return 'Infinity';
  if (x === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const s = x.toExponential(); // shortest round-trip digits, e.g. "-2.5198650546371937e-3"
  const neg = s.charCodeAt(0) === 45;
  const ePos = s.indexOf('e');
  const mant = s.slice(neg ? 1 : 0, ePos);
  const exp = Number(s.slice(ePos + 1));
  const digits = mant.length > 1 ? mant[0] + mant.slice(2) : mant;
  let out: string;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const intLen = exp + 1;
      const intPart = digits.length > intLen ? digits.slice(0, intLen) : digits + '0'.repeat(intLen - digits.length);
      const frac = digits.length > intLen ? digits.slice(intLen) : '0';
      out = `${intPart}.${frac}`;
    } else {
      out = `0.${'0'.repeat(-exp - 1)}${digits}`;
    }
  } else {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ae = Math.abs(exp);
    out = `${m}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  }
  return neg ? `-${out}` : out;
}

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
  if (accept === 'application/jsonlines') {
    let s = '';
    for (const r of results) s += formatOne(r, verbose) + '\n';
    return s;
  }
  let s = '{"predictions": [';
  for (let i = 0; i < results.length; i++) {
    if (i > 0) s += ', ';
    s += formatOne(results[i]!, verbose);
  }
  return s + ']}';
}
