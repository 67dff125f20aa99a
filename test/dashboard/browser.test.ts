/**
 * The dashboard in a real browser (Debian's Chromium via playwright-core), against a real `seclake serve` app with a
 * real model and lake: every page loads with no console error, no failed request and no request leaving the server;
 * the histogram renders; a finding opens and is marked false positive (the label lands in labels.jsonl and shows in
 * the list); a query runs and shows rows; a refused query shows its error; a finding written while the list is open
 * appears without a reload; the instance id carrying markup never runs. Screenshots go to test-artifacts/dashboard/.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { mountDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { labelsPath } from '../../src/dashboard/labels.js';
import type { AnyDetectorModel } from '../../src/detectors/types.js';
import { buildFinding } from '../../src/findings/build.js';
import { findingsKeyForClass, findingsObjectKey, publishFindings } from '../../src/findings/lake.js';
import { IncidentBuilder } from '../../src/findings/incidents.js';
import { startServer } from '../../src/serve/start.js';
import type { RunningServer } from '../../src/serve/server.js';
import { CHROMIUM, launchBrowser, screenshot, screenshotOf, type PageLog, type TestBrowser } from './browser.js';
import { buildFixture, XSS_ENTITY, type DashboardFixture } from './fixture.js';
import { IPI } from '../../src/findings/test-support.js';
import { openFeedback } from '../../src/findings/feedback.js';

function clean(log: PageLog, what: string): void {
  assert.deepEqual(log.consoleErrors, [], `${what}: console errors`);
  assert.deepEqual(log.failedRequests, [], `${what}: failed requests`);
  assert.deepEqual(log.externalRequests, [], `${what}: requests leaving the server`);
  assert.deepEqual(log.badResponses, [], `${what}: HTTP errors`);
}

async function noXss(page: Page): Promise<void> {
  assert.equal(await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss), undefined, 'markup from the logs must not run');
}

// Outside CI a machine without Chromium skips these tests; in CI (.ci/run installs it) a missing browser fails them.
const skip = existsSync(CHROMIUM) || process.env.CI ? false : `${CHROMIUM} is not installed (.ci/run installs it)`;

describe('dashboard in Chromium', { skip }, () => {
  let fx: DashboardFixture;
  let running: RunningServer<AnyDetectorModel>;
  let dash: Dashboard;
  let browser: TestBrowser;
  let base: string;

  before(async () => {
    fx = await buildFixture();
    running = await startServer({ models: [{ name: 'flows', path: fx.modelPath }], port: 0, host: '127.0.0.1', watch: false });
    dash = mountDashboard(running.app, { lakeDir: fx.lakeDir, registry: running.app.registry, pollMs: 400 });
    base = `${running.url}/ui`;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    dash?.close();
    await running?.close({ timeoutMs: 2000 });
    fx?.cleanup();
  });

  it('Incidents: the first page lists the incidents with their timeline; an incident opens with its evidence', async () => {
    const { page, log } = await browser.newPage(running.url);
    await page.goto(`${running.url}/`);
    await page.waitForURL('**/ui/');
    await page.waitForLoadState('load');
    assert.equal(await page.title(), 'Incidents · seclake', 'the server root leads to the incident list');
    assert.equal(await page.locator('#incidents-table tbody tr[data-uid]').count(), fx.incidents.length);
    const timeline = page.locator('svg.incident-timeline');
    const box = await timeline.boundingBox();
    assert.ok(box && box.width > 600 && box.height > 150, `timeline rendered at ${JSON.stringify(box)}`);
    assert.ok((await timeline.locator('rect.bar').count()) >= 3, 'bars per hour and severity');
    await noXss(page);
    await screenshot(page, 'incidents');

    // The incident two detectors agree on: its evidence, strongest first, each with its explanation and a link.
    const fused = fx.incidents.find((i) => i.unmapped.incident_uid === fx.fusedIncident)!;
    await page.click(`#incidents-table tr[data-uid="${fx.fusedIncident}"] a`);
    await page.waitForURL(`**/ui/incidents/${fx.fusedIncident}`);
    await page.waitForLoadState('load');
    const members = page.locator('#incident-evidence li.member');
    assert.equal(await members.count(), fused.unmapped.timeline.length);
    assert.deepEqual(await members.evaluateAll((els) => els.map((e) => e.getAttribute('data-uid'))), fused.unmapped.timeline.map((t) => t.finding_uid));
    const firstUid = fused.unmapped.timeline[0]!.finding_uid;
    const firstFinding = fx.findings.find((f) => f.finding_info.uid === firstUid)!;
    assert.equal(await members.first().locator('.member-expl').innerText(), firstFinding.message);
    assert.match(await page.locator('#incident-detectors').innerText(), /history[\s\S]*ipinsights/);
    assert.ok((await page.locator('svg.incident-members .member').count()) >= 2, 'evidence over time');
    await screenshot(page, 'incident');
    // A member opens its detection finding.
    await members.first().locator('a').click();
    await page.waitForURL(`**/ui/findings/${firstUid}`);
    clean(log, 'incidents');
  });

  it('Feedback: benign with a scope posts to the feedback API; the suppression is listed and can be removed', async () => {
    const { page, log } = await browser.newPage(running.url);
    const target = fx.incidents.find((i) => i.unmapped.incident_uid !== fx.fusedIncident && i.unmapped.entity !== XSS_ENTITY)!;
    const uid = target.unmapped.incident_uid;
    await page.goto(`${base}/incidents/${uid}`);
    await page.waitForLoadState('load');
    // Scope: the first address range offered (not each finding's default), expiring in 7 days, with a note.
    const cidr = page.locator('#feedback-form input[name="scope"][value^="cidr:"]').first();
    const scopeValue = (await cidr.getAttribute('value'))!;
    await cidr.check();
    await page.selectOption('#fb-expiry', '7');
    await page.fill('#fb-note', 'backup job <b>nightly</b>');
    const t0 = Date.now();
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/ui/api/feedback') && r.request().method() === 'POST'),
      page.click('#feedback button[data-verdict="benign"]'),
    ]);
    assert.equal(resp.status(), 200);
    assert.deepEqual(JSON.parse(resp.request().postData() ?? '{}'), { uid, verdict: 'benign', scope: scopeValue, expires_days: 7, note: 'backup job <b>nightly</b>' });
    await page.locator('#feedback-suppressions-link').waitFor();
    assert.match(await page.locator('#verdict-current').innerText(), /benign/);
    await screenshot(page, 'incident-benign');
    const store = openFeedback(fx.lakeDir);
    const sup = store.suppressions().find((s) => s.from_uid === uid)!;
    assert.ok(sup, 'a suppression from the incident');
    assert.equal(`cidr:${(sup.scope as { cidr: string }).cidr}`, scopeValue);
    assert.equal(sup.entity, target.unmapped.entity);
    const days = (Date.parse(sup.expires_at!) - t0) / 86_400_000;
    assert.ok(days > 6.9 && days < 7.1, `expires in ${days} days`);
    assert.equal(store.latestVerdicts().get(uid)?.verdict, 'benign');

    // The suppressions page lists it with its explanation; Remove ends it.
    await page.click('#feedback-suppressions-link');
    await page.waitForURL('**/ui/suppressions');
    await page.waitForLoadState('load');
    const row = page.locator(`#suppressions-table tr[data-id="${sup.id}"]`);
    assert.match(await row.innerText(), new RegExp(`active[\\s\\S]*${scopeValue.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}[\\s\\S]*Suppresses findings about`));
    assert.match(await row.innerText(), /backup job <b>nightly<\/b>/, 'the note is shown as text');
    await screenshot(page, 'suppressions');
    await row.locator('button.remove').click();
    await row.locator('.state-removed').waitFor();
    assert.equal(await row.locator('button.remove').count(), 0);
    assert.match(await page.locator('#suppressions-message').innerText(), /removed/);
    assert.equal(openFeedback(fx.lakeDir).suppressions().find((s) => s.id === sup.id)?.state, 'removed');
    await page.reload();
    await page.waitForLoadState('load');
    assert.match(await page.locator(`#suppressions-table tr[data-id="${sup.id}"] .state`).innerText(), /removed/);
    await noXss(page);
    clean(log, 'feedback');
  });

  it('Lake page: stats, per-day chart, quarantine reasons; a query runs and shows rows; a refused one shows why', async () => {
    const { page, log } = await browser.newPage(running.url);
    await page.goto(`${base}/lake`);
    await page.waitForLoadState('load');
    assert.equal(await page.locator('svg.bar-chart rect.bar').count() > 3, true, 'bars per day');
    assert.match(await page.locator('#quarantine').innerText(), /dstport: … is not an integer/);
    await screenshot(page, 'lake');

    await page.fill('#query-sql', 'SELECT src_endpoint.instance_uid AS instance, count(*) AS flows FROM vpc_flow WHERE src_endpoint.instance_uid IS NOT NULL GROUP BY ALL ORDER BY flows DESC');
    await page.fill('#query-limit', '50');
    await page.click('#query-run');
    await page.locator('#query-table tbody tr').first().waitFor();
    const headers = await page.locator('#query-table thead th').allInnerTexts();
    assert.deepEqual(headers.map((h) => h.toLowerCase()), ['instance', 'flows']);
    const rows = await page.locator('#query-table tbody tr').count();
    assert.ok(rows >= 7, `rows: ${rows}`);
    assert.match(await page.locator('#query-result .note').innerText(), /\d+ rows · \d+ ms/);
    await screenshotOf(page.locator('#query'), 'lake-query');

    // A refused statement is explained, not run.
    await page.fill('#query-sql', "COPY (SELECT 1) TO '/tmp/x'");
    await page.click('#query-run');
    await page.locator('#query-error').waitFor();
    assert.match(await page.locator('#query-error').innerText(), /Only reading statements are allowed/);
    await screenshotOf(page.locator('#query'), 'lake-query-error');
    // The query endpoint answered 400 for the refused statement: expected, so not counted as a page error.
    log.badResponses = log.badResponses.filter((r) => !/^400 .*\/ui\/api\/query$/.test(r));
    log.consoleErrors = log.consoleErrors.filter((e) => !/status of 400/.test(e));
    clean(log, 'lake');
  });

  it('Models page: training curve, calibration numbers and the score histogram with the threshold line', async () => {
    const { page, log } = await browser.newPage(running.url);
    await page.goto(`${base}/models`);
    await page.waitForLoadState('load');
    const hist = page.locator('svg.score-histogram');
    await hist.waitFor();
    const box = await hist.boundingBox();
    assert.ok(box && box.width > 400 && box.height > 200, `histogram rendered at ${JSON.stringify(box)}`);
    assert.equal(await hist.locator('path.hist-normal').count(), 1);
    const line = await hist.locator('line.threshold').boundingBox();
    assert.ok(line && line.height > 100, 'the threshold line spans the plot');
    assert.ok((await hist.locator('line.finding-tick').count()) >= 1, "findings' scores are marked");
    assert.equal(await page.locator('svg.line-chart path').count() >= 2, true, 'loss and accuracy curves');
    assert.match(await page.locator('.model').first().innerText(), /AUC \(ROC\)[\s\S]*Threshold/);
    await screenshot(page, 'models');
    clean(log, 'models');
  });

  it('Findings: the list opens a finding; "Mark false positive" stores the label; the list shows it; markup never runs', async () => {
    const { page, log } = await browser.newPage(running.url);
    await page.goto(`${base}/findings?limit=2000`);
    await page.waitForLoadState('load');
    const rows = page.locator('#findings-table tbody tr');
    assert.equal(await rows.count(), fx.findings.length);
    const xssText = await page.locator(`#findings-table tr[data-uid="${fx.xssUid}"]`).innerText();
    assert.ok(xssText.includes(XSS_ENTITY), 'the markup entity is shown as text');
    await noXss(page);
    await screenshot(page, 'findings');

    const target = fx.findings.find((f) => f.finding_info.uid !== fx.xssUid)!;
    const uid = target.finding_info.uid;
    await page.click(`#findings-table tr[data-uid="${uid}"] a`);
    await page.waitForURL(`**/ui/findings/${uid}`);
    await page.waitForLoadState('load');
    assert.match(await page.locator('#source-event').innerText(), /"instance_uid": "i-0a1b2c3d4e5f0000\d"/);
    assert.match(await page.locator('#finding-json').innerText(), /"class_uid": 2004/);
    await page.click('button[data-label="false_positive"]');
    await page.locator('#label-current .lbl-fp').waitFor();
    assert.match(await page.locator('#label-message').innerText(), /Saved at/);
    await screenshot(page, 'finding-detail');
    const lines = readFileSync(labelsPath(fx.lakeDir), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    const u = target.unmapped as { entity: string; ip: string };
    assert.deepEqual(lines.map((l) => [l.finding_uid, l.entity, l.ip, l.label]), [[uid, u.entity, u.ip, 'false_positive']]);

    await page.click('.crumbs a');
    await page.waitForURL('**/ui/findings');
    // The fixture holds more findings than the list's default 200: ask for all of them.
    await page.goto(`${base}/findings?limit=2000`);
    await page.waitForLoadState('load');
    assert.match(await page.locator(`#findings-table tr[data-uid="${uid}"]`).innerText(), /false positive/);

    // The markup entity's own page: shown as text, never executed.
    await page.goto(`${base}/findings/${fx.xssUid}`);
    await page.waitForLoadState('load');
    assert.ok((await page.locator('h1').innerText()).includes(XSS_ENTITY));
    await noXss(page);
    await screenshot(page, 'finding-xss');
    clean(log, 'findings');
  });

  it('the list updates without a reload when the monitor writes a new finding', async () => {
    const { page, log } = await browser.newPage(running.url);
    await page.goto(`${base}/findings?limit=2000`);
    await page.waitForLoadState('load');
    const before = await page.locator('#findings-table tbody tr').count();
    await page.evaluate(() => {
      (globalThis as { __marker?: number }).__marker = 1;
    });
    const src = fx.findings[0]!;
    const u = src.unmapped as { source_object: string; source_row: number };
    const f = buildFinding(
      {
        ref: { object: u.source_object, row: u.source_row, source: 'VPC_FLOW' },
        entity: 'i-0live0live0live01',
        ip: '100.64.9.9',
        time: Date.UTC(2026, 10, 28, 9),
        native_score: -2.5,
        entity_known: false,
        entity_count: 0,
        event: {},
      },
      { model: { detector: IPI, name: 'flows', version: 'live' }, kind: 'new_entity' },
    );
    await publishFindings(fx.lakeDir, findingsObjectKey('browser-live', { region: 'us-east-1', accountId: '123456789012', eventDay: '20261128' }), [f]);
    const row = page.locator(`#findings-table tr[data-uid="${f.finding_info.uid}"]`);
    await row.waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#findings-table tbody tr').count(), before + 1);
    assert.equal(await page.evaluate(() => (globalThis as { __marker?: number }).__marker), 1, 'no full reload happened');
    assert.match(await page.locator('#live-status').innerText(), /Live/);
    await screenshot(page, 'findings-live');
    clean(log, 'live list');
  });
  it('the incident list reloads itself when the monitor writes a new incident', async () => {
    const { page, log } = await browser.newPage(running.url);
    await page.goto(`${base}/`);
    await page.waitForLoadState('load');
    const before = await page.locator('#incidents-table tbody tr[data-uid]').count();
    const src = fx.findings[0]!;
    const u = src.unmapped as { source_object: string; source_row: number };
    const f = buildFinding(
      { ref: { object: u.source_object, row: u.source_row, source: 'VPC_FLOW' }, entity: 'i-0live0live0live02', ip: '100.64.7.7', time: Date.UTC(2026, 10, 28, 10), native_score: -4, entity_known: true, entity_count: 30, anomaly_percentile: 0.9999, is_anomaly: true, event: {} },
      { model: { detector: IPI, name: 'flows', version: 'live' }, kind: 'anomaly' },
    );
    const key = findingsObjectKey('browser-live-incident', { region: 'us-east-1', accountId: '123456789012', eventDay: '20261128' });
    await publishFindings(fx.lakeDir, key, [f]);
    const revs = new IncidentBuilder().add([f], 'browser-live-incident');
    assert.equal(revs.length, 1);
    await publishFindings(fx.lakeDir, findingsKeyForClass(key, 2005), revs.map((r) => r.incident));
    await page.locator(`#incidents-table tr[data-uid="${revs[0]!.incident.unmapped.incident_uid}"]`).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#incidents-table tbody tr[data-uid]').count(), before + 1);
    assert.match(await page.locator('#incidents-count').innerText(), new RegExp(`^${before + 1}$`));
    clean(log, 'live incidents');
  });
});
