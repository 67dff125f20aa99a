/**
 * Hashing for the IP Insights detector: MurmurHash3 x86_32 (Austin Appleby, public domain) over the
 * UTF-8 bytes of an entity string, and over 32-bit words for IP prefix keys.
 * Every function is pure and allocation-free on the hot path (ASCII strings are hashed from their
 * char codes without encoding).
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Seed of the entity -> row hash (`num_entity_vectors` buckets). */
export const ENTITY_SEED = 0;
/** Seeds of the two 32-bit halves of an entity fingerprint (the "known entity" set). */
export const FINGERPRINT_SEED_HI = 0x5eca1a4e;
export const FINGERPRINT_SEED_LO = 0x1b7e15f3;

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixH(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The MurmurHash3 finaliser (fmix32): a good 32-bit integer mixer on its own. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3_x86_32 of a byte array. Returns an unsigned 32-bit integer. */
export function murmur3Bytes(bytes: Uint8Array, seed = 0): number {
  const len = bytes.length;
  const nblocks = len >>> 2;
  let h = seed | 0;
  let i = 0;
  for (let b = 0; b < nblocks; b++, i += 4) {
    const k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    h = mixH(h, k);
  }
  const rem = len & 3;
  if (rem > 0) {
    let k = bytes[i]!;
    if (rem > 1) k ^= bytes[i + 1]! << 8;
    if (rem > 2) k ^= bytes[i + 2]! << 16;
    h ^= mixK(k);
  }
  h ^= len;
  return fmix32(h);
}

const encoder = new TextEncoder();

/** MurmurHash3_x86_32 of the UTF-8 encoding of `s` (ASCII fast path; identical results). */
export function murmur3String(s: string, seed = 0): number {
  const len = s.length;
  for (let j = 0; j < len; j++) {
    if (s.charCodeAt(j) >= 0x80) return murmur3Bytes(encoder.encode(s), seed);
  }
  const nblocks = len >>> 2;
  let h = seed | 0;
  let i = 0;
  for (let b = 0; b < nblocks; b++, i += 4) {
    const k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24);
    h = mixH(h, k);
  }
  const rem = len & 3;
  if (rem > 0) {
    let k = s.charCodeAt(i);
    if (rem > 1) k ^= s.charCodeAt(i + 1) << 8;
    if (rem > 2) k ^= s.charCodeAt(i + 2) << 16;
    h ^= mixK(k);
  }
  h ^= len;
  return fmix32(h);
}

/** MurmurHash3_x86_32 of two 32-bit words (little-endian bytes), i.e. of an 8-byte key. */
export function murmur3Words2(w0: number, w1: number, seed: number): number {
  let h = mixH(seed | 0, w0 | 0);
  h = mixH(h, w1 | 0);
  h ^= 8;
  return fmix32(h);
}

/** MurmurHash3_x86_32 of five 32-bit words (a 20-byte key). */
export function murmur3Words5(w0: number, w1: number, w2: number, w3: number, w4: number, seed: number): number {
  let h = mixH(seed | 0, w0 | 0);
  h = mixH(h, w1 | 0);
  h = mixH(h, w2 | 0);
  h = mixH(h, w3 | 0);
  h = mixH(h, w4 | 0);
  h ^= 20;
  return fmix32(h);
}

/** Row of an entity in the entity table: murmur3(utf8(entity), seed 0) mod num_entity_vectors. */
export function entityRow(entity: string, numEntityVectors: number): number {
  return murmur3String(entity, ENTITY_SEED) % numEntityVectors;
}

/**
 * 52-bit fingerprint of an entity (two independent murmur3 hashes; 20 + 32 bits), exactly representable
 * as a float64 so fingerprint sets can be sorted with a Float64Array.
 */
export function entityFingerprint(entity: string): number {
  const hi = murmur3String(entity, FINGERPRINT_SEED_HI) >>> 12;
  const lo = murmur3String(entity, FINGERPRINT_SEED_LO);
  return hi * 4294967296 + lo;
}

/** Index of `fp` in a sorted array of entity fingerprints, or -1 (binary search). */
export function findFingerprint(sorted: Float64Array, fp: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v < fp) lo = mid + 1;
    else if (v > fp) hi = mid - 1;
    else return mid;
  }
  return -1;
}
