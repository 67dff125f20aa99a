/**
 * Detection Findings -> OCSF 1.1.0 Incident Findings (class 2005): the findings of every detector (IP Insights, the
 * prefix history, Random Cut Forest, ...) about one entity at about the same time become one incident, with a
 * combined score, a severity, a timeline and the strongest evidence first. See docs/incidents.md.
 *
 * - Membership: a finding (class 2004, not suppressed: status_id 3 never joins) with an `unmapped.entity` joins the
 *   open incident of that entity whose time span [start, end] it overlaps or comes within `gapMs` of (default 1 h);
 *   if several qualify, the one that ends last (then the smaller uid). Else a finding about an address (its subject)
 *   joins an incident of the entity that already holds that address and ended at most `rejoinMs` before it (default
 *   24 h): the same entity and address again is the same story, told once (a peer that recurs all day is one
 *   incident, not one per sighting). If none, it opens a new incident. A finding already in an incident (same uid)
 *   changes nothing. Incidents are never merged.
 * - Evidence weight: a finding's p-value is `unmapped.p_value` (the calibrated per-entity tail probability), else
 *   `1 - anomaly_percentile` (at least PERCENTILE_P_FLOOR: a percentile says nothing about the sample size behind it),
 *   else 0.5 (uncalibrated: no weight). The incident's p is Fisher's combination (core/stats.ts) of the smallest p of
 *   each model; `score = -log10(p)`.
 * - Severity (`incidentSeverity`): INCIDENT_SEVERITY_BANDS over the combined p and the number of distinct detector
 *   types among the members; Critical needs two detectors; at most Medium when every member has low support.
 * - Closing: an incident no finding has joined takes findings until the watermark (the newest event time of the
 *   source objects processed, `advance()`) passes its end + max(gapMs, rejoinMs) + lateMs (lateMs default 2 h:
 *   behaviour windows are reported after they close); then it leaves the state (its last revision stays in the lake). At most `maxOpen`
 *   incidents are open (the one that ended first closes first), at most `maxMembers` members are kept per incident
 *   (the weakest dropped from the timeline; counts, time span and the per-model strongest stay exact).
 * - Revisions: `add()` returns one revision per incident the findings changed (revision 1 = new), each a complete
 *   Incident Finding; `notify` says whether sinks get it (new, higher severity, or a detector more).
 *
 * Deterministic and restart-safe: the state is plain JSON (`toJSON`/`fromJSON`, kept in the monitor's checkpoint),
 * nothing depends on the wall clock, and the same state plus the same findings give the same revisions, byte for byte.
 */
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { cauchyCombine, fisherCombine } from '../core/stats.js';
import { findDetector } from '../detectors/index.js';
import { seclakeVersion } from '../core/version.js';
import { deriveEvent } from '../ocsf/derive.js';
import { OCSF_VERSION } from '../ocsf/schema.js';
import { validateEvent } from '../ocsf/validate.js';
import { FindingBuildError, MAX_SHOWN, SEVERITY, SEVERITY_NAMES, sha256Hex } from './build.js';
import type { DetectionFinding } from './types.js';

/** An OCSF 1.1.0 Incident Finding (class_uid 2005) as plain JSON that validates against the schema. */
export type IncidentFinding = Record<string, unknown> & {
  class_uid: 2005;
  metadata: { uid: string; correlation_uid: string } & Record<string, unknown>;
  unmapped: IncidentUnmapped;
};

/** A finding of either class seclake writes (what sinks are sent). */
export type AnyFinding = DetectionFinding | IncidentFinding;

/**
 * A sink that takes findings of either class (the sinks of src/sinks/ are). A `Sink` typed for detection findings
 * only is accepted where one is expected (TypeScript compares methods bivariantly): it then receives incidents too.
 */
export interface AnySink {
  readonly name: string;
  send(findings: readonly AnyFinding[]): Promise<void>;
  close(): Promise<void>;
}

export function isIncidentFinding(f: { class_uid: unknown }): f is IncidentFinding {
  return f.class_uid === 2005;
}

/** One entry of an incident's timeline (strongest evidence first). */
export interface TimelineEntry {
  time: number;
  end?: number;
  finding_uid: string;
  model: string;
  detector: string;
  severity: string;
  /** p-value the finding weighs in with. */
  p_value: number;
  summary: string;
}

/** What an Incident Finding carries in `unmapped` (flattened to dotted keys in the lake; arrays as JSON text). */
export interface IncidentUnmapped extends Record<string, unknown> {
  incident_uid: string;
  revision: number;
  entity: string;
  title: string;
  score: number;
  p_value: number;
  low_support: boolean;
  detectors: string[];
  models: string[];
  finding_uids: string[];
  finding_count: number;
  timeline: TimelineEntry[];
  /** The combination: method and the strongest finding of each model. */
  combined: { method: 'cauchy-within-kind+fisher'; per_kind: { kind: EvidenceKind; p_value: number; models: string[] }[]; per_model: { model: string; detector: string; p_value: number; finding_uid: string }[] };
  /** The source object whose findings made this revision (the lake object it is derived from). */
  source_object: string;
  gap_ms: number;
}

export interface IncidentOptions {
  /** Findings of one entity this close in time (or overlapping) form one incident (default 1 h). */
  gapMs?: number;
  /**
   * An incident is raised (written, sent, revision 1) once its combined p is at most this (default 0.01, inside the Low
   * band); until then its findings wait in the state as detections (1 = every finding raises an incident).
   */
  openP?: number;
  /** How long past end + gapMs (by the watermark) an incident still takes findings (default 2 h). */
  lateMs?: number;
  /** A finding about an address an incident of its entity already holds joins it up to this long after its end (default 24 h; 0: off). */
  rejoinMs?: number;
  /** OCSF `assignee_group` (the class needs an assignee or group; default `{ name: 'security' }`). */
  assigneeGroup?: { name?: string; uid?: string };
  /** Most open incidents (default 10,000); the one that ended first closes first. */
  maxOpen?: number;
  /** Most members kept per incident (default 100); the weakest leave the timeline first. */
  maxMembers?: number;
}

export const DEFAULT_INCIDENT_GAP_MS = 3_600_000;
export const DEFAULT_INCIDENT_REJOIN_MS = 24 * 3_600_000;
/** Most distinct subjects (addresses) an incident remembers for rejoining. */
const MAX_SUBJECTS = 256;
/** Combined p at or below which an incident is raised (1 in 100 of the normal findings that reach the models' thresholds would still raise one). */
export const DEFAULT_INCIDENT_OPEN_P = 0.01;

/**
 * What a detector's evidence is about: `address` (the pair detectors, IP Insights and history, judge the same (entity,
 * IP) records: their p-values are dependent) or `behaviour` (a forest over an entity's windows of features).
 * Dependent evidence is combined with the Cauchy combination (valid under any dependence: the same new peer flagged by
 * two pair models is one piece of evidence), independent kinds with Fisher's method (address and behaviour agreeing is
 * stronger than either).
 */
export type EvidenceKind = 'address' | 'behaviour';
/** A detector's kind of evidence from the records it scores (the registry): pairs -> address, features -> behaviour. */
export function evidenceKindOf(detector: string): EvidenceKind {
  return findDetector(detector)?.records === 'features' ? 'behaviour' : 'address';
}
export const DEFAULT_INCIDENT_LATE_MS = 2 * 3_600_000;
/** A p-value from a percentile alone is never below this (the percentile does not say how many normal samples back it). */
export const PERCENTILE_P_FLOOR = 1e-4;
/** p of a finding without calibration: no evidence either way. */
export const UNCALIBRATED_P = 0.5;

/**
 * Severity of an incident: the first band whose `maxP` the combined p is at most and whose `minDetectors` the
 * distinct detector types among its members reach. Then capped at Medium when every member has low support.
 */
export const INCIDENT_SEVERITY_BANDS: readonly { maxP: number; minDetectors: number; severity_id: number }[] = [
  { maxP: 1e-6, minDetectors: 2, severity_id: SEVERITY.CRITICAL },
  { maxP: 1e-4, minDetectors: 1, severity_id: SEVERITY.HIGH },
  { maxP: 1e-3, minDetectors: 1, severity_id: SEVERITY.MEDIUM },
  { maxP: 0.05, minDetectors: 1, severity_id: SEVERITY.LOW },
  { maxP: 1, minDetectors: 0, severity_id: SEVERITY.INFORMATIONAL },
];

export function incidentSeverity(p: number, detectors: number, lowSupport: boolean): number {
  const band = INCIDENT_SEVERITY_BANDS.find((b) => p <= b.maxP && detectors >= b.minDetectors) ?? INCIDENT_SEVERITY_BANDS[INCIDENT_SEVERITY_BANDS.length - 1]!;
  return lowSupport ? Math.min(band.severity_id, SEVERITY.MEDIUM) : band.severity_id;
}

// ---- reading a detection finding --------------------------------------------------------------------------

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** The p-value a detection finding weighs in with (see the module comment). */
export function findingPValue(f: DetectionFinding): number {
  const u = isObj(f.unmapped) ? f.unmapped : {};
  const p = num(u.p_value);
  // A calibrated p of exactly UNCALIBRATED_P (the floor 1/(n+1) of a model calibrated on one held-out pair) is still
  // calibrated evidence (of nothing): the next float below keeps it apart from the marker of uncalibrated findings.
  if (p === UNCALIBRATED_P) return UNCALIBRATED_P - 2 ** -54;
  if (p !== undefined && p > 0 && p <= 1) return p;
  if (p !== undefined && p <= 0) return 1e-300;
  const pct = num(u.anomaly_percentile);
  if (pct !== undefined) return Math.min(1, Math.max(PERCENTILE_P_FLOOR, 1 - pct));
  return UNCALIBRATED_P;
}

/** The finding says its model or calibration is thin (contract A: `unmapped.low_support`). */
export function findingLowSupport(f: DetectionFinding): boolean {
  const u = isObj(f.unmapped) ? f.unmapped : {};
  return u.low_support === true || u.low_support === 'true';
}

/** Short names of the detectors in titles. */
const DETECTOR_SHORT: Record<string, string> = { ipinsights: 'IP Insights', history: 'history', rcf: 'RCF' };

function shown(s: string): string {
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN - 1)}…` : s;
}

/** A member of an incident: what the incident keeps of a detection finding. */
interface Member {
  uid: string;
  title: string;
  time: number;
  end: number;
  model: string;
  model_version: string;
  analytic_uid: string;
  detector: string;
  types: string[];
  severity_id: number;
  p: number;
  low: boolean;
  /** What was observed, for the incident's title: a label ("new peer") and its subject (the address, or ''). */
  label: string;
  subject: string;
  /** The two together ("new peer 10.0.99.42"). */
  phrase: string;
  /** One line for the timeline and message. */
  summary: string;
}

/** The member view of a detection finding, or undefined when it cannot join an incident. */
function memberOf(f: DetectionFinding): (Member & { entity: string; cloud?: Record<string, unknown> }) | undefined {
  if (f.class_uid !== 2004 || Number(f.status_id) === 3) return undefined;
  const u = isObj(f.unmapped) ? f.unmapped : {};
  const entity = typeof u.entity === 'string' && u.entity !== '' ? u.entity : undefined;
  if (!entity) return undefined;
  const fi = f.finding_info;
  const time = num(f.start_time) ?? num(fi.first_seen_time) ?? num(f.time) ?? 0;
  const end = Math.max(time, num(f.end_time) ?? num(fi.last_seen_time) ?? time);
  const m = isObj(u.model) ? u.model : {};
  const analytic = isObj(fi.analytic) ? fi.analytic : {};
  const model = typeof m.name === 'string' ? m.name : typeof analytic.name === 'string' ? analytic.name : 'model';
  const detector = typeof u.detector === 'string' ? u.detector : typeof m.detector === 'string' ? m.detector : 'ipinsights';
  const det = DETECTOR_SHORT[detector] ?? detector;
  const ip = typeof u.ip === 'string' ? u.ip : '';
  const kind = typeof u.kind === 'string' ? u.kind : 'anomaly';
  let label: string;
  let subject = ip ? shown(ip) : '';
  if (kind === 'behaviour') {
    const sets = typeof u.feature_sets === 'string' && u.feature_sets ? u.feature_sets.split(',').join('/') : '';
    label = `unusual ${sets ? `${sets} ` : ''}behaviour`;
    subject = '';
  } else if (kind === 'new_entity') {
    label = subject ? 'first seen with' : 'first seen';
  } else {
    const ex = isObj(u.explanation) ? u.explanation : {};
    const full = ip.includes(':') ? 128 : 32;
    const known = num(ex.nearest_prefix_len) === full;
    const ev = Array.isArray(f.evidences) && isObj(f.evidences[0]) && isObj(f.evidences[0].data) ? f.evidences[0].data : {};
    const cls = num(ev.event_class_uid);
    const source = typeof u.source === 'string' ? u.source : '';
    const signIn = cls === 3002 || (cls === undefined && source.startsWith('CLOUD_TRAIL'));
    if (signIn) label = known ? 'sign-in from' : 'sign-in from new address';
    else if (cls === 4001 || source === 'VPC_FLOW') label = `${known ? 'unusual' : 'new'} peer`;
    else label = `${known ? 'unusual' : 'new'} address`;
  }
  const phrase = subject ? `${label} ${subject}` : label;
  const severity_id = num(f.severity_id) ?? 0;
  const sev = SEVERITY_NAMES[severity_id] ?? String(severity_id);
  const p = findingPValue(f);
  const cloud = isObj(f.cloud) ? f.cloud : undefined;
  return {
    entity,
    uid: fi.uid,
    title: fi.title,
    time,
    end,
    model,
    model_version: typeof m.version === 'string' ? m.version : typeof analytic.version === 'string' ? analytic.version : '',
    analytic_uid: typeof analytic.uid === 'string' ? analytic.uid : `seclake-${detector}/${model}`,
    detector,
    types: Array.isArray(fi.types) ? fi.types.filter((t): t is string => typeof t === 'string') : [],
    severity_id,
    p,
    low: findingLowSupport(f),
    label,
    subject,
    phrase,
    summary: `${sev}: ${phrase} (${det}, ${model}, p ${fmtP(p)})`,
    ...(cloud ? { cloud } : {}),
  };
}

// ---- state --------------------------------------------------------------------------------------------------

const memberSchema = z
  .object({
    uid: z.string(),
    title: z.string(),
    time: z.number(),
    end: z.number(),
    model: z.string(),
    model_version: z.string(),
    analytic_uid: z.string(),
    detector: z.string(),
    types: z.array(z.string()),
    severity_id: z.number().int(),
    p: z.number(),
    low: z.boolean(),
    label: z.string(),
    subject: z.string(),
    phrase: z.string(),
    summary: z.string(),
  })
  .strict();

const incidentSchema = z
  .object({
    uid: z.string(),
    entity: z.string(),
    revision: z.number().int().nonnegative(),
    start: z.number(),
    end: z.number(),
    severity_id: z.number().int(),
    detectors: z.array(z.string()),
    models: z.array(z.string()),
    /** Smallest p per model, and its finding. */
    best: z.array(z.tuple([z.string(), z.object({ p: z.number(), uid: z.string(), detector: z.string() }).strict()])),
    members: z.array(memberSchema),
    /** Every member uid (bounded by maxMembers too: older uids beyond it are forgotten). */
    finding_count: z.number().int(),
    all_low: z.boolean(),
    cloud: z.record(z.string(), z.unknown()).nullable(),
    /** The distinct addresses of its members (at most MAX_SUBJECTS, first ones kept), for rejoining; absent in older states. */
    subjects: z.array(z.string()).optional(),
    /** End of the findings that joined by time (rejoined sightings of an address do not stretch it); absent: end. */
    core_end: z.number().optional(),
  })
  .strict();

const stateSchema = z
  .object({
    version: z.literal(1),
    watermark: z.number().nullable(),
    open: z.array(incidentSchema),
    stats: z.object({ incidents: z.number().int(), revisions: z.number().int(), closed: z.number().int(), joined: z.number().int() }).strict(),
  })
  .strict();

/** The builder's state as plain JSON (the monitor checkpoint keeps it). */
export type IncidentState = z.infer<typeof stateSchema>;
type Incident = z.infer<typeof incidentSchema>;
type MemberState = z.infer<typeof memberSchema>;

/** A revision of an incident: the Incident Finding and whether sinks get it. */
export interface IncidentRevision {
  incident: IncidentFinding;
  /** New incident, higher severity than the last revision, or a detector type more. */
  notify: boolean;
}

const sha = (parts: readonly (string | number)[]): string => sha256Hex(parts).slice(0, 32);

/** Stable incident uid: the entity and the first finding that opened it. */
export function incidentUid(entity: string, firstFindingUid: string): string {
  return sha(['seclake-incident/1', entity, firstFindingUid]);
}

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Strongest evidence first: smaller p, then higher severity, then earlier, then uid. */
function byStrength(a: MemberState, b: MemberState): number {
  return a.p - b.p || b.severity_id - a.severity_id || a.time - b.time || cmpStr(a.uid, b.uid);
}

export class IncidentBuilder {
  readonly gapMs: number;
  readonly lateMs: number;
  readonly rejoinMs: number;
  readonly maxOpen: number;
  readonly maxMembers: number;
  readonly openP: number;
  private readonly assigneeGroup: { name?: string; uid?: string };
  private open = new Map<string, Incident>();
  /** Open incident uids by entity. */
  private byEntity = new Map<string, string[]>();
  private watermark: number | null = null;
  private stats = { incidents: 0, revisions: 0, closed: 0, joined: 0 };
  /** What the last add() changed, to take it back (undoLast): each incident as it was before (null: it was new). */
  private undo: { prior: Map<string, Incident | null>; stats: IncidentState['stats'] } | undefined;

  constructor(opts: IncidentOptions = {}) {
    const check = (v: number | undefined, name: string, def: number, min: number): number => {
      const x = v ?? def;
      if (!Number.isFinite(x) || x < min) throw new ConfigError(`incidents: ${name} must be a number >= ${min}, got ${String(v)}`, [name]);
      return x;
    };
    this.gapMs = check(opts.gapMs, 'gapMs', DEFAULT_INCIDENT_GAP_MS, 0);
    this.lateMs = check(opts.lateMs, 'lateMs', DEFAULT_INCIDENT_LATE_MS, 0);
    this.rejoinMs = check(opts.rejoinMs, 'rejoinMs', DEFAULT_INCIDENT_REJOIN_MS, 0);
    this.openP = check(opts.openP, 'openP', DEFAULT_INCIDENT_OPEN_P, 0);
    if (this.openP > 1) throw new ConfigError(`incidents: openP must be a p-value in [0, 1], got ${this.openP}`, ['openP']);
    this.maxOpen = Math.floor(check(opts.maxOpen, 'maxOpen', 10_000, 1));
    this.maxMembers = Math.floor(check(opts.maxMembers, 'maxMembers', 100, 1));
    const g = opts.assigneeGroup ?? { name: 'security' };
    if (!g.name && !g.uid) throw new ConfigError('incidents: the assignee group needs a name or a uid', ['assigneeGroup']);
    this.assigneeGroup = { ...(g.name ? { name: g.name } : {}), ...(g.uid ? { uid: g.uid } : {}) };
  }

  static fromJSON(state: unknown, opts: IncidentOptions = {}): IncidentBuilder {
    const parsed = stateSchema.safeParse(state);
    if (!parsed.success) {
      throw new ConfigError(`the checkpoint's incident state is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')} (move the checkpoint aside to start over)`, ['checkpoint']);
    }
    const b = new IncidentBuilder(opts);
    b.watermark = parsed.data.watermark;
    b.stats = { ...parsed.data.stats };
    for (const inc of parsed.data.open) b.put(inc);
    return b;
  }

  /** The state (open incidents by uid: the same state gives the same JSON however it was reached). */
  toJSON(): IncidentState {
    const open = [...this.open.values()].sort((a, b) => cmpStr(a.uid, b.uid)).map((i) => structuredClone(i));
    return { version: 1, watermark: this.watermark, open, stats: { ...this.stats } };
  }

  /** Open incidents and counters (tests, metrics). */
  get size(): { open: number } & IncidentState['stats'] {
    return { open: this.open.size, ...this.stats };
  }

  /** A copy of the state to restore after a failed attempt. */
  snapshot(): IncidentState {
    return this.toJSON();
  }

  restore(s: IncidentState): void {
    this.open = new Map();
    this.byEntity = new Map();
    for (const i of s.open) this.put(structuredClone(i));
    this.watermark = s.watermark;
    this.stats = { ...s.stats };
    this.undo = undefined;
  }

  /**
   * Take back the last add() (its revisions could not be written): the incidents it touched, opened or closed are as
   * they were. Cheaper than snapshot/restore: it copies only what add() changed.
   */
  undoLast(): void {
    const u = this.undo;
    if (!u) return;
    for (const [uid, inc] of u.prior) {
      this.remove(uid);
      if (inc) this.put(inc);
    }
    this.stats = { ...u.stats };
    this.undo = undefined;
  }

  /**
   * Add the findings of one source object (any order: they are sorted by time and uid) and return the revisions they
   * caused, by incident uid. `sourceObject` is recorded in each revision (the lake object it derives from).
   */
  add(findings: readonly DetectionFinding[], sourceObject: string): IncidentRevision[] {
    const members = findings
      .map(memberOf)
      .filter((m): m is NonNullable<ReturnType<typeof memberOf>> => m !== undefined)
      .sort((a, b) => a.time - b.time || cmpStr(a.uid, b.uid));
    const touched = new Map<string, { severity: number; detectors: number; isNew: boolean }>();
    const prior = new Map<string, Incident | null>();
    this.undo = { prior, stats: { ...this.stats } };
    for (const m of members) {
      const { entity, cloud, ...member } = m;
      // A finding already in an open incident of its entity changes nothing.
      if (this.isMember(entity, m.uid)) continue;
      const found = this.findOpen(entity, m.time, m.end, m.subject);
      let inc = found?.inc;
      if (!inc) {
        inc = {
          uid: incidentUid(entity, m.uid),
          entity,
          revision: 0,
          start: m.time,
          end: m.end,
          severity_id: 0,
          detectors: [],
          models: [],
          best: [],
          members: [],
          finding_count: 0,
          all_low: true,
          cloud: cloud ? structuredClone(cloud) : null,
        };
        // A restart can meet the same first finding again only from an older state: the uid is the same, so is the incident.
        this.put(inc);
        prior.set(inc.uid, null);
      } else if (!prior.has(inc.uid)) prior.set(inc.uid, structuredClone(inc));
      if (!touched.has(inc.uid)) touched.set(inc.uid, { severity: inc.severity_id, detectors: inc.detectors.length, isNew: inc.revision === 0 });
      this.join(inc, member, cloud, found?.rejoin === true);
    }
    const out: IncidentRevision[] = [];
    for (const uid of [...touched.keys()].sort()) {
      const inc = this.open.get(uid)!;
      const before = touched.get(uid)!;
      const { p, perKind } = this.combined(inc);
      // Not raised yet: its calibrated evidence is below the bar (the findings stay detections and wait here for
      // more). Without any calibrated evidence (uncalibrated models only) the bar cannot judge: raised, Informational.
      if (inc.revision === 0 && perKind.length > 0 && p > this.openP) continue;
      if (inc.revision === 0) this.stats.incidents++;
      inc.revision++;
      inc.severity_id = incidentSeverity(p, inc.detectors.length, inc.all_low);
      this.stats.revisions++;
      out.push({
        incident: this.build(inc, sourceObject),
        notify: before.isNew || inc.severity_id > before.severity || inc.detectors.length > before.detectors,
      });
    }
    this.closeFull(prior);
    return out;
  }

  /** Move the watermark (newest event time seen) on and close the incidents it has passed (see the module comment). */
  advance(watermark: number): void {
    this.undo = undefined;
    if (!Number.isFinite(watermark)) return;
    if (this.watermark !== null && watermark <= this.watermark) return;
    this.watermark = watermark;
    for (const [uid, inc] of this.open) {
      if (inc.end + Math.max(this.gapMs, this.rejoinMs) + this.lateMs < watermark) {
        this.remove(uid);
        this.stats.closed++;
      }
    }
  }

  private put(inc: Incident): void {
    this.open.set(inc.uid, inc);
    const list = this.byEntity.get(inc.entity);
    if (list) list.push(inc.uid);
    else this.byEntity.set(inc.entity, [inc.uid]);
  }

  private remove(uid: string): void {
    const inc = this.open.get(uid);
    if (!inc) return;
    this.open.delete(uid);
    const list = (this.byEntity.get(inc.entity) ?? []).filter((u) => u !== uid);
    if (list.length > 0) this.byEntity.set(inc.entity, list);
    else this.byEntity.delete(inc.entity);
  }

  private openOf(entity: string): Incident[] {
    return (this.byEntity.get(entity) ?? []).map((u) => this.open.get(u)!);
  }

  private isMember(entity: string, uid: string): boolean {
    return this.openOf(entity).some((inc) => inc.members.some((x) => x.uid === uid));
  }

  /**
   * The incident a finding joins: by time (within gapMs of the findings that joined by time), else by its address (an
   * incident of the entity holding it that ended at most rejoinMs before). A rejoined sighting does not stretch the
   * span other findings join by, so a peer that recurs all day does not draw the entity's unrelated findings in.
   */
  private findOpen(entity: string, start: number, end: number, subject: string): { inc: Incident; rejoin: boolean } | undefined {
    let best: Incident | undefined;
    let again: Incident | undefined;
    const later = (a: Incident, b: Incident | undefined): boolean => !b || a.end > b.end || (a.end === b.end && a.uid < b.uid);
    for (const inc of this.openOf(entity)) {
      if (!(start > (inc.core_end ?? inc.end) + this.gapMs || end < inc.start - this.gapMs)) {
        if (later(inc, best)) best = inc;
      } else if (subject !== '' && start >= inc.start && start <= inc.end + this.rejoinMs && inc.subjects?.includes(subject)) {
        if (later(inc, again)) again = inc;
      }
    }
    if (best) return { inc: best, rejoin: false };
    return again ? { inc: again, rejoin: true } : undefined;
  }

  private join(inc: Incident, m: MemberState, cloud: Record<string, unknown> | undefined, rejoin: boolean): void {
    this.stats.joined++;
    inc.start = Math.min(inc.start, m.time);
    // core_end: only findings that joined by time stretch it (absent while it equals end).
    const core = rejoin ? (inc.core_end ?? inc.end) : Math.max(inc.core_end ?? inc.end, m.end);
    inc.end = Math.max(inc.end, m.end);
    if (core === inc.end) delete inc.core_end;
    else inc.core_end = core;
    inc.finding_count++;
    inc.all_low = inc.all_low && m.low;
    if (!inc.detectors.includes(m.detector)) inc.detectors = [...inc.detectors, m.detector].sort();
    if (!inc.models.includes(m.model)) inc.models = [...inc.models, m.model].sort();
    if (m.subject !== '' && !(inc.subjects ?? []).includes(m.subject) && (inc.subjects?.length ?? 0) < MAX_SUBJECTS) inc.subjects = [...(inc.subjects ?? []), m.subject];
    const best = inc.best.find(([k]) => k === m.model);
    if (!best) inc.best = [...inc.best, [m.model, { p: m.p, uid: m.uid, detector: m.detector }] as [string, { p: number; uid: string; detector: string }]].sort((a, b) => cmpStr(a[0], b[0]));
    else if (m.p < best[1].p || (m.p === best[1].p && m.uid < best[1].uid)) best[1] = { p: m.p, uid: m.uid, detector: m.detector };
    // The cloud of the incident: the members' when they all share one, else none.
    if (inc.cloud && (!cloud || JSON.stringify(cloud) !== JSON.stringify(inc.cloud))) inc.cloud = null;
    inc.members.push(m);
    inc.members.sort(byStrength);
    if (inc.members.length > this.maxMembers) {
      // Keep the strongest of each model and then the strongest overall.
      const keep = new Set(inc.best.map(([, b]) => b.uid));
      const kept: MemberState[] = [];
      for (const x of inc.members) if (keep.has(x.uid)) kept.push(x);
      for (const x of inc.members) if (kept.length < this.maxMembers && !keep.has(x.uid)) kept.push(x);
      inc.members = kept.sort(byStrength);
    }
  }

  private closeFull(prior: Map<string, Incident | null>): void {
    if (this.open.size <= this.maxOpen) return;
    const byEnd = [...this.open.values()].sort((a, b) => a.end - b.end || cmpStr(a.uid, b.uid));
    for (const inc of byEnd.slice(0, this.open.size - this.maxOpen)) {
      // Not changed after this: undoLast puts this very object back.
      if (!prior.has(inc.uid)) prior.set(inc.uid, inc);
      this.remove(inc.uid);
      this.stats.closed++;
    }
  }

  /**
   * The strongest finding of each model that carries evidence (a model whose best p is the uncalibrated 0.5 says
   * nothing either way; it still counts as a detector), combined per evidence kind with the Cauchy combination (the
   * models of one kind judge the same records), then across kinds with Fisher's method (independent evidence).
   */
  private combined(inc: Incident): { p: number; perModel: IncidentUnmapped['combined']['per_model']; perKind: IncidentUnmapped['combined']['per_kind'] } {
    const perModel = inc.best.map(([model, b]) => ({ model, detector: b.detector, p_value: b.p, finding_uid: b.uid }));
    const weighed = perModel.filter((x) => x.p_value !== UNCALIBRATED_P);
    const kinds = new Map<EvidenceKind, typeof weighed>();
    for (const x of weighed) {
      const k = evidenceKindOf(x.detector);
      kinds.set(k, [...(kinds.get(k) ?? []), x]);
    }
    const perKind = [...kinds.entries()]
      .sort((a, b) => cmpStr(a[0], b[0]))
      .map(([kind, xs]) => ({ kind, p_value: xs.length === 1 ? xs[0]!.p_value : cauchyCombine(xs.map((x) => x.p_value)), models: xs.map((x) => x.model) }));
    const p = perKind.length === 0 ? UNCALIBRATED_P : perKind.length === 1 ? perKind[0]!.p_value : fisherCombine(perKind.map((x) => x.p_value));
    return { p, perModel, perKind };
  }

  /** The Incident Finding of an incident's current revision. */
  private build(inc: Incident, sourceObject: string): IncidentFinding {
    const { p, perModel, perKind } = this.combined(inc);
    const score = Math.round(-Math.log10(p) * 1000) / 1000;
    const members = inc.members;
    const entity = shown(inc.entity);
    const title = incidentTitle(inc.entity, members, inc.detectors.length, inc.start, inc.end);
    const timeline: TimelineEntry[] = members.map((m) => ({
      time: m.time,
      ...(m.end !== m.time ? { end: m.end } : {}),
      finding_uid: m.uid,
      model: m.model,
      detector: m.detector,
      severity: SEVERITY_NAMES[m.severity_id] ?? String(m.severity_id),
      p_value: m.p,
      summary: m.summary,
    }));
    const detTitles = inc.detectors.map((d) => DETECTOR_SHORT[d] ?? d);
    const agree = inc.detectors.length > 1 ? `${inc.detectors.length} detectors (${detTitles.join(', ')}) agree` : `${detTitles[0]} alone`;
    const strongest = members.slice(0, 3).map((m) => m.summary);
    const more = members.length > 3 ? `; ${inc.finding_count - 3} more in the timeline` : '';
    const weighed = perModel.filter((x) => x.p_value !== UNCALIBRATED_P);
    const unweighed = perModel.filter((x) => x.p_value === UNCALIBRATED_P).map((x) => x.model);
    const noWeight = unweighed.length > 0 ? `; uncalibrated, no weight: ${unweighed.join(', ')}` : '';
    const combinedText =
      weighed.length > 1
        ? `combined p ${fmtP(p)} (${perKind.map((k) => `${k.kind} evidence ${fmtP(k.p_value)}${k.models.length > 1 ? ' (Cauchy over the strongest finding of ' + k.models.map((m) => `${m} ${fmtP(weighed.find((x) => x.model === m)!.p_value)}`).join(', ') + ')' : ` (${k.models[0]})`}`).join(perKind.length > 1 ? ' and ' : '')}${perKind.length > 1 ? ', Fisher across independent kinds' : ''}${noWeight})`
        : weighed.length === 1
          ? `p ${fmtP(p)} (${weighed[0]!.model}${noWeight})`
          : `no calibrated evidence (${unweighed.join(', ')} uncalibrated)`;
    const low = inc.all_low ? '; every finding rests on thin data (low support): severity at most Medium' : '';
    const message = `${entity}, ${timeRange(inc.start, inc.end)}: ${agree}; ${inc.finding_count} finding${inc.finding_count === 1 ? '' : 's'}, strongest first: ${strongest.join('; ')}${more}; ${combinedText}${low}`;
    const sev = inc.severity_id;
    const confidence_score = Math.max(0, Math.min(100, Math.round(100 * (1 - p))));
    const profiles = inc.cloud && typeof inc.cloud.provider === 'string' ? ['cloud', 'datetime'] : ['datetime'];
    const unmapped: IncidentUnmapped = {
      incident_uid: inc.uid,
      revision: inc.revision,
      entity: inc.entity,
      title,
      score,
      p_value: p,
      low_support: inc.all_low,
      detectors: [...inc.detectors],
      models: [...inc.models],
      finding_uids: members.map((m) => m.uid),
      finding_count: inc.finding_count,
      timeline,
      combined: { method: 'cauchy-within-kind+fisher', per_kind: perKind, per_model: perModel },
      source_object: sourceObject,
      gap_ms: this.gapMs,
    };
    const incident: Record<string, unknown> = {
      class_uid: 2005,
      activity_id: inc.revision === 1 ? 1 : 2,
      severity_id: sev,
      status_id: 1,
      time: inc.end,
      start_time: inc.start,
      end_time: inc.end,
      count: inc.finding_count,
      confidence_id: confidence_score >= 90 ? 3 : confidence_score >= 70 ? 2 : 1,
      confidence_score,
      message,
      desc: `Findings of ${inc.models.length} model${inc.models.length === 1 ? '' : 's'} (${detTitles.join(', ')}) about ${entity} within ${Math.round(this.gapMs / 60_000)} minutes of each other.`,
      assignee_group: { ...this.assigneeGroup },
      finding_info_list: members.map((m) => ({
        uid: m.uid,
        title: m.title,
        analytic: { name: m.model, uid: m.analytic_uid, type_id: 4, ...(m.model_version ? { version: m.model_version } : {}) },
        ...(m.types.length > 0 ? { types: m.types } : {}),
        first_seen_time: m.time,
        last_seen_time: m.end,
      })),
      metadata: {
        version: OCSF_VERSION,
        product: { name: 'seclake', vendor_name: 'seclake', version: seclakeVersion(), feature: { name: 'incident builder' } },
        profiles,
        uid: sha(['seclake-incident-revision/1', inc.uid, inc.revision]),
        correlation_uid: inc.uid,
        log_name: 'seclake_incidents',
      },
      unmapped,
    };
    if (profiles.includes('cloud')) incident.cloud = structuredClone(inc.cloud);
    deriveEvent(incident);
    const errors = validateEvent(incident).filter((i) => i.severity === 'error');
    if (errors.length > 0) throw new FindingBuildError(`incident ${inc.uid} revision ${inc.revision} does not validate: ${errors.map((e) => e.message).join('; ')}`, errors);
    return incident as IncidentFinding;
  }
}

// ---- text -------------------------------------------------------------------------------------------------

/** 0.000123 -> "1.2e-4"; 0.0456 -> "0.046". */
export function fmtP(p: number): string {
  if (!Number.isFinite(p)) return String(p);
  if (p >= 0.01) return p.toFixed(p >= 0.1 ? 2 : 3).replace(/0+$/, '').replace(/\.$/, '');
  const [m, e] = p.toExponential(1).split('e');
  return `${m}e${Number(e)}`;
}

function hhmm(t: number): string {
  return new Date(t).toISOString().slice(11, 16);
}

/** "2026-03-02 02:00-03:00 UTC", or across days "2026-03-01 23:10 - 2026-03-02 01:00 UTC". */
export function timeRange(start: number, end: number): string {
  const a = new Date(start).toISOString();
  const b = new Date(end).toISOString();
  if (a.slice(0, 10) === b.slice(0, 10)) return `${a.slice(0, 10)} ${hhmm(start)}${hhmm(end) !== hhmm(start) ? `-${hhmm(end)}` : ''} UTC`;
  return `${a.slice(0, 10)} ${hhmm(start)} - ${b.slice(0, 10)} ${hhmm(end)} UTC`;
}

const PLURAL: Record<string, string> = {
  'new peer': 'new peers',
  'unusual peer': 'unusual peers',
  'new address': 'new addresses',
  'unusual address': 'unusual addresses',
  'sign-in from': 'sign-ins from',
  'sign-in from new address': 'sign-ins from new addresses',
};

/**
 * "db-1: 3 detectors agree: new peer 10.0.99.42 (IP Insights, history), unusual network behaviour (RCF), 2026-03-02
 * 02:00-03:00 UTC": what was observed, grouped by kind (strongest first, at most 3 kinds), each with up to two
 * subjects ("new peers 10.0.3.104, 10.0.3.156 and 58 more") and the detectors that said it.
 */
export function incidentTitle(entity: string, members: readonly MemberState[], detectors: number, start: number, end: number): string {
  const groups = new Map<string, { subjects: string[]; detectors: string[] }>();
  for (const m of [...members].sort(byStrength)) {
    const d = DETECTOR_SHORT[m.detector] ?? m.detector;
    let g = groups.get(m.label);
    if (!g) groups.set(m.label, (g = { subjects: [], detectors: [] }));
    if (m.subject && !g.subjects.includes(m.subject)) g.subjects.push(m.subject);
    if (!g.detectors.includes(d)) g.detectors.push(d);
  }
  const parts = [...groups].slice(0, 3).map(([label, g]) => {
    const n = g.subjects.length;
    const what = n === 0 ? label : n === 1 ? `${label} ${g.subjects[0]}` : `${PLURAL[label] ?? label} ${g.subjects.slice(0, 2).join(', ')}${n > 2 ? ` and ${n - 2} more` : ''}`;
    return `${what} (${g.detectors.join(', ')})`;
  });
  if (groups.size > 3) parts.push(`${groups.size - 3} more kinds`);
  const head = detectors > 1 ? `${shown(entity)}: ${detectors} detectors agree: ` : `${shown(entity)}: `;
  return `${head}${parts.join(', ')}, ${timeRange(start, end)}`;
}

/** One line for a person (stdout text, Slack): "[High] db-1: ... (incident 1a2b3c4d r2, score 6.2)". */
export function incidentLine(i: IncidentFinding): string {
  const u = i.unmapped;
  const sev = typeof i.severity === 'string' ? i.severity : SEVERITY_NAMES[Number(i.severity_id)] ?? String(i.severity_id);
  return `[${sev}] ${u.title} (incident ${u.incident_uid.slice(0, 8)} r${u.revision}, score ${u.score.toFixed(1)}, ${u.finding_count} finding${u.finding_count === 1 ? '' : 's'})`;
}
