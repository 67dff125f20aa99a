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
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export const TEMP_PREFIX = 'seclake-tmp-';
/** Unowned directories of older versions are removed once unchanged this long. */
export const STALE_UNOWNED_MS = 6 * 60 * 60 * 1000;
/** Directories of a live pid are removed once unchanged this long (the pid was reused by another process). */
export const STALE_LIVE_MS = 7 * 24 * 60 * 60 * 1000;
const LEGACY = /^seclake-(?:s3|findings)-[A-Za-z0-9]{6}$/;

/** The owner a temp directory's name gives (`seclake-tmp-<ms>-p<pid>-...`), if it gives one. */
export function tempDirOwner(name: string): { pid: number; startedMs: number } | undefined {
  const m = /^seclake-tmp-(\d+)-p(\d+)-/.exec(name);
  return m ? { pid: Number(m[2]), startedMs: Number(m[1]) } : undefined;
}

/** Is the owner still running? Our own pid on a directory made before we started is a dead namesake. */
function ownerAlive(owner: { pid: number; startedMs: number }): boolean {
  if (owner.pid === process.pid) return owner.startedMs >= Date.now() - process.uptime() * 1000 - 1000;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Newest mtime of a directory and everything below it. */
function newestMtime(full: string): number {
  const st = lstatSync(full);
  let newest = st.mtimeMs;
  if (st.isDirectory()) {
    for (const e of readdirSync(full)) {
      try {
        newest = Math.max(newest, newestMtime(path.join(full, e)));
      } catch {
        // removed meanwhile
      }
    }
  }
  return newest;
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
      const stale = owner ? !ownerAlive(owner) || now - newestMtime(full) > STALE_LIVE_MS : now - newestMtime(full) > STALE_UNOWNED_MS;
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
