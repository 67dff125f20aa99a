/**
 * `sam build -t deploy/sam/template.yaml` from a clean clone, replayed step by step as aws-lambda-builders runs a
 * function whose Metadata says `BuildMethod: makefile` (sam itself is not on this machine):
 *   1. the source directory is the function's CodeUri (resolved from the template's folder: the repository), and
 *      the manifest is `Makefile` in Metadata.ContextPath (resolved the same way);
 *   2. CopySourceAction copies the source to a scratch directory, leaving out `.aws-sam` and `.git` at any depth;
 *   3. CustomMakeAction creates the artifacts directory (.aws-sam/build/<logical id>) and runs
 *      `make --makefile <manifest> build-<logical id>` in the scratch directory with ARTIFACTS_DIR set.
 * The clean clone is the repository's files as git knows them (tracked, plus new files not ignored), without
 * node_modules or dist/. npm uses its cache first (--prefer-offline), so the build runs offline once the cache holds
 * the lockfile's packages (CI's `npm ci` fills it).
 *
 * Then the artifact is checked for what it carries, and its handler is loaded and invoked in a fresh process the way
 * the Lambda Node.js runtime does (test/deploy/invoke-artifact.mjs), against moto_server: the built function must
 * work, not only build.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { Duck } from '../../src/lake/duckdb.js';
import { findingsFilesSql } from '../../src/findings/view.js';
import { sqsEventFromQueue } from '../helpers/lambda.js';
import { buildLakeObjects, flowLog, instanceId, listKeys, makeBucketAndQueue, startAwsEnv, trainModel, uploadObject, type AwsEnv } from '../monitor/aws-fixture.js';
import { emfProblems } from './emf-check.js';
import { block, REPO, scalar, templateText, TEMPLATE_PATH } from './template.js';
import { dirBytes } from '../../scripts/build-lambda.js';

const LOGICAL_ID = 'MonitorFunction';
const INSTANCES = 12;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** A clean clone's files: what git tracks, plus new files it does not ignore (uncommitted work under test). */
function cloneInto(dest: string): number {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 })
    .toString('utf8')
    .split('\0')
    .filter((f) => f !== '' && !f.startsWith('.aws-sam/'));
  let n = 0;
  for (const f of files) {
    const src = path.join(REPO, f);
    if (!existsSync(src) || !statSync(src).isFile()) continue; // deleted in the working tree
    mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    cpSync(src, path.join(dest, f));
    n++;
  }
  return n;
}

const fn = block(templateText(), ['Resources', LOGICAL_ID]);
const metadata = block(fn, ['Metadata']);
const properties = block(fn, ['Properties']);
const templateDir = path.dirname(TEMPLATE_PATH);

let work: string;
let clone: string;
let artifacts: string;
let build: Run;

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'seclake-sam-build-'));
  clone = path.join(work, 'clone');
  const files = cloneInto(clone);
  assert.ok(files > 100, `the clean clone has ${files} files`);
  // 1. Source directory and manifest, resolved against the template's folder (sam's base dir), in the clone.
  const rel = (p: string) => path.relative(REPO, path.resolve(templateDir, p));
  const sourceDir = path.join(clone, rel(scalar(properties, 'CodeUri')!));
  const manifest = path.join(clone, rel(scalar(metadata, 'ContextPath') ?? scalar(properties, 'CodeUri')!), 'Makefile');
  // 2. CopySourceAction: source -> scratch, without .aws-sam and .git.
  const scratch = path.join(work, 'scratch');
  cpSync(sourceDir, scratch, { recursive: true, filter: (src) => !['.aws-sam', '.git'].includes(path.basename(src)) });
  // 3. CustomMakeAction.
  artifacts = path.join(clone, '.aws-sam', 'build', LOGICAL_ID);
  mkdirSync(artifacts, { recursive: true });
  build = await run('make', ['--makefile', manifest, `build-${LOGICAL_ID}`], { cwd: scratch, env: { ...process.env, ARTIFACTS_DIR: artifacts }, timeoutMs: 540_000 });
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the template builds with its makefile from a clean clone', () => {
  assert.equal(scalar(metadata, 'BuildMethod'), 'makefile');
  assert.equal(build.code, 0, `make failed (exit ${build.code}):\n${build.stdout.slice(-4000)}\n${build.stderr.slice(-4000)}`);
  assert.ok(!existsSync(path.join(clone, 'dist')) && !existsSync(path.join(clone, 'node_modules')), 'the source clone is left as it was');
});

test('the artifact carries the bundle, its data files and DuckDB native package, and nothing the CLI alone needs', (t) => {
  assert.equal(build.code, 0, 'built');
  const handler = scalar(properties, 'Handler')!;
  const moduleFile = handler.slice(0, handler.lastIndexOf('.'));
  assert.ok(existsSync(path.join(artifacts, `${moduleFile}.mjs`)), `${moduleFile}.mjs for Handler ${handler}`);
  const packages = readdirSync(path.join(artifacts, 'node_modules')).flatMap((d) => (d.startsWith('@') ? readdirSync(path.join(artifacts, 'node_modules', d)).map((p) => `${d}/${p}`) : [d]));
  assert.deepEqual(packages, ['@duckdb/node-bindings-linux-x64'], 'only the native package is not bundled');
  assert.ok(existsSync(path.join(artifacts, 'assets', 'ocsf', 'schema-1.1.0.json')), 'the OCSF schema the lake code reads');
  const total = dirBytes(artifacts);
  const native = dirBytes(path.join(artifacts, 'node_modules'));
  t.diagnostic(`artifact: ${(total / 1e6).toFixed(1)} MB unzipped (DuckDB native ${(native / 1e6).toFixed(1)} MB, the rest ${((total - native) / 1e6).toFixed(2)} MB)`);
  assert.ok(total - native < 12e6, `everything but DuckDB's native library is ${(total - native) / 1e6} MB`);
  const bundle = readFileSync(path.join(artifacts, `${moduleFile}.mjs`), 'utf8');
  assert.ok(!bundle.includes('ip-location-db'), 'the ASN table (calibration only) is not carried');
});

test('the built handler, loaded as the Lambda runtime loads it, scores a batch from moto in a fresh process: JSON lines, one EMF document', async (t) => {
  assert.equal(build.code, 0, 'built');
  let env: AwsEnv | undefined;
  try {
    env = await startAwsEnv();
    const modelPath = await trainModel(env.tmp, INSTANCES);
    const [anomalous] = await buildLakeObjects(env.tmp, 'anomalous', flowLog({ instances: INSTANCES, records: 200, seed: 1, anomalies: [{ instance: 3, ip: '203.0.113.9' }] }));
    const [normal] = await buildLakeObjects(env.tmp, 'normal', flowLog({ instances: INSTANCES, records: 200, seed: 2, startSec: 1_764_100_000 }));
    const bucket = 'artifact-lake';
    const q = await makeBucketAndQueue(env, 'artifact-q', { bucket });
    await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'models/vpc.model', Body: readFileSync(modelPath) }));
    await uploadObject(env, anomalous!, { bucket });
    await uploadObject(env, normal!, { bucket });
    const event = await sqsEventFromQueue(env.sqs, q.queueUrl, q.queueArn);
    assert.equal(event.Records.length, 3, 'the model and two objects');
    const eventFile = path.join(env.tmp, 'event.json');
    const resultFile = path.join(env.tmp, 'result.json');
    writeFileSync(eventFile, JSON.stringify(event));

    // The function's environment as the template sets it, plus what Lambda sets, pointed at moto.
    const requestId = 'c0ffee00-0000-4000-8000-000000000001';
    const fnEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      TZ: ':UTC',
      LAMBDA_TASK_ROOT: artifacts,
      _HANDLER: scalar(properties, 'Handler'),
      AWS_LAMBDA_FUNCTION_NAME: 'seclake-artifact-monitor',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: scalar(properties, 'MemorySize'),
      NODE_OPTIONS: scalar(block(properties, ['Environment', 'Variables']), 'NODE_OPTIONS'),
      ...env.moto.env,
      MODEL_S3_URI: `s3://${bucket}/models/vpc.model`,
      PAIRS: 'reference',
      DLQ_URL: q.dlqUrl,
      MAX_RECEIVES: '5',
      TMP_DIR: path.join(env.tmp, 'lambda-tmp'),
      S3_ENDPOINT_URL: env.moto.endpoint,
      SQS_ENDPOINT_URL: env.moto.endpoint,
      SECLAKE_EVENT_FILE: eventFile,
      SECLAKE_RESULT_FILE: resultFile,
      SECLAKE_REQUEST_ID: requestId,
    };
    const filesBefore = listFiles(artifacts);
    const invoked = await run(process.execPath, [path.join(REPO, 'test', 'deploy', 'invoke-artifact.mjs')], { cwd: artifacts, env: fnEnv, timeoutMs: 120_000 });
    assert.equal(invoked.code, 0, `${invoked.stdout}\n${invoked.stderr}`);
    // LAMBDA_TASK_ROOT (/var/task, also the working directory) is read-only in Lambda: nothing may be written there.
    assert.deepEqual(listFiles(artifacts), filesBefore);
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as unknown;
    assert.deepEqual(result, { batchItemFailures: [] }, `${invoked.stdout}\n${invoked.stderr}`);

    // Every line the function wrote, on either stream, is one JSON object.
    const lines = `${invoked.stdout}${invoked.stderr}`.split('\n').filter((l) => l.trim() !== '');
    const docs = lines.map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        assert.fail(`not a JSON line: ${l}`);
      }
    });
    const logs = docs.filter((d) => !('_aws' in d));
    const emf = docs.filter((d) => '_aws' in d);
    for (const l of logs) {
      assert.ok(['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(String(l.level)), JSON.stringify(l));
      assert.equal(typeof l.message, 'string');
      assert.equal(l.requestId, requestId);
      assert.ok(!Number.isNaN(Date.parse(String(l.timestamp))), 'an RFC 3339 timestamp');
    }
    // seclake's own status line (the uncalibrated model) comes out as JSON too.
    assert.ok(logs.some((l) => l.level === 'WARN' && /is not calibrated/.test(String(l.message))), JSON.stringify(logs));
    assert.equal(emf.length, 1, 'one EMF document per invocation');
    assert.deepEqual(emfProblems(emf[0]), []);
    const m = emf[0]!;
    assert.equal(m.FunctionName, 'seclake-artifact-monitor');
    assert.equal(m.Messages, 3);
    assert.equal(m.Objects, 2);
    assert.equal(m.Failures, 0);
    assert.ok((m.Findings as number) >= 1 && (m.Records as number) > 0, JSON.stringify(m));
    assert.equal((m.Lag as number[]).length, 2);
    t.diagnostic(`EMF: ${JSON.stringify(m)}`);

    // Findings written by the artifact: valid Parquet with the anomaly, and seclake's version in the metadata
    // (package.json read next to the bundle).
    const keys = await listKeys(env, 'ext/seclake_findings/', bucket);
    assert.ok(keys.length >= 1);
    const files = await Promise.all(
      keys.map(async (key, i) => {
        const got = await env!.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const file = path.join(env!.tmp, `findings-${i}.parquet`);
        writeFileSync(file, Buffer.from(await got.Body!.transformToByteArray()));
        return file;
      }),
    );
    const db = await Duck.open({ threads: 1 });
    try {
      const rows = (await db.all(`SELECT entity, ip, kind FROM (${findingsFilesSql(files)})`)) as { entity: string; ip: string; kind: string }[];
      assert.ok(rows.some((r) => r.kind === 'anomaly' && r.entity === instanceId(3) && r.ip === '203.0.113.9'), JSON.stringify(rows));
      const version = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version as string;
      const v = (await db.all('SELECT DISTINCT metadata.product.version AS v FROM read_parquet($1)', [files[0]!])) as { v: string }[];
      assert.deepEqual(v.map((r) => r.v), [version]);
    } finally {
      db.close();
    }
  } finally {
    await env?.close();
  }
});

test('the template passes cfn-lint, SAM transform included (where cfn-lint is installed)', async (t) => {
  let version: Run;
  try {
    version = await run('cfn-lint', ['--version'], { cwd: REPO, env: process.env, timeoutMs: 60_000 });
  } catch {
    t.skip('cfn-lint is not installed');
    return;
  }
  if (version.code !== 0) {
    t.skip(`cfn-lint does not run: ${version.stderr.trim()}`);
    return;
  }
  const lint = await run('cfn-lint', [TEMPLATE_PATH], { cwd: REPO, env: process.env, timeoutMs: 120_000 });
  assert.equal(lint.code, 0, `${lint.stdout}\n${lint.stderr}`);
});
