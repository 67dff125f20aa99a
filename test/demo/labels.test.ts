/**
 * The demo's evaluation: findings of any detector against the labels, per detector, per attack kind and combined.
 * Pair findings (entity, ip, time) as the IP detectors write them; window findings (entity, time range) as a behaviour
 * detector writes them, hand-made here; labels in the generator's format, in the format written before behaviour
 * windows existed, and written by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ParseError } from '../../src/core/errors.js';
import { buildFinding } from '../../src/findings/build.js';
import { ipiModelRef } from '../../src/findings/test-support.js';
import type { DetectionFinding } from '../../src/findings/types.js';
import { behaviourWindows, evaluateFindings, readLabelsFile, type AttackLabel, type FindingLike, type LabelRecord } from '../../src/demo/labels.js';
import { demoFindingOf } from '../../src/demo/monitor.js';
import { formatEvaluation } from '../../src/demo/pipeline.js';

const H = 3_600_000;
const T0 = Date.parse('2026-05-06T00:00:00Z');

function rec(time: number, entity?: string, ip?: string, view: LabelRecord['view'] = 'vpc_flow'): LabelRecord {
  return { file: 'f.log.gz', position: 2, view, time, ...(entity !== undefined ? { entity } : {}), ...(ip !== undefined ? { ip } : {}) };
}

function label(id: string, kind: string, start: number, end: number, records: LabelRecord[], extra: Partial<AttackLabel> = {}): AttackLabel {
  const entities = [...new Set(records.map((r) => r.entity).filter((e): e is string => e !== undefined))];
  return {
    attack_id: id,
    kind,
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    start_ms: start,
    end_ms: end,
    entity: entities[0] ?? '',
    entities,
    entity_names: entities,
    ips: [],
    description: `${kind} ${id}`,
    details: {},
    records,
    ...extra,
  };
}

// An address attack (scan: pairs (web-1, scanner)), a behaviour attack on i-app (exfiltration to its usual S3 address:
// pairs the IP model scores, all usual), an internal scan by i-app hitting i-db for a few seconds, and a DNS tunnel
// (records with an entity and no pair).
const SCAN = label('A1-scan', 'scan', T0 + 1 * H, T0 + 1 * H + 60_000, [rec(T0 + 1 * H, 'i-web1', '203.0.113.9'), rec(T0 + 1 * H + 30_000, 'i-web1', '203.0.113.9'), rec(T0 + 1 * H + 60_000, 'i-web1', '203.0.113.10')], { category: 'address' });
const EXFIL = label('A2-exfil', 'exfiltration_usual_destination', T0 + 3 * H + 600_000, T0 + 4 * H + 1_200_000,
  Array.from({ length: 10 }, (_, k) => rec(T0 + 3 * H + 600_000 + k * 480_000, 'i-app', '52.216.1.1')), { category: 'behaviour' });
const SCAN_IN = label('A3-internal', 'internal_scan', T0 + 6 * H, T0 + 6 * H + 900_000, [
  ...Array.from({ length: 20 }, (_, k) => rec(T0 + 6 * H + k * 45_000, 'i-app', `10.0.10.${k + 4}`)),
  rec(T0 + 6 * H + 300_000, 'i-db', '10.0.10.34'),
], { category: 'behaviour' });
const DNS = label('A4-dns', 'dns_tunnelling', T0 + 9 * H, T0 + 9 * H + 1_800_000,
  Array.from({ length: 30 }, (_, k) => rec(T0 + 9 * H + k * 60_000, 'i-web2', undefined, 'route53')), { category: 'behaviour' });
const LABELS = [SCAN, EXFIL, SCAN_IN, DNS];

const pair = (entity: string, ip: string, time: number, model = 'flows'): FindingLike => ({ entity, ip, time, model, detector: 'ipinsights' });
const win = (entity: string, start: number, model = 'behaviour'): FindingLike => ({ entity, time: start, end: start + H, model, detector: 'rcf' });

test('pair findings match (entity, ip) inside the attack window; window findings match an entity whose attack records overlap their range', () => {
  const findings: FindingLike[] = [
    pair('i-web1', '203.0.113.9', T0 + 1 * H + 10_000), // TP scan
    pair('i-web1', '203.0.113.9', T0 + 2 * H), // right pair, after the window: FP
    pair('i-web1', '198.51.100.1', T0 + 1 * H + 10_000), // in the window, another address: FP
    win('i-app', T0 + 3 * H), // TP exfil (window 03:00-04:00 overlaps 03:10..04:20)
    win('i-app', T0 + 4 * H), // TP exfil (04:00-05:00)
    win('i-app', T0 + 5 * H), // nothing of i-app between 05:00 and 06:00: FP
    win('i-db', T0 + 6 * H), // TP internal scan (i-db logged one rejected probe at 06:05)
    win('i-db', T0 + 7 * H), // FP
    win('i-web2', T0 + 9 * H), // TP dns
    win('i-web1', T0 + 9 * H), // i-web1 has no record in the tunnel: FP
  ];
  const e = evaluateFindings(LABELS, findings);
  assert.equal(e.findings, 10);
  assert.equal(e.pair_findings, 3);
  assert.equal(e.window_findings, 7);
  assert.equal(e.true_positives, 5);
  assert.equal(e.precision, 0.5);
  assert.equal(e.attacks_detected, 4);
  assert.equal(e.attack_recall, 1);
  // Pair record recall: the scan's records of (i-web1, 203.0.113.9) out of every scored pair record of every label.
  assert.equal(e.detected_records, 2);
  assert.equal(e.scored_records, 3 + 10 + 21);
  // Window record recall: exfil's 10 records (03:00-05:00 covered), i-db's one record, the tunnel's 30 (09:00-10:00).
  assert.equal(e.window_detected_records, 10 + 1 + 30);
  assert.equal(e.window_records, 3 + 10 + 21 + 30);
  assert.deepEqual(e.per_attack.map((a) => [a.attack_id, a.findings, a.detected_by]), [
    ['A1-scan', 1, ['flows']],
    ['A2-exfil', 2, ['behaviour']],
    ['A3-internal', 1, ['behaviour']],
    ['A4-dns', 1, ['behaviour']],
  ]);
});

test('per detector and combined: each model alone, the union of all; per attack kind and category', () => {
  const findings: FindingLike[] = [
    pair('i-web1', '203.0.113.9', T0 + 1 * H + 10_000, 'flows'),
    pair('i-web1', '198.51.100.1', T0 + 1 * H + 10_000, 'flows'),
    pair('alice', '5.136.43.204', T0 + 12 * H, 'logins'), // no such attack: FP
    win('i-app', T0 + 3 * H),
    win('i-app', T0 + 8 * H), // FP
    win('i-web1', T0 + 1 * H), // the scan changed web-1's behaviour too: TP of the scan for the behaviour detector
  ];
  const e = evaluateFindings(LABELS, findings, { detectors: [{ name: 'flows', detector: 'ipinsights' }, { name: 'logins', detector: 'ipinsights' }, { name: 'history', detector: 'history' }] });
  const by = Object.fromEntries(e.per_detector.map((d) => [d.name, d]));
  assert.deepEqual(e.per_detector.map((d) => `${d.name}/${d.detector}`), ['flows/ipinsights', 'logins/ipinsights', 'behaviour/rcf', 'history/history']);
  assert.equal(by.flows!.findings, 2);
  assert.equal(by.flows!.precision, 0.5);
  assert.equal(by.flows!.attacks_detected, 1);
  assert.equal(by.logins!.precision, 0);
  assert.equal(by.logins!.attack_recall, 0);
  assert.equal(by.behaviour!.findings, 3);
  assert.equal(by.behaviour!.true_positives, 2);
  assert.equal(by.behaviour!.attacks_detected, 2); // scan and exfiltration
  assert.equal(by.history!.findings, 0);
  assert.equal(by.history!.precision, null);
  assert.equal(by.history!.attack_recall, 0);
  // Combined: the union.
  assert.equal(e.findings, 6);
  assert.equal(e.true_positives, 3);
  assert.equal(e.precision, 0.5);
  assert.equal(e.attacks_detected, 2);
  assert.deepEqual(e.per_attack.find((a) => a.attack_id === 'A1-scan')!.detected_by, ['flows', 'behaviour']);
  // Per kind: combined and per detector.
  assert.deepEqual(e.per_kind.scan, { category: 'address', attacks: 1, detected: 1, findings: 2 });
  assert.deepEqual(e.per_kind.dns_tunnelling, { category: 'behaviour', attacks: 1, detected: 0, findings: 0 });
  assert.equal(by.flows!.per_kind.exfiltration_usual_destination!.detected, 0);
  assert.equal(by.behaviour!.per_kind.exfiltration_usual_destination!.detected, 1);
  // The printed report has a row per detector, the union, and the per-kind table with category totals.
  const text = formatEvaluation(e).join('\n');
  assert.match(text, /flows \(ipinsights\)\s+2\s+1\s+50\.0%\s+1\/4 25\.0%/);
  assert.match(text, /behaviour \(rcf\)\s+3\s+2\s+66\.7%\s+2\/4 50\.0%\s+windows/);
  assert.match(text, /history \(history\)\s+0\s+0\s+n\/a/);
  assert.match(text, /combined \(union\)\s+6\s+3\s+50\.0%\s+2\/4 50\.0%/);
  assert.match(text, /exfiltration_usual_destination\s+behaviour\s+0\/1\s+0\/1\s+1\/1\s+0\/1\s+1\/1/);
  assert.match(text, /\(all behaviour attacks\)\s+0\/3\s+0\/3\s+1\/3\s+0\/3\s+1\/3/);
  assert.match(text, /FOUND {2}A1-scan\s+2 findings by flows, behaviour/);
});

test('a detector\'s record recall counts the records of the views it reads', () => {
  const login = label('A7-login', 'console_login_new_country', T0 + 12 * H, T0 + 12 * H + 120_000, [
    rec(T0 + 12 * H, 'erin', '5.136.43.204', 'cloudtrail_auth'),
    rec(T0 + 12 * H + 60_000, 'erin', undefined, 'cloudtrail_api'),
  ]);
  const labels = [...LABELS, login];
  const e = evaluateFindings(labels, [pair('erin', '5.136.43.204', T0 + 12 * H, 'logins')], {
    detectors: [{ name: 'logins', detector: 'ipinsights', views: ['cloudtrail_auth'] }, { name: 'flows', detector: 'ipinsights', views: ['vpc_flow'] }],
  });
  const by = Object.fromEntries(e.per_detector.map((d) => [d.name, d]));
  assert.deepEqual([by.logins!.scored_records, by.logins!.detected_records, by.logins!.record_recall], [1, 1, 1]);
  assert.deepEqual(by.logins!.views, ['cloudtrail_auth']);
  assert.equal(by.flows!.scored_records, 3 + 10 + 21);
  // Combined counts every labelled pair record.
  assert.deepEqual([e.scored_records, e.detected_records], [3 + 10 + 21 + 1, 1]);
});

test('labels written before behaviour windows: the same pair results; windows from the records, else entities x window', () => {
  // Old format: records with (entity, ip) or neither, no category, no behaviour.
  const old = label('A5-exfiltration', 'exfiltration', T0 + 2 * H, T0 + 2 * H + 600_000, [rec(T0 + 2 * H, undefined, undefined, 'route53'), rec(T0 + 2 * H + 60_000, 'i-batch', '65.108.21.30')]);
  old.entities = ['i-batch'];
  assert.equal(old.category, undefined);
  assert.deepEqual(behaviourWindows(old), [{ entity: 'i-batch', start_ms: T0 + 2 * H + 60_000, end_ms: T0 + 2 * H + 60_000, records: 1 }]);
  const e = evaluateFindings([old], [pair('i-batch', '65.108.21.30', T0 + 2 * H + 60_000), win('i-batch', T0 + 2 * H)]);
  assert.equal(e.true_positives, 2);
  assert.equal(e.record_recall, 1);
  // No entity on any record: the label's entities over its whole window.
  const bare = label('A6', 'console_login_new_country', T0 + 5 * H, T0 + 5 * H + 300_000, [rec(T0 + 5 * H, undefined, undefined, 'cloudtrail_api')]);
  bare.entities = ['erin'];
  assert.deepEqual(behaviourWindows(bare), [{ entity: 'erin', start_ms: T0 + 5 * H, end_ms: T0 + 5 * H + 300_000, records: 0 }]);
  assert.equal(evaluateFindings([bare], [win('erin', T0 + 5 * H)]).true_positives, 1);
  assert.equal(evaluateFindings([bare], [win('erin', T0 + 6 * H)]).true_positives, 0);
});

test('readLabelsFile: generator labels as written, hand-written red-team labels completed, bad lines named by line and field', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-labels-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'labels.jsonl');
  const handWritten = { attack_id: 'RT-7', kind: 'api_burst', start: '2026-05-06T14:00:00Z', end: '2026-05-06T14:30:00Z', entities: ['i-0abc'], behaviour: [{ entity: 'i-0abc' }] };
  writeFileSync(file, `${JSON.stringify(EXFIL)}\n\n${JSON.stringify(handWritten)}\n`);
  const [a, b] = readLabelsFile(file);
  assert.deepEqual(a, EXFIL);
  assert.equal(b!.start_ms, Date.parse('2026-05-06T14:00:00Z'));
  assert.equal(b!.end_ms, Date.parse('2026-05-06T14:30:00Z'));
  assert.deepEqual(b!.records, []);
  assert.equal(b!.entity, 'i-0abc');
  assert.deepEqual(b!.behaviour, [{ entity: 'i-0abc', start_ms: b!.start_ms, end_ms: b!.end_ms, records: 0 }]);
  assert.equal(evaluateFindings([b!], [win('i-0abc', Date.parse('2026-05-06T14:00:00Z'))]).attack_recall, 1);

  const bad = (line: string, re: RegExp): void => {
    writeFileSync(file, `${JSON.stringify(SCAN)}\n${line}\n`);
    assert.throws(() => readLabelsFile(file), (err: unknown) => err instanceof ParseError && re.test(err.message) && /:2\b|line 2/.test(err.message));
  };
  bad('{"attack_id":"x","start_ms":1}', /end_ms/);
  bad('{"attack_id":"x","start_ms":2,"end_ms":1,"entities":["a"]}', /before start_ms/);
  bad('{"start_ms":1,"end_ms":2,"entities":["a"]}', /attack_id/);
  bad('{"attack_id":"x","start_ms":1,"end_ms":2}', /nothing attacked/);
  bad('{"attack_id":"x","start_ms":1,"end_ms":2,"records":[{"file":"f"}]}', /records\[0\]/);
  bad('not json', /not JSON/);
});

test('demoFindingOf: an IP finding is a pair finding; a behaviour finding (no address, a window) is a window finding', () => {
  const built = buildFinding(
    { ref: { object: 'aws/VPC_FLOW/x.parquet', row: 3 }, entity: 'i-0f464fd3738c7552a', ip: '203.0.113.9', time: T0 + H, native_score: -4.2, entity_known: true, entity_count: 10, event: { class_uid: 4001 } },
    { model: ipiModelRef('flows', '00000001', -2), kind: 'anomaly' },
  );
  const p = demoFindingOf(built);
  assert.deepEqual([p.scope, p.model, p.detector, p.entity, p.ip, p.time, p.end], ['pair', 'flows', 'ipinsights', 'i-0f464fd3738c7552a', '203.0.113.9', T0 + H, undefined]);
  assert.equal(p.score, -4.2);
  // Behaviour findings as a behaviour detector writes them (src/findings/behaviour.ts: unmapped.window_start/_end,
  // start_time/end_time, the evidence's data) and as others might: unmapped.window, window_ms, only first/last seen.
  const rcf = (unmapped: Record<string, unknown>, extra: Record<string, unknown> = {}): DetectionFinding =>
    ({ class_uid: 2004, time: T0 + 3 * H, severity_id: 3, finding_info: { uid: 'u1', analytic: { name: 'behaviour' }, first_seen_time: T0 + 3 * H, last_seen_time: T0 + 4 * H }, unmapped: { detector: 'rcf', entity: 'i-app', score: 3.1, ...unmapped }, ...extra }) as unknown as DetectionFinding;
  for (const f of [
    rcf({ kind: 'behaviour', window_start: T0 + 3 * H, window_end: T0 + 4 * H, window_ms: H }, { start_time: T0 + 3 * H, end_time: T0 + 4 * H, evidences: [{ data: { entity: 'i-app', window_start: T0 + 3 * H, window_end: T0 + 4 * H } }] }),
    rcf({ window_start: T0 + 3 * H, window_end: T0 + 4 * H }),
    rcf({}, { start_time: T0 + 3 * H, end_time: T0 + 4 * H }),
    rcf({ window: { start: T0 + 3 * H, end: T0 + 4 * H } }),
    rcf({ window_start: T0 + 3 * H, window_ms: H }),
    rcf({}, { evidences: [{ data: { window_start: T0 + 3 * H, window_end: T0 + 4 * H } }] }),
    rcf({}),
  ]) {
    const w = demoFindingOf(f);
    assert.deepEqual([w.scope, w.model, w.detector, w.entity, w.ip, w.time, w.end], ['window', 'behaviour', 'rcf', 'i-app', '', T0 + 3 * H, T0 + 4 * H]);
  }
  // As the evaluation reads them.
  const e = evaluateFindings(LABELS, [p, demoFindingOf(rcf({ window_start: T0 + 3 * H, window_end: T0 + 4 * H }))].map((f) => ({ ...f })));
  assert.equal(e.per_attack.find((a) => a.attack_id === 'A2-exfil')!.detected, true);
});
