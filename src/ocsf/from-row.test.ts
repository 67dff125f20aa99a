import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Duck, quoteString } from '../lake/duckdb.js';
import { deriveEvent } from './derive.js';
import { HIVE_PARTITION_COLUMNS, rowToEvent } from './from-row.js';
import { vpcFlowMapped } from './sample-events.js';
import { validateEvent } from './validate.js';

type Ev = Record<string, any>;

const SAMPLES = fileURLToPath(new URL('../../test/samples/', import.meta.url));

describe('rowToEvent (plain rows)', () => {
  it('drops null and undefined members at every depth, keeps falsy values', () => {
    const row = {
      class_uid: 4001,
      message: null,
      count: 0,
      src_endpoint: { ip: '10.0.0.1', port: null, hostname: undefined, location: { city: null, country: null } },
      is_x: false,
      raw_data: '',
      observables: [{ name: 'src_endpoint.ip', type_id: 2, reputation: null }],
    };
    assert.deepEqual(rowToEvent(row), {
      class_uid: 4001,
      count: 0,
      src_endpoint: { ip: '10.0.0.1', location: {} },
      is_x: false,
      raw_data: '',
      observables: [{ name: 'src_endpoint.ip', type_id: 2 }],
    });
    assert.equal(row.message, null, 'the row is not modified');
  });

  it('turns DuckDB MAP values ({key, value} lists) into objects', () => {
    const ev = rowToEvent({
      class_uid: 4001,
      unmapped: [
        { key: 'sublocation_id', value: '-' },
        { key: 'a.b', value: '1' },
        { key: 'gone', value: null },
      ],
    });
    assert.deepEqual(ev.unmapped, { sublocation_id: '-', 'a.b': '1' });
    assert.deepEqual(rowToEvent({ class_uid: 4001, unmapped: [] }).unmapped, {}, 'an empty map is an empty object');
  });

  it('keeps arrays of objects that the schema says are arrays, even when they look like maps', () => {
    const looksLikeMap = [{ key: 'k', value: 'v' }];
    assert.deepEqual(rowToEvent({ class_uid: 4001, observables: looksLikeMap }).observables, looksLikeMap);
    // Outside the schema (unknown class or attribute), a {key, value} list is taken for a map.
    assert.deepEqual(rowToEvent({ class_uid: 4999, tags: looksLikeMap }).tags, { k: 'v' });
    assert.deepEqual(rowToEvent({ class_uid: 4001, other: [{ key: 'k', value: 'v', x: 1 }] }).other, [{ key: 'k', value: 'v', x: 1 }]);
  });

  it('keeps big integers as the wrapper gives them and turns TIMESTAMPs into RFC 3339 strings', () => {
    const ev = rowToEvent({ class_uid: 4001, traffic: { bytes: '123456789012345678901' }, time_dt: new Date(Date.UTC(2024, 0, 31, 12, 0, 0, 5)) }) as Ev;
    assert.equal(ev.traffic.bytes, '123456789012345678901');
    assert.equal(ev.time_dt, '2024-01-31T12:00:00.005Z');
  });

  it('drops the listed (hive partition) columns only', () => {
    const row = { class_uid: 4001, region: 'us-east-1', accountId: '123456789012', eventDay: '20240131', cloud: { region: 'us-east-1' } };
    assert.deepEqual(rowToEvent(row, { dropColumns: HIVE_PARTITION_COLUMNS }), { class_uid: 4001, cloud: { region: 'us-east-1' } });
    assert.deepEqual(rowToEvent(row), row);
  });
});

describe('rowToEvent (Parquet through DuckDB)', () => {
  let db: Duck;
  let dir: string;
  before(async () => {
    db = await Duck.open({ threads: 1 });
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-from-row-'));
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips derived events through a hive-partitioned Parquet file', async () => {
    const events = [deriveEvent(vpcFlowMapped(1)), deriveEvent(vpcFlowMapped(2))] as Ev[];
    events[1]!.dst_endpoint.intermediate_ips = ['10.0.0.9']; // the first row gets a null there
    const jsonl = path.join(dir, 'in.jsonl');
    writeFileSync(jsonl, events.map((e) => JSON.stringify(e)).join('\n'));
    const part = path.join(dir, 'region=us-east-1', 'accountId=123456789012', 'eventDay=20240131');
    mkdirSync(part, { recursive: true });
    const file = path.join(part, 'x.parquet');
    // unmapped as MAP(VARCHAR, VARCHAR), as the lake writes it.
    await db.run(
      `COPY (SELECT * REPLACE (map_from_entries([('sublocation_type', '-'), ('sublocation_id', '-')]) AS unmapped) FROM read_json(${quoteString(jsonl)})) ` +
        `TO ${quoteString(file)} (FORMAT parquet)`,
    );
    const rows = await db.all('SELECT * FROM read_parquet(?, hive_partitioning = true)', [file]);
    assert.ok('eventDay' in rows[0]!, 'DuckDB adds the partition columns');
    assert.deepEqual(rows[0]!.unmapped, [
      { key: 'sublocation_type', value: '-' },
      { key: 'sublocation_id', value: '-' },
    ]);
    const back = rows.map((r) => rowToEvent(r, { dropColumns: HIVE_PARTITION_COLUMNS }));
    assert.deepEqual(back, events);
    for (const ev of back) assert.deepEqual(validateEvent(ev), []);
  });

  it('reads real Security Lake OCSF 1.1.0 output (EKS audit, API Activity) and finds its defects', async () => {
    const file = path.join(SAMPLES, 'security-lake-ocsf-validation/1.1.0/EKS/test.parquet');
    const rows = await db.all('SELECT * FROM read_parquet(?)', [file]);
    assert.equal(rows.length, 1);
    const ev = rowToEvent(rows[0]!, { dropColumns: HIVE_PARTITION_COLUMNS });
    assert.equal(ev.class_uid, 6003);
    assert.equal(typeof ev.unmapped, 'object');
    assert.ok(Object.keys(ev.unmapped as object).length > 50, 'the MAP column became an object');
    assert.equal(ev.time_dt, '2021-09-07T20:37:30.642Z', 'TIMESTAMP column -> RFC 3339');
    assert.equal((ev.src_endpoint as Ev).intermediate_ips, undefined, 'null list dropped');
    const issues = validateEvent(ev)
      .map((i) => `${i.severity} ${i.code} ${i.path}`)
      .sort();
    assert.deepEqual(issues, [
      // Security Lake writes actor.user.groups as a list of strings; OCSF 1.1.0 user.groups is an array
      // of group objects ({name, uid, ...}).
      'error attribute_wrong_type actor.user.groups[0]',
      'error attribute_wrong_type actor.user.groups[1]',
      'error attribute_wrong_type actor.user.groups[2]',
      // The sample's obfuscated address (zero-padded octet), as in the AWS EKS example.
      'error attribute_value_regex_not_matched src_endpoint.ip',
    ].sort());
  });

  it('rejects Security Lake v1 (OCSF 1.0.0-rc.2) rows for what changed in 1.1.0', async () => {
    const file = path.join(SAMPLES, 'security-lake-ocsf-validation/1.0.0-rc.2/VPC_FLOW/example3.gz.parquet');
    const rows = await db.all('SELECT * FROM read_parquet(?)', [file]);
    const issues = validateEvent(rowToEvent(rows[0]!))
      .map((i) => `${i.severity} ${i.code} ${i.path}`)
      .sort();
    assert.deepEqual(issues, [
      'error attribute_required_missing action_id', // security_control requires action_id in 1.1.0
      'error attribute_unknown cloud.account_uid', // 1.1.0: cloud.account.uid
      'error attribute_value_regex_not_matched dst_endpoint.ip', // NODATA record: "-"
      'error attribute_value_regex_not_matched src_endpoint.ip',
      'error version_incorrect metadata.version',
    ]);
  });
});
