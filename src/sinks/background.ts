/**
 * BackgroundSink: delivers to a slow sink (a webhook whose retries can take a minute) without making the caller wait.
 * `send()` queues the batch and returns; one loop delivers queued batches in order. The queue is bounded
 * (`maxQueuedFindings`, default 10,000): when full, the oldest waiting batches are dropped and counted, so memory stays
 * bounded when the destination is down for long. `flush()` waits until the queue is empty; `close()` flushes (up to
 * `closeTimeoutMs`, default 30 s; what is still queued then is dropped and counted) and closes the inner sink.
 * A batch the inner sink throws on is counted and reported, never rethrown.
 */
import { errorMessage } from '../core/errors.js';
import { log } from '../core/log.js';
import type { Sink } from '../findings/types.js';
import type { AnyFinding, AnySink } from '../findings/incidents.js';

export interface BackgroundSinkOptions {
  maxQueuedFindings?: number;
  closeTimeoutMs?: number;
  /** Called for findings dropped (queue full, close timeout) or failed (inner sink threw). Default: a warning. */
  onDrop?: (info: { sink: string; findings: number; reason: 'queue_full' | 'close_timeout' | 'error'; error?: string }) => void;
}

export interface BackgroundStats {
  queued: number;
  sent: number;
  dropped: number;
  errors: number;
}

export class BackgroundSink implements Sink {
  readonly name: string;
  readonly stats: BackgroundStats = { queued: 0, sent: 0, dropped: 0, errors: 0 };
  private readonly queue: AnyFinding[][] = [];
  private queuedFindings = 0;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly max: number;
  private readonly closeTimeoutMs: number;
  private readonly onDrop: NonNullable<BackgroundSinkOptions['onDrop']>;

  constructor(
    readonly inner: AnySink,
    opts: BackgroundSinkOptions = {},
  ) {
    this.name = inner.name;
    this.max = Math.max(1, Math.floor(opts.maxQueuedFindings ?? 10_000));
    this.closeTimeoutMs = Math.max(0, opts.closeTimeoutMs ?? 30_000);
    this.onDrop = opts.onDrop ?? ((i) => log.warn(`${i.sink}: dropped ${i.findings} finding(s) (${i.reason}${i.error ? `: ${i.error}` : ''})`));
  }

  /** Findings waiting to be delivered. */
  get pending(): number {
    return this.queuedFindings;
  }

  async send(findings: readonly AnyFinding[]): Promise<void> {
    if (findings.length === 0) return;
    if (this.closed) {
      this.drop(findings.length, 'close_timeout');
      return;
    }
    this.queue.push([...findings]);
    this.queuedFindings += findings.length;
    this.stats.queued += findings.length;
    // The head batch may be in delivery: drop the oldest waiting ones after it.
    while (this.queuedFindings > this.max && this.queue.length > 1) {
      const old = this.queue.splice(1, 1)[0]!;
      this.queuedFindings -= old.length;
      this.drop(old.length, 'queue_full');
    }
    this.running ??= this.loop();
  }

  private drop(n: number, reason: 'queue_full' | 'close_timeout' | 'error', error?: string): void {
    if (reason === 'error') this.stats.errors += n;
    else this.stats.dropped += n;
    try {
      this.onDrop({ sink: this.name, findings: n, reason, ...(error ? { error } : {}) });
    } catch {
      // reporting must not fail delivery
    }
  }

  private async loop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue[0]!;
        try {
          await this.inner.send(batch);
          this.stats.sent += batch.length;
        } catch (err) {
          this.drop(batch.length, 'error', errorMessage(err));
        }
        // Only this loop removes the head (evictions and close take batches after it).
        this.queue.shift();
        this.queuedFindings -= batch.length;
      }
    } finally {
      this.running = undefined;
    }
  }

  /** Wait until everything queued so far has been handed to the inner sink. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.flush().then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), this.closeTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut && this.queue.length > 1) {
      // Keep the batch in flight; drop the rest.
      const rest = this.queue.splice(1);
      const n = rest.reduce((s, b) => s + b.length, 0);
      this.queuedFindings -= n;
      this.drop(n, 'close_timeout');
    }
    await this.inner.close();
  }
}
