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
import { ATTACK_KINDS, planAttack, type AttackKind, type AttackPlan } from './attacks.js';
import { buildEnvironment, describeEnvironment, type DemoEnvironment } from './environment.js';
import { objectKey, objectText, type LogKind, type RawRecord } from './records.js';
import { HOUR, normalTraffic, type VolumeOptions } from './traffic.js';
import type { AttackLabel, LabelRecord } from './labels.js';

export const DAY = 24 * HOUR;
export const LOGS_DIR = 'logs';
export const LABELS_FILE = 'labels.jsonl';
export const MANIFEST_FILE = 'manifest.json';

export interface GenerateOptions {
  /** Output folder: `<out>/logs/AWSLogs/...`, `<out>/labels.jsonl`, `<out>/manifest.json`. */
  out: string;
  /** Days of history (default 4). */
  days?: number;
  seed?: number;
  /** End of the history, epoch ms (default: the current hour, rounded down). */
  end?: number;
  /** Attacks to inject into the last `attackDays` of the history, in this order of kinds (default: all five). */
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
  start: number;
  end: number;
  /** Attacks happen at or after this instant; everything before it is normal traffic. */
  attackStart: number;
  objects: GeneratedObject[];
  labels: AttackLabel[];
  records: Record<LogKind, number>;
  elapsed_ms: number;
}

export const DEFAULTS = { days: 4, seed: 7, attackDays: 1, objectMinutes: 60 } as const;

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
    records,
  };
}

function parseKinds(kinds: readonly string[]): AttackKind[] {
  for (const k of kinds) {
    if (!(ATTACK_KINDS as readonly string[]).includes(k)) throw new ConfigError(`unknown attack kind '${k}' (known: ${ATTACK_KINDS.join(', ')})`, ['attacks']);
  }
  return kinds as AttackKind[];
}

/** Attack start times spread over [from, to): one slot per attack, a seeded time inside each slot's middle 70%. */
export function scheduleAttacks(kinds: readonly AttackKind[], from: number, to: number, rng: Rng): { kind: AttackKind; start: number }[] {
  const slot = (to - from) / Math.max(1, kinds.length);
  // Keep 45 min at the end of a slot free so every attack (the longest takes ~20 min) ends inside the history.
  return kinds.map((kind, k) => ({ kind, start: Math.floor(from + slot * k + Math.max(0, Math.min(slot - 0.75 * HOUR, slot * (0.15 + 0.7 * rng.next())))) }));
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
  const attackStart = end - Math.round(attackDays * DAY);
  const nets = opts.networks ?? (await loadDemoNetworks(opts.asnTable));
  const env = buildEnvironment(nets, { seed });

  const out = path.resolve(opts.out);
  const logsDir = path.join(out, LOGS_DIR);
  mkdirSync(logsDir, { recursive: true });
  const writer = new ObjectWriter(env, logsDir);

  // Attacks: planned up front; their records are merged into the windows they fall in.
  const schedRng = new Rng((seed ^ 0xa77ac4) >>> 0);
  const plans = attackDays > 0 && kinds.length > 0
    ? scheduleAttacks(kinds, attackStart, end, schedRng).map((s, k) => planAttack(env, nets, s.kind, `A${String(k + 1).padStart(3, '0')}-${s.kind}`, s.start, schedRng))
    : [];
  const pending: { kind: LogKind; rec: RawRecord }[] = plans.flatMap((p) => p.records).sort((a, b) => a.rec.t - b.rec.t);
  let pi = 0;

  const objects: GeneratedObject[] = [];
  const tagged = new Map<string, LabelRecord[]>();
  const counts: Record<LogKind, number> = { vpc_flow: 0, route53: 0, cloudtrail: 0 };
  const step = objectMinutes * 60_000;
  for (let w = start; w < end; w += step) {
    const w1 = Math.min(end, w + step);
    const recs = normalTraffic({ env, nets, ...(opts.volume ? { volume: opts.volume } : {}) }, w, w1, windowRng(seed, w));
    const byKind: Record<LogKind, RawRecord[]> = { vpc_flow: recs.flow, route53: recs.dns, cloudtrail: recs.trail };
    while (pi < pending.length && pending[pi]!.rec.t < w1) {
      const p = pending[pi++]!;
      byKind[p.kind].push(p.rec);
    }
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
  const result: GenerateResult = { out, logsDir, labelsFile, env, seed, start, end, attackStart, objects, labels, records: counts, elapsed_ms: 0 };
  writeFileSync(path.join(out, MANIFEST_FILE), JSON.stringify(manifestOf(result, nets), null, 2) + '\n');
  result.elapsed_ms = Math.round(performance.now() - t0);
  return result;
}

export function manifestOf(r: GenerateResult, nets: DemoNetworks): Record<string, unknown> {
  return {
    generator: 'seclake demo generate',
    seed: r.seed,
    start: new Date(r.start).toISOString(),
    end: new Date(r.end).toISOString(),
    attack_period_start: new Date(r.attackStart).toISOString(),
    environment: describeEnvironment(r.env),
    objects: { vpc_flow: r.objects.filter((o) => o.kind === 'vpc_flow').length, route53: r.objects.filter((o) => o.kind === 'route53').length, cloudtrail: r.objects.filter((o) => o.kind === 'cloudtrail').length },
    records: r.records,
    attacks: r.labels.map((l) => ({ attack_id: l.attack_id, kind: l.kind, start: l.start, end: l.end, description: l.description, records: l.records.length })),
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
    const plan = planAttack(this.opts.env, this.opts.nets, kind, `L${String(this.attackCount).padStart(3, '0')}-${kind}`, at, this.rng);
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
