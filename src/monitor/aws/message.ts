/**
 * One SQS message, shared by the SQS worker and the Lambda handler: parse the notification, process its objects,
 * and on failure decide between a retry (with backoff, by changing the message's visibility) and moving the message
 * aside (to a dead-letter queue, or a quarantine record with the reason) so it never blocks the queue.
 */
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { errorMessage } from '../../core/errors.js';
import { NotificationError, S3ObjectError } from './errors.js';
import { parseNotification, type ParsedNotification, type S3ObjectRef } from './notifications.js';
import type { ObjectOutcome, QuarantineStore } from './s3-object.js';

export type ObjectHandler = (ref: S3ObjectRef, signal?: AbortSignal) => Promise<ObjectOutcome>;

export interface MessageResult {
  notification: ParsedNotification;
  objects: ObjectOutcome[];
}

/**
 * Parse a message and process its objects in order. Throws NotificationError for an unreadable message and the
 * handler's error for a failed object (the objects before it are done and recorded, so a retry skips them).
 */
export async function handleMessage(body: unknown, messageId: string, handleObject: ObjectHandler, signal?: AbortSignal): Promise<MessageResult> {
  const notification = parseNotification(body, messageId);
  const objects: ObjectOutcome[] = [];
  for (const ref of notification.objects) {
    signal?.throwIfAborted();
    objects.push(await handleObject(ref, signal));
  }
  return { notification, objects };
}

export interface RetryPolicy {
  /** A message received this many times that still fails is moved aside (default 5). */
  maxReceives: number;
  /** First retry delay in seconds (default 5); doubles per receive. */
  baseDelaySeconds: number;
  /** Longest retry delay in seconds (default 900; SQS allows up to 43200). */
  maxDelaySeconds: number;
}

export { DEFAULT_RETRY } from './defaults.js';

/** Exponential backoff with jitter: base * 2^(receives-1), capped, then scaled by a random factor in [0.5, 1]. */
export function backoffSeconds(receiveCount: number, policy: RetryPolicy, rand: () => number = Math.random): number {
  const exp = Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** Math.max(0, Math.min(30, receiveCount - 1)));
  return Math.max(0, Math.min(43_200, Math.round(exp * (0.5 + 0.5 * rand()))));
}

/** Errors a retry cannot fix: an unreadable message, a missing/forbidden/oversized object. */
export function isPermanent(err: unknown): boolean {
  return err instanceof NotificationError || (err instanceof S3ObjectError && err.permanent);
}

export type FailureDecision = { action: 'retry'; delaySeconds: number; reason: string } | { action: 'move-aside'; reason: string };

/** What to do with a message whose processing failed on its `receiveCount`-th receive. */
export function decideFailure(err: unknown, receiveCount: number, policy: RetryPolicy, rand: () => number = Math.random): FailureDecision {
  const reason = errorMessage(err);
  if (isPermanent(err)) return { action: 'move-aside', reason: `${reason} (not retried: a retry cannot fix this)` };
  if (receiveCount >= policy.maxReceives) return { action: 'move-aside', reason: `${reason} (failed on each of ${receiveCount} receives)` };
  return { action: 'retry', delaySeconds: backoffSeconds(receiveCount, policy, rand), reason };
}

/** A message received more often than allowed before this worker even tried it (a worker died on it, or crashed). */
export function overReceived(receiveCount: number, policy: RetryPolicy): string | undefined {
  return receiveCount > policy.maxReceives
    ? `received ${receiveCount} times, more than the limit of ${policy.maxReceives}, without being completed (a worker may have died processing it)`
    : undefined;
}

export interface MoveAsideTarget {
  sqs: SQSClient;
  /** The queue the message came from. */
  queueUrl: string;
  /** Dead-letter queue URL; when unset, a quarantine record is written instead. */
  dlqUrl?: string;
  quarantine?: QuarantineStore;
}

export interface MovedAside {
  to: 'dlq' | 'quarantine';
  location: string;
}

/**
 * Move a message aside: send it (body unchanged, the reason in message attributes) to the dead-letter queue, or
 * write a quarantine record. Does not delete it from the source queue (the caller does, after this succeeds).
 */
export async function moveAside(
  target: MoveAsideTarget,
  msg: { messageId: string; body: string; receiveCount: number; reason: string; errorName: string },
): Promise<MovedAside> {
  if (target.dlqUrl) {
    await target.sqs.send(
      new SendMessageCommand({
        QueueUrl: target.dlqUrl,
        MessageBody: msg.body === '' ? '(empty)' : msg.body,
        MessageAttributes: {
          'seclake-reason': { DataType: 'String', StringValue: msg.reason.slice(0, 4000) || '(none)' },
          'seclake-error': { DataType: 'String', StringValue: msg.errorName || 'Error' },
          'seclake-source-queue': { DataType: 'String', StringValue: target.queueUrl },
          'seclake-source-message-id': { DataType: 'String', StringValue: msg.messageId },
          'seclake-receive-count': { DataType: 'Number', StringValue: String(msg.receiveCount) },
        },
      }),
    );
    return { to: 'dlq', location: target.dlqUrl };
  }
  if (!target.quarantine) throw new Error('no dead-letter queue and no quarantine location configured');
  const location = await target.quarantine.putQuarantine({
    message_id: msg.messageId,
    receive_count: msg.receiveCount,
    reason: msg.reason,
    error_name: msg.errorName,
    body: msg.body,
    queue_url: target.queueUrl,
    quarantined_at: new Date().toISOString(),
  });
  return { to: 'quarantine', location };
}

export async function deleteMessage(sqs: SQSClient, queueUrl: string, receiptHandle: string): Promise<void> {
  await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
}

export async function setVisibility(sqs: SQSClient, queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
  await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
}

export function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
