import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ModelFileError } from '../../../core/errors.js';
import { explainFeature, formatFeatureValue, windowPhrase } from './format.js';
import { compressTail, FeatureScaler } from './scaler.js';
import type { FeatureInfo, FeatureWindows } from './types.js';

const FEATURES: FeatureInfo[] = [
  { name: 'network.bytes_out', set: 'network', feature: 'bytes_out', description: 'bytes sent', unit: 'bytes', transform: 'log1p', default: 0 },
  { name: 'network.rejected_share', set: 'network', feature: 'rejected_share', description: 'rejected', unit: 'share', transform: 'none', default: 0 },
];
const FACTORS = [0.8, 0.9, 1.0, 1.1, 1.2];

/** big (group g1) ~1 GB per window, small (g2) ~1 kB, newbig (g1) 3 windows, orphan (no group) 2 windows. */
function windows(): FeatureWindows {
  const entities: string[] = [];
  const groups: string[] = [];
  const vals: number[] = [];
  const add = (e: string, g: string, bytes: number, share: number): void => {
    entities.push(e);
    groups.push(g);
    vals.push(bytes, share);
  };
  for (let k = 0; k < 30; k++) {
    add('big', 'g1', 1e9 * FACTORS[k % 5]!, k % 2 ? 0.1 : 0.2);
    add('small', 'g2', 1e3 * FACTORS[k % 5]!, 0.5);
  }
  for (let k = 0; k < 3; k++) add('newbig', 'g1', 2e9, 0);
  add('orphan', '', 5, 0);
  add('orphan', '', 7, 0);
  return {
    featureNames: FEATURES.map((f) => f.name),
    features: FEATURES,
    entities,
    groups,
    windowStart: new Float64Array(entities.length),
    values: Float64Array.from(vals),
    windowMs: 3_600_000,
  };
}

describe('feature scaler (median scaling, as scaler state version 1)', () => {
  const w = windows();
  const s = FeatureScaler.fit(w, { minHistory: 24, scaling: 'median', sharePrior: 0 });

  it('scales each entity against its own history: an entity\'s usual value is near 0 whatever its magnitude', () => {
    const big = s.transformRow([1e9, 0.15], 'big');
    const small = s.transformRow([1e3, 0.5], 'small');
    assert.ok(Math.abs(big[0]!) < 1e-9 && Math.abs(small[0]!) < 1e-9, `${big[0]} ${small[0]}`);
    // The median absolute deviation of log(0.8..1.2) is ln(1/0.9) = 0.105; 1.4826 x that is under the log floor 0.25.
    const z = s.transformRow([1.2e9, 0.15], 'big')[0]!;
    assert.ok(Math.abs(z - (Math.log1p(1.2e9) - Math.log1p(1e9)) / 0.25) < 1e-9, String(z));
    // A share that never moved (MAD 0) is scaled by the share floor 0.02, not by 0.
    assert.ok(Math.abs(s.transformRow([1e3, 0.55], 'small')[1]! - 2.5) < 1e-9);
    // 1 GB from the small entity: far out, compressed beyond the knee 20 (not cut there): 1 TB is further still.
    const raw = (Math.log1p(1e9) - Math.log1p(1e3)) / 0.25;
    const far = s.transformRow([1e9, 0.5], 'small')[0]!;
    assert.ok(raw > 20 && far > 20 && far < raw, `${far} (raw ${raw})`);
    assert.ok(Math.abs(far - compressTail(raw, 20, 'soft')) < 1e-9);
    assert.ok(s.transformRow([1e12, 0.5], 'small')[0]! > far);
    assert.equal(compressTail(raw, 20, 'clip'), 20);
    assert.equal(compressTail(-raw, 20, 'soft'), -far);
    assert.equal(compressTail(15, 20, 'soft'), 15);
    assert.equal(s.levelOf('big').level, 'entity');
  });

  it('thin history falls back to the group, then to everyone', () => {
    assert.deepEqual(s.levelOf('newbig'), { level: 'group', key: 'g1', windows: 33 });
    assert.deepEqual(s.levelOf('orphan'), { level: 'global', key: '', windows: w.entities.length });
    // An entity never seen: its row's group when known, else global.
    assert.equal(s.levelOf('stranger', 'g2').level, 'group');
    assert.equal(s.levelOf('stranger', 'nope').level, 'global');
    assert.equal(s.levelOf('stranger').level, 'global');
    // The group's usual value is its median: 1 GB (17th of 33 windows), not newbig's own 2 GB.
    const u = s.describe('newbig', 0);
    assert.ok(Math.abs(u.usual - 1e9) < 1, String(u.usual));
    assert.equal(u.level, 'group');
    assert.ok(u.low < u.usual && u.usual < u.high);
    // Scaled like big: 2 GB is about 2.8 floors above 1 GB.
    const z = s.transformRow([2e9, 0], 'newbig')[0]!;
    assert.ok(Math.abs(z - (Math.log1p(2e9) - Math.log1p(1e9)) / 0.25) < 1e-9);
  });

  it('transforms whole windows, in the fitted feature order only', () => {
    const t = s.transform(w);
    assert.equal(t.length, w.values.length);
    assert.deepEqual(Array.from(t.subarray(0, 2)), Array.from(s.transformRow(w.values.subarray(0, 2), 'big')));
    assert.throws(() => s.transform({ ...w, featureNames: ['network.bytes_in', 'network.rejected_share'] }), /are not the scaler's/);
    assert.throws(() => s.transformRow([1], 'big'), /expected 2 feature values, got 1/);
  });

  it('saves and loads: same scaling, same usual values', () => {
    const state = s.toState();
    const back = FeatureScaler.fromState(state);
    assert.equal(back.tail, 'soft');
    assert.deepEqual(Array.from(back.transform(w)), Array.from(s.transform(w)));
    for (const e of ['big', 'small', 'newbig', 'orphan', 'stranger']) {
      assert.deepEqual(back.describe(e, 0), s.describe(e, 0));
      assert.deepEqual(back.levelOf(e), s.levelOf(e));
    }
    assert.deepEqual(back.features, s.features);
    assert.deepEqual(Buffer.from(back.toState()), Buffer.from(state));
    // Damaged states are refused with a reason.
    assert.throws(() => FeatureScaler.fromState(state.subarray(0, 10)), (e: unknown) => e instanceof ModelFileError && /truncated/.test(e.message));
    const bad = Uint8Array.from(state);
    bad[0] = 0;
    assert.throws(() => FeatureScaler.fromState(bad), /bad magic/);
    const v3 = Uint8Array.from(state);
    new DataView(v3.buffer).setUint32(4, 3, true);
    assert.throws(() => FeatureScaler.fromState(v3), /version 3 is not supported/);
    assert.throws(() => FeatureScaler.fromState(state.subarray(0, state.length - 8)), /truncated statistics/);
  });

  it('says the usual value in words', () => {
    assert.equal(explainFeature(s, 0, 2.1e9, 'big', 3_600_000), 'bytes out 2.1 GB in this hour; usually 1 GB');
    assert.equal(explainFeature(s, 0, 4e7, 'newbig', 900_000), 'bytes out 40 MB in this 15-minute window; usually 1 GB (usual in g1)');
    assert.equal(explainFeature(s, 1, 0.25, 'stranger', 3_600_000), 'rejected share 25% in this hour; usually 20% (usual across entities)');
    assert.equal(formatFeatureValue('bytes', 999), '999 B');
    assert.equal(formatFeatureValue('bytes', 1234567), '1.23 MB');
    assert.equal(formatFeatureValue('count', 12345.4), '12,345');
    assert.equal(formatFeatureValue('bits', 3.456), '3.46 bits/char');
    assert.equal(windowPhrase(86_400_000), 'this day');
  });

  it('rejects bad options and inconsistent windows', () => {
    assert.throws(() => FeatureScaler.fit(w, { minHistory: 0 }), /minHistory must be an integer >= 1/);
    assert.throws(() => FeatureScaler.fit({ ...w, values: w.values.subarray(1) }), /values for/);
  });
});

describe('feature scaler (range scaling, the default)', () => {
  const FEATS: FeatureInfo[] = [
    { name: 'network.bytes_out', set: 'network', feature: 'bytes_out', description: 'bytes sent', unit: 'bytes', transform: 'log1p', default: 0 },
    { name: 'network.flows', set: 'network', feature: 'flows', description: 'flows', unit: 'count', transform: 'log1p', default: 0 },
    { name: 'network.rejected_share', set: 'network', feature: 'rejected_share', description: 'rejected', unit: 'share', transform: 'none', default: 0, support: 'flows' },
  ];
  /** backup: 0 B in 23 hours of 24, 1.6-2.4 GB in one; batch: ~30 MB half the day, ~1 GB the other half (wide MAD); ~100 flows, 2% rejected. */
  function fw(): FeatureWindows {
    const entities: string[] = [];
    const vals: number[] = [];
    for (let k = 0; k < 72; k++) {
      entities.push('backup');
      vals.push(k % 24 === 2 ? 2e9 * FACTORS[k % 5]! : 0, 100, 0.02);
      entities.push('batch');
      vals.push((k % 24 < 12 ? 1e9 : 3e7) * FACTORS[k % 5]!, 100, 0.02);
    }
    return { featureNames: FEATS.map((f) => f.name), features: FEATS, entities, groups: entities.map(() => 'g'), windowStart: new Float64Array(entities.length), values: Float64Array.from(vals), windowMs: 3_600_000 };
  }
  const w = fw();
  const s = FeatureScaler.fit(w);
  const median = FeatureScaler.fit(w, { scaling: 'median', sharePrior: 0 });

  it('keeps what an entity has done before within +-0.5, and counts a value beyond its history in steps of the floor', () => {
    assert.equal(s.scaling, 'range');
    // A nightly backup as large as before: inside the range (median scaling put it ~85 floors out).
    assert.ok(s.transformRow([1.8e9, 100, 0.02], 'backup')[0]! <= 0.5 + 1e-9);
    assert.ok(median.transformRow([1.8e9, 100, 0.02], 'backup')[0]! > 20);
    // 30x the batch host's busiest hour: far out (beyond +0.5 by ln(30 / 1.2) / 0.5), while median scaling, divided
    // by the wide spread of day and night, put it a few deviations out.
    const z = s.transformRow([3.6e10, 100, 0.02], 'batch')[0]!;
    const expect = 0.5 + (Math.log1p(3.6e10) - Math.log1p(1.2e9)) / 0.5;
    assert.ok(Math.abs(z - expect) < 0.05, `${z} vs ${expect}`);
    assert.ok(median.transformRow([3.6e10, 100, 0.02], 'batch')[0]! < z / 2);
  });

  it('is continuous and monotone, and rawValue inverts it', () => {
    let prev = -Infinity;
    for (let e = 0; e <= 12; e += 0.05) {
      const x = 10 ** e;
      const z = s.transformRow([x, 100, 0.02], 'batch')[0]!;
      assert.ok(z >= prev - 1e-12, `not monotone at ${x}`);
      assert.ok(z - prev < 1.5 || prev === -Infinity, `jump at ${x}: ${prev} -> ${z}`);
      prev = z;
      const back = s.rawValue(0, z, 'batch');
      if (Math.abs(z) < 20) assert.ok(Math.abs(Math.log1p(back) - Math.log1p(x)) < 1e-6, `${x} -> ${z} -> ${back}`);
    }
    const u = s.describe('backup', 0);
    assert.equal(u.usual, 0);
    assert.ok(u.max !== undefined && u.max > 1e9, String(u.max));
  });

  it('shrinks a share over few records toward the usual one; a share over many stays', () => {
    // 3 rejected of 14 flows (21%) against a usual 2%: as if 20 more usual flows were seen, (3 + 0.4) / 34 = 10%.
    const sparse = s.transformRow([0, 14, 3 / 14], 'backup')[2]!;
    const expect = s.transformRow([0, 100, 0.1], 'backup')[2]!;
    const raw = s.transformRow([0, 1e9, 3 / 14], 'backup')[2]!;
    assert.ok(Math.abs(sparse - s.transformRow([0, 1e9, 3.4 / 34], 'backup')[2]!) < 1e-6, `${sparse}`);
    assert.ok(sparse < raw && expect > 0, `${sparse} ${raw}`);
    // 600 of 950: 63% -> (600 + 0.4) / 970 = 62%, as far out as a raw 62%.
    assert.ok(Math.abs(s.transformRow([0, 950, 600 / 950], 'backup')[2]! - s.transformRow([0, 1e9, 600.4 / 970], 'backup')[2]!) < 1e-6);
    // No records: the usual value.
    assert.equal(s.transformRow([0, 0, 0.9], 'backup')[2], 0);
    assert.throws(() => FeatureScaler.fit({ ...w, features: [FEATS[0]!, FEATS[1]!, { ...FEATS[2]!, support: 'nope' }] }), /support 'nope' is not a feature of set network/);
  });

  it('saves and loads (state version 2); a version 1 state loads as median scaling', () => {
    const state = s.toState();
    assert.equal(new DataView(state.buffer, state.byteOffset).getUint32(4, true), 2);
    const back = FeatureScaler.fromState(state);
    assert.equal(back.scaling, 'range');
    assert.equal(back.sharePrior, 20);
    assert.deepEqual(Array.from(back.transform(w)), Array.from(s.transform(w)));
    assert.deepEqual(Buffer.from(back.toState()), Buffer.from(state));
    // A version 1 state: median statistics only, no prior (the layout median scaling still writes).
    const v1 = Uint8Array.from(median.toState());
    new DataView(v1.buffer).setUint32(4, 1, true);
    const old = FeatureScaler.fromState(v1);
    assert.equal(old.scaling, 'median');
    assert.equal(old.sharePrior, 0);
    assert.deepEqual(Array.from(old.transform(w)), Array.from(median.transform(w)));
  });
});
