import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duckType, mergeEvent, utcIso, type Shape } from './shape.js';

test('utcIso: datetime_t text as the instant in UTC with milliseconds; not a date-time: undefined', () => {
  assert.equal(utcIso('2024-01-02T03:04:05.123Z'), '2024-01-02T03:04:05.123Z');
  assert.equal(utcIso('2022-04-11T20:02:12.000-04:00'), '2022-04-12T00:02:12.000Z');
  assert.equal(utcIso('2024-01-02T03:04:05.123456789+01:30'), '2024-01-02T01:34:05.123Z');
  assert.equal(utcIso('2024-01-02T03:04:05'), '2024-01-02T03:04:05.000Z', 'no offset: UTC, not local time');
  assert.equal(utcIso('2024-02-29T23:59:59.999Z'), '2024-02-29T23:59:59.999Z');
  assert.equal(utcIso('2024-01-01T24:00:00.000Z'), '2024-01-02T00:00:00.000Z', "ISO 8601's end of day");
  for (const bad of ['2024-13-01T00:00:00.000Z', '2024-01-01T25:00:00.000Z', '2024-01-01', 'yesterday', '2024-01-01T00:00:00.000+0100']) assert.equal(utcIso(bad), undefined, bad);
});

test('a *_dt is a TIMESTAMP column (ms) whose value is rewritten to UTC; a value that is no date-time is refused', () => {
  const shape: Shape & { k: 'struct' } = { k: 'struct', fields: new Map() };
  const e: Record<string, unknown> = { class_uid: 6003, time: 1, time_dt: '2023-09-21T18:22:52.000-04:00', actor: { session: { created_time_dt: '2023-09-21T22:00:00Z' } } };
  assert.equal(mergeEvent(shape, e, 6003), undefined);
  assert.equal(e.time_dt, '2023-09-21T22:22:52.000Z');
  assert.deepEqual(e.actor, { session: { created_time_dt: '2023-09-21T22:00:00.000Z' } });
  assert.equal(duckType(shape.fields.get('time_dt')!), 'TIMESTAMP_MS');
  assert.equal(duckType(shape.fields.get('actor')!), 'STRUCT("session" STRUCT("created_time_dt" TIMESTAMP_MS))');
  assert.equal(duckType(shape.fields.get('time')!), 'BIGINT');
  assert.match(mergeEvent(shape, { class_uid: 6003, time_dt: 'soon' }, 6003) ?? '', /time_dt: "soon" is not an RFC 3339 date-time/);
});
