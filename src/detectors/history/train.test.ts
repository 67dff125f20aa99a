import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TrainingError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { PairCollector, type PairData } from '../pairs/data.js';
import { parseIp, type ParsedIp } from '../pairs/ip.js';
import { trainHistory, HistoryModel } from './index.js';

/** Longest common prefix of two parsed addresses of one family, in that family's bits. */
function lcp(a: ParsedIp, b: ParsedIp): number {
  const words = a.family === 4 ? 1 : 4;
  let len = 0;
  for (let j = 0; j < words; j++) {
    const l = Math.clz32((a.words[j]! ^ b.words[j]!) >>> 0);
    len += l;
    if (l < 32) break;
  }
  return len;
}

/** Brute force: longest prefix of `ip` with any of `rows`' addresses of its family, and the rows under it. */
function reference(rows: readonly string[], ip: string, restrictTo?: ReadonlySet<string>): { len: number; count: number } {
  const q = parseIp(ip)!;
  const same = rows.map((r) => parseIp(r)!).filter((p) => p.family === q.family);
  const cands = restrictTo ? same.filter((p) => restrictTo.has(text(p))) : same;
  if (cands.length === 0) return { len: 0, count: 0 };
  const len = Math.max(...cands.map((p) => lcp(p, q)));
  return { len, count: same.filter((p) => lcp(p, q) >= len).length };
}

function text(p: ParsedIp): string {
  return p.family === 4 ? p.words[0]!.toString(16) : p.words.map((w) => w.toString(16)).join(':');
}

function randomIp(rng: Rng, near?: boolean): string {
  if (rng.next() < 0.3) {
    const tail = near ? `${rng.int(3)}::${rng.int(65536).toString(16)}` : `${rng.int(65536).toString(16)}::${rng.int(16).toString(16)}`;
    return `2001:db8:${near ? rng.int(4) : rng.int(65536).toString(16)}:${tail}`;
  }
  return near ? `10.${rng.int(3)}.${rng.int(8)}.${rng.int(256)}` : `${1 + rng.int(223)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
}

function estate(seed: number, entities: number, rowsPer: number): { data: PairData; rows: Map<string, string[]> } {
  const rng = new Rng(seed);
  const c = new PairCollector();
  const rows = new Map<string, string[]>();
  let line = 0;
  for (let e = 0; e < entities; e++) {
    const list: string[] = [];
    const n = 1 + rng.int(rowsPer);
    // Re-use earlier addresses often, so counts matter.
    for (let k = 0; k < n; k++) list.push(list.length > 0 && rng.next() < 0.4 ? list[rng.int(list.length)]! : randomIp(rng, rng.next() < 0.8));
    for (const ip of list) c.add(`e${e}`, ip, 'mem', ++line, Date.UTC(2026, 0, 1) + line * 1000);
    rows.set(`e${e}`, list);
  }
  return { data: c.finish(), rows };
}

describe('history training', () => {
  it('matches a brute-force longest prefix and row count, per entity and for the population', () => {
    const { data, rows } = estate(3, 25, 120);
    const model = trainHistory({ train: data, log: () => {} });
    const m = new HistoryModel('', model.header, model.arrays);
    const all = [...rows.values()].flat();
    const rng = new Rng(9);
    for (let i = 0; i < 2000; i++) {
      const known = rng.next() < 0.8;
      const entity = known ? `e${rng.int(25)}` : 'stranger';
      const list = rows.get(entity);
      const ip = list && rng.next() < 0.2 ? list[rng.int(list.length)]! : randomIp(rng, rng.next() < 0.7);
      const [p] = m.predict([{ entity, ip }], { verbose: true });
      const ref = reference(list ?? all, ip);
      assert.equal(p!.entity_known, known);
      assert.deepEqual({ len: p!.prefix_len, count: p!.prefix_count }, ref, `${entity} ${ip}`);
    }
  });

  it('caps stored addresses per entity, keeping the most used, every row credited to a kept address', () => {
    const c = new PairCollector();
    const rows: string[] = [];
    let line = 0;
    const add = (ip: string, times = 1): void => {
      for (let t = 0; t < times; t++) {
        c.add('busy', ip, 'mem', ++line);
        rows.push(ip);
      }
    };
    for (let h = 0; h < 250; h++) add(`10.${h % 5}.${h % 7}.${h}`);
    add('10.9.9.9', 50);
    for (let h = 0; h < 40; h++) add(`2001:db8:${h}::1`);
    add('192.0.2.1', 3);
    const res = trainHistory({ train: c.finish(), hyperparameters: { max_addresses_per_entity: 20 }, log: () => {} });
    const m = new HistoryModel('', res.header, res.arrays);
    assert.equal(m.history().size('busy'), 292);
    assert.equal(m.history().stored?.('busy'), 20);
    assert.equal(res.header.training.capped_entities, 1);
    assert.equal(res.header.training.distinct_pairs, 292);
    assert.equal(res.header.training.stored_addresses, 20);
    // The most used addresses are kept (exact match), and each family keeps at least one.
    const [top, second] = m.predict([{ entity: 'busy', ip: '10.9.9.9' }, { entity: 'busy', ip: '192.0.2.1' }], { verbose: true });
    assert.equal(top!.prefix_len, 32);
    assert.equal(top!.prefix_count, 50);
    assert.equal(second!.prefix_len, 32);
    assert.ok(m.predict([{ entity: 'busy', ip: '2001:db8:ffff::1' }], { verbose: true })[0]!.nearest_ip !== null);
    // Every row is credited to a kept address of its family (all of a family's rows are under its /0), so the count
    // under a matched prefix is never below the true count (dropped addresses under it are credited inside it).
    assert.equal(m.predict([{ entity: 'busy', ip: '64.0.0.1' }], { verbose: true })[0]!.prefix_count, 250 + 50); // 10.0.0.0/1
    assert.equal(m.predict([{ entity: 'busy', ip: '8000::1' }], { verbose: true })[0]!.prefix_count, 40);
    const rng = new Rng(5);
    for (let i = 0; i < 500; i++) {
      const ip = randomIp(rng, rng.next() < 0.8);
      const [p] = m.predict([{ entity: 'busy', ip }], { verbose: true });
      const q = parseIp(ip)!;
      const under = rows.filter((r) => {
        const a = parseIp(r)!;
        return a.family === q.family && lcp(a, q) >= p!.prefix_len!;
      }).length;
      assert.ok(p!.prefix_count! >= under, `${ip}: ${p!.prefix_count} < ${under}`);
    }
  });

  it('caps the population the same way', () => {
    const { data } = estate(4, 40, 60);
    const res = trainHistory({ train: data, hyperparameters: { max_population_addresses: 30 }, log: () => {} });
    assert.equal(res.header.params.population.stored, 30);
    assert.ok(res.header.params.population.distinct > 30);
    assert.equal(res.header.training.population_stored, 30);
    assert.equal(res.arrays.population.cum[29], data.n);
  });

  it('records the training metadata', () => {
    const { data } = estate(5, 10, 30);
    const res = trainHistory({ train: data, source: 'pairs.csv', log: () => {} });
    const t = res.header.training;
    assert.equal(t.rows, data.n);
    assert.equal(t.distinct_entities, 10);
    assert.equal(t.source, 'pairs.csv');
    assert.equal(t.data_time_range?.start, new Date(Date.UTC(2026, 0, 1) + 1000).toISOString());
    assert.equal(t.ipv6_rows, Array.from(data.fam).filter((f) => f === 6).length);
    assert.equal(t.bad_rows, 0);
    assert.ok(t.training_seconds >= 0 && t.model_bytes > 0 && /^\d+\.\d+\.\d+/.test(t.seclake_version));
    assert.deepEqual(res.header.detector, { type: 'history', version: 1 });
  });

  it('refuses an empty training set, naming the bad rows', () => {
    const c = new PairCollector();
    c.addCsvLine('alice,not-an-ip', 'in.csv', 1);
    assert.throws(() => trainHistory({ train: c.finish(), log: () => {} }), (err: unknown) => err instanceof TrainingError && /in\.csv:1: invalid IP address/.test(err.message));
  });
});
