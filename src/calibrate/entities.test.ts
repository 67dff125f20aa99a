import assert from 'node:assert/strict';
import test from 'node:test';
import { binomialCdf, clopperPearson } from '../core/binomial.js';
import {
  annotateEntity,
  applyEntityThresholds,
  calibrationLowSupport,
  pValueOf,
  readCalibration,
  SEEN_PAIR_MIN_P_VALUE,
  TAIL_MAX_FACTOR,
  supportOf,
  thresholdFor,
  trainingSupport,
  type Calibration,
} from '../detectors/calibration.js';
import { fitPerEntity, nativePerEntity, quantileOf, shrink, supportFor } from './entities.js';

/** n evenly spaced scores in [lo, hi]. */
function spread(n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, (_, i) => (n === 1 ? lo : lo + ((hi - lo) * i) / (n - 1)));
}

test('shrinkage: weight n / (n + prior_n) on the own quantile, the rest on the parent', () => {
  assert.equal(shrink(4, 3000, -2, 3000), 1); // half and half at n = prior_n
  assert.equal(shrink(4, 0, -2, 3000), -2); // no records: the parent
  assert.ok(Math.abs(shrink(4, 27_000, -2, 3000) - (0.9 * 4 + 0.1 * -2)) < 1e-12);
  assert.equal(quantileOf(Float64Array.from([1, 2, 3, 4, 5]), 0.25), 2);
});

test('fitPerEntity: a narrow entity becomes sensitive, a thin one stays near its parent; groups of one are not groups', () => {
  // q = 1%: 300 records measure it. db: 3000 scores in [4, 8]; web: 3000 in [-3, 5]; thin: 30 in [4, 8].
  const scores: number[] = [];
  const entities: string[] = [];
  const groups: (string | undefined)[] = [];
  const add = (e: string, g: string | undefined, xs: number[]): void => {
    for (const x of xs) {
      scores.push(x);
      entities.push(e);
      groups.push(g);
    }
  };
  add('db-1', 'subnet db', spread(3000, 4, 8));
  add('db-2', 'subnet db', spread(3000, 4.5, 8));
  add('web-1', 'subnet web', spread(3000, -3, 5));
  add('thin', undefined, spread(30, 4, 8));
  const pe = fitPerEntity({ scores, entities, groups, targetFpr: 0.01, globalThreshold: -2, unit: 'pairs' });
  assert.equal(pe.min_n, 300);
  assert.equal(pe.prior_n, 300);
  assert.deepEqual(Object.keys(pe.groups), ['subnet db']); // 'subnet web' has one entity
  const g = pe.groups['subnet db']!;
  const gOwn = quantileOf(Float64Array.from([...spread(3000, 4, 8), ...spread(3000, 4.5, 8)]).sort(), 0.01);
  assert.ok(Math.abs(g.threshold - shrink(gOwn, 6000, -2, 300)) < 1e-9);
  const db1 = pe.entities['db-1']!;
  assert.equal(db1.group, 'subnet db');
  assert.ok(db1.own !== null && Math.abs(db1.own - quantileOf(Float64Array.from(spread(3000, 4, 8)), 0.01)) < 1e-6);
  assert.ok(Math.abs(db1.threshold - shrink(db1.own!, 3000, g.threshold, 300)) < 1e-6);
  assert.ok(db1.threshold > 3.5, `db-1's threshold ${db1.threshold} should be near its own 1% quantile`);
  // web-1 is in a group of one: it shrinks toward the global threshold directly.
  const web = pe.entities['web-1']!;
  assert.ok(Math.abs(web.threshold - shrink(web.own!, 3000, -2, 300)) < 1e-6);
  // 30 records cannot measure a 1% quantile: own is null, and the threshold is mostly the global one.
  const thin = pe.entities.thin!;
  assert.equal(thin.own, null);
  assert.ok(thin.threshold < -1, `thin entity's threshold ${thin.threshold} should stay near the global -2`);
});

function calibration(over: Partial<Calibration> = {}): Calibration {
  const pe = fitPerEntity({
    scores: [...spread(5000, 4, 8), ...spread(5000, -3, 5), ...spread(10, 5, 6)],
    entities: [...Array<string>(5000).fill('db-1'), ...Array<string>(5000).fill('web-1'), ...Array<string>(10).fill('rare')],
    groups: [...Array<string>(5000).fill('subnet a'), ...Array<string>(5000).fill('subnet a'), ...Array<string>(10).fill('subnet b')],
    targetFpr: 0.001,
    globalThreshold: -2.9,
    unit: 'pairs',
  });
  return {
    version: 2,
    created_at: '2026-01-01T00:00:00.000Z',
    direction: 'lower_is_anomalous',
    score_name: 'dot_product',
    threshold: -2.9,
    rule: { kind: 'max_fpr', max_fpr: 0.001 },
    fpr: 0.001,
    recall: 0.9,
    precision: 0.9,
    auc: 0.99,
    average_precision: 0.99,
    n_normal: 10_010,
    n_abnormal: 100,
    abnormal_source: 'asn',
    normal_quantiles: spread(1001, -3, 8),
    thresholds_at_fpr: [],
    per_entity: pe,
    support: supportFor(10_010, 10, 0.001, 'pairs'),
    ...over,
  };
}

test('thresholdFor: the entity, else its group (given), else the global threshold; the text says which and why', () => {
  const cal = calibration();
  const db = thresholdFor(cal, 'db-1');
  assert.equal(db.source, 'entity');
  assert.equal(db.n, 5000);
  assert.equal(db.group, 'subnet a');
  assert.ok(db.threshold > 1, `db-1: ${db.threshold}`);
  assert.match(db.text, /^below db-1's threshold [\d.]+ \(its own 0\.1% quantile 4 over 5,000 held-out pairs, 63% weight, shrunk toward its group subnet a's [-\d.]+\); the global threshold is -2\.9$/);
  const rare = thresholdFor(cal, 'rare');
  assert.equal(rare.source, 'entity');
  assert.match(rare.text, /10 held-out pairs, too few to measure its own 0\.1% quantile \(3,000 needed\)/);
  // 'subnet b' has one entity: no group entry; an unknown entity of a known group uses the group's threshold.
  const g = thresholdFor(cal, 'new-host', 'subnet a');
  assert.equal(g.source, 'group');
  assert.equal(g.threshold, cal.per_entity!.groups['subnet a']!.threshold);
  assert.match(g.text, /^below the threshold [-\d.]+ of new-host's group subnet a \(10,000 held-out pairs; new-host had none of its own\); the global threshold is -2\.9$/);
  const glob = thresholdFor(cal, 'new-host');
  assert.deepEqual([glob.source, glob.threshold, glob.n], ['global', -2.9, 10_010]);
  assert.equal(thresholdFor(cal, 'x', 'subnet b').source, 'global');
  assert.equal(thresholdFor(cal, '__proto__').source, 'global');
  // Version 1 (no per_entity): the global threshold for everyone.
  const v1 = calibration({ version: 1, per_entity: undefined, support: undefined });
  assert.deepEqual([thresholdFor(v1, 'db-1').source, thresholdFor(v1, 'db-1').threshold], ['global', -2.9]);
});

test('a version-1 calibration still reads and decides with its global threshold', () => {
  const v1 = calibration({ version: 1 });
  delete (v1 as Partial<Calibration>).per_entity;
  delete (v1 as Partial<Calibration>).support;
  const back = readCalibration(JSON.parse(JSON.stringify({ calibration: v1 })))!;
  assert.equal(back.version, 1);
  const a = annotateEntity(1.5, back, 'db-1');
  assert.equal(a.is_anomaly, false); // 1.5 > -2.9
  assert.equal(a.threshold.source, 'global');
  assert.ok(a.p_value > 0.3 && a.p_value < 0.5, `global p-value ${a.p_value}`);
  // Support judged now with the same rule: 10,010 records resolve 0.1%.
  assert.equal(supportOf(back).sufficient, true);
  assert.equal(supportOf({ ...back, n_normal: 2 }).sufficient, false);
  // A version-2 one round-trips through JSON.
  const v2 = readCalibration(JSON.parse(JSON.stringify({ calibration: calibration() })))!;
  assert.equal(v2.version, 2);
  assert.equal(thresholdFor(v2, 'db-1').source, 'entity');
});

test('annotateEntity: the entity threshold decides; p-values are consistent with it and honest about sample size', () => {
  const cal = calibration();
  const t = thresholdFor(cal, 'db-1').threshold;
  const a = annotateEntity(t - 0.5, cal, 'db-1');
  assert.equal(a.is_anomaly, true);
  assert.ok(a.p_value <= 0.001 + 1e-9, `beyond the entity threshold, p ${a.p_value} <= target rate`);
  // Beyond every held-out record: the floor 1 / (n + prior_n + 1) at the most anomalous record, then an exponential
  // tail: just past it about the floor, far beyond it less, monotone, but never below floor / TAIL_MAX_FACTOR.
  const floor = 1 / (5000 + 3000 + 1);
  const q0 = (cal.per_entity!.entities['db-1']!.quantiles as number[])[0]!;
  const w = 5000 / (5000 + 3000);
  const near = pValueOf(w * q0 + (1 - w) * cal.normal_quantiles[0]! - 1e-9, cal, 'db-1'); // the mixture's q(0)
  assert.ok(near <= floor && near > floor * 0.9, `just past the sample: ${near} ~ ${floor}`);
  const far = annotateEntity(-100, cal, 'db-1');
  assert.ok(far.p_value < floor * 0.6 && far.p_value >= floor / TAIL_MAX_FACTOR, `far beyond: ${far.p_value}`);
  assert.ok(pValueOf(-100, cal, 'db-1') <= pValueOf(-50, cal, 'db-1') && pValueOf(-50, cal, 'db-1') <= near);
  assert.equal(far.anomaly_percentile, 1); // the global percentile, as before
  // The same score is ordinary for web-1 (its own scores reach down to -3).
  const web = annotateEntity(t - 0.5, cal, 'web-1');
  assert.equal(web.is_anomaly, false);
  assert.ok(web.p_value > 0.01);
  // p-values grow with the score.
  assert.ok(pValueOf(2, cal, 'db-1') <= pValueOf(4, cal, 'db-1') && pValueOf(4, cal, 'db-1') <= pValueOf(6, cal, 'db-1'));
  // An unknown entity: the global set's floor where its records end.
  assert.ok(pValueOf(cal.normal_quantiles[0]! - 1e-9, cal, 'unknown') >= 1 / (10_010 + 1) - 1e-12);
});

test('seen in training: percentile capped below 1, p-value at least SEEN_PAIR_MIN_P_VALUE', () => {
  const cal = calibration();
  const a = annotateEntity(-100, cal, 'db-1', { seen: true });
  assert.ok(a.anomaly_percentile < 1);
  assert.equal(a.anomaly_percentile, 1 - 1 / (10_010 + 1));
  assert.equal(a.p_value, SEEN_PAIR_MIN_P_VALUE);
  assert.equal(a.is_anomaly, true); // beyond even the global threshold; the finding's severity is capped (build.ts)
  // Between the global threshold and db-1's stricter own one: an address db-1 used in training is not flagged.
  const between = (thresholdFor(cal, 'db-1').threshold + cal.threshold) / 2;
  assert.equal(annotateEntity(between, cal, 'db-1').is_anomaly, true);
  const s = annotateEntity(between, cal, 'db-1', { seen: true });
  assert.equal(s.is_anomaly, false);
  assert.equal(s.threshold.source, 'global');
  assert.match(s.threshold.text, /a pair seen in training is judged by the global threshold, not db-1's stricter/);
  // web-1's own threshold is not stricter than the global one: it stays.
  assert.equal(annotateEntity(0, cal, 'web-1', { seen: true }).threshold.source, 'entity');
});

test('a higher-is-anomalous calibration: per-entity thresholds in native units decide the same way', () => {
  // Oriented scores of a forest (anomaly score negated): one entity 'h' of the whole set, global threshold at 0.1%.
  const oriented = spread(4000, -8, -4);
  const pe = fitPerEntity({ scores: [...oriented, ...spread(4000, -8, -2)], entities: [...Array<string>(4000).fill('h'), ...Array<string>(4000).fill('other')], targetFpr: 0.001, globalThreshold: -7.99 });
  const native = nativePerEntity(pe, 'higher_is_anomalous');
  assert.equal(native.entities.h!.threshold, -pe.entities.h!.threshold);
  assert.deepEqual(native.entities.h!.quantiles, pe.entities.h!.quantiles!.map((x) => -x).reverse());
  const all = Float64Array.from([...oriented, ...spread(4000, -8, -2)]).sort();
  const normal = Array.from({ length: 1001 }, (_, i) => -quantileOf(all, 1 - i / 1000));
  const cal = calibration({ direction: 'higher_is_anomalous', threshold: 7.99, normal_quantiles: normal, per_entity: native, n_normal: 8000 });
  const t = thresholdFor(cal, 'h');
  assert.match(t.text, /^above h's threshold/);
  assert.equal(annotateEntity(t.threshold + 0.1, cal, 'h').is_anomaly, true);
  assert.equal(annotateEntity(t.threshold - 0.1, cal, 'h').is_anomaly, false);
  assert.ok(pValueOf(t.threshold + 0.1, cal, 'h') <= 0.001 + 1e-9);
  assert.ok(pValueOf(4.5, cal, 'h') > 0.5);
  assert.ok(pValueOf(3, cal, 'h') > pValueOf(7, cal, 'h'));
});

test('Clopper-Pearson: known values and coverage edges', () => {
  // k = 0: upper = 1 - (alpha/2)^(1/n).
  const [lo0, hi0] = clopperPearson(0, 2);
  assert.equal(lo0, 0);
  assert.ok(Math.abs(hi0 - (1 - 0.025 ** 0.5)) < 1e-9);
  // k = 5, n = 100: R's binom.test gives 0.01643187 .. 0.11283491.
  const [lo, hi] = clopperPearson(5, 100);
  assert.ok(Math.abs(lo - 0.01643187) < 1e-6, `lo ${lo}`);
  assert.ok(Math.abs(hi - 0.11283491) < 1e-6, `hi ${hi}`);
  assert.deepEqual(clopperPearson(3, 3).map((x) => Math.round(x * 1e6) / 1e6), [0.292402, 1]);
  assert.ok(Math.abs(binomialCdf(2, 10, 0.3) - 0.3827828) < 1e-6);
  assert.throws(() => clopperPearson(4, 3), RangeError);
});

test('support rule: n >= 3 / rate is sufficient; fewer is low support with the achieved FPR interval', () => {
  const ok = supportFor(3000, 2, 0.001, 'pairs');
  assert.equal(ok.sufficient, true);
  assert.equal(ok.needed_n, 3000);
  const thin = supportFor(2, 0, 0.01, 'pairs');
  assert.equal(thin.sufficient, false);
  assert.equal(thin.needed_n, 300);
  assert.deepEqual(thin.fpr_interval!.map((x) => Math.round(x * 1000) / 1000), [0, 0.842]);
  assert.match(thin.note, /only 2 held-out pairs: a false-positive rate of 1% needs at least 300/);
  assert.match(thin.note, /capped at Medium/);
  assert.equal(calibrationLowSupport(calibration({ support: thin })), true);
  assert.equal(calibrationLowSupport(calibration()), false);
  assert.equal(calibrationLowSupport(undefined), false);
});

test('applyEntityThresholds: verbose is_anomaly follows the entity threshold', () => {
  const cal = calibration();
  const preds: Record<string, unknown>[] = [
    { dot_product: 1, is_anomaly: false },
    { dot_product: 1, is_anomaly: true },
    { dot_product: 1 },
  ];
  applyEntityThresholds(preds, [{ entity: 'db-1' }, { entity: 'web-1' }, { entity: 'db-1' }], cal, 'dot_product');
  assert.deepEqual(preds.map((p) => p.is_anomaly), [true, false, undefined]);
});

test('training support: entities with fewer than 20 training records are thin', () => {
  const keys = [...Array<string>(25).fill('busy'), ...Array<string>(6).fill('dave'), ...Array<string>(19).fill('erin')];
  const s = trainingSupport(keys);
  assert.deepEqual([s.entities, s.thin_entities, s.min_records_per_entity, s.median_records_per_entity, s.sufficient], [3, 2, 6, 19, false]);
  assert.match(s.note, /^2 of 3 entities have fewer than 20 training records \(fewest 6, median 19\).*capped at Medium/);
  assert.equal(trainingSupport(Array<number>(20).fill(7)).sufficient, true);
});

test('per-hour rates: a broad entity aims at q / m per record and its p-values are per hour (Šidák)', async () => {
  const { perHourP } = await import('../detectors/calibration.js');
  assert.equal(perHourP(0.001, undefined), 0.001);
  assert.equal(perHourP(0.001, 1), 0.001);
  // 40 distinct peers an hour: a 1-in-1000 peer is a 1-in-25 hour
  assert.ok(Math.abs(perHourP(0.001, 40) - (1 - 0.999 ** 40)) < 1e-12);
  assert.ok(perHourP(1e-9, 40) > 3.9e-8 && perHourP(1e-9, 40) < 4.1e-8, 'tiny p keep their precision');
  // Two entities with the same scores: the one with 50 records an hour gets a stricter (lower) own quantile.
  const scores: number[] = [];
  const entities: string[] = [];
  for (let i = 0; i < 20000; i++) {
    scores.push(i / 1000, i / 1000);
    entities.push('narrow', 'broad');
  }
  const pe = fitPerEntity({ scores, entities, targetFpr: 0.01, globalThreshold: 0, perHour: new Map([['narrow', 1], ['broad', 50]]) });
  assert.equal(pe.entities.narrow!.per_hour, 1);
  assert.equal(pe.entities.broad!.per_hour, 50);
  assert.ok(pe.entities.broad!.own! < pe.entities.narrow!.own!, `${pe.entities.broad!.own} < ${pe.entities.narrow!.own}`);
  assert.ok(Math.abs(pe.entities.narrow!.own! - 0.2) < 0.01);
  assert.ok(Math.abs(pe.entities.broad!.own! - 0.004) < 0.01);
});
