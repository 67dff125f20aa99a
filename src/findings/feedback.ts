/**
 * Analyst feedback on findings and incidents, and the suppressions it creates (issue 14, item 4).
 *
 * One append-only file per lake, `<lake>/_seclake/feedback.jsonl`, one JSON record per line:
 *   {"type":"verdict", id, at, target_uid, target_kind:"finding"|"incident", verdict:"benign"|"malicious", entity,
 *    model?, ip?, note?, by?, members?}
 *   {"type":"suppression", id, at, expires_at (ISO time, or null = never), entity, scope, model?, detector?, reason,
 *    from_uid?, by?}       scope: {kind:"cidr",cidr} | {kind:"asn",asn} | {kind:"feature",feature} | {kind:"any"}
 *   {"type":"unsuppress", id, at, suppression_id, by?}
 * Each record is appended with one write() on a file opened O_APPEND (and fsynced), so concurrent writers (CLI,
 * dashboard, monitor) never interleave inside a line. A torn last line (a crash mid-write) is skipped when reading, and
 * the next append starts on a line of its own. Nothing is ever rewritten: a suppression ends by expiring or by an
 * `unsuppress` record.
 *
 * A verdict's `members` are the detection findings it is about (one for a finding, every member of an incident), with
 * what calibration needs (model, detector, ip, top features), resolved from the lake when the verdict is given.
 *
 * `matchSuppression(finding, active, now)` (pure) is what the monitor applies before it writes findings: a finding of
 * the suppression's entity, inside its scope (address range, ASN, or the finding's top behaviour feature; `any` = the
 * whole entity), of its model/detector when it names one, while it is active.
 *
 * Local lakes only: an S3 lake has no feedback store (FeedbackError).
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { SeclakeError } from '../core/errors.js';
import { formatIp, parseIp, type ParsedIp } from '../detectors/pairs/ip.js';
import { META_DIR } from '../lake/layout.js';
import { createLakeViews, openLakeQuery } from '../lake/views.js';
import type { Duck } from '../lake/duckdb.js';
import { findingsView } from './view.js';
import { incidentsView } from './incidents-view.js';
import type { DetectionFinding } from './types.js';

export const FEEDBACK_FILE = 'feedback.jsonl';
/** Suppressions expire after this many days unless told otherwise. */
export const DEFAULT_EXPIRES_DAYS = 30;
/** The longest expiry accepted as a number of days (use `never` for no expiry). */
export const MAX_EXPIRES_DAYS = 3650;
export const MAX_NOTE_CHARS = 2000;
const DAY_MS = 86_400_000;

export type Verdict = 'benign' | 'malicious';
export type TargetKind = 'finding' | 'incident';

export type SuppressionScope = { kind: 'cidr'; cidr: string } | { kind: 'asn'; asn: number } | { kind: 'feature'; feature: string } | { kind: 'any' };

/** A detection finding a verdict is about, as calibration needs it. */
export interface VerdictMember {
  finding_uid: string;
  model?: string;
  detector?: string;
  ip?: string;
  /** Behaviour findings: the features that drove the score, largest share first. */
  features?: string[];
  /** Behaviour findings: the window [start, end), epoch ms. */
  window_start?: number;
  window_end?: number;
}

export interface VerdictRecord {
  type: 'verdict';
  id: string;
  /** ISO 8601 time the verdict was given. */
  at: string;
  target_uid: string;
  target_kind: TargetKind;
  verdict: Verdict;
  entity: string;
  model?: string;
  ip?: string;
  note?: string;
  by?: string;
  members?: VerdictMember[];
  /** Suppressions added with this verdict. */
  suppression_ids?: string[];
}

export interface Suppression {
  type: 'suppression';
  id: string;
  at: string;
  /** ISO 8601 time it stops applying, or null: never (only when asked for explicitly). */
  expires_at: string | null;
  entity: string;
  scope: SuppressionScope;
  /** Only findings of this model (name) / detector type, when set. */
  model?: string;
  detector?: string;
  /** Why it exists (human text, e.g. "marked benign by alice: backup job"). */
  reason: string;
  /** The finding or incident whose benign verdict created it. */
  from_uid?: string;
  by?: string;
}

export interface UnsuppressRecord {
  type: 'unsuppress';
  id: string;
  at: string;
  suppression_id: string;
  by?: string;
}

export type FeedbackRecord = VerdictRecord | Suppression | UnsuppressRecord;

export type SuppressionState = 'active' | 'expired' | 'removed' | 'pending';

/** A suppression as listed: the record plus its state at the time asked about and a sentence that explains it. */
export type SuppressionView = Suppression & {
  state: SuppressionState;
  removed_at?: string;
  removed_by?: string;
  text: string;
};

export class FeedbackError extends SeclakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FeedbackError';
  }
}

export function feedbackPath(lakeDir: string): string {
  return path.join(lakeDir, META_DIR, FEEDBACK_FILE);
}

// ---- ids, times ----------------------------------------------------------------------------------------------

function sha256Hex(parts: readonly unknown[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(typeof p === 'string' ? p : JSON.stringify(p) ?? 'undefined');
    h.update('\0');
  }
  return h.digest('hex');
}

/** Record ids: 16 hex digits of sha256 of the record's content (same content and time: same id). */
function recordId(kind: string, content: Record<string, unknown>): string {
  const keys = Object.keys(content).sort();
  return sha256Hex([`seclake-feedback/${kind}/1`, ...keys.map((k) => `${k}=${JSON.stringify(content[k])}`)]).slice(0, 16);
}

function ms(iso: string | null | undefined): number {
  if (iso === null || iso === undefined) return Number.POSITIVE_INFINITY;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? Number.NaN : t;
}

// ---- addresses ------------------------------------------------------------------------------------------------

interface ParsedCidr {
  family: 4 | 6;
  words: [number, number, number, number];
  len: number;
}

function maskWords(words: readonly number[], family: 4 | 6, len: number): [number, number, number, number] {
  const out: [number, number, number, number] = [0, 0, 0, 0];
  const bits = family === 4 ? 32 : 128;
  const n = Math.min(len, bits);
  for (let i = 0; i < 4; i++) {
    const keep = Math.max(0, Math.min(32, n - 32 * i));
    out[i] = keep === 0 ? 0 : keep === 32 ? words[i]! >>> 0 : (words[i]! & (~0 << (32 - keep))) >>> 0;
  }
  return out;
}

/** `10.1.2.0/24`, `2001:db8::/64` (a bare address is its /32 or /128) -> the network; undefined when invalid. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const t = text.trim();
  const slash = t.indexOf('/');
  const ip = parseIp(slash < 0 ? t : t.slice(0, slash));
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const l = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l)) return undefined;
    len = Number(l);
    // An IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/120) names IPv4 addresses.
    if (ip.family === 4 && t.slice(0, slash).includes(':')) len -= 96;
    if (len < 0 || len > max) return undefined;
  }
  return { family: ip.family, words: maskWords(ip.words, ip.family, len), len };
}

/** Canonical text of a network (`10.1.2.0/24`). */
export function formatCidr(c: ParsedCidr): string {
  const ip: ParsedIp = { family: c.family, words: c.words };
  return `${formatIp(ip)}/${c.len}`;
}

/** The network of `ip` of length `len` (IPv4) or `len6` (IPv6), as CIDR text; undefined for an invalid address. */
export function networkOf(ip: string, len = 24, len6 = 64): string | undefined {
  const p = parseIp(ip);
  if (!p) return undefined;
  const l = p.family === 4 ? len : len6;
  return formatCidr({ family: p.family, words: maskWords(p.words, p.family, l), len: l });
}

function cidrContains(c: ParsedCidr, ipText: string): boolean {
  const ip = parseIp(ipText);
  if (!ip || ip.family !== c.family) return false;
  const m = maskWords(ip.words, ip.family, c.len);
  return m[0] === c.words[0] && m[1] === c.words[1] && m[2] === c.words[2] && m[3] === c.words[3];
}

// ---- what a finding says about itself -------------------------------------------------------------------------

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The facts of a detection finding that feedback scopes and matches on. */
export interface FindingFacts {
  uid: string;
  entity: string;
  ip?: string;
  asn?: number;
  model?: string;
  detector?: string;
  /** Behaviour findings: the features that drove the score, largest share first (the first is the top one). */
  features: string[];
  window_start?: number;
  window_end?: number;
}

function asnOf(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^(?:AS)?\d{1,10}$/i.test(v.trim()) ? Number(v.trim().replace(/^AS/i, '')) : Number.NaN;
  return Number.isInteger(n) && n > 0 && n <= 4_294_967_295 ? n : undefined;
}

/** Entity, IP, ASN, model, detector and top features of a finding (as built by src/findings/build.ts or behaviour.ts). */
export function findingFacts(f: DetectionFinding | Record<string, unknown>): FindingFacts {
  const u = isObj(f.unmapped) ? f.unmapped : {};
  const info = isObj(f.finding_info) ? f.finding_info : {};
  const uid = typeof info.uid === 'string' ? info.uid : isObj(f.metadata) && typeof f.metadata.uid === 'string' ? f.metadata.uid : '';
  const res = Array.isArray(f.resources) && isObj(f.resources[0]) ? f.resources[0] : {};
  const entity = typeof u.entity === 'string' ? u.entity : typeof res.uid === 'string' ? res.uid : '';
  const facts: FindingFacts = { uid, entity, features: [] };
  if (typeof u.ip === 'string' && u.ip !== '') facts.ip = u.ip;
  const model = isObj(u.model) ? u.model.name : u['model.name'];
  if (typeof model === 'string') facts.model = model;
  else if (isObj(info.analytic) && typeof info.analytic.name === 'string') facts.model = info.analytic.name;
  if (typeof u.detector === 'string') facts.detector = u.detector;
  // The ASN, when the detector knows it (OCSF 1.1.0 endpoints have no autonomous_system: it goes in unmapped.asn).
  const asn = asnOf(u.asn);
  if (asn !== undefined) facts.asn = asn;
  const ex = isObj(u.explanation) ? u.explanation : undefined;
  const feats = ex && isObj(ex.details) && Array.isArray(ex.details.features) ? ex.details.features : [];
  for (const x of feats) if (isObj(x) && typeof x.feature === 'string') facts.features.push(x.feature);
  const ws = Number(u.window_start);
  const we = Number(u.window_end);
  if (u.window_start !== undefined && Number.isFinite(ws)) facts.window_start = ws;
  if (u.window_end !== undefined && Number.isFinite(we)) facts.window_end = we;
  return facts;
}

/**
 * The scope a benign verdict suppresses by default: the finding's ASN when it carries one (`unmapped.asn`), else its address's /24
 * (IPv6: /64); for a behaviour finding (no address) its top feature; the whole entity only when nothing narrower is
 * known.
 */
export function benignDefaultScope(finding: DetectionFinding | Record<string, unknown>): SuppressionScope {
  const f = findingFacts(finding);
  if (f.ip !== undefined) {
    if (f.asn !== undefined) return { kind: 'asn', asn: f.asn };
    const cidr = networkOf(f.ip);
    if (cidr !== undefined) return { kind: 'cidr', cidr };
  }
  if (f.features.length > 0) return { kind: 'feature', feature: f.features[0]! };
  return { kind: 'any' };
}

/** Why a scope does not cover a finding (for refusing a scope that would not even silence the finding marked), or undefined. */
export function scopeMismatch(scope: SuppressionScope, f: FindingFacts): string | undefined {
  switch (scope.kind) {
    case 'any':
      return undefined;
    case 'cidr': {
      const c = parseCidr(scope.cidr);
      if (!c) return `${scope.cidr} is not a CIDR range`;
      if (f.ip === undefined) return `finding ${f.uid} has no IP address (a behaviour finding: use feature:NAME or entity)`;
      return cidrContains(c, f.ip) ? undefined : `${formatCidr(c)} does not contain the finding's address ${f.ip}`;
    }
    case 'asn':
      if (f.asn === undefined) return `finding ${f.uid} carries no ASN`;
      return f.asn === scope.asn ? undefined : `the finding's address is in AS${f.asn}, not AS${scope.asn}`;
    case 'feature':
      if (f.features.length === 0) return `finding ${f.uid} names no behaviour features (a pair finding: use cidr:RANGE, asn:N or entity)`;
      return f.features[0] === scope.feature ? undefined : `the finding's top feature is ${f.features[0]}, not ${scope.feature}`;
  }
}

/** `cidr:10.0.0.0/24`, `asn:14061` (or `asn:AS14061`), `feature:NAME`, `entity` -> a scope (host bits cleared). */
export function parseScope(text: string): SuppressionScope {
  const t = text.trim();
  if (t === 'entity' || t === 'any') return { kind: 'any' };
  const colon = t.indexOf(':');
  const kind = colon < 0 ? '' : t.slice(0, colon).toLowerCase();
  const value = colon < 0 ? '' : t.slice(colon + 1).trim();
  if (kind === 'cidr') {
    const c = parseCidr(value);
    if (!c) throw new FeedbackError(`scope ${JSON.stringify(text)}: ${JSON.stringify(value)} is not an address range (e.g. cidr:203.0.113.0/24 or cidr:2001:db8::/64)`);
    return { kind: 'cidr', cidr: formatCidr(c) };
  }
  if (kind === 'asn') {
    const a = asnOf(value);
    if (a === undefined) throw new FeedbackError(`scope ${JSON.stringify(text)}: ${JSON.stringify(value)} is not an AS number (e.g. asn:14061)`);
    return { kind: 'asn', asn: a };
  }
  if (kind === 'feature') {
    if (value === '' || value.length > 200) throw new FeedbackError(`scope ${JSON.stringify(text)}: expected feature:NAME (a behaviour feature such as network.bytes_out)`);
    return { kind: 'feature', feature: value };
  }
  throw new FeedbackError(`scope ${JSON.stringify(text)}: expected cidr:RANGE, asn:NUMBER, feature:NAME or entity`);
}

/** `cidr:10.0.0.0/24`, `asn:14061`, `feature:network.bytes_out`, `entity`. */
export function scopeText(s: SuppressionScope): string {
  return s.kind === 'cidr' ? `cidr:${s.cidr}` : s.kind === 'asn' ? `asn:${s.asn}` : s.kind === 'feature' ? `feature:${s.feature}` : 'entity';
}

function scopePhrase(s: SuppressionScope): string {
  switch (s.kind) {
    case 'cidr':
      return `with addresses in ${s.cidr}`;
    case 'asn':
      return `with addresses in AS${s.asn}`;
    case 'feature':
      return `whose unusual behaviour is driven mostly by ${s.feature}`;
    case 'any':
      return 'of any kind (the whole entity)';
  }
}

function sameScope(a: SuppressionScope, b: SuppressionScope): boolean {
  return scopeText(a) === scopeText(b);
}

// ---- matching -------------------------------------------------------------------------------------------------

const cidrCache = new WeakMap<SuppressionScope, ParsedCidr | null>();

function scopeCovers(scope: SuppressionScope, f: FindingFacts): boolean {
  switch (scope.kind) {
    case 'any':
      return true;
    case 'cidr': {
      if (f.ip === undefined) return false;
      let c = cidrCache.get(scope);
      if (c === undefined) {
        c = parseCidr(scope.cidr) ?? null;
        cidrCache.set(scope, c);
      }
      return c !== null && cidrContains(c, f.ip);
    }
    case 'asn':
      return f.asn !== undefined && f.asn === scope.asn;
    case 'feature':
      // The top feature only: a finding driven mostly by something else still alerts.
      return f.features.length > 0 && f.features[0] === scope.feature;
  }
}

/** Whether a suppression applies at `now` (epoch ms): created by then, not expired, not removed by then. */
export function suppressionActive(s: Suppression | SuppressionView, now: number): boolean {
  const at = ms(s.at);
  const exp = ms(s.expires_at);
  if (!(at <= now) || !(exp > now)) return false;
  const removed = (s as Partial<SuppressionView>).removed_at;
  return removed === undefined || !(ms(removed) <= now);
}

/**
 * The first suppression of `active` that covers `finding` at `now` (epoch ms): same entity, the finding inside its
 * scope (its IP in the range, its ASN equal, its top behaviour feature equal; `any` covers everything of the entity),
 * the model and detector equal when the suppression names them, and the suppression active at `now` (created, not
 * expired, not removed). Pure.
 */
export function matchSuppression(finding: DetectionFinding | Record<string, unknown>, active: readonly (Suppression | SuppressionView)[], now: number): Suppression | undefined {
  if (active.length === 0) return undefined;
  const f = findingFacts(finding);
  if (f.entity === '') return undefined;
  for (const s of active) {
    if (s.entity !== f.entity) continue;
    if (s.model !== undefined && s.model !== f.model) continue;
    if (s.detector !== undefined && s.detector !== f.detector) continue;
    if (!suppressionActive(s, now)) continue;
    if (scopeCovers(s.scope, f)) return s;
  }
  return undefined;
}

// ---- the file -------------------------------------------------------------------------------------------------

export interface FeedbackLog {
  records: FeedbackRecord[];
  /** Lines that were not records (a torn last line is not counted: it is a crash mid-write, expected). */
  skipped: { line: number; reason: string }[];
}

function validRecord(o: unknown): o is FeedbackRecord {
  if (!isObj(o) || typeof o.id !== 'string' || typeof o.at !== 'string' || Number.isNaN(Date.parse(o.at))) return false;
  if (o.type === 'verdict') return typeof o.target_uid === 'string' && (o.verdict === 'benign' || o.verdict === 'malicious') && (o.target_kind === 'finding' || o.target_kind === 'incident') && typeof o.entity === 'string';
  if (o.type === 'suppression') {
    const s = o.scope;
    const scopeOk = isObj(s) && (s.kind === 'any' || (s.kind === 'cidr' && typeof s.cidr === 'string') || (s.kind === 'asn' && typeof s.asn === 'number') || (s.kind === 'feature' && typeof s.feature === 'string'));
    return typeof o.entity === 'string' && scopeOk && (o.expires_at === null || (typeof o.expires_at === 'string' && !Number.isNaN(Date.parse(o.expires_at))));
  }
  if (o.type === 'unsuppress') return typeof o.suppression_id === 'string';
  return false;
}

/** Parse the feedback file's text: records in file order; a torn last line is dropped, other bad lines are reported. */
export function parseFeedback(text: string): FeedbackLog {
  const records: FeedbackRecord[] = [];
  const skipped: FeedbackLog['skipped'] = [];
  const lines = text.split('\n');
  const complete = text.endsWith('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const last = i === lines.length - 1;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      if (!(last && !complete)) skipped.push({ line: i + 1, reason: 'not JSON' });
      continue;
    }
    if (validRecord(doc)) records.push(doc);
    else skipped.push({ line: i + 1, reason: 'not a feedback record (type verdict, suppression or unsuppress with its fields)' });
  }
  return { records, skipped };
}

/** Append one record as one line: a single write() on an O_APPEND descriptor, then fsync. */
function appendRecord(file: string, rec: FeedbackRecord): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(file, 'a+');
  try {
    // After a torn last line (crash mid-write), start on a line of our own.
    let prefix = '';
    const size = fstatSync(fd).size;
    if (size > 0) {
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, size - 1);
      if (b[0] !== 0x0a) prefix = '\n';
    }
    writeSync(fd, prefix + JSON.stringify(rec) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function omitUndefined<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** A verdict as given: the record without what the store adds (type, id, time). */
export type AddVerdictInput = Omit<VerdictRecord, 'type' | 'id' | 'at'>;

/** A suppression as asked for: the record without what the store adds, and its expiry as a time or a number of days. */
export interface AddSuppressionInput extends Omit<Suppression, 'type' | 'id' | 'at' | 'expires_at'> {
  /** Epoch ms or ISO time it expires, or null for never; default `expires_days` after now. */
  expires_at?: number | string | null;
  /** Days until it expires (default 30) when `expires_at` is not given. */
  expires_days?: number;
}

export interface FeedbackStore {
  readonly file: string;
  /** Every record in file order (torn last line dropped). */
  read(): FeedbackLog;
  /** Every verdict, in the order given (a target given a verdict again appears twice: the later one counts). */
  verdicts(): VerdictRecord[];
  /** The current verdict of each target uid (the latest). */
  latestVerdicts(): Map<string, VerdictRecord>;
  /**
   * Suppressions with their state; with `activeAt` (epoch ms: pass the processing time, not an event time) only those
   * active then.
   */
  suppressions(opts?: { activeAt?: number; now?: number }): SuppressionView[];
  addVerdict(input: AddVerdictInput, now?: number): VerdictRecord;
  /**
   * Add a suppression. An active one with the same entity, scope, model and detector that lasts at least as long
   * (give or take a day) is returned instead (nothing appended): marking the same thing benign twice adds one
   * suppression; marking it again weeks later adds one that lasts longer.
   */
  addSuppression(input: AddSuppressionInput, now?: number): { suppression: Suppression; added: boolean };
  /** Remove (end) a suppression by id; removing one already removed returns its removal. FeedbackError for an unknown id. */
  removeSuppression(id: string, opts?: { by?: string; now?: number }): { removal: UnsuppressRecord; suppression: Suppression; removed: boolean };
}

function refuseS3(lake: string): void {
  if (/^s3:\/\//i.test(lake)) {
    throw new FeedbackError(`${lake}: feedback and suppressions are kept in a local lake only (<lake>/_seclake/${FEEDBACK_FILE}); an S3 lake has no feedback store yet`);
  }
}

/** The feedback store of a local lake (the file is created on the first record). */
export function openFeedback(lakeDir: string): FeedbackStore {
  refuseS3(lakeDir);
  const file = feedbackPath(lakeDir);
  const read = (): FeedbackLog => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], skipped: [] };
      throw new FeedbackError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    return parseFeedback(text);
  };
  const views = (records: readonly FeedbackRecord[], now: number): SuppressionView[] => {
    const removals = new Map<string, UnsuppressRecord>();
    for (const r of records) if (r.type === 'unsuppress' && !removals.has(r.suppression_id)) removals.set(r.suppression_id, r);
    const seen = new Set<string>();
    const out: SuppressionView[] = [];
    for (const r of records) {
      if (r.type !== 'suppression' || seen.has(r.id)) continue;
      seen.add(r.id);
      const rm = removals.get(r.id);
      const v: SuppressionView = { ...r, state: 'active', text: '' };
      if (rm) {
        v.removed_at = rm.at;
        if (rm.by !== undefined) v.removed_by = rm.by;
      }
      v.state = rm && ms(rm.at) <= now ? 'removed' : ms(r.at) > now ? 'pending' : ms(r.expires_at) <= now ? 'expired' : 'active';
      v.text = describeSuppression(v, now);
      out.push(v);
    }
    return out;
  };
  const store: FeedbackStore = {
    file,
    read,
    verdicts: () => read().records.filter((r): r is VerdictRecord => r.type === 'verdict'),
    latestVerdicts: () => {
      const m = new Map<string, VerdictRecord>();
      for (const v of store.verdicts()) m.set(v.target_uid, v);
      return m;
    },
    suppressions: (opts = {}) => {
      const now = opts.activeAt ?? opts.now ?? Date.now();
      const all = views(read().records, now);
      return opts.activeAt !== undefined ? all.filter((s) => s.state === 'active') : all;
    },
    addVerdict: (input, now = Date.now()) => {
      const content = omitUndefined({
        at: new Date(now).toISOString(),
        target_uid: input.target_uid,
        target_kind: input.target_kind,
        verdict: input.verdict,
        entity: input.entity,
        model: input.model,
        ip: input.ip,
        note: input.note,
        by: input.by,
        members: input.members,
        suppression_ids: input.suppression_ids,
      });
      const rec = { type: 'verdict', id: recordId('verdict', content), ...content } as VerdictRecord;
      appendRecord(file, rec);
      return rec;
    },
    addSuppression: (input, now = Date.now()) => {
      if (input.entity === '') throw new FeedbackError('a suppression needs an entity');
      let expires: string | null;
      if (input.expires_at === null) expires = null;
      else if (input.expires_at !== undefined) {
        const t = typeof input.expires_at === 'number' ? input.expires_at : Date.parse(input.expires_at);
        if (!Number.isFinite(t)) throw new FeedbackError(`expiry ${JSON.stringify(input.expires_at)} is not a time`);
        if (t <= now) throw new FeedbackError(`expiry ${new Date(t).toISOString()} is not in the future`);
        expires = new Date(t).toISOString();
      } else {
        const days = input.expires_days ?? DEFAULT_EXPIRES_DAYS;
        if (!(days > 0 && days <= MAX_EXPIRES_DAYS)) throw new FeedbackError(`expiry of ${days} days: expected more than 0 and at most ${MAX_EXPIRES_DAYS} (or "never")`);
        expires = new Date(now + days * DAY_MS).toISOString();
      }
      if (input.scope.kind === 'cidr' && !parseCidr(input.scope.cidr)) throw new FeedbackError(`scope cidr:${input.scope.cidr} is not an address range`);
      const scope: SuppressionScope = input.scope.kind === 'cidr' ? { kind: 'cidr', cidr: formatCidr(parseCidr(input.scope.cidr)!) } : { ...input.scope };
      // The same suppression, still active and lasting about as long (within a day): nothing to add.
      const existing = views(read().records, now).find(
        (s) => s.state === 'active' && s.entity === input.entity && sameScope(s.scope, scope) && s.model === input.model && s.detector === input.detector && ms(s.expires_at) >= ms(expires) - DAY_MS,
      );
      if (existing) {
        const { state: _s, text: _t, removed_at: _r, removed_by: _b, ...plain } = existing;
        return { suppression: plain, added: false };
      }
      const content = omitUndefined({
        at: new Date(now).toISOString(),
        expires_at: expires,
        entity: input.entity,
        scope,
        model: input.model,
        detector: input.detector,
        reason: input.reason,
        from_uid: input.from_uid,
        by: input.by,
      });
      const rec = { type: 'suppression', id: recordId('suppression', content), ...content } as Suppression;
      appendRecord(file, rec);
      return { suppression: rec, added: true };
    },
    removeSuppression: (id, opts = {}) => {
      const now = opts.now ?? Date.now();
      const { records } = read();
      const s = records.find((r): r is Suppression => r.type === 'suppression' && r.id === id);
      if (!s) throw new FeedbackError(`no suppression with id ${JSON.stringify(id.slice(0, 80))} in ${file}`);
      const prior = records.find((r): r is UnsuppressRecord => r.type === 'unsuppress' && r.suppression_id === id);
      if (prior) return { removal: prior, suppression: s, removed: false };
      const content = omitUndefined({ at: new Date(now).toISOString(), suppression_id: id, by: opts.by });
      const rec = { type: 'unsuppress', id: recordId('unsuppress', content), ...content } as UnsuppressRecord;
      appendRecord(file, rec);
      return { removal: rec, suppression: s, removed: true };
    },
  };
  return store;
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

/**
 * One sentence explaining a suppression: what it silences, until when, and why. E.g. "Suppresses findings about
 * alice with addresses in 203.0.113.0/24 (any model) until 2027-01-07 (30 days left): marked benign by bob on
 * 2026-12-08 (finding 0123abcd…): VPN exit".
 */
export function describeSuppression(s: Suppression & { state?: SuppressionState; removed_at?: string; removed_by?: string }, now = Date.now()): string {
  const which = [s.model !== undefined ? `model ${s.model}` : '', s.detector !== undefined ? `detector ${s.detector}` : ''].filter((x) => x).join(', ') || 'any model';
  const state = s.state ?? (suppressionActive(s, now) ? 'active' : 'expired');
  const exp = ms(s.expires_at);
  let until: string;
  if (state === 'removed') until = s.expires_at === null ? '' : ` (was to expire ${day(s.expires_at)})`;
  else if (s.expires_at === null) until = ' with no expiry';
  else if (state === 'expired') until = `; expired ${day(s.expires_at)}`;
  else {
    const left = Math.max(0, Math.ceil((exp - now) / DAY_MS));
    until = ` until ${day(s.expires_at)} (${left} day${left === 1 ? '' : 's'} left)`;
  }
  const verb = state === 'active' || state === 'pending' ? 'Suppresses' : 'Suppressed';
  let text = `${verb} findings about ${s.entity} ${scopePhrase(s.scope)} (${which})${until}`;
  if (state === 'removed' && s.removed_at) text += `; removed ${day(s.removed_at)}${s.removed_by ? ` by ${s.removed_by}` : ''}`;
  text += `. Added ${day(s.at)}${s.by ? ` by ${s.by}` : ''}${s.from_uid ? ` from ${s.from_uid}` : ''}: ${s.reason}`;
  return text;
}

// ---- verdicts on lake findings and incidents ------------------------------------------------------------------

/** The views feedback reads: findings, and incidents (where incident uids are looked up). */
const FEEDBACK_VIEWS = [findingsView, incidentsView];

export type FeedbackTarget =
  | { kind: 'finding'; uid: string; entity: string; finding: Record<string, unknown>; members: Record<string, unknown>[] }
  | { kind: 'incident'; uid: string; entity: string; incident: Record<string, unknown>; members: Record<string, unknown>[]; missing: string[] };

async function hasView(db: Duck, name: string): Promise<boolean> {
  const rows = await db.all(`SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name = $1`, [name]);
  return Number(rows[0]?.n ?? 0) > 0;
}

function parseJsonObject(v: unknown): Record<string, unknown> | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    const o = JSON.parse(v) as unknown;
    return isObj(o) ? o : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Look a uid up in the lake: a detection finding (the `findings` view) or an incident (the `incidents` view, when the
 * lake has one) with its member findings. Undefined when neither has it.
 */
export async function findTarget(lakeDir: string, uid: string, opts: { db?: Duck } = {}): Promise<FeedbackTarget | undefined> {
  refuseS3(lakeDir);
  const db = opts.db ?? (await openLakeQuery(lakeDir, { views: FEEDBACK_VIEWS }));
  try {
    if (!(await hasView(db, 'findings'))) await createLakeViews(db, lakeDir, { views: FEEDBACK_VIEWS });
    const f = await db.all(`SELECT "finding" FROM "findings" WHERE "uid" = $1 ORDER BY "time" DESC LIMIT 1`, [uid]);
    const finding = parseJsonObject(f[0]?.finding);
    if (finding) return { kind: 'finding', uid, entity: findingFacts(finding).entity, finding, members: [finding] };
    if (!(await hasView(db, 'incidents'))) return undefined;
    const rows = await db.all(`SELECT "uid", "entity", "finding_uids", "incident" FROM "incidents" WHERE "uid" = $1 LIMIT 1`, [uid]);
    const row = rows[0];
    if (!row) return undefined;
    let uids: string[] = [];
    try {
      const parsed = JSON.parse(String(row.finding_uids ?? '[]')) as unknown;
      if (Array.isArray(parsed)) uids = parsed.filter((x): x is string => typeof x === 'string');
    } catch {
      // no member list
    }
    const members: Record<string, unknown>[] = [];
    if (uids.length > 0) {
      const ph = uids.map((_, i) => `$${i + 1}`).join(', ');
      const mrows = await db.all(`SELECT "uid", "finding" FROM "findings" WHERE "uid" IN (${ph}) ORDER BY "time"`, uids);
      const seen = new Set<string>();
      for (const r of mrows) {
        const fo = parseJsonObject(r.finding);
        if (fo && !seen.has(String(r.uid))) {
          seen.add(String(r.uid));
          members.push(fo);
        }
      }
    }
    // In the incident's order (strongest evidence first).
    const order = new Map(uids.map((u, i) => [u, i]));
    members.sort((a, b) => (order.get(findingFacts(a).uid) ?? 0) - (order.get(findingFacts(b).uid) ?? 0));
    const found = new Set(members.map((m) => findingFacts(m).uid));
    return { kind: 'incident', uid, entity: String(row.entity ?? ''), incident: parseJsonObject(row.incident) ?? {}, members, missing: uids.filter((u) => !found.has(u)) };
  } finally {
    if (!opts.db) db.close();
  }
}

/** Whether a lake has the `incidents` view (for the message when a uid is not found). */
export async function lakeHasIncidents(lakeDir: string): Promise<boolean> {
  const db = await openLakeQuery(lakeDir, { views: FEEDBACK_VIEWS });
  try {
    return await hasView(db, 'incidents');
  } finally {
    db.close();
  }
}

function memberOf(f: Record<string, unknown>): VerdictMember {
  const x = findingFacts(f);
  return omitUndefined({
    finding_uid: x.uid,
    model: x.model,
    detector: x.detector,
    ip: x.ip,
    features: x.features.length > 0 ? x.features : undefined,
    window_start: x.window_start,
    window_end: x.window_end,
  }) as VerdictMember;
}

export interface GiveVerdictInput {
  uid: string;
  verdict: Verdict;
  /** Benign only: one scope for every member instead of each finding's default scope. */
  scope?: SuppressionScope;
  /** Days until the suppression expires (default 30), or null: never. */
  expires_days?: number | null;
  /** Only the finding's model (benign). */
  model_only?: boolean;
  note?: string;
  by?: string;
  now?: number;
}

export interface GiveVerdictResult {
  verdict: VerdictRecord;
  /** Suppressions added (or already there) for a benign verdict. */
  suppressions: Suppression[];
  /** The first of them (the dashboard API's `suppression`). */
  suppression?: Suppression;
  /** The same verdict was already the current one for this target: nothing appended. */
  unchanged: boolean;
  /** Active suppressions that cover a member of a malicious verdict (the analyst may want to remove them). */
  covered_by: SuppressionView[];
  /** Incident members the findings view does not have (they get no scope of their own). */
  missing: string[];
}

/**
 * Record an analyst's verdict on a finding or incident of the lake. Benign: a suppression of each member finding's
 * default scope (or of `scope`), expiring after `expires_days` (default 30). Malicious: the verdict only (a labelled
 * example), plus which active suppressions would hide such a finding. Entity, model and addresses come from the lake,
 * never from the caller. FeedbackError when the uid is not in the lake or a scope would not cover the finding.
 */
export async function giveVerdict(lakeDir: string, input: GiveVerdictInput, opts: { db?: Duck } = {}): Promise<GiveVerdictResult> {
  refuseS3(lakeDir);
  const now = input.now ?? Date.now();
  if (input.note !== undefined && input.note.length > MAX_NOTE_CHARS) throw new FeedbackError(`note is longer than ${MAX_NOTE_CHARS} characters`);
  const target = await findTarget(lakeDir, input.uid, opts);
  if (!target) {
    const incidents = opts.db ? await hasView(opts.db, 'incidents') : await lakeHasIncidents(lakeDir);
    throw new FeedbackError(
      `no finding${incidents ? ' or incident' : ''} with uid ${JSON.stringify(input.uid.slice(0, 80))} in ${lakeDir}` +
        (incidents ? '' : ' (this lake has no incidents view yet: incident uids cannot be looked up; `seclake monitor` writes incidents)'),
    );
  }
  const store = openFeedback(lakeDir);
  const members = target.members.map(memberOf);
  const first = members[0];
  const missing = target.kind === 'incident' ? target.missing : [];
  // A scope that does not cover the finding marked would silence something else: refuse it.
  if (input.verdict === 'benign' && input.scope && input.scope.kind !== 'any') {
    const covers = target.members.some((m) => scopeMismatch(input.scope!, findingFacts(m)) === undefined);
    if (!covers) {
      const why = target.members.length > 0 ? scopeMismatch(input.scope, findingFacts(target.members[0]!)) : 'the incident has no member findings in the lake';
      throw new FeedbackError(`scope ${scopeText(input.scope)} would not cover ${target.kind} ${target.uid}: ${why}`);
    }
  }
  const current = store.latestVerdicts().get(target.uid);
  const active = store.suppressions({ activeAt: now });
  const mine = input.verdict === 'benign' ? active.filter((s) => s.from_uid === target.uid) : [];
  // The same verdict again (a double click): nothing to add, unless the suppressions it made are gone (removed, expired).
  if (current && current.verdict === input.verdict && input.scope === undefined && input.note === undefined && (input.verdict === 'malicious' || mine.length > 0)) {
    const sup = mine;
    const plain = sup.map(({ state: _s, text: _t, removed_at: _r, removed_by: _b, ...p }) => p as Suppression);
    return { verdict: current, suppressions: plain, ...(plain[0] ? { suppression: plain[0] } : {}), unchanged: true, covered_by: [], missing };
  }
  const suppressions: Suppression[] = [];
  if (input.verdict === 'benign') {
    const scopes: { scope: SuppressionScope; model?: string }[] = [];
    const add = (scope: SuppressionScope, model?: string): void => {
      if (!scopes.some((s) => sameScope(s.scope, scope) && s.model === model)) scopes.push({ scope, ...(model !== undefined ? { model } : {}) });
    };
    if (input.scope) {
      if (input.model_only) for (const m of new Set(members.map((x) => x.model))) add(input.scope, m);
      else add(input.scope);
    } else if (target.members.length === 0) add({ kind: 'any' });
    else for (const m of target.members) add(benignDefaultScope(m), input.model_only ? findingFacts(m).model : undefined);
    const reason = `marked benign${input.note ? `: ${input.note}` : ''}`;
    for (const s of scopes) {
      const r = store.addSuppression(
        {
          entity: target.entity,
          scope: s.scope,
          ...(input.expires_days === null ? { expires_at: null } : { expires_days: input.expires_days ?? DEFAULT_EXPIRES_DAYS }),
          ...(s.model !== undefined ? { model: s.model } : {}),
          reason,
          from_uid: target.uid,
          ...(input.by !== undefined ? { by: input.by } : {}),
        },
        now,
      );
      suppressions.push(r.suppression);
    }
  }
  const verdict = store.addVerdict(
    {
      target_uid: target.uid,
      target_kind: target.kind,
      verdict: input.verdict,
      entity: target.entity,
      ...(target.kind === 'finding' && first?.model !== undefined ? { model: first.model } : {}),
      ...(target.kind === 'finding' && first?.ip !== undefined ? { ip: first.ip } : {}),
      ...(input.note !== undefined && input.note !== '' ? { note: input.note } : {}),
      ...(input.by !== undefined ? { by: input.by } : {}),
      members,
      ...(suppressions.length > 0 ? { suppression_ids: suppressions.map((s) => s.id) } : {}),
    },
    now,
  );
  const covered_by: SuppressionView[] = [];
  if (input.verdict === 'malicious') {
    for (const m of target.members) {
      for (const s of active) if (!covered_by.includes(s) && matchSuppression(m, [s], now)) covered_by.push(s);
    }
  }
  return { verdict, suppressions, ...(suppressions[0] ? { suppression: suppressions[0] } : {}), unchanged: false, covered_by, missing };
}

// ---- examples for calibration ---------------------------------------------------------------------------------

export interface FeedbackExample {
  entity: string;
  ip?: string;
  features?: string[];
  window_start?: number;
  window_end?: number;
  finding_uid: string;
  /** The finding or incident the verdict was given on. */
  target_uid: string;
  verdict: Verdict;
  at: string;
}

/**
 * The labelled examples of one model from the analysts' verdicts: each detection finding of `modelName` that a verdict
 * covers (directly, or as a member of an incident), with its latest verdict (a finding marked again, or marked inside
 * an incident later, counts once, with the latest). Benign ones are extra normal examples for calibration, malicious
 * ones abnormal. Pair findings give (entity, ip); behaviour findings their top features and window.
 */
export function feedbackExamples(lakeDir: string, modelName: string): { benign: FeedbackExample[]; malicious: FeedbackExample[] } {
  const store = openFeedback(lakeDir);
  const latest = new Map<string, FeedbackExample>();
  for (const v of store.verdicts()) {
    for (const m of v.members ?? []) {
      if (m.model !== modelName) continue;
      const ex: FeedbackExample = omitUndefined({
        entity: v.entity,
        ip: m.ip,
        features: m.features,
        window_start: m.window_start,
        window_end: m.window_end,
        finding_uid: m.finding_uid,
        target_uid: v.target_uid,
        verdict: v.verdict,
        at: v.at,
      }) as FeedbackExample;
      latest.delete(m.finding_uid);
      latest.set(m.finding_uid, ex);
    }
  }
  const out = { benign: [] as FeedbackExample[], malicious: [] as FeedbackExample[] };
  for (const ex of latest.values()) out[ex.verdict].push(ex);
  return out;
}

/**
 * The pair examples of one model in the label format `seclake calibrate --labels` reads (JSON lines
 * `{"finding_uid","entity","ip","label":"false_positive"|"true_positive"}`: benign = false positive, malicious = true
 * positive). Behaviour findings (no address) are left out: calibrate takes labels for pair models only. Returns the
 * text and how many examples of each kind it holds.
 */
export function feedbackLabelsJsonl(lakeDir: string, modelName: string): { text: string; false_positives: number; true_positives: number; without_ip: number } {
  const ex = feedbackExamples(lakeDir, modelName);
  const lines: string[] = [];
  let fp = 0;
  let tp = 0;
  let without = 0;
  for (const e of [...ex.benign, ...ex.malicious]) {
    if (e.ip === undefined) {
      without++;
      continue;
    }
    const label = e.verdict === 'benign' ? 'false_positive' : 'true_positive';
    if (label === 'false_positive') fp++;
    else tp++;
    lines.push(JSON.stringify({ finding_uid: e.finding_uid, entity: e.entity, ip: e.ip, label }));
  }
  return { text: lines.map((l) => l + '\n').join(''), false_positives: fp, true_positives: tp, without_ip: without };
}

/** How many findings of the lake each suppression has silenced (`unmapped.suppressed_by`), and the latest one's time. */
export interface SuppressionHits {
  count: number;
  /** Event time (epoch ms) of the latest finding it silenced. */
  last_time: number | null;
}

/**
 * Findings the monitor wrote as suppressed, counted by suppression id (from the `findings` view's raw findings). An
 * S3 lake is refused like everywhere in feedback.
 */
export async function suppressionHits(lakeDir: string, opts: { db?: Duck } = {}): Promise<Map<string, SuppressionHits>> {
  refuseS3(lakeDir);
  const db = opts.db ?? (await openLakeQuery(lakeDir, { views: [findingsView] }));
  try {
    if (!(await hasView(db, 'findings'))) await createLakeViews(db, lakeDir, { views: [findingsView] });
    const rows = await db.all(
      `SELECT "sid", count(*)::INTEGER AS "n", max("time") AS "last" FROM ` +
        `(SELECT json_extract_string("finding", '$.unmapped.suppressed_by') AS "sid", "time" FROM "findings") ` +
        `WHERE "sid" IS NOT NULL GROUP BY "sid"`,
    );
    const out = new Map<string, SuppressionHits>();
    for (const r of rows) out.set(String(r.sid), { count: Number(r.n), last_time: r.last === null || r.last === undefined ? null : Number(r.last) });
    return out;
  } finally {
    if (!opts.db) db.close();
  }
}
