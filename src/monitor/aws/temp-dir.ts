/**
 * Where the AWS mode puts downloaded objects and staged findings: one directory per process under a temp root
 * (`$TMPDIR`, `--tmp`, Lambda's TMP_DIR=/tmp), `seclake-tmp-<ms>-p<pid>-<random>`, removed when the process exits.
 * Each download lives in its own subdirectory, removed as soon as its object is done.
 *
 * A process killed mid-object (kill -9, the OOM killer, a Lambda timeout) cannot clean up, and in Lambda /tmp
 * survives into the next process of a warm container (which often has the same pid). So the first use of a root
 * in a process sweeps it: directories of a dead pid, or of our own pid made before this process started, are
 * removed; so are directories of a live pid left unchanged for a week (a reused pid), and the unowned directories
 * older seclake versions made (`seclake-s3-*`, `seclake-findings-*`) once unchanged for 6 hours. A live process's
 * directory is never touched.
 */
import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { LIVE_STALE_MS, UNOWNED_STALE_MS, newestMtime, ownerAlive, ownerOf } from '../../core/owned-dir.js';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export const TEMP_PREFIX = 'seclake-tmp-';
const LEGACY = /^seclake-(?:s3|findings)-[A-Za-z0-9]{6}$/;

/** The owner a temp directory's name gives (`seclake-tmp-<ms>-p<pid>-...`), if it gives one. */
export function tempDirOwner(name: string): { pid: number; startedMs: number } | undefined {
  return name.startsWith(TEMP_PREFIX) ? ownerOf(name.slice(TEMP_PREFIX.length)) : undefined;
}

/** Remove the stale temp directories under `root` (see the module comment); returns their names. */
export function sweepStaleTempDirs(root: string, now = Date.now()): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const owner = tempDirOwner(name);
    if (!owner && !LEGACY.test(name)) continue;
    const full = path.join(root, name);
    try {
      if (!lstatSync(full).isDirectory()) continue;
      const stale = owner ? !ownerAlive(owner) || now - newestMtime(full) > LIVE_STALE_MS : now - newestMtime(full) > UNOWNED_STALE_MS;
      if (!stale) continue;
      rmSync(full, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // removed by its owner meanwhile, or unreadable: leave it
    }
  }
  return removed;
}

/** This process's directory per root. */
const dirs = new Map<string, string>();
let exitHook = false;

function removeAll(): void {
  for (const d of dirs.values()) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // exiting: nothing more to do
    }
  }
  dirs.clear();
}

/**
 * This process's temp directory under `root` (created, and the root swept of stale ones, on the first call for that
 * root; removed at exit). Callers make their own subdirectory in it and remove it when done.
 */
export function processTempDir(root: string): string {
  const abs = path.resolve(root);
  const have = dirs.get(abs);
  if (have) {
    // Removed from under us (a tmp cleaner, a test): made again.
    mkdirSync(have, { recursive: true });
    return have;
  }
  mkdirSync(abs, { recursive: true });
  sweepStaleTempDirs(abs);
  const dir = path.join(abs, `${TEMP_PREFIX}${Date.now()}-p${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  dirs.set(abs, dir);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', removeAll);
  }
  return dir;
}

/** Remove this process's temp directory under `root` now (a Lambda handler's close, tests). */
export function removeProcessTempDir(root: string): void {
  const abs = path.resolve(root);
  const d = dirs.get(abs);
  if (!d) return;
  dirs.delete(abs);
  rmSync(d, { recursive: true, force: true });
}
