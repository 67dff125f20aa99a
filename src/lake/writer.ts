/**
 * The lake writer: OCSF events in, Parquet objects out, published atomically through the catalog.
 *
 * Events are routed to a partition (source, class, region, account, event day) and streamed to a
 * staging JSON-lines file per partition part (bounded memory). A part that reaches `rowsPerObject`
 * is converted by DuckDB to a zstd Parquet object (rows sorted by time, nested OCSF objects as
 * structs, lists as 3-level LISTs) while parsing continues. `publish()` then renames the staged
 * objects to names derived from the input's content hash and appends them to the catalog, under the
 * lake lock. A crash before that leaves nothing visible; a re-run rewrites the same names.
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { LakeError, errorMessage } from '../core/errors.js';
import type { EventItem, LakeSourceName, SourceHints, SourceType } from '../sources/types.js';
import { publish, readInputs, withLakeLock, type CatalogInput, type CatalogObject } from './catalog.js';
import { Duck, quoteString } from './duckdb.js';
import { META_DIR, eventDayOf, partitionDir, resolveInLake, type PartitionKey } from './layout.js';
import { mergeEvent, readJsonColumns, type Shape } from './shape.js';

export const DEFAULT_ROWS_PER_OBJECT = 250_000;

interface Part {
  key: PartitionKey;
  dayStart: number;
  index: number;
  jsonl: string;
  parquet: string;
  fd: number;
  buf: string[];
  bufLen: number;
  rows: number;
  timeMin: number;
  timeMax: number;
  shape: Shape & { k: 'struct' };
  done?: Promise<void>;
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
  private convertChain: Promise<void> = Promise.resolve();
  private convertError: unknown;
  /** The part the previous event went to: consecutive events usually share it. */
  private last: Part | undefined;
  readonly stagingDir: string;
  rows = 0;

  constructor(
    readonly lakeDir: string,
    private readonly duck: Duck,
    runId: string,
    opts: WriterOptions = {},
  ) {
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
    if (part.rows >= this.rowsPerObject) this.closePart(partKey(part.key), part);
    return undefined;
  }

  private openPart(key: PartitionKey, k: string): Part {
    const index = this.partCounts.get(k) ?? 0;
    this.partCounts.set(k, index + 1);
    const base = path.join(this.stagingDir, `p${this.finished.length + this.parts.size}-${index}`);
    const part: Part = {
      key,
      dayStart: key.eventDay === 'unknown' ? NaN : Date.UTC(Number(key.eventDay.slice(0, 4)), Number(key.eventDay.slice(4, 6)) - 1, Number(key.eventDay.slice(6, 8))),
      index,
      jsonl: `${base}.jsonl`,
      parquet: `${base}.parquet`,
      fd: openSync(`${base}.jsonl`, 'w'),
      buf: [],
      bufLen: 0,
      rows: 0,
      timeMin: Infinity,
      timeMax: -Infinity,
      shape: { k: 'struct', fields: new Map() },
    };
    this.parts.set(k, part);
    return part;
  }

  private flushBuf(part: Part): void {
    if (part.buf.length === 0) return;
    writeSync(part.fd, part.buf.join(''));
    part.buf = [];
    part.bufLen = 0;
  }

  private closePart(k: string, part: Part): void {
    this.flushBuf(part);
    closeSync(part.fd);
    this.parts.delete(k);
    if (this.last === part) this.last = undefined;
    this.finished.push(part);
    // Convert in the background (DuckDB's own threads) while parsing goes on; one at a time.
    part.done = this.convertChain = this.convertChain.then(() => this.convert(part)).catch((err) => {
      this.convertError ??= err;
    });
  }

  private async convert(part: Part): Promise<void> {
    const sql =
      `COPY (SELECT * FROM read_json(${quoteString(part.jsonl)}, format = 'newline_delimited', ` +
      `columns = ${readJsonColumns(part.shape)}, maximum_object_size = 67108864) ORDER BY "time") ` +
      `TO ${quoteString(part.parquet)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`;
    try {
      await this.duck.run(sql);
    } catch (err) {
      throw new LakeError(`writing Parquet for ${partitionDir(part.key)} failed: ${errorMessage(err)}`, { cause: err });
    }
    rmSync(part.jsonl, { force: true });
  }

  /** Finish all parts and wait for their Parquet conversion. */
  async finish(): Promise<StagedObject[]> {
    for (const [k, part] of [...this.parts]) this.closePart(k, part);
    await this.convertChain;
    if (this.convertError) throw this.convertError;
    return this.finished.map((p) => ({ key: p.key, index: p.index, staged: p.parquet, rows: p.rows, timeMin: p.timeMin, timeMax: p.timeMax }));
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
}

export type PublishResult = { status: 'published'; objects: CatalogObject[] } | { status: 'duplicate' };

/** Move staged objects into the lake and record them in the catalog (atomic per input). */
export async function publishInput(req: PublishRequest): Promise<PublishResult> {
  const { lakeDir } = req;
  return withLakeLock(lakeDir, () => {
    if (readInputs(lakeDir).some((i) => i.input_hash === req.inputHash)) {
      rmSync(req.stagingDir, { recursive: true, force: true });
      return { status: 'duplicate' as const };
    }
    const objects: Omit<CatalogObject, 'seq'>[] = [];
    const hashTag = req.inputHash.slice(0, 20);
    for (const s of req.staged) {
      const rel = `${partitionDir(s.key)}/${hashTag}-${s.key.classUid}-${s.index}.parquet`;
      const dest = resolveInLake(lakeDir, rel);
      mkdirSync(path.dirname(dest), { recursive: true });
      renameSync(s.staged, dest);
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
      });
    }
    let quarantineRel: string | undefined;
    if (req.quarantineFile && req.rejects > 0) {
      quarantineRel = `${META_DIR}/quarantine/${hashTag}.jsonl`;
      const dest = resolveInLake(lakeDir, quarantineRel);
      mkdirSync(path.dirname(dest), { recursive: true });
      renameSync(req.quarantineFile, dest);
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
    };
    const published = publish(lakeDir, objects, input);
    rmSync(req.stagingDir, { recursive: true, force: true });
    return { status: 'published' as const, objects: published };
  });
}
