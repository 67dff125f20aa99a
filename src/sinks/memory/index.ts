/** In-memory sink: keeps every finding it is sent, in order (a test double, like otel-js's in-memory exporter). */
import type { DetectionFinding, Sink } from '../../findings/types.js';

export class MemorySink implements Sink {
  readonly name: string;
  readonly findings: DetectionFinding[] = [];
  /** Number of send() calls (batches). */
  batches = 0;
  closed = false;

  constructor(name = 'memory') {
    this.name = name;
  }

  async send(findings: readonly DetectionFinding[]): Promise<void> {
    this.batches++;
    this.findings.push(...findings);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Forget what was sent. */
  clear(): void {
    this.findings.length = 0;
    this.batches = 0;
  }
}
