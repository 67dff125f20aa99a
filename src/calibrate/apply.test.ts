import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALIBRATION_VERSION, CalibrationError, anomalyPercentile, annotate, annotateAll, readCalibration, type Calibration } from '../detectors/calibration.js';
import { evaluate } from './evaluate.js';

function calibration(threshold: number, normal_quantiles: number[]): Calibration {
  return {
    version: 1,
    created_at: '2024-01-01T00:00:00.000Z',
    threshold,
    rule: { kind: 'max_fpr', max_fpr: 0.01 },
    fpr: 0.01,
    recall: 0.9,
    precision: 0.99,
    auc: 0.98,
    average_precision: 0.97,
    n_normal: 100,
    n_abnormal: 100,
    abnormal_source: 'random',
    normal_quantiles,
    thresholds_at_fpr: [],
  };
}

test('anomaly percentile: share of normal pairs scoring higher, interpolated', () => {
  const q = [0, 1, 2, 3, 4];
  assert.equal(anomalyPercentile(2, q), 0.5);
  assert.equal(anomalyPercentile(-1, q), 1);
  assert.equal(anomalyPercentile(4.5, q), 0);
  assert.equal(anomalyPercentile(0.5, q), 0.875);
  assert.equal(anomalyPercentile(0, q), 1);
  assert.equal(anomalyPercentile(4, q), 0);
  // a run of equal quantiles: the middle of the run
  assert.equal(anomalyPercentile(1, [0, 1, 1, 1, 2]), 0.5);
  assert.ok(Number.isNaN(anomalyPercentile(Number.NaN, q)));
});

test('annotate applies the threshold strictly and flags cold-start entities', () => {
  const cal = calibration(1.5, [0, 1, 2, 3, 4]);
  assert.deepEqual(annotate({ dot_product: 1 }, cal), { anomaly_percentile: 0.75, is_anomaly: true });
  assert.deepEqual(annotate({ dot_product: 1.5 }, cal), { anomaly_percentile: 0.625, is_anomaly: false });
  assert.deepEqual(annotate({ dot_product: 3, entity_known: false }, cal), { anomaly_percentile: 0.25, is_anomaly: false, cold_start: true });
  const out = annotateAll([{ dot_product: -3, ip_embedding: [1] }], cal);
  assert.deepEqual(out, [{ dot_product: -3, ip_embedding: [1], anomaly_percentile: 1, is_anomaly: true }]);
});

test('readCalibration finds the slot, validates it, and refuses newer versions', () => {
  const cal = calibration(0, [0, 1]);
  assert.equal(readCalibration({}), undefined);
  assert.equal(readCalibration(null), undefined);
  assert.deepEqual(readCalibration({ calibration: cal }), cal);
  assert.deepEqual(readCalibration({ extras: { calibration: cal } }), cal);
  assert.deepEqual(readCalibration({ metadata: { calibration: cal } }), cal);
  assert.throws(() => readCalibration({ calibration: { ...cal, threshold: 'x' } }, 'm.model'), (e: unknown) => {
    assert.ok(e instanceof CalibrationError);
    assert.match((e as Error).message, /m\.model: invalid calibration at calibration\.threshold/);
    return true;
  });
  assert.throws(() => readCalibration({ calibration: { ...cal, version: CALIBRATION_VERSION + 1 } }), /newer/);
});

test('a stored evaluation round-trips through JSON and decides like the evaluation', () => {
  const normal = Array.from({ length: 1000 }, (_, i) => i / 100); // 0 .. 9.99
  const abnormal = Array.from({ length: 1000 }, (_, i) => -5 + i / 200); // -5 .. -0.005
  const ev = evaluate({ normal, abnormal, rule: { kind: 'max_fpr', max_fpr: 0.01 }, abnormalSource: 'random', now: new Date(0) });
  const back = readCalibration(JSON.parse(JSON.stringify({ calibration: ev.calibration })))!;
  assert.deepEqual(back, ev.calibration);
  const flagged = normal.filter((s) => annotate({ dot_product: s }, back).is_anomaly).length;
  assert.equal(flagged, ev.chosen.fp);
  assert.equal(flagged, 10);
  assert.equal(abnormal.filter((s) => annotate({ dot_product: s }, back).is_anomaly).length, ev.chosen.tp);
  // percentile of a normal score ~ its share of higher normal scores
  assert.ok(Math.abs(annotate({ dot_product: 2.5 }, back).anomaly_percentile - 0.75) < 0.002);
});
