import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '../core/rng.js';
import { annotate, annotateScore, readCalibration, type Calibration } from '../detectors/calibration.js';
import type { Pair } from './inputs.js';
import { runCalibration, sampleWithoutReplacement, type CalibratableModel, type ModelAccess } from './run.js';

/**
 * A stand-in model: each known entity "lives" in 10.<k>.0.0/16; a pair scores ≈ +4 at home and ≈ −4 elsewhere,
 * with deterministic noise from the address. Entities outside the known set are reported as unseen (score ≈ 0).
 */
class StubModel implements CalibratableModel {
  constructor(readonly known: Set<string>) {}
  scorePairs(pairs: Pair[]): { score: number; entity_known: boolean }[] {
    return pairs.map((p) => {
      const known = this.known.has(p.entity);
      const k = Number(p.entity.slice(1));
      const oct = p.ip.split('.').map(Number);
      const noise = (((oct[2]! * 31 + oct[3]! * 17) % 100) - 50) / 25; // −2 .. +2
      const home = oct[0] === 10 && oct[1] === k;
      return { score: known ? (home ? 4 : -4) + noise : noise / 100, entity_known: known };
    });
  }
  hyperparameters(): Record<string, unknown> {
    return { vector_dim: 4, epochs: 1 };
  }
  metadata(): Record<string, unknown> {
    return { rows: 1 };
  }
}

/** The same model with its score turned around: anomalies score high (as a forest's do). */
class HighStubModel extends StubModel {
  readonly score = { name: 'forest_score', direction: 'higher_is_anomalous' as const };
  override scorePairs(pairs: Pair[]): { score: number; entity_known: boolean }[] {
    return super.scorePairs(pairs).map((r) => ({ ...r, score: -r.score }));
  }
}

function stubAccess(known: Set<string>, high = false): ModelAccess & { stored: Map<string, Calibration> } {
  const stored = new Map<string, Calibration>();
  return {
    stored,
    load: async () => (high ? new HighStubModel(known) : new StubModel(known)),
    storeCalibration: async (file, cal) => {
      stored.set(file, JSON.parse(JSON.stringify(cal)) as Calibration);
    },
  };
}

function normalCsv(dir: string): string {
  const rng = new Rng(3);
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const k = rng.int(20);
    lines.push(`u${k},10.${k}.${rng.int(256)}.${rng.int(256)}`);
  }
  // unseen entities: reported, not used
  for (let i = 0; i < 7; i++) lines.push(`u${100 + (i % 3)},10.9.9.${i}`);
  lines.push('u1,not-an-ip');
  const file = path.join(dir, 'normal.csv');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

test('sampleWithoutReplacement keeps order and distinct items', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i);
  const s = sampleWithoutReplacement(xs, 10, new Rng(1));
  assert.equal(s.length, 10);
  assert.equal(new Set(s).size, 10);
  assert.deepEqual([...s].sort((a, b) => a - b), s);
  assert.deepEqual(sampleWithoutReplacement(xs, 0, new Rng(1)), xs);
});

test('runCalibration: unseen entities set aside, threshold stored, report and plots written', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-cal-'));
  try {
    const known = new Set(Array.from({ length: 20 }, (_, k) => `u${k}`));
    const access = stubAccess(known);
    const report = path.join(dir, 'r.html');
    const res = await runCalibration(
      {
        model: 'm.model',
        normal: { kind: 'csv', file: normalCsv(dir) },
        abnormal: { kind: 'generate', generator: 'random' },
        rule: { kind: 'max_fpr', max_fpr: 0.01 },
        report,
        plots: [path.join(dir, 'h.svg')],
        now: new Date(0),
      },
      access,
    );
    const j = res.json;
    assert.equal(j.normal.pairs, 3007);
    assert.equal(j.normal.used, 3000);
    assert.equal(j.normal.unknownEntityPairs, 7);
    assert.equal(j.normal.unknownEntities, 3);
    assert.equal(j.normal.skippedLines, 1);
    assert.equal(j.abnormal.used, 3000); // as many as normal pairs used
    assert.equal(j.abnormal.unknownEntityPairs, 0); // generated only for known entities
    assert.ok(j.auc > 0.99, `auc ${j.auc}`);
    assert.ok(j.fpr! <= 0.01);
    const stored = access.stored.get('m.model')!;
    assert.equal(stored.threshold, j.threshold);
    assert.equal(stored.normal_quantiles.length, 1001);
    assert.deepEqual(readCalibration({ calibration: stored }), stored);
    // The stored threshold reproduces the measured FPR on the normal file.
    assert.equal(stored.thresholds_at_fpr.map((t) => t.target_fpr).join(','), '0.001,0.01,0.05');
    const html = readFileSync(report, 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /Threshold calibration/);
    assert.match(html, /never saw in training/);
    assert.ok(!html.includes(dir), 'report must not contain absolute paths of inputs');
    for (const f of ['h.svg', 'h-roc.svg', 'h-pr.svg']) assert.ok(existsSync(path.join(dir, f)), f);
    assert.equal(res.written.length, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runCalibration: analyst labels move the threshold; false positives stop firing with enough weight', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-cal-'));
  try {
    const known = new Set(Array.from({ length: 20 }, (_, k) => `u${k}`));
    const normal = normalCsv(dir);
    // Analysts saw u3 log in from 172.16.x (its VPN) and marked those alerts false positive.
    const labels = path.join(dir, 'labels.jsonl');
    const fpLines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ entity: 'u3', ip: `172.16.0.${i}`, label: 'false_positive' }));
    fpLines.push(JSON.stringify({ entity: 'u4', ip: '203.0.113.9', label: 'true_positive' }));
    fpLines.push(JSON.stringify({ finding_uid: 'f-123', label: 'false_positive' }));
    writeFileSync(labels, fpLines.join('\n') + '\n');
    const base = {
      model: 'm.model',
      normal: { kind: 'csv' as const, file: normal },
      abnormal: { kind: 'generate' as const, generator: 'random' as const },
      rule: { kind: 'max_fpr' as const, max_fpr: 0.01 },
      labels,
      now: new Date(0),
    };
    const once = await runCalibration(base, stubAccess(known));
    const f = once.feedback!;
    assert.equal(f.false_positives, 30);
    assert.equal(f.true_positives, 1);
    assert.equal(once.json.feedback!.unresolved, 1);
    assert.ok(f.threshold_after <= f.threshold_before);
    assert.equal(once.json.calibration.feedback?.false_positives, 30);
    // weighted heavily, the labelled false positives define the low tail of "normal": they no longer fire
    const heavy = await runCalibration({ ...base, labelWeight: 100 }, stubAccess(known));
    assert.ok(heavy.feedback!.threshold_after < heavy.feedback!.threshold_before);
    assert.ok(heavy.feedback!.fp_flagged_after < heavy.feedback!.fp_flagged_before, JSON.stringify(heavy.feedback));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stored threshold changes what is flagged: fixed threshold vs calibrated', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-cal-'));
  try {
    const known = new Set(Array.from({ length: 20 }, (_, k) => `u${k}`));
    const access = stubAccess(known);
    const normal = normalCsv(dir);
    await runCalibration({ model: 'a', normal: { kind: 'csv', file: normal }, abnormal: { kind: 'generate', generator: 'shuffled' }, rule: { kind: 'threshold', threshold: -100 } }, access);
    await runCalibration({ model: 'b', normal: { kind: 'csv', file: normal }, abnormal: { kind: 'generate', generator: 'shuffled' }, rule: { kind: 'max_fpr', max_fpr: 0.05 } }, access);
    const pair = { dot_product: -3.5 };
    assert.equal(annotate(pair, access.stored.get('a')!).is_anomaly, false);
    assert.equal(annotate(pair, access.stored.get('b')!).is_anomaly, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a detector whose anomalies score high: the stored calibration is in its own units, with its direction, and flags the same pairs', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-cal-'));
  try {
    const known = new Set(Array.from({ length: 20 }, (_, k) => `u${k}`));
    const low = stubAccess(known);
    const high = stubAccess(known, true);
    const normal = normalCsv(dir);
    const opts = { normal: { kind: 'csv' as const, file: normal }, abnormal: { kind: 'generate' as const, generator: 'shuffled' as const }, rule: { kind: 'max_fpr' as const, max_fpr: 0.05 } };
    const a = await runCalibration({ model: 'a', ...opts }, low);
    const b = await runCalibration({ model: 'b', ...opts }, high);
    assert.equal(b.json.auc, a.json.auc);
    const ca = low.stored.get('a')!;
    const cb = high.stored.get('b')!;
    assert.equal(ca.direction, undefined, 'a lower-is-anomalous stub declares no score: stored as before');
    assert.equal(cb.direction, 'higher_is_anomalous');
    assert.equal(cb.score_name, 'forest_score');
    assert.equal(cb.threshold, -ca.threshold);
    assert.deepEqual(cb.normal_quantiles, [...ca.normal_quantiles].map((q) => -q).reverse());
    assert.ok(cb.normal_quantiles.every((q, i) => i === 0 || q >= cb.normal_quantiles[i - 1]!), 'ascending');
    assert.match(b.json.flag_when, /^−forest_score < /);
    for (const x of [-5, -3.5, -1, 0, 2, 4.5]) {
      const lo = annotateScore(x, readCalibration({ calibration: ca })!);
      const hi = annotateScore(-x, readCalibration({ calibration: cb })!);
      assert.equal(hi.is_anomaly, lo.is_anomaly, `score ${x}`);
      assert.ok(Math.abs(hi.anomaly_percentile - lo.anomaly_percentile) < 1e-9, `percentile at ${x}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
