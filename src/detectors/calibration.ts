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

/**
 * 2: per-entity thresholds (`per_entity`) and the calibration's support (`support`); version 1 (global threshold
 * only) still reads, and works as before.
 */
export const CALIBRATION_VERSION = 2;

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

/** One entity's (or group's) threshold, in native units (see perEntitySchema). */
const entityThresholdSchema = z.object({
  /** Held-out normal records of the entity (group). */
  n: z.number().int().nonnegative(),
  /** Its own quantile at the target rate, when it has at least `min_n` records (else null: not measurable alone). */
  own: finite.nullable(),
  /** The entity's group, when the calibration data gave one. */
  group: z.string().optional(),
  /** The threshold it uses: its own quantile shrunk toward its group's (and the global) threshold. */
  threshold: finite,
  /** Its normal scores' quantiles at `quantile_probs` (native units, ascending), for p-values. */
  quantiles: z.array(finite).optional(),
  /**
   * Distinct held-out records (the unit of an alert: a distinct pair per hour) per hour: how many chances the entity
   * has each hour to show a record this rare. Its p-values are per hour (Šidák: 1 - (1 - p)^per_hour), so a web server
   * with 40 new clients an hour is not 40 times as alarming as a database with one peer.
   */
  per_hour: z.number().positive().optional(),
});

/**
 * Per-entity thresholds (calibration version 2): each entity's own low quantile of its held-out normal scores at the
 * target rate, shrunk toward its group's threshold (itself shrunk toward the global one) with the weight
 * n / (n + prior_n) (src/calibrate/entities.ts, docs/calibrate.md "Per-entity thresholds").
 */
export const perEntitySchema = z.object({
  /** The rate each entity's threshold aims at (the global rule's false-positive rate). */
  target_fpr: z.number().gt(0).max(1),
  /** The prior's weight in records: an entity with n records gets weight n / (n + prior_n) on its own quantile. */
  prior_n: z.number().positive(),
  /** Records needed to measure the quantile at target_fpr at all (3 / target_fpr, the rule of three). */
  min_n: z.number().int().positive(),
  /** What a held-out record is, for messages ("pairs", "windows"). */
  unit: z.string().optional(),
  /** Probabilities of the stored per-entity quantiles. */
  quantile_probs: z.array(z.number().min(0).max(1)).min(2).optional(),
  groups: z.record(z.string(), entityThresholdSchema.omit({ group: true })),
  entities: z.record(z.string(), entityThresholdSchema),
});

/** Whether the held-out set supports the requested false-positive rate (calibration version 2). */
export const supportSchema = z.object({
  /** Held-out normal records used. */
  n_normal: z.number().int().nonnegative(),
  /** Records needed to resolve the target rate (3 / rate); 0 when the rule names no rate. */
  needed_n: z.number().int().nonnegative(),
  sufficient: z.boolean(),
  /** Clopper-Pearson 95% interval of the threshold's false-positive rate on the held-out set. */
  fpr_interval: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).optional(),
  /** One sentence for people. */
  note: z.string(),
});

export type PerEntityCalibration = z.infer<typeof perEntitySchema>;
export type CalibrationSupport = z.infer<typeof supportSchema>;

export const calibrationSchema = z.object({
  version: z.union([z.literal(1), z.literal(CALIBRATION_VERSION)]),
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
  /** Per-entity thresholds (version 2); absent: every entity uses `threshold`. */
  per_entity: perEntitySchema.optional(),
  /** Whether the held-out set was large enough for the rule (version 2); absent in version 1. */
  support: supportSchema.optional(),
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

// ---- per-entity thresholds and honest confidence (calibration version 2) --------------------------------------

/** Where the threshold applied to a record came from. */
export type ThresholdSource = 'entity' | 'group' | 'global';

/** The threshold a record of an entity is judged by, and why. */
export interface ThresholdChoice {
  /** Native units, in the calibration's direction. */
  threshold: number;
  source: ThresholdSource;
  /** Held-out normal records behind it (the entity's, its group's or the whole set's). */
  n: number;
  group?: string;
  /** "below db-1's threshold 1.75 (its own 0.1% quantile 4.01 over 5,102 held-out pairs, ...); the global threshold is -2.09" */
  text: string;
}

/**
 * Training records an entity needs before its findings may be High or Critical: with fewer, its model of "normal"
 * rests on a handful of events (docs/calibrate.md "Honest confidence").
 */
export const MIN_ENTITY_TRAINING_RECORDS = 20;
/** A quantile at rate q needs about 3/q held-out records to be measured at all (rule of three). */
export const RULE_OF_THREE = 3;
/**
 * A pair seen in training is evidence of normality: its p-value is never below this, whatever the model scored (an
 * ordinary 5% tail event: alone it cannot make an incident).
 */
export const SEEN_PAIR_MIN_P_VALUE = 0.05;

/** Held-out records needed to resolve a false-positive rate (3 / rate, rounded up); 0 for no rate. */
export function neededRecords(rate: number): number {
  return rate > 0 ? Math.ceil(RULE_OF_THREE / rate - 1e-9) : 0;
}

/** The rate a calibration's thresholds aim at: the rule's max_fpr, else the measured FPR of its threshold. */
export function targetRateOf(cal: Calibration): number | undefined {
  if (cal.per_entity) return cal.per_entity.target_fpr;
  if (cal.rule.kind === 'max_fpr') return cal.rule.max_fpr;
  return typeof cal.fpr === 'number' && cal.fpr > 0 ? cal.fpr : undefined;
}

/**
 * Whether the calibration's held-out set supports its rate: the stored `support` (version 2), else (version 1)
 * judged now with the same rule (n_normal >= 3 / rate).
 */
export function supportOf(cal: Calibration): CalibrationSupport {
  if (cal.support) return cal.support;
  const rate = targetRateOf(cal);
  const needed = rate !== undefined ? neededRecords(rate) : 0;
  const sufficient = cal.n_normal >= needed;
  return {
    n_normal: cal.n_normal,
    needed_n: needed,
    sufficient,
    note: sufficient ? `${cal.n_normal} held-out records` : `${cal.n_normal} held-out records cannot resolve a false-positive rate of ${fmtRate(rate ?? 0)} (needs ${needed})`,
  };
}

/** 0.001 -> "0.1%", 0.01 -> "1%", 0.05 -> "5%". */
export function fmtRate(r: number): string {
  const pct = r * 100;
  return `${Number(pct.toPrecision(3))}%`;
}

function fmtScore(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const s = a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

const count = (n: number): string => n.toLocaleString('en-US');

function entryOf<T>(rec: Record<string, T> | undefined, key: string | undefined): T | undefined {
  return rec && key !== undefined && Object.hasOwn(rec, key) ? rec[key] : undefined;
}

/**
 * The threshold a record of `entity` is judged by: the entity's own (shrunk) threshold when the calibration has
 * one; else its group's (the stored group of the entity, else `group` when the caller knows it: a feature record's
 * group); else the global threshold. Cheap (no text): for hot loops; thresholdFor adds the reason.
 */
export function thresholdValue(cal: Calibration, entity: string, group?: string): Omit<ThresholdChoice, 'text'> {
  const pe = cal.per_entity;
  const e = entryOf(pe?.entities, entity);
  if (e) return { threshold: e.threshold, source: 'entity', n: e.n, ...(e.group !== undefined ? { group: e.group } : {}) };
  const g = entryOf(pe?.groups, group);
  if (g) return { threshold: g.threshold, source: 'group', n: g.n, group: group! };
  return { threshold: cal.threshold, source: 'global', n: cal.n_normal };
}

/** thresholdValue with its reason, e.g. "below db-1's threshold 1.75 (its own 0.1% quantile 4.01 over 5,102 held-out pairs, ...)". */
export function thresholdFor(cal: Calibration, entity: string, group?: string): ThresholdChoice {
  const v = thresholdValue(cal, entity, group);
  return { ...v, text: thresholdText(cal, entity, v) };
}

/** The reason of a threshold choice (see thresholdFor). */
export function thresholdText(cal: Calibration, entity: string, v: Omit<ThresholdChoice, 'text'>): string {
  const side = cal.direction === 'higher_is_anomalous' ? 'above' : 'below';
  const pe = cal.per_entity;
  const unit = pe ? `held-out ${pe.unit ?? 'records'}` : 'held-out records';
  const glob = `the global threshold is ${fmtScore(cal.threshold)}`;
  if (!pe || v.source === 'global') {
    return `${side} the global threshold ${fmtScore(cal.threshold)} (${count(cal.n_normal)} ${unit}${pe ? `; ${entity} had none of its own` : ''})`;
  }
  const rate = fmtRate(pe.target_fpr);
  if (v.source === 'group') {
    return `${side} the threshold ${fmtScore(v.threshold)} of ${entity}'s group ${v.group} (${count(v.n)} ${unit}; ${entity} had none of its own); ${glob}`;
  }
  const e = pe.entities[entity]!;
  const parentGroup = e.group !== undefined ? entryOf(pe.groups, e.group) : undefined;
  const parent = parentGroup ? `its group ${e.group}'s ${fmtScore(parentGroup.threshold)}` : `the global ${fmtScore(cal.threshold)}`;
  const w = e.n / (e.n + pe.prior_n);
  const weight = `${Math.round(w * 100)}% weight`;
  if (e.own !== null) {
    return `${side} ${entity}'s threshold ${fmtScore(v.threshold)} (its own ${rate} quantile ${fmtScore(e.own)} over ${count(e.n)} ${unit}, ${weight}, shrunk toward ${parent}); ${glob}`;
  }
  return `${side} ${entity}'s threshold ${fmtScore(v.threshold)} (${count(e.n)} ${unit}, too few to measure its own ${rate} quantile (${count(pe.min_n)} needed): ${weight} on them, the rest ${parent}); ${glob}`;
}

/** A quantile function from ascending values at ascending probabilities (linear between them). */
function quantileAt(u: number, values: readonly number[], probs: readonly number[] | undefined): number {
  const k = values.length;
  const p = (i: number): number => (probs ? probs[i]! : i / (k - 1));
  if (u <= p(0)) return values[0]!;
  if (u >= p(k - 1)) return values[k - 1]!;
  let lo = 0;
  let hi = k - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (p(mid) <= u) lo = mid;
    else hi = mid;
  }
  const span = p(hi) - p(lo);
  return span > 0 ? values[lo]! + ((u - p(lo)) / span) * (values[hi]! - values[lo]!) : values[lo]!;
}

/**
 * The probability, under the entity's normal traffic, of a score at least this anomalous. The entity's distribution
 * is its own held-out scores' quantile function averaged with its parent's (group, else global) with the weight the
 * thresholds use, w = n / (n + prior_n):
 *
 *   Q_e(u) = w · Q_own(u) + (1 − w) · Q_parent(u)      (the entity's threshold is Q_e(target_fpr))
 *   p      = the u where Q_e(u) reaches the score (oriented: lower = more anomalous), at least 1 / (n + prior_n + 1)
 *
 * so a record beyond its entity's threshold has a p-value at or below the target rate, and a sample never claims an
 * event rarer than it can measure (the global distribution: 1 / (N + 1)). Entities and groups without stored
 * quantiles use their parent's; a version-1 calibration gives the global p-value.
 */
/** The share of the quantile function the exponential tail is fitted to (TAIL_U -> its quantile, floor -> q(0)). */
export const TAIL_U = 0.1;
/** A score beyond every held-out record is at most this many times rarer than the floor (the rarest the set can show). */
export const TAIL_MAX_FACTOR = 2;

/**
 * A score beyond every held-out record: the floor, lowered toward floor / TAIL_MAX_FACTOR by how far beyond the sample
 * it is, on an exponential tail through two points of the oriented quantile function, (q(TAIL_U), TAIL_U) and
 * (q(0), floor), with β = (q(TAIL_U) − q(0)) / ln(TAIL_U / floor) (peaks over threshold with an exponential excess,
 * as SPOT does): p = floor · (1/F + (1 − 1/F) · exp(−(q(0) − x) / β)). So a record far past anything seen ranks ahead
 * of one just past it, but neither claims an event much rarer than the held-out set can measure: extrapolated
 * further, the tail made web servers' occasional far-away clients look like 1-in-100,000 events, and a broad entity
 * alerted every day. A degenerate tail (no spread) keeps the floor.
 */
function tailP(x: number, q: (u: number) => number, floor: number): number {
  const q0 = q(0);
  const qt = q(TAIL_U);
  if (!(floor < TAIL_U) || !(qt > q0)) return floor;
  const beta = (qt - q0) / Math.log(TAIL_U / floor);
  const keep = 1 / TAIL_MAX_FACTOR;
  return floor * (keep + (1 - keep) * Math.exp(-(q0 - x) / beta));
}

export function pValueOf(native: number, cal: Calibration, entity: string, group?: string): number {
  if (Number.isNaN(native)) return Number.NaN;
  const higher = cal.direction === 'higher_is_anomalous';
  const x = higher ? -native : native;
  // Oriented (lower = more anomalous) quantile functions.
  const orient = (values: readonly number[], probs: readonly number[] | undefined): ((u: number) => number) => {
    if (!higher) return (u) => quantileAt(u, values, probs);
    const v = values.map((y) => -y).reverse();
    const pr = probs ? probs.map((q) => 1 - q).reverse() : undefined;
    return (u) => quantileAt(u, v, pr);
  };
  const N = cal.n_normal;
  let q: (u: number) => number = orient(cal.normal_quantiles, undefined);
  let floor = 1 / (N + 1);
  const pe = cal.per_entity;
  if (pe) {
    const probs = pe.quantile_probs;
    const mix = (node: { n: number; quantiles?: number[] | undefined } | undefined): void => {
      if (!node || !node.quantiles || !probs || node.quantiles.length !== probs.length || node.n === 0) return;
      const own = orient(node.quantiles, probs);
      const parent = q;
      const w = node.n / (node.n + pe.prior_n);
      q = (u) => w * own(u) + (1 - w) * parent(u);
      // Not rarer than the records behind it: the entity's own plus the prior's weight, and never rarer than the whole
      // held-out set can show (the prior is that set: it is not worth more records than it has).
      floor = Math.max(1 / (N + 1), 1 / (node.n + pe.prior_n + 1));
    };
    const e = entryOf(pe.entities, entity);
    mix(entryOf(pe.groups, e ? e.group : group));
    mix(e);
  }
  if (x < q(0)) return tailP(x, q, floor);
  if (x >= q(1)) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (q(mid) <= x) lo = mid;
    else hi = mid;
  }
  return Math.max(floor, lo);
}

/**
 * The threshold of a pair seen in training: the global one when the entity's own is stricter. Per-entity thresholds
 * make a narrow entity sensitive to addresses it never used; an address it used in training is not one of those, so
 * it is flagged only when even the global threshold would flag it (and then at most Low: build.ts).
 */
export function seenThreshold(cal: Calibration, entity: string, group?: string): ThresholdChoice {
  const own = thresholdValue(cal, entity, group);
  const dir = cal.direction ?? 'lower_is_anomalous';
  const stricter = anomalyScoreOf(own.threshold, dir) < anomalyScoreOf(cal.threshold, dir);
  if (own.source === 'global' || !stricter) return { ...own, text: thresholdText(cal, entity, own) };
  const g = { threshold: cal.threshold, source: 'global' as const, n: cal.n_normal };
  return { ...g, text: `${thresholdText(cal, entity, g)}; a pair seen in training is judged by the global threshold, not ${entity}'s stricter ${fmtScore(own.threshold)}` };
}

/** annotateEntity's result. */
export interface EntityAnnotation {
  /** The global percentile (share of all held-out normal records less anomalous), as annotateScore gives. */
  anomaly_percentile: number;
  /** Beyond the entity's threshold (thresholdFor). */
  is_anomaly: boolean;
  /** See pValueOf. */
  p_value: number;
  threshold: ThresholdChoice;
}

/**
 * The calibrated view of one native score of `entity` with per-entity thresholds: the global percentile, the
 * decision against the entity's threshold, its p-value and the threshold's reason. `seen` (the pair was in the
 * model's training data): judged by the global threshold when the entity's is stricter (seenThreshold), the
 * percentile is capped below every normal record (1 - 1/(n + 1)) and the p-value is at least SEEN_PAIR_MIN_P_VALUE:
 * such a pair is never reported as more unusual than all normal traffic.
 */
/**
 * A record's p-value as the p-value of its entity's hour: the probability that at least one of the entity's `perHour`
 * records of an hour is this rare (Šidák, 1 - (1 - p)^m). Unchanged without a rate or at most one record an hour.
 */
export function perHourP(p: number, perHour: number | undefined): number {
  if (perHour === undefined || !(perHour > 1) || !(p > 0)) return p;
  return Math.min(1, -Math.expm1(perHour * Math.log1p(-Math.min(p, 1 - 1e-16))));
}

export function annotateEntity(native: number, cal: Calibration, entity: string, opts: { group?: string; seen?: boolean } = {}): EntityAnnotation {
  const base = annotateScore(native, cal);
  const t = opts.seen ? seenThreshold(cal, entity, opts.group) : thresholdFor(cal, entity, opts.group);
  let percentile = base.anomaly_percentile;
  let p = perHourP(pValueOf(native, cal, entity, opts.group), cal.per_entity?.entities[entity]?.per_hour);
  if (opts.seen) {
    percentile = Math.min(percentile, 1 - 1 / (cal.n_normal + 1));
    p = Math.max(p, SEEN_PAIR_MIN_P_VALUE);
  }
  return { anomaly_percentile: percentile, is_anomaly: beyondThreshold(native, t.threshold, cal.direction), p_value: p, threshold: t };
}

/** Whether a calibration (and so every finding it judges) has low support: its held-out set is too small for its rate. */
export function calibrationLowSupport(cal: Calibration | undefined): boolean {
  return cal !== undefined && !supportOf(cal).sufficient;
}

/**
 * Verbose predictions of a pairs model (its `predict`, which applies the global threshold) re-judged against each
 * record's entity threshold: `is_anomaly` (present only on calibrated verbose predictions) follows thresholdFor.
 * A calibration without per-entity thresholds leaves them as they are. Changes `results` in place.
 */
export function applyEntityThresholds(results: Record<string, unknown>[], records: readonly { entity: string }[], cal: Calibration | undefined, scoreName: string): void {
  if (!cal?.per_entity) return;
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const native = r[scoreName];
    if (typeof r.is_anomaly !== 'boolean' || typeof native !== 'number') continue;
    r.is_anomaly = beyondThreshold(native, thresholdValue(cal, records[i]!.entity).threshold, cal.direction);
  }
}

/** How well a training set supports per-entity judgements (`seclake train` says it; findings use the same rule). */
export interface TrainingSupport {
  entities: number;
  /** Entities with fewer than MIN_ENTITY_TRAINING_RECORDS training records: their findings are capped at Medium. */
  thin_entities: number;
  min_records_per_entity: number;
  median_records_per_entity: number;
  /** No entity is thin. */
  sufficient: boolean;
  note: string;
}

/** The training support of a set of records, given each record's entity key (any stable id: name or fingerprint). */
export function trainingSupport(entityKeys: Iterable<string | number>): TrainingSupport {
  const counts = new Map<string | number, number>();
  for (const k of entityKeys) counts.set(k, (counts.get(k) ?? 0) + 1);
  const c = [...counts.values()].sort((a, b) => a - b);
  const thin = c.filter((x) => x < MIN_ENTITY_TRAINING_RECORDS).length;
  const min = c[0] ?? 0;
  const median = c.length ? c[(c.length - 1) >> 1]! : 0;
  const note =
    thin === 0
      ? `every entity has at least ${MIN_ENTITY_TRAINING_RECORDS} training records (fewest ${min}, median ${median})`
      : `${thin} of ${c.length} entities have fewer than ${MIN_ENTITY_TRAINING_RECORDS} training records (fewest ${min}, median ${median}): ` +
        'too little to know their normal addresses; findings about them are capped at Medium severity (low support)';
  return { entities: c.length, thin_entities: thin, min_records_per_entity: min, median_records_per_entity: median, sufficient: thin === 0, note };
}
