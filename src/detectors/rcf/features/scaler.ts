/**
 * Per-entity scaling of feature windows. Entities differ by orders of magnitude (a web server's bytes per hour vs a
 * bastion's), so each feature is transformed (`log1p` for counts and volumes) and then robust-z-scored against the
 * entity's own history:
 *
 *   z = (t(x) - median_e) / max(1.4826 * MAD_e, floor)          compressed beyond |z| = k (the knee, `clip`):
 *   |z| > k  ->  sign(z) * (k + k * ln(1 + (|z| - k) / k))
 *
 * The compression is monotone (a larger deviation stays larger, so a 1000x upload still outranks an ordinary 30x
 * burst once both are past the knee) and slows the growth of extreme values (the forest's cuts go by range, and one
 * unbounded dimension would take them all). Models saved before it (no `tail` in the state) keep their hard clip
 * at +-k.
 *
 * Range scaling (`scaling: 'range'`, the default since scaler state version 2): the robust z-score above describes a
 * bell-shaped history, but an entity's history is often not one: a database backs up once a night (bytes out 0 in 23
 * hours of 24), a bastion is used in office hours only, a batch host exports all night and idles by day. Their
 * median and MAD say "0 bytes, never moves", so every backup looked like an exfiltration, and a batch host's wide MAD
 * hid an upload 30x larger than its busiest hour. So each entity also keeps the range of its history (the
 * `rangeQuantile` and 1 - `rangeQuantile` quantiles, default 1% / 99%: about its smallest and largest windows), and
 *
 *   inside the range:   z = inner * (t - median) / U       (U = max(hi - median, 2 * floor); likewise below)
 *   beyond it:          z = inner + (t - median - U) / s_out,     s_out = min(scale, 2 * floor)
 *
 * (inner = 0.5): whatever the entity has done before stays within +-0.5 (and a feature that never moved may still
 * move by two floors, a factor of 1.65 for counts and volumes), and a value beyond anything in its history counts in
 * steps of about the floor,
 * however wide the entity's ordinary spread is; below the range at `lowWeight` (0.5) of that pace: a quieter hour than
 * ever (a host idle at night, a late log delivery) is less often a threat than a busier one. Continuous and monotone;
 * state version 1 (median scaling) still loads.
 *
 * Sparse windows: a share or mean over a window's records (`support`: the count feature of the same set that says over
 * how many records, e.g. `nxdomain_share` over `queries`) is shrunk toward the entity's usual value as if `sharePrior`
 * (default 20) more records of the usual kind had been seen: (x n + a c) / (n + a). 3 NXDOMAIN of 14 queries in a quiet
 * hour is 21% raw, 10% shrunk (against a usual 2%); 600 of 950 in a DNS tunnel stays 62%.
 *
 * An entity with fewer than `minHistory` windows uses its group's statistics (all windows of the entities of its
 * subnet/role/account, `FeatureWindows.groups`), and a thin group the global ones. The floor keeps a feature that
 * never moves (MAD 0) from turning any change into an infinite score: per feature `scaleFloor`, else 0.25 in log
 * space (a factor of ~1.3), 0.02 for shares, else 5% of the global median's magnitude (at least 0.01).
 *
 * The scaler is plain data (medians, scales, counts) and saves to a versioned binary state for the model file;
 * `describe` gives the usual value of a feature for an entity, for explanations ("usually 40 MB").
 */
import { ConfigError, ModelFileError } from '../../../core/errors.js';
import type { FeatureInfo, FeatureTransform, FeatureWindows } from './types.js';

export interface ScalerOptions {
  /** Windows an entity (or group) needs for its own statistics (default 24: a day of hourly windows). */
  minHistory?: number;
  /** Knee of the tail compression (default 20): |z| up to it is kept, beyond it compressed (or cut with tail 'clip'). */
  clip?: number;
  /** 'soft' (default): logarithmic compression beyond the knee; 'clip': a hard cap at +-clip (models saved before). */
  tail?: ScalerTail;
  /** 'range' (default) or 'median' (robust z only, as scaler state version 1). */
  scaling?: ScalerMode;
  /** Range scaling: |z| of the edge of an entity's usual range (default 0.5: the forest's cuts go to what lies beyond it). */
  inner?: number;
  /** Range scaling: the range is the [q, 1-q] quantiles of the entity's history (default 0.01). */
  rangeQuantile?: number;
  /** Pseudo-records of the usual value added to a share or mean with a `support` feature (default 20; 0 = off). */
  sharePrior?: number;
  /** Range scaling: weight of a value below the range relative to one above it (default 0.5). */
  lowWeight?: number;
}

export type ScalerTail = 'soft' | 'clip';

/** 'range' (default): the entity's usual range maps to +-inner, beyond it steps of the floor; 'median': robust z only (state version 1). */
export type ScalerMode = 'range' | 'median';

/** Defaults of the range scaling and the sparse-window prior. */
export const RANGE_INNER = 0.5;
export const RANGE_QUANTILE = 0.01;
export const SHARE_PRIOR = 20;
export const LOW_WEIGHT = 0.5;

/** A scaled value's tail: kept up to the knee k, beyond it compressed (soft) or capped (clip). Monotone. */
export function compressTail(z: number, k: number, tail: ScalerTail): number {
  if (z <= k && z >= -k) return z;
  if (tail === 'clip') return z > 0 ? k : -k;
  const a = Math.abs(z);
  const c = k + k * Math.log1p((a - k) / k);
  return z > 0 ? c : -c;
}

/** Which statistics scaled a value. */
export type ScaleLevel = 'entity' | 'group' | 'global';

/** The usual value of a feature for an entity, for explanations. */
export interface FeatureUsual {
  feature: string;
  unit: string;
  level: ScaleLevel;
  /** The entity or group whose history it is ('' for global). */
  key: string;
  /** Windows behind the statistics. */
  windows: number;
  /** Median raw value (the transform is monotone, so the median of the transformed values maps back to it). */
  usual: number;
  /** Raw values one scale below and above the median: the usual range. */
  low: number;
  high: number;
  /** Median and scale in transformed units. */
  center: number;
  scale: number;
  /** Range scaling: the smallest and largest usual raw values (the range quantiles of the history). */
  min?: number;
  max?: number;
}

const STATE_MAGIC = 0x53464353; // "SCFS" (little-endian bytes S C F S)
const STATE_VERSION = 2;

function forward(t: FeatureTransform, x: number): number {
  return t === 'log1p' ? Math.log1p(Math.max(0, x)) : x;
}

function inverse(t: FeatureTransform, y: number): number {
  return t === 'log1p' ? Math.max(0, Math.expm1(y)) : y;
}

/** Median of v[0..n) (sorts it). */
function median(v: Float64Array, n: number): number {
  const a = v.subarray(0, n).sort();
  if (n === 0) return Number.NaN;
  const h = n >> 1;
  return n % 2 === 1 ? a[h]! : (a[h - 1]! + a[h]!) / 2;
}

/** Statistics of one key (entity or group): n windows, center and scale per feature; range scaling: lo and hi. */
interface Stats {
  n: number;
  center: Float64Array;
  scale: Float64Array;
  /** The usual range (transformed units); empty with median scaling. */
  lo: Float64Array;
  hi: Float64Array;
}

const EMPTY = new Float64Array(0);

/** Type-7 quantile of sorted a[0..n). */
function quantileSorted(a: Float64Array, n: number, q: number): number {
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const i = Math.floor(h);
  return i + 1 < n ? a[i]! + (h - i) * (a[i + 1]! - a[i]!) : a[n - 1]!;
}

/** Scaling settings of a fitted scaler. */
interface Mapping {
  mode: ScalerMode;
  inner: number;
  rangeQuantile: number;
  prior: number;
  lowWeight: number;
}

export class FeatureScaler {
  private readonly entityIndex: Map<string, number>;
  private readonly groupIndex: Map<string, number>;

  private constructor(
    readonly features: readonly FeatureInfo[],
    readonly minHistory: number,
    readonly clip: number,
    /** Per feature, the smallest scale used. */
    readonly floors: Float64Array,
    private readonly entityNames: string[],
    private readonly entityStats: Stats[],
    /** Each entity's group ('' none). */
    private readonly entityGroup: string[],
    private readonly groupNames: string[],
    private readonly groupStats: Stats[],
    private readonly global: Stats,
    readonly tail: ScalerTail = 'soft',
    private readonly mapping: Mapping = { mode: 'median', inner: RANGE_INNER, rangeQuantile: RANGE_QUANTILE, prior: 0, lowWeight: 1 },
  ) {
    this.entityIndex = new Map(entityNames.map((e, i) => [e, i]));
    this.groupIndex = new Map(groupNames.map((g, i) => [g, i]));
    this.support = supportIndex(features);
  }

  /** Per feature, the index of its support feature (-1 none). */
  private readonly support: Int32Array;

  /** 'range' or 'median' (see the file's comment). */
  get scaling(): ScalerMode {
    return this.mapping.mode;
  }

  /** The pseudo-records of the sparse-window prior (0 = off). */
  get sharePrior(): number {
    return this.mapping.prior;
  }

  get dim(): number {
    return this.features.length;
  }

  /** Entities with statistics of their own or a recorded group. */
  get entityCount(): number {
    return this.entityNames.length;
  }

  /** Fit on windows (the training history). */
  static fit(w: FeatureWindows, opts: ScalerOptions = {}): FeatureScaler {
    const minHistory = opts.minHistory ?? 24;
    const clip = opts.clip ?? 20;
    if (!Number.isInteger(minHistory) || minHistory < 1) throw new ConfigError(`minHistory must be an integer >= 1, got ${minHistory}`, ['minHistory']);
    if (!(clip > 0)) throw new ConfigError(`clip must be > 0, got ${clip}`, ['clip']);
    const tail = opts.tail ?? 'soft';
    const mapping: Mapping = {
      mode: opts.scaling ?? 'range',
      inner: opts.inner ?? RANGE_INNER,
      rangeQuantile: opts.rangeQuantile ?? RANGE_QUANTILE,
      prior: opts.sharePrior ?? SHARE_PRIOR,
      lowWeight: opts.lowWeight ?? LOW_WEIGHT,
    };
    if (!(mapping.lowWeight > 0 && mapping.lowWeight <= 1)) throw new ConfigError(`lowWeight must be in (0, 1], got ${mapping.lowWeight}`, ['lowWeight']);
    if (!(mapping.inner > 0)) throw new ConfigError(`inner must be > 0, got ${mapping.inner}`, ['inner']);
    if (!(mapping.rangeQuantile >= 0 && mapping.rangeQuantile < 0.5)) throw new ConfigError(`rangeQuantile must be in [0, 0.5), got ${mapping.rangeQuantile}`, ['rangeQuantile']);
    if (!(mapping.prior >= 0) || !Number.isFinite(mapping.prior)) throw new ConfigError(`sharePrior must be a finite number >= 0, got ${mapping.prior}`, ['sharePrior']);
    const dim = w.features.length;
    const n = w.entities.length;
    if (w.values.length !== n * dim) throw new ConfigError(`feature windows: ${w.values.length} values for ${n} rows of ${dim} features`);
    const t = transformed(w);
    const support = supportIndex(w.features);

    // Rows per entity and per group; an entity's group is its most frequent one.
    const rowsOf = new Map<string, number[]>();
    for (let i = 0; i < n; i++) {
      const e = w.entities[i]!;
      let l = rowsOf.get(e);
      if (!l) rowsOf.set(e, (l = []));
      l.push(i);
    }
    const entityNames = [...rowsOf.keys()].sort();
    const entityGroup = entityNames.map((e) => {
      const c = new Map<string, number>();
      for (const i of rowsOf.get(e)!) {
        const g = w.groups[i] ?? '';
        if (g !== '') c.set(g, (c.get(g) ?? 0) + 1);
      }
      let best = '';
      let bestN = 0;
      for (const [g, k] of [...c].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
        if (k > bestN) {
          best = g;
          bestN = k;
        }
      }
      return best;
    });
    const groupRows = new Map<string, number[]>();
    entityNames.forEach((e, k) => {
      const g = entityGroup[k]!;
      if (g === '') return;
      let l = groupRows.get(g);
      if (!l) groupRows.set(g, (l = []));
      for (const i of rowsOf.get(e)!) l.push(i);
    });

    const scratch = new Float64Array(Math.max(1, n));
    const smooth = new Float64Array(Math.max(1, n));
    const range = mapping.mode === 'range';
    const statsOf = (rows: readonly number[], floors: Float64Array | undefined): Stats => {
      const center = new Float64Array(dim);
      const scale = new Float64Array(dim);
      const lo = range ? new Float64Array(dim) : EMPTY;
      const hi = range ? new Float64Array(dim) : EMPTY;
      const k = rows.length;
      for (let d = 0; d < dim; d++) {
        for (let r = 0; r < k; r++) smooth[r] = t[rows[r]! * dim + d]!;
        const sup = support[d]!;
        if (sup >= 0 && mapping.prior > 0 && k > 0) {
          // Shrink each window's share toward the key's median, by the window's support (see the file's comment).
          scratch.set(smooth.subarray(0, k));
          const m0 = median(scratch, k);
          for (let r = 0; r < k; r++) smooth[r] = shrink(smooth[r]!, w.values[rows[r]! * dim + sup]!, m0, mapping.prior);
        }
        scratch.set(smooth.subarray(0, k));
        const m = median(scratch, k); // sorts scratch[0..k)
        if (range) {
          lo[d] = k ? quantileSorted(scratch, k, mapping.rangeQuantile) : 0;
          hi[d] = k ? quantileSorted(scratch, k, 1 - mapping.rangeQuantile) : 0;
        }
        for (let r = 0; r < k; r++) scratch[r] = Math.abs(smooth[r]! - m);
        const mad = median(scratch, k);
        center[d] = k ? m : 0;
        const s = k ? 1.4826 * mad : 0;
        scale[d] = floors ? Math.max(s, floors[d]!) : s;
      }
      return { n: k, center, scale, lo, hi };
    };
    const all = Array.from({ length: n }, (_, i) => i);
    const rawGlobal = statsOf(all, undefined);
    const floors = new Float64Array(dim);
    w.features.forEach((f, d) => {
      floors[d] = f.scaleFloor ?? (f.transform === 'log1p' ? 0.25 : f.unit === 'share' ? 0.02 : Math.max(0.01, 0.05 * Math.abs(rawGlobal.center[d]!)));
    });
    const global = statsOf(all, floors);
    // Statistics only where there is enough history; thinner entities and groups fall back at transform time.
    const entityStats = entityNames.map((e) => {
      const rows = rowsOf.get(e)!;
      return rows.length >= minHistory ? statsOf(rows, floors) : { n: rows.length, center: EMPTY, scale: EMPTY, lo: EMPTY, hi: EMPTY };
    });
    const groupNames = [...groupRows.keys()].filter((g) => groupRows.get(g)!.length >= minHistory).sort();
    const groupStats = groupNames.map((g) => statsOf(groupRows.get(g)!, floors));
    return new FeatureScaler(w.features.slice(), minHistory, clip, floors, entityNames, entityStats, entityGroup, groupNames, groupStats, global, tail, mapping);
  }

  /** The statistics used for an entity (with the row's group when the entity is unknown or thin). */
  private statsFor(entity: string | undefined, group: string | undefined): { level: ScaleLevel; key: string; stats: Stats } {
    const e = entity === undefined ? undefined : this.entityIndex.get(entity);
    if (e !== undefined && this.entityStats[e]!.n >= this.minHistory && this.entityStats[e]!.center.length > 0) {
      return { level: 'entity', key: entity!, stats: this.entityStats[e]! };
    }
    const g = (e !== undefined && this.entityGroup[e]) || group || '';
    const gi = g === '' ? undefined : this.groupIndex.get(g);
    if (gi !== undefined) return { level: 'group', key: g, stats: this.groupStats[gi]! };
    return { level: 'global', key: '', stats: this.global };
  }

  /** Which statistics scale an entity's values (entity, its group, or global). */
  levelOf(entity: string | undefined, group?: string): { level: ScaleLevel; key: string; windows: number } {
    const s = this.statsFor(entity, group);
    return { level: s.level, key: s.key, windows: s.stats.n };
  }

  /** Scale one row of raw values (dim entries) into `out`. */
  transformRow(values: ArrayLike<number>, entity?: string, group?: string, out: Float64Array = new Float64Array(this.dim)): Float64Array {
    if (values.length !== this.dim) throw new ConfigError(`expected ${this.dim} feature values, got ${values.length}`, ['features']);
    const { stats } = this.statsFor(entity, group);
    const clip = this.clip;
    const tail = this.tail;
    const prior = this.mapping.prior;
    const range = stats.lo.length > 0;
    for (let d = 0; d < this.dim; d++) {
      let x = forward(this.features[d]!.transform, values[d]!);
      const sup = this.support[d]!;
      if (sup >= 0 && prior > 0) x = shrink(x, values[sup]!, stats.center[d]!, prior);
      const z = range ? this.rangeZ(d, x, stats) : (x - stats.center[d]!) / stats.scale[d]!;
      out[d] = Number.isNaN(z) ? 0 : z > clip || z < -clip ? compressTail(z, clip, tail) : z;
    }
    return out;
  }

  /** Range scaling of one transformed value (see the file's comment). */
  private rangeZ(d: number, x: number, stats: Stats): number {
    const c = stats.center[d]!;
    const s = stats.scale[d]!;
    const inner = this.mapping.inner;
    const out = Math.min(s, 2 * this.floors[d]!);
    const dz = x - c;
    if (dz >= 0) {
      const u = Math.max(stats.hi[d]! - c, 2 * this.floors[d]!);
      return dz <= u ? (inner * dz) / u : inner + (dz - u) / out;
    }
    const l = Math.max(c - stats.lo[d]!, 2 * this.floors[d]!);
    return -dz <= l ? (inner * dz) / l : -inner - (this.mapping.lowWeight * (-dz - l)) / out;
  }

  /** The inverse of rangeZ (or of the robust z): the transformed value a scaled value stands for. */
  private unscale(d: number, z: number, stats: Stats): number {
    const c = stats.center[d]!;
    const s = stats.scale[d]!;
    if (stats.lo.length === 0) return c + z * s;
    const inner = this.mapping.inner;
    const out = Math.min(s, 2 * this.floors[d]!);
    if (z >= 0) {
      const u = Math.max(stats.hi[d]! - c, 2 * this.floors[d]!);
      return z <= inner ? c + (z * u) / inner : c + u + (z - inner) * out;
    }
    const l = Math.max(c - stats.lo[d]!, 2 * this.floors[d]!);
    return -z <= inner ? c + (z * l) / inner : c - l - ((-z - inner) * out) / this.mapping.lowWeight;
  }

  /** Scale windows: n * dim scaled values, row-major. */
  transform(w: Pick<FeatureWindows, 'entities' | 'groups' | 'values' | 'featureNames'>): Float64Array {
    const dim = this.dim;
    if (w.featureNames.length !== dim || w.featureNames.some((f, d) => f !== this.features[d]!.name)) {
      throw new ConfigError(`the windows' features (${w.featureNames.join(', ')}) are not the scaler's (${this.features.map((f) => f.name).join(', ')})`, ['features']);
    }
    const n = w.entities.length;
    const out = new Float64Array(n * dim);
    for (let i = 0; i < n; i++) this.transformRow(w.values.subarray(i * dim, (i + 1) * dim), w.entities[i], w.groups[i], out.subarray(i * dim, (i + 1) * dim));
    return out;
  }

  /** Inverse of transformRow for one feature: the raw value a scaled value stands for. */
  rawValue(featureIndex: number, z: number, entity?: string, group?: string): number {
    const { stats } = this.statsFor(entity, group);
    const f = this.features[featureIndex]!;
    return inverse(f.transform, this.unscale(featureIndex, z, stats));
  }

  /** The usual value of a feature for an entity: what its history (or its group's, or everyone's) says. */
  describe(entity: string | undefined, featureIndex: number, group?: string): FeatureUsual {
    const f = this.features[featureIndex];
    if (!f) throw new ConfigError(`no feature ${featureIndex} (the scaler has ${this.dim})`, ['features']);
    const { level, key, stats } = this.statsFor(entity, group);
    const c = stats.center[featureIndex]!;
    const s = stats.scale[featureIndex]!;
    return {
      feature: f.name,
      unit: f.unit,
      level,
      key,
      windows: stats.n,
      usual: inverse(f.transform, c),
      low: inverse(f.transform, c - s),
      high: inverse(f.transform, c + s),
      center: c,
      scale: s,
      ...(stats.lo.length > 0 ? { min: inverse(f.transform, stats.lo[featureIndex]!), max: inverse(f.transform, stats.hi[featureIndex]!) } : {}),
    };
  }

  /** Versioned binary state: magic, version, JSON header length, JSON header, then the float64 statistics. */
  toState(): Uint8Array {
    const header = JSON.stringify({
      features: this.features,
      minHistory: this.minHistory,
      clip: this.clip,
      tail: this.tail,
      scaling: this.mapping.mode,
      inner: this.mapping.inner,
      rangeQuantile: this.mapping.rangeQuantile,
      sharePrior: this.mapping.prior,
      lowWeight: this.mapping.lowWeight,
      entities: this.entityNames,
      entityWindows: this.entityStats.map((s) => s.n),
      entityHasStats: this.entityStats.map((s) => s.center.length > 0),
      entityGroup: this.entityGroup,
      groups: this.groupNames,
      groupWindows: this.groupStats.map((s) => s.n),
      globalWindows: this.global.n,
    });
    const hb = new TextEncoder().encode(header);
    const blocks: Float64Array[] = [this.floors];
    const push = (s: Stats): void => {
      blocks.push(s.center, s.scale);
      if (this.mapping.mode === 'range') blocks.push(s.lo, s.hi);
    };
    push(this.global);
    for (const s of this.entityStats) if (s.center.length) push(s);
    for (const s of this.groupStats) push(s);
    const pad = (8 - ((12 + hb.length) % 8)) % 8;
    const floats = blocks.reduce((a, b) => a + b.length, 0);
    const out = new Uint8Array(12 + hb.length + pad + floats * 8);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, STATE_MAGIC, true);
    dv.setUint32(4, STATE_VERSION, true);
    dv.setUint32(8, hb.length, true);
    out.set(hb, 12);
    let off = 12 + hb.length + pad;
    for (const b of blocks) {
      for (let i = 0; i < b.length; i++, off += 8) dv.setFloat64(off, b[i]!, true);
    }
    return out;
  }

  static fromState(bytes: Uint8Array, what = 'feature scaler state'): FeatureScaler {
    const fail = (msg: string): never => {
      throw new ModelFileError(what, msg);
    };
    if (bytes.length < 12) fail(`truncated (${bytes.length} bytes)`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint32(0, true) !== STATE_MAGIC) fail('not a feature scaler state (bad magic)');
    const version = dv.getUint32(4, true);
    if (version !== 1 && version !== STATE_VERSION) fail(`feature scaler state version ${version} is not supported (this seclake reads 1 and ${STATE_VERSION})`);
    const hlen = dv.getUint32(8, true);
    if (12 + hlen > bytes.length) fail('truncated header');
    let h: {
      features: FeatureInfo[];
      minHistory: number;
      clip: number;
      tail?: ScalerTail;
      scaling?: ScalerMode;
      inner?: number;
      rangeQuantile?: number;
      sharePrior?: number;
      lowWeight?: number;
      entities: string[];
      entityWindows: number[];
      entityHasStats: boolean[];
      entityGroup: string[];
      groups: string[];
      groupWindows: number[];
      globalWindows: number;
    };
    try {
      h = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + hlen))) as typeof h;
    } catch {
      return fail('header is not JSON');
    }
    const dim = h.features.length;
    let off = 12 + hlen + ((8 - ((12 + hlen) % 8)) % 8);
    const take = (): Float64Array => {
      if (off + dim * 8 > bytes.length) fail('truncated statistics');
      const a = new Float64Array(dim);
      for (let i = 0; i < dim; i++, off += 8) a[i] = dv.getFloat64(off, true);
      return a;
    };
    // Version 1 (and a version 2 written with median scaling): median scaling, no prior.
    const mapping: Mapping =
      version === 1
        ? { mode: 'median', inner: RANGE_INNER, rangeQuantile: RANGE_QUANTILE, prior: 0, lowWeight: 1 }
        : { mode: h.scaling ?? 'median', inner: h.inner ?? RANGE_INNER, rangeQuantile: h.rangeQuantile ?? RANGE_QUANTILE, prior: h.sharePrior ?? 0, lowWeight: h.lowWeight ?? 1 };
    if (mapping.mode !== 'range' && mapping.mode !== 'median') fail(`unknown scaling '${String(mapping.mode)}' (range or median)`);
    if (!(mapping.inner > 0) || !(mapping.prior >= 0) || !(mapping.lowWeight > 0 && mapping.lowWeight <= 1)) {
      fail(`bad range settings (inner ${mapping.inner}, sharePrior ${mapping.prior}, lowWeight ${mapping.lowWeight})`);
    }
    const floors = take();
    const stats = (n: number): Stats => {
      const center = take();
      const scale = take();
      return mapping.mode === 'range' ? { n, center, scale, lo: take(), hi: take() } : { n, center, scale, lo: EMPTY, hi: EMPTY };
    };
    const global: Stats = stats(h.globalWindows);
    const entityStats: Stats[] = h.entities.map((_, i) =>
      h.entityHasStats[i] ? stats(h.entityWindows[i]!) : { n: h.entityWindows[i]!, center: EMPTY, scale: EMPTY, lo: EMPTY, hi: EMPTY },
    );
    const groupStats: Stats[] = h.groups.map((_, i) => stats(h.groupWindows[i]!));
    if (off !== bytes.length) fail(`${bytes.length - off} unexpected trailing bytes`);
    if (h.tail !== undefined && h.tail !== 'soft' && h.tail !== 'clip') fail(`unknown tail '${String(h.tail)}' (soft or clip)`);
    for (const f of h.features) {
      if (f.support !== undefined && !h.features.some((g) => g.set === f.set && g.feature === f.support)) fail(`feature ${f.name}: support '${f.support}' is not a feature of set ${f.set}`);
    }
    return new FeatureScaler(h.features, h.minHistory, h.clip, floors, h.entities, entityStats, h.entityGroup, h.groups, groupStats, global, h.tail ?? 'clip', mapping);
  }
}

/** A share or mean x over n records, shrunk toward the usual value c as if `prior` records of value c were added. */
function shrink(x: number, n: number, c: number, prior: number): number {
  const k = n > 0 && Number.isFinite(n) ? n : 0;
  if (k === 0 || Number.isNaN(x)) return c;
  return (x * k + prior * c) / (k + prior);
}

/** Per feature, the index of its `support` feature (same set), -1 when it has none. */
function supportIndex(features: readonly FeatureInfo[]): Int32Array {
  const out = new Int32Array(features.length).fill(-1);
  features.forEach((f, d) => {
    if (f.support === undefined) return;
    const j = features.findIndex((g) => g.set === f.set && g.feature === f.support);
    if (j < 0) throw new ConfigError(`feature ${f.name}: support '${f.support}' is not a feature of set ${f.set}`, ['features']);
    out[d] = j;
  });
  return out;
}

/** Transformed copy of the windows' values (log1p where the feature says so). */
function transformed(w: FeatureWindows): Float64Array {
  const dim = w.features.length;
  const out = new Float64Array(w.values.length);
  const log = w.features.map((f) => f.transform === 'log1p');
  for (let i = 0; i < w.values.length; i += dim) {
    for (let d = 0; d < dim; d++) {
      const x = w.values[i + d]!;
      out[i + d] = log[d] ? Math.log1p(x > 0 ? x : 0) : x;
    }
  }
  return out;
}
