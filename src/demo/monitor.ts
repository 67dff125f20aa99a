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
import { incidentLine } from '../findings/incidents.js';
import { monitorDir, monitorOnce, startMonitor, type MonitorHandle, type MonitorModelSpec, type MonitorSummary } from '../monitor/embedded.js';
import { FileSink } from '../sinks/index.js';

export const MONITOR_NAME = 'demo';
/** `--once` scores the attack period from scratch every time, under its own checkpoint name. */
export const ONCE_MONITOR_NAME = 'demo-once';
export const FINDINGS_FILE = 'findings.jsonl';

export interface DemoModel {
  name: string;
  path: string;
  /** Monitor pair preset (`flow-peer`, `user-login`); none for a behaviour model (it reads the lake's windows). */
  pairs?: string;
  /** Detector type of the model (default `ipinsights`), for the per-detector evaluation. */
  detector?: string;
  /** Label views the model reads (its record recall counts those records only; default all). */
  views?: string[];
}

/** What the demo reads from a finding. */
export interface DemoFinding {
  uid: string;
  /** Model name (`finding_info.analytic.name`). */
  model: string;
  /** Detector type (`unmapped.detector`: ipinsights, history, rcf, ...). */
  detector: string;
  kind: string;
  entity: string;
  /** The address of a pair finding; '' for a behaviour (window) finding. */
  ip: string;
  /** Event time of a pair finding, or the start of a window finding's window; epoch ms. */
  time: number;
  /** End of a window finding's window (exclusive), epoch ms; absent for a pair finding. */
  end?: number;
  scope: 'pair' | 'window';
  severity: string;
  score: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);

/**
 * The time window a behaviour finding describes, wherever its detector put it: `unmapped.window_start`/`window_end`
 * (or `window_ms`), `unmapped.window.{start,end}`, the evidence's `data.window_start`/`window_end`, OCSF's
 * `start_time`/`end_time`. Undefined for a finding that names no window.
 */
export function findingWindow(f: DetectionFinding): { start: number; end: number } | undefined {
  const u = isObj(f.unmapped) ? f.unmapped : {};
  const ev = Array.isArray(f.evidences) && isObj(f.evidences[0]) && isObj((f.evidences[0] as Record<string, unknown>).data) ? ((f.evidences[0] as Record<string, unknown>).data as Record<string, unknown>) : {};
  const w = isObj(u.window) ? u.window : {};
  const start = num(u.window_start) ?? num(w.start) ?? num(w.start_ms) ?? num(ev.window_start) ?? num(f.start_time);
  if (start === undefined) return undefined;
  const len = num(u.window_ms) ?? num(w.ms) ?? num(ev.window_ms);
  const end = num(u.window_end) ?? num(w.end) ?? num(w.end_ms) ?? num(ev.window_end) ?? (len !== undefined ? start + len : undefined) ?? num(f.end_time);
  return { start, end: end !== undefined && end > start ? end : start };
}

export function demoFindingOf(f: DetectionFinding): DemoFinding {
  const u = isObj(f.unmapped) ? f.unmapped : {};
  const m = isObj(u.model) ? u.model : {};
  const model = typeof m.name === 'string' ? m.name : String((f.finding_info.analytic as { name?: string } | undefined)?.name ?? '');
  const detector = typeof u.detector === 'string' ? u.detector : typeof m.detector === 'string' ? m.detector : '';
  const ip = typeof u.ip === 'string' ? u.ip : '';
  const firstSeen = num((f.finding_info as Record<string, unknown>).first_seen_time);
  const lastSeen = num((f.finding_info as Record<string, unknown>).last_seen_time);
  // A finding with an address is about the pair (entity, ip) at its event time; one without is about the entity's
  // behaviour over a time range: its window, else first..last seen.
  const scope: 'pair' | 'window' = ip !== '' ? 'pair' : 'window';
  const win = scope === 'window' ? findingWindow(f) : undefined;
  const time = win?.start ?? (scope === 'window' && firstSeen !== undefined ? firstSeen : Number(f.time));
  const end = win?.end ?? (scope === 'window' ? Math.max(time, lastSeen ?? time) : undefined);
  return {
    uid: f.finding_info.uid,
    model,
    detector,
    kind: typeof u.kind === 'string' ? u.kind : 'anomaly',
    entity: String(u.entity ?? ''),
    ip,
    time,
    ...(end !== undefined ? { end } : {}),
    scope,
    severity: SEVERITY_NAMES[Number(f.severity_id)] ?? String(f.severity_id),
    score: Number(u.native_score ?? u.dot_product),
  };
}

function specs(models: readonly DemoModel[]): MonitorModelSpec[] {
  return models.map((m) => ({ model: m.path, name: m.name, ...(m.pairs !== undefined ? { pairs: m.pairs } : {}) }));
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
  /** An incident raised, or made more severe or joined by another detector (the alerts a team would get). */
  onIncident?: (line: string) => void;
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
      if (e.type === 'incident' && e.notify) o.onIncident?.(incidentLine(e.incident));
      else if (e.type === 'failed') o.onError?.(`${e.path}: ${e.reason}`);
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
