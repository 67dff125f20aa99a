/**
 * What the Lambda handler keeps between invocations of a warm container: clients, the findings store, sinks, the
 * cached model (or the endpoint client) and the per-object processor built on it. Built once from the validated
 * environment; `refresh()` before each batch swaps in a retrained model when its ETag changed.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from '../../core/errors.js';
import { createS3Client } from '../../lake/s3.js';
import { createSinks } from '../../sinks/index.js';
import { S3FindingsStore } from './findings-store.js';
import type { LambdaEnv } from './lambda-config.js';
import type { LambdaRuntime } from './lambda-handler.js';
import { S3ModelCache } from './model-cache.js';
import { createObjectHandler, type ProcessObjectFn } from './s3-object.js';
import { removeProcessTempDir } from './temp-dir.js';

/** Where scores come from: a local model file, or a SageMaker-compatible endpoint. */
export type ScoringBackend = { kind: 'model'; path: string } | { kind: 'endpoint'; endpointName: string; endpointUrl?: string; region?: string };

/** Build the per-object processor for a scoring backend. */
export type ProcessorFactory = (backend: ScoringBackend) => Promise<{ process: ProcessObjectFn; close?: () => Promise<void> | void }>;

export interface LambdaState {
  /** The validated environment it was built from. */
  env: LambdaEnv;
  runtime: LambdaRuntime;
  /** Pick up a new model version (MODEL_S3_URI) if its ETag changed; cheap otherwise. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export async function buildLambdaState(env: LambdaEnv, factory: ProcessorFactory): Promise<LambdaState> {
  const region = env.AWS_REGION;
  const s3 = createS3Client({ ...(env.S3_ENDPOINT_URL ? { endpoint: env.S3_ENDPOINT_URL } : {}), ...(region ? { region } : {}) });
  const sqs = new SQSClient({ ...(region ? { region } : {}), ...(env.SQS_ENDPOINT_URL ? { endpoint: env.SQS_ENDPOINT_URL } : {}) });
  const store = new S3FindingsStore(s3, env.FINDINGS_S3_URI?.replace(/\/+$/, ''), env.TMP_DIR);
  const specs = (env.SINKS ?? '').split(';').map((s) => s.trim()).filter(Boolean);
  const sinks = specs.length > 0 ? [createSinks(specs)] : [];
  if (!env.DLQ_URL && !env.FINDINGS_S3_URI) {
    throw new ConfigError('set DLQ_URL (or FINDINGS_S3_URI, for quarantine records): poison messages need somewhere to go', ['DLQ_URL']);
  }

  let current: { process: ProcessObjectFn; close?: () => Promise<void> | void } | undefined;
  let cache: S3ModelCache | undefined;
  if (env.MODEL_S3_URI) cache = new S3ModelCache(s3, env.MODEL_S3_URI, env.TMP_DIR, env.MODEL_REFRESH_SECONDS);
  else if (env.MODEL_PATH) current = await factory({ kind: 'model', path: env.MODEL_PATH });
  else {
    current = await factory({
      kind: 'endpoint',
      endpointName: env.ENDPOINT_NAME!,
      ...(env.SAGEMAKER_ENDPOINT_URL ? { endpointUrl: env.SAGEMAKER_ENDPOINT_URL } : {}),
      ...(region ? { region } : {}),
    });
  }
  const refresh = async () => {
    if (!cache) return;
    const m = await cache.get();
    if (m.changed || !current) {
      const next = await factory({ kind: 'model', path: m.path });
      const prev = current;
      current = next;
      await prev?.close?.();
    }
  };
  await refresh();

  const handleObject = createObjectHandler({
    s3,
    process: (file, ref) => current!.process(file, ref),
    store,
    sinks,
    tmpRoot: env.TMP_DIR,
    maxBytes: env.MAX_OBJECT_BYTES,
  });
  const runtime: LambdaRuntime = {
    handleObject,
    sqs,
    retry: { maxReceives: env.MAX_RECEIVES, baseDelaySeconds: env.BACKOFF_BASE_SECONDS, maxDelaySeconds: env.BACKOFF_MAX_SECONDS },
    ...(env.DLQ_URL ? { dlqUrl: env.DLQ_URL } : {}),
    ...(env.FINDINGS_S3_URI ? { quarantine: store } : {}),
    ...(env.QUEUE_URL ? { queueUrl: env.QUEUE_URL } : {}),
  };
  return {
    env,
    runtime,
    refresh,
    async close() {
      for (const s of sinks) await s.close();
      await current?.close?.();
      s3.destroy();
      sqs.destroy();
      removeProcessTempDir(env.TMP_DIR);
    },
  };
}
