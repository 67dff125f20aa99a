/**
 * Ground truth of the demo (`labels.jsonl`, one attack per line) and the scoring of findings against it, per
 * detector, per attack kind and combined.
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
 */
import { readFileSync } from 'node:fs';
import { ParseError, SeclakeError, errorMessage } from '../core/errors.js';
import type { LabelView } from './records.js';

export interface LabelRecord {
  /** Object key relative to the logs folder. */
  file: string;
  /** 1-based position as the ingest reports it: file line (flow logs incl. header, Route 53) or index in CloudTrail `Records`. */
  position: number;
  view: LabelView;
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

/** Precision and recall of one set of findings. */
export interface Scores {
  findings: number;
  /** Findings by scope (pair: entity-IP detectors; window: behaviour detectors). */
  pair_findings: number;
  window_findings: number;
  true_positives: number;
  false_positives: number;
  precision: number | null;
  attacks: number;
  attacks_detected: number;
  attack_recall: number | null;
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
   * records).
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
  const perDetector: DetectorScores[] = [...groups].map(([name, fs]) => {
    const v = views.get(name);
    return { name, detector: [...(types.get(name) ?? [])].join(',') || 'unknown', ...(v ? { views: [...v] } : {}), ...scoresOf(score(p, fs, v ? prepare(labels, v) : p)) };
  });
  return { ...scoresOf(all), per_attack: all.per_attack, per_detector: perDetector, false_positive_examples: all.fps.slice(0, 10) };
}
