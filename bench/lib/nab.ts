/**
 * The Numenta Anomaly Benchmark's scoring rules (NAB v1.1), as pure functions over row indices, written from the
 * rules in ../shared/data/nab/README.md (no NAB code):
 *
 * - a detector emits one score in [0, 1] per row; a row is a detection when its score >= the threshold;
 * - the first min(floor(0.15 N), 750) rows of a file are probationary: they count for nothing;
 * - inside an anomaly window (w rows, last row `right`) only the earliest detection i counts, with
 *   A_TP * sigma(y) / sigma(-1), y = -(right - i + 1) / w; a window without a detection costs -A_FN;
 * - a detection outside every window costs -A_FP if no window ended before it, else A_FP * sigma(y) with
 *   y = |right of the previous window - i| / (width of that window - 1), and sigma(y) = -1 when y > 3;
 * - sigma(y) = 2 / (1 + e^(5y)) - 1;
 * - one threshold per detector and profile maximises the corpus score (sum over files) and the corpus score is
 *   normalised to 100 * (raw - null) / (perfect - null), null = -A_FN * windows, perfect = A_TP * windows.
 *
 * Row counts (tp, fn: window rows detected or not; fp, tn: other rows) are over the scored rows (after the
 * probationary period), as NAB's per-file result tables give them.
 */

export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

export type ProfileName = 'standard' | 'reward_low_FP_rate' | 'reward_low_FN_rate';

/** NAB's config/profiles.json. */
export const PROFILES: Readonly<Record<ProfileName, Readonly<CostMatrix>>> = {
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 },
};
export const PROFILE_NAMES: readonly ProfileName[] = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'];

/** An anomaly window as row indices, both inclusive. */
export interface Window {
  left: number;
  right: number;
}

/** A labelled series: its length and its windows (sorted, disjoint, as row indices). */
export interface LabelledSeries {
  name: string;
  length: number;
  windows: readonly Window[];
}

/** Rows at the start of a file of `n` rows that are not scored: min(floor(0.15 n), 750). */
export function probationaryPeriod(n: number): number {
  return Math.min(Math.floor(0.15 * n), 750);
}

/** NAB's scaled sigmoid: 2 / (1 + e^(5y)) - 1, taken as -1 beyond y > 3 (a detection far after a window). */
export function scaledSigmoid(y: number): number {
  if (y > 3) return -1;
  return 2 / (1 + Math.exp(5 * y)) - 1;
}

/**
 * Windows given as [start, end] times (inclusive) mapped to the rows whose time falls inside. Rows need not be
 * strictly ordered (NAB files repeat timestamps at DST changes and one steps back an hour), but each window's rows
 * must be contiguous, hold at least one row, and come after the previous window's.
 */
export function windowRows(times: ArrayLike<number>, windows: readonly (readonly [number, number])[], name = 'series'): Window[] {
  const out: Window[] = [];
  for (const [start, end] of windows) {
    let left = -1;
    let right = -1;
    for (let i = 0; i < times.length; i++) {
      const t = times[i]!;
      if (t < start || t > end) continue;
      if (left < 0) left = i;
      else if (i !== right + 1) throw new Error(`${name}: the rows of window [${iso(start)}, ${iso(end)}] are not contiguous (row ${i})`);
      right = i;
    }
    if (left < 0) throw new Error(`${name}: the window [${iso(start)}, ${iso(end)}] holds no row`);
    if (out.length > 0 && left <= out[out.length - 1]!.right) throw new Error(`${name}: windows overlap or are not sorted`);
    out.push({ left, right });
  }
  return out;
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

/**
 * What each row would add to its file's score if it were a detection: `credit[i]` (the weighted sigmoid above)
 * and `window[i]` (index of the window holding row i, -1 outside every window, -2 in the probationary period).
 * Inside a window, the window's value is the best (= earliest) credit among its detections; outside, every
 * detection adds its credit.
 */
export function rowCredits(series: LabelledSeries, cost: CostMatrix): { credit: Float64Array; window: Int32Array } {
  const n = series.length;
  const credit = new Float64Array(n);
  const window = new Int32Array(n).fill(-1);
  const maxTp = scaledSigmoid(-1);
  let prev: Window | undefined;
  let w = 0;
  for (let i = 0; i < n; i++) {
    const cur = series.windows[w];
    if (cur !== undefined && i >= cur.left && i <= cur.right) {
      const width = cur.right - cur.left + 1;
      credit[i] = (cost.tpWeight * scaledSigmoid(-(cur.right - i + 1) / width)) / maxTp;
      window[i] = w;
      if (i === cur.right) {
        prev = cur;
        w++;
      }
    } else if (prev === undefined) {
      credit[i] = -cost.fpWeight;
    } else {
      const width = prev.right - prev.left + 1;
      // a one-row window has width - 1 = 0: every detection after it is then "far" (y = +Infinity, sigma = -1)
      credit[i] = cost.fpWeight * scaledSigmoid(Math.abs(prev.right - i) / (width - 1));
    }
  }
  const probation = probationaryPeriod(n);
  for (let i = 0; i < Math.min(probation, n); i++) window[i] = -2;
  return { credit, window };
}

export interface FileScore {
  name: string;
  /** raw NAB score of the file at the threshold */
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
  /** scored rows (after the probationary period) */
  total: number;
  windows: number;
  /** windows with at least one detection */
  detectedWindows: number;
  /** detections outside every window */
  falseDetections: number;
}

/** One file's score and row counts with `scores[i] >= threshold` as a detection. */
export function scoreFile(series: LabelledSeries, scores: ArrayLike<number>, threshold: number, cost: CostMatrix): FileScore {
  if (scores.length !== series.length) {
    throw new Error(`${series.name}: ${scores.length} scores for ${series.length} rows`);
  }
  const { credit, window } = rowCredits(series, cost);
  const best = new Float64Array(series.windows.length).fill(Number.NaN);
  let fpScore = 0;
  let tp = 0;
  let tn = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < series.length; i++) {
    const wi = window[i]!;
    if (wi === -2) continue;
    const detected = scores[i]! >= threshold;
    if (wi >= 0) {
      if (detected) {
        tp++;
        if (Number.isNaN(best[wi]!) || credit[i]! > best[wi]!) best[wi] = credit[i]!;
      } else fn++;
    } else if (detected) {
      fp++;
      fpScore += credit[i]!;
    } else tn++;
  }
  let score = fpScore;
  let detectedWindows = 0;
  for (const b of best) {
    if (Number.isNaN(b)) score -= cost.fnWeight;
    else {
      score += b;
      detectedWindows++;
    }
  }
  return {
    name: series.name,
    score,
    tp,
    tn,
    fp,
    fn,
    total: tp + tn + fp + fn,
    windows: series.windows.length,
    detectedWindows,
    falseDetections: fp,
  };
}

/** A detector's scores for one labelled series. */
export interface ScoredSeries {
  series: LabelledSeries;
  scores: ArrayLike<number>;
}

export interface SweepResult {
  /** the threshold maximising the corpus score (the highest one among equal scores); +Infinity = never detect */
  threshold: number;
  /** corpus raw score at that threshold */
  score: number;
  /** thresholds tried (every distinct score value, descending, after +Infinity) and the corpus score at each */
  curve: { threshold: Float64Array; score: Float64Array };
}

/**
 * The threshold that maximises the corpus score: every distinct score value is a candidate (plus +Infinity, the
 * detector that never fires). Rows are taken in decreasing score order, each adding its credit as a detection
 * would, so the whole sweep costs one sort.
 */
export function sweepThreshold(files: readonly ScoredSeries[], cost: CostMatrix): SweepResult {
  let total = 0;
  let windows = 0;
  for (const f of files) {
    if (f.scores.length !== f.series.length) throw new Error(`${f.series.name}: ${f.scores.length} scores for ${f.series.length} rows`);
    total += f.series.length;
    windows += f.series.windows.length;
  }
  const score = new Float64Array(total);
  const credit = new Float64Array(total);
  const group = new Int32Array(total); // global window id, -1 outside windows
  let n = 0;
  let windowBase = 0;
  for (const f of files) {
    const rc = rowCredits(f.series, cost);
    for (let i = 0; i < f.series.length; i++) {
      const wi = rc.window[i]!;
      if (wi === -2) continue;
      const s = f.scores[i]!;
      if (Number.isNaN(s)) throw new Error(`${f.series.name}: row ${i} has a NaN score`);
      score[n] = s;
      credit[n] = rc.credit[i]!;
      group[n] = wi >= 0 ? windowBase + wi : -1;
      n++;
    }
    windowBase += f.series.windows.length;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => score[b]! - score[a]!);

  const windowValue = new Float64Array(windows).fill(-cost.fnWeight);
  let current = -cost.fnWeight * windows;
  const thresholds: number[] = [Number.POSITIVE_INFINITY];
  const scores: number[] = [current];
  for (let k = 0; k < n; ) {
    const t = score[order[k]!]!;
    for (; k < n && score[order[k]!] === t; k++) {
      const r = order[k]!;
      const g = group[r]!;
      if (g < 0) current += credit[r]!;
      else if (credit[r]! > windowValue[g]!) {
        current += credit[r]! - windowValue[g]!;
        windowValue[g] = credit[r]!;
      }
    }
    thresholds.push(t);
    scores.push(current);
  }
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]! + 1e-12) best = i;
  return {
    threshold: thresholds[best]!,
    score: scores[best]!,
    curve: { threshold: Float64Array.from(thresholds), score: Float64Array.from(scores) },
  };
}

/** The null detector's raw score (never fires) and the perfect one's (every window at its first row). */
export function nullAndPerfect(windows: number, cost: CostMatrix): { nullScore: number; perfect: number } {
  return { nullScore: -cost.fnWeight * windows, perfect: cost.tpWeight * windows };
}

/** 100 * (raw - null) / (perfect - null); NaN when there is no window (nothing to normalise against). */
export function normalisedScore(raw: number, windows: number, cost: CostMatrix): number {
  const { nullScore, perfect } = nullAndPerfect(windows, cost);
  if (perfect === nullScore) return Number.NaN;
  return (100 * (raw - nullScore)) / (perfect - nullScore);
}

export interface GroupScore {
  group: string;
  files: number;
  windows: number;
  detectedWindows: number;
  falseDetections: number;
  raw: number;
  /** normalised against the group's own null and perfect scores; NaN for a group without windows */
  normalised: number;
}

/** Sum per-file scores by a grouping key (e.g. the category folder) and normalise each group. */
export function groupScores(files: readonly FileScore[], cost: CostMatrix, key: (f: FileScore) => string): GroupScore[] {
  const groups = new Map<string, GroupScore>();
  for (const f of files) {
    const k = key(f);
    let g = groups.get(k);
    if (!g) {
      g = { group: k, files: 0, windows: 0, detectedWindows: 0, falseDetections: 0, raw: 0, normalised: Number.NaN };
      groups.set(k, g);
    }
    g.files++;
    g.windows += f.windows;
    g.detectedWindows += f.detectedWindows;
    g.falseDetections += f.falseDetections;
    g.raw += f.score;
  }
  for (const g of groups.values()) g.normalised = normalisedScore(g.raw, g.windows, cost);
  return [...groups.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}
