import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, appendFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventDayOf, glueTableName, partitionDir, resolveInLake, safeSegment } from './layout.js';
import { publish, readObjects, withLakeLock, catalogDir } from './catalog.js';
import { Duck } from './duckdb.js';
import { LakeWriter, publishInput } from './writer.js';
import { openLakeQuery } from './views.js';
import type { EventItem } from '../sources/types.js';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'seclake-lake-'));

test('partition values are sanitised and paths cannot leave the lake', () => {
  assert.equal(safeSegment('us-east-1'), 'us-east-1');
  assert.equal(safeSegment('../../etc'), '.._.._etc');
  assert.equal(safeSegment('..'), 'unknown');
  assert.equal(safeSegment(''), 'unknown');
  assert.equal(safeSegment('a/b\\c'), 'a_b_c');
  assert.throws(() => resolveInLake('/lake', '../outside'), /escapes the lake/);
  assert.throws(() => resolveInLake('/lake', '/etc/passwd'), /escapes the lake/);
  assert.equal(resolveInLake('/lake', 'aws/x.parquet'), path.resolve('/lake/aws/x.parquet'));
  assert.equal(
    partitionDir({ source: 'VPC_FLOW', classUid: 4001, region: 'us-east-1', accountId: '123456789012', eventDay: '20240101' }),
    'aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20240101',
  );
  assert.equal(partitionDir({ source: 'EXT_seclake_findings', classUid: 2004, region: 'r', accountId: 'a', eventDay: 'd' }).split('/')[0], 'ext');
  assert.equal(eventDayOf(Date.UTC(2023, 6, 10, 23, 59)), '20230710');
  assert.equal(glueTableName('us-east-1', 'VPC_FLOW'), 'amazon_security_lake_table_us_east_1_vpc_flow_2_0');
  assert.equal(glueTableName('eu-west-2', 'CLOUD_TRAIL_MGMT'), 'amazon_security_lake_table_eu_west_2_cloud_trail_mgmt_2_0');
});

test('catalog assigns increasing sequence numbers and ignores a torn last line', () => {
  const lake = tmp();
  const base = {
    source: 'VPC_FLOW' as const, source_type: 'aws_vpc_flow' as const, class_uid: 4001, region: 'r', account_id: 'a', event_day: '20240101',
    rows: 1, time_min: 0, time_max: 0, bytes: 1, input_hash: 'h', input_name: 'n', created_at: '',
  };
  const input = { input_hash: 'h', input_name: 'n', source_type: 'aws_vpc_flow' as const, events: 1, rejects: 0, objects: [], ingested_at: '' };
  publish(lake, [{ ...base, path: 'a' }, { ...base, path: 'b' }], input);
  publish(lake, [{ ...base, path: 'c' }], { ...input, input_hash: 'h2' });
  appendFileSync(path.join(catalogDir(lake), 'objects.jsonl'), '{"seq": 4, "pa');
  const objs = readObjects(lake);
  assert.deepEqual(objs.map((o) => [o.seq, o.path]), [[1, 'a'], [2, 'b'], [3, 'c']]);
  assert.deepEqual(readObjects(lake, 2).map((o) => o.path), ['c']);
});

test('the lake lock is exclusive and a dead holder is taken over', async () => {
  const lake = tmp();
  const order: string[] = [];
  await Promise.all([
    withLakeLock(lake, async () => {
      order.push('a-in');
      await new Promise((r) => setTimeout(r, 30));
      order.push('a-out');
    }),
    (async () => {
      await new Promise((r) => setTimeout(r, 5));
      await withLakeLock(lake, () => void order.push('b'));
    })(),
  ]);
  assert.deepEqual(order, ['a-in', 'a-out', 'b']);
  // A lock left by a process that no longer exists.
  const lockDir = path.join(lake, '_seclake', 'lock');
  mkdirSync(lockDir, { recursive: true });
  writeFileSync(path.join(lockDir, 'owner'), '999999999');
  assert.equal(await withLakeLock(lake, () => 'taken', 2000), 'taken');
});

function flowEvent(i: number, day: number): EventItem {
  return {
    kind: 'event',
    line: i + 2,
    lakeSource: 'VPC_FLOW',
    event: {
      class_uid: 4001,
      category_uid: 4,
      activity_id: 6,
      type_uid: 400106,
      severity_id: 1,
      time: Date.UTC(2024, 0, day, 12, 0, 60 - i),
      src_endpoint: { ip: `10.0.0.${i}`, port: 443, instance_uid: i % 2 ? 'i-1' : '-' },
      dst_endpoint: { ip: '52.1.2.3', port: 50000 + i },
      traffic: { bytes: 2 ** 40 + i, packets: 3 },
      cloud: { provider: 'AWS', region: 'us-east-1', account: { uid: '123456789012' } },
      metadata: { version: '1.1.0', product: { name: 'Amazon VPC', vendor_name: 'AWS' }, profiles: ['cloud', 'datetime'] },
      observables: [{ name: 'src_endpoint.ip', type_id: 2, value: `10.0.0.${i}` }],
      unmapped: { sublocation_type: '-', nested: { a: 1 } },
    },
  };
}

test('writer: partitions by day, sorts by time, keeps types, publishes once, views read it', async () => {
  const lake = tmp();
  const duck = await Duck.open();
  try {
    const w = new LakeWriter(lake, duck, 'run1', { rowsPerObject: 3 });
    for (let i = 0; i < 5; i++) assert.equal(w.add(flowEvent(i, 1), {}), undefined);
    assert.equal(w.add(flowEvent(9, 2), {}), undefined);
    // an integer_t out of 32-bit range is refused, not written
    const bad = flowEvent(7, 1);
    (bad.event.src_endpoint as Record<string, unknown>).port = 2 ** 40;
    assert.match(w.add(bad, {}) ?? '', /src_endpoint\.port/);
    const staged = await w.finish();
    assert.equal(staged.length, 3); // day 1: 3 + 2 rows, day 2: 1 row
    const res = await publishInput({ lakeDir: lake, inputHash: 'a'.repeat(64), inputName: 'x.log', sourceType: 'aws_vpc_flow', staged, events: 6, rejects: 0, stagingDir: w.stagingDir });
    assert.equal(res.status, 'published');
    assert.ok(!existsSync(w.stagingDir));
    const again = await publishInput({ lakeDir: lake, inputHash: 'a'.repeat(64), inputName: 'x.log', sourceType: 'aws_vpc_flow', staged: [], events: 0, rejects: 0, stagingDir: w.stagingDir });
    assert.equal(again.status, 'duplicate');
    const dir = path.join(lake, 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20240101');
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.parquet')).length, 2);
  } finally {
    duck.close();
  }
  const db = await openLakeQuery(lake);
  try {
    const rows = await db.all('SELECT time, src_endpoint.port AS port, traffic.bytes AS bytes, unmapped, eventDay FROM vpc_flow ORDER BY time');
    assert.equal(rows.length, 6);
    assert.equal(rows[0]!.bytes, 2 ** 40 + 4);
    assert.equal(rows[5]!.eventDay, '20240102');
    assert.deepEqual(rows[0]!.unmapped, [{ key: 'sublocation_type', value: '-' }, { key: 'nested.a', value: '1' }]);
    const types = await db.describe('SELECT src_endpoint.port AS p, traffic.bytes AS b, observables FROM vpc_flow');
    assert.deepEqual(types.map((t) => t.type.split('(')[0]), ['INTEGER', 'BIGINT', 'STRUCT']);
    const ordered = await db.all(
      `SELECT time FROM read_parquet(${"'" + path.join(lake, 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20240101') + "/*-0.parquet'"})`,
    );
    const times = ordered.map((r) => Number(r.time));
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    const glue = await db.all('SELECT count(*)::INTEGER AS n FROM amazon_security_lake_table_us_east_1_vpc_flow_2_0');
    assert.equal(glue[0]!.n, 6);
    const empty = await db.all(
      "SELECT src_endpoint.instance_uid FROM route53 WHERE src_endpoint.ip IS NOT NULL AND src_endpoint.instance_uid != '-'",
    );
    assert.equal(empty.length, 0);
  } finally {
    db.close();
  }
});

test('the quarantine view is empty, not an error, when the quarantine folder exists but holds no file', async () => {
  const lake = tmp();
  mkdirSync(path.join(lake, '_seclake', 'quarantine'), { recursive: true });
  const db = await openLakeQuery(lake);
  try {
    const rows = await db.all('SELECT count(*)::INTEGER AS n FROM quarantine');
    assert.equal(rows[0]!.n, 0);
  } finally {
    db.close();
  }
});
