/**
 * Which scored records become findings, and deduplication.
 *
 * - Known entities: a record is an anomaly when `is_anomaly` (calibrated model), or, when the model is uncalibrated,
 *   when its native score is beyond the threshold in the detector's direction (`model.threshold` if set, else
 *   `uncalibratedThreshold`, else the detector's default: 0 for IP Insights' dot_product).
 * - Unknown entities never produce anomaly findings (they are scored with the population vector): they produce a
 *   low-severity "new entity" finding, at most one per entity (`newEntity: 'once'`, the default), one per
 *   (entity, IP) and window (`'always'`), or none (`'never'`).
 * - Identical findings (same kind, entity and IP; for `'once'` new-entity findings: same entity) within `windowMs` of
 *   event time after the first one are deduplicated: within one `process()` call (one source object) they become one
 *   finding with `count` and `last_seen_time`; in later calls they are suppressed and only counted in the state
 *   (`duplicates`). The window is a tumbling one from the first occurrence, so a pair that keeps appearing produces
 *   one finding per window.
 * - Re-processing a batch the state has already seen (same source object and row as a remembered first occurrence)
 *   emits the same finding again, so a monitor that crashed after writing findings but before its checkpoint
 *   rewrites identical findings rather than losing them.
 *
 * State is plain JSON (`toJSON()` / `FindingPolicy.fromJSON()`), bounded: dedup entries older than the window (by
 * the highest event time seen) are evicted, and both maps are capped (oldest first). Deterministic: the same state
 * and the same input order give the same findings.
 */
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { buildFinding, DEFAULT_UNCALIBRATED_THRESHOLD, type FindingKind } from './build.js';
import { beyondThreshold } from '../detectors/calibration.js';
import type { Explanation as DetectorExplanation, PairRecord } from '../detectors/types.js';
import type { DetectionFinding, EntityHistory, ModelRef, ScoredRecord } from './types.js';

export type NewEntityMode = 'once' | 'always' | 'never';

export interface FindingPolicyOptions {
  /** New-entity findings: 'once' per entity (default), 'always' (per entity, IP and window) or 'never'. */
  newEntity?: NewEntityMode;
  /** Dedup window in ms of event time (default 1 h). */
  windowMs?: number;
  /** Threshold on the native score when the model is uncalibrated (default: the detector's; IP Insights 0). */
  uncalibratedThreshold?: number;
  /** Most dedup entries kept (default 100,000); the oldest are evicted first. */
  maxEntries?: number;
  /** Most entities remembered for newEntity 'once' (default 100,000); the oldest are forgotten first. */
  maxNewEntities?: number;
}

export const DEFAULT_WINDOW_MS = 3_600_000;
export const DEFAULT_MAX_ENTRIES = 100_000;

export const findingPolicyOptionsSchema = z
  .object({
    newEntity: z.enum(['once', 'always', 'never']).default('once'),
    windowMs: z.number().int().nonnegative().default(DEFAULT_WINDOW_MS),
    uncalibratedThreshold: z.number().finite().optional(),
    maxEntries: z.number().int().positive().default(DEFAULT_MAX_ENTRIES),
    maxNewEntities: z.number().int().positive().default(DEFAULT_MAX_ENTRIES),
  })
  .strict();

export type ResolvedPolicyOptions = z.infer<typeof findingPolicyOptionsSchema>;

export interface PolicyContext {
  model: ModelRef;
  history?: EntityHistory;
  /** The detector's explanation of a record (its reason clause and facts). */
  explain?: (record: PairRecord, native: number) => DetectorExplanation;
  /** Passed to buildFinding (metadata.processed_time); omit for byte-stable findings. */
  now?: number;
}

/** A FindingPolicy's state at one moment (FindingPolicy.snapshot / restore); opaque. */
export interface PolicySnapshot {
  readonly entries: Map<string, Entry>;
  readonly newEntities: Map<string, NewEntityEntry>;
  readonly model: string | null;
  readonly watermark: number | null;
  readonly counters: PolicyStats;
}

/** Records of a batch that qualify for no finding, summarised (see FindingPolicy.process). */
export interface UnflaggedRecords {
  records: number;
  /** Highest event time among them (ms), or -Infinity. */
  maxTime: number;
}

export interface PolicyStats {
  /** Records seen. */
  records: number;
  /** Records of known entities below the threshold. */
  anomalies: number;
  /** Records of unknown entities (whatever the newEntity mode). */
  new_entity_records: number;
  /** Findings emitted. */
  findings: number;
  /** Records folded into a finding of the same batch (its count) or suppressed as a repeat within the window. */
  duplicates: number;
  /** Records of unknown entities suppressed because the entity already had its 'once' finding. */
  new_entity_suppressed: number;
}

interface Entry {
  /** Event time of the first occurrence. */
  first: number;
  last: number;
  count: number;
  object: string;
  row: number;
}

interface NewEntityEntry {
  time: number;
  object: string;
  row: number;
}

const entrySchema = z.object({ first: z.number(), last: z.number(), count: z.number().int(), object: z.string(), row: z.number().int() }).strict();
const stateSchema = z
  .object({
    version: z.literal(1),
    model: z.string().nullable(),
    watermark: z.number().nullable(),
    entries: z.array(z.tuple([z.string(), entrySchema])),
    new_entities: z.array(z.tuple([z.string(), z.object({ time: z.number(), object: z.string(), row: z.number().int() }).strict()])),
    stats: z
      .object({
        records: z.number(),
        anomalies: z.number(),
        new_entity_records: z.number(),
        findings: z.number(),
        duplicates: z.number(),
        new_entity_suppressed: z.number(),
      })
      .strict(),
  })
  .strict();

/** The serialized state (plain JSON). */
export type FindingPolicyState = z.infer<typeof stateSchema>;

function emptyStats(): PolicyStats {
  return { records: 0, anomalies: 0, new_entity_records: 0, findings: 0, duplicates: 0, new_entity_suppressed: 0 };
}

interface Group {
  rec: ScoredRecord;
  kind: FindingKind;
  count: number;
  last: number;
}

export class FindingPolicy {
  readonly options: ResolvedPolicyOptions;
  private entries = new Map<string, Entry>();
  private newEntities = new Map<string, NewEntityEntry>();
  private model: string | null = null;
  private watermark: number | null = null;
  private readonly counters: PolicyStats = emptyStats();
  /** The maps are shared with a snapshot: copy them before the next change (copy on write). */
  private shared = false;

  constructor(opts: FindingPolicyOptions = {}) {
    const parsed = findingPolicyOptionsSchema.safeParse(opts);
    if (!parsed.success) {
      const issues = parsed.error.issues;
      throw new ConfigError(
        `invalid finding policy: ${issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ')}`,
        issues.map((i) => i.path.join('.')),
      );
    }
    this.options = parsed.data;
  }

  get stats(): Readonly<PolicyStats> {
    return { ...this.counters };
  }

  /** Dedup entries and remembered new entities currently held (for tests and metrics). */
  get size(): { entries: number; newEntities: number } {
    return { entries: this.entries.size, newEntities: this.newEntities.size };
  }

  /** The finding kind a record qualifies for (before deduplication), or null. Does not change state. */
  classify(rec: ScoredRecord, model: ModelRef): FindingKind | null {
    return this.kindOf(rec.entity_known, rec.native_score, rec.is_anomaly, model);
  }

  /** The threshold a model's findings use: its calibrated one, else this policy's, else the detector's default. */
  thresholdOf(model: ModelRef): number {
    if (typeof model.threshold === 'number') return model.threshold;
    return this.options.uncalibratedThreshold ?? model.detector.score.default_threshold ?? DEFAULT_UNCALIBRATED_THRESHOLD;
  }

  /** `classify` from the score alone, before a ScoredRecord exists (the monitor's hot loop). Does not change state. */
  kindOf(entityKnown: boolean, native: number, isAnomaly: boolean | undefined, model: ModelRef): FindingKind | null {
    if (!entityKnown) return this.options.newEntity === 'never' ? null : 'new_entity';
    const anomalous = typeof isAnomaly === 'boolean' ? isAnomaly : beyondThreshold(native, this.thresholdOf(model), model.detector.score.direction);
    return anomalous ? 'anomaly' : null;
  }

  private keyOf(kind: FindingKind, rec: ScoredRecord): string {
    return kind === 'new_entity' && this.options.newEntity === 'once' ? JSON.stringify([kind, rec.entity]) : JSON.stringify([kind, rec.entity, rec.ip]);
  }

  /**
   * Decide for a batch of records (normally one source object, in row order) and build its findings, in order of
   * first occurrence. Updates the state. `unflagged` accounts for records of the batch that the caller already knows
   * qualify for no finding (`kindOf` is null) and did not pass in: they count as records and move the watermark.
   */
  process(records: readonly ScoredRecord[], ctx: PolicyContext, unflagged?: UnflaggedRecords): DetectionFinding[] {
    const modelKey = `${ctx.model.name}@${ctx.model.version}`;
    if (this.model !== modelKey) {
      // A different model has a different training set: who is "new" starts over.
      if (this.model !== null) {
        this.own();
        this.newEntities.clear();
      }
      this.model = modelKey;
    }
    const window = this.options.windowMs;
    const groups = new Map<string, Group>();
    const c = this.counters;
    if (unflagged && unflagged.records > 0) {
      c.records += unflagged.records;
      if (Number.isFinite(unflagged.maxTime) && (this.watermark === null || unflagged.maxTime > this.watermark)) this.watermark = unflagged.maxTime;
    }
    for (const rec of records) {
      c.records++;
      if (Number.isFinite(rec.time) && (this.watermark === null || rec.time > this.watermark)) this.watermark = rec.time;
      const kind = this.classify(rec, ctx.model);
      if (!rec.entity_known) c.new_entity_records++;
      else if (kind === 'anomaly') c.anomalies++;
      if (kind === null) continue;
      const key = this.keyOf(kind, rec);
      const g = groups.get(key);
      const entry = this.entries.get(key);
      if (g) {
        g.count++;
        if (rec.time > g.last) g.last = rec.time;
        if (entry) this.bump(key, entry, rec.time);
        c.duplicates++;
        continue;
      }
      const sameRef = (e: { object: string; row: number }): boolean => e.object === rec.ref.object && e.row === rec.ref.row;
      if (entry && !sameRef(entry) && Math.abs(rec.time - entry.first) < window) {
        this.bump(key, entry, rec.time);
        c.duplicates++;
        continue;
      }
      if (kind === 'new_entity' && this.options.newEntity === 'once') {
        const seen = this.newEntities.get(rec.entity);
        if (seen && !sameRef(seen)) {
          c.new_entity_suppressed++;
          continue;
        }
        if (!seen) {
          this.own();
          this.newEntities.set(rec.entity, { time: rec.time, object: rec.ref.object, row: rec.ref.row });
        }
      }
      groups.set(key, { rec, kind, count: 1, last: rec.time });
      this.own();
      this.entries.delete(key); // re-insert: Map order = age order for eviction
      this.entries.set(key, { first: rec.time, last: rec.time, count: 1, object: rec.ref.object, row: rec.ref.row });
    }
    const out: DetectionFinding[] = [];
    for (const g of groups.values()) {
      out.push(
        buildFinding(g.rec, {
          model: ctx.model,
          kind: g.kind,
          count: g.count,
          lastSeen: g.last,
          threshold: this.thresholdOf(ctx.model),
          ...(ctx.history ? { history: ctx.history } : {}),
          ...(ctx.explain ? { explain: ctx.explain } : {}),
          ...(ctx.now !== undefined ? { now: ctx.now } : {}),
        }),
      );
    }
    c.findings += out.length;
    this.evict();
    return out;
  }

  /** One more occurrence of a remembered finding (a new entry object: snapshots share the old one). */
  private bump(key: string, entry: Entry, time: number): void {
    this.own();
    this.entries.set(key, { ...entry, count: entry.count + 1, last: time > entry.last ? time : entry.last });
  }

  /** Drop dedup entries whose window has passed (relative to the highest event time seen) and enforce the caps. */
  private evict(): void {
    const drop: string[] = [];
    if (this.watermark !== null) {
      const cutoff = this.watermark - this.options.windowMs;
      for (const [k, e] of this.entries) if (e.first < cutoff && e.last < cutoff) drop.push(k);
    }
    const overEntries = this.entries.size - drop.length > this.options.maxEntries;
    const overNew = this.newEntities.size > this.options.maxNewEntities;
    if (drop.length === 0 && !overEntries && !overNew) return;
    this.own();
    for (const k of drop) this.entries.delete(k);
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.options.maxEntries) break;
      this.entries.delete(k);
    }
    for (const k of this.newEntities.keys()) {
      if (this.newEntities.size <= this.options.maxNewEntities) break;
      this.newEntities.delete(k);
    }
  }

  /**
   * The state now, to `restore()` later (e.g. when writing an object's findings failed and it will be retried).
   * Cheap: the maps are shared until the next change copies them (entries are never changed in place).
   */
  snapshot(): PolicySnapshot {
    this.shared = true;
    return { entries: this.entries, newEntities: this.newEntities, model: this.model, watermark: this.watermark, counters: { ...this.counters } };
  }

  /** Go back to a snapshot's state (it can be restored again). */
  restore(s: PolicySnapshot): void {
    this.entries = s.entries;
    this.newEntities = s.newEntities;
    this.model = s.model;
    this.watermark = s.watermark;
    Object.assign(this.counters, s.counters);
    this.shared = true;
  }

  private own(): void {
    if (!this.shared) return;
    this.entries = new Map(this.entries);
    this.newEntities = new Map(this.newEntities);
    this.shared = false;
  }

  toJSON(): FindingPolicyState {
    return {
      version: 1,
      model: this.model,
      watermark: this.watermark,
      entries: [...this.entries].map(([k, e]) => [k, { ...e }]),
      new_entities: [...this.newEntities].map(([k, e]) => [k, { ...e }]),
      stats: { ...this.counters },
    };
  }

  /** Restore a policy from `toJSON()` output (options come from configuration, not from the state). */
  static fromJSON(state: unknown, opts: FindingPolicyOptions = {}): FindingPolicy {
    const parsed = stateSchema.safeParse(state);
    if (!parsed.success) {
      const issues = parsed.error.issues;
      throw new ConfigError(
        `invalid finding policy state: ${issues.map((i) => `${i.path.join('.') || '(state)'}: ${i.message}`).join('; ')}`,
        issues.map((i) => i.path.join('.')),
      );
    }
    const s = parsed.data;
    const p = new FindingPolicy(opts);
    p.model = s.model;
    p.watermark = s.watermark;
    for (const [k, e] of s.entries) p.entries.set(k, { ...e });
    for (const [k, e] of s.new_entities) p.newEntities.set(k, { ...e });
    const st = s.stats;
    Object.assign(p.counters, st);
    p.evict();
    return p;
  }
}
