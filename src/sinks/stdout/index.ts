/** Findings as JSON lines on stdout (or any writable stream); waits for the stream when it is full. */
import type { Writable } from 'node:stream';
import type { DetectionFinding, Sink } from '../../findings/types.js';

export interface StdoutSinkOptions {
  /** Where to write; default process.stdout. */
  stream?: Writable;
  name?: string;
}

export class StdoutSink implements Sink {
  readonly name: string;
  private readonly stream: Writable;
  /** Findings written. */
  written = 0;

  constructor(opts: StdoutSinkOptions = {}) {
    this.stream = opts.stream ?? process.stdout;
    this.name = opts.name ?? 'stdout';
  }

  async send(findings: readonly DetectionFinding[]): Promise<void> {
    if (findings.length === 0) return;
    const text = findings.map((f) => JSON.stringify(f)).join('\n') + '\n';
    await new Promise<void>((resolve, reject) => {
      this.stream.write(text, (err) => (err ? reject(err) : resolve()));
    });
    this.written += findings.length;
  }

  /** Nothing to release: stdout stays open for the rest of the process. */
  async close(): Promise<void> {}
}
