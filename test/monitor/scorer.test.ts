/**
 * The monitor's batch scorers: on a worker thread and inline they give the same results; a processor scoring on a
 * worker finds exactly what an inline one finds; when the worker is gone, scoring carries on inline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IpInsightsModel } from '../../src/detectors/ipinsights/index.js';
import { FindingPolicy } from '../../src/findings/policy.js';
import { modelRefOf } from '../../src/findings/model-ref.js';
import { readObjects } from '../../src/lake/catalog.js';
import { createProcessor } from '../../src/monitor/processor.js';
import { scoreBatch } from '../../src/monitor/score-batch.js';
import { inlineScorer, workerScorer } from '../../src/monitor/scorer.js';
import { INSTANCES, buildLakeAndModel } from './fixture.js';

describe('monitor batch scorers', () => {
  let dir: string;
  let lakeDir: string;
  let modelPath: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-scorer-'));
    ({ lakeDir, modelPath } = await buildLakeAndModel(dir, 1));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A batch as the processor's query gives it: the JSON arrays of the rows, joined by commas. */
  const batch = (): string =>
    JSON.stringify([
      [INSTANCES[0], '10.0.0.5', 1_700_000_000_000, 0],
      [INSTANCES[1], '203.0.113.77', 1_700_000_001_000, 1],
      ['i-0neverseen000000', '198.51.100.1', 1_700_000_002_000, 2],
      [INSTANCES[2], 'not-an-ip', 1_700_000_003_000, 3],
      [INSTANCES[2], '-', 1_700_000_004_000, 4],
      [null, '10.0.0.1', 1_700_000_005_000, 5],
      [` ${INSTANCES[3]} `, ' 2001:db8::1 ', 1_700_000_006_000, 6],
    ]).slice(1, -1);

  it('scoreBatch: pairs, bad IPs, skipped rows; candidates are what the policy may turn into findings', async () => {
    const model = await IpInsightsModel.load(modelPath);
    const policy = new FindingPolicy({ uncalibratedThreshold: 0 });
    const ref = modelRefOf(model);
    const r = scoreBatch(batch(), model, policy, ref);
    assert.equal(r.rows, 7);
    assert.equal(r.badIps, 1);
    assert.equal(r.pairs, 4);
    assert.equal(r.unflagged + r.candidates.length, 4);
    for (const c of r.candidates) assert.notEqual(policy.kindOf(c.entity_known, c.native_score, c.is_anomaly, ref), null);
    const fresh = r.candidates.find((c) => c.entity === 'i-0neverseen000000');
    assert.ok(fresh && !fresh.entity_known, 'an unknown entity is a candidate (new entity)');
    assert.ok(r.candidates.every((c) => c.entity.trim() === c.entity && c.ip.trim() === c.ip), 'trimmed');
    const never = scoreBatch(batch(), model, new FindingPolicy({ uncalibratedThreshold: -1e9, newEntity: 'never' }), ref);
    assert.deepEqual([never.candidates.length, never.unflagged, never.unflaggedMaxTime], [0, 4, 1_700_000_006_000]);
  });

  it('a worker scores exactly as inline; once the worker is gone, scoring goes on inline', async () => {
    const model = await IpInsightsModel.load(modelPath);
    const policy = new FindingPolicy({ uncalibratedThreshold: 0 });
    const ref = modelRefOf(model);
    const inline = inlineScorer(model, () => policy, ref);
    const worker = workerScorer(model, () => policy, ref);
    await worker.ready;
    assert.equal(worker.threaded, true);
    const a = await inline.score(batch());
    const b = await worker.score(batch());
    assert.deepEqual(b, a);
    await worker.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(worker.threaded, false);
    assert.deepEqual(await worker.score(batch()), a);
    await assert.rejects(worker.score('["i-1", "10.0.0.1"'), SyntaxError);
  });

  it('a processor scoring on a worker finds what an inline one finds', async () => {
    const obj = readObjects(lakeDir)[0]!;
    const ref = { object: obj.path, row: 0 };
    // Every record below this threshold: findings for every pair, through the whole path.
    const a = await createProcessor({ model: modelPath, pairs: 'flow-peer', policy: { uncalibratedThreshold: 1e9 } });
    const b = await createProcessor({ model: modelPath, pairs: 'flow-peer', policy: { uncalibratedThreshold: 1e9 }, scoreOnWorker: true });
    try {
      const ra = await a.process(path.join(lakeDir, obj.path), ref);
      const rb = await b.process(path.join(lakeDir, obj.path), ref);
      assert.ok(ra.pairs > 0 && ra.findings.length > 0);
      assert.deepEqual(rb, ra);
      assert.deepEqual(b.policy.toJSON(), a.policy.toJSON());
    } finally {
      a.close();
      b.close();
    }
  });
});
