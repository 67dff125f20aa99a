/**
 * What the Lambda service hands a function, for tests: the invocation Context (with a remaining-time clock the test
 * controls) and the SQS event the event source mapping builds from received messages.
 */
import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecordAttributes } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

export interface ContextOptions {
  functionName?: string;
  awsRequestId?: string;
  /** What getRemainingTimeInMillis() answers, asked on each call (default: 300 s minus the time since creation). */
  remainingMs?: () => number;
  timeoutMs?: number;
}

/** A Lambda invocation context, as the runtime builds it. */
export function lambdaContext(opts: ContextOptions = {}): Context {
  const functionName = opts.functionName ?? 'seclake-test-monitor';
  const start = Date.now();
  const timeout = opts.timeoutMs ?? 300_000;
  const unsupported = () => {
    throw new Error('the callback-style context methods are not used by an async handler');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: opts.awsRequestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/01/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: opts.remainingMs ?? (() => Math.max(0, timeout - (Date.now() - start))),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** Receive what is on the queue and shape it as Lambda's SQS event (records as the event source mapping sends them). */
export async function sqsEventFromQueue(sqs: SQSClient, queueUrl: string, queueArn: string, visibility = 30, region = 'us-east-1'): Promise<SQSEvent> {
  const got: Message[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: visibility, MessageSystemAttributeNames: ['All'] }));
    got.push(...(r.Messages ?? []));
    if ((r.Messages ?? []).length === 0) break;
  }
  return {
    Records: got.map((m) => ({
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body!,
      attributes: { ...(m.Attributes as Record<string, string>) } as unknown as SQSRecordAttributes,
      messageAttributes: {},
      md5OfBody: m.MD5OfBody!,
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: region,
    })),
  };
}
