/**
 * ScoredRecord -> OCSF 1.1.0 Detection Finding (class 2004). Pure: the same record and context give the same
 * finding, byte for byte (the finding's `time` is the event time; `now` only fills `metadata.processed_time` and
 * `finding_info.created_time` when the caller passes it).
 *
 * Where things go (docs/findings.md has an example):
 * - `finding_info.uid`: sha256 of (source object, row, model name, kind, entity, IP), 32 hex digits, so re-processing
 *   an object gives the same uids; `metadata.correlation_uid`: sha256 of (model name, kind, entity, ip), shared by every
 *   finding about the same pair (the dedup key);
 * - `finding_info.analytic`: the model (type_id 4 "Learning (ML/DL)", name, uid, version);
 * - `finding_info.data_sources`: the source object; `evidences[0].data`: `{source_object, source_row, source,
 *   event_time, event_class_uid, event_uid}` (the exact reference to the row); `evidences[0]`: the source event's
 *   src/dst endpoints, connection info, DNS query, actor and API, whichever it has;
 * - `resources[0]`: the entity; `observables`: the entity and the IP;
 * - `message`: the human explanation; `unmapped.explanation`: the same, structured;
 * - severity: see `severityOf()` (calibrated percentile bands, or the margin below the threshold when uncalibrated;
 *   new-entity findings are Low or Informational).
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { deriveEvent } from '../ocsf/derive.js';
import { OCSF_VERSION } from '../ocsf/schema.js';
import { validateEvent, type ValidationIssue } from '../ocsf/validate.js';
import { SeclakeError } from '../core/errors.js';
import { anomalyScoreOf, beyondThreshold, type ScoreDirection } from '../detectors/calibration.js';
import type { Explanation as DetectorExplanation, PairRecord } from '../detectors/types.js';
import type { DetectionFinding, EntityHistory, ModelRef, ScoredRecord } from './types.js';
import { seclakeVersion } from '../core/version.js';

export type FindingKind = 'anomaly' | 'new_entity';

/** Threshold used when the model is uncalibrated and its detector names none (IP Insights: the SageMaker tutorial's dot_product < 0). */
export const DEFAULT_UNCALIBRATED_THRESHOLD = 0;

export const SEVERITY = { INFORMATIONAL: 1, LOW: 2, MEDIUM: 3, HIGH: 4, CRITICAL: 5 } as const;
export const SEVERITY_NAMES: Record<number, string> = { 0: 'Unknown', 1: 'Informational', 2: 'Low', 3: 'Medium', 4: 'High', 5: 'Critical', 6: 'Fatal', 99: 'Other' };

export interface BuildContext {
  model: ModelRef;
  /** Training history of entities, for the explanation (nearest training address, history size). */
  history?: EntityHistory;
  kind: FindingKind;
  /** Occurrences this finding stands for (dedup); default 1. */
  count?: number;
  /** Event time of the last occurrence (dedup); default the record's time. */
  lastSeen?: number;
  /** Threshold to use when `model.threshold` is undefined (uncalibrated); default the detector's, else 0. */
  threshold?: number;
  /** The detector's explanation of the record (a reason clause and its facts). */
  explain?: (record: PairRecord, native: number) => DetectorExplanation;
  /** Processing time (epoch ms) for metadata.processed_time and finding_info.created_time; omit for byte-stable output. */
  now?: number;
}

/** What every finding's explanation says about its score: the detector, its native score and the threshold. */
export interface ScoreExplanation {
  /** Detector type and its native score's name, value and direction. */
  detector: string;
  score_name: string;
  score: number;
  direction: ScoreDirection;
  threshold: number;
  threshold_source: 'calibrated' | 'default';
  percentile: number | null;
  /** The detector's own facts about this record (e.g. IP Insights: entity_training_rows). */
  details?: Record<string, unknown>;
}

/** The structured explanation (`unmapped.explanation`). */
export interface Explanation extends ScoreExplanation {
  entity_history_size: number;
  /** Training addresses stored for the entity (the model keeps a capped sample); null when unknown. */
  entity_history_stored: number | null;
  nearest_ip: string | null;
  nearest_prefix_len: number | null;
}

export class FindingBuildError extends SeclakeError {
  readonly issues: ValidationIssue[];
  constructor(message: string, issues: ValidationIssue[]) {
    super(message);
    this.name = 'FindingBuildError';
    this.issues = issues;
  }
}


/** sha256 (hex) of parts joined by NUL bytes: the stable ids of findings and incidents. */
export function sha256Hex(parts: readonly (string | number)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(String(p));
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * Stable finding uid: 32 hex digits of sha256(source object, row, model name, kind, entity, IP). The pair is part of
 * it because a custom pair query may take several pairs from one row (e.g. both ends of a flow).
 */
export function findingUid(rec: Pick<ScoredRecord, 'ref' | 'entity' | 'ip'>, modelName: string, kind: FindingKind): string {
  return sha256Hex(['seclake-finding/2', rec.ref.object, rec.ref.row, modelName, kind, rec.entity, rec.ip]).slice(0, 32);
}

/** The dedup key's hash (metadata.correlation_uid): same model, kind, entity and IP. */
export function correlationUid(modelName: string, kind: FindingKind, entity: string, ip: string): string {
  return sha256Hex(['seclake-correlation/1', modelName, kind, entity, ip]).slice(0, 32);
}

// ---- severity -------------------------------------------------------------------------------------------

export interface SeverityResult {
  severity_id: number;
  confidence_id: number;
  /** 0..100 */
  confidence_score: number;
}

/** Percentile bands (calibrated models): share of normal traffic scoring higher. */
export const PERCENTILE_BANDS: readonly { min: number; severity_id: number }[] = [
  { min: 0.9999, severity_id: SEVERITY.CRITICAL },
  { min: 0.999, severity_id: SEVERITY.HIGH },
  { min: 0.99, severity_id: SEVERITY.MEDIUM },
  { min: 0, severity_id: SEVERITY.LOW },
];
/** Margin bands (uncalibrated models): how far the score is beyond the threshold, in anomaly-score units (logits for IP Insights). */
export const MARGIN_BANDS: readonly { min: number; severity_id: number }[] = [
  { min: 4, severity_id: SEVERITY.HIGH },
  { min: 2, severity_id: SEVERITY.MEDIUM },
  { min: -Infinity, severity_id: SEVERITY.LOW },
];

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * Severity and confidence of a finding.
 * - anomaly, calibrated: u = 1 - p_value (the entity's, with per-entity calibration) else `anomaly_percentile`:
 *   Critical >= 99.99%, High >= 99.9%, Medium >= 99%, else Low;
 * - anomaly, uncalibrated: margin = how far the score is beyond the threshold in anomaly-score units (IP Insights:
 *   threshold - dot_product); High >= 4, Medium >= 2, else Low (never Critical);
 * - new_entity: Low when its (population) score is beyond the threshold, else Informational.
 * confidence_score = round(100 x percentile) when calibrated, else round(100 x sigmoid(anomaly score)) (for IP
 * Insights 1 - sigmoid(dot_product), the model's probability that the pair is not a genuine one); confidence_id High
 * >= 90, Medium >= 70, else Low.
 * Caps (honest confidence): a pair seen in training (`seen_in_training`) is at most Low; a record of a model whose
 * calibration or the entity's training history is thin (`low_support`) at most Medium.
 */
export function severityOf(rec: ScoredRecord, kind: FindingKind, threshold: number, direction: ScoreDirection = 'lower_is_anomalous'): SeverityResult {
  // Per-entity calibration: how unusual for this entity (1 - its p-value), else the global percentile.
  const p = typeof rec.p_value === 'number' && Number.isFinite(rec.p_value) ? 1 - rec.p_value : rec.anomaly_percentile;
  const calibrated = typeof p === 'number' && Number.isFinite(p);
  const below = rec.is_anomaly ?? beyondThreshold(rec.native_score, threshold, direction);
  const margin = anomalyScoreOf(rec.native_score, direction) - anomalyScoreOf(threshold, direction);
  let severity_id: number;
  if (kind === 'new_entity') severity_id = below ? SEVERITY.LOW : SEVERITY.INFORMATIONAL;
  else if (calibrated) severity_id = PERCENTILE_BANDS.find((b) => p >= b.min)!.severity_id;
  else severity_id = (MARGIN_BANDS.find((b) => margin >= b.min) ?? MARGIN_BANDS[MARGIN_BANDS.length - 1]!).severity_id;
  // Honest confidence: a pair seen in training is at most Low; a thin model or entity history at most Medium.
  if (rec.seen_in_training) severity_id = Math.min(severity_id, SEVERITY.LOW);
  if (rec.low_support) severity_id = Math.min(severity_id, SEVERITY.MEDIUM);
  const raw = calibrated ? p : sigmoid(anomalyScoreOf(rec.native_score, direction));
  const confidence_score = Math.max(0, Math.min(100, Math.round(100 * (Number.isFinite(raw) ? raw : 0))));
  const confidence_id = confidence_score >= 90 ? 3 : confidence_score >= 70 ? 2 : 1;
  return { severity_id, confidence_id, confidence_score };
}

// ---- evidence -------------------------------------------------------------------------------------------

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep copy of plain JSON without null/undefined values and empty objects; bigint -> number/string. */
function cleanJson(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.getTime();
  if (Array.isArray(v)) {
    const out = v.map(cleanJson).filter((x) => x !== undefined);
    return out.length > 0 ? out : undefined;
  }
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    let any = false;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const c = cleanJson(x);
      if (c !== undefined) {
        out[k] = c;
        any = true;
      }
    }
    return any ? out : undefined;
  }
  return undefined;
}

const EVIDENCE_KEYS = ['src_endpoint', 'dst_endpoint', 'connection_info', 'query', 'actor', 'api'] as const;
/** Enum names derive() recomputes; dropping them avoids sibling-mismatch warnings from source quirks. */
const DERIVED_NAMES = new Set(['type', 'direction', 'boundary', 'protocol_ver', 'opcode']);

function evidenceOf(rec: ScoredRecord): Record<string, unknown> {
  const ev: Record<string, unknown> = {};
  const e = rec.event ?? {};
  for (const k of EVIDENCE_KEYS) {
    const c = cleanJson(e[k]);
    if (!isObj(c)) continue;
    // `type` of an endpoint is the sibling of type_id; keep source labels only where they are not enum siblings.
    if ((k === 'src_endpoint' || k === 'dst_endpoint') && c.type_id !== undefined) for (const n of DERIVED_NAMES) delete c[n];
    if (k === 'api') {
      // Request/response bodies can be large and say nothing about the pair; the source row has them.
      for (const part of ['request', 'response'] as const) {
        const x = c[part];
        if (isObj(x)) {
          delete x.data;
          if (Object.keys(x).length === 0) delete c[part];
        }
      }
    }
    ev[k] = c;
  }
  const meta = isObj(e.metadata) ? e.metadata : undefined;
  const data: Record<string, unknown> = {
    source_object: rec.ref.object,
    source_row: rec.ref.row,
  };
  if (rec.ref.source) data.source = rec.ref.source;
  data.event_time = rec.time;
  if (typeof e.class_uid === 'number') data.event_class_uid = e.class_uid;
  if (meta && typeof meta.uid === 'string') data.event_uid = meta.uid;
  ev.data = data;
  return ev;
}

/** Delete the attribute at a validator path (`evidences[0].src_endpoint.ip`); returns whether something was removed. */
function deletePath(root: Record<string, unknown>, path: string): boolean {
  const segs: (string | number)[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
    if (!m) return false;
    segs.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) segs.push(Number(idx[1]));
  }
  let cur: unknown = root;
  for (let i = 0; i < segs.length - 1; i++) {
    if (cur === null || typeof cur !== 'object') return false;
    cur = (cur as Record<string | number, unknown>)[segs[i]!];
  }
  const last = segs[segs.length - 1]!;
  if (cur === null || typeof cur !== 'object') return false;
  if (Array.isArray(cur) && typeof last === 'number') {
    if (last >= cur.length) return false;
    cur.splice(last, 1);
    return true;
  }
  if (!(last in (cur as object))) return false;
  delete (cur as Record<string, unknown>)[last as string];
  return true;
}

// ---- explanation ----------------------------------------------------------------------------------------

function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const s = a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** 0.99734 -> "99.73"; 0.5 -> "50". */
export function fmtPercent(p: number): string {
  const pct = p * 100;
  const digits = pct >= 99.9 && pct < 100 ? 3 : pct >= 99 ? 2 : 1;
  let s = pct.toFixed(digits);
  // Never round a value below 100 up to "100".
  if (pct < 100 && Number(s) >= 100) s = (Math.floor(pct * 10 ** digits) / 10 ** digits).toFixed(digits);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** A p-value for people: 0.00012 -> "0.00012", 0.034 -> "0.034". */
export function fmtP(p: number): string {
  return p >= 0.01 ? p.toFixed(3).replace(/0+$/, '').replace(/\.$/, '') : p.toPrecision(2);
}

/** Entities and IPs come from logs: cap what is shown in titles and messages (the full value stays in `unmapped`). */
export const MAX_SHOWN = 256;
function shown(s: string): string {
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN - 1)}…` : s;
}

function verbOf(rec: ScoredRecord): string {
  const cls = rec.event?.class_uid;
  if (cls === 4001) return 'talked to';
  if (typeof cls === 'number' && (Math.floor(cls / 1000) === 3 || Math.floor(cls / 1000) === 6)) return 'was used from';
  return 'was seen with';
}

/** The explanation's inputs beyond the record: the model, the threshold and where it came from, the detector's hooks. */
export interface ExplainContext {
  model: ModelRef;
  kind: FindingKind;
  threshold: number;
  thresholdSource: 'calibrated' | 'default';
  history?: EntityHistory | undefined;
  explain?: ((record: PairRecord, native: number) => DetectorExplanation) | undefined;
}

export function explain(rec: ScoredRecord, ctx: ExplainContext): { message: string; explanation: Explanation } {
  const { kind, threshold, thresholdSource, history } = ctx;
  const score = ctx.model.detector.score;
  const size = history ? history.size(rec.entity) : 0;
  const stored = history?.stored ? history.stored(rec.entity) : null;
  const nearest = history && size > 0 ? history.nearest(rec.entity, rec.ip) : undefined;
  const p = typeof rec.anomaly_percentile === 'number' && Number.isFinite(rec.anomaly_percentile) ? rec.anomaly_percentile : null;
  const own = ctx.explain ? ctx.explain({ entity: rec.entity, ip: rec.ip }, rec.native_score) : undefined;
  const explanation: Explanation = {
    entity_history_size: size,
    entity_history_stored: stored,
    nearest_ip: nearest?.ip ?? null,
    nearest_prefix_len: nearest?.prefix_len ?? null,
    detector: ctx.model.detector.type,
    score_name: score.name,
    score: rec.native_score,
    direction: score.direction,
    threshold,
    threshold_source: thresholdSource,
    percentile: p,
  };
  if (own && Object.keys(own.details).length > 0) explanation.details = own.details;
  const parts: string[] = [];
  if (kind === 'new_entity') {
    parts.push(`${shown(rec.entity)} is not in the model's training data (first seen with ${shown(rec.ip)})`);
  } else {
    let hist: string;
    const fam = isIP(rec.ip) === 6 ? 'IPv6' : 'IPv4';
    const n = `${size} training address${size === 1 ? '' : 'es'}`;
    const sampled = stored !== null && stored < size ? ` (${stored} kept in the model)` : '';
    if (size === 0) hist = history ? 'the model stores no training addresses for it' : 'no training history available';
    else if (!nearest) hist = `none of its ${n}${sampled} is ${fam}`;
    else if (nearest.prefix_len === (fam === 'IPv6' ? 128 : 32)) hist = `it was seen with this address in training (${n}${sampled})`;
    else hist = `its ${n}${sampled} never shared more than /${nearest.prefix_len} with it (nearest ${nearest.ip})`;
    parts.push(`${shown(rec.entity)} ${verbOf(rec)} ${shown(rec.ip)}; ${hist}`);
    if (own && own.reason) parts.push(own.reason);
  }
  const beyond = beyondThreshold(rec.native_score, threshold, score.direction);
  const cmp = score.direction === 'lower_is_anomalous' ? (beyond ? '<' : '>=') : beyond ? '>' : '<=';
  let line = `score ${fmtNum(rec.native_score)} ${cmp} threshold ${fmtNum(threshold)}${thresholdSource === 'default' ? ' (uncalibrated default)' : ''}`;
  if (kind === 'new_entity') line = `scored against the population: ${line}`;
  if (rec.threshold_text && kind !== 'new_entity') line += `, ${rec.threshold_text}`;
  if (p !== null) line += `${rec.threshold_text && kind !== 'new_entity' ? ';' : ','} more unusual than ${fmtPercent(p)}% of normal traffic`;
  if (typeof rec.p_value === 'number' && Number.isFinite(rec.p_value) && kind !== 'new_entity') line += ` (p = ${fmtP(rec.p_value)} for ${shown(rec.entity)})`;
  if (rec.seen_in_training) line += '; seen in training, so at most Low severity';
  if (rec.low_support) line += '; low support (thin calibration or training history), so at most Medium severity';
  parts.push(line);
  return { message: parts.join('; '), explanation };
}

// ---- the finding ----------------------------------------------------------------------------------------

/** The AWS resource type an entity id names (an instance, interface, IAM user or role), if it names one. */
export function resourceTypeOf(entity: string): string | undefined {
  if (/^i-[0-9a-f]{8,17}$/.test(entity)) return 'AWS::EC2::Instance';
  if (/^eni-[0-9a-f]{8,17}$/.test(entity)) return 'AWS::EC2::NetworkInterface';
  if (/^arn:aws[a-z-]*:iam::\d{12}:user\//.test(entity)) return 'AWS::IAM::User';
  if (/^arn:aws[a-z-]*:(iam|sts)::\d{12}:(assumed-)?role\//.test(entity)) return 'AWS::IAM::Role';
  return undefined;
}

/**
 * Build the Detection Finding for one scored record. Every finding it returns validates against OCSF 1.1.0
 * (`validateEvent` gives no errors): evidence attributes from the source event that do not validate are dropped
 * (and named in `unmapped.dropped_evidence`). Throws FindingBuildError only if the finding itself is invalid (a bug).
 */
export function buildFinding(rec: ScoredRecord, ctx: BuildContext): DetectionFinding {
  const { model, kind } = ctx;
  const calibrated = typeof model.threshold === 'number' && Number.isFinite(model.threshold);
  const det = model.detector;
  // The threshold that judged the record: its entity's (per-entity calibration), else the model's, else the default.
  const threshold =
    calibrated && typeof rec.threshold === 'number' && Number.isFinite(rec.threshold)
      ? rec.threshold
      : calibrated
        ? model.threshold!
        : (ctx.threshold ?? det.score.default_threshold ?? DEFAULT_UNCALIBRATED_THRESHOLD);
  const sev = severityOf(rec, kind, threshold, det.score.direction);
  const { message, explanation } = explain(rec, { model, kind, threshold, thresholdSource: calibrated ? 'calibrated' : 'default', history: ctx.history, explain: ctx.explain });
  const uid = findingUid(rec, model.name, kind);
  const count = Math.max(1, Math.floor(ctx.count ?? 1));
  const lastSeen = ctx.lastSeen !== undefined && ctx.lastSeen >= rec.time ? ctx.lastSeen : rec.time;
  const event = rec.event ?? {};
  const cloud = cleanJson(event.cloud);
  const hasCloud = isObj(cloud) && typeof cloud.provider === 'string';
  const profiles = hasCloud ? ['cloud', 'datetime'] : ['datetime'];

  const evidence = evidenceOf(rec);
  const entity = shown(rec.entity);
  const ip = shown(rec.ip);
  const title = kind === 'anomaly' ? `Unusual IP address for ${entity}: ${ip}` : `New entity ${entity} seen with ${ip}`;
  const desc =
    kind === 'anomaly'
      ? `The ${det.title} model ${model.name} (version ${model.version}) scored the pair (${entity}, ${ip}) as unlikely for this entity.`
      : `${entity} was not in the training data of the ${det.title} model ${model.name} (version ${model.version}); it was scored against the population.`;
  const finding_info: Record<string, unknown> = {
    uid,
    title,
    desc,
    types: kind === 'anomaly' ? [det.finding_type, det.title] : ['New Entity', det.title],
    analytic: { name: model.name, uid: `seclake-${det.type}/${model.name}`, type_id: 4, version: model.version },
    first_seen_time: rec.time,
    last_seen_time: lastSeen,
    data_sources: [rec.ref.object],
  };
  if (ctx.now !== undefined) finding_info.created_time = ctx.now;
  const metadata: Record<string, unknown> = {
    version: OCSF_VERSION,
    product: { name: 'seclake', vendor_name: 'seclake', version: seclakeVersion(), feature: { name: `${det.title} monitor` } },
    profiles,
    uid,
    correlation_uid: correlationUid(model.name, kind, rec.entity, rec.ip),
    log_name: 'seclake_findings',
  };
  if (ctx.now !== undefined) metadata.processed_time = ctx.now;
  const resource: Record<string, unknown> = { uid: entity };
  const rtype = resourceTypeOf(rec.entity);
  if (rtype) resource.type = rtype;
  if (hasCloud && typeof cloud.region === 'string') resource.region = cloud.region;

  const observables: Record<string, unknown>[] = [{ name: 'resources[].uid', type_id: 10, value: entity }];
  for (const side of ['src_endpoint', 'dst_endpoint'] as const) {
    const ep = evidence[side];
    if (isObj(ep) && ep.ip === rec.ip) {
      observables.push({ name: `evidences[].${side}.ip`, type_id: 2, value: rec.ip });
      break;
    }
  }

  const unmapped: Record<string, unknown> = {
    kind,
    detector: det.type,
    entity: rec.entity,
    ip: rec.ip,
    // The native score under its own name too (dot_product for IP Insights, as findings always had it).
    [det.score.name]: rec.native_score,
    native_score: rec.native_score,
    native_score_name: det.score.name,
    anomaly_score: anomalyScoreOf(rec.native_score, det.score.direction),
    threshold,
    // Which calibrated threshold fired (entity, group or global; calibration.ts thresholdFor), or the uncalibrated default.
    threshold_source: calibrated ? (rec.threshold_source ?? 'global') : 'default',
    anomaly_percentile: explanation.percentile,
    is_anomaly: rec.is_anomaly ?? beyondThreshold(rec.native_score, threshold, det.score.direction),
    entity_known: rec.entity_known,
    entity_count: rec.entity_count,
    source_object: rec.ref.object,
    source_row: rec.ref.row,
    model: { name: model.name, version: model.version, calibrated, detector: det.type },
    explanation,
  };
  if (rec.ref.source) unmapped.source = rec.ref.source;
  if (calibrated && typeof rec.p_value === 'number' && Number.isFinite(rec.p_value)) unmapped.p_value = rec.p_value;
  if (calibrated && rec.threshold_text) unmapped.threshold_text = rec.threshold_text;
  if (calibrated && typeof model.threshold === 'number') unmapped.global_threshold = model.threshold;
  unmapped.low_support = rec.low_support === true;
  if (rec.seen_in_training) unmapped.seen_in_training = true;

  const finding: Record<string, unknown> = {
    class_uid: 2004,
    activity_id: 1,
    severity_id: sev.severity_id,
    status_id: 1,
    time: rec.time,
    count,
    confidence_id: sev.confidence_id,
    confidence_score: sev.confidence_score,
    message,
    finding_info,
    metadata,
    evidences: [evidence],
    resources: [resource],
    observables,
    unmapped,
  };
  if (hasCloud) finding.cloud = cloud;
  deriveEvent(finding);

  // Source events come from outside (other products' Parquet): drop what does not validate, keep the rest.
  const dropped: string[] = [];
  for (let pass = 0; pass < 4; pass++) {
    const errors = validateEvent(finding).filter((i) => i.severity === 'error');
    if (errors.length === 0) break;
    let removed = false;
    for (const issue of errors) {
      if (!issue.path.startsWith('evidences[0].') && !issue.path.startsWith('cloud')) continue;
      if (issue.code === 'constraint_failed' || issue.code === 'attribute_required_missing') {
        // The object as a whole is unusable (e.g. an endpoint left without any identifying attribute).
        const objPath = issue.code === 'constraint_failed' ? issue.path : issue.path.split('.').slice(0, -1).join('.');
        if (objPath && objPath !== 'evidences[0]' && deletePath(finding, objPath)) {
          dropped.push(objPath);
          removed = true;
        }
      } else if (deletePath(finding, issue.path)) {
        dropped.push(issue.path);
        removed = true;
      }
    }
    if (!removed) break;
    if (!isObj(finding.cloud) && profiles.includes('cloud')) {
      (finding.metadata as Record<string, unknown>).profiles = ['datetime'];
      delete (finding.resources as Record<string, unknown>[])[0]!.region;
    }
  }
  if (dropped.length > 0) {
    unmapped.dropped_evidence = dropped;
    // Observables may point at a dropped attribute.
    finding.observables = observables.filter((o) => o.name === 'resources[].uid' || (isObj(evidence[String(o.name).split('.')[1]!]) && (evidence[String(o.name).split('.')[1]!] as Record<string, unknown>).ip === rec.ip));
  }
  const errors = validateEvent(finding).filter((i) => i.severity === 'error');
  if (errors.length > 0) {
    throw new FindingBuildError(`finding ${uid} does not validate: ${errors.map((e) => e.message).join('; ')}`, errors);
  }
  return finding as DetectionFinding;
}
