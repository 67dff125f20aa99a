/**
 * `seclake query --format json` as a process: a statement that fails (at bind time or while running, before any row)
 * prints nothing on stdout, the error on stderr, and exits 1; a good one prints one complete JSON document, an empty
 * result `[]` (issue 12).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const dir = mkdtempSync(path.join(os.tmpdir(), 'seclake-query-cli-'));
// An empty lake (a lake is a directory holding _seclake/; a path without one is an error: test/cli/lake.test.ts).
mkdirSync(path.join(dir, 'lake', '_seclake'), { recursive: true });

function query(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'query', '--lake', path.join(dir, 'lake'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('seclake query --format json', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a statement that does not bind: nothing on stdout, the error on stderr, exit 1', () => {
    const r = query('--format', 'json', 'SELECT no_such_column');
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no_such_column/);
  });

  it('a statement failing while it runs, before its first row: nothing on stdout, exit 1', () => {
    const r = query('--format', 'json', "SELECT CASE WHEN x > 2500 THEN error('boom') ELSE x END AS v FROM range(5000) t(x)");
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /boom/);
  });

  it('a good statement: one complete document; no rows: []', () => {
    const ok = query('--format', 'json', 'SELECT * FROM range(3) t(x)');
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), [{ x: 0 }, { x: 1 }, { x: 2 }]);
    const none = query('--format', 'json', 'SELECT 1 AS x WHERE false');
    assert.equal(none.status, 0, none.stderr);
    assert.deepEqual(JSON.parse(none.stdout), []);
  });
});
