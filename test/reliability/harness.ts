/**
 * The crash-consistency harness: run the real CLI (src/cli/main.ts under the tsx loader, as the other CLI tests do)
 * with SECLAKE_FAULT naming a fault point (src/core/fault.ts), check that it died there by SIGKILL, run it again
 * without the fault, and compare what it left with an uninterrupted run: every file of the lake (Parquet objects by
 * content digest, anything left over shows up as an extra file), the committed catalog, the quarantine, the rows of
 * the views, the monitor's checkpoint and the sink output.
 *
 * Only fields that are wall-clock times by design are left out of the comparison (`created_at`, `ingested_at`,
 * `quarantined_at`, `processed_at`, a checkpoint's `updated_at`); in an S3 lake also the sequence numbers (a crashed
 * publish leaves a void log entry whose numbers are not reused; the order of the objects is compared instead).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { FAULT_POINTS, type FaultPointName } from '../../src/core/fault.js';
import { Duck, quoteIdent } from '../../src/lake/duckdb.js';
import { createLakeViews } from '../../src/lake/views.js';
import { syncLakeToDir, openLakeStore } from '../../src/lake/store.js';
import { S3Lake } from '../../src/lake/s3.js';
// Registers the `findings`, `incidents` and `incident_revisions` views.
import '../../src/findings/view.js';
import '../../src/findings/incidents-view.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');

export interface CliResult {
  args: string[];
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `seclake <args>` in a child process (never throws; a run past `timeoutMs` is killed and reported). */
export function runCli(args: string[], opts: { env?: Record<string, string>; fault?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env, SECLAKE_FAULT: opts.fault ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[harness: killed after ${opts.timeoutMs ?? 180_000} ms]`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 180_000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ args, status, signal, stdout, stderr });
    });
  });
}

/** The run died by SIGKILL at the fault point it was given (the point's line on stderr says which, and which hit). */
export function assertKilledAt(r: CliResult, fault: string): void {
  const [point, hit = '1'] = fault.split(':') as [FaultPointName, string?];
  assert.ok(Object.hasOwn(FAULT_POINTS, point), `${point} is a fault point`);
  const said = new RegExp(`fault point ${point} \\(hit ${hit}\\): killing`).test(r.stderr);
  assert.ok(
    r.signal === 'SIGKILL' && said,
    `seclake ${r.args.join(' ')} with SECLAKE_FAULT=${fault} must be killed at that point, but it ` +
      (r.signal === 'SIGKILL' ? 'was killed elsewhere' : `exited with status ${r.status} (signal ${r.signal}): the point was never reached`) +
      `\nstderr:\n${r.stderr}`,
  );
}

/**
 * A fresh directory for a run's TMPDIR (so the test can see what it leaves there), with tsx's compile cache linked in
 * from the real temp dir (`tsx-<uid>`: the runs would otherwise each compile the CLI again). `filesUnder(dir)` lists
 * neither.
 */
export function makeTmpDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const cache = `tsx-${userInfo().uid}`;
  if (existsSync(path.join(tmpdir(), cache))) symlinkSync(path.join(tmpdir(), cache), path.join(dir, cache));
  return dir;
}

/** The run exited 0. */
export function assertOk(r: CliResult, what: string): void {
  assert.equal(r.status, 0, `${what}: seclake ${r.args.join(' ')} exited with ${r.status} (signal ${r.signal})\nstderr:\n${r.stderr}`);
}

/** Run async tasks, at most `n` at once, in order of the list; results in that order. */
export async function inParallel<T>(n: number, tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
  return out;
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function omit(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const r = { ...o };
  for (const k of keys) delete r[k];
  return r;
}

/** Every file under `dir` (relative POSIX paths, sorted). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else if (!(e.isSymbolicLink() && /^tsx-\d+$/.test(r))) out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

function jsonLines(text: string, file: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`${file}:${i + 1}: not JSON: ${l.slice(0, 200)}`);
      }
    });
}

/** What a lake holds, with wall-clock fields left out (see the module comment). */
export interface LakeSnapshot {
  /** Every other file (local) or key (S3): content digest. Leftovers (staging, temp files, locks) show here. */
  files: Record<string, string>;
  /** The committed catalog, in order. */
  objects: Record<string, unknown>[];
  inputs: Record<string, unknown>[];
  /** Quarantine files: their records. */
  quarantine: Record<string, Record<string, unknown>[]>;
  /** Monitor state: checkpoints (without updated_at), done records (without processed_at). */
  monitor: Record<string, unknown>;
  /** Each view with rows: row count and a digest of its sorted rows. */
  views: Record<string, { rows: number; digest: string }>;
}

const VIEW_EXCLUDE: Record<string, string[]> = { quarantine: ['quarantined_at'], lake_objects: ['created_at'] };

/**
 * Row count and a digest of the sorted rows of each non-empty view of a local lake (or a mirror of an S3 one: `seqFree`
 * leaves the catalog's sequence numbers out of `lake_objects`).
 */
async function viewDigests(lakeDir: string, seqFree = false): Promise<LakeSnapshot['views']> {
  const db = await Duck.open({ threads: 1 });
  try {
    const { views } = await createLakeViews(db, lakeDir);
    const out: LakeSnapshot['views'] = {};
    for (const name of Object.keys(views).sort()) {
      const ex = name === 'lake_objects' && seqFree ? [...VIEW_EXCLUDE[name]!, 'seq'] : VIEW_EXCLUDE[name];
      const sel = ex ? `* EXCLUDE (${ex.map(quoteIdent).join(', ')})` : '*';
      const [r] = await db.all(
        `SELECT count(*)::BIGINT AS n, md5(coalesce(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR)), '')) AS d FROM (SELECT ${sel} FROM ${quoteIdent(name)}) t`,
      );
      const rows = Number(r!.n);
      if (rows > 0) out[name] = { rows, digest: String(r!.d) };
    }
    return out;
  } finally {
    db.close();
  }
}

/**
 * Snapshot a local lake directory, or an S3-lake monitor's state directory (a local lake holding its checkpoint and a
 * copy of its findings): with `seqFreeCheckpoint` the checkpoint's position (an S3 catalog's sequence number) is left
 * out.
 */
export async function localLakeSnapshot(lakeDir: string, opts: { seqFreeCheckpoint?: boolean } = {}): Promise<LakeSnapshot> {
  const snap: LakeSnapshot = { files: {}, objects: [], inputs: [], quarantine: {}, monitor: {}, views: {} };
  for (const rel of filesUnder(lakeDir)) {
    const full = path.join(lakeDir, rel);
    const text = (): string => readFileSync(full, 'utf8');
    if (rel === '_seclake/catalog/objects.jsonl') snap.objects = jsonLines(text(), rel).map((o) => omit(o, ['created_at']));
    else if (rel === '_seclake/catalog/inputs.jsonl') snap.inputs = jsonLines(text(), rel).map((o) => omit(o, ['ingested_at']));
    else if (/^_seclake\/quarantine\/[^/]+\.jsonl$/.test(rel)) snap.quarantine[rel] = jsonLines(text(), rel).map((o) => omit(o, ['quarantined_at']));
    else if (/^_seclake\/monitor\/[^/]+\.json$/.test(rel)) snap.monitor[rel] = omit(JSON.parse(text()) as Record<string, unknown>, opts.seqFreeCheckpoint ? ['updated_at', 'seq'] : ['updated_at']);
    else snap.files[rel] = statSync(full).size === 0 ? 'empty' : sha(readFileSync(full));
  }
  snap.views = existsSync(lakeDir) ? await viewDigests(lakeDir) : {};
  return snap;
}

/** Every key of a bucket (under an optional prefix). */
export async function listBucket(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of r.Contents ?? []) out.push(o.Key!);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/**
 * Snapshot an S3 lake `s3://bucket[/prefix]`: every key of the bucket (the catalog log's entries and head hint are
 * protocol internals: compared through the listing; commit records by key only), the committed catalog through a fresh
 * reader (sequence numbers left out, order kept), done records, and the views over a mirror in `mirrorDir`.
 */
export async function s3LakeSnapshot(s3: S3Client, endpoint: string, url: string, mirrorDir: string): Promise<LakeSnapshot> {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url)!;
  const bucket = m[1]!;
  const snap: LakeSnapshot = { files: {}, objects: [], inputs: [], quarantine: {}, monitor: {}, views: {} };
  for (const key of await listBucket(s3, bucket)) {
    if (/(^|\/)_seclake\/catalog\/(log\/|head\.json$)/.test(key)) continue;
    if (/(^|\/)_seclake\/catalog\/inputs\//.test(key)) snap.files[key] = 'commit record';
    else if (/(^|\/)_seclake\/quarantine\/[^/]+\.jsonl$/.test(key)) snap.quarantine[key] = jsonLines((await getBytes(s3, bucket, key)).toString('utf8'), key).map((o) => omit(o, ['quarantined_at']));
    else if (/(^|\/)_seclake\/monitor\/done\//.test(key)) snap.monitor[key] = omit(JSON.parse((await getBytes(s3, bucket, key)).toString('utf8')) as Record<string, unknown>, ['processed_at']);
    else snap.files[key] = sha(await getBytes(s3, bucket, key));
  }
  const lake = new S3Lake(url, { endpoint, region: 'us-east-1' }, s3);
  const objects = await lake.listCatalog(0);
  for (let i = 1; i < objects.length; i++) assert.ok(objects[i]!.seq > objects[i - 1]!.seq, `${url}: catalog seqs increase`);
  snap.objects = objects.map((o) => omit(o as unknown as Record<string, unknown>, ['seq', 'created_at']));
  snap.inputs = (await lake.listInputs()).map((o) => omit(o as unknown as Record<string, unknown>, ['ingested_at']));
  const store = openLakeStore(url, { endpoint, region: 'us-east-1' });
  try {
    await syncLakeToDir(store, mirrorDir);
  } finally {
    store.close();
  }
  snap.views = await viewDigests(mirrorDir, true);
  return snap;
}

/**
 * A file sink's output: the distinct findings (sorted), how many lines repeat one, and what is wrong with the file:
 * an unterminated last line or a line that is not JSON (a torn write, or one glued to the next append).
 */
export function sinkOutput(file: string): { findings: string[]; lines: number; repeats: number; bad: string[] } {
  if (!existsSync(file)) return { findings: [], lines: 0, repeats: 0, bad: [] };
  const text = readFileSync(file, 'utf8');
  const bad: string[] = [];
  if (text !== '' && !text.endsWith('\n')) bad.push(`the last line is unterminated: ${JSON.stringify(text.slice(-120))}`);
  const lines = text.split('\n').filter((l) => l !== '');
  for (const [i, l] of lines.entries()) {
    try {
      JSON.parse(l);
    } catch {
      bad.push(`line ${i + 1} is not JSON: ${l.slice(0, 160)}...${l.slice(-160)}`);
    }
  }
  const distinct = [...new Set(lines)].sort();
  return { findings: distinct, lines: lines.length, repeats: lines.length - distinct.length, bad };
}
