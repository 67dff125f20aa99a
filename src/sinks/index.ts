/**
 * Sinks: where findings go besides the lake: Incident Findings (2005) by default, Detection Findings (2004) on request
 * (the monitor decides which; every sink takes both). One folder per sink type (`stdout`, `file`, `webhook`, `memory`);
 * `parseSinkSpec` turns a command-line spec into a sink:
 *
 *   stdout            JSON lines on stdout (stdout:text: one line a person reads per incident or finding)
 *   file:PATH         JSON lines appended to PATH (fsync on close)
 *   webhook:URL       POST JSON arrays of findings to URL, with retries
 *   slack:URL         POST Slack incoming-webhook messages ({"text": ...}) to URL, with retries
 *   memory            kept in memory (tests)
 *
 * `FanoutSink` sends to several sinks; a sink that throws is reported and does not stop the others.
 */
import type { Writable } from 'node:stream';
import { ConfigError, SinkError, errorMessage } from '../core/errors.js';
import { log } from '../core/log.js';
import type { Sink } from '../findings/types.js';
import type { AnyFinding, AnySink } from '../findings/incidents.js';
import { FileSink } from './file/index.js';
import { MemorySink } from './memory/index.js';
import { StdoutSink } from './stdout/index.js';
import { WebhookSink, type WebhookSinkOptions } from './webhook/index.js';
import { BackgroundSink, type BackgroundSinkOptions } from './background.js';
import { SINK_SPEC_HELP } from './spec.js';

export { FileSink } from './file/index.js';
export { MemorySink } from './memory/index.js';
export { StdoutSink, oneLine } from './stdout/index.js';
export type { StdoutFormat, StdoutSinkOptions } from './stdout/index.js';
export { WebhookSink, slackText, parseRetryAfter, backoffMs, DEFAULT_AUTHORIZATION_ENV } from './webhook/index.js';
export type { WebhookSinkOptions, WebhookFailure, WebhookStats, WebhookFormat } from './webhook/index.js';
export { BackgroundSink } from './background.js';
export type { BackgroundSinkOptions, BackgroundStats } from './background.js';

export { SINK_SPEC_HELP };

export interface SinkSpecOptions {
  /** Stream for `stdout` (default process.stdout). */
  stdout?: Writable;
  /** Options for `webhook:` and `slack:` sinks (retries, timeouts, authorization env, ...). */
  webhook?: Omit<WebhookSinkOptions, 'url' | 'format'>;
  /**
   * Deliver webhook/slack sinks in the background (BackgroundSink): send() queues and returns at once, so a slow or
   * unreachable endpoint never holds up the caller; close() drains. `true` or the queue options. Default off.
   */
  background?: boolean | BackgroundSinkOptions;
}

/** Build a sink from a spec (see the module comment). Throws ConfigError naming the spec when it is invalid. */
export function parseSinkSpec(spec: string, opts: SinkSpecOptions = {}): Sink {
  const s = spec.trim();
  if (s === 'stdout' || s === '-') return new StdoutSink(opts.stdout ? { stream: opts.stdout } : {});
  if (s === 'stdout:text' || s === 'stdout:json') return new StdoutSink({ ...(opts.stdout ? { stream: opts.stdout } : {}), format: s === 'stdout:text' ? 'text' : 'json' });
  if (s === 'memory') return new MemorySink();
  const colon = s.indexOf(':');
  const type = colon < 0 ? s : s.slice(0, colon);
  const arg = colon < 0 ? '' : s.slice(colon + 1);
  switch (type) {
    case 'file':
      if (!arg.trim()) throw new ConfigError(`sink "${spec}": file needs a path (file:PATH)`, ['sink']);
      return new FileSink({ path: arg });
    case 'webhook':
    case 'slack': {
      if (!arg) throw new ConfigError(`sink "${spec}": ${type} needs a URL (${type}:https://...)`, ['sink']);
      let url: URL;
      try {
        url = new URL(arg);
      } catch {
        throw new ConfigError(`sink "${spec}": ${JSON.stringify(arg)} is not a URL`, ['sink']);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`sink "${spec}": the URL must be http:// or https://`, ['sink']);
      const sink = new WebhookSink({ ...(opts.webhook ?? {}), url: url.href, format: type === 'slack' ? 'slack' : 'json' });
      if (!opts.background) return sink;
      return new BackgroundSink(sink, opts.background === true ? {} : opts.background);
    }
    default:
      throw new ConfigError(`unknown sink "${spec}": expected ${SINK_SPEC_HELP}`, ['sink']);
  }
}

/**
 * Sinks for repeated `--sink SPEC` flags: none -> an empty fanout (sends go nowhere), one -> that sink wrapped so a
 * throwing sink is reported instead of failing the caller, several -> a FanoutSink. Throws ConfigError on a bad spec.
 */
export function createSinks(specs: readonly string[], opts: SinkSpecOptions = {}): FanoutSink {
  return new FanoutSink(specs.map((s) => parseSinkSpec(s, opts)));
}

/** Sends every batch to all sinks concurrently; a sink that throws is logged (once per send) and counted. */
export class FanoutSink implements Sink {
  readonly name: string;
  /** Errors thrown by sinks, by sink name. */
  readonly errors = new Map<string, number>();

  constructor(
    readonly sinks: readonly AnySink[],
    private readonly onError: (sink: AnySink, err: unknown) => void = (sink, err) => log.warn(`sink ${sink.name} failed: ${errorMessage(err)}`),
  ) {
    this.name = `fanout(${sinks.map((s) => s.name).join(',')})`;
  }

  async send(findings: readonly AnyFinding[]): Promise<void> {
    if (findings.length === 0) return;
    await Promise.all(this.sinks.map((s) => this.guard(s, () => s.send(findings))));
  }

  async close(): Promise<void> {
    await Promise.all(this.sinks.map((s) => this.guard(s, () => s.close())));
  }

  private async guard(sink: AnySink, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.errors.set(sink.name, (this.errors.get(sink.name) ?? 0) + 1);
      try {
        this.onError(sink, err instanceof SinkError ? err : new SinkError(errorMessage(err), false, { cause: err }));
      } catch {
        // reporting must not fail the send
      }
    }
  }
}
