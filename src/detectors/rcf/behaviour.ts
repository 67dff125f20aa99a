/**
 * The platform's LakeBehaviour for an RCF model trained on the lake (params.features): its feature sets' stored
 * definitions computed per (entity, window) as the watermark closes windows (features/compute.ts, continuing from a
 * cursor), and a streaming copy of the model whose forest learns each window after scoring it. The stream's state is
 * the forest's (toState: trees, samplers, random streams), so a monitor that saves it and starts again from it gives
 * the same scores; the scaler stays the model's (fitted at training).
 */
import { ConfigError } from '../../core/errors.js';
import type { Duck } from '../../lake/duckdb.js';
import type { BehaviourCursor, BehaviourStream, BehaviourWindows, Explanation, FeatureRecord, LakeBehaviour } from '../types.js';
import { DEFAULT_HISTORY_MS, DEFAULT_LATE_HORIZON_MS, DEFAULT_LATENESS_MS, DEFAULT_MAX_FUTURE_MS, computeFeatureWindows } from './features/compute.js';
import type { FeatureScaler } from './features/scaler.js';
import type { FeatureCursor } from './features/types.js';
import { RandomCutForest } from './forest/forest.js';
import type { LakeFeatureParams } from './lake.js';

/** What the behaviour needs of a model: its stored feature params, scaler and forest, and a model over another forest. */
export interface BehaviourModel {
  readonly path: string;
  readonly dim: number;
  readonly forest: RandomCutForest;
  readonly scaler: FeatureScaler | undefined;
  readonly features: LakeFeatureParams;
  /** The same model (header, scaler, explanations) over another forest. */
  withForest(forest: RandomCutForest): { scoreBatch(records: readonly FeatureRecord[]): { native: Float64Array; known: Uint8Array }; explain(r: FeatureRecord, native: number): Explanation };
  /** Write the model over another forest, with its training cutoff at `closedThrough`. */
  saveWithForest(file: string, forest: RandomCutForest, closedThrough: number): void;
}

function cursorOf(c: BehaviourCursor | undefined, windowMs: number, file: string): FeatureCursor | undefined {
  if (c === undefined) return undefined;
  const x = c as Partial<FeatureCursor>;
  if (x.version !== 1 || x.windowMs !== windowMs || typeof x.closedThrough !== 'number' || typeof x.counts !== 'object' || x.counts === null) {
    throw new ConfigError(`the behaviour cursor is not one of ${file} (${windowMs} ms windows): start the monitor over with a new --name`, ['cursor']);
  }
  return x as FeatureCursor;
}

export function rcfBehaviour(m: BehaviourModel): LakeBehaviour {
  const p = m.features;
  const views = [...new Set(p.definition.flatMap((s) => s.source))];
  return {
    windowMs: p.window_ms,
    sets: p.sets,
    views,
    closedThrough: p.closed_through,
    latenessMs: p.lateness_ms ?? DEFAULT_LATENESS_MS,
    maxFutureMs: DEFAULT_MAX_FUTURE_MS,
    lookbackMs: Math.max(p.history_ms ?? DEFAULT_HISTORY_MS, DEFAULT_LATE_HORIZON_MS),
    async windows(db: Duck, opts = {}): Promise<BehaviourWindows> {
      const cursor = cursorOf(opts.cursor, p.window_ms, m.path || 'the model');
      const w = await computeFeatureWindows(db, {
        sets: p.definition,
        windowMs: p.window_ms,
        ...(p.lateness_ms !== undefined ? { latenessMs: p.lateness_ms } : {}),
        ...(p.history_ms !== undefined ? { historyMs: p.history_ms } : {}),
        ...(p.known_subnets?.length ? { knownSubnets: p.known_subnets } : {}),
        ...(cursor ? { cursor } : { start: opts.start ?? p.closed_through }),
        ...(cursor && opts.start !== undefined ? { start: opts.start } : {}),
        ...(opts.end !== undefined ? { end: opts.end } : {}),
        ...(opts.now !== undefined ? { now: opts.now } : {}),
        ...(opts.onMessage ? { onMessage: opts.onMessage } : {}),
      });
      const dim = w.featureNames.length;
      if (dim !== m.dim) throw new ConfigError(`${m.path || 'the model'}: its feature sets give ${dim} features now, the model has ${m.dim}`, ['features']);
      const records: FeatureRecord[] = w.entities.map((entity, i) => ({
        values: w.values.subarray(i * dim, (i + 1) * dim),
        entity,
        ...(w.groups[i] ? { group: w.groups[i]! } : {}),
        window_start: w.windowStart[i]!,
      }));
      return { records, from: w.from, closedThrough: w.closedThrough, watermark: w.watermark, late: w.late, messages: w.messages, cursor: w.cursor as unknown as BehaviourCursor };
    },
    stream(state?: Uint8Array): BehaviourStream {
      const forest = RandomCutForest.fromState(state ?? m.forest.toState());
      if (forest.inputDims !== m.dim) throw new ConfigError(`the saved forest has ${forest.inputDims} features, ${m.path || 'the model'} ${m.dim}: start the monitor over with a new --name`, ['state']);
      const live = m.withForest(forest);
      const row = new Float64Array(m.dim);
      return {
        score(r) {
          const s = live.scoreBatch([r]);
          return { native: s.native[0]!, known: s.known[0] === 1 };
        },
        explain: (r, native) => live.explain(r, native),
        update(r) {
          if (m.scaler) m.scaler.transformRow(r.values, r.entity, r.group, row);
          else for (let i = 0; i < m.dim; i++) row[i] = r.values[i]!;
          forest.update(row);
        },
        state: () => forest.toState(),
      };
    },
    saveLearnt(file: string, state: Uint8Array, closedThrough: number): void {
      const forest = RandomCutForest.fromState(state);
      if (forest.inputDims !== m.dim) throw new ConfigError(`the learnt forest has ${forest.inputDims} features, ${m.path || 'the model'} ${m.dim}`, ['state']);
      m.saveWithForest(file, forest, closedThrough);
    },
  };
}
