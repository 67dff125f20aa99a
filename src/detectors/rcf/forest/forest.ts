/**
 * Random Cut Forest over typed arrays: the streaming algorithm of Guha et al. (ICML 2016) as AWS's
 * random-cut-forest-by-aws implements it (bottom-up insertion, time-decayed reservoir samplers, the "expected inverse
 * depth" score and its DiVector attribution). See ../README.md for the algorithm and how it maps to AWS's library.
 *
 * Layout. No object per node: every tree's nodes live in forest-wide typed arrays, tree t at a fixed offset.
 *   internal nodes  id 0..S-2       cutDim, cutVal, left, right, parent, mass, box (min[D], max[D] as float32)
 *   leaves          id S..2S-1      leafPoint (index into the shared PointStore), leafMass, leafParent
 *   NIL = 0xffff (so S <= 32767); free internal nodes are chained through `left`, free leaves through `leafParent`.
 *   sampler         a max-heap of (float32 weight, leaf slot) per tree: the S smallest priorities
 *                   -timeDecay*seq + log(-log(u)) seen so far; a heap entry names the leaf holding its point (a leaf
 *                   with mass m is named by m entries), so evicting deletes from the tree without a search.
 *   rng             one xoshiro128** stream per tree (4 words each) for sampler draws and cuts.
 * Points are float32, as in AWS's library; arithmetic is in float64.
 */
import { ConfigError } from '../../../core/errors.js';
import { ForestInputError, ForestStateError } from './errors.js';
import { PointStore } from './point-store.js';
import { nextDouble, nextOpen, seedStreams } from './random.js';
import { StateReader, StateWriter } from './state.js';
import { checkForest } from './check.js';
import { MAX_SAMPLE_SIZE, NIL } from './layout.js';

export { NIL, MAX_SAMPLE_SIZE };
const STATE_MAGIC = 'RCFF';
const STATE_VERSION = 1;

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

/** The next float32 below `x` towards `toward` (Math.nextAfter((float) x, toward) for toward < x). */
const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
function nextDownF32(x: number): number {
  f32[0] = x;
  if (x === 0) return -1.401298464324817e-45;
  if (x > 0) i32[0]! -= 1;
  else i32[0]! += 1;
  return f32[0]!;
}

export class RandomCutForest {
  readonly inputDims: number;
  readonly shingleSize: number;
  readonly dimensions: number;
  readonly numTrees: number;
  readonly sampleSize: number;
  readonly timeDecay: number;
  readonly outputAfter: number;
  readonly seed: number;

  /** update() calls so far. */
  updates = 0;
  /** Points formed so far (update() calls once the shingle is full): the samplers' sequence number. */
  points = 0;

  // ---- trees (see the header for the layout) ----
  readonly root: Uint16Array;
  readonly freeNode: Uint16Array;
  readonly freeLeaf: Uint16Array;
  readonly cutDim: Uint16Array;
  readonly cutVal: Float32Array;
  readonly left: Uint16Array;
  readonly right: Uint16Array;
  readonly parent: Uint16Array;
  readonly mass: Uint16Array;
  readonly box: Float32Array;
  readonly leafPoint: Int32Array;
  readonly leafMass: Uint16Array;
  readonly leafParent: Uint16Array;
  // ---- samplers ----
  readonly heapW: Float32Array;
  readonly heapSlot: Uint16Array;
  readonly heapSize: Int32Array;
  readonly rng: Uint32Array;
  // ---- points ----
  store: PointStore;
  /** The last `dimensions` input values (oldest first), float32. */
  readonly shingle: Float32Array;

  // ---- scratch ----
  private readonly q: Float64Array;
  private readonly log2p1: Float64Array;
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
    if (!Number.isFinite(td) || td < 0) throw new ConfigError(`RCF option timeDecay must be a finite number >= 0, got ${String(opts.timeDecay)}`, ['timeDecay']);
    this.timeDecay = td;
    this.outputAfter = intOption('outputAfter', opts.outputAfter, Math.max(1, Math.floor(this.sampleSize / 4)), 0, Number.MAX_SAFE_INTEGER);
    this.seed = intOption('seed', opts.seed, 42, 0, 0xffffffff);

    const T = this.numTrees;
    const S = this.sampleSize;
    const NI = Math.max(S - 1, 0);
    const D = this.dimensions;
    this.root = new Uint16Array(T).fill(NIL);
    this.freeNode = new Uint16Array(T);
    this.freeLeaf = new Uint16Array(T);
    this.cutDim = new Uint16Array(T * NI);
    this.cutVal = new Float32Array(T * NI);
    this.left = new Uint16Array(T * NI);
    this.right = new Uint16Array(T * NI).fill(NIL);
    this.parent = new Uint16Array(T * NI).fill(NIL);
    this.mass = new Uint16Array(T * NI);
    this.box = new Float32Array(T * NI * 2 * D);
    this.leafPoint = new Int32Array(T * S).fill(-1);
    this.leafMass = new Uint16Array(T * S);
    this.leafParent = new Uint16Array(T * S);
    this.heapW = new Float32Array(T * S);
    this.heapSlot = new Uint16Array(T * S);
    this.heapSize = new Int32Array(T);
    this.rng = new Uint32Array(T * 4);
    seedStreams(this.rng, this.seed);
    for (let t = 0; t < T; t++) this.resetFreeLists(t);
    this.store = new PointStore(D, T * S + 1, 2 * S + 1);
    this.shingle = new Float32Array(D);
    this.q = new Float64Array(D);
    this.log2p1 = new Float64Array(S + 2);
    for (let m = 0; m < S + 2; m++) this.log2p1[m] = Math.log2(m + 1);
    this.ah = new Float64Array(D);
    this.al = new Float64Array(D);
    this.gh = new Float64Array(D);
    this.gl = new Float64Array(D);
    this.shadow = new Float64Array(2 * D);
  }

  /** Every node of tree t free (chains through left / leafParent). */
  private resetFreeLists(t: number): void {
    const S = this.sampleSize;
    const NI = Math.max(S - 1, 0);
    const ib = t * NI;
    for (let n = 0; n < NI; n++) this.left[ib + n] = n + 1 < NI ? n + 1 : NIL;
    this.freeNode[t] = NI > 0 ? 0 : NIL;
    const lb = t * S;
    for (let s = 0; s < S; s++) this.leafParent[lb + s] = s + 1 < S ? s + 1 : NIL;
    this.freeLeaf[t] = 0;
  }

  /** True once score() gives scores: outputAfter updates seen and the trees hold points. */
  isReady(): boolean {
    return this.updates >= this.outputAfter && this.points > 0;
  }

  /** Mass (points sampled) of tree t. */
  treeMass(t: number): number {
    const r = this.root[t]!;
    if (r === NIL) return 0;
    return r < this.sampleSize ? this.mass[t * (this.sampleSize - 1) + r]! : this.leafMass[t * this.sampleSize + r - this.sampleSize]!;
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

  /** Score a point of `dimensions` values as is (no shingle), e.g. a full shingle built by the caller. */
  scorePoint(point: ArrayLike<number>): number {
    const D = this.dimensions;
    if (point.length !== D) throw new ForestInputError(`RCF point has ${point.length} values, expected ${D}`);
    const q = this.q;
    for (let i = 0; i < D; i++) {
      const v = Math.fround(point[i]!);
      if (!Number.isFinite(v)) throw new ForestInputError(`RCF point value ${i} is ${String(point[i])}: values must be finite and within float32 range`);
      q[i] = v === 0 ? 0 : v;
    }
    return this.isReady() ? this.scoreQ(q) : 0;
  }

  private commit(q: Float64Array): void {
    this.shingle.set(q);
    this.updates++;
    if (this.updates >= this.shingleSize) this.updateTrees(q);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Scoring

  private scoreQ(q: Float64Array): number {
    const S = this.sampleSize;
    const NI = S - 1;
    const D = this.dimensions;
    const D2 = 2 * D;
    const T = this.numTrees;
    const root = this.root;
    const cutDim = this.cutDim;
    const cutVal = this.cutVal;
    const left = this.left;
    const right = this.right;
    const parent = this.parent;
    const mass = this.mass;
    const box = this.box;
    const leafPoint = this.leafPoint;
    const leafMass = this.leafMass;
    const leafParent = this.leafParent;
    const P = this.store.data;
    const L = this.log2p1;
    let total = 0;
    for (let t = 0; t < T; t++) {
      const r = root[t]!;
      if (r === NIL) continue;
      const ib = t * NI;
      const lb = t * S;
      let n = r;
      let depth = 0;
      while (n < S) {
        const g = ib + n;
        n = q[cutDim[g]!]! <= cutVal[g]! ? left[g]! : right[g]!;
        depth++;
      }
      const slot = lb + n - S;
      const M = r < S ? mass[ib + r]! : leafMass[lb + r - S]!;
      const pb = leafPoint[slot]! * D;
      let i = 0;
      while (i < D && P[pb + i] === q[i]) i++;
      if (i === D) {
        const m = leafMass[slot]!;
        total += ((1 - m / (2 * M)) / (depth + L[m]!)) * L[M]!;
        continue;
      }
      let score = 1 / (depth + 1);
      let a = leafParent[slot]!;
      let k = depth;
      while (a !== NIL) {
        const bb = (ib + a) * D2;
        let out = 0;
        let range = 0;
        for (let j = 0; j < D; j++) {
          const lo = box[bb + j]!;
          const hi = box[bb + D + j]!;
          const x = q[j]!;
          range += hi - lo;
          if (x < lo) out += lo - x;
          else if (x > hi) out += x - hi;
        }
        if (out === 0) break;
        const p = out / (range + out);
        score = p / k + (1 - p) * score; // k = depth of a + 1
        k--;
        a = parent[ib + a]!;
      }
      total += score * L[M]!;
    }
    return total / T;
  }

  /** Directional attribution (DiVector) of the point formed by `input`: Σ high + low = score(input). */
  attribution(input: ArrayLike<number>): DiVector {
    const q = this.formPoint(input);
    return this.attributionQ(q);
  }

  /** attribution() of a point of `dimensions` values as is. */
  attributionPoint(point: ArrayLike<number>): DiVector {
    this.scorePoint(point); // validates and fills q
    return this.attributionQ(this.q);
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
    const D2 = 2 * D;
    const r = this.root[t]!;
    if (r === NIL) return;
    const ib = t * NI;
    const lb = t * S;
    const { cutDim, cutVal, left, right, parent, box, leafPoint, leafMass, leafParent } = this;
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
      n = q[cutDim[g]!]! <= cutVal[g]! ? left[g]! : right[g]!;
      depth++;
    }
    const slot = lb + n - S;
    const M = this.treeMass(t);
    const pb = leafPoint[slot]! * D;
    let sumNew = 0;
    for (let i = 0; i < D; i++) {
      const d = q[i]! - P[pb + i]!;
      gh[i] = d > 0 ? d : 0;
      gl[i] = d < 0 ? -d : 0;
      sumNew += d > 0 ? d : -d;
    }
    if (sumNew === 0) {
      // q equals the leaf's point: the damped "seen" score, split equally, then given the directions q has relative
      // to the rest of the sample (the sibling subtrees: the "shadow" box), and rescaled to that score.
      const m = leafMass[slot]!;
      const saved = (1 - m / (2 * M)) / (depth + L[m]!);
      ah.fill(saved / (2 * D));
      al.fill(saved / (2 * D));
      const sh = this.shadow;
      let child = n;
      let a = leafParent[slot]!;
      let k = depth - 1;
      let first = true;
      while (a !== NIL) {
        const g = ib + a;
        const sib = left[g] === child ? right[g]! : left[g]!;
        // shadow ∪= box(sib)
        if (sib >= S) {
          const sp = leafPoint[lb + sib - S]! * D;
          for (let i = 0; i < D; i++) {
            const v = P[sp + i]!;
            if (first || v < sh[i]!) sh[i] = v;
            if (first || v > sh[D + i]!) sh[D + i] = v;
          }
        } else {
          const sb = (ib + sib) * D2;
          for (let i = 0; i < D; i++) {
            const lo = box[sb + i]!;
            const hi = box[sb + D + i]!;
            if (first || lo < sh[i]!) sh[i] = lo;
            if (first || hi > sh[D + i]!) sh[D + i] = hi;
          }
        }
        first = false;
        let sumGap = 0;
        let newRange = 0;
        for (let i = 0; i < D; i++) {
          const lo = sh[i]!;
          const hi = sh[D + i]!;
          const x = q[i]!;
          const up = x > hi ? x - hi : 0;
          const dn = x < lo ? lo - x : 0;
          gh[i] = up;
          gl[i] = dn;
          sumGap += up + dn;
          newRange += hi - lo + up + dn;
        }
        if (sumGap <= 0) break;
        const p = sumGap / newRange;
        const u = 1 / (k + 1);
        for (let i = 0; i < D; i++) {
          ah[i] = (gh[i]! / newRange) * u + (1 - p) * ah[i]!;
          al[i] = (gl[i]! / newRange) * u + (1 - p) * al[i]!;
        }
        child = a;
        a = parent[g]!;
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
    const leafScore = 1 / (depth + 1);
    for (let i = 0; i < D; i++) {
      ah[i] = (leafScore * gh[i]!) / sumNew;
      al[i] = (leafScore * gl[i]!) / sumNew;
    }
    let a = leafParent[slot]!;
    let k = depth - 1;
    while (a !== NIL) {
      const bb = (ib + a) * D2;
      let sumGap = 0;
      let newRange = 0;
      for (let i = 0; i < D; i++) {
        const lo = box[bb + i]!;
        const hi = box[bb + D + i]!;
        const x = q[i]!;
        const up = x > hi ? x - hi : 0;
        const dn = x < lo ? lo - x : 0;
        gh[i] = up;
        gl[i] = dn;
        sumGap += up + dn;
        newRange += hi - lo + up + dn;
      }
      if (sumGap <= 0) break;
      const p = sumGap / newRange;
      const u = 1 / (k + 1);
      for (let i = 0; i < D; i++) {
        ah[i] = (gh[i]! / newRange) * u + (1 - p) * ah[i]!;
        al[i] = (gl[i]! / newRange) * u + (1 - p) * al[i]!;
      }
      a = parent[ib + a]!;
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

  private updateTrees(q: Float64Array): void {
    const seq = this.points++;
    const T = this.numTrees;
    const S = this.sampleSize;
    const rng = this.rng;
    const heapW = this.heapW;
    const heapSize = this.heapSize;
    const decay = -this.timeDecay * seq;
    let qi = -1;
    for (let t = 0; t < T; t++) {
      const w = Math.fround(decay + Math.log(-Math.log(nextOpen(rng, t << 2))));
      const size = heapSize[t]!;
      if (size >= S) {
        if (!(w < heapW[t * S]!)) continue;
        this.deleteLeaf(t, this.heapPopMax(t));
      }
      if (qi < 0) {
        qi = this.store.alloc();
        const data = this.store.data;
        const D = this.dimensions;
        for (let i = 0; i < D; i++) data[qi * D + i] = q[i]!;
      }
      this.heapPush(t, w, this.insert(t, qi, q));
    }
    if (qi >= 0 && this.store.refs[qi] === 0) this.store.release(qi);
  }

  /** Remove the sampler's largest-weight entry of tree t; returns its leaf slot. */
  private heapPopMax(t: number): number {
    const S = this.sampleSize;
    const hb = t * S;
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
    this.freeLeaf[t] = this.leafParent[lb + s]!;
    this.leafPoint[lb + s] = pointIndex;
    this.leafMass[lb + s] = 1;
    this.leafParent[lb + s] = NIL;
    this.store.refs[pointIndex]!++;
    return s;
  }

  private allocNode(t: number): number {
    const ib = t * (this.sampleSize - 1);
    const n = this.freeNode[t]!;
    if (n === NIL) throw new Error(`RCF tree ${t}: no free internal node (bug)`);
    this.freeNode[t] = this.left[ib + n]!;
    return n;
  }

  /**
   * Insert the point (store index qi, coordinates q) into tree t, bottom-up as AWS's RandomCutTree.addPoint: from the
   * leaf q reaches, walk up drawing at each node a random cut of (node box ∪ q), remember the highest node whose cut
   * separates q, stop once the box contains q. The new internal node goes above that node. Returns the leaf slot
   * holding q (an existing leaf when q duplicates its point: its mass grows).
   */
  insert(t: number, qi: number, q: Float64Array): number {
    const S = this.sampleSize;
    const NI = S - 1;
    const D = this.dimensions;
    const D2 = 2 * D;
    const ib = t * NI;
    const lb = t * S;
    const { cutDim, cutVal, left, right, parent, mass, box, leafPoint, leafMass, leafParent } = this;
    const r = this.root[t]!;
    if (r === NIL) {
      const s = this.allocLeaf(t, qi);
      this.root[t] = S + s;
      return s;
    }
    let n = r;
    while (n < S) {
      const g = ib + n;
      n = q[cutDim[g]!]! <= cutVal[g]! ? left[g]! : right[g]!;
    }
    const leafSlot = n - S;
    const P = this.store.data;
    const pb = leafPoint[lb + leafSlot]! * D;
    let eq = 0;
    while (eq < D && P[pb + eq] === q[eq]) eq++;
    if (eq === D) {
      leafMass[lb + leafSlot]!++;
      for (let a = leafParent[lb + leafSlot]!; a !== NIL; a = parent[ib + a]!) mass[ib + a]!++;
      return leafSlot;
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
        mn = leafPoint[lb + node - S]! * D;
        mx = mn;
        par = leafParent[lb + node - S]!;
      } else {
        A = box;
        mn = (ib + node) * D2;
        mx = mn + D;
        par = parent[ib + node]!;
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
        // floating point left breakPoint past the last range: cut just below the top of the last non-empty range
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
    const g = ib + N;
    const par = savedNode >= S ? leafParent[lb + savedNode - S]! : parent[ib + savedNode]!;
    cutDim[g] = savedDim;
    cutVal[g] = savedVal;
    if (q[savedDim]! <= savedVal) {
      left[g] = S + newLeaf;
      right[g] = savedNode;
    } else {
      left[g] = savedNode;
      right[g] = S + newLeaf;
    }
    parent[g] = par;
    leafParent[lb + newLeaf] = N;
    const nb = g * D2;
    if (savedNode >= S) {
      leafParent[lb + savedNode - S] = N;
      mass[g] = leafMass[lb + savedNode - S]! + 1;
      const sp = leafPoint[lb + savedNode - S]! * D;
      for (let i = 0; i < D; i++) {
        const v = P[sp + i]!;
        const x = q[i]!;
        box[nb + i] = x < v ? x : v;
        box[nb + D + i] = x > v ? x : v;
      }
    } else {
      parent[ib + savedNode] = N;
      mass[g] = mass[ib + savedNode]! + 1;
      const sb = (ib + savedNode) * D2;
      for (let i = 0; i < D; i++) {
        const lo = box[sb + i]!;
        const hi = box[sb + D + i]!;
        const x = q[i]!;
        box[nb + i] = x < lo ? x : lo;
        box[nb + D + i] = x > hi ? x : hi;
      }
    }
    if (par === NIL) {
      this.root[t] = N;
    } else {
      const pg = ib + par;
      if (left[pg] === savedNode) left[pg] = N;
      else right[pg] = N;
    }
    // ancestors: one more point; grow boxes until one already contains q
    let grow = true;
    for (let a = par; a !== NIL; a = parent[ib + a]!) {
      mass[ib + a]!++;
      if (grow) {
        const bb = (ib + a) * D2;
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
        grow = changed;
      }
    }
    return newLeaf;
  }

  /**
   * Remove one unit of mass from leaf `slot` of tree t (AWS's deletePoint): a leaf left empty is removed and its
   * sibling takes its parent's place; ancestors' boxes shrink until one does not change.
   */
  deleteLeaf(t: number, slot: number): void {
    const S = this.sampleSize;
    const NI = S - 1;
    const D = this.dimensions;
    const D2 = 2 * D;
    const ib = t * NI;
    const lb = t * S;
    const { left, right, parent, mass, box, leafPoint, leafMass, leafParent } = this;
    const m = --leafMass[lb + slot]!;
    const par = leafParent[lb + slot]!;
    if (m > 0) {
      for (let a = par; a !== NIL; a = parent[ib + a]!) mass[ib + a]!--;
      return;
    }
    const pi = leafPoint[lb + slot]!;
    const leafId = S + slot;
    // free the leaf
    leafPoint[lb + slot] = -1;
    leafParent[lb + slot] = this.freeLeaf[t]!;
    this.freeLeaf[t] = slot;
    if (par === NIL) {
      this.root[t] = NIL;
    } else {
      const pg = ib + par;
      const sib = left[pg] === leafId ? right[pg]! : left[pg]!;
      const gp = parent[pg]!;
      if (sib >= S) leafParent[lb + sib - S] = gp;
      else parent[ib + sib] = gp;
      if (gp === NIL) {
        this.root[t] = sib;
      } else {
        const gg = ib + gp;
        if (left[gg] === par) left[gg] = sib;
        else right[gg] = sib;
      }
      // free the parent
      left[pg] = this.freeNode[t]!;
      right[pg] = NIL;
      parent[pg] = NIL;
      mass[pg] = 0;
      this.freeNode[t] = par;
      // ancestors: one point less; rebuild boxes while the deleted point was on their boundary and they change
      const P = this.store.data;
      const pb = pi * D;
      let shrink = true;
      for (let a = gp; a !== NIL; a = parent[ib + a]!) {
        const g = ib + a;
        mass[g]!--;
        if (!shrink) continue;
        const bb = g * D2;
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

  /** box(a) = box(left) ∪ box(right) for internal node a of tree t; true if it changed. */
  private rebuildBox(t: number, a: number): boolean {
    const S = this.sampleSize;
    const NI = S - 1;
    const D = this.dimensions;
    const D2 = 2 * D;
    const ib = t * NI;
    const lb = t * S;
    const box = this.box;
    const P = this.store.data;
    const bb = (ib + a) * D2;
    const l = this.left[ib + a]!;
    const r = this.right[ib + a]!;
    let A1: Float32Array;
    let mn1: number;
    let mx1: number;
    if (l >= S) {
      A1 = P;
      mn1 = this.leafPoint[lb + l - S]! * D;
      mx1 = mn1;
    } else {
      A1 = box;
      mn1 = (ib + l) * D2;
      mx1 = mn1 + D;
    }
    let A2: Float32Array;
    let mn2: number;
    let mx2: number;
    if (r >= S) {
      A2 = P;
      mn2 = this.leafPoint[lb + r - S]! * D;
      mx2 = mn2;
    } else {
      A2 = box;
      mn2 = (ib + r) * D2;
      mx2 = mn2 + D;
    }
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
    return changed;
  }

  /** Recompute every cached box of tree t bottom-up (after loading). */
  rebuildBoxes(t: number): void {
    const S = this.sampleSize;
    const NI = S - 1;
    const r = this.root[t]!;
    if (r === NIL || r >= S) return;
    const ib = t * NI;
    // iterative post-order
    const stack = new Uint16Array(NI);
    const visited = new Uint8Array(NI);
    let sp = 0;
    stack[sp++] = r;
    while (sp > 0) {
      const n = stack[sp - 1]!;
      if (!visited[n]) {
        visited[n] = 1;
        const l = this.left[ib + n]!;
        const rr = this.right[ib + n]!;
        if (rr < S) stack[sp++] = rr;
        if (l < S) stack[sp++] = l;
      } else {
        sp--;
        this.rebuildBox(t, n);
      }
    }
  }

  /** Scoring-only batch: scores of n rows (row-major, inputDims each, shingleSize 1 forests), no update. */
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
   * Batch training (see trainBatch in batch.ts): each tree's sampler draws its sample of the n rows (row-major,
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
    this.points = n;
    this.updates = n;
    if (n > 0) for (let i = 0; i < D; i++) this.shingle[i] = Math.fround(rows[(n - 1) * D + i]!);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Size and state

  /** Bytes of typed-array storage: total, and per tree (the point store shared out equally). */
  memoryBytes(): { total: number; perTree: number; points: number } {
    const arrays = [
      this.root, this.freeNode, this.freeLeaf, this.cutDim, this.cutVal, this.left, this.right, this.parent, this.mass,
      this.box, this.leafPoint, this.leafMass, this.leafParent, this.heapW, this.heapSlot, this.heapSize, this.rng,
      this.shingle, this.q, this.log2p1, this.ah, this.al, this.gh, this.gl, this.shadow,
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
    const leafPoint = new Int32Array(T * S);
    for (let k = 0; k < leafPoint.length; k++) {
      const p = this.leafPoint[k]!;
      leafPoint[k] = p >= 0 ? remap[p]! : -1;
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
    w.array(this.cutDim);
    w.array(this.cutVal);
    w.array(this.left);
    w.array(this.right);
    w.array(this.parent);
    w.array(this.mass);
    w.array(leafPoint);
    w.array(this.leafMass);
    w.array(this.leafParent);
    w.array(this.heapW);
    w.array(this.heapSlot);
    w.array(this.heapSize);
    w.array(pts);
    return w.finish();
  }

  static fromState(bytes: Uint8Array): RandomCutForest {
    const rd = new StateReader(bytes, STATE_MAGIC, STATE_VERSION, 'RCF forest');
    const inputDims = rd.num('inputDims', 1, 65535);
    const shingleSize = rd.num('shingleSize', 1, 65535);
    const numTrees = rd.num('numTrees', 1, 100000);
    const sampleSize = rd.num('sampleSize', 1, MAX_SAMPLE_SIZE);
    const f = new RandomCutForest({
      inputDims,
      shingleSize,
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
    const NI = Math.max(S - 1, 0);
    const D = f.dimensions;
    f.shingle.set(rd.array(Float32Array, D, 'shingle'));
    f.rng.set(rd.array(Uint32Array, T * 4, 'rng'));
    f.root.set(rd.array(Uint16Array, T, 'root'));
    f.freeNode.set(rd.array(Uint16Array, T, 'freeNode'));
    f.freeLeaf.set(rd.array(Uint16Array, T, 'freeLeaf'));
    f.cutDim.set(rd.array(Uint16Array, T * NI, 'cutDim'));
    f.cutVal.set(rd.array(Float32Array, T * NI, 'cutVal'));
    f.left.set(rd.array(Uint16Array, T * NI, 'left'));
    f.right.set(rd.array(Uint16Array, T * NI, 'right'));
    f.parent.set(rd.array(Uint16Array, T * NI, 'parent'));
    f.mass.set(rd.array(Uint16Array, T * NI, 'mass'));
    f.leafPoint.set(rd.array(Int32Array, T * S, 'leafPoint'));
    f.leafMass.set(rd.array(Uint16Array, T * S, 'leafMass'));
    f.leafParent.set(rd.array(Uint16Array, T * S, 'leafParent'));
    f.heapW.set(rd.array(Float32Array, T * S, 'heapW'));
    f.heapSlot.set(rd.array(Uint16Array, T * S, 'heapSlot'));
    f.heapSize.set(rd.array(Int32Array, T, 'heapSize'));
    const pts = rd.array(Float32Array, live * D, 'points');
    rd.end();
    // the point store: the live points, then room to grow
    const store = new PointStore(D, T * S + 1, Math.max(live + 1, 2 * S + 1));
    store.data.set(pts);
    // hand out 0..live-1 (the stack gives the lowest index first)
    for (let i = 0; i < live; i++) store.alloc();
    f.store = store;
    for (let k = 0; k < f.leafPoint.length; k++) {
      const p = f.leafPoint[k]!;
      if (p < -1 || p >= live) throw new ForestStateError(`RCF forest: leaf ${k} names point ${p} of ${live}`);
    }
    // references are recounted from the used leaves; check the structure before anything walks it
    for (let k = 0; k < f.leafPoint.length; k++) {
      const p = f.leafPoint[k]!;
      if (p >= 0) store.refs[p]!++;
    }
    const problems = checkForest(f, { structureOnly: true });
    if (problems.length > 0) throw new ForestStateError(`RCF forest: inconsistent state: ${problems.slice(0, 3).join('; ')}`);
    for (let t = 0; t < T; t++) f.rebuildBoxes(t);
    for (let i = 0; i < live; i++) if (store.refs[i] === 0) throw new ForestStateError(`RCF forest: point ${i} is named by no leaf`);
    return f;
  }
}

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
