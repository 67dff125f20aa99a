/**
 * The WebAssembly SIMD training kernel against the JavaScript reference (kernel.ts): same data, same seed, one
 * thread, so both make the same random choices; the models must agree within float rounding.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rocAuc } from '../auc.js';
import { trainIpInsights, type TrainResult } from '../train.js';
import { dot, encodeRows, ipv4Rows } from '../model.js';
import { TINY_HP, subnetData } from '../test-helpers.js';
import type { HyperparameterInput } from '../config.js';
import type { PairData } from '../../pairs/data.js';
import { scratchLayout, wasmKernelModule, wasmUnsupported } from './kernel-wasm.js';

async function train(data: PairData, kernel: 'js' | 'wasm', hp: HyperparameterInput = {}, inProcess = true): Promise<TrainResult> {
  return trainIpInsights({ train: data, hyperparameters: { ...TINY_HP, ...hp }, inProcess, kernel, log: () => {} });
}

/** Largest |a - b| over two tables, and the largest |a|. */
function maxDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return { diff, scale };
}

/** Scores of every training pair and of its /24 moved to 192.168.x (a foreign address) under a trained model. */
function scores(res: TrainResult, data: PairData): { pos: Float64Array; neg: Float64Array } {
  const w = res.weights;
  const spec = res.header.params.encoder;
  const k = spec.v4_prefixes.length;
  const rows = new Uint32Array(k);
  const h = new Float32Array(w.dim);
  const tmp = new Float32Array(w.dim);
  const pos = new Float64Array(data.n);
  const neg = new Float64Array(data.n);
  for (let i = 0; i < data.n; i++) {
    const o = (data.entHash[i]! % w.numEntityVectors) * w.dim;
    ipv4Rows(spec, data.addr[i]!, rows, 0);
    encodeRows(w, rows, 0, k, h, tmp);
    pos[i] = dot(w.entity, o, h, 0, w.dim);
    ipv4Rows(spec, ((192 << 24) | (168 << 16) | (data.addr[i]! & 0xffff)) >>> 0, rows, 0);
    encodeRows(w, rows, 0, k, h, tmp);
    neg[i] = dot(w.entity, o, h, 0, w.dim);
  }
  return { pos, neg };
}

describe('ipinsights WebAssembly SIMD kernel', () => {
  it('is built and runs in this runtime (npm run build:wasm)', () => {
    const m = wasmKernelModule();
    assert.ok('module' in m, 'reason' in m ? m.reason : '');
  });

  for (const [name, hp] of [
    ['defaults (uniform random negatives, siblings, bias)', {}],
    ['batch random negatives, no siblings, entity max norm', { random_negative_entity: 'batch', sibling_negative_sampling_rate: 0, entity_max_norm: 0.5 }],
    ['no encoder layer (no bias), weight decay, S = 2', { num_ip_encoder_layers: 0, weight_decay: 0.001, shuffled_negative_sampling_rate: 2 }],
  ] as const) {
    it(`trains the same model as the JavaScript kernel on the same seed: ${name}`, async () => {
      const data = subnetData(30, 40);
      const js = await train(data, 'js', hp);
      const wasm = await train(data, 'wasm', hp);
      assert.equal(js.kernel, 'js');
      assert.equal(wasm.kernel, 'wasm');
      // Same random choices: the same record counts in every epoch.
      assert.deepEqual(wasm.epochs.map((e) => e.records), js.epochs.map((e) => e.records));
      for (let e = 0; e < js.epochs.length; e++) {
        assert.ok(Math.abs(wasm.epochs[e]!.loss - js.epochs[e]!.loss) < 1e-3 * Math.max(1, js.epochs[e]!.loss), `epoch ${e} loss ${wasm.epochs[e]!.loss} vs ${js.epochs[e]!.loss}`);
      }
      for (const [table, a, b] of [
        ['entity', js.weights.entity, wasm.weights.entity],
        ['ip', js.weights.ip, wasm.weights.ip],
      ] as const) {
        const { diff, scale } = maxDiff(a, b);
        assert.ok(scale > 0.01, `${table} table trained`);
        assert.ok(diff < 1e-3 * scale, `${table} table: max |wasm - js| = ${diff} (largest weight ${scale})`);
      }
      const sj = scores(js, data);
      const sw = scores(wasm, data);
      let worst = 0;
      for (let i = 0; i < data.n; i++) worst = Math.max(worst, Math.abs(sj.pos[i]! - sw.pos[i]!), Math.abs(sj.neg[i]! - sw.neg[i]!));
      assert.ok(worst < 1e-2, `scores differ by up to ${worst}`);
      assert.ok(Math.abs(rocAuc(sw.pos, sw.neg) - rocAuc(sj.pos, sj.neg)) < 1e-3);
      assert.ok(rocAuc(sw.pos, sw.neg) > 0.9, 'the wasm-trained model separates home /24s from foreign addresses');
    });
  }

  it('trains in worker threads (two workers over one shared memory) to a working model', async () => {
    const data = subnetData(30, 40);
    const res = await train(data, 'wasm', { threads: 2, mini_batch_size: 32 }, false);
    assert.equal(res.kernel, 'wasm');
    assert.equal(res.threads, 2);
    const s = scores(res, data);
    assert.ok(rocAuc(s.pos, s.neg) > 0.9);
  });

  it('refuses what it does not run, and auto falls back to the reference for it', async () => {
    const data = subnetData(10, 10);
    await assert.rejects(train(data, 'wasm', { optimizer: 'adam' }), /WebAssembly training kernel cannot run: optimizer adam/);
    await assert.rejects(train(data, 'wasm', { vector_dim: 6 }), /vector_dim 6 is not a multiple of 4/);
    const lines: string[] = [];
    const res = await trainIpInsights({ train: data, hyperparameters: { ...TINY_HP, num_ip_encoder_layers: 2 }, inProcess: true, kernel: 'auto', log: (l) => lines.push(l) });
    assert.equal(res.kernel, 'js');
    const auto = await trainIpInsights({ train: data, hyperparameters: TINY_HP, inProcess: true, kernel: 'auto', log: () => {} });
    assert.equal(auto.kernel, 'wasm');
  });

  it('lays out scratch regions on cache lines, without overlap', () => {
    const cfg = { d: 128, k: 6, nE: 100, nP: 1024, R: 5, S: 1, B: 1000, lr: 0.05, adamLr: 0.01, wd: 0, optimizer: 'sgd' as const, dense: 0, hasBias: true,
      v4: [8], v6: [16], hashSeed: 1, p6: 0, uniformNegatives: true, maxNorm: 0, Q: 1.5, totalPositives: 1000, workers: 1, seed: 1 };
    assert.equal(wasmUnsupported(cfg), undefined);
    const s = scratchLayout(cfg, 100);
    const starts = [s.ctl, s.hPos, s.gPos, s.poolRows, s.hPool, s.gPool, s.shuf, s.negPool, s.negEnt, s.sibCount, s.sibRows, s.ge, s.gG, s.biasGrad];
    for (const o of starts) assert.equal(o % 64, 0);
    assert.ok(s.ctl >= 100);
    assert.deepEqual([...starts].sort((a, b) => a - b), starts);
    assert.equal(s.sibCap, 2000);
    assert.ok(s.end >= s.biasGrad + 128 * 4);
  });
});
