/**
 * The catalog: the lake's record of every published object and every fully ingested input.
 * It is append-only JSON lines, so later components (query views, monitor) learn of new objects
 * by reading from a sequence number onwards. Writers take the lake lock while they publish.
 *
 * Crash safety: a publish appends its objects, then its input record, which commits them: readers list an object only
 * once its input record exists (a derived object is committed by its own line). Before appending, a writer repairs the
 * catalog (`recoverCatalog`): a torn last line of either file (readers ignore it) moves to `<file>.torn`, and objects
 * left uncommitted by a publish that died between the two appends are dropped, so the rerun catalogs them once.
 *
 * Redo (`ingest --force`): an input ingested again is published as its next revision (objects named `<hash>-r<n>-...`,
 * each object and the record carry `revision`). The new record is the one commit that lists the new objects and
 * retracts the earlier revisions' objects and quarantine file (readers list only an input's latest revision); their
 * files are deleted after it (`removeRetracted`), so nothing is doubled, not even for tools that read the folders.
 *
 * Objects seclake derives from other objects (the monitor's findings, one object per scored source object) are
 * catalogued too, with `derived_from` naming the source object: they are published at a deterministic key, at most
 * once per key (`publishDerived`: rewriting the key later replaces the file, the catalog keeps its first record),
 * and monitors never score them (`isDerivedObject`).
 */
import { appendFileSync, closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { LakeError, errorMessage } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import type { LakeSourceName, SourceType } from '../core/events.js';
import { log } from '../core/log.js';
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
  /** Set (>= 1) on the objects of an input ingested again (`ingest --force`): the revision of the record committing them. */
  revision?: number;
  /**
   * The object's column types: OBJECT_TYPES (2) = Security Lake's (`*_dt` TIMESTAMP, ms, UTC). Absent on objects written
   * before, whose `*_dt` are RFC 3339 text (VARCHAR): the views read those through a cast to TIMESTAMP (views.ts).
   */
  types?: number;
}

/** The column types objects written now have (CatalogObject.types). */
export const OBJECT_TYPES = 2;

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
  /**
   * Set (>= 1) on the record of an input ingested again (`ingest --force`, or another source for an input none of whose
   * records was ingested): it commits that revision's objects and retracts the input's earlier objects and quarantine
   * file (readers list only the objects of an input's latest revision; `removeRetracted` deletes the others' files).
   */
  revision?: number;
}

/** The revision of an object or input record (0: the first ingest of the input). */
export function revisionOf(r: { revision?: number }): number {
  return r.revision ?? 0;
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

/** Torn tails already reported by this process (file and size), so a reader polling the catalog says it once. */
const reportedTorn = new Set<string>();

/**
 * Parse a catalog file. Every line but the last must be JSON. The last line may be torn (a crash, power loss or full
 * disk mid-append): unterminated, or not JSON. It is ignored (reported once): the publish it belonged to did not
 * complete, and the next writer moves it aside (`repairTail`) before appending.
 */
function readJsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  // The element after the last newline: empty when the file ends with one, else an unterminated (torn) line.
  const unterminated = lines.pop()!;
  let last = lines.length - 1;
  while (last >= 0 && !lines[last]!.trim()) last--;
  let torn = unterminated.trim() !== '';
  for (let i = 0; i <= last; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      if (i === last && !torn) {
        torn = true;
        continue;
      }
      throw new LakeError(`${file}:${i + 1}: catalog line is not valid JSON`);
    }
  }
  if (torn) {
    const key = `${file}\0${text.length}`;
    if (!reportedTorn.has(key)) {
      reportedTorn.add(key);
      log.warn(`${file}: ignoring a torn last line (an interrupted append); the next publish into the lake moves it aside`);
    }
  }
  return out;
}

/**
 * How many objects at the end of `objects` are not committed: the trailing run of (non-derived) objects of one input
 * revision whose input record is missing (a crash between the two appends of `publish`). Only the tail can be
 * uncommitted: every writer drops such a run (`recoverCatalog`) before it appends.
 */
function uncommittedTail(objects: readonly CatalogObject[], committed: () => InputRevisions): number {
  const lastObj = objects[objects.length - 1];
  if (!lastObj || isDerivedObject(lastObj)) return 0;
  const rev = revisionOf(lastObj);
  let n = 0;
  while (n < objects.length) {
    const o = objects[objects.length - 1 - n]!;
    if (isDerivedObject(o) || o.input_hash !== lastObj.input_hash || revisionOf(o) !== rev) break;
    n++;
  }
  return isCommitted(committed(), lastObj.input_hash, rev) ? 0 : n;
}

/** What the input records say: each input's latest revision, whether any input was ingested again, the last record. */
interface InputRevisions {
  latest: Map<string, number>;
  revised: boolean;
  last: CatalogInput | undefined;
}

/** Whether the objects of `inputHash`'s revision `revision` are committed (their input record exists). */
function isCommitted(r: InputRevisions, inputHash: string, revision: number): boolean {
  const latest = r.latest.get(inputHash);
  return latest !== undefined && latest >= revision;
}

/** The catalog's input records as revisions, cached per file until it changes. */
const inputRevisionCache = new Map<string, { stamp: string; revisions: InputRevisions }>();
function inputRevisions(lakeDir: string): InputRevisions {
  const file = path.join(catalogDir(lakeDir), 'inputs.jsonl');
  let stamp = '-';
  try {
    const st = statSync(file);
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    // No inputs yet.
  }
  const hit = inputRevisionCache.get(file);
  if (hit && hit.stamp === stamp) return hit.revisions;
  const records = readJsonl<CatalogInput>(file);
  const revisions: InputRevisions = { latest: new Map(), revised: false, last: records[records.length - 1] };
  for (const i of records) {
    const r = revisionOf(i);
    if (r > 0) revisions.revised = true;
    if (r >= (revisions.latest.get(i.input_hash) ?? 0)) revisions.latest.set(i.input_hash, r);
  }
  inputRevisionCache.set(file, { stamp, revisions });
  return revisions;
}

/**
 * The committed objects of the catalog (after `afterSeq`). An object is committed once its input's record is in
 * `inputs.jsonl` (derived objects: once their own line is); objects appended by a publish that died before writing the
 * input record are not listed, and the next writer drops them. Objects of an input ingested again (a later revision
 * of its record) are retracted: only the latest revision's are listed.
 */
export function readObjects(lakeDir: string, afterSeq = 0): CatalogObject[] {
  const all = readJsonl<CatalogObject>(path.join(catalogDir(lakeDir), 'objects.jsonl'));
  let revisions: InputRevisions | undefined;
  const committed = (): InputRevisions => (revisions ??= inputRevisions(lakeDir));
  const uncommitted = uncommittedTail(all, committed);
  if (uncommitted > 0) all.length -= uncommitted;
  let live = all;
  if (all.length > 0 && committed().revised) {
    const latest = committed().latest;
    live = all.filter((o) => isDerivedObject(o) || revisionOf(o) >= (latest.get(o.input_hash) ?? 0));
  }
  return afterSeq > 0 ? live.filter((o) => o.seq > afterSeq) : live;
}

/** Every input record as written, earlier revisions of an input ingested again included. */
function readInputRecords(lakeDir: string): CatalogInput[] {
  return readJsonl<CatalogInput>(path.join(catalogDir(lakeDir), 'inputs.jsonl'));
}

/** The current record of every ingested input (of an input ingested again: its latest revision's), in catalog order. */
export function readInputs(lakeDir: string): CatalogInput[] {
  const all = readInputRecords(lakeDir);
  if (!all.some((i) => revisionOf(i) > 0)) return all;
  const latest = new Map<string, number>();
  for (const i of all) latest.set(i.input_hash, Math.max(latest.get(i.input_hash) ?? 0, revisionOf(i)));
  return all.filter((i) => revisionOf(i) === latest.get(i.input_hash));
}

/** The current record of one input (see readInputs), or undefined if it was never ingested. */
export function currentInput(lakeDir: string, inputHash: string): CatalogInput | undefined {
  let cur: CatalogInput | undefined;
  for (const i of readInputRecords(lakeDir)) if (i.input_hash === inputHash && (!cur || revisionOf(i) >= revisionOf(cur))) cur = i;
  return cur;
}

/** Revisions whose retracted files this process already removed (`removeRetracted`). */
const retractedDone = new Set<string>();

/**
 * Delete the files that revision `revision` of an input retracted: the objects and quarantine files of its earlier
 * revisions. Call with the lake lock held, once that revision's record is appended (readers stopped listing those
 * objects then; a query that was already reading one may fail once). Idempotent: `recoverCatalog` calls it again for
 * the last record, in case a crash came between the commit and the removal. Returns the lake-relative paths removed.
 */
export function removeRetracted(lakeDir: string, inputHash: string, revision: number): string[] {
  const key = `${path.resolve(lakeDir)}\0${inputHash}\0${revision}`;
  const records = readInputRecords(lakeDir).filter((i) => i.input_hash === inputHash);
  const keep = new Set(records.filter((i) => revisionOf(i) === revision).flatMap((i) => [...i.objects, ...(i.quarantine ? [i.quarantine] : [])]));
  const paths = new Set<string>();
  for (const o of readJsonl<CatalogObject>(path.join(catalogDir(lakeDir), 'objects.jsonl'))) {
    if (!isDerivedObject(o) && o.input_hash === inputHash && revisionOf(o) < revision) paths.add(o.path);
  }
  for (const i of records) {
    if (revisionOf(i) >= revision) continue;
    for (const p of i.objects) paths.add(p);
    if (i.quarantine) paths.add(i.quarantine);
  }
  const removed: string[] = [];
  for (const p of paths) {
    if (keep.has(p)) continue;
    const file = resolveInLake(lakeDir, p);
    if (!existsSync(file)) continue;
    rmSync(file, { force: true });
    removed.push(p);
  }
  // A quarantine folder left empty goes too (the quarantine view reads every file in it, and needs one if it exists).
  const qDir = path.join(lakeDir, META_DIR, 'quarantine');
  try {
    if (removed.some((p) => p.startsWith(`${META_DIR}/quarantine/`)) && readdirSync(qDir).length === 0) rmdirSync(qDir);
  } catch {
    // Gone already, or not empty after all: nothing to do.
  }
  retractedDone.add(key);
  return removed;
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

/** Cut `file` at `offset`, durably. */
function truncateDurable(file: string, offset: number): void {
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readAt(fd: number, start: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, start + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * Where the torn last line of a catalog file starts (see readJsonl: unterminated, or terminated but not JSON), or
 * undefined when the file ends with a whole JSON line. Reads the file from the end.
 */
function tornTailStart(fd: number, size: number): number | undefined {
  for (let window = Math.min(size, 64 * 1024); ; window = Math.min(size, window * 4)) {
    const start = size - window;
    const buf = readAt(fd, start, window);
    const nl = buf.lastIndexOf(0x0a);
    if (nl < 0 && start > 0) continue;
    if (nl !== buf.length - 1) {
      // Bytes after the last newline: an unterminated line (blank: only whitespace, cut too).
      return start + nl + 1;
    }
    // Ends with a newline: is the last non-blank line JSON?
    let end = nl;
    while (end > 0 && /\s/.test(String.fromCharCode(buf[end - 1]!))) end--;
    const prev = end > 0 ? buf.lastIndexOf(0x0a, end - 1) : -1;
    if (prev < 0 && start > 0) continue;
    const line = buf.subarray(prev + 1, end).toString('utf8');
    if (!line.trim()) return undefined;
    try {
      JSON.parse(line);
      return undefined;
    } catch {
      return start + prev + 1;
    }
  }
}

/**
 * Move a torn last line of a catalog file aside (appended to `<file>.torn`, with a warning) and cut it off, so the
 * next append starts on a line of its own. Call with the lake lock held. Returns whether anything was cut.
 */
function repairTail(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new LakeError(`cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
  let cut: number | undefined;
  let torn: Buffer;
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    cut = tornTailStart(fd, size);
    if (cut === undefined) return false;
    torn = readAt(fd, cut, size - cut);
  } finally {
    closeSync(fd);
  }
  if (torn.toString('utf8').trim()) {
    appendDurable(`${file}.torn`, torn.toString('utf8').replace(/\n*$/, '') + '\n');
    log.warn(`${file}: a torn last line (${torn.length} bytes, an interrupted append) was moved to ${path.basename(file)}.torn`);
  }
  truncateDurable(file, cut);
  return true;
}

/**
 * Repair the catalog before appending to it (call with the lake lock held): move torn last lines of both files aside,
 * then drop the objects a publish appended without its input record (it died between the two appends; their files are
 * in place, and ingesting that input again renames and catalogs them again). Readers never listed those objects, so
 * their sequence numbers are assigned again.
 */
export function recoverCatalog(lakeDir: string): void {
  const dir = catalogDir(lakeDir);
  const objectsFile = path.join(dir, 'objects.jsonl');
  repairTail(path.join(dir, 'inputs.jsonl'));
  if (repairTail(objectsFile)) tails.delete(objectsFile);
  const t = catalogTail(lakeDir);
  const revisions = inputRevisions(lakeDir);
  if (t.run && !isCommitted(revisions, t.run.inputHash, t.run.revision)) {
    log.warn(
      `${objectsFile}: dropping ${t.run.count} object(s) of input ${t.run.inputHash.slice(0, 20)} catalogued without their input record ` +
        '(a publish was interrupted); ingesting that input again publishes them',
    );
    truncateDurable(objectsFile, t.run.start);
    tails.delete(objectsFile);
  }
  // An input ingested again: the files of its earlier revisions go once its record is in (a crash may have come between).
  const last = revisions.last;
  if (last && revisionOf(last) > 0 && !retractedDone.has(`${path.resolve(lakeDir)}\0${last.input_hash}\0${revisionOf(last)}`)) {
    removeRetracted(lakeDir, last.input_hash, revisionOf(last));
  }
}

/**
 * What the catalog's objects file says so far, read incrementally: the last seq, the paths of derived objects, and
 * the trailing run of non-derived objects of one input (which `recoverCatalog` checks for its input record).
 * Appends are read from the last offset; a file that shrank, was replaced (a mirror rewrites it) or was cut and
 * appended again by another process (the last line read is no longer there) is read again.
 */
interface CatalogTail {
  file: string;
  ino: number;
  offset: number;
  lastSeq: number;
  derived: Set<string>;
  /** The last whole line read (ending at offset), to notice a file rewritten under the same inode. */
  lastLine?: Buffer;
  run?: { inputHash: string; revision: number; start: number; count: number };
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
    if (t && t.ino === st.ino && st.size >= t.offset && t.lastLine) {
      const seen = readAt(fd, t.offset - t.lastLine.length, t.lastLine.length);
      if (!seen.equals(t.lastLine)) t = undefined;
    }
    if (!t || t.ino !== st.ino || st.size < t.offset) t = { file, ino: st.ino, offset: 0, lastSeq: 0, derived: new Set() };
    if (st.size > t.offset) {
      const buf = readAt(fd, t.offset, st.size - t.offset);
      // Only whole lines: a torn last line (crash mid-append) is read again next time.
      let pos = 0;
      for (let nl = buf.indexOf(0x0a, pos); nl >= 0; pos = nl + 1, nl = buf.indexOf(0x0a, pos)) {
        const line = buf.subarray(pos, nl).toString('utf8');
        if (!line.trim()) continue;
        let o: CatalogObject;
        try {
          o = JSON.parse(line) as CatalogObject;
        } catch {
          continue;
        }
        if (o.seq > t.lastSeq) t.lastSeq = o.seq;
        if (isDerivedObject(o)) {
          t.derived.add(o.path);
          delete t.run;
        } else if (t.run?.inputHash === o.input_hash && t.run.revision === revisionOf(o)) {
          t.run.count++;
        } else {
          t.run = { inputHash: o.input_hash, revision: revisionOf(o), start: t.offset + pos, count: 1 };
        }
      }
      if (pos > 0) {
        t.lastLine = Buffer.from(buf.subarray(pos >= 2 ? buf.lastIndexOf(0x0a, pos - 2) + 1 : 0, pos));
        t.offset += pos;
      }
    }
    tails.set(file, t);
    return t;
  } finally {
    closeSync(fd);
  }
}

/**
 * Append objects (assigning seq numbers) and then the input record, which commits them (readers list an object only
 * once its input record exists). Repairs the catalog first (`recoverCatalog`). Call with the lake lock held.
 */
export function publish(lakeDir: string, objects: Omit<CatalogObject, 'seq'>[], input: CatalogInput): CatalogObject[] {
  recoverCatalog(lakeDir);
  let seq = catalogTail(lakeDir).lastSeq;
  const withSeq = objects.map((o) => ({ seq: ++seq, ...o }));
  if (withSeq.length > 0) {
    appendDurable(path.join(catalogDir(lakeDir), 'objects.jsonl'), withSeq.map((o) => JSON.stringify(o)).join('\n') + '\n');
  }
  faultPoint('catalog-between-appends');
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
    faultPoint('catalog-derived-after-rename');
    const bytes = statSync(dest).size;
    recoverCatalog(lakeDir);
    const tail = catalogTail(lakeDir);
    const record: Omit<CatalogObject, 'seq'> = {
      ...obj,
      types: OBJECT_TYPES,
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
