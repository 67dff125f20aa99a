/**
 * `seclake calibrate` without the command line: read the inputs, score them with the model, evaluate, fold in
 * analyst labels, store the calibration in the model file and write the report/plots. Model access goes through a
 * small interface (model.ts adapts the IP Insights engine), so tests can run it against a stand-in model.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, SeclakeError, errorMessage } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { createProgress } from '../core/progress.js';
import type { Calibration, ScoreDirection } from '../detectors/calibration.js';
import { loadAsnTable } from './asn.js';
import { evaluate, evaluateWithFeedback, DEFAULT_RULE, type CalibrationRule, type Evaluation, type FeedbackEffect } from './evaluate.js';
import { generateAbnormal, type AbnormalGenerator } from './generate.js';
import { parseLabels, readLabels, readPairCsv, type LabelFile, type Pair } from './inputs.js';
import { feedbackLabelsJsonl } from '../findings/feedback.js';
import { DEFAULT_DISTINCT_MS, readLakeWindowPairs, type LakeWindow } from './lake.js';
import { svgToPng } from './png.js';
import { fitPerEntity, nativePerEntity, supportFor } from './entities.js';
import { chartsFor, reportHtml, reportJson, type InputSummary, type ReportInput, type ReportJson } from './report.js';
import { DEFAULT_SAMPLE, DEFAULT_SEED } from './defaults.js';


/** The normal data holds nothing the model can be calibrated on (no pairs, or none of a known entity). */
export class NoCalibrationDataError extends SeclakeError {
  constructor(message: string) {
    super(message);
    this.name = 'NoCalibrationDataError';
  }
}

/**
 * The held-out set is too small for the requested false-positive rate and the caller asked to refuse rather than
 * widen (`requireSupport`; without it the calibration is stored with `support.sufficient` false, the achieved FPR's
 * Clopper-Pearson interval, and its findings capped at Medium).
 */
export class InsufficientCalibrationDataError extends SeclakeError {
  constructor(message: string) {
    super(message);
    this.name = 'InsufficientCalibrationDataError';
  }
}

export interface ScoredLike {
  /** The model's native score. */
  score: number;
  entity_known?: boolean;
}

/** What calibration needs from a loaded model. */
export interface CalibratableModel {
  scorePairs(pairs: Pair[], opts?: { verbose?: boolean }): ScoredLike[];
  /** The native score's name and direction (default dot_product, lower = more anomalous). */
  score?: { name: string; direction: ScoreDirection };
  /**
   * Whether the entity was seen in training, when the model can tell. Used when scorePairs does not report
   * `entity_known`. Returning undefined means "cannot tell" (all pairs are then used).
   */
  entityKnown?(entity: string): boolean | undefined;
  hyperparameters(): Record<string, unknown>;
  metadata(): Record<string, unknown>;
}

export interface ModelAccess {
  load(file: string): Promise<CalibratableModel>;
  /** Write the calibration into the model file's header, atomically. */
  storeCalibration(file: string, calibration: Calibration): Promise<void>;
}

export type NormalSource = { kind: 'csv'; file: string } | ({ kind: 'lake' } & LakeWindow);
export type AbnormalSource = { kind: 'csv'; file: string } | { kind: 'generate'; generator: AbnormalGenerator; count?: number };

export interface CalibrateOptions {
  model: string;
  normal: NormalSource;
  abnormal: AbnormalSource;
  rule?: CalibrationRule;
  /** Use at most this many normal pairs, sampled without replacement (tutorial: 100,000). 0 = all. */
  sample?: number;
  seed?: number;
  asnTable?: string;
  labels?: string;
  /** With a lake: fold in the analysts' verdicts recorded in it for this model (default true). */
  feedback?: boolean;
  labelWeight?: number;
  /** Do not write the calibration into the model file. */
  dryRun?: boolean;
  report?: string;
  plots?: string[];
  /** Progress bars on a TTY. */
  progress?: boolean;
  now?: Date;
  /** Refuse (InsufficientCalibrationDataError) when the held-out set cannot resolve the rule's FPR (< 3 / FPR records). */
  requireSupport?: boolean;
  /** Per-entity thresholds (default true): each entity's own quantile shrunk toward its group's and the global one. */
  perEntity?: boolean;
  /** The per-entity prior's weight in records (default 3 / target FPR). */
  priorN?: number;
}

export interface CalibrateResult {
  json: ReportJson;
  evaluation: Evaluation;
  feedback?: FeedbackEffect;
  written: string[];
}

export { DEFAULT_SAMPLE, DEFAULT_SEED };
const CHUNK = 10_000;

function scoreAll(model: CalibratableModel, pairs: Pair[], label: string, progress: boolean): ScoredLike[] {
  const bar = progress ? createProgress(`Scoring ${label}`, pairs.length, 'pairs') : undefined;
  const out: ScoredLike[] = [];
  try {
    for (let i = 0; i < pairs.length; i += CHUNK) {
      const res = model.scorePairs(pairs.slice(i, i + CHUNK), { verbose: false });
      for (const r of res) out.push(r);
      bar?.update(Math.min(pairs.length, i + CHUNK));
    }
  } finally {
    bar?.stop();
  }
  return out;
}

interface Split {
  scores: number[];
  /** The pairs behind `scores` (entity seen in training, or cannot tell). */
  known: Pair[];
  summary: InputSummary;
}

/**
 * Calibration works on a score where lower = more anomalous (the metrics, charts and report assume it): the native
 * score itself, or its negation for detectors whose anomalies score high. storedCalibration turns the result back
 * into native units with the direction recorded.
 */
function orienter(model: CalibratableModel): (x: number) => number {
  return model.score?.direction === 'higher_is_anomalous' ? (x) => -x : (x) => x;
}

/** The calibration as stored with the model: in native units, with the direction and the score's name. */
export function storedCalibration(cal: Calibration, score: { name: string; direction: ScoreDirection } | undefined): Calibration {
  if (!score) return cal;
  if (score.direction === 'lower_is_anomalous') return { ...cal, direction: score.direction, score_name: score.name };
  return {
    ...cal,
    direction: score.direction,
    score_name: score.name,
    ...(cal.per_entity ? { per_entity: nativePerEntity(cal.per_entity, score.direction) } : {}),
    threshold: -cal.threshold,
    normal_quantiles: cal.normal_quantiles.map((q) => -q).reverse(),
    thresholds_at_fpr: cal.thresholds_at_fpr.map((t) => ({ ...t, threshold: -t.threshold })),
  };
}

/** Score pairs and set aside those whose entity the model never saw. */
function scoreAndSplit(model: CalibratableModel, pairs: Pair[], source: string, readCount: number, skipped: number, label: string, progress: boolean): Split {
  const results = scoreAll(model, pairs, label, progress);
  const orient = orienter(model);
  const scores: number[] = [];
  const known: Pair[] = [];
  const unknownScores: number[] = [];
  const unknown = new Set<string>();
  for (let i = 0; i < pairs.length; i++) {
    const r = results[i]!;
    const seen = r.entity_known ?? model.entityKnown?.(pairs[i]!.entity);
    if (seen === false) {
      unknown.add(pairs[i]!.entity);
      unknownScores.push(orient(r.score));
    } else {
      scores.push(orient(r.score));
      known.push(pairs[i]!);
    }
  }
  unknownScores.sort((a, b) => a - b);
  return {
    scores,
    known,
    summary: {
      source,
      pairs: readCount,
      used: scores.length,
      unknownEntityPairs: unknownScores.length,
      unknownEntities: unknown.size,
      unknownExamples: [...unknown].slice(0, 5),
      unknownMedianScore: unknownScores.length > 0 ? unknownScores[unknownScores.length >> 1]! : null,
      skippedLines: skipped,
    },
  };
}

/** k of n without replacement (partial Fisher–Yates), order preserved by index for reproducibility. */
export function sampleWithoutReplacement<T>(items: readonly T[], k: number, rng: Rng): T[] {
  if (k <= 0 || k >= items.length) return items.slice();
  const idx = Array.from({ length: items.length }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(items.length - i);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx
    .slice(0, k)
    .sort((a, b) => a - b)
    .map((i) => items[i]!);
}

const GENERATOR_TEXT: Record<AbnormalGenerator, string> = {
  random: 'uniform random IPv4 for known entities',
  shuffled: "known entities with another entity's IP",
  asn: "known entities with IPs drawn from ASN ranges (tutorial's draw_ip)",
};

export const ASN_ATTRIBUTION =
  'Abnormal IPs drawn from the <code>@ip-location-db/asn</code> range table (CC BY 4.0): IP to ASN data by ' +
  '<a href="https://db-ip.com">DB-IP</a>, RouteViews and NRO.';

function displayName(file: string): string {
  return path.isAbsolute(file) ? path.basename(file) : file;
}

/**
 * The analysts' verdicts recorded in a lake for a model (its findings carry the model file's base name), as labels:
 * benign -> false_positive, malicious -> true_positive (findings without an address are left out).
 */
export function lakeFeedbackLabels(lakeDir: string, modelFile: string): LabelFile['labels'] {
  const fb = feedbackLabelsJsonl(lakeDir, path.basename(modelFile, path.extname(modelFile)));
  return fb.text.trim() === '' ? [] : parseLabels(fb.text, `${lakeDir} feedback`).labels;
}

export async function runCalibration(opts: CalibrateOptions, access: ModelAccess): Promise<CalibrateResult> {
  const seed = opts.seed ?? DEFAULT_SEED;
  const rng = new Rng(seed);
  const progress = opts.progress ?? false;
  const model = await access.load(opts.model);

  // Normal pairs.
  let normalPairs: Pair[];
  let normalSkipped = 0;
  let normalSource: string;
  if (opts.normal.kind === 'csv') {
    const f = await readPairCsv(opts.normal.file);
    normalPairs = f.pairs;
    normalSkipped = f.skipped;
    normalSource = displayName(opts.normal.file);
  } else {
    normalPairs = await readLakeWindowPairs(opts.normal);
    normalSource = `lake ${new Date(opts.normal.sinceMs).toISOString()} .. ${new Date(opts.normal.untilMs).toISOString()}`;
    if (normalPairs.length === 0) throw new NoCalibrationDataError(`no (entity, ip) pairs in the lake between ${new Date(opts.normal.sinceMs).toISOString()} and ${new Date(opts.normal.untilMs).toISOString()}`);
  }
  const normalRead = normalPairs.length;
  // Distinct pairs per hour (from the lake, one example per distinct pair and hour: the unit of an alert), counted
  // before sampling: each entity's p-values become per hour (calibration.ts perHourP).
  let perHour: Map<string, number> | undefined;
  if (opts.normal.kind === 'lake' && (opts.normal.distinctMs ?? DEFAULT_DISTINCT_MS) > 0) {
    const hours = (opts.normal.untilMs - opts.normal.sinceMs) / 3_600_000;
    perHour = new Map();
    for (const p of normalPairs) perHour.set(p.entity, (perHour.get(p.entity) ?? 0) + 1);
    for (const [e, n] of perHour) perHour.set(e, n / hours);
  }
  const sample = opts.sample ?? DEFAULT_SAMPLE;
  if (sample > 0 && normalPairs.length > sample) normalPairs = sampleWithoutReplacement(normalPairs, sample, rng);
  const normal = scoreAndSplit(model, normalPairs, normalSource, normalRead, normalSkipped, 'normal', progress);
  if (normal.scores.length === 0) {
    throw new NoCalibrationDataError(`none of the ${normalPairs.length} normal pairs has an entity the model saw in training; nothing to calibrate on`);
  }

  // Abnormal pairs: generated for the *known* entities of the normal set.
  let abnormalPairs: Pair[];
  let abnormalSkipped = 0;
  let abnormalSourceText: string;
  let abnormalKind: string;
  let description: string;
  let attribution: string | undefined;
  if (opts.abnormal.kind === 'csv') {
    const f = await readPairCsv(opts.abnormal.file);
    abnormalPairs = f.pairs;
    abnormalSkipped = f.skipped;
    abnormalSourceText = displayName(opts.abnormal.file);
    abnormalKind = 'file';
    description = `labelled pairs from ${displayName(opts.abnormal.file)}`;
  } else {
    const table = opts.abnormal.generator === 'asn' ? await loadAsnTable(opts.asnTable) : undefined;
    abnormalPairs = generateAbnormal(normal.known, {
      kind: opts.abnormal.generator,
      rng,
      ...(opts.abnormal.count !== undefined ? { count: opts.abnormal.count } : { count: normal.scores.length }),
      ...(table ? { asnTable: table } : {}),
    });
    abnormalSourceText = `generated: ${opts.abnormal.generator}`;
    abnormalKind = opts.abnormal.generator;
    description = GENERATOR_TEXT[opts.abnormal.generator];
    if (opts.abnormal.generator === 'asn' && opts.asnTable === undefined) attribution = ASN_ATTRIBUTION;
  }
  const abnormal = scoreAndSplit(model, abnormalPairs, abnormalSourceText, abnormalPairs.length, abnormalSkipped, 'abnormal', progress);
  if (abnormal.scores.length === 0) throw new SeclakeError('no abnormal pairs with an entity the model saw in training; nothing to calibrate against');

  const rule = opts.rule ?? DEFAULT_RULE;
  const input = { normal: normal.scores, abnormal: abnormal.scores, rule, abnormalSource: abnormalKind, ...(opts.now ? { now: opts.now } : {}) };

  // Analyst labels.
  let evaluation: Evaluation;
  let feedback: ReportInput['feedback'];
  let normalScores: number[] = normal.scores;
  let abnormalScores: number[] = abnormal.scores;
  // Analyst verdicts recorded in the lake (seclake feedback, the dashboard) for this model fold in like labels:
  // benign findings as normal pairs, malicious ones as abnormal (docs/feedback.md).
  const lakeLabels = opts.normal.kind === 'lake' && opts.feedback !== false ? lakeFeedbackLabels(opts.normal.lakeDir, opts.model) : [];
  if (opts.labels || lakeLabels.length > 0) {
    const lf: LabelFile = opts.labels ? await readLabels(opts.labels) : { labels: [], unresolved: [] };
    lf.labels = [...lf.labels, ...lakeLabels];
    const fps = lf.labels.filter((l) => l.label === 'false_positive');
    const tps = lf.labels.filter((l) => l.label === 'true_positive');
    let unseen = 0;
    const scoreKnown = (pairs: Pair[]): number[] => {
      if (pairs.length === 0) return [];
      const out: number[] = [];
      const orient = orienter(model);
      model.scorePairs(pairs).forEach((r, i) => {
        if ((r.entity_known ?? model.entityKnown?.(pairs[i]!.entity)) === false) unseen++;
        else out.push(orient(r.score));
      });
      return out;
    };
    const fpScores = scoreKnown(fps);
    const tpScores = scoreKnown(tps);
    const res = evaluateWithFeedback(input, { falsePositives: fpScores, truePositives: tpScores, ...(opts.labelWeight !== undefined ? { weight: opts.labelWeight } : {}) });
    evaluation = res.after;
    feedback = { effect: res.effect, unresolved: lf.unresolved.length, unseen, before: res.before };
    normalScores = normal.scores.concat(fpScores);
    abnormalScores = abnormal.scores.concat(tpScores);
  } else {
    evaluation = evaluate(input);
  }

  // Honest confidence: does the held-out set resolve the rule's rate? Then per-entity thresholds at that rate.
  const c0 = evaluation.calibration;
  const rate = c0.rule.kind === 'max_fpr' ? c0.rule.max_fpr : typeof c0.fpr === 'number' && c0.fpr > 0 ? c0.fpr : undefined;
  const support = supportFor(evaluation.curve.nNormal, evaluation.chosen.fp, rate, 'pairs');
  if (!support.sufficient && opts.requireSupport) {
    throw new InsufficientCalibrationDataError(`${displayName(opts.model)}: ${support.note.replace(/\. Low support.*$/, '')}; refusing to calibrate (--require-support). Give a longer held-out window, or a larger --max-fpr`);
  }
  c0.support = support;
  if (rate !== undefined && opts.perEntity !== false) {
    c0.per_entity = fitPerEntity({
      scores: normal.scores,
      entities: normal.known.map((p) => p.entity),
      groups: normal.known.map((p) => p.group),
      targetFpr: rate,
      globalThreshold: evaluation.chosen.threshold,
      ...(opts.priorN !== undefined ? { priorN: opts.priorN } : {}),
      unit: 'pairs',
      ...(perHour ? { perHour } : {}),
    });
  }

  const stored = !opts.dryRun;
  if (stored) {
    try {
      await access.storeCalibration(opts.model, storedCalibration(evaluation.calibration, model.score));
    } catch (err) {
      if (err instanceof SeclakeError) throw err;
      throw new SeclakeError(`cannot store the calibration in ${opts.model}: ${errorMessage(err)}`, { cause: err });
    }
  }

  const reportInput: ReportInput = {
    modelName: displayName(opts.model),
    ...(model.score ? { scoreName: model.score.direction === 'higher_is_anomalous' ? `−${model.score.name}` : model.score.name } : {}),
    hyperparameters: model.hyperparameters(),
    modelMetadata: model.metadata(),
    normal: normal.summary,
    abnormal: { ...abnormal.summary, kind: abnormalKind, description },
    evaluation,
    normalScores,
    abnormalScores,
    seed,
    stored,
    ...(feedback ? { feedback } : {}),
    ...(attribution ? { attribution } : {}),
  };
  const written: string[] = [];
  const needCharts = opts.report !== undefined || (opts.plots?.length ?? 0) > 0;
  const charts = needCharts ? chartsFor(reportInput) : undefined;
  if (opts.report && charts) {
    await writeOut(opts.report, reportHtml(reportInput, charts));
    written.push(opts.report);
  }
  for (const plot of opts.plots ?? []) {
    for (const [file, content] of plotFiles(plot, charts!)) {
      await writeOut(file, content);
      written.push(file);
    }
  }
  const json = reportJson(reportInput);
  return { json, evaluation, ...(feedback ? { feedback: feedback.effect } : {}), written };
}

/**
 * `--plot OUT.svg|OUT.png` names the histogram (the tutorial's figure); the ROC and PR charts go next to it as
 * `OUT-roc.svg` and `OUT-pr.svg` (same extension).
 */
export function plotFiles(plot: string, charts: { histogram: string; roc: string; pr: string }): [string, string | Buffer][] {
  const ext = path.extname(plot).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new ConfigError(`--plot: file name must end in .svg or .png, got '${plot}'`, ['plot']);
  const base = plot.slice(0, -ext.length);
  const render = (svg: string): string | Buffer => (ext === '.png' ? svgToPng(svg) : svg);
  return [
    [plot, render(charts.histogram)],
    [`${base}-roc${ext}`, render(charts.roc)],
    [`${base}-pr${ext}`, render(charts.pr)],
  ];
}

async function writeOut(file: string, content: string | Buffer): Promise<void> {
  try {
    await writeFile(file, content);
  } catch (err) {
    throw new SeclakeError(`cannot write ${file}: ${errorMessage(err)}`, { cause: err });
  }
}
