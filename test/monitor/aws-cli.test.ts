/**
 * `seclake monitor --sqs-queue-url ...` as child processes against moto_server: an object uploaded by the AWS CLI
 * (an external client) is scored and SIGTERM stops the worker cleanly; two competing workers on one queue process
 * every object exactly once; a worker killed with SIGKILL mid-batch and a restarted one lose nothing and double
 * nothing (findings uids unique, one findings object per source object, every message deleted), and the killed
 * worker's temp directory is removed by the restarted one, which leaves none of its own.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { Duck } from '../../src/lake/duckdb.js';
import { findingsFilesSql } from '../../src/findings/view.js';
import { tempDirOwner } from '../../src/monitor/aws/temp-dir.js';
import { buildLakeObjects, flowLog, instanceId, listKeys, makeBucketAndQueue, queueDepth, startAwsEnv, trainModel, uploadObject, waitFor, type AwsEnv, type LakeObject } from './aws-fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
const INSTANCES = 12;

let env: AwsEnv;
let modelPath: string;
/** Eight objects, each with one anomaly (instance k % 12 from 203.0.113.k). */
let objects: LakeObject[];
const children = new Set<ChildProcess>();

before(async () => {
  env = await startAwsEnv();
  modelPath = await trainModel(env.tmp, INSTANCES);
  objects = [];
  for (let k = 0; k < 8; k++) {
    const [o] = await buildLakeObjects(env.tmp, `obj${k}`, flowLog({ instances: INSTANCES, records: 400, seed: 10 + k, startSec: 1_764_000_000 + k * 1000, anomalies: [{ instance: k % INSTANCES, ip: `203.0.113.${k + 1}` }] }));
    objects.push(o!);
  }
});
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await env?.close();
});

interface Proc {
  child: ChildProcess;
  stderr(): string;
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

function startMonitor(args: string[], extraEnv: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'monitor', '--model', modelPath, '--pairs', 'reference', '--s3-endpoint', env.moto.endpoint, '--region', 'us-east-1', '--wait-seconds', '1', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env.moto.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    err += d;
    for (const w of [...waiters]) {
      const m = w.re.exec(err);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stderr: () => err,
    exited,
    waitFor(re, ms = 45_000) {
      const m = re.exec(err);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${re} in monitor output within ${ms} ms; stderr so far:\n${err}`)), ms);
        waiters.push({ re, resolve: (mm) => (clearTimeout(t), resolve(mm)) });
        void exited.then((code) => {
          clearTimeout(t);
          reject(new Error(`monitor exited (${code}) before ${re}; stderr:\n${err}`));
        });
      });
    },
  };
}

async function findingsUids(bucket: string, prefix = 'ext/seclake_findings/'): Promise<{ keys: string[]; uids: string[]; pairs: string[] }> {
  const keys = await listKeys(env, prefix, bucket);
  const uids: string[] = [];
  const pairs: string[] = [];
  const db = await Duck.open({ threads: 1 });
  try {
    for (const key of keys) {
      const got = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const file = path.join(env.tmp, `cli-${Math.random().toString(36).slice(2)}.parquet`);
      writeFileSync(file, Buffer.from(await got.Body!.transformToByteArray()));
      for (const r of await db.all(`SELECT uid, entity, ip, kind FROM (${findingsFilesSql([file])})`)) {
        uids.push(String(r.uid));
        if (r.kind === 'anomaly') pairs.push(`${String(r.entity)},${String(r.ip)}`);
      }
    }
  } finally {
    db.close();
  }
  return { keys, uids, pairs: pairs.sort() };
}

/** How many times each source object was processed, from the workers' progress lines. */
function processedCounts(...logs: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const log of logs) for (const m of log.matchAll(/(s3:\/\/\S+\.parquet): \d+ rows/g)) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
  return counts;
}

test('an object uploaded with the AWS CLI is scored by a running seclake monitor; SIGTERM stops it cleanly', async () => {
  const bucket = 'cli-upload';
  const q = await makeBucketAndQueue(env, 'cli-upload-q', { bucket });
  const p = startMonitor(['--sqs-queue-url', q.queueUrl, '--dlq-url', q.dlqUrl]);
  await p.waitFor(/polling http/);
  const key = `${objects[0]!.key.slice(0, objects[0]!.key.lastIndexOf('/'))}/uploaded by cli.parquet`;
  await promisify(execFile)('aws', ['--endpoint-url', env.moto.endpoint, 's3', 'cp', objects[0]!.file, `s3://${bucket}/${key}`], { env: { ...process.env, ...env.moto.env } });
  await p.waitFor(/uploaded by cli\.parquet: \d+ rows/);
  const f = await waitFor('the findings object', async () => {
    const r = await findingsUids(bucket);
    return r.keys.length > 0 ? r : undefined;
  });
  assert.deepEqual(f.pairs, [`${instanceId(0)},203.0.113.1`]);
  // The monitor's own writes (findings object, catalog) are announced on the queue too: it deletes those messages
  // without scoring them. Wait until it has, then stop it.
  // Empty twice, a second apart: the catalog is written just after the findings object.
  let empty = 0;
  await waitFor('the queue drained of the monitor\'s own notifications', async () => {
    const d = await queueDepth(env, q.queueUrl);
    empty = d.visible === 0 && d.inFlight === 0 ? empty + 1 : 0;
    return empty >= 2 ? d : undefined;
  }, 30_000, 1000);
  p.child.kill('SIGTERM');
  assert.equal(await p.exited, 0, p.stderr());
  assert.deepEqual(await queueDepth(env, q.queueUrl), { visible: 0, inFlight: 0 });
});

test('two competing workers share one queue: every object processed once, no doubled finding', async (t) => {
  const bucket = 'competing';
  const q = await makeBucketAndQueue(env, 'competing-q', { bucket });
  for (const o of objects) await uploadObject(env, o, { bucket });
  const args = ['--sqs-queue-url', q.queueUrl, '--dlq-url', q.dlqUrl, '--batch-size', '2', '--idle-exit', '4', '--visibility-timeout', '30'];
  const a = startMonitor(args);
  const b = startMonitor(args);
  assert.equal(await a.exited, 0, a.stderr());
  assert.equal(await b.exited, 0, b.stderr());
  const counts = processedCounts(a.stderr(), b.stderr());
  t.diagnostic(`worker A processed ${processedCounts(a.stderr()).size} objects, worker B ${processedCounts(b.stderr()).size}`);
  assert.equal(counts.size, objects.length, `every object processed: ${[...counts.keys()].join(', ')}`);
  for (const [uri, n] of counts) assert.equal(n, 1, `${uri} processed ${n} times`);
  const f = await findingsUids(bucket);
  assert.equal(f.keys.length, objects.length);
  assert.equal(new Set(f.uids).size, f.uids.length, 'no doubled finding uid');
  assert.deepEqual(f.pairs, objects.map((_, k) => `${instanceId(k % INSTANCES)},203.0.113.${k + 1}`).sort());
  assert.equal((await listKeys(env, '_seclake/monitor/done/', bucket)).length, objects.length);
  assert.deepEqual(await queueDepth(env, q.queueUrl), { visible: 0, inFlight: 0 });
});

test('kill -9 mid-batch, then a restart: no finding lost, none doubled, no temp directory left', async (t) => {
  const bucket = 'killed';
  const q = await makeBucketAndQueue(env, 'killed-q', { bucket });
  for (const o of objects) await uploadObject(env, o, { bucket });
  // Both workers download into their temp directory under this TMPDIR.
  const tmp = path.join(env.tmp, 'killed-tmp');
  mkdirSync(tmp, { recursive: true });
  const ours = (): string[] => readdirSync(tmp).filter((n) => n.startsWith('seclake-'));
  const first = startMonitor(['--sqs-queue-url', q.queueUrl, '--dlq-url', q.dlqUrl, '--batch-size', '10', '--visibility-timeout', '5'], { TMPDIR: tmp });
  await first.waitFor(/\.parquet: \d+ rows/);
  first.child.kill('SIGKILL');
  await first.exited;
  const leaked = ours();
  assert.deepEqual(leaked.map((n) => tempDirOwner(n)?.pid), [first.child.pid], 'a kill -9 leaves the temp directory of the killed worker behind');
  const doneAtKill = (await listKeys(env, '_seclake/monitor/done/', bucket)).length;
  t.diagnostic(`${doneAtKill} of ${objects.length} objects were done when the first worker was killed; ${JSON.stringify(await queueDepth(env, q.queueUrl))} messages visible/in flight`);
  const second = startMonitor(['--sqs-queue-url', q.queueUrl, '--dlq-url', q.dlqUrl, '--visibility-timeout', '5', '--idle-exit', '8'], { TMPDIR: tmp });
  assert.equal(await second.exited, 0, second.stderr());
  assert.deepEqual(ours(), [], 'the restarted worker removed the killed one\'s temp directory at start, and its own at exit');
  const f = await findingsUids(bucket);
  assert.equal(f.keys.length, objects.length, `one findings object per source object (${doneAtKill} were done when the first worker was killed)`);
  assert.equal(new Set(f.uids).size, f.uids.length, 'no doubled finding uid');
  assert.deepEqual(f.pairs, objects.map((_, k) => `${instanceId(k % INSTANCES)},203.0.113.${k + 1}`).sort(), 'no finding lost');
  assert.equal((await listKeys(env, '_seclake/monitor/done/', bucket)).length, objects.length);
  assert.deepEqual(await queueDepth(env, q.queueUrl), { visible: 0, inFlight: 0 });
  // The restarted worker skipped what the killed one had completed (done records), processed the rest.
  const counts = processedCounts(first.stderr(), second.stderr());
  assert.equal(counts.size, objects.length);
  t.diagnostic(`restarted worker: ${processedCounts(second.stderr()).size} processed, ${(second.stderr().match(/already processed/g) ?? []).length} already done`);
});
