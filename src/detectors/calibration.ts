/**
 * Applying a stored calibration to scores, for any detector. Pure functions with no I/O, for `seclake score`, the
 * inference server and the monitor:
 *
 *   const cal = readCalibration(model.header);            // undefined when the model was never calibrated
 *   const results = model.scorePairs(pairs, { verbose });
 *   const out = cal ? results.map((r) => ({ ...r, ...annotate(r, cal) })) : results;
 *
 * `anomaly_percentile` is the share of held-out normal pairs that scored higher than this pair (0 = as normal as
 * the most normal traffic, 1 = lower than every normal pair seen in calibration). `is_anomaly` applies the stored
 * threshold: flag when `dot_product < threshold`.
 */
import { z } from 'zod';
import { SeclakeError } from '../core/errors.js';

export const CALIBRATION_VERSION = 1;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
/** NaN (e.g. precision when nothing was flagged) is stored as null in JSON. */
const rate = z.number().min(0).max(1).nullable();

const operatingPointSchema = z.object({
  threshold: finite,
  fpr: rate,
  recall: rate,
  precision: rate,
});

const ruleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('max_fpr'), max_fpr: z.number().min(0).max(1) }),
  z.object({
    kind: z.literal('min_precision'),
    min_precision: z.number().gt(0).max(1),
    /** Normal pairs per abnormal pair the precision target was computed at; null = the calibration set's own mix. */
    ratio: z.number().positive().nullable(),
  }),
  z.object({ kind: z.literal('threshold') }),
  /** The normal scores' mean + z_factor standard deviations (the three-sigma convention of RCF; higher is anomalous). */
  z.object({ kind: z.literal('three_sigma'), z_factor: z.number().positive() }),
]);

/**
 * Which way a detector's native score points: IP Insights' dot_product and the history detector's prefix score are
 * larger for normal records (`lower_is_anomalous`); a forest's anomaly score is larger for anomalies.
 */
export const SCORE_DIRECTIONS = ['lower_is_anomalous', 'higher_is_anomalous'] as const;
export type ScoreDirection = (typeof SCORE_DIRECTIONS)[number];

export const calibrationSchema = z.object({
  version: z.literal(CALIBRATION_VERSION),
  created_at: z.string(),
  /**
   * The direction of the native score the threshold and quantiles are in. Absent in calibrations written before
   * detectors other than IP Insights existed: those are `lower_is_anomalous` (dot_product).
   */
  direction: z.enum(SCORE_DIRECTIONS).optional(),
  /** Native score name (dot_product, prefix_score, ...), for reports; absent in old calibrations. */
  score_name: z.string().optional(),
  /** Flag when the native score is beyond the threshold: below it for `lower_is_anomalous`, above it otherwise. */
  threshold: finite,
  rule: ruleSchema,
  /** Measured at `threshold` on the calibration set (normal vs abnormal pairs). */
  fpr: rate,
  recall: rate,
  precision: rate,
  auc: rate,
  average_precision: rate,
  n_normal: z.number().int().nonnegative(),
  n_abnormal: z.number().int().nonnegative(),
  /** Where the abnormal pairs came from: random | shuffled | asn | file. */
  abnormal_source: z.string(),
  /** Ascending quantiles of the normal records' native score at probabilities 0, 1/(k−1), …, 1. */
  normal_quantiles: z.array(finite).min(2),
  /** Thresholds for standard false-positive budgets (0.1%, 1%, 5%). */
  thresholds_at_fpr: z.array(operatingPointSchema.extend({ target_fpr: z.number() })),
  /** Analyst labels folded into this calibration. */
  feedback: z
    .object({ false_positives: z.number().int().nonnegative(), true_positives: z.number().int().nonnegative() })
    .optional(),
});

export type Calibration = z.infer<typeof calibrationSchema>;

export interface Annotation {
  /** Share of calibration normal pairs with a higher dot_product: how unusual the pair is, in [0, 1]. */
  anomaly_percentile: number;
  /** dot_product < calibrated threshold. */
  is_anomaly: boolean;
  /**
   * Present (true) when the scorer reports that the entity was not seen in training: its score and percentile do
   * not mean much (tutorial: such predictions "will not mean anything").
   */
  cold_start?: true;
}

/** Thrown when a model header carries a calibration that does not parse. */
export class CalibrationError extends SeclakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CalibrationError';
  }
}

/** Where a header may keep the calibration: `calibration` first, then `extras.calibration`, `metadata.calibration`. */
function findSlot(header: unknown): unknown {
  if (header === null || typeof header !== 'object') return undefined;
  const h = header as Record<string, unknown>;
  if (h.calibration !== undefined && h.calibration !== null) return h.calibration;
  for (const key of ['extras', 'metadata']) {
    const inner = h[key];
    if (inner !== null && typeof inner === 'object') {
      const c = (inner as Record<string, unknown>).calibration;
      if (c !== undefined && c !== null) return c;
    }
  }
  return undefined;
}

/**
 * The calibration stored in a model header, or undefined if the model has none. Throws CalibrationError (naming
 * `source`, e.g. the model file) when a calibration is present but malformed or of a newer version.
 */
export function readCalibration(header: unknown, source = 'model header'): Calibration | undefined {
  const slot = findSlot(header);
  if (slot === undefined) return undefined;
  const version = (slot as { version?: unknown }).version;
  if (typeof version === 'number' && version > CALIBRATION_VERSION) {
    throw new CalibrationError(`${source}: calibration version ${version} is newer than this seclake understands (${CALIBRATION_VERSION})`);
  }
  const parsed = calibrationSchema.safeParse(slot);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CalibrationError(`${source}: invalid calibration at ${['calibration', ...issue.path.map(String)].join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Share of the calibration's normal pairs that score above `dotProduct`, interpolated between the stored quantiles.
 * Scores tied with a run of equal quantiles get the middle of the run.
 */
export function anomalyPercentile(dotProduct: number, quantiles: readonly number[]): number {
  const k = quantiles.length;
  if (Number.isNaN(dotProduct)) return Number.NaN;
  if (dotProduct < quantiles[0]!) return 1;
  if (dotProduct > quantiles[k - 1]!) return 0;
  // first index with q >= x, last index with q <= x
  let lo = 0;
  let hi = k - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (quantiles[mid]! < dotProduct) lo = mid + 1;
    else hi = mid;
  }
  const first = lo;
  let cdf: number;
  if (quantiles[first] === dotProduct) {
    lo = first;
    hi = k - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (quantiles[mid]! <= dotProduct) lo = mid;
      else hi = mid - 1;
    }
    cdf = (first + lo) / 2 / (k - 1);
  } else {
    const a = quantiles[first - 1]!;
    const b = quantiles[first]!;
    cdf = (first - 1 + (dotProduct - a) / (b - a)) / (k - 1);
  }
  return Math.min(1, Math.max(0, 1 - cdf));
}

/** Whether a native score is beyond a threshold, in the calibration's direction. */
export function beyondThreshold(native: number, threshold: number, direction: ScoreDirection = 'lower_is_anomalous'): boolean {
  return direction === 'lower_is_anomalous' ? native < threshold : native > threshold;
}

/** The anomaly score of a native score: larger always means more anomalous. */
export function anomalyScoreOf(native: number, direction: ScoreDirection): number {
  return direction === 'lower_is_anomalous' ? -native : native;
}

/**
 * Calibrated view of one native score: the share of calibration normal records less anomalous than it (its
 * percentile) and the threshold decision, in the calibration's direction.
 */
export function annotateScore(native: number, calibration: Calibration): { anomaly_percentile: number; is_anomaly: boolean } {
  const q = calibration.normal_quantiles;
  const lower = calibration.direction !== 'higher_is_anomalous';
  return {
    anomaly_percentile: lower ? anomalyPercentile(native, q) : Number.isNaN(native) ? Number.NaN : 1 - anomalyPercentile(native, q),
    is_anomaly: beyondThreshold(native, calibration.threshold, calibration.direction),
  };
}

/** Calibrated view of one IP Insights result (dot_product; see annotateScore for any detector). */
export function annotate(result: { dot_product: number; entity_known?: boolean }, calibration: Calibration): Annotation {
  const out: Annotation = annotateScore(result.dot_product, calibration);
  if (result.entity_known === false) out.cold_start = true;
  return out;
}

/** `annotate` over a batch, keeping every original field. */
export function annotateAll<R extends { dot_product: number; entity_known?: boolean }>(
  results: readonly R[],
  calibration: Calibration,
): (R & Annotation)[] {
  return results.map((r) => ({ ...r, ...annotate(r, calibration) }));
}
