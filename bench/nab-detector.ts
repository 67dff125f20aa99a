/**
 * Our Random Cut Forest as a NAB streaming detector: each row of a univariate series is scored with only the rows
 * before it (score, then update), and the score is mapped into [0, 1] as NAB requires.
 *
 * A detector is three choices, each named after where it comes from (rcf.md §1.6-1.7, the AWS library, OpenSearch AD
 * and Data Prepper's RCF processor), not after NAB's labels:
 *
 * - the forest: trees, sample size, time decay, warm-up, shingle size;
 * - the input: as is, or normalised with a rolling (exponentially discounted) mean and deviation as the library's
 *   ThresholdedRandomCutForest does with TransformMethod.NORMALIZE ((x - mean) / (2 (deviation + 0.001)), clipped at
 *   +-100; Data Prepper's `random_cut_forest` metrics mode runs with it);
 * - the output in [0, 1]:
 *   - `raw`: score / log2(sampleSize), capped at 1: NAB's own RCF entry (Kinesis score / 8);
 *   - `grade`: the Thresholder's anomaly grade (the library's BasicThresholder: 0 below a threshold near
 *     mean + 3 deviations of the stream's scores, rising to 1 above it);
 *   - `relative`: the score relative to that same threshold, r = score / threshold, mapped through
 *     f(r) = r / 2 below the threshold and 1 - 1 / (2 r) above it (continuous, increasing, f(1) = 1/2). It keeps the
 *     Thresholder's per-stream calibration (one NAB threshold serves 58 streams of different score levels) and the
 *     ordering of scores on both sides of the product's threshold, which the grade discards (0 below the threshold,
 *     17 levels above it in the forest's Thresholder).
 *
 * What the NAB runs say about the product (bench:nab, 2026-12-07; for src/detectors/rcf/forest, owned by the forest
 * helper; nothing here edits it):
 * 1. The Thresholder's grade is a decision, not a ranking score. It is 0 below the threshold and saturates at 1 (17
 *    levels), so one corpus threshold cannot separate strong true detections from strong false ones: every `grade`
 *    variant scores 0.0 on NAB, and so does the library's own ThresholdedRandomCutForest grade at shingle 1. Rank
 *    and calibrate by the raw score; if a continuous per-stream measure is wanted next
 *    to the grade, expose the score in long-term deviations above the mean from the Thresholder rather than a finer
 *    grade.
 * 2. The library's thresholded forest at shingle 8 (50 trees) reaches 39.4 standard with its grade where ours
 *    gives 0.0 (with 100 trees): the library's PredictorCorrector treats a potential anomaly within one shingle of
 *    the last one as possibly the same anomaly (a higher bar, triggerFactor 3.5 deviations instead of 3, and a
 *    check of the point with the earlier anomalous values replaced by expected ones), so one spike is not flagged
 *    shingleSize times. Our Thresholder has no such stage; it belongs in src/detectors/rcf/forest if the product
 *    runs shingles above 1 (OpenSearch AD's default is 8).
 * 3. Per-stream rescaling (`relative`) and rolling input normalisation did not help: the RCF score already has one
 *    scale on every stream.
 */
import { RandomCutForest, Thresholder } from '../src/detectors/rcf/forest/index.js';

export type NabOutput = 'raw' | 'grade' | 'relative';

export interface NabDetectorConfig {
  /** short name printed by the benchmark */
  name: string;
  /** where the settings come from, printed by the benchmark */
  why: string;
  trees: number;
  sampleSize: number;
  /** sampler decay per point (0 = uniform reservoir) */
  timeDecay: number;
  /** rows before the forest scores (0 until then) */
  outputAfter: number;
  shingleSize: number;
  normalize: boolean;
  output: NabOutput;
  seed: number;
}

/** The forest's own defaults (the AWS library's: rcf.md §1.7). */
const FOREST_DEFAULTS = { trees: 100, sampleSize: 256, timeDecay: 1 / 2560, outputAfter: 64, seed: 42 } as const;
/** Kinesis Data Analytics RANDOM_CUT_FOREST(..., 100, 256, 100000, 1), as NAB's RCF entry ran it (256 rows of 0). */
const KINESIS = { trees: 100, sampleSize: 256, timeDecay: 1e-5, outputAfter: 256, seed: 42, shingleSize: 1, normalize: false } as const;

/** The variants the benchmark runs, the default first (see DEFAULT_VARIANT for why). */
export const VARIANTS: readonly NabDetectorConfig[] = [
  {
    name: 'defaults-raw-s1',
    why: 'forest defaults (decay 1/2560, warm-up 64), shingle 1, score / log2(256)',
    ...FOREST_DEFAULTS,
    shingleSize: 1,
    normalize: false,
    output: 'raw',
  },
  {
    name: 'kinesis',
    why: "NAB's Kinesis entry: 100 trees, 256, decay 1e-5, shingle 1, 256 rows warm-up, score / 8",
    ...KINESIS,
    output: 'raw',
  },
  {
    name: 'kinesis-relative',
    why: 'Kinesis forest settings, score relative to the Thresholder threshold (per-stream calibration)',
    ...KINESIS,
    output: 'relative',
  },
  {
    name: 'kinesis-grade',
    why: 'Kinesis forest settings, the Thresholder grade (what the product emits)',
    ...KINESIS,
    output: 'grade',
  },
  {
    name: 'defaults-relative-s1',
    why: 'forest defaults, shingle 1, relative output',
    ...FOREST_DEFAULTS,
    shingleSize: 1,
    normalize: false,
    output: 'relative',
  },
  {
    name: 'defaults-grade-s1',
    why: 'forest defaults, shingle 1, the Thresholder grade',
    ...FOREST_DEFAULTS,
    shingleSize: 1,
    normalize: false,
    output: 'grade',
  },
  {
    name: 'relative-s8',
    why: 'forest defaults, OpenSearch AD single-stream shingle 8, relative output (the first default, see below)',
    ...FOREST_DEFAULTS,
    shingleSize: 8,
    normalize: false,
    output: 'relative',
  },
  {
    name: 'grade-s8',
    why: 'forest defaults, shingle 8, the Thresholder grade (OpenSearch AD-like)',
    ...FOREST_DEFAULTS,
    shingleSize: 8,
    normalize: false,
    output: 'grade',
  },
  {
    name: 'raw-s8',
    why: 'forest defaults, shingle 8, score / log2(256)',
    ...FOREST_DEFAULTS,
    shingleSize: 8,
    normalize: false,
    output: 'raw',
  },
  {
    name: 'norm-relative-s4',
    why: "Data Prepper's RCF metrics mode: 50 trees, shingle 4, NORMALIZE input; relative output",
    ...FOREST_DEFAULTS,
    trees: 50,
    shingleSize: 4,
    normalize: true,
    output: 'relative',
  },
];

/**
 * The default: `defaults-raw-s1`, the product's forest as it is: its own defaults (the AWS library's: 100 trees,
 * sample 256, time decay 1/2560, warm-up 64) and the library's own score scale (score / log2(sampleSize), NAB's RCF
 * mapping), with shingle 1 because NAB's Kinesis authors report that shingles of 4, 24 and 48 did not help (rcf.md §3).
 * Nothing in it is chosen for NAB. Two defaults chosen on principle before their numbers were known scored lower and
 * stay in the table: `relative-s8` (OpenSearch AD's single-stream shingle 8, score relative to the Thresholder's
 * threshold) and `kinesis-relative` (per-stream calibration, as HTM's anomaly likelihood calibrates its raw score).
 * The RCF score is already on one scale on every stream (expected isolation depth: about 1 for an inlier,
 * log2(sampleSize) for a point isolated at the root), which is why a per-stream rescaling adds noise rather than
 * calibration here; the library's own thresholded forest behaves the same on NAB (see the benchmark's report).
 */
export const DEFAULT_VARIANT = 'defaults-raw-s1';

/** A variant by name; `name@seed` runs it with another seed. */
export function variant(name: string): NabDetectorConfig {
  const at = name.lastIndexOf('@');
  const base = at >= 0 ? name.slice(0, at) : name;
  const v = VARIANTS.find((x) => x.name === base);
  if (!v) throw new Error(`unknown NAB detector variant ${JSON.stringify(base)}; known: ${VARIANTS.map((x) => x.name).join(', ')}`);
  if (at < 0) return v;
  const seed = Number(name.slice(at + 1));
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`variant ${name}: the seed after @ must be a non-negative integer`);
  return { ...v, name, seed };
}

/** f(r) = r / 2 for r < 1, 1 - 1 / (2 r) above: the score relative to the threshold, into [0, 1). */
export function relativeToThreshold(score: number, threshold: number): number {
  if (!(threshold > 0) || !(score > 0)) return 0;
  const r = score / threshold;
  return r < 1 ? r / 2 : 1 - 1 / (2 * r);
}

/** Rolling normalisation as the library's NORMALIZE transform: discounted mean and deviation of the past values. */
class RollingNormalizer {
  private weight = 0;
  private sum = 0;
  private sumSquared = 0;
  private count = 0;
  constructor(private readonly discount: number) {}
  /** The normalised value of x given the values before it (x itself included while fewer than 10 were seen). */
  next(x: number): number {
    if (this.count < 10) this.absorb(x);
    const mean = this.sum / this.weight;
    const v = this.sumSquared / this.weight - mean * mean;
    const dev = v > 0 ? Math.sqrt(v) : 0;
    let z = (x - mean) / (2 * (dev + 1e-3));
    if (z > 100) z = 100;
    else if (z < -100) z = -100;
    if (this.count >= 10) this.absorb(x);
    return z;
  }
  private absorb(x: number): void {
    const f = 1 - this.discount;
    this.sum = this.sum * f + x;
    this.sumSquared = this.sumSquared * f + x * x;
    this.weight = this.weight * f + 1;
    this.count++;
  }
}

/** Scores in [0, 1] for every row of `values`, streaming (row i sees rows 0..i only). */
export function scoreSeries(values: Float64Array, cfg: NabDetectorConfig): Float64Array {
  const forest = new RandomCutForest({
    inputDims: 1,
    shingleSize: cfg.shingleSize,
    numTrees: cfg.trees,
    sampleSize: cfg.sampleSize,
    timeDecay: cfg.timeDecay,
    outputAfter: cfg.outputAfter,
    seed: cfg.seed,
  });
  const thresholder = new Thresholder({ shingleSize: cfg.shingleSize, timeDecay: cfg.timeDecay > 0 ? cfg.timeDecay : 1 / 2560 });
  const normalizer = cfg.normalize ? new RollingNormalizer(cfg.timeDecay > 0 ? cfg.timeDecay : 1 / 2560) : undefined;
  const rawScale = Math.log2(cfg.sampleSize);
  const out = new Float64Array(values.length);
  const row = new Float64Array(1);
  for (let i = 0; i < values.length; i++) {
    row[0] = normalizer ? normalizer.next(values[i]!) : values[i]!;
    const score = forest.scoreAndUpdate(row);
    if (score <= 0) {
      out[i] = 0;
      continue;
    }
    if (cfg.output === 'raw') {
      out[i] = Math.min(1, score / rawScale);
    } else {
      // the threshold itself (thresholdAndGrade reports the score as the threshold when the grade rounds to 0)
      const threshold = thresholder.thresholdAndGrade(0).threshold;
      out[i] = cfg.output === 'grade' ? thresholder.grade(score) : relativeToThreshold(score, threshold);
      thresholder.update(score);
    }
  }
  return out;
}
