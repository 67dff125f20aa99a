/**
 * SageMaker RCF's test-channel metrics (rcf.md §1.8): labels predicted with the three-sigma rule on the scores
 * (score > mean + z x std of the training scores), then `accuracy` (share correct) and `precision_recall_fscore`
 * (precision, recall and F1 of the positive class, label 1, and of the negative class, label 0).
 */
export interface TestMetrics {
  accuracy?: number;
  precision_recall_fscore?: { positive: Prf; negative: Prf };
  threshold: number;
  n: number;
  positives: number;
}

export interface Prf {
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

function prf(tp: number, fp: number, fn: number): Prf {
  const precision = tp + fp > 0 ? tp / (tp + fp) : null;
  const recall = tp + fn > 0 ? tp / (tp + fn) : null;
  const f1 = precision !== null && recall !== null && precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : precision === null || recall === null ? null : 0;
  return { precision, recall, f1 };
}

/** Metrics of scores against 0/1 labels at `threshold` (flag when score > threshold). */
export function testMetrics(scores: Float64Array, labels: Float64Array, threshold: number, which: readonly string[]): TestMetrics {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i]! > threshold;
    const positive = labels[i]! >= 0.5;
    if (flagged && positive) tp++;
    else if (flagged) fp++;
    else if (positive) fn++;
    else tn++;
  }
  const n = scores.length;
  const out: TestMetrics = { threshold, n, positives: tp + fn };
  if (which.includes('accuracy')) out.accuracy = n > 0 ? (tp + tn) / n : 0;
  if (which.includes('precision_recall_fscore')) out.precision_recall_fscore = { positive: prf(tp, fp, fn), negative: prf(tn, fn, fp) };
  return out;
}
