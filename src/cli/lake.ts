/**
 * `--lake` for every command: what a lake is, and which commands take an S3 lake.
 *
 * A local lake is a directory holding `_seclake/` (the first `seclake ingest` creates it, with the catalog); an S3
 * lake (`s3://bucket/prefix`) is a prefix holding `_seclake/catalog/`. A command that reads a lake given a path that
 * is not one fails with a NoLakeError naming it, instead of reading an empty lake (0 rows, 0 pairs, nothing
 * quarantined). Commands that create a lake (ingest, monitor --watch, demo) do not check.
 *
 * Commands that read local lakes only refuse an s3:// lake with the same error, naming the commands that take one.
 * The rest read an S3 lake through a local mirror of its catalogued objects (src/lake/store.ts, as `seclake query`
 * always has), or, for the quarantine, its quarantine files only.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { NoLakeError } from '../core/errors.js';
import { META_DIR, resolveLakeDir } from '../lake/layout.js';

/** The commands that take an s3:// lake (the others read local lakes only and say so). */
export const S3_LAKE_COMMANDS: readonly string[] = ['ingest', 'query', 'catalog', 'findings', 'evaluate', 'monitor', 'pairs', 'train', 'calibrate', 'quarantine'];

/** Where an S3 lake is and where its local mirror goes (the options of the commands that take one). */
export interface S3LakeFlags {
  s3Endpoint?: string;
  s3Region?: string;
  cache?: string;
}

/** The lake a command names: its --lake, else $SECLAKE_LAKE (else, for a directory, ./seclake-data). */
export function lakeArg(flag: string | undefined): string | undefined {
  return flag ?? process.env.SECLAKE_LAKE;
}

export function isS3Lake(loc: string | undefined): loc is string {
  return loc !== undefined && /^s3:\/\//i.test(loc);
}

/** Check that a directory is a lake (it holds `_seclake/`, or aws/ or ext/ as Security Lake lays them out); returns it. */
export function checkLakeDir(dir: string): string {
  const isDir = (p: string): boolean | undefined => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return undefined;
    }
  };
  const top = isDir(dir);
  if (top === undefined) throw new NoLakeError(dir, `no lake at ${dir}: the directory does not exist (\`seclake ingest --lake ${dir}\` creates a lake)`);
  if (!top) throw new NoLakeError(dir, `no lake at ${dir}: it is a file, not a lake directory`);
  // A lake has its catalog (_seclake/), or at least Security Lake's layout (aws/, ext/): a copy of a Security Lake
  // bucket, or a lake written before the catalog existed (its old findings objects: `seclake findings migrate`).
  if (isDir(path.join(dir, META_DIR)) !== true && isDir(path.join(dir, 'aws')) !== true && isDir(path.join(dir, 'ext')) !== true) {
    throw new NoLakeError(dir, `no lake at ${dir}: the directory has no ${META_DIR}/ (a lake's catalog; \`seclake ingest --lake ${dir}\` creates one) and no aws/ or ext/ (Security Lake's layout)`);
  }
  return dir;
}

/** The refusal of an s3:// lake by a command that reads local lakes only. */
export function s3Refused(url: string, command: string, why = 'it reads a local lake directory only'): NoLakeError {
  return new NoLakeError(url, `seclake ${command} does not take an S3 lake (${url}): ${why}. Commands that take an s3:// lake: ${S3_LAKE_COMMANDS.join(', ')}`);
}

/**
 * The local lake a command reads, resolved and checked; an s3:// lake is refused (`command` names the command in the
 * message, `why` says why it needs a local lake).
 */
export function localLake(flag: string | undefined, command: string, why?: string): string {
  const loc = lakeArg(flag);
  if (isS3Lake(loc)) throw s3Refused(loc, command, why);
  return checkLakeDir(resolveLakeDir(loc));
}

function s3Options(flags: S3LakeFlags): { endpoint?: string; region?: string } {
  return { ...(flags.s3Endpoint ? { endpoint: flags.s3Endpoint } : {}), ...(flags.s3Region ? { region: flags.s3Region } : {}) };
}

/** Check that an S3 prefix holds a lake (keys under `_seclake/catalog/`) and its bucket exists. */
export async function checkS3Lake(url: string, flags: S3LakeFlags = {}): Promise<void> {
  const { S3Lake } = await import('../lake/s3.js');
  const lake = new S3Lake(url, s3Options(flags));
  try {
    for await (const _key of lake.listKeys(`${META_DIR}/catalog/`, undefined, 1)) return;
  } catch (err) {
    const code = (err as { cause?: { name?: string; Code?: string } }).cause;
    if (code?.name === 'NoSuchBucket' || code?.Code === 'NoSuchBucket') throw new NoLakeError(url, `no lake at ${url}: the bucket does not exist`, { cause: err });
    throw err;
  } finally {
    lake.close();
  }
  throw new NoLakeError(url, `no lake at ${url}: nothing under ${url.replace(/\/+$/, '')}/${META_DIR}/catalog/ (\`seclake ingest --lake ${url}\` creates a lake)`);
}

/**
 * Register the views defined above the lake (`findings`, `incidents`, `incident_revisions`, the host feature views):
 * their modules register them when imported, and a command's module no longer imports every other command's, so a
 * command that reads a lake's views loads them here (every `openLakeQuery` of the process then creates them).
 */
export async function registerLakeViews(): Promise<void> {
  await Promise.all([import('../findings/view.js'), import('../findings/incidents-view.js'), import('../detectors/rcf/features/views.js')]);
}

/** A lake a command queries through DuckDB: its directory (checked), or an S3 lake's (checked) local mirror. */
export interface QueryableLake {
  /** The local directory the views read (an S3 lake: its mirror). */
  dir: string;
  /** What the user named: the directory, or the s3:// URL. */
  location: string;
  s3: boolean;
}

/**
 * The lake a command reads: a local lake (checked), or an S3 lake (checked), mirrored into the local cache (only new
 * or changed objects are downloaded; progress on stderr), as `seclake query` reads one; with every view registered.
 */
export async function readableLake(flag: string | undefined, flags: S3LakeFlags = {}): Promise<QueryableLake> {
  await registerLakeViews();
  const loc = lakeArg(flag);
  if (isS3Lake(loc)) {
    await checkS3Lake(loc, flags);
    const { syncS3LakeForQuery } = await import('../lake/store.js');
    return { dir: await syncS3LakeForQuery(loc, flags), location: loc, s3: true };
  }
  const dir = checkLakeDir(resolveLakeDir(loc));
  return { dir, location: dir, s3: false };
}
