/**
 * The incident pages' pure parts: the timeline chart's buckets and stacked counts, an incident's members on a time
 * axis, time spans in words, the view's JSON columns read defensively, and the scope choices a benign verdict offers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFinding } from '../findings/build.js';
import { IPI } from '../findings/test-support.js';
import { bucketWidth, incidentMembersSvg, severityTimelineSvg } from './charts.js';
import { durationText, scopeChoices, spanText } from './incident-pages.js';
import { incidentFromRow, parseTimeline, stringList } from './incidents.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 27, 10, 15);

describe('incident timeline chart', () => {
  it('picks a bucket that keeps the bars readable', () => {
    assert.equal(bucketWidth(10 * H), H);
    assert.equal(bucketWidth(5 * 24 * H), 3 * H);
    assert.equal(bucketWidth(10 * 24 * H), 6 * H);
    assert.equal(bucketWidth(40 * 24 * H), 24 * H);
    assert.equal(bucketWidth(2 * 365 * 24 * H), 30 * 24 * H);
  });

  it('stacks incidents per hour by severity; the counts add up; empty hours are gaps', () => {
    const items = [
      { time: T0, severity_id: 2 },
      { time: T0 + 10 * 60_000, severity_id: 4 },
      { time: T0 + 20 * 60_000, severity_id: 4 },
      { time: T0 + 3 * H, severity_id: 5 },
    ];
    const svg = severityTimelineSvg(items);
    const segs = [...svg.matchAll(/<rect class="bar sev-bar-(\d)"[^>]*><title>([^<]*): (\d+) ([A-Za-z]+)<\/title>/g)].map((m) => [m[2], m[1], Number(m[3]), m[4]]);
    assert.deepEqual(segs, [
      ['11-27 10h', '2', 1, 'Low'],
      ['11-27 10h', '4', 2, 'High'],
      ['11-27 13h', '5', 1, 'Critical'],
    ]);
    assert.match(svg, /per 1 hour\(s\)/);
    assert.match(severityTimelineSvg([]), /no incidents/);
  });

  it('draws members per detector, spans as bars, points as dots, summaries escaped', () => {
    const svg = incidentMembersSvg([
      { time: T0, end: T0 + H, detector: 'rcf', severity_id: 4, summary: 'bytes out <b>high</b>' },
      { time: T0 + 20 * 60_000, end: null, detector: 'ipinsights', severity_id: 3, summary: 'new peer' },
    ]);
    assert.equal((svg.match(/<rect class="member"/g) ?? []).length, 1);
    assert.equal((svg.match(/<circle class="member"/g) ?? []).length, 1);
    assert.ok(svg.includes('bytes out &lt;b&gt;high&lt;/b&gt;') && !svg.includes('<b>high'));
    assert.ok(svg.includes('>rcf</text>') && svg.includes('>ipinsights</text>'));
  });
});

describe('incident rows', () => {
  it('reads the JSON columns defensively', () => {
    assert.deepEqual(stringList('["a","b"]'), ['a', 'b']);
    assert.deepEqual(stringList('not json'), []);
    assert.deepEqual(stringList(null), []);
    assert.deepEqual(parseTimeline('[{"finding_uid":"f1","time":5,"p_value":0.001,"detector":"history"},{"time":6},7]'), [
      { time: 5, end: null, finding_uid: 'f1', model: '', detector: 'history', severity: '', p_value: 0.001, summary: '' },
    ]);
    const i = incidentFromRow({ uid: 'u', revision: 2, low_support: true, finding_uids: '["f1","f2"]', finding_count: null, detectors: '["ipinsights"]', score: 7.5 });
    assert.equal(i.finding_count, 2, 'the count falls back to the uids');
    assert.equal(i.low_support, true);
    assert.deepEqual(i.detectors, ['ipinsights']);
  });

  it('says time spans and durations in words', () => {
    assert.equal(durationText(45_000), '45 s');
    assert.equal(durationText(12 * 60_000), '12 min');
    assert.equal(durationText(1.5 * H), '1.5 h');
    assert.equal(durationText(null), '–');
    assert.equal(spanText(T0, T0 + 90 * 60_000), '2026-11-27 10:15:00Z → 11:45:00Z (1.5 h)');
    assert.equal(spanText(T0, T0), '2026-11-27 10:15:00Z');
    assert.equal(spanText(T0, T0 + 24 * H), '2026-11-27 10:15:00Z → 2026-11-28 10:15:00Z (1 d)');
  });
});

describe('scope choices', () => {
  it('each finding\'s narrowest scope first, then their address ranges, then the whole entity', () => {
    const f = (ip: string) =>
      buildFinding(
        { ref: { object: 'o.parquet', row: 1, source: 'VPC_FLOW' }, entity: 'db-1', ip, time: T0, native_score: -3, entity_known: true, entity_count: 9, anomaly_percentile: 0.999, is_anomaly: true, event: {} },
        { model: { detector: IPI, name: 'flows', version: 'v' }, kind: 'anomaly' },
      ) as unknown as Record<string, unknown>;
    const choices = scopeChoices('db-1', [f('203.0.113.9'), f('198.51.100.7'), f('203.0.113.200')]);
    assert.deepEqual(choices.map((c) => c.value), ['', 'cidr:203.0.113.0/24', 'cidr:198.51.100.0/24', 'entity']);
    assert.match(choices[0]!.text, /^each finding's narrowest scope: db-1 with addresses in 203\.0\.113\.0\/24; db-1 with addresses in 198\.51\.100\.0\/24$/);
    assert.equal(choices[3]!.text, 'everything about db-1 (the whole entity)');
    assert.deepEqual(scopeChoices('x', []).map((c) => c.value), ['entity'], 'no member findings: only the whole entity');
  });
});
