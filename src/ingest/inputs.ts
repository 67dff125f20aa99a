/**
 * Raw inputs: files, folders (walked recursively) and stdin. Each input is hashed (sha256 of its
 * decompressed content, so `x.log.gz` and `x.log` are the same input), sniffed (gzip, Parquet) and
 * offered to sources as a `SourceInput`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, openSync, readSync, closeSync, readdirSync, statSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import path from 'node:path';
import { ParseError, errorMessage } from '../core/errors.js';
import type { SourceHints, SourceInput } from '../sources/types.js';

export interface InputRef {
  /** Display name (path as given, or `-`). */
  name: string;
  /** Local file path ('' for stdin until spooled). */
  file: string;
  /** Found by walking a folder (unrecognised files are skipped, not failed). */
  walked: boolean;
}

const SKIP_NAMES = new Set(['.git', 'node_modules', '_seclake']);

/** Expand CLI paths into inputs. Folders are walked (sorted, hidden entries skipped). */
export function expandPaths(paths: string[], excludeDir?: string): InputRef[] {
  const out: InputRef[] = [];
  const exclude = excludeDir ? path.resolve(excludeDir) : undefined;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || SKIP_NAMES.has(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (exclude && path.resolve(full) === exclude) continue;
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push({ name: full, file: full, walked: true });
    }
  };
  for (const p of paths) {
    if (p === '-') {
      out.push({ name: '-', file: '', walked: false });
      continue;
    }
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      out.push({ name: p, file: p, walked: false });
      void err; // reported when opened
      continue;
    }
    if (st.isDirectory()) walk(p);
    else out.push({ name: p, file: p, walked: false });
  }
  return out;
}

/** Copy stdin to a file so it can be hashed, sniffed and read like any other input. */
export async function spoolStdin(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `stdin-${randomUUID()}`);
  await pipeline(process.stdin, createWriteStream(file));
  return file;
}

function readHead(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

export interface OpenedInput {
  input: SourceInput;
  gzip: boolean;
  /** First ~64 KiB of decompressed text ('' for Parquet). */
  head: string;
  /** File size in bytes and mtime, for the cheap "same file again" check. */
  size: number;
  mtimeMs: number;
  /**
   * sha256 (hex) of the decompressed content. Computed while the source reads the input (one pass);
   * if the source did not read it all, or read Parquet through DuckDB, it is computed here.
   */
  contentHash(): Promise<string>;
  /** Temp files to remove when done. */
  cleanup: string[];
}

const HEAD_BYTES = 64 * 1024;

function rawStream(file: string, gzip: boolean): Readable {
  const s = createReadStream(file, { highWaterMark: 1 << 20 });
  return gzip ? s.pipe(createGunzip({ chunkSize: 1 << 20 })) : s;
}

async function hashContent(file: string, gzip: boolean): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of rawStream(file, gzip)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function decompressedHead(file: string, gzip: boolean): Promise<Buffer> {
  if (!gzip) return readHead(file, HEAD_BYTES);
  const chunks: Buffer[] = [];
  let len = 0;
  const s = rawStream(file, true);
  try {
    for await (const chunk of s) {
      chunks.push(chunk as Buffer);
      len += (chunk as Buffer).length;
      if (len >= HEAD_BYTES) break;
    }
  } finally {
    s.destroy();
  }
  return Buffer.concat(chunks).subarray(0, HEAD_BYTES);
}

/** Reads the decompressed content once, hashing what passes through. */
class HashingReader {
  private hash = createHash('sha256');
  private complete = false;
  private used = false;

  constructor(
    private readonly file: string,
    private readonly gzip: boolean,
  ) {}

  async *chunks(): AsyncGenerator<Buffer> {
    const mine = !this.used;
    this.used = true;
    for await (const chunk of rawStream(this.file, this.gzip)) {
      if (mine) this.hash.update(chunk as Buffer);
      yield chunk as Buffer;
    }
    if (mine) this.complete = true;
  }

  async digest(): Promise<string> {
    if (this.complete) {
      this.complete = false;
      return this.hash.digest('hex');
    }
    return hashContent(this.file, this.gzip);
  }
}

/** Open one input: sniff and wrap as a SourceInput. Throws ParseError (total) if unreadable. */
export async function openInput(ref: InputRef, tmpDir: string): Promise<OpenedInput> {
  const cleanup: string[] = [];
  let st;
  try {
    st = statSync(ref.file);
    if (!st.isFile()) throw new Error('not a regular file');
  } catch (err) {
    throw new ParseError(`cannot read: ${errorMessage(err)}`, { file: ref.name, kind: 'total' }, { cause: err });
  }
  const magic = readHead(ref.file, 4);
  const gzip = magic.length >= 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  let headBuf: Buffer;
  try {
    headBuf = await decompressedHead(ref.file, gzip);
  } catch (err) {
    throw new ParseError(`cannot ${gzip ? 'decompress' : 'read'}: ${errorMessage(err)}`, { file: ref.name, kind: 'total' }, { cause: err });
  }
  const isParquet = headBuf.subarray(0, 4).toString('latin1') === 'PAR1';
  let localPath = ref.file;
  if (isParquet && gzip) {
    mkdirSync(tmpDir, { recursive: true });
    localPath = path.join(tmpDir, `gunzip-${randomUUID()}.parquet`);
    await pipeline(rawStream(ref.file, true), createWriteStream(localPath));
    cleanup.push(localPath);
  }
  const reader = new HashingReader(ref.file, gzip);
  const input: SourceInput = {
    name: ref.name,
    path: localPath,
    isParquet,
    lines: () => linesOf(reader.chunks()),
    text: async () => {
      const chunks: Buffer[] = [];
      for await (const c of reader.chunks()) chunks.push(c);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
  return {
    input,
    gzip,
    head: isParquet ? '' : headBuf.toString('utf8'),
    size: st.size,
    mtimeMs: st.mtimeMs,
    contentHash: () => reader.digest(),
    cleanup,
  };
}

/** Split a byte stream into lines (no trailing newline, `\r` stripped, BOM dropped). */
export async function* linesOf(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  let first = true;
  for await (const chunk of chunks) {
    let text = rest + decoder.decode(chunk, { stream: true });
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield text.slice(start, end);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.decode();
  if (rest.length > 0) yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

/**
 * Region/account hints from AWS object key conventions:
 * `<acct>_vpcflowlogs_<region>_...`, `<acct>_CloudTrail_<region>_...`, `AWSLogs/<acct>/<service>/<region>/...`,
 * `aws-account-id=<acct>/.../aws-region=<region>`, Security Lake `region=<r>/accountId=<a>`.
 */
export function hintsFromName(name: string): SourceHints {
  const hints: SourceHints = {};
  const base = path.basename(name);
  let m = /^(\d{12})_(?:vpcflowlogs|CloudTrail|CloudTrail-Digest)_([a-z]{2}(?:-[a-z]+)+-\d)_/.exec(base);
  if (m) return { accountId: m[1], region: m[2] };
  m = /AWSLogs\/(\d{12})\/[^/]+\/([a-z]{2}(?:-[a-z]+)+-\d)\//.exec(name);
  if (m) return { accountId: m[1], region: m[2] };
  m = /aws-account-id=(\d{12})/.exec(name);
  if (m) hints.accountId = m[1];
  m = /aws-region=([a-z]{2}(?:-[a-z]+)+-\d)/.exec(name);
  if (m) hints.region = m[1];
  m = /region=([a-z]{2}(?:-[a-z]+)+-\d)\//.exec(name);
  if (m && !hints.region) hints.region = m[1];
  m = /accountId=(\d{12})\//.exec(name);
  if (m && !hints.accountId) hints.accountId = m[1];
  return hints;
}

export function removeQuietly(files: string[]): void {
  for (const f of files) rmSync(f, { force: true });
}
