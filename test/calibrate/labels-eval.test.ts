/**
 * The evaluation against labels below the demo (src/calibrate/labels-eval.ts, labels-lake.ts, labels-report.ts):
 * incidents scored through their member findings, per attack kind; precision and recall over the ranking; alerts per
 * day; the lake readers over `findings` and `incidents` relations written here as SQL over JSON (contract B's
 * columns); the text, HTML and PNG reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  alertsPerDay,
  evaluateIncidents,
  evaluateLabels,
  findingsCurve,
  normalizeLabel,
  rankFindings,
  type AttackLabel,
  type FindingLike,
  type IncidentLike,
  type LabelRecord,
} from '../../src/calibrate/labels-eval.js';
import { readLakeFindings, readLakeIncidents } from '../../src/calibrate/labels-lake.js';
import { evaluationPng, formatLabelsEvaluation, labelsReportHtml } from '../../src/calibrate/labels-report.js';
import { Duck, quoteString } from '../../src/lake/duckdb.js';

const H = 3_600_000;
const T0 = Date.parse('2026-05-06T00:00:00Z');

function rec(time: number, entity: string, ip?: string, view = 'vpc_flow'): LabelRecord {
  return { file: 'f.log.gz', position: 2, view, time, entity, ...(ip !== undefined ? { ip } : {}) };
}

function label(id: string, kind: string, category: string, start: number, end: number, records: LabelRecord[]): AttackLabel {
  const entities = [...new Set(records.map((r) => r.entity!))];
  return { attack_id: id, kind, category, start: new Date(start).toISOString(), end: new Date(end).toISOString(), start_ms: start, end_ms: end, entity: entities[0]!, entities, entity_names: entities, ips: [], description: id, details: {}, records };
}

// A scan of web-1 from two addresses (4 pair records), an exfiltration by app (6 records on one pair), a DNS tunnel on
// web-2 (10 records with no pair): two address attacks and a behaviour attack.
const SCAN = label('A1-scan', 'scan', 'address', T0 + H, T0 + H + 60_000, [rec(T0 + H, 'web-1', '203.0.113.9'), rec(T0 + H + 10_000, 'web-1', '203.0.113.9'), rec(T0 + H + 20_000, 'web-1', '203.0.113.10'), rec(T0 + H + 30_000, 'web-1', '203.0.113.10')]);
const EXFIL = label('A2-exfil', 'exfiltration', 'address', T0 + 3 * H, T0 + 3 * H + 600_000, Array.from({ length: 6 }, (_, k) => rec(T0 + 3 * H + k * 100_000, 'app', '136.234.4.223')));
const DNS = label('A3-dns', 'dns_tunnelling', 'behaviour', T0 + 6 * H, T0 + 6 * H + 1_200_000, Array.from({ length: 10 }, (_, k) => rec(T0 + 6 * H + k * 120_000, 'web-2', undefined, 'route53')));
const LABELS = [SCAN, EXFIL, DNS];

let n = 0;
const pair = (entity: string, ip: string, time: number, p?: number, model = 'flows'): FindingLike => ({ uid: `f${++n}`, entity, ip, time, model, detector: 'ipinsights', ...(p !== undefined ? { p_value: p } : {}) });
const win = (entity: string, start: number, p?: number, model = 'behaviour'): FindingLike => ({ uid: `f${++n}`, entity, time: start, end: start + H, model, detector: 'rcf', ...(p !== undefined ? { p_value: p } : {}) });
const incident = (uid: string, members: FindingLike[] | string[], score: number): IncidentLike => {
  const uids = members.map((m) => (typeof m === 'string' ? m : m.uid!));
  return { uid, entity: 'x', time: T0, score, finding_uids: uids };
};

test('an incident is true when one of its members is; attacks found by incidents through their true members; per kind', () => {
  const scanTp = pair('web-1', '203.0.113.9', T0 + H + 5_000);
  const scanFp = pair('web-1', '198.51.100.1', T0 + H + 5_000); // same entity and time, another address: false
  const exfilFpLate = pair('app', '136.234.4.223', T0 + 5 * H); // the attack pair, after the window: false
  const dnsTp = win('web-2', T0 + 6 * H);
  const dnsFp = win('web-2', T0 + 8 * H); // no tunnel records then: false
  const findings = [scanTp, scanFp, exfilFpLate, dnsTp, dnsFp];
  const incidents = [
    incident('I1', [scanTp, scanFp], 9), // one true member (then a false one): true (scan)
    incident('I2', [exfilFpLate], 5), // false
    incident('I3', [dnsFp, dnsTp], 4), // true (dns)
    incident('I4', ['no-such-finding'], 3), // no member found: false, counted
    incident('I5', [dnsFp], 2), // false
  ];
  const e = evaluateIncidents(LABELS, incidents, findings);
  assert.equal(e.incidents, 5);
  assert.equal(e.true_positives, 2);
  assert.equal(e.false_positives, 3);
  assert.equal(e.precision, 0.4);
  assert.equal(e.attacks_detected, 2);
  assert.equal(e.unresolved_members, 1);
  assert.equal(e.incidents_without_members, 1);
  assert.deepEqual(e.per_attack.map((a) => [a.attack_id, a.detected, a.incidents]), [['A1-scan', true, 1], ['A2-exfil', false, 0], ['A3-dns', true, 1]]);
  assert.deepEqual(e.per_kind.scan, { category: 'address', attacks: 1, detected: 1, findings: 0, incidents: 1 });
  assert.deepEqual(e.per_kind.exfiltration, { category: 'address', attacks: 1, detected: 0, findings: 0, incidents: 0 });
  assert.deepEqual(e.false_positive_examples.map((i) => i.uid), ['I2', 'I4', 'I5']);
  // Records (any record with an entity) covered by true members: the scan pair's 2 records, the tunnel's 10 (06:00-07:00).
  assert.deepEqual([e.detected_records, e.records], [12, 20]);
  // An incident made only of false members stays false even when one of them names an attacked entity.
  assert.equal(evaluateIncidents(LABELS, [incident('I6', [scanFp, dnsFp], 1)], findings).true_positives, 0);
});

test('findings are ranked by p-value (else percentile, else score) and precision/recall traced over the ranking', () => {
  const a = pair('web-1', '203.0.113.9', T0 + H, 1e-6); // TP scan, 2 of 4 scan records
  const b = pair('web-1', '198.51.100.1', T0 + H, 1e-5); // FP
  const c = pair('app', '136.234.4.223', T0 + 3 * H, 1e-4); // TP exfil, 6 records
  const d = pair('web-1', '203.0.113.10', T0 + H, 1e-2); // TP scan, the other 2 records
  const cv = findingsCurve('flows', LABELS, [d, c, b, a]);
  assert.equal(cv.rank_by, 'p_value ascending');
  assert.equal(cv.records, 'pair');
  const pts = cv.points.map((p) => [p.k, p.precision, p.attack_recall, p.record_recall]);
  assert.deepEqual(pts, [
    [1, 1, 1 / 3, 2 / 10],
    [2, 1 / 2, 1 / 3, 2 / 10],
    [3, 2 / 3, 2 / 3, 8 / 10],
    [4, 3 / 4, 2 / 3, 1],
  ]);
  // Average precision: precision times the recall gained at each k.
  assert.ok(Math.abs(cv.ap_attacks! - (1 / 3) * 1 - (1 / 3) * (2 / 3)) < 1e-12);
  assert.ok(Math.abs(cv.ap_records! - (0.2 * 1 + 0.6 * (2 / 3) + 0.2 * 0.75)) < 1e-12);
  // Mixed strengths: p-value, else 1 - percentile, else 0.5; no strength at all: the anomaly score.
  const r = rankFindings([{ ...b, p_value: undefined, percentile: 0.9 }, { ...c, p_value: undefined }, a]);
  assert.equal(r.rank_by, 'p_value, else 1 - percentile, else 0.5, ascending');
  assert.deepEqual(r.ranked.map((f) => f.uid), [a.uid, b.uid, c.uid]);
  const s = rankFindings([{ ...a, p_value: undefined, anomaly_score: 1 }, { ...b, p_value: undefined, anomaly_score: 7 }]);
  assert.equal(s.rank_by, 'anomaly_score descending');
  assert.deepEqual(s.ranked.map((f) => f.uid), [b.uid, a.uid]);
});

test('alerts per day over a given period, else over the whole UTC days the alerts and labels touch', () => {
  const fs = [pair('a', '1.1.1.1', T0 + H), pair('a', '1.1.1.1', T0 + 30 * H), pair('a', '1.1.1.1', T0 + 31 * H)];
  const inc = [incident('I1', [], 1), { ...incident('I2', [], 1), time: T0 + 30 * H }];
  const d = alertsPerDay(fs, inc);
  assert.deepEqual([d.from, d.to, d.days, d.findings, d.findings_per_day, d.incidents, d.incidents_per_day], [T0, T0 + 48 * H, 2, 3, 1.5, 2, 1]);
  assert.deepEqual(d.by_day, [{ day: '2026-05-06', findings: 1, incidents: 1 }, { day: '2026-05-07', findings: 2, incidents: 1 }]);
  const half = alertsPerDay(fs, null, { from: T0 + 24 * H, to: T0 + 36 * H });
  assert.deepEqual([half.days, half.findings, half.findings_per_day, half.incidents, half.incidents_per_day], [0.5, 2, 4, null, null]);
  // An incident that began before the period and took findings in it counts; one that ended before does not.
  const spans = [{ ...incident('I3', [], 1), time: T0 + 20 * H, end: T0 + 25 * H }, { ...incident('I4', [], 1), time: T0 + 20 * H, end: T0 + 23 * H }];
  const p = alertsPerDay([], spans, { from: T0 + 24 * H, to: T0 + 48 * H });
  assert.deepEqual([p.incidents, p.by_day], [1, [{ day: '2026-05-07', findings: 0, incidents: 1 }]]);
});

test('evaluateLabels: findings, incidents, suppressed count, curves per detector; the text report', () => {
  const tp = pair('web-1', '203.0.113.9', T0 + H, 1e-6);
  const fp = pair('db', '198.51.100.1', T0 + 2 * H, 1e-3);
  const w = win('web-2', T0 + 6 * H, 1e-4);
  const e = evaluateLabels(LABELS, [tp, fp, w], { incidents: [incident('I1', [tp], 6), incident('I2', [fp], 3), incident('I3', [w], 4)], suppressed: 2, period: { from: T0, to: T0 + 24 * H } });
  assert.equal(e.findings.precision, 2 / 3);
  assert.equal(e.incidents!.precision, 2 / 3);
  assert.equal(e.suppressed, 2);
  assert.deepEqual(e.curves.per_detector.map((c) => [c.name, c.points.length, c.records]), [['flows', 2, 'pair'], ['behaviour', 1, 'entity']]);
  assert.deepEqual(e.curves.incidents!.points.map((p) => p.precision), [1, 1, 2 / 3]);
  const text = formatLabelsEvaluation(e).join('\n');
  assert.match(text, /^findings: precision 66\.7% \(2\/3\), attacks found 2\/3; incidents: precision 66\.7% \(2\/3\), attacks found 2\/3; alerts per day: 3\.0 findings, 3\.0 incidents/);
  assert.match(text, /incidents\s+3\s+2\s+66\.7%\s+2\/3 66\.7%/);
  assert.match(text, /dns_tunnelling\s+behaviour\s+0\/1\s+1\/1\s+1\/1\s+1\/1/);
  assert.match(text, /\(all address attacks\)\s+1\/2\s+0\/2\s+1\/2\s+1\/2/);
  assert.match(text, /Suppressed findings \(status_id 3\) left out: 2/);
  assert.match(text, /FOUND {2}A1-scan .*; 1 incident$/m);
  // Without incidents: said, not zero.
  const f = evaluateLabels(LABELS, [tp], { incidents: null, incidentsNote: 'no incidents view' });
  assert.equal(f.incidents, null);
  assert.match(formatLabelsEvaluation(f).join('\n'), /Incidents: not evaluated \(no incidents view\)/);
  // HTML with the three charts inline, and the PNG.
  const html = labelsReportHtml(e, { labelsFile: 'labels.jsonl' });
  assert.equal(html.match(/<svg /g)?.length, 3);
  assert.match(html, /incident precision \(2\/3\)/);
  assert.equal(evaluationPng(e).subarray(1, 4).toString('latin1'), 'PNG');
});

test('lake readers: findings (pair and window, p-value from the raw finding, suppressed apart) and incidents (contract B columns) over SQL', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-labels-lake-'));
  const db = await Duck.open();
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const fFile = path.join(dir, 'findings.jsonl');
  const rows = [
    { uid: 'p1', source_object: 'aws/VPC_FLOW/o1.parquet', time: T0 + H, entity: 'web-1', ip: '203.0.113.9', model_name: 'flows', detector: 'ipinsights', percentile: 0.9999, anomaly_score: 4, window_start: null, window_end: null, first_seen_time: T0 + H, last_seen_time: T0 + H, finding: JSON.stringify({ status_id: 1, unmapped: { p_value: 2e-5 } }) },
    { uid: 'w1', time: T0 + 7 * H, entity: 'web-2', ip: null, model_name: 'behaviour', detector: 'rcf', percentile: 0.999, anomaly_score: 6, window_start: T0 + 6 * H, window_end: T0 + 7 * H, first_seen_time: null, last_seen_time: null, finding: JSON.stringify({ status_id: 1 }) },
    { uid: 's1', time: T0 + 2 * H, entity: 'db', ip: '198.51.100.1', model_name: 'flows', detector: 'ipinsights', percentile: 0.99, anomaly_score: 3, window_start: null, window_end: null, first_seen_time: null, last_seen_time: null, finding: JSON.stringify({ status_id: 3, unmapped: { suppressed_by: 'S1' } }) },
  ];
  writeFileSync(fFile, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await db.run(
    `CREATE VIEW findings AS SELECT * FROM read_json(${quoteString(fFile)}, format = 'newline_delimited', columns = {uid: 'VARCHAR', source_object: 'VARCHAR', time: 'BIGINT', entity: 'VARCHAR', ip: 'VARCHAR', model_name: 'VARCHAR', detector: 'VARCHAR', percentile: 'DOUBLE', anomaly_score: 'DOUBLE', window_start: 'BIGINT', window_end: 'BIGINT', first_seen_time: 'BIGINT', last_seen_time: 'BIGINT', finding: 'VARCHAR'})`,
  );
  assert.equal(await readLakeIncidents(db), undefined, 'no incidents view: undefined');
  const { findings, suppressed } = await readLakeFindings(db, { viewOf: (p) => (p === 'aws/VPC_FLOW/o1.parquet' ? 'vpc_flow' : undefined) });
  assert.deepEqual(findings, [
    { entity: 'web-1', time: T0 + H, scope: 'pair', ip: '203.0.113.9', uid: 'p1', model: 'flows', detector: 'ipinsights', p_value: 2e-5, percentile: 0.9999, anomaly_score: 4, view: 'vpc_flow' },
    { entity: 'web-2', time: T0 + 6 * H, scope: 'window', end: T0 + 7 * H, uid: 'w1', model: 'behaviour', detector: 'rcf', percentile: 0.999, anomaly_score: 6 },
  ]);
  assert.deepEqual(suppressed.map((f) => f.uid), ['s1']);

  const iFile = path.join(dir, 'incidents.jsonl');
  const inc = [
    { uid: 'I1', revision: 2, time: T0 + 7 * H, start_time: T0 + H, end_time: T0 + 7 * H, entity: 'web-1', severity_id: 4, severity: 'High', status_id: 1, status: 'New', title: 't', message: 'm', score: 7.5, p_value: 3e-8, low_support: false, detectors: '["ipinsights","rcf"]', models: '["flows","behaviour"]', finding_uids: '["p1","w1"]', finding_count: 2, timeline: '[]', incident: '{}' },
    { uid: 'I2', revision: 1, time: T0 + 2 * H, start_time: T0 + 2 * H, end_time: T0 + 2 * H, entity: 'db', severity_id: 2, severity: 'Low', status_id: 3, status: 'Suppressed', title: 't', message: 'm', score: 2, p_value: 0.01, low_support: true, detectors: '["ipinsights"]', models: '["flows"]', finding_uids: '["s1"]', finding_count: 1, timeline: '[]', incident: '{}' },
  ];
  writeFileSync(iFile, inc.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await db.run(`CREATE VIEW incidents AS SELECT * FROM read_json(${quoteString(iFile)}, format = 'newline_delimited')`);
  const got = (await readLakeIncidents(db))!;
  assert.equal(got.suppressed, 1);
  assert.deepEqual(got.incidents, [{ uid: 'I1', entity: 'web-1', time: T0 + H, finding_uids: ['p1', 'w1'], end: T0 + 7 * H, score: 7.5, p_value: 3e-8, detectors: ['ipinsights', 'rcf'], severity: 'High' }]);
  // ... scored through its members: p1 is the scan pair, w1 the tunnel window.
  const e = evaluateIncidents(LABELS, got.incidents, findings);
  assert.deepEqual([e.true_positives, e.attacks_detected], [1, 2]);
  // A view without finding_uids cannot be scored: said by name.
  await db.run('CREATE OR REPLACE VIEW incidents AS SELECT 1 AS uid, 2 AS entity');
  await assert.rejects(readLakeIncidents(db), /no column 'finding_uids'/);
});

test('docs/labels.md: every example label reads, and matches what the page says it matches', () => {
  const doc = readFileSync(new URL('../../docs/labels.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\n\s+/g, ' ').trim());
  assert.equal(blocks.length, 3);
  const labels = blocks.map((b, i) => normalizeLabel(JSON.parse(b), { file: 'docs/labels.md', line: i + 1 }));
  assert.deepEqual(labels.map((l) => l.attack_id), ['RT-1', 'RT-2', 'RT-3']);
  const [rt1, rt2, rt3] = labels as [AttackLabel, AttackLabel, AttackLabel];
  // RT-1: the entity over the whole window.
  assert.equal(evaluateLabels([rt1], [win('i-0abc1234def567890', Date.parse('2026-05-06T14:00:00Z'))]).findings.true_positives, 1);
  // RT-2: the rogue host's pair on db-1 inside the window; db-1's behaviour only 15:30-15:35, app-1's 15:00-15:30.
  const e2 = evaluateLabels([rt2], [pair('i-0db1', '10.0.99.42', Date.parse('2026-05-06T15:31:00Z')), win('i-0db1', Date.parse('2026-05-06T14:00:00Z')), win('i-0app1', Date.parse('2026-05-06T15:00:00Z'))]);
  assert.equal(e2.findings.true_positives, 2);
  assert.deepEqual([e2.findings.detected_records, e2.findings.scored_records], [1, 2]);
  // RT-3: the sign-in pair.
  assert.equal(evaluateLabels([rt3], [pair('alice', '14.161.151.6', Date.parse('2026-05-06T16:01:00Z'), undefined, 'logins')]).findings.attacks_detected, 1);
});

test('a detector whose pair findings name their source view counts only labelled records of those views', () => {
  const login = label('A4-login', 'console_login_new_country', 'address', T0 + 9 * H, T0 + 9 * H + 60_000, [rec(T0 + 9 * H, 'erin', '5.136.43.204', 'cloudtrail_auth')]);
  const labels = [...LABELS, login];
  const fl = { ...pair('web-1', '203.0.113.9', T0 + H), view: 'vpc_flow' };
  const lg = { ...pair('erin', '5.136.43.204', T0 + 9 * H, undefined, 'logins'), view: 'cloudtrail_auth' };
  const e = evaluateLabels(labels, [fl, lg]).findings;
  const by = Object.fromEntries(e.per_detector.map((d) => [d.name, d]));
  assert.deepEqual([by.logins!.views, by.logins!.detected_records, by.logins!.scored_records], [['cloudtrail_auth'], 1, 1]);
  assert.deepEqual([by.flows!.views, by.flows!.detected_records, by.flows!.scored_records], [['vpc_flow'], 2, 10]);
  // One finding without a view: the detector counts every labelled pair record.
  const e2 = evaluateLabels(labels, [fl, lg, pair('erin', '198.51.100.9', T0, undefined, 'logins')]).findings;
  const l2 = e2.per_detector.find((d) => d.name === 'logins')!;
  assert.deepEqual([l2.views, l2.scored_records], [undefined, 11]);
});
