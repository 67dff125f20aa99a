/**
 * Labelled attacks (`labels.jsonl`, one attack per line: the demo generator's ground truth, or a red-team exercise's
 * labels written by hand, docs/labels.md) and the scoring of findings and incidents against them, per detector, per
 * attack kind and combined; precision and recall over the ranking of the alerts (curves); alerts per day.
 *
 * A label names the attack's time window [start_ms, end_ms], its entities and addresses, and every log record it
 * wrote (file, position, view, time). A record carries the entity whose log holds it (`entity`: what a behaviour
 * detector attributes it to) and, when one of the demo's pair models scores it, the address it is scored with
 * (`ip`: the (entity, ip) pair). `behaviour` sums the records up per entity: the time range in which that entity's
 * behaviour is the attack's. Labels written before `behaviour` and `category` existed stay valid: the behaviour
 * windows then come from the records' entities, or from `entities` x [start_ms, end_ms].
 *
 * Two kinds of findings (docs/demo.md "Reading the results"):
 * - a **pair** finding (an entity-IP detector: IP Insights, the history baseline) names (entity, ip) and an event
 *   time; it is a true positive when the pair is one of an attack's record pairs and the time lies in the attack's
 *   window [start, end];
 * - a **window** finding (a behaviour detector: Random Cut Forest over per-entity feature windows) names an entity and
 *   a time range [time, end); it is a true positive when the entity is one of an attack's behaviour entities and the
 *   range overlaps that entity's behaviour window.
 *
 * Measures, for each detector's findings alone and for the union of all of them (combined):
 * - **precision** = true-positive findings / findings;
 * - **attack recall** = attacks with at least one true-positive finding / attacks (also per attack kind);
 * - **record recall** (pair findings) = labelled records with a scored pair that a true-positive finding of the same
 *   attack names (same entity and ip) / such records. Findings are deduplicated by (entity, ip) in a window, so one
 *   finding stands for all records of its pair;
 * - **window record recall** (window findings) = labelled records with an entity whose (entity, time) lies in the
 *   range of a true-positive window finding of the same attack / labelled records with an entity.
 *
 * Incidents (OCSF Incident Findings, the `incidents` view: findings of one entity fused over time) are scored through
 * their member findings (`finding_uids`): an incident is a true positive when at least one of its members is; an
 * attack is found by incidents when a true-positive incident has a member that is a true positive of that attack.
 *
 * Curves (precisionRecallCurve): the alerts ranked strongest first (findings by p-value, else by percentile, else by
 * anomaly score; incidents by score), precision and recall (attack recall, record recall) of the top k for every k.
 */
import { readFileSync } from 'node:fs';
import { ParseError, SeclakeError, errorMessage } from '../core/errors.js';

export interface LabelRecord {
  /** Object key relative to the logs folder. */
  file: string;
  /** 1-based position as the ingest reports it: file line (flow logs incl. header, Route 53) or index in CloudTrail `Records`. */
  position: number;
  /** The lake view the record lands in (the demo's: vpc_flow, route53, cloudtrail_auth, cloudtrail_api, cloudtrail_account). */
  view: string;
  /** Event time, epoch ms. */
  time: number;
  /**
   * The entity whose log holds the record: the instance whose interface logged a flow, that sent a DNS query, whose
   * role made an API call (its instance id); the user who signed in or called. Absent when none (older labels).
   */
  entity?: string;
  /** With `entity`: the address the demo's pair models score this record with, when one scores it. */
  ip?: string;
}

/** An entity whose behaviour an attack changes, over the time range of its attack records. */
export interface BehaviourWindow {
  entity: string;
  /** Epoch ms, inclusive. */
  start_ms: number;
  end_ms: number;
  /** Attack records in that entity's logs (0 when written by hand). */
  records: number;
}

export interface AttackLabel {
  attack_id: string;
  kind: string;
  /** `address` (the attack brings (entity, address) pairs the entity does not use) or `behaviour`; absent in older labels. */
  category?: string;
  start: string;
  end: string;
  start_ms: number;
  end_ms: number;
  /** The main entity (first of `entities`). */
  entity: string;
  entities: string[];
  entity_names: string[];
  ips: string[];
  description: string;
  details: Record<string, unknown>;
  /** Per entity, the time range of its attack records; absent in older labels (derived, see behaviourWindows). */
  behaviour?: BehaviourWindow[];
  records: LabelRecord[];
}

/** Behaviour windows of a label's records: per entity (in order of first appearance), its records' time range. */
export function behaviourOf(records: readonly LabelRecord[]): BehaviourWindow[] {
  const by = new Map<string, BehaviourWindow>();
  for (const r of records) {
    if (r.entity === undefined || r.entity === '') continue;
    const w = by.get(r.entity);
    if (!w) by.set(r.entity, { entity: r.entity, start_ms: r.time, end_ms: r.time, records: 1 });
    else {
      if (r.time < w.start_ms) w.start_ms = r.time;
      if (r.time > w.end_ms) w.end_ms = r.time;
      w.records++;
    }
  }
  return [...by.values()];
}

/** The label's behaviour windows: as written, else from its records' entities, else its entities over its window. */
export function behaviourWindows(l: AttackLabel): BehaviourWindow[] {
  if (l.behaviour && l.behaviour.length > 0) return l.behaviour;
  const derived = behaviourOf(l.records);
  if (derived.length > 0) return derived;
  return l.entities.map((entity) => ({ entity, start_ms: l.start_ms, end_ms: l.end_ms, records: 0 }));
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A time field: epoch ms (number) or an ISO-8601 string. */
function timeOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

/**
 * One label line, checked and completed: the generator's labels as they are; a hand-written label (a red-team
 * exercise) needs `attack_id`, a window (`start_ms`/`end_ms` or ISO `start`/`end`) and what was attacked
 * (`entity`/`entities`, `behaviour` windows or `records`); the rest defaults.
 */
export function normalizeLabel(v: unknown, where: { file: string; line: number }): AttackLabel {
  const bad = (field: string, what: string): never => {
    throw new ParseError(`label field '${field}': ${what}`, { ...where, field });
  };
  if (!isObj(v)) bad('(line)', 'not a JSON object');
  const o = v as Record<string, unknown>;
  if (typeof o.attack_id !== 'string' || o.attack_id === '') bad('attack_id', 'missing (a non-empty string)');
  const start = timeOf(o.start_ms) ?? timeOf(o.start);
  const end = timeOf(o.end_ms) ?? timeOf(o.end);
  if (start === undefined) bad('start_ms', 'missing (epoch ms, or `start` as ISO-8601)');
  if (end === undefined) bad('end_ms', 'missing (epoch ms, or `end` as ISO-8601)');
  if (end! < start!) bad('end_ms', `before start_ms (${end} < ${start})`);
  const records: LabelRecord[] = [];
  if (o.records !== undefined) {
    if (!Array.isArray(o.records)) bad('records', 'not an array');
    (o.records as unknown[]).forEach((r, i) => {
      if (!isObj(r) || typeof r.file !== 'string' || typeof r.position !== 'number' || typeof r.time !== 'number') bad(`records[${i}]`, 'not a record (file, position, view, time)');
      const rec = r as Record<string, unknown>;
      if (rec.entity !== undefined && typeof rec.entity !== 'string') bad(`records[${i}].entity`, 'not a string');
      if (rec.ip !== undefined && typeof rec.ip !== 'string') bad(`records[${i}].ip`, 'not a string');
      records.push(rec as unknown as LabelRecord);
    });
  }
  let behaviour: BehaviourWindow[] | undefined;
  if (o.behaviour !== undefined) {
    if (!Array.isArray(o.behaviour)) bad('behaviour', 'not an array');
    behaviour = (o.behaviour as unknown[]).map((b, i) => {
      if (!isObj(b) || typeof b.entity !== 'string' || b.entity === '') bad(`behaviour[${i}].entity`, 'missing');
      const bb = b as Record<string, unknown>;
      const bs = timeOf(bb.start_ms) ?? timeOf(bb.start) ?? start!;
      const be = timeOf(bb.end_ms) ?? timeOf(bb.end) ?? end!;
      if (be < bs) bad(`behaviour[${i}].end_ms`, 'before its start');
      return { entity: bb.entity as string, start_ms: bs, end_ms: be, records: typeof bb.records === 'number' ? bb.records : 0 };
    });
  }
  const strings = (field: string): string[] | undefined => {
    const x = o[field];
    if (x === undefined) return undefined;
    if (!Array.isArray(x) || x.some((e) => typeof e !== 'string')) bad(field, 'not an array of strings');
    return x as string[];
  };
  const entities = strings('entities') ?? (typeof o.entity === 'string' ? [o.entity] : (behaviour ?? behaviourOf(records)).map((b) => b.entity));
  if (entities.length === 0 && records.length === 0 && !behaviour) bad('entities', 'nothing attacked: give entity/entities, behaviour windows or records');
  return {
    ...(o as object),
    attack_id: o.attack_id as string,
    kind: typeof o.kind === 'string' ? o.kind : 'attack',
    start: new Date(start!).toISOString(),
    end: new Date(end!).toISOString(),
    start_ms: start!,
    end_ms: end!,
    entity: typeof o.entity === 'string' ? o.entity : (entities[0] ?? ''),
    entities,
    entity_names: strings('entity_names') ?? entities,
    ips: strings('ips') ?? [],
    description: typeof o.description === 'string' ? o.description : '',
    details: isObj(o.details) ? o.details : {},
    ...(behaviour ? { behaviour } : {}),
    records,
  } as AttackLabel;
}

export function readLabelsFile(file: string): AttackLabel[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SeclakeError(`cannot read labels ${file}: ${errorMessage(err)}`, { cause: err });
  }
  const out: AttackLabel[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new ParseError(`not JSON: ${errorMessage(err)}`, { file, line: i + 1 });
    }
    out.push(normalizeLabel(v, { file, line: i + 1 }));
  });
  return out;
}

/** What the evaluation needs of a finding. */
export interface FindingLike {
  entity: string;
  /** The address of a pair finding; empty or absent for a window (behaviour) finding. */
  ip?: string;
  /** Event time of a pair finding, start of a window finding's range; epoch ms. */
  time: number;
  /** End of a window finding's range (exclusive), epoch ms; absent = the instant `time`. */
  end?: number;
  /** `pair` or `window`; default: `pair` when `ip` is set, else `window`. */
  scope?: 'pair' | 'window';
  /** The model that produced it (per-detector numbers are per model). */
  model?: string;
  /** The detector type behind the model (ipinsights, history, rcf). */
  detector?: string;
  /** The finding's uid (incidents name their members by it). */
  uid?: string;
  /** Calibrated p-value (`unmapped.p_value`): smaller = stronger; ranks the curves. */
  p_value?: number;
  /** Global anomaly percentile in [0, 1] (share of normal traffic scoring higher); ranks when there is no p-value. */
  percentile?: number;
  /** Detector-specific anomaly score, higher = more anomalous; ranks when there is neither. */
  anomaly_score?: number;
  /** The lake view of the record a pair finding was scored from (vpc_flow, cloudtrail_auth, ...): when every finding
   * of a detector names one, its record recall counts labelled records of those views only. */
  view?: string;
}

export function scopeOf(f: FindingLike): 'pair' | 'window' {
  return f.scope ?? (f.ip !== undefined && f.ip !== '' ? 'pair' : 'window');
}

/** The name a finding is counted under per detector: its model's name, else its detector type. */
export function detectorNameOf(f: FindingLike): string {
  return f.model || f.detector || 'unknown';
}

export interface AttackResult {
  attack_id: string;
  kind: string;
  category?: string;
  detected: boolean;
  /** True-positive findings of this attack. */
  findings: number;
  /** Detectors (per detectorNameOf) with a true positive on this attack. */
  detected_by: string[];
  scored_records: number;
  detected_records: number;
  window_records: number;
  window_detected_records: number;
  description: string;
}

export interface KindResult {
  category?: string;
  attacks: number;
  detected: number;
  /** True-positive findings on attacks of this kind. */
  findings: number;
}

/** Precision and attack recall of a set of alerts (findings or incidents). */
export interface AlertScores {
  true_positives: number;
  false_positives: number;
  precision: number | null;
  attacks: number;
  attacks_detected: number;
  attack_recall: number | null;
}

/** Precision and recall of one set of findings. */
export interface Scores extends AlertScores {
  findings: number;
  /** Findings by scope (pair: entity-IP detectors; window: behaviour detectors). */
  pair_findings: number;
  window_findings: number;
  scored_records: number;
  detected_records: number;
  record_recall: number | null;
  window_records: number;
  window_detected_records: number;
  window_record_recall: number | null;
  per_kind: Record<string, KindResult>;
}

export interface DetectorScores extends Scores {
  /** Model name (or the detector type when findings name no model). */
  name: string;
  /** Detector type(s) of its findings. */
  detector: string;
  /** The label views its record recall counts (all when absent). */
  views?: string[];
}

export interface Evaluation extends Scores {
  /** Per attack, for the union of all findings (detected_by says which detectors found it). */
  per_attack: AttackResult[];
  /** Each detector (model) on its own, in order of first finding, then any `detectors` named with no findings. */
  per_detector: DetectorScores[];
  /** Up to 10 false positives of the union, for the report. */
  false_positive_examples: FindingLike[];
}

const key = (entity: string, ip: string): string => `${entity}\u0000${ip}`;

/** Whether [a0, a1) (an instant when a1 <= a0) overlaps the closed range [b0, b1]. */
function overlaps(a0: number, a1: number, b0: number, b1: number): boolean {
  return a0 <= b1 && Math.max(a1, a0 + 1) > b0;
}

interface Prepared {
  labels: readonly AttackLabel[];
  /** Per label: its scored pairs and their record counts. */
  pairs: Map<string, number>[];
  /** Per label: its behaviour windows, by entity. */
  windows: Map<string, BehaviourWindow[]>[];
  /** Per label: records with an entity, sorted by time, per entity. */
  entityTimes: Map<string, Float64Array>[];
}

/** Labels ready for matching; `views`: count only records of these views (a detector's record recall). */
function prepare(labels: readonly AttackLabel[], views?: ReadonlySet<string>): Prepared {
  const recordsOf = (l: AttackLabel): LabelRecord[] => (views ? l.records.filter((r) => views.has(r.view)) : l.records);
  const pairs = labels.map((l) => {
    const m = new Map<string, number>();
    for (const r of recordsOf(l)) if (r.entity !== undefined && r.ip !== undefined) m.set(key(r.entity, r.ip), (m.get(key(r.entity, r.ip)) ?? 0) + 1);
    return m;
  });
  const windows = labels.map((l) => {
    const m = new Map<string, BehaviourWindow[]>();
    for (const w of behaviourWindows(l)) m.set(w.entity, [...(m.get(w.entity) ?? []), w]);
    return m;
  });
  const entityTimes = labels.map((l) => {
    const by = new Map<string, number[]>();
    for (const r of recordsOf(l)) if (r.entity !== undefined && r.entity !== '') (by.get(r.entity) ?? by.set(r.entity, []).get(r.entity)!).push(r.time);
    return new Map([...by].map(([e, ts]) => [e, Float64Array.from(ts).sort()]));
  });
  return { labels, pairs, windows, entityTimes };
}

/** Index of the first element >= x in a sorted array. */
function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Which labels a finding is a true positive of. */
function matches(p: Prepared, f: FindingLike): number[] {
  const out: number[] = [];
  const pair = scopeOf(f) === 'pair';
  const k = pair ? key(f.entity, f.ip ?? '') : '';
  const end = f.end ?? f.time;
  p.labels.forEach((l, i) => {
    if (pair) {
      if (f.time >= l.start_ms && f.time <= l.end_ms && p.pairs[i]!.has(k)) out.push(i);
    } else if ((p.windows[i]!.get(f.entity) ?? []).some((w) => overlaps(f.time, end, w.start_ms, w.end_ms))) {
      out.push(i);
    }
  });
  return out;
}

interface Scored extends Scores {
  per_attack: AttackResult[];
  tpFindings: FindingLike[][];
  fps: FindingLike[];
}

/** Scores of a set of findings: matched against `p`; records counted (recall) from `counted` (default `p`). */
function score(p: Prepared, findings: readonly FindingLike[], counted: Prepared = p): Scored {
  const { labels } = p;
  const hitPairs = labels.map(() => new Set<string>());
  const tpFindings: FindingLike[][] = labels.map(() => []);
  const covered = labels.map(() => new Map<string, Uint8Array>());
  let tp = 0;
  let pairFindings = 0;
  const fps: FindingLike[] = [];
  for (const f of findings) {
    const pair = scopeOf(f) === 'pair';
    if (pair) pairFindings++;
    const hit = matches(p, f);
    for (const i of hit) {
      tpFindings[i]!.push(f);
      if (pair) hitPairs[i]!.add(key(f.entity, f.ip ?? ''));
      else {
        const times = counted.entityTimes[i]!.get(f.entity);
        if (!times) continue;
        const mark = covered[i]!.get(f.entity) ?? covered[i]!.set(f.entity, new Uint8Array(times.length)).get(f.entity)!;
        const end = f.end !== undefined && f.end > f.time ? f.end : f.time + 1;
        for (let j = lowerBound(times, f.time); j < times.length && times[j]! < end; j++) mark[j] = 1;
      }
    }
    if (hit.length > 0) tp++;
    else fps.push(f);
  }
  const perAttack: AttackResult[] = labels.map((l, i) => {
    let scored = 0;
    let detected = 0;
    for (const [k, n] of counted.pairs[i]!) {
      scored += n;
      if (hitPairs[i]!.has(k)) detected += n;
    }
    let wRecords = 0;
    let wDetected = 0;
    for (const [e, times] of counted.entityTimes[i]!) {
      wRecords += times.length;
      const mark = covered[i]!.get(e);
      if (mark) for (const m of mark) wDetected += m;
    }
    const by = [...new Set(tpFindings[i]!.map(detectorNameOf))];
    return {
      attack_id: l.attack_id,
      kind: l.kind,
      ...(l.category !== undefined ? { category: l.category } : {}),
      detected: tpFindings[i]!.length > 0,
      findings: tpFindings[i]!.length,
      detected_by: by,
      scored_records: scored,
      detected_records: detected,
      window_records: wRecords,
      window_detected_records: wDetected,
      description: l.description,
    };
  });
  const perKind: Record<string, KindResult> = {};
  for (const a of perAttack) {
    const e = (perKind[a.kind] ??= { ...(a.category !== undefined ? { category: a.category } : {}), attacks: 0, detected: 0, findings: 0 });
    e.attacks++;
    e.findings += a.findings;
    if (a.detected) e.detected++;
  }
  const sum = (f: (a: AttackResult) => number): number => perAttack.reduce((s, a) => s + f(a), 0);
  const scored = sum((a) => a.scored_records);
  const detectedRecords = sum((a) => a.detected_records);
  const wRecords = sum((a) => a.window_records);
  const wDetected = sum((a) => a.window_detected_records);
  const detectedAttacks = perAttack.filter((a) => a.detected).length;
  return {
    findings: findings.length,
    pair_findings: pairFindings,
    window_findings: findings.length - pairFindings,
    true_positives: tp,
    false_positives: findings.length - tp,
    precision: findings.length > 0 ? tp / findings.length : null,
    attacks: labels.length,
    attacks_detected: detectedAttacks,
    attack_recall: labels.length > 0 ? detectedAttacks / labels.length : null,
    scored_records: scored,
    detected_records: detectedRecords,
    record_recall: scored > 0 ? detectedRecords / scored : null,
    window_records: wRecords,
    window_detected_records: wDetected,
    window_record_recall: wRecords > 0 ? wDetected / wRecords : null,
    per_kind: perKind,
    per_attack: perAttack,
    tpFindings,
    fps,
  };
}

function scoresOf(s: Scored): Scores {
  const { per_attack: _a, tpFindings: _t, fps: _f, ...rest } = s;
  return rest;
}

export interface EvaluateOptions {
  /**
   * Detectors (model names, as detectorNameOf gives them) to list even when they have no findings, with their
   * detector types, so that a detector that found nothing shows as such; `views`: the label views the detector reads
   * (its record recall then counts only labelled records of those views: the sign-in model is not asked to cover flow
   * records). Without `views`, those its pair findings name (FindingLike.view), else all.
   */
  detectors?: readonly { name: string; detector: string; views?: readonly string[] }[];
}

/**
 * Findings of any detectors against the labels: the union of all findings (combined), and each detector's alone
 * (grouped by detectorNameOf).
 */
export function evaluateFindings(labels: readonly AttackLabel[], findings: readonly FindingLike[], opts: EvaluateOptions = {}): Evaluation {
  const p = prepare(labels);
  const all = score(p, findings);
  const groups = new Map<string, FindingLike[]>();
  const types = new Map<string, Set<string>>();
  for (const f of findings) {
    const n = detectorNameOf(f);
    (groups.get(n) ?? groups.set(n, []).get(n)!).push(f);
    if (f.detector) (types.get(n) ?? types.set(n, new Set()).get(n)!).add(f.detector);
  }
  const views = new Map<string, Set<string>>();
  for (const d of opts.detectors ?? []) {
    if (!groups.has(d.name)) groups.set(d.name, []);
    (types.get(d.name) ?? types.set(d.name, new Set()).get(d.name)!).add(d.detector);
    if (d.views) views.set(d.name, new Set(d.views));
  }
  // Not given: the views of the detector's pair findings' source records, when every one of them names its view (a
  // window finding reads several views and names none: its detector then counts every record).
  for (const [name, fs] of groups) {
    if (views.has(name) || fs.length === 0 || fs.some((f) => scopeOf(f) !== 'pair' || !f.view)) continue;
    views.set(name, new Set(fs.map((f) => f.view!)));
  }
  const perDetector: DetectorScores[] = [...groups].map(([name, fs]) => {
    const v = views.get(name);
    return { name, detector: [...(types.get(name) ?? [])].join(',') || 'unknown', ...(v ? { views: [...v] } : {}), ...scoresOf(score(p, fs, v ? prepare(labels, v) : p)) };
  });
  return { ...scoresOf(all), per_attack: all.per_attack, per_detector: perDetector, false_positive_examples: all.fps.slice(0, 10) };
}

// ---------------------------------------------------------------------------------------------------------------
// Incidents

/** What the evaluation needs of an incident (the `incidents` view's columns, contract B of issue 14). */
export interface IncidentLike {
  uid: string;
  entity: string;
  /** First member's time (start_time), epoch ms. */
  time: number;
  /** Last member's end (end_time), epoch ms. */
  end?: number;
  /** Combined score, -log10(p): higher = stronger. */
  score?: number;
  p_value?: number;
  /** Uids of its detection findings. */
  finding_uids: readonly string[];
  detectors?: readonly string[];
  severity?: string;
}

export interface IncidentAttackResult {
  attack_id: string;
  kind: string;
  category?: string;
  detected: boolean;
  /** Incidents with a member finding that is a true positive of this attack. */
  incidents: number;
}

export interface IncidentScores extends AlertScores {
  incidents: number;
  /** Labelled records with an entity covered by a true-positive member finding (pair or window) / such records. */
  records: number;
  detected_records: number;
  record_recall: number | null;
  per_kind: Record<string, KindResult & { incidents: number }>;
  per_attack: IncidentAttackResult[];
  /** Member uids found in no finding given (a member outside the findings read, or suppressed later). */
  unresolved_members: number;
  /** Incidents none of whose members were found: counted, and false unless a member says otherwise. */
  incidents_without_members: number;
  /** Up to 10 false-positive incidents. */
  false_positive_examples: IncidentLike[];
}

/** Labelled records with an entity, per label and entity, sorted by time; with the pair address when scored. */
interface RecordIndex {
  /** Per label: entity -> its records' times (sorted) and addresses ('' = none). */
  byEntity: Map<string, { times: Float64Array; ips: string[] }>[];
}

function recordIndex(labels: readonly AttackLabel[], views?: ReadonlySet<string>): RecordIndex {
  return {
    byEntity: labels.map((l) => {
      const by = new Map<string, { t: number; ip: string }[]>();
      for (const r of l.records) {
        if (r.entity === undefined || r.entity === '' || (views && !views.has(r.view))) continue;
        (by.get(r.entity) ?? by.set(r.entity, []).get(r.entity)!).push({ t: r.time, ip: r.ip ?? '' });
      }
      return new Map(
        [...by].map(([e, rs]) => {
          rs.sort((a, b) => a.t - b.t);
          return [e, { times: Float64Array.from(rs.map((r) => r.t)), ips: rs.map((r) => r.ip) }];
        }),
      );
    }),
  };
}

/**
 * Adds alerts (one finding, or an incident's member findings) one at a time and keeps precision and recall of all
 * added so far: true positives, attacks found, records covered. `records`: which labelled records recall counts
 * ('pair': those with a scored pair; 'entity': every record with an entity).
 */
class Coverage {
  private readonly marks: Map<string, Uint8Array>[];
  readonly attackHit: Uint8Array;
  readonly totalRecords: number;
  alerts = 0;
  truePositives = 0;
  attacksFound = 0;
  coveredRecords = 0;

  constructor(
    private readonly p: Prepared,
    private readonly idx: RecordIndex,
    readonly records: 'pair' | 'entity',
  ) {
    this.marks = p.labels.map(() => new Map());
    this.attackHit = new Uint8Array(p.labels.length);
    let n = 0;
    for (const m of idx.byEntity) for (const { ips } of m.values()) for (const ip of ips) if (records === 'entity' || ip !== '') n++;
    this.totalRecords = n;
  }

  private mark(i: number, entity: string, from: number, to: number, lo: number, ip: string | undefined): void {
    const rs = this.idx.byEntity[i]!.get(entity);
    if (!rs) return;
    const m = this.marks[i]!.get(entity) ?? this.marks[i]!.set(entity, new Uint8Array(rs.times.length)).get(entity)!;
    for (let j = lo; j < rs.times.length && rs.times[j]! < to; j++) {
      if (m[j] || rs.times[j]! < from) continue;
      if (ip !== undefined && rs.ips[j] !== ip) continue;
      if (this.records === 'pair' && rs.ips[j] === '') continue;
      m[j] = 1;
      this.coveredRecords++;
    }
  }

  /** Add one alert made of these findings; true when it is a true positive (one of them matches a label). */
  add(members: readonly FindingLike[]): boolean {
    let tp = false;
    for (const f of members) {
      const hit = matches(this.p, f);
      if (hit.length === 0) continue;
      tp = true;
      const pair = scopeOf(f) === 'pair';
      for (const i of hit) {
        if (!this.attackHit[i]) {
          this.attackHit[i] = 1;
          this.attacksFound++;
        }
        if (pair) this.mark(i, f.entity, -Infinity, Infinity, 0, f.ip ?? '');
        else {
          const rs = this.idx.byEntity[i]!.get(f.entity);
          if (rs) this.mark(i, f.entity, f.time, f.end !== undefined && f.end > f.time ? f.end : f.time + 1, lowerBound(rs.times, f.time), undefined);
        }
      }
    }
    this.alerts++;
    if (tp) this.truePositives++;
    return tp;
  }
}

function membersOf(incidents: readonly IncidentLike[], findings: readonly FindingLike[]): { members: FindingLike[][]; unresolved: number; empty: number } {
  const byUid = new Map<string, FindingLike>();
  for (const f of findings) if (f.uid !== undefined && f.uid !== '') byUid.set(f.uid, f);
  let unresolved = 0;
  let empty = 0;
  const members = incidents.map((inc) => {
    const out: FindingLike[] = [];
    for (const u of inc.finding_uids) {
      const f = byUid.get(u);
      if (f) out.push(f);
      else unresolved++;
    }
    if (out.length === 0) empty++;
    return out;
  });
  return { members, unresolved, empty };
}

/**
 * Incidents against the labels, through their member findings (`findings`: every finding an incident may name, by
 * uid; those of no incident do not count here).
 */
export function evaluateIncidents(labels: readonly AttackLabel[], incidents: readonly IncidentLike[], findings: readonly FindingLike[]): IncidentScores {
  const p = prepare(labels);
  const cov = new Coverage(p, recordIndex(labels), 'entity');
  const { members, unresolved, empty } = membersOf(incidents, findings);
  const perAttackIncidents = new Uint32Array(labels.length);
  const fps: IncidentLike[] = [];
  incidents.forEach((inc, n) => {
    const hit = new Set<number>();
    for (const f of members[n]!) for (const i of matches(p, f)) hit.add(i);
    for (const i of hit) perAttackIncidents[i]!++;
    if (!cov.add(members[n]!)) fps.push(inc);
  });
  const perAttack: IncidentAttackResult[] = labels.map((l, i) => ({
    attack_id: l.attack_id,
    kind: l.kind,
    ...(l.category !== undefined ? { category: l.category } : {}),
    detected: cov.attackHit[i] === 1,
    incidents: perAttackIncidents[i]!,
  }));
  const perKind: Record<string, KindResult & { incidents: number }> = {};
  for (const a of perAttack) {
    const e = (perKind[a.kind] ??= { ...(a.category !== undefined ? { category: a.category } : {}), attacks: 0, detected: 0, findings: 0, incidents: 0 });
    e.attacks++;
    e.incidents += a.incidents;
    if (a.detected) e.detected++;
  }
  return {
    incidents: incidents.length,
    true_positives: cov.truePositives,
    false_positives: incidents.length - cov.truePositives,
    precision: incidents.length > 0 ? cov.truePositives / incidents.length : null,
    attacks: labels.length,
    attacks_detected: cov.attacksFound,
    attack_recall: labels.length > 0 ? cov.attacksFound / labels.length : null,
    records: cov.totalRecords,
    detected_records: cov.coveredRecords,
    record_recall: cov.totalRecords > 0 ? cov.coveredRecords / cov.totalRecords : null,
    per_kind: perKind,
    per_attack: perAttack,
    unresolved_members: unresolved,
    incidents_without_members: empty,
    false_positive_examples: fps.slice(0, 10),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Precision and recall over the ranking

export interface CurvePoint {
  /** Alerts kept (the top k). */
  k: number;
  precision: number;
  attack_recall: number | null;
  record_recall: number | null;
}

export interface RankCurve {
  /** The detector (model) name, `combined`, or `incidents`. */
  name: string;
  /** How the alerts were ranked (strongest first). */
  rank_by: string;
  /** What record recall counts: records with a scored pair (pair findings only) or every record with an entity. */
  records: 'pair' | 'entity';
  points: CurvePoint[];
  /** Average precision over attack recall and over record recall (sum of precision x recall gained at each k). */
  ap_attacks: number | null;
  ap_records: number | null;
}

/** A finding's p-like strength: its p-value, else 1 - its percentile; undefined when it has neither. */
export function findingP(f: FindingLike): number | undefined {
  if (f.p_value !== undefined && Number.isFinite(f.p_value)) return f.p_value;
  if (f.percentile !== undefined && Number.isFinite(f.percentile)) return 1 - f.percentile;
  return undefined;
}

/**
 * Findings strongest first: by p-value ascending when every finding has one; else by p-like strength (p-value, else 1 -
 * percentile; 0.5 for a finding with neither, as incidents weigh them); by anomaly score when no finding has either.
 * Ties: higher anomaly score, earlier time, then uid (a total order: the same input gives the same curve).
 */
export function rankFindings(findings: readonly FindingLike[]): { ranked: FindingLike[]; rank_by: string } {
  const ps = findings.map(findingP);
  const withP = ps.filter((x) => x !== undefined).length;
  const allPValue = findings.length > 0 && findings.every((f) => f.p_value !== undefined && Number.isFinite(f.p_value));
  const useP = withP > 0;
  const rank_by = findings.length === 0 ? 'none' : allPValue ? 'p_value ascending' : useP ? (withP === findings.length ? 'p_value, else 1 - percentile, ascending' : 'p_value, else 1 - percentile, else 0.5, ascending') : 'anomaly_score descending';
  const order = findings.map((_, i) => i);
  const score = (i: number): number => findings[i]!.anomaly_score ?? -Infinity;
  order.sort((a, b) => {
    if (useP) {
      const d = (ps[a] ?? 0.5) - (ps[b] ?? 0.5);
      if (d !== 0) return d;
    }
    const s = score(b) - score(a);
    if (s !== 0 && !Number.isNaN(s)) return s;
    if (findings[a]!.time !== findings[b]!.time) return findings[a]!.time - findings[b]!.time;
    const ua = findings[a]!.uid ?? '';
    const ub = findings[b]!.uid ?? '';
    return ua < ub ? -1 : ua > ub ? 1 : a - b;
  });
  return { ranked: order.map((i) => findings[i]!), rank_by };
}

/** Incidents strongest first: score descending (p_value ascending when there is no score), then time, then uid. */
export function rankIncidents(incidents: readonly IncidentLike[]): IncidentLike[] {
  const s = (x: IncidentLike): number => (x.score !== undefined && Number.isFinite(x.score) ? x.score : x.p_value !== undefined && x.p_value > 0 ? -Math.log10(x.p_value) : -Infinity);
  return [...incidents].sort((a, b) => {
    const d = s(b) - s(a);
    if (d !== 0 && !Number.isNaN(d)) return d;
    if (a.time !== b.time) return a.time - b.time;
    return a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0;
  });
}

function curveOf(name: string, rank_by: string, cov: Coverage, alerts: readonly (readonly FindingLike[])[]): RankCurve {
  const nAttacks = cov.attackHit.length;
  const points: CurvePoint[] = [];
  let apA = 0;
  let apR = 0;
  let lastA = 0;
  let lastR = 0;
  for (const a of alerts) {
    cov.add(a);
    const precision = cov.truePositives / cov.alerts;
    const ar = nAttacks > 0 ? cov.attacksFound / nAttacks : null;
    const rr = cov.totalRecords > 0 ? cov.coveredRecords / cov.totalRecords : null;
    if (ar !== null) {
      apA += (ar - lastA) * precision;
      lastA = ar;
    }
    if (rr !== null) {
      apR += (rr - lastR) * precision;
      lastR = rr;
    }
    points.push({ k: cov.alerts, precision, attack_recall: ar, record_recall: rr });
  }
  return { name, rank_by, records: cov.records, points, ap_attacks: nAttacks > 0 && points.length > 0 ? apA : null, ap_records: cov.totalRecords > 0 && points.length > 0 ? apR : null };
}

/**
 * Precision and recall of the top k findings for every k. Record recall counts records with a scored pair when every
 * finding is a pair finding (as the table's record recall), else every labelled record with an entity; `views`: only
 * records of these label views (a detector's own).
 */
export function findingsCurve(name: string, labels: readonly AttackLabel[], findings: readonly FindingLike[], views?: readonly string[]): RankCurve {
  const { ranked, rank_by } = rankFindings(findings);
  const pairOnly = findings.length > 0 && findings.every((f) => scopeOf(f) === 'pair');
  const cov = new Coverage(prepare(labels), recordIndex(labels, views ? new Set(views) : undefined), pairOnly ? 'pair' : 'entity');
  return curveOf(name, rank_by, cov, ranked.map((f) => [f]));
}

/** Precision and recall of the top k incidents (by score) for every k; recall through their member findings. */
export function incidentsCurve(labels: readonly AttackLabel[], incidents: readonly IncidentLike[], findings: readonly FindingLike[]): RankCurve {
  const ranked = rankIncidents(incidents);
  const { members } = membersOf(ranked, findings);
  const cov = new Coverage(prepare(labels), recordIndex(labels), 'entity');
  return curveOf('incidents', 'score (-log10 combined p) descending', cov, members);
}

// ---------------------------------------------------------------------------------------------------------------
// Alerts per day

export interface AlertsPerDay {
  /** The period counted, epoch ms [from, to). */
  from: number;
  to: number;
  days: number;
  findings: number;
  findings_per_day: number | null;
  /** Null when there are no incidents to count (no `incidents` view). */
  incidents: number | null;
  incidents_per_day: number | null;
  /** Per UTC day touched by the period. */
  by_day: { day: string; findings: number; incidents: number | null }[];
}

const DAY = 86_400_000;

/**
 * Findings (by event time) and incidents (by start; one that started before `from` and lasts into the period counts
 * from `from`) per day over [from, to); a bound not given: the whole UTC days from the first alert or label (to the
 * last one).
 */
export function alertsPerDay(findings: readonly FindingLike[], incidents: readonly IncidentLike[] | null, period?: { from?: number; to?: number }, labels: readonly AttackLabel[] = []): AlertsPerDay {
  let from = period?.from;
  let to = period?.to;
  if (from === undefined || to === undefined) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const t of [...findings.map((f) => f.time), ...(incidents ?? []).map((i) => i.time), ...labels.flatMap((l) => [l.start_ms, l.end_ms])]) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    if (lo === Infinity) {
      lo = 0;
      hi = -1;
    }
    from ??= Math.floor(lo / DAY) * DAY;
    to ??= Math.max(from, Math.floor(hi / DAY) * DAY + DAY);
  }
  const days = (to - from) / DAY;
  const inP = (t: number): boolean => t >= from! && t < to!;
  // An incident that started before the period and still took findings in it counts, on the period's first day.
  const incTimes = incidents ? incidents.filter((i) => i.time < to! && Math.max(i.time, i.end ?? i.time) >= from!).map((i) => Math.max(i.time, from!)) : null;
  const nF = findings.filter((f) => inP(f.time)).length;
  const nI = incTimes ? incTimes.length : null;
  const byDay: AlertsPerDay['by_day'] = [];
  for (let d = Math.floor(from / DAY) * DAY; d < to; d += DAY) {
    const a = Math.max(d, from);
    const b = Math.min(d + DAY, to);
    const inD = (t: number): boolean => t >= a && t < b;
    byDay.push({ day: new Date(d).toISOString().slice(0, 10), findings: findings.filter((f) => inD(f.time)).length, incidents: incTimes ? incTimes.filter(inD).length : null });
  }
  return {
    from,
    to,
    days,
    findings: nF,
    findings_per_day: days > 0 ? nF / days : null,
    incidents: nI,
    incidents_per_day: days > 0 && nI !== null ? nI / days : null,
    by_day: byDay,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Everything at once

export const MATCHING_RULES =
  'A pair finding (entity-IP detectors) is a true positive when its (entity, ip) pair is one of a labelled attack\'s record pairs and its event time is inside that attack\'s window; ' +
  'a window finding (behaviour detectors) when its entity is one of the attack\'s behaviour entities and its time range overlaps that entity\'s attack records. ' +
  'Precision = true-positive findings / findings. Attack recall = attacks with >= 1 true-positive finding / attacks. ' +
  'Record recall = labelled scored records whose (entity, ip) pair a true-positive pair finding of the attack named / labelled scored records; ' +
  'window record recall = labelled records whose (entity, time) a true-positive window finding of the attack covers / labelled records with an entity. ' +
  'Combined = the union of every detector\'s findings. ' +
  'An incident is a true positive when at least one of its member findings is; an attack is found by incidents when a true-positive incident has a member that is a true positive of that attack.';

export interface LabelsEvaluation {
  labels: number;
  /** Findings-level: per detector, per attack kind, combined. */
  findings: Evaluation;
  /** Suppressed findings (status_id 3) left out of the findings-level numbers. */
  suppressed: number;
  /** Incident-level; null when there are no incidents to evaluate (see incidents_note). */
  incidents: IncidentScores | null;
  incidents_note?: string;
  alerts_per_day: AlertsPerDay;
  curves: { combined: RankCurve; per_detector: RankCurve[]; incidents: RankCurve | null };
  matching: string;
}

export interface EvaluateAllOptions extends EvaluateOptions {
  /** The incidents, or null with a note when there are none to evaluate. */
  incidents?: readonly IncidentLike[] | null;
  incidentsNote?: string;
  /** Findings incidents may name besides `findings` (e.g. outside the period); default `findings`. */
  members?: readonly FindingLike[];
  suppressed?: number;
  /** Period of the alerts-per-day figures; a bound not given: the whole UTC days the alerts and labels touch. */
  period?: { from?: number; to?: number };
}

/** Findings and incidents against the labels: tables, curves and alerts per day. */
export function evaluateLabels(labels: readonly AttackLabel[], findings: readonly FindingLike[], opts: EvaluateAllOptions = {}): LabelsEvaluation {
  const findingsEval = evaluateFindings(labels, findings, opts);
  const incidents = opts.incidents ?? null;
  const members = opts.members ?? findings;
  const groups = new Map<string, FindingLike[]>();
  for (const d of findingsEval.per_detector) groups.set(d.name, []);
  for (const f of findings) groups.get(detectorNameOf(f))!.push(f);
  return {
    labels: labels.length,
    findings: findingsEval,
    suppressed: opts.suppressed ?? 0,
    incidents: incidents ? evaluateIncidents(labels, incidents, members) : null,
    ...(opts.incidentsNote !== undefined ? { incidents_note: opts.incidentsNote } : {}),
    alerts_per_day: alertsPerDay(findings, incidents, opts.period, labels),
    curves: {
      combined: findingsCurve('combined', labels, findings),
      per_detector: findingsEval.per_detector.map((d) => findingsCurve(d.name, labels, groups.get(d.name) ?? [], d.views)),
      incidents: incidents ? incidentsCurve(labels, incidents, members) : null,
    },
    matching: MATCHING_RULES,
  };
}
