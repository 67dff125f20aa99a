/**
 * The IP Insights model in memory: the entity table, the IP encoder (hashed prefix embeddings + dense
 * layers) and the known-entity set. Shared by training (over SharedArrayBuffers), scoring and the model file.
 *
 * IP encoder (see docs/ipinsights.md):
 *   h0 = sum over prefix lengths L of P[hash(family, L, ip >> (bits - L)) mod num_ip_vectors]
 *   h_{k+1} = act_k(W_k h_k + b_k)   for k < num_ip_encoder_layers  (ReLU between layers, last one linear)
 * The last layer's W is stored as the identity: a linear map right before the dot product is absorbed into
 * the entity table exactly (e . (W h + b) = (W^T e) . h + e . b), so it is trained in that form.
 * score = dot_product = entity . ip_embedding.
 */
import { murmur3Words2, murmur3Words5 } from '../pairs/hash.js';
import type { IpFamily } from '../pairs/ip.js';

/** Prefix ladders (bits). Both ladders have the same length so every address has the same number of rows. */
export const DEFAULT_V4_PREFIXES: readonly number[] = [8, 12, 16, 20, 24, 32];
export const DEFAULT_V6_PREFIXES: readonly number[] = [16, 32, 48, 56, 64, 128];
export const PREFIX_HASH_SEED = 0x1b2c3d4e;

export type Activation = 'none' | 'relu';

export interface LayerSpec {
  /** 'identity': W = I (not stored); 'dense': a stored vector_dim x vector_dim matrix (row-major, out x in). */
  weight: 'identity' | 'dense';
  activation: Activation;
}

export interface EncoderSpec {
  v4_prefixes: number[];
  v6_prefixes: number[];
  num_ip_vectors: number;
  hash_seed: number;
  layers: LayerSpec[];
}

export interface Layer {
  /** out x in, row-major; null for the identity. */
  weight: Float32Array | null;
  bias: Float32Array;
  activation: Activation;
}

export interface Weights {
  dim: number;
  numEntityVectors: number;
  /** num_entity_vectors x dim */
  entity: Float32Array;
  /** num_ip_vectors x dim */
  ip: Float32Array;
  layers: Layer[];
  /** Vector used for entities never seen in training: the count-weighted mean of trained entity rows. */
  population: Float32Array;
  /** Sorted 52-bit fingerprints of the entities seen in training, and their training row counts. */
  knownFp: Float64Array;
  knownCount: Uint32Array;
}

/** The encoder spec for a number of dense layers (ReLU between them, linear identity+bias last). */
export function encoderSpecFor(numLayers: number, numIpVectors: number): EncoderSpec {
  const layers: LayerSpec[] = [];
  for (let k = 0; k < numLayers; k++) {
    const last = k === numLayers - 1;
    layers.push({ weight: last ? 'identity' : 'dense', activation: last ? 'none' : 'relu' });
  }
  return {
    v4_prefixes: [...DEFAULT_V4_PREFIXES],
    v6_prefixes: [...DEFAULT_V6_PREFIXES],
    num_ip_vectors: numIpVectors,
    hash_seed: PREFIX_HASH_SEED,
    layers,
  };
}

/** Number of prefix rows per address (the ladders have equal length). */
export function rowsPerIp(spec: EncoderSpec): number {
  return spec.v4_prefixes.length;
}

/** Hashed prefix rows of an IPv4 address (unsigned 32-bit) into out[offset..offset+K). */
export function ipv4Rows(spec: EncoderSpec, a: number, out: Uint32Array, offset: number): void {
  const ladder = spec.v4_prefixes;
  const n = spec.num_ip_vectors;
  const seed = spec.hash_seed;
  for (let k = 0; k < ladder.length; k++) {
    const len = ladder[k]!;
    const pre = len === 0 ? 0 : a >>> (32 - len);
    out[offset + k] = murmur3Words2(pre, 0x400 | len, seed) % n;
  }
}

function maskWord(w: number, wordIndex: number, len: number): number {
  const keep = len - wordIndex * 32;
  if (keep >= 32) return w;
  if (keep <= 0) return 0;
  return (w & (0xffffffff << (32 - keep))) >>> 0;
}

/** Hashed prefix rows of an IPv6 address (four 32-bit words) into out[offset..offset+K). */
export function ipv6Rows(spec: EncoderSpec, w: ArrayLike<number>, out: Uint32Array, offset: number): void {
  const ladder = spec.v6_prefixes;
  const n = spec.num_ip_vectors;
  const seed = spec.hash_seed;
  const w0 = w[0]!, w1 = w[1]!, w2 = w[2]!, w3 = w[3]!;
  for (let k = 0; k < ladder.length; k++) {
    const len = ladder[k]!;
    out[offset + k] =
      murmur3Words5(maskWord(w0, 0, len), maskWord(w1, 1, len), maskWord(w2, 2, len), maskWord(w3, 3, len), 0x600 | len, seed) % n;
  }
}

export function ipRows(spec: EncoderSpec, family: IpFamily, words: ArrayLike<number>, out: Uint32Array, offset: number): void {
  if (family === 4) ipv4Rows(spec, words[0]!, out, offset);
  else ipv6Rows(spec, words, out, offset);
}

/**
 * The IP embedding from its prefix rows: out = layers(sum of P rows). `tmp` is scratch of length dim
 * (only used with dense layers). Arithmetic is float32 (each partial sum is rounded), as stored.
 */
export function encodeRows(w: Weights, rows: Uint32Array, rowsOffset: number, k: number, out: Float32Array, tmp: Float32Array): void {
  const d = w.dim;
  const P = w.ip;
  let o = rows[rowsOffset]! * d;
  for (let i = 0; i < d; i++) out[i] = P[o + i]!;
  for (let j = 1; j < k; j++) {
    o = rows[rowsOffset + j]! * d;
    for (let i = 0; i < d; i++) out[i] += P[o + i]!;
  }
  applyLayers(w.layers, d, out, tmp);
}

export function applyLayers(layers: readonly Layer[], d: number, h: Float32Array, tmp: Float32Array): void {
  for (const layer of layers) {
    const W = layer.weight;
    const b = layer.bias;
    if (W === null) {
      for (let i = 0; i < d; i++) h[i] += b[i]!;
    } else {
      for (let r = 0; r < d; r++) {
        let s = b[r]!;
        const o = r * d;
        for (let i = 0; i < d; i++) s += W[o + i]! * h[i]!;
        tmp[r] = s;
      }
      h.set(tmp);
    }
    if (layer.activation === 'relu') {
      for (let i = 0; i < d; i++) if (h[i]! < 0) h[i] = 0;
    }
  }
}

/**
 * Touch the first cache line of each prefix row of an address that will be encoded soon, so the memory
 * loads of several addresses overlap (a software prefetch: random rows of a large table are cache misses).
 * Returns a value only to keep the loads alive.
 */
export function touchRows(P: Float32Array, rows: Uint32Array, off: number, k: number, d: number): number {
  let s = 0;
  for (let j = 0; j < k; j++) s += P[rows[off + j]! * d]!;
  return s;
}

/** Sequential float64 dot product of two float32 vectors (what `dot_product` reports). */
export function dot(a: Float32Array, aOff: number, b: Float32Array, bOff: number, d: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) s += a[aOff + i]! * b[bOff + i]!;
  return s;
}

