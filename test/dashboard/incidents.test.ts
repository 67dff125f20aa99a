/**
 * The incident pages over plain HTTP, mounted on a real `seclake serve` app over the real fixture lake: the first page
 * of a lake without incidents explains how they appear and links to the detections; with the incidents the fixture's
 * incident builder wrote (test/dashboard/fixture.ts) the list shows every incident newest first with its timeline, filters
 * by severity, status and entity, escapes log content; an incident opens to its evidence (the member findings'
 * explanations, strongest first, linked), the detectors that agreed, its latest revision and the feedback form with
 * scope choices; the suppressions page lists every suppression of the feedback store with its explanation and state.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { mountDashboard, type Dashboard } from '../../src/dashboard/index.js';
import type { AnyDetectorModel } from '../../src/detectors/types.js';
import { openFeedback } from '../../src/findings/feedback.js';
import { buildFinding } from '../../src/findings/build.js';
import { findingsObjectKey, publishFindings } from '../../src/findings/lake.js';
import { IPI } from '../../src/findings/test-support.js';
import { startServer } from '../../src/serve/start.js';
import type { RunningServer } from '../../src/serve/server.js';
import { buildFixture, XSS_ENTITY, type DashboardFixture } from './fixture.js';
import type { IncidentFinding } from '../../src/findings/incidents.js';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
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

/** The data-uid attributes of the rows of a table, in page order. */
function rowUids(page: string, tableId: string): string[] {
  const start = page.indexOf(`id="${tableId}"`);
  assert.ok(start >= 0, `page has #${tableId}`);
  const end = page.indexOf('</table>', start);
  return [...page.slice(start, end).matchAll(/<tr data-uid="([^"]+)"/g)].map((m) => m[1]!);
}

const htmlEsc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

interface Inc {
  uid: string;
  revision: number;
  end: number;
  entity: string;
  severity_id: number;
  detectors: string[];
  low_support: boolean;
  finding_uids: string[];
  timeline: { finding_uid: string }[];
}

function inc(i: IncidentFinding): Inc {
  const u = i.unmapped;
  return {
    uid: u.incident_uid,
    revision: u.revision,
    end: Number(i.end_time),
    entity: u.entity,
    severity_id: Number(i.severity_id),
    detectors: u.detectors,
    low_support: u.low_support,
    finding_uids: u.finding_uids,
    timeline: u.timeline,
  };
}

describe('dashboard without incidents', () => {
  let fx: DashboardFixture;
  let running: RunningServer<AnyDetectorModel>;
  let dash: Dashboard;

  before(async () => {
    fx = await buildFixture({ incidents: false });
    running = await startServer({ models: [{ name: 'flows', path: fx.modelPath }], port: 0, host: '127.0.0.1', watch: false });
    dash = mountDashboard(running.app, { lakeDir: fx.lakeDir, registry: running.app.registry });
  });

  after(async () => {
    dash?.close();
    await running?.close({ timeoutMs: 2000 });
    fx?.cleanup();
  });

  it('the first page explains how incidents appear and links to the detections', async () => {
    const base = `${running.url}/ui`;
    const r = await http(`${base}/`);
    assert.equal(r.status, 200);
    assert.match(r.body, /id="incidents-empty"/);
    assert.match(r.body, /seclake monitor/);
    assert.match(r.body, new RegExp(`<strong>${fx.findings.length}</strong> detection finding\\(s\\)`));
    assert.match(r.body, /href="\/ui\/findings">Detections<\/a> page/);
    assert.match(r.body, /<a href="\/ui\/" class="active" aria-current="page">Incidents<\/a>/, 'Incidents is the first tab and the current one');
    const api = JSON.parse((await http(`${base}/api/incidents`)).body) as { state: string; incidents: unknown[] };
    assert.equal(api.state, 'empty');
    assert.deepEqual(api.incidents, []);
    assert.equal((await http(`${base}/incidents/inc-nothing`)).status, 404);
  });
});

describe('dashboard incidents', () => {
  let fx: DashboardFixture;
  let running: RunningServer<AnyDetectorModel>;
  let dash: Dashboard;
  let base: string;
  let incidents: Inc[];

  before(async () => {
    fx = await buildFixture();
    incidents = fx.incidents.map(inc);
    running = await startServer({ models: [{ name: 'flows', path: fx.modelPath }], port: 0, host: '127.0.0.1', watch: false });
    dash = mountDashboard(running.app, { lakeDir: fx.lakeDir, registry: running.app.registry });
    base = `${running.url}/ui`;
  });

  after(async () => {
    dash?.close();
    await running?.close({ timeoutMs: 2000 });
    fx?.cleanup();
  });

  it('lists incidents newest first with a timeline by severity; filters by severity, status and entity', async () => {
    assert.ok(incidents.length >= 4, `fixture incidents: ${incidents.length}`);
    const r = await http(`${base}/`);
    assert.equal(r.status, 200);
    assert.ok(!/<script>|<style|\sstyle=|\son[a-z]+=/i.test(r.body), 'no inline script, style or event handlers');
    const newest = [...incidents].sort((a, b) => b.end - a.end || (a.uid < b.uid ? -1 : 1)).map((i) => i.uid);
    assert.deepEqual(rowUids(r.body, 'incidents-table'), newest);
    assert.match(r.body, new RegExp(`<span class="pill" id="incidents-count">${incidents.length}</span>`));
    // The timeline: one stacked segment per (bucket, severity), the counts adding up to the incidents.
    const segs = [...r.body.matchAll(/<rect class="bar sev-bar-(\d)"[^>]*><title>[^<]*: (\d+) [A-Za-z]+<\/title>/g)];
    assert.ok(segs.length >= 1, 'timeline bars');
    assert.equal(segs.reduce((a, m) => a + Number(m[2]), 0), incidents.length);
    // The incident two detectors agree on shows both as chips; the low-support one says so; markup is text.
    const two = incidents.find((i) => i.uid === fx.fusedIncident)!;
    assert.deepEqual([...two.detectors].sort(), ['history', 'ipinsights']);
    const row = r.body.slice(r.body.indexOf(`<tr data-uid="${two.uid}"`));
    const rowText = row.slice(0, row.indexOf('</tr>'));
    assert.match(rowText, /<span class="pill chip-d">history<\/span>/);
    assert.match(rowText, /<span class="pill chip-d">ipinsights<\/span>/);
    const low = incidents.find((i) => i.entity === fx.lowSupportEntity)!;
    assert.equal(low.low_support, true);
    const lowRow = r.body.slice(r.body.indexOf(`<tr data-uid="${low.uid}"`));
    assert.match(lowRow.slice(0, lowRow.indexOf('</tr>')), /class="pill low-support"/);
    assert.ok(r.body.includes(htmlEsc(XSS_ENTITY)), 'the markup entity is escaped');
    assert.ok(!r.body.includes(XSS_ENTITY));

    // Severity: Medium and above.
    const med = incidents.filter((i) => i.severity_id >= 3).map((i) => i.uid).sort();
    assert.ok(med.length > 0 && med.length < incidents.length, `severities: ${incidents.map((i) => i.severity_id).join(',')}`);
    assert.deepEqual(rowUids((await http(`${base}/?severity=3`)).body, 'incidents-table').sort(), med);
    // Entity substring, case-insensitive.
    const sub = fx.fusedEntity.slice(-6);
    const bySub = rowUids((await http(`${base}/?entity=${encodeURIComponent(sub.toUpperCase())}`)).body, 'incidents-table');
    assert.deepEqual(bySub, newest.filter((u) => incidents.find((i) => i.uid === u)!.entity.toLowerCase().includes(sub.toLowerCase())));
    assert.ok(bySub.includes(two.uid));
    // Status: every incident is New (1); none is Closed (5).
    const st = await http(`${base}/?status=1`);
    assert.equal(rowUids(st.body, 'incidents-table').length, incidents.length);
    assert.match(st.body, /<option value="1" selected>New \(\d+\)<\/option>/);
    const none = await http(`${base}/?status=5`);
    assert.deepEqual(rowUids(none.body, 'incidents-table'), []);
    assert.match(none.body, /No incident matches these filters/);
    // The JSON list, and its version: unchanged until an incidents object or a verdict changes.
    const api = JSON.parse((await http(`${base}/api/incidents?severity=3`)).body) as { version: string; state: string; total: number; incidents: { uid: string }[] };
    assert.equal(api.state, 'some');
    assert.equal(api.total, med.length);
    const pageVersion = /<div id="incidents-live" data-version="([^"]+)" data-query="severity=3" data-poll-ms="3000">/.exec((await http(`${base}/?severity=3`)).body)?.[1];
    assert.equal(pageVersion?.replace(/&#124;|\|/g, '|'), api.version);
    assert.deepEqual(JSON.parse((await http(`${base}/api/incidents?severity=3&version=${encodeURIComponent(api.version)}`)).body), { unchanged: true, version: api.version });
  });

  it('an incident opens to its evidence strongest first, the detectors that agreed and the feedback form', async () => {
    const inc = incidents.find((i) => i.uid === fx.fusedIncident)!;
    const r = await http(`${base}/incidents/${encodeURIComponent(inc.uid)}`);
    assert.equal(r.status, 200);
    const page = r.body;
    assert.ok(!/<script>|<style|\sstyle=|\son[a-z]+=/i.test(page), 'no inline script, style or event handlers');
    // Evidence: the members in the timeline's order (strongest first), each with its finding's explanation and link.
    const members = [...page.matchAll(/<li class="member" data-uid="([^"]+)">/g)].map((m) => m[1]!);
    assert.deepEqual(members, inc.timeline.map((t) => t.finding_uid));
    for (const uid of members) {
      const f = fx.findings.find((x) => x.finding_info.uid === uid)!;
      assert.ok(page.includes(`<p class="member-expl">${htmlEsc(String(f.message))}</p>`), `explanation of ${uid}`);
      assert.ok(page.includes(`href="/ui/findings/${encodeURIComponent(uid)}">detection finding</a>`), `link to ${uid}`);
    }
    assert.match(page, /<svg[^>]*class="chart incident-members"/);
    // Detectors that agreed: both, with their models.
    const det = page.slice(page.indexOf('id="incident-detectors"'));
    const detTable = det.slice(0, det.indexOf('</table>'));
    assert.match(detTable, /<span class="pill chip-d">ipinsights<\/span><\/td><td>flows<\/td>/);
    assert.match(detTable, /<span class="pill chip-d">history<\/span><\/td><td>history<\/td><td class="num">1<\/td><td class="num">0.0001<\/td>/);
    // Combined score and the feedback form: scope choices (each finding's narrowest first, the /24s, the entity) and expiry.
    assert.match(page, /Combined score<\/th><td><strong>/);
    assert.match(page, /<section class="card" id="feedback" data-uid="[^"]+" data-kind="incident">/);
    assert.match(page, /<input type="radio" name="scope" value="" checked> each finding&#39;s narrowest scope/);
    assert.match(page, /<input type="radio" name="scope" value="cidr:\d+\.\d+\.\d+\.0\/24">/);
    assert.match(page, /<input type="radio" name="scope" value="entity">/);
    assert.match(page, /<option value="30" selected>30 days<\/option>/);
    assert.match(page, /button type="button" class="fp" data-verdict="benign"/);
    assert.match(page, /button type="button" class="tp" data-verdict="malicious"/);
    assert.match(page, /&quot;class_uid&quot;: 2005/);
  });

  it('shows the latest revision with the older ones listed; a finding uid leads to the finding; unknown is 404', async () => {
    const first = incidents.find((i) => i.uid === fx.fusedIncident)!;
    assert.equal(first.revision, 2);
    const page = (await http(`${base}/incidents/${encodeURIComponent(first.uid)}`)).body;
    assert.match(page, /Revision<\/th><td>2 \(updated/);
    assert.match(page, /<summary>Revisions \(2\)<\/summary>/);
    const api = JSON.parse((await http(`${base}/api/incidents/${encodeURIComponent(first.uid)}`)).body) as { incident: { revision: number; severity_id: number }; revisions: unknown[]; members: unknown[] };
    assert.equal(api.incident.revision, 2);
    assert.equal(api.incident.severity_id, first.severity_id);
    assert.equal(api.revisions.length, 2);
    assert.ok((api.revisions as { finding_count: number }[])[0]!.finding_count < (api.revisions as { finding_count: number }[])[1]!.finding_count, 'the history finding joined in revision 2');
    assert.equal(api.members.length, first.finding_uids.length);
    const fuid = fx.findings[0]!.finding_info.uid;
    const redirect = await http(`${base}/incidents/${encodeURIComponent(fuid)}`);
    assert.equal(redirect.status, 303);
    assert.equal(redirect.headers.location, `/ui/findings/${encodeURIComponent(fuid)}`);
    assert.equal((await http(`${base}/incidents/inc-nope`)).status, 404);
    assert.equal((await http(`${base}/api/incidents/inc-nope`)).status, 404);
  });

  it('a malicious verdict on an incident (the feedback API, with the page\'s CSRF token) shows in the list and on its page', async () => {
    const target = incidents.find((i) => i.uid !== fx.fusedIncident && i.entity !== XSS_ENTITY && i.entity !== fx.lowSupportEntity)!;
    const page = (await http(`${base}/incidents/${encodeURIComponent(target.uid)}`)).body;
    const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page)![1]!;
    const body = JSON.stringify({ uid: target.uid, verdict: 'malicious', note: 'confirmed by <i>IR</i>' });
    const refused = await http(`${base}/api/feedback`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    assert.equal(refused.status, 403, 'no CSRF token: refused');
    const v0 = (JSON.parse((await http(`${base}/api/incidents?limit=1`)).body) as { version: string }).version;
    const r = await http(`${base}/api/feedback`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, Origin: running.url }, body });
    assert.equal(r.status, 200, r.body);
    const v1 = (JSON.parse((await http(`${base}/api/incidents?limit=1&version=${encodeURIComponent(v0)}`)).body) as { unchanged?: boolean; version: string });
    assert.notEqual(v1.unchanged, true, 'a verdict changes the list version');
    const list = (await http(`${base}/`)).body;
    const row = list.slice(list.indexOf(`<tr data-uid="${target.uid}"`));
    assert.match(row.slice(0, row.indexOf('</tr>')), /<span class="lbl lbl-tp">malicious<\/span>/);
    const after = (await http(`${base}/incidents/${encodeURIComponent(target.uid)}`)).body;
    assert.match(after, /<span id="verdict-current"><span class="lbl lbl-tp">malicious<\/span><\/span> <span class="note">given [^<]* by dashboard: confirmed by &lt;i&gt;IR&lt;\/i&gt;<\/span>/);
  });

  it('the finding page carries the feedback form too (its own scopes)', async () => {
    const f = fx.findings.find((x) => x.finding_info.uid !== fx.xssUid)!;
    const page = (await http(`${base}/findings/${encodeURIComponent(f.finding_info.uid)}`)).body;
    assert.match(page, /id="feedback" data-uid="[^"]+" data-kind="finding"/);
    assert.match(page, /value="cidr:\d+\.\d+\.\d+\.0\/24"/);
  });

  it('the suppressions page lists every suppression with its explanation and state; active ones can be removed', async () => {
    const empty = (await http(`${base}/suppressions`)).body;
    assert.match(empty, /No suppressions\. Marking an incident or a finding benign adds one\./);
    const store = openFeedback(fx.lakeDir);
    const inc = incidents[0]!;
    const a = store.addSuppression({ entity: inc.entity, scope: { kind: 'cidr', cidr: '203.0.113.0/24' }, expires_days: 7, reason: 'marked benign: VPN exit', from_uid: inc.uid });
    const b = store.addSuppression({ entity: XSS_ENTITY, scope: { kind: 'any' }, expires_days: 30, reason: 'marked benign: <b>lab</b>' });
    store.removeSuppression(b.suppression.id);
    // A finding the monitor wrote as suppressed by the first (status Suppressed, unmapped.suppressed_by).
    const src = fx.findings.find((f) => (f.unmapped as { entity: string }).entity === inc.entity)!;
    const u = src.unmapped as { source_object: string; source_row: number };
    const silenced = buildFinding(
      { ref: { object: u.source_object, row: u.source_row, source: 'VPC_FLOW' }, entity: inc.entity, ip: '203.0.113.9', time: Date.UTC(2026, 10, 28, 3), native_score: -3, entity_known: true, entity_count: 5, anomaly_percentile: 0.999, is_anomaly: true, event: {} },
      { model: { detector: IPI, name: 'flows', version: 'test' }, kind: 'anomaly' },
    );
    silenced.status_id = 3;
    silenced.status = 'Suppressed';
    (silenced.unmapped as Record<string, unknown>).suppressed_by = a.suppression.id;
    await publishFindings(fx.lakeDir, findingsObjectKey('suppressed-test-object', { region: 'us-east-1', accountId: '123456789012', eventDay: '20261128' }), [silenced]);
    const page = (await http(`${base}/suppressions`)).body;
    assert.match(page, /<span class="pill" id="suppressions-count">1 active<\/span>/);
    const rows = [...page.matchAll(/<tr data-id="([0-9a-f]+)" id="s-[0-9a-f]+">/g)].map((m) => m[1]);
    assert.deepEqual(rows, [a.suppression.id, b.suppression.id], 'active first');
    const rowA = page.slice(page.indexOf(`<tr data-id="${a.suppression.id}"`));
    const rowAText = rowA.slice(0, rowA.indexOf('</tr>'));
    assert.match(rowAText, /state-active/);
    assert.match(rowAText, /cidr:203\.0\.113\.0\/24/);
    assert.match(rowAText, /Suppresses findings about .* with addresses in 203\.0\.113\.0\/24/);
    assert.match(rowAText, new RegExp(`<button type="button" class="remove" data-id="${a.suppression.id}">Remove</button>`));
    assert.match(rowAText, new RegExp(`href="/ui/incidents/${inc.uid}"`));
    assert.match(rowAText, /<td class="num">1 <span class="note">last 2026-11-28 03:00:00Z<\/span><\/td>/, 'how many findings it silenced');
    const detections = (await http(`${base}/findings?limit=2000`)).body;
    const srow = detections.slice(detections.indexOf(`<tr data-uid="${silenced.finding_info.uid}"`));
    assert.match(srow.slice(0, srow.indexOf('</tr>')), new RegExp(`<span class="pill suppressed" title="suppression ${a.suppression.id}">suppressed</span>`));
    const rowB = page.slice(page.indexOf(`<tr data-id="${b.suppression.id}"`));
    const rowBText = rowB.slice(0, rowB.indexOf('</tr>'));
    assert.match(rowBText, /state-removed/);
    assert.doesNotMatch(rowBText, /<button/, 'a removed suppression has no remove button');
    assert.ok(!page.includes('<b>lab</b>') && page.includes('&lt;b&gt;lab&lt;/b&gt;'), 'the reason is escaped');
    assert.ok(!page.includes(XSS_ENTITY));
    // The incident page names the suppression it created.
    const incPage = (await http(`${base}/incidents/${encodeURIComponent(inc.uid)}`)).body;
    assert.match(incPage, new RegExp(`<ul class="suppressed-by"><li>Suppresses findings about [^<]*203\\.0\\.113\\.0/24[^<]* <a href="/ui/suppressions#s-${a.suppression.id}">manage</a>`));
  });
});
