/**
 * The watch folder: raw log files dropped into a directory are ingested into the lake, one at a time, in arrival order.
 *
 * Only finished files count: a file must keep the same size for `stableMs` (chokidar's awaitWriteFinish), and names
 * that writers use while writing are ignored (dotfiles, `*.tmp`, `*.part`, `*.partial`, `*.crdownload`, `~` suffix),
 * so "write to .name.tmp, then rename" is picked up exactly once, at the rename. Files already in the folder at start
 * are ingested too; ingest is idempotent by content hash, so a restart that sees them again adds nothing.
 */
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { errorMessage } from '../core/errors.js';
import { ingest } from '../ingest/ingest.js';

export interface FolderWatchOptions {
  dir: string;
  lakeDir: string;
  /** Size-stable time before a file counts as finished (default 500 ms). */
  stableMs?: number;
  onIngested?: (
    e: { type: 'ingested'; file: string; status: string; events: number; rejects: number } | { type: 'ingest-error'; file: string; reason: string },
  ) => void;
}

export interface FolderWatch {
  /** Resolves when the files seen so far are ingested. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const PARTIAL = /(^\.|\.(tmp|part|partial|crdownload|swp)$|~$)/i;

/** True for names a writer uses while a file is incomplete. */
export function isPartialName(file: string): boolean {
  return PARTIAL.test(path.basename(file));
}

export function startFolderWatch(o: FolderWatchOptions): FolderWatch {
  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  const enqueue = (file: string): void => {
    if (closed || isPartialName(file)) return;
    chain = chain.then(async () => {
      if (closed) return;
      try {
        const sum = await ingest({ lakeDir: o.lakeDir, paths: [file] });
        const r = sum.inputs[0];
        if (r?.status === 'failed') o.onIngested?.({ type: 'ingest-error', file, reason: r.message ?? 'failed' });
        else o.onIngested?.({ type: 'ingested', file, status: r?.status ?? 'skipped', events: sum.totals.events, rejects: sum.totals.rejects });
      } catch (err) {
        o.onIngested?.({ type: 'ingest-error', file, reason: errorMessage(err) });
      }
    });
  };
  const w: FSWatcher = watch(o.dir, {
    ignoreInitial: false,
    ignored: (p: string) => p !== o.dir && isPartialName(p),
    awaitWriteFinish: { stabilityThreshold: o.stableMs ?? 500, pollInterval: 100 },
  });
  w.on('add', enqueue);
  w.on('change', enqueue);
  return {
    idle: () => chain,
    close: async () => {
      closed = true;
      await w.close();
      await chain;
    },
  };
}
