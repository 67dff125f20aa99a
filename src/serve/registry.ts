/**
 * The served models, by endpoint name, with hot reload.
 *
 * Each name holds one immutable `LoadedModel` snapshot. A request takes the snapshot once when it starts
 * and keeps using it, so a swap never changes the model under an in-flight request. Reloads happen when
 * the model file changes (fs.watch on its directory, debounced, which also sees a new file renamed into
 * place) or on demand (SIGHUP). A reload that fails keeps the old model and reports why.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import type { Calibration } from '../detectors/calibration.js';
import type { BatchScores, FeatureRecord, PairRecord, Prediction, RecordKind, WireFormat } from '../detectors/types.js';

/**
 * What the server needs from a model: every DetectorModel (any detector and record kind, loaded with loadModel)
 * satisfies it. Requests are parsed by the model's record kind and replies formatted with its detector's own wire
 * format, so each endpoint speaks its detector's requests and responses.
 */
export type ServableModel = ServablePairsModel | ServableFeaturesModel;

/** A model of the pairs kind (a detector whose `records` is 'pairs' or absent). */
export interface ServablePairsModel {
  readonly path: string;
  readonly detector: { readonly type: string; readonly records?: RecordKind; readonly wire: WireFormat; readonly score?: { readonly name: string } };
  /** The stored calibration: with per-entity thresholds, verbose `is_anomaly` uses the entity's (applyEntityThresholds). */
  readonly calibration?: Calibration | undefined;
  /** The endpoint's predictions; throws ParseError naming the 1-based record it cannot score. */
  predict(records: readonly PairRecord[], opts?: { verbose?: boolean; source?: string }): Prediction[];
  /** Native scores, NaN for a record it cannot score (used to find the first bad record of a malformed body). */
  scoreBatch(records: readonly PairRecord[]): BatchScores;
}

/** A model of the features kind (`records` is 'features'). */
export interface ServableFeaturesModel {
  readonly path: string;
  readonly detector: { readonly type: string; readonly records?: RecordKind; readonly wire: WireFormat };
  /** The endpoint's predictions; throws ParseError naming the 1-based record it cannot score. */
  predict(records: readonly FeatureRecord[], opts?: { verbose?: boolean; source?: string }): Prediction[];
}

export type ModelLoader<M extends ServableModel> = (file: string) => Promise<M>;

export interface ModelSpec {
  name: string;
  path: string;
}

/** One loaded model; never mutated after creation. */
export interface LoadedModel<M extends ServableModel = ServableModel> {
  readonly name: string;
  readonly path: string;
  readonly model: M;
  /** 1 for the model loaded at startup, +1 for every successful reload. */
  readonly generation: number;
  readonly loadedAt: Date;
  /** dev:ino:size:mtime of the file that was loaded, to skip no-op change events. */
  readonly fileId: string;
}

export type ReloadTrigger = 'watch' | 'signal' | 'api';

export type ReloadEvent =
  | { kind: 'reloaded'; name: string; path: string; generation: number; trigger: ReloadTrigger }
  | { kind: 'unchanged'; name: string; path: string; trigger: ReloadTrigger }
  | { kind: 'failed'; name: string; path: string; trigger: ReloadTrigger; error: string }
  | { kind: 'watch-error'; name: string; path: string; error: string };

export interface ModelRegistryOptions<M extends ServableModel> {
  loader: ModelLoader<M>;
  /** Watch model files and reload on change (default true). */
  watch?: boolean;
  /** Quiet period after the last change event before reloading (default 250 ms). */
  debounceMs?: number;
  onEvent?: (ev: ReloadEvent) => void;
}

/** Endpoint names follow the SageMaker pattern so any SDK can address them. */
export const ENDPOINT_NAME_RE = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;
export const ENDPOINT_NAME_MAX = 63;

export function isValidEndpointName(name: string): boolean {
  return name.length <= ENDPOINT_NAME_MAX && ENDPOINT_NAME_RE.test(name);
}

interface Slot<M extends ServableModel> {
  name: string;
  path: string;
  current: LoadedModel<M>;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  again: { force: boolean; trigger: ReloadTrigger } | undefined;
}

export class ModelRegistry<M extends ServableModel = ServableModel> {
  private readonly slots = new Map<string, Slot<M>>();
  private readonly order: string[] = [];
  private readonly watchers: FSWatcher[] = [];
  private readonly loader: ModelLoader<M>;
  private readonly debounceMs: number;
  private readonly listeners = new Set<(ev: ReloadEvent) => void>();
  private closed = false;

  private constructor(opts: ModelRegistryOptions<M>) {
    this.loader = opts.loader;
    this.debounceMs = opts.debounceMs ?? 250;
    if (opts.onEvent) this.listeners.add(opts.onEvent);
  }

  /** Adds a listener for reload events; returns a function that removes it. */
  on(listener: (ev: ReloadEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(ev: ReloadEvent): void {
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch {
        // A failing listener must not break reloading.
      }
    }
  }

  /** Loads every model (fails fast, naming the model and file) and starts watching. The first spec is the default. */
  static async create<M extends ServableModel>(specs: readonly ModelSpec[], opts: ModelRegistryOptions<M>): Promise<ModelRegistry<M>> {
    if (specs.length === 0) throw new Error('at least one model is required');
    const reg = new ModelRegistry<M>(opts);
    for (const spec of specs) {
      if (!isValidEndpointName(spec.name)) {
        throw new Error(`model name '${spec.name}' is not a valid endpoint name (1-63 of [a-zA-Z0-9-], no leading, trailing or double '-' runs allowed by ${ENDPOINT_NAME_RE.source})`);
      }
      if (reg.slots.has(spec.name)) throw new Error(`model name '${spec.name}' is given twice`);
      const file = path.resolve(spec.path);
      const [model, fileId] = await Promise.all([opts.loader(file), fileIdentity(file)]);
      const current: LoadedModel<M> = { name: spec.name, path: file, model, generation: 1, loadedAt: new Date(), fileId };
      reg.slots.set(spec.name, { name: spec.name, path: file, current, timer: undefined, running: undefined, again: undefined });
      reg.order.push(spec.name);
    }
    if (opts.watch ?? true) reg.startWatching();
    return reg;
  }

  /** The current snapshot for an endpoint name (undefined when not served). Take it once per request. */
  get(name: string): LoadedModel<M> | undefined {
    return this.slots.get(name)?.current;
  }

  get defaultName(): string {
    return this.order[0]!;
  }

  /** The default (first) model's current snapshot. */
  get default(): LoadedModel<M> {
    return this.slots.get(this.order[0]!)!.current;
  }

  names(): string[] {
    return [...this.order];
  }

  /**
   * Reloads one model. Without `force`, an unchanged file (same dev, inode, size and mtime) is skipped.
   * Concurrent calls are coalesced: at most one load runs per model, followed by at most one more.
   */
  reload(name: string, opts: { force?: boolean; trigger?: ReloadTrigger } = {}): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) return Promise.reject(new Error(`no model named '${name}'`));
    const force = opts.force ?? false;
    const trigger = opts.trigger ?? 'api';
    if (slot.running) {
      slot.again = { force: force || (slot.again?.force ?? false), trigger };
      return slot.running;
    }
    const run = async (f: boolean, t: ReloadTrigger): Promise<void> => {
      await this.loadInto(slot, f, t);
      while (slot.again && !this.closed) {
        const next = slot.again;
        slot.again = undefined;
        await this.loadInto(slot, next.force, next.trigger);
      }
    };
    slot.running = run(force, trigger).finally(() => {
      slot.running = undefined;
    });
    return slot.running;
  }

  /** Reloads every model (SIGHUP). */
  async reloadAll(opts: { force?: boolean; trigger?: ReloadTrigger } = {}): Promise<void> {
    await Promise.all(this.order.map((n) => this.reload(n, opts)));
  }

  /** Stops watching and cancels pending debounced reloads; loaded models stay usable. */
  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    for (const slot of this.slots.values()) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = undefined;
    }
  }

  private async loadInto(slot: Slot<M>, force: boolean, trigger: ReloadTrigger): Promise<void> {
    if (this.closed) return;
    let fileId: string;
    try {
      fileId = await fileIdentity(slot.path);
    } catch (err) {
      // Missing right now (e.g. between unlink and rename): a later change event retries.
      this.emit({ kind: 'failed', name: slot.name, path: slot.path, trigger, error: errorMessage(err) });
      return;
    }
    if (!force && fileId === slot.current.fileId) {
      this.emit({ kind: 'unchanged', name: slot.name, path: slot.path, trigger });
      return;
    }
    let model: M;
    try {
      model = await this.loader(slot.path);
    } catch (err) {
      this.emit({ kind: 'failed', name: slot.name, path: slot.path, trigger, error: errorMessage(err) });
      return;
    }
    if (this.closed) return;
    // The file may have changed again while it was loading; record what was there before loading so
    // that change is not mistaken for the loaded version.
    const generation = slot.current.generation + 1;
    slot.current = { name: slot.name, path: slot.path, model, generation, loadedAt: new Date(), fileId };
    this.emit({ kind: 'reloaded', name: slot.name, path: slot.path, generation, trigger });
  }

  private startWatching(): void {
    const byDir = new Map<string, Slot<M>[]>();
    for (const slot of this.slots.values()) {
      const dir = path.dirname(slot.path);
      const list = byDir.get(dir) ?? [];
      list.push(slot);
      byDir.set(dir, list);
    }
    for (const [dir, slots] of byDir) {
      let w: FSWatcher;
      try {
        w = watch(dir, { persistent: false }, (_event, filename) => {
          const changed = filename === null ? undefined : String(filename);
          for (const slot of slots) {
            if (changed === undefined || changed === path.basename(slot.path)) this.schedule(slot);
          }
        });
      } catch (err) {
        for (const slot of slots) this.emit({ kind: 'watch-error', name: slot.name, path: slot.path, error: errorMessage(err) });
        continue;
      }
      w.on('error', (err) => {
        for (const slot of slots) this.emit({ kind: 'watch-error', name: slot.name, path: slot.path, error: errorMessage(err) });
      });
      this.watchers.push(w);
    }
  }

  private schedule(slot: Slot<M>): void {
    if (this.closed) return;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      this.reload(slot.name, { trigger: 'watch' }).catch(() => {});
    }, this.debounceMs);
    slot.timer.unref();
  }
}

async function fileIdentity(file: string): Promise<string> {
  const s = await stat(file, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
}
