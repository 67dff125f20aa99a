/**
 * Scores -> anomaly grade in [0, 1], as AWS's BasicThresholder does inside ThresholdedRandomCutForest (parkservices):
 * exponentially discounted mean and deviation of the scores seen (primary), of the differenced scores (secondary) and
 * of how far scores fall below the mean (the "threshold" deviation, which keeps large scores from raising the
 * threshold), a threshold near mean + zFactor·deviation blended in from an initial threshold while the first
 * 2·minimumScores scores arrive, and a grade that grows from 0 at the threshold to 1 four deviations above it.
 * Mirrors the library with TransformMethod NONE (the forest sees the caller's values as they are).
 */
import { ConfigError } from '../../../core/errors.js';
import { ForestInputError, ForestStateError } from './errors.js';
import { StateReader, StateWriter } from './state.js';

export interface ThresholderOptions {
  /** Deviations above the mean where the threshold sits (default 3). */
  zFactor?: number;
  /** Scores needed before the deviation is used (default 10). */
  minimumScores?: number;
  /** Floor of the threshold (default 0.8), lowered with a low mean when autoThreshold. */
  absoluteThreshold?: number;
  /** Threshold before minimumScores scores (default 1.5). */
  initialThreshold?: number;
  /** Weight of the differenced scores' deviation in the long-term deviation (default 0.5). */
  scoreDifferencing?: number;
  /** Scale the absolute threshold down when the mean score is below lowerThreshold (default true). */
  autoThreshold?: boolean;
  /** The library's factorAdjustmentThreshold (default 0.9). */
  lowerThreshold?: number;
  /** Discount per score of the primary statistics (default 1/2560, the forest's default time decay). */
  timeDecay?: number;
  /** Discount of the differenced scores' statistics (default 0.01, TRCF's anomalyRate). */
  anomalyRate?: number;
  /** The forest's shingle size: with 1 the long-term deviation ignores differencing, as in the library. */
  shingleSize?: number;
}

const MINIMUM_Z_FACTOR = 2;

/** Exponentially discounted count, mean and deviation (the library's Deviation). */
class Deviation {
  discount: number;
  weight = 0;
  sum = 0;
  sumSquared = 0;
  count = 0;
  constructor(discount: number) {
    this.discount = discount;
  }
  update(x: number): void {
    const f = 1 - this.discount;
    this.sum = this.sum * f + x;
    this.sumSquared = this.sumSquared * f + x * x;
    this.weight = this.weight * f + 1;
    this.count++;
  }
  mean(): number {
    return this.weight <= 0 ? 0 : this.sum / this.weight;
  }
  deviation(): number {
    if (this.weight <= 0) return 0;
    const m = this.sum / this.weight;
    const v = this.sumSquared / this.weight - m * m;
    return v > 0 ? Math.sqrt(v) : 0;
  }
  toJSON(): number[] {
    return [this.discount, this.weight, this.sum, this.sumSquared, this.count];
  }
  static from(v: unknown, what: string): Deviation {
    if (!Array.isArray(v) || v.length !== 5 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new ForestStateError(`RCF thresholder state: ${what} is not 5 numbers`);
    }
    const d = new Deviation(v[0] as number);
    [, d.weight, d.sum, d.sumSquared, d.count] = v as number[];
    return d;
  }
}

function num(name: string, v: number | undefined, def: number, min: number, max: number): number {
  const x = v ?? def;
  if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x > max) {
    throw new ConfigError(`RCF thresholder option ${name} must be a number in [${min}, ${max}], got ${String(v)}`, [name]);
  }
  return x;
}

export interface ThresholdAndGrade {
  threshold: number;
  grade: number;
}

export class Thresholder {
  readonly zFactor: number;
  readonly minimumScores: number;
  readonly absoluteThreshold: number;
  readonly initialThreshold: number;
  readonly scoreDifferencing: number;
  readonly autoThreshold: boolean;
  readonly lowerThreshold: number;
  readonly shingleSize: number;
  private primary: Deviation;
  private secondary: Deviation;
  private below: Deviation;
  private count = 0;
  private lastScore = 0;

  constructor(opts: ThresholderOptions = {}) {
    this.zFactor = num('zFactor', opts.zFactor, 3, 0, 1e6);
    this.minimumScores = Math.round(num('minimumScores', opts.minimumScores, 10, 1, 1e9));
    this.absoluteThreshold = num('absoluteThreshold', opts.absoluteThreshold, 0.8, 0, 1e9);
    this.initialThreshold = num('initialThreshold', opts.initialThreshold, 1.5, 0, 1e9);
    this.scoreDifferencing = num('scoreDifferencing', opts.scoreDifferencing, 0.5, 0, 1);
    this.autoThreshold = opts.autoThreshold ?? true;
    this.lowerThreshold = num('lowerThreshold', opts.lowerThreshold, 0.9, 1e-12, 1e9);
    this.shingleSize = Math.round(num('shingleSize', opts.shingleSize, 1, 1, 65535));
    const decay = num('timeDecay', opts.timeDecay, 1 / 2560, 0, 0.999999);
    const rate = num('anomalyRate', opts.anomalyRate, 0.01, 0, 0.999999);
    this.primary = new Deviation(decay);
    this.secondary = new Deviation(rate);
    this.below = new Deviation(decay / 2);
  }

  /** Scores absorbed so far. */
  get scores(): number {
    return this.count;
  }

  /** Current mean and deviation of the (capped) scores. */
  stats(): { mean: number; deviation: number } {
    return { mean: this.primary.mean(), deviation: this.primary.deviation() };
  }

  private deviationReady(): boolean {
    if (this.count < this.minimumScores) return false;
    return this.scoreDifferencing === 0 || this.secondary.count >= this.minimumScores;
  }

  /** Threshold and grade in [0, 1] of `score` given the scores absorbed so far (the library's getThresholdAndGrade). */
  thresholdAndGrade(score: number): ThresholdAndGrade {
    const min = this.minimumScores;
    const fraction = this.count < min ? 0 : this.count > 2 * min ? 1 : (this.count - min) / min;
    const factor = Math.max(this.zFactor, MINIMUM_Z_FACTOR);
    const mean = this.primary.mean();
    const dev = this.primary.deviation();
    let longTerm: number;
    if (this.shingleSize === 1) {
      longTerm = Math.min(Math.SQRT2 * this.below.deviation(), dev);
    } else {
      const first = Math.min(dev, Math.max(this.secondary.deviation(), Math.SQRT2 * this.below.deviation()));
      longTerm = this.scoreDifferencing * first + (1 - this.scoreDifferencing) * this.secondary.deviation();
    }
    const scaled = (factor - 1) * longTerm + dev;
    let absolute = this.absoluteThreshold;
    if (this.autoThreshold && fraction >= 1 && mean < this.lowerThreshold) absolute = (mean * absolute) / this.lowerThreshold;
    const ready = this.deviationReady();
    let threshold = !ready
      ? Math.max(this.initialThreshold, absolute)
      : Math.max(absolute, fraction * (mean + scaled) + (1 - fraction) * this.initialThreshold);
    if (score < threshold || threshold <= 0) return { threshold, grade: 0 };
    let t: number;
    if (ready) {
      const deviation = scaled / factor;
      let tf = 2 * factor;
      if (deviation > 0) tf = Math.min(factor, (score - threshold) / deviation);
      t = Math.max(0, tf / factor);
    } else {
      t = Math.min(1, Math.max(0, (score - this.absoluteThreshold) / this.absoluteThreshold));
    }
    t = Math.min(Math.floor(t * 20) / 16, 1); // grade 1 at four deviations above the threshold
    if (t === 0) threshold = score;
    return { threshold, grade: t };
  }

  /** Grade in [0, 1] of `score` given the scores absorbed so far. */
  grade(score: number): number {
    return this.thresholdAndGrade(score).grade;
  }

  /** Absorb a score (scores <= 0, i.e. a forest still warming up, are not counted, as in the library). */
  update(score: number): void {
    if (!Number.isFinite(score)) throw new ForestInputError(`RCF thresholder: score ${score} is not finite`);
    if (score > 0) {
      const last = this.shingleSize > 1 ? this.lastScore : 0;
      const primary = Math.min(score, 2);
      const gap = this.primary.mean() - primary;
      if (gap > 0) this.below.update(gap);
      this.primary.update(primary);
      this.secondary.update(score - last);
      this.count++;
    }
    if (this.shingleSize > 1) this.lastScore = score;
  }

  /** grade() then update(): the streaming primitive. */
  gradeAndUpdate(score: number): ThresholdAndGrade {
    const r = this.thresholdAndGrade(score);
    this.update(score);
    return r;
  }

  toState(): Uint8Array {
    return new StateWriter('RCFT', 1, {
      zFactor: this.zFactor,
      minimumScores: this.minimumScores,
      absoluteThreshold: this.absoluteThreshold,
      initialThreshold: this.initialThreshold,
      scoreDifferencing: this.scoreDifferencing,
      autoThreshold: this.autoThreshold,
      lowerThreshold: this.lowerThreshold,
      shingleSize: this.shingleSize,
      count: this.count,
      lastScore: this.lastScore,
      primary: this.primary.toJSON(),
      secondary: this.secondary.toJSON(),
      below: this.below.toJSON(),
    }).finish();
  }

  static fromState(bytes: Uint8Array): Thresholder {
    const rd = new StateReader(bytes, 'RCFT', 1, 'RCF thresholder');
    rd.end();
    const h = rd.header;
    const th = new Thresholder({
      zFactor: rd.num('zFactor', 0, 1e6, false),
      minimumScores: rd.num('minimumScores', 1, 1e9),
      absoluteThreshold: rd.num('absoluteThreshold', 0, 1e9, false),
      initialThreshold: rd.num('initialThreshold', 0, 1e9, false),
      scoreDifferencing: rd.num('scoreDifferencing', 0, 1, false),
      autoThreshold: h.autoThreshold === true,
      lowerThreshold: rd.num('lowerThreshold', 1e-12, 1e9, false),
      shingleSize: rd.num('shingleSize', 1, 65535),
    });
    th.count = rd.num('count', 0, Number.MAX_SAFE_INTEGER);
    th.lastScore = rd.num('lastScore', -1e308, 1e308, false);
    th.primary = Deviation.from(h.primary, 'primary');
    th.secondary = Deviation.from(h.secondary, 'secondary');
    th.below = Deviation.from(h.below, 'below');
    return th;
  }
}
