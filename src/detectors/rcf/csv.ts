/**
 * Feature matrices from CSV, SageMaker RCF's training format (rcf.md §1.8): one record per line, `feature_dim`
 * numbers, no header; the labelled `test` channel puts the label (0 normal, 1 anomaly) first (`label_size=1`).
 * seclake also takes a first line of names as a header (the feature names). A bad cell is a ParseError naming the
 * file, the 1-based line and the column; a blank line is skipped.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ParseError } from '../../core/errors.js';

export interface FeatureMatrix {
  /** n x dim, row-major. */
  rows: Float64Array;
  n: number;
  dim: number;
  /** Feature names from a header line, or `f1..fdim`. */
  names: string[];
  /** Labels (label_size=1), when read as a labelled channel. */
  labels?: Float64Array;
  source: string;
}

/** Grows a Float64Array by doubling. */
class Grow {
  a = new Float64Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  take(): Float64Array {
    return this.a.slice(0, this.n);
  }
}

/** Parse CSV text (the whole body) into a matrix. */
export function parseFeatureCsv(text: string, source: string, opts: { labelled?: boolean; dim?: number } = {}): FeatureMatrix {
  const p = new CsvMatrixParser(source, opts);
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    p.line(text.slice(start, end));
    start = end + 1;
  }
  return p.finish();
}

/** Read a CSV file (or files, concatenated: same columns) into a matrix, streaming line by line. */
export async function readFeatureCsv(files: readonly string[], opts: { labelled?: boolean; dim?: number } = {}): Promise<FeatureMatrix> {
  let p: CsvMatrixParser | undefined;
  for (const file of files) {
    const parser: CsvMatrixParser = p ? p.next(file) : new CsvMatrixParser(file, opts);
    p = parser;
    const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of rl) parser.line(line);
  }
  if (!p) throw new ParseError('no input files', { file: '(features)' });
  const m = p.finish();
  m.source = files.join(',');
  return m;
}

class CsvMatrixParser {
  private readonly values = new Grow();
  private readonly labels = new Grow();
  private dim: number | undefined;
  private names: string[] | undefined;
  private n = 0;
  private lineNo = 0;
  constructor(
    private source: string,
    private readonly opts: { labelled?: boolean; dim?: number },
  ) {
    this.dim = opts.dim;
  }

  /** The same matrix, continued from another file. */
  next(source: string): CsvMatrixParser {
    this.source = source;
    this.lineNo = 0;
    return this;
  }

  line(raw: string): void {
    this.lineNo++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    const cells = text.split(',');
    const skip = this.opts.labelled ? 1 : 0;
    if (this.n === 0 && this.names === undefined && this.lineNo === 1 && cells.every((c) => c.trim() !== '' && !Number.isFinite(Number(c.trim())))) {
      this.names = cells.slice(skip).map((c) => c.trim().replace(/^"|"$/g, ''));
      if (this.dim !== undefined && this.names.length !== this.dim) this.fail(`header has ${this.names.length} feature names, expected ${this.dim} (feature_dim)`);
      this.dim ??= this.names.length;
      return;
    }
    const width = cells.length - skip;
    if (width < 1) this.fail(this.opts.labelled ? 'expected a label followed by at least one feature' : 'expected at least one number');
    if (this.dim === undefined) this.dim = width;
    else if (width !== this.dim) this.fail(`expected ${this.dim}${this.opts.labelled ? ' features after the label' : ' comma-separated numbers'} (feature_dim), got ${width}`);
    for (let c = 0; c < cells.length; c++) {
      const cell = cells[c]!.trim();
      const v = cell === '' ? Number.NaN : Number(cell);
      if (!Number.isFinite(v)) this.fail(`not a finite number: ${JSON.stringify(cell.slice(0, 40))}`, c === 0 && skip ? 'label' : `column ${c + 1}`);
      if (c < skip) {
        if (v !== 0 && v !== 1) this.fail(`label must be 0 (normal) or 1 (anomaly), got ${cell}`, 'label');
        this.labels.push(v);
      } else {
        this.values.push(v);
      }
    }
    this.n++;
  }

  finish(): FeatureMatrix {
    if (this.n === 0 || this.dim === undefined) throw new ParseError('no records', { file: this.source });
    const dim = this.dim;
    const names = this.names ?? Array.from({ length: dim }, (_, i) => `f${i + 1}`);
    return { rows: this.values.take(), n: this.n, dim, names, ...(this.opts.labelled ? { labels: this.labels.take() } : {}), source: this.source };
  }

  private fail(message: string, field?: string): never {
    throw new ParseError(message, { file: this.source, line: this.lineNo, ...(field ? { field } : {}) });
  }
}
