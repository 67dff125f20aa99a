/**
 * The catalog: the lake's record of every published object and every fully ingested input.
 * It is append-only JSON lines, so later components (query views, monitor) learn of new objects
 * by reading from a sequence number onwards. Writers take the lake lock while they publish.
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LakeError, errorMessage } from '../core/errors.js';
import type { LakeSourceName, SourceType } from '../core/events.js';
import { META_DIR } from './layout.js';

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

/** Append objects (assigning seq numbers) and then the input record. Call with the lake lock held. */
export function publish(lakeDir: string, objects: Omit<CatalogObject, 'seq'>[], input: CatalogInput): CatalogObject[] {
  const existing = readObjects(lakeDir);
  let seq = existing.length > 0 ? existing[existing.length - 1]!.seq : 0;
  const withSeq = objects.map((o) => ({ seq: ++seq, ...o }));
  if (withSeq.length > 0) {
    appendDurable(path.join(catalogDir(lakeDir), 'objects.jsonl'), withSeq.map((o) => JSON.stringify(o)).join('\n') + '\n');
  }
  appendDurable(path.join(catalogDir(lakeDir), 'inputs.jsonl'), JSON.stringify(input) + '\n');
  return withSeq;
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
