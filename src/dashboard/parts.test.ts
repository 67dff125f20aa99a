import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseLabels } from '../calibrate/inputs.js';
import { buildFinding } from '../findings/build.js';
import type { CatalogObject } from '../lake/catalog.js';
import { barChartSvg, lineChartSvg, scoreHistogramSvg } from './charts.js';
import { stripNulls, summarize } from './findings.js';
import { esc, fmtTime, table } from './html.js';
import { Guard, hostName } from './http.js';
import { LabelStore, labelsPath } from './labels.js';
import { summarizeObjects } from './lake-summary.js';
import { IPI } from '../findings/test-support.js';

function req(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

describe('dashboard parts', () => {
  it('esc escapes every character that can open markup or leave an attribute', () => {
    assert.equal(esc(`<a href="x" onclick='y'>&\``), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;');
    assert.equal(esc(null), '');
    assert.equal(esc(42), '42');
    const t = table([{ v: '<b>' }], [{ label: '<th>', html: (r) => esc(r.v) }], { rowAttrs: (r) => ({ 'data-uid': r.v }) });
    assert.ok(t.includes('<th>&lt;th&gt;</th>') && t.includes('data-uid="&lt;b&gt;"') && t.includes('<td>&lt;b&gt;</td>'));
    assert.equal(fmtTime(Date.UTC(2026, 0, 2, 3, 4, 5)), '2026-01-02 03:04:05Z');
  });

  it('summarize reads a built finding: entity, ip, score, percentile, explanation, source reference, label', () => {
    const f = buildFinding(
      {
        ref: { object: 'aws/VPC_FLOW/2.0/region=r/accountId=a/eventDay=20260101/x.parquet', row: 7, source: 'VPC_FLOW' },
        entity: 'i-0123456789abcdef0',
        ip: '203.0.113.9',
        time: Date.UTC(2026, 0, 1),
        native_score: -2.5,
        entity_known: true,
        entity_count: 10,
        anomaly_percentile: 0.9995,
        is_anomaly: true,
        event: {},
      },
      { model: { detector: IPI, name: 'm', version: 'abcdef01', threshold: 1.5 }, kind: 'anomaly' },
    );
    const uid = f.finding_info.uid;
    const s = summarize(f, new Map([[uid, { finding_uid: uid, entity: 'x', ip: 'y', label: 'false_positive' as const, at: 'now' }]]));
    assert.equal(s.uid, uid);
    assert.equal(s.entity, 'i-0123456789abcdef0');
    assert.equal(s.ip, '203.0.113.9');
    assert.equal(s.dot_product, -2.5);
    assert.equal(s.percentile, 0.9995);
    assert.equal(s.threshold, 1.5);
    assert.equal(s.severity_id, 4);
    assert.equal(s.severity, 'High');
    assert.equal(s.kind, 'anomaly');
    assert.equal(s.model_version, 'abcdef01');
    assert.equal(s.source_row, 7);
    assert.match(s.source_object!, /x\.parquet$/);
    assert.ok(s.explanation.includes('203.0.113.9'));
    assert.equal(s.label, 'false_positive');
    assert.deepEqual(stripNulls({ a: null, b: { c: null }, d: [1, null], e: new Date(0), f: 'x' }), { d: [1, null], e: new Date(0), f: 'x' });
  });

  it('labels: appended lines are what seclake calibrate reads; the latest line per finding wins; torn lines are skipped', () => {
    const lake = mkdtempSync(path.join(tmpdir(), 'seclake-dash-labels-'));
    try {
      const store = new LabelStore(lake);
      assert.equal(store.latest().size, 0);
      store.add({ finding_uid: 'u1', entity: 'i-1', ip: '10.0.0.1', label: 'true_positive' }, new Date(Date.UTC(2026, 0, 1)));
      store.add({ finding_uid: 'u2', entity: 'i-2', ip: '10.0.0.2', label: 'false_positive' });
      store.add({ finding_uid: 'u1', entity: 'i-1', ip: '10.0.0.1', label: 'false_positive' });
      appendFileSync(labelsPath(lake), '{"finding_uid":"u3","lab');
      const latest = store.latest();
      assert.deepEqual([...latest.entries()].map(([k, v]) => [k, v.label]), [['u1', 'false_positive'], ['u2', 'false_positive']]);
      const text = readFileSync(labelsPath(lake), 'utf8');
      assert.equal(JSON.parse(text.split('\n')[0]!).at, '2026-01-01T00:00:00.000Z');
      const parsed = parseLabels(text.split('\n').slice(0, 3).join('\n'), 'labels.jsonl');
      assert.deepEqual(parsed.labels.map((l) => [l.entity, l.ip, l.label]), [['i-1', '10.0.0.1', 'false_positive'], ['i-2', '10.0.0.2', 'false_positive']], 'u1 relabelled: counted once, latest label');
    } finally {
      rmSync(lake, { recursive: true, force: true });
    }
  });

  it('summarizeObjects: events per source/class, per day (by source) and per partition', () => {
    const o = (source: string, day: string, rows: number, region = 'us-east-1'): CatalogObject =>
      ({ seq: 0, path: 'p', source, source_type: 'aws_vpc_flow', class_uid: 4001, region, account_id: '1', event_day: day, rows, time_min: 1, time_max: 2, bytes: 10, input_hash: 'h', input_name: 'n', created_at: `2026-01-0${rows % 9}` }) as CatalogObject;
    const s = summarizeObjects([o('VPC_FLOW', '20260102', 5), o('VPC_FLOW', '20260101', 3), o('ROUTE53', '20260102', 2), o('VPC_FLOW', '20260102', 1, 'eu-west-1')]);
    assert.equal(s.events, 11);
    assert.deepEqual(s.days.map((d) => [d.day, d.events, d.by_source]), [['20260101', 3, { VPC_FLOW: 3 }], ['20260102', 8, { VPC_FLOW: 6, ROUTE53: 2 }]]);
    assert.deepEqual(s.sources.map((x) => [x.source, x.objects, x.events]), [['ROUTE53', 1, 2], ['VPC_FLOW', 3, 9]]);
    assert.deepEqual(s.partitions.map((p) => [p.day, p.source, p.region, p.events]), [
      ['20260102', 'ROUTE53', 'us-east-1', 2],
      ['20260102', 'VPC_FLOW', 'eu-west-1', 1],
      ['20260102', 'VPC_FLOW', 'us-east-1', 5],
      ['20260101', 'VPC_FLOW', 'us-east-1', 3],
    ]);
  });

  it('Guard: Host check, token -> cookie (never the token), CSRF bound to the session', () => {
    const open = new Guard({ cookiePath: '/ui' });
    assert.equal(hostName('[::1]:8080'), '::1');
    assert.equal(hostName('LocalHost:80'), 'localhost');
    for (const h of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', '10.1.2.3', 'app.localhost:1']) assert.equal(open.hostAllowed(h), true, h);
    for (const h of ['attacker.example', 'attacker.example:8080', '127.0.0.1.nip.io', '']) assert.equal(open.hostAllowed(h), false, h);
    assert.equal(new Guard({ cookiePath: '/ui', allowedHosts: ['dash.internal'] }).hostAllowed('dash.internal:8080'), true);
    assert.equal(open.authenticate(req({})).ok, true);

    const g = new Guard({ cookiePath: '/ui', authToken: 'tok' });
    assert.equal(g.hostAllowed('anything.example'), true, 'a token protects the dashboard on any name');
    assert.equal(g.authenticate(req({})).ok, false);
    assert.equal(g.authenticate(req({ authorization: 'Bearer tok' })).ok, true);
    assert.equal(g.authenticate(req({ authorization: 'Bearer tok2' })).ok, false);
    assert.equal(g.loginCookie('nope'), undefined);
    const cookie = g.loginCookie('tok')!;
    assert.match(cookie, /^seclake_dashboard=[0-9a-f]{64}; Path=\/ui; HttpOnly; SameSite=Strict$/);
    const value = cookie.split(';')[0]!;
    const a = g.authenticate(req({ cookie: `other=1; ${value}` }));
    assert.ok(a.ok);
    const session = a.ok ? a.session : '';
    const csrf = g.csrfToken(session);
    const post = (h: Record<string, string>): IncomingMessage => req({ host: '127.0.0.1:9', 'x-csrf-token': csrf, ...h });
    assert.doesNotThrow(() => g.checkCsrf(post({ origin: 'http://127.0.0.1:9', 'sec-fetch-site': 'same-origin' }), session));
    assert.doesNotThrow(() => g.checkCsrf(post({}), session), 'non-browser clients send neither Origin nor Sec-Fetch-Site');
    assert.throws(() => g.checkCsrf(post({ origin: 'http://evil.example' }), session), /Origin/);
    assert.throws(() => g.checkCsrf(post({ 'sec-fetch-site': 'cross-site' }), session), /Cross-site/);
    assert.throws(() => g.checkCsrf(post({ 'x-csrf-token': 'forged' }), session), /CSRF/);
    assert.throws(() => g.checkCsrf(post({}), 'another-session'), /CSRF/);
    assert.notEqual(new Guard({ cookiePath: '/ui', authToken: 'tok' }).csrfToken(session), csrf, 'a new process issues new CSRF tokens');
  });

  it('charts: bars, lines and the score histogram with its threshold line; labels escaped', () => {
    const bars = barChartSvg([{ label: '<x>', value: 3 }, { label: 'b', value: 0 }], { title: 'T<' });
    assert.ok(bars.includes('<title>T&lt;</title>') && bars.includes('&lt;x&gt;') && (bars.match(/class="bar"/g) ?? []).length === 2);
    assert.ok(barChartSvg([], { title: 't' }).includes('no data'));
    const lines = lineChartSvg([{ name: 'loss', color: '#000', points: [[1, 0.5], [2, 0.2]] }], { title: 'c', xLabel: 'epoch' });
    assert.equal((lines.match(/<circle/g) ?? []).length, 2);
    const q = Array.from({ length: 1001 }, (_v, i) => i / 100);
    const h = scoreHistogramSvg({ quantiles: q, threshold: 2, marks: [{ value: 1, label: 'FPR 0.1%' }, { value: 1.05, label: 'FPR 1%' }], findings: [-3, 1.5] });
    assert.ok(h.includes('class="threshold"') && h.includes('class="hist-normal"'));
    assert.equal((h.match(/class="finding-tick"/g) ?? []).length, 2, 'the range widens to show every finding');
    assert.ok(h.includes('FPR 0.1%') && h.includes('FPR 1%'));
  });
});
