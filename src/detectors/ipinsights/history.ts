/**
 * Entity history: for each training entity, how many distinct addresses it was seen with and a capped,
 * deterministic sample of them, so a finding can say "its 412 training addresses never shared more than /8 with
 * this one (nearest 198.51.100.4)". Stored as optional sections of the model file (model-file.ts):
 *
 *   history.fingerprint  float64 [m]       sorted entity fingerprints (as known.fingerprint)
 *   history.size         uint32  [m]       distinct training addresses per entity (not capped)
 *   history.offset       uint32  [m + 1]   start of each entity's stored addresses in history.addr
 *   history.addr         uint32  [s, 4]    stored addresses, 128 bits each; IPv4 as IPv4-mapped IPv6
 *                                          (::ffff:a.b.c.d; the parser folds real mapped addresses into IPv4,
 *                                          so the encoding is unambiguous)
 *
 * Which addresses are kept: an entity's distinct addresses sorted (IPv4 before IPv6, numerically); all of them when
 * there are at most `perEntity` (64), else `perEntity` evenly spaced ones, first and last included, so the sample
 * spans the entity's address ranges rather than its busiest subnet. The cap shrinks (to at least 1) when
 * entities x 64 would exceed `maxAddresses` (1,048,576: 16 MiB), which bounds the section and the memory used.
 * `nearest` searches the stored sample, so with a capped entity it is a lower bound on the true longest prefix.
 *
 * Building costs one binary search per training row, a counting sort of the rows by entity and a typed-array sort
 * of each entity's addresses (O(n log n), native sorts; see docs/findings.md for the measured cost).
 */
import type { EntityHistory } from '../types.js';
import type { PairData } from '../pairs/data.js';
import { entityFingerprint } from '../pairs/hash.js';
import { formatIpv4, formatIpv6, parseIpInto } from '../pairs/ip.js';
import { findFingerprint } from '../pairs/hash.js';

export const HISTORY_PER_ENTITY = 64;
export const HISTORY_MAX_ADDRESSES = 1 << 20;

export interface HistoryData {
  /** Sorted entity fingerprints. */
  fp: Float64Array;
  /** Distinct training addresses per entity. */
  size: Uint32Array;
  /** m + 1 offsets (in addresses) into `addr`. */
  offset: Uint32Array;
  /** Four words per stored address. */
  addr: Uint32Array;
}

export interface HistoryOptions {
  perEntity?: number;
  maxAddresses?: number;
}

const MAPPED = 0xffff;

function cmpWords(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  for (let w = 0; w < 4; w++) {
    const x = a[i * 4 + w]!;
    const y = b[j * 4 + w]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Build the history of every entity in `data`. `known` (sorted distinct fingerprints, as train.ts computes them)
 * may be passed to avoid recomputing it.
 */
export function buildHistory(data: PairData, known?: { fp: Float64Array }, opts: HistoryOptions = {}): HistoryData {
  const n = data.n;
  let fps = known?.fp;
  if (!fps) {
    const sorted = Float64Array.from(data.fp.subarray(0, n)).sort();
    let u = 0;
    for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[u - 1]) sorted[u++] = sorted[i]!;
    fps = sorted.slice(0, u);
  }
  const m = fps.length;
  const perEntityMax = Math.max(1, Math.floor(opts.perEntity ?? HISTORY_PER_ENTITY));
  const maxAddresses = Math.max(1, Math.floor(opts.maxAddresses ?? HISTORY_MAX_ADDRESSES));
  const cap = Math.max(1, Math.min(perEntityMax, Math.floor(maxAddresses / Math.max(1, m))));

  // Entity index per row, then a counting sort of the rows by entity.
  const ent = new Uint32Array(n);
  const start = new Uint32Array(m + 1);
  for (let i = 0; i < n; i++) {
    const e = findFingerprint(fps, data.fp[i]!);
    ent[i] = e;
    start[e + 1]!++;
  }
  for (let e = 0; e < m; e++) start[e + 1] += start[e]!;
  const order = new Uint32Array(n);
  const fill = start.slice(0, m);
  for (let i = 0; i < n; i++) order[fill[ent[i]!]!++] = i;

  const size = new Uint32Array(m);
  const offset = new Uint32Array(m + 1);
  const out = new Uint32Array(Math.min(n, m * cap) * 4);
  let stored = 0;
  let v4 = new Uint32Array(64);
  let v6 = new Uint32Array(64);
  let v6idx = new Uint32Array(16);
  for (let e = 0; e < m; e++) {
    const a = start[e]!;
    const b = start[e + 1]!;
    let n4 = 0;
    let n6 = 0;
    if (v4.length < b - a) v4 = new Uint32Array(b - a);
    for (let k = a; k < b; k++) {
      const row = order[k]!;
      if (data.fam[row] === 4) v4[n4++] = data.addr[row]!;
      else n6++;
    }
    // IPv4: native sort + unique.
    const s4 = v4.subarray(0, n4).sort();
    let d4 = 0;
    for (let i = 0; i < n4; i++) if (i === 0 || s4[i] !== s4[d4 - 1]) s4[d4++] = s4[i]!;
    // IPv6 (rare): copy the words, sort indices, unique.
    let d6 = 0;
    if (n6 > 0) {
      if (v6.length < n6 * 4) v6 = new Uint32Array(n6 * 4);
      let j = 0;
      for (let k = a; k < b; k++) {
        const row = order[k]!;
        if (data.fam[row] !== 6) continue;
        const o = data.addr[row]! * 4;
        v6[j * 4] = data.v6[o]!;
        v6[j * 4 + 1] = data.v6[o + 1]!;
        v6[j * 4 + 2] = data.v6[o + 2]!;
        v6[j * 4 + 3] = data.v6[o + 3]!;
        j++;
      }
      const idx = Array.from({ length: n6 }, (_, i) => i).sort((x, y) => cmpWords(v6, x, v6, y));
      if (v6idx.length < n6) v6idx = new Uint32Array(n6);
      for (let i = 0; i < n6; i++) if (i === 0 || cmpWords(v6, idx[i]!, v6, v6idx[d6 - 1]!) !== 0) v6idx[d6++] = idx[i]!;
    }
    const d = d4 + d6;
    size[e] = d;
    offset[e] = stored;
    const keep = Math.min(d, cap);
    for (let t = 0; t < keep; t++) {
      const i = keep === d ? t : keep === 1 ? 0 : Math.floor((t * (d - 1)) / (keep - 1));
      const o = stored * 4;
      if (i < d4) {
        out[o] = 0;
        out[o + 1] = 0;
        out[o + 2] = MAPPED;
        out[o + 3] = s4[i]!;
      } else {
        const src = v6idx[i - d4]! * 4;
        out[o] = v6[src]!;
        out[o + 1] = v6[src + 1]!;
        out[o + 2] = v6[src + 2]!;
        out[o + 3] = v6[src + 3]!;
      }
      stored++;
    }
  }
  offset[m] = stored;
  return { fp: fps, size, offset, addr: out.slice(0, stored * 4) };
}

function isMapped(addr: Uint32Array, o: number): boolean {
  return addr[o] === 0 && addr[o + 1] === 0 && addr[o + 2] === MAPPED;
}

/** Longest common prefix, in bits, of two 32-bit words. */
function lcp32(a: number, b: number): number {
  return Math.clz32((a ^ b) >>> 0);
}

/** EntityHistory over HistoryData (or over nothing: a model file without the history sections). */
export class ModelEntityHistory implements EntityHistory {
  private readonly words = new Uint32Array(4);
  constructor(private readonly data: HistoryData | undefined) {}

  get available(): boolean {
    return this.data !== undefined;
  }

  private index(entity: string): number {
    return this.data ? findFingerprint(this.data.fp, entityFingerprint(entity)) : -1;
  }

  size(entity: string): number {
    const i = this.index(entity);
    return i < 0 ? 0 : this.data!.size[i]!;
  }

  stored(entity: string): number {
    const i = this.index(entity);
    return i < 0 ? 0 : this.data!.offset[i + 1]! - this.data!.offset[i]!;
  }

  /** The entity's stored addresses in canonical text (tests, debugging). */
  addresses(entity: string): string[] {
    const i = this.index(entity);
    if (i < 0) return [];
    const { addr, offset } = this.data!;
    const out: string[] = [];
    for (let k = offset[i]!; k < offset[i + 1]!; k++) out.push(isMapped(addr, k * 4) ? formatIpv4(addr[k * 4 + 3]!) : formatIpv6(addr.subarray(k * 4, k * 4 + 4)));
    return out;
  }

  nearest(entity: string, ip: string): { ip: string; prefix_len: number } | undefined {
    const i = this.index(entity);
    if (i < 0) return undefined;
    const w = this.words;
    const fam = parseIpInto(ip.trim(), w);
    if (fam === 0) return undefined;
    const { addr, offset } = this.data!;
    let best = -1;
    let bestLen = -1;
    for (let k = offset[i]!; k < offset[i + 1]!; k++) {
      const o = k * 4;
      const mapped = isMapped(addr, o);
      let len: number;
      if (fam === 4) {
        if (!mapped) continue;
        len = lcp32(addr[o + 3]!, w[0]!);
      } else {
        if (mapped) continue;
        len = 0;
        for (let j = 0; j < 4; j++) {
          const l = lcp32(addr[o + j]!, w[j]!);
          len += l;
          if (l < 32) break;
        }
      }
      if (len > bestLen) {
        bestLen = len;
        best = k;
      }
    }
    if (best < 0) return undefined;
    const o = best * 4;
    return { ip: fam === 4 ? formatIpv4(addr[o + 3]!) : formatIpv6(addr.subarray(o, o + 4)), prefix_len: bestLen };
  }
}
