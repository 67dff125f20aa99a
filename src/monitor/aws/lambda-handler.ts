/**
 * The Lambda side of the AWS mode: an SQS event source batch -> the same per-message processing as the worker
 * (parse, download, score, findings, done record) -> `{ batchItemFailures }` naming only the messages that failed
 * (ReportBatchItemFailures), so one bad object never fails its batch.
 *
 * A failing message gets its visibility set to the retry backoff (ChangeMessageVisibility) and is reported; once
 * it has been received MAX_RECEIVES times, or at once for errors a retry cannot fix, it is sent to DLQ_URL with its
 * reason (or quarantined under FINDINGS_S3_URI) and reported as a success, so Lambda deletes it.
 *
 * Time: a message is started only while more than the reserve (REMAINING_TIME_MARGIN_SECONDS, plus the longest
 * message of this batch so far) is left of the invocation; the messages not started are reported as failures with
 * their visibility set to 0, so another invocation takes them at once instead of the whole batch timing out.
 */
import { ChangeMessageVisibilityBatchCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { errorMessage } from '../../core/errors.js';
import type { LogFn } from './lambda-log.js';
import { decideFailure, errorName, handleMessage, moveAside, overReceived, setVisibility, type ObjectHandler, type RetryPolicy } from './message.js';
import type { QuarantineStore } from './s3-object.js';

export interface LambdaRuntime {
  handleObject: ObjectHandler;
  sqs: SQSClient;
  retry: RetryPolicy;
  dlqUrl?: string;
  quarantine?: QuarantineStore;
  /** Fixed source queue URL (QUEUE_URL); otherwise resolved from the record's ARN. */
  queueUrl?: string;
}

/** What one invocation did: the counts its EMF document reports. */
export interface BatchStats {
  /** Records in the batch. */
  messages: number;
  /** Objects scored and their findings written (already-done and skipped objects are not counted). */
  objects: number;
  /** Records (rows of the pair query) read from those objects. */
  records: number;
  findings: number;
  /** Messages that failed: reported for a retry, or moved aside. */
  failures: number;
  /** Messages not started because the invocation's time was running out (reported for a retry). */
  deferred: number;
  /** Per processed object: milliseconds from its notification (S3 eventTime, EventBridge time, else the SQS send time) to its findings written. */
  lagMs: number[];
}

export function emptyStats(): BatchStats {
  return { messages: 0, objects: 0, records: 0, findings: 0, failures: 0, deferred: 0, lagMs: [] };
}

export interface HandleOptions {
  log: LogFn;
  /** Time left in the invocation (the Lambda context's getRemainingTimeInMillis); absent = no limit. */
  remainingMs?: () => number;
  /** Stop starting messages when less than this (plus the longest message so far) is left. */
  reserveMs?: number;
  stats?: BatchStats;
  now?: () => number;
}

const queueUrls = new Map<string, Promise<string>>();

/** The queue URL for an SQS ARN (GetQueueUrl, cached per container). */
export function queueUrlForArn(sqs: SQSClient, arn: string): Promise<string> {
  let p = queueUrls.get(arn);
  if (!p) {
    const m = /^arn:aws[a-z-]*:sqs:[^:]+:(\d{12}):(.+)$/.exec(arn);
    if (!m) return Promise.reject(new Error(`not an SQS queue ARN: ${JSON.stringify(arn)}`));
    p = sqs.send(new GetQueueUrlCommand({ QueueName: m[2]!, QueueOwnerAWSAccountId: m[1]! })).then((r) => {
      if (!r.QueueUrl) throw new Error(`GetQueueUrl returned no URL for ${arn}`);
      return r.QueueUrl;
    });
    p.catch(() => queueUrls.delete(arn));
    queueUrls.set(arn, p);
  }
  return p;
}

function notificationTime(eventTime: string | undefined, rec: SQSRecord): number | undefined {
  const t = eventTime ? Date.parse(eventTime) : Number.NaN;
  if (Number.isFinite(t)) return t;
  const sent = Number(rec.attributes?.SentTimestamp);
  return Number.isFinite(sent) && sent > 0 ? sent : undefined;
}

/** Messages not started: visible again at once (best effort; otherwise the queue's visibility timeout applies). */
async function releaseDeferred(rt: LambdaRuntime, recs: readonly SQSRecord[], log: LogFn): Promise<void> {
  const byQueue = new Map<string, SQSRecord[]>();
  for (const r of recs) {
    try {
      const url = rt.queueUrl ?? (await queueUrlForArn(rt.sqs, r.eventSourceARN ?? ''));
      byQueue.set(url, [...(byQueue.get(url) ?? []), r]);
    } catch (err) {
      log('warn', 'could not release a deferred message; the queue visibility timeout applies', { messageId: r.messageId, error: errorMessage(err) });
    }
  }
  for (const [url, list] of byQueue) {
    for (let i = 0; i < list.length; i += 10) {
      const chunk = list.slice(i, i + 10);
      try {
        const res = await rt.sqs.send(
          new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: chunk.map((r, j) => ({ Id: `m${i + j}`, ReceiptHandle: r.receiptHandle, VisibilityTimeout: 0 })) }),
        );
        for (const f of res.Failed ?? []) log('warn', 'could not release a deferred message; the queue visibility timeout applies', { id: f.Id, error: f.Message ?? f.Code });
      } catch (err) {
        log('warn', 'could not release the deferred messages; the queue visibility timeout applies', { count: chunk.length, error: errorMessage(err) });
      }
    }
  }
}

/**
 * Process one SQS event batch. Records are processed in order; each record's outcome is independent. Returns the
 * failed (and deferred) message ids only.
 */
export async function handleSqsEvent(event: SQSEvent, rt: LambdaRuntime, opts: HandleOptions): Promise<SQSBatchResponse> {
  const { log } = opts;
  const now = opts.now ?? Date.now;
  const stats = opts.stats ?? emptyStats();
  const failures: SQSBatchItemFailure[] = [];
  const records: SQSRecord[] = Array.isArray(event?.Records) ? event.Records : [];
  stats.messages += records.length;
  let slowest = 0;
  for (let i = 0; i < records.length; i++) {
    const rec = records[i]!;
    // The first message is always started (otherwise a reserve longer than the timeout would never make progress).
    if (i > 0 && opts.remainingMs) {
      const left = opts.remainingMs();
      const reserve = (opts.reserveMs ?? 0) + slowest;
      if (left < reserve) {
        const rest = records.slice(i);
        log('warn', 'time is running out: messages not started are reported for a retry', {
          deferred: rest.length,
          remainingMs: left,
          reserveMs: reserve,
          messageIds: rest.map((r) => r.messageId),
        });
        for (const r of rest) failures.push({ itemIdentifier: r.messageId });
        stats.deferred += rest.length;
        await releaseDeferred(rt, rest, log);
        break;
      }
    }
    const started = now();
    const messageId = rec.messageId;
    const receiveCount = Number(rec.attributes?.ApproximateReceiveCount ?? '1') || 1;
    const body = typeof rec.body === 'string' ? rec.body : JSON.stringify(rec.body ?? '');
    const queueUrl = async () => rt.queueUrl ?? (await queueUrlForArn(rt.sqs, rec.eventSourceARN ?? ''));
    const aside = async (reason: string, name: string): Promise<boolean> => {
      try {
        const moved = await moveAside(
          { sqs: rt.sqs, queueUrl: await queueUrl().catch(() => rec.eventSourceARN ?? ''), ...(rt.dlqUrl ? { dlqUrl: rt.dlqUrl } : {}), ...(rt.quarantine ? { quarantine: rt.quarantine } : {}) },
          { messageId, body, receiveCount, reason, errorName: name },
        );
        log('warn', 'message moved aside', { messageId, receiveCount, reason, to: moved.to, location: moved.location });
        return true;
      } catch (err) {
        log('error', 'moving the message aside failed; it stays on the queue', { messageId, reason, error: errorMessage(err) });
        return false;
      }
    };
    const over = overReceived(receiveCount, rt.retry);
    if (over) {
      stats.failures++;
      if (!(await aside(over, 'MaxReceivesExceeded'))) failures.push({ itemIdentifier: messageId });
      slowest = Math.max(slowest, now() - started);
      continue;
    }
    try {
      const res = await handleMessage(body, messageId, rt.handleObject);
      const done = now();
      res.objects.forEach((o, k) => {
        if (o.status !== 'processed') return;
        stats.objects++;
        stats.records += o.result.rows;
        stats.findings += o.result.findings.length;
        const t = notificationTime(res.notification.objects[k]?.eventTime, rec);
        if (t !== undefined) stats.lagMs.push(Math.max(0, done - t));
      });
      log('info', 'message processed', {
        messageId,
        receiveCount,
        shape: res.notification.shape,
        ignored: res.notification.ignored,
        objects: res.objects.map((o) =>
          o.status === 'processed'
            ? {
                status: o.status,
                object: o.uri,
                rows: o.result.rows,
                pairs: o.result.pairs,
                scored: o.result.scored,
                findings: o.result.findings.length,
                findings_object: o.findingsObject,
                ...(o.noPairs ? { no_pairs: o.noPairs } : {}),
              }
            : o.status === 'skipped'
              ? { status: o.status, object: o.uri, reason: o.reason }
              : { status: o.status, object: o.uri },
        ),
      });
      // An object without pairs is done, and said on a line of its own (a CloudWatch metric filter can count them).
      for (const o of res.objects) if (o.status === 'processed' && o.noPairs) log('warn', 'object gave no pairs', { messageId, object: o.uri, rows: o.result.rows, reason: o.noPairs });
    } catch (err) {
      stats.failures++;
      const d = decideFailure(err, receiveCount, rt.retry);
      if (d.action === 'move-aside') {
        if (!(await aside(d.reason, errorName(err)))) failures.push({ itemIdentifier: messageId });
      } else {
        log('warn', 'message failed; will be retried', { messageId, receiveCount, delaySeconds: d.delaySeconds, reason: d.reason });
        try {
          await setVisibility(rt.sqs, await queueUrl(), rec.receiptHandle, d.delaySeconds);
        } catch (e) {
          log('warn', 'could not set the retry backoff; the queue visibility timeout applies', { messageId, error: errorMessage(e) });
        }
        failures.push({ itemIdentifier: messageId });
      }
    }
    slowest = Math.max(slowest, now() - started);
  }
  return { batchItemFailures: failures };
}
