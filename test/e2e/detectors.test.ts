/**
 * Every registered detector through the same command-line paths: on one lake (VPC flow logs v5 of the monitor
 * fixture's instances, two days of history), `seclake train --lake --detector T`, `seclake score`, `seclake
 * calibrate --lake`, `seclake serve` answered for a real external client (boto3), and `seclake monitor --once` on a
 * new object in which two instances contact foreign addresses: findings name the detector, the attack pairs are
 * flagged, `seclake findings` reads them back, and `seclake models list` shows the model.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DETECTORS } from '../../src/detectors/index.js';
import { ingest } from '../../src/ingest/ingest.js';
import { readObjects } from '../../src/lake/catalog.js';
import { DAY0, INSTANCES, writeFlowObject } from '../monitor/fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src/cli/main.ts');

function cli(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `seclake ${args.slice(0, 3).join(' ')} ...: exit ${r.status}\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** `seclake serve` with one model on a free port; resolves with its URL once it listens. */
async function startServe(name: string, model: string): Promise<{ srv: ReturnType<typeof spawn>; url: string }> {
  const srv = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--model', `${name}=${model}`, '--port', '0', '--workers', '0', '--no-watch'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    const onData = (b: Buffer): void => {
      err += b.toString();
      const m = /Serving .* on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    };
    srv.stderr!.on('data', onData);
    srv.stdout!.on('data', onData);
    srv.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { srv, url };
}

/** Quick settings where a detector has them (the test is about the paths, not the model's quality). */
const HP: Record<string, string[]> = {
  ipinsights: ['--hp', 'vector_dim=16', '--hp', 'epochs=8', '--hp', 'num_entity_vectors=64', '--hp', 'mini_batch_size=64', '--hp', 'learning_rate=0.02', '--hp', 'num_ip_vectors=4096', '--threads', '1', '--seed', '7'],
};

const ATTACKS = [
  { instance: 1, peer: '203.0.113.66' },
  { instance: 4, peer: '198.51.100.23' },
];

let dir: string;
let lakeDir: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seclake-e2e-detectors-'));
  lakeDir = path.join(dir, 'lake');
  const hist = [0, 1].map((d) => writeFlowObject(dir, `hist${d}`, { records: 3000, startSec: DAY0 + d * 86400, seed: 100 + d }));
  const sum = await ingest({ lakeDir, paths: hist });
  assert.equal(sum.totals.rejects, 0);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('every detector through the same CLI paths', () => {
  // One new object per detector's monitor run, so each run's findings come from its own object.
  let day = 2;
  for (const det of DETECTORS.filter((d) => d.records === 'pairs')) {
    it(`${det.type}: train --lake, score, calibrate --lake, serve (boto3), monitor, findings, models list`, async () => {
      const model = path.join(dir, `${det.type}.model`);
      const train = JSON.parse(cli(['train', '--lake', lakeDir, '--detector', det.type, '--model', model, '--json', '--no-progress', ...(HP[det.type] ?? [])]).stdout) as Record<string, unknown>;
      assert.equal(train.detector, det.type);
      assert.deepEqual((train.record_definition as { name: string }).name, 'default');
      assert.ok((train.rows as number) > 1000);

      // score: a peer of the instance's tier against a foreign address, in the detector's own wire format.
      const csv = path.join(dir, `${det.type}-pairs.csv`);
      writeFileSync(csv, `${INSTANCES[1]},10.21.0.5\n${INSTANCES[1]},203.0.113.66\n`);
      const scored = JSON.parse(cli(['score', '--model', model, '--input', csv]).stdout) as { predictions: Record<string, number>[] };
      const [normal, foreign] = scored.predictions.map((p) => p[det.score.name]!);
      assert.ok(Number.isFinite(normal) && Number.isFinite(foreign));
      assert.ok(det.score.direction === 'lower_is_anomalous' ? foreign! < normal! : foreign! > normal!, `${det.score.name}: peer ${normal}, foreign ${foreign}`);

      // calibrate on the lake's own history (the model's record definition) against generated foreign pairs.
      const cal = JSON.parse(cli(['calibrate', '--model', model, '--lake', lakeDir, '--since', new Date(DAY0 * 1000).toISOString(), '--until', new Date((DAY0 + 2 * 86400) * 1000).toISOString(), '--abnormal-gen', 'random', '--max-fpr', '1%', '--json']).stdout) as { auc: number; flag_when: string };
      assert.ok(cal.auc > 0.9, `AUC ${cal.auc}`);
      assert.match(cal.flag_when, new RegExp(`^${det.score.name} < `));
      const listed = JSON.parse(cli(['models', 'list', model, '--json']).stdout) as { detector: { type: string }; calibrated?: boolean; calibration?: unknown }[];
      assert.equal(listed[0]!.detector.type, det.type);

      // serve: a real external client (boto3) on /endpoints/<name>/invocations.
      const { srv, url } = await startServe(det.type, model);
      try {
        const py = [
          'import boto3, json, sys',
          `c = boto3.client("sagemaker-runtime", endpoint_url="${url}", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")`,
          `r = c.invoke_endpoint(EndpointName="${det.type}", ContentType="text/csv", Accept="application/json", Body=b"${INSTANCES[1]},10.21.0.5\\n${INSTANCES[1]},203.0.113.66\\n")`,
          'print(r["Body"].read().decode())',
        ].join('\n');
        const r = spawnSync('python3', ['-c', py], { encoding: 'utf8', timeout: 60_000 });
        assert.equal(r.status, 0, r.stderr);
        const served = JSON.parse(r.stdout) as { predictions: Record<string, number>[] };
        assert.deepEqual(served.predictions.map((p) => p[det.score.name]), [normal, foreign], 'the endpoint answers as `seclake score`');
      } finally {
        srv.kill('SIGTERM');
      }

      // monitor: a new object with normal traffic and the two attacks; findings name the detector.
      const d = day++;
      // Attack peers in networks of this detector's own (a detector trained after another's monitor run has learnt
      // that run's attack pairs, and the history detector their /24s, as normal: the lake is shared).
      const attacks = ATTACKS.map((a) => ({ ...a, peer: a.peer.replace(/\.(\d+)\.(\d+)$/, (_m, x: string, y: string) => `.${Number(x) + 10 * d}.${y}`) }));
      const file = writeFlowObject(dir, `new-${det.type}`, { records: 400, startSec: DAY0 + d * 86400, seed: 300 + d, anomalies: attacks });
      const before = Math.max(...readObjects(lakeDir).map((o) => o.seq));
      await ingest({ lakeDir, paths: [file] });
      cli(['monitor', '--lake', lakeDir, '--model', model, '--name', det.type, '--once', '--after-seq', String(before), '--json', '--quiet']);
      const findings = JSON.parse(cli(['findings', '--lake', lakeDir, '--json', '--limit', '1000']).stdout) as { unmapped: Record<string, unknown>; finding_info: { types: string[] } }[];
      const mine = findings.filter((f) => f.unmapped.detector === det.type);
      const anomalies = mine.filter((f) => f.unmapped.kind === 'anomaly');
      for (const a of attacks) {
        assert.ok(anomalies.some((f) => f.unmapped.entity === INSTANCES[a.instance] && f.unmapped.ip === a.peer), `${det.type} flags ${INSTANCES[a.instance]} -> ${a.peer}`);
      }
      for (const f of mine) {
        assert.ok(f.finding_info.types.includes(det.title));
        assert.equal(f.unmapped.native_score_name, det.score.name);
        assert.equal(typeof f.unmapped[det.score.name], 'number');
      }
      // Few false alarms: at a 1% false-positive budget, at most a handful of the new object's 400 normal records.
      const falseAlarms = new Set(anomalies.filter((f) => !attacks.some((a) => f.unmapped.entity === INSTANCES[a.instance] && f.unmapped.ip === a.peer)).map((f) => `${String(f.unmapped.entity)} ${String(f.unmapped.ip)}`));
      assert.ok(falseAlarms.size <= 6, `${det.type}: ${falseAlarms.size} false alarms: ${[...falseAlarms].join(', ')}`);
    });
  }

  // Detectors of behaviour windows take other inputs on the same paths (their monitor runs: test/monitor/behaviour.test.ts).
  for (const det of DETECTORS.filter((d) => d.records === 'features')) {
    it(`${det.type}: train --lake, score, serve (boto3), monitor, models list`, async () => {
      // A later object, so the watermark has closed the history's windows whatever ran before.
      await ingest({ lakeDir, paths: [writeFlowObject(dir, `later-${det.type}`, { records: 400, startSec: DAY0 + 9 * 86400, seed: 900 })] });
      const model = path.join(dir, `${det.type}.model`);
      const train = JSON.parse(cli(['train', '--lake', lakeDir, '--detector', det.type, '--model', model, '--json', '--no-progress']).stdout) as Record<string, unknown>;
      assert.equal(train.detector, det.type);
      assert.ok((train.rows as number) >= 4, `${String(train.rows)} windows`);
      // --until keeps later windows out of training (for calibrate and the monitor to continue from).
      const early = JSON.parse(cli(['train', '--lake', lakeDir, '--detector', det.type, '--model', path.join(dir, 'early.model'), '--until', new Date((DAY0 + 86400) * 1000).toISOString(), '--no-register', '--json', '--no-progress']).stdout) as { rows: number; data_time_range: { end: string } };
      assert.ok(early.rows > 0 && early.rows < (train.rows as number), `${early.rows} windows before --until, ${String(train.rows)} in all`);
      assert.ok(Date.parse(early.data_time_range.end) <= (DAY0 + 86400) * 1000);
      const listed = JSON.parse(cli(['models', 'list', model, '--json']).stdout) as { detector: { type: string } }[];
      assert.equal(listed[0]!.detector.type, det.type);
      const dim = (JSON.parse(cli(['models', 'show', model, '--json']).stdout) as { header: { params: { feature_dim: number } } }).header.params.feature_dim;
      assert.ok(dim > 1);
      // score: a window like the training ones (scaled zeros: raw values at the usual level are unknown here, so a
      // plain vector) in the detector's own wire format; serve answers a real client the same.
      const csv = path.join(dir, `${det.type}-features.csv`);
      writeFileSync(csv, `${new Array(dim).fill(0).join(',')}\n${new Array(dim).fill(1e12).join(',')}\n`);
      const scored = JSON.parse(cli(['score', '--model', model, '--input', csv]).stdout) as { scores: { score: number }[] };
      assert.equal(scored.scores.length, 2);
      assert.ok(scored.scores.every((x) => Number.isFinite(x.score)));
      const { srv, url } = await startServe(det.type, model);
      try {
        const py = [
          'import boto3, sys',
          `c = boto3.client("sagemaker-runtime", endpoint_url="${url}", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")`,
          `body = open(${JSON.stringify(csv)}, "rb").read()`,
          `r = c.invoke_endpoint(EndpointName="${det.type}", ContentType="text/csv", Body=body)`,
          'print(r["Body"].read().decode())',
        ].join('\n');
        const r = spawnSync('python3', ['-c', py], { encoding: 'utf8', timeout: 60_000 });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), scored, 'the endpoint answers as `seclake score`');
      } finally {
        srv.kill('SIGTERM');
      }
      // monitor --once with every registered model (pairs and behaviour) runs to the end.
      cli(['monitor', '--lake', lakeDir, '--once', '--json', '--quiet']);
    });
  }

  it('train --lake registered every model for the lake: models list --lake shows them', () => {
    const listed = JSON.parse(cli(['models', 'list', '--lake', lakeDir, '--json']).stdout) as { file: string; detector: { type: string } }[];
    assert.deepEqual(listed.map((m) => m.detector.type).sort(), DETECTORS.map((d) => d.type).sort());
  });
});
