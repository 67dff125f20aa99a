/**
 * The demo environment generator: several days of history written as AWS delivers raw logs (one object per
 * source per delivery interval, gzip, S3 key layout), labelled attacks in the last part of the history, the
 * ground truth in `labels.jsonl`, and a live mode that keeps writing small objects for the current time.
 *
 * Deterministic: the same options (seed, days, end, attacks) give byte-identical files. Each delivery window
 * draws from its own generator seeded by (seed, window start), so the history does not depend on how it is cut
 * into objects beyond the window boundaries, and live windows never repeat history.
 */
import { mkdirSync, renameSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { loadDemoNetworks, type DemoNetworks } from './asn-pools.js';
import { ATTACK_KINDS, ATTACK_SPECS, hourlyEgress, planAttack, type AttackKind, type AttackPlan } from './attacks.js';
import { buildEnvironment, describeEnvironment, type DemoEnvironment, type Instance } from './environment.js';
import { objectKey, objectText, type LogKind, type RawRecord } from './records.js';
import { emptyWindow, employeeSessions, HOUR, normalTraffic, type VolumeOptions } from './traffic.js';
import { behaviourOf, type AttackLabel, type LabelRecord } from './labels.js';

export const DAY = 24 * HOUR;
export const LOGS_DIR = 'logs';
export const LABELS_FILE = 'labels.jsonl';
export const MANIFEST_FILE = 'manifest.json';

export interface GenerateOptions {
  /** Output folder: `<out>/logs/AWSLogs/...`, `<out>/labels.jsonl`, `<out>/manifest.json`. */
  out: string;
  /** Days of history (default 4). */
  days?: number;
  /**
   * Days of console sign-in history (default 30; at least `days`): before the `days` of full history, the employees'
   * sign-ins and console calls alone (CloudTrail), one object a day. Users sign in a few times a day: a model of
   * who signs in from where needs weeks of them, as a security team would train it, where the network models learn
   * from hours of flows.
   */
  signInDays?: number;
  seed?: number;
  /** End of the history, epoch ms (default: the current hour, rounded down). */
  end?: number;
  /** Attacks to inject into the last `attackDays` of the history, in this order of kinds (default: all of ATTACK_KINDS). */
  attacks?: readonly AttackKind[];
  /** Length of the attack period at the end of the history, in days (default 1). Before it the history is clean. */
  attackDays?: number;
  /** Delivery interval of the history objects in minutes (default 60). */
  objectMinutes?: number;
  volume?: VolumeOptions;
  /** ASN table file (default: the bundled @ip-location-db/asn table). */
  asnTable?: string;
  /** Already loaded networks (tests and the pipeline share one). */
  networks?: DemoNetworks;
}

export interface GeneratedObject {
  /** Path relative to `<out>/logs` (the S3 key). */
  key: string;
  kind: LogKind;
  records: number;
  /** Event time range, epoch ms. */
  start: number;
  end: number;
}

export interface GenerateResult {
  out: string;
  logsDir: string;
  labelsFile: string;
  env: DemoEnvironment;
  seed: number;
  /** Start of the full history (every log kind). */
  start: number;
  /** Start of the sign-in history (CloudTrail sign-ins and console calls only until `start`); <= start. */
  signInStart: number;
  end: number;
  /** Attacks happen at or after this instant; everything before it is normal traffic. */
  attackStart: number;
  objects: GeneratedObject[];
  labels: AttackLabel[];
  records: Record<LogKind, number>;
  elapsed_ms: number;
}

export const DEFAULTS = { days: 4, signInDays: 30, seed: 7, attackDays: 1, objectMinutes: 60 } as const;

/** Window-specific generator: a mix of the seed and the window start (minutes). */
export function windowRng(seed: number, t0: number, salt = 0): Rng {
  const minutes = Math.floor(t0 / 60_000);
  return new Rng((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(minutes >>> 0, 0x85ebca6b) ^ Math.imul(Math.floor(minutes / 2 ** 32) + salt, 0xc2b2ae35)) >>> 0);
}

/** Writes objects and turns attack-tagged records into label records. */
export class ObjectWriter {
  /** `stagingDir`: where objects are written before the rename (default: next to the object, as a dot file). */
  constructor(
    private readonly env: DemoEnvironment,
    readonly logsDir: string,
    private readonly stagingDir?: string,
  ) {
    if (stagingDir) mkdirSync(stagingDir, { recursive: true });
  }

  /**
   * Write one object per log kind that has records (sorted by time), delivered at `deliveredMs`. Written to a
   * temporary name and renamed, so a folder watcher never sees half an object. Returns the objects and, per attack,
   * the label records of its tagged records.
   */
  write(byKind: Record<LogKind, RawRecord[]>, deliveredMs: number): { objects: GeneratedObject[]; tagged: Map<string, LabelRecord[]> } {
    const objects: GeneratedObject[] = [];
    const tagged = new Map<string, LabelRecord[]>();
    for (const kind of ['vpc_flow', 'route53', 'cloudtrail'] as const) {
      const recs = byKind[kind];
      if (recs.length === 0) continue;
      const { text, positions } = objectText(kind, recs);
      const key = objectKey(this.env, kind, deliveredMs, text);
      const file = path.join(this.logsDir, key);
      mkdirSync(path.dirname(file), { recursive: true });
      const tmp = path.join(this.stagingDir ?? path.dirname(file), `.${path.basename(file)}.tmp`);
      writeFileSync(tmp, gzipSync(text, { level: 6 }));
      renameSync(tmp, file);
      let start = Infinity;
      let end = -Infinity;
      recs.forEach((r, i) => {
        if (r.t < start) start = r.t;
        if (r.t > end) end = r.t;
        if (r.tag) {
          const list = tagged.get(r.tag.attackId) ?? [];
          list.push({
            file: key,
            position: positions[i]!,
            view: r.tag.view,
            time: r.t,
            ...(r.tag.entity !== undefined ? { entity: r.tag.entity } : {}),
            ...(r.tag.ip !== undefined ? { ip: r.tag.ip } : {}),
          });
          tagged.set(r.tag.attackId, list);
        }
      });
      objects.push({ key, kind, records: recs.length, start, end });
    }
    return { objects, tagged };
  }
}

export function labelOf(env: DemoEnvironment, plan: AttackPlan, records: LabelRecord[]): AttackLabel {
  const names = new Map(env.instances.map((i) => [i.id, i.name]));
  records.sort((a, b) => a.time - b.time || a.file.localeCompare(b.file) || a.position - b.position);
  return {
    attack_id: plan.id,
    kind: plan.kind,
    category: plan.category,
    start: new Date(plan.start).toISOString(),
    end: new Date(plan.end).toISOString(),
    start_ms: plan.start,
    end_ms: plan.end,
    entity: plan.entities[0]!,
    entities: plan.entities,
    entity_names: plan.entities.map((e) => names.get(e) ?? e),
    ips: plan.ips,
    description: plan.description,
    details: plan.details,
    behaviour: behaviourOf(records),
    records,
  };
}

function parseKinds(kinds: readonly string[]): AttackKind[] {
  for (const k of kinds) {
    if (!(ATTACK_KINDS as readonly string[]).includes(k)) throw new ConfigError(`unknown attack kind '${k}' (known: ${ATTACK_KINDS.join(', ')})`, ['attacks']);
  }
  return kinds as AttackKind[];
}

/** One scheduled attack: its kind, start and the longest it may last (its slot's room). */
export interface ScheduledAttack {
  kind: AttackKind;
  start: number;
  budgetMs: number;
}

/**
 * Attack start times spread over [from, to): from the first full hour (so no behaviour window mixes the clean
 * history and an attack), one slot per attack in the given order, each slot as long as its kind's longest duration
 * plus an hour (shared out over the period), the attack at a seeded time inside its slot, leaving room for it to end
 * inside the slot.
 */
/** How long before the history's end its last closable hourly window ends: the monitor's default lateness (10 min) and some slack. */
export const ATTACK_CLOSE_MARGIN_MS = 15 * 60_000;

export function scheduleAttacks(kinds: readonly AttackKind[], from: number, to: number, rng: Rng): ScheduledAttack[] {
  const aligned = Math.ceil(from / HOUR) * HOUR;
  const t0 = to - aligned >= 2 * HOUR ? aligned : from;
  const weights = kinds.map((k) => ATTACK_SPECS[k].maxMinutes * 60_000 + HOUR);
  const total = weights.reduce((a, b) => a + b, 0);
  let slotStart = t0;
  return kinds.map((kind, k) => {
    const len = ((to - t0) * weights[k]!) / total;
    const budgetMs = Math.max(60_000, Math.min(ATTACK_SPECS[kind].maxMinutes * 60_000, len * 0.8 - 5 * 60_000));
    const start = Math.floor(slotStart + len * 0.1 + rng.next() * Math.max(0, len * 0.9 - budgetMs - 5 * 60_000));
    slotStart += len;
    return { kind, start, budgetMs };
  });
}

/** Add each instance's egress bytes of a window's normal flow records to per-hour totals. */
function addEgress(into: Map<number, Map<string, number>>, flows: readonly RawRecord[]): void {
  for (const r of flows) {
    if (!r.text.includes(' egress ')) continue;
    const f = r.text.split(' ');
    // fields: 9 bytes, 16 instance-id, 27 flow-direction
    if (f[27] !== 'egress') continue;
    const h = Math.floor(r.t / HOUR);
    const m = into.get(h) ?? into.set(h, new Map()).get(h)!;
    m.set(f[16]!, (m.get(f[16]!) ?? 0) + Number(f[9]));
  }
}

export async function generateDemo(opts: GenerateOptions): Promise<GenerateResult> {
  const t0 = performance.now();
  const days = opts.days ?? DEFAULTS.days;
  const seed = opts.seed ?? DEFAULTS.seed;
  const attackDays = opts.attackDays ?? DEFAULTS.attackDays;
  const objectMinutes = opts.objectMinutes ?? DEFAULTS.objectMinutes;
  if (!(days > 0) || days > 60) throw new ConfigError(`days must be in (0, 60], got ${days}`, ['days']);
  if (!(attackDays >= 0) || attackDays >= days) throw new ConfigError(`the attack period (${attackDays} d) must be shorter than the history (${days} d)`, ['attack-days']);
  if (!Number.isInteger(objectMinutes) || objectMinutes < 1 || objectMinutes > 1440) throw new ConfigError(`objectMinutes must be an integer from 1 to 1440, got ${objectMinutes}`, ['object-minutes']);
  const kinds = parseKinds(opts.attacks ?? ATTACK_KINDS);
  const end = opts.end ?? Math.floor(Date.now() / HOUR) * HOUR;
  const start = end - Math.round(days * DAY);
  const signInDays = opts.signInDays ?? DEFAULTS.signInDays;
  if (!(signInDays >= 0) || signInDays > 365) throw new ConfigError(`signInDays must be in [0, 365], got ${signInDays}`, ['sign-in-days']);
  const signInStart = Math.min(start, end - Math.round(signInDays * DAY));
  const attackStart = end - Math.round(attackDays * DAY);
  const nets = opts.networks ?? (await loadDemoNetworks(opts.asnTable));
  const env = buildEnvironment(nets, { seed });

  const out = path.resolve(opts.out);
  const logsDir = path.join(out, LOGS_DIR);
  mkdirSync(logsDir, { recursive: true });
  const writer = new ObjectWriter(env, logsDir);

  // Attacks: scheduled up front, planned when the window they start in is generated (after its normal traffic, so
  // an attack that measures its host's usual traffic sees the history up to its start); their records are merged
  // into the windows they fall in.
  const schedRng = new Rng((seed ^ 0xa77ac4) >>> 0);
  // The attacks end before the history's last, still open hour: a window detector reports an hour once it closes (its
  // newest event minus the lateness passes the hour's end), which the last hour of a history that stops at `end`
  // never does; an attack there could be found by no behaviour detector, whatever its quality.
  const attackEnd = Math.max(attackStart + HOUR, Math.floor((end - ATTACK_CLOSE_MARGIN_MS) / HOUR) * HOUR);
  const schedule = attackDays > 0 && kinds.length > 0 ? scheduleAttacks(kinds, attackStart, Math.min(end, attackEnd), schedRng) : [];
  const plans: AttackPlan[] = [];
  let si = 0;
  const pending: { kind: LogKind; rec: RawRecord }[] = [];
  // Per hour, per instance: egress bytes of the normal history (kept from a day before the first attack that needs it).
  const needEgress = schedule.filter((s) => s.kind === 'exfiltration_usual_destination').map((s) => s.start);
  const egressFrom = needEgress.length > 0 ? Math.min(...needEgress) - 25 * HOUR : Infinity;
  const egress = new Map<number, Map<string, number>>();
  const usualEgress = (at: number) => (host: Instance): number[] => {
    const out: number[] = [];
    const h1 = Math.floor(at / HOUR);
    for (let h = h1 - 24; h < h1; h++) if (h * HOUR >= start) out.push(egress.get(h)?.get(host.id) ?? 0);
    return out.sort((x, y) => x - y);
  };

  const objects: GeneratedObject[] = [];
  const tagged = new Map<string, LabelRecord[]>();
  const counts: Record<LogKind, number> = { vpc_flow: 0, route53: 0, cloudtrail: 0 };
  // The sign-in history before the full history: an hour at a time (the rates follow the hour of day), one object a day.
  for (let d = signInStart; d < start; d += DAY) {
    const day = emptyWindow();
    const d1 = Math.min(start, d + DAY);
    for (let w = d; w < d1; w += HOUR) employeeSessions(env, w, Math.min(d1, w + HOUR), windowRng(seed, w, 2), day);
    for (const o of writer.write({ vpc_flow: [], route53: [], cloudtrail: day.trail }, d1).objects) {
      objects.push(o);
      counts[o.kind] += o.records;
    }
  }
  const step = objectMinutes * 60_000;
  for (let w = start; w < end; w += step) {
    const w1 = Math.min(end, w + step);
    const recs = normalTraffic({ env, nets, ...(opts.volume ? { volume: opts.volume } : {}) }, w, w1, windowRng(seed, w));
    if (w1 > egressFrom) addEgress(egress, recs.flow);
    while (si < schedule.length && schedule[si]!.start < w1) {
      const sc = schedule[si++]!;
      const plan = planAttack(env, nets, sc.kind, `A${String(si).padStart(3, '0')}-${sc.kind}`, sc.start, schedRng, {
        budgetMs: sc.budgetMs,
        usualEgress: usualEgress(sc.start),
        ...(opts.volume ? { volume: opts.volume } : {}),
      });
      plans.push(plan);
      pending.push(...plan.records);
      pending.sort((x, y) => x.rec.t - y.rec.t);
    }
    const byKind: Record<LogKind, RawRecord[]> = { vpc_flow: recs.flow, route53: recs.dns, cloudtrail: recs.trail };
    let n = 0;
    while (n < pending.length && pending[n]!.rec.t < w1) n++;
    for (const p of pending.splice(0, n)) byKind[p.kind].push(p.rec);
    const res = writer.write(byKind, w1);
    for (const o of res.objects) {
      objects.push(o);
      counts[o.kind] += o.records;
    }
    for (const [id, list] of res.tagged) tagged.set(id, [...(tagged.get(id) ?? []), ...list]);
  }
  const labels = plans.map((p) => labelOf(env, p, tagged.get(p.id) ?? []));
  const labelsFile = path.join(out, LABELS_FILE);
  writeFileSync(labelsFile, labels.map((l) => JSON.stringify(l)).join('\n') + (labels.length ? '\n' : ''));
  const result: GenerateResult = { out, logsDir, labelsFile, env, seed, start, signInStart, end, attackStart, objects, labels, records: counts, elapsed_ms: 0 };
  writeFileSync(path.join(out, MANIFEST_FILE), JSON.stringify(manifestOf(result, nets), null, 2) + '\n');
  result.elapsed_ms = Math.round(performance.now() - t0);
  return result;
}

export function manifestOf(r: GenerateResult, nets: DemoNetworks): Record<string, unknown> {
  return {
    generator: 'seclake demo generate',
    seed: r.seed,
    start: new Date(r.start).toISOString(),
    sign_in_start: new Date(r.signInStart).toISOString(),
    end: new Date(r.end).toISOString(),
    attack_period_start: new Date(r.attackStart).toISOString(),
    environment: describeEnvironment(r.env),
    objects: { vpc_flow: r.objects.filter((o) => o.kind === 'vpc_flow').length, route53: r.objects.filter((o) => o.kind === 'route53').length, cloudtrail: r.objects.filter((o) => o.kind === 'cloudtrail').length },
    records: r.records,
    attacks: r.labels.map((l) => ({ attack_id: l.attack_id, kind: l.kind, category: l.category, start: l.start, end: l.end, description: l.description, records: l.records.length })),
    asn_table: `${nets.source} (CC BY 4.0: RouteViews, DB-IP, NRO)`,
  };
}

export interface LiveOptions {
  env: DemoEnvironment;
  nets: DemoNetworks;
  seed: number;
  /** Folder the live objects go to (`<dir>/AWSLogs/...`). */
  logsDir: string;
  /** Objects are written here first and renamed into logsDir (same file system; keep it outside a watched folder). */
  stagingDir?: string;
  /** Labels of live attacks are appended here. */
  labelsFile: string;
  /** Mean time between attacks in ms (default 90 s); 0 = no attacks. */
  attackEveryMs?: number;
  kinds?: readonly AttackKind[];
  volume?: VolumeOptions;
}

export interface LiveTick {
  objects: GeneratedObject[];
  /** Attacks started in this tick. */
  started: AttackPlan[];
  /** Attacks whose records are now all written (their labels were appended). */
  completed: AttackLabel[];
}

/**
 * Keeps the environment alive: each `tick(now)` writes the records of [previous tick, now) as small objects,
 * sometimes starting an attack whose records follow over the next minutes.
 */
export class LiveGenerator {
  private last: number;
  private readonly writer: ObjectWriter;
  private pending: { kind: LogKind; rec: RawRecord }[] = [];
  private readonly open = new Map<string, { plan: AttackPlan; left: number; records: LabelRecord[] }>();
  private attackCount = 0;
  private readonly rng: Rng;
  private readonly egressCache = new Map<string, number[]>();

  constructor(
    private readonly opts: LiveOptions,
    from: number,
  ) {
    this.last = from;
    this.writer = new ObjectWriter(opts.env, opts.logsDir, opts.stagingDir);
    this.rng = new Rng((opts.seed ^ 0x11fe) >>> 0);
    mkdirSync(opts.logsDir, { recursive: true });
  }

  get lastTick(): number {
    return this.last;
  }

  /** Start an attack now (also used by the random schedule). */
  startAttack(kind: AttackKind, at: number): AttackPlan {
    this.attackCount++;
    const volume = this.opts.volume ? { volume: this.opts.volume } : {};
    // The live generator keeps no history: an exfiltration measures its host's usual hours on a day of drawn
    // traffic (hourlyEgress), once per host and hour.
    const usualEgress = (host: Instance): number[] => {
      const k = `${host.id}@${Math.floor(at / HOUR)}`;
      let v = this.egressCache.get(k);
      if (!v) {
        v = hourlyEgress({ env: this.opts.env, nets: this.opts.nets, ...volume }, host, at);
        this.egressCache.set(k, v);
      }
      return v;
    };
    const plan = planAttack(this.opts.env, this.opts.nets, kind, `L${String(this.attackCount).padStart(3, '0')}-${kind}`, at, this.rng, { ...volume, usualEgress });
    this.pending.push(...plan.records);
    this.pending.sort((a, b) => a.rec.t - b.rec.t);
    this.open.set(plan.id, { plan, left: plan.records.length, records: [] });
    return plan;
  }

  tick(now: number): LiveTick {
    const w0 = this.last;
    const started: AttackPlan[] = [];
    if (now <= w0) return { objects: [], started, completed: [] };
    const every = this.opts.attackEveryMs ?? 90_000;
    const kinds = this.opts.kinds ?? ATTACK_KINDS;
    if (every > 0 && kinds.length > 0 && this.rng.next() < (now - w0) / every) {
      started.push(this.startAttack(kinds[this.rng.int(kinds.length)]!, w0 + Math.floor(this.rng.next() * (now - w0))));
    }
    const recs = normalTraffic({ env: this.opts.env, nets: this.opts.nets, ...(this.opts.volume ? { volume: this.opts.volume } : {}) }, w0, now, windowRng(this.opts.seed, w0, 1));
    const byKind: Record<LogKind, RawRecord[]> = { vpc_flow: recs.flow, route53: recs.dns, cloudtrail: recs.trail };
    let n = 0;
    while (n < this.pending.length && this.pending[n]!.rec.t < now) n++;
    for (const p of this.pending.splice(0, n)) byKind[p.kind].push(p.rec);
    const { objects, tagged } = this.writer.write(byKind, now);
    const completed: AttackLabel[] = [];
    for (const [id, list] of tagged) {
      const o = this.open.get(id);
      if (!o) continue;
      o.records.push(...list);
      o.left -= list.length;
      if (o.left <= 0) {
        const label = labelOf(this.opts.env, o.plan, o.records);
        appendFileSync(this.opts.labelsFile, JSON.stringify(label) + '\n');
        completed.push(label);
        this.open.delete(id);
      }
    }
    this.last = now;
    return { objects, started, completed };
  }

  /**
   * Stop: attacks whose records are only partly written get a label with those records (`details.partial` = true,
   * the end = the last written record), so every attack record in the logs is labelled; unwritten records are dropped.
   */
  close(): AttackLabel[] {
    const out: AttackLabel[] = [];
    for (const [id, o] of this.open) {
      if (o.records.length === 0) continue;
      const end = Math.max(...o.records.map((r) => r.time));
      const label = labelOf(this.opts.env, { ...o.plan, end, details: { ...o.plan.details, partial: true } }, o.records);
      appendFileSync(this.opts.labelsFile, JSON.stringify(label) + '\n');
      out.push(label);
      this.open.delete(id);
    }
    this.open.clear();
    this.pending = [];
    return out;
  }
}
