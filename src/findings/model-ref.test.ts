import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelRefOf } from './model-ref.js';

test('modelRefOf: file base name, CRC as 8 hex digits, calibrated threshold', () => {
  assert.deepEqual(modelRefOf({ path: '/m/flows.model', header: { data_crc32: 0xab } }), { name: 'flows', version: '000000ab' });
  assert.deepEqual(modelRefOf({ path: 'x/users.v2.model', header: { data_crc32: 0xdeadbeef }, calibration: { threshold: -0.7 } }), { name: 'users.v2', version: 'deadbeef', threshold: -0.7 });
  assert.deepEqual(modelRefOf({ path: 'plain', header: { data_crc32: -1 } }, { name: 'n', version: 'v9' }), { name: 'n', version: 'v9' });
  assert.equal(modelRefOf({ path: 'plain', header: { data_crc32: -1 } }).version, 'ffffffff');
});
