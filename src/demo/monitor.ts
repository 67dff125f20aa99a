/**
 * The demo's use of the embedded monitor (`src/monitor/embedded.ts`): both models on one lake, each with the pair
 * preset it was trained on, starting after the baseline objects (checkpoint name `demo`, so a restarted demo goes on
 * where it stopped). Findings go to the lake (`findings` view, the dashboard), to `<data>/findings.jsonl` (FileSink),
 * and to a console callback.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { SEVERITY_NAMES } from '../findings/build.js';
import type { DetectionFinding, Sink } from '../findings/types.js';
import { monitorDir, monitorOnce, startMonitor, type MonitorHandle, type MonitorModelSpec, type MonitorSummary } from '../monitor/embedded.js';
import { FileSink } from '../sinks/index.js';

export const MONITOR_NAME = 'demo';
/** `--once` scores the attack period from scratch every time, under its own checkpoint name. */
export const ONCE_MONITOR_NAME = 'demo-once';
export const FINDINGS_FILE = 'findings.jsonl';

export interface DemoModel {
  name: string;
  path: string;
  /** Monitor pair preset (`flow-peer`, `user-login`). */
  pairs: string;
}

/** What the demo reads from a finding. */
export interface DemoFinding {
  uid: string;
  model: string;
  kind: string;
  entity: string;
  ip: string;
  /** Event time, epoch ms. */
  time: number;
  severity: string;
  score: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function demoFindingOf(f: DetectionFinding): DemoFinding {
  const u = isObj(f.unmapped) ? f.unmapped : {};
  const model = isObj(u.model) && typeof u.model.name === 'string' ? u.model.name : String((f.finding_info.analytic as { name?: string } | undefined)?.name ?? '');
  return {
    uid: f.finding_info.uid,
    model,
    kind: typeof u.kind === 'string' ? u.kind : 'anomaly',
    entity: String(u.entity ?? ''),
    ip: String(u.ip ?? ''),
    time: Number(f.time),
    severity: SEVERITY_NAMES[Number(f.severity_id)] ?? String(f.severity_id),
    score: Number(u.dot_product),
  };
}

function specs(models: readonly DemoModel[]): MonitorModelSpec[] {
  return models.map((m) => ({ model: m.path, name: m.name, pairs: m.pairs }));
}

export interface MonitorOnceOptions {
  lakeDir: string;
  dataDir: string;
  models: readonly DemoModel[];
  /** Catalog sequence number after which objects are scored (the last baseline object). */
  afterSeq: number;
}

/** Score every catalogued object after `afterSeq` once, from a fresh checkpoint; returns the findings. */
export async function runMonitorOnce(o: MonitorOnceOptions): Promise<{ findings: DemoFinding[]; summary: MonitorSummary }> {
  rmSync(path.join(monitorDir(o.lakeDir), `${ONCE_MONITOR_NAME}.json`), { force: true });
  const file = new FileSink({ path: path.join(o.dataDir, 'findings-once.jsonl') });
  rmSync(file.path, { force: true });
  try {
    const summary = await monitorOnce({ lakeDir: o.lakeDir, name: ONCE_MONITOR_NAME, models: specs(o.models), start: { afterSeq: o.afterSeq }, sinks: [file], collectFindings: true });
    return { findings: (summary.found ?? []).map(demoFindingOf), summary };
  } finally {
    await file.close();
  }
}

export interface LiveMonitorOptions extends MonitorOnceOptions {
  /** Raw log files dropped here are ingested, then scored. */
  watchDir: string;
  onFinding?: (f: DemoFinding) => void;
  onError?: (message: string) => void;
  /** Catalog poll interval (default 1000 ms). */
  pollMs?: number;
}

/** A sink that hands each finding to a callback (the console feed of the demo). */
class CallbackSink implements Sink {
  readonly name = 'demo-console';
  constructor(private readonly fn: (f: DemoFinding) => void) {}
  async send(findings: readonly DetectionFinding[]): Promise<void> {
    for (const f of findings) this.fn(demoFindingOf(f));
  }
  async close(): Promise<void> {}
}

export interface LiveMonitor {
  handle: MonitorHandle;
  stop(): Promise<MonitorSummary>;
}

export async function startLiveMonitor(o: LiveMonitorOptions): Promise<LiveMonitor> {
  const file = new FileSink({ path: path.join(o.dataDir, FINDINGS_FILE) });
  const sinks: Sink[] = [file];
  if (o.onFinding) sinks.push(new CallbackSink(o.onFinding));
  const handle = await startMonitor({
    lakeDir: o.lakeDir,
    name: MONITOR_NAME,
    models: specs(o.models),
    start: { afterSeq: o.afterSeq },
    sinks,
    watchDir: o.watchDir,
    ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
    onEvent: (e) => {
      if (e.type === 'failed') o.onError?.(`${e.path}: ${e.reason}`);
      else if (e.type === 'ingest-error') o.onError?.(`ingest ${e.file}: ${e.reason}`);
      else if (e.type === 'ingested' && e.rejects > 0) o.onError?.(`ingest ${e.file}: ${e.rejects} records quarantined`);
    },
  });
  return {
    handle,
    stop: async () => {
      try {
        return await handle.stop('demo stopped');
      } finally {
        await file.close();
      }
    },
  };
}
