/**
 * Scoring large request bodies on worker threads, so batches use every core while the main thread keeps
 * doing HTTP. Small requests (single pairs) are never sent here: the hop would cost more than scoring.
 *
 * Models are shared, not copied: the registry's loader (`shareModel`) puts every weight array in a
 * SharedArrayBuffer, and each worker builds an IpInsightsModel over the same memory. A worker receives
 * a model generation before the first task that uses it (messages on one port are ordered), keeps it
 * while tasks use it, and drops it once a newer generation of that endpoint has replaced it and no task
 * holds it. A request therefore scores with the snapshot it started with, in whichever thread it runs.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../core/worker.js';
import { ParseError } from '../core/errors.js';
import { IpInsightsModel } from '../detectors/ipinsights/index.js';
import type { Weights } from '../detectors/ipinsights/model.js';
export { shareModel } from '../detectors/ipinsights/share.js';
import type { Offloader } from './app.js';
import type { AcceptChoice, RequestFormat } from './formats.js';
import type { LoadedModel } from './registry.js';

/** Requests with bodies at least this large are scored on a worker (≈ 500 CSV pairs). */
export const DEFAULT_OFFLOAD_MIN_BYTES = 16 * 1024;

/** Worker count for `--workers auto`: one per core, at least 1. */
export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism());
}

// ---- messages (main <-> worker) ----
export type ToWorker =
  | { t: 'model'; id: number; path: string; header: IpInsightsModel['header']; weights: Weights }
  | { t: 'drop'; id: number }
  | { t: 'score'; task: number; model: number; fmt: RequestFormat; text: string; accept: AcceptChoice; source: string };

export type FromWorker =
  | { t: 'done'; task: number; body: string; pairs: number }
  | { t: 'fail'; task: number; parse: boolean; message: string; file?: string; line?: number; field?: string };

interface Pending {
  resolve: (r: { body: string; pairs: number }) => void;
  reject: (err: Error) => void;
  model: number;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Model ids this worker has been sent. */
  models: Set<number>;
}

interface ModelEntry {
  id: number;
  name: string;
  generation: number;
  refs: number;
}

export class ScorePool implements Offloader<IpInsightsModel> {
  readonly threads: number;
  private readonly minBytes: number;
  private readonly slots: Slot[] = [];
  private readonly ids = new WeakMap<LoadedModel<IpInsightsModel>, ModelEntry>();
  private readonly live = new Map<number, ModelEntry>();
  private nextId = 1;
  private nextTask = 1;
  private closed = false;

  constructor(opts: { threads: number; minBodyBytes?: number }) {
    this.threads = Math.max(1, opts.threads);
    this.minBytes = opts.minBodyBytes ?? DEFAULT_OFFLOAD_MIN_BYTES;
    for (let i = 0; i < this.threads; i++) this.slots.push(this.spawn());
  }

  accepts(bodyBytes: number): boolean {
    return !this.closed && bodyBytes >= this.minBytes;
  }

  score(snap: LoadedModel<IpInsightsModel>, fmt: RequestFormat, text: string, accept: AcceptChoice, source: string): Promise<{ body: string; pairs: number }> {
    const entry = this.entryFor(snap);
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    if (!slot.models.has(entry.id)) {
      const m = snap.model;
      slot.worker.postMessage({ t: 'model', id: entry.id, path: m.path, header: m.header, weights: m.weights } satisfies ToWorker);
      slot.models.add(entry.id);
    }
    const task = this.nextTask++;
    entry.refs++;
    return new Promise((resolve, reject) => {
      slot.pending.set(task, { resolve, reject, model: entry.id });
      slot.worker.postMessage({ t: 'score', task, model: entry.id, fmt, text, accept, source } satisfies ToWorker);
    });
  }

  /** Terminates the workers; tasks still running are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private entryFor(snap: LoadedModel<IpInsightsModel>): ModelEntry {
    let e = this.ids.get(snap);
    if (!e) {
      e = { id: this.nextId++, name: snap.name, generation: snap.generation, refs: 0 };
      this.ids.set(snap, e);
      this.live.set(e.id, e);
      this.collect();
    }
    return e;
  }

  /** Drops, in every worker, model generations that a newer one replaced and that no task uses. */
  private collect(): void {
    const newest = new Map<string, number>();
    for (const e of this.live.values()) newest.set(e.name, Math.max(newest.get(e.name) ?? 0, e.generation));
    for (const e of [...this.live.values()]) {
      if (e.refs > 0 || e.generation >= newest.get(e.name)!) continue;
      this.live.delete(e.id);
      for (const s of this.slots) {
        if (s.models.delete(e.id)) s.worker.postMessage({ t: 'drop', id: e.id } satisfies ToWorker);
      }
    }
  }

  private spawn(): Slot {
    const worker = startModuleWorker(import.meta.url, 'score-worker');
    worker.unref();
    const slot: Slot = { worker, pending: new Map(), models: new Set() };
    worker.on('message', (msg: FromWorker) => {
      const p = slot.pending.get(msg.task);
      if (!p) return;
      slot.pending.delete(msg.task);
      this.release(p.model);
      if (msg.t === 'done') p.resolve({ body: msg.body, pairs: msg.pairs });
      else if (msg.parse) p.reject(new ParseError(msg.message, { file: msg.file ?? 'request', ...(msg.line !== undefined ? { line: msg.line } : {}), ...(msg.field !== undefined ? { field: msg.field } : {}) }));
      else p.reject(new Error(msg.message));
    });
    const fail = (err: Error): void => {
      for (const [task, p] of slot.pending) {
        slot.pending.delete(task);
        this.release(p.model);
        p.reject(new Error(`scoring worker failed: ${err.message}`));
      }
      if (this.closed) return;
      // Replace the worker; it has no models yet.
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`exited with code ${code}`));
    });
    return slot;
  }

  private release(id: number): void {
    const e = this.live.get(id);
    if (e && --e.refs === 0) this.collect();
  }
}

