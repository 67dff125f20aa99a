import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { HttpError } from '../core/errors.js';
import { checkReadOnly, codeOnly, loaderArgs, runLakeQuery } from './query.js';

describe('query box: read-only check', () => {
  it('blanks comments, string literals, quoted identifiers and dollar quotes, keeping positions of code', () => {
    assert.equal(codeOnly("SELECT 'a;b' -- x; DROP\nFROM t"), "SELECT '   '  \nFROM t");
    assert.equal(codeOnly('SELECT "we""ird;" /* ; */ FROM t'), 'SELECT "        "   FROM t');
    assert.equal(codeOnly("SELECT $$ ; DELETE $$, $tag$ x $tag$"), "SELECT '', ''");
    assert.equal(codeOnly("SELECT 'it''s'"), "SELECT '     '");
    assert.throws(() => codeOnly("SELECT 'open"), /Unterminated string literal/);
    assert.throws(() => codeOnly('SELECT /* open'), /Unterminated \/\* comment/);
  });

  it('accepts one reading statement, with comments, literals and a trailing semicolon', () => {
    for (const sql of [
      'SELECT 1',
      '  select * from vpc_flow;  ',
      "WITH x AS (SELECT 1) SELECT * FROM x -- comment; with a semicolon",
      'FROM vpc_flow LIMIT 3',
      'DESCRIBE vpc_flow',
      'SHOW TABLES',
      'SUMMARIZE route53',
      "SELECT 'drop table x; insert' AS s",
      'SELECT "update", "set" FROM t',
      '(SELECT 1) UNION ALL (SELECT 2)',
      'VALUES (1), (2)',
    ]) {
      assert.doesNotThrow(() => checkReadOnly(sql), sql);
    }
    assert.equal(checkReadOnly('SELECT 1 ;  \n'), 'SELECT 1');
    assert.equal(checkReadOnly("SELECT ';' ;"), "SELECT ';'");
  });

  it('refuses writes, configuration, several statements and empty input, saying why', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['-- only a comment', /empty/],
      ['SELECT 1; SELECT 2', /Only one statement/],
      ["SELECT 1; COPY t TO '/tmp/x'", /Only one statement/],
      ['INSERT INTO t VALUES (1)', /starts with INSERT/],
      ["COPY (SELECT 1) TO '/tmp/x.csv'", /starts with COPY/],
      ["ATTACH '/tmp/x.db'", /starts with ATTACH/],
      ['PRAGMA version', /starts with PRAGMA/],
      ["SET enable_external_access = true", /starts with SET/],
      ['WITH a AS (SELECT 1) DELETE FROM t', /DELETE is not allowed/],
      ['SELECT * FROM t WHERE x IN (SELECT 1) /* ok */; INSTALL httpfs', /Only one statement/],
      ['EXPLAIN CREATE TABLE x AS SELECT 1', /CREATE is not allowed/],
      ["SELECT 'x", /Unterminated/],
    ];
    for (const [sql, re] of cases) {
      assert.throws(() => checkReadOnly(sql), (err: unknown) => err instanceof HttpError && err.status === 400 && re.test(err.message), sql);
    }
    assert.throws(() => checkReadOnly(`SELECT '${'x'.repeat(30_000)}'`), /too long/);
  });
});

describe('query box: sandbox', () => {
  it('runs against an empty lake; DuckDB refuses files outside the lake even for a statement that passes the check', async () => {
    const lake = mkdtempSync(path.join(tmpdir(), 'seclake-dash-query-'));
    try {
      const r = await runLakeQuery(lake, 'SELECT count(*) AS n FROM vpc_flow');
      assert.deepEqual(r.columns, ['n']);
      assert.deepEqual(r.rows, [[0]]);
      const many = await runLakeQuery(lake, 'SELECT * FROM range(100)', { limit: 7 });
      assert.equal(many.rows.length, 7);
      assert.equal(many.truncated, true);
      await assert.rejects(runLakeQuery(lake, "SELECT * FROM read_text('/etc/hostname')"), /file system operations are disabled|Permission/);
      await assert.rejects(runLakeQuery(lake, "SELECT * FROM read_csv('../../etc/passwd')"), /file system operations are disabled|Permission/);
      // Not DuckDB's temp directory either (`.tmp` under the working directory, always allowed unless disabled).
      const tmpDir = path.join(process.cwd(), '.tmp');
      const made = !existsSync(tmpDir);
      mkdirSync(tmpDir, { recursive: true });
      const secret = path.join(tmpDir, `seclake-secret-${process.pid}.csv`);
      writeFileSync(secret, 'a\nsecret\n');
      try {
        await assert.rejects(runLakeQuery(lake, `SELECT * FROM read_csv('${secret}')`), /file system operations are disabled|Permission/);
      } finally {
        rmSync(made ? tmpDir : secret, { recursive: true, force: true });
      }
      await assert.rejects(runLakeQuery(lake, 'SELECT sum(a % 7) FROM range(10000000000000) t(a)', { timeoutMs: 300 }), /longer than|interrupt/i);
    } finally {
      rmSync(lake, { recursive: true, force: true });
    }
  });
});

describe('query box: the query process', () => {
  it('gets the loader flags of its parent and nothing else (never -e code that would spawn again)', () => {
    assert.deepEqual(loaderArgs(['--import', 'tsx', '--test', '--test-concurrency=2']), ['--import', 'tsx']);
    assert.deepEqual(loaderArgs(['--input-type=module', '-e', 'import("x")', '--import=tsx', '--no-warnings']), ['--import=tsx', '--no-warnings']);
    assert.deepEqual(loaderArgs(['-p', '1+1', '--inspect-brk', '--require', 'ts-node/register', '--eval', 'x']), ['--require', 'ts-node/register']);
    assert.deepEqual(loaderArgs([]), []);
  });
});
