import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelRefOf } from './model-ref.js';
import { IPI } from './test-support.js';

const detector = { type: 'ipinsights', title: 'IP Insights', score: { name: 'dot_product', direction: 'lower_is_anomalous' as const, default_threshold: 0 }, finding: { type: 'Anomalous Entity-IP Pair' } };

test('modelRefOf: file base name, CRC as 8 hex digits, calibrated threshold, the detector', () => {
  assert.deepEqual(modelRefOf({ path: '/m/flows.model', header: { data_crc32: 0xab }, detector }), { name: 'flows', version: '000000ab', detector: IPI });
  assert.deepEqual(modelRefOf({ path: 'x/users.v2.model', header: { data_crc32: 0xdeadbeef }, calibration: { threshold: -0.7 }, detector }), { name: 'users.v2', version: 'deadbeef', detector: IPI, threshold: -0.7 });
  assert.deepEqual(modelRefOf({ path: 'plain', header: { data_crc32: -1 }, detector }, { name: 'n', version: 'v9' }), { name: 'n', version: 'v9', detector: IPI });
  assert.equal(modelRefOf({ path: 'plain', header: { data_crc32: -1 }, detector }).version, 'ffffffff');
});
