/**
 * The Lambda handler (src/lambda.ts) invoked with real SQS event records: the messages S3 (moto) put on the queue,
 * received with ReceiveMessage and shaped as Lambda's SQS event source delivers them. Scores in-process from a model
 * file in S3 (MODEL_S3_URI) or through a SageMaker-compatible endpoint (seclake serve, ENDPOINT_NAME); reports only
 * the failed messages (ReportBatchItemFailures); moves a poison message to the DLQ after MAX_RECEIVES; reads the pairs
 * of an object lacking attributes the definition names (REJECT-only flows), and logs an object without pairs.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { createHandler } from '../../src/lambda.js';
import { Duck } from '../../src/lake/duckdb.js';
import { findingsFilesSql } from '../../src/findings/view.js';
import type { SQSEvent } from 'aws-lambda';
import { lambdaContext, sqsEventFromQueue } from '../helpers/lambda.js';
import { startServer } from '../../src/serve/start.js';
import { buildLakeObjects, flowLog, instanceId, listKeys, makeBucketAndQueue, queueDepth, rejectLog, startAwsEnv, trainModel, uploadObject, type AwsEnv, type LakeObject } from './aws-fixture.js';

const INSTANCES = 12;
let env: AwsEnv;
let modelPath: string;
let anomalous: LakeObject;
let normal: LakeObject;

before(async () => {
  env = await startAwsEnv();
  modelPath = await trainModel(env.tmp, INSTANCES);
  [anomalous] = await buildLakeObjects(env.tmp, 'anomalous', flowLog({ instances: INSTANCES, records: 200, seed: 1, anomalies: [{ instance: 3, ip: '203.0.113.9' }] }));
  [normal] = await buildLakeObjects(env.tmp, 'normal', flowLog({ instances: INSTANCES, records: 200, seed: 2, startSec: 1_764_100_000 }));
});
after(async () => {
  await env?.close();
});

/** Receive what is on the queue and shape it as Lambda's SQS event (records as the event source mapping sends them). */
/** What is on the queue as Lambda's SQS event. */
function sqsEvent(queueUrl: string, queueArn: string, visibility = 30): Promise<SQSEvent> {
  return sqsEventFromQueue(env.sqs, queueUrl, queueArn, visibility);
}

/** What Lambda does with the response: delete every record not reported as failed. */
async function lambdaDeletes(queueUrl: string, event: SQSEvent, failures: { itemIdentifier: string }[]): Promise<void> {
  const failed = new Set(failures.map((f) => f.itemIdentifier));
  const { DeleteMessageCommand } = await import('@aws-sdk/client-sqs');
  for (const r of event.Records) if (!failed.has(r.messageId)) await env.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: r.receiptHandle }));
}

type Row = { uid: string; entity: string; ip: string; kind: string; dot_product: number };

async function findingsRows(bucket: string, prefix: string): Promise<Row[]> {
  const out: Row[] = [];
  for (const key of await listKeys(env, prefix, bucket)) {
    const got = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const file = path.join(env.tmp, `f-${Math.random().toString(36).slice(2)}.parquet`);
    writeFileSync(file, Buffer.from(await got.Body!.transformToByteArray()));
    const db = await Duck.open({ threads: 1 });
    try {
      for (const r of await db.all(`SELECT uid, entity, ip, kind, dot_product FROM (${findingsFilesSql([file])})`)) out.push(r as Row);
    } finally {
      db.close();
    }
  }
  return out.sort((a, b) => (a.uid < b.uid ? -1 : 1));
}

test('MODEL_S3_URI: a batch with a good, a normal and a corrupt object reports only the corrupt one; after MAX_RECEIVES it goes to the DLQ', async () => {
  const bucket = 'lambda-lake';
  const q = await makeBucketAndQueue(env, 'lambda-q', { bucket });
  await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'models/vpc.model', Body: readFileSync(modelPath) }));
  const keyA = await uploadObject(env, anomalous, { bucket });
  await uploadObject(env, normal, { bucket });
  await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20251124/corrupt.parquet', Body: 'garbage' }));
  const handler = createHandler({
    MODEL_S3_URI: `s3://${bucket}/models/vpc.model`,
    // The fixture pairs each instance with its own (source) address: the reference definition.
    PAIRS: 'reference',
    DLQ_URL: q.dlqUrl,
    MAX_RECEIVES: '2',
    BACKOFF_BASE_SECONDS: '0',
    BACKOFF_MAX_SECONDS: '0',
    TMP_DIR: path.join(env.tmp, 'lambda-tmp'),
    S3_ENDPOINT_URL: env.moto.endpoint,
    SQS_ENDPOINT_URL: env.moto.endpoint,
    AWS_REGION: 'us-east-1',
  });
  try {
    // The model and the three objects: four records (the model upload is not a .parquet: acknowledged).
    const ev1 = await sqsEvent(q.queueUrl, q.queueArn);
    assert.equal(ev1.Records.length, 4);
    const res1 = await handler(ev1, lambdaContext());
    const corruptId = ev1.Records.find((r) => r.body.includes('corrupt.parquet'))!.messageId;
    assert.deepEqual(res1, { batchItemFailures: [{ itemIdentifier: corruptId }] });
    await lambdaDeletes(q.queueUrl, ev1, res1.batchItemFailures);
    const rows = await findingsRows(bucket, 'ext/seclake_findings/');
    assert.ok(rows.some((r) => r.kind === 'anomaly' && r.entity === instanceId(3) && r.ip === '203.0.113.9'), JSON.stringify(rows));
    assert.equal(new Set(rows.map((r) => r.uid)).size, rows.length);
    assert.ok(keyA);

    // The failed record's visibility was set to the backoff (0 s): it is back at once with ApproximateReceiveCount 2,
    // plus the notifications of the findings and done records the first batch wrote (skipped as seclake's own).
    const ev2 = await sqsEvent(q.queueUrl, q.queueArn);
    const again = ev2.Records.find((r) => r.messageId === corruptId)!;
    assert.equal(again.attributes!.ApproximateReceiveCount, '2');
    const res2 = await handler(ev2, lambdaContext());
    assert.deepEqual(res2, { batchItemFailures: [] }, 'moved to the DLQ on the 2nd receive, so reported as done');
    await lambdaDeletes(q.queueUrl, ev2, res2.batchItemFailures);
    const dlq = await env.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
    assert.equal(dlq.Messages?.length, 1);
    assert.match(dlq.Messages![0]!.MessageAttributes!['seclake-reason']!.StringValue!, /corrupt\.parquet: processing failed/);
    assert.deepEqual(await queueDepth(env, q.queueUrl), { visible: 0, inFlight: 0 });

    // Redelivering the first batch (an at-least-once duplicate) writes nothing new.
    const before = await findingsRows(bucket, 'ext/seclake_findings/');
    const res3 = await handler({ Records: ev1.Records.filter((r) => r.messageId !== corruptId).map((r) => ({ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: '1' } })) }, lambdaContext());
    assert.deepEqual(res3, { batchItemFailures: [] });
    assert.deepEqual(await findingsRows(bucket, 'ext/seclake_findings/'), before);
  } finally {
    await handler.close();
  }
});

test('ENDPOINT_NAME: scoring through a SageMaker-compatible endpoint (seclake serve) gives the same findings as in-process', async () => {
  const bucket = 'endpoint-lake';
  const q = await makeBucketAndQueue(env, 'endpoint-q', { bucket });
  await uploadObject(env, anomalous, { bucket });
  const server = await startServer({ models: [{ name: 'vpc-endpoint', path: modelPath }], port: 0, host: '127.0.0.1', watch: false });
  const handler = createHandler({
    ENDPOINT_NAME: 'vpc-endpoint',
    PAIRS: 'reference',
    // The model's name in findings (it is part of each finding's uid): the same as the in-process model's file name.
    MODEL_NAME: 'vpc',
    SAGEMAKER_ENDPOINT_URL: server.url,
    FINDINGS_S3_URI: `s3://${bucket}/via-endpoint`,
    TMP_DIR: path.join(env.tmp, 'lambda-tmp2'),
    S3_ENDPOINT_URL: env.moto.endpoint,
    SQS_ENDPOINT_URL: env.moto.endpoint,
    QUEUE_URL: q.queueUrl,
    AWS_REGION: 'us-east-1',
  });
  try {
    const ev = await sqsEvent(q.queueUrl, q.queueArn);
    const res = await handler(ev, lambdaContext());
    assert.deepEqual(res, { batchItemFailures: [] });
    const viaEndpoint = await findingsRows(bucket, 'via-endpoint/ext/seclake_findings/');
    assert.ok(viaEndpoint.some((r) => r.kind === 'anomaly' && r.entity === instanceId(3) && r.ip === '203.0.113.9'), JSON.stringify(viaEndpoint));
    // Same object scored in-process (MODEL_PATH, named vpc after vpc.model) into another prefix: the same findings.
    const inproc = createHandler({ MODEL_PATH: modelPath, PAIRS: 'reference', FINDINGS_S3_URI: `s3://${bucket}/in-process`, TMP_DIR: path.join(env.tmp, 'lambda-tmp3'), S3_ENDPOINT_URL: env.moto.endpoint, SQS_ENDPOINT_URL: env.moto.endpoint, QUEUE_URL: q.queueUrl, AWS_REGION: 'us-east-1' });
    try {
      const res2 = await inproc({ Records: ev.Records.filter((r) => r.body.includes('VPC_FLOW')) }, lambdaContext());
      assert.deepEqual(res2, { batchItemFailures: [] });
    } finally {
      await inproc.close();
    }
    const inProcess = await findingsRows(bucket, 'in-process/ext/seclake_findings/');
    assert.deepEqual(viaEndpoint.map((r) => [r.uid, r.entity, r.ip, r.kind, r.dot_product]), inProcess.map((r) => [r.uid, r.entity, r.ip, r.kind, r.dot_product]), 'same findings, same scores to the last bit');
  } finally {
    await handler.close();
    await server.close({ timeoutMs: 2000 });
  }
});

test('configuration errors are clear and name the variables', async () => {
  const h = createHandler({ MODEL_S3_URI: 's3://bucket-only', ENDPOINT_NAME: 'ep', MAX_RECEIVES: 'lots', DLQ_URL: 'sqs-queue' });
  await assert.rejects(h({ Records: [] }, lambdaContext()), (e: unknown) => e instanceof ConfigError && /MODEL_S3_URI: must name an object/.test(e.message) && /MAX_RECEIVES/.test(e.message) && /DLQ_URL: must be an http\(s\) URL/.test(e.message));
  const h2 = createHandler({ MODEL_PATH: '/x.model' });
  await assert.rejects(h2({ Records: [] }, lambdaContext()), (e: unknown) => e instanceof ConfigError && /DLQ_URL/.test(e.message));
  const h3 = createHandler({});
  await assert.rejects(h3({ Records: [] }, lambdaContext()), /set one of MODEL_S3_URI, MODEL_PATH or ENDPOINT_NAME/);
});

test('a REJECT-only flow object (no src_endpoint.instance_uid) gives its pairs in the Lambda; an object without pairs is logged, not silent', async () => {
  const bucket = 'lambda-absent';
  const q = await makeBucketAndQueue(env, 'lambda-absent-q', { bucket });
  const scanners = Array.from({ length: 30 }, (_, k) => `198.51.100.${k + 1}`);
  const [rejects] = await buildLakeObjects(env.tmp, 'lambda-rejects', rejectLog(7, scanners));
  const key = await uploadObject(env, rejects!, { bucket });
  const base = { MODEL_PATH: modelPath, DLQ_URL: q.dlqUrl, S3_ENDPOINT_URL: env.moto.endpoint, SQS_ENDPOINT_URL: env.moto.endpoint, QUEUE_URL: q.queueUrl, AWS_REGION: 'us-east-1' };
  // Every line the handler writes is one JSON object.
  const logged: Record<string, unknown>[] = [];
  const write = (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>);
  const flowPeer = createHandler({ ...base, PAIRS: 'flow-peer', TMP_DIR: path.join(env.tmp, 'lambda-tmp4') }, undefined, { write });
  const reference = createHandler({ ...base, PAIRS: 'reference', TMP_DIR: path.join(env.tmp, 'lambda-tmp5') }, undefined, { write });
  try {
    const ev = await sqsEvent(q.queueUrl, q.queueArn);
    assert.deepEqual(await flowPeer(ev, lambdaContext()), { batchItemFailures: [] });
    await lambdaDeletes(q.queueUrl, ev, []);
    const doneKeys = await listKeys(env, '_seclake/monitor/done/', bucket);
    assert.equal(doneKeys.length, 1);
    const done = JSON.parse(await (await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: doneKeys[0]! }))).Body!.transformToString()) as { pairs: number };
    assert.equal(done.pairs, scanners.length, 'every ingress record is a pair: the instance (dst_endpoint) and its scanner');
    assert.ok(!logged.some((l) => l.message === 'object gave no pairs'));

    // The reference definition reads src_endpoint.instance_uid, which no record of this object has: no pairs, said.
    const newVersion = (body: string): string => {
      const doc = JSON.parse(body) as { Records: { s3: { object: { eTag?: string } } }[] };
      doc.Records[0]!.s3.object.eTag = 'another-version';
      return JSON.stringify(doc);
    };
    const other = { Records: ev.Records.filter((r) => r.body.includes('.parquet')).map((r) => ({ ...r, body: newVersion(r.body) })) };
    assert.equal(other.Records.length, 1);
    assert.deepEqual(await reference(other, lambdaContext()), { batchItemFailures: [] });
    const said = logged.filter((l) => l.message === 'object gave no pairs');
    assert.equal(said.length, 1, JSON.stringify(logged));
    assert.equal(said[0]!.object, `s3://${bucket}/${key}`);
    assert.match(String(said[0]!.reason), /no record of the object is a pair of the record definition/);
    const processed = logged.find((l) => l.message === 'message processed' && JSON.stringify(l).includes('no_pairs'));
    assert.ok(processed, 'the message line marks the object too');
  } finally {
    await flowPeer.close();
    await reference.close();
  }
});
