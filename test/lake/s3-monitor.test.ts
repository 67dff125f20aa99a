/**
 * The embedded monitor over an S3 lake (moto): it follows the S3 catalog, scores each object (downloaded, then
 * removed), uploads the findings objects next to the lake, keeps its checkpoint locally; and `seclake monitor --lake
 * s3://...` does the same as a process. An object lacking attributes the pair query names (REJECT-only flows) gives
 * its pairs, and an object without pairs is counted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startMoto, type Moto } from '../helpers/moto.js';
import { ingest } from '../../src/ingest/ingest.js';
import { openLakeStore } from '../../src/lake/store.js';
import { monitorOnce, readCheckpoint } from '../../src/monitor/embedded.js';
import { DAY0, INSTANCES, buildLakeAndModel, writeFlowObject } from '../monitor/fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let moto: Moto;
let s3: S3Client;
let dir: string;
let modelPath: string;
const files: string[] = [];

async function keys(bucket: string, prefix: string): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((c) => c.Key!);
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seclake-s3mon-'));
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1' });
  ({ modelPath } = await buildLakeAndModel(dir));
  // Four new flow logs, each with one instance reaching a foreign peer.
  for (let k = 0; k < 4; k++) {
    files.push(writeFlowObject(dir, `new${k}`, { records: 200, startSec: DAY0 + 3 * 86400 + k * 600, seed: 70 + k, anomalies: [{ instance: k, peer: `203.0.113.${40 + k}` }] }));
  }
});
after(async () => {
  s3?.destroy();
  await moto?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('monitorOnce with an S3 LakeStore: findings for every foreign peer, findings objects in S3, local checkpoint', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'mon-lake' }));
  const url = 's3://mon-lake/lake';
  const sum = await ingest({ lakeDir: url, paths: files, s3: { endpoint: moto.endpoint } });
  assert.equal(sum.totals.ingested, 4);
  const state = path.join(dir, 'state');
  const store = openLakeStore(url, { endpoint: moto.endpoint });
  try {
    const r = await monitorOnce({ lakeDir: state, store, models: [{ model: modelPath, pairs: 'flow-peer' }], start: 'beginning', collectFindings: true });
    assert.equal(r.objects, 4);
    assert.equal(r.failed, 0);
    const text = JSON.stringify(r.found);
    for (let k = 0; k < 4; k++) assert.ok(text.includes(`203.0.113.${40 + k}`), `peer ${k} found`);
    // Findings reference the S3 objects and were uploaded under the lake's findings prefix.
    assert.ok(text.includes(`"s3://mon-lake/lake/aws/VPC_FLOW/2.0/`), 'source object is an s3:// URL');
    const fkeys = await keys('mon-lake', 'lake/ext/seclake_findings/2.0/');
    assert.ok(fkeys.length >= 1 && fkeys.every((k) => /\/region=us-east-1\/accountId=123456789012\/eventDay=\d{8}\/[0-9a-f]{32}\.parquet$/.test(k)), fkeys.join());
    // ... and catalogued in the S3 catalog (once each), so the lake mirror has them; the monitor never scores them
    // (the run below has nothing to do although the catalog grew by the findings objects).
    const all = (await store.listCatalog(0)).filter((o) => o.derived_from !== undefined);
    const derived = all.filter((o) => o.source === 'EXT_seclake_findings');
    assert.deepEqual(derived.map((o) => o.path).sort(), fkeys.map((k) => k.slice('lake/'.length)).sort());
    assert.ok(derived.every((o) => o.class_uid === 2004));
    // The incidents the findings formed: uploaded and catalogued the same way (docs/incidents.md).
    const ikeys = await keys('mon-lake', 'lake/ext/seclake_incidents/2.0/');
    assert.ok(ikeys.length >= 1);
    assert.deepEqual(all.filter((o) => o.source === 'EXT_seclake_incidents').map((o) => o.path).sort(), ikeys.map((k) => k.slice('lake/'.length)).sort());
    assert.equal(all.length, derived.length + ikeys.length);
    assert.equal(readCheckpoint(state)!.seq, r.lastSeq);
    // Downloaded objects are not kept.
    assert.ok(!readdirSync(path.join(state, '_seclake', 'monitor')).some((f) => f.endsWith('.parquet')));
    // Nothing new: nothing done; a new object: only it.
    assert.equal((await monitorOnce({ lakeDir: state, store, models: [{ model: modelPath, pairs: 'flow-peer' }] })).objects, 0);
    const extra = writeFlowObject(dir, 'new9', { records: 200, startSec: DAY0 + 4 * 86400, seed: 99, anomalies: [{ instance: 5, peer: '198.51.100.77' }] });
    await ingest({ lakeDir: url, paths: [extra], s3: { endpoint: moto.endpoint } });
    const r2 = await monitorOnce({ lakeDir: state, store, models: [{ model: modelPath, pairs: 'flow-peer' }], collectFindings: true });
    assert.equal(r2.objects, 1);
    assert.ok(JSON.stringify(r2.found).includes('198.51.100.77'));
  } finally {
    store.close();
  }
});

test('seclake monitor --lake s3://... --once', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'mon-cli' }));
  const url = 's3://mon-cli/l';
  await ingest({ lakeDir: url, paths: files.slice(0, 2), s3: { endpoint: moto.endpoint } });
  const state = path.join(dir, 'cli-state');
  const run = (): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'monitor', '--lake', url, '--s3-endpoint', moto.endpoint, '--state-dir', state, '--model', modelPath, '--pairs', 'flow-peer', '--once', '--from-start', '--json', '--quiet'],
        { cwd: ROOT, env: { ...process.env, ...moto.env }, timeout: 120_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const r = await run();
  assert.equal(r.code, 0, r.stderr);
  const sum = JSON.parse(r.stdout) as { objects: number; findings: number; failed: number };
  assert.equal(sum.objects, 2);
  assert.equal(sum.failed, 0);
  assert.ok(sum.findings >= 2, r.stdout);
  assert.ok((await keys('mon-cli', 'l/ext/seclake_findings/')).length >= 1);
  const again = await run();
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { objects: number }).objects, 0);
});

test('monitorOnce: a REJECT-only flow object (no src_endpoint.instance_uid) gives its pairs; an object without pairs is counted', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'mon-absent' }));
  const url = 's3://mon-absent/lake';
  // A scanned server: 20 scanners probe instance 3, every connection rejected. Ingress records with flow-direction:
  // the instance is on dst_endpoint, so the object's src_endpoint struct has no instance_uid field at all.
  const header =
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status ' +
    'vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr flow-direction traffic-path';
  const t = DAY0 + 5 * 86400;
  const scanners = Array.from({ length: 20 }, (_, k) => `192.0.2.${k + 1}`);
  const lines = scanners.map((ip, k) => `5 123456789012 eni-03aaaaaaaaaaaaaaa ${ip} 10.0.1.13 ${40000 + k} 22 6 1 40 ${t + k} ${t + k + 60} REJECT OK vpc-01234567 subnet-01234567 ${INSTANCES[3]} 2 IPv4 ${ip} 10.0.1.13 ingress 1`);
  const file = path.join(dir, '123456789012_vpcflowlogs_us-east-1_fl-0abc_rejects.log');
  writeFileSync(file, [header, ...lines].join('\n') + '\n');
  const sum = await ingest({ lakeDir: url, paths: [file], s3: { endpoint: moto.endpoint } });
  assert.equal(sum.totals.ingested, 1);
  const store = openLakeStore(url, { endpoint: moto.endpoint });
  try {
    const r = await monitorOnce({ lakeDir: path.join(dir, 'absent-state'), store, models: [{ model: modelPath, pairs: 'flow-peer' }], start: 'beginning', collectFindings: true });
    assert.equal(r.objects, 1);
    assert.equal(r.failed, 0);
    assert.equal(r.pairs, scanners.length, 'one pair per rejected connection: the instance and its scanner');
    assert.equal(r.noPairs, 0);
    const found = JSON.stringify(r.found);
    assert.ok(scanners.some((ip) => found.includes(ip)), 'scanners never seen before are findings');
    // The reference definition reads src_endpoint.instance_uid, which no record has: truly no pairs, counted.
    const ref = await monitorOnce({ lakeDir: path.join(dir, 'absent-state'), name: 'reference', store, models: [{ model: modelPath, pairs: 'reference' }], start: 'beginning' });
    assert.equal(ref.objects, 1);
    assert.equal(ref.pairs, 0);
    assert.equal(ref.noPairs, 1, 'the object without pairs is counted in the summary (--json)');
  } finally {
    store.close();
  }
});
