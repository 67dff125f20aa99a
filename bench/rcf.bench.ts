/**
 * npm run bench:rcf — our Random Cut Forest (src/detectors/rcf/forest) beside AWS's Java library
 * (../shared/tools/rcf-reference/randomcutforest-reference.jar, its AnomalyScoreRunner), measured in the same run.
 *
 * 1. Speed: score-then-update points/s on the same stream with the same parameters (100 trees, sample 256), whole
 *    process against whole process: `node --import tsx bench/rcf-runner.ts` against `java -jar`, both reading the CSV
 *    on stdin and writing every row with its score. Streams: 200,000 rows of 8 dimensions (a mixture of three
 *    Gaussian clusters and 0.5% uniform outliers), and 200,000 values of one dimension with shingle 8 (a noisy daily
 *    wave with spikes). Each with the Java runner's default (no time decay) and the library's default time decay
 *    (1/2560: `--window-size 2560`). Runs alternate between the two programs; wall and CPU time (user + sys, from
 *    /usr/bin/time when present) are reported as min/median/max, and the ratio is jar time / our time (> 1: faster).
 * 2. Memory per tree: our forests' typed arrays (memoryBytes) and the heap they take (process.memoryUsage around
 *    building 20 forests), against the library's ~8 KB/tree anchor for 1-d input (OpenSearch AD MemoryTracker: 100
 *    trees x 256 samples = 819,200 B) and, when javac is available, the jar's own heap measured the same way.
 * 3. Faithfulness: Spearman rank correlation of per-point scores with the jar's, on rcf-paper.csv and NAB series
 *    (../shared/data/nab/data), shingle 1 and 8, over several seeds of ours (min/median/max). The random streams
 *    differ, so scores are not identical; the target is >= 0.9.
 *
 * Options (after `--`): --rows N (200000) --runs N (3) --quick (rows 50000, runs 1) --no-speed --no-memory
 *   --no-faithfulness --keep (keep .bench-tmp/rcf)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/rng.js';
import { RandomCutForest } from '../src/detectors/rcf/forest/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED = path.resolve(ROOT, '../shared');
const JAR = path.join(SHARED, 'tools/rcf-reference/randomcutforest-reference.jar');
const PAPER = path.join(SHARED, 'tools/rcf-reference/rcf-paper.csv');
const NAB = path.join(SHARED, 'data/nab/data');
const TMP = path.join(ROOT, '.bench-tmp', 'rcf');
const RUNNER = path.join(ROOT, 'bench', 'rcf-runner.ts');

const argv = process.argv.slice(2);
const has = (f: string): boolean => argv.includes(`--${f}`);
function num(name: string, def: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? Number(argv[i + 1]) : def;
}
const QUICK = has('quick');
const ROWS = num('rows', QUICK ? 50_000 : 200_000);
const RUNS = num('runs', QUICK ? 1 : 3);

function log(msg = ''): void {
  process.stdout.write(msg + '\n');
}

function requireShared(): void {
  const missing = [JAR, PAPER, NAB].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    process.stderr.write(
      `bench:rcf needs the project's reference material beside the repository (../shared):\n` +
        missing.map((m) => `  missing ${m}\n`).join('') +
        'It compares our forest with AWS\'s Java library (tools/rcf-reference) on the NAB data (data/nab).\n',
    );
    process.exit(2);
  }
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.status !== 0) {
    process.stderr.write('bench:rcf needs `java` on the PATH to run the reference jar.\n');
    process.exit(2);
  }
}

// ---- streams ---------------------------------------------------------------------------------------------------

function writeStreams(rows: number): { s8: string; s1: string } {
  mkdirSync(TMP, { recursive: true });
  const s8 = path.join(TMP, `mix8-${rows}.csv`);
  const s1 = path.join(TMP, `wave1-${rows}.csv`);
  if (!existsSync(s8)) {
    const rng = new Rng(1);
    const d = 8;
    const centers = [new Array<number>(d).fill(0), new Array<number>(d).fill(5), Array.from({ length: d }, (_, i) => (i % 2 ? 3 : -3))];
    const out: string[] = [];
    for (let i = 0; i < rows; i++) {
      const p = rng.next() < 0.005 ? Array.from({ length: d }, () => (rng.next() - 0.5) * 40) : centers[rng.int(3)]!.map((c) => c + rng.normal());
      out.push(p.map((v) => v.toFixed(4)).join(','));
    }
    writeFileSync(s8, out.join('\n') + '\n');
  }
  if (!existsSync(s1)) {
    const rng = new Rng(2);
    const out: string[] = [];
    for (let i = 0; i < rows; i++) {
      let v = 10 * Math.sin((2 * Math.PI * i) / 48) + rng.normal();
      if (rng.next() < 0.002) v += 30;
      out.push(v.toFixed(4));
    }
    writeFileSync(s1, out.join('\n') + '\n');
  }
  return { s8, s1 };
}

// ---- running the two programs ------------------------------------------------------------------------------------

interface RunResult {
  wallS: number;
  cpuS: number | undefined;
  scores: Float64Array;
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Run a command with the file on stdin; wall time, CPU time (user+sys via /usr/bin/time) and the appended scores. */
function runScored(cmd: string, args: string[], input: string, outFile: string): RunResult {
  const full = TIME ? [TIME, '-f', 'CPU %U %S', cmd, ...args] : [cmd, ...args];
  const t0 = performance.now();
  const r = spawnSync(full[0]!, full.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    input: readFileSync(input),
    maxBuffer: 1 << 30,
    cwd: ROOT,
  });
  const wallS = (performance.now() - t0) / 1000;
  const stderr = r.stderr?.toString() ?? '';
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${stderr.slice(-2000)}`);
  const m = /CPU ([\d.]+) ([\d.]+)/.exec(stderr);
  const cpuS = m ? Number(m[1]) + Number(m[2]) : undefined;
  const text = r.stdout.toString('latin1');
  writeFileSync(outFile, text);
  return { wallS, cpuS, scores: parseScores(text) };
}

/** Last CSV field of every line that is a data row (the Java runner also prints status lines); NA -> NaN. */
function parseScores(text: string): Float64Array {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('Reading') || line.startsWith('Done')) continue;
    const v = line.slice(line.lastIndexOf(',') + 1);
    out.push(v === 'NA' ? Number.NaN : Number(v));
  }
  return Float64Array.from(out);
}

const jarArgs = (shingle: number, window: number, seed = 42): string[] => [
  '-jar', JAR, '--number-of-trees', '100', '--sample-size', '256', '--shingle-size', String(shingle),
  '--random-seed', String(seed), ...(window > 0 ? ['--window-size', String(window)] : []),
];
const ourArgs = (shingle: number, window: number, seed = 42): string[] => [
  '--import', 'tsx', RUNNER, '--number-of-trees', '100', '--sample-size', '256', '--shingle-size', String(shingle),
  '--random-seed', String(seed), '--window-size', String(window),
];

function stats(xs: number[]): { min: number; med: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, med: s[Math.floor((s.length - 1) / 2)]!, max: s[s.length - 1]! };
}
const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);
const f3 = (x: number): string => x.toFixed(3);
const mmm = (xs: number[], f: (x: number) => string): string => {
  const s = stats(xs);
  return xs.length === 1 ? f(s.min) : `${f(s.min)}/${f(s.med)}/${f(s.max)}`;
};

// ---- Spearman -----------------------------------------------------------------------------------------------------

function ranks(x: Float64Array): Float64Array {
  const idx = Array.from(x.keys()).sort((a, b) => x[a]! - x[b]!);
  const r = new Float64Array(x.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && x[idx[j + 1]!] === x[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]!] = avg;
    i = j + 1;
  }
  return r;
}

function pearson(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Spearman's rho over the rows where both have a score (> 0: both forests past warm-up). */
function spearman(a: Float64Array, b: Float64Array): { rho: number; n: number } {
  const xa: number[] = [];
  const xb: number[] = [];
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i]! > 0 && b[i]! > 0) {
      xa.push(a[i]!);
      xb.push(b[i]!);
    }
  }
  return { rho: pearson(ranks(Float64Array.from(xa)), ranks(Float64Array.from(xb))), n: xa.length };
}

// ---- 1. speed -------------------------------------------------------------------------------------------------------

interface SpeedLine {
  label: string;
  rows: number;
  wallRatio: number;
  cpuRatio: number | undefined;
}

function speed(streams: { s8: string; s1: string }): SpeedLine[] {
  log(`== 1. speed: score-then-update, whole process, ${ROWS} rows, 100 trees, sample 256, ${RUNS} run(s) each ==`);
  log('   rows/s as min/median/max over runs; ratio = our median rate / the jar\'s median rate');
  const lines: SpeedLine[] = [];
  const configs = [
    { label: '8-d', file: streams.s8, shingle: 1 },
    { label: '1-d shingle 8', file: streams.s1, shingle: 8 },
  ];
  for (const c of configs) {
    for (const window of [0, 2560]) {
      const label = `${c.label}, ${window === 0 ? 'no decay (jar CLI default)' : 'decay 1/2560 (library default)'}`;
      const jw: number[] = [];
      const jc: number[] = [];
      const ow: number[] = [];
      const oc: number[] = [];
      let last: { jar: Float64Array; ours: Float64Array } | undefined;
      for (let r = 0; r < RUNS; r++) {
        const jar = runScored('java', jarArgs(c.shingle, window), c.file, path.join(TMP, 'jar.out'));
        const ours = runScored(process.execPath, ourArgs(c.shingle, window), c.file, path.join(TMP, 'ours.out'));
        if (jar.scores.length !== ROWS || ours.scores.length !== ROWS) {
          throw new Error(`${label}: ${jar.scores.length} jar rows, ${ours.scores.length} of ours, expected ${ROWS}`);
        }
        jw.push(ROWS / jar.wallS);
        ow.push(ROWS / ours.wallS);
        if (jar.cpuS !== undefined && ours.cpuS !== undefined) {
          jc.push(ROWS / jar.cpuS);
          oc.push(ROWS / ours.cpuS);
        }
        last = { jar: jar.scores, ours: ours.scores };
        process.stdout.write(`   ${label}: run ${r + 1}: jar ${f1(jar.wallS)} s, ours ${f1(ours.wallS)} s\n`);
      }
      const wallRatio = stats(ow).med / stats(jw).med;
      const cpuRatio = jc.length > 0 ? stats(oc).med / stats(jc).med : undefined;
      const rho = last ? spearman(last.jar, last.ours).rho : Number.NaN;
      log(`   ${label}`);
      log(`     wall rows/s   jar ${mmm(jw, (x) => x.toFixed(0))}   ours ${mmm(ow, (x) => x.toFixed(0))}   ratio ${f2(wallRatio)}x`);
      if (cpuRatio !== undefined) {
        log(`     cpu  rows/s   jar ${mmm(jc, (x) => x.toFixed(0))}   ours ${mmm(oc, (x) => x.toFixed(0))}   ratio ${f2(cpuRatio)}x`);
      }
      log(`     (scores of the last run: Spearman ${f3(rho)} between the two)`);
      lines.push({ label, rows: ROWS, wallRatio, cpuRatio });
    }
  }
  return lines;
}

// ---- 2. memory ------------------------------------------------------------------------------------------------------

const JAVA_MEM = `
import com.amazon.randomcutforest.RandomCutForest;
public class RcfMem {
  public static void main(String[] a) throws Exception {
    int forests = Integer.parseInt(a[0]), points = Integer.parseInt(a[1]);
    java.util.Random rnd = new java.util.Random(1);
    Runtime rt = Runtime.getRuntime();
    for (int i = 0; i < 5; i++) { System.gc(); Thread.sleep(50); }
    long before = rt.totalMemory() - rt.freeMemory();
    RandomCutForest[] fs = new RandomCutForest[forests];
    for (int f = 0; f < forests; f++) {
      fs[f] = RandomCutForest.builder().dimensions(1).numberOfTrees(100).sampleSize(256).randomSeed(f).build();
      for (int i = 0; i < points; i++) fs[f].update(new double[] { Math.sin(i / 7.0) * 10 + rnd.nextGaussian() });
    }
    for (int i = 0; i < 5; i++) { System.gc(); Thread.sleep(50); }
    long after = rt.totalMemory() - rt.freeMemory();
    System.out.println("BYTES_PER_TREE " + (double) (after - before) / (forests * 100.0) + " " + fs.length);
  }
}
`;

function javaHeapPerTree(forests: number, points: number): number | undefined {
  const javac = spawnSync('javac', ['-version'], { encoding: 'utf8' });
  if (javac.status !== 0) return undefined;
  const dir = path.join(TMP, 'java');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'RcfMem.java'), JAVA_MEM);
  const c = spawnSync('javac', ['-cp', JAR, '-d', dir, path.join(dir, 'RcfMem.java')], { encoding: 'utf8' });
  if (c.status !== 0) {
    log(`   (javac failed, no jar heap figure: ${c.stderr.slice(0, 300)})`);
    return undefined;
  }
  const r = spawnSync('java', ['-Xmx2g', '-cp', `${JAR}${path.delimiter}${dir}`, 'RcfMem', String(forests), String(points)], { encoding: 'utf8' });
  const m = /BYTES_PER_TREE ([\d.]+)/.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}

function heapUsed(): number {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) for (let i = 0; i < 3; i++) g();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function memory(): { perTree: number; heapPerTree: number | undefined; javaPerTree: number | undefined } {
  log('== 2. memory per tree: 1-d input, 100 trees, sample 256, default time decay, after 5,000 points ==');
  const forests = 20;
  const points = 5000;
  const rng = new Rng(3);
  const measured = typeof (globalThis as { gc?: () => void }).gc === 'function';
  const before = heapUsed();
  const fs: RandomCutForest[] = [];
  for (let f = 0; f < forests; f++) {
    const forest = new RandomCutForest({ inputDims: 1, numTrees: 100, sampleSize: 256, seed: f });
    for (let i = 0; i < points; i++) forest.update([Math.sin(i / 7) * 10 + rng.normal()]);
    fs.push(forest);
  }
  const after = heapUsed();
  const m = fs[0]!.memoryBytes();
  const heapPerTree = measured ? (after - before) / (forests * 100) : undefined;
  const javaPerTree = javaHeapPerTree(forests, points);
  const shingled = new RandomCutForest({ inputDims: 1, shingleSize: 8, numTrees: 100, sampleSize: 256 });
  for (let i = 0; i < points; i++) shingled.update([Math.sin(i / 7) * 10 + rng.normal()]);
  const m8 = new RandomCutForest({ inputDims: 8, numTrees: 100, sampleSize: 256 });
  for (let i = 0; i < points; i++) m8.update(Array.from({ length: 8 }, () => rng.normal()));
  log(`   ours, typed arrays (memoryBytes): ${m.perTree.toFixed(0)} B/tree (${m.points} live points in the shared store)`);
  if (heapPerTree !== undefined) log(`   ours, heap growth over ${forests} forests: ${heapPerTree.toFixed(0)} B/tree`);
  else log('   ours, heap growth: not measured (run with node --expose-gc, as npm run bench:rcf does)');
  log(`   library anchor (OpenSearch AD MemoryTracker, 1-d): 8192 B/tree -> ours/anchor ${f2(m.perTree / 8192)}`);
  if (javaPerTree !== undefined) log(`   the jar, heap growth over ${forests} forests (same build): ${javaPerTree.toFixed(0)} B/tree -> ours/jar ${f2((heapPerTree ?? m.perTree) / javaPerTree)}`);
  log(`   for reference: 1-d shingle 8: ${shingled.memoryBytes().perTree.toFixed(0)} B/tree; 8-d: ${m8.memoryBytes().perTree.toFixed(0)} B/tree`);
  return { perTree: m.perTree, heapPerTree, javaPerTree };
}

// ---- 3. faithfulness -------------------------------------------------------------------------------------------------

const NAB_SERIES = [
  'realKnownCause/nyc_taxi.csv',
  'realKnownCause/machine_temperature_system_failure.csv',
  'realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv',
  'realAdExchange/exchange-2_cpc_results.csv',
  'realTraffic/speed_6005.csv',
  'realTweets/Twitter_volume_AAPL.csv',
  'artificialWithAnomaly/art_daily_jumpsup.csv',
];

function nabValues(rel: string): string {
  const lines = readFileSync(path.join(NAB, rel), 'utf8').split(/\r?\n/).slice(1).filter((l) => l.length > 0);
  const file = path.join(TMP, rel.replace('/', '__'));
  writeFileSync(file, lines.map((l) => l.slice(l.indexOf(',') + 1)).join('\n') + '\n');
  return file;
}

function oursInProcess(file: string, shingle: number, window: number, seed: number): Float64Array {
  const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => l.split(',').map(Number));
  const forest = new RandomCutForest({
    inputDims: rows[0]!.length,
    shingleSize: shingle,
    numTrees: 100,
    sampleSize: 256,
    timeDecay: window > 0 ? 1 / window : 0,
    outputAfter: 64 + shingle - 1, // the jar's forest counts updates from its first full shingle
    seed,
  });
  return Float64Array.from(rows.map((r) => forest.scoreAndUpdate(r)));
}

function faithfulness(): { min: number; median: number; selfMin: number; selfMedian: number } {
  log('== 3. faithfulness: Spearman of per-point scores, ours vs the jar (100 trees, sample 256, decay 1/2560) ==');
  log('   per series: rho min/median/max over 3 seeds of ours (rows scored by both); the jar with seed 42 vs 43 beside it');
  const seeds = [1, 2, 3];
  const all: number[] = [];
  const selfAll: number[] = [];
  const sets: { name: string; file: string }[] = [{ name: 'rcf-paper.csv (3-d)', file: PAPER }, ...NAB_SERIES.map((s) => ({ name: s, file: nabValues(s) }))];
  for (const shingle of [1, 8]) {
    for (const s of sets) {
      if (s.file === PAPER && shingle > 1) continue;
      const jar = runScored('java', jarArgs(shingle, 2560), s.file, path.join(TMP, 'jar-faith.out')).scores;
      // the reference's own spread: the jar against itself with another seed
      const jar2 = runScored('java', jarArgs(shingle, 2560, 43), s.file, path.join(TMP, 'jar-faith2.out')).scores;
      const self = spearman(jar, jar2).rho;
      selfAll.push(self);
      const rhos: number[] = [];
      let n = 0;
      for (const seed of seeds) {
        const r = spearman(jar, oursInProcess(s.file, shingle, 2560, seed));
        rhos.push(r.rho);
        n = r.n;
      }
      all.push(stats(rhos).med);
      log(`   shingle ${shingle}  ${s.name.padEnd(52)} n ${String(n).padStart(5)}  rho ${mmm(rhos, f3)}   jar vs jar ${f3(self)}`);
    }
  }
  const st = stats(all);
  const js = stats(selfAll);
  log(`   over all series (median rho per series): min ${f3(st.min)}, median ${f3(st.med)}, max ${f3(st.max)} (target >= 0.9)`);
  log(`   the jar against itself (seed 42 vs 43):   min ${f3(js.min)}, median ${f3(js.med)}, max ${f3(js.max)}`);
  return { min: st.min, median: st.med, selfMin: js.min, selfMedian: js.med };
}

// ---- main -------------------------------------------------------------------------------------------------------------

requireShared();
mkdirSync(TMP, { recursive: true });
log(`bench:rcf  node ${process.version}, ${spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0]}`);
const streams = writeStreams(ROWS);
const sp = has('no-speed') ? [] : speed(streams);
const mem = has('no-memory') ? undefined : memory();
const faith = has('no-faithfulness') ? undefined : faithfulness();
if (!has('keep')) rmSync(TMP, { recursive: true, force: true });

const parts: string[] = [];
for (const s of sp) parts.push(`${s.label}: ${f2(s.wallRatio)}x wall${s.cpuRatio !== undefined ? `, ${f2(s.cpuRatio)}x cpu` : ''}`);
if (mem) parts.push(`memory ${mem.perTree.toFixed(0)} B/tree (anchor 8192${mem.javaPerTree !== undefined ? `, jar ${mem.javaPerTree.toFixed(0)}` : ''})`);
if (faith) parts.push(`Spearman with the jar min ${f3(faith.min)}, median ${f3(faith.median)} (jar vs jar ${f3(faith.selfMin)}, ${f3(faith.selfMedian)})`);
log('');
log(`SUMMARY rcf vs AWS jar: ${parts.join('; ')}`);
