/**
 * AWS's Java RCF library (../shared/tools/rcf-reference/randomcutforest-reference.jar, Apache-2.0) run through its
 * AnomalyScoreRunner: one JVM per series, rows on stdin, the raw anomaly score of each row (score, then update) read
 * back from stdout. A reference measured in the same run as our forest.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

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
        const v = Number(line.slice(comma + 1));
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
