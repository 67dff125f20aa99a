/** In-memory sink: keeps every finding it is sent, in order (a test double, like otel-js's in-memory exporter). */
import type { DetectionFinding, Sink } from '../../findings/types.js';
import { isIncidentFinding, type AnyFinding, type IncidentFinding } from '../../findings/incidents.js';

export class MemorySink implements Sink {
  readonly name: string;
  /** Detection findings sent, in order. */
  readonly findings: DetectionFinding[] = [];
  /** Incident Findings (revisions) sent, in order. */
  readonly incidents: IncidentFinding[] = [];
  /** Number of send() calls (batches). */
  batches = 0;
  closed = false;

  constructor(name = 'memory') {
    this.name = name;
  }

  async send(findings: readonly AnyFinding[]): Promise<void> {
    this.batches++;
    for (const f of findings) {
      if (isIncidentFinding(f)) this.incidents.push(f);
      else this.findings.push(f as DetectionFinding);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Forget what was sent. */
  clear(): void {
    this.findings.length = 0;
    this.incidents.length = 0;
    this.batches = 0;
  }
}
