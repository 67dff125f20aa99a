/**
 * The training kernel: one worker's share of an epoch, over tables that live in SharedArrayBuffers
 * (Hogwild: workers read and write the same rows without locks). Runs in a worker thread or, for
 * tests and threads=1, in the calling thread; the arithmetic is the same either way.
 *
 * Per mini-batch of B positives (entity e_b, IP x_b), all with label 1 except negatives (label 0):
 *   - encode every positive IP once: h_b = enc(x_b); draw a pool of ceil(R * B / NEG_POOL_REUSE) uniformly
 *     random addresses and encode each once;
 *   - S shuffled rounds: entity e_b with the IP of positive pi(b), pi a derangement of the batch; pairs
 *     present in the training data are skipped (a re-created true pair is not a negative);
 *   - for each positive: the positive record and R random negatives, each a random pool member paired with
 *     a uniformly drawn training entity (random_negative_entity=uniform, default) or with e_b (batch);
 *   - sibling negatives (seclake extra, sibling_negative_sampling_rate Q; floor(Q) per positive plus one more
 *     with probability frac(Q)): x_b against an unused host of its own subnet (/24, /64) for e_b, as a ranking
 *     (logistic loss on s_pos - s_sib). Every prefix row but the last is shared and cancels; the sibling's last
 *     row (its full address) is a uniformly random table row, which is what the full-address row of an address
 *     never seen in training is. So the full-address rows of known peers learn to add to the score, and a new
 *     host in a known subnet ranks below the known peers while keeping its subnet's rows (above foreign ones).
 *     Only without dense layers (num_ip_encoder_layers <= 1);
 *   - logistic loss on score = (E[e] + G) . h, G a shared entity offset folded into E when saved.
 * Optimizers:
 *   - sgd (default): word2vec-style. Entity rows are updated after each record group; the prefix rows of
 *     the batch's positives and of the pool once per batch with their summed gradient; the step decays
 *     linearly to 1e-4 of its start over the run. Entity rows are scaled back to entity_max_norm.
 *   - adam: lazy Adam as SageMaker: per batch, the gradient of every touched row is summed (row-sparse)
 *     and only those rows get an Adam step (bias correction by the global step count).
 * Weight decay: L2 on the rows a step touches (lazy). Dense layers (num_ip_encoder_layers >= 2), the IP
 * bias and G are updated once per batch (dense layers with Adam in both modes).
 */
import { Rng } from '../../core/rng.js';
import type { OptimizerName } from './config.js';
import { murmur3Words2 } from '../pairs/hash.js';
import type { IpFamily } from '../pairs/ip.js';
import { ipv4Rows, ipv6Rows, touchRows, type EncoderSpec } from './model.js';

/** Slots of the per-worker stats row in the shared stats array. */
export const STAT_BATCHES = 0;
export const STAT_RECORDS = 1;
export const STAT_LOSS = 2;
export const STAT_CORRECT = 3;
export const STAT_POSITIVES = 4;
export const STAT_NONFINITE = 5;
export const STATS_WIDTH = 8;

export interface KernelConfig {
  d: number;
  k: number;
  nE: number;
  nP: number;
  R: number;
  S: number;
  B: number;
  /** sgd: initial step size (decays linearly); adam: Adam's learning rate. */
  lr: number;
  /** Learning rate of the Adam steps (the dense layers, and everything with optimizer adam). */
  adamLr: number;
  wd: number;
  optimizer: OptimizerName;
  /** Dense (ReLU) layers before the final identity+bias layer: max(0, num_ip_encoder_layers - 1). */
  dense: number;
  /** A final identity+bias layer exists (num_ip_encoder_layers >= 1). */
  hasBias: boolean;
  v4: number[];
  v6: number[];
  hashSeed: number;
  /** Probability that a random negative is IPv6 (0: IPv4-only data; 1: IPv6-only data). */
  p6: number;
  /** Random negatives pair the random IP with a uniformly drawn training entity (else the positive's). */
  uniformNegatives: boolean;
  /** Entity rows are scaled back to this L2 norm after each update (0: no cap). */
  maxNorm: number;
  /** Sibling negatives per positive (seclake extra; fractional part = probability of one more); 0 = none. */
  Q: number;
  /** Positives over the whole run (N x epochs), for the linear learning-rate decay. */
  totalPositives: number;
  workers: number;
  seed: number;
}

/** Typed-array views; in worker threads they are built over the same SharedArrayBuffers. */
export interface KernelBuffers {
  E: Float32Array;
  /** Shared entity offset: every entity's effective vector is E[row] + G (folded into E when saved). */
  G: Float32Array;
  P: Float32Array;
  /** Final layer bias (length d, or 0 without layers). */
  bias: Float32Array;
  /** dense x d x d (out x in, row-major) and dense x d. */
  denseW: Float32Array;
  denseB: Float32Array;
  /** Adam moments (length 0 with sgd, except the dense ones which always exist when dense > 0). */
  Em: Float32Array;
  Ev: Float32Array;
  Pm: Float32Array;
  Pv: Float32Array;
  biasM: Float32Array;
  biasV: Float32Array;
  Gm: Float32Array;
  Gv: Float32Array;
  denseWm: Float32Array;
  denseWv: Float32Array;
  denseBm: Float32Array;
  denseBv: Float32Array;
  /** Training data: entity row, K prefix rows per positive, and the epoch's order (a permutation). */
  entRow: Uint32Array;
  /** Distinct entity rows of the training data. */
  entities: Uint32Array;
  rows: Uint32Array;
  /** Per training row: a 32-bit key of its full address (for the pair set). */
  ipKey: Uint32Array;
  /** Open-addressing set of (entity row, address) keys seen in training (0 = empty slot); length a power of two. */
  pairSet: Uint32Array;
  order: Uint32Array;
  /** workers x STATS_WIDTH; each worker writes only its own row. */
  stats: Float64Array;
  /** [0]: abort flag (set by anyone); [1]: global Adam step counter. */
  control: Int32Array;
}

/**
 * Where each table lives: its own buffer, or (the WebAssembly kernel) a region of one shared WebAssembly memory,
 * `offset` bytes in and `length` elements long.
 */
export type SharedBufferSpec = Record<
  keyof KernelBuffers,
  { buffer: SharedArrayBuffer | ArrayBuffer; kind: 'f32' | 'f64' | 'u32' | 'i32'; offset?: number; length?: number }
>;

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;
/** Each random address of a batch's negative pool is used by this many (entity, random IP) records on average. */
export const NEG_POOL_REUSE = 4;
/** Rows are touched this many addresses ahead of their use, so cache misses overlap. */
const PREFETCH = 4;
const MIN_LR_FRACTION = 1e-4;

/** Deterministic seed of a worker's RNG for an epoch. */
export function workerSeed(seed: number, epoch: number, worker: number): number {
  return murmur3Words2(epoch, worker, seed);
}

/** A sparse gradient accumulator: row -> slot, for lazy Adam. */
class SparseGrad {
  private keys: Int32Array;
  private slotOf: Int32Array;
  rowsList: Int32Array;
  grad: Float32Array;
  count = 0;
  private mask: number;
  constructor(
    private readonly d: number,
    capacity: number,
  ) {
    let size = 1;
    while (size < capacity * 2) size <<= 1;
    this.mask = size - 1;
    this.keys = new Int32Array(size).fill(-1);
    this.slotOf = new Int32Array(size);
    this.rowsList = new Int32Array(capacity);
    this.grad = new Float32Array(capacity * d);
  }
  /** Offset into grad for `row`, creating a zeroed slot if needed. */
  slot(row: number): number {
    let h = Math.imul(row, 0x9e3779b1) >>> 0;
    h &= this.mask;
    while (true) {
      const k = this.keys[h]!;
      if (k === row) return this.slotOf[h]! * this.d;
      if (k === -1) {
        if (this.count >= this.rowsList.length) this.grow();
        const s = this.count++;
        this.keys[h] = row;
        this.slotOf[h] = s;
        this.rowsList[s] = row;
        this.grad.fill(0, s * this.d, (s + 1) * this.d);
        return s * this.d;
      }
      h = (h + 1) & this.mask;
    }
  }
  private grow(): void {
    const cap = this.rowsList.length * 2;
    const old = { rows: this.rowsList, grad: this.grad, count: this.count };
    let size = 1;
    while (size < cap * 2) size <<= 1;
    this.mask = size - 1;
    this.keys = new Int32Array(size).fill(-1);
    this.slotOf = new Int32Array(size);
    this.rowsList = new Int32Array(cap);
    this.grad = new Float32Array(cap * this.d);
    this.count = 0;
    for (let s = 0; s < old.count; s++) {
      const off = this.slot(old.rows[s]!);
      this.grad.set(old.grad.subarray(s * this.d, (s + 1) * this.d), off);
    }
  }
  clear(): void {
    if (this.count === 0) return;
    this.keys.fill(-1);
    this.count = 0;
  }
}

export class Kernel {
  protected readonly cfg: KernelConfig;
  protected readonly buf: KernelBuffers;
  protected readonly worker: number;
  // scratch
  private readonly hPos: Float32Array;
  private readonly gPos: Float32Array;
  private readonly ge: Float32Array;
  private poolRows = new Uint32Array(0);
  private hPool = new Float32Array(0);
  private gPool = new Float32Array(0);
  private poolAct = new Float32Array(0);
  private readonly eSlots: Int32Array;
  private readonly words = new Uint32Array(4);
  private readonly spec: EncoderSpec;
  protected readonly perm: Int32Array;
  private readonly biasGrad: Float32Array;
  private readonly gGrad: Float32Array;
  // dense-layer caches: per positive: input of each dense layer and its pre-activation
  private readonly posAct: Float32Array;
  private readonly gDenseW: Float32Array;
  private readonly gDenseB: Float32Array;
  private readonly gTmp: Float32Array;
  private readonly gTmp2: Float32Array;
  // lazy Adam accumulators
  private readonly sparseE: SparseGrad | undefined;
  private readonly sparseP: SparseGrad | undefined;
  protected loss = 0;
  protected correct = 0;
  /** Keeps the prefetch loads observable. */
  sink = 0;

  constructor(cfg: KernelConfig, buf: KernelBuffers, worker: number) {
    this.cfg = cfg;
    this.buf = buf;
    this.worker = worker;
    const { d, B } = cfg;
    this.hPos = new Float32Array(B * d);
    this.gPos = new Float32Array(B * d);
    this.ge = new Float32Array(d);
    this.eSlots = new Int32Array(B);
    this.spec = { v4_prefixes: cfg.v4, v6_prefixes: cfg.v6, num_ip_vectors: cfg.nP, hash_seed: cfg.hashSeed, layers: [] };
    this.perm = new Int32Array(B);
    this.biasGrad = new Float32Array(d);
    this.gGrad = new Float32Array(d);
    const L = cfg.dense;
    // per dense layer: input (d) and pre-activation (d)
    this.posAct = new Float32Array(L > 0 ? B * L * 2 * d : 0);
    this.gDenseW = new Float32Array(L * d * d);
    this.gDenseB = new Float32Array(L * d);
    this.gTmp = new Float32Array(d);
    this.gTmp2 = new Float32Array(d);
    if (cfg.optimizer === 'adam') {
      this.sparseE = new SparseGrad(d, Math.max(16, Math.min(B, 65536)));
      this.sparseP = new SparseGrad(d, Math.max(16, Math.min(B * cfg.k * (1 + cfg.R), 65536)));
    }
  }

  protected lrNow(): number {
    const { stats } = this.buf;
    let done = 0;
    for (let w = 0; w < this.cfg.workers; w++) done += stats[w * STATS_WIDTH + STAT_POSITIVES]!;
    const frac = 1 - done / Math.max(1, this.cfg.totalPositives);
    return this.cfg.lr * (frac > MIN_LR_FRACTION ? frac : MIN_LR_FRACTION);
  }

  /**
   * Process this worker's batches of an epoch: batches j = worker, worker + workers, ... over
   * order[0..n). `onBatch` is called after each batch (progress); returns false to stop early.
   */
  runEpoch(epoch: number, n: number, onBatch?: () => void): void {
    const { B, workers } = this.cfg;
    const rng = new Rng(workerSeed(this.cfg.seed, epoch, this.worker));
    const nb = Math.ceil(n / B);
    const stats = this.buf.stats;
    const base = this.worker * STATS_WIDTH;
    for (let j = this.worker; j < nb; j += workers) {
      if (Atomics.load(this.buf.control, 0) !== 0) return;
      const start = j * B;
      const end = Math.min(n, start + B);
      this.loss = 0;
      this.correct = 0;
      const records = this.batch(start, end, rng);
      if (!Number.isFinite(this.loss)) {
        stats[base + STAT_NONFINITE] = 1;
        Atomics.store(this.buf.control, 0, 1);
        return;
      }
      stats[base + STAT_BATCHES]! += 1;
      stats[base + STAT_RECORDS]! += records;
      stats[base + STAT_LOSS]! += this.loss;
      stats[base + STAT_CORRECT]! += this.correct;
      stats[base + STAT_POSITIVES]! += end - start;
      if (onBatch) onBatch();
    }
  }

  /** A uniformly random address's hashed prefix rows into out[off..off+K). */
  protected randomRows(rng: Rng, out: Uint32Array, off: number): void {
    if (randomAddress(rng, this.cfg.p6, this.words) === 4) ipv4Rows(this.spec, this.words[0]!, out, off);
    else ipv6Rows(this.spec, this.words, out, off);
  }

  protected derange(m: number, rng: Rng): void {
    derangement(this.perm, m, rng);
  }

  /** h = sum of P rows (+ dense layers, caching activations at act[actOff..]) + bias. */
  private encode(rows: Uint32Array, rowsOff: number, h: Float32Array, hOff: number, act: Float32Array, actOff: number): void {
    const { d, k, dense } = this.cfg;
    const P = this.buf.P;
    let o = rows[rowsOff]! * d;
    for (let i = 0; i < d; i++) h[hOff + i] = P[o + i]!;
    for (let j = 1; j < k; j++) {
      o = rows[rowsOff + j]! * d;
      for (let i = 0; i < d; i++) h[hOff + i] += P[o + i]!;
    }
    if (dense > 0) {
      const W = this.buf.denseW;
      const Bv = this.buf.denseB;
      const tmp = this.gTmp2;
      for (let l = 0; l < dense; l++) {
        const inOff = actOff + l * 2 * d;
        const preOff = inOff + d;
        for (let i = 0; i < d; i++) act[inOff + i] = h[hOff + i]!;
        const wo = l * d * d;
        for (let r = 0; r < d; r++) {
          let s = Bv[l * d + r]!;
          const ro = wo + r * d;
          for (let i = 0; i < d; i++) s += W[ro + i]! * act[inOff + i]!;
          tmp[r] = s;
        }
        for (let r = 0; r < d; r++) {
          const v = tmp[r]!;
          act[preOff + r] = v;
          h[hOff + r] = v > 0 ? v : 0;
        }
      }
    }
    if (this.cfg.hasBias) {
      const b = this.buf.bias;
      for (let i = 0; i < d; i++) h[hOff + i] += b[i]!;
    }
  }

  /**
   * Backpropagate g (gradient w.r.t. the encoder output, in g[gOff..]) through the dense layers;
   * accumulates dense gradients and the bias gradient; leaves dL/dh0 in g[gOff..] (in place).
   */
  private backDense(g: Float32Array, gOff: number, act: Float32Array, actOff: number): void {
    const { d, dense } = this.cfg;
    const bg = this.biasGrad;
    if (this.cfg.hasBias) for (let i = 0; i < d; i++) bg[i] += g[gOff + i]!;
    if (dense === 0) return;
    const W = this.buf.denseW;
    const gW = this.gDenseW;
    const gB = this.gDenseB;
    const gz = this.gTmp;
    for (let l = dense - 1; l >= 0; l--) {
      const inOff = actOff + l * 2 * d;
      const preOff = inOff + d;
      for (let r = 0; r < d; r++) gz[r] = act[preOff + r]! > 0 ? g[gOff + r]! : 0;
      const wo = l * d * d;
      for (let r = 0; r < d; r++) {
        const gr = gz[r]!;
        if (gr === 0) continue;
        gB[l * d + r] += gr;
        const ro = wo + r * d;
        for (let i = 0; i < d; i++) gW[ro + i] += gr * act[inOff + i]!;
      }
      for (let i = 0; i < d; i++) g[gOff + i] = 0;
      for (let r = 0; r < d; r++) {
        const gr = gz[r]!;
        if (gr === 0) continue;
        const ro = wo + r * d;
        for (let i = 0; i < d; i++) g[gOff + i] += gr * W[ro + i]!;
      }
    }
  }

  /**
   * One mini-batch over order[start, end). Returns the number of records (positives + negatives).
   * Random negatives come from a pool of ceil(R * m / NEG_POOL_REUSE) uniformly random addresses drawn for
   * the batch: each positive is paired with R pool members drawn uniformly, so every (entity, random IP)
   * record is still an independent uniform pairing, but each random address is encoded and updated once
   * per batch instead of once per record.
   */
  protected batch(start: number, end: number, rng: Rng): number {
    const { d, k, R, S, wd, dense, hasBias } = this.cfg;
    const adam = this.cfg.optimizer === 'adam';
    const { E, G, entRow, rows, order } = this.buf;
    const hPos = this.hPos;
    const gPos = this.gPos;
    const ge = this.ge;
    const gG = this.gGrad;
    const perm = this.perm;
    const m = end - start;
    const lr = adam ? 0 : this.lrNow();
    const decay = 1 - lr * wd;
    const L2 = dense * 2 * d;
    const spE = this.sparseE;
    const uniformNeg = this.cfg.uniformNegatives;
    const pairSet = this.buf.pairSet;
    const ipKey = this.buf.ipKey;
    const entities = this.buf.entities;
    const maxNorm2 = this.cfg.maxNorm > 0 ? this.cfg.maxNorm * this.cfg.maxNorm : Infinity;
    const Q = dense > 0 ? 0 : this.cfg.Q;
    const Qi = Math.floor(Q);
    const Qf = Q - Qi;
    let loss = 0;
    let correct = 0;
    let records = 0;
    if (hasBias) this.biasGrad.fill(0);
    gG.fill(0);
    if (dense > 0) {
      this.gDenseW.fill(0);
      this.gDenseB.fill(0);
    }
    if (adam) {
      spE!.clear();
      this.sparseP!.clear();
    }
    const P = this.buf.P;
    let sink = 0;
    for (let b = 0; b < m; b++) {
      if (b + PREFETCH < m) sink += touchRows(P, rows, order[start + b + PREFETCH]! * k, k, d) + E[entRow[order[start + b + PREFETCH]!]! * d]!;
      this.encode(rows, order[start + b]! * k, hPos, b * d, this.posAct, b * L2);
    }
    gPos.fill(0, 0, m * d);
    // The batch's pool of random addresses.
    const M = R === 0 ? 0 : Math.max(1, Math.ceil((R * m) / NEG_POOL_REUSE));
    this.ensurePool(M);
    const poolRows = this.poolRows;
    const hPool = this.hPool;
    const gPool = this.gPool;
    for (let j = 0; j < M; j++) this.randomRows(rng, poolRows, j * k);
    for (let j = 0; j < M; j++) {
      if (j + PREFETCH < M) sink += touchRows(P, poolRows, (j + PREFETCH) * k, k, d);
      this.encode(poolRows, j * k, hPool, j * d, this.poolAct, j * L2);
    }
    this.sink = sink;
    gPool.fill(0, 0, M * d);
    const eSlots = this.eSlots;
    if (adam) for (let b = 0; b < m; b++) eSlots[b] = spE!.slot(entRow[order[start + b]!]!);

    // Shuffled negatives: S rounds, each pairing entity b with the IP of positive perm[b].
    for (let s = 0; s < S; s++) {
      if (m < 2) break;
      this.derange(m, rng);
      for (let b = 0; b < m; b++) {
        const b2 = perm[b]!;
        const er = entRow[order[start + b]!]!;
        // Skip re-pairings that are pairs of the training data (a shuffle of true pairs is not a negative).
        if (er === entRow[order[start + b2]!]! || hasPair(pairSet, er, ipKey[order[start + b2]!]!)) continue;
        const oe = er * d;
        const ho = b2 * d;
        let sc = 0;
        for (let i = 0; i < d; i++) sc += (E[oe + i]! + G[i]!) * hPos[ho + i]!;
        const ex = Math.exp(-Math.abs(sc));
        const g = sc >= 0 ? 1 / (1 + ex) : ex / (1 + ex);
        loss += (sc > 0 ? sc : 0) + Math.log1p(ex);
        if (sc < 0) correct++;
        records++;
        if (adam) {
          const gE = spE!.grad;
          const so = eSlots[b]!;
          for (let i = 0; i < d; i++) {
            const gh = g * hPos[ho + i]!;
            gPos[ho + i] += g * (E[oe + i]! + G[i]!);
            gE[so + i] += gh;
            gG[i] += gh;
          }
        } else {
          let nn = 0;
          for (let i = 0; i < d; i++) {
            const gh = g * hPos[ho + i]!;
            gPos[ho + i] += g * (E[oe + i]! + G[i]!);
            const v = E[oe + i]! * decay - lr * gh;
            E[oe + i] = v;
            nn += v * v;
            gG[i] += gh;
          }
          if (nn > maxNorm2) this.clip(oe, nn);
        }
      }
    }

    // Positives and their random negatives.
    for (let b = 0; b < m; b++) {
      const oe = entRow[order[start + b]!]! * d;
      const ho = b * d;
      let sc = 0;
      for (let i = 0; i < d; i++) sc += (E[oe + i]! + G[i]!) * hPos[ho + i]!;
      let ex = Math.exp(-Math.abs(sc));
      let g = (sc >= 0 ? 1 / (1 + ex) : ex / (1 + ex)) - 1;
      loss += (sc < 0 ? -sc : 0) + Math.log1p(ex);
      if (sc > 0) correct++;
      records++;
      for (let i = 0; i < d; i++) {
        ge[i] = g * hPos[ho + i]!;
        gPos[ho + i] += g * (E[oe + i]! + G[i]!);
      }
      for (let r = 0; r < R; r++) {
        const po = rng.int(M) * d;
        if (uniformNeg) {
          // Paired with an entity drawn uniformly from the training entities (not the positive's own):
          // the model then also learns how active each entity is (see docs/ipinsights.md).
          const ur = entities[rng.int(entities.length)]!;
          const ou = ur * d;
          let su = 0;
          for (let i = 0; i < d; i++) su += (E[ou + i]! + G[i]!) * hPool[po + i]!;
          const eu = Math.exp(-Math.abs(su));
          const gu = su >= 0 ? 1 / (1 + eu) : eu / (1 + eu);
          loss += (su > 0 ? su : 0) + Math.log1p(eu);
          if (su < 0) correct++;
          records++;
          if (adam) {
            const so = spE!.slot(ur);
            const gE = spE!.grad;
            for (let i = 0; i < d; i++) {
              const gh = gu * hPool[po + i]!;
              gPool[po + i] += gu * (E[ou + i]! + G[i]!);
              gE[so + i] += gh;
              gG[i] += gh;
            }
          } else {
            let nn = 0;
            for (let i = 0; i < d; i++) {
              const gh = gu * hPool[po + i]!;
              gPool[po + i] += gu * (E[ou + i]! + G[i]!);
              const v = E[ou + i]! * decay - lr * gh;
              E[ou + i] = v;
              nn += v * v;
              gG[i] += gh;
            }
            if (nn > maxNorm2) this.clip(ou, nn);
          }
          continue;
        }
        sc = 0;
        for (let i = 0; i < d; i++) sc += (E[oe + i]! + G[i]!) * hPool[po + i]!;
        ex = Math.exp(-Math.abs(sc));
        g = sc >= 0 ? 1 / (1 + ex) : ex / (1 + ex);
        loss += (sc > 0 ? sc : 0) + Math.log1p(ex);
        if (sc < 0) correct++;
        records++;
        for (let i = 0; i < d; i++) {
          ge[i] += g * hPool[po + i]!;
          gPool[po + i] += g * (E[oe + i]! + G[i]!);
        }
      }
      if (Q > 0) {
        const sib = Qi + (Qf > 0 && rng.next() < Qf ? 1 : 0);
        if (sib > 0) {
          const r = this.siblings(sib, rows[order[start + b]! * k + k - 1]!, oe, lr, decay, rng);
          loss += r.loss;
          correct += r.correct;
          records += r.records;
        }
      }
      if (adam) {
        const gE = spE!.grad;
        const so = eSlots[b]!;
        for (let i = 0; i < d; i++) {
          gE[so + i] += ge[i]!;
          gG[i] += ge[i]!;
        }
      } else {
        let nn = 0;
        for (let i = 0; i < d; i++) {
          const v = E[oe + i]! * decay - lr * ge[i]!;
          E[oe + i] = v;
          nn += v * v;
          gG[i] += ge[i]!;
        }
        if (nn > maxNorm2) this.clip(oe, nn);
      }
    }

    // IP side: the positives' and the pool's prefix rows, once per batch.
    for (let b = 0; b < m; b++) {
      this.backDense(gPos, b * d, this.posAct, b * L2);
      this.applyIpGrad(rows, order[start + b]! * k, gPos, b * d, lr, decay);
    }
    for (let j = 0; j < M; j++) {
      this.backDense(gPool, j * d, this.poolAct, j * L2);
      this.applyIpGrad(poolRows, j * k, gPool, j * d, lr, decay);
    }

    if (adam) {
      const t = Atomics.add(this.buf.control, 1, 1) + 1;
      const scale = 1 / Math.max(1, records);
      this.adamRows(this.buf.E, this.buf.Em, this.buf.Ev, spE!, t, scale, this.cfg.maxNorm);
      this.adamRows(this.buf.P, this.buf.Pm, this.buf.Pv, this.sparseP!, t, scale, 0);
      if (hasBias) adamDense(this.buf.bias, this.buf.biasM, this.buf.biasV, this.biasGrad, 0, d, t, this.cfg.lr, this.cfg.wd, scale);
      adamDense(G, this.buf.Gm, this.buf.Gv, gG, 0, d, t, this.cfg.lr, 0, scale);
      if (dense > 0) this.denseAdamStep(records, t);
    } else {
      // The shared entity offset sees every record: a mean-gradient step per batch, like the IP bias.
      const gs = lr / Math.max(1, m);
      for (let i = 0; i < d; i++) G[i] = G[i]! - gs * gG[i]!;
      if (hasBias) {
        // The bias sees every record: apply its summed gradient as a mean over the batch's positives.
        const bias = this.buf.bias;
        const scale = lr / Math.max(1, m);
        for (let i = 0; i < d; i++) bias[i] = bias[i]! * decay - scale * this.biasGrad[i]!;
      }
      if (dense > 0) this.denseAdamStep(records);
    }
    this.loss = loss;
    this.correct = correct;
    return records;
  }

  /**
   * `count` sibling negatives of the positive (entity row offset oe, last prefix row `last`), as a ranking: the
   * positive against the same address with its last row swapped for a uniformly random row, loss
   * log(1 + exp(-(s_pos - s_sib))) with s_pos - s_sib = (E[e] + G) . (P[last] - P[random]). Every other prefix
   * row (and the bias) is the same on both sides and cancels: the subnet's rows keep what the other records
   * taught them. The step goes to the two full-address rows only (now): the entity is not moved, since turning
   * it toward its peers' full-address rows turns it away from their subnets' rows (measured: new hosts then fall
   * toward foreign addresses; docs/ipinsights.md).
   */
  private siblings(count: number, last: number, oe: number, lr: number, decay: number, rng: Rng): { loss: number; correct: number; records: number } {
    const { d, nP } = this.cfg;
    const { E, G, P } = this.buf;
    const sp = this.cfg.optimizer === 'adam' ? this.sparseP : undefined;
    let loss = 0;
    let correct = 0;
    let records = 0;
    const ol = last * d;
    for (let q = 0; q < count; q++) {
      const rr = rng.int(nP);
      if (rr === last) continue;
      const orr = rr * d;
      let m = 0;
      for (let i = 0; i < d; i++) m += (E[oe + i]! + G[i]!) * (P[ol + i]! - P[orr + i]!);
      // loss = log(1 + e^-m); dloss/dm = -sigmoid(-m)
      const ex = Math.exp(-Math.abs(m));
      const g = m >= 0 ? ex / (1 + ex) : 1 / (1 + ex);
      loss += (m < 0 ? -m : 0) + Math.log1p(ex);
      if (m > 0) correct++;
      records++;
      const sl = sp ? sp.slot(last) : 0;
      const sr = sp ? sp.slot(rr) : 0;
      const SG = sp ? sp.grad : undefined;
      for (let i = 0; i < d; i++) {
        const gi = g * (E[oe + i]! + G[i]!);
        if (SG) {
          SG[sl + i] -= gi;
          SG[sr + i] += gi;
        } else {
          P[ol + i] = P[ol + i]! * decay + lr * gi;
          P[orr + i] = P[orr + i]! * decay - lr * gi;
        }
      }
    }
    return { loss, correct, records };
  }

  /** Scale entity row E[o..o+d) (squared norm nn) down to the max norm. */
  private clip(o: number, nn: number): void {
    const E = this.buf.E;
    const f = this.cfg.maxNorm / Math.sqrt(nn);
    for (let i = 0; i < this.cfg.d; i++) E[o + i] = E[o + i]! * f;
  }

  /** Apply (sgd) or accumulate (adam) the gradient g[gOff..] to the K prefix rows rowsArr[off..]. */
  private applyIpGrad(rowsArr: Uint32Array, off: number, g: Float32Array, gOff: number, lr: number, decay: number): void {
    const { d, k } = this.cfg;
    if (this.cfg.optimizer === 'adam') {
      const sp = this.sparseP!;
      for (let j = 0; j < k; j++) {
        const so = sp.slot(rowsArr[off + j]!);
        const G = sp.grad;
        for (let i = 0; i < d; i++) G[so + i] += g[gOff + i]!;
      }
      return;
    }
    const P = this.buf.P;
    for (let j = 0; j < k; j++) {
      const op = rowsArr[off + j]! * d;
      for (let i = 0; i < d; i++) P[op + i] = P[op + i]! * decay - lr * g[gOff + i]!;
    }
  }

  private ensurePool(M: number): void {
    if (this.poolRows.length >= M * this.cfg.k) return;
    const { d, k, dense } = this.cfg;
    this.poolRows = new Uint32Array(M * k);
    this.hPool = new Float32Array(M * d);
    this.gPool = new Float32Array(M * d);
    this.poolAct = new Float32Array(M * dense * 2 * d);
  }

  private adamRows(W: Float32Array, M: Float32Array, V: Float32Array, sp: SparseGrad, t: number, scale: number, maxNorm: number): void {
    const d = this.cfg.d;
    const wd = this.cfg.wd;
    const lrT = (this.cfg.lr * Math.sqrt(1 - Math.pow(BETA2, t))) / (1 - Math.pow(BETA1, t));
    const G = sp.grad;
    for (let s = 0; s < sp.count; s++) {
      const o = sp.rowsList[s]! * d;
      const go = s * d;
      for (let i = 0; i < d; i++) {
        const w = W[o + i]!;
        const g = G[go + i]! * scale + wd * w;
        const mi = BETA1 * M[o + i]! + (1 - BETA1) * g;
        const vi = BETA2 * V[o + i]! + (1 - BETA2) * g * g;
        M[o + i] = mi;
        V[o + i] = vi;
        W[o + i] = w - (lrT * mi) / (Math.sqrt(vi) + EPS);
      }
      if (maxNorm > 0) {
        let nn = 0;
        for (let i = 0; i < d; i++) nn += W[o + i]! * W[o + i]!;
        if (nn > maxNorm * maxNorm) {
          const f = maxNorm / Math.sqrt(nn);
          for (let i = 0; i < d; i++) W[o + i] = W[o + i]! * f;
        }
      }
    }
  }

  private denseAdamStep(records: number, tIn?: number): void {
    const { d, dense, adamLr: lr, wd } = this.cfg;
    const t = tIn ?? Atomics.add(this.buf.control, 1, 1) + 1;
    const scale = 1 / Math.max(1, records);
    adamDense(this.buf.denseW, this.buf.denseWm, this.buf.denseWv, this.gDenseW, 0, dense * d * d, t, lr, wd, scale);
    adamDense(this.buf.denseB, this.buf.denseBm, this.buf.denseBv, this.gDenseB, 0, dense * d, t, lr, wd, scale);
  }
}

function adamDense(W: Float32Array, M: Float32Array, V: Float32Array, G: Float32Array, off: number, n: number, t: number, lr: number, wd: number, scale: number): void {
  const lrT = (lr * Math.sqrt(1 - Math.pow(BETA2, t))) / (1 - Math.pow(BETA1, t));
  for (let i = off; i < off + n; i++) {
    const w = W[i]!;
    const g = G[i]! * scale + wd * w;
    const mi = BETA1 * M[i]! + (1 - BETA1) * g;
    const vi = BETA2 * V[i]! + (1 - BETA2) * g * g;
    M[i] = mi;
    V[i] = vi;
    W[i] = w - (lrT * mi) / (Math.sqrt(vi) + EPS);
  }
}

/** Key of an (entity row, address key) pair in the pair set: never 0. */
export function pairKey(entityRow: number, ipKey: number): number {
  return (murmur3Words2(entityRow, ipKey, 0x9a1e) | 1) >>> 0;
}

/** Insert into an open-addressing pair set (length a power of two, at most half full). */
export function addPair(set: Uint32Array, entityRow: number, ipKey: number): void {
  const key = pairKey(entityRow, ipKey);
  const mask = set.length - 1;
  let h = Math.imul(key, 0x9e3779b1) >>> 0;
  while (true) {
    const i = h & mask;
    const v = set[i]!;
    if (v === key) return;
    if (v === 0) {
      set[i] = key;
      return;
    }
    h++;
  }
}

/** Whether (entity row, address key) is in the pair set (false positives at ~ n / 2^32). */
export function hasPair(set: Uint32Array, entityRow: number, ipKey: number): boolean {
  if (set.length === 0) return false;
  const key = pairKey(entityRow, ipKey);
  const mask = set.length - 1;
  let h = Math.imul(key, 0x9e3779b1) >>> 0;
  while (true) {
    const v = set[h & mask]!;
    if (v === key) return true;
    if (v === 0) return false;
    h++;
  }
}

/**
 * A random negative address into words[0..3]: IPv6 with probability p6 (uniform over global unicast
 * 2000::/3), else IPv4 uniform over all 2^32 addresses (SageMaker: each octet uniform in 0..255).
 */
export function randomAddress(rng: Rng, p6: number, words: Uint32Array): IpFamily {
  if (p6 > 0 && (p6 >= 1 || rng.next() < p6)) {
    words[0] = (0x20000000 | (rng.nextU32() & 0x1fffffff)) >>> 0;
    words[1] = rng.nextU32();
    words[2] = rng.nextU32();
    words[3] = rng.nextU32();
    return 6;
  }
  words[0] = rng.nextU32();
  words[1] = 0;
  words[2] = 0;
  words[3] = 0;
  return 4;
}

/** A random permutation of 0..m-1 without fixed points (m >= 2): Fisher-Yates, then fixed points swapped with a neighbour. */
export function derangement(perm: Int32Array, m: number, rng: Rng): void {
  for (let i = 0; i < m; i++) perm[i] = i;
  for (let i = m - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  for (let i = 0; i < m; i++) {
    if (perm[i] === i) {
      const j = i + 1 < m ? i + 1 : 0;
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
  }
}

/** Typed-array views over the buffers of a SharedBufferSpec. */
export function viewsOf(spec: SharedBufferSpec): KernelBuffers {
  const out: Partial<Record<keyof KernelBuffers, unknown>> = {};
  for (const [name, { buffer, kind, offset, length }] of Object.entries(spec) as [keyof KernelBuffers, SharedBufferSpec[keyof KernelBuffers]][]) {
    const o = offset ?? 0;
    out[name] =
      kind === 'f32'
        ? new Float32Array(buffer, o, length)
        : kind === 'f64'
          ? new Float64Array(buffer, o, length)
          : kind === 'u32'
            ? new Uint32Array(buffer, o, length)
            : new Int32Array(buffer, o, length);
  }
  return out as KernelBuffers;
}
