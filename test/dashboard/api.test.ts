/**
 * The dashboard over plain HTTP, mounted on a real `seclake serve` app (real model, real lake, real findings): pages
 * and API routes, labels landing in labels.jsonl, the live list's change detection, and the security rules (token ->
 * cookie, Host check, Origin/CSRF on POST, body limits, escaping of log content, read-only sandboxed SQL, no reading
 * of files the catalog does not list).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mountDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { labelsPath } from '../../src/dashboard/labels.js';
import { parseLabels } from '../../src/calibrate/inputs.js';
import { buildFinding } from '../../src/findings/build.js';
import { findingsObjectKey, publishFindings } from '../../src/findings/lake.js';
import type { DetectionFinding, ScoredRecord } from '../../src/findings/types.js';
import type { AnyDetectorModel } from '../../src/detectors/types.js';
import { startServer } from '../../src/serve/start.js';
import type { RunningServer } from '../../src/serve/server.js';
import { buildFixture, REPO, XSS_ENTITY, type DashboardFixture } from './fixture.js';
import { IPI } from '../../src/findings/test-support.js';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

function csrfOf(html: string): string {
  const m = /<meta name="csrf-token" content="([^"]+)">/.exec(html);
  assert.ok(m, 'page carries a CSRF token');
  return m[1]!;
}

describe('dashboard HTTP', () => {
  let fx: DashboardFixture;
  let running: RunningServer<AnyDetectorModel>;
  let dash: Dashboard;
  let base: string;
  let csrf: string;

  before(async () => {
    fx = await buildFixture();
    running = await startServer({ models: [{ name: 'flows', path: fx.modelPath }], port: 0, host: '127.0.0.1', watch: false });
    dash = mountDashboard(running.app, { lakeDir: fx.lakeDir, registry: running.app.registry, pollMs: 500 });
    base = `${running.url}/ui`;
    csrf = csrfOf((await http(`${base}/`)).body);
  });

  after(async () => {
    dash?.close();
    await running?.close({ timeoutMs: 2000 });
    fx?.cleanup();
  });

  const post = (p: string, body: unknown, headers: Record<string, string> = {}): Promise<Res> =>
    http(`${base}${p}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, Origin: running.url, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('serves the pages with strict security headers, next to the SageMaker API', async () => {
    for (const p of ['/', '/lake', '/models', '/findings', '/suppressions']) {
      const r = await http(`${base}${p}`);
      assert.equal(r.status, 200, p);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      assert.match(String(r.headers['content-security-policy']), /default-src 'none'; script-src 'self'; style-src 'self'/);
      assert.equal(r.headers['x-frame-options'], 'DENY');
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.ok(!/<script>|<style|\sstyle=|\son[a-z]+=/i.test(r.body), `${p}: no inline script, style or event handlers`);
      assert.ok(!/(src|href)="(https?:)?\/\//i.test(r.body), `${p}: no external script, style or link (everything is served locally)`);
    }
    const ping = await http(`${running.url}/ping`);
    assert.equal(ping.status, 200);
    const root = await http(`${running.url}/?token=abc`);
    assert.equal(root.status, 302, 'the server root leads to the dashboard');
    assert.equal(root.headers.location, '/ui/?token=abc');
    assert.equal((await http(`${running.url}/`, { method: 'POST' })).status, 404, 'only GET / is redirected');
    const js = await http(`${base}/static/app.js`);
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /javascript/);
    assert.doesNotMatch(js.body, /innerHTML/, 'the script builds DOM with textContent only');
  });

  it('Lake page and /api/summary: sources, days, partitions, quarantine reasons', async () => {
    const s = JSON.parse((await http(`${base}/api/summary`)).body) as {
      events: number; sources: { source: string }[]; days: { day: string; events: number }[]; partitions: unknown[]; rejects: number; quarantine: { field: string; count: number }[];
    };
    assert.ok(s.events > 3000);
    assert.ok(s.sources.some((x) => x.source === 'VPC_FLOW') && s.sources.some((x) => x.source === 'CLOUD_TRAIL_MGMT'));
    assert.deepEqual(s.days.filter((d) => d.day >= '20261125' && d.day <= '20261127').map((d) => d.day), ['20261125', '20261126', '20261127']);
    assert.equal(s.rejects, 3);
    assert.deepEqual(s.quarantine.map((q) => [q.field, q.count]), [['dstport', 2], ['', 1]]);
    const page = (await http(`${base}/lake`)).body;
    assert.ok(page.includes('dstport: … is not an integer'));
    assert.ok(page.includes('class="chart bar-chart"'));
    assert.ok(page.includes(`<div class="v">${fx.findings.length}</div><div class="k">findings</div>`), 'findings count');
  });

  it('Models page: hyperparameters, per-epoch training curve, calibration and the histogram with the threshold', async () => {
    const models = JSON.parse((await http(`${base}/api/models`)).body) as {
      name: string; detector: { type: string; title: string }; score: { name: string; direction: string }; training: { epoch_history: unknown[] }; calibration: { threshold: number; auc: number; normal_quantiles: number[] };
    }[];
    assert.equal(models.length, 1);
    assert.equal(models[0]!.name, 'flows');
    assert.equal(models[0]!.detector.type, 'ipinsights');
    assert.equal(models[0]!.detector.title, 'IP Insights');
    assert.equal(models[0]!.training.epoch_history.length, 20);
    assert.equal(models[0]!.calibration.normal_quantiles.length, 1001);
    const page = (await http(`${base}/models`)).body;
    assert.match(page, /class="chart line-chart"/);
    assert.match(page, /class="chart score-histogram"/);
    assert.match(page, /<line class="threshold"/);
    assert.match(page, /class="finding-tick"/, "the findings' scores are marked on the histogram");
    assert.match(page, /AUC \(ROC\)/);
    assert.match(page, /vector_dim/);
  });

  it('escapes log content: the instance id carrying markup stays text on every page and in the JSON', async () => {
    const list = (await http(`${base}/findings`)).body;
    assert.ok(!list.includes('<img/src=x'), 'no raw markup from the log in the list');
    assert.ok(list.includes('&lt;img/src=x/onerror=window.__xss=1&gt;&lt;script&gt;'), 'the entity is shown escaped');
    const detail = (await http(`${base}/findings/${fx.xssUid}`)).body;
    assert.ok(!detail.includes('<script>window.__xss'), 'no raw script in the detail page');
    assert.ok(detail.includes('i-&quot;&gt;&lt;img'));
    const api = JSON.parse((await http(`${base}/api/findings/${fx.xssUid}`)).body) as { summary: { entity: string } };
    assert.equal(api.summary.entity, XSS_ENTITY, 'the API returns the value itself (JSON, not HTML)');
  });

  it('lists findings newest first with severity, entity, IP, score, percentile and explanation; filters', async () => {
    const doc = JSON.parse((await http(`${base}/api/findings?limit=2000`)).body) as { version: string; findings: { time: number; severity_id: number; entity: string; ip: string; dot_product: number; percentile: number; explanation: string }[] };
    assert.equal(doc.findings.length, fx.findings.length);
    const times = doc.findings.map((f) => f.time);
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    for (const f of doc.findings as (typeof doc.findings[number] & { model: string })[]) {
      // The fixture's one history-detector finding has a prefix score, not a dot product.
      assert.ok(f.entity && f.ip && (Number.isFinite(f.dot_product) || f.model === 'history') && f.percentile >= 0 && f.percentile <= 1 && f.explanation.includes(f.ip), JSON.stringify(f));
    }
    const high = JSON.parse((await http(`${base}/api/findings?severity=3`)).body) as { findings: { severity_id: number }[] };
    assert.ok(high.findings.length > 0 && high.findings.length < doc.findings.length);
    assert.ok(high.findings.every((f) => f.severity_id >= 3));
    const models = JSON.parse((await http(`${base}/api/models`)).body) as { version: string }[];
    const byModel = JSON.parse((await http(`${base}/api/findings?limit=2000&model=${models[0]!.version}`)).body) as { findings: unknown[] };
    assert.equal(byModel.findings.length, fx.findings.filter((f) => (f.unmapped as { model: { name: string } }).model.name === 'flows').length);
    assert.equal((JSON.parse((await http(`${base}/api/findings?model=0000beef`)).body) as { findings: unknown[] }).findings.length, 0);
    const probe = (fx.findings.find((f) => f.finding_info.uid !== fx.xssUid)!.unmapped as { ip: string }).ip;
    const text = JSON.parse((await http(`${base}/api/findings?q=${encodeURIComponent(probe)}`)).body) as { findings: { ip: string }[] };
    assert.ok(text.findings.some((f) => f.ip === probe) && text.findings.length < doc.findings.length, `search for ${probe}`);
    const same = JSON.parse((await http(`${base}/api/findings?limit=2000&version=${encodeURIComponent(doc.version)}`)).body) as { unchanged?: boolean };
    assert.equal(same.unchanged, true, 'nothing changed: the poll gets no list');
  });

  it('a finding opens with its source event read from the lake (object + row)', async () => {
    const doc = JSON.parse((await http(`${base}/api/findings/${fx.xssUid}`)).body) as {
      summary: { source_object: string; source_row: number }; source_event: { status: string; event: { src_endpoint: { instance_uid: string; ip: string } } };
    };
    assert.equal(doc.source_event.status, 'found');
    assert.equal(doc.source_event.event.src_endpoint.instance_uid, XSS_ENTITY);
    assert.equal(doc.source_event.event.src_endpoint.ip, '198.51.100.9');
    const page = (await http(`${base}/findings/${fx.xssUid}`)).body;
    assert.match(page, /<pre class="json" id="source-event">/);
    assert.equal((await http(`${base}/findings/${'0'.repeat(32)}`)).status, 404);
  });

  it('labels: POST appends {finding_uid, entity, ip, label, at} to labels.jsonl (readable by seclake calibrate), latest wins', async () => {
    const target = fx.findings.find((f) => f.finding_info.uid !== fx.xssUid)!;
    const uid = target.finding_info.uid;
    const u = target.unmapped as { entity: string; ip: string };
    const before = JSON.parse((await http(`${base}/api/findings`)).body) as { version: string };
    const r1 = await post(`/api/findings/${uid}/label`, { label: 'true_positive', entity: 'forged', ip: '1.2.3.4' });
    assert.equal(r1.status, 200, r1.body);
    const r2 = await post(`/api/findings/${uid}/label`, { label: 'false_positive' });
    assert.equal(r2.status, 200, r2.body);
    const again = await post(`/api/findings/${uid}/label`, { label: 'false_positive' });
    assert.equal((JSON.parse(again.body) as { unchanged?: boolean }).unchanged, true, 'the same label twice adds no line');
    const lines = readFileSync(labelsPath(fx.lakeDir), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(lines.map((l) => [l.finding_uid, l.entity, l.ip, l.label]), [[uid, u.entity, u.ip, 'true_positive'], [uid, u.entity, u.ip, 'false_positive']], 'entity and ip come from the finding, not the request');
    assert.ok(lines.every((l) => !Number.isNaN(Date.parse(l.at!))));
    const parsed = parseLabels(readFileSync(labelsPath(fx.lakeDir), 'utf8'), 'labels.jsonl');
    assert.deepEqual(parsed.labels.map((l) => [l.entity, l.ip, l.label]), [[u.entity, u.ip, 'false_positive']], 'seclake calibrate --labels reads the file: the relabelled finding counts once, latest label');
    const after = JSON.parse((await http(`${base}/api/findings?version=${encodeURIComponent(before.version)}`)).body) as { unchanged?: boolean; findings: { entity: string; label: string | null }[] };
    assert.notEqual(after.unchanged, true, 'a label changes the list version');
    const fps = JSON.parse((await http(`${base}/api/findings?label=false_positive`)).body) as { findings: { label: string }[] };
    assert.deepEqual(fps.findings.map((f) => f.label), ['false_positive']);
    const unl = JSON.parse((await http(`${base}/api/findings?label=unlabelled&limit=2000`)).body) as { findings: unknown[] };
    assert.equal(unl.findings.length, fx.findings.length - 1);
    assert.equal((await post(`/api/findings/${uid}/label`, { label: 'maybe' })).status, 400);
    assert.equal((await post(`/api/findings/${'f'.repeat(32)}/label`, { label: 'false_positive' })).status, 404);
  });

  it('new findings written to the lake change the version and appear in the next poll', async () => {
    const first = JSON.parse((await http(`${base}/api/findings?limit=2000`)).body) as { version: string; findings: { uid: string }[] };
    const src = fx.findings[0]!;
    const u = src.unmapped as { source_object: string; source_row: number };
    const rec: ScoredRecord = {
      ref: { object: u.source_object, row: u.source_row, source: 'VPC_FLOW' },
      entity: 'i-0feedfeedfeed0001',
      ip: '100.64.1.2',
      time: Date.UTC(2026, 10, 28, 12),
      native_score: -3,
      entity_known: false,
      entity_count: 0,
      event: {},
    };
    const f: DetectionFinding = buildFinding(rec, { model: { detector: IPI, name: 'flows', version: 'test' }, kind: 'new_entity' });
    await publishFindings(fx.lakeDir, findingsObjectKey('live-test-object', { region: 'us-east-1', accountId: '123456789012', eventDay: '20261128' }), [f]);
    const next = JSON.parse((await http(`${base}/api/findings?limit=2000&version=${encodeURIComponent(first.version)}`)).body) as { unchanged?: boolean; findings: { uid: string; entity: string }[] };
    assert.notEqual(next.unchanged, true);
    assert.equal(next.findings[0]!.entity, 'i-0feedfeedfeed0001', 'newest first');
    assert.equal(next.findings.length, first.findings.length + 1);
  });

  it('query box: runs one read-only statement with a row limit; refuses writes, several statements and files outside the lake', async () => {
    const ok = await post('/api/query', { sql: 'SELECT class_uid, count(*) AS n FROM vpc_flow GROUP BY ALL ORDER BY n DESC', limit: 10 });
    assert.equal(ok.status, 200, ok.body);
    const res = JSON.parse(ok.body) as { columns: string[]; rows: unknown[][]; truncated: boolean };
    assert.deepEqual(res.columns, ['class_uid', 'n']);
    assert.deepEqual(res.rows[0]![0], 4001);
    const lim = JSON.parse((await post('/api/query', { sql: 'SELECT * FROM cloudtrail_api', limit: 5 })).body) as { rows: unknown[][]; truncated: boolean };
    assert.equal(lim.rows.length, 5);
    assert.equal(lim.truncated, true);
    const fnd = JSON.parse((await post('/api/query', { sql: 'select entity, ip from findings order by time desc -- newest;' })).body) as { rows: unknown[][] };
    assert.ok(fnd.rows.length >= fx.findings.length, 'the findings view is queryable');
    const empty = JSON.parse((await post('/api/query', { sql: 'SELECT * FROM vpc_flow WHERE false' })).body) as { columns: string[]; rows: unknown[][] };
    assert.equal(empty.rows.length, 0);
    assert.ok(empty.columns.includes('src_endpoint'), 'an empty result still has its columns');

    const refused: [string, RegExp][] = [
      ["COPY (SELECT 1) TO '/tmp/x.csv'", /reading statements/],
      ['SELECT 1; DROP VIEW vpc_flow', /one statement/],
      ["CREATE TABLE t AS SELECT 1", /reading statements/],
      ["WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", /INSERT is not allowed/],
      ["SELECT * FROM read_text('/etc/passwd')", /file system operations are disabled|Permission/],
      [`SELECT * FROM read_text('${fx.lakeDir}/../flows.model')`, /file system operations are disabled|Permission/],
      ["SELECT 'unterminated", /Unterminated/],
      ['SELECT * FROM no_such_view', /no_such_view/],
    ];
    for (const [sql, re] of refused) {
      const r = await post('/api/query', { sql });
      assert.equal(r.status, 400, sql);
      assert.match((JSON.parse(r.body) as { message: string }).message, re, sql);
    }
    const inLake = await post('/api/query', { sql: `SELECT count(*) AS n FROM read_text('${path.join(fx.lakeDir, '_seclake/catalog/objects.jsonl')}')` });
    assert.equal(inLake.status, 200, 'files inside the lake are readable');
  });

  it('POST needs the CSRF token, a same-origin Origin and a JSON body; bodies are bounded', async () => {
    const body = { sql: 'SELECT 1' };
    assert.equal((await post('/api/query', body, { 'X-CSRF-Token': 'nope' })).status, 403);
    assert.equal((await post('/api/query', body, { Origin: 'http://evil.example' })).status, 403);
    assert.equal((await post('/api/query', body, { 'Sec-Fetch-Site': 'cross-site' })).status, 403);
    assert.equal((await post('/api/query', 'sql=SELECT+1', { 'Content-Type': 'application/x-www-form-urlencoded' })).status, 415);
    assert.equal((await post('/api/query', '{not json')).status, 400);
    assert.equal((await post('/api/query', { sql: `SELECT '${'x'.repeat(70 * 1024)}'` })).status, 413);
    assert.equal((await http(`${base}/api/query`)).status, 405);
    assert.equal((await http(`${base}/`, { method: 'DELETE' })).status, 405);
  });

  it('refuses foreign Host names (DNS rebinding) and unknown paths; reads only catalogued source objects', async () => {
    const foreign = await http(`${base}/`, { headers: { Host: 'attacker.example:80' } });
    assert.equal(foreign.status, 403);
    assert.equal((await http(`${base}/`, { headers: { Host: 'localhost' } })).status, 200);
    for (const p of ['/static/../../etc/passwd', '/static/%2e%2e/x', '/nope', '/findings/%E0%A4%A']) {
      const r = await http(`${base}${p}`);
      assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`);
      assert.doesNotMatch(r.body, /root:/);
    }
    // A finding whose reference names a file outside the catalog: its "source event" is not read.
    const rec: ScoredRecord = { ref: { object: '../flows.model', row: 0 }, entity: 'i-0bad', ip: '10.9.9.9', time: Date.UTC(2026, 10, 20), native_score: -1, entity_known: false, entity_count: 0, event: {} };
    const f = buildFinding(rec, { model: { detector: IPI, name: 'flows', version: 'test' }, kind: 'new_entity' });
    await publishFindings(fx.lakeDir, findingsObjectKey('traversal-test', { region: 'us-east-1', accountId: '1', eventDay: '20261120' }), [f]);
    const doc = JSON.parse((await http(`${base}/api/findings/${f.finding_info.uid}`)).body) as { source_event: { status: string; reason: string } };
    assert.equal(doc.source_event.status, 'unavailable');
    assert.match(doc.source_event.reason, /not in this lake/);
  });
});

describe('dashboard with a serve --auth-token', () => {
  let fx: DashboardFixture;
  let running: RunningServer<AnyDetectorModel>;
  let dash: Dashboard;
  const token = 's3cret-token';

  before(async () => {
    fx = await buildFixture();
    running = await startServer({ models: [{ name: 'flows', path: fx.modelPath }], port: 0, host: '127.0.0.1', watch: false, authToken: token });
    dash = mountDashboard(running.app, { lakeDir: fx.lakeDir, registry: running.app.registry, authToken: token });
  });

  after(async () => {
    dash?.close();
    await running?.close({ timeoutMs: 2000 });
    fx?.cleanup();
  });

  it('needs the token: ?token= once sets an HttpOnly SameSite=Strict cookie (not the token) and redirects without it', async () => {
    const base = `${running.url}/ui`;
    assert.equal((await http(`${base}/`)).status, 401);
    assert.equal((await http(`${base}/api/findings`)).status, 401);
    assert.equal((await http(`${base}/?token=wrong`)).status, 401);
    assert.equal((await http(`${base}/static/style.css`)).status, 200, 'static assets need no session');
    const login = await http(`${base}/findings?severity=3&token=${token}`);
    assert.equal(login.status, 303);
    assert.equal(login.headers.location, '/ui/findings?severity=3');
    const setCookie = String(login.headers['set-cookie']);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Path=\/ui/);
    assert.ok(!setCookie.includes(token), 'the cookie does not hold the token');
    const cookie = setCookie.split(';')[0]!;
    const page = await http(`${base}/findings`, { headers: { Cookie: cookie } });
    assert.equal(page.status, 200);
    assert.equal((await http(`${base}/api/summary`, { headers: { Authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await http(`${base}/api/summary`, { headers: { Cookie: 'seclake_dashboard=forged' } })).status, 401);
    // With a token, any Host is allowed (the token protects the dashboard), and POST still needs the CSRF token.
    const csrf = csrfOf(page.body);
    const q = (t: string): Promise<Res> =>
      http(`${base}/api/query`, { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/json', 'X-CSRF-Token': t }, body: JSON.stringify({ sql: 'SELECT 42 AS x' }) });
    assert.equal((await q('x')).status, 403);
    const ok = await q(csrf);
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual((JSON.parse(ok.body) as { rows: unknown[][] }).rows, [[42]]);
    // The inference API keeps its own bearer rule.
    assert.equal((await http(`${running.url}/metrics`)).status, 401);
  });

  it('seclake serve --lake mounts the dashboard next to the API (and --auth-token protects both)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), 'serve', '--model', `flows=${fx.modelPath}`, '--lake', fx.lakeDir, '--port', '0', '--workers', '0', '--no-watch', '--auth-token', token], {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr!.setEncoding('utf8');
        child.stderr!.on('data', (d: string) => {
          err += d;
          const m = /Dashboard for lake .* on (http:\/\/127\.0\.0\.1:\d+\/ui\/)/.exec(err);
          if (m) resolve(m[1]!);
        });
        void exited.then((code) => reject(new Error(`serve exited (${code}):\n${err}`)));
      });
      assert.equal((await http(url)).status, 401);
      const page = await http(url, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(page.status, 200);
      assert.match(page.body, /<title>Incidents · seclake<\/title>/, 'the incident list is the first page');
      const ping = await http(url.replace('/ui/', '/ping'));
      assert.equal(ping.status, 200);
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, err);
    }
  });
});
