/**
 * The S3 side of the AWS mode against moto_server: streamed download (size limits, missing objects, cleanup, keys
 * that look like paths), the model cache (ETag refresh), and the findings store (findings objects at the findings
 * lake's key next to the source, done records, quarantine records).
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { buildFinding } from '../../src/findings/build.js';
import type { ScoredRecord } from '../../src/findings/types.js';
import { Duck } from '../../src/lake/duckdb.js';
import { findingsFilesSql } from '../../src/findings/view.js';
import { S3ObjectError } from '../../src/monitor/aws/errors.js';
import { LocalFindingsStore, S3FindingsStore } from '../../src/monitor/aws/findings-store.js';
import { S3ModelCache } from '../../src/monitor/aws/model-cache.js';
import { parseLakeKey } from '../../src/monitor/aws/notifications.js';
import { downloadObject, objectVersionId } from '../../src/monitor/aws/s3-object.js';
import { tempDirOwner } from '../../src/monitor/aws/temp-dir.js';
import { listKeys, startAwsEnv, type AwsEnv } from './aws-fixture.js';
import { IPI } from '../../src/findings/test-support.js';

let env: AwsEnv;
const B = 'seclake-s3-test';

before(async () => {
  env = await startAwsEnv();
  await env.s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(async () => {
  await env?.close();
});

/** What is left under a temp root: its entries, and what is in this process's own temp directory (removed at exit). */
function tmpEntries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((e) => (tempDirOwner(e)?.pid === process.pid ? readdirSync(path.join(dir, e)).map((x) => `${e}/${x}`) : [e]));
}

test('download streams the object to a hashed temp name and cleans up', async () => {
  const key = '../../etc/aws/VPC_FLOW/2.0/x y+z.parquet';
  const body = Buffer.alloc(300_000, 7);
  await env.s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body }));
  const root = path.join(env.tmp, 'dl1');
  const dl = await downloadObject(env.s3, { bucket: B, key }, { tmpRoot: root });
  assert.equal(dl.bytes, body.length);
  assert.ok(dl.file.startsWith(root + path.sep), dl.file);
  assert.match(path.basename(dl.file), /^[0-9a-f]{32}\.parquet$/);
  assert.deepEqual(readFileSync(dl.file), body);
  assert.ok(dl.etag && dl.etag.length > 0);
  dl.cleanup();
  assert.deepEqual(tmpEntries(root), []);
});

test('size limit: announced size, actual size; missing object is permanent; nothing left behind', async () => {
  await env.s3.send(new PutObjectCommand({ Bucket: B, Key: 'big.parquet', Body: Buffer.alloc(5000, 1) }));
  const root = path.join(env.tmp, 'dl2');
  await assert.rejects(downloadObject(env.s3, { bucket: B, key: 'big.parquet', size: 5000 }, { tmpRoot: root, maxBytes: 4096 }), (e: unknown) => e instanceof S3ObjectError && e.permanent && /limit of 4096/.test(e.message));
  // The notification did not say how big: the GetObject length (or the stream) catches it.
  await assert.rejects(downloadObject(env.s3, { bucket: B, key: 'big.parquet' }, { tmpRoot: root, maxBytes: 4096 }), (e: unknown) => e instanceof S3ObjectError && e.permanent);
  await assert.rejects(downloadObject(env.s3, { bucket: B, key: 'nope.parquet' }, { tmpRoot: root }), (e: unknown) => e instanceof S3ObjectError && e.permanent && /NoSuchKey/.test(e.message) && e.uri === `s3://${B}/nope.parquet`);
  assert.deepEqual(tmpEntries(root), []);
});

test('model cache: downloads once, re-checks the ETag after the refresh interval, picks up a new version', async () => {
  await env.s3.send(new PutObjectCommand({ Bucket: B, Key: 'models/vpc.model', Body: 'model v1' }));
  const cacheRoot = path.join(env.tmp, 'models');
  const cache = new S3ModelCache(env.s3, `s3://${B}/models/vpc.model`, cacheRoot, 60);
  const t0 = 1_000_000;
  const a = await cache.get(t0);
  assert.equal(a.changed, true);
  assert.equal(readFileSync(a.path, 'utf8'), 'model v1');
  await env.s3.send(new PutObjectCommand({ Bucket: B, Key: 'models/vpc.model', Body: 'model v2' }));
  const b = await cache.get(t0 + 10_000); // within the refresh interval: no S3 call, same file
  assert.equal(b.changed, false);
  assert.equal(b.path, a.path);
  const c = await cache.get(t0 + 61_000);
  assert.equal(c.changed, true);
  assert.notEqual(c.path, a.path);
  assert.equal(readFileSync(c.path, 'utf8'), 'model v2');
  assert.equal(existsSync(a.path), false, 'the old version is removed');
  assert.equal((await cache.get(t0 + 200_000)).changed, false);
});

function scored(object: string, row: number, ip: string): ScoredRecord {
  return {
    ref: { object, row, source: 'VPC_FLOW' },
    entity: 'i-0000000000000003',
    ip,
    time: 1_764_000_100_000 + row,
    native_score: -4.2,
    entity_known: true,
    entity_count: 80,
    event: { class_uid: 4001, src_endpoint: { ip, instance_uid: 'i-0000000000000003' }, dst_endpoint: { ip: '198.51.100.10', port: 443 } },
  };
}

test('S3 findings store: findings next to the source (bucket + lake prefix), done and quarantine records', async () => {
  const sourceKey = 'lakes/prod/aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20251124/abc.parquet';
  const source = { bucket: B, key: sourceKey, etag: 'e1' };
  const uri = `s3://${B}/${sourceKey}`;
  const findings = [scored(uri, 5, '203.0.113.9'), scored(uri, 9, '203.0.113.10')].map((r) => buildFinding(r, { model: { detector: IPI, name: 'vpc', version: '0badc0de' }, kind: 'anomaly' }));
  const store = new S3FindingsStore(env.s3, undefined, path.join(env.tmp, 'stage'));
  const where = await store.writeFindings(source, parseLakeKey(sourceKey), findings);
  assert.match(where, new RegExp(`^s3://${B}/lakes/prod/ext/seclake_findings/2\\.0/region=us-east-1/accountId=123456789012/eventDay=20251124/[0-9a-f]{32}\\.parquet$`));
  // Writing again (a redelivery) replaces the same key.
  assert.equal(await store.writeFindings(source, parseLakeKey(sourceKey), findings), where);
  assert.equal((await listKeys(env, 'lakes/prod/ext/seclake_findings/', B)).length, 1);
  // The object is a readable findings Parquet with both rows.
  const local = path.join(env.tmp, 'f.parquet');
  const got = await env.s3.send(new GetObjectCommand({ Bucket: B, Key: where.slice(`s3://${B}/`.length) }));
  writeFileSync(local, Buffer.from(await got.Body!.transformToByteArray()));
  const db = await Duck.open({ threads: 1 });
  try {
    const rows = await db.all(`SELECT uid, ip, source_object, source_row FROM (${findingsFilesSql([local])}) ORDER BY source_row`);
    assert.deepEqual(rows.map((r) => [r.ip, r.source_object, Number(r.source_row)]), [
      ['203.0.113.9', uri, 5],
      ['203.0.113.10', uri, 9],
    ]);
  } finally {
    db.close();
  }
  const id = objectVersionId(source);
  assert.equal(await store.getDone(id, source), undefined);
  await store.putDone(id, source, { object: uri, etag: 'e1', rows: 10, pairs: 10, scored: 10, findings: 2, findings_object: where, processed_at: new Date().toISOString() });
  assert.equal((await store.getDone(id, source))!.findings, 2);
  assert.deepEqual(await listKeys(env, 'lakes/prod/_seclake/monitor/done/', B), [`lakes/prod/_seclake/monitor/done/${id}.json`]);
  // Quarantine needs a fixed location.
  await assert.rejects(store.putQuarantine({ message_id: 'm', receive_count: 1, reason: 'r', error_name: 'E', body: '{}', queue_url: null, quarantined_at: new Date().toISOString() }), /no quarantine location/);
  const fixed = new S3FindingsStore(env.s3, `s3://${B}/central`, path.join(env.tmp, 'stage'));
  const q = await fixed.putQuarantine({ message_id: 'abc-123', receive_count: 5, reason: 'corrupt', error_name: 'S3ObjectError', body: '{"x":1}', queue_url: 'http://q', quarantined_at: '2026-11-28T15:00:00.000Z' });
  assert.equal(q, `s3://${B}/central/_seclake/monitor/quarantine/20261128/abc-123.json`);
});

test('local findings store: publishes into a lake directory; ids that are not plain are hashed', async () => {
  const lake = path.join(env.tmp, 'local-lake');
  mkdirSync(lake, { recursive: true });
  const store = new LocalFindingsStore(lake);
  const sourceKey = 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20251124/abc.parquet';
  const uri = `s3://${B}/${sourceKey}`;
  const file = await store.writeFindings({ bucket: B, key: sourceKey }, parseLakeKey(sourceKey), [buildFinding(scored(uri, 1, '203.0.113.9'), { model: { detector: IPI, name: 'vpc', version: '1' }, kind: 'anomaly' })]);
  assert.ok(file.startsWith(path.join(lake, 'ext', 'seclake_findings')), file);
  assert.ok(existsSync(file));
  const q = await store.putQuarantine({ message_id: '../../evil', receive_count: 1, reason: 'r', error_name: 'E', body: '', queue_url: null, quarantined_at: '2026-11-28T00:00:00Z' });
  assert.ok(q.startsWith(path.join(lake, '_seclake', 'monitor', 'quarantine', '20261128') + path.sep), q);
  assert.match(path.basename(q), /^[0-9a-f]{32}\.json$/);
});
