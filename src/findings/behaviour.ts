/**
 * One (entity, window) scored by a behaviour model (a detector of the features kind, e.g. Random Cut Forest over the
 * lake's behaviour windows) -> an OCSF 1.1.0 Detection Finding (class 2004). Pure: the same window and context give
 * the same finding, byte for byte (`now` only fills metadata.processed_time and finding_info.created_time).
 *
 * - `finding_info.uid`: sha256 of (model name, entity, window start), 32 hex digits, so a monitor that computes the
 *   window again after a restart writes the same finding; `metadata.correlation_uid`: sha256 of (model name,
 *   'behaviour', entity), shared by every behaviour finding of that entity and model;
 * - `start_time` / `end_time`: the window [start, end); `time` and `finding_info.first_seen_time` its start,
 *   `last_seen_time` its end;
 * - `finding_info.types`: the detector's finding type ("Anomalous Behaviour") and title; `data_sources`: the lake
 *   views the feature sets read; `evidences[0].data`: the entity, its group, the window and every feature's value;
 * - `message`: "<entity> behaved unusually in the hour from <start> (<sets>): <the features that drove the score, each
 *   with its observed and usual value and its share of the score>; score S > threshold T, ..."; `unmapped.explanation`
 *   the same, structured (`details.features`: feature, direction, observed, usual, share);
 * - severity: how far the score is beyond the threshold, in units of the threshold's distance from the median normal
 *   score (`behaviourSeverity`).
 */
import { deriveEvent } from '../ocsf/derive.js';
import { OCSF_VERSION } from '../ocsf/schema.js';
import { validateEvent } from '../ocsf/validate.js';
import { seclakeVersion } from '../core/version.js';
import { anomalyScoreOf, type ScoreDirection, type ThresholdSource } from '../detectors/calibration.js';
import type { Explanation as DetectorExplanation } from '../detectors/types.js';
import { FindingBuildError, MAX_SHOWN, SEVERITY, fmtP, fmtPercent, resourceTypeOf, sha256Hex, type ScoreExplanation } from './build.js';
import type { DetectionFinding, ModelRef } from './types.js';

/** One scored (entity, window) of a behaviour model. */
export interface BehaviourRecord {
  entity: string;
  /** The entity's group (subnet, VPC, role, account), when the feature sets give one. */
  group?: string;
  /** The window [window_start, window_end), epoch ms. */
  window_start: number;
  window_end: number;
  native_score: number;
  /** The entity has history of its own in the model (else it was scaled against its group or everyone). */
  entity_known: boolean;
  /** Calibrated share of normal windows less anomalous than this one, in [0, 1]; absent when unknown. */
  anomaly_percentile?: number;
  /** Calibrated models: the entity's p-value (calibration.ts pValueOf). */
  p_value?: number;
  /** The calibrated threshold that judged this window (the entity's, its group's or the global), and why. */
  threshold?: number;
  threshold_source?: ThresholdSource;
  threshold_text?: string;
  /** The calibration (held-out windows) is too thin for the rate: severity at most Medium. */
  low_support?: boolean;
  /** Every feature's observed (raw) value, by name. */
  features: Record<string, number>;
  /** The detector's explanation (the features that drove the score; details.features). */
  explanation: DetectorExplanation;
}

export interface BehaviourContext {
  model: ModelRef;
  /** The threshold applied (native units, in the detector's direction) and where it came from. */
  threshold: number;
  thresholdSource: 'calibrated' | 'default';
  /** Median native score of normal windows (the calibration's quantiles), for severity; default: none known. */
  normalMedian?: number;
  /** Feature set names and the lake views they read. */
  sets: readonly string[];
  views: readonly string[];
  /** Processing time for metadata.processed_time and finding_info.created_time; omit for byte-stable output. */
  now?: number;
}

/** The structured explanation (`unmapped.explanation`). */
export interface BehaviourExplanation extends ScoreExplanation {
  /** How far beyond the threshold, in units of the threshold's distance from the median normal score (severity). */
  margin: number;
  window_start: number;
  window_end: number;
  /** The detector's clause ("bytes out 1.97 GB in this hour; usually 45.4 MB: 28% of the score; ..."). */
  reason: string;
  /** The detector's facts: the features that drove the score, each with observed vs usual value and its share. */
  details?: Record<string, unknown>;
}

/** Stable uid of a behaviour finding: 32 hex digits of sha256(model name, entity, window start). */
export function behaviourFindingUid(modelName: string, entity: string, windowStart: number): string {
  return sha256Hex(['seclake-behaviour-finding/1', modelName, entity, windowStart]).slice(0, 32);
}

/** Shared by every behaviour finding of one entity and model (metadata.correlation_uid). */
export function behaviourCorrelationUid(modelName: string, entity: string): string {
  return sha256Hex(['seclake-correlation/1', modelName, 'behaviour', entity]).slice(0, 32);
}

/**
 * The object a window's findings are stored under (findingsObjectKey's "source object", and the findings'
 * source_object): one per model and window, so a window computed again rewrites the same findings object.
 */
export function behaviourSourceObject(modelName: string, windowStart: number): string {
  return `behaviour:${modelName}/${new Date(windowStart).toISOString()}`;
}

/** Margin bands of behaviour findings (margin: see BehaviourExplanation.margin). */
export const BEHAVIOUR_BANDS: readonly { min: number; severity_id: number }[] = [
  { min: 6, severity_id: SEVERITY.CRITICAL },
  { min: 3, severity_id: SEVERITY.HIGH },
  { min: 1, severity_id: SEVERITY.MEDIUM },
  { min: -Infinity, severity_id: SEVERITY.LOW },
];

/**
 * Severity of a behaviour finding from how far its score is beyond the threshold: margin = (anomaly score -
 * threshold's) / (threshold's - the median normal window's), in anomaly-score units (the threshold's own distance from
 * normal when no median is known). Low < 1, Medium < 3, High < 6, else Critical. Confidence: the calibrated
 * percentile when known, else 1 - 2^-margin (0.5 at one margin).
 */
export function behaviourSeverity(
  native: number,
  threshold: number,
  direction: ScoreDirection,
  normalMedian: number | undefined,
  percentile?: number,
): { severity_id: number; confidence_id: number; confidence_score: number; margin: number } {
  const a = anomalyScoreOf(native, direction);
  const t = anomalyScoreOf(threshold, direction);
  const med = normalMedian !== undefined && Number.isFinite(normalMedian) ? anomalyScoreOf(normalMedian, direction) : undefined;
  let spread = med !== undefined ? t - med : Math.abs(t);
  if (!(spread > 1e-9)) spread = 1;
  const margin = (a - t) / spread;
  const severity_id = (BEHAVIOUR_BANDS.find((b) => margin >= b.min) ?? BEHAVIOUR_BANDS[BEHAVIOUR_BANDS.length - 1]!).severity_id;
  const raw = typeof percentile === 'number' && Number.isFinite(percentile) ? percentile : margin > 0 ? 1 - 2 ** -margin : 0;
  const confidence_score = Math.max(0, Math.min(100, Math.round(100 * raw)));
  const confidence_id = confidence_score >= 90 ? 3 : confidence_score >= 70 ? 2 : 1;
  return { severity_id, confidence_id, confidence_score, margin };
}

function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const s = a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** "the hour from 2026-03-05T04:00Z", "the 15-minute window from ...", "the day from 2026-03-05". */
export function windowText(start: number, end: number): string {
  const ms = end - start;
  const iso = new Date(start).toISOString();
  const at = iso.endsWith(':00:00.000Z') ? `${iso.slice(0, 16)}Z` : iso;
  if (ms === 86_400_000 && iso.endsWith('T00:00:00.000Z')) return `the day ${iso.slice(0, 10)}`;
  if (ms === 3_600_000) return `the hour from ${at}`;
  if (ms % 3_600_000 === 0) return `the ${ms / 3_600_000}-hour window from ${at}`;
  if (ms % 60_000 === 0) return `the ${ms / 60_000}-minute window from ${at}`;
  return `the ${ms / 1000}-second window from ${at}`;
}

function shown(s: string): string {
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN - 1)}…` : s;
}

/** The message and the structured explanation of a behaviour finding. */
export function explainBehaviour(rec: BehaviourRecord, ctx: BehaviourContext, margin: number): { message: string; explanation: BehaviourExplanation } {
  const score = ctx.model.detector.score;
  const p = typeof rec.anomaly_percentile === 'number' && Number.isFinite(rec.anomaly_percentile) ? rec.anomaly_percentile : null;
  const own = rec.explanation;
  const explanation: BehaviourExplanation = {
    detector: ctx.model.detector.type,
    score_name: score.name,
    score: rec.native_score,
    direction: score.direction,
    threshold: ctx.threshold,
    threshold_source: ctx.thresholdSource,
    percentile: p,
    margin,
    window_start: rec.window_start,
    window_end: rec.window_end,
    reason: own.reason,
  };
  if (Object.keys(own.details).length > 0) explanation.details = own.details;
  const who = `${shown(rec.entity)} behaved unusually in ${windowText(rec.window_start, rec.window_end)} (${ctx.sets.join(', ')})`;
  const history = rec.entity_known ? '' : rec.group ? ` (little history of its own: compared with ${shown(rec.group)})` : ' (little history of its own: compared with every entity)';
  const cmp = score.direction === 'lower_is_anomalous' ? '<' : '>';
  let line = `score ${fmtNum(rec.native_score)} ${cmp} threshold ${fmtNum(ctx.threshold)}${ctx.thresholdSource === 'default' ? ' (uncalibrated default)' : ''}`;
  if (rec.threshold_text) line += `, ${rec.threshold_text}`;
  if (p !== null) line += `${rec.threshold_text ? ';' : ','} more unusual than ${fmtPercent(p)}% of normal windows`;
  if (typeof rec.p_value === 'number' && Number.isFinite(rec.p_value)) line += ` (p = ${fmtP(rec.p_value)} for ${shown(rec.entity)})`;
  if (rec.low_support) line += '; low support (too few held-out windows for the calibration\'s rate), so at most Medium severity';
  return { message: `${who}${history}: ${[own.reason, line].filter((x) => x).join('; ')}`, explanation };
}

/**
 * Build the Detection Finding of one anomalous (entity, window). Every finding it returns validates against OCSF
 * 1.1.0; FindingBuildError (a bug) otherwise.
 */
export function buildBehaviourFinding(rec: BehaviourRecord, ctx0: BehaviourContext): DetectionFinding {
  // The threshold that judged this window: its entity's (per-entity calibration), else the context's.
  const ctx: BehaviourContext = typeof rec.threshold === 'number' && Number.isFinite(rec.threshold) && ctx0.thresholdSource === 'calibrated' ? { ...ctx0, threshold: rec.threshold } : ctx0;
  const { model } = ctx;
  const det = model.detector;
  const sev = behaviourSeverity(rec.native_score, ctx.threshold, det.score.direction, ctx.normalMedian, rec.anomaly_percentile);
  // Honest confidence: a thin calibration cannot raise High or Critical.
  if (rec.low_support) sev.severity_id = Math.min(sev.severity_id, SEVERITY.MEDIUM);
  const { message, explanation } = explainBehaviour(rec, ctx, sev.margin);
  const uid = behaviourFindingUid(model.name, rec.entity, rec.window_start);
  const entity = shown(rec.entity);
  const top = (rec.explanation.details.features as { text?: unknown }[] | undefined)?.[0]?.text;
  const title = `Unusual behaviour of ${entity}${typeof top === 'string' && top ? `: ${top}` : ''}`;
  const sourceObject = behaviourSourceObject(model.name, rec.window_start);
  const finding_info: Record<string, unknown> = {
    uid,
    title,
    desc: `The ${det.title} model ${model.name} (version ${model.version}) scored the behaviour of ${entity} in ${windowText(rec.window_start, rec.window_end)} (feature sets ${ctx.sets.join(', ')}) as unusual for it.`,
    types: [det.finding_type, det.title],
    analytic: { name: model.name, uid: `seclake-${det.type}/${model.name}`, type_id: 4, version: model.version },
    first_seen_time: rec.window_start,
    last_seen_time: rec.window_end,
    data_sources: [...ctx.views],
  };
  if (ctx.now !== undefined) finding_info.created_time = ctx.now;
  const metadata: Record<string, unknown> = {
    version: OCSF_VERSION,
    product: { name: 'seclake', vendor_name: 'seclake', version: seclakeVersion(), feature: { name: `${det.title} monitor` } },
    profiles: ['datetime'],
    uid,
    correlation_uid: behaviourCorrelationUid(model.name, rec.entity),
    log_name: 'seclake_findings',
  };
  if (ctx.now !== undefined) metadata.processed_time = ctx.now;
  const resource: Record<string, unknown> = { uid: entity };
  const rtype = resourceTypeOf(rec.entity);
  if (rtype) resource.type = rtype;
  if (rec.group) resource.group = { name: shown(rec.group) };
  const data: Record<string, unknown> = {
    entity: rec.entity,
    window_start: rec.window_start,
    window_end: rec.window_end,
    feature_sets: [...ctx.sets],
    features: rec.features,
  };
  if (rec.group) data.entity_group = rec.group;
  const unmapped: Record<string, unknown> = {
    kind: 'behaviour',
    detector: det.type,
    entity: rec.entity,
    window_start: rec.window_start,
    window_end: rec.window_end,
    window_ms: rec.window_end - rec.window_start,
    feature_sets: ctx.sets.join(','),
    [det.score.name]: rec.native_score,
    native_score: rec.native_score,
    native_score_name: det.score.name,
    anomaly_score: anomalyScoreOf(rec.native_score, det.score.direction),
    threshold: ctx.threshold,
    threshold_source: ctx.thresholdSource === 'calibrated' ? (rec.threshold_source ?? 'global') : 'default',
    anomaly_percentile: explanation.percentile,
    is_anomaly: true,
    entity_known: rec.entity_known,
    source_object: sourceObject,
    source: 'behaviour',
    model: { name: model.name, version: model.version, calibrated: ctx.thresholdSource === 'calibrated', detector: det.type },
    explanation,
  };
  if (rec.group) unmapped.entity_group = rec.group;
  if (ctx.thresholdSource === 'calibrated' && typeof rec.p_value === 'number' && Number.isFinite(rec.p_value)) unmapped.p_value = rec.p_value;
  if (ctx.thresholdSource === 'calibrated' && rec.threshold_text) unmapped.threshold_text = rec.threshold_text;
  if (ctx.thresholdSource === 'calibrated') unmapped.global_threshold = ctx0.threshold;
  unmapped.low_support = rec.low_support === true;
  const finding: Record<string, unknown> = {
    class_uid: 2004,
    activity_id: 1,
    severity_id: sev.severity_id,
    status_id: 1,
    time: rec.window_start,
    start_time: rec.window_start,
    end_time: rec.window_end,
    count: 1,
    confidence_id: sev.confidence_id,
    confidence_score: sev.confidence_score,
    message,
    finding_info,
    metadata,
    evidences: [{ data }],
    resources: [resource],
    observables: [{ name: 'resources[].uid', type_id: 10, value: entity }],
    unmapped,
  };
  deriveEvent(finding);
  const errors = validateEvent(finding).filter((i) => i.severity === 'error');
  if (errors.length > 0) throw new FindingBuildError(`behaviour finding ${uid} does not validate: ${errors.map((e) => e.message).join('; ')}`, errors);
  return finding as DetectionFinding;
}
