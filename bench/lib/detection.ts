/** Detection metrics for benchmarks: a pair is flagged when its normality score is below a threshold. */
import { rocAuc } from '../../src/detectors/ipinsights/auc.js';

export interface Detection {
  auc: number;
  threshold: number;
  flagged: number;
  truePositives: number;
  precision: number;
  recall: number;
  fpr: number;
}

/** AUC (normal above attack) and precision/recall of flagging `score < threshold` as an attack. */
export function detection(normal: ArrayLike<number>, attack: ArrayLike<number>, threshold: number): Detection {
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < attack.length; i++) if (attack[i]! < threshold) tp++;
  for (let i = 0; i < normal.length; i++) if (normal[i]! < threshold) fp++;
  const flagged = tp + fp;
  return {
    auc: rocAuc(normal, attack),
    threshold,
    flagged,
    truePositives: tp,
    precision: flagged > 0 ? tp / flagged : Number.NaN,
    recall: tp / attack.length,
    fpr: fp / normal.length,
  };
}

/** The lowest threshold at which flagging `score < threshold` reaches `recall` (for integer-valued scores). */
export function thresholdForRecall(attack: ArrayLike<number>, recall: number): number {
  const sorted = Float64Array.from(attack).sort();
  const need = Math.ceil(recall * sorted.length);
  if (need <= 0) return Number.NEGATIVE_INFINITY;
  const v = sorted[need - 1]!;
  // flag strictly below the next distinct value above v
  let j = need;
  while (j < sorted.length && sorted[j] === v) j++;
  return j < sorted.length ? sorted[j]! : v + 1;
}

/** A reference workload measured in the same run: float32 dot + axpy at d=128 over a 64 MiB table. */
export function machineReference(seconds = 0.5): number {
  const d = 128;
  const rows = (64 * 1024 * 1024) / (4 * d);
  const table = new Float32Array(rows * d);
  for (let i = 0; i < table.length; i += 97) table[i] = (i % 13) / 13 - 0.5;
  const v = new Float32Array(d).fill(0.01);
  let x = 12345;
  let ops = 0;
  let sink = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let rep = 0; rep < 10000; rep++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const o = (x % rows) * d;
      let s = 0;
      for (let i = 0; i < d; i++) s += table[o + i]! * v[i]!;
      const g = s > 0 ? 0.001 : -0.001;
      for (let i = 0; i < d; i++) table[o + i] -= g * v[i]!;
      sink += s;
    }
    ops += 10000;
  }
  if (sink === 42) process.stdout.write('');
  return ops / ((performance.now() - t0) / 1000);
}
