/**
 * Temporary directories named after the process that made them, `<prefix><ms>-p<pid>-<random>`: a process killed
 * with SIGKILL (or by the OOM killer, or a power cut) cannot remove its own, so the next process to make one under the
 * same root removes those of dead processes first. A live process's directory is never touched.
 *
 * Removed when found: a directory whose owner pid is not running; one of our own pid made before this process started
 * (a container reuses pids); one of a live pid unchanged for LIVE_STALE_MS (the pid was reused); one with the prefix
 * but no owner (older seclake versions) unchanged for UNOWNED_STALE_MS.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

export const UNOWNED_STALE_MS = 6 * 60 * 60 * 1000;
export const LIVE_STALE_MS = 7 * 24 * 60 * 60 * 1000;

/** The owner a directory name gives after its prefix (`<ms>-p<pid>-...`), if it gives one. */
export function ownerOf(nameAfterPrefix: string): { pid: number; startedMs: number } | undefined {
  const m = /^(\d+)-p(\d+)-/.exec(nameAfterPrefix);
  return m ? { pid: Number(m[2]), startedMs: Number(m[1]) } : undefined;
}

/** Is the owner still running? Our own pid on a directory made before this process started is a dead namesake. */
export function ownerAlive(owner: { pid: number; startedMs: number }): boolean {
  if (owner.pid === process.pid) return owner.startedMs >= Date.now() - process.uptime() * 1000 - 1000;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Newest mtime of a file or directory and everything below it. */
export function newestMtime(full: string): number {
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

/** Remove the directories under `root` named `<prefix>...` that are left over (see the module comment). */
export function sweepOwnedDirs(root: string, prefix: string, now = Date.now()): string[] {
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const full = path.join(root, name);
    try {
      if (!lstatSync(full).isDirectory()) continue;
      const owner = ownerOf(name.slice(prefix.length));
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

/** Roots (and prefixes) this process has swept already: once per process is enough, dead processes stay dead. */
const swept = new Set<string>();

/**
 * A fresh directory `<root>/<prefix><ms>-p<pid>-<random>` (the caller removes it when done). The first call for a
 * root and prefix in this process removes what killed processes left there.
 */
export function makeOwnedDir(root: string, prefix: string): string {
  const abs = path.resolve(root);
  const key = `${abs}\0${prefix}`;
  if (!swept.has(key)) {
    sweepOwnedDirs(abs, prefix);
    swept.add(key);
  }
  mkdirSync(abs, { recursive: true });
  return mkdtempSync(path.join(abs, `${prefix}${Date.now()}-p${process.pid}-`));
}
