/**
 * The SQS worker: long-polls a queue of S3 / Security Lake notifications and processes each announced object.
 *
 * Delivery semantics (see docs/aws.md):
 * - a message is deleted only after every object it names is fully processed, its findings object written and its
 *   findings sent (or it was skipped / already done);
 * - a failing message is left on the queue with its visibility set to an exponential backoff with jitter; once it has
 *   been received `maxReceives` times (ApproximateReceiveCount), or at once for errors a retry cannot fix, it is moved
 *   aside (sent to the dead-letter queue with the reason as message attributes, or recorded in the quarantine) and
 *   deleted, so a poison object never blocks the queue;
 * - any number of workers may share a queue (competing consumers): a received message is invisible to the others for
 *   the visibility timeout, which a heartbeat keeps extending while this worker holds it; findings objects and uids
 *   are deterministic per source object, so a message processed twice (a worker died before DeleteMessage) rewrites
 *   the same findings;
 * - stop() (SIGTERM in the CLI): no new receives; messages received but not started are released (visibility 0);
 *   the message in progress finishes; then run() resolves.
 */
import { ChangeMessageVisibilityBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { errorMessage } from '../../core/errors.js';
import { faultPoint } from '../../core/fault.js';
import {
  DEFAULT_RETRY,
  decideFailure,
  deleteMessage,
  errorName,
  handleMessage,
  moveAside,
  overReceived,
  setVisibility,
  type MessageResult,
  type MovedAside,
  type ObjectHandler,
  type RetryPolicy,
} from './message.js';
import type { QuarantineStore } from './s3-object.js';

export interface SqsMonitorOptions {
  sqs: SQSClient;
  queueUrl: string;
  handleObject: ObjectHandler;
  /** Seconds a received message stays invisible to other workers; the heartbeat renews it (default 60). */
  visibilityTimeout?: number;
  /** Long-poll wait in seconds, 0..20 (default 20). */
  waitTimeSeconds?: number;
  /** Messages per receive, 1..10 (default 10). */
  batchSize?: number;
  /** Messages processed at once by this worker (default 1). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  dlqUrl?: string;
  quarantine?: QuarantineStore;
  /** Stop after this many ms without receiving a message (default: never). */
  idleExitMs?: number;
  /** Progress events (the CLI prints them). */
  onEvent?: (e: MonitorEvent) => void;
  /** Random source for the backoff jitter (tests). */
  rand?: () => number;
}

export type MonitorEvent =
  | { type: 'start'; queueUrl: string; visibilityTimeout: number; maxReceives: number }
  /** `sentAt`: when the notification was sent (SQS SentTimestamp, unix ms), if SQS said. */
  | { type: 'processed'; messageId: string; receiveCount: number; result: MessageResult; sentAt?: number }
  | { type: 'retry'; messageId: string; receiveCount: number; delaySeconds: number; reason: string }
  | { type: 'moved-aside'; messageId: string; receiveCount: number; reason: string; movedTo: MovedAside }
  | { type: 'released'; messageId: string }
  | { type: 'error'; messageId?: string; message: string };

export interface MonitorStats {
  received: number;
  /** Messages deleted after processing (including test events and skipped/already-done objects). */
  deleted: number;
  retried: number;
  movedAside: number;
  released: number;
  objects: number;
  /** Objects processed that gave no pairs (done all the same; each is said in its `processed` event). */
  noPairs: number;
  skippedObjects: number;
  alreadyDone: number;
  rows: number;
  pairs: number;
  scored: number;
  findings: number;
  receiveErrors: number;
}

interface Held {
  msg: Message;
  started: boolean;
  done: boolean;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class SqsMonitor {
  readonly stats: MonitorStats = {
    received: 0,
    deleted: 0,
    retried: 0,
    movedAside: 0,
    released: 0,
    objects: 0,
    noPairs: 0,
    skippedObjects: 0,
    alreadyDone: 0,
    rows: 0,
    pairs: 0,
    scored: 0,
    findings: 0,
    receiveErrors: 0,
  };
  private readonly o: SqsMonitorOptions;
  private readonly retry: RetryPolicy;
  private readonly visibility: number;
  private readonly stopCtl = new AbortController();
  private readonly held = new Map<string, Held>();
  private running = false;

  constructor(opts: SqsMonitorOptions) {
    this.o = opts;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.visibility = opts.visibilityTimeout ?? 60;
    if (!opts.dlqUrl && !opts.quarantine) throw new Error('SqsMonitor needs a dead-letter queue URL or a quarantine store');
  }

  get stopping(): boolean {
    return this.stopCtl.signal.aborted;
  }

  /** Ask the loop to stop: no new receives; unstarted messages are released; the current one finishes. */
  stop(): void {
    this.stopCtl.abort();
  }

  /** The queue's approximate depth (GetQueueAttributes): messages waiting, held by workers, and delayed. */
  async queueDepth(): Promise<{ visible: number; inFlight: number; delayed: number }> {
    const res = await this.o.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.o.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    const a = res.Attributes ?? {};
    const n = (k: string): number => Number(a[k as keyof typeof a] ?? 0) || 0;
    return { visible: n('ApproximateNumberOfMessages'), inFlight: n('ApproximateNumberOfMessagesNotVisible'), delayed: n('ApproximateNumberOfMessagesDelayed') };
  }

  /** Receive and process until stop() (or the idle timeout). */
  async run(): Promise<MonitorStats> {
    if (this.running) throw new Error('SqsMonitor.run() is already running');
    this.running = true;
    const signal = this.stopCtl.signal;
    let lastMessageAt = Date.now();
    let receiveBackoffMs = 500;
    const heartbeatMs = Math.max(1000, Math.floor((this.visibility * 1000) / 3));
    const heartbeat = setInterval(() => void this.extendHeld(), heartbeatMs);
    this.emit({ type: 'start', queueUrl: this.o.queueUrl, visibilityTimeout: this.visibility, maxReceives: this.retry.maxReceives });
    try {
      while (!signal.aborted) {
        let messages: Message[];
        try {
          const res = await this.o.sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: this.o.queueUrl,
              MaxNumberOfMessages: Math.min(10, Math.max(1, this.o.batchSize ?? 10)),
              WaitTimeSeconds: Math.min(20, Math.max(0, this.o.waitTimeSeconds ?? 20)),
              VisibilityTimeout: this.visibility,
              MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
            }),
            { abortSignal: signal },
          );
          messages = res.Messages ?? [];
          receiveBackoffMs = 500;
        } catch (err) {
          if (signal.aborted) break;
          this.stats.receiveErrors++;
          this.emit({ type: 'error', message: `ReceiveMessage failed: ${errorMessage(err)}` });
          await sleep(receiveBackoffMs, signal);
          receiveBackoffMs = Math.min(30_000, receiveBackoffMs * 2);
          continue;
        }
        if (messages.length === 0) {
          if (this.o.idleExitMs !== undefined && Date.now() - lastMessageAt >= this.o.idleExitMs) break;
          continue;
        }
        lastMessageAt = Date.now();
        this.stats.received += messages.length;
        for (const m of messages) this.held.set(m.ReceiptHandle!, { msg: m, started: false, done: false });
        await this.processBatch(messages);
        lastMessageAt = Date.now();
      }
    } finally {
      clearInterval(heartbeat);
      await this.releaseUnstarted();
      this.running = false;
    }
    return this.stats;
  }

  private emit(e: MonitorEvent): void {
    try {
      this.o.onEvent?.(e);
    } catch {
      // a progress printer must never break the loop
    }
  }

  private async processBatch(messages: Message[]): Promise<void> {
    const queue = [...messages];
    const workers = Math.max(1, Math.min(this.o.concurrency ?? 1, queue.length));
    const next = async (): Promise<void> => {
      while (queue.length > 0 && !this.stopping) {
        const m = queue.shift()!;
        await this.processOne(m);
      }
    };
    await Promise.all(Array.from({ length: workers }, () => next()));
  }

  private async processOne(m: Message): Promise<void> {
    const rh = m.ReceiptHandle!;
    const h = this.held.get(rh)!;
    h.started = true;
    const messageId = m.MessageId ?? '(no id)';
    const body = m.Body ?? '';
    const receiveCount = Number(m.Attributes?.ApproximateReceiveCount ?? '1') || 1;
    try {
      const over = overReceived(receiveCount, this.retry);
      if (over) {
        await this.moveAsideAndDelete(rh, { messageId, body, receiveCount, reason: over, errorName: 'MaxReceivesExceeded' });
        return;
      }
      let result: MessageResult;
      try {
        result = await handleMessage(body, messageId, this.o.handleObject);
      } catch (err) {
        const d = decideFailure(err, receiveCount, this.retry, this.o.rand);
        if (d.action === 'retry') {
          await setVisibility(this.o.sqs, this.o.queueUrl, rh, d.delaySeconds);
          this.stats.retried++;
          this.emit({ type: 'retry', messageId, receiveCount, delaySeconds: d.delaySeconds, reason: d.reason });
        } else {
          await this.moveAsideAndDelete(rh, { messageId, body, receiveCount, reason: d.reason, errorName: errorName(err) });
        }
        return;
      }
      faultPoint('aws-before-delete');
      await deleteMessage(this.o.sqs, this.o.queueUrl, rh);
      this.stats.deleted++;
      for (const o of result.objects) {
        if (o.status === 'processed') {
          this.stats.objects++;
          if (o.noPairs) this.stats.noPairs++;
          this.stats.rows += o.result.rows;
          this.stats.pairs += o.result.pairs;
          this.stats.scored += o.result.scored;
          this.stats.findings += o.result.findings.length;
        } else if (o.status === 'skipped') this.stats.skippedObjects++;
        else this.stats.alreadyDone++;
      }
      const sentAt = Number(m.Attributes?.SentTimestamp);
      this.emit({ type: 'processed', messageId, receiveCount, result, ...(Number.isFinite(sentAt) && sentAt > 0 ? { sentAt } : {}) });
    } catch (err) {
      // Deleting, retrying or moving aside failed (SQS unreachable): leave the message; it reappears after the
      // visibility timeout and is handled again (idempotently).
      this.emit({ type: 'error', messageId, message: errorMessage(err) });
    } finally {
      h.done = true;
      this.held.delete(rh);
    }
  }

  private async moveAsideAndDelete(rh: string, msg: { messageId: string; body: string; receiveCount: number; reason: string; errorName: string }): Promise<void> {
    const movedTo = await moveAside(
      { sqs: this.o.sqs, queueUrl: this.o.queueUrl, ...(this.o.dlqUrl ? { dlqUrl: this.o.dlqUrl } : {}), ...(this.o.quarantine ? { quarantine: this.o.quarantine } : {}) },
      msg,
    );
    await deleteMessage(this.o.sqs, this.o.queueUrl, rh);
    this.stats.movedAside++;
    this.emit({ type: 'moved-aside', messageId: msg.messageId, receiveCount: msg.receiveCount, reason: msg.reason, movedTo });
  }

  /** Heartbeat: keep every held message invisible for another visibility timeout. */
  private async extendHeld(): Promise<void> {
    const entries = [...this.held.entries()].filter(([, h]) => !h.done);
    for (let i = 0; i < entries.length; i += 10) {
      const chunk = entries.slice(i, i + 10);
      try {
        await this.o.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.o.queueUrl,
            Entries: chunk.map(([rh], j) => ({ Id: String(j), ReceiptHandle: rh, VisibilityTimeout: this.visibility })),
          }),
        );
      } catch (err) {
        this.emit({ type: 'error', message: `visibility heartbeat failed: ${errorMessage(err)}` });
      }
    }
  }

  /** On stop: give messages this worker received but never started back to the queue at once. */
  private async releaseUnstarted(): Promise<void> {
    const unstarted = [...this.held.entries()].filter(([, h]) => !h.started);
    for (const [rh, h] of unstarted) {
      try {
        await setVisibility(this.o.sqs, this.o.queueUrl, rh, 0);
        this.stats.released++;
        this.emit({ type: 'released', messageId: h.msg.MessageId ?? '(no id)' });
      } catch (err) {
        this.emit({ type: 'error', messageId: h.msg.MessageId, message: `release failed: ${errorMessage(err)}` });
      }
      this.held.delete(rh);
    }
  }
}
