/**
 * The Models page with models of more than one detector, on a real `seclake serve` app (startServer loads any
 * detector): an IP Insights model and a `history` model (native score prefix_score), both trained and calibrated by
 * the real components, the legacy IP Insights file written before the detector platform, and a calibration in the
 * other direction (higher_is_anomalous). Each block shows its detector, record definition, training metadata (known
 * keys in words, the detector's own as they are), the rule its calibration applies and a histogram in its own score;
 * the training curve only where the header has an epoch history. A header built here for a detector this seclake does
 * not have, carrying markup in its record definition, renders escaped. In Chromium when it is installed.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelAccess } from '../../src/calibrate/model.js';
import { runCalibration } from '../../src/calibrate/run.js';
import { mountDashboard, type Dashboard } from '../../src/dashboard/index.js';
import type { ModelInfo } from '../../src/dashboard/models.js';
import { modelsPage } from '../../src/dashboard/pages.js';
import { readCalibration } from '../../src/detectors/calibration.js';
import { findDetector } from '../../src/detectors/index.js';
import { subnetData } from '../../src/detectors/ipinsights/test-helpers.js';
import { readModelHeader, updateModelMetadata, type ModelHeader } from '../../src/detectors/model-file.js';
import type { AnyDetectorModel } from '../../src/detectors/types.js';
import { startServer } from '../../src/serve/start.js';
import type { RunningServer } from '../../src/serve/server.js';
import { CHROMIUM, launchBrowser, screenshot, type TestBrowser } from './browser.js';
import { REPO } from './fixture.js';

const LEGACY = path.join(REPO, 'src', 'detectors', 'ipinsights', 'testdata', 'legacy-v1.model');

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** The HTML of one model's card on the page. */
function card(page: string, name: string): string {
  const start = page.indexOf(`<section class="card model" data-model="${name}"`);
  assert.ok(start >= 0, `a card for ${name}`);
  const end = page.indexOf('</section>', start);
  return page.slice(start, end);
}

describe('dashboard Models page: models of any detector', () => {
  let dir: string;
  let lakeDir: string;
  const files: Record<string, string> = {};
  let running: RunningServer<AnyDetectorModel>;
  let dash: Dashboard;
  let base: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-dash-models-'));
    lakeDir = path.join(dir, 'lake');
    mkdirSync(lakeDir);
    const train = subnetData(20, 30, 5);
    const normal = path.join(dir, 'normal.csv');
    writeFileSync(normal, Array.from({ length: 400 }, (_v, i) => `user_${i % 20},10.${i % 20}.${i % 20}.${1 + (i % 20)}`).join('\n') + '\n');
    const calibrate = (model: string): Promise<unknown> =>
      runCalibration({ model, normal: { kind: 'csv', file: normal }, abnormal: { kind: 'generate', generator: 'random', count: 400 }, rule: { kind: 'max_fpr', max_fpr: 0.05 }, sample: 0, seed: 1, progress: false }, modelAccess);

    files.flows = path.join(dir, 'flows.model');
    await findDetector('ipinsights')!.train({
      train,
      hyperparameters: { num_entity_vectors: 64, vector_dim: 8, epochs: 4, mini_batch_size: 32, num_ip_vectors: 2048, threads: 1, seed: 1 },
      modelPath: files.flows,
      recordDefinition: { kind: 'pairs', name: 'flow-peer', sql: 'SELECT entity, ip FROM flow_peer' },
      source: `lake:${lakeDir}`,
      log: () => {},
    });
    await calibrate(files.flows);
    files.logins = path.join(dir, 'logins.model');
    await findDetector('history')!.train({ train, modelPath: files.logins, recordDefinition: { kind: 'pairs', name: 'user-login' }, source: `lake:${lakeDir}`, log: () => {} });
    await calibrate(files.logins);
    files.legacy = path.join(dir, 'legacy.model');
    copyFileSync(LEGACY, files.legacy);
    files.higher = path.join(dir, 'higher.model');
    copyFileSync(files.logins, files.higher);
    const cal = readModelHeader(files.logins).calibration!;
    updateModelMetadata(files.higher, { calibration: { ...cal, direction: 'higher_is_anomalous', score_name: 'anomaly_score' } });

    running = await startServer({ models: Object.entries(files).map(([name, p]) => ({ name, path: p })), port: 0, host: '127.0.0.1', watch: false });
    dash = mountDashboard(running.app, { lakeDir, registry: running.app.registry });
    base = `${running.url}/ui`;
  });

  after(async () => {
    dash?.close();
    await running?.close({ timeoutMs: 2000 });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the calibration stored the score of each detector (what the page shows)', () => {
    assert.equal(readCalibration(readModelHeader(files.logins))!.score_name, 'prefix_score');
    assert.equal(readCalibration(readModelHeader(files.flows))!.score_name, 'dot_product');
  });

  it('each card shows its detector, record definition, training metadata and its calibration rule', async () => {
    const r = await get(`${base}/models`);
    assert.equal(r.status, 200);
    const page = r.body;
    assert.ok(!/<script>|<style|\sstyle=|\son[a-z]+=/i.test(page), 'no inline script, style or event handlers');

    const flows = card(page, 'flows');
    assert.match(flows, /data-detector="ipinsights"/);
    assert.match(flows, /<span class="pill detector"[^>]*>IP Insights<\/span>/);
    assert.match(flows, /IP Insights \(ipinsights v\d+\)/);
    assert.match(flows, /<span class="mono">flow-peer<\/span> \(pairs\)<details class="record-sql"><summary>SQL<\/summary><pre class="json">SELECT entity, ip FROM flow_peer<\/pre>/);
    assert.match(flows, /<th>Training rows<\/th><td>600 \(0 malformed skipped, 0 IPv6\)<\/td>/);
    assert.match(flows, /flag when dot_product &lt; threshold/);
    assert.match(flows, /class="chart line-chart"/, 'IP Insights records an epoch history: the curve is drawn');
    assert.match(flows, /dot_product \(lower = more anomalous\)/);
    assert.match(flows, /<th>vector_dim<\/th><td>8 <span class="note">\(default 128\)<\/span>/);

    const logins = card(page, 'logins');
    assert.match(logins, /data-detector="history"/);
    assert.match(logins, /<span class="pill detector"[^>]*>Prefix history<\/span>/);
    assert.match(logins, /Prefix history \(history v\d+\)/);
    assert.match(logins, /<th>Native score<\/th><td><span class="mono">prefix_score<\/span> \(lower is anomalous\)/);
    assert.match(logins, /<span class="mono">user-login<\/span> \(pairs\)/);
    assert.match(logins, /<th>distinct_pairs<\/th><td><span class="mono">\d+<\/span>/, "the detector's own training keys, as they are");
    assert.doesNotMatch(logins, /line-chart|Training curve|per-epoch/, 'no epoch history: no curve and no note about one');
    assert.match(logins, /flag when prefix_score &lt; threshold/);
    assert.match(logins, /class="chart score-histogram"/);
    assert.match(logins, /prefix_score \(lower = more anomalous\)/);
    assert.match(logins, /<line class="threshold"/);

    const higher = card(page, 'higher');
    assert.match(higher, /flag when anomaly_score &gt; threshold/);
    assert.match(higher, /anomaly_score \(higher = more anomalous\)/);
    assert.match(higher, /flagged ▶/);

    const legacy = card(page, 'legacy');
    assert.match(legacy, /<th>File format<\/th><td>SECLAKE-IPI format 1: written before the detector platform, read as ipinsights v1<\/td>/);
    assert.match(legacy, /<th>Record definition<\/th><td>– \(not recorded\)<\/td>/);
    assert.match(legacy, /class="chart line-chart"/);
    assert.match(legacy, /Not calibrated/);
  });

  it('a header of a detector this seclake does not have renders, escaped', () => {
    const header = {
      format: 'seclake-model',
      format_version: 2,
      detector: { type: 'forest<x>', version: 2 },
      record_definition: { kind: 'features', name: 'per-entity-hour', sql: "SELECT '</pre><script>window.__x=1</script>'" },
      hyperparameters: { trees: 50, sample: { size: 256 } },
      params: {},
      training: { rows: 5000, distinct_entities: 40, data_time_range: { start: '2026-11-01T00:00:00.000Z', end: '2026-11-08T00:00:00.000Z' }, source: 'lake:/x', trained_at: '2026-11-08T01:00:00.000Z', training_seconds: 1.5, seclake_version: '0.2.0', trees_built: 50, note: '<b>bold</b>' },
      sections: [],
      data_crc32: 0xbeef,
      calibration: null,
      extras: {},
    } as unknown as ModelHeader;
    const q = Array.from({ length: 1001 }, (_v, i) => i / 1000);
    const info: ModelInfo = {
      name: 'forest',
      path: '/m/forest.model',
      bytes: 1000,
      header,
      version: '0000beef',
      calibration: readCalibration({
        calibration: {
          version: 1, created_at: '2026-11-09T00:00:00.000Z', direction: 'higher_is_anomalous', score_name: 'isolation', threshold: 0.9, rule: { kind: 'max_fpr', max_fpr: 0.01 },
          fpr: 0.01, recall: 0.8, precision: 0.5, auc: 0.97, average_precision: 0.9, n_normal: 1000, n_abnormal: 1000, abnormal_source: 'random', normal_quantiles: q,
          thresholds_at_fpr: [{ target_fpr: 0.01, threshold: 0.9, fpr: 0.01, recall: 0.8, precision: 0.5 }],
        },
      }),
      error: undefined,
    };
    const html = modelsPage({ base: '/ui', lakeDir: '/lake', csrf: 'c', assetVersion: '1' }, [{ info, findingScores: [0.95, 0.99] }]);
    assert.ok(!html.includes('<script>window'), 'the record definition is escaped');
    assert.ok(!html.includes('<b>bold'), 'training values are escaped');
    assert.match(html, /data-detector="forest&lt;x&gt;"/);
    assert.match(html, /forest&lt;x&gt; v2 \(not a detector of this seclake; known: ipinsights, history/);
    assert.match(html, /<p class="warn">This seclake has no detector <code>forest&lt;x&gt;<\/code>/);
    assert.match(html, /<th>Training rows<\/th><td>5,000<\/td>/);
    assert.match(html, /<th>Data time range<\/th><td>2026-11-01 00:00:00Z → 2026-11-08 00:00:00Z<\/td>/);
    assert.match(html, /<th>trees_built<\/th><td><span class="mono">50<\/span>/);
    assert.match(html, /<th>sample<\/th><td>\{&quot;size&quot;:256\}/);
    assert.match(html, /flag when isolation &gt; threshold/);
    assert.match(html, /isolation \(higher = more anomalous\)/);
    assert.equal((html.match(/class="finding-tick"/g) ?? []).length, 2);
    assert.doesNotMatch(html, /line-chart/);
    // 1,000 held-out records resolve a 1% rate (300 needed): no low-support warning.
    assert.match(html, /<p class="note support-ok">Support: enough held-out records to resolve a 1\.00% false-positive rate \(1,000 held-out normal features of 300 needed\)\.<\/p>/);
    assert.doesNotMatch(html, /data-support="low"/);
  });

  it('low support and per-entity thresholds: a thin calibration says so; each entity shows its threshold and where it came from', () => {
    const q = Array.from({ length: 1001 }, (_v, i) => -5 + i / 100);
    const base = {
      version: 1, created_at: '2026-12-01T00:00:00.000Z', direction: 'lower_is_anomalous', score_name: 'dot_product', threshold: -2, rule: { kind: 'max_fpr', max_fpr: 0.001 },
      fpr: 0.001, recall: 0.8, precision: 0.5, auc: 0.97, average_precision: 0.9, n_normal: 84, n_abnormal: 1000, abnormal_source: 'random', normal_quantiles: q,
      thresholds_at_fpr: [{ target_fpr: 0.001, threshold: -2, fpr: 0.001, recall: 0.8, precision: 0.5 }],
    };
    const page = (cal: unknown): string => {
      const info = { name: 'logins', path: '/m/logins.model', bytes: 10, header: undefined, version: 'abcd0001', calibration: cal, error: undefined } as unknown as ModelInfo;
      // A header is needed for the calibration block: reuse a minimal IP Insights one.
      info.header = { format: 'seclake-model', format_version: 2, detector: { type: 'ipinsights', version: 2 }, hyperparameters: {}, params: {}, training: { rows: 84 }, sections: [], data_crc32: 1, calibration: null, extras: {} } as unknown as ModelHeader;
      return modelsPage({ base: '/ui', lakeDir: '/lake', csrf: 'c', assetVersion: '1' }, [{ info, findingScores: [] }]);
    };
    // Version 1 (no stored support): judged by the rule of three, 84 of 3,000 held-out records.
    const v1 = page(base);
    assert.match(v1, /<div class="support-low" data-support="low"><strong>Low support\.<\/strong> too few held-out records to resolve a 0\.10% false-positive rate \(the rule of three needs 3 \/ rate\) \(84 held-out normal records of 3,000 needed\)/);
    assert.match(v1, /never High or Critical/);
    // Version 2: the stored support (with its interval) and the per-entity thresholds, escaped.
    const v2 = page({
      ...base,
      version: 2,
      n_normal: 5120,
      support: { n_normal: 5120, needed_n: 3000, sufficient: false, fpr_interval: [0.0004, 0.0031], note: 'the <held-out> set is thin for db-1' },
      per_entity: {
        target_fpr: 0.001, prior_n: 2000, min_n: 3000, unit: 'pairs',
        groups: { 'subnet 10.0.1.0/24': { n: 5200, own: 1.5, threshold: 1.2 } },
        entities: { 'db-1': { n: 5102, own: 4.01, group: 'subnet 10.0.1.0/24', threshold: 1.75 }, 'web<1>': { n: 12, own: null, threshold: -2 } },
      },
    });
    assert.match(v2, /Low support\.<\/strong> the &lt;held-out&gt; set is thin for db-1 \(5,120 held-out normal pairs of 3,000 needed · false-positive rate 95% interval 0\.04%–0\.31%\)/);
    assert.match(v2, /<summary>Per-entity thresholds \(2 entities, 1 with fewer than 3,000 held-out pairs\)<\/summary>/);
    assert.match(v2, /<span class="mono">db-1<\/span><\/td><td>subnet 10\.0\.1\.0\/24<\/td><td class="num">5,102<\/td><td class="num">4\.01<\/td><td class="num"><strong>1\.75<\/strong><\/td><td>entity<\/td><td class="num">\+3\.75<\/td>/);
    assert.match(v2, /<span class="mono">web&lt;1&gt;<\/span><\/td><td>–<\/td><td class="num"><span class="thin"[^>]*>12<\/span><\/td><td class="num">too few<\/td><td class="num"><strong>-2<\/strong><\/td><td>global<\/td>/);
    assert.match(v2, /<h4>Groups<\/h4>/);
  });

  it('in Chromium: both detectors render with no console error, failed or external request', { skip: existsSync(CHROMIUM) || process.env.CI ? false : `${CHROMIUM} is not installed` }, async () => {
    let browser: TestBrowser | undefined;
    try {
      browser = await launchBrowser();
      const { page, log } = await browser.newPage(running.url);
      await page.goto(`${base}/models`);
      await page.waitForLoadState('load');
      assert.equal(await page.locator('section.model').count(), 4);
      assert.equal(await page.locator('section.model[data-detector="history"] svg.score-histogram line.threshold').count(), 2, 'history and higher');
      const box = await page.locator('section.model[data-model="logins"] svg.score-histogram').boundingBox();
      assert.ok(box && box.width > 400 && box.height > 200, `histogram rendered at ${JSON.stringify(box)}`);
      assert.equal(await page.locator('section.model[data-model="logins"] svg.line-chart').count(), 0);
      assert.match(await page.locator('section.model[data-model="logins"]').innerText(), /Prefix history[\s\S]*flag when prefix_score < threshold/);
      await screenshot(page, 'models-detectors');
      assert.deepEqual([log.consoleErrors, log.failedRequests, log.externalRequests, log.badResponses], [[], [], [], []]);
    } finally {
      await browser?.close();
    }
  });
});
