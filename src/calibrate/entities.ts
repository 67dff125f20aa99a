/**
 * Per-entity thresholds and the calibration's support, as pure computations over held-out normal scores (stored with
 * the model as calibration version 2: src/detectors/calibration.ts `per_entity`, `support`).
 *
 * Scores here are ORIENTED: lower = more anomalous (run.ts negates a `higher_is_anomalous` detector's scores, and
 * `nativePerEntity` turns the result back into native units).
 *
 * Per-entity thresholds (docs/calibrate.md "Per-entity thresholds"): for a target rate q (the global rule's FPR),
 *
 *   own_e       = the q-quantile (type 7) of entity e's held-out normal scores (n_e of them);
 *   threshold_e = w_e · own_e + (1 − w_e) · threshold_parent,   w_e = n_e / (n_e + prior_n),
 *
 * where the parent is e's group (when the data gives groups and the group has at least two entities), whose own
 * threshold is shrunk the same way toward the global threshold. The prior's weight `prior_n` defaults to 3 / q, the
 * records a q-quantile needs to be measured at all (rule of three): an entity gets half the weight on its own
 * quantile exactly when it has enough records to measure it, 91% with ten times that, and almost none with a
 * handful. This is the empirical-Bayes (James-Stein) form of shrinkage with a prior worth prior_n records.
 */
import { clopperPearson } from '../core/binomial.js';
import { fmtRate, neededRecords, type CalibrationSupport, type PerEntityCalibration, type ScoreDirection } from '../detectors/calibration.js';

/** Stored quantile probabilities (oriented, ascending): dense in the anomalous tail, where p-values are read. */
export const ENTITY_QUANTILE_PROBS: readonly number[] = [0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1];

/** Type-7 quantile of ascending values at probability p. */
export function quantileOf(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('no values');
  const h = p * (n - 1);
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Shrink an own quantile toward a parent threshold with the weight n / (n + priorN). */
export function shrink(own: number, n: number, parent: number, priorN: number): number {
  if (n <= 0) return parent;
  const w = n / (n + priorN);
  return w * own + (1 - w) * parent;
}

export interface PerEntityInput {
  /** Oriented scores (lower = more anomalous), one per held-out record. */
  scores: ArrayLike<number>;
  entities: readonly string[];
  /** Each record's group (undefined: none). */
  groups?: readonly (string | undefined)[];
  /** Target rate q (the global rule's FPR). */
  targetFpr: number;
  /** The global threshold (oriented). */
  globalThreshold: number;
  /** Prior weight in records (default 3 / q). */
  priorN?: number;
  /** "pairs", "windows" (messages). */
  unit?: string;
  /** Each entity's distinct held-out records per hour (stored as `per_hour`: its p-values are per hour). */
  perHour?: ReadonlyMap<string, number>;
}

const round = (x: number): number => Number(x.toPrecision(7));

/** Per-entity (and per-group) thresholds, oriented (see the module comment). */
export function fitPerEntity(input: PerEntityInput): PerEntityCalibration {
  const q = input.targetFpr;
  if (!(q > 0 && q <= 1)) throw new RangeError(`per-entity thresholds need a target rate in (0, 1], got ${q}`);
  const minN = neededRecords(q);
  const priorN = input.priorN ?? minN;
  if (!(priorN > 0)) throw new RangeError(`prior weight must be positive, got ${priorN}`);
  const byEntity = new Map<string, number[]>();
  const groupOf = new Map<string, string>();
  for (let i = 0; i < input.entities.length; i++) {
    const e = input.entities[i]!;
    let a = byEntity.get(e);
    if (!a) byEntity.set(e, (a = []));
    a.push(input.scores[i]!);
    const g = input.groups?.[i];
    // An entity's group is the first one its records name (the data should give one per entity).
    if (g !== undefined && g !== '' && !groupOf.has(e)) groupOf.set(e, g);
  }
  // Groups of at least two entities (a group of one is the entity itself: shrinking toward it would count its
  // records twice).
  const members = new Map<string, string[]>();
  for (const [e, g] of groupOf) {
    const m = members.get(g);
    if (m) m.push(e);
    else members.set(g, [e]);
  }
  // An entity with m records an hour aims at q / m per record, so that its hours are flagged at about q (perHourP).
  const node = (sorted: Float64Array, parent: number, perHour = 1): { n: number; own: number | null; threshold: number; quantiles: number[] } => {
    const n = sorted.length;
    const ownQ = quantileOf(sorted, q / Math.max(1, perHour));
    return {
      n,
      own: n >= minN ? round(ownQ) : null,
      threshold: shrink(ownQ, n, parent, priorN),
      quantiles: ENTITY_QUANTILE_PROBS.map((p) => round(quantileOf(sorted, p))),
    };
  };
  const sortedOf = (xs: readonly number[]): Float64Array => Float64Array.from(xs).sort();
  const groups: PerEntityCalibration['groups'] = {};
  for (const [g, es] of [...members].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (es.length < 2) continue;
    groups[g] = node(sortedOf(es.flatMap((e) => byEntity.get(e)!)), input.globalThreshold);
  }
  const entities: PerEntityCalibration['entities'] = {};
  for (const e of [...byEntity.keys()].sort()) {
    const g = groupOf.get(e);
    const parent = g !== undefined && Object.hasOwn(groups, g) ? groups[g]!.threshold : input.globalThreshold;
    const ph = input.perHour?.get(e);
    entities[e] = { ...node(sortedOf(byEntity.get(e)!), parent, ph), ...(g !== undefined ? { group: g } : {}), ...(ph !== undefined && ph > 0 ? { per_hour: round(ph) } : {}) };
  }
  return {
    target_fpr: q,
    prior_n: priorN,
    min_n: minN,
    ...(input.unit ? { unit: input.unit } : {}),
    quantile_probs: [...ENTITY_QUANTILE_PROBS],
    groups,
    entities,
  };
}

/** Oriented per-entity thresholds -> native units of a detector with this direction. */
export function nativePerEntity(pe: PerEntityCalibration, direction: ScoreDirection): PerEntityCalibration {
  if (direction === 'lower_is_anomalous') return pe;
  const flip = <T extends { own: number | null; threshold: number; quantiles?: number[] | undefined }>(x: T): T => ({
    ...x,
    own: x.own === null ? null : -x.own,
    threshold: -x.threshold,
    ...(x.quantiles ? { quantiles: x.quantiles.map((v) => -v).reverse() } : {}),
  });
  const groups: PerEntityCalibration['groups'] = {};
  for (const [k, v] of Object.entries(pe.groups)) groups[k] = flip(v);
  const entities: PerEntityCalibration['entities'] = {};
  for (const [k, v] of Object.entries(pe.entities)) entities[k] = flip(v);
  return {
    ...pe,
    ...(pe.quantile_probs ? { quantile_probs: pe.quantile_probs.map((p) => round(1 - p)).reverse() } : {}),
    groups,
    entities,
  };
}

/**
 * Whether `n` held-out normal records support a threshold at `rate`, with `flagged` of them beyond it: sufficient
 * when n >= 3 / rate; the Clopper-Pearson 95% interval of the achieved FPR (flagged / n) either way.
 */
export function supportFor(n: number, flagged: number, rate: number | undefined, unit = 'records'): CalibrationSupport {
  const needed = rate !== undefined ? neededRecords(rate) : 0;
  const sufficient = n >= needed;
  const interval = n > 0 ? clopperPearson(Math.min(flagged, n), n) : undefined;
  const iv = interval ? `${fmtRate(interval[0])}-${fmtRate(interval[1])}` : 'n/a';
  const achieved = `${flagged.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} held-out ${unit} beyond the threshold (FPR ${n > 0 ? fmtRate(flagged / n) : 'n/a'}, 95% interval ${iv})`;
  const note = sufficient
    ? `${achieved}; ${n.toLocaleString('en-US')} ${unit} are enough to resolve ${rate !== undefined ? fmtRate(rate) : 'the threshold'}`
    : `only ${n.toLocaleString('en-US')} held-out ${unit}: a false-positive rate of ${fmtRate(rate!)} needs at least ${needed.toLocaleString('en-US')} (3 / rate) to be measured; ` +
      `${achieved}. Low support: this model's findings are capped at Medium severity`;
  return { n_normal: n, needed_n: needed, sufficient, ...(interval ? { fpr_interval: [round(interval[0]), round(interval[1])] as [number, number] } : {}), note };
}
