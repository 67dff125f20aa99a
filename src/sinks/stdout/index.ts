/**
 * Findings on stdout (or any writable stream); waits for the stream when it is full. Two formats:
 *
 * - `json` (default, `--sink stdout`): one JSON object per line, the finding or incident as written to the lake;
 * - `text` (`--sink stdout:text`): one line a person reads, `oneLine()`:
 *     incident  `[High] db-1: 2 detectors agree: new peer 10.0.99.42 (IP Insights, history), 2026-03-02 02:10 UTC (incident 45e71da8 r1, score 5.2, 2 findings)`
 *     finding   `[Medium] Unusual IP address for db-1: 10.0.99.42: db-1 talked to 10.0.99.42; ... (finding 3cb9c276, flows)`
 */
import type { Writable } from 'node:stream';
import type { Sink } from '../../findings/types.js';
import { incidentLine, isIncidentFinding, type AnyFinding } from '../../findings/incidents.js';
import { SEVERITY_NAMES } from '../../findings/build.js';

export type StdoutFormat = 'json' | 'text';

export interface StdoutSinkOptions {
  /** Where to write; default process.stdout. */
  stream?: Writable;
  name?: string;
  format?: StdoutFormat;
}

/** Lines longer than this are cut (with an ellipsis) in the text format. */
const MAX_LINE = 1000;

/** A finding or incident as one line of text (no newline inside: control characters become spaces). */
export function oneLine(f: AnyFinding): string {
  let line: string;
  if (isIncidentFinding(f)) line = incidentLine(f);
  else {
    const sev = typeof f.severity === 'string' ? f.severity : (SEVERITY_NAMES[Number(f.severity_id)] ?? String(f.severity_id));
    const u = (f.unmapped ?? {}) as Record<string, unknown>;
    const model = u.model && typeof u.model === 'object' ? (u.model as { name?: unknown }).name : undefined;
    const status = Number(f.status_id) === 3 ? ' SUPPRESSED' : '';
    const count = typeof f.count === 'number' && f.count > 1 ? ` x${f.count}` : '';
    line = `[${sev}]${status} ${f.finding_info.title}${count}: ${typeof f.message === 'string' ? f.message : ''} (finding ${f.finding_info.uid.slice(0, 8)}${typeof model === 'string' ? `, ${model}` : ''})`;
  }
  // eslint-disable-next-line no-control-regex
  line = line.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 1)}…` : line;
}

export class StdoutSink implements Sink {
  readonly name: string;
  readonly format: StdoutFormat;
  private readonly stream: Writable;
  /** Findings written. */
  written = 0;

  constructor(opts: StdoutSinkOptions = {}) {
    this.stream = opts.stream ?? process.stdout;
    this.format = opts.format ?? 'json';
    this.name = opts.name ?? (this.format === 'json' ? 'stdout' : `stdout:${this.format}`);
  }

  async send(findings: readonly AnyFinding[]): Promise<void> {
    if (findings.length === 0) return;
    const text = findings.map((f) => (this.format === 'text' ? oneLine(f) : JSON.stringify(f))).join('\n') + '\n';
    await new Promise<void>((resolve, reject) => {
      this.stream.write(text, (err) => (err ? reject(err) : resolve()));
    });
    this.written += findings.length;
  }

  /** Nothing to release: stdout stays open for the rest of the process. */
  async close(): Promise<void> {}
}
