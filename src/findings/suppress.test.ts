/**
 * Suppressions applied before findings are written: a covered finding is kept as status "Suppressed" with the
 * suppression's id, validates, joins no incident and is left out of sinks (emitFindings); the lake's feedback store is
 * read again when it changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validateEvent } from '../ocsf/validate.js';
import { MemorySink } from '../sinks/memory/index.js';
import { emitFindings } from './emit.js';
import { openFeedback } from './feedback.js';
import { IncidentBuilder } from './incidents.js';
import { FindingPolicy } from './policy.js';
import { applySuppressions, isSuppressed, lakeSuppressions, markSuppressed } from './suppress.js';
import { ipiModelRef } from './test-support.js';
import type { ScoredRecord } from './types.js';

const OBJ = 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20260302/a.parquet';
const T = Date.UTC(2026, 2, 2, 2, 10);
const MODEL = ipiModelRef('flows', '0a0a0a0a', -2);

function rec(entity: string, ip: string, row: number): ScoredRecord {
  return {
    ref: { object: OBJ, row, source: 'VPC_FLOW' },
    entity,
    ip,
    time: T + row,
    native_score: -4,
    entity_known: true,
    entity_count: 10,
    anomaly_percentile: 0.999,
    is_anomaly: true,
    event: { class_uid: 4001, time: T + row },
  };
}

test('the lake feedback store: a suppression covers its entity and range, is written as Suppressed, never joins an incident or reaches a sink', async () => {
  const lake = mkdtempSync(path.join(tmpdir(), 'seclake-suppress-'));
  try {
    const source = lakeSuppressions(lake);
    assert.equal(source.count(), 0);
    const fb = openFeedback(lake);
    const { suppression } = fb.addSuppression({ entity: 'db-1', scope: { kind: 'cidr', cidr: '10.0.99.0/24' }, reason: 'backup job', expires_days: 7 }, T - 1000);
    assert.equal(source.count(), 1, 're-read after the file changed');
    const sink = new MemorySink();
    const res = await emitFindings([rec('db-1', '10.0.99.42', 1), rec('db-1', '198.51.100.7', 2), rec('web-1', '10.0.99.42', 3)], {
      policy: new FindingPolicy(),
      model: MODEL,
      sourceObject: OBJ,
      partition: { region: 'us-east-1', accountId: '123456789012', eventDay: '20260302' },
      lakeDir: lake,
      sinks: [sink],
      suppressions: source,
      suppressAt: T,
    });
    assert.equal(res.findings.length, 3, 'every finding is written');
    const [sup, other, web] = res.findings;
    assert.ok(isSuppressed(sup!));
    assert.equal(sup!.status, 'Suppressed');
    assert.equal((sup!.unmapped as Record<string, unknown>).suppressed_by, suppression.id);
    assert.deepEqual(validateEvent(sup!).filter((i) => i.severity === 'error'), []);
    assert.ok(!isSuppressed(other!), 'another address of the entity');
    assert.ok(!isSuppressed(web!), 'another entity in the range');
    assert.deepEqual(sink.findings.map((f) => f.finding_info.uid), [other, web].map((f) => f!.finding_info.uid), 'suppressed findings are not sent');
    const revs = new IncidentBuilder().add(res.findings, OBJ);
    assert.deepEqual(revs.map((r) => r.incident.unmapped.finding_uids).flat().sort(), [other, web].map((f) => f!.finding_info.uid).sort(), 'a suppressed finding joins no incident');
    // Expired or removed: no longer applied.
    assert.equal(applySuppressions([other!], source, T + 8 * 86_400_000).some(isSuppressed), false);
    fb.removeSuppression(suppression.id, { now: T + 1000 });
    const again = applySuppressions([markSuppressed(sup!, 'x'), { ...sup!, status_id: 1, unmapped: { ...(sup!.unmapped as object), suppressed_by: undefined } } as typeof sup], source, T + 2000);
    assert.equal(again[0]!.status_id, 3, 'already suppressed: kept');
    assert.equal(again[1]!.status_id, 1, 'the suppression was removed');
  } finally {
    rmSync(lake, { recursive: true, force: true });
  }
});
