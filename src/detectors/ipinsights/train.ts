/**
 * Training orchestration: tables in SharedArrayBuffers, one worker thread per core running the Hogwild
 * kernel (kernel.ts), SageMaker-style metric lines, validation:discriminator_auc every epoch, divergence
 * checks, and the model file at the end. With threads=1 and a seed, training is bit-for-bit reproducible.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { TrainingError, errorMessage } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { startModuleWorker } from '../../core/worker.js';
import { rocAuc } from './auc.js';
import { parseHyperparameters, type HyperparameterInput, type Hyperparameters } from './config.js';
import { countDistinctPrefixes, knownEntities, type PairData, type BadRowReport } from '../pairs/data.js';
import { murmur3Words2, murmur3Words5 } from '../pairs/hash.js';
import {
  addPair,
  Kernel,
  STATS_WIDTH,
  STAT_BATCHES,
  STAT_CORRECT,
  STAT_LOSS,
  STAT_NONFINITE,
  STAT_RECORDS,
  viewsOf,
  type KernelBuffers,
  type KernelConfig,
  type SharedBufferSpec,
} from './kernel.js';
import type { RecordDefinitionRef } from '../model-file.js';
import { memoryHeader, saveModel, type ModelHeader } from './model-file.js';
import { buildHistory, type HistoryData } from './history.js';
import { dot, encodeRows, encoderSpecFor, ipv4Rows, ipv6Rows, rowsPerIp, type EncoderSpec, type Layer, type Weights } from './model.js';
import { seclakeVersion } from '../../core/version.js';
import { KERNEL_ENV, WasmKernel, align, scratchLayout, wasmKernelModule, wasmUnsupported, type KernelChoice, type WasmKernelInit } from './wasm/kernel-wasm.js';


/** A mean training cross-entropy (nats) above this is divergence, not learning (chance is ln 2). */
const MAX_SANE_LOSS = 50;
export const METRICS_HOST = 'algo-1';
/** Half-width of the uniform initialisation of entity rows (scaled by 1/sqrt(vector_dim)). */
const ENTITY_INIT = 0.5;
/**
 * SageMaker's learning_rate is an Adam step size (about the per-coordinate change per step). A plain SGD
 * step is lr x gradient, and gradients here are ~0.1-0.2 per coordinate, so SGD uses 5 x learning_rate:
 * the tutorial's 0.01 then means an SGD step of 0.05, the best of 0.01 / 0.02 / 0.05 / 0.1 we measured.
 */
export const SGD_LR_SCALE = 5;
/** Largest auto-sized IP table, in bytes (2^18 rows at vector_dim 128; see docs/ipinsights.md). */
const AUTO_IP_TABLE_BYTES = 128 * 1024 * 1024;

export interface TrainOptions {
  train: PairData;
  validation?: PairData;
  /** SageMaker-style map (strings or numbers); validated here. */
  hyperparameters?: HyperparameterInput;
  /** Where to write the model file; omit to keep the model in memory only. */
  modelPath?: string;
  /** Metric lines (SageMaker format). Default: stderr. */
  log?: (line: string) => void;
  /** Progress callback (records done so far, total records), called a few times per second. */
  onProgress?: (done: number, total: number) => void;
  /** Run the kernel in this thread instead of worker threads (threads must be 1). */
  inProcess?: boolean;
  /** Description of where the data came from (model metadata). */
  source?: string;
  /** The record definition the pairs came from (stored in the model header). */
  recordDefinition?: RecordDefinitionRef;
  /**
   * The training kernel: 'js' (the reference, kernel.ts), 'wasm' (WebAssembly SIMD, wasm/kernel-wasm.ts; an error
   * when it cannot run), 'auto' (wasm when it is available and supports the hyperparameters, else js with a log
   * line). Default: $SECLAKE_IPI_KERNEL, else 'auto'.
   */
  kernel?: KernelChoice;
}

export interface EpochStats {
  epoch: number;
  loss: number;
  accuracy: number;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  validationAuc: number | null;
}

export interface TrainResult {
  header: ModelHeader;
  weights: Weights;
  /** Per-entity training addresses (capped sample), stored in the model file for explanations. */
  history: HistoryData;
  epochs: EpochStats[];
  bad: BadRowReport;
  hyperparameters: Hyperparameters;
  threads: number;
  /** The kernel that trained: the JavaScript reference or WebAssembly SIMD. */
  kernel: 'js' | 'wasm';
  seconds: number;
  recordsPerSecond: number;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x);
}


/** Slots of the training pair set: a power of two >= 2 x rows. */
function pairSetSize(n: number): number {
  let size = 1024;
  while (size < 2 * n) size *= 2;
  return size;
}

type TableKind = SharedBufferSpec[keyof KernelBuffers]['kind'];

/**
 * The tables: each in its own SharedArrayBuffer (the reference kernel), or all in one shared WebAssembly.Memory,
 * 64-byte aligned (a row of vector_dim x 4 bytes then starts on a cache line), followed by each worker's scratch
 * region (the WebAssembly kernel). Byte 0 of the memory is left unused (0 means "absent" to the kernel).
 */
function allocateTables(
  sizes: Record<keyof KernelBuffers, [TableKind, number]>,
  wasm: { module: WebAssembly.Module; cfg: KernelConfig; threads: number } | undefined,
): { spec: SharedBufferSpec; inits: WasmKernelInit[] } {
  const spec: Partial<SharedBufferSpec> = {};
  const entries = Object.entries(sizes) as [keyof KernelBuffers, [TableKind, number]][];
  const bytesOf = (kind: TableKind, n: number): number => n * (kind === 'f64' ? 8 : 4);
  if (!wasm) {
    for (const [name, [kind, n]] of entries) spec[name] = { buffer: new SharedArrayBuffer(bytesOf(kind, n)), kind };
    return { spec: spec as SharedBufferSpec, inits: [] };
  }
  let at = 64;
  const offsets: number[] = [];
  for (const [, [kind, n]] of entries) {
    offsets.push(at);
    at = align(at + bytesOf(kind, n));
  }
  const scratch = [];
  for (let w = 0; w < wasm.threads; w++) {
    const sc = scratchLayout(wasm.cfg, at);
    scratch.push(sc);
    at = sc.end;
  }
  const pages = Math.ceil(at / 65536);
  if (pages > 65536) throw new TrainingError(`the tables need ${(at / 2 ** 30).toFixed(1)} GiB, more than a WebAssembly memory holds (4 GiB)`);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  entries.forEach(([name, [kind, n]], i) => {
    spec[name] = { buffer: memory.buffer, kind, offset: offsets[i]!, length: n };
  });
  return { spec: spec as SharedBufferSpec, inits: scratch.map((sc) => ({ module: wasm.module, memory, scratch: sc })) };
}

/** The kernel this run uses, from the option or $SECLAKE_IPI_KERNEL; logs why 'auto' falls back to JavaScript. */
function chooseKernel(choice: KernelChoice | undefined, cfg: KernelConfig, log: (line: string) => void): WebAssembly.Module | undefined {
  const env = process.env[KERNEL_ENV];
  const want = choice ?? (env === 'js' || env === 'wasm' || env === 'auto' ? env : 'auto');
  if (env !== undefined && choice === undefined && want !== env) {
    throw new TrainingError(`${KERNEL_ENV}=${env}: expected js, wasm or auto`);
  }
  if (want === 'js') return undefined;
  const unsupported = wasmUnsupported(cfg);
  const loaded = wasmKernelModule();
  const why = unsupported ?? ('reason' in loaded ? loaded.reason : undefined);
  if (why !== undefined) {
    if (want === 'wasm') throw new TrainingError(`the WebAssembly training kernel cannot run: ${why}`);
    if (unsupported === undefined) log(`ipinsights: training with the JavaScript kernel: the WebAssembly SIMD kernel is unavailable: ${why}`);
    return undefined;
  }
  return 'module' in loaded ? loaded.module : undefined;
}

/** Rows of the auto-sized IP table: distinct prefixes rounded up to a power of two, within [1024, cap]. */
export function autoIpVectors(distinctPrefixes: number, d: number): number {
  const cap = 2 ** Math.floor(Math.log2(AUTO_IP_TABLE_BYTES / (4 * d)));
  let n = 1024;
  while (n < distinctPrefixes && n < cap) n *= 2;
  return Math.min(n, cap);
}

/** Prefix rows (K per pair) of a PairData for an encoder spec. */
export function pairRows(spec: EncoderSpec, data: PairData, out?: Uint32Array): Uint32Array {
  const k = rowsPerIp(spec);
  const rows = out ?? new Uint32Array(data.n * k);
  for (let i = 0; i < data.n; i++) {
    if (data.fam[i] === 4) ipv4Rows(spec, data.addr[i]!, rows, i * k);
    else {
      const o = data.addr[i]! * 4;
      ipv6Rows(spec, data.v6.subarray(o, o + 4), rows, i * k);
    }
  }
  return rows;
}

function weightsView(buf: KernelBuffers, hp: Hyperparameters, spec: EncoderSpec, population: Float32Array, known: { fp: Float64Array; count: Uint32Array }): Weights {
  const d = hp.vector_dim;
  const layers: Layer[] = spec.layers.map((ls, k) =>
    ls.weight === 'dense'
      ? { weight: buf.denseW.subarray(k * d * d, (k + 1) * d * d), bias: buf.denseB.subarray(k * d, (k + 1) * d), activation: ls.activation }
      : { weight: null, bias: buf.bias, activation: ls.activation },
  );
  return {
    dim: d,
    numEntityVectors: hp.num_entity_vectors,
    entity: buf.E,
    ip: buf.P,
    layers,
    population,
    knownFp: known.fp,
    knownCount: known.count,
  };
}

/** Count-weighted mean of the entity rows used by the training pairs. */
function populationVector(E: Float32Array, entRow: Uint32Array, nE: number, d: number): Float32Array {
  const counts = new Uint32Array(nE);
  for (let i = 0; i < entRow.length; i++) counts[entRow[i]!]!++;
  const acc = new Float64Array(d);
  for (let r = 0; r < nE; r++) {
    const c = counts[r]!;
    if (c === 0) continue;
    const o = r * d;
    for (let i = 0; i < d; i++) acc[i] += c * E[o + i]!;
  }
  const out = new Float32Array(d);
  const n = Math.max(1, entRow.length);
  for (let i = 0; i < d; i++) out[i] = acc[i]! / n;
  return out;
}

/**
 * validation:discriminator_auc as SageMaker computes it: every pair vs one random-IP negative for its entity.
 * `offset` (during training: the shared entity offset not yet folded into the table) is added to entity rows.
 */
export function discriminatorAuc(w: Weights, spec: EncoderSpec, data: PairData, seed: number, offset?: Float32Array): number {
  const d = w.dim;
  const k = rowsPerIp(spec);
  const rows = pairRows(spec, data);
  const negRows = new Uint32Array(k);
  const ipVec = new Float32Array(d);
  const tmp = new Float32Array(d);
  const pos = new Float64Array(data.n);
  const neg = new Float64Array(data.n);
  const rng = new Rng(murmur3Words2(0xa0c, 0x5eed, seed));
  const knownFp = w.knownFp;
  const known = new Set<number>();
  for (let i = 0; i < knownFp.length; i++) known.add(knownFp[i]!);
  const words = new Uint32Array(4);
  const ev = new Float32Array(d);
  for (let i = 0; i < data.n; i++) {
    const isKnown = known.has(data.fp[i]!);
    let vec = isKnown ? w.entity : w.population;
    let off = isKnown ? (data.entHash[i]! % w.numEntityVectors) * d : 0;
    if (isKnown && offset) {
      for (let j = 0; j < d; j++) ev[j] = vec[off + j]! + offset[j]!;
      vec = ev;
      off = 0;
    }
    encodeRows(w, rows, i * k, k, ipVec, tmp);
    pos[i] = dot(vec, off, ipVec, 0, d);
    if (data.fam[i] === 4) ipv4Rows(spec, rng.nextU32(), negRows, 0);
    else {
      words[0] = (0x20000000 | (rng.nextU32() & 0x1fffffff)) >>> 0;
      words[1] = rng.nextU32();
      words[2] = rng.nextU32();
      words[3] = rng.nextU32();
      ipv6Rows(spec, words, negRows, 0);
    }
    encodeRows(w, negRows, 0, k, ipVec, tmp);
    neg[i] = dot(vec, off, ipVec, 0, d);
  }
  return rocAuc(pos, neg);
}


function hasNonFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v !== v || v === Infinity || v === -Infinity) return true;
  }
  return false;
}

/** Train a model. Throws TrainingError when there is nothing to train on or training diverges. */
export async function trainIpInsights(opts: TrainOptions): Promise<TrainResult> {
  const hp = parseHyperparameters(opts.hyperparameters ?? {});
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const data = opts.train;
  if (data.n === 0) {
    const ex = data.bad.examples.map((e) => `${e.source}:${e.line}: ${e.message}`).join('; ');
    throw new TrainingError(`no valid training rows${data.bad.total > 0 ? ` (${data.bad.total} malformed; first: ${ex})` : ''}`);
  }
  const t0 = performance.now();
  const d = hp.vector_dim;
  const nE = hp.num_entity_vectors;
  const B = hp.mini_batch_size;
  const R = hp.random_negative_sampling_rate;
  const S = hp.shuffled_negative_sampling_rate;
  const n = data.n;
  const nb = Math.ceil(n / B);
  let threads = hp.threads > 0 ? hp.threads : availableParallelism();
  threads = Math.max(1, Math.min(threads, nb));
  if (opts.inProcess && threads !== 1) threads = 1;

  // Encoder and table sizes.
  const probe = encoderSpecFor(hp.num_ip_encoder_layers, 1);
  const nP = hp.num_ip_vectors > 0 ? hp.num_ip_vectors : autoIpVectors(countDistinctPrefixes(data, probe.v4_prefixes, probe.v6_prefixes), d);
  const spec = encoderSpecFor(hp.num_ip_encoder_layers, nP);
  const k = rowsPerIp(spec);
  const dense = Math.max(0, hp.num_ip_encoder_layers - 1);
  const hasBias = hp.num_ip_encoder_layers >= 1;
  const adam = hp.optimizer === 'adam';

  const entRowLocal = new Uint32Array(n);
  for (let i = 0; i < n; i++) entRowLocal[i] = data.entHash[i]! % nE;
  const distinctRows = Uint32Array.from(new Set(entRowLocal));
  const p6 = data.v6Rows === 0 ? 0 : data.v6Rows === n ? 1 : Math.min(0.9, Math.max(0.1, data.v6Rows / n));
  const cfg: KernelConfig = {
    d,
    k,
    nE,
    nP,
    R,
    S,
    B,
    lr: hp.optimizer === 'sgd' ? hp.learning_rate * SGD_LR_SCALE : hp.learning_rate,
    adamLr: hp.learning_rate,
    wd: hp.weight_decay,
    optimizer: hp.optimizer,
    dense,
    hasBias,
    v4: spec.v4_prefixes,
    v6: spec.v6_prefixes,
    hashSeed: spec.hash_seed,
    p6,
    uniformNegatives: hp.random_negative_entity === 'uniform',
    maxNorm: hp.entity_max_norm,
    Q: dense > 0 ? 0 : hp.sibling_negative_sampling_rate,
    totalPositives: n * hp.epochs,
    workers: threads,
    seed: hp.seed,
  };
  const wasmModule = chooseKernel(opts.kernel, cfg, log);
  // Shared tables.
  const f32 = (count: number): [TableKind, number] => ['f32', count];
  const { spec: spec2, inits: wasmInits } = allocateTables(
    {
      E: f32(nE * d),
      G: f32(d),
      P: f32(nP * d),
      bias: f32(hasBias ? d : 0),
      denseW: f32(dense * d * d),
      denseB: f32(dense * d),
      Em: f32(adam ? nE * d : 0),
      Ev: f32(adam ? nE * d : 0),
      Pm: f32(adam ? nP * d : 0),
      Pv: f32(adam ? nP * d : 0),
      biasM: f32(adam && hasBias ? d : 0),
      biasV: f32(adam && hasBias ? d : 0),
      Gm: f32(adam ? d : 0),
      Gv: f32(adam ? d : 0),
      denseWm: f32(dense * d * d),
      denseWv: f32(dense * d * d),
      denseBm: f32(dense * d),
      denseBv: f32(dense * d),
      entRow: ['u32', n],
      entities: ['u32', distinctRows.length],
      ipKey: ['u32', n],
      pairSet: ['u32', S > 0 ? pairSetSize(n) : 0],
      rows: ['u32', n * k],
      order: ['u32', n],
      stats: ['f64', threads * STATS_WIDTH],
      control: ['i32', 4],
    },
    wasmModule ? { module: wasmModule, cfg, threads } : undefined,
  );
  const buf = viewsOf(spec2);
  const rng = new Rng(hp.seed);
  const a = ENTITY_INIT / Math.sqrt(d);
  for (let i = 0; i < buf.E.length; i++) buf.E[i] = (rng.next() * 2 - 1) * a;
  if (dense > 0) {
    // He initialisation for the ReLU layers; small random prefix rows so the first layer is not dead.
    const sd = Math.sqrt(2 / d);
    for (let i = 0; i < buf.denseW.length; i++) buf.denseW[i] = rng.normal() * sd;
    for (let i = 0; i < buf.P.length; i++) buf.P[i] = (rng.next() * 2 - 1) * a;
  }
  buf.entRow.set(entRowLocal);
  buf.entities.set(distinctRows);
  for (let i = 0; i < n; i++) {
    let key: number;
    if (data.fam[i] === 4) key = data.addr[i]!;
    else {
      const o = data.addr[i]! * 4;
      key = murmur3Words5(data.v6[o]!, data.v6[o + 1]!, data.v6[o + 2]!, data.v6[o + 3]!, 6, 0x1b6);
    }
    buf.ipKey[i] = key;
    if (S > 0) addPair(buf.pairSet, entRowLocal[i]!, key);
  }
  pairRows(spec, data, buf.rows);
  const known = knownEntities(data.fp);


  // Workers (or the in-process kernel).
  const workers: Worker[] = [];
  let inline: Kernel | undefined;
  let workerError: unknown;
  if (opts.inProcess) {
    inline = wasmModule ? new WasmKernel(cfg, buf, 0, wasmInits[0]!) : new Kernel(cfg, buf, 0);
  } else {
    for (let w = 0; w < threads; w++) {
      const worker = startModuleWorker(import.meta.url, 'worker', { workerData: { cfg, buffers: spec2, worker: w, wasm: wasmInits[w] } });
      worker.on('error', (err) => {
        workerError ??= err;
        Atomics.store(buf.control, 0, 1);
      });
      workers.push(worker);
    }
  }

  const statsTotal = (slot: number): number => {
    let s = 0;
    for (let w = 0; w < threads; w++) s += buf.stats[w * STATS_WIDTH + slot]!;
    return s;
  };
  const totalRecords = n * (1 + R + S + (dense > 0 ? 0 : hp.sibling_negative_sampling_rate)) * hp.epochs;
  const progress = opts.onProgress ?? (() => {});
  const epochs: EpochStats[] = [];
  const order = buf.order;
  const population = new Float32Array(d);
  const wv = weightsView(buf, hp, spec, population, known);
  let lastValidationAuc: number | null = null;
  let nextMetricBatch = hp.batch_metrics_publish_interval;
  let prev = { batches: 0, records: 0, loss: 0, correct: 0 };
  const interval = hp.batch_metrics_publish_interval;

  const publish = (epoch: number): void => {
    const batches = statsTotal(STAT_BATCHES) - prev.batches;
    if (batches < nextMetricBatch) return;
    const at = Math.floor(batches / interval) * interval;
    nextMetricBatch = at + interval;
    const recs = statsTotal(STAT_RECORDS) - prev.records;
    const loss = (statsTotal(STAT_LOSS) - prev.loss) / Math.max(1, recs);
    const acc = (statsTotal(STAT_CORRECT) - prev.correct) / Math.max(1, recs);
    log(`#quality_metric: host=${METRICS_HOST}, epoch=${epoch}, batch=${at} train binary_classification_accuracy <score>=${fmt(acc)}`);
    log(`#quality_metric: host=${METRICS_HOST}, epoch=${epoch}, batch=${at} train binary_classification_cross_entropy <loss>=${fmt(loss)}`);
  };

  try {
    for (let epoch = 0; epoch < hp.epochs; epoch++) {
      const te = performance.now();
      // The epoch's order: a seeded permutation of the training rows.
      const prng = new Rng(murmur3Words2(epoch, 0x0de7, hp.seed));
      for (let i = 0; i < n; i++) order[i] = i;
      for (let i = n - 1; i > 0; i--) {
        const j = prng.int(i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      nextMetricBatch = interval;
      if (inline) {
        let lastUi = performance.now();
        inline.runEpoch(epoch, n, () => {
          publish(epoch);
          const now = performance.now();
          if (now - lastUi > 200) {
            lastUi = now;
            progress(statsTotal(STAT_RECORDS), totalRecords);
          }
        });
      } else {
        await new Promise<void>((resolve, reject) => {
          let pending = workers.length;
          const timer = setInterval(() => {
            publish(epoch);
            progress(statsTotal(STAT_RECORDS), totalRecords);
            if (workerError) {
              clearInterval(timer);
              reject(workerError instanceof Error ? workerError : new Error(String(workerError)));
            }
          }, 100);
          for (const wk of workers) {
            const onMsg = (msg: { type: string; epoch: number }): void => {
              if (msg.type !== 'done' || msg.epoch !== epoch) return;
              wk.off('message', onMsg);
              if (--pending === 0) {
                clearInterval(timer);
                resolve();
              }
            };
            wk.on('message', onMsg);
            wk.postMessage({ type: 'epoch', epoch, n });
          }
        });
      }
      if (statsTotal(STAT_NONFINITE) > 0 || Atomics.load(buf.control, 0) !== 0) {
        throw new TrainingError(
          `training diverged in epoch ${epoch}: the loss became NaN/Infinity (learning_rate=${hp.learning_rate} is probably too high); no model was written`,
        );
      }
      publish(epoch);
      const cur = { batches: statsTotal(STAT_BATCHES), records: statsTotal(STAT_RECORDS), loss: statsTotal(STAT_LOSS), correct: statsTotal(STAT_CORRECT) };
      const recs = cur.records - prev.records;
      const loss = (cur.loss - prev.loss) / Math.max(1, recs);
      const acc = (cur.correct - prev.correct) / Math.max(1, recs);
      const secs = (performance.now() - te) / 1000;
      prev = cur;
      log(`#quality_metric: host=${METRICS_HOST}, epoch=${epoch}, train binary_classification_accuracy <score>=${fmt(acc)}`);
      log(`#quality_metric: host=${METRICS_HOST}, epoch=${epoch}, train binary_classification_cross_entropy <loss>=${fmt(loss)}`);
      // A finite but absurd loss diverged as surely as a NaN: a mean cross-entropy of MAX_SANE_LOSS nats means the
      // model gives the true labels probabilities near e^-MAX_SANE_LOSS (chance is ln 2 = 0.69). The float32 kernel
      // overflows to Infinity on the same run; the float64 accumulation of the JS kernel did not say so.
      if (loss > MAX_SANE_LOSS) {
        throw new TrainingError(`training diverged in epoch ${epoch}: the mean loss is ${fmt(loss)} (learning_rate=${hp.learning_rate} is probably too high); no model was written`);
      }
      log(`#progress_metric: host=${METRICS_HOST}, completed ${fmt(((epoch + 1) / hp.epochs) * 100)} %`);
      log(`#throughput_metric: host=${METRICS_HOST}, train throughput=${(recs / secs).toFixed(2)} records/second`);
      let vauc: number | null = null;
      if (opts.validation && opts.validation.n > 0) {
        population.set(populationVector(buf.E, buf.entRow, nE, d));
        for (let i = 0; i < d; i++) population[i] += buf.G[i]!;
        vauc = discriminatorAuc(wv, spec, opts.validation, hp.seed, buf.G);
        log(`#quality_metric: host=${METRICS_HOST}, epoch=${epoch}, validation discriminator_auc <score>=${fmt(vauc)}`);
        lastValidationAuc = vauc;
      }
      log(`Epoch[${epoch}] Time cost=${secs.toFixed(3)}`);
      epochs.push({ epoch, loss, accuracy: acc, records: recs, seconds: secs, recordsPerSecond: recs / secs, validationAuc: vauc });
    }
  } catch (err) {
    if (err instanceof TrainingError) throw err;
    throw new TrainingError(`training failed: ${errorMessage(err)}`, { cause: err });
  } finally {
    for (const wk of workers) {
      wk.postMessage({ type: 'exit' });
      void wk.terminate();
    }
  }

  // Fold the shared entity offset into the table, so entity_embedding . ip_embedding is the score.
  for (let r = 0; r < nE; r++) {
    const o = r * d;
    for (let i = 0; i < d; i++) buf.E[o + i] += buf.G[i]!;
  }
  for (const [name, arr] of [['entity', buf.E], ['ip', buf.P], ['bias', buf.bias], ['dense', buf.denseW]] as const) {
    if (hasNonFinite(arr)) throw new TrainingError(`training diverged: the ${name} weights contain NaN/Infinity; no model was written`);
  }
  population.set(populationVector(buf.E, buf.entRow, nE, d));

  const seconds = (performance.now() - t0) / 1000;
  const trainSecs = epochs.reduce((s, e) => s + e.seconds, 0);
  const allRecs = epochs.reduce((s, e) => s + e.records, 0);
  const last = epochs[epochs.length - 1]!;
  let v6rows = 0;
  for (let i = 0; i < n; i++) if (data.fam[i] === 6) v6rows++;
  const headerBase = {
    hyperparameters: hp,
    encoder: spec,
    training: {
      rows: n,
      bad_rows: data.bad.total,
      distinct_entities: known.fp.length,
      ipv6_rows: v6rows,
      epochs: hp.epochs,
      final_loss: last.loss,
      final_accuracy: last.accuracy,
      validation_auc: lastValidationAuc,
      validation_rows: opts.validation?.n ?? 0,
      seed: hp.seed,
      threads,
      data_time_range:
        data.timeMin !== undefined && data.timeMax !== undefined
          ? { start: new Date(data.timeMin).toISOString(), end: new Date(data.timeMax).toISOString() }
          : null,
      source: opts.source ?? data.sources.join(','),
      trained_at: new Date().toISOString(),
      training_seconds: seconds,
      records_per_second: allRecs / trainSecs,
      seclake_version: seclakeVersion(),
      epoch_history: epochs.map((e) => ({ epoch: e.epoch, loss: e.loss, accuracy: e.accuracy, validation_auc: e.validationAuc, seconds: e.seconds })),
    },
    record_definition: opts.recordDefinition ?? null,
    calibration: null,
    extras: {},
  };
  // Detach the weights from the shared buffers' extra state: copy only what the model needs.
  const weights: Weights = wv;
  const history = buildHistory(data, known);
  let header: ModelHeader;
  if (opts.modelPath) {
    header = saveModel(opts.modelPath, headerBase, weights, history);
  } else {
    header = memoryHeader(headerBase, weights, history);
  }
  return { header, weights, history, epochs, bad: data.bad, hyperparameters: hp, threads, kernel: wasmModule ? 'wasm' : 'js', seconds, recordsPerSecond: allRecs / trainSecs };
}
