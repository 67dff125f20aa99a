/**
 * The lake's column types and fixed schema, as Security Lake's tables have them (issue 15):
 * - every source view (short and Glue-named, AWS sources and custom ones) has every column of its table's schema
 *   (src/lake/columns.ts), typed as Security Lake stores it, and a valid OCSF attribute no object holds reads as NULL;
 * - `*_dt` are Parquet INT64 TIMESTAMP_MILLIS (UTC) and TIMESTAMP in the views, and AWS's documented pattern
 *   `time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP` runs through `seclake query`;
 * - a lake written before (its `*_dt` RFC 3339 text, VARCHAR, catalog records without `types`) reads the same
 *   instants as TIMESTAMP, alone or mixed with new objects, and `catalog ddl` says what Athena cannot read.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingest } from '../../src/ingest/ingest.js';
import { readObjects, type CatalogObject } from '../../src/lake/catalog.js';
import { parseDuckType, printDuckType, sourceProfiles, sourceSchema, tableSchema, type ColType, type TableColumn } from '../../src/lake/columns.js';
import { describeLakeTables, renderDdl } from '../../src/lake/ddl.js';
import { Duck, SqlBindError, quoteString } from '../../src/lake/duckdb.js';
import { glueTableName, resolveInLake } from '../../src/lake/layout.js';
import { mergeEvent, readJsonColumns, type Shape } from '../../src/lake/shape.js';
import { openLakeQuery } from '../../src/lake/views.js';
import { rowToEvent } from '../../src/ocsf/from-row.js';
import { findingsObjectKey, publishFindings } from '../../src/findings/lake.js';
import type { DetectionFinding } from '../../src/findings/types.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'seclake-schema-test-'));
  dirs.push(d);
  return d;
};
const cli = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

let lake: string;
before(async () => {
  lake = tmp();
  const s = await ingest({ lakeDir: lake, paths: [path.join(root, 'assets', 'samples')] });
  assert.equal(s.totals.failed, 0);
  // Findings (a custom source of class 2004), as the monitor writes them.
  const src = readObjects(lake).find((o) => o.source === 'VPC_FLOW')!;
  const frozen = JSON.parse(readFileSync(path.join(root, 'src', 'findings', 'testdata', 'legacy-lake', 'findings.json'), 'utf8')) as Record<string, DetectionFinding>;
  const fs = Object.values(frozen).map((f, i) => {
    const c = structuredClone(f);
    c.finding_info.uid = `schema-${i}`;
    (c.unmapped as Record<string, unknown>).source_object = src.path;
    return c;
  });
  await publishFindings(lake, findingsObjectKey(src.path, { region: 'us-east-1', accountId: '123456789012', eventDay: '20240101' }), fs);
});
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The first leaf of a type (following first fields), as a path from `at`. */
function firstLeaf(t: ColType, at: string[]): string[] {
  return t.k === 'struct' ? firstLeaf(t.fields[0]!.type, [...at, t.fields[0]!.name]) : at;
}

/** A leaf path (through structs) of `schema` that `held` (the objects' own union of columns) lacks. */
function absentLeaf(schema: readonly TableColumn[], held: ReadonlyMap<string, ColType>): string[] | undefined {
  const missing = (t: ColType, h: ColType | undefined, at: string[]): string[] | undefined => {
    if (h === undefined) return firstLeaf(t, at);
    if (t.k !== 'struct' || h.k !== 'struct') return undefined;
    for (const f of t.fields) {
      const p = missing(f.type, h.fields.find((x) => x.name === f.name)?.type, [...at, f.name]);
      if (p) return p;
    }
    return undefined;
  };
  // Preferably a field inside a column the objects have (a struct lacking fields), else a column they lack.
  for (const c of schema) {
    const h = held.get(c.name);
    const p = h && missing(c.type, h, [c.name]);
    if (p) return p;
  }
  const c = schema.find((x) => !held.has(x.name));
  return c && firstLeaf(c.type, [c.name]);
}

test('every source view has its table schema: every column typed as Security Lake stores it, absent attributes NULL', async () => {
  const objects = readObjects(lake);
  const db = await openLakeQuery(lake);
  try {
    const views: { name: string; source: string; objects: CatalogObject[]; classes?: number[] }[] = [
      { name: 'vpc_flow', source: 'VPC_FLOW', objects: objects.filter((o) => o.source === 'VPC_FLOW') },
      { name: 'route53', source: 'ROUTE53', objects: objects.filter((o) => o.source === 'ROUTE53') },
      { name: 'cloudtrail_api', source: 'CLOUD_TRAIL_MGMT', classes: [6003], objects: objects.filter((o) => o.source === 'CLOUD_TRAIL_MGMT' && o.class_uid === 6003) },
      { name: 'cloudtrail_auth', source: 'CLOUD_TRAIL_MGMT', classes: [3002], objects: objects.filter((o) => o.source === 'CLOUD_TRAIL_MGMT' && o.class_uid === 3002) },
      { name: 'cloudtrail_account', source: 'CLOUD_TRAIL_MGMT', classes: [3001], objects: objects.filter((o) => o.source === 'CLOUD_TRAIL_MGMT' && o.class_uid === 3001) },
      { name: 's3_data', source: 'S3_DATA', objects: [] },
      { name: 'lambda_execution', source: 'LAMBDA_EXECUTION', objects: [] },
      { name: 'cloudtrail_insights', source: 'EXT_cloudtrail_insights', objects: objects.filter((o) => o.source === 'EXT_cloudtrail_insights') },
      { name: 'seclake_findings', source: 'EXT_seclake_findings', objects: objects.filter((o) => o.source === 'EXT_seclake_findings') },
    ];
    const glue = new Map<string, CatalogObject[]>();
    for (const o of objects) glue.set(glueTableName(o.region, o.source), [...(glue.get(glueTableName(o.region, o.source)) ?? []), o]);
    for (const [name, objs] of glue) views.push({ name, source: objs[0]!.source, objects: objs });
    views.push({ name: 'amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0', source: 'CLOUD_TRAIL_MGMT', objects: glue.get('amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0') ?? [] });
    assert.ok(views.filter((v) => v.objects.length > 0).length >= 12, 'views with objects');
    for (const v of views) {
      const schema = v.classes ? tableSchema(v.classes, sourceProfiles(v.source)) : sourceSchema(v.source, [...new Set(v.objects.map((o) => o.class_uid))]);
      assert.ok(schema.length >= 30, `${v.name}: ${schema.length} columns`);
      const cols = new Map((await db.describe(`SELECT * FROM ${v.name} LIMIT 0`)).map((c) => [c.name, c.type]));
      for (const c of schema) assert.equal(cols.get(c.name) && printDuckType(parseDuckType(cols.get(c.name)!)), printDuckType(c.type), `${v.name}.${c.name}`);
      assert.equal(cols.get('time_dt'), 'TIMESTAMP', v.name);
      for (const p of ['region', 'accountId', 'eventDay']) assert.equal(cols.get(p), 'VARCHAR', `${v.name}.${p}`);
      const [{ n }] = (await db.all(`SELECT count(*)::BIGINT AS n FROM ${v.name}`)) as [{ n: number }];
      assert.equal(n, v.objects.reduce((a, o) => a + o.rows, 0), `${v.name} rows`);
      if (v.objects.length === 0) continue;
      // A valid OCSF attribute that none of the view's objects holds: NULL in every row, not a binder error.
      const files = v.objects.map((o) => quoteString(resolveInLake(lake, o.path))).join(', ');
      const held = new Map((await db.describe(`SELECT * FROM read_parquet([${files}], union_by_name = true) LIMIT 0`)).map((c) => [c.name, parseDuckType(c.type)]));
      const p = absentLeaf(schema, held);
      assert.ok(p, `${v.name}: an attribute the objects lack`);
      await assert.rejects(db.all(`SELECT ${p.map((s) => `"${s}"`).join('.')} FROM read_parquet([${files}], union_by_name = true)`), SqlBindError, `${v.name}: ${p.join('.')} is absent from the objects`);
      const [r] = await db.all(`SELECT count(*)::BIGINT AS n, count(${p.map((s) => `"${s}"`).join('.')})::BIGINT AS c FROM ${v.name}`);
      assert.deepEqual(r, { n, c: 0 }, `${v.name}: ${p.join('.')} reads as NULL`);
    }
    // The issue's example, and a name OCSF does not have, which still does not bind.
    assert.deepEqual(await db.all('SELECT count(*)::BIGINT AS n, count(src_endpoint.domain)::BIGINT AS d FROM vpc_flow'), [{ n: views[0]!.objects.reduce((a, o) => a + o.rows, 0), d: 0 }]);
    await assert.rejects(db.all('SELECT src_endpoint.no_such_field FROM vpc_flow'), SqlBindError);
  } finally {
    db.close();
  }
});

test('*_dt are INT64 TIMESTAMP_MILLIS in the objects and TIMESTAMP (UTC) in the views; a datetime with an offset is stored as its instant', async () => {
  const d = tmp();
  const s = await ingest({ lakeDir: d, paths: [path.join(root, 'test/samples/ocsf-examples-aws/v1.1.0/vpc-flowlogs/vpcflowlog.ocsf.json')] });
  assert.equal(s.totals.failed, 0);
  const obj = readObjects(d)[0]!;
  assert.equal(obj.types, 2);
  const db = await openLakeQuery(d);
  try {
    const dt = await db.all(`SELECT name, type, converted_type FROM parquet_schema(${quoteString(resolveInLake(d, obj.path))}) WHERE name LIKE '%\\_dt' ESCAPE '\\' ORDER BY name`);
    assert.deepEqual(dt, ['end_time_dt', 'start_time_dt', 'time_dt'].map((name) => ({ name, type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' })));
    // The sample says 2022-04-11T20:02:12.000-04:00: the instant is 2022-04-12T00:02:12Z, its `time`.
    const [r] = await db.all('SELECT "time", time_dt, epoch_ms(time_dt) AS ms, typeof(time_dt) AS t FROM vpc_flow');
    assert.deepEqual(r, { time: 1649721732000, time_dt: new Date('2022-04-12T00:02:12.000Z'), ms: 1649721732000, t: 'TIMESTAMP' });
  } finally {
    db.close();
  }
});

test("AWS's documented pattern time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP runs through seclake query", () => {
  const d = tmp();
  const now = Math.floor(Date.now() / 1000);
  const log = path.join(d, 'recent.log');
  const line = (start: number, src: string): string => `2 123456789012 eni-0a1b2c3d 203.0.113.${src} 10.0.0.5 40000 443 6 10 840 ${start} ${start + 30} ACCEPT OK`;
  writeFileSync(
    log,
    'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n' +
      [line(now - 3600, '1'), line(now - 3 * 86400, '2'), line(now - 30 * 86400, '3')].join('\n') +
      '\n',
  );
  const lakeDir = path.join(d, 'lake');
  const ing = cli(['ingest', log, '--lake', lakeDir, '--json']);
  assert.equal(ing.status, 0, ing.stderr);
  for (const view of ['vpc_flow', 'amazon_security_lake_table_unknown_vpc_flow_2_0']) {
    const q = cli([
      'query',
      '--lake',
      lakeDir,
      '--format',
      'json',
      `SELECT src_endpoint.ip AS ip, typeof(time_dt) AS t FROM ${view} WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP ORDER BY ip`,
    ]);
    assert.equal(q.status, 0, q.stderr);
    assert.deepEqual(JSON.parse(q.stdout), [
      { ip: '203.0.113.1', t: 'TIMESTAMP' },
      { ip: '203.0.113.2', t: 'TIMESTAMP' },
    ]);
  }
});

/**
 * Rewrite every object of a lake as seclake wrote it before `*_dt` were timestamps: the same rows, each `*_dt` the
 * RFC 3339 text the events carried (VARCHAR, at any depth), and catalog records without `types`.
 */
async function makeOldLake(from: string, to: string): Promise<void> {
  cpSync(from, to, { recursive: true });
  const db = await Duck.open({ threads: 1 });
  try {
    for (const o of readObjects(to)) {
      const file = resolveInLake(to, o.path);
      const events = (await db.all(`SELECT * FROM read_parquet(${quoteString(file)})`)).map((r) => rowToEvent(r));
      const shape: Shape & { k: 'struct' } = { k: 'struct', fields: new Map() };
      for (const e of events) assert.equal(mergeEvent(shape, e, o.class_uid), undefined);
      const staged = `${file}.jsonl`;
      writeFileSync(staged, events.map((e) => JSON.stringify(e) + '\n').join(''));
      const columns = readJsonColumns(shape).replaceAll('TIMESTAMP_MS', 'VARCHAR');
      await db.run(`COPY (SELECT * FROM read_json(${quoteString(staged)}, format = 'newline_delimited', columns = ${columns})) TO ${quoteString(file)} (FORMAT parquet, COMPRESSION zstd)`);
      rmSync(staged);
    }
  } finally {
    db.close();
  }
  const catalog = path.join(to, '_seclake', 'catalog', 'objects.jsonl');
  const lines = readFileSync(catalog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  writeFileSync(catalog, lines.map((l) => JSON.stringify({ ...l, types: undefined }) + '\n').join(''));
  rmSync(path.join(to, '_seclake', 'schema'), { recursive: true, force: true });
}

test('a lake written with *_dt as text reads the same instants as TIMESTAMP, alone and mixed with new objects; catalog ddl says what Athena cannot read', async () => {
  const old = path.join(tmp(), 'old');
  await makeOldLake(lake, old);
  // The fixture is what the issue describes: VARCHAR time_dt (and nested *_dt) in the Parquet, no `types`.
  const probe = await Duck.open({ threads: 1 });
  try {
    const auth = readObjects(old).filter((o) => o.source === 'CLOUD_TRAIL_MGMT' && o.class_uid === 6003);
    assert.ok(auth.length > 0 && auth.every((o) => o.types === undefined));
    const types = await Promise.all(auth.map(async (o) => new Map((await probe.describe(`SELECT * FROM read_parquet(${quoteString(resolveInLake(old, o.path))}) LIMIT 0`)).map((c) => [c.name, c.type]))));
    assert.ok(types.every((t) => t.get('time_dt') === 'VARCHAR'));
    assert.ok(types.some((t) => /"?created_time_dt"? VARCHAR/.test(t.get('actor') ?? '')), 'a nested *_dt as text');
  } finally {
    probe.close();
  }
  const query = `SELECT "time", time_dt, actor.session.created_time_dt AS created, typeof(time_dt) AS t, metadata.uid AS uid FROM cloudtrail_api ORDER BY "time", uid, created NULLS FIRST`;
  const read = async (dir: string, sql: string): Promise<Record<string, unknown>[]> => {
    const db = await openLakeQuery(dir);
    try {
      return await db.all(sql);
    } finally {
      db.close();
    }
  };
  const want = await read(lake, query);
  assert.ok(want.some((r) => r.created instanceof Date), 'a nested *_dt in the samples');
  assert.ok(want.every((r) => r.t === 'TIMESTAMP' && r.time_dt instanceof Date && r.time_dt.getTime() === r.time));
  assert.deepEqual(await read(old, query), want, 'the old lake reads the same instants, as TIMESTAMP');
  // Every view of the old lake has the same columns and types as the new one's.
  const schemaOf = async (dir: string): Promise<string[]> => {
    const db = await openLakeQuery(dir);
    try {
      const out: string[] = [];
      for (const v of ['vpc_flow', 'route53', 'cloudtrail_api', 'cloudtrail_auth', 'cloudtrail_account', 'seclake_findings', 'amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0']) {
        for (const c of await db.describe(`SELECT * FROM ${v} LIMIT 0`)) out.push(`${v}.${c.name} ${printDuckType(parseDuckType(c.type))}`);
      }
      return out;
    } finally {
      db.close();
    }
  };
  assert.deepEqual(await schemaOf(old), await schemaOf(lake));
  // AWS's pattern runs on the old lake and finds what it finds on the new one (records without a time of their own
  // are stamped with the ingest time: recent).
  const recent = "SELECT count(*)::BIGINT AS n FROM vpc_flow WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP";
  assert.deepEqual(await read(old, recent), await read(lake, recent));
  // Mixed: new objects ingested into the old lake.
  const s = await ingest({ lakeDir: old, paths: [path.join(root, 'test/samples/ocsf-examples-aws/v1.1.0/cloudtrail-api-activity/generic_api_activity.ocsf.json')] });
  assert.equal(s.totals.failed, 0);
  const mixed = await read(old, query);
  assert.equal(mixed.length, want.length + 1);
  assert.ok(mixed.every((r) => r.t === 'TIMESTAMP' && (r.time_dt as Date).getTime() === r.time));
  // Athena cannot read text as timestamp: the DDL says which columns and how many objects, and the fix.
  const ddl = renderDdl(await describeLakeTables(readObjects(old), { dir: old }), { engine: 'athena', location: 's3://b/p' });
  assert.match(ddl, /`time_dt` timestamp/);
  assert.match(ddl, /-- WARNING: \d+ objects were written before seclake stored \*_dt as timestamps: they hold [^\n]*time_dt[^\n]* as text/);
  assert.match(ddl, /seclake ingest --force/);
  const fresh = renderDdl(await describeLakeTables(readObjects(lake), { dir: lake }), { engine: 'athena', location: 's3://b/p' });
  assert.doesNotMatch(fresh, /WARNING/);
  assert.doesNotMatch(fresh, /_dt` string/);
});

test("schema: 'objects' (the behaviour features' reads): source views of the objects' own columns; empty ones still the table's", async () => {
  const db = await openLakeQuery(lake, { schema: 'objects' });
  try {
    await assert.rejects(db.all('SELECT src_endpoint.domain FROM vpc_flow'), SqlBindError);
    const files = readObjects(lake).filter((o) => o.source === 'VPC_FLOW').map((o) => quoteString(resolveInLake(lake, o.path)));
    const own = await db.describe(`SELECT * FROM read_parquet([${files.join(', ')}], union_by_name = true, hive_partitioning = true) LIMIT 0`);
    assert.deepEqual((await db.describe('SELECT * FROM vpc_flow LIMIT 0')).map((c) => c.name), own.map((c) => c.name));
    const s3 = new Map((await db.describe('SELECT * FROM s3_data LIMIT 0')).map((c) => [c.name, c.type]));
    assert.equal(s3.get('time_dt'), 'TIMESTAMP');
    assert.ok(s3.has('api') && s3.has('actor'));
  } finally {
    db.close();
  }
});
