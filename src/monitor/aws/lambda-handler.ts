/**
 * The Lambda side of the AWS mode: an SQS event source batch -> the same per-message processing as the worker
 * (parse, download, score, findings, done record) -> `{ batchItemFailures }` naming only the messages that failed
 * (ReportBatchItemFailures), so one bad object never fails its batch.
 *
 * A failing message gets its visibility set to the retry backoff (ChangeMessageVisibility) and is reported; once
 * it has been received MAX_RECEIVES times, or at once for errors a retry cannot fix, it is sent to DLQ_URL with its
 * reason (or quarantined under FINDINGS_S3_URI) and reported as a success, so Lambda deletes it.
 */
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { errorMessage } from '../../core/errors.js';
import { decideFailure, errorName, handleMessage, moveAside, overReceived, setVisibility, type ObjectHandler, type RetryPolicy } from './message.js';
import type { QuarantineStore } from './s3-object.js';

/** One record of an SQS event (the fields Lambda sends; see the AWS Lambda SQS event docs). */
export interface SqsEventRecord {
  messageId: string;
  receiptHandle: string;
  /** The message body: a JSON string for S3/SNS/EventBridge notifications. */
  body: string;
  attributes?: { ApproximateReceiveCount?: string; SentTimestamp?: string; [k: string]: string | undefined };
  messageAttributes?: Record<string, unknown>;
  md5OfBody?: string;
  eventSource?: string;
  /** arn:aws:sqs:<region>:<account>:<queue> */
  eventSourceARN?: string;
  awsRegion?: string;
}

export interface SqsEvent {
  Records: SqsEventRecord[];
}

export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export interface LambdaContextLike {
  awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}

export interface LambdaRuntime {
  handleObject: ObjectHandler;
  sqs: SQSClient;
  retry: RetryPolicy;
  dlqUrl?: string;
  quarantine?: QuarantineStore;
  /** Fixed source queue URL (QUEUE_URL); otherwise resolved from the record's ARN. */
  queueUrl?: string;
}

export type LogFn = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Structured log lines (one JSON object per line), which CloudWatch Logs Insights can query. */
export const jsonLog: LogFn = (level, msg, fields = {}) => {
  const line = JSON.stringify({ level, msg, ...fields });
  if (level === 'error') console.error(line);
  else console.log(line);
};

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

/**
 * Process one SQS event batch. Records are processed in order; each record's outcome is independent. Returns the
 * failed message ids only.
 */
export async function handleSqsEvent(event: SqsEvent, rt: LambdaRuntime, log: LogFn = jsonLog): Promise<SqsBatchResponse> {
  const failures: { itemIdentifier: string }[] = [];
  const records = Array.isArray(event?.Records) ? event.Records : [];
  for (const rec of records) {
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
      if (!(await aside(over, 'MaxReceivesExceeded'))) failures.push({ itemIdentifier: messageId });
      continue;
    }
    try {
      const res = await handleMessage(body, messageId, rt.handleObject);
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
      const d = decideFailure(err, receiveCount, rt.retry);
      if (d.action === 'move-aside') {
        if (!(await aside(d.reason, errorName(err)))) failures.push({ itemIdentifier: messageId });
        continue;
      }
      log('warn', 'message failed; will be retried', { messageId, receiveCount, delaySeconds: d.delaySeconds, reason: d.reason });
      try {
        await setVisibility(rt.sqs, await queueUrl(), rec.receiptHandle, d.delaySeconds);
      } catch (e) {
        log('warn', 'could not set the retry backoff; the queue visibility timeout applies', { messageId, error: errorMessage(e) });
      }
      failures.push({ itemIdentifier: messageId });
    }
  }
  return { batchItemFailures: failures };
}
