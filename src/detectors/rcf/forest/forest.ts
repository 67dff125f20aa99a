/**
 * Random Cut Forest over typed arrays: the streaming algorithm of Guha et al. (ICML 2016) as AWS's
 * random-cut-forest-by-aws implements it (bottom-up insertion, time-decayed reservoir samplers, the "expected inverse
 * depth" score and its DiVector attribution). See ../README.md for the algorithm and how it maps to AWS's library.
 *
 * Layout. No object per node: every tree's nodes live in forest-wide typed arrays, tree t at a fixed offset, with
 * what one step of a traversal reads side by side (one cache line instead of one per field):
 *   internal node   id n in 0..S-2, g = t*(S-1)+n: a 16-byte record in `nodes`: cut value (float32), cut dimension,
 *                   left, right, parent, mass (uint16 each); its bounding box in `box` at g*BS: min[D], max[D], and
 *                   for D > 1 the range sum Σ(max-min) (float32; BS = 2D or 2D+1)
 *   leaf            id S+s, s in 0..S-1, l = t*S+s: an 8-byte record in `leaves`: point index into the shared
 *                   PointStore (int32), mass, parent (uint16)
 *   NIL = 0xffff (so S <= 32767); free internal nodes are chained through `left`, free leaves through the parent field.
 *   sampler         a max-heap of (float32 weight, leaf slot) per tree: the S smallest priorities
 *                   -timeDecay*seq + log(-log(u)) seen so far; a heap entry names the leaf holding its point (a leaf
 *                   with mass m is named by m entries), so evicting deletes from the tree without a search.
 *   rng             one xoshiro128** stream per tree (4 words each) for sampler draws and cuts.
 * Points are float32, as in AWS's library; arithmetic is in float64.
 */
import { ConfigError } from '../../../core/errors.js';
import { ForestInputError, ForestStateError } from './errors.js';
import { PointStore } from './point-store.js';
import { seedStreams } from './random.js';
import { StateReader, StateWriter } from './state.js';
import { checkForest } from './check.js';
import { MAX_SAMPLE_SIZE as MAX_S, NIL as NIL_ } from './layout.js';

export { NIL_ as NIL, MAX_S as MAX_SAMPLE_SIZE };
// Module-local copies: hot loops must not read imported bindings (a transpiler may turn them into getter calls).
const NIL = 0xffff;
const MAX_SAMPLE_SIZE = 32767;
const STATE_MAGIC = 'RCFF';
const STATE_VERSION = 1;

// node record fields, in uint16 units (record = 8 uint16 = 4 float32: float32 0 is the cut value, float32 1 the box's
// range sum Σ(max-min))
const N_DIM = 4;
const N_LEFT = 5;
const N_RIGHT = 6;
const N_PARENT = 7;
// leaf record fields, in uint16 units (record = 4 uint16 = 2 int32; the point index is int32 0)
const L_MASS = 2;
const L_PARENT = 3;

/** Next uniform 32-bit unsigned integer of the xoshiro128** stream at s[o..o+3] (seeded by random.ts). */
function nextU32(s: Uint32Array, o: number): number {
  const a = s[o]!;
  const b = s[o + 1]!;
  const c = s[o + 2]!;
  const d = s[o + 3]!;
  const m = Math.imul(b, 5);
  const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
  const t = b << 9;
  const c1 = c ^ a;
  const d1 = d ^ b;
  s[o] = a ^ d1;
  s[o + 1] = b ^ c1;
  s[o + 2] = c1 ^ t;
  s[o + 3] = (d1 << 11) | (d1 >>> 21);
  return result;
}
/** Uniform in the open interval (0, 1), 32 bits. */
function nextOpen(s: Uint32Array, o: number): number {
  return (nextU32(s, o) + 0.5) * 2.3283064365386963e-10;
}
/** Uniform in [0, 1), 53 bits. */
function nextDouble(s: Uint32Array, o: number): number {
  const hi = nextU32(s, o) >>> 5;
  const lo = nextU32(s, o) >>> 6;
  return (hi * 67108864 + lo) * 1.1102230246251565e-16;
}

export interface ForestOptions {
  /** Values in one input row (before shingling). */
  inputDims: number;
  /** Internal shingling: the forest's points are the last `shingleSize` rows concatenated (default 1). */
  shingleSize?: number;
  /** Default 100 (SageMaker's and the AWS CLI runner's default). */
  numTrees?: number;
  /** Points per tree, default 256; at most 32767. */
  sampleSize?: number;
  /** Sampler priority decay per point, default 1/(10*sampleSize); 0 = uniform reservoir over the whole stream. */
  timeDecay?: number;
  /** score() returns 0 until update() was called this many times; default max(1, floor(sampleSize/4)). */
  outputAfter?: number;
  /** Default 42; same seed and same stream give identical scores. */
  seed?: number;
}

export interface DiVector {
  /** Score share of each point dimension from the point lying above the sample there. */
  high: Float64Array;
  /** ... below the sample. */
  low: Float64Array;
  /** Sum of high and low: the point's score. */
  score: number;
}

function intOption(name: string, v: number | undefined, def: number, min: number, max: number): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < min || x > max) {
    throw new ConfigError(`RCF option ${name} must be an integer in [${min}, ${max}], got ${String(v)}`, [name]);
  }
  return x;
}

/** The next float32 below `x` (Math.nextAfter((float) x, -inf)). */
const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
function nextDownF32(x: number): number {
  f32[0] = x;
  if (x === 0) return -1.401298464324817e-45;
  if (x > 0) i32[0]! -= 1;
  else i32[0]! += 1;
  return f32[0]!;
}

export type NodeField = 'cutDim' | 'cutVal' | 'left' | 'right' | 'parent' | 'mass';
export type LeafField = 'point' | 'mass' | 'parent';

export class RandomCutForest {
  readonly inputDims: number;
  readonly shingleSize: number;
  readonly dimensions: number;
  readonly numTrees: number;
  readonly sampleSize: number;
  readonly timeDecay: number;
  readonly outputAfter: number;
  readonly seed: number;
  /** float32 per box: min[dimensions], max[dimensions]. */
  readonly boxStride: number;

  /** update() calls so far. */
  updates = 0;
  /** Points formed so far (update() calls once the shingle is full): the samplers' sequence number. */
  points = 0;

  // ---- trees (see the header for the layout) ----
  readonly root: Uint16Array;
  readonly freeNode: Uint16Array;
  readonly freeLeaf: Uint16Array;
  /** Internal nodes created in each tree since its last relayout(). */
  readonly churn: Uint16Array;
  private readonly nodes16: Uint16Array;
  private readonly nodesF: Float32Array;
  /** Points below each internal node (not in the record: scoring never reads it). */
  private readonly mass: Uint16Array;
  private readonly leaves32: Int32Array;
  private readonly leaves16: Uint16Array;
  private readonly box: Float32Array;
  // ---- samplers ----
  readonly heapW: Float32Array;
  readonly heapSlot: Uint16Array;
  readonly heapSize: Int32Array;
  readonly rng: Uint32Array;
  // sampler thresholds (derived; see updateTrees)
  private readonly thr: Float64Array;
  private readonly uLo: Float64Array;
  private readonly uHi: Float64Array;
  private thrBase = Number.NaN;
  private thrSpan = 0;
  private thrGrowth = 1;
  // ---- points ----
  store: PointStore;
  /** The last `dimensions` input values (oldest first), float32. */
  readonly shingle: Float32Array;

  // ---- scratch ----
  private readonly relayoutAfter: number;
  private readonly scratchOrder: Uint16Array;
  private readonly scratchId: Int32Array;
  private readonly scratchNodes: Uint16Array;
  private readonly scratchMass: Uint16Array;
  private readonly scratchBox: Float32Array;
  private readonly q: Float64Array;
  private readonly log2p1: Float64Array;
  private readonly inv: Float64Array;
  private readonly ah: Float64Array;
  private readonly al: Float64Array;
  private readonly gh: Float64Array;
  private readonly gl: Float64Array;
  private readonly shadow: Float64Array;

  constructor(opts: ForestOptions) {
    this.inputDims = intOption('inputDims', opts.inputDims, 0, 1, 65535);
    this.shingleSize = intOption('shingleSize', opts.shingleSize, 1, 1, 65535);
    if (this.inputDims * this.shingleSize > 65535) {
      throw new ConfigError(`RCF points have inputDims*shingleSize = ${this.inputDims * this.shingleSize} dimensions; at most 65535`, ['shingleSize']);
    }
    this.dimensions = this.inputDims * this.shingleSize;
    this.numTrees = intOption('numTrees', opts.numTrees, 100, 1, 100000);
    this.sampleSize = intOption('sampleSize', opts.sampleSize, 256, 1, MAX_SAMPLE_SIZE);
    const td = opts.timeDecay ?? 1 / (10 * this.sampleSize);
    if (typeof td !== 'number' || !Number.isFinite(td) || td < 0) {
      throw new ConfigError(`RCF option timeDecay must be a finite number >= 0, got ${String(opts.timeDecay)}`, ['timeDecay']);
    }
    this.timeDecay = td;
    this.outputAfter = intOption('outputAfter', opts.outputAfter, Math.max(1, Math.floor(this.sampleSize / 4)), 0, Number.MAX_SAFE_INTEGER);
    this.seed = intOption('seed', opts.seed, 42, 0, 0xffffffff);

    const T = this.numTrees;
    const S = this.sampleSize;
    const NI = S - 1;
    const D = this.dimensions;
    this.boxStride = 2 * D;
    this.root = new Uint16Array(T).fill(NIL);
    this.freeNode = new Uint16Array(T);
    this.freeLeaf = new Uint16Array(T);
    this.churn = new Uint16Array(T);
    this.relayoutAfter = Math.max(8, S >> 1);
    this.scratchOrder = new Uint16Array(Math.max(NI, 1));
    this.scratchId = new Int32Array(Math.max(NI, 1));
    this.scratchNodes = new Uint16Array(NI * 8);
    this.scratchMass = new Uint16Array(NI);
    this.scratchBox = new Float32Array(NI * 2 * D);
    const nodeBuf = new ArrayBuffer(T * NI * 16);
    this.nodes16 = new Uint16Array(nodeBuf);
    this.nodesF = new Float32Array(nodeBuf);
    this.mass = new Uint16Array(T * NI);
    const leafBuf = new ArrayBuffer(T * S * 8);
    this.leaves32 = new Int32Array(leafBuf);
    this.leaves16 = new Uint16Array(leafBuf);
    for (let l = 0; l < T * S; l++) this.leaves32[l * 2] = -1;
    this.box = new Float32Array(T * NI * this.boxStride);
    this.heapW = new Float32Array(T * S);
    this.heapSlot = new Uint16Array(T * S);
    this.heapSize = new Int32Array(T);
    this.rng = new Uint32Array(T * 4);
    seedStreams(this.rng, this.seed);
    this.thr = new Float64Array(T);
    this.uLo = new Float64Array(T);
    this.uHi = new Float64Array(T);
    for (let t = 0; t < T; t++) this.resetFreeLists(t);
    this.store = new PointStore(D, T * S + 1, 2 * S + 1);
    this.shingle = new Float32Array(D);
    this.q = new Float64Array(D);
    this.log2p1 = new Float64Array(S + 2);
    for (let m = 0; m < S + 2; m++) this.log2p1[m] = Math.log2(m + 1);
    this.inv = new Float64Array(S + 2);
    for (let k = 1; k < S + 2; k++) this.inv[k] = 1 / k;
    this.ah = new Float64Array(D);
    this.al = new Float64Array(D);
    this.gh = new Float64Array(D);
    this.gl = new Float64Array(D);
    this.shadow = new Float64Array(2 * D);
  }

  /** Every node of tree t free (internal nodes chained through left, leaves through parent). */
  private resetFreeLists(t: number): void {
    const S = this.sampleSize;
    const NI = S - 1;
    for (let n = 0; n < NI; n++) {
      const r = (t * NI + n) * 8;
      this.nodes16[r + N_LEFT] = n + 1 < NI ? n + 1 : NIL;
      this.nodes16[r + N_RIGHT] = NIL;
      this.nodes16[r + N_PARENT] = NIL;
    }
    this.freeNode[t] = NI > 0 ? 0 : NIL;
    for (let s = 0; s < S; s++) this.leaves16[(t * S + s) * 4 + L_PARENT] = s + 1 < S ? s + 1 : NIL;
    this.freeLeaf[t] = 0;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Node access for the checker, tests and other code off the hot path (n: internal node 0..S-2, s: leaf slot)

  node(t: number, n: number, field: NodeField): number {
    const g = t * (this.sampleSize - 1) + n;
    if (field === 'cutVal') return this.nodesF[g * 4]!;
    if (field === 'mass') return this.mass[g]!;
    return this.nodes16[g * 8 + NODE_FIELD[field]]!;
  }
  setNode(t: number, n: number, field: NodeField, v: number): void {
    const g = t * (this.sampleSize - 1) + n;
    if (field === 'cutVal') this.nodesF[g * 4] = v;
    else if (field === 'mass') this.mass[g] = v;
    else this.nodes16[g * 8 + NODE_FIELD[field]] = v;
  }
  leaf(t: number, s: number, field: LeafField): number {
    const l = t * this.sampleSize + s;
    return field === 'point' ? this.leaves32[l * 2]! : this.leaves16[l * 4 + (field === 'mass' ? L_MASS : L_PARENT)]!;
  }
  setLeaf(t: number, s: number, field: LeafField, v: number): void {
    const l = t * this.sampleSize + s;
    if (field === 'point') this.leaves32[l * 2] = v;
    else this.leaves16[l * 4 + (field === 'mass' ? L_MASS : L_PARENT)] = v;
  }
  /** Cached box of internal node n: min and max in dimension i, and the cached range sum (Σ max-min). */
  boxOf(t: number, n: number): { min: Float32Array; max: Float32Array; rangeSum: number } {
    const D = this.dimensions;
    const bb = (t * (this.sampleSize - 1) + n) * this.boxStride;
    const min = this.box.slice(bb, bb + D);
    const max = this.box.slice(bb + D, bb + 2 * D);
    return { min, max, rangeSum: this.nodesF[(t * (this.sampleSize - 1) + n) * 4 + 1]! };
  }
  setBox(t: number, n: number, i: number, min: number, max: number): void {
    const bb = (t * (this.sampleSize - 1) + n) * this.boxStride;
    this.box[bb + i] = min;
    this.box[bb + this.dimensions + i] = max;
  }

  /** True once score() gives scores: outputAfter updates seen and the trees hold points. */
  isReady(): boolean {
    return this.updates >= this.outputAfter && this.points > 0;
  }

  /** Mass (points sampled) of tree t. */
  treeMass(t: number): number {
    const r = this.root[t]!;
    const S = this.sampleSize;
    if (r === NIL) return 0;
    return r < S ? this.mass[t * (S - 1) + r]! : this.leaves16[(t * S + r - S) * 4 + L_MASS]!;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Points

  /** Write the shingled point formed by `input` and the current shingle into q (float32 values). */
  private formPoint(input: ArrayLike<number>): Float64Array {
    const ID = this.inputDims;
    if (input.length !== ID) throw new ForestInputError(`RCF input has ${input.length} values, expected ${ID}`);
    const q = this.q;
    const D = this.dimensions;
    const sh = this.shingle;
    for (let i = 0; i < D - ID; i++) q[i] = sh[i + ID]!;
    for (let i = 0; i < ID; i++) {
      const v = Math.fround(input[i]!);
      if (!Number.isFinite(v)) {
        throw new ForestInputError(`RCF input value ${i} is ${String(input[i])}: values must be finite and within float32 range`);
      }
      q[D - ID + i] = v === 0 ? 0 : v;
    }
    return q;
  }

  /** Expected-inverse-depth score of the point formed by `input` with the current shingle; 0 before isReady(). */
  score(input: ArrayLike<number>): number {
    const q = this.formPoint(input);
    return this.isReady() ? this.scoreQ(q) : 0;
  }

  /** Push `input` into the shingle and, once the shingle is full, the point into every tree's sampler. */
  update(input: ArrayLike<number>): void {
    this.commit(this.formPoint(input));
  }

  /** score() then update() on the same point (the streaming primitive). */
  scoreAndUpdate(input: ArrayLike<number>): number {
    const q = this.formPoint(input);
    const s = this.isReady() ? this.scoreQ(q) : 0;
    this.commit(q);
    return s;
  }

  /** Validate a point of `dimensions` values into q (no shingle involved). */
  private takePoint(point: ArrayLike<number>): Float64Array {
    const D = this.dimensions;
    if (point.length !== D) throw new ForestInputError(`RCF point has ${point.length} values, expected ${D}`);
    const q = this.q;
    for (let i = 0; i < D; i++) {
      const v = Math.fround(point[i]!);
      if (!Number.isFinite(v)) throw new ForestInputError(`RCF point value ${i} is ${String(point[i])}: values must be finite and within float32 range`);
      q[i] = v === 0 ? 0 : v;
    }
    return q;
  }

  /** Score a point of `dimensions` values as is, e.g. a full shingle built by the caller. */
  scorePoint(point: ArrayLike<number>): number {
    const q = this.takePoint(point);
    return this.isReady() ? this.scoreQ(q) : 0;
  }

  private commit(q: Float64Array): void {
    this.shingle.set(q);
    this.updates++;
    if (this.updates >= this.shingleSize) this.updateTrees(q);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Scoring

  /**
   * Σ over trees of AWS's AnomalyScoreVisitor result, / numTrees. Per tree: descend to the leaf q reaches; a leaf
   * holding q scores damp(m, M)/(depth + log2(m+1)); otherwise 1/(depth+1), then each ancestor at depth k blends in
   * p/(k+1) + (1-p)·score with p the probability that a random cut of (box ∪ q) separates q, until a box holds q.
   * Dimensions where q already lies inside a box stay inside all boxes above it, so only the others are looked at.
   */
  private scoreQ(q: Float64Array): number {
    const S = this.sampleSize;
    const NI = S - 1;
    const D = this.dimensions;
    const BS = this.boxStride;
    const T = this.numTrees;
    const root = this.root;
    const N16 = this.nodes16;
    const NF = this.nodesF;
    const box = this.box;
    const L = this.log2p1;
    const inv = this.inv;
    const heapSize = this.heapSize;
    const wide = D > 30;
    let total = 0;
    for (let t = 0; t < T; t++) {
      const r = root[t]!;
      if (r === NIL) continue;
      const ib = t * NI;
      let n = r;
      let a = NIL; // the leaf's parent
      let depth = 0;
      while (n < S) {
        const g = ib + n;
        a = n;
        n = q[N16[g * 8 + N_DIM]!]! <= NF[g * 4]! ? N16[g * 8 + N_LEFT]! : N16[g * 8 + N_RIGHT]!;
        depth++;
      }
      const M = heapSize[t]!; // the tree's mass
      let score = 1 / (depth + 1);
      let k = depth; // depth of a, plus one
      let mask = wide ? 0 : D === 30 ? 0x3fffffff : (1 << D) - 1;
      let first = true;
      while (a !== NIL) {
        const g = ib + a;
        const bb = g * BS;
        let out = 0;
        if (wide) {
          for (let j = 0; j < D; j++) {
            const x = q[j]!;
            const lo = box[bb + j]!;
            const hi = box[bb + D + j]!;
            if (x < lo) out += lo - x;
            else if (x > hi) out += x - hi;
          }
        } else {
          // dimensions where q may still lie outside, as a bit mask: once inside a box, inside every box above it
          let m = mask;
          while (m !== 0) {
            const j = 31 - Math.clz32(m & -m);
            m &= m - 1;
            const x = q[j]!;
            const lo = box[bb + j]!;
            if (x < lo) {
              out += lo - x;
              continue;
            }
            const hi = box[bb + D + j]!;
            if (x > hi) {
              out += x - hi;
              continue;
            }
            mask ^= 1 << j;
          }
        }
        if (out === 0) {
          // q lies in the box of the leaf's parent: it may be the leaf's point (only then can it be)
          if (first && this.isLeafPoint(t, n, q)) score = this.duplicateScore(t, n, depth, M);
          first = false;
          break;
        }
        first = false;
        const p = out / (NF[g * 4 + 1]! + out);
        score = p * inv[k]! + (1 - p) * score;
        k--;
        a = N16[g * 8 + N_PARENT]!;
      }
      if (first && this.isLeafPoint(t, n, q)) score = this.duplicateScore(t, n, depth, M); // the tree is one leaf
      total += score * L[M]!;
    }
    return total / T;
  }

  /** Whether leaf id `n` of tree t holds the point q. */
  private isLeafPoint(t: number, n: number, q: Float64Array): boolean {
    const D = this.dimensions;
    const P = this.store.data;
    const pb = this.leaves32[(t * this.sampleSize + n - this.sampleSize) * 2]! * D;
    for (let i = 0; i < D; i++) if (P[pb + i] !== q[i]) return false;
    return true;
  }

  /** The score of a point equal to leaf n's at depth `depth`, before the log2(M+1) scaling: damp/(depth+log2(m+1)). */
  private duplicateScore(t: number, n: number, depth: number, M: number): number {
    const m = this.leaves16[(t * this.sampleSize + n - this.sampleSize) * 4 + L_MASS]!;
    return (1 - m / (2 * M)) / (depth + this.log2p1[m]!);
  }

  /** Directional attribution (DiVector) of the point formed by `input`: Σ high + low = score(input). */
  attribution(input: ArrayLike<number>): DiVector {
    return this.attributionQ(this.formPoint(input));
  }

  /** attribution() of a point of `dimensions` values as is. */
  attributionPoint(point: ArrayLike<number>): DiVector {
    return this.attributionQ(this.takePoint(point));
  }

  private attributionQ(q: Float64Array): DiVector {
    const D = this.dimensions;
    const high = new Float64Array(D);
    const low = new Float64Array(D);
    if (!this.isReady()) return { high, low, score: 0 };
    const T = this.numTrees;
    for (let t = 0; t < T; t++) this.attributionTree(t, q, high, low);
    let score = 0;
    for (let i = 0; i < D; i++) {
      high[i]! /= T;
      low[i]! /= T;
      score += high[i]! + low[i]!;
    }
    return { high, low, score };
  }

  /** Add tree t's DiVector for q (scaled by log2(mass+1)) to high/low. Mirrors AWS's AnomalyAttributionVisitor. */
  private attributionTree(t: number, q: Float64Array, high: Float64Array, low: Float64Array): void {
    const S = this.sampleSize;
    const NI = S - 1;
    const D = this.dimensions;
    const BS = this.boxStride;
    const r = this.root[t]!;
    if (r === NIL) return;
    const ib = t * NI;
    const N16 = this.nodes16;
    const NF = this.nodesF;
    const L16 = this.leaves16;
    const L32 = this.leaves32;
    const box = this.box;
    const P = this.store.data;
    const L = this.log2p1;
    const ah = this.ah;
    const al = this.al;
    const gh = this.gh;
    const gl = this.gl;
    let n = r;
    let depth = 0;
    while (n < S) {
      const g = ib + n;
      n = q[N16[g * 8 + N_DIM]!]! <= NF[g * 4]! ? N16[g * 8 + N_LEFT]! : N16[g * 8 + N_RIGHT]!;
      depth++;
    }
    const l = t * S + n - S;
    const M = this.treeMass(t);
    const pb = L32[l * 2]! * D;
    let sumNew = 0;
    for (let i = 0; i < D; i++) {
      const d = q[i]! - P[pb + i]!;
      gh[i] = d > 0 ? d : 0;
      gl[i] = d < 0 ? -d : 0;
      sumNew += d > 0 ? d : -d;
    }
    // blend in one box (min at A[mn..], max at A[mx..], range sum rs) at depth k: false once q lies inside it
    const blend = (A: ArrayLike<number>, mn: number, mx: number, rs: number, k: number): boolean => {
      let sumGap = 0;
      for (let i = 0; i < D; i++) {
        const x = q[i]!;
        const lo = A[mn + i]!;
        const hi = A[mx + i]!;
        const up = x > hi ? x - hi : 0;
        const dn = x < lo ? lo - x : 0;
        gh[i] = up;
        gl[i] = dn;
        sumGap += up + dn;
      }
      if (sumGap <= 0) return false;
      const newRange = rs + sumGap;
      const p = sumGap / newRange;
      const u = 1 / (k + 1);
      for (let i = 0; i < D; i++) {
        ah[i] = (gh[i]! / newRange) * u + (1 - p) * ah[i]!;
        al[i] = (gl[i]! / newRange) * u + (1 - p) * al[i]!;
      }
      return true;
    };
    let saved: number;
    if (sumNew === 0) {
      // q equals the leaf's point: the damped "seen" score, split equally, then given the directions q has relative
      // to the rest of the sample (the union of the sibling subtrees: the "shadow" box), rescaled to that score.
      const m = L16[l * 4 + L_MASS]!;
      saved = (1 - m / (2 * M)) / (depth + L[m]!);
      ah.fill(saved / (2 * D));
      al.fill(saved / (2 * D));
      const sh = this.shadow;
      let child = n;
      let a = L16[l * 4 + L_PARENT]!;
      let k = depth - 1;
      let first = true;
      while (a !== NIL) {
        const g = (ib + a) * 8;
        const sib = N16[g + N_LEFT] === child ? N16[g + N_RIGHT]! : N16[g + N_LEFT]!;
        const isLeaf = sib >= S;
        const A = isLeaf ? P : box;
        const mn = isLeaf ? L32[(t * S + sib - S) * 2]! * D : (ib + sib) * BS;
        const mx = isLeaf ? mn : mn + D;
        let rs = 0;
        for (let i = 0; i < D; i++) {
          const lo = A[mn + i]!;
          const hi = A[mx + i]!;
          if (first || lo < sh[i]!) sh[i] = lo;
          if (first || hi > sh[D + i]!) sh[D + i] = hi;
          rs += sh[D + i]! - sh[i]!;
        }
        first = false;
        if (!blend(sh, 0, D, rs, k)) break;
        child = a;
        a = N16[g + N_PARENT]!;
        k--;
      }
      let norm = 0;
      for (let i = 0; i < D; i++) norm += ah[i]! + al[i]!;
      const scale = norm > 0 ? (saved / norm) * L[M]! : L[M]!;
      for (let i = 0; i < D; i++) {
        high[i]! += ah[i]! * scale;
        low[i]! += al[i]! * scale;
      }
      return;
    }
    saved = 1 / (depth + 1);
    for (let i = 0; i < D; i++) {
      ah[i] = (saved * gh[i]!) / sumNew;
      al[i] = (saved * gl[i]!) / sumNew;
    }
    let a = L16[l * 4 + L_PARENT]!;
    let k = depth - 1;
    while (a !== NIL) {
      const bb = (ib + a) * BS;
      // the same range sum the score uses (cached as float32 when dimensions > 1)
      const rs = this.nodesF[(ib + a) * 4 + 1]!;
      if (!blend(box, bb, bb + D, rs, k)) break;
      a = N16[(ib + a) * 8 + N_PARENT]!;
      k--;
    }
    const scale = L[M]!;
    for (let i = 0; i < D; i++) {
      high[i]! += ah[i]! * scale;
      low[i]! += al[i]! * scale;
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Sampling and tree updates

  /**
   * Offer the point to every tree's sampler: priority w = -timeDecay*seq + log(-log u), accepted while the sampler is
   * not full, else if w is below the sampler's largest (which is evicted). The comparison is done on y = -log(u) against
   * thr[t]·exp(timeDecay·(seq - base)) with thr[t] = exp(top + timeDecay·base), and most draws are decided from u alone
   * against bounds of that threshold valid until the next rebase (no logarithm); the exact float32 test decides the rest.
   */
  private updateTrees(q: Float64Array): void {
    const seq = this.points++;
    const T = this.numTrees;
    const S = this.sampleSize;
    const rng = this.rng;
    const heapW = this.heapW;
    const heapSize = this.heapSize;
    const lambda = this.timeDecay;
    if (!(seq >= this.thrBase && seq < this.thrBase + this.thrSpan)) this.rebase(seq);
    const F = lambda === 0 ? 1 : Math.exp(lambda * (seq - this.thrBase));
    const uLo = this.uLo;
    const uHi = this.uHi;
    const thr = this.thr;
    const decay = -lambda * seq;
    let qi = -1;
    for (let t = 0; t < T; t++) {
      const u = nextOpen(rng, t << 2);
      const full = heapSize[t]! >= S;
      if (full) {
        if (u <= uLo[t]!) continue; // certainly rejected
        if (u <= uHi[t]! && !(-Math.log(u) < thr[t]! * F)) continue;
      }
      const w = Math.fround(decay + Math.log(-Math.log(u)));
      if (full) {
        if (!(w < heapW[t * S]!)) continue;
        this.deleteLeaf(t, this.heapPopMax(t));
      }
      if (qi < 0) {
        qi = this.store.alloc();
        this.store.data.set(q, qi * this.dimensions);
      }
      this.heapPush(t, w, this.insert(t, qi, q));
      this.setThreshold(t);
      if (++this.churn[t]! >= this.relayoutAfter) this.relayout(t);
    }
    if (qi >= 0 && this.store.refs[qi] === 0) this.store.release(qi);
  }

  /** Start a new threshold span at sequence number `seq` and recompute every tree's bounds. */
  private rebase(seq: number): void {
    const lambda = this.timeDecay;
    this.thrBase = seq;
    // the threshold grows by exp(lambda*(seq-base)) within a span: at most 10%
    this.thrSpan = lambda === 0 ? Number.MAX_SAFE_INTEGER : Math.max(1, Math.min(1 << 16, Math.floor(0.1 / lambda)));
    this.thrGrowth = lambda === 0 ? 1 : Math.exp(lambda * (this.thrSpan - 1));
    for (let t = 0; t < this.numTrees; t++) this.setThreshold(t);
  }

  /** Bounds on u for tree t: below uLo a draw is rejected, above uHi accepted, for every seq of the current span. */
  private setThreshold(t: number): void {
    if (this.heapSize[t]! < this.sampleSize) {
      this.uLo[t] = 0;
      this.uHi[t] = 0;
      return;
    }
    const th = Math.exp(this.heapW[t * this.sampleSize]! + this.timeDecay * this.thrBase);
    this.thr[t] = th;
    // accept iff -log(u) < th*F, F in [1, growth]  <=>  u > exp(-th*F)
    this.uLo[t] = Math.exp(-th * this.thrGrowth) * (1 - 1e-12);
    this.uHi[t] = Math.exp(-th) * (1 + 1e-12);
  }

  /** Remove the sampler's largest-weight entry of tree t; returns its leaf slot. */
  private heapPopMax(t: number): number {
    const hb = t * this.sampleSize;
    const W = this.heapW;
    const H = this.heapSlot;
    const top = H[hb]!;
    const size = --this.heapSize[t]!;
    if (size > 0) {
      const w = W[hb + size]!;
      const s = H[hb + size]!;
      let c = 0;
      for (;;) {
        let m = 2 * c + 1;
        if (m >= size) break;
        if (m + 1 < size && W[hb + m + 1]! > W[hb + m]!) m++;
        if (!(W[hb + m]! > w)) break;
        W[hb + c] = W[hb + m]!;
        H[hb + c] = H[hb + m]!;
        c = m;
      }
      W[hb + c] = w;
      H[hb + c] = s;
    }
    return top;
  }

  private heapPush(t: number, w: number, slot: number): void {
    const hb = t * this.sampleSize;
    const W = this.heapW;
    const H = this.heapSlot;
    let c = this.heapSize[t]!++;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (!(W[hb + p]! < w)) break;
      W[hb + c] = W[hb + p]!;
      H[hb + c] = H[hb + p]!;
      c = p;
    }
    W[hb + c] = w;
    H[hb + c] = slot;
  }

  private allocLeaf(t: number, pointIndex: number): number {
    const lb = t * this.sampleSize;
    const s = this.freeLeaf[t]!;
    if (s === NIL) throw new Error(`RCF tree ${t}: no free leaf (bug)`);
    const l = lb + s;
    this.freeLeaf[t] = this.leaves16[l * 4 + L_PARENT]!;
    this.leaves32[l * 2] = pointIndex;
    this.leaves16[l * 4 + L_MASS] = 1;
    this.leaves16[l * 4 + L_PARENT] = NIL;
    this.store.refs[pointIndex]!++;
    return s;
  }

  private allocNode(t: number): number {
    const ib = t * (this.sampleSize - 1);
    const n = this.freeNode[t]!;
    if (n === NIL) throw new Error(`RCF tree ${t}: no free internal node (bug)`);
    this.freeNode[t] = this.nodes16[(ib + n) * 8 + N_LEFT]!;
    return n;
  }

  /** Cache Σ(max-min) of the box of internal node g (global index) in its record. */
  private setRangeSum(g: number): void {
    const D = this.dimensions;
    const box = this.box;
    const bb = g * this.boxStride;
    let rs = 0;
    for (let i = 0; i < D; i++) rs += box[bb + D + i]! - box[bb + i]!;
    this.nodesF[g * 4 + 1] = rs;
  }

  /**
   * Insert the point (store index qi, coordinates q) into tree t, bottom-up as AWS's RandomCutTree.addPoint: from the
   * leaf q reaches, walk up drawing at each node a random cut of (node box ∪ q), remember the highest node whose cut
   * separates q, stop once the box contains q. The new internal node goes above that node. Returns the leaf slot
   * holding q (an existing leaf when q duplicates its point: its mass grows).
   */
  private insert(t: number, qi: number, q: Float64Array): number {
    const S = this.sampleSize;
    const NI = S - 1;
    const D = this.dimensions;
    const BS = this.boxStride;
    const ib = t * NI;
    const lb = t * S;
    const N16 = this.nodes16;
    const NF = this.nodesF;
    const MS = this.mass;
    const L32 = this.leaves32;
    const L16 = this.leaves16;
    const box = this.box;
    const r = this.root[t]!;
    if (r === NIL) {
      const s = this.allocLeaf(t, qi);
      this.root[t] = S + s;
      return s;
    }
    let n = r;
    while (n < S) {
      const g = ib + n;
      n = q[N16[g * 8 + N_DIM]!]! <= NF[g * 4]! ? N16[g * 8 + N_LEFT]! : N16[g * 8 + N_RIGHT]!;
    }
    const leafSlot = n - S;
    const P = this.store.data;
    {
      const pb = L32[(lb + leafSlot) * 2]! * D;
      let eq = 0;
      while (eq < D && P[pb + eq] === q[eq]) eq++;
      if (eq === D) {
        L16[(lb + leafSlot) * 4 + L_MASS]!++;
        for (let a = L16[(lb + leafSlot) * 4 + L_PARENT]!; a !== NIL; a = N16[(ib + a) * 8 + N_PARENT]!) MS[ib + a]!++;
        return leafSlot;
      }
    }
    // walk up from the leaf
    const rng = this.rng;
    const ro = t << 2;
    let node = n;
    let savedNode = n;
    let savedDim = -1;
    let savedVal = 0;
    for (;;) {
      // the box of `node`: a leaf's point, or the cached box
      let A: Float32Array;
      let mn: number;
      let mx: number;
      let par: number;
      if (node >= S) {
        A = P;
        mn = L32[(lb + node - S) * 2]! * D;
        mx = mn;
        par = L16[(lb + node - S) * 4 + L_PARENT]!;
      } else {
        A = box;
        mn = (ib + node) * BS;
        mx = mn + D;
        par = N16[(ib + node) * 8 + N_PARENT]!;
      }
      let range = 0;
      let inside = true;
      for (let i = 0; i < D; i++) {
        const x = q[i]!;
        let lo = A[mn + i]!;
        let hi = A[mx + i]!;
        if (x < lo) {
          lo = x;
          inside = false;
        } else if (x > hi) {
          hi = x;
          inside = false;
        }
        range += hi - lo;
      }
      const factor = nextDouble(rng, ro);
      let breakPoint = factor * range;
      let dim = -1;
      let val = 0;
      for (let i = 0; i < D; i++) {
        const x = q[i]!;
        let lo = A[mn + i]!;
        let hi = A[mx + i]!;
        if (x < lo) lo = x;
        else if (x > hi) hi = x;
        const gap = hi - lo;
        if (breakPoint <= gap && gap > 0) {
          dim = i;
          val = Math.fround(lo + breakPoint);
          if (val >= hi) val = nextDownF32(hi);
          break;
        }
        breakPoint -= gap;
      }
      if (dim < 0) {
        // rounding left breakPoint past the last range: cut just below the top of the last non-empty range
        for (let i = D - 1; i >= 0; i--) {
          const x = q[i]!;
          const hi = x > A[mx + i]! ? x : A[mx + i]!;
          const lo = x < A[mn + i]! ? x : A[mn + i]!;
          if (hi > lo) {
            dim = i;
            val = nextDownF32(hi);
            break;
          }
        }
      }
      if (dim >= 0) {
        const x = q[dim]!;
        if ((x <= val && val < A[mn + dim]!) || (x > val && val >= A[mx + dim]!)) {
          savedNode = node;
          savedDim = dim;
          savedVal = val;
        }
      }
      if (inside || par === NIL) break;
      node = par;
    }
    if (savedDim < 0) throw new Error(`RCF tree ${t}: no separating cut for a new point (bug)`);
    // new leaf and internal node above savedNode
    const newLeaf = this.allocLeaf(t, qi);
    const N = this.allocNode(t);
    const g = (ib + N) * 8;
    let par: number;
    NF[(ib + N) * 4] = savedVal;
    N16[g + N_DIM] = savedDim;
    if (q[savedDim]! <= savedVal) {
      N16[g + N_LEFT] = S + newLeaf;
      N16[g + N_RIGHT] = savedNode;
    } else {
      N16[g + N_LEFT] = savedNode;
      N16[g + N_RIGHT] = S + newLeaf;
    }
    L16[(lb + newLeaf) * 4 + L_PARENT] = N;
    const nb = (ib + N) * BS;
    if (savedNode >= S) {
      const sl = (lb + savedNode - S) * 4;
      par = L16[sl + L_PARENT]!;
      L16[sl + L_PARENT] = N;
      MS[ib + N] = L16[sl + L_MASS]! + 1;
      const sp = L32[(lb + savedNode - S) * 2]! * D;
      for (let i = 0; i < D; i++) {
        const v = P[sp + i]!;
        const x = q[i]!;
        box[nb + i] = x < v ? x : v;
        box[nb + D + i] = x > v ? x : v;
      }
    } else {
      const sg = (ib + savedNode) * 8;
      par = N16[sg + N_PARENT]!;
      N16[sg + N_PARENT] = N;
      MS[ib + N] = MS[ib + savedNode]! + 1;
      const sb = (ib + savedNode) * BS;
      for (let i = 0; i < D; i++) {
        const lo = box[sb + i]!;
        const hi = box[sb + D + i]!;
        const x = q[i]!;
        box[nb + i] = x < lo ? x : lo;
        box[nb + D + i] = x > hi ? x : hi;
      }
    }
    this.setRangeSum(ib + N);
    N16[g + N_PARENT] = par;
    if (par === NIL) {
      this.root[t] = N;
    } else {
      const pg = (ib + par) * 8;
      if (N16[pg + N_LEFT] === savedNode) N16[pg + N_LEFT] = N;
      else N16[pg + N_RIGHT] = N;
    }
    // ancestors: one more point; grow boxes until one already contains q
    let grow = true;
    for (let a = par; a !== NIL; a = N16[(ib + a) * 8 + N_PARENT]!) {
      MS[ib + a]!++;
      if (grow) {
        const bb = (ib + a) * BS;
        let changed = false;
        for (let i = 0; i < D; i++) {
          const x = q[i]!;
          if (x < box[bb + i]!) {
            box[bb + i] = x;
            changed = true;
          } else if (x > box[bb + D + i]!) {
            box[bb + D + i] = x;
            changed = true;
          }
        }
        if (changed) this.setRangeSum(ib + a);
        grow = changed;
      }
    }
    return newLeaf;
  }

  /**
   * Remove one unit of mass from leaf `slot` of tree t (AWS's deletePoint): a leaf left empty is removed and its
   * sibling takes its parent's place; ancestors' boxes shrink until one does not change.
   */
  private deleteLeaf(t: number, slot: number): void {
    const S = this.sampleSize;
    const NI = S - 1;
    const D = this.dimensions;
    const BS = this.boxStride;
    const ib = t * NI;
    const N16 = this.nodes16;
    const MS = this.mass;
    const L32 = this.leaves32;
    const L16 = this.leaves16;
    const box = this.box;
    const l = t * S + slot;
    const m = --L16[l * 4 + L_MASS]!;
    const par = L16[l * 4 + L_PARENT]!;
    if (m > 0) {
      for (let a = par; a !== NIL; a = N16[(ib + a) * 8 + N_PARENT]!) MS[ib + a]!--;
      return;
    }
    const pi = L32[l * 2]!;
    const leafId = S + slot;
    // free the leaf
    L32[l * 2] = -1;
    L16[l * 4 + L_PARENT] = this.freeLeaf[t]!;
    this.freeLeaf[t] = slot;
    if (par === NIL) {
      this.root[t] = NIL;
    } else {
      const pg = (ib + par) * 8;
      const sib = N16[pg + N_LEFT] === leafId ? N16[pg + N_RIGHT]! : N16[pg + N_LEFT]!;
      const gp = N16[pg + N_PARENT]!;
      if (sib >= S) L16[(t * S + sib - S) * 4 + L_PARENT] = gp;
      else N16[(ib + sib) * 8 + N_PARENT] = gp;
      if (gp === NIL) {
        this.root[t] = sib;
      } else {
        const gg = (ib + gp) * 8;
        if (N16[gg + N_LEFT] === par) N16[gg + N_LEFT] = sib;
        else N16[gg + N_RIGHT] = sib;
      }
      // free the parent
      N16[pg + N_LEFT] = this.freeNode[t]!;
      N16[pg + N_RIGHT] = NIL;
      N16[pg + N_PARENT] = NIL;
      MS[ib + par] = 0;
      this.freeNode[t] = par;
      // ancestors: one point less; rebuild boxes while the deleted point was on their boundary and they change
      const P = this.store.data;
      const pb = pi * D;
      let shrink = true;
      for (let a = gp; a !== NIL; a = N16[(ib + a) * 8 + N_PARENT]!) {
        MS[ib + a]!--;
        if (!shrink) continue;
        const bb = (ib + a) * BS;
        let strictlyInside = true;
        for (let i = 0; i < D; i++) {
          const x = P[pb + i]!;
          if (!(x > box[bb + i]! && x < box[bb + D + i]!)) {
            strictlyInside = false;
            break;
          }
        }
        if (strictlyInside) {
          shrink = false;
          continue;
        }
        shrink = this.rebuildBox(t, a);
      }
    }
    const refs = this.store.refs;
    if (--refs[pi]! === 0) this.store.release(pi);
  }

  /**
   * Renumber tree t's internal nodes in depth-first pre-order (records, masses and boxes move with them; free nodes
   * follow). Node ids change, nothing else: a descent then reads neighbouring records and its ascent neighbouring
   * boxes, which matters because scoring is bound by memory latency. Run after every relayoutAfter new nodes.
   */
  private relayout(t: number): void {
    this.churn[t] = 0;
    const S = this.sampleSize;
    const NI = S - 1;
    const r = this.root[t]!;
    if (r === NIL || r >= S) return;
    const BS = this.boxStride;
    const ib = t * NI;
    const N16 = this.nodes16;
    const L16 = this.leaves16;
    const order = this.scratchOrder;
    const id = this.scratchId;
    const stack = this.scratchNodes; // as a stack of ids first, then the new records
    let sp = 0;
    let count = 0;
    stack[sp++] = r;
    while (sp > 0) {
      const n = stack[--sp]!;
      id[n] = count;
      order[count++] = n;
      const rr = N16[(ib + n) * 8 + N_RIGHT]!;
      const ll = N16[(ib + n) * 8 + N_LEFT]!;
      if (rr < S) stack[sp++] = rr;
      if (ll < S) stack[sp++] = ll;
    }
    const recs = this.scratchNodes;
    const mass = this.scratchMass;
    const boxes = this.scratchBox;
    for (let k = 0; k < count; k++) {
      const o = ib + order[k]!;
      for (let h = 0; h < 8; h++) recs[k * 8 + h] = N16[o * 8 + h]!;
      const ll = recs[k * 8 + N_LEFT]!;
      const rr = recs[k * 8 + N_RIGHT]!;
      const pp = recs[k * 8 + N_PARENT]!;
      recs[k * 8 + N_LEFT] = ll < S ? id[ll]! : ll;
      recs[k * 8 + N_RIGHT] = rr < S ? id[rr]! : rr;
      recs[k * 8 + N_PARENT] = pp === NIL ? NIL : id[pp]!;
      if (ll >= S) L16[(t * S + ll - S) * 4 + L_PARENT] = k;
      if (rr >= S) L16[(t * S + rr - S) * 4 + L_PARENT] = k;
      mass[k] = this.mass[o]!;
      boxes.set(this.box.subarray(o * BS, o * BS + BS), k * BS);
    }
    N16.set(recs.subarray(0, count * 8), ib * 8);
    this.mass.set(mass.subarray(0, count), ib);
    this.box.set(boxes.subarray(0, count * BS), ib * BS);
    for (let n = count; n < NI; n++) {
      const g = (ib + n) * 8;
      N16[g + N_LEFT] = n + 1 < NI ? n + 1 : NIL;
      N16[g + N_RIGHT] = NIL;
      N16[g + N_PARENT] = NIL;
      this.mass[ib + n] = 0;
    }
    this.freeNode[t] = count < NI ? count : NIL;
    this.root[t] = 0;
  }

  /** box(a) = box(left) ∪ box(right) for internal node a of tree t; true if it changed. */
  private rebuildBox(t: number, a: number): boolean {
    const S = this.sampleSize;
    const D = this.dimensions;
    const BS = this.boxStride;
    const box = this.box;
    const ib = t * (S - 1);
    const bb = (ib + a) * BS;
    const g = (ib + a) * 8;
    const l = this.nodes16[g + N_LEFT]!;
    const r = this.nodes16[g + N_RIGHT]!;
    const P = this.store.data;
    const leftLeaf = l >= S;
    const rightLeaf = r >= S;
    const A1 = leftLeaf ? P : box;
    const mn1 = leftLeaf ? this.leaves32[(t * S + l - S) * 2]! * D : (ib + l) * BS;
    const mx1 = leftLeaf ? mn1 : mn1 + D;
    const A2 = rightLeaf ? P : box;
    const mn2 = rightLeaf ? this.leaves32[(t * S + r - S) * 2]! * D : (ib + r) * BS;
    const mx2 = rightLeaf ? mn2 : mn2 + D;
    let changed = false;
    for (let i = 0; i < D; i++) {
      const a1 = A1[mn1 + i]!;
      const a2 = A2[mn2 + i]!;
      const lo = a1 < a2 ? a1 : a2;
      const b1 = A1[mx1 + i]!;
      const b2 = A2[mx2 + i]!;
      const hi = b1 > b2 ? b1 : b2;
      if (box[bb + i] !== lo) {
        box[bb + i] = lo;
        changed = true;
      }
      if (box[bb + D + i] !== hi) {
        box[bb + D + i] = hi;
        changed = true;
      }
    }
    if (changed) this.setRangeSum(ib + a);
    return changed;
  }

  /** Recompute every cached box of tree t bottom-up (after loading). */
  private rebuildBoxes(t: number): void {
    const S = this.sampleSize;
    const NI = S - 1;
    const r = this.root[t]!;
    if (r === NIL || r >= S) return;
    const ib = t * NI;
    const stack = new Uint16Array(NI);
    const visited = new Uint8Array(NI);
    let sp = 0;
    stack[sp++] = r;
    while (sp > 0) {
      const n = stack[sp - 1]!;
      if (!visited[n]) {
        visited[n] = 1;
        const l = this.nodes16[(ib + n) * 8 + N_LEFT]!;
        const rr = this.nodes16[(ib + n) * 8 + N_RIGHT]!;
        if (rr < S) stack[sp++] = rr;
        if (l < S) stack[sp++] = l;
      } else {
        sp--;
        this.rebuildBox(t, n);
        this.setRangeSum(ib + n);
      }
    }
  }

  /** Scoring-only batch: scores of n rows (row-major, `dimensions` values each), no update. */
  scoreRows(rows: ArrayLike<number>, n: number): Float64Array {
    if (this.shingleSize !== 1) throw new ForestInputError('scoreRows needs a forest without shingling (shingleSize 1)');
    const D = this.dimensions;
    if (rows.length < n * D) throw new ForestInputError(`scoreRows: ${rows.length} values for ${n} rows of ${D}`);
    const out = new Float64Array(n);
    const row = new Float64Array(D);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < D; i++) row[i] = rows[r * D + i]!;
      out[r] = this.scorePoint(row);
    }
    return out;
  }

  /**
   * Batch training (see trainBatch below): each tree's sampler draws its sample of the n rows (row-major,
   * `dimensions` values each) as a stream with no scoring, then the tree is built from it. Only on a fresh forest
   * without shingling. Afterwards the forest is as if the rows had been streamed through update().
   */
  absorbRows(rows: ArrayLike<number>, n: number): void {
    if (this.shingleSize !== 1) throw new ForestInputError('batch training needs a forest without shingling (shingleSize 1)');
    if (this.updates !== 0) throw new ForestInputError('batch training needs a fresh forest');
    const D = this.dimensions;
    if (!Number.isInteger(n) || n < 0 || rows.length < n * D) throw new ForestInputError(`batch training: ${rows.length} values for ${n} rows of ${D}`);
    for (let k = 0; k < n * D; k++) {
      const v = Math.fround(rows[k]!);
      if (!Number.isFinite(v)) {
        throw new ForestInputError(`batch training: row ${Math.floor(k / D) + 1} value ${(k % D) + 1} is ${String(rows[k])}: values must be finite and within float32 range`);
      }
    }
    const T = this.numTrees;
    const S = this.sampleSize;
    const rng = this.rng;
    const storeIdx = new Int32Array(n).fill(-1);
    const wts = new Float32Array(S);
    const rowOf = new Int32Array(S);
    const order = new Int32Array(S);
    const q = this.q;
    for (let t = 0; t < T; t++) {
      // the sampler alone over the stream: keep the S smallest priorities (max-heap)
      let size = 0;
      const o = t << 2;
      for (let i = 0; i < n; i++) {
        const w = Math.fround(-this.timeDecay * i + Math.log(-Math.log(nextOpen(rng, o))));
        let c: number;
        if (size < S) {
          c = size++;
          while (c > 0) {
            const p = (c - 1) >> 1;
            if (!(wts[p]! < w)) break;
            wts[c] = wts[p]!;
            rowOf[c] = rowOf[p]!;
            c = p;
          }
        } else {
          if (!(w < wts[0]!)) continue;
          c = 0;
          for (;;) {
            let m = 2 * c + 1;
            if (m >= size) break;
            if (m + 1 < size && wts[m + 1]! > wts[m]!) m++;
            if (!(wts[m]! > w)) break;
            wts[c] = wts[m]!;
            rowOf[c] = rowOf[m]!;
            c = m;
          }
        }
        wts[c] = w;
        rowOf[c] = i;
      }
      // insert the sample in stream order
      for (let k = 0; k < size; k++) order[k] = k;
      const ord = order.subarray(0, size).sort((a, b) => rowOf[a]! - rowOf[b]!);
      for (let k = 0; k < size; k++) {
        const e = ord[k]!;
        const row = rowOf[e]!;
        for (let i = 0; i < D; i++) {
          const v = Math.fround(rows[row * D + i]!);
          q[i] = v === 0 ? 0 : v;
        }
        let qi = storeIdx[row]!;
        if (qi < 0) {
          qi = this.store.alloc();
          storeIdx[row] = qi;
          this.store.data.set(q, qi * D);
        }
        this.heapPush(t, wts[e]!, this.insert(t, qi, q));
      }
    }
    for (let i = 0; i < n; i++) {
      const qi = storeIdx[i]!;
      if (qi >= 0 && this.store.refs[qi] === 0) this.store.release(qi);
    }
    for (let t = 0; t < T; t++) this.relayout(t);
    this.points = n;
    this.updates = n;
    if (n > 0) for (let i = 0; i < D; i++) this.shingle[i] = Math.fround(rows[(n - 1) * D + i]!);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Size and state

  /** Bytes of typed-array storage: total, and per tree (the point store shared out equally); live points. */
  memoryBytes(): { total: number; perTree: number; points: number } {
    const arrays = [
      this.root, this.freeNode, this.freeLeaf, this.churn, this.scratchOrder, this.scratchId, this.scratchNodes,
      this.scratchMass, this.scratchBox, this.nodes16, this.mass, this.leaves32, this.box, this.heapW, this.heapSlot,
      this.heapSize, this.rng, this.thr, this.uLo, this.uHi, this.shingle, this.q, this.log2p1, this.inv, this.ah, this.al, this.gh, this.gl, this.shadow,
    ];
    let total = this.store.bytes();
    for (const a of arrays) total += a.byteLength;
    return { total, perTree: total / this.numTrees, points: this.store.size };
  }

  /** Versioned binary state: options, counters, shingle, trees, samplers, random streams and the live points. */
  toState(): Uint8Array {
    const T = this.numTrees;
    const S = this.sampleSize;
    const D = this.dimensions;
    // live points, renumbered 0..live-1 in index order
    const refs = this.store.refs;
    const remap = new Int32Array(this.store.capacity).fill(-1);
    let live = 0;
    for (let i = 0; i < this.store.capacity; i++) if (refs[i]! > 0) remap[i] = live++;
    const pts = new Float32Array(live * D);
    const data = this.store.data;
    for (let i = 0; i < this.store.capacity; i++) {
      const j = remap[i]!;
      if (j >= 0) pts.set(data.subarray(i * D, i * D + D), j * D);
    }
    const leaves = this.leaves32.slice();
    for (let l = 0; l < T * S; l++) {
      const p = leaves[l * 2]!;
      leaves[l * 2] = p >= 0 ? remap[p]! : -1;
    }
    const w = new StateWriter(STATE_MAGIC, STATE_VERSION, {
      inputDims: this.inputDims,
      shingleSize: this.shingleSize,
      numTrees: T,
      sampleSize: S,
      timeDecay: this.timeDecay,
      outputAfter: this.outputAfter,
      seed: this.seed,
      updates: this.updates,
      points: this.points,
      livePoints: live,
    });
    w.array(this.shingle);
    w.array(this.rng);
    w.array(this.root);
    w.array(this.freeNode);
    w.array(this.freeLeaf);
    w.array(this.churn);
    w.array(this.nodes16);
    w.array(this.mass);
    w.array(leaves);
    w.array(this.heapW);
    w.array(this.heapSlot);
    w.array(this.heapSize);
    w.array(pts);
    return w.finish();
  }

  static fromState(bytes: Uint8Array): RandomCutForest {
    const rd = new StateReader(bytes, STATE_MAGIC, STATE_VERSION, 'RCF forest');
    const numTrees = rd.num('numTrees', 1, 100000);
    const sampleSize = rd.num('sampleSize', 1, MAX_SAMPLE_SIZE);
    const f = new RandomCutForest({
      inputDims: rd.num('inputDims', 1, 65535),
      shingleSize: rd.num('shingleSize', 1, 65535),
      numTrees,
      sampleSize,
      timeDecay: rd.num('timeDecay', 0, Number.MAX_VALUE, false),
      outputAfter: rd.num('outputAfter', 0, Number.MAX_SAFE_INTEGER),
      seed: rd.num('seed', 0, 0xffffffff),
    });
    f.updates = rd.num('updates', 0, Number.MAX_SAFE_INTEGER);
    f.points = rd.num('points', 0, Number.MAX_SAFE_INTEGER);
    const live = rd.num('livePoints', 0, numTrees * sampleSize);
    const T = numTrees;
    const S = sampleSize;
    const D = f.dimensions;
    f.shingle.set(rd.array(Float32Array, D, 'shingle'));
    f.rng.set(rd.array(Uint32Array, T * 4, 'rng'));
    f.root.set(rd.array(Uint16Array, T, 'root'));
    f.freeNode.set(rd.array(Uint16Array, T, 'freeNode'));
    f.freeLeaf.set(rd.array(Uint16Array, T, 'freeLeaf'));
    f.churn.set(rd.array(Uint16Array, T, 'churn'));
    f.nodes16.set(rd.array(Uint16Array, T * (S - 1) * 8, 'nodes'));
    f.mass.set(rd.array(Uint16Array, T * (S - 1), 'mass'));
    f.leaves32.set(rd.array(Int32Array, T * S * 2, 'leaves'));
    f.heapW.set(rd.array(Float32Array, T * S, 'heapW'));
    f.heapSlot.set(rd.array(Uint16Array, T * S, 'heapSlot'));
    f.heapSize.set(rd.array(Int32Array, T, 'heapSize'));
    const pts = rd.array(Float32Array, live * D, 'points');
    rd.end();
    // the point store: the live points, then room to grow
    const store = new PointStore(D, T * S + 1, Math.max(live + 1, 2 * S + 1));
    store.data.set(pts);
    for (let i = 0; i < live; i++) store.alloc(); // hands out 0..live-1
    f.store = store;
    for (let l = 0; l < T * S; l++) {
      const p = f.leaves32[l * 2]!;
      if (p < -1 || p >= live) throw new ForestStateError(`RCF forest: leaf ${l % S} of tree ${Math.floor(l / S)} names point ${p} of ${live}`);
      if (p >= 0) store.refs[p]!++; // recounted from the leaves; the checker compares with the reachable ones
    }
    const problems = checkForest(f, { structureOnly: true });
    if (problems.length > 0) throw new ForestStateError(`RCF forest: inconsistent state: ${problems.slice(0, 3).join('; ')}`);
    for (let t = 0; t < T; t++) f.rebuildBoxes(t);
    return f;
  }
}

const NODE_FIELD: Record<Exclude<NodeField, 'cutVal' | 'mass'>, number> = {
  cutDim: N_DIM,
  left: N_LEFT,
  right: N_RIGHT,
  parent: N_PARENT,
};

/**
 * Batch training with SageMaker RCF's semantics: the model is fitted once on a matrix of rows and then scores without
 * updating. Each tree draws a uniform sample of `sampleSize` rows without replacement (a reservoir over the rows; no
 * time decay) and is built from it. SageMaker draws one reservoir sample of numTrees*sampleSize rows and partitions
 * it among the trees, so its trees' samples are disjoint; here each tree samples independently, which is the same
 * when the rows far outnumber numTrees*sampleSize and keeps every tree full when they do not.
 */
export interface BatchOptions {
  /** SageMaker `num_trees`, default 100 (SageMaker allows 50..1000). */
  numTrees?: number;
  /** SageMaker `num_samples_per_tree`, default 256 (SageMaker allows 1..2048). */
  sampleSize?: number;
  seed?: number;
  /** Sampler decay over the row order, default 0 (SageMaker's uniform sample). */
  timeDecay?: number;
}

/** A forest trained on n rows of `dim` values (row-major); it scores from the first row on (outputAfter 1). */
export function trainBatch(rows: ArrayLike<number>, n: number, dim: number, opts: BatchOptions = {}): RandomCutForest {
  const forest = new RandomCutForest({
    inputDims: dim,
    numTrees: opts.numTrees ?? 100,
    sampleSize: opts.sampleSize ?? 256,
    timeDecay: opts.timeDecay ?? 0,
    outputAfter: 1,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  });
  forest.absorbRows(rows, n);
  return forest;
}
