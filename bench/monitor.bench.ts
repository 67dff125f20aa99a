/**
 * bench:monitor — the embedded monitor on objects of 10k VPC flow records arriving continuously.
 *
 *   npm run bench:monitor [-- --objects 20 --backlog-objects 60 --interval-ms 1500 --foreign-rate 0.005]
 *
 * 1. History: 200k synthetic v5 flow records (bench/lib/flowgen.ts) ingested into a temp lake; a model trained on
 *    their `flow-peer` pairs (instance, address at the other end). Internet peers come from a pool of 3,000 regular
 *    clients; in new objects --foreign-rate (default 0.5%) of the records reach never-seen addresses instead.
 *    (--foreign-rate 0.3 is a flood: thousands of findings per object.)
 *    Calibrated on a held-out 30k-record object vs random addresses at 1% FPR, as an operator would.
 * 2. Live: a producer ingests one new 10k-record object every --interval-ms while `startMonitor` follows the catalog.
 *    Latency = object published in the catalog -> its findings written and checkpointed (p50/p95).
 * 3. Throughput: a backlog of --backlog-objects objects (the live ones plus more, ingested while no monitor runs, as
 *    after an outage) from a fresh checkpoint, scored records/s and findings/s, side by side
 *    with the ceiling measured in this run: `seclake score`'s code path (parse the entity,ip CSV, scorePairs, format the
 *    SageMaker response) over exactly the pairs of those objects, and the bare scorePairs over them in memory.
 * Targets (issue 6): p95 < 1 s per 10k-record object; throughput >= 0.5x the ceiling.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { IpInsightsModel, formatPredictions, trainIpInsights } from '../src/detectors/ipinsights/index.js';
import { parseCsvPairs } from '../src/detectors/pairs/csv.js';
import { loadPairsFromLake, writeLakePairsCsv } from '../src/detectors/pairs/lake.js';
import { modelAccess } from '../src/calibrate/model.js';
import { runCalibration } from '../src/calibrate/run.js';
import { ingest } from '../src/ingest/ingest.js';
import { isDerivedObject, readObjects } from '../src/lake/catalog.js';
import { openLakeQuery } from '../src/lake/views.js';
import { monitorOnce, startMonitor, type MonitorEvent } from '../src/monitor/embedded.js';
import { PAIR_PRESETS } from '../src/detectors/pairs/definitions.js';
import { writeFlowLog } from './lib/flowgen.js';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '20' },
    'backlog-objects': { type: 'string', default: '60' },
    'interval-ms': { type: 'string', default: '1500' },
    'foreign-rate': { type: 'string', default: '0.005' },
    keep: { type: 'boolean' },
  },
});
const N = Number(values.objects);
const BACKLOG = Math.max(N, Number(values['backlog-objects']));
const INTERVAL = Number(values['interval-ms']);
const PER_OBJECT = 10_000;
/** Internet clients come from a fixed pool of regulars; FOREIGN of new records reach never-seen addresses. */
const POOL = 3000;
const FOREIGN = Number(values['foreign-rate']);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const dir = mkdtempSync(path.join(tmpdir(), 'seclake-bench-monitor-'));
const lakeDir = path.join(dir, 'lake');
try {
  const t0 = performance.now();
  const hist = path.join(dir, '123456789012_vpcflowlogs_us-east-1_fl-0bench_hist.log.gz');
  await writeFlowLog(hist, 200_000, 1, 1_700_000_000, { publicPool: POOL });
  await ingest({ lakeDir, paths: [hist] });
  const PAIRS = 'flow-peer';
  const spec = PAIR_PRESETS[PAIRS]!;
  const data = await loadPairsFromLake(lakeDir, `SELECT (${spec.entity}) AS entity, (${spec.ip}) AS ip, time FROM vpc_flow WHERE ${spec.where}`);
  const modelPath = path.join(dir, 'flows.model');
  await trainIpInsights({ train: data, hyperparameters: { vector_dim: 32, epochs: 2, num_entity_vectors: 2000, threads: 2, seed: 1 }, modelPath, log: () => {} });
  // Calibrate as an operator would: held-out normal traffic vs random addresses, threshold at 1% FPR.
  const held = path.join(dir, '123456789012_vpcflowlogs_us-east-1_fl-0bench_held.log.gz');
  await writeFlowLog(held, 30_000, 2, 1_700_050_000, { publicPool: POOL });
  await ingest({ lakeDir, paths: [held] });
  const heldCsv = path.join(dir, 'held.csv');
  await writeLakePairsCsv(lakeDir, heldCsv, `SELECT (${spec.entity}) AS entity, (${spec.ip}) AS ip FROM vpc_flow WHERE ${spec.where} AND time >= 1700050000000`);
  const cal = await runCalibration(
    { model: modelPath, normal: { kind: 'csv', file: heldCsv }, abnormal: { kind: 'generate', generator: 'random' }, rule: { kind: 'max_fpr', max_fpr: 0.01 }, seed: 1 },
    modelAccess,
  );
  const histSeq = Math.max(...readObjects(lakeDir).map((o) => o.seq));
  // New objects: later times, other seeds (so some peers are new to their instance).
  const files: string[] = [];
  for (let k = 0; k < N; k++) {
    const f = path.join(dir, `123456789012_vpcflowlogs_us-east-1_fl-0bench_new${k}.log.gz`);
    await writeFlowLog(f, PER_OBJECT, 1000 + k, 1_700_100_000 + k * 200, { publicPool: POOL, foreignRate: FOREIGN });
    files.push(f);
  }
  console.log(`setup: history ${data.n} pairs, model trained and calibrated (AUC ${cal.evaluation.auc.toFixed(4)}, threshold ${cal.evaluation.calibration.threshold.toFixed(3)} at FPR 1%), ${N} objects of ${PER_OBJECT} records generated (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  // ---- live: continuous arrival ----
  const lat: number[] = [];
  const procMs: number[] = [];
  let liveFindings = 0;
  let livePairs = 0;
  let seen = 0;
  let allDone: () => void = () => {};
  const done = new Promise<void>((r) => (allDone = r));
  const h = await startMonitor({
    lakeDir,
    name: 'live',
    models: [{ model: modelPath, pairs: PAIRS }],
    start: { afterSeq: histSeq },
    pollMs: 50,
    onEvent: (e: MonitorEvent) => {
      if (e.type !== 'object') return;
      lat.push(e.lagMs);
      procMs.push(e.ms);
      liveFindings += e.findings;
      livePairs += e.pairs;
      if (++seen === N) allDone();
    },
  });
  const tLive = performance.now();
  for (const f of files) {
    const next = performance.now() + INTERVAL;
    await ingest({ lakeDir, paths: [f] });
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await done;
  await h.stop();
  const liveS = (performance.now() - tLive) / 1000;

  // ---- backlog throughput vs the scoring ceiling ----
  // More objects land while no monitor runs (an outage): the backlog is every object after the history.
  for (let k = N; k < BACKLOG; k++) {
    const f = path.join(dir, `123456789012_vpcflowlogs_us-east-1_fl-0bench_new${k}.log.gz`);
    await writeFlowLog(f, PER_OBJECT, 1000 + k, 1_700_100_000 + k * 200, { publicPool: POOL, foreignRate: FOREIGN });
    await ingest({ lakeDir, paths: [f] });
    rmSync(f);
  }
  // Wall time from the monitor's start (model loaded) to its last object checkpointed: objects overlap (the next ones
  // are read and scored while this one's findings are written), so per-object times would not add up to it. Best of
  // two runs from fresh checkpoints, as the ceiling below is the best of three.
  let backlog: Awaited<ReturnType<typeof monitorOnce>> | undefined;
  let busyMs = Infinity;
  let backlogS = 0;
  const runs: number[] = [];
  for (let run = 1; run <= 2; run++) {
    const tb = performance.now();
    let tStart = 0;
    let tLast = 0;
    const r = await monitorOnce({
      lakeDir,
      name: `backlog-${run}`,
      models: [{ model: modelPath, pairs: PAIRS }],
      start: { afterSeq: histSeq },
      onEvent: (e) => {
        if (e.type === 'start') tStart = performance.now();
        if (e.type === 'object') tLast = performance.now();
      },
    });
    runs.push(tLast - tStart);
    if (tLast - tStart < busyMs) {
      busyMs = tLast - tStart;
      backlog = r;
      backlogS = (performance.now() - tb) / 1000;
    }
  }
  if (!backlog) throw new Error('no backlog run');

  const db = await openLakeQuery(lakeDir);
  const pairs: { entity: string; ip: string }[] = [];
  try {
    // Source objects only: the monitor's findings objects are catalogued too (derived objects).
    for (const o of readObjects(lakeDir, histSeq).filter((x) => !isDerivedObject(x))) {
      for await (const chunk of db.stream(`SELECT (${spec.entity}) AS entity, (${spec.ip}) AS ip FROM read_parquet($1) WHERE ${spec.where}`, [path.join(lakeDir, o.path)])) {
        for (const r of chunk.rows) pairs.push({ entity: String(r[0]), ip: String(r[1]) });
      }
    }
  } finally {
    db.close();
  }
  const model = await IpInsightsModel.load(modelPath);
  const csv = pairs.map((p) => `${p.entity},${p.ip}`).join('\n') + '\n';
  let bestScore = Infinity;
  let bestBare = Infinity;
  for (let trial = 0; trial < 3; trial++) {
    // seclake score: parse the CSV, score in chunks of 10,000, format the SageMaker JSON body.
    let ts = performance.now();
    const parsed = parseCsvPairs(csv, 'bench');
    let out = 0;
    for (let i = 0; i < parsed.length; i += 10_000) out += formatPredictions(model.scorePairs(parsed.slice(i, i + 10_000)), 'application/jsonlines', false).length;
    bestScore = Math.min(bestScore, (performance.now() - ts) / 1000);
    if (out === 0) throw new Error('no output');
    ts = performance.now();
    for (let i = 0; i < pairs.length; i += 10_000) model.scorePairs(pairs.slice(i, i + 10_000));
    bestBare = Math.min(bestBare, (performance.now() - ts) / 1000);
  }
  const ceiling = pairs.length / bestScore;
  const bare = pairs.length / bestBare;
  const rate = backlog.pairs / (busyMs / 1000);

  console.log('');
  console.log(`live (one 10k-record object every ${INTERVAL} ms, ${N} objects, ${liveS.toFixed(1)} s):`);
  console.log(`  latency object published -> findings written: p50 ${pct(lat, 50).toFixed(0)} ms, p95 ${pct(lat, 95).toFixed(0)} ms, max ${Math.max(...lat).toFixed(0)} ms   (target p95 < 1000 ms)`);
  console.log(`  processing per object: p50 ${pct(procMs, 50).toFixed(0)} ms, p95 ${pct(procMs, 95).toFixed(0)} ms; ${livePairs} pairs, ${liveFindings} findings`);
  console.log(`backlog (${backlog.objects} objects from a fresh checkpoint, best of 2 runs: ${backlogS.toFixed(2)} s incl. model load, ${(busyMs / 1000).toFixed(2)} s from the first object to the last; runs ${runs.map((r) => (r / 1000).toFixed(2)).join(' / ')} s):`);
  console.log(`  monitor             ${Math.round(rate).toLocaleString('en-US').padStart(10)} scored records/s   ${(backlog.findings / (busyMs / 1000)).toFixed(0)} findings/s (${backlog.findings} findings)`);
  console.log(`  seclake score path  ${Math.round(ceiling).toLocaleString('en-US').padStart(10)} scored records/s   (CSV parse + score + format, same ${pairs.length} pairs, best of 3)`);
  console.log(`  ratio               ${(rate / ceiling).toFixed(2)}x   (target >= 0.5x)`);
  console.log(`  (bare scorePairs    ${Math.round(bare).toLocaleString('en-US').padStart(10)} scored records/s in memory: ratio ${(rate / bare).toFixed(2)}x)`);
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
