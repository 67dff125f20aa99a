/**
 * The command-line side of AWS mode (`seclake monitor --sqs-queue-url`): its flags, their values as run.ts takes them,
 * and the status line of each worker event, as text or as a JSON line (--json). Loads no AWS SDK, so `seclake monitor
 * --help` stays fast; run.ts builds the worker.
 */
import { Option, type Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import type { Sink } from '../../findings/types.js';
import { DEFAULT_MAX_OBJECT_BYTES, DEFAULT_RETRY } from './defaults.js';
import type { AwsMonitorOptions } from './run.js';
import type { ProcessObjectFn } from './s3-object.js';
import type { MonitorEvent } from './sqs-monitor.js';

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

/**
 * An event as the object of its JSON status line (--json): as it is, except that a processed message's objects are
 * summed up (counts and keys; the findings themselves are in the findings store and the sinks).
 */
export function eventJson(e: MonitorEvent): Record<string, unknown> {
  if (e.type !== 'processed') return { ...e };
  const n = e.result.notification;
  return {
    type: e.type,
    messageId: e.messageId,
    receiveCount: e.receiveCount,
    ...(e.sentAt !== undefined ? { sentAt: new Date(e.sentAt).toISOString() } : {}),
    notification: n.shape,
    ...(n.ignored.length > 0 ? { ignored: n.ignored } : {}),
    objects: e.result.objects.map((o) =>
      o.status === 'processed'
        ? {
            uri: o.uri,
            status: o.status,
            bytes: o.bytes,
            rows: o.result.rows,
            pairs: o.result.pairs,
            findings: o.result.findings.length,
            findingsObject: o.findingsObject,
            ...(o.noPairs ? { noPairs: o.noPairs } : {}),
            ...(o.result.badIps ? { badIps: o.result.badIps } : {}),
            ...(o.result.sinkErrors?.length ? { sinkErrors: o.result.sinkErrors } : {}),
          }
        : o.status === 'skipped'
          ? { uri: o.uri, status: o.status, reason: o.reason }
          : { uri: o.uri, status: o.status },
    ),
  };
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
