import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FindingPolicy } from './policy.js';
import { ConfigError } from '../core/errors.js';
import type { ModelRef, ScoredRecord } from './types.js';
import { IPI } from './test-support.js';

const H = 3_600_000;
const T0 = 1_760_000_000_000;
const CAL: ModelRef = { detector: IPI, name: 'm', version: 'v1', threshold: -1 };
const UNCAL: ModelRef = { detector: IPI, name: 'm', version: 'v1' };

let rowNo = 0;
function r(entity: string, ip: string, dot: number, opts: { known?: boolean; t?: number; object?: string; row?: number; calibrated?: boolean } = {}): ScoredRecord {
  const known = opts.known ?? true;
  const out: ScoredRecord = {
    ref: { object: opts.object ?? 'obj-a', row: opts.row ?? rowNo++ },
    entity,
    ip,
    time: opts.t ?? T0,
    native_score: dot,
    entity_known: known,
    entity_count: known ? 10 : 0,
    event: { src_endpoint: { ip } },
  };
  if (opts.calibrated !== false) {
    out.anomaly_percentile = dot < -1 ? 0.999 : 0.3;
    out.is_anomaly = dot < -1;
  }
  return out;
}

function summary(fs: ReturnType<FindingPolicy['process']>): string[] {
  return fs.map((f) => {
    const u = f.unmapped as Record<string, unknown>;
    return `${u.kind}:${u.entity}:${u.ip}:x${f.count}`;
  });
}

test('anomalies: is_anomaly when calibrated, dot_product < threshold when not (configurable default)', () => {
  const p = new FindingPolicy();
  assert.deepEqual(summary(p.process([r('a', '10.0.0.1', -5), r('a', '10.0.0.2', 0.5), r('b', '10.0.0.3', -1.5)], { model: CAL })), ['anomaly:a:10.0.0.1:x1', 'anomaly:b:10.0.0.3:x1']);
  const u = new FindingPolicy();
  const recs = [r('a', '10.0.0.1', -0.5, { calibrated: false }), r('a', '10.0.0.2', 0.5, { calibrated: false })];
  assert.deepEqual(summary(u.process(recs, { model: UNCAL })), ['anomaly:a:10.0.0.1:x1'], 'default threshold 0');
  const strict = new FindingPolicy({ uncalibratedThreshold: -1 });
  assert.deepEqual(summary(strict.process(recs, { model: UNCAL })), []);
  // A model threshold applies even when a record carries no is_anomaly.
  assert.deepEqual(summary(new FindingPolicy().process(recs, { model: { ...UNCAL, threshold: 1 } })), ['anomaly:a:10.0.0.1:x1', 'anomaly:a:10.0.0.2:x1']);
  const f = u.process([r('c', '10.0.0.9', -3, { calibrated: false })], { model: UNCAL })[0]!;
  assert.equal((f.unmapped as Record<string, Record<string, unknown>>).explanation!.threshold_source, 'default');
});

test('identical findings within the window: one finding with a count in a batch, suppressed in later batches, new after the window', () => {
  const p = new FindingPolicy();
  const b1 = p.process([r('a', '10.0.0.1', -5, { t: T0 }), r('a', '10.0.0.1', -4, { t: T0 + 60_000 }), r('a', '10.0.0.2', -5, { t: T0 + 1 }), r('a', '10.0.0.1', -6, { t: T0 + 120_000 })], { model: CAL });
  assert.deepEqual(summary(b1), ['anomaly:a:10.0.0.1:x3', 'anomaly:a:10.0.0.2:x1']);
  const fi = b1[0]!.finding_info as Record<string, unknown>;
  assert.equal(fi.first_seen_time, T0);
  assert.equal(fi.last_seen_time, T0 + 120_000);
  assert.equal(p.stats.duplicates, 2);
  assert.deepEqual(summary(p.process([r('a', '10.0.0.1', -5, { t: T0 + H - 1, object: 'obj-b' })], { model: CAL })), [], 'repeat within 1 h of the first');
  assert.equal(p.stats.duplicates, 3);
  assert.deepEqual(summary(p.process([r('a', '10.0.0.1', -5, { t: T0 + H, object: 'obj-c' })], { model: CAL })), ['anomaly:a:10.0.0.1:x1'], 'a new window');
  // A different kind is a different finding.
  assert.deepEqual(p.stats.findings, 3);
});

test("new entities: 'once' gives one Low/Informational finding per entity ever, 'always' one per IP and window, 'never' none", () => {
  const batch1 = [r('new', '10.0.0.1', 2, { known: false }), r('new', '10.0.0.2', -5, { known: false }), r('known', '10.0.0.3', 1)];
  const batch2 = [r('new', '10.0.0.3', -5, { known: false, t: T0 + 10 * H, object: 'obj-b' })];
  const once = new FindingPolicy();
  const f1 = once.process(batch1, { model: CAL });
  assert.deepEqual(summary(f1), ['new_entity:new:10.0.0.1:x2']);
  assert.ok((f1[0]!.severity_id as number) <= 2);
  assert.deepEqual(summary(once.process(batch2, { model: CAL })), [], 'once per entity, even after the window');
  assert.equal(once.stats.new_entity_suppressed, 1);
  assert.equal(once.stats.new_entity_records, 3);

  const always = new FindingPolicy({ newEntity: 'always' });
  assert.deepEqual(summary(always.process(batch1, { model: CAL })), ['new_entity:new:10.0.0.1:x1', 'new_entity:new:10.0.0.2:x1']);
  assert.deepEqual(summary(always.process(batch2, { model: CAL })), ['new_entity:new:10.0.0.3:x1']);

  const never = new FindingPolicy({ newEntity: 'never' });
  assert.deepEqual(summary(never.process([...batch1, ...batch2], { model: CAL })), []);

  // Unknown entities never produce anomaly findings, however low their population score.
  assert.ok(summary(always.process([r('other', '1.2.3.4', -50, { known: false })], { model: CAL }))[0]!.startsWith('new_entity:'));

  // A new model version starts the "seen new entities" over.
  const again = once.process([r('new', '10.0.0.9', 0, { known: false, object: 'obj-z' })], { model: { ...CAL, version: 'v2' } });
  assert.deepEqual(summary(again), ['new_entity:new:10.0.0.9:x1']);
});

test('state round-trips through JSON: split processing equals continuous processing', () => {
  const batches: ScoredRecord[][] = [];
  for (let b = 0; b < 6; b++) {
    const recs: ScoredRecord[] = [];
    for (let i = 0; i < 40; i++) {
      const e = `e${(i * 7 + b) % 5}`;
      recs.push(r(e, `10.0.${i % 3}.${(i * b) % 4}`, ((i * 13 + b * 5) % 11) - 7, { known: (i + b) % 6 !== 0, t: T0 + b * 20 * 60_000 + i * 1000, object: `obj-${b}`, row: i }));
    }
    batches.push(recs);
  }
  const continuous = new FindingPolicy();
  const all = batches.map((b) => continuous.process(b, { model: CAL }));
  let split = new FindingPolicy();
  const parts: unknown[] = [];
  for (const b of batches) {
    parts.push(split.process(b, { model: CAL }));
    split = FindingPolicy.fromJSON(JSON.parse(JSON.stringify(split.toJSON())));
  }
  assert.deepEqual(parts, all);
  assert.deepEqual(split.toJSON(), continuous.toJSON());
  assert.ok(continuous.stats.findings > 0 && continuous.stats.duplicates > 0);
});

test('re-processing a batch with the state that already saw it gives the same findings (crash before checkpoint)', () => {
  const p = new FindingPolicy();
  const batch = [r('a', '10.0.0.1', -5, { object: 'X', row: 0 }), r('a', '10.0.0.1', -5, { object: 'X', row: 1 }), r('n', '10.0.0.2', 0, { known: false, object: 'X', row: 2 })];
  const first = p.process(batch, { model: CAL });
  const again = p.process(batch, { model: CAL });
  assert.deepEqual(again, first);
  assert.equal(first.length, 2);
});

test('state is bounded: entries older than the window are evicted, and the caps hold', () => {
  const p = new FindingPolicy({ windowMs: H });
  for (let i = 0; i < 50; i++) p.process([r('a', `10.1.0.${i}`, -5, { t: T0 + i * 1000 })], { model: CAL });
  assert.equal(p.size.entries, 50);
  p.process([r('b', '10.2.0.1', -5, { t: T0 + 2 * H })], { model: CAL });
  assert.equal(p.size.entries, 1, 'everything older than the window went');
  const capped = new FindingPolicy({ maxEntries: 10, maxNewEntities: 3 });
  const recs: ScoredRecord[] = [];
  for (let i = 0; i < 30; i++) recs.push(r(`e${i}`, '10.0.0.1', -5, { known: i % 2 === 0 }));
  capped.process(recs, { model: CAL });
  assert.deepEqual(capped.size, { entries: 10, newEntities: 3 });
  assert.ok(JSON.stringify(capped.toJSON()).length < 5000);
});

test('deterministic: same state and input order give byte-identical findings', () => {
  const recs = [r('a', '10.0.0.1', -5), r('b', '2001:db8::1', -9), r('c', '10.0.0.3', 3, { known: false })];
  const a = JSON.stringify(new FindingPolicy().process(recs, { model: CAL }));
  const b = JSON.stringify(new FindingPolicy().process(recs, { model: CAL }));
  assert.equal(a, b);
});

test('bad options and bad state are ConfigErrors that name the field', () => {
  assert.throws(() => new FindingPolicy({ newEntity: 'sometimes' as 'once' }), (e: unknown) => e instanceof ConfigError && /newEntity/.test(e.message));
  assert.throws(() => new FindingPolicy({ windowMs: -1 }), ConfigError);
  assert.throws(() => new FindingPolicy({ windwoMs: 5 } as unknown as object), (e: unknown) => e instanceof ConfigError && /windwoMs/.test(e.message));
  assert.throws(() => FindingPolicy.fromJSON({ version: 2 }), (e: unknown) => e instanceof ConfigError && /version/.test(e.message));
  assert.throws(() => FindingPolicy.fromJSON(null), ConfigError);
});

test('unflagged records passed as a count give the same state as passing them in: records counted, watermark moved', () => {
  const flagged = [r('i-1', '203.0.113.1', -5, { t: T0 }), r('i-2', '203.0.113.2', -6, { t: T0 + 1000 })];
  const quiet = [r('i-1', '10.0.0.1', 2, { t: T0 + 2 * H }), r('i-3', '10.0.0.2', 3, { t: T0 + 3 * H })];
  const whole = new FindingPolicy();
  const a = whole.process([...flagged, ...quiet], { model: CAL });
  const split = new FindingPolicy();
  for (const q of quiet) assert.equal(split.kindOf(q.entity_known, q.native_score, q.is_anomaly, CAL), null);
  const b = split.process(flagged, { model: CAL }, { records: quiet.length, maxTime: Math.max(...quiet.map((q) => q.time)) });
  assert.deepEqual(summary(b), summary(a));
  assert.deepEqual(split.toJSON(), whole.toJSON(), 'same counters, watermark and (after eviction by that watermark) entries');
  assert.equal(split.stats.records, 4);
  // The watermark from the unflagged records evicts entries older than the window: a repeat now is a new finding.
  assert.deepEqual(summary(split.process([r('i-1', '203.0.113.1', -5, { t: T0 + 3 * H, object: 'obj-b' })], { model: CAL })), ['anomaly:i-1:203.0.113.1:x1']);
  assert.deepEqual(summary(new FindingPolicy().process([], { model: CAL }, { records: 0, maxTime: -Infinity })), []);
});

test('snapshot/restore: a batch after a snapshot is undone exactly (repeats, new entities, evictions), twice if need be', () => {
  const p = new FindingPolicy({ windowMs: H });
  p.process([r('i-1', '203.0.113.1', -5, { t: T0 }), r('i-2', '203.0.113.2', -5, { t: T0 })], { model: CAL });
  const before = JSON.stringify(p.toJSON());
  const snap = p.snapshot();
  const batch = (): ScoredRecord[] => [
    r('i-1', '203.0.113.1', -5, { t: T0 + 1000, object: 'obj-b', row: 1 }), // a repeat within the window: bumps the entry
    r('i-9', '198.51.100.9', 1, { known: false, t: T0 + 2000, object: 'obj-b', row: 2 }), // a new entity
    r('i-3', '203.0.113.3', -5, { t: T0 + 3 * H, object: 'obj-b', row: 3 }), // moves the watermark: evicts the old entries
  ];
  const first = summary(p.process(batch(), { model: CAL }));
  const after = JSON.stringify(p.toJSON());
  assert.notEqual(after, before);
  p.restore(snap);
  assert.equal(JSON.stringify(p.toJSON()), before, 'restored exactly');
  assert.deepEqual(summary(p.process(batch(), { model: CAL })), first, 'the same batch again gives the same findings');
  assert.equal(JSON.stringify(p.toJSON()), after);
  p.restore(snap);
  assert.equal(JSON.stringify(p.toJSON()), before, 'a snapshot can be restored again');
});
