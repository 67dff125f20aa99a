/**
 * An RCF model behind the endpoint, called by real clients (the AWS SDK v3, boto3 as the reference Lambda calls it,
 * and the AWS CLI) in SageMaker RCF's request and response formats: CSV / JSON instances / JSON lines in,
 * {"scores":[{"score":x}]}, JSON lines or CSV out.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { Rng } from '../../src/core/rng.js';
import { detectorOf } from '../../src/detectors/index.js';
import { parseFeatureCsv } from '../../src/detectors/rcf/csv.js';
import type { AnyDetectorModel } from '../../src/detectors/types.js';
import type { RunningServer } from '../../src/serve/server.js';
import { startServer } from '../../src/serve/start.js';
import { tempDir } from './helpers.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LAMBDA_INVOKE = path.join(HERE, 'fixtures', 'lambda_invoke.py');

/** Two 3-d clusters (x = -5 and x = 5), as the library's rcf-paper.csv. */
function clusters(n: number, seed: number): string {
  const rng = new Rng(seed);
  const g = (): number => (rng.next() + rng.next() + rng.next() - 1.5) * 0.8;
  let s = '';
  for (let i = 0; i < n; i++) s += `${(i % 2 ? 5 : -5) + g()},${g()},${g()}\n`;
  return s;
}

function awsEnv(dir: string): NodeJS.ProcessEnv {
  const cfg = path.join(dir, 'aws-config');
  writeFileSync(cfg, '');
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  return { ...env, AWS_ACCESS_KEY_ID: 'AKIDDUMMY', AWS_SECRET_ACCESS_KEY: 'dummy', AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: cfg, AWS_SHARED_CREDENTIALS_FILE: cfg, AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '' };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0, stdout, stderr });
    });
  });
}

function requireTool(label: string, cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0) assert.fail(`${label} is required for this test (the CI image has it) but is not usable`);
}

const BODY = '-5.1,0.2,0.1\n5.0,-0.1,0.3\n0.0,0.0,0.0\n';

describe('RCF endpoint with real clients', () => {
  let running: RunningServer<AnyDetectorModel>;
  let tmp: { dir: string; cleanup: () => void };
  let client: SageMakerRuntimeClient;
  before(async () => {
    tmp = tempDir('rcf-serve');
    const csv = path.join(tmp.dir, 'train.csv');
    writeFileSync(csv, clusters(4000, 7));
    const modelPath = path.join(tmp.dir, 'rcf.model');
    await detectorOf('rcf').train({ train: { matrix: parseFeatureCsv(readFileSync(csv, 'utf8'), csv) }, hyperparameters: { num_trees: 50, num_samples_per_tree: 256 }, modelPath, log: () => {} });
    running = await startServer({ models: [{ name: 'rcf-test', path: modelPath }], port: 0, host: '127.0.0.1', watch: false });
    client = new SageMakerRuntimeClient({ endpoint: running.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDDUMMY', secretAccessKey: 'dummy' } });
    writeFileSync(path.join(tmp.dir, 'req.csv'), BODY);
  });
  after(async () => {
    client.destroy();
    await running.close();
    tmp.cleanup();
  });

  it('AWS SDK v3: CSV in, {"scores":[{"score":x}]} out; the point between the clusters scores highest', async () => {
    const out = await client.send(new InvokeEndpointCommand({ EndpointName: 'rcf-test', ContentType: 'text/csv', Body: new TextEncoder().encode(BODY) }));
    assert.equal(out.ContentType, 'application/json');
    const text = new TextDecoder().decode(out.Body);
    assert.match(text, /^\{"scores":\[\{"score":[0-9.e+-]+\},\{"score":[0-9.e+-]+\},\{"score":[0-9.e+-]+\}\]\}$/);
    const scores = (JSON.parse(text) as { scores: { score: number }[] }).scores.map((s) => s.score);
    assert.ok(scores[2]! > 2 * Math.max(scores[0]!, scores[1]!), `origin ${scores[2]} vs cluster points ${scores[0]}, ${scores[1]}`);
    assert.ok(scores[2]! <= Math.log2(257) + 1e-9);
  });

  it('JSON instances with verbose=True: attribution per feature, summing to the score; JSON lines and CSV responses', async () => {
    const body = JSON.stringify({ instances: [{ features: [0, 0, 0] }, { data: { features: { values: [5, 0, 0] } } }] });
    const v = await client.send(new InvokeEndpointCommand({ EndpointName: 'rcf-test', ContentType: 'application/json', Accept: 'application/jsonlines; verbose=True', Body: new TextEncoder().encode(body) }));
    assert.equal(v.ContentType, 'application/jsonlines');
    const lines = new TextDecoder().decode(v.Body).trim().split('\n').map((l) => JSON.parse(l) as { score: number; attribution: { high: number[]; low: number[] } });
    assert.equal(lines.length, 2);
    for (const l of lines) {
      assert.equal(l.attribution.high.length, 3);
      const sum = l.attribution.high.reduce((a, b) => a + b, 0) + l.attribution.low.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - l.score) < 1e-6 * Math.max(1, l.score), `attribution sums to ${sum}, score ${l.score}`);
    }
    const csv = await client.send(new InvokeEndpointCommand({ EndpointName: 'rcf-test', ContentType: 'application/jsonlines', Accept: 'text/csv', Body: new TextEncoder().encode('{"features":[0,0,0]}\n{"features":[-5,0,0]}\n') }));
    assert.equal(csv.ContentType, 'text/csv');
    const rows = new TextDecoder().decode(csv.Body).trim().split('\n').map(Number);
    assert.equal(rows.length, 2);
    assert.ok(rows[0]! > rows[1]!);
  });

  it('a record with the wrong number of features is a ModelError naming its line', async () => {
    await assert.rejects(
      client.send(new InvokeEndpointCommand({ EndpointName: 'rcf-test', ContentType: 'text/csv', Body: new TextEncoder().encode('1,2,3\n1,2\n') })),
      (err: unknown) => {
        assert.ok(err instanceof ModelError, String(err));
        assert.equal(err.OriginalStatusCode, 400);
        assert.match(err.OriginalMessage ?? '', /:2\b.*expected 3 features/);
        return true;
      },
    );
  });

  it('boto3 as the reference Lambda calls it, and the AWS CLI with Accept text/csv', async () => {
    requireTool('python3 with boto3', 'python3', ['-c', 'import boto3']);
    const env = awsEnv(tmp.dir);
    const r = await run('python3', [LAMBDA_INVOKE], { ...env, ENDPOINT_URL: running.url, ENDPOINT_NAME: 'rcf-test', BODY_FILE: path.join(tmp.dir, 'req.csv') });
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { ok: boolean; result: { scores: { score: number }[] }; ContentType: string };
    assert.equal(res.ok, true);
    assert.equal(res.result.scores.length, 3);
    assert.equal(res.ContentType, 'application/json');

    requireTool('The AWS CLI (`aws`)', 'aws', ['--version']);
    const outFile = path.join(tmp.dir, 'out.csv');
    const c = await run('aws', ['sagemaker-runtime', 'invoke-endpoint', '--endpoint-url', running.url, '--endpoint-name', 'rcf-test', '--content-type', 'text/csv',
      '--accept', 'text/csv', '--body', `fileb://${path.join(tmp.dir, 'req.csv')}`, outFile], env);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(JSON.parse(c.stdout), { ContentType: 'text/csv', InvokedProductionVariant: 'AllTraffic' });
    const csvScores = readFileSync(outFile, 'utf8').trim().split('\n').map(Number);
    assert.deepEqual(csvScores, res.result.scores.map((s) => s.score));
  });
});
