/**
 * Training the history detector: from a PairData, per entity its distinct training addresses (sorted, IPv4 as
 * IPv4-mapped IPv6 before IPv6) with running row counts, capped per entity, plus the same for the population (all
 * entities together) that entities never seen are scored against; then the model file (../model-file.ts).
 *
 * Sort-based, O(n log n): a native sort of the fingerprints, one binary search per row, a counting sort of the rows
 * by entity, a native Uint32Array sort of each entity's IPv4 addresses and of all IPv4 addresses for the
 * population; IPv6 addresses (usually few) are sorted by index with a 52-bit key before the full 128-bit compare.
 */
import { performance } from 'node:perf_hooks';
import { TrainingError } from '../../core/errors.js';
import { modelHeaderFor, writeModelFile, type BaseTrainingMetadata, type ModelHeader as ContainerHeader, type RecordDefinitionRef, type Section } from '../model-file.js';
import { knownEntities, type PairData } from '../pairs/data.js';
import { parseHyperparameters, type HyperparameterInput, type Hyperparameters } from './config.js';
import { lcp32, MAPPED } from './store.js';
import { seclakeVersion } from '../../core/version.js';
import { findFingerprint } from '../pairs/hash.js';

export const HISTORY_TYPE = 'history';
export const HISTORY_VERSION = 1;

/** The model's arrays (the sections of its file, see README.md). */
export interface HistoryArrays {
  /** Sorted fingerprints of the training entities (m). */
  fp: Float64Array;
  /** Training rows per entity. */
  rows: Uint32Array;
  /** Distinct training addresses per entity (before the cap). */
  distinct: Uint32Array;
  /** m + 1 offsets (in addresses) of each entity's range in addr/cum. */
  offset: Uint32Array;
  /** Stored IPv4 addresses per entity (the first ones of its range). */
  v4: Uint32Array;
  /** Four words per stored address; cum: running row count within the entity. */
  addr: Uint32Array;
  cum: Uint32Array;
  /** All entities' addresses together, for entities never seen in training. */
  population: { addr: Uint32Array; cum: Uint32Array };
}

/** Scalars of the population, in the header's params (a type alias: the container wants an index signature). */
export type HistoryParams = {
  population: {
    /** Stored addresses; the first `v4` are IPv4. */
    stored: number;
    v4: number;
    /** Distinct training addresses (before the cap). */
    distinct: number;
    rows: number;
  };
};

export interface HistoryTrainingMetadata extends BaseTrainingMetadata {
  bad_rows: number;
  ipv6_rows: number;
  /** Distinct (entity, address) pairs in the training data. */
  distinct_pairs: number;
  /** (entity, address) pairs stored after the per-entity cap. */
  stored_addresses: number;
  /** Entities with more distinct addresses than max_addresses_per_entity. */
  capped_entities: number;
  population_distinct: number;
  population_stored: number;
  /** Bytes of the model's data region. */
  model_bytes: number;
}

export type HistoryHeader = ContainerHeader<Hyperparameters, HistoryParams, HistoryTrainingMetadata>;

export interface HistoryTrainOptions {
  train: PairData;
  hyperparameters?: HyperparameterInput;
  modelPath?: string;
  recordDefinition?: RecordDefinitionRef;
  source?: string;
  onProgress?: (done: number, total: number) => void;
  log?: (line: string) => void;
}

export interface HistoryTrainResult {
  header: HistoryHeader;
  arrays: HistoryArrays;
  hyperparameters: Hyperparameters;
  seconds: number;
}


/** Growable output of owners' stored addresses and running counts. */
class StoreWriter {
  addr: Uint32Array;
  cum: Uint32Array;
  length = 0;
  constructor(cap: number) {
    this.addr = new Uint32Array(Math.max(1, cap) * 4);
    this.cum = new Uint32Array(Math.max(1, cap));
  }
  private grow(need: number): void {
    if (need <= this.cum.length) return;
    let n = this.cum.length * 2;
    while (n < need) n *= 2;
    const a = new Uint32Array(n * 4);
    a.set(this.addr);
    const c = new Uint32Array(n);
    c.set(this.cum);
    this.addr = a;
    this.cum = c;
  }
  push4(v: number, cum: number): void {
    this.grow(this.length + 1);
    const o = this.length * 4;
    this.addr[o] = 0;
    this.addr[o + 1] = 0;
    this.addr[o + 2] = MAPPED;
    this.addr[o + 3] = v;
    this.cum[this.length++] = cum;
  }
  push6(w: Uint32Array, i: number, cum: number): void {
    this.grow(this.length + 1);
    const o = this.length * 4;
    this.addr[o] = w[i * 4]!;
    this.addr[o + 1] = w[i * 4 + 1]!;
    this.addr[o + 2] = w[i * 4 + 2]!;
    this.addr[o + 3] = w[i * 4 + 3]!;
    this.cum[this.length++] = cum;
  }
  finish(): { addr: Uint32Array; cum: Uint32Array } {
    return { addr: this.addr.slice(0, this.length * 4), cum: this.cum.slice(0, this.length) };
  }
}

/** Sorted distinct IPv4 values with counts, in place: s (sorted) -> s[0..d), counts[0..d). Returns d. */
function unique4(s: Uint32Array, n: number, counts: Uint32Array): number {
  let d = 0;
  for (let i = 0; i < n; i++) {
    if (d > 0 && s[i] === s[d - 1]) counts[d - 1]!++;
    else {
      s[d] = s[i]!;
      counts[d++] = 1;
    }
  }
  return d;
}

function cmpAt(w: Uint32Array, x: number, y: number): number {
  for (let j = 0; j < 4; j++) {
    const a = w[x * 4 + j]!;
    const b = w[y * 4 + j]!;
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}

/**
 * Sort n IPv6 addresses (4 words each in `w`) and write the distinct ones to `out` (4 words each) with counts.
 * Returns the number of distinct addresses.
 */
function sortUnique6(w: Uint32Array, n: number, out: Uint32Array, counts: Uint32Array): number {
  const key = new Float64Array(n);
  for (let i = 0; i < n; i++) key[i] = w[i * 4]! * 1048576 + (w[i * 4 + 1]! >>> 12);
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((x, y) => key[x]! - key[y]! || cmpAt(w, x, y));
  let d = 0;
  for (let t = 0; t < n; t++) {
    const i = idx[t]!;
    if (d > 0 && cmpAt(w, i, idx[t - 1]!) === 0) {
      counts[d - 1]!++;
      continue;
    }
    out.set(w.subarray(i * 4, i * 4 + 4), d * 4);
    counts[d++] = 1;
  }
  return d;
}

/** The low `bits` bits of i in reverse order. */
function reverseBits(i: number, bits: number): number {
  let r = 0;
  for (let b = 0; b < bits; b++) r = (r << 1) | ((i >>> b) & 1);
  return r >>> 0;
}

/** Longest common prefix of two IPv6 addresses stored 4 words each. */
function lcp6(w: Uint32Array, x: number, y: number): number {
  let len = 0;
  for (let j = 0; j < 4; j++) {
    const l = lcp32(w[x * 4 + j]!, w[y * 4 + j]!);
    len += l;
    if (l < 32) break;
  }
  return len;
}

/**
 * Write one owner's distinct addresses (IPv4 values v4[0..d4) and IPv6 words v6[0..d6) with their counts, both
 * sorted) to the store, keeping at most `cap`: the most used (ties: spread evenly over the sorted order), always
 * including the most used address of each family present when cap allows. A dropped address's rows are credited to
 * the kept address of its family sharing the longest prefix with it (one of its two kept neighbours in sorted order:
 * no tie is possible between them). So every row stays counted, and the rows credited under a prefix holding a kept
 * address are at least the true rows under it (a dropped address under the prefix always has a kept neighbour under
 * it); they can be more, when a dropped address outside the prefix has its nearest kept address inside. Returns the
 * stored IPv4 count and total.
 */
function writeOwner(
  out: StoreWriter,
  v4: Uint32Array,
  c4: Uint32Array,
  d4: number,
  v6: Uint32Array,
  c6: Uint32Array,
  d6: number,
  cap: number,
): { v4: number; stored: number } {
  const d = d4 + d6;
  let cum = 0;
  if (d <= cap) {
    for (let i = 0; i < d4; i++) out.push4(v4[i]!, (cum += c4[i]!));
    for (let i = 0; i < d6; i++) out.push6(v6, i, (cum += c6[i]!));
    return { v4: d4, stored: d };
  }
  const count = (i: number): number => (i < d4 ? c4[i]! : c6[i - d4]!);
  const keep = new Uint8Array(d);
  let kept = 0;
  const families = (d4 > 0 ? 1 : 0) + (d6 > 0 ? 1 : 0);
  if (cap >= families) {
    for (const [lo, hi] of [[0, d4], [d4, d]] as const) {
      if (lo === hi) continue;
      let best = lo;
      for (let i = lo + 1; i < hi; i++) if (count(i) > count(best)) best = i;
      keep[best] = 1;
      kept++;
    }
  }
  // Ties in count are broken in bit-reversed order of position (0, 1/2, 1/4, 3/4, ...), so equally used addresses
  // are kept evenly spread over the entity's sorted range rather than from its low end.
  const bits = Math.max(1, 32 - Math.clz32(d - 1));
  const spread = new Uint32Array(d);
  for (let i = 0; i < d; i++) spread[i] = reverseBits(i, bits);
  const order = new Uint32Array(d);
  for (let i = 0; i < d; i++) order[i] = i;
  order.sort((x, y) => count(y) - count(x) || spread[x]! - spread[y]!);
  for (let t = 0; t < d && kept < cap; t++) {
    const i = order[t]!;
    if (!keep[i]) {
      keep[i] = 1;
      kept++;
    }
  }
  // Fold each dropped address's count into its kept neighbour with the longer common prefix (same family).
  const merged = new Float64Array(d);
  for (let i = 0; i < d; i++) merged[i] = keep[i] ? count(i) : 0;
  for (const [lo, hi, fam] of [[0, d4, 4], [d4, d, 6]] as const) {
    let prev = -1;
    const prevKept = new Int32Array(hi - lo);
    for (let i = lo; i < hi; i++) {
      if (keep[i]) prev = i;
      prevKept[i - lo] = prev;
    }
    let next = -1;
    for (let i = hi - 1; i >= lo; i--) {
      if (keep[i]) {
        next = i;
        continue;
      }
      const p = prevKept[i - lo]!;
      if (p < 0 && next < 0) continue; // no kept address of this family: its rows are not stored
      let to: number;
      if (p < 0) to = next;
      else if (next < 0) to = p;
      else if (fam === 4) to = lcp32(v4[p]!, v4[i]!) >= lcp32(v4[next]!, v4[i]!) ? p : next;
      else to = lcp6(v6, p - d4, i - d4) >= lcp6(v6, next - d4, i - d4) ? p : next;
      merged[to]! += count(i);
    }
  }
  let storedV4 = 0;
  for (let i = 0; i < d; i++) {
    if (!keep[i]) continue;
    cum += merged[i]!;
    if (i < d4) {
      out.push4(v4[i]!, cum);
      storedV4++;
    } else out.push6(v6, i - d4, cum);
  }
  return { v4: storedV4, stored: kept };
}

/** Build the model's arrays from training pairs (no I/O). */
export function buildHistory(data: PairData, hp: Hyperparameters): { arrays: HistoryArrays; params: HistoryParams; stats: { distinctPairs: number; cappedEntities: number; ipv6Rows: number } } {
  const n = data.n;
  const known = knownEntities(data.fp.subarray(0, n));
  const fps = known.fp;
  const m = fps.length;
  const cap = hp.max_addresses_per_entity;

  // Entity index per row, then a counting sort of the rows by entity.
  const ent = new Uint32Array(n);
  const start = new Uint32Array(m + 1);
  let ipv6Rows = 0;
  for (let i = 0; i < n; i++) {
    const e = findFingerprint(fps, data.fp[i]!);
    ent[i] = e;
    start[e + 1]!++;
    if (data.fam[i] === 6) ipv6Rows++;
  }
  for (let e = 0; e < m; e++) start[e + 1]! += start[e]!;
  const order = new Uint32Array(n);
  const fill = start.slice(0, m);
  for (let i = 0; i < n; i++) order[fill[ent[i]!]!++] = i;

  const out = new StoreWriter(Math.min(n, m * cap) + 1);
  const offset = new Uint32Array(m + 1);
  const v4Stored = new Uint32Array(m);
  const distinct = new Uint32Array(m);
  let v4 = new Uint32Array(1024);
  let c4 = new Uint32Array(1024);
  let distinctPairs = 0;
  let cappedEntities = 0;
  for (let e = 0; e < m; e++) {
    const a = start[e]!;
    const b = start[e + 1]!;
    if (v4.length < b - a) {
      v4 = new Uint32Array(b - a);
      c4 = new Uint32Array(b - a);
    }
    let n4 = 0;
    let n6 = 0;
    for (let k = a; k < b; k++) {
      const row = order[k]!;
      if (data.fam[row] === 4) v4[n4++] = data.addr[row]!;
      else n6++;
    }
    v4.subarray(0, n4).sort();
    const d4 = unique4(v4, n4, c4);
    let d6 = 0;
    let w6 = EMPTY;
    let c6 = EMPTY;
    if (n6 > 0) {
      const raw = new Uint32Array(n6 * 4);
      let j = 0;
      for (let k = a; k < b; k++) {
        const row = order[k]!;
        if (data.fam[row] !== 6) continue;
        const o = data.addr[row]! * 4;
        raw.set(data.v6.subarray(o, o + 4), j * 4);
        j++;
      }
      w6 = new Uint32Array(n6 * 4);
      c6 = new Uint32Array(n6);
      d6 = sortUnique6(raw, n6, w6, c6);
    }
    offset[e] = out.length;
    distinct[e] = d4 + d6;
    distinctPairs += d4 + d6;
    if (d4 + d6 > cap) cappedEntities++;
    v4Stored[e] = writeOwner(out, v4, c4, d4, w6, c6, d6, cap).v4;
  }
  offset[m] = out.length;
  const entityStore = out.finish();

  // The population: every row's address, all entities together.
  let n4 = 0;
  for (let i = 0; i < n; i++) if (data.fam[i] === 4) n4++;
  const all4 = new Uint32Array(n4);
  for (let i = 0, j = 0; i < n; i++) if (data.fam[i] === 4) all4[j++] = data.addr[i]!;
  all4.sort();
  const pc4 = new Uint32Array(n4);
  const pd4 = unique4(all4, n4, pc4);
  const pw6 = new Uint32Array(data.v6Rows * 4);
  const pc6 = new Uint32Array(data.v6Rows);
  const pd6 = data.v6Rows > 0 ? sortUnique6(data.v6.subarray(0, data.v6Rows * 4), data.v6Rows, pw6, pc6) : 0;
  const popOut = new StoreWriter(Math.min(pd4 + pd6, hp.max_population_addresses) + 1);
  const pop = writeOwner(popOut, all4, pc4, pd4, pw6, pc6, pd6, hp.max_population_addresses);
  const population = popOut.finish();

  return {
    arrays: { fp: fps, rows: known.count, distinct, offset, v4: v4Stored, addr: entityStore.addr, cum: entityStore.cum, population },
    params: { population: { stored: pop.stored, v4: pop.v4, distinct: pd4 + pd6, rows: n } },
    stats: { distinctPairs, cappedEntities, ipv6Rows },
  };
}

const EMPTY = new Uint32Array(0);

/** The model file's sections, in file order. */
export function historySections(a: HistoryArrays): Section[] {
  const m = a.fp.length;
  const s = a.cum.length;
  const p = a.population.cum.length;
  return [
    { name: 'entity.fingerprint', dtype: 'float64', shape: [m], data: a.fp },
    { name: 'entity.rows', dtype: 'uint32', shape: [m], data: a.rows },
    { name: 'entity.distinct', dtype: 'uint32', shape: [m], data: a.distinct },
    { name: 'entity.offset', dtype: 'uint32', shape: [m + 1], data: a.offset },
    { name: 'entity.v4', dtype: 'uint32', shape: [m], data: a.v4 },
    { name: 'entity.addr', dtype: 'uint32', shape: [s, 4], data: a.addr },
    { name: 'entity.cum', dtype: 'uint32', shape: [s], data: a.cum },
    { name: 'population.addr', dtype: 'uint32', shape: [p, 4], data: a.population.addr },
    { name: 'population.cum', dtype: 'uint32', shape: [p], data: a.population.cum },
  ];
}

/** Train: build the arrays and write the model file (or only compute its header, without modelPath). */
export function trainHistory(opts: HistoryTrainOptions): HistoryTrainResult {
  const hp = parseHyperparameters(opts.hyperparameters ?? {});
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const data = opts.train;
  if (data.n === 0) {
    const ex = data.bad.examples.map((e) => `${e.source}:${e.line}: ${e.message}`).join('; ');
    throw new TrainingError(`no valid training rows${data.bad.total > 0 ? ` (${data.bad.total} malformed; first: ${ex})` : ''}`);
  }
  const t0 = performance.now();
  opts.onProgress?.(0, data.n);
  const { arrays, params, stats } = buildHistory(data, hp);
  const sections = historySections(arrays);
  const modelBytes = sections.reduce((s, x) => s + Math.ceil(x.data.byteLength / 64) * 64, 0);
  const seconds = (performance.now() - t0) / 1000;
  const training: HistoryTrainingMetadata = {
    rows: data.n,
    bad_rows: data.bad.total,
    distinct_entities: arrays.fp.length,
    ipv6_rows: stats.ipv6Rows,
    distinct_pairs: stats.distinctPairs,
    stored_addresses: arrays.cum.length,
    capped_entities: stats.cappedEntities,
    population_distinct: params.population.distinct,
    population_stored: params.population.stored,
    model_bytes: modelBytes,
    data_time_range:
      data.timeMin !== undefined && data.timeMax !== undefined ? { start: new Date(data.timeMin).toISOString(), end: new Date(data.timeMax).toISOString() } : null,
    source: opts.source ?? data.sources.join(','),
    trained_at: new Date().toISOString(),
    training_seconds: seconds,
    seclake_version: seclakeVersion(),
  };
  const input = {
    detector: { type: HISTORY_TYPE, version: HISTORY_VERSION },
    record_definition: opts.recordDefinition ?? null,
    hyperparameters: hp,
    params,
    training,
    calibration: null,
    extras: {},
  };
  const header = opts.modelPath ? writeModelFile(opts.modelPath, input, sections) : modelHeaderFor(input, sections);
  opts.onProgress?.(data.n, data.n);
  log(
    `#history: ${data.n} rows, ${arrays.fp.length} entities, ${stats.distinctPairs} distinct (entity, address) pairs, ` +
      `${arrays.cum.length} stored (${stats.cappedEntities} entities capped at ${hp.max_addresses_per_entity}), population ${params.population.stored}/${params.population.distinct} addresses, ` +
      `${(modelBytes / 1048576).toFixed(1)} MiB, ${seconds.toFixed(2)} s`,
  );
  return { header, arrays, hyperparameters: hp, seconds };
}
