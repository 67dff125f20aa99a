/**
 * bench:soak — the embedded monitor on an hour-equivalent stream of objects: is its memory flat?
 *
 *   npm run bench:soak [-- --objects 720 --records 2500 --seconds-per-object 5 --sample-every 10 --warmup 0.1]
 *
 * 1. Setup (as bench:monitor): 100k synthetic v5 flow records (bench/lib/flowgen.ts) ingested into a temp lake, an
 *    IP Insights model trained on their `flow-peer` pairs and calibrated at 1% FPR on a held-out object.
 * 2. Stream: a producer process generates and ingests --objects objects of --records records into the lake, one
 *    after the other (at most --ahead objects ahead of the monitor), each --seconds-per-object later in event time
 *    than the one before: 720 objects of 5 s are an hour of traffic at the demo's live rate (one object every 5 s),
 *    0.5% of records reaching never-seen addresses (findings). This process runs `startMonitor` on the lake, as
 *    `seclake monitor` does, and samples its memory every --sample-every objects: the heap after a full garbage
 *    collection (what is retained) and the resident set (JS plus DuckDB and buffers).
 * 3. Report: the least-squares slope of each in MB per 1000 objects after the warm-up (--warmup, a share of the
 *    objects), the peak, and beside them the reference measured in the same run: the level of the first quarter of
 *    the samples after warm-up, with the growth over the stream as a share of it; the slope over the last half too.
 *    The monitor's finding-policy state (dedup entries, bounded by its 1 h event-time window and 100,000 entries)
 *    grows until the stream spans the window: its size (the checkpoint's) is shown, so heap growth can be told from it.
 *
 * Needs `--expose-gc` (the npm script passes it). Reads nothing outside the repo.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { modelAccess } from '../src/calibrate/model.js';
import { runCalibration } from '../src/calibrate/run.js';
import { trainIpInsights } from '../src/detectors/ipinsights/index.js';
import { PAIR_PRESETS } from '../src/detectors/pairs/definitions.js';
import { loadPairsFromLake, writeLakePairsCsv } from '../src/detectors/pairs/lake.js';
import { ingest } from '../src/ingest/ingest.js';
import { readObjects } from '../src/lake/catalog.js';
import { monitorDir, startMonitor, type MonitorEvent } from '../src/monitor/embedded.js';
import { writeFlowLog } from './lib/flowgen.js';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '720' },
    records: { type: 'string', default: '2500' },
    'seconds-per-object': { type: 'string', default: '5' },
    'sample-every': { type: 'string', default: '10' },
    warmup: { type: 'string', default: '0.1' },
    ahead: { type: 'string', default: '8' },
    'foreign-rate': { type: 'string', default: '0.005' },
    producer: { type: 'string' },
    keep: { type: 'boolean' },
  },
});

const N = Number(values.objects);
const RECORDS = Number(values.records);
const STEP_S = Number(values['seconds-per-object']);
const SAMPLE_EVERY = Math.max(1, Number(values['sample-every']));
const WARMUP = Math.min(0.5, Math.max(0, Number(values.warmup)));
const AHEAD = Math.max(1, Number(values.ahead));
const FOREIGN = Number(values['foreign-rate']);
const POOL = 3000;
const T0_S = 1_700_100_000;
const PAIRS = 'flow-peer';

const objectFile = (dir: string, k: number): string => path.join(dir, `123456789012_vpcflowlogs_us-east-1_fl-0soak_${String(k).padStart(5, '0')}.log.gz`);

// ---- producer (a child process: its ingest memory is not the monitor's) --------------------------------------

async function producer(lakeDir: string): Promise<void> {
  const dir = path.dirname(lakeDir);
  let allowed = 0;
  let wake: (() => void) | undefined;
  process.on('message', (m: { allow: number }) => {
    allowed = Math.max(allowed, m.allow);
    wake?.();
  });
  for (let k = 0; k < N; k++) {
    while (k >= allowed) await new Promise<void>((r) => (wake = r));
    const f = objectFile(dir, k);
    await writeFlowLog(f, RECORDS, 5000 + k, T0_S + k * STEP_S, { publicPool: POOL, foreignRate: FOREIGN });
    const s = await ingest({ lakeDir, paths: [f] });
    rmSync(f, { force: true });
    if (s.totals.ingested !== 1) throw new Error(`producer: object ${k} was not ingested: ${JSON.stringify(s.inputs)}`);
    process.send!({ ingested: k });
  }
  process.disconnect();
}

// ---- statistics ---------------------------------------------------------------------------------------------

interface Sample {
  objects: number;
  heapMb: number;
  rssMb: number;
  policyKb: number;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : 0;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function report(name: string, samples: Sample[], pick: (s: Sample) => number, after: number): { slope: number; lateSlope: number; first: number; last: number; peak: number; growthPct: number; line: string } {
  const used = samples.filter((s) => s.objects > after);
  const xs = used.map((s) => s.objects);
  const ys = used.map(pick);
  const half = Math.floor(used.length / 2);
  const lateSlope = slope(xs.slice(half), ys.slice(half)) * 1000;
  const q = Math.max(1, Math.floor(used.length / 4));
  const first = mean(ys.slice(0, q));
  const last = mean(ys.slice(-q));
  const peak = Math.max(...samples.map(pick));
  const perK = slope(xs, ys) * 1000;
  const span = (xs[xs.length - 1]! - xs[0]!) / 1000;
  const growthPct = first > 0 ? ((perK * span) / first) * 100 : 0;
  return {
    slope: perK,
    lateSlope,
    first,
    last,
    peak,
    growthPct,
    line: `  ${name.padEnd(15)} first quarter ${first.toFixed(1).padStart(7)} MB   last quarter ${last.toFixed(1).padStart(7)} MB   peak ${peak.toFixed(1).padStart(7)} MB   slope ${perK >= 0 ? '+' : ''}${perK.toFixed(2)} MB/1000 objects (last half ${lateSlope >= 0 ? '+' : ''}${lateSlope.toFixed(2)})   growth over the stream ${growthPct >= 0 ? '+' : ''}${growthPct.toFixed(1)}% of the first quarter`,
  };
}

// ---- main ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bench:soak needs --expose-gc (run it with `npm run bench:soak`)');
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-bench-soak-'));
  const lakeDir = path.join(dir, 'lake');
  let child: ChildProcess | undefined;
  try {
    const t0 = performance.now();
    const hist = path.join(dir, '123456789012_vpcflowlogs_us-east-1_fl-0soak_hist.log.gz');
    await writeFlowLog(hist, 100_000, 1, T0_S - 100_000, { publicPool: POOL });
    await ingest({ lakeDir, paths: [hist] });
    const spec = PAIR_PRESETS[PAIRS]!;
    const data = await loadPairsFromLake(lakeDir, `SELECT (${spec.entity}) AS entity, (${spec.ip}) AS ip, time FROM vpc_flow WHERE ${spec.where}`);
    const modelPath = path.join(dir, 'flows.model');
    await trainIpInsights({ train: data, hyperparameters: { vector_dim: 32, epochs: 2, num_entity_vectors: 2000, threads: 2, seed: 1 }, modelPath, log: () => {} });
    const held = path.join(dir, '123456789012_vpcflowlogs_us-east-1_fl-0soak_held.log.gz');
    await writeFlowLog(held, 20_000, 2, T0_S - 20_000, { publicPool: POOL });
    await ingest({ lakeDir, paths: [held] });
    const heldCsv = path.join(dir, 'held.csv');
    await writeLakePairsCsv(lakeDir, heldCsv, `SELECT (${spec.entity}) AS entity, (${spec.ip}) AS ip FROM vpc_flow WHERE ${spec.where} AND time >= ${(T0_S - 20_000) * 1000}`);
    await runCalibration(
      { model: modelPath, normal: { kind: 'csv', file: heldCsv }, abnormal: { kind: 'generate', generator: 'random' }, rule: { kind: 'max_fpr', max_fpr: 0.01 }, seed: 1 },
      modelAccess,
    );
    const afterSeq = Math.max(...readObjects(lakeDir).map((o) => o.seq));
    const setupS = (performance.now() - t0) / 1000;
    console.log(`setup: ${data.n} history pairs, model trained and calibrated (${setupS.toFixed(1)} s); streaming ${N} objects of ${RECORDS} records, ${STEP_S} s of event time each (${((N * STEP_S) / 3600).toFixed(2)} h)`);

    // The producer: this same file in producer mode, with this process's Node flags (tsx).
    child = fork(process.argv[1]!, ['--producer', lakeDir, '--objects', String(N), '--records', String(RECORDS), '--seconds-per-object', String(STEP_S), '--foreign-rate', String(FOREIGN)], {
      execArgv: process.execArgv.filter((a) => a !== '--expose-gc'),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const producerDone = new Promise<void>((resolve, reject) => {
      child!.on('exit', (code, signal) => (code === 0 || signal === 'SIGTERM' ? resolve() : reject(new Error(`producer exited with ${code ?? signal}`))));
    });
    producerDone.catch(() => {});
    child.send({ allow: AHEAD });

    const samples: Sample[] = [];
    const checkpoint = path.join(monitorDir(lakeDir), 'soak.json');
    const sample = (objects: number): void => {
      gc();
      const m = process.memoryUsage();
      let policyKb = 0;
      try {
        policyKb = statSync(checkpoint).size / 1024;
      } catch {
        // not written yet
      }
      samples.push({ objects, heapMb: m.heapUsed / 1024 ** 2, rssMb: m.rss / 1024 ** 2, policyKb });
    };
    let processed = 0;
    let pairs = 0;
    let findings = 0;
    let failed = 0;
    let finished: () => void = () => {};
    const allDone = new Promise<void>((r) => (finished = r));
    const tStream = performance.now();
    const h = await startMonitor({
      lakeDir,
      name: 'soak',
      models: [{ model: modelPath, pairs: PAIRS }],
      start: { afterSeq },
      pollMs: 50,
      onEvent: (e: MonitorEvent) => {
        if (e.type === 'failed') failed++;
        if (e.type !== 'object') return;
        processed++;
        pairs += e.pairs;
        findings += e.findings;
        if (child?.connected) child.send({ allow: processed + AHEAD });
        if (processed === 1 || processed % SAMPLE_EVERY === 0 || processed === N) sample(processed);
        if (processed % 100 === 0) {
          const s = samples[samples.length - 1]!;
          console.log(`  ${String(processed).padStart(5)} objects  heap ${s.heapMb.toFixed(1)} MB  rss ${s.rssMb.toFixed(0)} MB  policy ${s.policyKb.toFixed(0)} KB  ${((performance.now() - tStream) / 1000).toFixed(0)} s`);
        }
        if (processed >= N) finished();
      },
    });
    await Promise.race([allDone, producerDone.then(() => allDone)]);
    await h.stop();
    await producerDone;
    const streamS = (performance.now() - tStream) / 1000;

    const warm = Math.floor(N * WARMUP);
    const heap = report('heap after GC', samples, (s) => s.heapMb, warm);
    const rss = report('resident set', samples, (s) => s.rssMb, warm);
    const policy = samples[samples.length - 1]!.policyKb;
    console.log('');
    console.log(`stream: ${processed} objects, ${(processed * RECORDS).toLocaleString('en-US')} records, ${pairs.toLocaleString('en-US')} pairs scored, ${findings} findings, ${failed} failed, ${streamS.toFixed(0)} s (${(processed / streamS).toFixed(1)} objects/s); ${samples.length} samples, every ${SAMPLE_EVERY} objects, fit after the first ${warm}`);
    console.log(heap.line);
    console.log(rss.line);
    const policyFirst = samples.find((x) => x.objects > warm)?.policyKb ?? 0;
    console.log(
      `  policy state (dedup entries, kept for the 1 h event-time window; the checkpoint's size): ${policyFirst.toFixed(0)} KB after warm-up, ${policy.toFixed(0)} KB at the end ` +
        `(it grows until the stream spans the window, then stays: --seconds-per-object 10 streams 2 h)`,
    );
    console.log(
      `soak: heap ${heap.slope >= 0 ? '+' : ''}${heap.slope.toFixed(2)} MB/1000 objects (${heap.growthPct >= 0 ? '+' : ''}${heap.growthPct.toFixed(1)}% of its first-quarter ${heap.first.toFixed(0)} MB over the stream), ` +
        `RSS ${rss.slope >= 0 ? '+' : ''}${rss.slope.toFixed(2)} MB/1000 objects (${rss.growthPct >= 0 ? '+' : ''}${rss.growthPct.toFixed(1)}% of ${rss.first.toFixed(0)} MB), peak RSS ${rss.peak.toFixed(0)} MB`,
    );
  } finally {
    if (child && child.exitCode === null) child.kill('SIGTERM');
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

if (values.producer) await producer(values.producer);
else await main();
