/**
 * Pairs in headerless CSV (`entity,ip` per line), the request and training format of SageMaker IP Insights that every
 * detector of the pairs kind reads: RFC 4180 quoting, CRLF or LF, a blank last line ignored. A bad line is a
 * ParseError naming the source, the 1-based line and the field.
 */
import { ParseError } from '../../core/errors.js';
import type { PairRecord } from '../types.js';
import { parseIpInto } from './ip.js';

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

/** The message for an address that does not parse (the value shown is capped at 80 characters). */
export function invalidIpMessage(ip: string): string {
  return `invalid IP address ${JSON.stringify(ip.length > 80 ? ip.slice(0, 80) + '…' : ip)}`;
}

/**
 * Read a headerless `entity,ip` CSV body (SageMaker's text/csv request) into `pairs`, with each pair's 1-based line
 * in `lines`. Whitespace around fields is trimmed, `\r\n` accepted, blank lines skipped; addresses are not checked.
 * A malformed line (quotes, column count, empty entity) throws a ParseError naming `source` and the line, after the
 * pairs of the lines before it were added (so a caller can report an earlier bad address first).
 */
export function readCsvPairs(body: string, source: string, pairs: PairRecord[], lines: number[]): void {
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
    if (fields.length !== 2) throw new ParseError(`expected 2 columns (entity, ip), got ${fields.length}`, { file: source, line: lineNo });
    const entity = fields[0]!.trim();
    if (entity === '') throw new ParseError('empty entity', { file: source, line: lineNo, field: 'entity' });
    pairs.push({ entity, ip: fields[1]!.trim() });
    lines.push(lineNo);
  }
}

/**
 * Parse a headerless `entity,ip` CSV body (readCsvPairs). Any bad line (column count, empty entity, invalid IP)
 * throws a ParseError naming `source` and the 1-based line.
 */
export function parseCsvPairs(body: string, source: string): PairRecord[] {
  const pairs: PairRecord[] = [];
  const lines: number[] = [];
  readCsvPairs(body, source, pairs, lines);
  for (let i = 0; i < pairs.length; i++) {
    const ip = pairs[i]!.ip;
    if (parseIpInto(ip, ipScratch) === 0) throw new ParseError(invalidIpMessage(ip), { file: source, line: lines[i]!, field: 'ip' });
  }
  return pairs;
}
