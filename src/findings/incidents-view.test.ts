/**
 * The `incidents` and `incident_revisions` views over incidents objects published into a lake: the contract's
 * columns (docs/incidents.md), the latest revision per incident, and incidents kept out of the `findings` view.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openLakeQuery } from '../lake/views.js';
import { buildFinding } from './build.js';
import { IncidentBuilder } from './incidents.js';
import { INCIDENTS_VIEW_COLUMN_NAMES } from './incidents-view.js';
import { findingsKeyForClass, findingsObjectKey, publishFindings } from './lake.js';
import { ipiModelRef } from './test-support.js';
import type { DetectionFinding, ScoredRecord } from './types.js';

const PART = { region: 'us-east-1', accountId: '123456789012', eventDay: '20260302' };
const T = Date.UTC(2026, 2, 2, 2, 10);

function finding(object: string, time: number, p: number): DetectionFinding {
  const rec: ScoredRecord = {
    ref: { object, row: 1, source: 'VPC_FLOW' },
    entity: 'i-0db0db0db0db0db0d',
    ip: '10.0.99.42',
    time,
    native_score: -4,
    entity_known: true,
    entity_count: 10,
    anomaly_percentile: 1 - p,
    is_anomaly: true,
    event: { class_uid: 4001, time },
  };
  return buildFinding(rec, { model: ipiModelRef('flows', '0a0a0a0a', -2), kind: 'anomaly' });
}

test('incident_revisions holds every revision, incidents the latest; the findings view only detections', async () => {
  const lake = mkdtempSync(path.join(tmpdir(), 'seclake-incidents-view-'));
  try {
    const b = new IncidentBuilder();
    for (const [i, obj] of ['aws/VPC_FLOW/2.0/a.parquet', 'aws/VPC_FLOW/2.0/b.parquet'].entries()) {
      const f = finding(obj, T + i * 600_000, 0.001 / (i + 1));
      const key = findingsObjectKey(obj, PART);
      await publishFindings(lake, key, [f]);
      const revs = b.add([f], obj);
      assert.equal(revs.length, 1);
      await publishFindings(lake, findingsKeyForClass(key, 2005), revs.map((r) => r.incident));
    }
    const db = await openLakeQuery(lake);
    try {
      const cols = await db.all(`SELECT column_name, column_type AS data_type FROM (DESCRIBE SELECT * FROM incidents)`);
      assert.deepEqual(cols.map((c) => c.column_name), INCIDENTS_VIEW_COLUMN_NAMES);
      assert.deepEqual(
        Object.fromEntries(cols.map((c) => [c.column_name, c.data_type])),
        {
          uid: 'VARCHAR', revision: 'INTEGER', time: 'BIGINT', start_time: 'BIGINT', end_time: 'BIGINT', entity: 'VARCHAR', severity_id: 'INTEGER', severity: 'VARCHAR',
          status_id: 'INTEGER', status: 'VARCHAR', title: 'VARCHAR', message: 'VARCHAR', score: 'DOUBLE', p_value: 'DOUBLE', low_support: 'BOOLEAN', detectors: 'VARCHAR',
          models: 'VARCHAR', finding_uids: 'VARCHAR', finding_count: 'INTEGER', timeline: 'VARCHAR', incident: 'VARCHAR', region: 'VARCHAR', accountId: 'VARCHAR', eventDay: 'VARCHAR',
        },
      );
      const revs = await db.all('SELECT uid, revision, finding_count, entity, status, low_support, detectors, eventDay FROM incident_revisions ORDER BY revision');
      assert.equal(revs.length, 2);
      assert.deepEqual(revs.map((r) => r.revision), [1, 2]);
      assert.equal(revs[0]!.uid, revs[1]!.uid);
      const [latest, ...rest] = await db.all('SELECT uid, revision, finding_count, time, start_time, end_time, detectors, timeline, p_value, score, title, incident FROM incidents');
      assert.equal(rest.length, 0);
      assert.equal(latest!.revision, 2);
      assert.equal(latest!.finding_count, 2);
      assert.equal(Number(latest!.start_time), T);
      assert.equal(Number(latest!.end_time), T + 600_000);
      assert.deepEqual(JSON.parse(String(latest!.detectors)), ['ipinsights']);
      assert.equal((JSON.parse(String(latest!.timeline)) as unknown[]).length, 2);
      assert.equal((JSON.parse(String(latest!.incident)) as { class_uid: number }).class_uid, 2005);
      assert.ok(Number(latest!.score) > 3);
      assert.equal(revs[0]!.status, 'New');
      assert.equal(revs[0]!.low_support, false);
      assert.equal(revs[0]!.eventDay, '20260302');
      const classes = await db.all('SELECT DISTINCT class_uid FROM findings');
      assert.deepEqual(classes.map((r) => r.class_uid), [2004], 'incidents stay out of the findings view');
    } finally {
      db.close();
    }
  } finally {
    rmSync(lake, { recursive: true, force: true });
  }
});

test('an empty lake has empty incidents views with the same columns', async () => {
  const lake = mkdtempSync(path.join(tmpdir(), 'seclake-incidents-view-'));
  try {
    const db = await openLakeQuery(lake);
    try {
      const cols = await db.all(`SELECT column_name FROM (DESCRIBE SELECT * FROM incidents)`);
      assert.deepEqual(cols.map((c) => c.column_name), INCIDENTS_VIEW_COLUMN_NAMES);
      assert.deepEqual(await db.all('SELECT * FROM incident_revisions'), []);
    } finally {
      db.close();
    }
  } finally {
    rmSync(lake, { recursive: true, force: true });
  }
});
