/**
 * Training data for the RCF detector from a lake: the behaviour feature windows of the chosen sets (features/), each
 * entity's history fitted into the per-entity scaler, and what the monitor needs to compute the same features later
 * (the sets' definitions, the window, where training stopped) stored with the model.
 */
import { TrainingError } from '../../core/errors.js';
import { openLakeQuery } from '../../lake/views.js';
import { computeFeatureWindows } from './features/compute.js';
import { loadFeatureConfig, parseDuration, resolveFeatureSets, type FeatureConfig } from './features/config.js';
import { FeatureScaler } from './features/scaler.js';
import type { ComputeResult, FeatureSet } from './features/types.js';
import type { RcfTrainingData } from './train.js';

/** What a model trained from the lake stores about its features (params.features). */
export interface LakeFeatureParams {
  sets: string[];
  window_ms: number;
  /** The sets' definitions (SQL and features) at training time: the monitor computes exactly these. */
  definition: FeatureSet[];
  lateness_ms?: number;
  history_ms?: number;
  known_subnets?: string[];
  /** Windows starting before this (epoch ms) were in the training data. */
  closed_through: number;
}

export interface LakeFeaturesOptions {
  /** Feature set names (default: the config's `use`, else every built-in set). */
  sets?: readonly string[];
  /** Window length, e.g. `1h` (default: the config's, else 1 h). */
  window?: string;
  /** A feature config file (user-defined sets, window, lateness, known subnets). */
  configFile?: string;
  /** Training cutoff (epoch ms): only windows ending at or before it are training data (rounded down to a window
   * boundary); the model's `closed_through` is then at most this, so calibration and the monitor continue from it. */
  until?: number;
  /** Only windows starting at or after this (epoch ms; default the lake's first); history features still look back before it. */
  since?: number;
  /** Current time for the watermark (tests). */
  now?: number;
  log?: (line: string) => void;
}

export interface LakeFeatures {
  data: RcfTrainingData;
  windows: ComputeResult;
  entities: number;
  windowText: string;
}

/** Compute the training windows of a lake and fit the scaler. TrainingError when no window is complete yet. */
export async function loadLakeFeatures(lakeDir: string, opts: LakeFeaturesOptions = {}): Promise<LakeFeatures> {
  const config: FeatureConfig | undefined = opts.configFile ? loadFeatureConfig(opts.configFile) : undefined;
  const sets = resolveFeatureSets(opts.sets, config);
  const windowMs = opts.window !== undefined ? parseDuration(opts.window, 'window') : config?.windowMs;
  // The feature sets declare their columns and read absent ones as NULL: the views need not carry the table schema.
  const db = await openLakeQuery(lakeDir, { schema: 'objects' });
  let w: ComputeResult;
  try {
    w = await computeFeatureWindows(db, {
      sets,
      ...(windowMs !== undefined ? { windowMs } : {}),
      ...(config?.latenessMs !== undefined ? { latenessMs: config.latenessMs } : {}),
      ...(config?.historyMs !== undefined ? { historyMs: config.historyMs } : {}),
      ...(config?.knownSubnets.length ? { knownSubnets: config.knownSubnets } : {}),
      ...(opts.since !== undefined ? { start: opts.since } : {}),
      ...(opts.until !== undefined ? { end: opts.until } : {}),
      ...(opts.now !== undefined ? { now: opts.now } : {}),
      ...(opts.log ? { onMessage: opts.log } : {}),
    });
  } finally {
    db.close();
  }
  const used = sets.filter((s) => !w.skipped.some((k) => k.set === s.name));
  if (used.length > 0 && used.length < sets.length) w = withoutSkipped(w, used);
  const n = w.entities.length;
  if (n === 0 || used.length === 0) {
    throw new TrainingError(
      `no complete feature windows in the lake ${lakeDir} (${sets.map((s) => s.name).join(', ')}: ${w.skipped.map((k) => `${k.set}: ${k.reason}`).join('; ') || 'no records before the watermark'})`,
    );
  }
  const scaler = FeatureScaler.fit(w);
  let start = Infinity;
  let end = -Infinity;
  for (let i = 0; i < n; i++) {
    start = Math.min(start, w.windowStart[i]!);
    end = Math.max(end, w.windowStart[i]! + w.windowMs);
  }
  const features: LakeFeatureParams = {
    sets: used.map((s) => s.name),
    window_ms: w.windowMs,
    definition: used,
    ...(config?.latenessMs !== undefined ? { lateness_ms: config.latenessMs } : {}),
    ...(config?.historyMs !== undefined ? { history_ms: config.historyMs } : {}),
    ...(config?.knownSubnets.length ? { known_subnets: config.knownSubnets } : {}),
    closed_through: w.closedThrough,
  };
  const data: RcfTrainingData = {
    matrix: { rows: w.values, n, dim: w.featureNames.length, names: w.featureNames, source: `lake:${lakeDir}` },
    entities: w.entities,
    groups: w.groups,
    scaler,
    features,
    timeRange: { start, end },
  };
  return { data, windows: w, entities: new Set(w.entities).size, windowText: durationText(w.windowMs) };
}

/** 3600000 -> "1h", 900000 -> "15m". */
export function durationText(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/**
 * The windows without the features of sets that read no rows: a constant feature never gets a cut, so it would only
 * cost memory, and the monitor would compute a set the model cannot use. (Sets whose source appears later need a
 * new model: `seclake train` again.)
 */
function withoutSkipped(w: ComputeResult, used: readonly FeatureSet[]): ComputeResult {
  const keep = new Set(used.map((s) => s.name));
  const cols: number[] = [];
  w.features.forEach((f, j) => {
    if (keep.has(f.set)) cols.push(j);
  });
  const dim = w.featureNames.length;
  const n = w.entities.length;
  const values = new Float64Array(n * cols.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < cols.length; k++) values[i * cols.length + k] = w.values[i * dim + cols[k]!]!;
  return { ...w, values, featureNames: cols.map((j) => w.featureNames[j]!), features: cols.map((j) => w.features[j]!) };
}
