import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, ParseError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { CALIBRATION_VERSION } from '../calibration.js';
import { DETECTORS, findDetector, loadModel, readModelHeader, updateModelMetadata } from '../index.js';
import { PairCollector, type PairData } from '../pairs/data.js';
import { rocAuc } from '../ipinsights/auc.js';
import { history, HistoryModel, type HistoryPrediction } from './index.js';
import type { PairRecord } from '../types.js';

/** Pairs as (entity, ip, times). */
function pairs(rows: readonly [string, string, number?][]): PairData {
  const c = new PairCollector();
  let line = 0;
  for (const [e, ip, times] of rows) for (let t = 0; t < (times ?? 1); t++) assert.ok(c.add(e, ip, 'mem', ++line), ip);
  c.addSource('mem');
  return c.finish();
}

async function train(data: PairData, hp: Record<string, string | number> = {}, modelPath?: string): Promise<HistoryModel> {
  const res = await history.train({ train: data, hyperparameters: hp, log: () => {}, ...(modelPath ? { modelPath } : {}) });
  assert.ok(res.model instanceof HistoryModel);
  return res.model;
}

function scores(model: HistoryModel, recs: readonly PairRecord[]): number[] {
  return Array.from(model.scoreBatch(recs).native);
}

const ESTATE: [string, string, number?][] = [
  ['alice', '10.0.1.7', 37],
  ['alice', '10.0.1.9', 3],
  ['alice', '10.0.2.5', 2],
  ['alice', '2001:db8:1:2::10', 4],
  ['bob', '10.1.1.1', 100],
  ['bob', '10.1.1.2', 100],
  ['bob', '10.1.1.3', 300],
  ['bob', '10.2.2.5', 1],
  ['carol', '192.168.7.1', 5],
];

describe('history detector: scores', () => {
  let model: HistoryModel;
  before(async () => {
    model = await train(pairs(ESTATE));
  });

  it('orders exact training address > same /24 > same /16 > foreign', () => {
    const s = scores(model, [
      { entity: 'alice', ip: '10.0.1.7' },
      { entity: 'alice', ip: '10.0.1.200' },
      { entity: 'alice', ip: '10.0.77.1' },
      { entity: 'alice', ip: '203.0.113.9' },
    ]);
    assert.ok(s[0]! > s[1]! && s[1]! > s[2]! && s[2]! > s[3]!, s.join(' '));
    assert.ok(s[0]! >= 32 && s[0]! < 33, `exact: ${s[0]}`);
    assert.ok(s[1]! >= 24 && s[1]! < 25, `/24: ${s[1]}`);
    assert.ok(s[2]! >= 16 && s[2]! < 18, `/17: ${s[2]}`);
    assert.ok(s[3]! < 1, `foreign: ${s[3]}`);
  });

  it('orders IPv6 the same way, on the IPv4 scale (/64 scores like /24)', () => {
    const s = scores(model, [
      { entity: 'alice', ip: '2001:db8:1:2::10' },
      { entity: 'alice', ip: '2001:db8:1:2:ffff::99' },
      { entity: 'alice', ip: '2001:db8:1:f00::1' },
      { entity: 'alice', ip: '2a00:1450::1' },
    ]);
    assert.ok(s[0]! > s[1]! && s[1]! > s[2]! && s[2]! > s[3]!, s.join(' '));
    assert.ok(s[0]! >= 32 && s[0]! < 33, `exact: ${s[0]}`);
    assert.ok(s[1]! >= 24 && s[1]! < 24.125, `/64: ${s[1]}`);
    assert.ok(s[2]! >= 18 && s[2]! < 24, `/52: ${s[2]}`);
    assert.ok(s[3]! < 3, `foreign: ${s[3]}`);
    // An IPv6 query against an entity with no IPv6 training address scores 0 (and IPv4 against IPv6-only too).
    assert.deepEqual(scores(model, [{ entity: 'bob', ip: '2001:db8:1:2::10' }]), [0]);
  });

  it('a prefix used 500 times beats one used once at the same length; exact beats any count', () => {
    const [many, once, exactOnce] = model.predict(
      [
        { entity: 'bob', ip: '10.1.1.200' },
        { entity: 'bob', ip: '10.2.2.200' },
        { entity: 'bob', ip: '10.2.2.5' },
      ],
      { verbose: true },
    );
    assert.equal(many!.prefix_len, 24);
    assert.equal(once!.prefix_len, 24);
    assert.equal(many!.prefix_count, 500);
    assert.equal(once!.prefix_count, 1);
    assert.ok(many!.prefix_score > once!.prefix_score);
    assert.ok(many!.prefix_score < 25);
    assert.ok(exactOnce!.prefix_score > many!.prefix_score);
  });

  it('count_weight=0 is the plain prefix length', async () => {
    const plain = await train(pairs(ESTATE), { count_weight: 0 });
    assert.deepEqual(scores(plain, [{ entity: 'bob', ip: '10.1.1.200' }, { entity: 'bob', ip: '10.2.2.200' }, { entity: 'alice', ip: '2001:db8:1:2::1:10' }]), [24, 24, 24 + (111 - 64) / 8]);
  });

  it('scores an unknown entity against the population, known = 0', () => {
    const b = model.scoreBatch([
      { entity: 'mallory', ip: '10.1.1.3' },
      { entity: 'mallory', ip: '192.168.7.200' },
      { entity: 'mallory', ip: '198.51.100.1' },
      { entity: 'bob', ip: '10.1.1.3' },
    ]);
    assert.deepEqual(Array.from(b.known), [0, 0, 0, 1]);
    assert.ok(b.native[0]! >= 32 && b.native[1]! >= 24 && b.native[1]! < 25 && b.native[2]! < 8, Array.from(b.native).join(' '));
    const [p] = model.predict([{ entity: 'mallory', ip: '192.168.7.200' }], { verbose: true });
    assert.deepEqual(p, { prefix_score: p!.prefix_score, prefix_len: 24, nearest_ip: '192.168.7.1', prefix_count: 5, entity_known: false });
    assert.deepEqual(model.entityInfo('mallory'), { known: false, count: 0 });
    assert.deepEqual(model.entityInfo('bob'), { known: true, count: 501 });
  });

  it('a bad IP gives NaN in scoreBatch and a ParseError naming the record in predict', () => {
    const b = model.scoreBatch([{ entity: 'alice', ip: '10.0.1.7' }, { entity: 'alice', ip: 'not-an-ip' }, { entity: 'alice', ip: ' 10.0.1.7 ' }]);
    assert.ok(Number.isNaN(b.native[1]!));
    assert.equal(b.known[1], 0);
    assert.equal(b.native[2], b.native[0]);
    assert.throws(
      () => model.predict([{ entity: 'alice', ip: '10.0.1.7' }, { entity: 'alice', ip: '10.0.1.256' }], { source: 'body.csv' }),
      (err: unknown) => err instanceof ParseError && err.line === 2 && err.file === 'body.csv' && /body\.csv:2 field ip: invalid IP address "10\.0\.1\.256"/.test(err.message),
    );
    assert.throws(() => model.predict([{ entity: 'x', ip: '' }]), (err: unknown) => err instanceof ParseError && err.line === 1 && err.file === 'request');
  });

  it('explains a score with the longest known prefix', () => {
    const rec = { entity: 'alice', ip: '10.0.1.200' };
    const ex = model.explain(rec, model.scoreBatch([rec]).native[0]!);
    // 10.0.1.7 and 10.0.1.9 both share /24 with it; the nearest is the numerically nearer one.
    assert.equal(ex.reason, 'its longest known prefix is /24 (nearest 10.0.1.9, 40 training connections under it)');
    assert.equal(ex.details.prefix_len, 24);
    assert.equal(ex.details.nearest_ip, '10.0.1.9');
    assert.equal(ex.details.nearest_count, 3);
    assert.equal(ex.details.entity_training_rows, 46);
    assert.equal(model.explain({ entity: 'alice', ip: '10.0.1.7' }, 32.5).reason, 'it used this exact address in training (37 training connections)');
    assert.equal(model.explain({ entity: 'bob', ip: '::1' }, 0).reason, 'it has no IPv6 training address (its 4 training addresses are all IPv4)');
    assert.match(model.explain({ entity: 'eve', ip: '10.1.9.9' }, 0).reason, /^the entity was never seen in training; among all training addresses the longest known prefix is \/20 \(nearest 10\.1\.1\.\d, 500 training connections under it\)$/);
  });

  it('history() answers over the full address store', () => {
    const h = model.history();
    assert.equal(h.size('alice'), 4);
    assert.equal(h.stored?.('alice'), 4);
    assert.deepEqual(h.nearest('alice', '10.0.2.99'), { ip: '10.0.2.5', prefix_len: 25 });
    assert.deepEqual(h.nearest('alice', '2001:db8:1:2::11'), { ip: '2001:db8:1:2::10', prefix_len: 127 });
    assert.equal(h.nearest('mallory', '10.0.2.99'), undefined);
    assert.equal(h.size('mallory'), 0);
  });
});

describe('history detector: model file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-history-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const probes: PairRecord[] = [
    { entity: 'alice', ip: '10.0.1.7' },
    { entity: 'alice', ip: '10.0.1.8' },
    { entity: 'alice', ip: '2001:db8:1:2::77' },
    { entity: 'bob', ip: '10.1.1.99' },
    { entity: 'carol', ip: '8.8.8.8' },
    { entity: 'nobody', ip: '10.1.1.3' },
    { entity: 'nobody', ip: 'fe80::1%eth0' },
    { entity: 'alice', ip: 'bad' },
  ];

  it('is registered', () => {
    assert.ok(DETECTORS.includes(history));
    assert.equal(findDetector('history'), history);
    assert.deepEqual(history.score, { name: 'prefix_score', direction: 'lower_is_anomalous', default_threshold: 16 });
  });

  it('round-trips through loadModel with identical scores; the header names detector history v1', async () => {
    const file = path.join(dir, 'h.model');
    const data = pairs(ESTATE);
    const mem = await train(data);
    const disk = await train(data, {}, file);
    const loaded = await loadModel(file);
    assert.ok(loaded instanceof HistoryModel);
    assert.equal(loaded.detector, history);
    assert.equal(loaded.path, file);
    const header = readModelHeader(file);
    assert.equal(header.format, 'seclake-model');
    assert.deepEqual(header.detector, { type: 'history', version: 1 });
    assert.equal(header.record_definition, null);
    const t = header.training as Record<string, unknown>;
    for (const k of ['rows', 'distinct_entities', 'data_time_range', 'source', 'trained_at', 'training_seconds', 'seclake_version', 'stored_addresses', 'population_stored']) assert.ok(k in t, k);
    assert.equal(t.rows, data.n);
    assert.equal(t.distinct_entities, 3);
    assert.equal(t.source, 'mem');
    assert.deepEqual(header.sections.map((s) => s.name), [
      'entity.fingerprint', 'entity.rows', 'entity.distinct', 'entity.offset', 'entity.v4', 'entity.addr', 'entity.cum', 'population.addr', 'population.cum',
    ]);
    const a = loaded.scoreBatch(probes);
    for (const m of [mem, disk]) {
      const b = m.scoreBatch(probes);
      assert.deepEqual(Array.from(b.native), Array.from(a.native));
      assert.deepEqual(Array.from(b.known), Array.from(a.known));
    }
    // The in-memory model's packed container loads to the same scores too.
    assert.deepEqual(Array.from(history.load(mem.data).scoreBatch(probes).native), Array.from(a.native));
    assert.deepEqual(mem.data.header.data_crc32, header.data_crc32);
  });

  it('records the record definition and source it was given', async () => {
    const file = path.join(dir, 'rd.model');
    await history.train({ train: pairs(ESTATE), modelPath: file, recordDefinition: { kind: 'pairs', name: 'user-login', sql: 'SELECT 1' }, source: 'lake:/x', log: () => {} });
    const h = readModelHeader(file);
    assert.deepEqual(h.record_definition, { kind: 'pairs', name: 'user-login', sql: 'SELECT 1' });
    assert.equal((h.training as Record<string, unknown>).source, 'lake:/x');
  });

  it('rejects a hyperparameter typo before training', async () => {
    await assert.rejects(history.train({ train: pairs(ESTATE), hyperparameters: { count_halff: '3' }, log: () => {} }), (err: unknown) => err instanceof ConfigError && err.path[0] === 'count_halff');
  });

  it('applies a stored calibration in verbose predictions', async () => {
    const file = path.join(dir, 'cal.model');
    await train(pairs(ESTATE), {}, file);
    updateModelMetadata(file, {
      calibration: {
        version: CALIBRATION_VERSION,
        created_at: '2026-01-01T00:00:00.000Z',
        direction: 'lower_is_anomalous',
        score_name: 'prefix_score',
        threshold: 16,
        rule: { kind: 'threshold' },
        fpr: 0,
        recall: 1,
        precision: 1,
        auc: 1,
        average_precision: 1,
        n_normal: 10,
        n_abnormal: 10,
        abnormal_source: 'random',
        normal_quantiles: [16, 24, 32],
        thresholds_at_fpr: [],
      },
    });
    const m = (await loadModel(file)) as HistoryModel;
    assert.equal(m.calibration?.threshold, 16);
    const [near, far] = m.predict([{ entity: 'alice', ip: '10.0.1.200' }, { entity: 'alice', ip: '198.51.100.7' }], { verbose: true });
    assert.equal(near!.is_anomaly, false);
    assert.equal(far!.is_anomaly, true);
    assert.equal(far!.anomaly_percentile, 1);
    assert.ok(near!.anomaly_percentile! > 0 && near!.anomaly_percentile! < 1);
    assert.equal(m.predict([{ entity: 'alice', ip: '10.0.1.200' }])[0]!.anomaly_percentile, undefined);
  });
});

describe('history detector: wire format', () => {
  const results: HistoryPrediction[] = [
    { prefix_score: 24.5, prefix_len: 24, nearest_ip: '10.0.1.7', prefix_count: 10, entity_known: true },
    { prefix_score: 0, prefix_len: 0, nearest_ip: null, prefix_count: 0, entity_known: false, anomaly_percentile: 1, is_anomaly: true },
    { prefix_score: 32.97087378640777, prefix_len: 128, nearest_ip: '2001:db8::1', prefix_count: 1000, entity_known: true },
  ];
  it('writes application/json byte for byte', () => {
    assert.equal(
      history.wire.formatPredictions(results, 'application/json', false),
      '{"predictions": [{"prefix_score": 24.5}, {"prefix_score": 0.0}, {"prefix_score": 32.97087378640777}]}',
    );
    assert.equal(
      history.wire.formatPredictions(results, 'application/json', true),
      '{"predictions": [{"prefix_score": 24.5, "prefix_len": 24, "nearest_ip": "10.0.1.7", "prefix_count": 10, "entity_known": true}, ' +
        '{"prefix_score": 0.0, "prefix_len": 0, "nearest_ip": null, "prefix_count": 0, "entity_known": false, "anomaly_percentile": 1.0, "is_anomaly": true}, ' +
        '{"prefix_score": 32.97087378640777, "prefix_len": 128, "nearest_ip": "2001:db8::1", "prefix_count": 1000, "entity_known": true}]}',
    );
    assert.equal(history.wire.formatPredictions([], 'application/json', true), '{"predictions": []}');
  });
  it('writes application/jsonlines, one object per line', () => {
    assert.equal(history.wire.formatPredictions(results.slice(0, 2), 'application/jsonlines', false), '{"prefix_score": 24.5}\n{"prefix_score": 0.0}\n');
  });
  it('formats what predict returns', async () => {
    const model = await train(pairs([['u', '10.9.9.9', 3]]));
    assert.equal(
      history.wire.formatPredictions(model.predict([{ entity: 'u', ip: '10.9.9.9' }, { entity: 'u', ip: '10.9.9.1' }], { verbose: true }), 'application/jsonlines', true),
      '{"prefix_score": 32.23076923076923, "prefix_len": 32, "nearest_ip": "10.9.9.9", "prefix_count": 3, "entity_known": true}\n' +
        '{"prefix_score": 28.23076923076923, "prefix_len": 28, "nearest_ip": "10.9.9.9", "prefix_count": 3, "entity_known": true}\n',
    );
  });
});

describe('history detector: quality on a synthetic estate', () => {
  it('separates attack pairs from foreign addresses (AUC > 0.95)', async () => {
    const rng = new Rng(7);
    const c = new PairCollector();
    const users = 300;
    const home = (u: number): string => (u % 5 === 4 ? `2001:db8:${u.toString(16)}:1::` : `10.${u >> 8}.${u & 255}.`);
    const host = (u: number, h: number): string => (u % 5 === 4 ? `${home(u)}${h.toString(16)}` : `${home(u)}${h}`);
    const work = (u: number): string => `172.${16 + (u % 16)}.${u % 200}.`;
    let line = 0;
    for (let u = 0; u < users; u++) {
      const logins = 5 + rng.int(80);
      for (let k = 0; k < logins; k++) {
        const ip = rng.next() < 0.7 ? host(u, 1 + rng.int(40)) : `${work(u)}${1 + rng.int(250)}`;
        c.add(`user_${u}`, ip, 'mem', ++line);
      }
    }
    const model = await train(c.finish());
    const normal: PairRecord[] = [];
    const attack: PairRecord[] = [];
    for (let i = 0; i < 3000; i++) {
      const u = rng.int(users);
      normal.push({ entity: `user_${u}`, ip: rng.next() < 0.7 ? host(u, 1 + rng.int(60)) : `${work(u)}${1 + rng.int(250)}` });
      const v = rng.int(users);
      const foreign = v % 5 === 4 && rng.next() < 0.5
        ? `2a0${rng.int(10)}:${rng.int(65536).toString(16)}::${rng.int(65536).toString(16)}`
        : `${1 + rng.int(223)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
      attack.push({ entity: `user_${v}`, ip: foreign });
    }
    const auc = rocAuc(model.scoreBatch(normal).native, model.scoreBatch(attack).native);
    assert.ok(auc > 0.95, `AUC ${auc}`);
  });
});
