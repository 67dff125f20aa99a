import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { absentFieldsSelect, columnPathsOf, parseDuckType, printDuckType } from './absent-fields.js';
import { Duck, SqlBindError, quoteString } from './duckdb.js';

test('DuckDB types round-trip through the parser (structs parsed, everything else kept as text)', () => {
  for (const t of [
    'VARCHAR',
    'STRUCT("ip" VARCHAR, "port" INTEGER)',
    'STRUCT("name" VARCHAR, "type_id" INTEGER, "value" VARCHAR)[]',
    'STRUCT("a" STRUCT("b" MAP(VARCHAR, VARCHAR), "c" DECIMAL(18,3)), "d" TIMESTAMP WITH TIME ZONE, "e" ENUM(\'x, y\', \'z\'))',
    'STRUCT("we""ird" VARCHAR)',
  ]) {
    assert.equal(printDuckType(parseDuckType(t)), t);
  }
  const n = parseDuckType('STRUCT(ip VARCHAR, u STRUCT(a INTEGER))');
  assert.equal(printDuckType(n), 'STRUCT("ip" VARCHAR, "u" STRUCT("a" INTEGER))');
});

test('absent attributes of an object are read as typed NULLs; names the OCSF schema does not know stay unbound', async () => {
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
    const schemaOf = (f: string) => db.describe('SELECT * FROM read_parquet($1)', [f]);

    const sql = 'SELECT CASE WHEN connection_info.direction_id = 1 THEN dst_endpoint.instance_uid ELSE src_endpoint.instance_uid END AS entity FROM events e WHERE e.src_endpoint.ip IS NOT NULL';
    await assert.rejects(db.all(sql.replace('FROM events e', 'FROM read_parquet($1) e'), [flow]), SqlBindError);
    const paths = await columnPathsOf(db, sql);
    assert.deepEqual(paths.map((p) => p.join('.')).sort(), ['connection_info.direction_id', 'dst_endpoint.instance_uid', 'e.src_endpoint.ip', 'src_endpoint.instance_uid']);
    const c = absentFieldsSelect(await schemaOf(flow), paths, [4001])!;
    assert.deepEqual(c.absent.sort(), ['connection_info.direction_id', 'src_endpoint.instance_uid']);
    const rows = await db.all(sql.replace('FROM events e', `FROM (SELECT ${c.select} FROM read_parquet($1)) e`), [flow]);
    assert.deepEqual(rows, [{ entity: null }], 'direction NULL: the ELSE branch, src_endpoint.instance_uid, NULL');
    const whole = await db.all(`SELECT src_endpoint, connection_info FROM (SELECT ${c.select} FROM read_parquet($1))`, [flow]);
    assert.deepEqual(whole, [{ src_endpoint: { ip: '203.0.113.5', port: 40000, instance_uid: null }, connection_info: null }], 'existing fields kept');

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
