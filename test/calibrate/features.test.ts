/**
 * `seclake calibrate` for a behaviour model (rcf trained on the lake's hourly network windows,
 * test/monitor/behaviour-fixture.ts): the threshold from held-out normal windows after the training cutoff, by target
 * false-positive rate or the three-sigma rule, stored in the model header with the normal quantiles; what needs an
 * abnormal set is refused, naming the flag; a model trained from CSV and a period without windows are refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { registerCalibrate } from '../../src/cli/commands/calibrate.js';
import { runFeatureCalibration } from '../../src/calibrate/features.js';
import { ConfigError, SeclakeError } from '../../src/core/errors.js';
import { readCalibration } from '../../src/detectors/calibration.js';
import { detectorOf, featuresModel, loadModel, readModelHeader } from '../../src/detectors/index.js';
import { parseFeatureCsv } from '../../src/detectors/rcf/csv.js';
import { openLakeQuery } from '../../src/lake/views.js';
import { buildTrainedLake, type TrainedLake } from '../monitor/behaviour-fixture.js';

/** Run `seclake calibrate ...` in-process; stdout and stderr text. */
async function calibrate(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command().exitOverride();
  registerCalibrate(program, { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s) });
  for (const c of program.commands) c.exitOverride();
  await program.parseAsync(['node', 'seclake', 'calibrate', ...args]);
  return { stdout: out.join(''), stderr: err.join('') };
}

describe('calibrate a behaviour model on held-out normal windows', () => {
  let dir: string;
  let t: TrainedLake;
  /** The held-out windows' scores, computed here independently of the calibration code. */
  let scores: number[];
  let batchScores: number[];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-calibrate-rcf-'));
    t = await buildTrainedLake(dir, { learn: false });
    const model = featuresModel(await loadModel(t.model), 'test');
    const b = model.behaviour!()!;
    const db = await openLakeQuery(t.lakeDir);
    try {
      const w = await b.windows(db);
      // As the monitor scores them: in time order, each window against the model that learnt the earlier ones.
      const stream = b.stream();
      scores = w.records.map((r) => {
        const s = stream.score(r).native;
        stream.update(r);
        return s;
      });
      batchScores = [...model.scoreBatch(w.records).native];
    } finally {
      db.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('held out: the windows after the training cutoff (hour 47 to the end of the held-out day)', () => {
    // The training cutoff is hour 47 (its window was still open); the held-out day's last records close hour 70.
    assert.equal(t.calibration.held_out.windows, 24 * 3);
    assert.equal(scores.length, 24 * 3);
    assert.equal(t.calibration.held_out.entities, 3);
    assert.equal(t.calibration.held_out.overlaps_training, false);
  });

  it('--rule three-sigma: mean + 3 std of the held-out scores, stored with direction and quantiles', async () => {
    const r = await calibrate(['--model', t.model, '--lake', t.lakeDir, '--rule', 'three-sigma', '--json']);
    const j = JSON.parse(r.stdout) as { threshold: number; stored: boolean; rule: { kind: string }; flagged: number; fpr: number };
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
    assert.ok(Math.abs(j.threshold - (mean + 3 * std)) < 1e-9, `${j.threshold} vs ${mean + 3 * std}`);
    assert.equal(j.rule.kind, 'three_sigma');
    assert.equal(j.flagged, scores.filter((s) => s > j.threshold).length);
    assert.equal(j.stored, true);
    const cal = readCalibration(readModelHeader(t.model), t.model)!;
    assert.equal(cal.threshold, j.threshold);
    assert.equal(cal.direction, 'higher_is_anomalous');
    assert.equal(cal.score_name, 'score');
    assert.equal(cal.n_normal, scores.length);
    assert.equal(cal.n_abnormal, 0);
    assert.equal(cal.recall, null);
    assert.match(cal.abnormal_source, /three-sigma/);
    assert.equal(cal.normal_quantiles.length, 1001);
    assert.deepEqual([cal.normal_quantiles[0], cal.normal_quantiles[1000]], [Math.min(...scores), Math.max(...scores)]);
  });

  it('--max-fpr 5%: the lowest threshold flagging at most 5% of the windows (a held-out score); --dry-run keeps the model', async () => {
    const before = readFileSync(t.model);
    const r = await calibrate(['--model', t.model, '--lake', t.lakeDir, '--max-fpr', '5%', '--dry-run']);
    assert.match(r.stdout, /^Calibrated .* \(rcf, behaviour windows of network\): at most 5\.00% of held-out windows flagged$/m);
    assert.match(r.stdout, /flag when score > [\d.]+/);
    assert.match(r.stdout, /held out +72 windows of 3 entities, 2026-03-03T23:00:00\.000Z \.\. 2026-03-04T23:00:00\.000Z \(training ended 2026-03-03T23:00:00\.000Z\)/);
    assert.match(r.stderr, /Dry run/);
    assert.deepEqual(readFileSync(t.model), before);
    const j = await runFeatureCalibration({ model: t.model, lakeDir: t.lakeDir, rule: { kind: 'max_fpr', max_fpr: 0.05 }, dryRun: true });
    const sorted = [...scores].sort((a, b) => a - b);
    const allowed = Math.floor(0.05 * scores.length);
    assert.equal(j.threshold, sorted[sorted.length - 1 - allowed]);
    assert.equal(j.flagged, scores.filter((s) => s > j.threshold).length);
    assert.ok(j.flagged <= allowed);
    assert.equal(j.under_resolved, false);
  });

  it('scores the held-out windows score-then-update (the monitor\'s scores), not by the model as trained; learn: true keeps what it learnt', async () => {
    assert.notDeepEqual(scores, batchScores, 'learning the earlier windows changes the later scores');
    const frozen = await runFeatureCalibration({ model: t.model, lakeDir: t.lakeDir, rule: { kind: 'max_fpr', max_fpr: 0.05 }, dryRun: true, prequential: false });
    const sorted = [...batchScores].sort((a, b) => a - b);
    assert.equal(frozen.threshold, sorted[sorted.length - 1 - Math.floor(0.05 * batchScores.length)]);
    assert.equal(frozen.learnt, false);
    // learn: the stored model is the one that learnt the held-out windows; a monitor from it starts after them.
    const copy = path.join(dir, 'learn.model');
    copyFileSync(t.model, copy);
    const j = await runFeatureCalibration({ model: copy, lakeDir: t.lakeDir, rule: { kind: 'max_fpr', max_fpr: 0.05 }, learn: true });
    assert.equal(j.learnt, true);
    const learnt = featuresModel(await loadModel(copy), 'test').behaviour!()!;
    assert.equal(new Date(learnt.closedThrough).toISOString(), j.held_out.until);
    assert.match(readModelHeader(copy).training.source, /then learnt the windows up to 2026-03-04T23:00:00\.000Z \(score-then-update\)$/);
    assert.equal(readCalibration(readModelHeader(copy), copy)!.threshold, j.threshold);
    // The CLI's --learn does the same.
    const viaCli = path.join(dir, 'learn-cli.model');
    copyFileSync(t.model, viaCli);
    const r = await calibrate(['--model', viaCli, '--lake', t.lakeDir, '--max-fpr', '5%', '--learn', '--json']);
    assert.equal((JSON.parse(r.stdout) as { learnt: boolean }).learnt, true);
    assert.equal(readModelHeader(viaCli).params.features !== undefined, true);
    assert.equal(featuresModel(await loadModel(viaCli), 'test').behaviour!()!.closedThrough, learnt.closedThrough);
    const db = await openLakeQuery(t.lakeDir);
    try {
      const w = await featuresModel(await loadModel(t.model), 'test').behaviour!()!.windows(db);
      const replayed = featuresModel(await loadModel(t.model), 'test').behaviour!()!.stream();
      for (const r of w.records) replayed.update(r);
      const fromFile = learnt.stream();
      assert.deepEqual(w.records.map((r) => fromFile.score(r).native), w.records.map((r) => replayed.score(r).native), 'the stored forest is the one that learnt them');
    } finally {
      db.close();
    }
  });

  it('refuses what needs an abnormal set, naming the flag and what to use instead', async () => {
    const cases: [string[], RegExp][] = [
      [['--abnormal-gen', 'random'], /--abnormal-gen does not apply to a behaviour model .*--max-fpr, --rule three-sigma/],
      [['--min-precision', '90%'], /--min-precision does not apply to a behaviour model/],
      [['--report', path.join(dir, 'r.html')], /--report does not apply to a behaviour model/],
      [['--labels', path.join(dir, 'l.csv')], /--labels does not apply/],
      [['--rule', 'three-sigma', '--max-fpr', '1%'], /give one of --max-fpr/],
    ];
    for (const [extra, re] of cases) {
      await assert.rejects(calibrate(['--model', t.model, '--lake', t.lakeDir, ...extra]), (e: unknown) => e instanceof ConfigError && re.test(e.message), extra.join(' '));
    }
  });

  it('refuses a period without closed windows, and a model trained from CSV', async () => {
    await assert.rejects(
      calibrate(['--model', t.model, '--lake', t.lakeDir, '--since', '2026-03-09']),
      (e: unknown) => e instanceof SeclakeError && /no closed behaviour windows of network .*training ended at 2026-03-03T23:00:00.000Z.*ingest logs newer/.test(e.message),
    );
    const csvModel = path.join(dir, 'csv.model');
    const rows = Array.from({ length: 64 }, (_, i) => `${i % 7},${(i * 3) % 5},${i % 2}`).join('\n');
    await detectorOf('rcf').train({ train: { matrix: parseFeatureCsv(rows, 'train.csv') }, hyperparameters: { num_trees: 50, num_samples_per_tree: 32 }, modelPath: csvModel, log: () => {} });
    await assert.rejects(runFeatureCalibration({ model: csvModel, lakeDir: t.lakeDir }), (e: unknown) => e instanceof ConfigError && /trained from CSV features/.test(e.message));
  });
});
