/**
 * npm run bench:ipinsights — the SageMaker IP Insights login tutorial, end to end, on this machine.
 *
 * 1. Generate the tutorial's synthetic logins (bench/lib/logingen.ts) for 10,000 users over the real
 *    IPv4 -> ASN table of @ip-location-db/asn; split the first 7 days (train) from the last 3 (test).
 * 2. Write the training CSV, load it with the same loader as `seclake train`, train with the tutorial's
 *    hyperparameters (num_entity_vectors=20000, random_negative_sampling_rate=5, vector_dim=128,
 *    mini_batch_size=1000, epochs=5, learning_rate=0.01; the rest SageMaker's defaults).
 * 3. Score 100,000 normal test logins and 100,000 attacks (known user, draw_ip()) from the saved model file;
 *    report AUC and precision/recall at dot_product < 0 (the tutorial's threshold 0).
 * 4. In the same run: the longest-known-prefix baseline on the same pairs, and a plain Float32Array
 *    reference loop, so numbers from a noisy shared machine can be compared between runs.
 * 5. Fusion as incidents do it (bench/lib/fusion.ts): the history detector trained on the same CSV, each detector's
 *    score turned into a p-value under 100,000 other held-out normal logins, combined with fisherCombine and with
 *    cauchyCombine (what incidents do for the pair detectors; the target is on it); AUC and
 *    recall at 1% FPR of IP Insights, history and fused side by side.
 *
 * --estate: instead, the estate ordering measurement (bench/lib/ordering.ts): known peer > new host in a known
 *   subnet > foreign address, for IP Insights, history and fused (--seed N, --per-day N (600), --hp name=value).
 *
 * Options (after `--`): --users N (10000) --seed N (1) --threads N (all cores) --hp name=value (repeatable)
 *   --no-kernels (skip the one-epoch run of the other training kernel, wasm vs js; SECLAKE_IPI_KERNEL picks the main one)
 *   --eval N (100000) --keep (keep .bench-tmp/ipinsights files, and the raw scores of the fusion step: scores.json + scores.f64)
 *   --memory: instead, train num_entity_vectors=1000000, vector_dim=128 (1 epoch over 1,000,000 entities x 3
 *   logins) and print the peak RSS of the process (training threads included).
 */
import { mkdirSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/rng.js';
import { IpInsightsModel } from '../src/detectors/ipinsights/index.js';
import { loadPairsCsv, PairCollector } from '../src/detectors/pairs/data.js';
import { trainIpInsights } from '../src/detectors/ipinsights/train.js';
import { parseHpAssignments } from '../src/detectors/ipinsights/config.js';
import { detection, machineReference, thresholdForRecall } from './lib/detection.js';
import { dotted, evaluationSet, generateLogins, loadAsnTable, oracleLogLikelihood } from './lib/logingen.js';
import { LongestPrefixBaseline } from './lib/prefix-baseline.js';
import { HistoryModel, trainHistory } from '../src/detectors/history/index.js';
import { fuseLog10, pValues, recallAtFpr } from './lib/fusion.js';
import { formatOrdering, measureOrdering } from './lib/ordering.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TMP = path.join(ROOT, '.bench-tmp', 'ipinsights');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}
function args(name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < process.argv.length - 1; i++) if (process.argv[i] === `--${name}`) out.push(process.argv[i + 1]!);
  return out;
}

/** SageMaker's published tutorial figures (ipinsights.md §2.3, §2.4, §5.3; ml.p3.2xlarge, V100). */
const SAGEMAKER = { recordsPerSecond: 141_000, secondsPerEpoch: 106, aucLow: 0.988, aucHigh: 0.991, precision: 0.9513, recall: 0.9845 };

const TUTORIAL_HP: Record<string, string> = {
  num_entity_vectors: '20000',
  random_negative_sampling_rate: '5',
  vector_dim: '128',
  mini_batch_size: '1000',
  epochs: '5',
  learning_rate: '0.01',
};

function log(msg: string): void {
  process.stdout.write(msg + '\n');
}

async function writeCsv(file: string, users: Uint32Array, ips: Uint32Array): Promise<void> {
  const out = createWriteStream(file);
  let chunk = '';
  for (let i = 0; i < users.length; i++) {
    chunk += `user_${users[i]},${dotted(ips[i]!)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

async function memory(): Promise<void> {
  const entities = Number(arg('entities', '1000000'));
  const perEntity = 3;
  const rng = new Rng(7);
  const c = new PairCollector();
  let line = 0;
  for (let r = 0; r < perEntity; r++) {
    for (let e = 0; e < entities; e++) c.add(`i-${e.toString(16).padStart(17, '0')}`, dotted((10 << 24) | (rng.nextU32() & 0xffffff)), 'gen', ++line);
  }
  const data = c.finish();
  const rssBefore = process.memoryUsage().rss;
  const t = performance.now();
  const res = await trainIpInsights({
    train: data,
    hyperparameters: { num_entity_vectors: '1000000', vector_dim: '128', epochs: '1', mini_batch_size: '1000', ...parseHpAssignments(args('hp')) },
    modelPath: path.join(TMP, 'memory.model'),
    log: () => {},
  });
  const peak = process.resourceUsage().maxRSS / 1024;
  log(
    `memory: num_entity_vectors=1000000 vector_dim=128, ${data.n.toLocaleString('en-US')} rows, ${res.threads} threads, ` +
      `${res.header.params.encoder.num_ip_vectors} IP rows: trained in ${((performance.now() - t) / 1000).toFixed(1)} s; ` +
      `RSS before training ${(rssBefore / 2 ** 20).toFixed(0)} MiB, peak RSS ${peak.toFixed(0)} MiB (limit 2048 MiB: ${peak < 2048 ? 'PASS' : 'MISS'})`,
  );
  rmSync(path.join(TMP, 'memory.model'), { force: true });
}

async function main(): Promise<void> {
  const users = Number(arg('users', '10000'));
  const seed = Number(arg('seed', '1'));
  const evalCount = Number(arg('eval', '100000'));
  const hpIn: Record<string, string> = { ...TUTORIAL_HP, seed: String(seed), ...parseHpAssignments(args('hp')) };
  if (process.argv.includes('--threads')) hpIn.threads = arg('threads', '0');
  mkdirSync(TMP, { recursive: true });

  log(`# IP Insights login benchmark (tutorial ipinsights_login), node ${process.version}`);
  let t = performance.now();
  const table = await loadAsnTable();
  const data = generateLogins(table, users, seed);
  const ev = evaluationSet(table, data, evalCount, seed);
  log(
    `data: ${table.size} ASN rows; ${users} users -> ${data.totalEvents} logins (train ${data.trainUser.length}, test ${data.testUser.length}); ` +
      `eval ${ev.normalUser.length} normal + ${ev.attackUser.length} attacks; generated in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const ref = machineReference();
  log(`machine reference (same run): ${(ref / 1e6).toFixed(2)} M dot+update/s at d=128 on one core`);

  const trainCsv = path.join(TMP, 'train.csv');
  await writeCsv(trainCsv, data.trainUser, data.trainIp);
  t = performance.now();
  const pairs = await loadPairsCsv([trainCsv]);
  const loadSecs = (performance.now() - t) / 1000;
  log(`load: ${pairs.n} rows from CSV in ${loadSecs.toFixed(2)} s (${Math.round(pairs.n / loadSecs).toLocaleString('en-US')} rows/s)`);

  const modelFile = path.join(TMP, 'model.ipi');
  const quiet: string[] = [];
  const res = await trainIpInsights({
    train: pairs,
    hyperparameters: hpIn,
    modelPath: modelFile,
    log: (line) => {
      quiet.push(line);
      if (line.startsWith('#quality_metric') && !line.includes('batch=')) log('  ' + line);
      if (line.startsWith('#throughput_metric')) log('  ' + line);
    },
  });
  const hp = res.hyperparameters;
  const secsPerEpoch = res.epochs.reduce((s, e) => s + e.seconds, 0) / res.epochs.length;
  log(
    `train: ${res.threads} threads, optimizer ${hp.optimizer}, ${res.header.params.encoder.num_ip_vectors} IP rows, ` +
      `${res.recordsPerSecond.toFixed(0)} records/s, ${secsPerEpoch.toFixed(2)} s/epoch, RSS peak ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  );
  // The training kernel beside the JavaScript reference kernel, in this run: one epoch of each on the same data
  // (epoch 0 of the run above against a one-epoch run of the other kernel; --no-kernels skips it).
  let kernelCompare: { kernel: string; epoch0: number; other: string; otherEpoch0: number } | undefined;
  if (!process.argv.includes('--no-kernels')) {
    const other = res.kernel === 'wasm' ? 'js' : 'wasm';
    try {
      const o = await trainIpInsights({ train: pairs, hyperparameters: { ...hpIn, epochs: '1' }, kernel: other, log: () => {} });
      kernelCompare = { kernel: res.kernel, epoch0: res.epochs[0]!.recordsPerSecond, other, otherEpoch0: o.epochs[0]!.recordsPerSecond };
      const [w, j] = res.kernel === 'wasm' ? [kernelCompare.epoch0, kernelCompare.otherEpoch0] : [kernelCompare.otherEpoch0, kernelCompare.epoch0];
      log(
        `kernel: wasm (SIMD) ${Math.round(w).toLocaleString('en-US')} records/s vs js (reference kernel) ${Math.round(j).toLocaleString('en-US')} records/s ` +
          `in epoch 0, same run: ${(w / j).toFixed(2)}x (this run trained with ${res.kernel})`,
      );
    } catch (err) {
      log(`kernel: no ${other} kernel to compare with (${err instanceof Error ? err.message : String(err)})`);
    }
  }

  // Score from the saved file, as `seclake score` and the server do.
  const model = await IpInsightsModel.load(modelFile);
  const toPairs = (u: Uint32Array, ip: Uint32Array): { entity: string; ip: string }[] =>
    Array.from(u, (x, i) => ({ entity: `user_${x}`, ip: dotted(ip[i]!) }));
  const normalPairs = toPairs(ev.normalUser, ev.normalIp);
  const attackPairs = toPairs(ev.attackUser, ev.attackIp);
  t = performance.now();
  const normal = Float64Array.from(model.scorePairs(normalPairs), (r) => r.dot_product);
  const attack = Float64Array.from(model.scorePairs(attackPairs), (r) => r.dot_product);
  const scoreSecs = (performance.now() - t) / 1000;
  const ours = detection(normal, attack, 0);

  const base = new LongestPrefixBaseline(data.trainUser, data.trainIp, users);
  const bn = Float64Array.from(ev.normalUser, (u, i) => base.score(u, ev.normalIp[i]!));
  const ba = Float64Array.from(ev.attackUser, (u, i) => base.score(u, ev.attackIp[i]!));
  const bThr = thresholdForRecall(ba, SAGEMAKER.recall);
  const baseline = detection(bn, ba, bThr);
  // Our model at the baseline's recall too, for a like-for-like precision.
  const oursAtRecall = detection(normal, attack, thresholdForRecall(attack, baseline.recall));

  log(`score: ${(normal.length + attack.length).toLocaleString('en-US')} pairs in ${scoreSecs.toFixed(2)} s (${Math.round((normal.length + attack.length) / scoreSecs).toLocaleString('en-US')} pairs/s, one thread, incl. IP parsing)`);
  log('');
  const rows: [string, string, string, string, string, string][] = [];
  const f = (x: number, d = 4): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}x` : '');
  const sm = SAGEMAKER;
  rows.push(['metric', 'SageMaker (p3.2xlarge)', 'seclake (this run)', 'prefix baseline', 'seclake/SageMaker', 'seclake/baseline']);
  rows.push(['train records/s (pos+neg)', sm.recordsPerSecond.toLocaleString('en-US'), Math.round(res.recordsPerSecond).toLocaleString('en-US'), '-', ratio(res.recordsPerSecond, sm.recordsPerSecond), '']);
  rows.push(['seconds per epoch', `~${sm.secondsPerEpoch}`, f(secsPerEpoch, 2), '-', ratio(sm.secondsPerEpoch, secsPerEpoch) + ' faster', '']);
  rows.push(['AUC normal vs attack', `${sm.aucLow}-${sm.aucHigh}`, f(ours.auc), f(baseline.auc), ratio(ours.auc, (sm.aucLow + sm.aucHigh) / 2), ratio(ours.auc, baseline.auc)]);
  rows.push(['precision @ dot_product<0', f(sm.precision), f(ours.precision), `${f(baseline.precision)} (lcp<${baseline.threshold})`, ratio(ours.precision, sm.precision), ratio(ours.precision, baseline.precision)]);
  rows.push(['recall @ dot_product<0', f(sm.recall), f(ours.recall), `${f(baseline.recall)} (lcp<${baseline.threshold})`, ratio(ours.recall, sm.recall), ratio(ours.recall, baseline.recall)]);
  rows.push(['FPR @ dot_product<0', f((103491 - 98453) / 100000), f(ours.fpr), f(baseline.fpr), '', '']);
  rows.push([`precision @ baseline recall ${f(baseline.recall, 3)}`, '-', f(oursAtRecall.precision), f(baseline.precision), '', ratio(oursAtRecall.precision, baseline.precision)]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const [i, r] of rows.entries()) {
    log(r.map((cell, c) => (c === 0 ? pad(cell, widths[c]!) : lpad(cell, widths[c]!))).join(' | '));
    if (i === 0) log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  }
  log('');
  // Where the AUC differences come from: home/work logins vs the ~3% "travel" logins (a uniformly random
  // ASN row, i.e. drawn exactly like the attacks), and the Bayes-optimal scores of the generator itself.
  const seg = (scores: Float64Array, travel: number): Float64Array => scores.filter((_, i) => ev.normalTravel[i] === travel);
  const on = Float64Array.from(ev.normalUser, (u, i) => oracleLogLikelihood(table, data, u, ev.normalIp[i]!));
  const oa = Float64Array.from(ev.attackUser, (u, i) => oracleLogLikelihood(table, data, u, ev.attackIp[i]!));
  const act = (u: number): number => Math.log(data.users.events[u]!);
  const jn = Float64Array.from(on, (x, i) => x + act(ev.normalUser[i]!));
  const ja = Float64Array.from(oa, (x, i) => x + act(ev.attackUser[i]!));
  const travelShare = seg(normal, 1).length / normal.length;
  log(`AUC by kind of normal login (travel = ${(travelShare * 100).toFixed(1)}% of normal logins, drawn like the attacks):`);
  log(`  seclake      home/work ${f(detection(seg(normal, 0), attack, 0).auc)}  travel ${f(detection(seg(normal, 1), attack, 0).auc)}  all ${f(ours.auc)}`);
  log(`  baseline     home/work ${f(detection(seg(bn, 0), ba, 0).auc)}  travel ${f(detection(seg(bn, 1), ba, 0).auc)}  all ${f(baseline.auc)}`);
  log(`  generator's own log P(ip|user) (best any "is this the entity's IP" score can do): home/work ${f(detection(seg(on, 0), oa, 0).auc)}  travel ${f(detection(seg(on, 1), oa, 0).auc)}  all ${f(detection(on, oa, 0).auc)}`);
  log(`  ... + log(user's login count) (the attacks pick users uniformly, normal logins are activity-weighted): all ${f(detection(jn, ja, 0).auc)}`);
  log('');
  const targets: [string, boolean][] = [
    ['>= 1M records/s', res.recordsPerSecond >= 1e6],
    ['AUC >= 0.99', ours.auc >= 0.99],
    ['precision >= 0.96', ours.precision >= 0.96],
    ['recall >= 0.985', ours.recall >= 0.985],
    ['above the prefix baseline (AUC)', ours.auc > baseline.auc],
  ];
  // Fusion (contract B of issue 14): p-values under held-out normal logins, Fisher-combined.
  t = performance.now();
  const hist = trainHistory({ train: pairs, log: () => {} });
  const hm = new HistoryModel('', hist.header, hist.arrays);
  const histSecs = (performance.now() - t) / 1000;
  const calPairs = toPairs(ev.calibrationUser, ev.calibrationIp);
  const ipiCal = Float64Array.from(model.scorePairs(calPairs), (r) => r.dot_product);
  const hN = hm.scoreBatch(normalPairs).native;
  const hA = hm.scoreBatch(attackPairs).native;
  const hC = hm.scoreBatch(calPairs).native;
  const pN = [pValues(ipiCal, normal), pValues(hC, hN)];
  const pA = [pValues(ipiCal, attack), pValues(hC, hA)];
  const fusedRows: [string, Float64Array, Float64Array][] = [
    ['IP Insights (dot_product)', normal, attack],
    ['history (prefix_score)', hN, hA],
    ['fused (Fisher, p-values)', fuseLog10(pN, 'fisher'), fuseLog10(pA, 'fisher')],
    ['fused (Cauchy: incidents)', fuseLog10(pN, 'cauchy'), fuseLog10(pA, 'cauchy')],
  ];
  if (process.argv.includes('--keep')) {
    // The raw scores, for trying other fusion rules without training again (Float64 arrays in this order).
    const parts = [ipiCal, normal, attack, hC, hN, hA];
    writeFileSync(path.join(TMP, 'scores.json'), JSON.stringify({ order: ['ipi_cal', 'ipi_normal', 'ipi_attack', 'hist_cal', 'hist_normal', 'hist_attack'], lengths: parts.map((x) => x.length) }) + '\n');
    writeFileSync(path.join(TMP, 'scores.f64'), Buffer.concat(parts.map((x) => Buffer.from(Float64Array.from(x).buffer))));
  }
  log(`fusion: history trained in ${histSecs.toFixed(1)} s; p-values under ${calPairs.length.toLocaleString('en-US')} other held-out normal logins (never below 1/(n+1))`);
  const fusion: Record<string, { auc: number; recallAt1pct: number; fprAt1pct: number }> = {};
  for (const [name, n, a] of fusedRows) {
    const r = recallAtFpr(n, a, 0.01);
    fusion[name] = { auc: detection(n, a, 0).auc, recallAt1pct: r.recall, fprAt1pct: r.fpr };
    log(`  ${pad(name, 26)} AUC ${f(fusion[name].auc)}  recall@1%FPR ${f(r.recall)} (FPR ${f(r.fpr)})`);
  }
  // The target is the product's rule: incidents combine the pair detectors' p-values with the Cauchy combination.
  const fusedAuc = fusion['fused (Cauchy: incidents)']!.auc;
  log('');
  targets.push(['fused AUC above IP Insights and history alone', fusedAuc > ours.auc && fusedAuc > fusion['history (prefix_score)']!.auc]);
  log('targets: ' + targets.map(([n, ok]) => `${ok ? 'PASS' : 'MISS'} ${n}`).join('; '));
  const summary = { users, seed, hyperparameters: hp, threads: res.threads, kernel: res.kernel, kernel_compare: kernelCompare ?? null, records_per_second: res.recordsPerSecond, seconds_per_epoch: secsPerEpoch, ours, baseline, fusion, machine_reference_ops: ref };
  writeFileSync(path.join(TMP, 'result.json'), JSON.stringify(summary, null, 2) + '\n');
  if (!process.argv.includes('--keep')) rmSync(trainCsv, { force: true });
}

async function estate(): Promise<void> {
  const seed = Number(arg('seed', '1'));
  const perDay = Number(arg('per-day', '600'));
  log(`# estate ordering (flow-peer): known peer > new host in a known subnet > foreign address; seed ${seed}, ${perDay} pairs per instance-day`);
  const r = await measureOrdering({ estate: { seed, perDay }, hp: { seed, ...parseHpAssignments(args('hp')) } });
  for (const line of formatOrdering(r)) log(line);
}

mkdirSync(TMP, { recursive: true });
await (process.argv.includes('--memory') ? memory() : process.argv.includes('--estate') ? estate() : main());
