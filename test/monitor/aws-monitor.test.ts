/**
 * The SQS worker in-process against moto_server: a bucket whose object creations notify a queue, Security Lake-shaped
 * OCSF Parquet objects built with seclake's ingest, a model trained in-process. Checks the findings objects, the
 * deleted messages, the poison path (retried, then moved to the DLQ or the quarantine with the reason, the queue not
 * blocked), redelivery (no new findings, no doubled findings), and the EventBridge / SNS shapes sent by hand; an
 * object lacking attributes the pair query reads (REJECT-only flows) and one without pairs; EventBridge notifications
 * without an ETag (no reprocessing); temp directories of killed processes swept.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Duck } from '../../src/lake/duckdb.js';
import { findingsFilesSql } from '../../src/findings/view.js';
import { LocalFindingsStore, S3FindingsStore } from '../../src/monitor/aws/findings-store.js';
import { encodeS3Key } from '../../src/monitor/aws/notifications.js';
import { describeEvent } from '../../src/monitor/aws/run.js';
import { createObjectHandler } from '../../src/monitor/aws/s3-object.js';
import { SqsMonitor, type MonitorEvent } from '../../src/monitor/aws/sqs-monitor.js';
import { tempDirOwner } from '../../src/monitor/aws/temp-dir.js';
import { createProcessor } from '../../src/monitor/processor.js';
import { MemorySink } from '../../src/sinks/index.js';
import {
  BUCKET,
  buildLakeObjects,
  flowLog,
  instanceId,
  listKeys,
  makeBucketAndQueue,
  makeProcess,
  queueDepth,
  rejectLog,
  startAwsEnv,
  trainModel,
  uploadObject,
  type AwsEnv,
  type LakeObject,
  type TestProcess,
} from './aws-fixture.js';

const INSTANCES = 12;
let env: AwsEnv;
let proc: TestProcess;
let modelFile: string;
/** Object with two anomalies (instances 3 and 5 from foreign addresses). */
let anomalous: LakeObject;
/** Object with normal traffic only. */
let normal: LakeObject;

before(async () => {
  env = await startAwsEnv();
  const model = await trainModel(env.tmp, INSTANCES);
  modelFile = model;
  proc = await makeProcess(model);
  [anomalous] = await buildLakeObjects(env.tmp, 'anomalous', flowLog({ instances: INSTANCES, records: 300, seed: 1, anomalies: [{ instance: 3, ip: '203.0.113.9' }, { instance: 5, ip: '198.18.7.7' }] }));
  [normal] = await buildLakeObjects(env.tmp, 'normal', flowLog({ instances: INSTANCES, records: 300, seed: 2, startSec: 1_764_100_000 }));
});
after(async () => {
  await proc?.close();
  await env?.close();
});

async function readParquetRows(key: string, bucket = BUCKET): Promise<Record<string, unknown>[]> {
  const got = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const file = path.join(env.tmp, `read-${Math.random().toString(36).slice(2)}.parquet`);
  writeFileSync(file, Buffer.from(await got.Body!.transformToByteArray()));
  const db = await Duck.open({ threads: 1 });
  try {
    return await db.all(`SELECT uid, entity, ip, source_object, source_row, kind FROM (${findingsFilesSql([file])}) ORDER BY source_row`);
  } finally {
    db.close();
  }
}

function monitorFor(queueUrl: string, extra: Partial<ConstructorParameters<typeof SqsMonitor>[0]> & { findings?: string } = {}) {
  const store = extra.findings ? new LocalFindingsStore(extra.findings) : new S3FindingsStore(env.s3, undefined, path.join(env.tmp, 'stage'));
  const events: MonitorEvent[] = [];
  const monitor = new SqsMonitor({
    sqs: env.sqs,
    queueUrl,
    handleObject: createObjectHandler({ s3: env.s3, process: proc.process, store, tmpRoot: path.join(env.tmp, 'dl') }),
    visibilityTimeout: 20,
    waitTimeSeconds: 1,
    idleExitMs: 2500,
    quarantine: new S3FindingsStore(env.s3, `s3://${BUCKET}/quarantine-area`),
    retry: { maxReceives: 3, baseDelaySeconds: 0, maxDelaySeconds: 0 },
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return { monitor, events };
}

test('objects announced by S3 notifications are scored; findings next to the lake; messages deleted; own output skipped', async () => {
  const q = await makeBucketAndQueue(env, 'main');
  const keyA = await uploadObject(env, anomalous, { prefix: 'lake1' });
  const keyN = await uploadObject(env, normal, { prefix: 'lake1' });
  await env.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'lake1/README.txt', Body: 'not a lake object' }));
  const { monitor, events } = monitorFor(q.queueUrl);
  const stats = await monitor.run();

  const findingsKeys = await listKeys(env, 'lake1/ext/seclake_findings/');
  assert.equal(findingsKeys.length, 1, `one findings object (the normal object has no anomalies): ${findingsKeys.join(', ')}`);
  assert.match(findingsKeys[0]!, /^lake1\/ext\/seclake_findings\/2\.0\/region=us-east-1\/accountId=123456789012\/eventDay=\d{8}\/[0-9a-f]{32}\.parquet$/);
  const rows = await readParquetRows(findingsKeys[0]!);
  const anomalies = rows.filter((r) => r.kind === 'anomaly');
  assert.deepEqual(anomalies.map((r) => [r.entity, r.ip]).sort(), [
    [instanceId(3), '203.0.113.9'],
    [instanceId(5), '198.18.7.7'],
  ]);
  for (const r of rows) assert.equal(r.source_object, `s3://${BUCKET}/${keyA}`);

  // Both objects have done records; every message (2 objects, the README, the findings object, 2 done records) is gone.
  assert.equal((await listKeys(env, 'lake1/_seclake/monitor/done/')).length, 2);
  assert.deepEqual(await queueDepth(env, q.queueUrl), { visible: 0, inFlight: 0 });
  assert.equal(stats.objects, 2);
  assert.equal(stats.findings, rows.length);
  assert.equal(stats.retried + stats.movedAside, 0, JSON.stringify(events.filter((e) => e.type !== 'processed')));
  const skipped = events.flatMap((e) => (e.type === 'processed' ? e.result.objects : [])).filter((o) => o.status === 'skipped');
  assert.ok(skipped.some((o) => o.status === 'skipped' && o.uri.endsWith('README.txt') && /not a Parquet/.test(o.reason)));
  assert.ok(skipped.some((o) => o.status === 'skipped' && /findings object/.test(o.reason)), 'its own findings object is skipped');
  assert.ok(skipped.some((o) => o.status === 'skipped' && /_seclake/.test(o.reason)), 'its done records are skipped');
  assert.ok(keyN);

  // Redelivery of the same notification (S3 delivers at least once): acknowledged as already done, nothing new.
  const body = JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: BUCKET }, object: { key: encodeS3Key(keyA), eTag: 'x' } } }] });
  await env.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: body }));
  const again = monitorFor(q.queueUrl);
  await again.monitor.run();
  // A different ETag is a different object version: it is processed again and rewrites the same findings object.
  assert.equal(again.monitor.stats.objects, 1);
  assert.deepEqual(await listKeys(env, 'lake1/ext/seclake_findings/'), findingsKeys);
  const rows2 = await readParquetRows(findingsKeys[0]!);
  assert.deepEqual(rows2, rows, 'the rewritten findings object has exactly the same rows (same uids)');
  // The same version again: already done.
  const etag = (await env.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: keyA }))).ETag!.replaceAll('"', '');
  const done = (await listKeys(env, 'lake1/_seclake/monitor/done/')).length;
  await env.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: body.replace('"eTag":"x"', `"eTag":"${etag}"`) }));
  const third = monitorFor(q.queueUrl);
  await third.monitor.run();
  assert.equal(third.monitor.stats.alreadyDone, 1);
  assert.equal(third.monitor.stats.objects, 0);
  assert.equal((await listKeys(env, 'lake1/_seclake/monitor/done/')).length, done);
  assert.deepEqual(await queueDepth(env, q.queueUrl), { visible: 0, inFlight: 0 });
});

test('poison object: retried with backoff, then moved to the DLQ with its reason; the queue is not blocked', async () => {
  const q = await makeBucketAndQueue(env, 'poison', { bucket: 'poison-bucket' });
  await env.s3.send(new PutObjectCommand({ Bucket: 'poison-bucket', Key: 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20251124/corrupt.parquet', Body: Buffer.from('PAR1 this is not parquet at all PAR1') }));
  await uploadObject(env, anomalous, { bucket: 'poison-bucket' });
  // An unreadable message body too: moved aside at once.
  await env.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: '{"what": "is this"}' }));
  const { monitor, events } = monitorFor(q.queueUrl, { dlqUrl: q.dlqUrl });
  const stats = await monitor.run();

  assert.equal(stats.objects, 1, 'the good object is processed');
  assert.equal(stats.movedAside, 2);
  const retries = events.filter((e) => e.type === 'retry');
  assert.deepEqual(retries.map((e) => (e.type === 'retry' ? e.receiveCount : 0)), [1, 2], 'the corrupt object failed on receives 1 and 2, then was moved aside on the 3rd');
  const dlq = await env.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
  const moved = dlq.Messages ?? [];
  assert.equal(moved.length, 2);
  const corrupt = moved.find((m) => m.Body!.includes('corrupt.parquet'))!;
  assert.match(corrupt.MessageAttributes!['seclake-reason']!.StringValue!, /corrupt\.parquet: processing failed: .*failed on each of 3 receives/);
  assert.equal(corrupt.MessageAttributes!['seclake-receive-count']!.StringValue, '3');
  assert.equal(corrupt.MessageAttributes!['seclake-source-queue']!.StringValue, q.queueUrl);
  const unknown = moved.find((m) => m.Body === '{"what": "is this"}')!;
  assert.match(unknown.MessageAttributes!['seclake-reason']!.StringValue!, /not an S3 event notification.*not retried/);
  assert.equal(unknown.MessageAttributes!['seclake-error']!.StringValue, 'NotificationError');
  assert.deepEqual(await queueDepth(env, q.queueUrl), { visible: 0, inFlight: 0 });
  assert.equal((await listKeys(env, 'ext/seclake_findings/', 'poison-bucket')).length, 1);
});

test('without a DLQ the poison message is quarantined (record with reason and body) and deleted', async () => {
  const q = await makeBucketAndQueue(env, 'quarantine', { bucket: 'q-bucket' });
  await env.s3.send(new PutObjectCommand({ Bucket: 'q-bucket', Key: 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20251124/bad.parquet', Body: Buffer.alloc(64, 0) }));
  const lakeDir = path.join(env.tmp, 'local-findings');
  const { monitor } = monitorFor(q.queueUrl, { findings: lakeDir, quarantine: new LocalFindingsStore(lakeDir), retry: { maxReceives: 2, baseDelaySeconds: 0, maxDelaySeconds: 0 } });
  const stats = await monitor.run();
  assert.equal(stats.movedAside, 1);
  assert.equal(stats.retried, 1);
  const { readdirSync, readFileSync } = await import('node:fs');
  const qdir = path.join(lakeDir, '_seclake', 'monitor', 'quarantine');
  const days = readdirSync(qdir);
  const files = days.flatMap((d) => readdirSync(path.join(qdir, d)).map((f) => path.join(qdir, d, f)));
  assert.equal(files.length, 1);
  const rec = JSON.parse(readFileSync(files[0]!, 'utf8')) as Record<string, unknown>;
  assert.equal(rec.receive_count, 2);
  assert.match(String(rec.reason), /bad\.parquet: processing failed/);
  assert.match(String(rec.body), /bad\.parquet/);
  assert.deepEqual(await queueDepth(env, q.queueUrl), { visible: 0, inFlight: 0 });
});

test('EventBridge (Security Lake subscriber) and SNS-wrapped messages sent by hand are processed', async () => {
  const q = await makeBucketAndQueue(env, 'shapes', { bucket: 'shapes-bucket' });
  // Upload with notifications off for these keys: send the notifications ourselves in the other shapes.
  const keyA = await uploadObject(env, anomalous, { bucket: 'shapes-bucket', prefix: 'eb' });
  const keyN = await uploadObject(env, normal, { bucket: 'shapes-bucket', prefix: 'sns' });
  // Drop the S3-shaped notifications the uploads produced.
  const drained = await env.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  const { DeleteMessageCommand } = await import('@aws-sdk/client-sqs');
  for (const m of drained.Messages ?? []) await env.sqs.send(new DeleteMessageCommand({ QueueUrl: q.queueUrl, ReceiptHandle: m.ReceiptHandle }));
  const eventBridge = { source: 'aws.s3', time: '2025-11-24T16:00:00Z', account: '123456789012', region: 'us-east-1', detail: { bucket: { name: 'shapes-bucket' }, object: { key: keyA, size: 1 }, requester: 'securitylake.amazonaws.com' } };
  const sns = { Type: 'Notification', MessageId: 'x', TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Message: JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'shapes-bucket' }, object: { key: encodeS3Key(keyN) } } }] }) };
  await env.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: JSON.stringify(eventBridge) }));
  await env.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: JSON.stringify(sns) }));
  const { monitor, events } = monitorFor(q.queueUrl);
  const stats = await monitor.run();
  const shapes = events.flatMap((e) => (e.type === 'processed' && e.result.objects.some((o) => o.status === 'processed') ? [e.result.notification.shape] : [])).sort();
  assert.deepEqual(shapes, ['eventbridge', 'sns+s3']);
  assert.equal(stats.objects, 2);
  assert.equal((await listKeys(env, 'eb/ext/seclake_findings/', 'shapes-bucket')).length, 1);
});

test('heartbeat keeps a long object from a second worker; stop() releases unstarted messages to it at once', async () => {
  const q = await makeBucketAndQueue(env, 'heartbeat', { bucket: 'hb-bucket' });
  const key1 = await uploadObject(env, anomalous, { bucket: 'hb-bucket', prefix: 'one' });
  const key2 = await uploadObject(env, normal, { bucket: 'hb-bucket', prefix: 'two' });
  // Worker A: a 3 s visibility timeout but 7 s per object (the real processor after a pause), one at a time.
  let firstStarted!: () => void;
  const started = new Promise<void>((r) => (firstStarted = r));
  const slow = async (file: string, ref: Parameters<typeof proc.process>[1]) => {
    firstStarted();
    await new Promise((r) => setTimeout(r, 7000));
    return proc.process(file, ref);
  };
  const store = new S3FindingsStore(env.s3, undefined, path.join(env.tmp, 'stage'));
  const aEvents: MonitorEvent[] = [];
  const a: SqsMonitor = new SqsMonitor({
    sqs: env.sqs,
    queueUrl: q.queueUrl,
    handleObject: createObjectHandler({ s3: env.s3, process: slow, store, tmpRoot: path.join(env.tmp, 'dl-a') }),
    visibilityTimeout: 3,
    waitTimeSeconds: 1,
    batchSize: 10,
    dlqUrl: q.dlqUrl,
    onEvent: (e) => {
      aEvents.push(e);
      if (e.type === 'processed') a.stop();
    },
  });
  const aRun = a.run();
  await started;
  // Worker B polls the same queue meanwhile, for longer than A's visibility timeout.
  const b = monitorFor(q.queueUrl, { idleExitMs: 9000 });
  const [aStats, bStats] = await Promise.all([aRun, b.monitor.run()]);
  const processedBy = (events: MonitorEvent[]) => events.flatMap((e) => (e.type === 'processed' ? e.result.objects.filter((o) => o.status === 'processed').map((o) => o.uri) : []));
  const byA = processedBy(aEvents);
  const byB = processedBy(b.events);
  assert.equal(aStats.received, 2, 'A received both messages in one batch');
  assert.equal(byA.length, 1, 'A finished the object it had started, then stopped');
  assert.equal(aStats.released, 1, 'A released the message it had not started');
  assert.deepEqual([...byA, ...byB].sort(), [`s3://hb-bucket/${key1}`, `s3://hb-bucket/${key2}`].sort(), 'each object processed exactly once');
  assert.ok(!byB.includes(byA[0]!), 'B never got the object A held for 7 s with a 3 s visibility timeout');
  assert.equal(bStats.objects, 1);
  assert.deepEqual(await queueDepth(env, q.queueUrl), { visible: 0, inFlight: 0 });
});

test('a REJECT-only flow object (no src_endpoint.instance_uid) gives its pairs; one that truly gives none is counted and said', async () => {
  const q = await makeBucketAndQueue(env, 'absent', { bucket: 'absent-bucket' });
  const scanners = Array.from({ length: 25 }, (_, k) => `203.0.113.${100 + k}`);
  const [rejects] = await buildLakeObjects(env.tmp, 'rejects', rejectLog(4, scanners));
  const key = await uploadObject(env, rejects!, { bucket: 'absent-bucket' });
  // flow-peer: the instance on dst_endpoint of these ingress records, paired with each scanner.
  const flowPeer = await createProcessor({ model: modelFile, pairs: 'flow-peer' });
  // reference (src_endpoint.instance_uid with src_endpoint.ip): no record of this object has one; truly no pairs.
  const reference = await createProcessor({ model: modelFile, pairs: 'reference' });
  try {
    const a = monitorFor(q.queueUrl, { handleObject: createObjectHandler({ s3: env.s3, process: flowPeer.process, store: new S3FindingsStore(env.s3, undefined, path.join(env.tmp, 'stage')), tmpRoot: path.join(env.tmp, 'dl') }) });
    const sa = await a.monitor.run();
    assert.equal(sa.objects, 1);
    assert.equal(sa.pairs, scanners.length, 'one pair per ingress record');
    assert.equal(sa.noPairs, 0);
    const done = JSON.parse((await (await env.s3.send(new GetObjectCommand({ Bucket: 'absent-bucket', Key: (await listKeys(env, '_seclake/monitor/done/', 'absent-bucket'))[0]! }))).Body!.transformToString())) as { pairs: number };
    assert.equal(done.pairs, scanners.length, 'the done record counts the pairs');
    const processed = a.events.flatMap((e) => (e.type === 'processed' ? e.result.objects : [])).find((o) => o.uri.endsWith(key))!;
    assert.ok(processed.status === 'processed' && processed.noPairs === undefined);

    // The same object again (a new version: a different ETag) with the reference definition: done, counted, said.
    const body = JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'absent-bucket' }, object: { key: encodeS3Key(key), eTag: 'other-version' } } }] });
    await env.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: body }));
    const b = monitorFor(q.queueUrl, { handleObject: createObjectHandler({ s3: env.s3, process: reference.process, store: new S3FindingsStore(env.s3, undefined, path.join(env.tmp, 'stage')), tmpRoot: path.join(env.tmp, 'dl') }) });
    const sb = await b.monitor.run();
    assert.equal(sb.objects, 1);
    assert.equal(sb.pairs, 0);
    assert.equal(sb.noPairs, 1, 'an object without pairs is counted (--json prints the stats)');
    const ev = b.events.find((e) => e.type === 'processed' && e.result.objects.some((o) => o.status === 'processed'))!;
    assert.match(describeEvent(ev), /\.parquet: 0 rows, NO PAIRS \(no record of the object is a pair of the record definition\), done$/);
  } finally {
    flowPeer.close();
    reference.close();
  }
});

test('an EventBridge notification without an ETag names the object version by HeadObject: an object already done is not processed or sent again', async () => {
  const bucket = 'etag-bucket';
  const q = await makeBucketAndQueue(env, 'etag', { bucket });
  const sink = new MemorySink();
  const handler = () => createObjectHandler({ s3: env.s3, process: proc.process, store: new S3FindingsStore(env.s3, undefined, path.join(env.tmp, 'stage')), sinks: [sink], tmpRoot: path.join(env.tmp, 'dl') });
  const key = await uploadObject(env, anomalous, { bucket });
  // 1. The S3 notification (with eTag) of the upload: processed, findings sent once.
  const first = monitorFor(q.queueUrl, { handleObject: handler() });
  await first.monitor.run();
  assert.equal(first.monitor.stats.objects, 1);
  const sent = sink.findings.length;
  assert.ok(sent > 0);
  // 2. The same version announced by EventBridge without an etag (twice): already done, nothing sent again.
  const eventBridge = JSON.stringify({ source: 'aws.s3', 'detail-type': 'Object Created', time: '2025-11-24T16:00:00Z', detail: { bucket: { name: bucket }, object: { key } } });
  await env.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: eventBridge }));
  await env.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: eventBridge }));
  const second = monitorFor(q.queueUrl, { handleObject: handler() });
  await second.monitor.run();
  assert.equal(second.monitor.stats.objects, 0, 'not processed again');
  assert.equal(second.monitor.stats.alreadyDone, 2);
  assert.equal(sink.findings.length, sent, 'no finding sent twice');
  // 3. A new version under the same key, announced both ways: processed once (whichever message comes first).
  await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(normal.file) }));
  await env.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: eventBridge }));
  const third = monitorFor(q.queueUrl, { handleObject: handler() });
  await third.monitor.run();
  assert.equal(third.monitor.stats.objects, 1, 'the new version is processed');
  assert.equal(third.monitor.stats.alreadyDone, 1, 'and its second announcement is already done');
  assert.equal((await listKeys(env, '_seclake/monitor/done/', bucket)).length, 2, 'one done record per version');
  assert.deepEqual(await queueDepth(env, q.queueUrl), { visible: 0, inFlight: 0 });
});

test('temp directories: those of killed processes are swept at start, live ones kept; a run leaves nothing in its own', async () => {
  const root = path.join(env.tmp, 'sweep');
  mkdirSync(root, { recursive: true });
  // A pid that is certainly dead: a child that has exited.
  const child = spawn(process.execPath, ['-e', '']);
  const deadPid = child.pid!;
  await new Promise((r) => child.once('exit', r));
  const started = Date.now() - process.uptime() * 1000;
  const make = (name: string, ageMs = 0): string => {
    const d = path.join(root, name);
    mkdirSync(path.join(d, 'object-abc'), { recursive: true });
    writeFileSync(path.join(d, 'object-abc', 'x.parquet'), 'left behind by a kill');
    if (ageMs) {
      const t = new Date(Date.now() - ageMs);
      for (const p of [path.join(d, 'object-abc', 'x.parquet'), path.join(d, 'object-abc'), d]) utimesSync(p, t, t);
    }
    return name;
  };
  const dead = make(`seclake-tmp-${Date.now() - 60_000}-p${deadPid}-dead`);
  // Our own pid, from before this process started (a Lambda container's next process often gets the same pid).
  const namesake = make(`seclake-tmp-${Math.floor(started) - 60_000}-p${process.pid}-before`);
  const legacyOld = make('seclake-s3-AbC123', 7 * 3600_000);
  const legacyNew = make('seclake-s3-XyZ789');
  const live = make(`seclake-tmp-${Date.now()}-p${process.ppid}-live`);
  const other = make('not-ours');
  const q = await makeBucketAndQueue(env, 'sweep', { bucket: 'sweep-bucket' });
  await uploadObject(env, anomalous, { bucket: 'sweep-bucket' });
  const handleObject = createObjectHandler({ s3: env.s3, process: proc.process, store: new S3FindingsStore(env.s3, undefined, root), tmpRoot: root });
  const left = readdirSync(root).sort();
  for (const gone of [dead, namesake, legacyOld]) assert.ok(!left.includes(gone), `${gone} removed at start: ${left.join(', ')}`);
  for (const kept of [legacyNew, live, other]) assert.ok(left.includes(kept), `${kept} kept`);
  const mine = left.filter((n) => tempDirOwner(n)?.pid === process.pid);
  assert.equal(mine.length, 1, 'this process has one temp directory');
  const { monitor } = monitorFor(q.queueUrl, { handleObject });
  const stats = await monitor.run();
  assert.equal(stats.objects, 1);
  assert.ok(stats.findings > 0, 'findings were staged there and uploaded');
  assert.deepEqual(readdirSync(path.join(root, mine[0]!)), [], 'the download and the staged findings are gone');
  assert.deepEqual(readdirSync(root).sort(), [legacyNew, live, mine[0]!, other].sort());
});
