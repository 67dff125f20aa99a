/**
 * `seclake models list | show | detectors`, on a trained
 * and calibrated IP Insights model, one trained with a record definition, a model of the second detector (`history`,
 * native score prefix_score), the legacy model file written before the detector platform
 * (src/detectors/ipinsights/testdata/legacy-v1.model), a calibration in the other direction (higher_is_anomalous), a
 * model of a detector this seclake does not have, and corrupt files. The models were trained and calibrated by the
 * real CLI (node --import tsx src/cli/main.ts, as a user runs it), and `--help` is read from it; the `models`
 * commands themselves run in this process through the same command definitions and error-to-exit-status mapping
 * (a process per call cost most of this file's time).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Command, CommanderError } from 'commander';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, errorMessage } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { registerModels } from '../../src/cli/commands/models.js';
import { readCalibration } from '../../src/detectors/calibration.js';
import { findDetector } from '../../src/detectors/index.js';
import { subnetData } from '../../src/detectors/ipinsights/test-helpers.js';
import { trainIpInsights } from '../../src/detectors/ipinsights/train.js';
import { readModelHeader, updateModelMetadata, writeModelFile } from '../../src/detectors/model-file.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
const LEGACY = path.join(ROOT, 'src', 'detectors', 'ipinsights', 'testdata', 'legacy-v1.model');

function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `seclake models ...` in this process: the command's own output, and the exit status main() would give. */
async function models(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const program = new Command().exitOverride();
  registerModels(program, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  for (const c of program.commands) c.exitOverride();
  const saved = process.exitCode;
  process.exitCode = undefined;
  let status = 0;
  try {
    await program.parseAsync(['node', 'seclake', ...args]);
    status = process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    status = err instanceof CommanderError ? err.exitCode : err instanceof ConfigError ? 2 : 1;
    stderr += `seclake: ${errorMessage(err)}\n`;
  } finally {
    process.exitCode = saved;
  }
  return { status, stdout, stderr };
}

const HP = ['--hp', 'num_entity_vectors=128', '--hp', 'vector_dim=16', '--hp', 'epochs=6', '--hp', 'mini_batch_size=64', '--hp', 'num_ip_vectors=4096', '--hp', 'learning_rate=0.02'];
const FLOW_PEER_SQL = 'SELECT entity, ip, time FROM flow_peer_pairs';

let dir: string;
/** Models that read cleanly (all in `good`). */
let good: string;
let calibrated: string;
let withDefinition: string;
let historyModel: string;
let legacyCopy: string;
/** A calibration stored with higher_is_anomalous and another score name. */
let higher: string;
/** Problem files (all in `bad`). */
let bad: string;
let notModel: string;
let truncated: string;
let flipped: string;
let unknown: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seclake-models-cli-'));
  good = path.join(dir, 'good');
  bad = path.join(dir, 'bad');
  mkdirSync(good);
  mkdirSync(bad);

  // A model trained and calibrated with the CLI, as a user does.
  const rng = new Rng(4);
  const lines: string[] = [];
  for (let r = 0; r < 40; r++) for (let u = 0; u < 20; u++) lines.push(`user_${u},10.${u}.1.${1 + rng.int(20)}`);
  const csv = path.join(dir, 'train.csv');
  writeFileSync(csv, lines.join('\n') + '\n');
  calibrated = path.join(good, 'logins.model');
  const t = cli(['train', '--train', csv, '--model', calibrated, '--threads', '1', '--seed', '3', '--no-progress', ...HP]);
  assert.equal(t.status, 0, t.stderr);
  const c = cli(['calibrate', '--model', calibrated, '--normal', csv, '--abnormal-gen', 'random', '--max-fpr', '2%']);
  assert.equal(c.status, 0, c.stderr);
  const cal = readModelHeader(calibrated).calibration!;

  // One trained from a record definition (what `train --lake --pairs flow-peer` records).
  withDefinition = path.join(good, 'flows.model');
  await trainIpInsights({
    train: subnetData(12, 20, 2),
    hyperparameters: { num_entity_vectors: 64, vector_dim: 8, epochs: 2, mini_batch_size: 32, num_ip_vectors: 2048, threads: 1, seed: 1 },
    modelPath: withDefinition,
    inProcess: true,
    recordDefinition: { kind: 'pairs', name: 'flow-peer', sql: FLOW_PEER_SQL },
    source: 'lake:/data/lake',
    log: () => {},
  });

  // The second detector, through the registry, with a calibration in its own score.
  historyModel = path.join(good, 'history.model');
  await findDetector('history')!.train({ train: subnetData(15, 10, 3), modelPath: historyModel, recordDefinition: { kind: 'pairs', name: 'user-login' }, source: 'lake:/data/lake', log: () => {} });
  updateModelMetadata(historyModel, { calibration: { ...cal, direction: 'lower_is_anomalous', score_name: 'prefix_score', threshold: 12.5 } });

  legacyCopy = path.join(good, 'legacy.model');
  copyFileSync(LEGACY, legacyCopy);

  // The calibrated model with its calibration turned around (a detector whose larger scores are anomalous).
  higher = path.join(good, 'higher.model');
  copyFileSync(calibrated, higher);
  updateModelMetadata(higher, { calibration: { ...cal, direction: 'higher_is_anomalous', score_name: 'anomaly_score', threshold: 0.75 } });

  notModel = path.join(bad, 'notes.model');
  writeFileSync(notModel, 'this is not a model file, just some text that is long enough\n');
  truncated = path.join(bad, 'truncated.model');
  const bytes = readFileSync(calibrated);
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
  flipped = path.join(bad, 'flipped.model');
  const f = Buffer.from(bytes);
  f[f.length - 200]! ^= 0xff;
  writeFileSync(flipped, f);
  unknown = path.join(bad, 'forest.model');
  writeModelFile(
    unknown,
    {
      detector: { type: 'no-such-detector', version: 3 },
      record_definition: { kind: 'features', name: 'per-entity-hour' },
      hyperparameters: { trees: 50 },
      params: {},
      training: { rows: 10, distinct_entities: 2, data_time_range: null, source: 'test', trained_at: '2026-01-01T00:00:00.000Z', training_seconds: 0.1, seclake_version: '9.9.9' },
      calibration: null,
      extras: {},
    },
    [{ name: 'weights', dtype: 'float32', shape: [4], data: new Float32Array([1, 2, 3, 4]) }],
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('seclake models list', () => {
  it('lists the model files of a directory: detector, record definition, times, rows, entities, calibration rule, size', async () => {
    const r = await models(['models', 'list', '--dir', good]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^file\s+detector\s+records\s+trained\s+data\s+rows\s+entities\s+calibration\s+size$/);
    assert.equal(lines.length, 2 + 5, r.stdout);
    const row = (name: string): string => lines.find((l) => l.includes(name))!;
    const cal = readCalibration(readModelHeader(calibrated))!;
    assert.match(row('logins.model'), /ipinsights v\d+ +– +\d{4}-\d\d-\d\d \d\d:\d\dZ +– +800 +20 +dot_product < -?\d/);
    assert.ok(row('logins.model').includes(`dot_product < ${String(Number(cal.threshold.toPrecision(5)))}`), row('logins.model'));
    assert.match(row('flows.model'), /ipinsights v\d+ +pairs:flow-peer .* 240 +12 +not calibrated/);
    assert.match(row('history.model'), /history v\d+ +pairs:user-login .* 150 +15 +prefix_score < 12\.5 /);
    assert.match(row('higher.model'), /anomaly_score > 0\.75 /);
    assert.match(row('legacy.model'), /ipinsights v1 \(legacy file\) +– .* 2026-11-01 → 2026-11-02 +102 +14 +not calibrated +72\.4 KiB/);
    assert.match(r.stderr, /\(5 model files\)/);
  });

  it('--json: one object per file with the detector, record definition, training facts and calibration direction', async () => {
    const r = await models(['models', 'list', calibrated, withDefinition, LEGACY, higher, historyModel, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const items = JSON.parse(r.stdout) as Record<string, any>[];
    assert.deepEqual(items.map((i) => path.basename(i.file as string)), ['logins.model', 'flows.model', 'legacy-v1.model', 'higher.model', 'history.model']);
    const [cal, rd, legacy, hi, hist] = items;
    assert.deepEqual(cal!.detector, { type: 'ipinsights', version: readModelHeader(calibrated).detector.version, title: 'IP Insights', registered: true });
    assert.equal(cal!.legacy, false);
    assert.equal(cal!.rows, 800);
    assert.equal(cal!.distinct_entities, 20);
    assert.equal(cal!.calibrated, true);
    assert.equal(cal!.calibration.direction, 'lower_is_anomalous');
    assert.equal(cal!.calibration.score_name, 'dot_product');
    assert.equal(cal!.calibration.threshold, readCalibration(readModelHeader(calibrated))!.threshold);
    assert.equal(cal!.bytes, statSync(calibrated).size);
    assert.deepEqual(rd!.record_definition, { kind: 'pairs', name: 'flow-peer', sql: FLOW_PEER_SQL });
    assert.equal(rd!.calibrated, false);
    assert.equal(rd!.calibration, null);
    assert.equal(legacy!.legacy, true);
    assert.equal(legacy!.format_version, 1);
    assert.deepEqual(legacy!.detector, { type: 'ipinsights', version: 1, title: 'IP Insights', registered: true });
    assert.deepEqual(legacy!.data_time_range, { start: '2026-11-01T00:00:00.000Z', end: '2026-11-02T05:00:00.000Z' });
    assert.equal(hi!.calibration.direction, 'higher_is_anomalous');
    assert.equal(hi!.calibration.score_name, 'anomaly_score');
    assert.equal(hist!.detector.type, 'history');
    assert.equal(hist!.detector.registered, true);
    assert.deepEqual(hist!.record_definition, { kind: 'pairs', name: 'user-login' });
    assert.equal(hist!.calibration.score_name, 'prefix_score');
    assert.ok(items.every((i) => i.error === undefined));
  });

  it('problem files: each reported on stderr with its path, the readable ones still listed, exit status 1', async () => {
    const r = await models(['models', 'list', '--dir', bad]);
    assert.equal(r.status, 1);
    assert.ok(r.stderr.includes(`seclake: ${notModel}: not a seclake model (bad magic)`), r.stderr);
    assert.ok(r.stderr.includes(`seclake: ${unknown}: unknown detector 'no-such-detector'; known: ipinsights`), r.stderr);
    assert.match(r.stdout, /forest\.model +no-such-detector v3 \(unknown\) +features:per-entity-hour/);
    // Without --verify only headers are read: the damaged data of truncated/flipped is not noticed.
    assert.match(r.stdout, /truncated\.model/);
    assert.match(r.stdout, /flipped\.model/);
    assert.doesNotMatch(r.stdout, /notes\.model/);

    const v = await models(['models', 'list', '--dir', bad, '--verify', '--json']);
    assert.equal(v.status, 1);
    const byName = new Map((JSON.parse(v.stdout) as { file: string; error?: string }[]).map((i) => [path.basename(i.file), i.error ?? '']));
    assert.match(byName.get('notes.model')!, /not a seclake model \(bad magic\)/);
    assert.match(byName.get('truncated.model')!, /model file size \d+ does not match its header \(\d+\); truncated or corrupt/);
    assert.match(byName.get('flipped.model')!, /fails its CRC-32 check; the file is corrupt/);
    assert.match(byName.get('forest.model')!, /unknown detector 'no-such-detector'/);
    for (const [name, err] of byName) assert.ok(err.startsWith(path.join(bad, name)), `${name}: the error names the file: ${err}`);

    const ok = await models(['models', 'list', '--dir', good, '--verify']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /\(5 model files, 5 verified\)/);
  });

  it('a missing file, an empty directory, --dir with files', async () => {
    const missing = path.join(dir, 'nope.model');
    const r = await models(['models', 'list', missing]);
    assert.equal(r.status, 1);
    assert.ok(r.stderr.includes(`seclake: ${missing}: cannot read model`), r.stderr);
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    const e = await models(['models', 'list', '--dir', empty]);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /^No model files \(\*\.model\) in /);
    const both = await models(['models', 'list', '--dir', good, calibrated]);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /either --dir DIR or model files/);
  });
});

describe('seclake models show', () => {
  it('prints the header readably: detector, score, hyperparameters, training, calibration, sections', async () => {
    const r = await models(['models', 'show', calibrated]);
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /^Model\n {2}file +.*logins\.model \(\d/);
    assert.match(out, /detector +IP Insights \(ipinsights v\d+\)\n +learns which IP addresses/);
    assert.match(out, /native score +dot_product \(lower is anomalous\)/);
    assert.match(out, /records +– \(record definition not recorded\)/);
    assert.match(out, /checked +data size and CRC-32 ok/);
    assert.match(out, /\nHyperparameters\n[\s\S]*vector_dim +16 +\(default 128\)/);
    assert.match(out, /\nTraining\n[\s\S]*Trained at +\d{4}-\d\d-\d\d [\d:]+Z/);
    assert.match(out, /Training rows +800 \(0 malformed skipped, 0 IPv6\)/);
    assert.match(out, /Distinct entities +20/);
    assert.match(out, /Source +.*train\.csv/);
    assert.match(out, /Epoch history +6 epochs, loss [\d.]+ → [\d.]+/);
    assert.match(out, /\nCalibration\n {2}threshold +-?[\d.e-]+ \(flag when dot_product < threshold\)/);
    assert.match(out, /chosen by +false-positive rate at most 2\.00%/);
    assert.match(out, /normal percentiles +p1 .* \(1001 quantiles stored\)/);
    assert.match(out, /at FPR 1\.0% +threshold /);
    assert.match(out, /\nSections \(\d+, [\d.]+ KiB\)\n +name +dtype +shape +bytes\n[\s\S]*entity +float32 +128 x 16 +8,192/);
    assert.equal(r.stderr, '');
  });

  it('the record definition and its query; an uncalibrated model says how to calibrate', async () => {
    const r = await models(['models', 'show', withDefinition]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /records +pairs, definition 'flow-peer'\n {2}query +SELECT entity, ip, time FROM flow_peer_pairs/);
    assert.match(r.stdout, /Source +lake:\/data\/lake/);
    assert.match(r.stdout, /\nCalibration\n {2}not calibrated: seclake calibrate --model .*flows\.model/);
  });

  it('the second detector: its title, prefix_score, its own training keys as they are, no epoch history', async () => {
    const r = await models(['models', 'show', historyModel]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /detector +Prefix history \(history v\d+\)/);
    assert.match(r.stdout, /native score +prefix_score \(lower is anomalous\)/);
    assert.match(r.stdout, /checked +data size and CRC-32 ok; the history detector loads it/);
    assert.match(r.stdout, /Training rows +150 /);
    assert.match(r.stdout, /\n {2}distinct_pairs +\d+\n/, 'a detector-specific key, as it is');
    assert.doesNotMatch(r.stdout, /Epoch history/);
    assert.match(r.stdout, /threshold +12\.5 \(flag when prefix_score < threshold\)/);
  });

  it('the legacy file: read as ipinsights v1 and said so; higher_is_anomalous: "flag when anomaly_score > threshold"', async () => {
    const r = await models(['models', 'show', LEGACY]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /format +SECLAKE-IPI format 1 \(legacy: written before the detector platform, read as ipinsights v1/);
    assert.match(r.stdout, /Data time range +2026-11-01 00:00:00Z → 2026-11-02 05:00:00Z/);
    assert.match(r.stdout, /checked +data size and CRC-32 ok; the ipinsights detector loads it/);
    const h = await models(['models', 'show', higher]);
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, /native score +anomaly_score \(higher is anomalous\)/);
    assert.match(h.stdout, /threshold +0\.75 \(flag when anomaly_score > threshold\)/);
  });

  it('--json: the header as stored (current shape) and what seclake makes of it', async () => {
    const r = await models(['models', 'show', calibrated, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { file: string; verified: boolean; legacy: boolean; detector: { type: string; registered: boolean }; score: { name: string; direction: string }; header: unknown };
    assert.equal(j.verified, true);
    assert.equal(j.legacy, false);
    assert.equal(j.score.name, 'dot_product');
    assert.equal(j.score.direction, 'lower_is_anomalous');
    assert.equal(j.detector.registered, true);
    assert.deepEqual(j.header, JSON.parse(JSON.stringify(readModelHeader(calibrated))));
    const nv = await models(['models', 'show', truncated, '--json', '--no-verify']);
    assert.equal(nv.status, 0, 'the header alone is fine');
    assert.equal((JSON.parse(nv.stdout) as { verified: boolean }).verified, false);
  });

  it('errors name the file: not a model, truncated, corrupt data, unknown detector', async () => {
    const n = await models(['models', 'show', notModel]);
    assert.equal(n.status, 1);
    assert.equal(n.stdout, '');
    assert.equal(n.stderr.trim(), `seclake: ${notModel}: not a seclake model (bad magic)`);

    const t = await models(['models', 'show', truncated]);
    assert.equal(t.status, 1);
    assert.match(t.stdout, /^Model\n/, 'the header is still shown');
    assert.ok(t.stderr.includes(`seclake: ${truncated}: model file size`), t.stderr);

    const f = await models(['models', 'show', flipped]);
    assert.equal(f.status, 1);
    assert.ok(f.stderr.includes(`seclake: ${flipped}: model data fails its CRC-32 check; the file is corrupt`), f.stderr);

    const u = await models(['models', 'show', unknown]);
    assert.equal(u.status, 1);
    assert.match(u.stdout, /detector +no-such-detector v3 \(not a detector of this seclake; known: ipinsights/);
    assert.match(u.stdout, /records +features, definition 'per-entity-hour'/);
    assert.match(u.stdout, /\nHyperparameters\n {2}trees +50\n/);
    assert.ok(u.stderr.includes(`seclake: ${unknown}: unknown detector 'no-such-detector'; known: ipinsights`), u.stderr);
  });
});

describe('seclake models detectors', () => {
  it('lists the registered detectors with their native score, direction and hyperparameter defaults', async () => {
    const r = await models(['models', 'detectors']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ipinsights \(v\d+\): IP Insights\n {2}learns which IP addresses/);
    assert.match(r.stdout, /native score: dot_product \(lower is anomalous: flag when dot_product < threshold\)/);
    assert.match(r.stdout, /vector_dim = 128 +Size of the entity and IP embeddings/);
    assert.match(r.stdout, /\nhistory \(v\d+\): Prefix history\n[\s\S]*native score: prefix_score \(lower is anomalous/);
    const j = JSON.parse((await models(['models', 'detectors', '--json'])).stdout) as { type: string; score: { name: string; direction: string }; hyperparameters: { name: string; default: unknown }[] }[];
    const ipi = j.find((d) => d.type === 'ipinsights')!;
    assert.equal(ipi.score.name, 'dot_product');
    assert.equal(ipi.score.direction, 'lower_is_anomalous');
    assert.equal(ipi.hyperparameters.find((h) => h.name === 'vector_dim')!.default, 128);
    assert.ok(j.some((d) => d.type === 'history' && d.score.name === 'prefix_score'));
  });

  it('--help has examples; seclake --help lists the command', () => {
    for (const args of [['models', '--help'], ['models', 'list', '--help']]) {
      const r = cli(args);
      assert.equal(r.status, 0, args.join(' '));
      assert.match(r.stdout, /Examples:\n {2}seclake models/, args.join(' '));
    }
    assert.match(cli(['--help']).stdout, /\n {2}models /);
  });
});
