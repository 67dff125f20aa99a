/**
 * IncidentBuilder: detection findings of every detector about one entity and nearby time become one OCSF Incident
 * Finding (2005) that validates, with Fisher's combined p over the strongest finding per model, severity bands,
 * the low-support cap, a timeline strongest first, revisions, closing, and a state that round-trips (restart-safe).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { validateEvent } from '../ocsf/validate.js';
import { cauchyCombine, fisherCombine } from '../core/stats.js';
import { history } from '../detectors/history/index.js';
import { buildFinding } from './build.js';
import { buildBehaviourFinding, type BehaviourContext } from './behaviour.js';
import {
  IncidentBuilder,
  PERCENTILE_P_FLOOR,
  UNCALIBRATED_P,
  findingPValue,
  fmtP,
  incidentSeverity,
  incidentUid,
  isIncidentFinding,
  timeRange,
  type IncidentFinding,
} from './incidents.js';
import { detectorRefOf } from './model-ref.js';
import { IPI } from './test-support.js';
import type { DetectionFinding, ModelRef, ScoredRecord } from './types.js';

const GOLDEN = new URL('./testdata/incidents.expected.json', import.meta.url);
const OBJ = 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20260302/0f3c.parquet';
const DB = 'i-0db0db0db0db0db0d';
const T = Date.UTC(2026, 2, 2, 2, 10);
const H = 3_600_000;

const IPI_MODEL: ModelRef = { name: 'flows', version: '0a0a0a0a', detector: IPI, threshold: -2 };
const HIST_MODEL: ModelRef = { name: 'flows-history', version: '0b0b0b0b', detector: detectorRefOf(history), threshold: 1.5 };
const RCF_MODEL: ModelRef = {
  name: 'rcf-network',
  version: '0c0c0c0c',
  threshold: 1.5,
  detector: { type: 'rcf', title: 'Random Cut Forest', score: { name: 'score', direction: 'higher_is_anomalous', default_threshold: 3 }, finding_type: 'Anomalous Behaviour' },
};

const FLOW_EVENT = {
  class_uid: 4001,
  time: T,
  src_endpoint: { ip: '10.0.2.20', instance_uid: DB },
  dst_endpoint: { ip: '10.0.99.42', port: 5432 },
};

function pairFinding(model: ModelRef, over: Partial<ScoredRecord> = {}, unmapped: Record<string, unknown> = {}): DetectionFinding {
  const rec: ScoredRecord = {
    ref: { object: OBJ, row: 3, source: 'VPC_FLOW' },
    entity: DB,
    ip: '10.0.99.42',
    time: T,
    native_score: model.detector.score.direction === 'lower_is_anomalous' ? -4 : 3,
    entity_known: true,
    entity_count: 500,
    anomaly_percentile: 0.999,
    is_anomaly: true,
    event: FLOW_EVENT,
    ...over,
  };
  const f = buildFinding(rec, { model, kind: 'anomaly' });
  Object.assign(f.unmapped as Record<string, unknown>, unmapped);
  return f;
}

const BCTX: BehaviourContext = { model: RCF_MODEL, threshold: 1.5, thresholdSource: 'calibrated', normalMedian: 0.75, sets: ['network'], views: ['vpc_flow'] };

function behaviourFinding(windowStart: number, percentile = 0.9995, unmapped: Record<string, unknown> = {}): DetectionFinding {
  const f = buildBehaviourFinding(
    {
      entity: DB,
      window_start: windowStart,
      window_end: windowStart + H,
      native_score: 6.5,
      entity_known: true,
      anomaly_percentile: percentile,
      features: { 'network.peers': 40 },
      explanation: { reason: 'peers 40 in this hour; usually 3', details: { features: [{ feature: 'network.peers', text: 'peers 40 in this hour; usually 3' }] } },
    },
    BCTX,
  );
  Object.assign(f.unmapped as Record<string, unknown>, unmapped);
  return f;
}

const errorsOf = (i: IncidentFinding): unknown[] => validateEvent(i).filter((x) => x.severity === 'error');

test('a finding p-value: unmapped.p_value, else 1 - percentile (floored), else no evidence', () => {
  assert.equal(findingPValue(pairFinding(IPI_MODEL, {}, { p_value: 0.0002 })), 0.0002);
  assert.ok(Math.abs(findingPValue(pairFinding(IPI_MODEL, { anomaly_percentile: 0.99 })) - 0.01) < 1e-12);
  assert.equal(findingPValue(pairFinding(IPI_MODEL, { anomaly_percentile: 1 })), PERCENTILE_P_FLOOR);
  const uncal = pairFinding({ ...IPI_MODEL, threshold: undefined }, { anomaly_percentile: undefined, is_anomaly: undefined, native_score: -5 });
  assert.equal(findingPValue(uncal), UNCALIBRATED_P);
});

test('three detectors on one entity within the hour: one incident, Cauchy within a kind of evidence and Fisher across kinds, readable, valid', () => {
  const b = new IncidentBuilder();
  const ipi = pairFinding(IPI_MODEL, {}, { p_value: 0.0005 });
  const ipiWeaker = pairFinding(IPI_MODEL, { ref: { object: OBJ, row: 9, source: 'VPC_FLOW' }, time: T + 600_000, ip: '10.0.99.43', anomaly_percentile: 0.99 });
  const hist = pairFinding(HIST_MODEL, {}, { p_value: 0.002 });
  const rcf = behaviourFinding(Date.UTC(2026, 2, 2, 2), 0.9995, { p_value: 0.001 });
  const revs = b.add([rcf, hist, ipiWeaker, ipi], OBJ);
  assert.equal(revs.length, 1);
  const { incident: inc, notify } = revs[0]!;
  assert.ok(notify, 'a new incident goes to the sinks');
  assert.ok(isIncidentFinding(inc));
  assert.deepEqual(errorsOf(inc), []);
  const u = inc.unmapped;
  assert.equal(inc.class_uid, 2005);
  assert.equal(inc.activity_id, 1);
  assert.equal(inc.status_id, 1);
  assert.equal(inc.status, 'New');
  assert.deepEqual(inc.assignee_group, { name: 'security' });
  assert.equal(u.revision, 1);
  // The uid: the entity and the earliest finding (the behaviour window from 02:00).
  assert.equal(u.incident_uid, incidentUid(DB, rcf.finding_info.uid));
  // The smallest p of each model: flows 0.0005 (not 0.01), flows-history 0.002 (both judge the same pairs: Cauchy),
  // rcf-network 0.001 (behaviour, independent: Fisher).
  const address = cauchyCombine([0.0005, 0.002]);
  assert.ok(address > 0.0005 && address < 0.001, 'the same records judged twice are not twice the evidence');
  const p = fisherCombine([address, 0.001]);
  assert.ok(Math.abs(u.p_value - p) < 1e-15);
  assert.ok(Math.abs(u.score - -Math.log10(p)) < 1e-3);
  assert.ok(p < 1e-4 && p > 1e-6, `combined p ${p}`);
  assert.ok(p < fisherCombine([0.0005, 0.001]) * 2 && p < address, 'address and behaviour agreeing is stronger than either');
  assert.equal(inc.severity_id, 4, 'two kinds of evidence at p < 1e-4: High');
  assert.deepEqual(u.detectors, ['history', 'ipinsights', 'rcf']);
  assert.deepEqual(u.models, ['flows', 'flows-history', 'rcf-network']);
  assert.equal(u.finding_count, 4);
  assert.equal(inc.count, 4);
  // Strongest evidence first.
  assert.deepEqual(u.timeline.map((x) => x.finding_uid), [ipi, rcf, hist, ipiWeaker].map((f) => f.finding_info.uid));
  assert.deepEqual(u.finding_uids, u.timeline.map((x) => x.finding_uid));
  assert.deepEqual((inc.finding_info_list as { uid: string }[]).map((x) => x.uid), u.finding_uids);
  assert.deepEqual((inc.finding_info_list as { analytic: { name: string } }[]).map((x) => x.analytic.name), ['flows', 'rcf-network', 'flows-history', 'flows']);
  assert.equal(inc.start_time, Date.UTC(2026, 2, 2, 2));
  assert.equal(inc.end_time, Date.UTC(2026, 2, 2, 3));
  assert.equal(
    u.title,
    'i-0db0db0db0db0db0d: 3 detectors agree: new peers 10.0.99.42, 10.0.99.43 (IP Insights, history), unusual network behaviour (RCF), 2026-03-02 02:00-03:00 UTC',
  );
  assert.match(String(inc.message), /^i-0db0db0db0db0db0d, 2026-03-02 02:00-03:00 UTC: 3 detectors \(history, IP Insights, RCF\) agree; 4 findings, strongest first: /);
  assert.match(String(inc.message), /combined p \S+ \(address evidence \S+ \(Cauchy over the strongest finding of flows 5\.0e-4, flows-history 2\.0e-3\) and behaviour evidence 1\.0e-3 \(rcf-network\), Fisher across independent kinds\)$/);
});

test('an uncalibrated model counts as a detector but weighs nothing in the combined p', () => {
  const uncal = pairFinding({ ...HIST_MODEL, threshold: undefined }, { anomaly_percentile: undefined, is_anomaly: undefined, native_score: 3 });
  assert.equal(findingPValue(uncal), UNCALIBRATED_P);
  const [r] = new IncidentBuilder().add([pairFinding(IPI_MODEL, {}, { p_value: 0.001 }), uncal], OBJ);
  const u = r!.incident.unmapped;
  assert.equal(u.p_value, 0.001, 'Fisher over the calibrated model alone');
  assert.deepEqual(u.detectors, ['history', 'ipinsights']);
  assert.match(String(r!.incident.message), /p 1\.0e-3 \(flows; uncalibrated, no weight: flows-history\)$/);
  // Only uncalibrated evidence: the bar cannot judge it, the incident is raised (Informational).
  const [only] = new IncidentBuilder().add([uncal], OBJ);
  assert.equal(only!.incident.unmapped.p_value, UNCALIBRATED_P);
  assert.equal(only!.incident.severity_id, 1);
  assert.match(String(only!.incident.message), /no calibrated evidence \(flows-history uncalibrated\)$/);
});

test('a calibrated p of exactly 0.5 (one held-out pair: the floor 1/(n+1)) is calibrated evidence, not the uncalibrated marker', () => {
  const thin = pairFinding(IPI_MODEL, {}, { p_value: 0.5, low_support: true });
  assert.ok(findingPValue(thin) < UNCALIBRATED_P && findingPValue(thin) > 0.4999);
  assert.deepEqual(new IncidentBuilder().add([thin], OBJ), [], 'below the bar: waits as a detection, not raised as Informational');
});

test('an incident is raised once its combined p reaches the bar, with every finding that waited, as revision 1', () => {
  const b = new IncidentBuilder();
  const weak = pairFinding(IPI_MODEL, { ip: '10.0.99.50' }, { p_value: 0.2 });
  assert.deepEqual(b.add([weak], OBJ), [], 'p 0.2 alone: below the bar, nothing raised');
  const strong = pairFinding(HIST_MODEL, { ref: { object: OBJ, row: 3 }, time: T + 60_000, ip: '10.0.99.51' }, { p_value: 0.001 });
  const revs = b.add([strong], OBJ);
  assert.equal(revs.length, 1);
  assert.equal(revs[0]!.incident.unmapped.revision, 1);
  assert.ok(revs[0]!.notify);
  assert.deepEqual(new Set(revs[0]!.incident.unmapped.finding_uids), new Set([weak.finding_info.uid, strong.finding_info.uid]));
  // The state round-trips a waiting incident.
  const waiting = new IncidentBuilder();
  waiting.add([weak], OBJ);
  const again = IncidentBuilder.fromJSON(JSON.parse(JSON.stringify(waiting.toJSON())));
  assert.equal(again.add([strong], OBJ)[0]!.incident.unmapped.revision, 1);
});

test('many addresses of one kind are grouped in the title', () => {
  const fs = [0, 1, 2, 3].map((i) => pairFinding(HIST_MODEL, { ref: { object: OBJ, row: i }, ip: `10.0.3.${101 + i}`, time: T + i }, { p_value: 0.01 + i * 0.001 }));
  const [r] = new IncidentBuilder().add(fs, OBJ);
  assert.equal(r!.incident.unmapped.title, 'i-0db0db0db0db0db0d: new peers 10.0.3.101, 10.0.3.102 and 2 more (history), 2026-03-02 02:10 UTC');
});

test('one detector alone is never Critical; low support everywhere caps at Medium; bands', () => {
  assert.equal(incidentSeverity(1e-9, 1, false), 4);
  assert.equal(incidentSeverity(1e-9, 2, false), 5);
  assert.equal(incidentSeverity(1e-9, 2, true), 3);
  assert.deepEqual([5e-4, 0.01, 0.2].map((p) => incidentSeverity(p, 1, false)), [3, 2, 1]);
  const b = new IncidentBuilder();
  const [r] = b.add([pairFinding(IPI_MODEL, {}, { p_value: 1e-7, low_support: 'true' }), pairFinding(HIST_MODEL, {}, { p_value: 1e-7, low_support: true })], OBJ);
  assert.equal(r!.incident.severity_id, 3);
  assert.equal(r!.incident.unmapped.low_support, true);
  assert.match(String(r!.incident.message), /low support\): severity at most Medium$/);
  const [s] = new IncidentBuilder().add([pairFinding(IPI_MODEL, {}, { p_value: 1e-7, low_support: 'true' }), pairFinding(HIST_MODEL, {}, { p_value: 1e-7 })], OBJ);
  assert.equal(s!.incident.severity_id, 5, 'one well-supported member lifts the cap');
});

test('suppressed findings and findings without an entity never join', () => {
  const b = new IncidentBuilder();
  const sup = pairFinding(IPI_MODEL);
  (sup as Record<string, unknown>).status_id = 3;
  const noEntity = pairFinding(IPI_MODEL, { ref: { object: OBJ, row: 4 } });
  delete (noEntity.unmapped as Record<string, unknown>).entity;
  assert.deepEqual(b.add([sup, noEntity], OBJ), []);
  assert.equal(b.size.open, 0);
});

test('revisions: a finding within the gap joins (revision 2, notify only when severity rises or a detector joins); beyond the gap a new incident', () => {
  const b = new IncidentBuilder({ gapMs: H });
  const [r1] = b.add([pairFinding(IPI_MODEL, {}, { p_value: 0.01 })], 'o1');
  assert.equal(r1!.incident.severity_id, 2);
  // Same model, weaker, 50 minutes later: revision 2, nothing new for the sinks.
  const [r2] = b.add([pairFinding(IPI_MODEL, { ref: { object: 'o2', row: 1 }, time: T + 50 * 60_000, anomaly_percentile: 0.95 })], 'o2');
  assert.equal(r2!.incident.unmapped.incident_uid, r1!.incident.unmapped.incident_uid);
  assert.equal(r2!.incident.unmapped.revision, 2);
  assert.equal(r2!.incident.activity_id, 2);
  assert.equal(r2!.notify, false);
  assert.equal(r2!.incident.unmapped.source_object, 'o2');
  // Another detector 1h40 after the first finding (within the gap of the second): joins, notifies.
  const [r3] = b.add([pairFinding(HIST_MODEL, { ref: { object: 'o3', row: 1 }, time: T + 100 * 60_000 }, { p_value: 0.02 })], 'o3');
  assert.equal(r3!.incident.unmapped.revision, 3);
  assert.equal(r3!.notify, true);
  // The same finding again changes nothing.
  assert.deepEqual(b.add([pairFinding(HIST_MODEL, { ref: { object: 'o3', row: 1 }, time: T + 100 * 60_000 }, { p_value: 0.02 })], 'o3'), []);
  // Beyond the gap, about another address: a new incident.
  const [r4] = b.add([pairFinding(IPI_MODEL, { ref: { object: 'o4', row: 1 }, time: T + 100 * 60_000 + H + 1, ip: '10.0.99.77' })], 'o4');
  assert.notEqual(r4!.incident.unmapped.incident_uid, r1!.incident.unmapped.incident_uid);
  assert.equal(r4!.incident.unmapped.revision, 1);
  // Another entity: its own incident.
  const [r5] = b.add([pairFinding(IPI_MODEL, { entity: 'i-0a11a11a11a11a11a' })], 'o5');
  assert.equal(r5!.incident.unmapped.entity, 'i-0a11a11a11a11a11a');
  assert.equal(b.size.open, 3);
});

test('the same entity and address again, hours later: the same incident (within rejoinMs), not one per sighting', () => {
  const b = new IncidentBuilder({ gapMs: H, lateMs: H, rejoinMs: 24 * H });
  const [r1] = b.add([pairFinding(IPI_MODEL, {}, { p_value: 0.001 })], 'o1');
  assert.equal(r1!.incident.unmapped.revision, 1);
  b.advance(T + 5 * H);
  const [again] = b.add([pairFinding(IPI_MODEL, { ref: { object: 'o2', row: 1 }, time: T + 5 * H }, { p_value: 0.001 })], 'o2');
  assert.equal(again!.incident.unmapped.incident_uid, r1!.incident.unmapped.incident_uid, 'same address 5 h later: joins');
  assert.equal(again!.incident.unmapped.revision, 2);
  assert.equal(again!.notify, false, 'nothing new to tell: no second alert');
  assert.equal(Number(again!.incident.end_time), T + 5 * H);
  // Another address of the entity next to that sighting: its own incident (a rejoined sighting does not stretch the
  // span other findings join by, so a recurring peer does not draw the entity's unrelated findings in).
  const [other] = b.add([pairFinding(IPI_MODEL, { ref: { object: 'o3', row: 1 }, time: T + 5 * H + 60_000, ip: '10.0.99.43' }, { p_value: 0.001 })], 'o3');
  assert.notEqual(other!.incident.unmapped.incident_uid, r1!.incident.unmapped.incident_uid);
  assert.equal(other!.incident.unmapped.revision, 1);
  // The same address more than rejoinMs after the incident's end: a new incident.
  const [late] = b.add([pairFinding(IPI_MODEL, { ref: { object: 'o4', row: 1 }, time: T + 5 * H + 24 * H + 1 }, { p_value: 0.001 })], 'o4');
  assert.notEqual(late!.incident.unmapped.incident_uid, r1!.incident.unmapped.incident_uid);
  // rejoinMs 0: each sighting beyond the gap is its own incident (as before).
  const off = new IncidentBuilder({ gapMs: H, rejoinMs: 0 });
  const [a] = off.add([pairFinding(IPI_MODEL, {}, { p_value: 0.001 })], 'o1');
  const [b2] = off.add([pairFinding(IPI_MODEL, { ref: { object: 'o2', row: 1 }, time: T + 5 * H }, { p_value: 0.001 })], 'o2');
  assert.notEqual(a!.incident.unmapped.incident_uid, b2!.incident.unmapped.incident_uid);
  // The state (subjects included) survives a round trip.
  const copy = IncidentBuilder.fromJSON(JSON.parse(JSON.stringify(b.toJSON())), { gapMs: H, lateMs: H, rejoinMs: 24 * H });
  assert.deepEqual(copy.toJSON(), b.toJSON());
});

test('closing: past end + max(gap, rejoin) + late (by the watermark) an incident leaves the state; a later finding opens a new one', () => {
  const b = new IncidentBuilder({ gapMs: H, lateMs: H, rejoinMs: 0 });
  const [r1] = b.add([pairFinding(IPI_MODEL)], 'o1');
  b.advance(T + 2 * H);
  assert.equal(b.size.open, 1, 'still open at end + 2h');
  b.advance(T + 2 * H + 1);
  assert.equal(b.size.open, 0);
  assert.equal(b.size.closed, 1);
  const [r2] = b.add([pairFinding(IPI_MODEL, { ref: { object: 'o2', row: 1 }, time: T + 30 * 60_000 })], 'o2');
  assert.notEqual(r2!.incident.unmapped.incident_uid, r1!.incident.unmapped.incident_uid);
  // maxOpen bounds the state: the incident that ended first closes first.
  const c = new IncidentBuilder({ maxOpen: 2 });
  for (let i = 0; i < 5; i++) c.add([pairFinding(IPI_MODEL, { entity: `user-${i}`, time: T + i })], `o${i}`);
  assert.equal(c.size.open, 2);
  assert.deepEqual(c.toJSON().open.map((x) => x.entity).sort(), ['user-3', 'user-4']);
});

test('maxMembers keeps the strongest of each model and the strongest overall; counts stay exact', () => {
  const b = new IncidentBuilder({ maxMembers: 3 });
  const fs: DetectionFinding[] = [];
  for (let i = 0; i < 6; i++) fs.push(pairFinding(IPI_MODEL, { ref: { object: OBJ, row: i }, ip: `198.51.100.${i}`, time: T + i * 1000 }, { p_value: 0.001 * (i + 1) }));
  fs.push(pairFinding(HIST_MODEL, {}, { p_value: 0.04 }));
  const [r] = b.add(fs, OBJ);
  const u = r!.incident.unmapped;
  assert.equal(u.finding_count, 7);
  assert.equal(u.timeline.length, 3);
  assert.deepEqual(u.timeline.map((x) => x.p_value), [0.001, 0.002, 0.04]);
  assert.deepEqual(errorsOf(r!.incident), []);
});

test('the state round-trips through JSON: a builder restored from it gives the same revisions (restart)', () => {
  const a = new IncidentBuilder();
  a.add([pairFinding(IPI_MODEL, {}, { p_value: 0.001 })], 'o1');
  a.advance(T);
  const saved = JSON.parse(JSON.stringify(a.toJSON())) as unknown;
  const next = [behaviourFinding(Date.UTC(2026, 2, 2, 2), 0.9995, { p_value: 0.002 }), pairFinding(HIST_MODEL, {}, { p_value: 0.003 })];
  const fromA = a.add(next, 'o2');
  const b = IncidentBuilder.fromJSON(saved);
  assert.deepEqual(b.add(next, 'o2'), fromA);
  assert.deepEqual(b.toJSON(), a.toJSON());
  // snapshot / restore (a failed attempt) as well.
  const s = b.snapshot();
  b.add([pairFinding(IPI_MODEL, { entity: 'other' })], 'o3');
  b.restore(s);
  assert.deepEqual(b.toJSON(), a.toJSON());
  assert.throws(() => IncidentBuilder.fromJSON({ version: 2 }), /incident state is not valid/);
});

test('undoLast takes back the last add (joined, opened and closed incidents) when its revisions could not be written', () => {
  const b = new IncidentBuilder({ maxOpen: 2 });
  b.add([pairFinding(IPI_MODEL, {}, { p_value: 0.001 })], 'o1');
  b.add([pairFinding(IPI_MODEL, { entity: 'user-1', time: T + 1 })], 'o2');
  const before = b.toJSON();
  // Joins the first incident, opens two more (so the oldest closes: maxOpen 2).
  const revs = b.add([pairFinding(HIST_MODEL, {}, { p_value: 0.002 }), pairFinding(IPI_MODEL, { entity: 'user-2', time: T + 2 }), pairFinding(IPI_MODEL, { entity: 'user-3', time: T + 3 })], 'o3');
  assert.equal(revs.length, 3);
  assert.notDeepEqual(b.toJSON(), before);
  b.undoLast();
  assert.deepEqual(b.toJSON(), before);
  // The retry gives the same revisions as the first attempt.
  assert.deepEqual(b.add([pairFinding(HIST_MODEL, {}, { p_value: 0.002 }), pairFinding(IPI_MODEL, { entity: 'user-2', time: T + 2 }), pairFinding(IPI_MODEL, { entity: 'user-3', time: T + 3 })], 'o3'), revs);
});

test('order of the input does not matter; output is byte-stable (golden)', () => {
  const fs = [pairFinding(IPI_MODEL, {}, { p_value: 0.0005 }), pairFinding(HIST_MODEL, {}, { p_value: 0.002 }), behaviourFinding(Date.UTC(2026, 2, 2, 2), 0.9995, { p_value: 0.001 })];
  const one = new IncidentBuilder().add(fs, OBJ);
  const two = new IncidentBuilder().add([...fs].reverse(), OBJ);
  assert.deepEqual(one, two);
  const inc = structuredClone(one[0]!.incident) as Record<string, unknown>;
  // The product version changes with every release: not part of the golden file.
  delete ((inc.metadata as Record<string, unknown>).product as Record<string, unknown>).version;
  const text = JSON.stringify(inc, null, 2) + '\n';
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, text);
  assert.deepEqual(JSON.parse(text), JSON.parse(readFileSync(GOLDEN, 'utf8')));
});

test('text helpers', () => {
  assert.equal(fmtP(0.000123), '1.2e-4');
  assert.equal(fmtP(0.0456), '0.046');
  assert.equal(fmtP(0.5), '0.5');
  assert.equal(timeRange(Date.UTC(2026, 2, 1, 23, 10), Date.UTC(2026, 2, 2, 1)), '2026-03-01 23:10 - 2026-03-02 01:00 UTC');
  assert.equal(timeRange(T, T), '2026-03-02 02:10 UTC');
});
