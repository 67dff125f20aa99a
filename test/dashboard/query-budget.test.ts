/**
 * The query box's result budgets over HTTP on a real server (issue 12): a result is cut at the row limit and at the
 * byte budget (the rows as JSON) and says which, and a statement whose one value outgrows the memory ceiling (one
 * row holding a huge list) is stopped with an error instead of growing the server. No timing or memory assertions:
 * the memory probe numbers are in the report of the change.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mountDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { startServer } from '../../src/serve/start.js';
import type { RunningServer } from '../../src/serve/server.js';
import type { AnyDetectorModel } from '../../src/detectors/types.js';
import { trainTinyModel } from '../serve/real-model.js';

interface Res {
  status: number;
  body: string;
}

function http(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

interface QueryBody {
  columns: string[];
  types: string[];
  rows: unknown[][];
  truncated: boolean;
  truncated_reason: string | null;
  limit: number;
  max_bytes: number;
  message?: string;
}

describe('dashboard query box budgets', () => {
  let dir: string;
  let running: RunningServer<AnyDetectorModel>;
  let dash: Dashboard;
  let base: string;
  let csrf: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'seclake-qbudget-'));
    const modelPath = await trainTinyModel(dir, 'tiny.model');
    running = await startServer({ models: [{ name: 'tiny', path: modelPath }], port: 0, host: '127.0.0.1', watch: false });
    dash = mountDashboard(running.app, {
      lakeDir: path.join(dir, 'lake'),
      registry: running.app.registry,
      queryMaxBytes: 1024 * 1024,
      queryMaxMemoryBytes: 1024 * 1024 * 1024,
    });
    base = `${running.url}/ui`;
    const m = /<meta name="csrf-token" content="([^"]+)">/.exec((await http(`${base}/`)).body);
    assert.ok(m, 'page carries a CSRF token');
    csrf = m[1]!;
  });

  after(async () => {
    dash?.close();
    await running?.close({ timeoutMs: 2000 });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const query = async (body: unknown): Promise<{ status: number; json: QueryBody }> => {
    const r = await http(`${base}/api/query`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, Origin: running.url },
      body: JSON.stringify(body),
    });
    return { status: r.status, json: JSON.parse(r.body) as QueryBody };
  };

  it('a complete result says it is complete', async () => {
    const r = await query({ sql: 'SELECT 42 AS x -- trailing comment' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.rows, [[42]]);
    assert.equal(r.json.truncated, false);
    assert.equal(r.json.truncated_reason, null);
    assert.deepEqual(r.json.columns, ['x']);
  });

  it('cuts a long result at the row limit and says so', async () => {
    const r = await query({ sql: 'SELECT * FROM range(300000000) t(x)', limit: 20 });
    assert.equal(r.status, 200);
    assert.equal(r.json.rows.length, 20);
    assert.equal(r.json.truncated, true);
    assert.equal(r.json.truncated_reason, 'row_limit');
  });

  it('cuts wide rows at the byte budget and says so', async () => {
    const r = await query({ sql: "SELECT repeat('x', 100000) AS wide FROM range(1000000)", limit: 500 });
    assert.equal(r.status, 200);
    assert.equal(r.json.truncated, true);
    assert.equal(r.json.truncated_reason, 'byte_budget');
    assert.equal(r.json.max_bytes, 1024 * 1024);
    assert.ok(r.json.rows.length > 0 && r.json.rows.length < 11, `${r.json.rows.length} rows of 100 kB within 1 MiB`);
    assert.ok(JSON.stringify(r.json.rows).length <= 1024 * 1024);
    assert.deepEqual(r.json.columns, ['wide']);
  });

  it('one value larger than the budget: no rows, the columns, and the reason', async () => {
    const r = await query({ sql: "SELECT repeat('y', 2000000) AS big" });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.rows, []);
    assert.deepEqual(r.json.columns, ['big']);
    assert.equal(r.json.truncated_reason, 'byte_budget');
  });

  it('a statement outgrowing the memory ceiling is stopped with an error, and the server keeps answering', async () => {
    const r = await query({ sql: 'select range(0,300000000) x' });
    assert.equal(r.status, 400);
    assert.match(r.json.message ?? '', /memory/);
    const ok = await query({ sql: 'SELECT 1 AS one' });
    assert.deepEqual(ok.json.rows, [[1]]);
  });
});
