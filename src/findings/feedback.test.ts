/**
 * Feedback store and suppressions: default scopes, matching (entity, range, ASN, top feature, model/detector filter,
 * expiry, removal), the append-only file (torn last line, concurrent writers), verdicts on findings of a real lake and
 * the examples calibration reads.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFinding } from './build.js';
import { buildBehaviourFinding, type BehaviourRecord } from './behaviour.js';
import {
  DEFAULT_EXPIRES_DAYS,
  FeedbackError,
  benignDefaultScope,
  describeSuppression,
  feedbackExamples,
  feedbackPath,
  giveVerdict,
  matchSuppression,
  networkOf,
  openFeedback,
  parseFeedback,
  parseScope,
  scopeText,
  type Suppression,
} from './feedback.js';
import { findingsObjectKey, publishFindings } from './lake.js';
import { ipiModelRef } from './test-support.js';
import type { DetectionFinding, ModelRef, ScoredRecord } from './types.js';
import { IncidentBuilder } from './incidents.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 8, 1, 0, 0);
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmpLake(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'seclake-feedback-'));
  dirs.push(d);
  return d;
}

function pairFinding(entity: string, ip: string, opts: { row?: number; model?: string; asn?: number; time?: number } = {}): DetectionFinding {
  const src: Record<string, unknown> = { ip };
  const rec: ScoredRecord = {
    ref: { object: 'aws/CLOUD_TRAIL_MGMT/2.0/region=us-east-1/accountId=123456789012/eventDay=20261207/o.parquet', row: opts.row ?? 0 },
    entity,
    ip,
    time: opts.time ?? NOW - 3_600_000,
    native_score: -4,
    entity_known: true,
    entity_count: 50,
    anomaly_percentile: 0.9995,
    is_anomaly: true,
    event: { class_uid: 3002, src_endpoint: src },
  };
  const f = buildFinding(rec, { model: ipiModelRef(opts.model ?? 'logins', 'abcd1234', -1), kind: 'anomaly' });
  // OCSF 1.1.0 endpoints have no autonomous_system: a detector that knows the ASN puts it in unmapped.asn.
  if (opts.asn !== undefined) (f.unmapped as Record<string, unknown>).asn = opts.asn;
  return f;
}

const RCF: ModelRef = {
  name: 'rcf-network',
  version: '0a1b2c3d',
  threshold: 1.5,
  detector: { type: 'rcf', title: 'Random Cut Forest', score: { name: 'score', direction: 'higher_is_anomalous', default_threshold: 3 }, finding_type: 'Anomalous Behaviour' },
};

function behaviourFinding(entity: string, features: [string, number][], start = NOW - 7_200_000): DetectionFinding {
  const rec: BehaviourRecord = {
    entity,
    window_start: start,
    window_end: start + 3_600_000,
    native_score: 5,
    entity_known: true,
    features: Object.fromEntries(features.map(([f]) => [f, 1])),
    explanation: { reason: 'r', details: { score: 5, features: features.map(([feature, share]) => ({ feature, direction: 'high', observed: 1, share, text: feature })) } },
  };
  return buildBehaviourFinding(rec, { model: RCF, threshold: 1.5, thresholdSource: 'calibrated', sets: ['network'], views: ['vpc_flow'] });
}

function sup(over: Partial<Suppression>): Suppression {
  return { type: 'suppression', id: 'x', at: new Date(NOW - DAY).toISOString(), expires_at: new Date(NOW + DAY).toISOString(), entity: 'alice', scope: { kind: 'any' }, reason: 'test', ...over };
}

test('default scope of a benign verdict: the /24 (IPv6 /64), the ASN when the finding carries one, the top behaviour feature', () => {
  assert.deepEqual(benignDefaultScope(pairFinding('alice', '203.0.113.77')), { kind: 'cidr', cidr: '203.0.113.0/24' });
  assert.deepEqual(benignDefaultScope(pairFinding('alice', '2001:db8:1:2:3:4:5:6')), { kind: 'cidr', cidr: '2001:db8:1:2::/64' });
  assert.deepEqual(benignDefaultScope(pairFinding('alice', '198.51.100.9', { asn: 14061 })), { kind: 'asn', asn: 14061 });
  assert.deepEqual(benignDefaultScope(behaviourFinding('i-0abc', [['network.bytes_out', 0.8], ['network.flows', 0.15]])), { kind: 'feature', feature: 'network.bytes_out' });
  assert.equal(networkOf('::ffff:10.1.2.3'), '10.1.2.0/24', 'IPv4-mapped IPv6 is IPv4');
});

test('parseScope: canonical ranges, ASNs, features, entity; bad ones name the problem', () => {
  assert.deepEqual(parseScope('cidr:10.1.2.77/24'), { kind: 'cidr', cidr: '10.1.2.0/24' }, 'host bits cleared');
  assert.deepEqual(parseScope('asn:AS14061'), { kind: 'asn', asn: 14061 });
  assert.deepEqual(parseScope('feature:dns.queries'), { kind: 'feature', feature: 'dns.queries' });
  assert.deepEqual(parseScope('entity'), { kind: 'any' });
  assert.throws(() => parseScope('cidr:10.1.2.0/33'), FeedbackError);
  assert.throws(() => parseScope('asn:abc'), /not an AS number/);
  assert.throws(() => parseScope('subnet:x'), /expected cidr:RANGE/);
});

test('matchSuppression: same entity, scope, model/detector filter, active at now', () => {
  const f = pairFinding('alice', '203.0.113.77');
  const in24 = sup({ id: 'a', scope: { kind: 'cidr', cidr: '203.0.113.0/24' } });
  assert.equal(matchSuppression(f, [in24], NOW)?.id, 'a');
  assert.equal(matchSuppression(pairFinding('bob', '203.0.113.77'), [in24], NOW), undefined, 'other entity');
  assert.equal(matchSuppression(pairFinding('alice', '203.0.114.1'), [in24], NOW), undefined, 'outside the range');
  assert.equal(matchSuppression(pairFinding('alice', '2001:db8::1'), [in24], NOW), undefined, 'other family');
  assert.equal(matchSuppression(f, [sup({ scope: { kind: 'cidr', cidr: '203.0.113.64/26' } })], NOW)?.id, 'x', 'a narrower range that holds it');
  // model and detector filters
  assert.equal(matchSuppression(f, [sup({ model: 'other' })], NOW), undefined);
  assert.equal(matchSuppression(f, [sup({ model: 'logins' })], NOW)?.id, 'x');
  assert.equal(matchSuppression(f, [sup({ detector: 'history' })], NOW), undefined);
  assert.equal(matchSuppression(f, [sup({ detector: 'ipinsights' })], NOW)?.id, 'x');
  // ASN
  const withAsn = pairFinding('alice', '198.51.100.9', { asn: 14061 });
  assert.equal(matchSuppression(withAsn, [sup({ scope: { kind: 'asn', asn: 14061 } })], NOW)?.id, 'x');
  assert.equal(matchSuppression(withAsn, [sup({ scope: { kind: 'asn', asn: 16509 } })], NOW), undefined);
  assert.equal(matchSuppression(f, [sup({ scope: { kind: 'asn', asn: 14061 } })], NOW), undefined, 'a finding without an ASN');
  // expiry, removal, not yet created
  assert.equal(matchSuppression(f, [sup({ expires_at: new Date(NOW).toISOString() })], NOW), undefined, 'expires at now: over');
  assert.equal(matchSuppression(f, [sup({ expires_at: null })], NOW + 3650 * DAY)?.id, 'x', 'never expires');
  assert.equal(matchSuppression(f, [{ ...sup({}), state: 'removed', removed_at: new Date(NOW - 1).toISOString(), text: '' }], NOW), undefined, 'removed');
  assert.equal(matchSuppression(f, [sup({ at: new Date(NOW + 1).toISOString() })], NOW), undefined, 'created after now');
  // the first match wins
  assert.equal(matchSuppression(f, [sup({ id: 'no', entity: 'bob' }), in24, sup({ id: 'later' })], NOW)?.id, 'a');
});

test('matchSuppression on behaviour findings: the suppressed feature must be the top one', () => {
  const s = sup({ entity: 'i-0abc', scope: { kind: 'feature', feature: 'network.bytes_out' } });
  assert.equal(matchSuppression(behaviourFinding('i-0abc', [['network.bytes_out', 0.8], ['network.flows', 0.15]]), [s], NOW)?.id, 'x');
  assert.equal(matchSuppression(behaviourFinding('i-0abc', [['dns.queries', 0.6], ['network.bytes_out', 0.3]]), [s], NOW), undefined, 'driven by something else: still alerts');
  assert.equal(matchSuppression(behaviourFinding('i-0abc', [['network.bytes_out', 0.8]]), [sup({ entity: 'i-0abc', scope: { kind: 'cidr', cidr: '10.0.0.0/8' } })], NOW), undefined, 'a range never covers a finding without an address');
  assert.equal(matchSuppression(behaviourFinding('i-0abc', [['network.bytes_out', 0.8]]), [sup({ entity: 'i-0abc' })], NOW)?.id, 'x', 'the whole entity');
});

test('store: add (default 30 days, never), dedupe, list with state and text, remove, expire', () => {
  const lake = tmpLake();
  const store = openFeedback(lake);
  assert.deepEqual(store.suppressions(), []);
  const a = store.addSuppression({ entity: 'alice', scope: { kind: 'cidr', cidr: '203.0.113.9/24' }, reason: 'marked benign by bob: VPN' }, NOW);
  assert.equal(a.added, true);
  assert.equal(a.suppression.expires_at, new Date(NOW + DEFAULT_EXPIRES_DAYS * DAY).toISOString());
  assert.deepEqual(a.suppression.scope, { kind: 'cidr', cidr: '203.0.113.0/24' });
  assert.match(a.suppression.id, /^[0-9a-f]{16}$/);
  const again = store.addSuppression({ entity: 'alice', scope: { kind: 'cidr', cidr: '203.0.113.0/24' }, reason: 'twice' }, NOW + 1000);
  assert.equal(again.added, false, 'the same active suppression is not added twice');
  assert.equal(again.suppression.id, a.suppression.id);
  const longer = store.addSuppression({ entity: 'alice', scope: { kind: 'cidr', cidr: '203.0.113.0/24' }, expires_at: null, reason: 'forever' }, NOW + 2000);
  assert.equal(longer.added, true, 'a longer-lasting one is added');
  assert.equal(longer.suppression.expires_at, null);
  assert.throws(() => store.addSuppression({ entity: 'alice', scope: { kind: 'any' }, expires_days: 0, reason: 'r' }, NOW), /expiry of 0 days/);

  const listed = store.suppressions({ now: NOW + 3000 });
  assert.deepEqual(listed.map((s) => s.state), ['active', 'active']);
  assert.equal(listed[0]!.text, 'Suppresses findings about alice with addresses in 203.0.113.0/24 (any model) until 2027-01-07 (30 days left). Added 2026-12-08: marked benign by bob: VPN');
  assert.match(listed[1]!.text, /with no expiry/);

  const rm = store.removeSuppression(longer.suppression.id, { by: 'carol', now: NOW + 4000 });
  assert.equal(rm.removed, true);
  assert.equal(store.removeSuppression(longer.suppression.id, { now: NOW + 5000 }).removed, false, 'removing twice appends nothing');
  assert.throws(() => store.removeSuppression('0000000000000000'), FeedbackError);
  const later = store.suppressions({ now: NOW + 5000 });
  assert.equal(later[1]!.state, 'removed');
  assert.match(later[1]!.text, /^Suppressed .*; removed 2026-12-08 by carol\./);
  assert.deepEqual(store.suppressions({ activeAt: NOW + 5000 }).map((s) => s.id), [a.suppression.id]);
  assert.deepEqual(store.suppressions({ activeAt: NOW + 31 * DAY }), [], 'expired after 30 days');
  assert.equal(store.suppressions({ now: NOW + 31 * DAY })[0]!.state, 'expired');
  assert.match(describeSuppression(store.suppressions({ now: NOW + 31 * DAY })[0]!, NOW + 31 * DAY), /; expired 2027-01-07\./);
  // Active in the past (before the removal) and now.
  assert.equal(matchSuppression(pairFinding('alice', '203.0.113.5'), store.suppressions({ now: NOW + 5000 }), NOW + 3500)?.id, a.suppression.id);
  assert.equal(readFileSync(feedbackPath(lake), 'utf8').trim().split('\n').length, 3, 'two suppressions and one removal');
});

test('store: a torn last line is skipped and the next record starts on a line of its own; other bad lines are reported', () => {
  const lake = tmpLake();
  const store = openFeedback(lake);
  const a = store.addSuppression({ entity: 'alice', scope: { kind: 'any' }, reason: 'r' }, NOW);
  appendFileSync(feedbackPath(lake), '{"type":"suppression","id":"torn","at":"2026-12-');
  assert.deepEqual(store.read().skipped, [], 'a torn last line is not a problem');
  assert.deepEqual(store.suppressions({ now: NOW }).map((s) => s.id), [a.suppression.id]);
  const b = store.addSuppression({ entity: 'bob', scope: { kind: 'any' }, reason: 'r' }, NOW);
  const lines = readFileSync(feedbackPath(lake), 'utf8').split('\n');
  assert.equal(lines.length, 4);
  assert.equal(JSON.parse(lines[2]!).id, b.suppression.id, 'the record after the torn line is intact');
  assert.deepEqual(store.suppressions({ now: NOW }).map((s) => s.id), [a.suppression.id, b.suppression.id]);
  assert.deepEqual(store.read().skipped, [{ line: 2, reason: 'not JSON' }], 'the torn line, now in the middle, is reported');
  assert.deepEqual(parseFeedback('{"type":"nope","id":"1","at":"2026-12-08T00:00:00Z"}\n').skipped.map((s) => s.line), [1]);
});

test('store: concurrent writers (separate processes) never interleave records', async () => {
  const lake = tmpLake();
  const here = fileURLToPath(new URL('.', import.meta.url));
  // Large records (about 3 KB each), 4 processes appending at the same time.
  const file = path.join(lake, 'writer.mts');
  writeFileSync(
    file,
    `import { openFeedback } from ${JSON.stringify(path.join(here, 'feedback.ts'))};
const s = openFeedback(process.argv[2]);
for (let i = 0; i < 40; i++) s.addVerdict({ target_uid: process.argv[3] + '-' + i, target_kind: 'finding', verdict: 'benign', entity: 'e'.repeat(3000) });\n`,
  );
  await Promise.all(
    [0, 1, 2, 3].map(
      (k) =>
        new Promise<void>((resolve, reject) => {
          const c = spawn(process.execPath, ['--import', 'tsx', file, lake, `p${k}`], { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          c.stderr.on('data', (d: Buffer) => (err += d.toString()));
          c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${k} exited ${code}: ${err}`))));
        }),
    ),
  );
  const log = openFeedback(lake).read();
  assert.deepEqual(log.skipped, []);
  const uids = new Set(log.records.map((r) => (r.type === 'verdict' ? r.target_uid : '')));
  assert.equal(uids.size, 160);
  for (const p of ['p0', 'p1', 'p2', 'p3']) for (let i = 0; i < 40; i++) assert.ok(uids.has(`${p}-${i}`), `${p}-${i}`);
});

test('an S3 lake is refused with a clear message', () => {
  assert.throws(() => openFeedback('s3://bucket/lake'), /local lake only/);
});

// ---- verdicts on a lake --------------------------------------------------------------------------------------

async function lakeWith(findings: DetectionFinding[]): Promise<string> {
  const lake = tmpLake();
  await publishFindings(lake, findingsObjectKey('aws/CLOUD_TRAIL_MGMT/2.0/region=us-east-1/accountId=123456789012/eventDay=20261207/o.parquet', { region: 'us-east-1', accountId: '123456789012', eventDay: '20261207' }), findings);
  return lake;
}

test('giveVerdict: benign adds the default scope, malicious keeps a labelled example, latest verdict wins for calibration', async () => {
  const f1 = pairFinding('alice', '203.0.113.77', { row: 1 });
  const f2 = pairFinding('alice', '198.51.100.9', { row: 2 });
  const f3 = behaviourFinding('i-0abc', [['network.bytes_out', 0.8]]);
  const lake = await lakeWith([f1, f2, f3]);
  const r1 = await giveVerdict(lake, { uid: f1.finding_info.uid, verdict: 'benign', by: 'bob', note: 'VPN exit', now: NOW });
  assert.equal(r1.unchanged, false);
  assert.equal(r1.verdict.entity, 'alice');
  assert.equal(r1.verdict.ip, '203.0.113.77');
  assert.equal(r1.verdict.model, 'logins');
  assert.deepEqual(r1.suppressions.map((s) => [s.entity, s.scope, s.from_uid, s.reason]), [['alice', { kind: 'cidr', cidr: '203.0.113.0/24' }, f1.finding_info.uid, 'marked benign: VPN exit']]);
  const active = openFeedback(lake).suppressions({ activeAt: NOW + 1 });
  assert.equal(matchSuppression(pairFinding('alice', '203.0.113.5', { row: 9 }), active, NOW + 1)?.id, r1.suppression!.id, 'a new finding in the range is suppressed');
  assert.equal(matchSuppression(f2, active, NOW + 1), undefined);
  // The same again: nothing appended.
  const again = await giveVerdict(lake, { uid: f1.finding_info.uid, verdict: 'benign', by: 'bob', now: NOW + 10 });
  assert.equal(again.unchanged, true);
  assert.equal(again.suppression?.id, r1.suppression!.id);
  // Removed, then marked benign again: the suppression comes back (a new one).
  openFeedback(lake).removeSuppression(r1.suppression!.id, { now: NOW + 11 });
  const back = await giveVerdict(lake, { uid: f1.finding_info.uid, verdict: 'benign', now: NOW + 12 });
  assert.equal(back.unchanged, false);
  assert.notEqual(back.suppression?.id, r1.suppression!.id);
  assert.equal(matchSuppression(pairFinding('alice', '203.0.113.5', { row: 9 }), openFeedback(lake).suppressions({ activeAt: NOW + 13 }), NOW + 13)?.id, back.suppression!.id);

  const r2 = await giveVerdict(lake, { uid: f2.finding_info.uid, verdict: 'malicious', now: NOW + 20 });
  assert.deepEqual(r2.suppressions, []);
  const r3 = await giveVerdict(lake, { uid: f3.finding_info.uid, verdict: 'benign', expires_days: null, model_only: true, now: NOW + 30 });
  assert.deepEqual(r3.suppressions.map((s) => [s.scope, s.model, s.expires_at]), [[{ kind: 'feature', feature: 'network.bytes_out' }, 'rcf-network', null]]);

  let ex = feedbackExamples(lake, 'logins');
  assert.deepEqual(ex.benign.map((e) => [e.entity, e.ip]), [['alice', '203.0.113.77']]);
  assert.deepEqual(ex.malicious.map((e) => [e.entity, e.ip]), [['alice', '198.51.100.9']]);
  assert.deepEqual(feedbackExamples(lake, 'rcf-network').benign.map((e) => [e.entity, e.features, e.window_start]), [['i-0abc', ['network.bytes_out'], NOW - 7_200_000]]);
  // Changed mind: f1 is malicious after all. The suppression stays (it is listed and removable) and is reported.
  const r4 = await giveVerdict(lake, { uid: f1.finding_info.uid, verdict: 'malicious', now: NOW + 40 });
  assert.deepEqual(r4.covered_by.map((s) => s.id), [back.suppression!.id]);
  ex = feedbackExamples(lake, 'logins');
  assert.deepEqual(ex.benign, []);
  assert.deepEqual(ex.malicious.map((e) => e.ip).sort(), ['198.51.100.9', '203.0.113.77']);
});

test('giveVerdict: an explicit scope must cover the finding; unknown uids say whether incidents can be looked up', async () => {
  const f1 = pairFinding('alice', '203.0.113.77', { row: 1 });
  const lake = await lakeWith([f1]);
  await assert.rejects(giveVerdict(lake, { uid: f1.finding_info.uid, verdict: 'benign', scope: parseScope('cidr:10.0.0.0/8'), now: NOW }), /does not contain the finding's address 203\.0\.113\.77/);
  await assert.rejects(giveVerdict(lake, { uid: f1.finding_info.uid, verdict: 'benign', scope: parseScope('feature:x'), now: NOW }), /names no behaviour features/);
  const wide = await giveVerdict(lake, { uid: f1.finding_info.uid, verdict: 'benign', scope: parseScope('entity'), expires_days: 7, now: NOW });
  assert.deepEqual(wide.suppression?.scope, { kind: 'any' });
  assert.equal(wide.suppression?.expires_at, new Date(NOW + 7 * DAY).toISOString());
  // Whether the lake has an incidents view depends on the views registered in this process (src/findings/incidents-view.ts).
  await assert.rejects(giveVerdict(lake, { uid: 'f'.repeat(32), verdict: 'benign', now: NOW }), /no finding with uid "f{32}" in .*no incidents view yet|no finding or incident with uid "f{32}"/);
});

test('giveVerdict on an incident of the lake: each member finding gets its own default scope (deduplicated)', async () => {
  const m1 = pairFinding('alice', '203.0.113.77', { row: 1 });
  const m2 = pairFinding('alice', '203.0.113.78', { row: 2, model: 'logins-history' });
  const m3 = pairFinding('alice', '198.51.100.9', { row: 3 });
  const lake = await lakeWith([m1, m2, m3]);
  // The incident the monitor would write for them (src/findings/incidents.ts), published like the monitor does.
  const revisions = new IncidentBuilder().add([m1, m2, m3], 'o.parquet');
  const incident = revisions[revisions.length - 1]!.incident;
  const incUid = (incident.unmapped as { incident_uid?: string }).incident_uid ?? (incident.metadata as { correlation_uid: string }).correlation_uid;
  await publishFindings(lake, findingsObjectKey('aws/CLOUD_TRAIL_MGMT/2.0/region=us-east-1/accountId=123456789012/eventDay=20261207/o.parquet', { region: 'us-east-1', accountId: '123456789012', eventDay: '20261207' }), [m1, m2, m3, incident]);
  const r = await giveVerdict(lake, { uid: incUid, verdict: 'benign', now: NOW });
  assert.equal(r.verdict.target_kind, 'incident');
  assert.equal(r.verdict.entity, 'alice');
  assert.deepEqual(r.missing, []);
  assert.deepEqual(r.verdict.members?.map((m) => m.finding_uid).sort(), [m1, m2, m3].map((f) => f.finding_info.uid).sort());
  assert.deepEqual(r.suppressions.map((s) => scopeText(s.scope)).sort(), ['cidr:198.51.100.0/24', 'cidr:203.0.113.0/24'], 'two findings in one /24 share a suppression');
  assert.deepEqual(r.verdict.suppression_ids, r.suppressions.map((s) => s.id));
  assert.deepEqual(feedbackExamples(lake, 'logins').benign.map((e) => [e.ip, e.target_uid]).sort(), [['198.51.100.9', incUid], ['203.0.113.77', incUid]]);
  assert.deepEqual(feedbackExamples(lake, 'logins-history').benign.map((e) => e.ip), ['203.0.113.78']);
  // A finding marked malicious after the incident was marked benign: the finding's own, later verdict counts.
  await giveVerdict(lake, { uid: m3.finding_info.uid, verdict: 'malicious', now: NOW + 1000 });
  assert.deepEqual(feedbackExamples(lake, 'logins').malicious.map((e) => e.ip), ['198.51.100.9']);
  assert.deepEqual(feedbackExamples(lake, 'logins').benign.map((e) => e.ip), ['203.0.113.77']);
  await assert.rejects(giveVerdict(lake, { uid: 'nope', verdict: 'benign', now: NOW }), (e: unknown) => e instanceof FeedbackError && /no finding or incident with uid "nope"/.test(e.message));
});
