/**
 * Reading the NAB corpus (../shared/data/nab, see its README.md): the 58 series, their anomaly windows as rows,
 * the published thresholds, scoreboard and the Kinesis RANDOM_CUT_FOREST result files.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PROFILE_NAMES, windowRows, type LabelledSeries, type ProfileName } from './nab.js';

export interface NabSeries extends LabelledSeries {
  /** "<category>/<file>.csv", as NAB names files */
  name: string;
  category: string;
  times: Float64Array;
  values: Float64Array;
}

/** NAB time text ("2014-07-01 00:00:00" or with ".000000") as epoch milliseconds, UTC. */
export function parseNabTime(text: string, where: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)?$/.exec(text.trim());
  const t = m ? Date.parse(`${m[1]}T${m[2]}${m[3] ? m[3].slice(0, 4) : ''}Z`) : Number.NaN;
  if (Number.isNaN(t)) throw new Error(`${where}: not a NAB timestamp: ${JSON.stringify(text)}`);
  return t;
}

/** Stop with a clear message when the corpus is not beside the repository. */
export function requireNab(dir: string): void {
  if (!existsSync(path.join(dir, 'labels', 'combined_windows.json'))) {
    process.stderr.write(
      `NAB corpus not found at ${dir} (expected labels/combined_windows.json).\n` +
        'This benchmark reads ../shared/data/nab (numenta/NAB v1.1 data, labels and results); pass --nab DIR to point elsewhere.\n',
    );
    process.exit(2);
  }
}

type WindowsJson = Record<string, [string, string][]>;

function readWindows(dir: string): WindowsJson {
  return JSON.parse(readFileSync(path.join(dir, 'labels', 'combined_windows.json'), 'utf8')) as WindowsJson;
}

/** Parse a `timestamp,value[,...]` CSV; `columns` picks extra numeric columns by header name. */
export function readCsvColumns(file: string, columns: readonly string[]): { times: Float64Array; cols: Float64Array[] } {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  const header = lines[0]!.split(',');
  const idx = columns.map((c) => {
    const i = header.indexOf(c);
    if (i < 0) throw new Error(`${file}: no column ${JSON.stringify(c)} in header ${lines[0]}`);
    return i;
  });
  const ti = header.indexOf('timestamp');
  if (ti < 0) throw new Error(`${file}: no timestamp column`);
  let n = 0;
  for (let i = 1; i < lines.length; i++) if (lines[i]!.length > 0) n++;
  const times = new Float64Array(n);
  const cols = idx.map(() => new Float64Array(n));
  let r = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) continue;
    const f = line.split(',');
    times[r] = parseNabTime(f[ti]!, `${file}:${i + 1}`);
    for (let c = 0; c < idx.length; c++) {
      const v = Number(f[idx[c]!]);
      if (!Number.isFinite(v)) throw new Error(`${file}:${i + 1}: column ${columns[c]} is not a number: ${JSON.stringify(f[idx[c]!])}`);
      cols[c]![r] = v;
    }
    r++;
  }
  return { times, cols };
}

/** Every series of the corpus (sorted by name) with its windows as rows. */
export function loadCorpus(dir: string, only?: (name: string) => boolean): NabSeries[] {
  const windows = readWindows(dir);
  const out: NabSeries[] = [];
  const dataDir = path.join(dir, 'data');
  for (const category of readdirSync(dataDir).sort()) {
    for (const file of readdirSync(path.join(dataDir, category)).sort()) {
      if (!file.endsWith('.csv')) continue;
      const name = `${category}/${file}`;
      if (only && !only(name)) continue;
      const w = windows[name];
      if (!w) throw new Error(`${name}: not in labels/combined_windows.json`);
      const { times, cols } = readCsvColumns(path.join(dataDir, category, file), ['value']);
      const ws = w.map(([a, b]) => [parseNabTime(a, name), parseNabTime(b, name)] as const);
      out.push({ name, category, times, values: cols[0]!, length: times.length, windows: windowRows(times, ws, name) });
    }
  }
  return out;
}

/** config/thresholds.json for one detector. */
export function publishedThresholds(dir: string, detector: string): Record<ProfileName, { threshold: number; score: number }> {
  const all = JSON.parse(readFileSync(path.join(dir, 'config', 'thresholds.json'), 'utf8')) as Record<
    string,
    Record<ProfileName, { threshold: number; score: number }>
  >;
  const d = all[detector];
  if (!d) throw new Error(`config/thresholds.json has no detector ${detector}`);
  return d;
}

/** results/final_results.json: normalised score per detector and profile. */
export function publishedScoreboard(dir: string): Record<string, Record<ProfileName, number>> {
  return JSON.parse(readFileSync(path.join(dir, 'results', 'final_results.json'), 'utf8')) as Record<string, Record<ProfileName, number>>;
}

export interface PublishedFileRow {
  file: string;
  threshold: number;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
  total: number;
}

/** results/<detector>/<detector>_<profile>_scores.csv: per-file counts and raw score at the published threshold. */
export function publishedFileScores(dir: string, detector: string, profile: ProfileName): PublishedFileRow[] {
  const file = path.join(dir, 'results', detector, `${detector}_${profile}_scores.csv`);
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0]!.split(',');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${file}: no column ${name}`);
    return i;
  };
  const [cf, ct, cs, ctp, ctn, cfp, cfn, cn] = ['File', 'Threshold', 'Score', 'TP', 'TN', 'FP', 'FN', 'Total_Count'].map(col) as number[];
  const out: PublishedFileRow[] = [];
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    if (f[0] === 'Totals') continue;
    out.push({
      file: f[cf!]!,
      threshold: Number(f[ct!]),
      score: Number(f[cs!]),
      tp: Number(f[ctp!]),
      tn: Number(f[ctn!]),
      fp: Number(f[cfp!]),
      fn: Number(f[cfn!]),
      total: Number(f[cn!]),
    });
  }
  return out;
}

/** The per-row Kinesis RCF outputs that NAB ships (results/randomCutForest/<category>/randomCutForest_<file>). */
export function publishedRowScores(dir: string, detector: string): { name: string; times: Float64Array; scores: Float64Array }[] {
  const base = path.join(dir, 'results', detector);
  const out: { name: string; times: Float64Array; scores: Float64Array }[] = [];
  for (const category of readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const file of readdirSync(path.join(base, category)).sort()) {
      if (!file.startsWith(`${detector}_`) || !file.endsWith('.csv')) continue;
      const { times, cols } = readCsvColumns(path.join(base, category, file), ['anomaly_score']);
      out.push({ name: `${category}/${file.slice(detector.length + 1)}`, times, scores: cols[0]! });
    }
  }
  return out;
}

export { PROFILE_NAMES };
