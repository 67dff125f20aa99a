/**
 * The Lambda's log lines: one JSON object per line, written straight to stdout. Lambda forwards what a function
 * writes to stdout unchanged under both log formats (only console.* calls get the Text format's
 * `<time>\t<request id>\tINFO\t` prefix, or the JSON format's envelope), so every line parses as JSON in CloudWatch
 * Logs Insights either way. The keys are those of Lambda's own JSON format: `timestamp` (RFC 3339), `level`
 * (DEBUG, INFO, WARN, ERROR: Lambda's log-level filtering reads it under LogFormat JSON), `requestId`, `message`;
 * the line's other fields follow. The invocation's EMF metrics document goes through the same writer.
 */

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** What the handler logs through (lower-case levels, as the rest of the monitor's code says them). */
export type LogFn = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

const RESERVED = new Set(['timestamp', 'level', 'requestId', 'message']);

export const stdoutWrite = (line: string): void => {
  process.stdout.write(line);
};

export class LambdaLog {
  /** The invocation in progress (Lambda runs one at a time per container); on every line while set. */
  requestId: string | undefined;

  constructor(
    private readonly write: (line: string) => void = stdoutWrite,
    private readonly now: () => number = Date.now,
  ) {}

  line(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
    const rec: Record<string, unknown> = { timestamp: new Date(this.now()).toISOString(), level, ...(this.requestId ? { requestId: this.requestId } : {}), message };
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      rec[RESERVED.has(k) ? `field_${k}` : k] = v;
    }
    this.write(`${JSON.stringify(rec)}\n`);
  }

  /** A document written as is (an EMF metrics document): one line. */
  document(doc: Record<string, unknown>): void {
    this.write(`${JSON.stringify(doc)}\n`);
  }

  readonly log: LogFn = (level, msg, fields) => this.line(level === 'info' ? 'INFO' : level === 'warn' ? 'WARN' : 'ERROR', msg, fields);
}
