/**
 * Seeded random streams for the forest: one xoshiro128** generator per tree, all kept in one Uint32Array (4 words per
 * stream) so the forest's whole random state is a typed array that saves and loads bit for bit. Same algorithm as
 * src/core/rng.ts (Rng), without an object per stream; the stepping functions live in forest.ts, next to their
 * hot loops.
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
