/**
 * What the Models page (and `seclake models`) shows about a model file of any detector: the detector (type, title,
 * native score and its direction), the record definition, the training metadata (the keys every detector records and
 * IP Insights' own ones in words, any other key as it is), the training curve when the header has an epoch history,
 * and the calibration slot (AUC, threshold and the rule it applies, percentiles, thresholds at FPR budgets). Only the
 * header is read; the detector comes from the registry (src/detectors/index.ts) by the header's `detector.type`.
 */
import { statSync } from 'node:fs';
import { readCalibration, type Calibration, type ScoreDirection } from '../detectors/calibration.js';
import { errorMessage } from '../core/errors.js';
import { findDetector, DETECTORS } from '../detectors/index.js';
import { readModelHeader, type ModelHeader } from '../detectors/model-file.js';
import type { DetectorDefinition, ScoreInfo } from '../detectors/types.js';
import { fmt, fmtInt, fmtPct, fmtTime } from './html.js';

/** A model the dashboard shows: its (endpoint) name and file. */
export interface ModelEntry {
  name: string;
  path: string;
}

/** Where the list of models comes from: fixed files, or the inference server's registry (follows reloads). */
export type ModelSource = readonly ModelEntry[] | { names(): string[]; get(name: string): { path: string } | undefined };

export function listModels(src: ModelSource | undefined): ModelEntry[] {
  if (!src) return [];
  if (Array.isArray(src)) return [...(src as readonly ModelEntry[])];
  const reg = src as Exclude<ModelSource, readonly ModelEntry[]>;
  const out: ModelEntry[] = [];
  for (const name of reg.names()) {
    const m = reg.get(name);
    if (m) out.push({ name, path: m.path });
  }
  return out;
}

export interface ModelInfo {
  name: string;
  path: string;
  bytes: number | undefined;
  header: ModelHeader | undefined;
  /** The model version findings carry: data_crc32 as 8 hex digits. */
  version: string | undefined;
  calibration: Calibration | undefined;
  /** The registered detector the header names; undefined for an unknown type (or an unreadable file). */
  detector?: DetectorDefinition | undefined;
  /** The native score the threshold and quantiles are in, and its direction. */
  score?: ScoreInfo | undefined;
  /** Why the header or calibration could not be read. */
  error: string | undefined;
}

export function modelVersion(header: ModelHeader): string {
  return (header.data_crc32 >>> 0).toString(16).padStart(8, '0');
}

/** A file written before the detector platform (SECLAKE-IPI, format_version 1), presented in the current shape. */
export function isLegacyHeader(header: ModelHeader): boolean {
  return header.format_version < 2;
}

/**
 * The native score of a model: the calibration's name and direction when it stored them, else the detector's, else
 * IP Insights' (calibrations written before other detectors existed are dot_product, lower is anomalous).
 */
export function scoreInfoOf(header: ModelHeader | undefined, calibration: Calibration | undefined, detector = header ? findDetector(header.detector.type) : undefined): ScoreInfo {
  return {
    name: calibration?.score_name ?? detector?.score.name ?? (calibration ? 'dot_product' : 'score'),
    direction: calibration?.direction ?? detector?.score.direction ?? 'lower_is_anomalous',
  };
}

/** `lower is anomalous` / `higher is anomalous`. */
export function directionWords(direction: ScoreDirection): string {
  return direction === 'higher_is_anomalous' ? 'higher is anomalous' : 'lower is anomalous';
}

/** The comparison a threshold applies: `<` for lower_is_anomalous, `>` for higher_is_anomalous. */
export function flagOperator(direction: ScoreDirection): '<' | '>' {
  return direction === 'higher_is_anomalous' ? '>' : '<';
}

/** "flag when prefix_score < threshold" (or the threshold's value in place of the word). */
export function flagRule(score: ScoreInfo, threshold?: number): string {
  return `flag when ${score.name} ${flagOperator(score.direction)} ${threshold === undefined ? 'threshold' : fmt(threshold, 5)}`;
}

/** How the calibration chose its threshold, in words. */
export function calibrationRuleText(cal: Calibration): string {
  const r = cal.rule;
  if (r.kind === 'max_fpr') return `false-positive rate at most ${fmtPct(r.max_fpr, 2)}`;
  if (r.kind === 'min_precision') return `precision at least ${fmtPct(r.min_precision, 1)}${r.ratio ? ` at ${r.ratio}:1 normal:abnormal` : ''}`;
  if (r.kind === 'three_sigma') return `the normal scores' mean + ${r.z_factor} standard deviations (three-sigma)`;
  return 'threshold given by hand';
}

/** The normal score at probability p, from the stored quantiles. */
export function normalQuantile(cal: Calibration, p: number): number {
  return cal.normal_quantiles[Math.round(p * (cal.normal_quantiles.length - 1))]!;
}

/** The detector of a header in words: "IP Insights (ipinsights v2)", or the type and a note when it is not registered. */
export function detectorText(header: ModelHeader, detector: DetectorDefinition | undefined): string {
  const d = header.detector;
  return detector
    ? `${detector.title} (${d.type} v${d.version})`
    : `${d.type} v${d.version} (not a detector of this seclake; known: ${DETECTORS.map((x) => x.type).join(', ')})`;
}

/** One line of training metadata: its header key(s), a label and the value as text. */
export interface TrainingFact {
  /** The header key (the first, when the line combines several). */
  key: string;
  label: string;
  text: string;
  /** Show in a monospace font (paths, sources). */
  mono?: boolean;
}

const num = (t: Record<string, unknown>, k: string): number | null => (typeof t[k] === 'number' ? (t[k] as number) : null);

/** A value of an unknown key as short text: numbers without float noise, objects as compact JSON. */
export function valueText(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? fmtInt(v) : fmt(v, 6);
  if (typeof v === 'string') return v === '' ? '–' : v;
  if (typeof v === 'boolean') return String(v);
  const s = JSON.stringify(v);
  return s.length > 300 ? `${s.slice(0, 299)}…` : s;
}

/**
 * Training metadata as lines: the keys every detector records (BaseTrainingMetadata) and IP Insights' own in words
 * (`known`), every other key as it is (`other`, sorted). `epoch_history` is left out (the training curve shows it).
 */
export function trainingFacts(training: Record<string, unknown> | null | undefined): { known: TrainingFact[]; other: TrainingFact[] } {
  const t = training ?? {};
  const used = new Set<string>(['epoch_history']);
  const known: TrainingFact[] = [];
  const add = (keys: string[], label: string, text: string, mono = false): void => {
    for (const k of keys) used.add(k);
    known.push({ key: keys[0]!, label, text, ...(mono ? { mono } : {}) });
  };
  if ('trained_at' in t) add(['trained_at'], 'Trained at', fmtTime(String(t.trained_at ?? '')));
  if ('rows' in t) {
    const bad = num(t, 'bad_rows');
    const v6 = num(t, 'ipv6_rows');
    const extra = bad !== null ? ` (${fmtInt(bad)} malformed skipped${v6 !== null ? `, ${fmtInt(v6)} IPv6` : ''})` : v6 !== null ? ` (${fmtInt(v6)} IPv6)` : '';
    add(['rows', ...(bad !== null ? ['bad_rows'] : []), ...(v6 !== null ? ['ipv6_rows'] : [])], 'Training rows', `${fmtInt(num(t, 'rows'))}${extra}`);
  }
  if ('distinct_entities' in t) add(['distinct_entities'], 'Distinct entities', fmtInt(num(t, 'distinct_entities')));
  if ('data_time_range' in t) {
    const range = t.data_time_range as { start?: string; end?: string } | null | undefined;
    add(['data_time_range'], 'Data time range', range && range.start ? `${fmtTime(range.start)} → ${fmtTime(range.end ?? '')}` : '–');
  }
  if ('source' in t) add(['source'], 'Source', valueText(t.source), true);
  if (num(t, 'epochs') !== null) add(['epochs'], 'Epochs', String(num(t, 'epochs')));
  if (num(t, 'final_loss') !== null) {
    const acc = num(t, 'final_accuracy');
    add(['final_loss', ...(acc !== null ? ['final_accuracy'] : [])], acc !== null ? 'Final loss / accuracy' : 'Final loss', `${fmt(num(t, 'final_loss'))}${acc !== null ? ` / ${fmtPct(acc, 1)}` : ''}`);
  }
  if ('validation_auc' in t) {
    const rows = num(t, 'validation_rows');
    const auc = num(t, 'validation_auc');
    add(['validation_auc', ...(rows !== null ? ['validation_rows'] : [])], 'Validation AUC', auc === null ? '– (no validation set)' : `${fmt(auc, 4)}${rows ? ` on ${fmtInt(rows)} rows` : ''}`);
  }
  if ('training_seconds' in t) {
    const rps = num(t, 'records_per_second');
    const threads = num(t, 'threads');
    add(
      ['training_seconds', ...(rps !== null ? ['records_per_second'] : []), ...(threads !== null ? ['threads'] : [])],
      'Time',
      `${fmt(num(t, 'training_seconds'), 3)} s${rps !== null ? `, ${fmtInt(rps)} records/s` : ''}${threads !== null ? ` on ${threads} thread(s)` : ''}`,
    );
  }
  if ('seed' in t) add(['seed'], 'Seed', valueText(t.seed));
  if ('seclake_version' in t) add(['seclake_version'], 'seclake version', valueText(t.seclake_version));
  const other = Object.keys(t)
    .filter((k) => !used.has(k))
    .sort()
    .map((k) => ({ key: k, label: k, text: valueText(t[k]) }));
  return { known, other };
}

/** One epoch of a training curve (IP Insights' `training.epoch_history`; any detector may record it). */
export interface EpochRow {
  epoch: number;
  loss: number;
  accuracy?: number;
  validation_auc?: number | null;
}

/** The header's per-epoch history, or [] when it has none (the page then draws no curve). */
export function epochHistory(training: Record<string, unknown> | null | undefined): EpochRow[] {
  const h = training?.epoch_history;
  if (!Array.isArray(h)) return [];
  return h.filter((e): e is EpochRow => e !== null && typeof e === 'object' && typeof (e as EpochRow).epoch === 'number' && typeof (e as EpochRow).loss === 'number');
}

export function readModelInfo(entry: ModelEntry): ModelInfo {
  const info: ModelInfo = { ...entry, bytes: undefined, header: undefined, version: undefined, calibration: undefined, detector: undefined, score: undefined, error: undefined };
  try {
    info.bytes = statSync(entry.path).size;
    info.header = readModelHeader(entry.path);
    info.version = modelVersion(info.header);
    info.detector = findDetector(info.header.detector.type);
    info.score = scoreInfoOf(info.header, undefined, info.detector);
    info.calibration = readCalibration(info.header, entry.path);
    info.score = scoreInfoOf(info.header, info.calibration, info.detector);
  } catch (err) {
    info.error = errorMessage(err);
  }
  return info;
}

/** The JSON the API gives for a model (`GET /api/models`): the header's slots plus the detector and score. */
export function modelApiView(i: ModelInfo): Record<string, unknown> {
  return {
    name: i.name,
    path: i.path,
    bytes: i.bytes,
    version: i.version,
    error: i.error,
    detector: i.header ? { ...i.header.detector, title: i.detector?.title ?? null, registered: i.detector !== undefined } : undefined,
    score: i.score,
    record_definition: i.header?.record_definition,
    hyperparameters: i.header?.hyperparameters,
    training: i.header?.training,
    calibration: i.calibration,
  };
}
