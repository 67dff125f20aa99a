/**
 * Our counterpart of the AWS library's AnomalyScoreRunner (`java -jar randomcutforest-reference.jar`), for
 * whole-process comparisons in bench/rcf.bench.ts: CSV rows on stdin, each row echoed with its anomaly score appended
 * on stdout (score, then update, as the Java runner does). Same flags as the Java runner:
 *   --number-of-trees N (100) --sample-size N (256) --shingle-size N (1) --window-size N (0: no time decay, else
 *   timeDecay = 1/N) --random-seed N (42)
 * Shingling is internal (the forest builds the shingles); rows before the first full shingle get NA, as in Java.
 *
 *   node --import tsx bench/rcf-runner.ts --shingle-size 8 < series.csv > scored.csv
 */
import { readFileSync, writeSync } from 'node:fs';

/** Write all of `text` to stdout: a pipe may take part of it, or none for now (EAGAIN). */
function writeAll(text: string): void {
  const buf = Buffer.from(text, 'latin1');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off, buf.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}
import { RandomCutForest } from '../src/detectors/rcf/forest/index.js';

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    process.stderr.write(`--${name} needs a non-negative integer\n`);
    process.exit(2);
  }
  return v;
}

const trees = flag('number-of-trees', 100);
const sample = flag('sample-size', 256);
const shingle = flag('shingle-size', 1);
const window = flag('window-size', 0);
const seed = flag('random-seed', 42);

const text = readFileSync(0, 'latin1');
let forest: RandomCutForest | undefined;
let row = new Float64Array(0);
let out: string[] = [];
let rows = 0;
let start = 0;
while (start < text.length) {
  let end = text.indexOf('\n', start);
  if (end < 0) end = text.length;
  const line = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
  start = end + 1;
  if (line.length === 0) continue;
  // values between commas
  let dims = 1;
  for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) === 44) dims++;
  if (!forest) {
    forest = new RandomCutForest({
      inputDims: dims,
      shingleSize: shingle,
      numTrees: trees,
      sampleSize: sample,
      timeDecay: window > 0 ? 1 / window : 0,
      outputAfter: Math.max(1, Math.floor(sample / 4)) + shingle - 1,
      seed,
    });
    row = new Float64Array(dims);
  }
  if (dims !== row.length) {
    process.stderr.write(`line ${rows + 1}: ${dims} values, expected ${row.length}\n`);
    process.exit(1);
  }
  let k = 0;
  let from = 0;
  for (let i = 0; i <= line.length; i++) {
    if (i === line.length || line.charCodeAt(i) === 44) {
      row[k++] = +line.slice(from, i);
      from = i + 1;
    }
  }
  const score = forest.scoreAndUpdate(row);
  out.push(rows < shingle - 1 ? `${line},NA` : `${line},${score}`);
  rows++;
  if (out.length >= 8192) {
    writeAll(out.join('\n') + '\n');
    out = [];
  }
}
if (out.length > 0) writeAll(out.join('\n') + '\n');
