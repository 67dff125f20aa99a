/**
 * Shared set-up for the AWS-mode tests: moto_server (real S3 + SQS + S3->SQS notifications on loopback), a bucket
 * whose object creations notify a queue, Security Lake-shaped OCSF Parquet objects built with the project's own
 * ingest (VPC flow logs -> a temp lake -> uploaded under `aws/VPC_FLOW/2.0/region=/accountId=/eventDay=/...`), and an
 * IP Insights model trained in-process on the same instances' normal addresses.
 */
import { CreateBucketCommand, ListObjectsV2Command, PutBucketNotificationConfigurationCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { PairCollector } from '../../src/detectors/pairs/data.js';
import { trainIpInsights } from '../../src/detectors/ipinsights/train.js';
import { ingest } from '../../src/ingest/ingest.js';
import { createS3Client } from '../../src/lake/s3.js';
import { createProcessor, type ProcessObjectFn } from '../../src/monitor/processor.js';
import { MOTO_ACCOUNT, startMoto, type Moto } from '../helpers/moto.js';

export const BUCKET = 'security-lake-test';
export const REGION = 'us-east-1';

export interface AwsEnv {
  moto: Moto;
  s3: S3Client;
  sqs: SQSClient;
  tmp: string;
  close(): Promise<void>;
}

/** Start moto, point the SDK at it through the environment (in this process), make a temp dir. */
export async function startAwsEnv(): Promise<AwsEnv> {
  const moto = await startMoto();
  Object.assign(process.env, moto.env);
  const s3 = createS3Client({ endpoint: moto.endpoint, region: REGION });
  const sqs = new SQSClient({ endpoint: moto.endpoint, region: REGION });
  const tmp = mkdtempSync(path.join(tmpdir(), 'seclake-aws-test-'));
  return {
    moto,
    s3,
    sqs,
    tmp,
    async close() {
      s3.destroy();
      sqs.destroy();
      await moto.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export interface Queues {
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
}

/**
 * A queue (and a dead-letter queue, not wired as a redrive target: the monitor moves poison messages itself) and a
 * bucket whose `s3:ObjectCreated:*` events notify the queue. Drains the s3:TestEvent S3 sends on configuration
 * unless `keepTestEvent`.
 */
export async function makeBucketAndQueue(env: AwsEnv, name: string, opts: { bucket?: string; keepTestEvent?: boolean; visibility?: number } = {}): Promise<Queues> {
  const bucket = opts.bucket ?? BUCKET;
  const q = await env.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: String(opts.visibility ?? 30) } }));
  const dlq = await env.sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const attrs = await env.sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.QueueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = attrs.Attributes!.QueueArn!;
  await env.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await env.s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { QueueConfigurations: [{ Id: 'seclake', QueueArn: queueArn, Events: ['s3:ObjectCreated:*'] }] },
    }),
  );
  if (!opts.keepTestEvent) {
    const r = await env.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 0 }));
    const bodies = (r.Messages ?? []).map((m) => m.Body ?? '');
    if (!bodies.some((b) => b.includes('s3:TestEvent'))) throw new Error(`expected the s3:TestEvent first, got ${JSON.stringify(bodies)}`);
    const { DeleteMessageCommand } = await import('@aws-sdk/client-sqs');
    for (const m of r.Messages ?? []) await env.sqs.send(new DeleteMessageCommand({ QueueUrl: q.QueueUrl, ReceiptHandle: m.ReceiptHandle }));
  }
  return { queueUrl: q.QueueUrl!, queueArn, dlqUrl: dlq.QueueUrl! };
}

/** Instance i's home network: 10.0.<i>.1-20; instance ids i-00000000000000<i, 2 hex digits>. */
export function instanceId(i: number): string {
  return `i-0000000000000${i.toString(16).padStart(4, '0')}`;
}
export function homeIp(i: number, rng: Rng): string {
  return `10.0.${i}.${1 + rng.int(20)}`;
}

const FLOW_HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id flow-direction';

/** One egress flow record from `instance` with source address `src`. */
export function flowRecord(instance: number, src: string, dst: string, startSec: number): string {
  return `5 ${MOTO_ACCOUNT} eni-0000000000000${instance.toString(16).padStart(4, '0')} ${src} ${dst} 44321 443 6 10 840 ${startSec} ${startSec + 60} ACCEPT OK vpc-0a1b2c3d4e5f60718 subnet-0a1b2c3d4e5f60718 ${instanceId(instance)} egress`;
}

/**
 * The REJECT-only log of a scanned server: `scanners` probing instance `instance` (one ingress record each). With
 * flow-direction, OCSF puts an ingress record's instance on dst_endpoint, so no record of the object has
 * `src_endpoint.instance_uid`, and its Parquet `src_endpoint` struct has no such field.
 */
export function rejectLog(instance: number, scanners: readonly string[], startSec = 1_764_200_000): string {
  const eni = `eni-0000000000000${instance.toString(16).padStart(4, '0')}`;
  const lines = scanners.map(
    (ip, k) =>
      `5 ${MOTO_ACCOUNT} ${eni} ${ip} 10.0.${instance}.1 ${40000 + k} 22 6 1 40 ${startSec + k} ${startSec + k + 60} REJECT OK vpc-0a1b2c3d4e5f60718 subnet-0a1b2c3d4e5f60718 ${instanceId(instance)} ingress`,
  );
  return [FLOW_HEADER, ...lines].join('\n') + '\n';
}

export interface FlowSpec {
  instances: number;
  /** Normal records (each from a random instance at its home network). */
  records: number;
  /** Egress records from a foreign address: (instance, ip). */
  anomalies?: { instance: number; ip: string }[];
  seed: number;
  startSec?: number;
}

/** A v5 custom-format flow log (header + records). */
export function flowLog(spec: FlowSpec): string {
  const rng = new Rng(spec.seed);
  const start = spec.startSec ?? 1_764_000_000;
  const lines = [FLOW_HEADER];
  for (let r = 0; r < spec.records; r++) {
    const i = rng.int(spec.instances);
    lines.push(flowRecord(i, homeIp(i, rng), `52.95.${rng.int(256)}.${1 + rng.int(250)}`, start + r));
  }
  (spec.anomalies ?? []).forEach((a, k) => lines.push(flowRecord(a.instance, a.ip, '198.51.100.10', start + spec.records + k)));
  return lines.join('\n') + '\n';
}

/** Train a small model on the instances' home addresses (in-process, seeded, a few seconds). Returns its path. */
export async function trainModel(dir: string, instances: number, seed = 7): Promise<string> {
  const rng = new Rng(seed);
  const c = new PairCollector();
  let line = 0;
  for (let r = 0; r < 80; r++) for (let i = 0; i < instances; i++) c.add(instanceId(i), homeIp(i, rng), 'mem', ++line);
  const modelPath = path.join(dir, 'vpc.model');
  await trainIpInsights({
    train: c.finish(),
    hyperparameters: {
      num_entity_vectors: 256,
      vector_dim: 16,
      epochs: 12,
      mini_batch_size: 64,
      learning_rate: 0.02,
      random_negative_sampling_rate: 3,
      shuffled_negative_sampling_rate: 1,
      num_ip_vectors: 8192,
      threads: 1,
      seed: 42,
    },
    modelPath,
    inProcess: true,
    log: () => {},
  });
  return modelPath;
}

export interface LakeObject {
  /** Lake-relative key (Security Lake layout). */
  key: string;
  file: string;
  rows: number;
}

/** Ingest a flow log into a fresh local lake under `dir` and return its Parquet objects (Security Lake keys). */
export async function buildLakeObjects(dir: string, name: string, text: string): Promise<LakeObject[]> {
  const lake = path.join(dir, `lake-${name}`);
  const input = path.join(dir, `${name}.log`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(input, text);
  const summary = await ingest({ lakeDir: lake, paths: [input], region: REGION });
  const res = summary.inputs[0]!;
  if (res.status !== 'ingested') throw new Error(`ingest of ${name} failed: ${res.message ?? res.status}`);
  return res.objects.map((key) => ({ key, file: path.join(lake, key), rows: 0 }));
}

/** Upload a lake object under `prefix` (Security Lake layout keys). Returns the S3 key. */
export async function uploadObject(env: AwsEnv, obj: LakeObject, opts: { bucket?: string; prefix?: string; rename?: string } = {}): Promise<string> {
  let key = obj.key;
  if (opts.rename) key = `${key.slice(0, key.lastIndexOf('/'))}/${opts.rename}`;
  if (opts.prefix) key = `${opts.prefix}/${key}`;
  await env.s3.send(new PutObjectCommand({ Bucket: opts.bucket ?? BUCKET, Key: key, Body: readFileSync(obj.file) }));
  return key;
}

/** Every key under a prefix. */
export async function listKeys(env: AwsEnv, prefix: string, bucket = BUCKET): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of r.Contents ?? []) out.push(o.Key!);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

/** Visible + in-flight messages (moto answers these exactly). */
export async function queueDepth(env: AwsEnv, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const r = await env.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(r.Attributes!.ApproximateNumberOfMessages), inFlight: Number(r.Attributes!.ApproximateNumberOfMessagesNotVisible) };
}

/** Poll until `check` returns a value (not undefined) or the deadline passes (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export interface TestProcess {
  process: ProcessObjectFn;
  close(): Promise<void>;
}

/**
 * The monitor's per-object processor (src/monitor/processor.ts) on a model file. The fixture's records pair each
 * instance with its own source address: the `reference` definition.
 */
export async function makeProcess(modelPath: string): Promise<TestProcess> {
  const p = await createProcessor({ model: modelPath, pairs: 'reference' });
  return { process: p.process, close: () => Promise.resolve(p.close()) };
}
