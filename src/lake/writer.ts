/**
 * The lake writer: OCSF events in, Parquet objects out, published atomically through the catalog.
 *
 * Events are routed to a partition (source, class, region, account, event day) and streamed to a
 * staging JSON-lines file per partition part (bounded memory). A part that reaches `rowsPerObject`
 * is converted by DuckDB to a zstd Parquet object (rows sorted by time, nested OCSF objects as
 * structs, lists as 3-level LISTs) while parsing continues. `publish()` then renames the staged
 * objects to names derived from the input's content hash and appends them to the catalog, under the
 * lake lock. A crash before that leaves nothing visible; a re-run rewrites the same names.
 *
 * Bulk parts (`addBulk`, see BulkBatch in src/sources/types.ts) stage compact CSV rows instead of JSON
 * events and are converted with the source's SQL plan. Their Parquet schema is the generic path's:
 * the part's union shape is built from one reference event per presence mask, merged in arrival order
 * (so names, order and types are what merging every event would give). Every bulk object is checked
 * before it is published: a sample of rows mapped by SQL must equal the generic path's events, and rows
 * read back from the Parquet must validate; otherwise the input fails.
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { LakeError, errorMessage } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import { rowToEvent } from '../ocsf/from-row.js';
import { validateEvent } from '../ocsf/validate.js';
import type { BulkBatch, BulkPlan } from '../core/bulk.js';
import type { EventItem, LakeSourceName, SourceHints, SourceType } from '../core/events.js';
import { OBJECT_TYPES, currentInput, publish, removeRetracted, revisionOf, withLakeLock, type CatalogInput, type CatalogObject } from './catalog.js';
import { Duck, quoteIdent, quoteString } from './duckdb.js';
import { META_DIR, eventDayOf, partitionDir, resolveInLake, type PartitionKey } from './layout.js';
import { BulkPlanError, mergeEvent, readJsonColumns, selectFromShape, type Shape } from './shape.js';

export const DEFAULT_ROWS_PER_OBJECT = 250_000;
/**
 * Rows per Parquet row group (both paths). DuckDB's Parquet writer holds a row group of the wide OCSF
 * rows in memory: at DuckDB's default of 122,880 one conversion of a VPC flow part peaks near 420 MB,
 * at 30,720 near 210 MB, so two conversions run at once well under the 1 GB budget; files grow ~4% and
 * the write is no slower (measured on 250k-row parts).
 */
export const ROW_GROUP_SIZE = 30_720;

/** Bulk canary: the first rows of every part, plus the first row of every presence mask, up to a cap. */
const CANARY_FIRST_ROWS = 64;
const CANARY_MAX_ROWS = 256;
/** Rows read back from every bulk object and validated. */
const READBACK_ROWS = 256;

interface BulkState {
  plan: BulkPlan;
  masks: Set<number>;
  lastMask: number;
  /** Rows arrived in (time, line) order: the COPY needs no sort. */
  sorted: boolean;
  lastTime: number;
  canary: { line: number; text: string; raw: string }[];
}

interface Part {
  key: PartitionKey;
  /** Key in LakeWriter.parts. */
  mapKey: string;
  dayStart: number;
  index: number;
  /** Staged rows: JSON lines (generic) or CSV (bulk). */
  staged: string;
  parquet: string;
  fd: number;
  buf: string[];
  bufLen: number;
  rows: number;
  timeMin: number;
  timeMax: number;
  shape: Shape & { k: 'struct' };
  bulk?: BulkState;
}

export interface StagedObject {
  key: PartitionKey;
  index: number;
  staged: string;
  rows: number;
  timeMin: number;
  timeMax: number;
}

export interface WriterOptions {
  rowsPerObject?: number;
}

function partKey(k: PartitionKey): string {
  return `${k.source}|${k.classUid}|${k.region}|${k.accountId}|${k.eventDay}`;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

const DAY_MS = 86_400_000;

/** Region and account of one event: from the event, then from hints, else `unknown`. */
function regionAccount(e: Record<string, unknown>, hints: SourceHints): [string, string] {
  const cloud = (e.cloud ?? {}) as Record<string, unknown>;
  const account = (cloud.account ?? {}) as Record<string, unknown>;
  let acct = str(account.uid);
  if (!acct) {
    const actorUser = (((e.actor ?? {}) as Record<string, unknown>).user ?? {}) as Record<string, unknown>;
    acct = str(((actorUser.account ?? {}) as Record<string, unknown>).uid);
  }
  return [str(cloud.region) ?? hints.region ?? 'unknown', acct ?? hints.accountId ?? 'unknown'];
}

/** Partition of one event (source, class, region, account, UTC day of `time`). */
export function partitionOf(item: EventItem, hints: SourceHints): PartitionKey {
  const [region, accountId] = regionAccount(item.event, hints);
  return { source: item.lakeSource, classUid: Number(item.event.class_uid), region, accountId, eventDay: eventDayOf(Number(item.event.time)) };
}

/** Writes one input's events. One writer per input; several writers may share a Duck. */
export class LakeWriter {
  private readonly parts = new Map<string, Part>();
  private readonly finished: Part[] = [];
  private readonly partCounts = new Map<string, number>();
  private readonly rowsPerObject: number;
  /**
   * DuckDB instances converting parts, one part at a time each. Closed parts wait in `pending`; a free
   * converter takes the largest (generic parts only the first converter: their JSON staging is large).
   */
  private readonly converters: { duck: Duck; busy: boolean }[];
  private readonly pending: Part[] = [];
  private readonly active = new Set<Promise<void>>();

  private convertError: unknown;
  /** The part the previous event went to: consecutive events usually share it. */
  private last: Part | undefined;
  private lastBulk: Part | undefined;
  private readonly planIds = new Map<BulkPlan, number>();
  readonly stagingDir: string;
  rows = 0;

  constructor(
    readonly lakeDir: string,
    duck: Duck,
    runId: string,
    opts: WriterOptions = {},
    /** More DuckDB instances (e.g. single-threaded) to convert bulk parts concurrently with the first. */
    moreConverters: readonly Duck[] = [],
  ) {
    this.converters = [duck, ...moreConverters].map((d) => ({ duck: d, busy: false }));
    this.rowsPerObject = opts.rowsPerObject ?? DEFAULT_ROWS_PER_OBJECT;
    this.stagingDir = path.join(lakeDir, META_DIR, 'staging', runId);
    mkdirSync(this.stagingDir, { recursive: true });
  }

  /**
   * Add one event (already derived and validated). Returns an error message if the event cannot be
   * stored in its schema types; then nothing was written and the caller quarantines it.
   */
  add(item: EventItem, hints: SourceHints): string | undefined {
    if (this.convertError) throw this.convertError;
    const e = item.event;
    const t = Number(e.time);
    const [region, accountId] = regionAccount(e, hints);
    let part = this.last;
    if (
      !part ||
      part.key.source !== item.lakeSource ||
      part.key.classUid !== e.class_uid ||
      part.key.region !== region ||
      part.key.accountId !== accountId ||
      !(t >= part.dayStart && t < part.dayStart + DAY_MS)
    ) {
      const key: PartitionKey = { source: item.lakeSource, classUid: Number(e.class_uid), region, accountId, eventDay: eventDayOf(t) };
      const k = partKey(key);
      part = this.parts.get(k) ?? this.openPart(key, k);
      this.last = part;
    }
    const err = mergeEvent(part.shape, item.event, part.key.classUid);
    if (err) return err;
    const line = JSON.stringify(item.event) + '\n';
    part.buf.push(line);
    part.bufLen += line.length;
    part.rows++;
    this.rows++;
    if (t < part.timeMin) part.timeMin = t;
    if (t > part.timeMax) part.timeMax = t;
    if (part.bufLen > 1 << 20) this.flushBuf(part);
    if (part.rows >= this.rowsPerObject) this.closePart(part);
    return undefined;
  }

  /**
   * Add a batch of bulk rows (already checked by the source: every row is a valid event). Throws if a
   * reference event contradicts that, or if a conversion failed.
   */
  addBulk(b: BulkBatch, hints: SourceHints): void {
    if (this.convertError) throw this.convertError;
    const plan = b.plan;
    if (!plan || b.n === 0) return;
    // Rows are written in runs (consecutive rows of one part): one join and one write per run.
    let run: Part | undefined;
    let runStart = 0;
    for (let i = 0; i < b.n; i++) {
      const t = b.time[i]!;
      const region = b.region[i] || hints.region || 'unknown';
      const accountId = b.account[i] || hints.accountId || 'unknown';
      let part = this.lastBulk;
      if (
        !part ||
        part.bulk!.plan !== plan ||
        part.key.region !== region ||
        part.key.accountId !== accountId ||
        !(t >= part.dayStart && t < part.dayStart + DAY_MS)
      ) {
        const key: PartitionKey = { source: plan.lakeSource, classUid: plan.classUid, region, accountId, eventDay: eventDayOf(t) };
        let id = this.planIds.get(plan);
        if (id === undefined) this.planIds.set(plan, (id = this.planIds.size));
        const k = `bulk${id}|${partKey(key)}`;
        part = this.parts.get(k) ?? this.openPart(key, k, plan);
        this.lastBulk = part;
      }
      if (part !== run) {
        if (run) this.writeRun(run, b, runStart, i);
        run = part;
        runStart = i;
      }
      const bs = part.bulk!;
      const mask = b.mask[i]!;
      if (mask !== bs.lastMask) {
        if (!bs.masks.has(mask)) this.newMask(part, b, i);
        bs.lastMask = mask;
      }
      if (part.rows < CANARY_FIRST_ROWS) bs.canary.push({ line: b.line[i]!, text: b.text[i]!, raw: b.raw[i]! });
      part.rows++;
      this.rows++;
      if (t < bs.lastTime) bs.sorted = false;
      bs.lastTime = t;
      if (t < part.timeMin) part.timeMin = t;
      if (t > part.timeMax) part.timeMax = t;
      if (part.rows >= this.rowsPerObject) {
        this.writeRun(part, b, runStart, i + 1);
        run = undefined;
        this.closePart(part);
      }
    }
    if (run) this.writeRun(run, b, runStart, b.n);
  }

  /**
   * Append rows `from..to` (exclusive) of a batch to a bulk part's staged CSV: contiguous rows that are
   * their input bytes (`b.off`) are written straight from the input buffer, the others as text.
   */
  private writeRun(part: Part, b: BulkBatch, from: number, to: number): void {
    if (to <= from) return;
    const off = b.off;
    const bytes = b.bytes;
    if (!off || !bytes) {
      const text = from === 0 && to === b.n ? b.text : b.text.slice(from, to);
      writeSync(part.fd, text.join('\n') + '\n');
      return;
    }
    let segStart = -1;
    let segEnd = -1;
    let texts: string[] = [];
    for (let i = from; i < to; i++) {
      const o = off[i]!;
      if (o >= 0) {
        if (o === segEnd) {
          segEnd = o + b.text[i]!.length + 1;
          continue;
        }
        if (texts.length > 0) {
          writeSync(part.fd, texts.join('\n') + '\n');
          texts = [];
        }
        if (segEnd > segStart) writeAll(part.fd, bytes, segStart, segEnd);
        segStart = o;
        segEnd = o + b.text[i]!.length + 1;
      } else {
        if (segEnd > segStart) writeAll(part.fd, bytes, segStart, segEnd);
        segStart = segEnd = -1;
        texts.push(b.text[i]!);
      }
    }
    if (texts.length > 0) writeSync(part.fd, texts.join('\n') + '\n');
    if (segEnd > segStart) writeAll(part.fd, bytes, segStart, segEnd);
  }

  /** First row of a presence mask in a part: its reference event extends the shape and is checked. */
  private newMask(part: Part, b: BulkBatch, i: number): void {
    const bs = part.bulk!;
    const line = b.line[i]!;
    let ev;
    try {
      ev = bs.plan.reference(b.raw[i]!);
    } catch (err) {
      throw new LakeError(`bulk path: line ${line}: ${errorMessage(err)}`, { cause: err });
    }
    // Warnings are the reader's to count (it validates records it is not sure of); errors mean a row
    // that the generic path would have rejected.
    const errors = validateEvent(ev).filter((x) => x.severity === 'error');
    if (errors.length > 0) {
      throw new LakeError(
        `bulk path: the event of line ${line} is not valid OCSF ("${errors[0]!.message}") although the source's bulk reader ` +
          `passed it; ingest this input with --no-bulk and report the problem`,
      );
    }
    const err = mergeEvent(part.shape, ev, part.key.classUid);
    if (err) throw new LakeError(`bulk path: line ${line}: ${err}`);
    bs.masks.add(b.mask[i]!);
    if (part.rows >= CANARY_FIRST_ROWS && bs.canary.length < CANARY_MAX_ROWS) bs.canary.push({ line, text: b.text[i]!, raw: b.raw[i]! });
  }

  private openPart(key: PartitionKey, mapKey: string, plan?: BulkPlan): Part {
    const k = partKey(key);
    const index = this.partCounts.get(k) ?? 0;
    this.partCounts.set(k, index + 1);
    const base = path.join(this.stagingDir, `p${this.finished.length + this.parts.size}-${index}`);
    const staged = `${base}.${plan ? 'csv' : 'jsonl'}`;
    const part: Part = {
      key,
      mapKey,
      dayStart: key.eventDay === 'unknown' ? NaN : Date.UTC(Number(key.eventDay.slice(0, 4)), Number(key.eventDay.slice(4, 6)) - 1, Number(key.eventDay.slice(6, 8))),
      index,
      staged,
      parquet: `${base}.parquet`,
      fd: openSync(staged, 'w'),
      buf: [],
      bufLen: 0,
      rows: 0,
      timeMin: Infinity,
      timeMax: -Infinity,
      shape: { k: 'struct', fields: new Map() },
    };
    if (plan) part.bulk = { plan, masks: new Set(), lastMask: -1, sorted: true, lastTime: -Infinity, canary: [] };
    this.parts.set(mapKey, part);
    return part;
  }

  private flushBuf(part: Part): void {
    if (part.buf.length === 0) return;
    writeSync(part.fd, part.buf.join(''));
    part.buf = [];
    part.bufLen = 0;
  }

  private closePart(part: Part): void {
    this.flushBuf(part);
    closeSync(part.fd);
    this.parts.delete(part.mapKey);
    if (this.last === part) this.last = undefined;
    if (this.lastBulk === part) this.lastBulk = undefined;
    this.finished.push(part);
    // Convert in the background while parsing goes on. A Parquet write is mostly serial in DuckDB, so a
    // second core is put to use by converting two parts at once.
    this.pending.push(part);
    this.pump();
  }

  /** Start conversions on free converters. */
  private pump(): void {
    for (let ci = 0; ci < this.converters.length; ci++) {
      const c = this.converters[ci]!;
      if (c.busy) continue;
      let best = -1;
      for (let i = 0; i < this.pending.length; i++) {
        const p = this.pending[i]!;
        if ((p.bulk || ci === 0) && (best < 0 || p.rows > this.pending[best]!.rows)) best = i;
      }
      if (best < 0) continue;
      const part = this.pending.splice(best, 1)[0]!;
      c.busy = true;
      const run: Promise<void> = (part.bulk ? this.convertBulk(part, c.duck) : this.convert(part, c.duck))
        .catch((err: unknown) => {
          this.convertError ??= err;
        })
        .finally(() => {
          c.busy = false;
          this.active.delete(run);
          this.pump();
        });
      this.active.add(run);
    }
  }

  private async convert(part: Part, duck: Duck): Promise<void> {
    const sql =
      `COPY (SELECT * FROM read_json(${quoteString(part.staged)}, format = 'newline_delimited', ` +
      `columns = ${readJsonColumns(part.shape)}, maximum_object_size = 67108864) ORDER BY "time") ` +
      `TO ${quoteString(part.parquet)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`;
    try {
      await duck.run(sql);
    } catch (err) {
      throw new LakeError(`writing Parquet for ${partitionDir(part.key)} failed: ${errorMessage(err)}`, { cause: err });
    }
    rmSync(part.staged, { force: true });
  }

  /**
   * Convert a bulk part: sort the staged rows (flat, cheap to sort) unless they arrived in order, map
   * them with the plan, write Parquet. Then check the object (see the module comment).
   */
  private async convertBulk(part: Part, duck: Duck): Promise<void> {
    const bs = part.bulk!;
    const plan = bs.plan;
    let select: string;
    try {
      select = selectFromShape(part.shape, plan.exprs);
    } catch (err) {
      if (err instanceof BulkPlanError) throw new LakeError(`bulk path: ${err.message}; ingest this input with --no-bulk and report the problem`, { cause: err });
      throw err;
    }
    // Time ties keep no particular order (as in the generic path's ORDER BY "time").
    const rows = bs.sorted ? stagedRows(part.staged, plan, false) : `${stagedRows(part.staged, plan, false)} ORDER BY ${plan.time}`;
    try {
      await duck.run(`COPY (SELECT ${select} FROM (${rows})) TO ${quoteString(part.parquet)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`);
    } catch (err) {
      throw new LakeError(`writing Parquet for ${partitionDir(part.key)} failed: ${errorMessage(err)}`, { cause: err });
    }
    rmSync(part.staged, { force: true });
    await this.checkBulk(part, select, duck);
  }

  /** The run-time canary of a bulk object. Throws a LakeError naming the line or row on any difference. */
  private async checkBulk(part: Part, select: string, duck: Duck): Promise<void> {
    const bs = part.bulk!;
    const plan = bs.plan;
    const where = partitionDir(part.key);
    // 1. Sampled rows, mapped by the same SQL, equal the generic path's events.
    const canaryFile = part.staged.replace(/\.csv$/, '.canary.csv');
    writeFileSync(canaryFile, bs.canary.map((r) => `${r.line} ${r.text}\n`).join(''));
    const byLine = new Map(bs.canary.map((r) => [r.line, r.raw]));
    const mapped = await duck.all(`SELECT c0 AS "__line", ${select} FROM (${stagedRows(canaryFile, plan, true)}) ORDER BY c0`);
    rmSync(canaryFile, { force: true });
    if (mapped.length !== byLine.size) throw new LakeError(`bulk check (${where}): ${mapped.length} of ${byLine.size} sampled rows came back`);
    for (const row of mapped) {
      const line = Number(row.__line);
      const got = rowToEvent(row, { dropColumns: ['__line'] });
      const want = JSON.parse(JSON.stringify(plan.reference(byLine.get(line)!))) as Record<string, unknown>;
      if (!isDeepStrictEqual(got, want)) {
        throw new LakeError(
          `bulk check (${where}): line ${line} maps to a different event than the generic path ` +
            `(${firstDifference(want, got)}); ingest this input with --no-bulk and report the problem`,
        );
      }
    }
    // 2. Rows read back from the object validate and are time-sorted.
    const back = await duck.all(`SELECT * FROM read_parquet(${quoteString(part.parquet)}) LIMIT ${READBACK_ROWS}`);
    let prev = -Infinity;
    back.forEach((row, i) => {
      const ev = rowToEvent(row);
      const errors = validateEvent(ev).filter((x) => x.severity === 'error');
      if (errors.length > 0) throw new LakeError(`bulk check (${where}): row ${i + 1} of the written object is not valid OCSF: ${errors[0]!.message}`);
      const t = Number(ev.time);
      if (!(t >= prev) || (i === 0 && t !== part.timeMin)) throw new LakeError(`bulk check (${where}): row ${i + 1} of the written object is out of time order`);
      prev = t;
    });
  }

  /** Finish all parts and wait for their Parquet conversion. */
  async finish(): Promise<StagedObject[]> {
    for (const part of [...this.parts.values()]) this.closePart(part);
    while (this.active.size > 0) await Promise.race(this.active);
    if (this.convertError) throw this.convertError;
    return this.finished.map((p) => ({ key: p.key, index: p.index, staged: p.parquet, rows: p.rows, timeMin: p.timeMin, timeMax: p.timeMax }));
  }

  /** Stop starting conversions and wait for running ones (their errors are dropped): call before `abort()`. */
  async settle(): Promise<void> {
    this.pending.length = 0;
    while (this.active.size > 0) await Promise.race(this.active);
  }

  /** Remove everything this writer staged. */
  abort(): void {
    for (const part of this.parts.values()) {
      try {
        closeSync(part.fd);
      } catch {
        /* already closed */
      }
    }
    this.parts.clear();
    rmSync(this.stagingDir, { recursive: true, force: true });
  }
}

/**
 * The staged rows of a bulk part with the plan's derived columns: `SELECT *, <derived> FROM read_csv(...)`.
 * Columns `c1..cN`; canary files start with the line number `c0`.
 */
function stagedRows(file: string, plan: BulkPlan, withLine: boolean): string {
  const types = withLine ? ['BIGINT', ...plan.columns] : plan.columns;
  const columns = types.map((t, i) => `'c${withLine ? i : i + 1}': '${t}'`).join(', ');
  const derived = plan.derived.map(([name, sql]) => `${sql} AS ${quoteIdent(name)}`).join(', ');
  return (
    `SELECT *${derived ? `, ${derived}` : ''} FROM read_csv(${quoteString(file)}, columns = {${columns}}, delim = ' ', quote = '"', escape = '"', ` +
    `header = false, nullstr = '-', auto_detect = false, strict_mode = true)`
  );
}

function writeAll(fd: number, buf: Buffer, start: number, end: number): void {
  while (start < end) start += writeSync(fd, buf, start, end - start);
}

/** Where two events first differ, for messages: `path: want vs got`. */
function firstDifference(want: unknown, got: unknown, at = ''): string {
  if (isDeepStrictEqual(want, got)) return '';
  if (want && got && typeof want === 'object' && typeof got === 'object') {
    const keys = new Set([...Object.keys(want), ...Object.keys(got)]);
    for (const k of keys) {
      const d = firstDifference((want as Record<string, unknown>)[k], (got as Record<string, unknown>)[k], at ? `${at}.${k}` : k);
      if (d) return d;
    }
  }
  return `${at || 'event'}: generic ${JSON.stringify(want)}, bulk ${JSON.stringify(got)}`;
}

export interface PublishRequest {
  lakeDir: string;
  inputHash: string;
  inputName: string;
  sourceType: SourceType | 'unknown';
  staged: StagedObject[];
  events: number;
  rejects: number;
  /** Staged quarantine file, if any rejects. */
  quarantineFile?: string;
  stagingDir: string;
  size?: number;
  mtimeMs?: number;
  /**
   * Local lake: whether to publish an input that is already recorded again, given its current record (`ingest
   * --force`): it becomes the input's next revision, which retracts the earlier objects and quarantine (catalog.ts).
   */
  replace?: (current: CatalogInput) => boolean;
}

export type PublishResult =
  | { status: 'published'; objects: CatalogObject[]; revision?: number; retracted?: string[] }
  | { status: 'duplicate'; current?: CatalogInput };

/** Lake-relative path of a staged object once published (named after the input's content hash and revision). */
export function objectRelPath(inputHash: string, s: Pick<StagedObject, 'key' | 'index'>, revision = 0): string {
  return `${partitionDir(s.key)}/${inputHash.slice(0, 20)}${revision > 0 ? `-r${revision}` : ''}-${s.key.classUid}-${s.index}.parquet`;
}

/** Lake-relative path of an input's quarantine file. */
export function quarantineRelPath(inputHash: string, revision = 0): string {
  return `${META_DIR}/quarantine/${inputHash.slice(0, 20)}${revision > 0 ? `-r${revision}` : ''}.jsonl`;
}

/** Move staged objects into the lake and record them in the catalog (atomic per input). */
export async function publishInput(req: PublishRequest): Promise<PublishResult> {
  const { lakeDir } = req;
  return withLakeLock(lakeDir, () => {
    const current = currentInput(lakeDir, req.inputHash);
    if (current && !req.replace?.(current)) {
      rmSync(req.stagingDir, { recursive: true, force: true });
      return { status: 'duplicate' as const, current };
    }
    const revision = current ? revisionOf(current) + 1 : 0;
    const objects: Omit<CatalogObject, 'seq'>[] = [];
    for (const s of req.staged) {
      const rel = objectRelPath(req.inputHash, s, revision);
      const dest = resolveInLake(lakeDir, rel);
      mkdirSync(path.dirname(dest), { recursive: true });
      renameSync(s.staged, dest);
      faultPoint('ingest-after-object-rename');
      objects.push({
        path: rel,
        source: s.key.source as LakeSourceName,
        source_type: req.sourceType as SourceType,
        class_uid: s.key.classUid,
        region: s.key.region,
        account_id: s.key.accountId,
        event_day: s.key.eventDay,
        rows: s.rows,
        time_min: s.timeMin,
        time_max: s.timeMax,
        bytes: statSync(dest).size,
        input_hash: req.inputHash,
        input_name: req.inputName,
        created_at: new Date().toISOString(),
        ...(revision > 0 ? { revision } : {}),
        types: OBJECT_TYPES,
      });
    }
    let quarantineRel: string | undefined;
    if (req.quarantineFile && req.rejects > 0) {
      quarantineRel = quarantineRelPath(req.inputHash, revision);
      const dest = resolveInLake(lakeDir, quarantineRel);
      mkdirSync(path.dirname(dest), { recursive: true });
      renameSync(req.quarantineFile, dest);
      faultPoint('ingest-after-quarantine-rename');
    }
    const input: CatalogInput = {
      input_hash: req.inputHash,
      input_name: req.inputName,
      source_type: req.sourceType,
      events: req.events,
      rejects: req.rejects,
      objects: objects.map((o) => o.path),
      ingested_at: new Date().toISOString(),
      ...(req.size !== undefined ? { size: req.size, mtime_ms: req.mtimeMs } : {}),
      ...(quarantineRel ? { quarantine: quarantineRel } : {}),
      ...(revision > 0 ? { revision } : {}),
    };
    const published = publish(lakeDir, objects, input);
    faultPoint('ingest-after-commit');
    // The record committed this revision and retracted the earlier ones: their files go now (after a crash here, the
    // next publish into the lake removes them: catalog.ts recoverCatalog).
    const retracted = revision > 0 ? removeRetracted(lakeDir, req.inputHash, revision) : undefined;
    rmSync(req.stagingDir, { recursive: true, force: true });
    return { status: 'published' as const, objects: published, ...(revision > 0 ? { revision, retracted: retracted ?? [] } : {}) };
  });
}
