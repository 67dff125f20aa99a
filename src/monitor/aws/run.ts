/**
 * `seclake monitor --sqs-queue-url URL`: wire the SQS worker to S3, the per-object processor, the findings store and
 * the sinks, and stop cleanly on SIGTERM/SIGINT. The command-line side (flags, help, status lines) is cli.ts.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from '../../core/errors.js';
import type { Sink } from '../../findings/types.js';
import { createS3Client } from '../../lake/s3.js';
import { LocalFindingsStore, S3FindingsStore } from './findings-store.js';
import { DEFAULT_MAX_OBJECT_BYTES, DEFAULT_RETRY } from './defaults.js';
import { parseS3Uri } from './notifications.js';
import { createObjectHandler, type FindingsStore, type ProcessObjectFn, type QuarantineStore } from './s3-object.js';
import { SqsMonitor, type MonitorEvent, type MonitorStats } from './sqs-monitor.js';

// The command-line side (flags, status lines) loads no SDK: it is in cli.ts, for `seclake monitor --help`.
export { addAwsMonitorOptions, awsOptionsFromCli, describeEvent, eventJson, type AwsCliOptions } from './cli.js';

export interface AwsMonitorOptions {
  queueUrl: string;
  process: ProcessObjectFn;
  sinks?: readonly Sink[];
  /** S3 endpoint (moto, MinIO, a VPC endpoint); path-style addressing. Default: $SECLAKE_S3_ENDPOINT, else AWS. */
  s3Endpoint?: string;
  /** SQS endpoint; by default the SDK sends each call to the queue URL's host. */
  sqsEndpoint?: string;
  region?: string;
  /** Findings location: s3://bucket/prefix or a local lake directory. Default: next to each source object. */
  findings?: string;
  /** Quarantine location (when no DLQ): s3://bucket/prefix or a directory. Default: the findings location. */
  quarantine?: string;
  dlqUrl?: string;
  visibilityTimeout?: number;
  maxReceives?: number;
  backoffBaseSeconds?: number;
  backoffMaxSeconds?: number;
  batchSize?: number;
  waitTimeSeconds?: number;
  concurrency?: number;
  idleExitSeconds?: number;
  maxObjectBytes?: number;
  tmpDir?: string;
  /** Reprocess objects that already have a done record. */
  reprocess?: boolean;
  onEvent?: (e: MonitorEvent) => void;
  /** Install SIGTERM/SIGINT handlers that stop the loop (default true). */
  handleSignals?: boolean;
}

export function createSqsClient(opts: { endpoint?: string; region?: string }): SQSClient {
  const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return new SQSClient({ region, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}) });
}

function storeAt(loc: string, s3: S3Client, tmpDir: string | undefined): FindingsStore & QuarantineStore {
  if (/^s3:\/\//i.test(loc)) {
    if (!parseS3Uri(loc)) throw new ConfigError(`invalid S3 location ${JSON.stringify(loc)} (expected s3://bucket/prefix)`, ['findings']);
    return new S3FindingsStore(s3, loc.replace(/\/+$/, ''), tmpDir);
  }
  return new LocalFindingsStore(loc);
}

export interface AwsMonitorHandle {
  monitor: SqsMonitor;
  run(): Promise<MonitorStats>;
  close(): void;
}

/** Build the worker (validating the options) without starting it. */
export function createAwsMonitor(o: AwsMonitorOptions): AwsMonitorHandle {
  if (!/^https?:\/\//.test(o.queueUrl)) throw new ConfigError(`--sqs-queue-url must be an http(s) queue URL, got ${JSON.stringify(o.queueUrl)}`, ['sqs-queue-url']);
  if (o.dlqUrl !== undefined && !/^https?:\/\//.test(o.dlqUrl)) throw new ConfigError(`--dlq-url must be an http(s) queue URL, got ${JSON.stringify(o.dlqUrl)}`, ['dlq-url']);
  const visibility = o.visibilityTimeout ?? 60;
  if (!Number.isInteger(visibility) || visibility < 5 || visibility > 43_200) throw new ConfigError('--visibility-timeout must be 5..43200 seconds', ['visibility-timeout']);
  const maxReceives = o.maxReceives ?? DEFAULT_RETRY.maxReceives;
  if (!Number.isInteger(maxReceives) || maxReceives < 1) throw new ConfigError('--max-receives must be a positive integer', ['max-receives']);
  const s3 = createS3Client({ ...(o.s3Endpoint ? { endpoint: o.s3Endpoint } : {}), ...(o.region ? { region: o.region } : {}) });
  // Outside AWS (moto, ElasticMQ, LocalStack) the queue URL's origin is the SQS endpoint.
  const origin = new URL(o.queueUrl);
  const sqsEndpoint = o.sqsEndpoint ?? (/\.amazonaws\.com(\.cn)?$/.test(origin.hostname) ? undefined : origin.origin);
  const sqs = createSqsClient({ ...(sqsEndpoint ? { endpoint: sqsEndpoint } : {}), ...(o.region ? { region: o.region } : {}) });
  const findings = o.findings ? storeAt(o.findings, s3, o.tmpDir) : new S3FindingsStore(s3, undefined, o.tmpDir);
  let quarantine: QuarantineStore | undefined;
  if (o.quarantine) quarantine = storeAt(o.quarantine, s3, o.tmpDir);
  else if (o.findings) quarantine = findings as QuarantineStore;
  if (!o.dlqUrl && !quarantine) {
    throw new ConfigError('poison messages need somewhere to go: give --dlq-url, --quarantine (s3://... or a directory) or --findings', ['dlq-url']);
  }
  const handleObject = createObjectHandler({
    s3,
    process: o.process,
    store: findings,
    ...(o.sinks ? { sinks: o.sinks } : {}),
    ...(o.tmpDir ? { tmpRoot: o.tmpDir } : {}),
    maxBytes: o.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES,
    ...(o.reprocess ? { ignoreDone: true } : {}),
  });
  const monitor = new SqsMonitor({
    sqs,
    queueUrl: o.queueUrl,
    handleObject,
    visibilityTimeout: visibility,
    ...(o.waitTimeSeconds !== undefined ? { waitTimeSeconds: o.waitTimeSeconds } : {}),
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
    retry: {
      maxReceives,
      ...(o.backoffBaseSeconds !== undefined ? { baseDelaySeconds: o.backoffBaseSeconds } : {}),
      ...(o.backoffMaxSeconds !== undefined ? { maxDelaySeconds: o.backoffMaxSeconds } : {}),
    },
    ...(o.dlqUrl ? { dlqUrl: o.dlqUrl } : {}),
    ...(quarantine ? { quarantine } : {}),
    ...(o.idleExitSeconds !== undefined ? { idleExitMs: o.idleExitSeconds * 1000 } : {}),
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
  });
  return {
    monitor,
    async run() {
      const stop = () => monitor.stop();
      const handle = o.handleSignals !== false;
      if (handle) {
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      }
      try {
        return await monitor.run();
      } finally {
        if (handle) {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
        }
      }
    },
    close() {
      s3.destroy();
      sqs.destroy();
    },
  };
}
