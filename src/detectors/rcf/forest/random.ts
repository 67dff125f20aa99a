/**
 * Seeded random streams for the forest: one xoshiro128** generator per tree, all kept in one Uint32Array (4 words per
 * stream) so the forest's whole random state is a typed array that saves and loads bit for bit. Same algorithm as
 * src/core/rng.ts (Rng), without an object per stream.
 */

/** Fill `state` (4 words per stream) from `seed` with splitmix32, as src/core/rng.ts seeds Rng. */
export function seedStreams(state: Uint32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < state.length; i++) {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    state[i] = (z ^ (z >>> 16)) >>> 0;
  }
  for (let o = 0; o < state.length; o += 4) {
    if ((state[o]! | state[o + 1]! | state[o + 2]! | state[o + 3]!) === 0) state[o] = 1;
  }
}

/** Next uniform 32-bit unsigned integer of stream `o / 4` (o = 4 * stream). */
export function nextU32(s: Uint32Array, o: number): number {
  const a = s[o]!;
  const b = s[o + 1]!;
  const c = s[o + 2]!;
  const d = s[o + 3]!;
  const m = Math.imul(b, 5);
  const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
  const t = b << 9;
  const c1 = c ^ a;
  const d1 = d ^ b;
  const b1 = b ^ c1;
  const a1 = a ^ d1;
  s[o] = a1;
  s[o + 1] = b1;
  s[o + 2] = c1 ^ t;
  s[o + 3] = (d1 << 11) | (d1 >>> 21);
  return result;
}

/** Uniform double in the open interval (0, 1) with 32 bits of resolution (never 0, never 1). */
export function nextOpen(s: Uint32Array, o: number): number {
  return (nextU32(s, o) + 0.5) * 2.3283064365386963e-10;
}

/** Uniform double in [0, 1) with 53 bits of resolution (two draws). */
export function nextDouble(s: Uint32Array, o: number): number {
  const hi = nextU32(s, o) >>> 5; // 27 bits
  const lo = nextU32(s, o) >>> 6; // 26 bits
  return (hi * 67108864 + lo) * 1.1102230246251565e-16;
}
