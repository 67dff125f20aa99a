/**
 * A model calibrated with per-entity thresholds (calibration version 2) served over HTTP: verbose `is_anomaly` uses
 * each record's entity threshold (thresholdFor), inline and on worker threads; the global threshold for entities the
 * calibration does not know.
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

// The fixture scores known entities ≈ 6 on 10.x.x.x.
const BODY = 'user_3,10.20.30.40\nuser_4,10.20.30.40\nuser_5,10.20.30.40\n';

for (const workers of [0, 1]) {
  describe(`per-entity thresholds over HTTP (workers=${workers})`, () => {
    let dir: string;
    let srv: TestServer;
    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'seclake-serve-entity-'));
      const modelPath = path.join(dir, 'logins.model');
      writeFixtureModel(modelPath);
      const quantiles = Array.from({ length: 101 }, (_, i) => -10 + (18 * i) / 100);
      const node = (threshold: number) => ({ n: 4000, own: threshold, threshold, quantiles: Array.from({ length: 13 }, (_, i) => 5 + i * 0.3) });
      updateModelMetadata(modelPath, {
        calibration: {
          version: 2, created_at: '2026-12-08T00:00:00Z', threshold: -9, rule: { kind: 'max_fpr', max_fpr: 0.001 },
          fpr: 0.001, recall: 1, precision: 1, auc: 1, average_precision: 1, n_normal: 10000, n_abnormal: 1000,
          abnormal_source: 'random', normal_quantiles: quantiles, thresholds_at_fpr: [],
          support: { n_normal: 10000, needed_n: 3000, sufficient: true, note: 'enough' },
          per_entity: {
            target_fpr: 0.001, prior_n: 3000, min_n: 3000, unit: 'pairs',
            quantile_probs: [0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1],
            groups: {},
            entities: { user_3: node(7), user_4: node(-9) },
          },
        },
      });
      srv = await startServer({ name: 'logins', modelPath, workers, offloadMinBytes: 0 });
    });
    after(async () => {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("verbose is_anomaly follows each entity's threshold", async () => {
      const res = await send(srv.url, 'POST', '/invocations', BODY, { 'content-type': 'text/csv', accept: 'application/jsonlines; verbose=True' });
      assert.equal(res.status, 200, res.body);
      const preds = res.body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      for (const p of preds) assert.ok((p.dot_product as number) > 4 && (p.dot_product as number) < 7, String(p.dot_product));
      // user_3's own threshold (7) flags its usual network; user_4's (-9) and the global one (-9, user_5) do not.
      assert.deepEqual(preds.map((p) => p.is_anomaly), [true, false, false]);
    });
  });
}
