/**
 * Incidents from two detectors in the embedded monitor, over a real lake (behaviour-fixture.ts): the rcf behaviour
 * model and a prefix-history model trained on the same two days (`seclake train --lake --detector history`, registered).
 * In hour 77 the bastion scans its subnet: the history model flags its never-seen peers, the behaviour model its hour.
 * The monitor (the CLI, every registered model) must fuse them into one incident of the bastion that both detectors
 * agree on, readable, valid OCSF 2005, in the `incidents` view, sent to the sink; the app server's exfiltration (rcf
 * only) is an incident of its own. An analyst's suppression of the bastion's scan range keeps those findings out of
 * its incident. Killed between writing the incidents and the checkpoint, a rerun leaves the same incidents.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ingest } from '../../src/ingest/ingest.js';
import { openFeedback } from '../../src/findings/feedback.js';
import { openLakeQuery } from '../../src/lake/views.js';
import { readCheckpoint } from '../../src/monitor/embedded.js';
import { validateEvent } from '../../src/ocsf/validate.js';
import { APP, BASTION, HOUR, T0, buildTrainedLake, cli, type TrainedLake } from './behaviour-fixture.js';

interface IncidentRow {
  uid: string;
  revision: number;
  entity: string;
  severity: string;
  title: string;
  detectors: string[];
  finding_uids: string[];
  finding_count: number;
  start_time: number;
  end_time: number;
  incident: Record<string, unknown>;
}

async function incidents(lakeDir: string, view = 'incidents'): Promise<IncidentRow[]> {
  const db = await openLakeQuery(lakeDir);
  try {
    const rows = await db.all(`SELECT uid, revision, entity, severity, title, detectors, finding_uids, finding_count, start_time, end_time, incident FROM ${view} ORDER BY uid, revision`);
    return rows.map((r) => ({
      uid: String(r.uid),
      revision: Number(r.revision),
      entity: String(r.entity),
      severity: String(r.severity),
      title: String(r.title),
      detectors: JSON.parse(String(r.detectors)) as string[],
      finding_uids: JSON.parse(String(r.finding_uids)) as string[],
      finding_count: Number(r.finding_count),
      start_time: Number(r.start_time),
      end_time: Number(r.end_time),
      incident: JSON.parse(String(r.incident)) as Record<string, unknown>,
    }));
  } finally {
    db.close();
  }
}

async function findings(lakeDir: string): Promise<{ uid: string; entity: string; detector: string; status: string }[]> {
  const db = await openLakeQuery(lakeDir);
  try {
    const rows = await db.all(`SELECT uid, entity, detector, json_extract_string(finding, '$.status') AS status FROM findings ORDER BY uid`);
    return rows.map((r) => ({ uid: String(r.uid), entity: String(r.entity), detector: String(r.detector), status: String(r.status) }));
  } finally {
    db.close();
  }
}

describe('monitor: findings of two detectors fused into incidents', () => {
  let dir: string;
  let t: TrainedLake;
  let reference: IncidentRow[];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-incidents-'));
    t = await buildTrainedLake(dir);
    // The history baseline on the same lake (the two training days and the held-out day), registered next to rcf.
    const r = await cli(['train', '--lake', t.lakeDir, '--detector', 'history', '--pairs', 'flow-peer', '--name', 'peers']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await ingest({ lakeDir: t.lakeDir, paths: t.monitored })).totals.rejects, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // The history model is uncalibrated: its threshold (prefix_score < 25) lies between the scan's new hosts in the
  // bastion's /22 (22.9) and its known peers (about 33); the rcf model is calibrated (the threshold does not apply).
  const args = (lake: string, sink: string): string[] => [
    'monitor', '--lake', lake, '--once', '--after-seq', String(t.startSeq), '--checkpoint-ms', '0', '--json', '--sink', `file:${sink}`, '--threshold', '25',
  ];

  it('the bastion scan: one incident both detectors agree on; the exfiltration: rcf alone', async () => {
    const lakeDir = path.join(dir, 'ref');
    cpSync(t.lakeDir, lakeDir, { recursive: true });
    const sink = path.join(dir, 'ref-sink.jsonl');
    const r = await cli(args(lakeDir, sink));
    assert.equal(r.code, 0, r.stderr);
    const sum = JSON.parse(r.stdout.trim().split('\n').pop()!) as { findings: number; incidents: number; newIncidents: number; failed: number };
    assert.equal(sum.failed, 0);
    reference = await incidents(lakeDir);
    assert.equal(reference.length, sum.newIncidents);
    const bastion = reference.filter((i) => i.entity === BASTION.id);
    assert.equal(bastion.length, 1, `one bastion incident: ${JSON.stringify(bastion.map((i) => i.title))}`);
    const b = bastion[0]!;
    assert.deepEqual(b.detectors, ['history', 'rcf']);
    assert.ok(b.finding_count >= 2);
    // The scan's peers grouped ("new peers 10.0.3.104, 10.0.3.156 and 58 more (history)"), the behaviour window.
    assert.match(b.title, new RegExp(`^${BASTION.id}: 2 detectors agree: `));
    assert.match(b.title, /new peers 10\.0\.3\.\d+, 10\.0\.3\.\d+ and \d+ more \(history\)/);
    assert.match(b.title, /unusual network behaviour \(RCF\)/);
    assert.ok(b.start_time >= T0 + 77 * HOUR - HOUR && b.end_time <= T0 + 78 * HOUR + HOUR, 'around hour 77');
    assert.deepEqual(validateEvent(b.incident).filter((i) => i.severity === 'error'), []);
    assert.equal(b.incident.class_uid, 2005);
    const app = reference.filter((i) => i.entity === APP.id);
    assert.ok(app.some((i) => i.detectors.includes('rcf')), 'the exfiltration window is an incident');
    // Every finding is in one incident.
    const all = await findings(lakeDir);
    assert.deepEqual(reference.flatMap((i) => i.finding_uids).sort(), all.map((f) => f.uid).sort());
    // The sink got incidents only (no --sink-detections), each new incident at least once.
    const sunk = readFileSync(sink, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { class_uid: number; unmapped: { incident_uid: string } });
    assert.deepEqual([...new Set(sunk.map((s) => s.class_uid))], [2005]);
    assert.deepEqual([...new Set(sunk.map((s) => s.unmapped.incident_uid))].sort(), reference.map((i) => i.uid).sort());
    assert.ok(readCheckpoint(lakeDir)!.incidents, 'the incident state is in the checkpoint');
  });

  it('killed after the incidents are written, before the checkpoint: the rerun leaves the same incidents and revisions', async () => {
    assert.ok(reference, 'the uninterrupted run ran');
    const ref = path.join(dir, 'ref');
    const lakeDir = path.join(dir, 'killed');
    cpSync(t.lakeDir, lakeDir, { recursive: true });
    const sink = path.join(dir, 'killed-sink.jsonl');
    // The hour-78 object closes hour 77 (the scan): its findings and incident revisions are written, then the kill.
    const killed = await cli(args(lakeDir, sink), { SECLAKE_FAULT: 'monitor-after-findings:7' });
    assert.notEqual(killed.code, 0);
    assert.match(killed.stderr, /fault point monitor-after-findings \(hit 7\)/);
    const rerun = await cli(args(lakeDir, sink));
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(await incidents(lakeDir, 'incident_revisions'), await incidents(ref, 'incident_revisions'));
    assert.deepEqual(readCheckpoint(lakeDir)!.incidents, readCheckpoint(ref)!.incidents);
  });

  it('a suppression of the scanned range: those findings are written as Suppressed and leave the incident to rcf', async () => {
    const lakeDir = path.join(dir, 'suppressed');
    cpSync(t.lakeDir, lakeDir, { recursive: true });
    const fb = openFeedback(lakeDir);
    fb.addSuppression({ entity: BASTION.id, scope: { kind: 'cidr', cidr: '10.0.3.0/24' }, detector: 'history', reason: 'the scanner is ours' });
    // And every behaviour finding of the app server (the behaviour step applies suppressions too).
    fb.addSuppression({ entity: APP.id, scope: { kind: 'any' }, detector: 'rcf', reason: 'the nightly backup' });
    const sink = path.join(dir, 'suppressed-sink.jsonl');
    const r = await cli([...args(lakeDir, sink), '--sink-detections']);
    assert.equal(r.code, 0, r.stderr);
    const all = await findings(lakeDir);
    const sup = all.filter((f) => f.status === 'Suppressed');
    const supApp = sup.filter((f) => f.entity === APP.id);
    assert.ok(supApp.length >= 1 && supApp.every((f) => f.detector === 'rcf'), `the app server's behaviour findings are suppressed: ${JSON.stringify(sup)}`);
    assert.ok(all.filter((f) => f.entity === APP.id).every((f) => f.status === 'Suppressed'));
    const supBastion = sup.filter((f) => f.entity === BASTION.id);
    assert.ok(supBastion.length >= 1 && supBastion.every((f) => f.detector === 'history'), JSON.stringify(sup));
    const inc = await incidents(lakeDir);
    assert.ok(!inc.some((i) => i.entity === APP.id), 'no incident of the app server: its only findings are suppressed');
    const bastion = inc.filter((i) => i.entity === BASTION.id);
    assert.ok(bastion.length >= 1);
    for (const i of bastion) {
      assert.deepEqual(i.detectors, ['rcf']);
      for (const s of sup) assert.ok(!i.finding_uids.includes(s.uid), 'a suppressed finding joins no incident');
    }
    const sunk = existsSync(sink) ? readFileSync(sink, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { class_uid: number; finding_info?: { uid: string } }) : [];
    assert.ok(sunk.some((s) => s.class_uid === 2004), '--sink-detections');
    for (const s of sup) assert.ok(!sunk.some((x) => x.finding_info?.uid === s.uid), 'a suppressed finding goes to no sink');
  });
});
