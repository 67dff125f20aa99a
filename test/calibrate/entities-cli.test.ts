/**
 * `seclake calibrate` with per-entity thresholds and honest confidence, through the CLI (in-process) on a real model
 * file (test/calibrate/fixture.ts: known entities score ≈ 6 on 10.x.x.x and ≈ 0 elsewhere).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { registerCalibrate } from '../../src/cli/commands/calibrate.js';
import { readModelHeader } from '../../src/detectors/ipinsights/index.js';
import { annotateEntity, readCalibration, thresholdFor } from '../../src/detectors/calibration.js';
import { InsufficientCalibrationDataError } from '../../src/calibrate/run.js';
import { writeFixtureModel } from './fixture.js';

async function calibrate(args: string[]): Promise<string> {
  const chunks: string[] = [];
  const program = new Command().exitOverride();
  registerCalibrate(program, { stdout: (s) => void chunks.push(s), stderr: () => {} });
  for (const c of program.commands) c.exitOverride();
  await program.parseAsync(['node', 'seclake', 'calibrate', ...args]);
  return chunks.join('');
}

/**
 * user_1 (a database: only ever 10.x, score ≈ 6) and user_2 (a web server: half its pairs from anywhere, score ≈ 0),
 * 400 pairs each, both in group "subnet a"; user_3 with 5 pairs of its own in "subnet b".
 */
function normalCsv(): string {
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) lines.push(`user_1,10.0.${i % 200}.${1 + (i % 250)},subnet a`);
  for (let i = 0; i < 400; i++) lines.push(i % 2 ? `user_2,10.1.${i % 200}.${1 + (i % 250)},subnet a` : `user_2,${60 + (i % 100)}.${i % 250}.7.${1 + (i % 200)},subnet a`);
  for (let i = 0; i < 5; i++) lines.push(`user_3,10.2.0.${i + 1},subnet b`);
  return lines.join('\n') + '\n';
}

test('calibrate: per-entity thresholds from the normal CSV\'s group column, stored as version 2 and used by thresholdFor', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-entities-'));
  try {
    const model = path.join(dir, 'm.model');
    writeFixtureModel(model);
    const normal = path.join(dir, 'normal.csv');
    writeFileSync(normal, normalCsv());
    const out = await calibrate(['--model', model, '--normal', normal, '--abnormal-gen', 'random', '--max-fpr', '1%', '--json', '--sample', '0']);
    const j = JSON.parse(out) as { threshold: number; calibration: { version: number; support: { sufficient: boolean; needed_n: number; n_normal: number; fpr_interval: [number, number] } } };
    assert.equal(j.calibration.version, 2);
    assert.equal(j.calibration.support.needed_n, 300);
    assert.equal(j.calibration.support.sufficient, true); // 805 pairs >= 3 / 1%
    const cal = readCalibration(readModelHeader(model), model)!;
    const pe = cal.per_entity!;
    assert.equal(pe.target_fpr, 0.01);
    assert.deepEqual(Object.keys(pe.entities).sort(), ['user_1', 'user_2', 'user_3']);
    assert.deepEqual(Object.keys(pe.groups), ['subnet a']); // subnet b has one entity
    // The narrow entity's threshold is far above the global one; the broad one's is not.
    const db = thresholdFor(cal, 'user_1');
    const web = thresholdFor(cal, 'user_2');
    assert.equal(db.source, 'entity');
    assert.ok(db.threshold > cal.threshold + 2, `user_1 ${db.threshold} vs global ${cal.threshold}`);
    assert.ok(web.threshold < db.threshold - 2, `user_2 ${web.threshold}`);
    assert.match(db.text, /user_1's threshold [\d.]+ \(its own 1% quantile [\d.]+ over 400 held-out pairs/);
    // A pair at 3 (between): an anomaly for user_1 only.
    assert.equal(annotateEntity(3, cal, 'user_1').is_anomaly, true);
    assert.equal(annotateEntity(3, cal, 'user_2').is_anomaly, false);
    // 5 pairs: too few for its own quantile; an unknown entity of group subnet a uses the group's threshold.
    assert.equal(pe.entities.user_3!.own, null);
    assert.equal(thresholdFor(cal, 'user_9', 'subnet a').source, 'group');

    // The text output says it too.
    const report = path.join(dir, 'cal.html');
    const text = await calibrate(['--model', model, '--normal', normal, '--abnormal-gen', 'random', '--max-fpr', '1%', '--sample', '0', '--dry-run', '--report', report]);
    const html = readFileSync(report, 'utf8');
    assert.match(html, /<h2>Support<\/h2>/);
    assert.match(html, /<h2>Per-entity thresholds<\/h2>[\s\S]*user_1[\s\S]*subnet a/);
    assert.match(text, /support {7}sufficient: /);
    assert.match(text, /per entity {4}3 entities \(2 with the 300 pairs needed to measure their own 1(\.00)?% quantile\), 1 groups; prior weight 300 pairs/);

    // --no-per-entity: one global threshold.
    await calibrate(['--model', model, '--normal', normal, '--abnormal-gen', 'random', '--max-fpr', '1%', '--sample', '0', '--no-per-entity', '--json']);
    assert.equal(readCalibration(readModelHeader(model), model)!.per_entity, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('calibrate: a held-out set too small for the FPR is stored with low support and its interval, or refused with --require-support', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-entities-'));
  try {
    const model = path.join(dir, 'm.model');
    writeFixtureModel(model);
    const normal = path.join(dir, 'normal.csv');
    writeFileSync(normal, 'user_1,10.0.0.1\nuser_2,10.0.0.2\n');
    const out = await calibrate(['--model', model, '--normal', normal, '--abnormal-gen', 'random', '--max-fpr', '1%', '--json']);
    const j = JSON.parse(out) as { calibration: { support: { sufficient: boolean; n_normal: number; needed_n: number; fpr_interval: [number, number]; note: string } } };
    const s = j.calibration.support;
    assert.equal(s.sufficient, false);
    assert.equal(s.n_normal, 2);
    assert.equal(s.needed_n, 300);
    assert.equal(s.fpr_interval[0], 0);
    assert.ok(Math.abs(s.fpr_interval[1] - 0.8419) < 1e-3, `upper ${s.fpr_interval[1]}`);
    assert.match(s.note, /capped at Medium/);
    assert.equal(readCalibration(readModelHeader(model), model)!.support!.sufficient, false);
    await assert.rejects(
      calibrate(['--model', model, '--normal', normal, '--abnormal-gen', 'random', '--max-fpr', '1%', '--require-support']),
      (err: unknown) => err instanceof InsufficientCalibrationDataError && /only 2 held-out pairs: a false-positive rate of 1% needs at least 300.*--require-support/.test(err.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
