/**
 * Ground truth of the demo (`labels.jsonl`, one attack per line) and the scoring of findings against it.
 *
 * Matching rules (docs/demo.md):
 * - a finding is a **true positive** when its (entity, ip) pair is one of a labelled attack's (entity, ip) record
 *   pairs and its event time lies in that attack's time window [start, end];
 * - **precision** = true-positive findings / all findings in the evaluated period;
 * - **attack recall** = attacks with at least one true-positive finding / attacks;
 * - **record recall** = labelled records with a scored (entity, ip) pair that some true-positive finding of the same
 *   attack matches (same entity, ip) / such records. Findings are deduplicated by (entity, ip) in a window, so one
 *   finding stands for all records of its pair; records without a scored pair (DNS queries, API calls after a
 *   login) are listed in the labels but not counted.
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
  /** The (entity, ip) pair the demo's detectors score for this record, when they score it. */
  entity?: string;
  ip?: string;
}

export interface AttackLabel {
  attack_id: string;
  kind: string;
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
  records: LabelRecord[];
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
    const l = v as AttackLabel;
    if (typeof l?.attack_id !== 'string' || !Array.isArray(l.records) || typeof l.start_ms !== 'number' || typeof l.end_ms !== 'number') {
      throw new ParseError('not an attack label (attack_id, start_ms, end_ms, records)', { file, line: i + 1 });
    }
    out.push(l);
  });
  return out;
}

/** What the evaluation needs of a finding. */
export interface FindingLike {
  entity: string;
  ip: string;
  /** Event time, epoch ms. */
  time: number;
  /** Which detector produced it (for per-model numbers), optional. */
  model?: string;
}

export interface AttackResult {
  attack_id: string;
  kind: string;
  detected: boolean;
  findings: number;
  scored_records: number;
  detected_records: number;
  description: string;
}

export interface Evaluation {
  findings: number;
  true_positives: number;
  false_positives: number;
  precision: number | null;
  attacks: number;
  attacks_detected: number;
  attack_recall: number | null;
  scored_records: number;
  detected_records: number;
  record_recall: number | null;
  per_attack: AttackResult[];
  per_kind: Record<string, { attacks: number; detected: number }>;
  /** Up to 10 false positives, for the report. */
  false_positive_examples: FindingLike[];
}

const key = (entity: string, ip: string): string => `${entity}\u0000${ip}`;

export function evaluateFindings(labels: readonly AttackLabel[], findings: readonly FindingLike[]): Evaluation {
  // For each attack: its scored pairs.
  const pairsOf = labels.map((l) => {
    const m = new Map<string, number>();
    for (const r of l.records) if (r.entity !== undefined && r.ip !== undefined) m.set(key(r.entity, r.ip), (m.get(key(r.entity, r.ip)) ?? 0) + 1);
    return m;
  });
  const hitPairs = labels.map(() => new Set<string>());
  const hitCount = labels.map(() => 0);
  let tp = 0;
  const fps: FindingLike[] = [];
  for (const f of findings) {
    const k = key(f.entity, f.ip);
    let matched = false;
    labels.forEach((l, i) => {
      if (f.time >= l.start_ms && f.time <= l.end_ms && pairsOf[i]!.has(k)) {
        matched = true;
        hitPairs[i]!.add(k);
        hitCount[i]!++;
      }
    });
    if (matched) tp++;
    else if (fps.length < 10) fps.push(f);
  }
  const perAttack: AttackResult[] = labels.map((l, i) => {
    let scored = 0;
    let detected = 0;
    for (const [k, n] of pairsOf[i]!) {
      scored += n;
      if (hitPairs[i]!.has(k)) detected += n;
    }
    return { attack_id: l.attack_id, kind: l.kind, detected: hitCount[i]! > 0, findings: hitCount[i]!, scored_records: scored, detected_records: detected, description: l.description };
  });
  const perKind: Record<string, { attacks: number; detected: number }> = {};
  for (const a of perAttack) {
    const e = (perKind[a.kind] ??= { attacks: 0, detected: 0 });
    e.attacks++;
    if (a.detected) e.detected++;
  }
  const scored = perAttack.reduce((s, a) => s + a.scored_records, 0);
  const detectedRecords = perAttack.reduce((s, a) => s + a.detected_records, 0);
  const detectedAttacks = perAttack.filter((a) => a.detected).length;
  return {
    findings: findings.length,
    true_positives: tp,
    false_positives: findings.length - tp,
    precision: findings.length > 0 ? tp / findings.length : null,
    attacks: labels.length,
    attacks_detected: detectedAttacks,
    attack_recall: labels.length > 0 ? detectedAttacks / labels.length : null,
    scored_records: scored,
    detected_records: detectedRecords,
    record_recall: scored > 0 ? detectedRecords / scored : null,
    per_attack: perAttack,
    per_kind: perKind,
    false_positive_examples: fps,
  };
}
