/**
 * One Parquet object from OCSF events already in memory, written the way the lake writer writes every object: the
 * union shape of the events with column types from the OCSF schema (shape.ts: nested objects as structs, lists as
 * LISTs, `unmapped` as MAP(VARCHAR, VARCHAR) with dotted keys), staged as JSON lines and converted by DuckDB to a
 * zstd Parquet file with the writer's row-group size. For small derived objects (findings) written one at a time at
 * a key of the caller's choosing; ingest goes through LakeWriter.
 *
 * The file appears atomically: written under a temporary name in the target directory, fsynced, renamed.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { LakeError, errorMessage } from '../core/errors.js';
import { Duck, quoteString } from './duckdb.js';
import { mergeEvent, readJsonColumns, type Shape } from './shape.js';
import { ROW_GROUP_SIZE } from './writer.js';

export interface WriteEventsOptions {
  /** The OCSF class of every event (one class per object); its schema types the columns. */
  classUid: number;
  /** An open DuckDB to use; by default one is opened and closed. */
  db?: Duck;
  /**
   * Events merged into the shape before the data but not written: every column (and struct field) they have exists in
   * the file even when no event has it, so SQL over many such files can rely on those columns.
   */
  seed?: readonly Record<string, unknown>[];
  /** The events are the caller's to modify (fresh copies): they are not cloned (free-form objects are rewritten). */
  owned?: boolean;
}

export interface WrittenEvents {
  /** Absolute path written. */
  file: string;
  rows: number;
  bytes: number;
  /** Event time range (epoch ms); Infinity/-Infinity for no events. */
  timeMin: number;
  timeMax: number;
}

/** fsync on the thread pool. */
async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Write `events` (in the given order: sort them first, by time as the lake does) to a zstd Parquet file at `file`.
 * The events are not modified (unless `owned`). Throws a LakeError when an event's value does not fit its schema type.
 */
export async function writeEventsParquet(events: readonly Record<string, unknown>[], file: string, opts: WriteEventsOptions): Promise<WrittenEvents> {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(dir, `.${path.basename(target)}.tmp-${tag}`);
  const staged = path.join(dir, `.${path.basename(target)}.stage-${tag}.jsonl`);
  const shape: Shape & { k: 'struct' } = { k: 'struct', fields: new Map() };
  // mergeEvent rewrites free-form objects (unmapped) in place: work on copies.
  for (const s of opts.seed ?? []) mergeEvent(shape, structuredClone(s), opts.classUid);
  const lines: string[] = [];
  let timeMin = Infinity;
  let timeMax = -Infinity;
  for (const [i, e] of events.entries()) {
    const copy = opts.owned ? e : structuredClone(e);
    const err = mergeEvent(shape, copy, opts.classUid);
    if (err) throw new LakeError(`event ${i + 1} cannot be stored in its OCSF types: ${err}`);
    lines.push(JSON.stringify(copy));
    const t = Number(e.time);
    if (Number.isFinite(t)) {
      timeMin = Math.min(timeMin, t);
      timeMax = Math.max(timeMax, t);
    }
  }
  const db = opts.db ?? (await Duck.open({ threads: 1 }));
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(staged, lines.length ? lines.join('\n') + '\n' : '');
    const columns = shape.fields.size > 0 ? readJsonColumns(shape) : `{'time': 'BIGINT'}`;
    await db.run(
      `COPY (SELECT * FROM read_json(${quoteString(staged)}, format = 'newline_delimited', columns = ${columns}, maximum_object_size = 67108864)) ` +
        `TO ${quoteString(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`,
    );
    await fsyncFile(tmp);
    await rename(tmp, target);
    return { file: target, rows: events.length, bytes: (await stat(target)).size, timeMin, timeMax };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new LakeError(`writing ${target} failed: ${errorMessage(err)}`, { cause: err });
  } finally {
    rmSync(staged, { force: true });
    if (!opts.db) db.close();
  }
}
