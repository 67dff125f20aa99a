import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { absentFieldsSelect, columnPathsOf, conformSelect, mergeTypes, parseDuckType, printDuckType, sourceSchema, tableSchema, type ColType } from './columns.js';
import { Duck, SqlBindError, quoteString } from './duckdb.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The type at a dotted struct path of a schema, or undefined. */
function typeAt(cols: readonly { name: string; type: ColType }[], dotted: string): ColType | undefined {
  const [first, ...rest] = dotted.split('.');
  let t = cols.find((c) => c.name === first)?.type;
  for (const s of rest) {
    if (t?.k === 'list') t = t.item;
    if (t?.k !== 'struct') return undefined;
    t = t.fields.find((f) => f.name === s)?.type;
  }
  return t;
}
const typeText = (cols: readonly { name: string; type: ColType }[], dotted: string): string | undefined => {
  const t = typeAt(cols, dotted);
  return t && printDuckType(t);
};

test('DuckDB types round-trip through the parser', () => {
  for (const t of [
    'VARCHAR',
    'STRUCT("ip" VARCHAR, "port" INTEGER)',
    'STRUCT("name" VARCHAR, "type_id" INTEGER, "value" VARCHAR)[]',
    'STRUCT("a" STRUCT("b" MAP(VARCHAR, VARCHAR), "c" DECIMAL(18,3)), "d" TIMESTAMP WITH TIME ZONE, "e" ENUM(\'x, y\', \'z\'))',
    'STRUCT("we""ird" VARCHAR)',
  ]) {
    assert.equal(printDuckType(parseDuckType(t)), t);
  }
  assert.equal(printDuckType(parseDuckType('STRUCT(ip VARCHAR, u STRUCT(a INTEGER))')), 'STRUCT("ip" VARCHAR, "u" STRUCT("a" INTEGER))');
  assert.equal(printDuckType(parseDuckType('decimal( 18 , 3 )')), 'DECIMAL(18,3)');
  assert.throws(() => parseDuckType('STRUCT("a" VARCHAR'), /cannot parse/);
});

test('a source table has every attribute of its classes under its Security Lake profiles, typed as Security Lake stores them', () => {
  const vpc = sourceSchema('VPC_FLOW');
  // Scalars: ids and ports INTEGER, time and counts BIGINT, *_dt TIMESTAMP (datetime profile), names VARCHAR.
  assert.equal(typeText(vpc, 'time'), 'BIGINT');
  assert.equal(typeText(vpc, 'time_dt'), 'TIMESTAMP');
  assert.equal(typeText(vpc, 'start_time_dt'), 'TIMESTAMP');
  assert.equal(typeText(vpc, 'class_uid'), 'INTEGER');
  assert.equal(typeText(vpc, 'type_uid'), 'BIGINT');
  assert.equal(typeText(vpc, 'src_endpoint.port'), 'INTEGER');
  assert.equal(typeText(vpc, 'src_endpoint.domain'), 'VARCHAR');
  assert.equal(typeText(vpc, 'traffic.bytes'), 'BIGINT');
  assert.equal(typeText(vpc, 'unmapped'), 'MAP(VARCHAR, VARCHAR)');
  assert.equal(typeText(vpc, 'metadata.profiles'), 'VARCHAR[]');
  assert.equal(typeText(vpc, 'src_endpoint.intermediate_ips'), 'VARCHAR[]');
  assert.equal(typeAt(vpc, 'observables')?.k, 'list');
  // Profiles: cloud and security_control and datetime are in; host (device, actor) and network_proxy are not.
  for (const c of ['cloud', 'api', 'action_id', 'disposition_id', 'firewall_rule', 'time_dt']) assert.ok(typeAt(vpc, c), c);
  for (const c of ['device', 'actor', 'proxy_endpoint', 'load_balancer']) assert.equal(typeAt(vpc, c), undefined, c);
  // CloudTrail: the union of its three classes, without security_control.
  const ct = sourceSchema('CLOUD_TRAIL_MGMT');
  for (const c of ['user', 'api', 'actor', 'is_mfa', 'resources', 'auth_protocol_id']) assert.ok(typeAt(ct, c), c);
  assert.equal(typeAt(ct, 'action_id'), undefined);
  assert.equal(typeText(ct, 'actor.session.created_time_dt'), 'TIMESTAMP');
  assert.equal(typeText(ct, 'actor.user.account.uid'), 'VARCHAR');
  // Objects stop where they would contain themselves: a process's parent is not expanded inside a process.
  assert.ok(typeAt(ct, 'actor.process.name'));
  assert.equal(typeAt(ct, 'actor.process.parent_process'), undefined);
  // The columns are fixed: the same whatever the lake holds, in the schema's order.
  assert.deepEqual(tableSchema([3001, 3002, 6003], ['datetime', 'cloud']), ct);
});

test("the table schema types every column of Security Lake's own OCSF 1.1.0 sample as Security Lake does", async () => {
  // AWS's API Activity sample (Security Lake source version 2, EKS audit): time_dt and start_time_dt INT64
  // TIMESTAMP_MILLIS, ids INT32, time and type_uid INT64, ...
  const db = await Duck.open({ threads: 1 });
  try {
    const file = path.join(root, 'test/samples/security-lake-ocsf-validation/1.1.0/EKS/test.parquet');
    const sl = await db.describe(`SELECT * FROM read_parquet(${quoteString(file)}) LIMIT 0`);
    const ours = tableSchema([6003], ['cloud', 'datetime']);
    const diffs: string[] = [];
    const walk = (a: ColType, t: ColType | undefined, at: string): void => {
      if (!t) diffs.push(`${at}: not in the schema`);
      else if (a.k === 'prim' || t.k === 'prim') {
        if (printDuckType(a) !== printDuckType(t)) diffs.push(`${at}: Security Lake ${printDuckType(a)}, ours ${printDuckType(t)}`);
      } else if (a.k === 'list' && t.k === 'list') walk(a.item, t.item, `${at}[]`);
      else if (a.k === 'struct' && t.k === 'struct') for (const f of a.fields) walk(f.type, t.fields.find((x) => x.name === f.name)?.type, `${at}.${f.name}`);
      else if (a.k !== t.k) diffs.push(`${at}: Security Lake ${a.k}, ours ${t.k}`);
    };
    for (const c of sl) walk(parseDuckType(c.type), ours.find((x) => x.name === c.name)?.type, c.name);
    assert.ok(sl.length >= 20);
    assert.equal(sl.find((c) => c.name === 'time_dt')?.type, 'TIMESTAMP');
    // The one difference: Security Lake's EKS mapping writes actor.user.groups as strings, where OCSF 1.1.0 has
    // group objects (the lake follows the schema).
    assert.equal(diffs.length, 1, diffs.join('; '));
    assert.match(diffs[0]!, /^actor\.user\.groups\[\]: Security Lake VARCHAR, ours STRUCT\(/);
  } finally {
    db.close();
  }
});

test('merged types: the schema fields in its order, the data-only fields kept, text *_dt and narrower ints taken up', () => {
  const target = parseDuckType('STRUCT(a VARCHAR, t TIMESTAMP, n BIGINT, s STRUCT(x INTEGER, y VARCHAR))');
  const actual = parseDuckType('STRUCT(s STRUCT(y VARCHAR), extra BOOLEAN, t VARCHAR, n INTEGER)');
  assert.equal(printDuckType(mergeTypes(actual, target)), 'STRUCT("a" VARCHAR, "t" TIMESTAMP, "n" BIGINT, "s" STRUCT("x" INTEGER, "y" VARCHAR), "extra" BOOLEAN)');
  // Where data and schema disagree otherwise, the data's type stays (a cast could fail).
  assert.equal(printDuckType(mergeTypes(parseDuckType('VARCHAR'), parseDuckType('INTEGER'))), 'VARCHAR');
});

test('conformSelect: missing columns NULL, structs completed by a cast, text timestamps cast, other columns kept', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-columns-'));
  const db = await Duck.open({ threads: 1 });
  try {
    const f = path.join(dir, 'old.parquet');
    await db.run(
      `COPY (SELECT 4001 AS class_uid, 1700000000123::BIGINT AS "time", '2023-11-14T22:13:20.123Z' AS time_dt, {'ip': '203.0.113.5'} AS src_endpoint, 'x' AS not_ocsf) TO ${quoteString(f)} (FORMAT parquet)`,
    );
    const schema = sourceSchema('VPC_FLOW');
    const c = conformSelect(await db.describe('SELECT * FROM read_parquet($1) LIMIT 0', [f]), schema);
    assert.equal(c.exact, false);
    const rows = await db.all(`SELECT typeof(time_dt) AS tt, time_dt, src_endpoint.ip AS ip, src_endpoint.domain AS d, traffic.bytes AS b, not_ocsf, file_row_number AS r FROM (SELECT ${c.select} FROM read_parquet($1, file_row_number = true))`, [f]);
    assert.deepEqual(rows, [{ tt: 'TIMESTAMP', time_dt: new Date(1700000000123), ip: '203.0.113.5', d: null, b: null, not_ocsf: 'x', r: 0 }]);
    const cols = (await db.describe(`SELECT ${c.select} FROM read_parquet($1) LIMIT 0`, [f])).map((x) => x.name);
    assert.deepEqual(cols.slice(0, schema.length), schema.map((x) => x.name), 'the schema columns first, in order');
    assert.equal(cols.at(-1), 'not_ocsf');
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one object with the attributes a query names that it lacks read as NULL; names the schema does not know stay unbound', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-absent-'));
  const db = await Duck.open({ threads: 1 });
  try {
    // A network activity object (4001) whose src_endpoint has only ip and port, without connection_info; an
    // authentication object (3002) whose actor has no user.
    const flow = path.join(dir, 'flow.parquet');
    await db.run(
      `COPY (SELECT 4001 AS class_uid, {'ip': '203.0.113.5', 'port': 40000} AS src_endpoint, {'ip': '10.0.0.1', 'instance_uid': 'i-1'} AS dst_endpoint) TO ${quoteString(flow)} (FORMAT parquet)`,
    );
    const auth = path.join(dir, 'auth.parquet');
    await db.run(`COPY (SELECT 3002 AS class_uid, {'app_name': 'console'} AS actor) TO ${quoteString(auth)} (FORMAT parquet)`);
    const schemaOf = (f: string) => db.describe('SELECT * FROM read_parquet($1) LIMIT 0', [f]);

    const sql = 'SELECT CASE WHEN connection_info.direction_id = 1 THEN dst_endpoint.instance_uid ELSE src_endpoint.instance_uid END AS entity FROM events e WHERE e.src_endpoint.ip IS NOT NULL';
    await assert.rejects(db.all(sql.replace('FROM events e', 'FROM read_parquet($1) e'), [flow]), SqlBindError);
    const paths = await columnPathsOf(db, sql);
    assert.deepEqual(paths.map((p) => p.join('.')).sort(), ['connection_info.direction_id', 'dst_endpoint.instance_uid', 'e.src_endpoint.ip', 'src_endpoint.instance_uid']);
    const c = absentFieldsSelect(await schemaOf(flow), paths, [4001])!;
    assert.deepEqual(c.absent.sort(), ['connection_info.direction_id', 'src_endpoint.instance_uid']);
    const rows = await db.all(sql.replace('FROM events e', `FROM (SELECT ${c.select} FROM read_parquet($1)) e`), [flow]);
    assert.deepEqual(rows, [{ entity: null }], 'direction NULL: the ELSE branch, src_endpoint.instance_uid, NULL');
    const whole = await db.all(`SELECT src_endpoint.ip AS ip, src_endpoint.port AS port, src_endpoint.instance_uid AS i, connection_info FROM (SELECT ${c.select} FROM read_parquet($1))`, [flow]);
    assert.deepEqual(whole, [{ ip: '203.0.113.5', port: 40000, i: null, connection_info: null }], 'existing fields kept');

    // A nested absent object: actor.user.name on an actor without user.
    const a = absentFieldsSelect(await schemaOf(auth), [['actor', 'user', 'name'], ['src_endpoint', 'ip']], [3002])!;
    assert.deepEqual(a.absent.sort(), ['actor.user.name', 'src_endpoint.ip']);
    assert.deepEqual(await db.all(`SELECT actor.user.name AS n, actor.app_name AS app, src_endpoint.ip AS ip FROM (SELECT ${a.select} FROM read_parquet($1))`, [auth]), [{ n: null, app: 'console', ip: null }]);

    // A typo, an alias, or an unknown class: nothing is made up.
    assert.equal(absentFieldsSelect(await schemaOf(flow), [['src_endpoint', 'instanc_uid'], ['entity'], ['nosuch', 'x']], [4001]), undefined);
    assert.equal(absentFieldsSelect(await schemaOf(flow), [['src_endpoint', 'instance_uid']], []), undefined);
    // Nothing absent: nothing to do.
    assert.equal(absentFieldsSelect(await schemaOf(flow), [['dst_endpoint', 'instance_uid'], ['src_endpoint', 'ip']], [4001]), undefined);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
