/**
 * Stale staging: an ingest killed mid-run leaves its `<lake>/_seclake/staging/<run>...` entries behind (staged
 * parts and Parquet, quarantine, spooled stdin, DuckDB temp files). Each run's entries are named
 * `<ms>-p<pid>-<id>...`; at the start of an ingest, under the lake lock, entries whose owning process is dead
 * are removed, and entries that name no owner (older seclake versions, anything else) once nothing in them
 * has changed for STALE_STAGING_MS. A live process's entries are never touched.
 */
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LIVE_STALE_MS, makeOwnedDir, newestMtime, ownerAlive, ownerOf } from '../core/owned-dir.js';
import { withLakeLock } from '../lake/catalog.js';
import { META_DIR } from '../lake/layout.js';
import { log } from '../core/log.js';

/** Entries without an owner pid are removed once unchanged this long. */
export const STALE_STAGING_MS = 6 * 60 * 60 * 1000;

/** A run id that names its process: `<ms>-p<pid>-<random>`; staging entries start with it. */
export function stagingRunId(random: string): string {
  return `${Date.now()}-p${process.pid}-${random}`;
}

export function stagingRoot(lakeDir: string): string {
  return path.join(lakeDir, META_DIR, 'staging');
}

/** The pid an entry name says owns it and when it was made, if it says. */
export function stagingOwner(name: string): { pid: number; startedMs: number } | undefined {
  return ownerOf(name);
}

export interface StagingCleanup {
  removed: string[];
  bytes: number;
}

function sizeOf(full: string): number {
  try {
    const st = lstatSync(full);
    if (!st.isDirectory()) return st.size;
    let n = 0;
    for (const e of readdirSync(full)) n += sizeOf(path.join(full, e));
    return n;
  } catch {
    return 0;
  }
}

/** Remove stale staging entries (see the module comment). Call under the lake lock. */
export function removeStaleStaging(lakeDir: string, now = Date.now(), staleMs = STALE_STAGING_MS): StagingCleanup {
  const root = stagingRoot(lakeDir);
  const out: StagingCleanup = { removed: [], bytes: 0 };
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return out;
  }
  for (const name of names) {
    const full = path.join(root, name);
    try {
      const owner = stagingOwner(name);
      const stale = owner
        ? !ownerAlive(owner) || now - newestMtime(full) > LIVE_STALE_MS
        : now - newestMtime(full) > staleMs;
      if (!stale) continue;
      out.bytes += sizeOf(full);
      rmSync(full, { recursive: true, force: true });
      out.removed.push(name);
    } catch {
      // removed by its owner meanwhile, or unreadable: leave it
    }
  }
  return out;
}

/** `removeStaleStaging` under the lake lock; logs what it freed. Never fails an ingest. */
export async function cleanStaleStaging(lakeDir: string): Promise<StagingCleanup> {
  try {
    // A short wait: cleaning up is worth no more than a publish's time (it is done again by the next ingest).
    const r = await withLakeLock(lakeDir, () => removeStaleStaging(lakeDir), 10_000);
    if (r.removed.length > 0) log.info(`removed ${r.removed.length} stale staging entr${r.removed.length === 1 ? 'y' : 'ies'} (${r.bytes} bytes) left by killed ingests`);
    return r;
  } catch (err) {
    log.warn(`stale staging not cleaned: ${err instanceof Error ? err.message : String(err)}`);
    return { removed: [], bytes: 0 };
  }
}

/**
 * The local staging directory of an ingest into an S3 lake (without --staging): a fresh directory under `root` (the
 * OS temp dir) named after this process, `seclake-s3-staging-<ms>-p<pid>-<id>`, removed when the ingest ends. One left
 * by an ingest killed mid-run is removed by the next S3 ingest (core/owned-dir.ts); a live ingest's is never touched.
 */
export function makeS3StagingDir(root: string = tmpdir()): string {
  return makeOwnedDir(root, 'seclake-s3-staging-');
}
