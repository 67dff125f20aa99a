/**
 * The Lambda handler's telemetry and limits, invoked in-process with real SQS event records from moto: each line it
 * writes is JSON (level, message, requestId), each invocation ends with one valid EMF document (Messages, Objects,
 * Records, Findings, Failures, Deferred, Lag); a batch stops taking messages when its remaining time runs short and
 * reports the rest; and the SAM template maps its parameters (Pairs, ModelName, KmsKeyArn, MetricsNamespace) onto
 * what the function reads and the role allows.
 */
import { PutObjectCommand as PutS3Object } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PAIR_DEFINITIONS } from '../../src/detectors/pairs/definitions.js';
import { createHandler } from '../../src/lambda.js';
import { emfDocument } from '../../src/monitor/aws/emf.js';
import { lambdaEnvSchema } from '../../src/monitor/aws/lambda-config.js';
import { parseLakeKey, parseNotification } from '../../src/monitor/aws/notifications.js';
import { lambdaContext, sqsEventFromQueue } from '../helpers/lambda.js';
import { buildLakeObjects, flowLog, makeBucketAndQueue, startAwsEnv, trainModel, uploadObject, type AwsEnv, type LakeObject } from '../monitor/aws-fixture.js';
import { emfProblems } from './emf-check.js';
import { block, REPO, scalar, templateText } from './template.js';

const INSTANCES = 12;
let env: AwsEnv;
let modelPath: string;
let objects: LakeObject[];

before(async () => {
  env = await startAwsEnv();
  modelPath = await trainModel(env.tmp, INSTANCES);
  objects = [];
  for (let i = 0; i < 3; i++) {
    const [o] = await buildLakeObjects(env.tmp, `obj${i}`, flowLog({ instances: INSTANCES, records: 120, seed: 10 + i, startSec: 1_764_000_000 + i * 4000 }));
    objects.push(o!);
  }
});
after(async () => {
  await env?.close();
});

function capture(): { write: (line: string) => void; lines: string[]; docs: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  return {
    lines,
    write: (line) => void lines.push(line),
    docs: () =>
      lines.map((l) => {
        assert.ok(l.endsWith('\n') && !l.slice(0, -1).includes('\n'), `one line per write: ${JSON.stringify(l)}`);
        return JSON.parse(l) as Record<string, unknown>;
      }),
  };
}

function baseEnv(bucket: string, q: { dlqUrl: string; queueUrl: string }, tmp: string): Record<string, string> {
  return {
    MODEL_S3_URI: `s3://${bucket}/models/vpc.model`,
    PAIRS: 'reference',
    DLQ_URL: q.dlqUrl,
    QUEUE_URL: q.queueUrl,
    BACKOFF_BASE_SECONDS: '0',
    BACKOFF_MAX_SECONDS: '0',
    TMP_DIR: path.join(env.tmp, tmp),
    S3_ENDPOINT_URL: env.moto.endpoint,
    SQS_ENDPOINT_URL: env.moto.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: 'seclake-telemetry-test',
  };
}

test('log lines are JSON with level, message and requestId; one EMF document per invocation counts objects, records, findings, failures and lag', async () => {
  const bucket = 'telemetry-lake';
  const q = await makeBucketAndQueue(env, 'telemetry-q', { bucket });
  await env.s3.send(new PutS3Object({ Bucket: bucket, Key: 'models/vpc.model', Body: readFileSync(modelPath) }));
  await uploadObject(env, objects[0]!, { bucket });
  await uploadObject(env, objects[1]!, { bucket });
  await env.s3.send(new PutS3Object({ Bucket: bucket, Key: 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20251124/corrupt.parquet', Body: 'garbage' }));
  const out = capture();
  const handler = createHandler({ ...baseEnv(bucket, q, 'tel-tmp'), METRICS_NAMESPACE: 'seclake-test' }, undefined, { write: out.write });
  try {
    const ev = await sqsEventFromQueue(env.sqs, q.queueUrl, q.queueArn);
    assert.equal(ev.Records.length, 4);
    const ctx = lambdaContext({ awsRequestId: 'req-1' });
    const res = await handler(ev, ctx);
    assert.equal(res.batchItemFailures.length, 1, 'the corrupt object');
    const docs = out.docs();
    const logs = docs.filter((d) => !('_aws' in d));
    const emf = docs.filter((d) => '_aws' in d);
    assert.ok(logs.length >= 4, `${logs.length} log lines`);
    for (const l of logs) {
      assert.deepEqual(Object.keys(l).slice(0, 4), ['timestamp', 'level', 'requestId', 'message'], JSON.stringify(l));
      assert.ok(['INFO', 'WARN', 'ERROR'].includes(String(l.level)));
      assert.equal(l.requestId, 'req-1');
      assert.match(String(l.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    assert.ok(logs.some((l) => l.level === 'WARN' && l.message === 'message failed; will be retried'));
    assert.equal(emf.length, 1);
    const m = emf[0]!;
    assert.deepEqual(emfProblems(m), []);
    assert.equal((m._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0]!.Namespace, 'seclake-test');
    assert.equal(m.FunctionName, 'seclake-telemetry-test');
    assert.equal(m.requestId, 'req-1');
    assert.deepEqual([m.Messages, m.Objects, m.Failures, m.Deferred], [4, 2, 1, 0]);
    assert.ok((m.Records as number) >= 200, `records ${String(m.Records)}`);
    assert.equal(typeof m.Findings, 'number');
    // Lag: from the S3 event time to the findings written, one value per processed object.
    const lag = m.Lag as number[];
    assert.equal(lag.length, 2);
    for (const v of lag) assert.ok(v >= 0 && v < 120_000, `lag ${v} ms`);

    // A second invocation writes its own document, under its own request id.
    const again = await handler({ Records: [] }, lambdaContext({ awsRequestId: 'req-2' }));
    assert.deepEqual(again, { batchItemFailures: [] });
    const second = out.docs().filter((d) => '_aws' in d);
    assert.equal(second.length, 2);
    assert.equal(second[1]!.requestId, 'req-2');
    assert.equal(second[1]!.Messages, 0);
    assert.ok(!('Lag' in second[1]!), 'no lag without objects (a metric without a value is left out)');
    assert.deepEqual(emfProblems(second[1]), []);
  } finally {
    await handler.close();
  }
});

test('a start that fails logs one JSON error line and still writes the EMF document, counting the batch as failures', async () => {
  const out = capture();
  const h = createHandler({ MODEL_PATH: path.join(env.tmp, 'missing.model'), DLQ_URL: 'http://127.0.0.1:9/q', AWS_REGION: 'us-east-1' }, undefined, { write: out.write });
  const ev = { Records: [{ messageId: 'm1', receiptHandle: 'r1', body: '{}', attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q', awsRegion: 'us-east-1' }] };
  await assert.rejects(h(ev, lambdaContext({ awsRequestId: 'req-fail' })), /missing\.model/);
  const docs = out.docs();
  assert.equal(docs.length, 2);
  assert.equal(docs[0]!.level, 'ERROR');
  assert.equal(docs[0]!.requestId, 'req-fail');
  assert.deepEqual(emfProblems(docs[1]), []);
  assert.deepEqual([docs[1]!.Messages, docs[1]!.Failures], [1, 1]);
});

test('the batch stops taking new messages before its time runs out and reports the rest as failures, visible again at once', async () => {
  const bucket = 'deadline-lake';
  const q = await makeBucketAndQueue(env, 'deadline-q', { bucket, visibility: 600 });
  await env.s3.send(new PutS3Object({ Bucket: bucket, Key: 'models/vpc.model', Body: readFileSync(modelPath) }));
  for (const o of objects) await uploadObject(env, o, { bucket });
  const out = capture();
  const handler = createHandler({ ...baseEnv(bucket, q, 'deadline-tmp'), REMAINING_TIME_MARGIN_SECONDS: '30' }, undefined, { write: out.write });
  try {
    // Received with a 600 s visibility: a message not released would stay hidden for the rest of the test.
    const all = await sqsEventFromQueue(env.sqs, q.queueUrl, q.queueArn, 600);
    const ev = { Records: all.Records.filter((r) => r.body.includes('.parquet')) };
    assert.equal(ev.Records.length, 3);
    // 2 minutes left before the second message, then 10 s: under the 30 s margin.
    const answers = [120_000, 10_000, 10_000];
    let asked = 0;
    const res = await handler(ev, lambdaContext({ remainingMs: () => answers[Math.min(asked++, answers.length - 1)]! }));
    assert.deepEqual(
      res.batchItemFailures.map((f) => f.itemIdentifier),
      [ev.Records[2]!.messageId],
      'the first message is always started, the second had time, the third did not',
    );
    const docs = out.docs();
    const processed = docs.filter((d) => d.message === 'message processed').map((d) => d.messageId);
    assert.deepEqual(processed, [ev.Records[0]!.messageId, ev.Records[1]!.messageId]);
    const said = docs.find((d) => d.message === 'time is running out: messages not started are reported for a retry');
    assert.ok(said && said.level === 'WARN' && said.deferred === 1, JSON.stringify(docs));
    const emf = docs.find((d) => '_aws' in d)!;
    assert.deepEqual([emf.Objects, emf.Deferred, emf.Failures], [2, 1, 0]);
    // Released (visibility 0): received again at once, not after 600 s (beside the notifications of the findings
    // and done records the batch wrote, which are new messages).
    const back = await env.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
    const batchIds = new Set(ev.Records.map((r) => r.messageId));
    const again = (back.Messages ?? []).filter((m) => batchIds.has(m.MessageId!));
    assert.deepEqual(again.map((m) => m.MessageId), [ev.Records[2]!.messageId]);
    assert.equal(again[0]!.Attributes!.ApproximateReceiveCount, '2');
  } finally {
    await handler.close();
  }
});

test('PAIRS must name a pair definition; an empty one means the model\'s own', () => {
  assert.throws(
    () => lambdaEnvSchema.parse({ MODEL_PATH: '/m', PAIRS: 'flow_peer' }),
    (e: unknown) => /must be one of default, flow-peer, user-login, reference/.test(String((e as Error).message)),
  );
  assert.equal(lambdaEnvSchema.parse({ MODEL_PATH: '/m', PAIRS: '' }).PAIRS, undefined);
});

test('EMF: the builder leaves out metrics without values; the checker catches documents CloudWatch would reject', () => {
  const doc = emfDocument({ namespace: 'ns', dimensions: { FunctionName: 'f' }, metrics: [{ name: 'A', unit: 'Count', value: 3 }, { name: 'L', unit: 'Milliseconds', value: [] }], timestamp: 1000 });
  assert.deepEqual(emfProblems(doc), []);
  assert.deepEqual((doc._aws as { CloudWatchMetrics: { Metrics: unknown[] }[] }).CloudWatchMetrics[0]!.Metrics, [{ Name: 'A', Unit: 'Count' }]);
  assert.ok(emfProblems({ ...doc, A: 'three' }).some((p) => /metric A/.test(p)));
  assert.ok(emfProblems({ ...doc, FunctionName: undefined }).some((p) => /dimension FunctionName/.test(p)));
  assert.ok(emfProblems({ A: 3 }).some((p) => /_aws/.test(p)));
  assert.ok(emfProblems({ ...doc, _aws: { ...(doc._aws as object), Timestamp: '1000' } }).some((p) => /Timestamp/.test(p)));
});

test('the SAM template: Pairs and ModelName reach PAIRS and MODEL_NAME, JSON logs, a KMS statement only when KmsKeyArn is set, every variable one the function reads', () => {
  const text = templateText();
  const params = block(text, ['Parameters']);
  const pairs = block(params, ['Pairs']);
  assert.equal(scalar(pairs, 'Default'), '');
  const allowed = /AllowedValues:\s*\[(.*)\]/.exec(pairs.join('\n'))![1]!.split(',').map((s) => s.trim().replace(/^'(.*)'$/, '$1'));
  assert.deepEqual(allowed.filter(Boolean).sort(), Object.keys(PAIR_DEFINITIONS).sort());
  assert.ok(allowed.includes(''), 'empty: the definition the model was trained on');
  assert.equal(scalar(block(params, ['KmsKeyArn']), 'Default'), '');

  const fn = block(text, ['Resources', 'MonitorFunction', 'Properties']);
  const vars = block(fn, ['Environment', 'Variables']).slice(1).map((l) => /^\s*([A-Z_]+):\s*(.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
  const known = new Set(Object.keys(lambdaEnvSchema.shape));
  for (const [, name] of vars) if (name !== 'NODE_OPTIONS') assert.ok(known.has(name!), `template sets ${name}, which lambda-config.ts does not read`);
  const value = (n: string) => vars.find((m) => m[1] === n)?.[2];
  assert.equal(value('PAIRS'), '!Ref Pairs');
  assert.equal(value('MODEL_NAME'), '!Ref ModelName');
  assert.equal(value('METRICS_NAMESPACE'), '!Ref MetricsNamespace');
  assert.equal(scalar(block(fn, ['LoggingConfig']), 'LogFormat'), 'JSON');

  assert.match(text, /UseKmsKey: !Not \[!Equals \[!Ref KmsKeyArn, ''\]\]/);
  const policy = block(text, ['Resources', 'MonitorRole', 'Properties', 'Policies']).join('\n');
  const kms = /- !If\n\s+- UseKmsKey\n([\s\S]*?)\n\s+- !Ref AWS::NoValue/.exec(policy);
  assert.ok(kms, 'the KMS statement is conditioned on UseKmsKey');
  assert.match(kms[1]!, /Action: \[kms:Decrypt, kms:GenerateDataKey\]/);
  assert.match(kms[1]!, /Resource: !Ref KmsKeyArn/);
  assert.match(kms[1]!, /kms:ViaService:/);
  assert.ok(!/kms:\*|Resource: '\*'/.test(policy), 'no wildcard KMS action or resource');
});

test('the sample event for sam local invoke (deploy/sam/events) is an SQS event announcing one Security Lake object', () => {
  const ev = JSON.parse(readFileSync(path.join(REPO, 'deploy', 'sam', 'events', 'sqs-security-lake.json'), 'utf8')) as SQSEvent;
  assert.equal(ev.Records.length, 1);
  const rec = ev.Records[0]!;
  assert.equal(rec.eventSource, 'aws:sqs');
  const n = parseNotification(rec.body, rec.messageId);
  assert.equal(n.shape, 'eventbridge');
  assert.equal(n.objects.length, 1);
  assert.equal(parseLakeKey(n.objects[0]!.key)?.source, 'VPC_FLOW');
  assert.ok(Number.isFinite(Date.parse(n.objects[0]!.eventTime!)));
});
