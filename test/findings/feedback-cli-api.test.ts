/**
 * Analyst feedback end to end on a lake with published findings: `seclake feedback` and `seclake suppressions` run as
 * a user runs them (node --import tsx src/cli/main.ts), and the dashboard's JSON API (POST /api/feedback, GET
 * /api/suppressions, POST /api/suppressions/<id>/remove) with its CSRF rules, both over the same feedback file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLabels } from '../../src/calibrate/inputs.js';
import { lakeFeedbackLabels } from '../../src/calibrate/run.js';
import { createDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { buildFinding } from '../../src/findings/build.js';
import { deriveEvent } from '../../src/ocsf/derive.js';
import { feedbackExamples, feedbackPath, matchSuppression, openFeedback, type Suppression, type SuppressionView } from '../../src/findings/feedback.js';
import { findingsObjectKey, publishFindings } from '../../src/findings/lake.js';
import { ipiModelRef } from '../../src/findings/test-support.js';
import type { DetectionFinding, ScoredRecord } from '../../src/findings/types.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
const OBJECT = 'aws/CLOUD_TRAIL_MGMT/2.0/region=us-east-1/accountId=123456789012/eventDay=20261207/o.parquet';

function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function finding(entity: string, ip: string, row: number): DetectionFinding {
  const rec: ScoredRecord = {
    ref: { object: OBJECT, row },
    entity,
    ip,
    time: Date.now() - 3_600_000,
    native_score: -4,
    entity_known: true,
    entity_count: 40,
    anomaly_percentile: 0.9995,
    is_anomaly: true,
    event: { class_uid: 3002, src_endpoint: { ip } },
  };
  return buildFinding(rec, { model: ipiModelRef('logins', 'abcd1234', -1), kind: 'anomaly' });
}

async function lakeWith(findings: DetectionFinding[]): Promise<string> {
  const lake = mkdtempSync(path.join(tmpdir(), 'seclake-feedback-e2e-'));
  await publishFindings(lake, findingsObjectKey(OBJECT, { region: 'us-east-1', accountId: '123456789012', eventDay: '20261207' }), findings);
  return lake;
}

describe('seclake feedback / suppressions (CLI)', () => {
  let lake: string;
  const alice = finding('alice', '203.0.113.77', 1);
  const bob = finding('bob', '2001:db8:5:6::9', 2);
  before(async () => {
    lake = await lakeWith([alice, bob]);
  });
  after(() => rmSync(lake, { recursive: true, force: true }));

  it('benign adds a /24 suppression that lists, matches new findings and is removable; malicious keeps an example', async () => {
    const r = cli(['feedback', 'benign', alice.finding_info.uid, '--lake', lake, '--note', 'office VPN', '--by', 'ana', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { verdict: { entity: string; ip: string; verdict: string; by: string }; suppression: Suppression };
    assert.deepEqual([res.verdict.entity, res.verdict.ip, res.verdict.verdict, res.verdict.by], ['alice', '203.0.113.77', 'benign', 'ana']);
    assert.deepEqual(res.suppression.scope, { kind: 'cidr', cidr: '203.0.113.0/24' });
    assert.equal(res.suppression.reason, 'marked benign: office VPN');
    const days = (Date.parse(res.suppression.expires_at!) - Date.parse(res.suppression.at)) / 86_400_000;
    assert.equal(days, 30, 'expires after 30 days by default');

    // The human listing explains it.
    const ls = cli(['suppressions', '--lake', lake]);
    assert.equal(ls.status, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(`${res.suppression.id}\\s+active\\s+alice\\s+cidr:203\\.0\\.113\\.0/24\\s+any`));
    assert.match(ls.stdout, /Suppresses findings about alice with addresses in 203\.0\.113\.0\/24 \(any model\) until \d{4}-\d{2}-\d{2} \(30 days left\)\. Added \d{4}-\d{2}-\d{2} by ana from [0-9a-f]{32}: marked benign: office VPN/);
    assert.match(ls.stdout, /It has silenced no finding yet\.\n/);
    // What the monitor does with a new finding in the range: written with status Suppressed and the suppression's id.
    const active = openFeedback(lake).suppressions({ activeAt: Date.now() });
    const next = finding('alice', '203.0.113.200', 7);
    const hit = matchSuppression(next, active, Date.now());
    assert.equal(hit?.id, res.suppression.id);
    assert.equal(matchSuppression(finding('alice', '203.0.114.1', 8), active, Date.now()), undefined);
    const written = structuredClone(next) as Record<string, unknown>;
    written.status_id = 3;
    delete written.status;
    (written.unmapped as Record<string, unknown>).suppressed_by = hit!.id;
    deriveEvent(written);
    await publishFindings(lake, findingsObjectKey(OBJECT.replace('o.parquet', 'later.parquet'), { region: 'us-east-1', accountId: '123456789012', eventDay: '20261207' }), [written as DetectionFinding]);
    const counted = JSON.parse(cli(['suppressions', '--lake', lake, '--json']).stdout) as { suppressions: (SuppressionView & { hits: { count: number; last_time: number } })[] };
    assert.deepEqual(counted.suppressions.map((s) => [s.id, s.hits.count, s.hits.last_time]), [[res.suppression.id, 1, next.time]], 'the listing counts what it silenced');
    assert.match(cli(['suppressions', '--lake', lake]).stdout, /It has silenced 1 finding, the latest at \d{4}-\d{2}-\d{2}T[\d:]{8}Z\.\n/);

    // IPv6: the /64, never, only this model.
    const v6 = cli(['feedback', 'benign', bob.finding_info.uid, '--lake', lake, '--expires', 'never', '--model-only', '--json']);
    assert.equal(v6.status, 0, v6.stderr);
    const s6 = (JSON.parse(v6.stdout) as { suppression: Suppression }).suppression;
    assert.deepEqual([s6.scope, s6.expires_at, s6.model], [{ kind: 'cidr', cidr: '2001:db8:5:6::/64' }, null, 'logins']);

    // Remove by a prefix of the id; it stays listed as removed with --all.
    const rm = cli(['suppressions', 'remove', res.suppression.id.slice(0, 8), '--lake', lake]);
    assert.equal(rm.status, 0, rm.stderr);
    assert.match(rm.stdout, /^Removed suppression [0-9a-f]{16}: findings about alice \(cidr:203\.0\.113\.0\/24\) are reported again/);
    const all = JSON.parse(cli(['suppressions', 'list', '--lake', lake, '--all', '--json']).stdout) as { suppressions: SuppressionView[] };
    assert.deepEqual(all.suppressions.map((s) => [s.entity, s.state]), [['alice', 'removed'], ['bob', 'active']]);
    assert.equal(matchSuppression(finding('alice', '203.0.113.200', 7), openFeedback(lake).suppressions({ activeAt: Date.now() }), Date.now()), undefined, 'removed: no longer matches');

    // Malicious: an example for calibration, and the active suppression that hides it is named.
    const mal = cli(['feedback', 'malicious', bob.finding_info.uid, '--lake', lake]);
    assert.equal(mal.status, 0, mal.stderr);
    assert.match(mal.stdout, /Kept as a labelled example/);
    assert.match(mal.stdout, new RegExp(`Warning: active suppression ${s6.id} hides findings like this one`));
    const ex = feedbackExamples(lake, 'logins');
    assert.deepEqual(ex.benign.map((e) => [e.entity, e.ip]), [['alice', '203.0.113.77']]);
    assert.deepEqual(ex.malicious.map((e) => [e.entity, e.ip]), [['bob', '2001:db8:5:6::9']]);

    // The labels file seclake calibrate --labels reads.
    const exp = cli(['feedback', 'export', '--lake', lake, '--model', 'logins']);
    assert.equal(exp.status, 0, exp.stderr);
    assert.match(exp.stderr, /1 benign \(false_positive\) and 1 malicious \(true_positive\) examples of model logins/);
    assert.deepEqual(parseLabels(exp.stdout, 'labels.jsonl').labels, [
      { entity: 'alice', ip: '203.0.113.77', label: 'false_positive' },
      { entity: 'bob', ip: '2001:db8:5:6::9', label: 'true_positive' },
    ]);
    // What calibrate --lake folds in by itself for the model file logins.model (and nothing for another model).
    assert.deepEqual(lakeFeedbackLabels(lake, path.join('/models', 'logins.model')), [
      { entity: 'alice', ip: '203.0.113.77', label: 'false_positive' },
      { entity: 'bob', ip: '2001:db8:5:6::9', label: 'true_positive' },
    ]);
    assert.deepEqual(lakeFeedbackLabels(lake, 'flows.model'), []);
  });

  it('errors: unknown uid, bad verdict, scope or expiry, options a malicious verdict does not take, S3 lakes', () => {
    const unknown = cli(['feedback', 'benign', 'f'.repeat(32), '--lake', lake]);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no finding (or incident )?with uid "f{32}"/);
    assert.equal(cli(['feedback', 'maybe', alice.finding_info.uid, '--lake', lake]).status, 2);
    const wrong = cli(['feedback', 'benign', alice.finding_info.uid, '--lake', lake, '--scope', 'cidr:10.0.0.0/8']);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /10\.0\.0\.0\/8 does not contain the finding's address 203\.0\.113\.77/);
    assert.match(cli(['feedback', 'benign', alice.finding_info.uid, '--lake', lake, '--expires', '5y']).stderr, /--expires "5y"/);
    assert.equal(cli(['feedback', 'malicious', alice.finding_info.uid, '--lake', lake, '--scope', 'entity']).status, 2);
    assert.match(cli(['suppressions', 'remove', 'abcdef0123', '--lake', lake]).stderr, /no suppression with id "abcdef0123"/);
    assert.match(cli(['suppressions', '--lake', 's3://bucket/lake']).stderr, /local lake only/);
    const help = cli(['feedback', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /its address's \/24 \(IPv6: \/64\)/);
  });
});

// ---- the dashboard API ---------------------------------------------------------------------------------------

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

describe('dashboard feedback API', () => {
  let lake: string;
  let dash: Dashboard;
  let server: Server;
  let base: string;
  let csrf: string;
  const carol = finding('carol', '198.51.100.23', 3);
  const dave = finding('dave', '192.0.2.50', 4);

  before(async () => {
    lake = await lakeWith([carol, dave]);
    dash = createDashboard({ lakeDir: lake });
    // The dashboard's own handler behind a plain HTTP server (what `seclake serve` mounts under /ui).
    server = createServer((req, res) => {
      const p = (req.url ?? '/').split('?')[0]!;
      void dash.handler(req, res, { path: p.startsWith('/ui') ? p.slice(3) || '/' : p, requestId: 'test' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ui`;
    const page = await http(`${base}/models`);
    const m = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body);
    assert.ok(m, `a dashboard page carries the CSRF token (status ${page.status})`);
    csrf = m[1]!;
  });
  after(async () => {
    dash.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(lake, { recursive: true, force: true });
  });

  const post = (p: string, body: unknown, headers: Record<string, string> = {}): Promise<Res> =>
    http(`${base}${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, Origin: base.replace(/\/ui$/, ''), ...headers }, body: JSON.stringify(body) });

  it('refuses a POST without the CSRF token, from another origin, or cross-site; nothing is written', async () => {
    const noToken = await http(`${base}/api/feedback`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ target_uid: carol.finding_info.uid, verdict: 'benign' }) });
    assert.equal(noToken.status, 403);
    assert.equal((await post('/api/feedback', { target_uid: carol.finding_info.uid, verdict: 'benign' }, { Origin: 'http://evil.example' })).status, 403);
    assert.equal((await post('/api/feedback', { target_uid: carol.finding_info.uid, verdict: 'benign' }, { 'Sec-Fetch-Site': 'cross-site' })).status, 403);
    assert.equal((await post('/api/feedback', { target_uid: carol.finding_info.uid, verdict: 'benign' }, { 'X-CSRF-Token': 'forged' })).status, 403);
    assert.equal((await http(`${base}/api/feedback`, { method: 'GET' })).status, 405);
    assert.equal((await post('/api/suppressions/0123456789abcdef/remove', {}, { 'X-CSRF-Token': 'forged' })).status, 403);
    assert.deepEqual(openFeedback(lake).read().records, []);
  });

  it('benign -> a suppression listed by GET /api/suppressions and removable; malicious -> a verdict; bad input is a 400/404', async () => {
    const r = await post('/api/feedback', { target_uid: carol.finding_info.uid, target_kind: 'finding', verdict: 'benign', note: 'partner', expires_days: 7, entity: 'forged' });
    assert.equal(r.status, 200, r.body);
    const doc = JSON.parse(r.body) as { verdict: { entity: string; verdict: string; by: string }; suppression: Suppression };
    assert.deepEqual([doc.verdict.entity, doc.verdict.verdict, doc.verdict.by], ['carol', 'benign', 'dashboard'], 'the entity comes from the lake');
    assert.deepEqual(doc.suppression.scope, { kind: 'cidr', cidr: '198.51.100.0/24' });
    assert.equal((Date.parse(doc.suppression.expires_at!) - Date.parse(doc.suppression.at)) / 86_400_000, 7);

    const list = JSON.parse((await http(`${base}/api/suppressions`)).body) as { suppressions: SuppressionView[] };
    assert.deepEqual(list.suppressions.map((s) => [s.id, s.state]), [[doc.suppression.id, 'active']]);
    assert.match(list.suppressions[0]!.text, /^Suppresses findings about carol with addresses in 198\.51\.100\.0\/24 \(any model\) until .* \(7 days left\)\. Added .* by dashboard from [0-9a-f]{32}: marked benign: partner$/);

    const entity = await post('/api/feedback', { uid: dave.finding_info.uid, verdict: 'benign', scope: 'entity', expires_days: null });
    assert.equal(entity.status, 200, entity.body);
    assert.deepEqual((JSON.parse(entity.body) as { suppression: Suppression }).suppression.expires_at, null, 'never, when sent explicitly');

    const rm = await post(`/api/suppressions/${doc.suppression.id}/remove`, {});
    assert.equal(rm.status, 200, rm.body);
    assert.equal((JSON.parse(rm.body) as { removed: boolean }).removed, true);
    const after1 = JSON.parse((await http(`${base}/api/suppressions`)).body) as { suppressions: SuppressionView[] };
    assert.deepEqual(after1.suppressions.map((s) => s.entity), ['dave'], 'only active ones by default');
    const all = JSON.parse((await http(`${base}/api/suppressions?all=1&hits=1`)).body) as { suppressions: (SuppressionView & { hits: { count: number } })[] };
    assert.deepEqual(all.suppressions.map((s) => [s.entity, s.state, s.hits.count]), [['carol', 'removed', 0], ['dave', 'active', 0]]);

    const mal = await post('/api/feedback', { target_uid: carol.finding_info.uid, verdict: 'malicious' });
    assert.equal(mal.status, 200, mal.body);
    assert.deepEqual(feedbackExamples(lake, 'logins').malicious.map((e) => e.entity), ['carol']);

    assert.equal((await post('/api/feedback', { target_uid: carol.finding_info.uid, verdict: 'maybe' })).status, 400);
    assert.equal((await post('/api/feedback', { target_uid: carol.finding_info.uid, verdict: 'benign', scope: 'cidr:10.0.0.0/8' })).status, 400);
    assert.equal((await post('/api/feedback', { target_uid: carol.finding_info.uid, verdict: 'benign', expires_days: -1 })).status, 400);
    assert.equal((await post('/api/feedback', { target_uid: carol.finding_info.uid, verdict: 'malicious', scope: 'entity' })).status, 400);
    const missing = await post('/api/feedback', { target_uid: 'f'.repeat(32), verdict: 'benign' });
    assert.equal(missing.status, 404);
    assert.doesNotMatch(missing.body, new RegExp(lake.replaceAll('/', '\\/')), 'the lake path is not sent to the page');
    assert.equal((await post('/api/suppressions/0123456789abcdef/remove', {})).status, 404);
    const big = await post('/api/feedback', { target_uid: carol.finding_info.uid, verdict: 'benign', note: 'x'.repeat(20_000) });
    assert.equal(big.status, 413);
    // Every line of the file is a record.
    const lines = readFileSync(feedbackPath(lake), 'utf8').trim().split('\n');
    assert.equal(lines.length, openFeedback(lake).read().records.length);
  });
});
