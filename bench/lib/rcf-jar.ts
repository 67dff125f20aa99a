/**
 * AWS's Java RCF library (../shared/tools/rcf-reference/randomcutforest-reference.jar, Apache-2.0) run through its
 * AnomalyScoreRunner: one JVM per series, rows on stdin, the raw anomaly score of each row (score, then update) read
 * back from stdout. A reference measured in the same run as our forest.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface JarOptions {
  trees: number;
  sampleSize: number;
  shingleSize: number;
  /** --window-size: the sampler's time decay is 1/windowSize (0 = none) */
  windowSize: number;
  seed: number;
}

/** Is `java` on the PATH and the jar present? */
export function jarAvailable(jar: string): boolean {
  if (!existsSync(jar)) return false;
  const r = spawnSync('java', ['-version'], { stdio: 'ignore' });
  return r.status === 0;
}

/** Raw RCF scores (0 before the shingle is full), one per value. */
export function jarScores(jar: string, values: Float64Array, opts: JarOptions, name: string): Promise<Float64Array> {
  return new Promise((resolve, reject) => {
    const args = [
      '-jar',
      jar,
      '--number-of-trees',
      String(opts.trees),
      '--sample-size',
      String(opts.sampleSize),
      '--shingle-size',
      String(opts.shingleSize),
      '--window-size',
      String(opts.windowSize),
      '--random-seed',
      String(opts.seed),
    ];
    const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${name}: the reference jar exited with ${code}: ${Buffer.concat(err).toString().slice(0, 500)}`));
        return;
      }
      const scores = new Float64Array(values.length);
      let n = 0;
      for (const line of Buffer.concat(out).toString().split('\n')) {
        const comma = line.lastIndexOf(',');
        if (comma < 0) continue; // status lines ("Reading from stdin...", "Done.")
        const text = line.slice(comma + 1);
        const v = text === 'NA' ? 0 : Number(text); // NA: the shingle is not full yet
        if (!Number.isFinite(v)) continue;
        if (n >= values.length) {
          reject(new Error(`${name}: the reference jar printed more rows than it was given (${values.length})`));
          return;
        }
        scores[n++] = v;
      }
      if (n !== values.length) reject(new Error(`${name}: the reference jar printed ${n} scores for ${values.length} rows`));
      else resolve(scores);
    });
    let text = '';
    for (let i = 0; i < values.length; i++) text += `${values[i]}\n`;
    child.stdin.end(text);
  });
}

export interface TrcfOptions {
  shingleSize: number;
  trees: number;
  sampleSize: number;
  /** the library's TransformMethod: NONE, NORMALIZE, ... */
  transform: string;
  seed: number;
}

/** The per-row anomaly grade, RCF score and threshold of the library's ThresholdedRandomCutForest (java/TrcfNab.java). */
export function trcfRows(jar: string, values: Float64Array, opts: TrcfOptions, name: string): Promise<{ grade: Float64Array; score: Float64Array; threshold: Float64Array }> {
  const source = fileURLToPath(new URL('./java/TrcfNab.java', import.meta.url));
  return new Promise((resolve, reject) => {
    const args = ['-cp', jar, source, String(opts.shingleSize), String(opts.trees), String(opts.sampleSize), opts.transform, String(opts.seed)];
    const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${name}: TrcfNab exited with ${code}: ${Buffer.concat(err).toString().slice(0, 500)}`));
        return;
      }
      const lines = Buffer.concat(out).toString().split('\n').filter((l) => l.length > 0);
      if (lines.length !== values.length) {
        reject(new Error(`${name}: TrcfNab printed ${lines.length} rows for ${values.length}`));
        return;
      }
      const grade = new Float64Array(values.length);
      const score = new Float64Array(values.length);
      const threshold = new Float64Array(values.length);
      for (let i = 0; i < lines.length; i++) {
        const [g, s, t] = lines[i]!.split(',').map(Number);
        if (!Number.isFinite(g) || !Number.isFinite(s) || !Number.isFinite(t)) {
          reject(new Error(`${name}: TrcfNab row ${i + 1} is not three numbers: ${lines[i]}`));
          return;
        }
        grade[i] = g!;
        score[i] = s!;
        threshold[i] = t!;
      }
      resolve({ grade, score, threshold });
    });
    let text = '';
    for (let i = 0; i < values.length; i++) text += `${values[i]}\n`;
    child.stdin.end(text);
  });
}
