import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TrainingError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { PairCollector } from '../pairs/data.js';
import { IpInsightsModel } from './index.js';
import { derangement, randomAddress } from './kernel.js';
import { formatIpv4 } from '../pairs/ip.js';
import { subnetData, trainTiny } from './test-helpers.js';

function model(res: Awaited<ReturnType<typeof trainTiny>>): IpInsightsModel {
  return new IpInsightsModel('mem', res.header, res.weights);
}
function score(m: IpInsightsModel, entity: string, ip: string): number {
  return m.scorePairs([{ entity, ip }])[0]!.dot_product;
}

describe('negative sampling', () => {
  it('draws uniform IPv4 (each octet uniform) and global-unicast IPv6', () => {
    const rng = new Rng(5);
    const w = new Uint32Array(4);
    const firstOctet = new Uint32Array(256);
    const n = 256 * 400;
    for (let i = 0; i < n; i++) {
      assert.equal(randomAddress(rng, 0, w), 4);
      firstOctet[w[0]! >>> 24]!++;
    }
    // chi-square with 255 dof: mean 255, sd ~22.6
    let chi = 0;
    for (const c of firstOctet) chi += (c - 400) ** 2 / 400;
    assert.ok(chi < 400, `first octet not uniform (chi2 ${chi.toFixed(1)})`);
    let v6 = 0;
    for (let i = 0; i < 2000; i++) {
      const fam = randomAddress(rng, 0.25, w);
      if (fam === 6) {
        v6++;
        assert.equal(w[0]! >>> 29, 1, '2000::/3');
      }
    }
    assert.ok(v6 > 400 && v6 < 600, `p6=0.25 gave ${v6}/2000 IPv6`);
    assert.equal(randomAddress(rng, 1, w), 6);
  });

  it('re-pairs a mini-batch with a derangement (no positive pairs itself)', () => {
    const rng = new Rng(9);
    for (const m of [2, 3, 5, 64, 1000]) {
      const perm = new Int32Array(m);
      for (let rep = 0; rep < 50; rep++) {
        derangement(perm, m, rng);
        assert.deepEqual([...perm].sort((a, b) => a - b), Array.from({ length: m }, (_, i) => i));
        for (let i = 0; i < m; i++) assert.notEqual(perm[i], i);
      }
    }
  });
});

describe('training', () => {
  it('is bit-for-bit reproducible with a seed and one thread (in-process and in a worker thread)', async () => {
    const data = subnetData(12, 15);
    const a = await trainTiny(data, { epochs: 3 });
    const b = await trainTiny(data, { epochs: 3 });
    const w = await trainTiny(data, { epochs: 3 }, { inProcess: false });
    const c = await trainTiny(data, { epochs: 3, seed: 43 });
    const bytes = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    assert.ok(bytes(a.weights.entity).equals(bytes(b.weights.entity)));
    assert.ok(bytes(a.weights.ip).equals(bytes(b.weights.ip)));
    assert.ok(bytes(a.weights.entity).equals(bytes(w.weights.entity)), 'worker thread = in-process');
    assert.ok(bytes(a.weights.ip).equals(bytes(w.weights.ip)));
    assert.ok(!bytes(a.weights.entity).equals(bytes(c.weights.entity)), 'another seed gives another model');
    assert.equal(a.epochs.at(-1)!.loss, b.epochs.at(-1)!.loss);
  });

  it('ranks a known pair above a new address in the known subnet above a foreign address', async () => {
    // 5 offices (/24s) of 6 users; each user logs in from 3 hosts of its office.
    const rng = new Rng(5);
    const c = new PairCollector();
    let line = 0;
    for (let r = 0; r < 40; r++) {
      for (let u = 0; u < 30; u++) c.add(`user_${u}`, `10.${Math.floor(u / 6)}.0.${(u % 6) * 10 + 1 + rng.int(3)}`, 'mem', ++line);
    }
    const m = model(await trainTiny(c.finish()));
    for (const u of [0, 8, 13, 27]) {
      const g = Math.floor(u / 6);
      const known = score(m, `user_${u}`, `10.${g}.0.${(u % 6) * 10 + 2}`);
      const sameSubnet = score(m, `user_${u}`, `10.${g}.0.250`);
      const foreign = score(m, `user_${u}`, '203.0.113.77');
      assert.ok(known > sameSubnet, `user_${u}: known ${known} > new in the same /24 ${sameSubnet}`);
      assert.ok(sameSubnet > foreign, `user_${u}: new in the same /24 ${sameSubnet} > foreign ${foreign}`);
      assert.ok(known > 0 && foreign < 0);
    }
    // With exclusive subnets too: the subnet's new address is normal, a foreign one is not.
    const m2 = model(await trainTiny(subnetData(40, 60)));
    assert.ok(score(m2, 'user_3', '10.3.3.200') > 0 && score(m2, 'user_3', '10.4.4.5') < 0 && score(m2, 'user_3', '203.0.113.77') < 0);
  });

  it("shares what it learns across similar entities: a peer new to one entity but routine for its tier-mates scores as normal", async () => {
    // Three tiers of 8 hosts; each tier talks to 12 peers spread over unrelated /16s. Peer 11 is new: the
    // tiers use it only in the last fifth of the data, and web_0 has not used it at all yet.
    const rng = new Rng(3);
    const tiers = ['web', 'app', 'db'];
    const peers = tiers.map(() => Array.from({ length: 12 }, () => formatIpv4(((11 + rng.int(200)) << 24) | (rng.int(256) << 16) | (rng.int(256) << 8) | (1 + rng.int(250)))));
    const c = new PairCollector();
    let line = 0;
    for (let rep = 0; rep < 25; rep++) {
      tiers.forEach((tier, t) => {
        for (let h = 0; h < 8; h++) {
          for (let p = 0; p < 12; p++) {
            if (p === 11 && (rep < 20 || (tier === 'web' && h === 0))) continue;
            c.add(`${tier}_${h}`, peers[t]![p]!, 'mem', ++line);
          }
        }
      });
    }
    const m = model(await trainTiny(c.finish(), { epochs: 10 }));
    const newPeer = score(m, 'web_0', peers[0]![11]!);
    const routinePeer = score(m, 'web_0', peers[0]![3]!);
    const tierMate = score(m, 'web_1', peers[0]![11]!);
    const otherTierPeer = score(m, 'web_0', peers[2]![5]!);
    const foreign = score(m, 'web_0', '198.51.100.23');
    assert.ok(newPeer > 0, `new-to-web_0 tier peer scores normal (${newPeer})`);
    assert.ok(newPeer > otherTierPeer + 4, `tier peer ${newPeer} >> another tier's peer ${otherTierPeer}`);
    assert.ok(newPeer > foreign + 4, `tier peer ${newPeer} >> foreign ${foreign}`);
    assert.ok(routinePeer > 0 && tierMate > 0);
    // The learned entity vectors of tier-mates are close; those of other tiers are not.
    const cos = (a: string, b: string): number => {
      const [x, y] = m.scorePairs([{ entity: a, ip: '1.1.1.1' }, { entity: b, ip: '1.1.1.1' }], { verbose: true }).map((r) => r.entity_embedding!);
      let xy = 0, xx = 0, yy = 0;
      for (let i = 0; i < x!.length; i++) {
        xy += x![i]! * y![i]!;
        xx += x![i]! ** 2;
        yy += y![i]! ** 2;
      }
      return xy / Math.sqrt(xx * yy);
    };
    assert.ok(cos('web_0', 'web_5') > cos('web_0', 'db_5') + 0.15, `cos(web_0, web_5) ${cos('web_0', 'web_5')} vs cos(web_0, db_5) ${cos('web_0', 'db_5')}`);
  });

  it('supports IPv6 and treats IPv4-mapped addresses as IPv4', async () => {
    const rng = new Rng(8);
    const c = new PairCollector();
    let line = 0;
    for (let r = 0; r < 50; r++) {
      for (let u = 0; u < 20; u++) {
        c.add(`host_${u}`, `2001:db8:${u.toString(16)}:1::${(1 + rng.int(30)).toString(16)}`, 'mem', ++line);
        c.add(`host_${u}`, `::ffff:172.16.${u}.${1 + rng.int(30)}`, 'mem', ++line);
      }
    }
    const res = await trainTiny(c.finish());
    assert.equal(res.header.training.ipv6_rows, 1000);
    const m = model(res);
    const home6 = score(m, 'host_4', '2001:db8:4:1::77');
    const foreign6 = score(m, 'host_4', '2a00:1450:4001:81b::200e');
    assert.ok(home6 > foreign6 + 2, `v6 home ${home6} vs foreign ${foreign6}`);
    assert.equal(score(m, 'host_4', '172.16.4.9'), score(m, 'host_4', '::ffff:172.16.4.9'));
    assert.ok(score(m, 'host_4', '172.16.4.9') > score(m, 'host_4', '8.8.8.8') + 2);
  });

  it('marks unseen entities and scores them against the population; verbose dot_product is the exact dot product', async () => {
    const m = model(await trainTiny(subnetData(20, 30)));
    const [known, unknown] = m.scorePairs([{ entity: 'user_2', ip: '10.2.2.3' }, { entity: 'never-seen', ip: '10.2.2.3' }], { verbose: true });
    assert.equal(known!.entity_known, true);
    assert.equal(unknown!.entity_known, false);
    assert.deepEqual(unknown!.entity_embedding, Array.from(m.weights.population));
    for (const r of [known!, unknown!]) {
      let s = 0;
      for (let i = 0; i < r.entity_embedding!.length; i++) s += r.entity_embedding![i]! * r.ip_embedding![i]!;
      assert.equal(r.dot_product, s);
      assert.equal(r.entity_embedding!.length, 16);
      for (const x of r.ip_embedding!) assert.equal(Math.fround(x), x, 'float32 values');
    }
    assert.deepEqual(m.entityInfo('user_2'), { known: true, count: 30 });
    assert.deepEqual(m.entityInfo('nobody'), { known: false, count: 0 });
    assert.throws(() => m.scorePairs([{ entity: 'a', ip: '1.2.3.4' }, { entity: 'a', ip: 'nope' }], { source: 'body' }), /body:2 field ip: invalid IP address "nope"/);
  });

  it('honours num_ip_encoder_layers (0, 1 and 2 dense layers) and the adam optimizer', async () => {
    const data = subnetData(20, 40);
    for (const hp of [{ num_ip_encoder_layers: 0 }, { num_ip_encoder_layers: 2, learning_rate: 0.01 }, { optimizer: 'adam', learning_rate: 0.02 }]) {
      const res = await trainTiny(data, hp);
      const m = model(res);
      assert.equal(res.header.params.encoder.layers.length, Number(hp.num_ip_encoder_layers ?? 1));
      const known = score(m, 'user_5', '10.5.5.7');
      const foreign = score(m, 'user_5', '198.51.100.9');
      assert.ok(known > foreign + 1, `${JSON.stringify(hp)}: known ${known} vs foreign ${foreign}`);
      const [r] = m.scorePairs([{ entity: 'user_5', ip: '10.5.5.7' }], { verbose: true });
      let s = 0;
      for (let i = 0; i < 16; i++) s += r!.entity_embedding![i]! * r!.ip_embedding![i]!;
      assert.equal(r!.dot_product, s);
    }
    const two = await trainTiny(data, { num_ip_encoder_layers: 2, epochs: 1 });
    assert.deepEqual(two.header.params.encoder.layers, [{ weight: 'dense', activation: 'relu' }, { weight: 'identity', activation: 'none' }]);
  });

  it('trains with several worker threads (Hogwild)', async () => {
    const res = await trainTiny(subnetData(30, 40), { threads: 2, mini_batch_size: 32 }, { inProcess: false });
    assert.equal(res.threads, 2);
    const m = model(res);
    assert.ok(score(m, 'user_7', '10.7.7.3') > score(m, 'user_7', '192.0.2.1') + 1);
  });

  it('logs SageMaker-format metric lines, validation:discriminator_auc every epoch', async () => {
    const lines: string[] = [];
    const res = await trainTiny(subnetData(20, 30), { epochs: 3, batch_metrics_publish_interval: 2 }, { validation: subnetData(20, 5, 99), log: (l) => lines.push(l) });
    const re = {
      batchLoss: /^#quality_metric: host=\S+, epoch=\S+, batch=\S+ train binary_classification_cross_entropy <loss>=(\S+)$/,
      batchAcc: /^#quality_metric: host=\S+, epoch=\S+, batch=\S+ train binary_classification_accuracy <score>=(\S+)$/,
      epochLoss: /^#quality_metric: host=\S+, epoch=\S+, train binary_classification_cross_entropy <loss>=(\S+)$/,
      progress: /^#progress_metric: host=\S+, completed (\S+) %$/,
      throughput: /^#throughput_metric: host=\S+, train throughput=(\S+) records\/second$/,
      auc: /^#quality_metric: host=\S+, epoch=\S+, validation discriminator_auc <score>=(\S+)$/,
    };
    const count = (r: RegExp): number => lines.filter((l) => r.test(l)).length;
    assert.ok(count(re.batchLoss) >= 3 && count(re.batchAcc) >= 3);
    assert.equal(count(re.epochLoss), 3);
    assert.equal(count(re.progress), 3);
    assert.equal(count(re.throughput), 3);
    assert.equal(count(re.auc), 3);
    assert.ok(lines.includes('#progress_metric: host=algo-1, completed 100 %'));
    const aucs = lines.filter((l) => re.auc.test(l)).map((l) => Number(re.auc.exec(l)![1]));
    assert.ok(aucs.every((a) => a >= 0 && a <= 1) && aucs.at(-1)! > 0.9, `AUCs ${aucs}`);
    assert.equal(res.header.training.validation_auc, aucs.at(-1));
    assert.ok(lines.some((l) => l.startsWith('#quality_metric: host=algo-1, epoch=0, batch=2 train binary_classification_cross_entropy <loss>=')));
  });

  it('stops with a TrainingError when training diverges, and when no valid rows remain', async () => {
    await assert.rejects(
      trainTiny(subnetData(10, 10), { learning_rate: 10, weight_decay: 10, entity_max_norm: 0, epochs: 3 }),
      (err: unknown) => err instanceof TrainingError && /diverged/.test(err.message),
    );
    // Finite but absurd (the JS kernel's float64 loss reached 1e34 here without a NaN): diverged too, with either kernel.
    for (const kernel of ['js', 'auto'] as const) {
      await assert.rejects(
        trainTiny(subnetData(10, 10), { learning_rate: 0.5, entity_max_norm: 0, epochs: 2 }, { kernel }),
        (err: unknown) => err instanceof TrainingError && /diverged in epoch \d+: (the mean loss is|the loss became NaN)/.test(err.message),
        kernel,
      );
    }
    const c = new PairCollector();
    c.addCsvLine('a,1.2.3.4,extra', 'bad.csv', 1);
    c.addCsvLine('b,999.1.1.1', 'bad.csv', 2);
    await assert.rejects(trainTiny(c.finish()), (err: unknown) => err instanceof TrainingError && /no valid training rows \(2 malformed; first: bad.csv:1: expected 2 columns/.test(err.message));
  });
});
