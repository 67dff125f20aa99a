/**
 * npm run bench:nab — the Numenta Anomaly Benchmark (NAB v1.1, ../shared/data/nab) for our Random Cut Forest.
 *
 * 1. Scorer check: the per-row outputs of NAB's published Kinesis RANDOM_CUT_FOREST entry (results/randomCutForest,
 *    24 files) scored by bench/lib/nab.ts at that entry's thresholds (config/thresholds.json) must give its per-file
 *    TP/TN/FP/FN and raw scores (results/randomCutForest/*_scores.csv); the published totals must normalise to the
 *    published scoreboard.
 * 2. Reference, same run: AWS's Java library (../shared/tools/rcf-reference, AnomalyScoreRunner) with the Kinesis
 *    entry's settings (100 trees, 256, window 100000, shingle 1; 256 rows of 0, score / 8) over all 58 series,
 *    swept and scored like ours (--no-jar skips it; it needs `java`).
 * 3. Our forest (bench/nab-detector.ts) as a streaming detector, every variant (or --variants a,b), series run in
 *    worker threads (--threads, default 2); the three profiles swept for their best corpus threshold, normalised,
 *    and per category, beside NAB's published RCF (51.7 / 38.4 / 59.7), Numenta HTM and ARTime.
 *
 * Options (after `--`): --nab DIR (../shared/data/nab) --jar FILE --no-jar --trcf SHINGLE (also run the library's
 *   thresholded forest, bench/lib/java/TrcfNab.java, with that shingle) --variants a,b --threads N (2)
 *   --seeds N (1: also run the default and the Kinesis-settings variant with N - 1 more seeds and print the spread)
 *   --only SUBSTRING (series whose name contains it; numbers are then not comparable with the published ones)
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startModuleWorker } from '../src/core/worker.js';
import {
  PROFILES,
  PROFILE_NAMES,
  groupScores,
  normalisedScore,
  scoreFile,
  sweepThreshold,
  type FileScore,
  type GroupScore,
  type ProfileName,
} from './lib/nab.js';
import {
  loadCorpus,
  publishedFileScores,
  publishedRowScores,
  publishedScoreboard,
  publishedThresholds,
  requireNab,
  type NabSeries,
} from './lib/nab-data.js';
import { jarAvailable, jarScores, trcfRows } from './lib/rcf-jar.js';
import type { NabReply, NabTask } from './lib/nab-worker.js';
import { DEFAULT_VARIANT, VARIANTS, relativeToThreshold, variant } from './nab-detector.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);
const log = (msg = ''): void => void process.stdout.write(msg + '\n');
const f1 = (x: number): string => (Number.isNaN(x) ? '   n/a' : x.toFixed(1).padStart(6));
const SHORT: Record<ProfileName, string> = { standard: 'standard', reward_low_FP_rate: 'low FP', reward_low_FN_rate: 'low FN' };

const NAB = path.resolve(ROOT, arg('nab', '../shared/data/nab'));
const JAR = path.resolve(ROOT, arg('jar', '../shared/tools/rcf-reference/randomcutforest-reference.jar'));
const THREADS = Math.max(1, Number(arg('threads', '2')));
const ONLY = arg('only', '');
const SEEDS = Math.max(1, Number(arg('seeds', '1')));

interface Evaluated {
  name: string;
  why: string;
  /** per profile: threshold, normalised corpus score, per-file and per-category scores at that threshold */
  profiles: Record<ProfileName, { threshold: number; raw: number; normalised: number; files: FileScore[]; groups: GroupScore[] }>;
  seconds?: number;
}

const category = (f: { name: string }): string => f.name.split('/')[0]!;

function evaluate(name: string, why: string, corpus: readonly NabSeries[], scores: readonly Float64Array[]): Evaluated {
  const windows = corpus.reduce((a, s) => a + s.windows.length, 0);
  const profiles = {} as Evaluated['profiles'];
  for (const p of PROFILE_NAMES) {
    const cost = PROFILES[p];
    const sweep = sweepThreshold(
      corpus.map((s, i) => ({ series: s, scores: scores[i]! })),
      cost,
    );
    const files = corpus.map((s, i) => scoreFile(s, scores[i]!, sweep.threshold, cost));
    const raw = files.reduce((a, f) => a + f.score, 0);
    profiles[p] = { threshold: sweep.threshold, raw, normalised: normalisedScore(raw, windows, cost), files, groups: groupScores(files, cost, category) };
  }
  return { name, why, profiles };
}

// ---------------------------------------------------------------------------------------------------------------
// 1. The scorer against NAB's published Kinesis RCF results

function scorerCheck(): boolean {
  log('== 1. Scorer check: NAB\'s published Kinesis RCF rows re-scored at its thresholds ==');
  const rows = publishedRowScores(NAB, 'randomCutForest');
  const names = new Set(rows.map((r) => r.name));
  const corpus = loadCorpus(NAB, (n) => names.has(n));
  const thresholds = publishedThresholds(NAB, 'randomCutForest');
  const board = publishedScoreboard(NAB);
  let ok = true;
  for (const p of PROFILE_NAMES) {
    const published = new Map(publishedFileScores(NAB, 'randomCutForest', p).map((r) => [r.file, r]));
    let match = 0;
    let maxDiff = 0;
    const bad: string[] = [];
    for (const s of corpus) {
      const r = rows.find((x) => x.name === s.name)!;
      if (r.scores.length !== s.length) throw new Error(`${s.name}: ${r.scores.length} published rows for ${s.length} data rows`);
      const f = scoreFile(s, r.scores, thresholds[p].threshold, PROFILES[p]);
      const q = published.get(s.name);
      if (!q) throw new Error(`${s.name}: not in the published ${p} scores`);
      const d = Math.abs(f.score - q.score);
      maxDiff = Math.max(maxDiff, d);
      if (d < 1e-6 && f.tp === q.tp && f.tn === q.tn && f.fp === q.fp && f.fn === q.fn) match++;
      else bad.push(`${s.name}: ours tp ${f.tp} tn ${f.tn} fp ${f.fp} fn ${f.fn} score ${f.score} / published ${q.tp} ${q.tn} ${q.fp} ${q.fn} ${q.score}`);
    }
    // the published per-file scores of all 58 files, summed and normalised, against the published scoreboard
    const all = publishedFileScores(NAB, 'randomCutForest', p);
    const windows = loadWindowsCount();
    const norm = normalisedScore(
      all.reduce((a, r) => a + r.score, 0),
      windows,
      PROFILES[p],
    );
    const boardValue = board.randomCutForest![p];
    const normOk = Math.abs(norm - boardValue) < 1e-6;
    ok &&= bad.length === 0 && normOk;
    log(
      `  ${SHORT[p].padEnd(8)} threshold ${thresholds[p].threshold.toFixed(4)}: ${match}/${corpus.length} files match counts and score ` +
        `(max |diff| ${maxDiff.toExponential(1)}); published totals normalise to ${norm.toFixed(3)} vs scoreboard ${boardValue.toFixed(3)} ${normOk ? 'ok' : 'MISMATCH'}`,
    );
    for (const b of bad.slice(0, 5)) log(`    MISMATCH ${b}`);
  }
  log(ok ? '  scorer check: PASS' : '  scorer check: FAIL');
  return ok;
}

let windowsCount: number | undefined;
function loadWindowsCount(): number {
  windowsCount ??= loadCorpus(NAB).reduce((a, s) => a + s.windows.length, 0);
  return windowsCount;
}

/** Published per-category raw and normalised scores of the Kinesis entry (from its per-file scores). */
function publishedGroups(corpus: readonly NabSeries[]): Record<ProfileName, Map<string, number>> {
  const out = {} as Record<ProfileName, Map<string, number>>;
  const windowsOf = new Map(corpus.map((s) => [s.name, s.windows.length]));
  for (const p of PROFILE_NAMES) {
    const files: FileScore[] = publishedFileScores(NAB, 'randomCutForest', p)
      .filter((r) => windowsOf.has(r.file))
      .map((r) => ({
        name: r.file,
        score: r.score,
        tp: r.tp,
        tn: r.tn,
        fp: r.fp,
        fn: r.fn,
        total: r.total,
        windows: windowsOf.get(r.file)!,
        detectedWindows: 0,
        falseDetections: r.fp,
      }));
    out[p] = new Map(groupScores(files, PROFILES[p], category).map((g) => [g.group, g.normalised]));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// 2. and 3. Detectors over the corpus

/** The library's ThresholdedRandomCutForest (--trcf SHINGLE): its grade, its score relative to its threshold, score / 8. */
async function runTrcf(corpus: readonly NabSeries[], shingleSize: number): Promise<Evaluated[]> {
  const t0 = performance.now();
  const grade: Float64Array[] = new Array(corpus.length);
  const relative: Float64Array[] = new Array(corpus.length);
  const raw: Float64Array[] = new Array(corpus.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < corpus.length; i = next++) {
      const s = corpus[i]!;
      const r = await trcfRows(JAR, s.values, { shingleSize, trees: 100, sampleSize: 256, transform: 'NONE', seed: 42 }, s.name);
      grade[i] = r.grade;
      relative[i] = r.score.map((x, k) => relativeToThreshold(x, r.threshold[k]!));
      raw[i] = r.score.map((x) => Math.min(1, x / 8));
    }
  };
  await Promise.all(Array.from({ length: THREADS }, lane));
  const seconds = (performance.now() - t0) / 1000;
  const what = `library ThresholdedRandomCutForest, 100 trees, 256, shingle ${shingleSize}, its defaults`;
  return [
    { ...evaluate(`library TRCF s${shingleSize}: grade`, what, corpus, grade), seconds },
    { ...evaluate(`library TRCF s${shingleSize}: relative`, what, corpus, relative), seconds },
    { ...evaluate(`library TRCF s${shingleSize}: score / 8`, what, corpus, raw), seconds },
  ];
}

async function runJar(corpus: readonly NabSeries[]): Promise<Evaluated> {
  const t0 = performance.now();
  const scores: Float64Array[] = new Array(corpus.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < corpus.length; i = next++) {
      const s = corpus[i]!;
      const raw = await jarScores(JAR, s.values, { trees: 100, sampleSize: 256, shingleSize: 1, windowSize: 100000, seed: 42 }, s.name);
      for (let k = 0; k < raw.length; k++) raw[k] = k < 256 ? 0 : Math.min(1, raw[k]! / 8);
      scores[i] = raw;
    }
  };
  await Promise.all(Array.from({ length: THREADS }, lane));
  const e = evaluate('AWS library (jar), Kinesis settings', 'AnomalyScoreRunner 100 trees, 256, window 100000, shingle 1, score / 8', corpus, scores);
  e.seconds = (performance.now() - t0) / 1000;
  return e;
}

/** Every (variant, series) task spread over THREADS workers; the scores per variant in corpus order. */
async function runVariants(names: readonly string[], corpus: readonly NabSeries[]): Promise<{ scores: Map<string, Float64Array[]>; cpuMs: Map<string, number> }> {
  const tasks: { variant: string; series: number }[] = [];
  // longest series first, so the last tasks are short
  const order = corpus.map((_, i) => i).sort((a, b) => corpus[b]!.length - corpus[a]!.length);
  for (const i of order) for (const v of names) tasks.push({ variant: v, series: i });
  const scores = new Map(names.map((v) => [v, new Array<Float64Array>(corpus.length)]));
  const cpuMs = new Map(names.map((v) => [v, 0]));
  let next = 0;
  let done = 0;
  // startModuleWorker resolves the worker next to the URL it is given: bench/lib/
  const libUrl = new URL(`./lib/nab${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
  const workers = Array.from({ length: Math.min(THREADS, tasks.length) }, () => startModuleWorker(libUrl, 'nab-worker'));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const send = (): void => {
              if (next >= tasks.length) {
                resolve();
                return;
              }
              const id = next++;
              const t = tasks[id]!;
              w.postMessage({ id, values: corpus[t.series]!.values, variant: t.variant } satisfies NabTask);
            };
            w.on('message', (m: NabReply) => {
              if ('error' in m) {
                const t = tasks[m.id]!;
                reject(new Error(`${t.variant} on ${corpus[t.series]!.name}: ${m.error}`));
                return;
              }
              const t = tasks[m.id]!;
              scores.get(t.variant)![t.series] = m.scores;
              cpuMs.set(t.variant, cpuMs.get(t.variant)! + m.ms);
              done++;
              if (done % 29 === 0 || done === tasks.length) process.stderr.write(`\r  ${done}/${tasks.length} series x variant runs`);
              send();
            });
            w.on('error', reject);
            send();
          }),
      ),
    );
  } finally {
    process.stderr.write('\n');
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { scores, cpuMs };
}

// ---------------------------------------------------------------------------------------------------------------

function printCategories(results: readonly Evaluated[], published: Record<ProfileName, Map<string, number>> | undefined, p: ProfileName): void {
  const cats = results[0]!.profiles[p].groups.map((g) => g.group);
  const head = ['category'.padEnd(22), 'files', 'wins', ...(published ? ['Kinesis'] : []), ...results.map((r) => r.name.slice(0, 16).padStart(16))];
  log(`  ${SHORT[p]} profile, normalised per category (windows detected / false detections; n/a: no windows, raw FP cost shown)`);
  log('  ' + head.join(' '));
  for (const c of cats) {
    const g0 = results[0]!.profiles[p].groups.find((g) => g.group === c)!;
    const cells = results.map((r) => {
      const g = r.profiles[p].groups.find((x) => x.group === c)!;
      const main = Number.isNaN(g.normalised) ? `raw ${g.raw.toFixed(2)}` : g.normalised.toFixed(1);
      return `${main} ${g.detectedWindows}/${g.falseDetections}`.padStart(16);
    });
    const pub = published ? [f1(published[p].get(c) ?? Number.NaN).padStart(7)] : [];
    log('  ' + [c.padEnd(22), String(g0.files).padStart(5), String(g0.windows).padStart(4), ...pub, ...cells].join(' '));
  }
}

async function main(): Promise<void> {
  requireNab(NAB);
  const t0 = performance.now();
  const checkOk = ONLY ? true : scorerCheck();
  if (ONLY) log('(--only: scorer check skipped, numbers cover a subset and are not comparable with the published ones)');
  const corpus = loadCorpus(NAB, ONLY ? (n) => n.includes(ONLY) : undefined);
  if (corpus.length === 0) throw new Error(`no NAB series matches --only ${ONLY}`);
  const windows = corpus.reduce((a, s) => a + s.windows.length, 0);
  const rows = corpus.reduce((a, s) => a + s.length, 0);
  log(`\nCorpus: ${corpus.length} series, ${rows} rows, ${windows} windows (${NAB})`);

  const results: Evaluated[] = [];
  let jarResult: Evaluated | undefined;
  if (!flag('no-jar')) {
    if (jarAvailable(JAR)) {
      log(`\n== 2. Reference: AWS's Java library with the Kinesis entry's settings (${THREADS} JVMs at a time) ==`);
      jarResult = await runJar(corpus);
      log(`  ${jarResult.seconds!.toFixed(0)} s; ` + PROFILE_NAMES.map((p) => `${SHORT[p]} ${jarResult!.profiles[p].normalised.toFixed(1)}`).join(' / '));
    } else log(`\n(no reference jar run: java or ${JAR} missing)`);
  }
  const trcf: Evaluated[] = [];
  if (process.argv.includes('--trcf')) {
    if (!jarAvailable(JAR)) throw new Error(`--trcf needs java and ${JAR}`);
    const shingle = Number(arg('trcf', '1'));
    log(`\n== 2b. Reference: the library's ThresholdedRandomCutForest, shingle ${shingle} (bench/lib/java/TrcfNab.java) ==`);
    trcf.push(...(await runTrcf(corpus, shingle)));
    log(`  ${trcf[0]!.seconds!.toFixed(0)} s; ` + trcf.map((e) => `${e.name.split(': ')[1]} ${PROFILE_NAMES.map((p) => e.profiles[p].normalised.toFixed(1)).join(' / ')}`).join('; '));
  }

  const names = process.argv.includes('--variants') ? arg('variants', DEFAULT_VARIANT).split(',') : VARIANTS.map((v) => v.name);
  for (const n of names) variant(n); // fail early on a typo
  // --seeds N: the default and the Kinesis-settings variant again with N - 1 other seeds (seed-to-seed spread)
  const seedRuns: string[] = [];
  for (let k = 1; k < SEEDS; k++) for (const n of [DEFAULT_VARIANT, 'kinesis']) if (names.includes(n)) seedRuns.push(`${n}@${42 + k}`);
  log(`\n== 3. Our forest as a streaming detector: ${names.length} variant(s), ${THREADS} worker thread(s) ==`);
  const tRun = performance.now();
  const { scores, cpuMs } = await runVariants([...names, ...seedRuns], corpus);
  const wall = (performance.now() - tRun) / 1000;
  const seeded = new Map<string, Evaluated[]>();
  for (const n of seedRuns) {
    const base = n.slice(0, n.lastIndexOf('@'));
    const list = seeded.get(base) ?? [];
    list.push(evaluate(n, '', corpus, scores.get(n)!));
    seeded.set(base, list);
  }
  for (const n of names) {
    const v = variant(n);
    const e = evaluate(n, v.why, corpus, scores.get(n)!);
    e.seconds = cpuMs.get(n)! / 1000;
    results.push(e);
  }
  const runs = names.length + seedRuns.length;
  log(`  ${wall.toFixed(0)} s wall for ${runs} x ${rows} rows (${((runs * rows) / wall).toFixed(0)} rows/s over ${THREADS} threads)`);

  const board = ONLY ? undefined : publishedScoreboard(NAB);
  const published = ONLY ? undefined : publishedGroups(corpus);
  const rcf = board?.randomCutForest;
  log('\n== Corpus scores (normalised: null 0, perfect 100; best corpus threshold per profile) ==');
  log(`  ${'detector'.padEnd(40)} ${'standard'.padStart(9)} ${'low FP'.padStart(9)} ${'low FN'.padStart(9)}  vs RCF (std)  thresholds`);
  if (board) {
    for (const [label, key] of [
      ['ARTime (published best)', 'ARTime'],
      ['Numenta HTM (published)', 'numenta'],
      ['AWS Kinesis RCF (published)', 'randomCutForest'],
    ] as const) {
      const b = board[key]!;
      log(`  ${label.padEnd(40)} ${PROFILE_NAMES.map((p) => b[p].toFixed(1).padStart(9)).join(' ')}`);
    }
  }
  const row = (e: Evaluated): void => {
    const ratio = rcf ? `${(e.profiles.standard.normalised / rcf.standard).toFixed(2)}x`.padStart(12) : ''.padStart(12);
    log(
      `  ${e.name.slice(0, 40).padEnd(40)} ${PROFILE_NAMES.map((p) => e.profiles[p].normalised.toFixed(1).padStart(9)).join(' ')}  ${ratio}  ` +
        PROFILE_NAMES.map((p) => e.profiles[p].threshold.toFixed(3)).join(' / '),
    );
  };
  if (jarResult) row(jarResult);
  for (const e of trcf) row(e);
  for (const e of results) row(e);

  for (const [base, list] of seeded) {
    const all = [results.find((r) => r.name === base)!, ...list];
    const stat = (p: ProfileName): string => {
      const v = all.map((e) => e.profiles[p].normalised);
      const mean = v.reduce((a, x) => a + x, 0) / v.length;
      return `${mean.toFixed(1)} [${Math.min(...v).toFixed(1)}, ${Math.max(...v).toFixed(1)}]`;
    };
    log(`  ${`${base}, ${all.length} seeds: mean [min, max]`.padEnd(40)} ${PROFILE_NAMES.map(stat).join('  ')}`);
  }

  log('\n== Per category ==');
  const shown = jarResult ? [...results, jarResult] : results;
  for (const p of PROFILE_NAMES) {
    printCategories(shown, published, p);
    log();
  }

  log('Variants:');
  for (const e of results) log(`  ${e.name.padEnd(18)} ${e.why}${e.seconds !== undefined ? ` (${e.seconds.toFixed(0)} s CPU)` : ''}`);

  const def = results.find((r) => r.name === DEFAULT_VARIANT) ?? results[0]!;
  const sp = def.profiles;
  log(
    `\nSummary: ${def.name} NAB ${sp.standard.normalised.toFixed(1)} / ${sp.reward_low_FP_rate.normalised.toFixed(1)} / ${sp.reward_low_FN_rate.normalised.toFixed(1)}` +
      (rcf ? ` vs AWS Kinesis RCF ${rcf.standard.toFixed(1)} / ${rcf.reward_low_FP_rate.toFixed(1)} / ${rcf.reward_low_FN_rate.toFixed(1)}` : '') +
      (jarResult ? ` (library here ${jarResult.profiles.standard.normalised.toFixed(1)} / ${jarResult.profiles.reward_low_FP_rate.normalised.toFixed(1)} / ${jarResult.profiles.reward_low_FN_rate.normalised.toFixed(1)})` : '') +
      (board ? `, ARTime ${board.ARTime!.standard.toFixed(1)} standard` : '') +
      `; scorer check ${checkOk ? 'PASS' : 'FAIL'}; ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  if (!checkOk) process.exitCode = 1;
}

if (!existsSync(NAB)) requireNab(NAB);
main().catch((err: unknown) => {
  process.stderr.write(`bench:nab failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
