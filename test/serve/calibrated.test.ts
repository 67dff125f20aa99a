/**
 * A calibrated model served over HTTP: with `verbose=True` each prediction also carries the calibrated
 * `anomaly_percentile` and `is_anomaly` (after SageMaker's keys); without it the body is SageMaker's, unchanged.
 * Inline and on worker threads.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { updateModelMetadata } from '../../src/detectors/ipinsights/index.js';
import { writeFixtureModel } from '../calibrate/fixture.js';
import { send } from './helpers.js';
import { startServer, type TestServer } from './real-model.js';

const BODY = 'user_3,10.20.30.40\nuser_3,198.51.100.7\n';

for (const workers of [0, 1]) {
  describe(`calibrated model over HTTP (workers=${workers})`, () => {
    let dir: string;
    let srv: TestServer;
    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'seclake-serve-cal-'));
      const modelPath = path.join(dir, 'logins.model');
      writeFixtureModel(modelPath);
      const quantiles = Array.from({ length: 101 }, (_, i) => 4 + (4 * i) / 100); // normal traffic scored 4..8
      updateModelMetadata(modelPath, {
        calibration: {
          version: 1, created_at: '2026-11-28T00:00:00Z', threshold: 3, rule: { kind: 'threshold' },
          fpr: 0, recall: 1, precision: 1, auc: 1, average_precision: 1, n_normal: 1000, n_abnormal: 1000,
          abnormal_source: 'random', normal_quantiles: quantiles, thresholds_at_fpr: [],
        },
      });
      srv = await startServer({ name: 'logins', modelPath, workers, offloadMinBytes: 0 });
    });
    after(async () => {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('verbose=True adds anomaly_percentile and is_anomaly', async () => {
      const res = await send(srv.url, 'POST', '/invocations', BODY, { 'content-type': 'text/csv', accept: 'application/jsonlines; verbose=True' });
      assert.equal(res.status, 200, res.body);
      const [usual, odd] = res.body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(Object.keys(usual!), ['dot_product', 'ip_embedding', 'entity_embedding', 'anomaly_percentile', 'is_anomaly']);
      assert.equal(usual!.is_anomaly, false);
      assert.equal(odd!.is_anomaly, true);
      assert.equal(odd!.anomaly_percentile, 1);
      const p = usual!.anomaly_percentile as number;
      assert.ok(p > 0 && p < 1, `percentile ${p}`);
    });

    it('without verbose the body is exactly SageMaker shape', async () => {
      const res = await send(srv.url, 'POST', '/invocations', BODY, { 'content-type': 'text/csv', accept: 'application/json' });
      assert.equal(res.status, 200, res.body);
      assert.match(res.body, /^\{"predictions": \[\{"dot_product": [-0-9.e]+\}, \{"dot_product": [-0-9.e]+\}\]\}$/);
    });
  });
}
