/**
 * The catalog: the lake's record of every published object and every fully ingested input.
 * It is append-only JSON lines, so later components (query views, monitor) learn of new objects
 * by reading from a sequence number onwards. Writers take the lake lock while they publish.
 *
 * Objects seclake derives from other objects (the monitor's findings, one object per scored source object) are
 * catalogued too, with `derived_from` naming the source object: they are published at a deterministic key, at most
 * once per key (`publishDerived`: rewriting the key later replaces the file, the catalog keeps its first record),
 * and monitors never score them (`isDerivedObject`).
 */
import { appendFileSync, closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { LakeError, errorMessage } from '../core/errors.js';
import type { LakeSourceName, SourceType } from '../core/events.js';
import { META_DIR, resolveInLake } from './layout.js';

export interface CatalogObject {
  /** Publish order, 1-based, unique within the lake. */
  seq: number;
  /** Lake-relative POSIX path of the Parquet object. */
  path: string;
  source: LakeSourceName;
  source_type: SourceType;
  class_uid: number;
  region: string;
  account_id: string;
  event_day: string;
  rows: number;
  /** Event time range (epoch ms). */
  time_min: number;
  time_max: number;
  bytes: number;
  /** sha256 of the raw input object this came from. */
  input_hash: string;
  input_name: string;
  created_at: string;
  /**
   * Set on objects seclake derived from another object (findings): that object's lake-relative path or URL. Such
   * objects are not logs: monitors skip them.
   */
  derived_from?: string;
}

export interface CatalogInput {
  input_hash: string;
  input_name: string;
  source_type: SourceType | 'unknown';
  events: number;
  rejects: number;
  objects: string[];
  quarantine?: string;
  /** Size and mtime of the local file, for the cheap "same file again" check before hashing. */
  size?: number;
  mtime_ms?: number;
  ingested_at: string;
  /** Set on the input record of a derived object (S3 catalog entries need one): the object it was derived from. */
  derived_from?: string;
}

/** Whether a catalogued object was derived by seclake from another one (findings) rather than ingested. */
export function isDerivedObject(o: Pick<CatalogObject, 'derived_from'>): boolean {
  return typeof o.derived_from === 'string';
}

/**
 * Input hash of a derived object: a function of its key, so publishing the same key again is recognised as the same
 * publication (the S3 catalog's input record makes that atomic).
 */
export function derivedInputHash(key: string): string {
  return createHash('sha256').update(`seclake-derived\0${key}`).digest('hex');
}

export function catalogDir(lakeDir: string): string {
  return path.join(lakeDir, META_DIR, 'catalog');
}

function readJsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  const text = readFileSync(file, 'utf8');
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // A torn last line (crash mid-append) is ignored: the publish it belonged to did not complete.
      if (lineNo < text.split('\n').length - 1) {
        throw new LakeError(`${file}:${lineNo}: catalog line is not valid JSON`);
      }
    }
  }
  return out;
}

export function readObjects(lakeDir: string, afterSeq = 0): CatalogObject[] {
  const all = readJsonl<CatalogObject>(path.join(catalogDir(lakeDir), 'objects.jsonl'));
  return afterSeq > 0 ? all.filter((o) => o.seq > afterSeq) : all;
}

export function readInputs(lakeDir: string): CatalogInput[] {
  return readJsonl<CatalogInput>(path.join(catalogDir(lakeDir), 'inputs.jsonl'));
}

function appendDurable(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, text);
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * What the catalog's objects file says so far, read incrementally: the last seq and the paths of derived objects.
 * Appends are read from the last offset; a file that shrank or was replaced (a mirror rewrites it) is read again.
 */
interface CatalogTail {
  file: string;
  ino: number;
  offset: number;
  lastSeq: number;
  derived: Set<string>;
}
const tails = new Map<string, CatalogTail>();

function catalogTail(lakeDir: string): CatalogTail {
  const file = path.join(catalogDir(lakeDir), 'objects.jsonl');
  let t = tails.get(file);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new LakeError(`cannot read ${file}: ${errorMessage(err)}`, { cause: err });
    t = { file, ino: -1, offset: 0, lastSeq: 0, derived: new Set() };
    tails.set(file, t);
    return t;
  }
  try {
    const st = fstatSync(fd);
    if (!t || t.ino !== st.ino || st.size < t.offset) t = { file, ino: st.ino, offset: 0, lastSeq: 0, derived: new Set() };
    if (st.size > t.offset) {
      const buf = Buffer.alloc(st.size - t.offset);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, t.offset + got);
        if (n === 0) break;
        got += n;
      }
      // Only whole lines: a torn last line (crash mid-append) is read again next time.
      const end = buf.lastIndexOf(0x0a, got - 1);
      if (end >= 0) {
        for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
          if (!line.trim()) continue;
          let o: CatalogObject;
          try {
            o = JSON.parse(line) as CatalogObject;
          } catch {
            continue;
          }
          if (o.seq > t.lastSeq) t.lastSeq = o.seq;
          if (isDerivedObject(o)) t.derived.add(o.path);
        }
        t.offset += end + 1;
      }
    }
    tails.set(file, t);
    return t;
  } finally {
    closeSync(fd);
  }
}

/** Append objects (assigning seq numbers) and then the input record. Call with the lake lock held. */
export function publish(lakeDir: string, objects: Omit<CatalogObject, 'seq'>[], input: CatalogInput): CatalogObject[] {
  let seq = catalogTail(lakeDir).lastSeq;
  const withSeq = objects.map((o) => ({ seq: ++seq, ...o }));
  if (withSeq.length > 0) {
    appendDurable(path.join(catalogDir(lakeDir), 'objects.jsonl'), withSeq.map((o) => JSON.stringify(o)).join('\n') + '\n');
  }
  appendDurable(path.join(catalogDir(lakeDir), 'inputs.jsonl'), JSON.stringify(input) + '\n');
  return withSeq;
}

/** A derived object to publish: everything the catalog records except what publishing assigns. */
export type DerivedObject = Omit<CatalogObject, 'seq' | 'bytes' | 'created_at' | 'input_hash' | 'input_name'> & { derived_from: string };

/**
 * Publish a derived object into a local lake (takes the lake lock): move the finished local file `file` (same
 * filesystem, e.g. a temporary name next to the key) to `obj.path`, replacing what was there, and append it to the
 * catalog unless the catalog already lists that path. A crash after the move and before the append leaves an
 * uncatalogued file that views do not read; publishing the same key again (the monitor redoes the object) catalogs
 * it. Returns the catalog record and whether this call added it.
 */
export async function publishDerived(lakeDir: string, obj: DerivedObject, file: string): Promise<{ object: CatalogObject; added: boolean }> {
  return withLakeLock(lakeDir, () => {
    const dest = resolveInLake(lakeDir, obj.path);
    mkdirSync(path.dirname(dest), { recursive: true });
    renameSync(file, dest);
    const bytes = statSync(dest).size;
    const tail = catalogTail(lakeDir);
    const record: Omit<CatalogObject, 'seq'> = {
      ...obj,
      bytes,
      input_hash: derivedInputHash(obj.path),
      input_name: `derived from ${obj.derived_from}`,
      created_at: new Date().toISOString(),
    };
    if (tail.derived.has(obj.path)) {
      const known = readObjects(lakeDir).find((o) => o.path === obj.path)!;
      return { object: known, added: false };
    }
    const seq = tail.lastSeq + 1;
    const withSeq = { seq, ...record } as CatalogObject;
    appendDurable(path.join(catalogDir(lakeDir), 'objects.jsonl'), JSON.stringify(withSeq) + '\n');
    return { object: withSeq, added: true };
  });
}

/** The catalog lists this derived object path (local lake). */
export function hasDerived(lakeDir: string, relPath: string): boolean {
  return catalogTail(lakeDir).derived.has(relPath);
}

/**
 * An exclusive lake lock (a directory created atomically). A lock left by a dead process is taken over.
 */
export async function withLakeLock<T>(lakeDir: string, fn: () => Promise<T> | T, timeoutMs = 60_000): Promise<T> {
  const lockDir = path.join(lakeDir, META_DIR, 'lock');
  mkdirSync(path.dirname(lockDir), { recursive: true });
  const start = Date.now();
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(path.join(lockDir, 'owner'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new LakeError(`cannot take the lake lock ${lockDir}: ${errorMessage(err)}`, { cause: err });
      }
      if (isStale(lockDir)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - start > timeoutMs) {
        throw new LakeError(`timed out waiting for the lake lock ${lockDir} (held by another seclake process)`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function isStale(lockDir: string): boolean {
  try {
    const pid = Number(readFileSync(path.join(lockDir, 'owner'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    // No owner file: either the holder is just starting, or it died between mkdir and writing it.
    try {
      return Date.now() - statSync(lockDir).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
}
