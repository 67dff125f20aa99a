/**
 * `seclake monitor --sqs-queue-url URL`: wire the SQS worker to S3, the per-object processor, the findings store and
 * the sinks, and stop cleanly on SIGTERM/SIGINT. The command-line side (flags, help) is `addAwsMonitorOptions`.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Option, type Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import type { Sink } from '../../findings/types.js';
import { createS3Client } from '../../lake/s3.js';
import { LocalFindingsStore, S3FindingsStore } from './findings-store.js';
import { DEFAULT_RETRY } from './message.js';
import { parseS3Uri } from './notifications.js';
import { createObjectHandler, DEFAULT_MAX_OBJECT_BYTES, type FindingsStore, type ProcessObjectFn, type QuarantineStore } from './s3-object.js';
import { SqsMonitor, type MonitorEvent, type MonitorStats } from './sqs-monitor.js';

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

/** One human line per event (stderr). */
export function describeEvent(e: MonitorEvent): string {
  switch (e.type) {
    case 'start':
      return `polling ${e.queueUrl} (visibility ${e.visibilityTimeout}s, moved aside after ${e.maxReceives} receives)`;
    case 'processed': {
      const parts = e.result.objects.map((o) =>
        o.status === 'processed'
          ? o.noPairs
            ? `${o.uri}: ${o.result.rows} rows, NO PAIRS (${o.noPairs}), done`
            : `${o.uri}: ${o.result.rows} rows, ${o.result.pairs} pairs, ${o.result.findings.length} findings${o.findingsObject ? ` -> ${o.findingsObject}` : ''}`
          : o.status === 'skipped'
            ? `${o.uri}: skipped (${o.reason})`
            : `${o.uri}: already processed`,
      );
      const what = e.result.notification.shape.endsWith('s3-test') ? 's3:TestEvent acknowledged' : parts.join('; ') || `no object (${e.result.notification.ignored.join('; ') || 'nothing to do'})`;
      return `message ${e.messageId}: ${what}`;
    }
    case 'retry':
      return `message ${e.messageId} failed on receive ${e.receiveCount}, retry in ${e.delaySeconds}s: ${e.reason}`;
    case 'moved-aside':
      return `message ${e.messageId} moved to the ${e.movedTo.to === 'dlq' ? 'dead-letter queue' : 'quarantine'} (${e.movedTo.location}): ${e.reason}`;
    case 'released':
      return `message ${e.messageId} released for another worker (stopping)`;
    case 'error':
      return `${e.messageId ? `message ${e.messageId}: ` : ''}${e.message}`;
  }
}

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`, [name.replace(/^--/, '')]);
    return n;
  };
}

/** Values of the AWS-mode flags as commander parses them. */
export interface AwsCliOptions {
  sqsQueueUrl?: string;
  s3Endpoint?: string;
  sqsEndpoint?: string;
  region?: string;
  visibilityTimeout?: number;
  maxReceives?: number;
  dlqUrl?: string;
  quarantine?: string;
  findings?: string;
  batchSize?: number;
  waitSeconds?: number;
  concurrency?: number;
  idleExit?: number;
  maxObjectBytes?: number;
  backoffBase?: number;
  backoffMax?: number;
  reprocess?: boolean;
}

/** Add the AWS-mode flags to `seclake monitor`. */
export function addAwsMonitorOptions(cmd: Command): Command {
  return cmd
    .option('--sqs-queue-url <url>', 'AWS mode: consume S3 / Security Lake object notifications from this SQS queue')
    .option('--s3-endpoint <url>', 'S3 endpoint (moto, MinIO, a VPC endpoint); default $SECLAKE_S3_ENDPOINT, else AWS')
    .option('--sqs-endpoint <url>', 'SQS endpoint (default: the queue URL\'s host)')
    .option('--region <region>', 'AWS region (default $AWS_REGION)')
    .option('--findings <location>', 'AWS mode: findings location, s3://bucket/prefix or a lake directory (default: next to each source object)')
    .option('--dlq-url <url>', 'AWS mode: dead-letter queue for poison messages (with the reason in message attributes)')
    .option('--quarantine <location>', 'AWS mode: where poison messages are recorded when there is no --dlq-url (s3://... or a directory; default the findings location)')
    .addOption(new Option('--visibility-timeout <seconds>', 'AWS mode: seconds a message is hidden from other workers; renewed while processing').default(60).argParser(int('--visibility-timeout')))
    .addOption(new Option('--max-receives <n>', 'AWS mode: move a message aside after it failed on this many receives').default(DEFAULT_RETRY.maxReceives).argParser(int('--max-receives')))
    .addOption(new Option('--backoff-base <seconds>', 'AWS mode: first retry delay (doubles per receive, with jitter)').default(DEFAULT_RETRY.baseDelaySeconds).argParser(int('--backoff-base')))
    .addOption(new Option('--backoff-max <seconds>', 'AWS mode: longest retry delay').default(DEFAULT_RETRY.maxDelaySeconds).argParser(int('--backoff-max')))
    .addOption(new Option('--batch-size <n>', 'AWS mode: messages per receive (1-10)').default(10).argParser(int('--batch-size')))
    .addOption(new Option('--wait-seconds <n>', 'AWS mode: long-poll wait (0-20)').default(20).argParser(int('--wait-seconds')))
    .addOption(new Option('--concurrency <n>', 'AWS mode: messages processed at once by this worker').default(1).argParser(int('--concurrency')))
    .addOption(new Option('--idle-exit <seconds>', 'AWS mode: exit after this long without messages (drain and stop)').argParser(int('--idle-exit')))
    .addOption(new Option('--max-object-bytes <n>', 'AWS mode: largest object downloaded').default(DEFAULT_MAX_OBJECT_BYTES).argParser(int('--max-object-bytes')))
    .option('--reprocess', 'AWS mode: process objects again even if they have a done record');
}

/** Options for createAwsMonitor from the parsed flags. */
export function awsOptionsFromCli(o: AwsCliOptions, process: ProcessObjectFn, sinks: readonly Sink[], onEvent?: (e: MonitorEvent) => void): AwsMonitorOptions {
  if (!o.sqsQueueUrl) throw new ConfigError('--sqs-queue-url is required for the AWS mode', ['sqs-queue-url']);
  return {
    queueUrl: o.sqsQueueUrl,
    process,
    sinks,
    ...(o.s3Endpoint ? { s3Endpoint: o.s3Endpoint } : {}),
    ...(o.sqsEndpoint ? { sqsEndpoint: o.sqsEndpoint } : {}),
    ...(o.region ? { region: o.region } : {}),
    ...(o.findings ? { findings: o.findings } : {}),
    ...(o.quarantine ? { quarantine: o.quarantine } : {}),
    ...(o.dlqUrl ? { dlqUrl: o.dlqUrl } : {}),
    ...(o.visibilityTimeout !== undefined ? { visibilityTimeout: o.visibilityTimeout } : {}),
    ...(o.maxReceives !== undefined ? { maxReceives: o.maxReceives } : {}),
    ...(o.backoffBase !== undefined ? { backoffBaseSeconds: o.backoffBase } : {}),
    ...(o.backoffMax !== undefined ? { backoffMaxSeconds: o.backoffMax } : {}),
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    ...(o.waitSeconds !== undefined ? { waitTimeSeconds: o.waitSeconds } : {}),
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
    ...(o.idleExit !== undefined ? { idleExitSeconds: o.idleExit } : {}),
    ...(o.maxObjectBytes !== undefined ? { maxObjectBytes: o.maxObjectBytes } : {}),
    ...(o.reprocess ? { reprocess: true } : {}),
    ...(onEvent ? { onEvent } : {}),
  };
}

