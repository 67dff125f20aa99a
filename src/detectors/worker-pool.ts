/**
 * One pool of worker threads that run tasks against models of any detector: serve scores large request bodies on it,
 * the monitor scores pair batches on it.
 *
 * Models are shared, not copied per worker: a model's container goes into a SharedArrayBuffer once
 * (`shareModelData(model.data)`, free when it already is one, see sharedModel) and each worker rebuilds the model over
 * that memory with `modelFromData`. A worker receives a model before the first task that uses it (messages on one
 * port are ordered) and keeps it until the caller `forget()`s the model and no task uses it any more.
 *
 * A task is run by a task module the caller names by URL (taskModuleUrl): the worker `import()`s it once and calls
 * its `run(model, payload)` (see TaskModule). The pool itself knows nothing of serve or the monitor, so it sits in
 * detectors/ and both use it.
 *
 * Failure: a task that throws rejects with the same error class where it can (ParseError keeps file, line and
 * field; SyntaxError, TypeError, RangeError stay what they are). A worker that dies fails its in-flight tasks with a
 * WorkerFailedError (the caller retries or carries on inline) and, with `respawn`, is replaced. A worker that does
 * not start within `startTimeoutMs` (30 s) is dropped and not replaced. When no worker is left, `size` is 0 and
 * run() rejects with WorkerFailedError; callers then score inline.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { ParseError, errorMessage } from '../core/errors.js';
import { startModuleWorker } from '../core/worker.js';
import { modelFromData } from './index.js';
import { shareModelData, type ModelHeader } from './model-file.js';
import type { AnyDetectorModel } from './types.js';

/** What a task module exports. `run` may return a value or a promise; the result must be structured-cloneable. */
export interface TaskModule<P = unknown, R = unknown> {
  run(model: AnyDetectorModel, payload: P): R | Promise<R>;
}

/** How long a worker may take to start (load its code) before it is dropped. */
export const WORKER_START_MS = 30_000;

/** A task failed because its worker died, never started, or none is left; the caller may retry or go inline. */
export class WorkerFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkerFailedError';
  }
}

/** Worker count for "auto": one per core, at least 1. */
export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism());
}

/**
 * The URL of a task module next to the caller: `<name>.ts` when the caller runs from TypeScript sources (tsx, which
 * the worker registers before it imports anything), `<name>.js` from compiled code. Use `import.meta.url`.
 */
export function taskModuleUrl(callerUrl: string, name: string): string {
  return new URL(`./${name}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl).href;
}

/**
 * The model over a shared copy of its container (the same model when its data already is shared). A caller that
 * keeps models for the pool (serve's registry) loads them through this, so the data is in memory once for every
 * thread instead of once for the main thread plus once shared.
 */
export function sharedModel<M extends AnyDetectorModel>(model: M): M {
  const md = model.data;
  if (md.data instanceof SharedArrayBuffer) return model;
  return modelFromData(shareModelData(md)) as M;
}

// ---- messages (main <-> worker) ----

/** An error as it crosses the thread boundary. */
export interface WireError {
  name: string;
  message: string;
  /** For a ParseError: its context, with `message` the bare message (without "file:line field f: "). */
  parse?: { file: string; line?: number; field?: string };
}

export type ToPoolWorker =
  | { t: 'model'; id: number; file: string; header: ModelHeader; data: SharedArrayBuffer }
  | { t: 'drop'; id: number }
  | { t: 'task'; task: number; model: number; url: string; payload: unknown }
  /** Load the task module and build the model now, so the first real task does not wait for them. */
  | { t: 'prepare'; task: number; model: number; url: string };

export type FromPoolWorker =
  | { t: 'ready' }
  | { t: 'done'; task: number; result: unknown }
  | { t: 'fail'; task: number; error: WireError };

export function toWireError(err: unknown): WireError {
  if (err instanceof ParseError) {
    const where = `${err.file}${err.line !== undefined ? `:${err.line}` : ''}${err.field ? ` field ${err.field}` : ''}: `;
    const bare = err.message.startsWith(where) ? err.message.slice(where.length) : err.message;
    return { name: 'ParseError', message: bare, parse: { file: err.file, ...(err.line !== undefined ? { line: err.line } : {}), ...(err.field !== undefined ? { field: err.field } : {}) } };
  }
  return { name: err instanceof Error ? err.name : 'Error', message: errorMessage(err) };
}

const ERROR_CLASSES: Record<string, new (message: string) => Error> = { SyntaxError, TypeError, RangeError };

export function fromWireError(e: WireError): Error {
  if (e.parse) return new ParseError(e.message, e.parse);
  const Ctor = ERROR_CLASSES[e.name];
  if (Ctor) return new Ctor(e.message);
  const err = new Error(e.message);
  if (e.name && e.name !== 'Error') err.name = e.name;
  return err;
}

// ---- the pool ----

export interface WorkerPoolOptions {
  /** Worker threads (at least 1). */
  threads: number;
  /** Replace a worker that dies after it has started (default true). One that never starts is not replaced. */
  respawn?: boolean;
  /** How long a worker may take to start before it is dropped (default 30 s). */
  startTimeoutMs?: number;
  /** Told when a worker is lost (died, or did not start in time), e.g. to log it. */
  onWorkerLost?: (err: Error, replaced: boolean) => void;
}

interface Pending {
  resolve: (r: unknown) => void;
  reject: (err: Error) => void;
  /** Model entry the task holds, released when it ends. */
  model: ModelEntry;
}

interface Slot {
  worker: Worker;
  started: boolean;
  lost: boolean;
  /** Resolves once the worker has started or is lost. */
  settled: Promise<void>;
  settle: () => void;
  timer: NodeJS.Timeout | undefined;
  pending: Map<number, Pending>;
  /** Model ids this worker has been sent. */
  models: Set<number>;
}

interface ModelEntry {
  id: number;
  model: AnyDetectorModel;
  header: ModelHeader;
  file: string;
  data: SharedArrayBuffer;
  /** Tasks in flight that use it. */
  refs: number;
  /** The caller no longer needs it: dropped from the workers once refs is 0. */
  retired: boolean;
}

export class WorkerPool {
  /** Resolves once every worker started at construction has started or been dropped; never rejects. */
  readonly ready: Promise<void>;
  private readonly slots: Slot[] = [];
  private readonly entries = new WeakMap<AnyDetectorModel, ModelEntry>();
  /** Models the caller has forgotten: sent again for a late task (a request that took the snapshot before a reload), then dropped after it. */
  private readonly forgotten = new WeakSet<AnyDetectorModel>();
  private readonly respawn: boolean;
  private readonly startTimeoutMs: number;
  private readonly onWorkerLost: ((err: Error, replaced: boolean) => void) | undefined;
  private nextModel = 1;
  private nextTask = 1;
  private closed = false;

  constructor(opts: WorkerPoolOptions) {
    this.respawn = opts.respawn ?? true;
    this.startTimeoutMs = opts.startTimeoutMs ?? WORKER_START_MS;
    this.onWorkerLost = opts.onWorkerLost;
    const starting: Promise<void>[] = [];
    for (let i = 0; i < Math.max(1, opts.threads); i++) starting.push(this.spawn().settled);
    this.ready = Promise.all(starting).then(() => {});
  }

  /** Workers alive (started or starting). 0 once every worker is gone (or the pool is closed): score inline. */
  get size(): number {
    return this.closed ? 0 : this.slots.length;
  }

  /**
   * Runs `payload` through the task module at `taskUrl` (see taskModuleUrl) against `model` on the least busy
   * worker. Rejects with the task's error, or WorkerFailedError when the worker died or none is left.
   */
  run<R = unknown>(model: AnyDetectorModel, taskUrl: string, payload: unknown): Promise<R> {
    if (this.closed) return Promise.reject(new WorkerFailedError('the worker pool is closed'));
    const slot = this.pick();
    if (!slot) return Promise.reject(new WorkerFailedError('no scoring worker is left'));
    return this.post(slot, model, (task, id) => ({ t: 'task', task, model: id, url: taskUrl, payload })) as Promise<R>;
  }

  /**
   * Sends `model` to every worker and has it load the task module, so the first task starts at once. Resolves when
   * every worker has done so or is gone; never rejects.
   */
  async prepare(model: AnyDetectorModel, taskUrl: string): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled(this.slots.map((slot) => this.post(slot, model, (task, id) => ({ t: 'prepare', task, model: id, url: taskUrl }))));
  }

  /**
   * The caller will not run tasks on `model` any more (e.g. a reload replaced it): the workers drop it once the
   * tasks using it are done. Running a task on it later still works: it is sent again and dropped after that task.
   */
  forget(model: AnyDetectorModel): void {
    this.forgotten.add(model);
    const e = this.entries.get(model);
    if (!e) return;
    e.retired = true;
    if (e.refs === 0) this.drop(e);
  }

  /** Terminates the workers; tasks still running are rejected with WorkerFailedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const slots = [...this.slots];
    for (const s of slots) if (s.timer) clearTimeout(s.timer);
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => 0)));
    for (const s of slots) this.lose(s, new Error('the worker pool was closed'));
  }

  private pick(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (!best || s.pending.size < best.pending.size || (!best.started && s.started && s.pending.size === best.pending.size)) best = s;
    }
    return best;
  }

  private post(slot: Slot, model: AnyDetectorModel, message: (task: number, model: number) => ToPoolWorker): Promise<unknown> {
    let entry: ModelEntry;
    try {
      entry = this.entryFor(model);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(errorMessage(err)));
    }
    if (!slot.models.has(entry.id)) {
      slot.worker.postMessage({ t: 'model', id: entry.id, file: entry.file, header: entry.header, data: entry.data } satisfies ToPoolWorker);
      slot.models.add(entry.id);
    }
    const task = this.nextTask++;
    entry.refs++;
    return new Promise((resolve, reject) => {
      slot.pending.set(task, { resolve, reject, model: entry });
      slot.worker.postMessage(message(task, entry.id));
    });
  }

  private entryFor(model: AnyDetectorModel): ModelEntry {
    let e = this.entries.get(model);
    if (!e) {
      const md = shareModelData(model.data);
      e = { id: this.nextModel++, model, header: md.header, file: md.file, data: md.data as SharedArrayBuffer, refs: 0, retired: this.forgotten.has(model) };
      this.entries.set(model, e);
    }
    return e;
  }

  private release(e: ModelEntry): void {
    e.refs--;
    if (e.refs === 0 && e.retired) this.drop(e);
  }

  private drop(e: ModelEntry): void {
    if (this.entries.get(e.model) === e) this.entries.delete(e.model);
    for (const s of this.slots) {
      if (s.models.delete(e.id)) s.worker.postMessage({ t: 'drop', id: e.id } satisfies ToPoolWorker);
    }
  }

  private spawn(): Slot {
    const worker = startModuleWorker(import.meta.url, 'pool-worker');
    worker.unref();
    let settle: () => void = () => {};
    const settled = new Promise<void>((r) => (settle = r));
    const slot: Slot = { worker, started: false, lost: false, settled, settle, timer: undefined, pending: new Map(), models: new Set() };
    this.slots.push(slot);
    // A worker that never comes up must not hold its caller: drop it (its tasks fail and are retried or run inline).
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (slot.started || slot.lost) return;
      this.lose(slot, new Error(`it did not start within ${Math.round(this.startTimeoutMs / 100) / 10} s`));
      void worker.terminate().catch(() => 0);
    }, this.startTimeoutMs);
    slot.timer.unref();
    worker.on('message', (msg: FromPoolWorker) => {
      if (msg.t === 'ready') {
        slot.started = true;
        if (slot.timer) clearTimeout(slot.timer);
        slot.timer = undefined;
        slot.settle();
        return;
      }
      const p = slot.pending.get(msg.task);
      if (!p) return;
      slot.pending.delete(msg.task);
      this.release(p.model);
      if (msg.t === 'done') p.resolve(msg.result);
      else p.reject(fromWireError(msg.error));
    });
    worker.on('error', (err) => this.lose(slot, err instanceof Error ? err : new Error(errorMessage(err))));
    worker.on('exit', (code) => this.lose(slot, new Error(`it exited with code ${code}`)));
    return slot;
  }

  /** A worker is gone: fail its tasks, and replace it if it had started and the pool wants that. */
  private lose(slot: Slot, err: Error): void {
    if (slot.lost) return;
    slot.lost = true;
    slot.settle();
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    for (const [task, p] of slot.pending) {
      slot.pending.delete(task);
      this.release(p.model);
      p.reject(new WorkerFailedError(`scoring worker failed: ${err.message}`, { cause: err }));
    }
    if (this.closed) return;
    const replace = this.respawn && slot.started;
    this.onWorkerLost?.(err, replace);
    if (replace) this.spawn();
  }
}
