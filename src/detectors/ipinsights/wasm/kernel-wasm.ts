/**
 * The WebAssembly SIMD training kernel (kernel.wat, assembled into kernel.wasm by scripts/build-wasm.ts) and its
 * loader. kernel.ts `Kernel` stays the reference; `WasmKernel` runs the same mini-batch:
 *
 *   - JavaScript (here) draws every random choice of the batch from the same Rng in the reference's order: the pool
 *     of random addresses and their prefix rows, the S derangements with the training-pair check, for each positive
 *     its R pool members (and, random_negative_entity=uniform, their entities) and its sibling rows; it writes them
 *     into the worker's scratch region as a plan;
 *   - kernel.wat `batch` runs the records of the plan in the reference's order over the shared tables, with f32x4
 *     lanes: encoding (sum of prefix rows + bias), the score, the logistic loss, the entity steps with the max-norm
 *     cap, the sibling steps and the IP-side steps of the positives' and the pool's rows;
 *   - JavaScript applies the per-batch steps of the shared entity offset G and of the IP bias (d numbers each).
 *
 * So with one thread both kernels make the same choices and the same steps; they differ only in float rounding
 * (the SIMD dot products add four f32 partial sums where the reference adds in f64), which the agreement test
 * (kernel-wasm.test.ts) bounds. Supported: optimizer sgd, no dense layers (num_ip_encoder_layers <= 1), vector_dim
 * a multiple of 4; otherwise training uses the reference kernel.
 *
 * All tables live in one shared WebAssembly.Memory (train.ts lays them out 64-byte aligned, so a row of
 * vector_dim x 4 bytes is whole cache lines); each worker instantiates the module over that memory and owns a
 * scratch region of it (its plan, its encodings and gradients, and the control block).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Rng } from '../../../core/rng.js';
import { Kernel, NEG_POOL_REUSE, hasPair, type KernelBuffers, type KernelConfig } from '../kernel.js';

/** Which kernel trains: the reference (js), WebAssembly SIMD (wasm), or wasm when it is available and applies (auto). */
export type KernelChoice = 'js' | 'wasm' | 'auto';

/** Environment variable that picks the kernel when the caller does not (js | wasm | auto). */
export const KERNEL_ENV = 'SECLAKE_IPI_KERNEL';

const WASM_URL = new URL('./kernel.wasm', import.meta.url);

/** Byte alignment of every table and scratch array (a cache line). */
export const ALIGN = 64;

export function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

let cached: { module: WebAssembly.Module } | { reason: string } | undefined;

/** The compiled kernel module, or why there is none (no kernel.wasm built, no WebAssembly SIMD in this runtime). */
export function wasmKernelModule(): { module: WebAssembly.Module } | { reason: string } {
  if (cached) return cached;
  const file = fileURLToPath(WASM_URL);
  if (!existsSync(file)) {
    cached = { reason: `${file} is missing (npm run build:wasm assembles it from kernel.wat)` };
    return cached;
  }
  try {
    cached = { module: new WebAssembly.Module(readFileSync(file)) };
  } catch (err) {
    cached = { reason: `WebAssembly SIMD / threads unavailable in this runtime (${err instanceof Error ? err.message : String(err)})` };
  }
  return cached;
}

/** Why the WebAssembly kernel cannot train this configuration, or undefined when it can. */
export function wasmUnsupported(cfg: KernelConfig): string | undefined {
  if (cfg.optimizer !== 'sgd') return `optimizer ${cfg.optimizer} (the WebAssembly kernel runs sgd)`;
  if (cfg.dense > 0) return 'num_ip_encoder_layers >= 2 (the WebAssembly kernel runs no dense layers)';
  if (cfg.d % 4 !== 0) return `vector_dim ${cfg.d} is not a multiple of 4`;
  return undefined;
}

/** Control block slots (bytes); must match the loads at the top of kernel.wat `batch`. */
const CTL = {
  E: 0, G: 4, P: 8, bias: 12, rows: 16, order: 20, entRow: 24, hPos: 28, gPos: 32, poolRows: 36, hPool: 40, gPool: 44,
  shuf: 48, negPool: 52, negEnt: 56, sibCount: 60, sibRows: 64, ge: 68, gG: 72, biasGrad: 76,
  d: 80, k: 84, m: 88, M: 92, S: 96, R: 100, uniform: 104, start: 108, lr: 112, decay: 116, maxNorm: 120,
} as const;
const CTL_BYTES = 128;

/** Byte offsets of one worker's scratch arrays (0 = absent), relative to nothing: absolute in the memory. */
export interface WasmScratch {
  ctl: number;
  hPos: number;
  gPos: number;
  poolRows: number;
  hPool: number;
  gPool: number;
  shuf: number;
  negPool: number;
  negEnt: number;
  sibCount: number;
  sibRows: number;
  /** Sibling rows one batch can draw (B x (floor(Q) + 1)). */
  sibCap: number;
  ge: number;
  gG: number;
  biasGrad: number;
  /** End of the region (exclusive). */
  end: number;
}

/** Largest random-address pool of a batch. */
function poolCap(cfg: KernelConfig): number {
  return cfg.R === 0 ? 0 : Math.max(1, Math.ceil((cfg.R * cfg.B) / NEG_POOL_REUSE));
}

/** Lay out one worker's scratch region from byte offset `base` (64-byte aligned). */
export function scratchLayout(cfg: KernelConfig, base: number): WasmScratch {
  const { B, d, k, R, S, Q } = cfg;
  const M = poolCap(cfg);
  let at = align(base);
  const take = (bytes: number): number => {
    if (bytes === 0) return 0;
    const o = at;
    at = align(at + bytes);
    return o;
  };
  const sibCap = Q > 0 ? B * (Math.floor(Q) + 1) : 0;
  const out = {
    ctl: take(CTL_BYTES),
    hPos: take(B * d * 4),
    gPos: take(B * d * 4),
    poolRows: take(M * k * 4),
    hPool: take(M * d * 4),
    gPool: take(M * d * 4),
    shuf: take(S * B * 4),
    negPool: take(B * R * 4),
    negEnt: take(cfg.uniformNegatives ? B * R * 4 : 0),
    sibCount: take(Q > 0 ? B * 4 : 0),
    sibRows: take(sibCap * 4),
    sibCap,
    ge: take(d * 4),
    gG: take(d * 4),
    biasGrad: take(cfg.hasBias ? d * 4 : 0),
    end: 0,
  };
  out.end = at;
  return out;
}

interface KernelExports {
  batch(ctl: number): void;
  loss(): number;
  correct(): number;
  records(): number;
}

/** What a worker needs to run the WebAssembly kernel: the module, the shared memory and its scratch region. */
export interface WasmKernelInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offsets of every table of KernelBuffers in the memory (the views' byteOffset). */
  scratch: WasmScratch;
}

export class WasmKernel extends Kernel {
  private readonly ex: KernelExports;
  private readonly sc: WasmScratch;
  private readonly ctlI: Int32Array;
  private readonly ctlF: Float32Array;
  private readonly ctlD: Float64Array;
  private readonly poolRowsV: Uint32Array;
  private readonly shufV: Int32Array;
  private readonly negPoolV: Uint32Array;
  private readonly negEntV: Uint32Array;
  private readonly sibCountV: Uint32Array;
  private readonly sibRowsV: Uint32Array;
  private readonly gGV: Float32Array;
  private readonly biasGradV: Float32Array;

  constructor(cfg: KernelConfig, buf: KernelBuffers, worker: number, init: WasmKernelInit) {
    super(cfg, buf, worker);
    const why = wasmUnsupported(cfg);
    if (why) throw new Error(`the WebAssembly kernel cannot train this model: ${why}`);
    const mem = init.memory.buffer;
    for (const name of ['E', 'G', 'P', 'bias', 'rows', 'order', 'entRow'] as const) {
      if (buf[name].buffer !== mem) throw new Error(`the WebAssembly kernel needs table ${name} in its memory`);
    }
    const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory }, math: { exp: Math.exp, log1p: Math.log1p } });
    this.ex = instance.exports as unknown as KernelExports;
    const s = init.scratch;
    this.sc = s;
    const { B, d, k, R, S } = cfg;
    const M = poolCap(cfg);
    this.ctlI = new Int32Array(mem, s.ctl, CTL_BYTES / 4);
    this.ctlF = new Float32Array(mem, s.ctl, CTL_BYTES / 4);
    this.ctlD = new Float64Array(mem, s.ctl, CTL_BYTES / 8);
    this.poolRowsV = new Uint32Array(mem, s.poolRows, M * k);
    this.shufV = new Int32Array(mem, s.shuf, S * B);
    this.negPoolV = new Uint32Array(mem, s.negPool, B * R);
    this.negEntV = new Uint32Array(mem, s.negEnt, s.negEnt ? B * R : 0);
    this.sibCountV = new Uint32Array(mem, s.sibCount, s.sibCount ? B : 0);
    this.sibRowsV = new Uint32Array(mem, s.sibRows, s.sibCap);
    this.gGV = new Float32Array(mem, s.gG, d);
    this.biasGradV = new Float32Array(mem, s.biasGrad, s.biasGrad ? d : 0);
    const I = this.ctlI;
    const at = (name: keyof typeof CTL, v: number): void => {
      I[CTL[name] / 4] = v;
    };
    at('E', buf.E.byteOffset);
    at('G', buf.G.byteOffset);
    at('P', buf.P.byteOffset);
    at('bias', cfg.hasBias ? buf.bias.byteOffset : 0);
    at('rows', buf.rows.byteOffset);
    at('order', buf.order.byteOffset);
    at('entRow', buf.entRow.byteOffset);
    for (const name of ['hPos', 'gPos', 'poolRows', 'hPool', 'gPool', 'shuf', 'negPool', 'negEnt', 'sibCount', 'sibRows', 'ge', 'gG', 'biasGrad'] as const) {
      at(name, s[name]);
    }
    at('d', d);
    at('k', k);
    at('R', R);
    at('uniform', cfg.uniformNegatives ? 1 : 0);
    this.ctlD[CTL.maxNorm / 8] = cfg.maxNorm;
  }

  /** The plan of the batch (the reference's random choices, in its order), then kernel.wat `batch`. */
  protected override batch(start: number, end: number, rng: Rng): number {
    const cfg = this.cfg;
    const { k, R, S, wd, hasBias, d } = cfg;
    const { G, entRow, order, pairSet, ipKey, entities } = this.buf;
    const m = end - start;
    const lr = this.lrNow();
    const decay = 1 - lr * wd;
    const M = R === 0 ? 0 : Math.max(1, Math.ceil((R * m) / NEG_POOL_REUSE));
    const poolRows = this.poolRowsV;
    for (let j = 0; j < M; j++) this.randomRows(rng, poolRows, j * k);
    // Shuffled negatives: S derangements; -1 where the re-pairing is a pair of the training data.
    let rounds = 0;
    if (m >= 2) {
      const perm = this.perm;
      const shuf = this.shufV;
      for (let s = 0; s < S; s++) {
        this.derange(m, rng);
        const o = s * m;
        for (let b = 0; b < m; b++) {
          const b2 = perm[b]!;
          const er = entRow[order[start + b]!]!;
          const p2 = order[start + b2]!;
          shuf[o + b] = er === entRow[p2]! || hasPair(pairSet, er, ipKey[p2]!) ? -1 : b2;
        }
      }
      rounds = S;
    }
    // Per positive: its R pool members (and their entities), then its sibling rows.
    const negPool = this.negPoolV;
    const negEnt = this.negEntV;
    const uniform = cfg.uniformNegatives;
    const Q = cfg.Q;
    const Qi = Math.floor(Q);
    const Qf = Q - Qi;
    const sibCount = this.sibCountV;
    const sibRows = this.sibRowsV;
    const nP = cfg.nP;
    const nEnt = entities.length;
    let sp = 0;
    for (let b = 0; b < m; b++) {
      const o = b * R;
      for (let r = 0; r < R; r++) {
        negPool[o + r] = rng.int(M);
        if (uniform) negEnt[o + r] = entities[rng.int(nEnt)]!;
      }
      if (Q > 0) {
        const sib = Qi + (Qf > 0 && rng.next() < Qf ? 1 : 0);
        sibCount[b] = sib;
        for (let q = 0; q < sib; q++) sibRows[sp++] = rng.int(nP);
      }
    }
    const gG = this.gGV;
    gG.fill(0);
    const biasGrad = this.biasGradV;
    if (hasBias) biasGrad.fill(0);
    const I = this.ctlI;
    I[CTL.m / 4] = m;
    I[CTL.M / 4] = M;
    I[CTL.S / 4] = rounds;
    I[CTL.start / 4] = start;
    this.ctlF[CTL.lr / 4] = lr;
    this.ctlF[CTL.decay / 4] = decay;
    this.ex.batch(this.sc.ctl);
    const records = this.ex.records();
    // The shared entity offset and the IP bias: mean-gradient steps per batch (as the reference).
    const gs = lr / Math.max(1, m);
    for (let i = 0; i < d; i++) G[i] = G[i]! - gs * gG[i]!;
    if (hasBias) {
      const bias = this.buf.bias;
      for (let i = 0; i < d; i++) bias[i] = bias[i]! * decay - gs * biasGrad[i]!;
    }
    this.loss = this.ex.loss();
    this.correct = this.ex.correct();
    return records;
  }
}
