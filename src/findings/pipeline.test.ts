/**
 * The findings pieces with a real model: train a small IP Insights model to a file, load it, score normal and
 * abnormal pairs, calibrate the scores (the calibrate module's percentile math), run the policy with the model's
 * entity history, and publish to a lake: every finding validates, explanations name real training addresses.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { anomalyPercentile } from '../detectors/calibration.js';
import { IpInsightsModel } from '../detectors/ipinsights/index.js';
import { subnetData, trainTiny } from '../detectors/ipinsights/test-helpers.js';
import { openLakeQuery } from '../lake/views.js';
import { validateEvent } from '../ocsf/validate.js';
import { findingsObjectKey, publishFindings } from './lake.js';
import { modelRefOf } from './model-ref.js';
import { FindingPolicy } from './policy.js';
import type { ScoredRecord } from './types.js';

let dir: string;
let model: IpInsightsModel;
const USERS = 20;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seclake-findings-pipeline-'));
  const file = path.join(dir, 'logins.model');
  await trainTiny(subnetData(USERS, 40), {}, { modelPath: file });
  model = await IpInsightsModel.load(file);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('real model -> scored records -> policy -> findings that validate, with explanations from the model history', async () => {
  const normal: { entity: string; ip: string }[] = [];
  const abnormal: { entity: string; ip: string }[] = [];
  for (let u = 0; u < USERS; u++) {
    for (let h = 1; h <= 20; h++) normal.push({ entity: `user_${u}`, ip: `10.${u}.${u}.${h}` });
    const v = (u + 7) % USERS;
    abnormal.push({ entity: `user_${u}`, ip: `10.${v}.${v}.${u + 1}` });
  }
  const normalScores = model.scorePairs(normal).map((r) => r.dot_product).sort((a, b) => a - b);
  const quantiles = Array.from({ length: 101 }, (_, i) => normalScores[Math.min(normalScores.length - 1, Math.round((i / 100) * (normalScores.length - 1)))]!);
  const threshold = normalScores[Math.floor(normalScores.length * 0.01)]!;
  const ref = { ...modelRefOf(model), threshold };
  assert.equal(ref.name, 'logins');

  const pairs = [...normal, ...abnormal, { entity: 'newcomer', ip: '192.0.2.1' }, { entity: 'newcomer', ip: '192.0.2.2' }];
  const scores = model.scorePairs(pairs);
  const T0 = Date.UTC(2026, 0, 1);
  const records: ScoredRecord[] = pairs.map((p, row) => {
    const s = scores[row]!;
    const info = model.entityInfo(p.entity);
    return {
      ref: { object: 'aws/CLOUD_TRAIL_MGMT/2.0/region=us-east-1/accountId=1/eventDay=20260101/logins.parquet', row, source: 'CLOUD_TRAIL_MGMT' },
      entity: p.entity,
      ip: p.ip,
      time: T0 + row * 1000,
      native_score: s.dot_product,
      entity_known: s.entity_known === true,
      entity_count: info.count,
      anomaly_percentile: anomalyPercentile(s.dot_product, quantiles),
      is_anomaly: s.dot_product < threshold,
      event: { class_uid: 3002, src_endpoint: { ip: p.ip }, actor: { user: { name: p.entity } } },
    };
  });
  const policy = new FindingPolicy();
  const findings = policy.process(records, { model: ref, history: model.history() });
  for (const f of findings) assert.deepEqual(validateEvent(f).filter((i) => i.severity === 'error'), [], f.finding_info.uid);

  const anomalies = findings.filter((f) => (f.unmapped as Record<string, unknown>).kind === 'anomaly');
  const flaggedAbnormal = anomalies.filter((f) => abnormal.some((a) => a.entity === (f.unmapped as Record<string, unknown>).entity && a.ip === (f.unmapped as Record<string, unknown>).ip));
  assert.ok(flaggedAbnormal.length >= USERS / 2, `the model flags most cross-subnet logins (${flaggedAbnormal.length}/${USERS})`);
  for (const f of flaggedAbnormal) {
    const u = f.unmapped as Record<string, unknown>;
    const e = u.explanation as Record<string, unknown>;
    const n = Number(String(u.entity).slice(5));
    assert.equal(e.entity_history_size, model.history().size(String(u.entity)));
    assert.ok((e.entity_history_size as number) >= 10);
    assert.ok(String(e.nearest_ip).startsWith(`10.${n}.${n}.`), String(e.nearest_ip));
    assert.ok((e.nearest_prefix_len as number) >= 8 && (e.nearest_prefix_len as number) < 24);
    assert.match(String(f.message), new RegExp(`^user_${n} was used from 10\\.\\d+\\.\\d+\\.\\d+; its \\d+ training addresses never shared more than /\\d+ with it \\(nearest 10\\.${n}\\.${n}\\.\\d+\\); score -?[\\d.]+ < threshold -?[\\d.]+, more unusual than [\\d.]+% of normal traffic$`));
  }
  const newcomers = findings.filter((f) => (f.unmapped as Record<string, unknown>).kind === 'new_entity');
  assert.equal(newcomers.length, 1);
  assert.equal(newcomers[0]!.count, 2);
  assert.ok((newcomers[0]!.severity_id as number) <= 2);

  // Into the lake and back through the view.
  const lake = path.join(dir, 'lake');
  await publishFindings(lake, findingsObjectKey(records[0]!.ref.object, { region: 'us-east-1', accountId: '1', eventDay: '20260101' }), findings);
  const db = await openLakeQuery(lake);
  try {
    const rows = await db.all(`SELECT count(*)::INTEGER AS n, count(DISTINCT uid)::INTEGER AS u, min(model_name) AS m FROM findings`);
    assert.deepEqual(rows, [{ n: findings.length, u: findings.length, m: 'logins' }]);
  } finally {
    db.close();
  }
});
