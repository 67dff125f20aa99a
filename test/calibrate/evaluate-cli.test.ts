/**
 * `seclake evaluate` run as a user runs it (node --import tsx src/cli/main.ts) over a small lake: pair findings of an
 * IP model and window findings of a behaviour model published as the monitor publishes them, incidents built from
 * them by the IncidentBuilder and published as Incident Findings (the `incidents` view), one finding suppressed, and
 * a labels file in the documented format (docs/labels.md). Then the same lake without incidents.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFinding } from '../../src/findings/build.js';
import { buildBehaviourFinding, type BehaviourContext } from '../../src/findings/behaviour.js';
import { IncidentBuilder } from '../../src/findings/incidents.js';
import { findingsObjectKey, publishFindings } from '../../src/findings/lake.js';
import { IPI } from '../../src/findings/test-support.js';
import type { DetectionFinding, ModelRef, ScoredRecord } from '../../src/findings/types.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
const H = 3_600_000;
const T0 = Date.UTC(2026, 4, 6, 0, 0);
const PART = { region: 'us-east-1', accountId: '123456789012', eventDay: '20260506' };

const FLOWS: ModelRef = { name: 'flows', version: '0a0a0a0a', detector: IPI, threshold: -2 };
const RCF: ModelRef = {
  name: 'behaviour',
  version: '0c0c0c0c',
  threshold: 1.5,
  detector: { type: 'rcf', title: 'Random Cut Forest', score: { name: 'score', direction: 'higher_is_anomalous', default_threshold: 3 }, finding_type: 'Anomalous Behaviour' },
};
const BCTX: BehaviourContext = { model: RCF, threshold: 1.5, thresholdSource: 'calibrated', normalMedian: 0.75, sets: ['network'], views: ['vpc_flow'] };

function pair(object: string, row: number, entity: string, ip: string, time: number, p: number): DetectionFinding {
  const rec: ScoredRecord = {
    ref: { object, row, source: 'VPC_FLOW' },
    entity,
    ip,
    time,
    native_score: -4,
    entity_known: true,
    entity_count: 100,
    anomaly_percentile: 1 - p,
    is_anomaly: true,
    event: { class_uid: 4001, time, src_endpoint: { ip: '10.0.1.5', instance_uid: entity }, dst_endpoint: { ip } },
  };
  const f = buildFinding(rec, { model: FLOWS, kind: 'anomaly' });
  Object.assign(f.unmapped as Record<string, unknown>, { p_value: p });
  return f;
}

function window(entity: string, start: number, p: number): DetectionFinding {
  const f = buildBehaviourFinding(
    {
      entity,
      window_start: start,
      window_end: start + H,
      native_score: 6,
      entity_known: true,
      anomaly_percentile: 1 - p,
      features: { 'network.peers': 40 },
      explanation: { reason: 'peers 40 in this hour; usually 3', details: { features: [{ feature: 'network.peers', text: 'peers 40 in this hour; usually 3' }] } },
    },
    BCTX,
  );
  Object.assign(f.unmapped as Record<string, unknown>, { p_value: p });
  return f;
}

// Labels as a red team writes them: A1 an address attack with its (entity, ip) records, A2 a behaviour attack given
// as a behaviour window only (no records), A3 an attack nothing finds.
const LABELS = [
  {
    attack_id: 'A1-exfil',
    kind: 'exfiltration',
    category: 'address',
    start: new Date(T0 + 1 * H).toISOString(),
    end: new Date(T0 + 1 * H + 600_000).toISOString(),
    entities: ['i-app'],
    records: [
      { file: 'f1', position: 2, view: 'vpc_flow', time: T0 + 1 * H + 60_000, entity: 'i-app', ip: '203.0.113.9' },
      { file: 'f1', position: 3, view: 'vpc_flow', time: T0 + 1 * H + 120_000, entity: 'i-app', ip: '203.0.113.9' },
      { file: 'f1', position: 4, view: 'vpc_flow', time: T0 + 1 * H + 180_000, entity: 'i-app', ip: '203.0.113.10' },
    ],
  },
  { attack_id: 'A2-dns', kind: 'dns_tunnelling', category: 'behaviour', start_ms: T0 + 5 * H + 600_000, end_ms: T0 + 5 * H + 1_800_000, behaviour: [{ entity: 'i-web' }] },
  { attack_id: 'A3-burst', kind: 'api_burst', category: 'behaviour', start_ms: T0 + 20 * H, end_ms: T0 + 20 * H + 300_000, entity: 'i-batch' },
];

let lake: string;
let bare: string;
let labelsFile: string;

function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function publish(dir: string, object: string, fs: DetectionFinding[], incidents: boolean): Promise<void> {
  await publishFindings(dir, findingsObjectKey(object, PART), fs);
  if (incidents) {
    const revs = new IncidentBuilder().add(fs, object);
    await publishFindings(dir, findingsObjectKey(object, PART), revs.map((r) => r.incident));
  }
}

before(async () => {
  lake = mkdtempSync(path.join(tmpdir(), 'seclake-evaluate-cli-'));
  bare = mkdtempSync(path.join(tmpdir(), 'seclake-evaluate-cli-bare-'));
  labelsFile = path.join(lake, 'labels.jsonl');
  writeFileSync(labelsFile, LABELS.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const O1 = 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20260506/o1.parquet';
  const O2 = 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20260506/o2.parquet';
  const O3 = 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20260506/o3.parquet';
  // Object 1: on i-app, the attack pair (TP), the same entity with a usual address (FP), the behaviour window over
  // the attack (TP): one incident of i-app, true. On i-db a false pair: its own incident, false.
  const o1 = [
    pair(O1, 1, 'i-app', '203.0.113.9', T0 + 1 * H + 60_000, 1e-6),
    pair(O1, 2, 'i-app', '52.216.1.1', T0 + 1 * H + 300_000, 1e-3),
    window('i-app', T0 + 1 * H, 1e-4),
    pair(O1, 3, 'i-db', '198.51.100.7', T0 + 2 * H, 1e-5),
  ];
  // Object 2: the DNS tunnel window on i-web (TP), a false window on i-web 10 h later (another incident, false).
  const o2 = [window('i-web', T0 + 5 * H, 1e-3), window('i-web', T0 + 15 * H, 1e-2)];
  // Object 3 (next day): a false pair, suppressed by an analyst (status_id 3): left out and counted.
  const sup = pair(O3, 1, 'i-db', '198.51.100.8', T0 + 26 * H, 0.05);
  Object.assign(sup, { status_id: 3, status: 'Suppressed' });
  for (const [dir, inc] of [[lake, true], [bare, false]] as const) {
    await publish(dir, O1, o1, inc);
    await publish(dir, O2, o2, inc);
    await publishFindings(dir, findingsObjectKey(O3, PART), [sup]);
  }
});

after(() => {
  rmSync(lake, { recursive: true, force: true });
  rmSync(bare, { recursive: true, force: true });
});

describe('seclake evaluate', () => {
  it('scores findings per detector and combined, and incidents through their members; writes the PNG and the HTML report', () => {
    const png = path.join(lake, 'out', 'pr.png');
    const html = path.join(lake, 'out', 'eval.html');
    const r = cli(['evaluate', '--lake', lake, '--labels', labelsFile, '--json', '--plot', png, '--report', html]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const f = j.findings;
    // 6 findings counted (the suppressed one left out): TP = attack pair, i-app window, i-web window.
    assert.equal(j.suppressed, 1);
    assert.equal(f.findings, 6);
    assert.equal(f.true_positives, 3);
    assert.equal(f.precision, 0.5);
    assert.equal(f.attacks_detected, 2);
    const by = Object.fromEntries(f.per_detector.map((d: { name: string }) => [d.name, d]));
    assert.deepEqual([by.flows.findings, by.flows.true_positives, by.flows.attacks_detected, by.flows.detector], [3, 1, 1, 'ipinsights']);
    assert.deepEqual([by.behaviour.findings, by.behaviour.true_positives, by.behaviour.attacks_detected, by.behaviour.detector], [3, 2, 2, 'rcf']);
    // Pair record recall: (i-app, 203.0.113.9) covers 2 of the 3 pair records.
    assert.deepEqual([by.flows.detected_records, by.flows.scored_records], [2, 3]);
    assert.deepEqual(f.per_kind.exfiltration, { category: 'address', attacks: 1, detected: 1, findings: 2 });
    assert.deepEqual(f.per_kind.api_burst, { category: 'behaviour', attacks: 1, detected: 0, findings: 0 });
    // Incidents: i-app (true), i-db (false), i-web 05:00 (true), i-web 15:00 (false; 10 h after the first).
    const i = j.incidents;
    assert.ok(i, JSON.stringify(j.incidents_note));
    assert.equal(i.incidents, 4);
    assert.equal(i.true_positives, 2);
    assert.equal(i.precision, 0.5);
    assert.equal(i.attacks_detected, 2);
    assert.equal(i.unresolved_members, 0);
    assert.deepEqual(i.per_kind.dns_tunnelling, { category: 'behaviour', attacks: 1, detected: 1, findings: 0, incidents: 1 });
    assert.deepEqual(i.per_attack.map((a: { attack_id: string; incidents: number }) => [a.attack_id, a.incidents]), [['A1-exfil', 1], ['A2-dns', 1], ['A3-burst', 0]]);
    // Alerts per day: the whole UTC days touched (labels and alerts on 05-06, the suppressed finding is not counted).
    assert.equal(j.alerts_per_day.days, 1);
    assert.equal(j.alerts_per_day.findings_per_day, 6);
    assert.equal(j.alerts_per_day.incidents_per_day, 4);
    // Curves: findings ranked by p-value; the strongest (the attack pair, p 1e-6) first.
    assert.equal(j.curves.combined.rank_by, 'p_value ascending');
    assert.equal(j.curves.combined.points.length, 6);
    // Record recall over mixed (pair and window) findings counts every labelled record with an entity: A1's 3.
    assert.deepEqual(j.curves.combined.points[0], { k: 1, precision: 1, attack_recall: 1 / 3, record_recall: 2 / 3 });
    assert.equal(j.curves.incidents.points.length, 4);
    assert.equal(j.curves.incidents.points.at(-1).precision, 0.5);
    assert.equal(readFileSync(png).subarray(1, 4).toString('latin1'), 'PNG');
    const page = readFileSync(html, 'utf8');
    assert.equal(page.match(/<svg /g)?.length, 3);
    assert.match(page, /incident precision \(2\/4\)/);
    assert.match(page, /1 suppressed finding/);
  });

  it('prints the tables; --since/--until and --models narrow what is scored', () => {
    const r = cli(['evaluate', '--lake', lake, '--labels', labelsFile]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^findings: precision 50\.0% \(3\/6\), attacks found 2\/3; incidents: precision 50\.0% \(2\/4\), attacks found 2\/3; alerts per day: 6\.0 findings, 4\.0 incidents/);
    assert.match(r.stdout, /flows \(ipinsights\)\s+3\s+1\s+33\.3%/);
    assert.match(r.stdout, /incidents\s+4\s+2\s+50\.0%\s+2\/3/);
    assert.match(r.stdout, /dns_tunnelling\s+behaviour\s+(\S+\s+){2}1\/1\s+1\/1/);
    assert.match(r.stdout, /Suppressed findings \(status_id 3\) left out: 1/);
    // Only the first 4 hours: A1 and the i-app/i-db alerts.
    const w = JSON.parse(cli(['evaluate', '--lake', lake, '--labels', labelsFile, '--json', '--since', new Date(T0).toISOString(), '--until', new Date(T0 + 4 * H).toISOString()]).stdout);
    assert.deepEqual([w.findings.attacks, w.findings.findings, w.findings.true_positives, w.incidents.incidents, w.incidents.true_positives], [1, 4, 2, 2, 1]);
    assert.equal(w.alerts_per_day.days, 4 / 24);
    // Only the IP model: incidents scored through its members (the i-web incidents have none and drop out).
    const m = JSON.parse(cli(['evaluate', '--lake', lake, '--labels', labelsFile, '--json', '--models', 'flows']).stdout);
    assert.deepEqual(m.findings.per_detector.map((d: { name: string }) => d.name), ['flows']);
    assert.deepEqual([m.findings.findings, m.incidents.incidents, m.incidents.true_positives, m.incidents.attacks_detected, m.incidents.unresolved_members], [3, 2, 1, 1, 0]);
    // --include-suppressed: the suppressed (false) pair counts as an alert.
    const s = JSON.parse(cli(['evaluate', '--lake', lake, '--labels', labelsFile, '--json', '--include-suppressed']).stdout);
    assert.deepEqual([s.suppressed, s.findings.findings, s.findings.true_positives], [0, 7, 3]);
  });

  it('a lake without incident objects: findings only, and it says so', () => {
    const r = cli(['evaluate', '--lake', bare, '--labels', labelsFile]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /incidents: n\/a/);
    assert.match(r.stdout, /Incidents: not evaluated \(the lake has no incident objects/);
    const j = JSON.parse(cli(['evaluate', '--lake', bare, '--labels', labelsFile, '--json']).stdout);
    assert.equal(j.incidents, null);
    assert.equal(j.curves.incidents, null);
    assert.equal(j.findings.true_positives, 3);
  });

  it('a bad labels line is named by file, line and field', () => {
    const bad = path.join(lake, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify(LABELS[0])}\n{"attack_id":"x","start_ms":5}\n`);
    const r = cli(['evaluate', '--lake', lake, '--labels', bad]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /bad\.jsonl/);
    assert.match(r.stderr, /end_ms/);
  });
});
