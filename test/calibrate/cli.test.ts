import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { registerCalibrate } from '../../src/cli/commands/calibrate.js';
import { ConfigError } from '../../src/core/errors.js';
import { IpInsightsModel, readModelHeader } from '../../src/detectors/ipinsights/index.js';
import { annotate, readCalibration } from '../../src/detectors/calibration.js';
import { ingest } from '../../src/ingest/ingest.js';
import { fixtureNormalCsv, writeFixtureModel } from './fixture.js';

/** Run `seclake calibrate ...` in-process; returns what it printed on stdout. */
async function calibrate(args: string[]): Promise<string> {
  const chunks: string[] = [];
  const program = new Command().exitOverride();
  registerCalibrate(program, { stdout: (s) => void chunks.push(s), stderr: () => {} });
  for (const c of program.commands) c.exitOverride();
  await program.parseAsync(['node', 'seclake', 'calibrate', ...args]);
  return chunks.join('');
}

function setup(): { dir: string; model: string; normal: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-calibrate-'));
  const model = path.join(dir, 'logins.model');
  writeFixtureModel(model);
  const normal = path.join(dir, 'normal.csv');
  writeFileSync(normal, fixtureNormalCsv());
  return { dir, model, normal, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('calibrate writes the calibration into the model header, with report and PNG plots', async () => {
  const t = setup();
  try {
    assert.equal(readModelHeader(t.model).calibration, null);
    const report = path.join(t.dir, 'cal.html');
    const plot = path.join(t.dir, 'cal.png');
    const out = await calibrate(['--model', t.model, '--normal', t.normal, '--abnormal-gen', 'random', '--max-fpr', '1%', '--json', '--report', report, '--plot', plot]);
    const j = JSON.parse(out) as { auc: number; threshold: number; fpr: number; normal: { used: number; unknownEntityPairs: number; unknownEntities: number }; stored: boolean };
    assert.equal(j.stored, true);
    assert.equal(j.normal.used, 2000);
    assert.equal(j.normal.unknownEntityPairs, 5);
    assert.equal(j.normal.unknownEntities, 2);
    assert.ok(j.auc > 0.95, `AUC ${j.auc}`);
    assert.ok(j.fpr <= 0.01);
    const cal = readCalibration(readModelHeader(t.model), t.model)!;
    assert.ok(cal, 'calibration stored');
    assert.equal(cal.threshold, j.threshold);
    assert.equal(cal.rule.kind, 'max_fpr');
    assert.equal(cal.normal_quantiles.length, 1001);
    // The weights are untouched: the model still loads (CRC checked) and scores.
    const model = await IpInsightsModel.load(t.model);
    assert.ok(model.scorePairs([{ entity: 'user_1', ip: '10.1.2.3' }])[0]!.dot_product > 3);
    assert.match(readFileSync(report, 'utf8'), /<svg[\s\S]*<svg[\s\S]*<svg/);
    for (const f of ['cal.png', 'cal-roc.png', 'cal-pr.png']) {
      const png = readFileSync(path.join(t.dir, f));
      assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', f);
    }
  } finally {
    t.cleanup();
  }
});

test('the stored threshold changes what `seclake score --verbose` flags (real CLI process)', async () => {
  const t = setup();
  try {
    const pairsCsv = path.join(t.dir, 'pairs.csv');
    // user_3 on its usual network (≈ 6), user_3 elsewhere (≈ 0), an entity the model never saw
    writeFileSync(pairsCsv, 'user_3,10.20.30.40\nuser_3,198.51.100.7\nnobody,10.1.1.1\n');
    const score = (verbose: boolean): Record<string, unknown>[] => {
      const args = ['--import', 'tsx', 'src/cli/main.ts', 'score', '--model', t.model, '--input', pairsCsv, '--accept', 'application/jsonlines'];
      if (verbose) args.push('--verbose');
      const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    const flags = (): unknown[] => score(true).map((r) => r.is_anomaly);
    // Uncalibrated: the SageMaker shape only.
    assert.deepEqual(score(true).map((r) => 'is_anomaly' in r || 'anomaly_percentile' in r), [false, false, false]);
    await calibrate(['--model', t.model, '--normal', t.normal, '--threshold', '-5', '--json']);
    assert.deepEqual(flags(), [false, false, false]);
    await calibrate(['--model', t.model, '--normal', t.normal, '--max-fpr', '0.01', '--json']);
    assert.deepEqual(flags(), [false, true, true]);
    await calibrate(['--model', t.model, '--normal', t.normal, '--threshold', '100', '--json']);
    assert.deepEqual(flags(), [true, true, true]);
    // percentile: the usual pair sits inside the normal distribution, the odd one below all of it
    const [usual, odd, unknown] = score(true);
    assert.ok((usual!.anomaly_percentile as number) > 0 && (usual!.anomaly_percentile as number) < 1);
    assert.equal(odd!.anomaly_percentile, 1);
    assert.equal(unknown!.entity_known, false);
    // Without --verbose the body stays exactly SageMaker's: dot_product only.
    for (const r of score(false)) assert.deepEqual(Object.keys(r), ['dot_product']);
    // The library view agrees with the CLI.
    const m = await IpInsightsModel.load(t.model);
    assert.equal(m.calibration?.threshold, 100);
    assert.equal(annotate(m.scorePairs([{ entity: 'user_3', ip: '10.20.30.40' }])[0]!, readCalibration(m.header)!).is_anomaly, true);
  } finally {
    t.cleanup();
  }
});

test('--dry-run leaves the model file alone; --min-precision and labels work from the CLI', async () => {
  const t = setup();
  try {
    const before = statSync(t.model).mtimeMs;
    const labels = path.join(t.dir, 'labels.csv');
    writeFileSync(labels, 'entity,ip,label\nuser_2,192.0.2.1,false_positive\nuser_2,192.0.2.2,fp\nuser_5,203.0.113.5,true_positive\n');
    const out = await calibrate(['--model', t.model, '--normal', t.normal, '--abnormal-gen', 'random', '--min-precision', '0.9', '--labels', labels, '--dry-run']);
    assert.match(out, /highest recall with precision ≥ 90\.0%/);
    assert.match(out, /Feedback: 2 false positive\(s\) → normal, 1 true positive\(s\) → abnormal/);
    assert.equal(readModelHeader(t.model).calibration, null);
    assert.equal(statSync(t.model).mtimeMs, before);
  } finally {
    t.cleanup();
  }
});

test('option errors are ConfigErrors that name the option', async () => {
  const t = setup();
  try {
    const bad = async (args: string[], re: RegExp): Promise<void> => {
      await assert.rejects(calibrate(['--model', t.model, ...args]), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match((e as Error).message, re);
        return true;
      });
    };
    await bad(['--normal', t.normal, '--lake', t.dir, '--since', '2024-01-01', '--until', '2024-01-02'], /either --normal/);
    await bad(['--lake', t.dir, '--since', '2024-01-01'], /--since and --until/);
    await bad(['--lake', t.dir, '--since', 'yesterday', '--until', '2024-01-02'], /--since: not an ISO-8601/);
    await bad(['--normal', t.normal, '--max-fpr', '2'], /--max-fpr: expected a rate/);
    await bad(['--normal', t.normal, '--max-fpr', '1%', '--threshold', '0'], /at most one of/);
    await bad(['--normal', t.normal, '--plot', 'x.jpg'], /--plot: file name must end in \.svg or \.png/);
    await bad(['--normal', t.normal, '--abnormal', t.normal, '--abnormal-gen', 'asn'], /either --abnormal FILE or --abnormal-gen/);
    await bad([], /normal traffic is required/);
  } finally {
    t.cleanup();
  }
});

test('--lake takes normal pairs from a held-out time window with the training pair query', async () => {
  const t = setup();
  try {
    const instances = Array.from({ length: 6 }, (_, i) => `i-0000000000000000${i}`);
    const model = path.join(t.dir, 'vpc.model');
    writeFixtureModel(model, instances.slice(0, 5)); // the 6th instance is new since training
    const day1 = Date.UTC(2024, 4, 1) / 1000;
    const day2 = Date.UTC(2024, 4, 2) / 1000;
    const lines = ['version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status'];
    for (const [day, count] of [[day1, 40], [day2, 30]] as const) {
      for (let i = 0; i < count; i++) {
        const inst = instances[i % instances.length]!;
        const src = `10.0.${i % 7}.${(i * 13) % 250}`;
        const start = day + 3600 + i * 60;
        lines.push(`3 vpc-0abc subnet-0abc ${inst} eni-0abc 123456789012 IPv4 ${src} 172.31.0.9 443 5000${i % 10} ${src} 172.31.0.9 6 500 5 ${start} ${start + 30} ACCEPT 2 OK`);
      }
    }
    lines.push(`3 vpc-0abc subnet-0abc - eni-0abc 123456789012 IPv4 10.0.0.1 172.31.0.9 443 50000 10.0.0.1 172.31.0.9 6 500 5 ${day2 + 100} ${day2 + 130} ACCEPT 2 OK`);
    const flow = path.join(t.dir, 'flow.log');
    writeFileSync(flow, lines.join('\n') + '\n');
    const lake = path.join(t.dir, 'lake');
    const s = await ingest({ lakeDir: lake, paths: [flow], region: 'us-east-1', accountId: '123456789012' });
    assert.equal(s.totals.failed, 0);
    // v3 flow logs (no flow-direction) and an instance -> source address model: the reference query.
    const out = await calibrate(['--model', model, '--lake', lake, '--pairs', 'reference', '--since', '2024-05-02', '--until', '2024-05-03T00:00:00Z', '--abnormal-gen', 'random', '--json']);
    const j = JSON.parse(out) as { normal: { source: string; pairs: number; used: number; unknownEntityPairs: number; unknownEntities: number } };
    // day 2 only: 30 pairs with an instance id (the '-' row is dropped by the query), 5 of them from the new instance
    assert.equal(j.normal.pairs, 30);
    assert.equal(j.normal.unknownEntityPairs, 5);
    assert.equal(j.normal.unknownEntities, 1);
    assert.equal(j.normal.used, 25);
    assert.match(j.normal.source, /^lake 2024-05-02T00:00:00\.000Z \.\. 2024-05-03T00:00:00\.000Z$/);
    assert.ok(readCalibration(readModelHeader(model)));
  } finally {
    t.cleanup();
  }
});
