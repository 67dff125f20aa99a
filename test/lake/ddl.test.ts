/**
 * `seclake catalog ddl`: DuckDB type parsing and Hive mapping, a golden Athena DDL for the bundled samples, a
 * structural check of every Athena statement (types well-formed, every column present, identifiers quoted), the
 * DuckDB DDL executed against the lake, and the S3 path (schemas from Parquet footers only) against moto.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startMoto, type Moto } from '../helpers/moto.js';
import { ingest } from '../../src/ingest/ingest.js';
import { readObjects } from '../../src/lake/catalog.js';
import { Duck } from '../../src/lake/duckdb.js';
import { describeLakeTables, hiveType, renderDdl, type LakeTable } from '../../src/lake/ddl.js';
import { parseDuckType } from '../../src/lake/columns.js';
import { findingsObjectKey, publishFindings } from '../../src/findings/lake.js';
import type { DetectionFinding } from '../../src/findings/types.js';
import { S3Lake } from '../../src/lake/s3.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const samples = path.join(root, 'assets', 'samples');
const golden = path.join(root, 'test', 'lake', 'testdata', 'ddl-athena.golden.sql');

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'seclake-ddl-'));
  dirs.push(d);
  return d;
};
let lake: string;
let tables: LakeTable[];
let moto: Moto | undefined;

before(async () => {
  lake = tmp();
  const s = await ingest({ lakeDir: lake, paths: [samples] });
  assert.equal(s.totals.failed, 0);
  // The monitor's findings for one source object (real writer; catalogued like every object). The findings are the
  // builder's golden findings frozen with the legacy testdata, so this golden DDL does not follow builder changes.
  const src = readObjects(lake).find((o) => o.source === 'VPC_FLOW' && o.region === 'us-east-1') ?? readObjects(lake)[0]!;
  const frozen = JSON.parse(readFileSync(path.join(root, 'src', 'findings', 'testdata', 'legacy-lake', 'findings.json'), 'utf8')) as Record<string, DetectionFinding>;
  const fs = Object.values(frozen).map((f, i) => {
    const c = structuredClone(f);
    c.finding_info.uid = `ddl-${i}`;
    (c.unmapped as Record<string, unknown>).source_object = src.path;
    return c;
  });
  await publishFindings(lake, findingsObjectKey(src.path, { region: 'us-east-1', accountId: '123456789012', eventDay: '20240101' }), fs);
  findingsRows = fs.length;
  tables = await describeLakeTables(readObjects(lake), { dir: lake });
});
let findingsRows = 0;
after(async () => {
  await moto?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('DuckDB type strings parse and map to Hive types', () => {
  const t = parseDuckType('STRUCT("ip" VARCHAR, "port" INTEGER, "a""b" STRUCT("uid" VARCHAR), "ips" VARCHAR[])[]');
  assert.equal(hiveType(t), 'array<struct<`ip`:string,`port`:int,`a"b`:struct<`uid`:string>,`ips`:array<string>>>');
  assert.equal(hiveType(parseDuckType('MAP(VARCHAR, VARCHAR)')), 'map<string,string>');
  assert.equal(hiveType(parseDuckType('MAP(VARCHAR, STRUCT("x" BIGINT)[])')), 'map<string,array<struct<`x`:bigint>>>');
  assert.equal(hiveType(parseDuckType('DECIMAL(18,3)')), 'decimal(18,3)');
  assert.equal(hiveType(parseDuckType('TIMESTAMP WITH TIME ZONE')), 'timestamp');
  assert.equal(hiveType(parseDuckType('UBIGINT')), 'decimal(20,0)');
  assert.equal(hiveType(parseDuckType('INTEGER[][]')), 'array<array<int>>');
  assert.equal(hiveType(parseDuckType('STRUCT(time BIGINT)')), 'struct<`time`:bigint>');
  assert.equal(hiveType(parseDuckType('BLOB')), 'binary');
  assert.throws(() => parseDuckType('STRUCT("a" VARCHAR'), /cannot parse/);
  assert.throws(() => parseDuckType('VARCHAR junk('), /cannot parse/);
});

test('golden: Athena DDL for the bundled samples', () => {
  const ddl = renderDdl(tables, { engine: 'athena', location: 's3://example-bucket/lake' });
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) {
    mkdirSync(path.dirname(golden), { recursive: true });
    writeFileSync(golden, ddl);
  }
  assert.equal(ddl, readFileSync(golden, 'utf8'));
  // *_dt are timestamps, as Security Lake's tables have them (AWS's `time_dt BETWEEN ...` needs it), at any depth.
  assert.match(ddl, /\n {2}`time_dt` timestamp,?\n/);
  assert.match(ddl, /`created_time_dt`:timestamp/);
  assert.doesNotMatch(ddl, /_dt`:? ?string/);
  // One table per (region, source), named as Security Lake names them.
  const names = [...ddl.matchAll(/CREATE EXTERNAL TABLE IF NOT EXISTS `[a-z0-9_]+`\.`([a-z0-9_]+)`/g)].map((m) => m[1]);
  assert.ok(names.includes('amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0'), names.join());
  assert.ok(names.includes('amazon_security_lake_table_ap_southeast_2_vpc_flow_2_0'), names.join());
  assert.ok(names.some((n) => /_route53_2_0$/.test(n!)), names.join());
  assert.ok(names.includes('amazon_security_lake_table_us_east_1_ext_seclake_findings_2_0'), names.join());
  const ft = tables.find((t) => t.name === 'amazon_security_lake_table_us_east_1_ext_seclake_findings_2_0')!;
  assert.equal(ft.prefix, 'ext/seclake_findings/2.0');
  assert.equal(ft.rows, findingsRows);
  // OCSF columns, like every other table (and Security Lake custom sources).
  const cols = new Map(ft.columns.map((c) => [c.name, c.type]));
  for (const c of ['class_uid', 'category_uid', 'type_uid', 'severity_id', 'time', 'raw_data']) assert.ok(cols.has(c), c);
  assert.match(cols.get('finding_info') ?? '', /^STRUCT\(/);
  assert.equal(cols.get('unmapped'), 'MAP(VARCHAR, VARCHAR)');
  assert.ok(!cols.has('finding') && !cols.has('dot_product'), 'no flat columns: those are the findings view');
  assert.equal(names.length, tables.length);
});

// ---- a structural checker for the Hive/Athena DDL subset we emit --------------------------------------------------
const PRIMS = new Set(['string', 'bigint', 'int', 'smallint', 'tinyint', 'boolean', 'double', 'float', 'date', 'timestamp', 'binary']);
/** Parse a Hive type at s[i]; returns the end index. Identifiers inside struct<> must be backticked. */
function hiveTypeEnd(s: string, i: number): number {
  const word = /^[a-z]+/.exec(s.slice(i))?.[0] ?? '';
  if (PRIMS.has(word) && !/^[a-z(<]/.test(s[i + word.length] ?? '')) return i + word.length;
  if (word === 'decimal') {
    const m = /^decimal\(\d+,\d+\)/.exec(s.slice(i));
    assert.ok(m, `bad decimal at ${s.slice(i, i + 20)}`);
    return i + m[0].length;
  }
  if (word === 'array') {
    assert.equal(s[i + 5], '<');
    const e = hiveTypeEnd(s, i + 6);
    assert.equal(s[e], '>', `array not closed at ${s.slice(e, e + 20)}`);
    return e + 1;
  }
  if (word === 'map') {
    assert.equal(s[i + 3], '<');
    const k = hiveTypeEnd(s, i + 4);
    assert.equal(s[k], ',');
    const v = hiveTypeEnd(s, k + 1);
    assert.equal(s[v], '>');
    return v + 1;
  }
  if (word === 'struct') {
    assert.equal(s[i + 6], '<');
    let j = i + 7;
    for (;;) {
      const f = /^`[^`]+`:/.exec(s.slice(j));
      assert.ok(f, `struct field name not backticked at ${s.slice(j, j + 30)}`);
      j = hiveTypeEnd(s, j + f[0].length);
      if (s[j] === ',') {
        j++;
        continue;
      }
      assert.equal(s[j], '>', `struct not closed at ${s.slice(j, j + 20)}`);
      return j + 1;
    }
  }
  assert.fail(`unknown type at ${s.slice(i, i + 30)}`);
}

test('every Athena statement is well-formed: types balanced, every column present, identifiers backticked, properties paired', () => {
  for (const projection of [true, false]) {
    const ddl = renderDdl(tables, { engine: 'athena', location: 's3://bkt/pre', database: 'security', projection });
    const statements = ddl
      .split('\n')
      .filter((l) => !l.startsWith('--'))
      .join('\n')
      .split(/;\n/)
      .map((x) => x.trim())
      .filter(Boolean);
    const creates = statements.filter((x) => x.startsWith('CREATE EXTERNAL TABLE'));
    assert.equal(creates.length, tables.length);
    for (const t of tables) {
      const st = creates.find((c) => c.includes(`\`security\`.\`${t.name}\` (`));
      assert.ok(st, t.name);
      const body = st.slice(st.indexOf('(\n') + 2, st.indexOf('\n)\nPARTITIONED BY'));
      const lines = body.split(',\n');
      assert.equal(lines.length, t.columns.length);
      t.columns.forEach((c, k) => {
        const m = /^ {2}`([^`]+)` (.+)$/.exec(lines[k]!);
        assert.ok(m, `column line ${lines[k]}`);
        assert.equal(m[1], c.name);
        assert.equal(hiveTypeEnd(m[2]!, 0), m[2]!.length, `type of ${c.name} is not one well-formed Hive type: ${m[2]}`);
      });
      assert.match(st, /\nPARTITIONED BY \(`region` string, `accountid` string, `eventday` string\)\n/);
      assert.match(st, /ParquetHiveSerDe/);
      assert.match(st, new RegExp(`LOCATION 's3://bkt/pre/${t.prefix.replace(/[/.]/g, '\\$&')}/'`));
      // Reserved words used as names (time, user, from, ...) only ever appear backticked.
      for (const w of ['time', 'user', 'date', 'end', 'from', 'type']) assert.doesNotMatch(body, new RegExp(`(^|[^\`a-z_])${w}(?=[ :])`), w);
      // Balanced quotes and brackets overall.
      assert.equal((st.match(/`/g) ?? []).length % 2, 0);
      assert.equal((st.match(/'/g) ?? []).length % 2, 0);
      assert.equal((st.match(/\(/g) ?? []).length, (st.match(/\)/g) ?? []).length);
      assert.equal((st.match(/</g) ?? []).length, (st.match(/>/g) ?? []).length);
      if (projection) {
        assert.match(st, /'projection\.enabled' = 'true'/);
        assert.match(st, /'storage\.location\.template' = 's3:\/\/bkt\/pre\/.*\/region=\$\{region\}\/accountId=\$\{accountid\}\/eventDay=\$\{eventday\}\/'/);
      }
    }
    const alters = statements.filter((x) => x.startsWith('ALTER TABLE'));
    if (projection) assert.equal(alters.length, 0);
    else {
      assert.equal(alters.length, tables.length);
      const parts = alters.reduce((a, x) => a + (x.match(/PARTITION \(/g) ?? []).length, 0);
      assert.equal(parts, tables.reduce((a, t) => a + t.partitions.length, 0));
    }
  }
  assert.throws(() => renderDdl(tables, { engine: 'athena', location: '/local/dir' }), /s3:\/\//);
  assert.throws(() => renderDdl(tables, { engine: 'athena', location: 's3://b/p', database: 'x; DROP' }), /invalid Athena database/);
});

test('the DuckDB DDL runs in DuckDB against the lake: every table has the catalogued rows and the described columns', async () => {
  const ddl = renderDdl(tables, { engine: 'duckdb', location: lake });
  const db = await Duck.open();
  try {
    for (const st of ddl.split('\n').filter((l) => l && !l.startsWith('--'))) await db.run(st);
    for (const t of tables) {
      const [{ n }] = (await db.all(`SELECT count(*)::BIGINT AS n FROM "${t.name}"`)) as [{ n: number }];
      assert.equal(n, t.rows, t.name);
      const cols = (await db.describe(`SELECT * FROM "${t.name}"`)).map((c) => c.name.toLowerCase());
      for (const c of t.columns) assert.ok(cols.includes(c.name.toLowerCase()), `${t.name} lacks ${c.name}`);
      for (const p of ['region', 'accountid', 'eventday']) assert.ok(cols.includes(p), `${t.name} lacks ${p}`);
      const regions = await db.all(`SELECT DISTINCT region FROM "${t.name}"`);
      assert.deepEqual(regions.map((r) => r.region), [t.region]);
    }
  } finally {
    db.close();
  }
});

test('S3 lake: table schemas from Parquet footers only equal the local ones', async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: 'ddl-lake' }));
  s3.destroy();
  const url = 's3://ddl-lake/lake';
  const sub = [path.join(samples, 'vpc-flow'), path.join(samples, 'route53-resolver')];
  const local = tmp();
  await ingest({ lakeDir: local, paths: sub });
  const s = await ingest({ lakeDir: url, paths: sub, s3: { endpoint: moto.endpoint } });
  assert.equal(s.totals.failed, 0);
  const lakeS3 = new S3Lake(url, { endpoint: moto.endpoint });
  try {
    const fromS3 = await describeLakeTables(await lakeS3.listCatalog(0), { s3: lakeS3 });
    const fromLocal = await describeLakeTables(readObjects(local), { dir: local });
    assert.deepEqual(
      fromS3.map((t) => [t.name, t.columns, t.rows, t.partitions.length]),
      fromLocal.map((t) => [t.name, t.columns, t.rows, t.partitions.length]),
    );
    assert.ok(fromS3.length >= 2);
  } finally {
    lakeS3.close();
  }
});
