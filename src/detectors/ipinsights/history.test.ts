import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ModelFileError } from '../../core/errors.js';
import { PairCollector } from '../pairs/data.js';
import { buildHistory, ModelEntityHistory } from './history.js';
import { IpInsightsModel } from './index.js';
import { loadModelFile, saveModel } from './model-file.js';
import { subnetData, trainTiny } from './test-helpers.js';

function pairs(rows: [string, string][]): ReturnType<PairCollector['finish']> {
  const c = new PairCollector();
  rows.forEach(([e, ip], i) => assert.ok(c.add(e, ip, 'mem', i + 1), `${e},${ip}`));
  return c.finish();
}

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'seclake-ipi-history-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('entity history', () => {
  it('counts distinct addresses, keeps a capped evenly spaced sample (first and last included), IPv4 and IPv6', () => {
    const rows: [string, string][] = [];
    for (let r = 0; r < 3; r++) rows.push(['a', '10.0.0.1'], ['a', '10.0.0.2']);
    for (let i = 0; i < 100; i++) rows.push(['b', `192.168.${i}.7`]);
    rows.push(['c', '2001:db8::1'], ['c', '2001:db8::1'], ['c', '2001:db8:0:1::9'], ['c', '8.8.8.8'], ['c', '::ffff:8.8.8.8']);
    const data = pairs(rows);
    const h = new ModelEntityHistory(buildHistory(data, undefined, { perEntity: 8 }));
    assert.equal(h.size('a'), 2);
    assert.deepEqual(h.addresses('a'), ['10.0.0.1', '10.0.0.2']);
    assert.equal(h.size('b'), 100);
    assert.equal(h.stored('b'), 8);
    const b = h.addresses('b');
    assert.equal(b[0], '192.168.0.7');
    assert.equal(b[7], '192.168.99.7');
    assert.equal(new Set(b).size, 8);
    // ::ffff:8.8.8.8 is 8.8.8.8; IPv4 sorts before IPv6.
    assert.equal(h.size('c'), 3);
    assert.deepEqual(h.addresses('c'), ['8.8.8.8', '2001:db8::1', '2001:db8:0:1::9']);
    assert.equal(h.size('nobody'), 0);
    assert.equal(h.nearest('nobody', '10.0.0.1'), undefined);
    // Deterministic: the same data gives the same arrays.
    assert.deepEqual(buildHistory(data, undefined, { perEntity: 8 }), buildHistory(data, undefined, { perEntity: 8 }));
  });

  it('nearest = longest common prefix in bits within the same family', () => {
    const data = pairs([
      ['a', '198.51.100.4'],
      ['a', '10.1.2.3'],
      ['a', '2001:db8:aaaa::1'],
      ['a', '2001:db8:aaab::1'],
      ['v6only', '2001:db8::5'],
    ]);
    const h = new ModelEntityHistory(buildHistory(data));
    assert.deepEqual(h.nearest('a', '203.0.113.7'), { ip: '198.51.100.4', prefix_len: 4 }); // 203 = 11001011, 198 = 11000110
    assert.deepEqual(h.nearest('a', '10.1.2.200'), { ip: '10.1.2.3', prefix_len: 24 });
    assert.deepEqual(h.nearest('a', '10.1.2.3'), { ip: '10.1.2.3', prefix_len: 32 });
    assert.deepEqual(h.nearest('a', '2001:db8:aaab:ffff::'), { ip: '2001:db8:aaab::1', prefix_len: 48 });
    assert.deepEqual(h.nearest('a', '2001:db8:aaab::1'), { ip: '2001:db8:aaab::1', prefix_len: 128 });
    assert.deepEqual(h.nearest('a', '2001:db8:aaaa::1%eth0'), { ip: '2001:db8:aaaa::1', prefix_len: 128 });
    assert.equal(h.nearest('v6only', '10.0.0.1'), undefined, 'no IPv4 history');
    assert.equal(h.nearest('a', 'not an ip'), undefined);
  });

  it('bounds the stored addresses: the per-entity cap shrinks when entities x cap exceeds the maximum', () => {
    const rows: [string, string][] = [];
    for (let e = 0; e < 50; e++) for (let i = 0; i < 20; i++) rows.push([`e${e}`, `10.${e}.0.${i}`]);
    const hd = buildHistory(pairs(rows), undefined, { perEntity: 64, maxAddresses: 200 });
    assert.equal(hd.addr.length / 4, 200);
    const h = new ModelEntityHistory(hd);
    assert.equal(h.size('e7'), 20);
    assert.equal(h.stored('e7'), 4);
  });

  it('is stored in the model file by training, and models without it still load (size 0, no nearest)', async () => {
    const file = path.join(dir, 'with-history.model');
    const data = subnetData(10, 20);
    const res = await trainTiny(data, { epochs: 1 }, { modelPath: file });
    const m = await IpInsightsModel.load(file);
    const h = m.history();
    const expected = new Set<string>();
    // subnetData: user_u logs in from 10.u.u.(1..20).
    for (let u = 0; u < 10; u++) assert.equal(h.size(`user_${u}`), new ModelEntityHistory(res.history).size(`user_${u}`));
    for (const a of h.addresses('user_3')) expected.add(a);
    assert.ok(expected.size > 5 && [...expected].every((a) => a.startsWith('10.3.3.')));
    const near = h.nearest('user_3', '10.3.200.1')!;
    assert.equal(near.prefix_len, 16);
    assert.ok(near.ip.startsWith('10.3.3.'));
    assert.ok(m.header.sections.some((s) => s.name === 'history.addr'));

    // A file without the history sections (as written before they existed).
    const old = path.join(dir, 'old.model');
    const { header, weights } = loadModelFile(file);
    saveModel(old, { hyperparameters: header.hyperparameters, encoder: header.params.encoder, training: header.training, calibration: header.calibration, extras: header.extras }, weights);
    const om = await IpInsightsModel.load(old);
    assert.ok(!om.header.sections.some((s) => s.name.startsWith('history.')));
    assert.equal(om.history().size('user_3'), 0);
    assert.equal(om.history().nearest('user_3', '10.3.3.1'), undefined);
    assert.deepEqual(om.scorePairs([{ entity: 'user_3', ip: '10.3.3.1' }]), m.scorePairs([{ entity: 'user_3', ip: '10.3.3.1' }]));

    // Inconsistent history sections are refused, naming the file.
    const broken = path.join(dir, 'broken.model');
    const hd = buildHistory(data);
    saveModel(broken, { hyperparameters: header.hyperparameters, encoder: header.params.encoder, training: header.training, calibration: null, extras: {} }, weights, { ...hd, offset: hd.offset.map((x, i) => (i === 1 ? 10_000 : x)) });
    await assert.rejects(IpInsightsModel.load(broken), (e: unknown) => e instanceof ModelFileError && e.file === broken && /history/.test(e.message));
  });
});
