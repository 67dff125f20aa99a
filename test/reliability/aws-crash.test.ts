/**
 * Crash consistency of `seclake monitor --sqs-queue-url` (AWS mode, issue 12 "crash-consistency harness"): three
 * Security Lake objects are uploaded to a bucket that notifies an SQS queue (moto_server); for every fault point a
 * worker is killed there by SIGKILL, a second worker drains the queue, and the bucket must hold what an uninterrupted
 * worker leaves: the same findings objects (by content) in the same catalog, the same done records, nothing left on the
 * queue or moved to the dead-letter queue, no temp file left, and the same findings in the file sink (every line whole;
 * repeats allowed: sinks are at-least-once).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readObjects } from '../../src/lake/catalog.js';
import { createS3Client } from '../../src/lake/s3.js';
import { startMoto } from '../helpers/moto.js';
import { REGION, trainModel, writeInputs, type Inputs } from './fixture.js';
import { assertKilledAt, assertOk, filesUnder, inParallel, makeTmpDir, runCli, s3LakeSnapshot, sinkOutput, type CliResult, type LakeSnapshot } from './harness.js';
import { AWS_FAULTS } from './points.js';

const BUCKET = 'sl-bucket';
let dir: string;
let inputs: Inputs;
let model: string;
/** The Parquet objects of a.log and b.log: Security Lake key -> local file. */
let objects: { key: string; file: string }[];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seclake-crash-aws-'));
  inputs = writeInputs(path.join(dir, 'in'));
  model = await trainModel(dir);
  const lake = path.join(dir, 'template');
  assertOk(await runCli(['ingest', inputs.a, inputs.b, '--lake', lake, '--region', REGION]), 'ingest of the objects');
  objects = readObjects(lake).map((o) => ({ key: o.path, file: path.join(lake, o.path) }));
  assert.equal(objects.length, 3);
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: REGION });
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function depth(sqs: SQSClient, url: string): Promise<{ visible: number; inFlight: number }> {
  const r = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return { visible: Number(r.Attributes!.ApproximateNumberOfMessages), inFlight: Number(r.Attributes!.ApproximateNumberOfMessagesNotVisible) };
}

/** A bucket notifying a queue (plus a dead-letter queue), the s3:TestEvent drained, the three objects uploaded. */
async function setUp(s3: S3Client, sqs: SQSClient): Promise<{ queueUrl: string; dlqUrl: string }> {
  const q = await sqs.send(new CreateQueueCommand({ QueueName: 'sl-q', Attributes: { VisibilityTimeout: '5' } }));
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: 'sl-q-dlq' }));
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: BUCKET,
      NotificationConfiguration: { QueueConfigurations: [{ Id: 'seclake', QueueArn: arn, Events: ['s3:ObjectCreated:*'] }] },
    }),
  );
  const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  for (const m of r.Messages ?? []) await sqs.send(new DeleteMessageCommand({ QueueUrl: q.QueueUrl, ReceiptHandle: m.ReceiptHandle }));
  for (const o of objects) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: o.key, Body: readFileSync(o.file) }));
  return { queueUrl: q.QueueUrl!, dlqUrl: dlq.QueueUrl! };
}

interface Run {
  fault: string;
  crashed?: CliResult;
  rerun: CliResult;
  lake?: LakeSnapshot;
  sink?: ReturnType<typeof sinkOutput>;
  queue: { visible: number; inFlight: number };
  dlq: { visible: number; inFlight: number };
  leftover: string[];
}

async function one(name: string, fault: string | undefined): Promise<Run> {
  const moto = await startMoto();
  const s3 = createS3Client({ endpoint: moto.endpoint, region: REGION });
  const sqs = new SQSClient({ endpoint: moto.endpoint, region: REGION });
  try {
    const { queueUrl, dlqUrl } = await setUp(s3, sqs);
    const tmp = makeTmpDir(path.join(dir, `tmp-${name}`));
    const sink = path.join(dir, `sink-${name}.jsonl`);
    const args = [
      'monitor', '--model', model, '--pairs', 'reference', '--sqs-queue-url', queueUrl, '--dlq-url', dlqUrl, '--s3-endpoint', moto.endpoint, '--region', REGION,
      '--wait-seconds', '1', '--visibility-timeout', '5', '--idle-exit', '8', '--sink', `file:${sink}`, '--quiet',
    ];
    const env = { ...moto.env, TMPDIR: tmp };
    const crashed = fault ? await runCli(args, { fault, env }) : undefined;
    const rerun = await runCli(args, { env });
    const leftover = filesUnder(tmp);
    const queue = await depth(sqs, queueUrl);
    const dlq = await depth(sqs, dlqUrl);
    const base = { fault: fault ?? '', ...(crashed ? { crashed } : {}), rerun, queue, dlq, leftover };
    if (rerun.status !== 0) return base;
    return { ...base, lake: await s3LakeSnapshot(s3, moto.endpoint, `s3://${BUCKET}`, path.join(dir, `mirror-${name}`)), sink: sinkOutput(sink) };
  } finally {
    s3.destroy();
    sqs.destroy();
    await moto.stop();
  }
}

test('AWS mode (moto S3 + SQS): a worker killed at each fault point, then another: the bucket, queue and sink are the uninterrupted run\'s', async (t) => {
  const runs = await inParallel(3, [() => one('ref', undefined), ...AWS_FAULTS.map((f) => () => one(f.replace(':', '-'), f))]);
  const want = runs[0]!;
  assertOk(want.rerun, 'the uninterrupted worker');
  assert.equal(want.lake!.objects.length, 3, 'three findings objects catalogued');
  assert.equal(Object.keys(want.lake!.monitor).length, 3, 'three done records');
  assert.equal(want.sink!.repeats, 0, 'an uninterrupted run sends each finding once');
  assert.deepEqual(want.sink!.bad, []);
  assert.deepEqual(want.queue, { visible: 0, inFlight: 0 });
  assert.deepEqual(want.leftover, []);
  for (const r of runs.slice(1)) {
    await t.test(r.fault, () => {
      assertKilledAt(r.crashed!, r.fault);
      assertOk(r.rerun, `the worker after ${r.fault}`);
      assert.deepEqual(r.lake, want.lake, `the bucket after a crash at ${r.fault} differs from the uninterrupted run's`);
      assert.deepEqual(r.sink!.bad, [], `the file sink after a crash at ${r.fault} has broken lines`);
      assert.deepEqual(r.sink!.findings, want.sink!.findings, `the file sink after a crash at ${r.fault} holds other findings`);
      assert.deepEqual(r.queue, { visible: 0, inFlight: 0 }, 'the queue is drained');
      assert.deepEqual(r.dlq, { visible: 0, inFlight: 0 }, 'nothing was moved to the dead-letter queue');
      assert.deepEqual(r.leftover, [], `temp files left behind by the worker killed at ${r.fault}`);
    });
  }
});
