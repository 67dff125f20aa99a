/**
 * Findings POSTed to an HTTP endpoint.
 *
 * - `format: 'json'`: the body is a JSON array of findings (at most `batchSize` per request, default 100);
 *   `format: 'slack'`: a Slack incoming-webhook message `{"text": ...}`, one line per finding (at most `batchSize`
 *   per message, default 20).
 * - Transient failures are retried: network errors, timeouts (`timeoutMs` per request), 408, 429 and 5xx. The wait
 *   is exponential backoff with full jitter (uniform in [0, min(maxBackoffMs, initialBackoffMs x 2^(attempt-1))]),
 *   or the server's `Retry-After` (seconds or an HTTP date, capped at `maxRetryAfterMs`) when it sends one.
 *   Other 4xx answers are permanent and not retried. After `maxAttempts` the batch is given up.
 * - `send()` never throws for delivery failures: a failed batch is counted in `stats`, passed to `onFailure`
 *   (default: one warning on stderr) and dropped, so an unreachable webhook cannot stop the monitor.
 * - `Authorization`: `authorization`, else the environment variable `authorizationEnv`
 *   (default SECLAKE_WEBHOOK_AUTHORIZATION) when set. Its value is never logged.
 */
import { SinkError, errorMessage } from '../../core/errors.js';
import { log } from '../../core/log.js';
import type { Sink } from '../../findings/types.js';
import { isIncidentFinding, type AnyFinding } from '../../findings/incidents.js';

export type WebhookFormat = 'json' | 'slack';

export const DEFAULT_AUTHORIZATION_ENV = 'SECLAKE_WEBHOOK_AUTHORIZATION';

export interface WebhookSinkOptions {
  url: string;
  format?: WebhookFormat;
  /** Attempts per batch, first one included (default 5). */
  maxAttempts?: number;
  /** Backoff cap of the first retry (default 500 ms); doubles per attempt. */
  initialBackoffMs?: number;
  /** Largest backoff (default 30 s). */
  maxBackoffMs?: number;
  /** Longest Retry-After honoured (default 60 s); longer values wait this long. */
  maxRetryAfterMs?: number;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** Findings per request (default 100 for json, 20 for slack). */
  batchSize?: number;
  /** Authorization header value. */
  authorization?: string;
  /** Environment variable holding the Authorization header value (default SECLAKE_WEBHOOK_AUTHORIZATION). */
  authorizationEnv?: string;
  /** Environment to read `authorizationEnv` from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Called when a batch is given up (default: a warning on stderr). */
  onFailure?: (failure: WebhookFailure) => void;
  /** Jitter source in [0, 1) (tests); default Math.random. */
  random?: () => number;
  /** Sleep (tests); default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  name?: string;
}

export interface WebhookFailure {
  sink: string;
  /** Findings in the batch that was given up. */
  findings: number;
  attempts: number;
  /** HTTP status of the last answer, if any. */
  status?: number;
  permanent: boolean;
  error: string;
}

export interface WebhookStats {
  /** HTTP requests made (attempts). */
  requests: number;
  /** Retries (attempts after the first). */
  retries: number;
  /** Findings delivered (2xx). */
  delivered: number;
  /** Findings given up. */
  failed: number;
  /** Batches given up. */
  failedBatches: number;
  lastError?: string;
}

/** Parse Retry-After: delay-seconds or an HTTP date; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** Full-jitter backoff for retry number `retry` (1-based). */
export function backoffMs(retry: number, initialMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * cap);
}

const SEVERITY_MARK: Record<number, string> = { 1: 'ℹ️', 2: '🟡', 3: '🟠', 4: '🔴', 5: '🚨' };

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** The Slack message for a batch of findings and incidents (one line each). */
export function slackText(findings: readonly AnyFinding[]): string {
  const incidents = findings.filter(isIncidentFinding).length;
  const what = [
    incidents > 0 ? `${incidents} incident${incidents === 1 ? '' : 's'}` : '',
    findings.length - incidents > 0 ? `${findings.length - incidents} finding${findings.length - incidents === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  const head = `seclake: ${what.join(', ') || '0 findings'}`;
  const lines = findings.map((f) => {
    const sev = typeof f.severity === 'string' ? f.severity : `severity ${String(f.severity_id)}`;
    const mark = SEVERITY_MARK[Number(f.severity_id)] ?? '•';
    if (isIncidentFinding(f)) {
      const u = f.unmapped;
      const rev = u.revision > 1 ? `, update ${u.revision}` : '';
      return truncate(`${mark} *${sev}* incident: ${u.title} (score ${u.score.toFixed(1)}, ${u.finding_count} finding${u.finding_count === 1 ? '' : 's'}${rev}; ${u.incident_uid.slice(0, 8)})`, 600);
    }
    const count = typeof f.count === 'number' && f.count > 1 ? ` (x${f.count})` : '';
    const msg = typeof f.message === 'string' ? f.message : '';
    return truncate(`${mark} *${sev}* ${f.finding_info.title}${count}: ${msg}`, 600);
  });
  return [head, ...lines].join('\n');
}

async function readSome(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let got = 0;
  try {
    while (got < max) {
      const { done, value } = await reader.read();
      if (done) return Buffer.concat(chunks).toString('utf8');
      chunks.push(value);
      got += value.length;
    }
    await reader.cancel();
  } catch {
    // a body that fails to arrive says nothing more than the status
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, max);
}

function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export class WebhookSink implements Sink {
  readonly name: string;
  readonly url: string;
  readonly format: WebhookFormat;
  readonly stats: WebhookStats = { requests: 0, retries: 0, delivered: 0, failed: 0, failedBatches: 0 };
  private readonly o: Required<Pick<WebhookSinkOptions, 'maxAttempts' | 'initialBackoffMs' | 'maxBackoffMs' | 'maxRetryAfterMs' | 'timeoutMs' | 'batchSize'>>;
  private readonly headers: Record<string, string>;
  private readonly onFailure: (f: WebhookFailure) => void;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private closed = false;

  constructor(opts: WebhookSinkOptions) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new SinkError(`invalid webhook URL ${JSON.stringify(opts.url)}`, true);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SinkError(`webhook URL must be http or https: ${JSON.stringify(opts.url)}`, true);
    this.url = url.href;
    this.format = opts.format ?? 'json';
    // Never show credentials that may be embedded in the URL.
    const shown = new URL(url.href);
    shown.username = '';
    shown.password = '';
    shown.search = '';
    this.name = opts.name ?? `${this.format === 'slack' ? 'slack' : 'webhook'}:${shown.origin}${shown.pathname.length > 1 ? '/…' : ''}`;
    const pos = (v: number | undefined, d: number): number => (v !== undefined && Number.isFinite(v) && v >= 0 ? v : d);
    this.o = {
      maxAttempts: Math.max(1, Math.floor(pos(opts.maxAttempts, 5))),
      initialBackoffMs: pos(opts.initialBackoffMs, 500),
      maxBackoffMs: pos(opts.maxBackoffMs, 30_000),
      maxRetryAfterMs: pos(opts.maxRetryAfterMs, 60_000),
      timeoutMs: Math.max(1, pos(opts.timeoutMs, 10_000)),
      batchSize: Math.max(1, Math.floor(pos(opts.batchSize, this.format === 'slack' ? 20 : 100))),
    };
    this.headers = { 'content-type': 'application/json', 'user-agent': 'seclake-findings', ...(opts.headers ?? {}) };
    const env = opts.env ?? process.env;
    const auth = opts.authorization ?? env[opts.authorizationEnv ?? DEFAULT_AUTHORIZATION_ENV];
    if (auth) this.headers.authorization = auth;
    this.onFailure = opts.onFailure ?? ((f) => log.warn(`${f.sink}: gave up on ${f.findings} finding(s) after ${f.attempts} attempt(s): ${f.error}`));
    this.random = opts.random ?? Math.random;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async send(findings: readonly AnyFinding[]): Promise<void> {
    if (this.closed) throw new SinkError(`${this.name}: send after close`, true);
    for (let i = 0; i < findings.length; i += this.o.batchSize) {
      const batch = findings.slice(i, i + this.o.batchSize);
      const body = this.format === 'slack' ? JSON.stringify({ text: slackText(batch) }) : JSON.stringify(batch);
      await this.deliver(body, batch.length);
    }
  }

  /** POST one body with retries; never throws. Returns whether it was delivered. */
  private async deliver(body: string, n: number): Promise<boolean> {
    let lastStatus: number | undefined;
    let lastError = '';
    let permanent = false;
    let attempt = 0;
    while (attempt < this.o.maxAttempts) {
      attempt++;
      this.stats.requests++;
      if (attempt > 1) this.stats.retries++;
      let waitMs: number | undefined;
      try {
        const res = await fetch(this.url, { method: 'POST', headers: this.headers, body, signal: AbortSignal.timeout(this.o.timeoutMs), redirect: 'manual' });
        lastStatus = res.status;
        // Read (at most 4 KiB of) the answer: a small body lets the connection be reused, a huge one is cut off.
        const text = await readSome(res, 4096);
        if (res.ok) {
          this.stats.delivered += n;
          return true;
        }
        lastError = `HTTP ${res.status}${text ? `: ${truncate(text.replace(/\s+/g, ' ').trim(), 200)}` : ''}`;
        if (!isTransientStatus(res.status)) {
          permanent = true;
          break;
        }
        const ra = parseRetryAfter(res.headers.get('retry-after'));
        if (ra !== undefined) waitMs = Math.min(ra, this.o.maxRetryAfterMs);
      } catch (err) {
        const e = err as { name?: string; cause?: { code?: string; message?: string } };
        lastError = e.name === 'TimeoutError' ? `timed out after ${this.o.timeoutMs} ms` : `${errorMessage(err)}${e.cause?.code ? ` (${e.cause.code})` : e.cause?.message ? ` (${e.cause.message})` : ''}`;
      }
      if (attempt >= this.o.maxAttempts) break;
      await this.sleep(waitMs ?? backoffMs(attempt, this.o.initialBackoffMs, this.o.maxBackoffMs, this.random));
    }
    this.stats.failed += n;
    this.stats.failedBatches++;
    this.stats.lastError = lastError;
    const failure: WebhookFailure = { sink: this.name, findings: n, attempts: attempt, permanent, error: lastError };
    if (lastStatus !== undefined) failure.status = lastStatus;
    try {
      this.onFailure(failure);
    } catch {
      // A failing reporter must not turn into a failing send.
    }
    return false;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
