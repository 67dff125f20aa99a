/**
 * Raw inputs: files, folders (walked recursively) and stdin. Each input is hashed (sha256 of its
 * decompressed content, so `x.log.gz` and `x.log` are the same input), sniffed (gzip, Parquet) and
 * offered to sources as a `SourceInput`.
 *
 * Text is split into lines here (`linesOf`) with the checks of src/sources/line-checks.ts: a line longer than
 * `--max-line-bytes` or not valid UTF-8 is skipped and handed to the caller to quarantine, never altered.
 */
import { createHash, randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { createReadStream, createWriteStream, mkdirSync, openSync, readSync, closeSync, readdirSync, realpathSync, statSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform, pipeline as pipelineStreams } from 'node:stream';
import { createGunzip } from 'node:zlib';
import path from 'node:path';
import { ParseError, errorMessage } from '../core/errors.js';
import { OVERSIZE_PREFIX_BYTES, invalidUtf8At, invalidUtf8Reason, oversizePrefix, oversizeRaw, oversizeReason, rawWithInvalidBytes } from '../sources/line-checks.js';
import type { SourceHints, SourceInput } from '../sources/types.js';

export { oversizeReason } from '../sources/line-checks.js';

export interface InputRef {
  /** Display name (path as given, or `-`). */
  name: string;
  /** Local file path ('' for stdin until spooled). */
  file: string;
  /** Found by walking a folder (unrecognised files are skipped, not failed). */
  walked: boolean;
  /**
   * Found by walking a folder but not read, and why (a symbolic link pointing outside the folder, to a folder or
   * nowhere; a FIFO, socket or device): the ingest reports it as skipped with this warning.
   */
  skip?: string;
  /** A symbolic link inside the walked folder that is followed: what it points to (said in the result). */
  linkTarget?: string;
}

const SKIP_NAMES = new Set(['.git', 'node_modules', '_seclake']);

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/**
 * Expand CLI paths into inputs. Folders are walked (sorted, hidden entries skipped). A symbolic link met while
 * walking is followed when it points to a regular file inside the folder given (its real path; the input keeps the
 * link's name); one pointing outside that folder, to a folder or nowhere is not followed and is listed with `skip`
 * (as are FIFOs, sockets and devices), so the ingest says so. A path given on the command line is read as given.
 */
export function expandPaths(paths: string[], excludeDir?: string): InputRef[] {
  const out: InputRef[] = [];
  const exclude = excludeDir ? path.resolve(excludeDir) : undefined;
  const walk = (dir: string, root: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || SKIP_NAMES.has(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (exclude && path.resolve(full) === exclude) continue;
      if (entry.isDirectory()) walk(full, root);
      else if (entry.isFile()) out.push({ name: full, file: full, walked: true });
      else if (entry.isSymbolicLink()) out.push(symlinkRef(full, root));
      else out.push({ name: full, file: full, walked: true, skip: 'not a regular file (a FIFO, socket or device): not read' });
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
    if (st.isDirectory()) {
      let root: string;
      try {
        root = realpathSync(p);
      } catch {
        root = path.resolve(p);
      }
      walk(p, root);
    } else out.push({ name: p, file: p, walked: false });
  }
  return out;
}

/** A symbolic link met while walking the folder whose real path is `root`: followed only to a regular file inside it. */
function symlinkRef(link: string, root: string): InputRef {
  const ref: InputRef = { name: link, file: link, walked: true };
  let target: string;
  try {
    target = realpathSync(link);
  } catch (err) {
    return { ...ref, skip: `a symbolic link that points nowhere (${errorMessage(err)}): not followed` };
  }
  if (!isInside(root, target)) {
    return { ...ref, skip: `a symbolic link to ${target}, outside the folder being ingested (${root}): not followed` };
  }
  let st;
  try {
    st = statSync(target);
  } catch (err) {
    return { ...ref, skip: `a symbolic link to ${target}, which cannot be read (${errorMessage(err)}): not followed` };
  }
  if (st.isDirectory()) return { ...ref, skip: `a symbolic link to the folder ${target}: not followed (folders are walked only through real paths)` };
  if (!st.isFile()) return { ...ref, skip: `a symbolic link to ${target}, which is not a regular file: not followed` };
  return { ...ref, file: target, linkTarget: target };
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
  /**
   * Lines `input.lines()` skipped (it yields '' in their place), in order: longer than `maxLineBytes`, or not valid
   * UTF-8. The caller quarantines and removes them. Cleared when `lines()` starts again (a source that rereads the input).
   */
  skipped: SkippedLine[];
  /** The decompressed content is empty, or only blanks (and a BOM): nothing to read. Never for Parquet. */
  empty: boolean;
  /** Temp files to remove when done. */
  cleanup: string[];
}

/** A line `input.lines()` skipped, with the reason and raw text to quarantine it with. */
export interface SkippedLine {
  /** 1-based line number. */
  line: number;
  reason: string;
  raw: string;
}

const HEAD_BYTES = 64 * 1024;

/** Limits on one input (IngestOptions `maxLineBytes`, `maxGzipRatio`; CLI `--max-line-bytes`, `--max-gzip-ratio`). */
export interface InputLimits {
  /** Longest line (record) of a text input, in bytes; a longer one is quarantined, never held in memory. */
  maxLineBytes: number;
  /** A gzip input may expand to at most `maxGzipRatio` x its compressed size + GZIP_EXPANSION_FLOOR bytes. */
  maxGzipRatio: number;
}

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
/**
 * Deflate cannot expand more than ~1032x, so a 1000x limit would stop nothing: real logs compress 5-30x
 * (CloudTrail JSON, VPC flow text), 250x leaves room for very repetitive ones.
 */
export const DEFAULT_MAX_GZIP_RATIO = 250;
/** Expansion always allowed, whatever the ratio (small, highly repetitive files). */
export const GZIP_EXPANSION_FLOOR = 64 * 1024 * 1024;

export const DEFAULT_INPUT_LIMITS: InputLimits = { maxLineBytes: DEFAULT_MAX_LINE_BYTES, maxGzipRatio: DEFAULT_MAX_GZIP_RATIO };

interface GzipGuard {
  name: string;
  compressedBytes: number;
  ratio: number;
}

/** Most bytes a gzip input of `compressedBytes` may expand to. */
export function gzipExpansionLimit(compressedBytes: number, ratio: number): number {
  return Math.floor(compressedBytes * ratio) + GZIP_EXPANSION_FLOOR;
}

function expansionError(g: GzipGuard, what: string): ParseError {
  const limit = gzipExpansionLimit(g.compressedBytes, g.ratio);
  return new ParseError(
    `gzip input ${what} past ${limit} bytes (${g.ratio}x its ${g.compressedBytes} compressed bytes + ${GZIP_EXPANSION_FLOOR}): ` +
      'refused as a likely decompression bomb (raise --max-gzip-ratio if it is a real log)',
    { file: g.name, kind: 'total' },
  );
}

function rawStream(file: string, gzip: boolean, guard?: GzipGuard): Readable {
  const s = createReadStream(file, { highWaterMark: 1 << 20 });
  if (!gzip) return s;
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  if (!guard) return s.pipe(gunzip);
  const limit = gzipExpansionLimit(guard.compressedBytes, guard.ratio);
  let out = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      out += chunk.length;
      if (out > limit) cb(expansionError(guard, 'expands'));
      else cb(null, chunk);
    },
  });
  // pipeline: an error anywhere (read, inflate, the limit) destroys all three and reaches the consumer.
  return pipelineStreams(s, gunzip, counter, () => {});
}

/** The gzip trailer's ISIZE (uncompressed size mod 2^32 of the last member): a free first check. */
function gzipTrailerSize(file: string, size: number): number | undefined {
  if (size < 18) return undefined;
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4);
    return readSync(fd, buf, 0, 4, size - 4) === 4 ? buf.readUInt32LE(0) : undefined;
  } finally {
    closeSync(fd);
  }
}

async function hashContent(file: string, gzip: boolean, guard?: GzipGuard): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of rawStream(file, gzip, guard)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function decompressedHead(file: string, gzip: boolean, guard?: GzipGuard): Promise<Buffer> {
  if (!gzip) return readHead(file, HEAD_BYTES);
  const chunks: Buffer[] = [];
  let len = 0;
  const s = rawStream(file, true, guard);
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
    private readonly guard?: GzipGuard,
  ) {}

  async *chunks(): AsyncGenerator<Buffer> {
    const mine = !this.used;
    this.used = true;
    for await (const chunk of rawStream(this.file, this.gzip, this.guard)) {
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
    return hashContent(this.file, this.gzip, this.guard);
  }
}

/**
 * Open one input: sniff and wrap as a SourceInput. Throws ParseError (total) if unreadable, or if it is gzip
 * and expands past `limits.maxGzipRatio` (checked from the trailer first, then while streaming). Lines longer
 * than `limits.maxLineBytes` are skipped by `input.lines()` and listed in `oversize` for the caller to quarantine.
 */
export async function openInput(ref: InputRef, tmpDir: string, limits: InputLimits = DEFAULT_INPUT_LIMITS): Promise<OpenedInput> {
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
  const guard: GzipGuard | undefined = gzip ? { name: ref.name, compressedBytes: st.size, ratio: limits.maxGzipRatio } : undefined;
  if (guard) {
    const isize = gzipTrailerSize(ref.file, st.size);
    if (isize !== undefined && isize > gzipExpansionLimit(st.size, guard.ratio)) throw expansionError(guard, 'says (gzip trailer) it expands');
  }
  let headBuf: Buffer;
  try {
    headBuf = await decompressedHead(ref.file, gzip, guard);
  } catch (err) {
    if (err instanceof ParseError) throw err;
    throw new ParseError(`cannot ${gzip ? 'decompress' : 'read'}: ${errorMessage(err)}`, { file: ref.name, kind: 'total' }, { cause: err });
  }
  const isParquet = headBuf.subarray(0, 4).toString('latin1') === 'PAR1';
  let localPath = ref.file;
  if (isParquet && gzip) {
    mkdirSync(tmpDir, { recursive: true });
    localPath = path.join(tmpDir, `gunzip-${randomUUID()}.parquet`);
    await pipeline(rawStream(ref.file, true, guard), createWriteStream(localPath));
    cleanup.push(localPath);
  }
  const reader = new HashingReader(ref.file, gzip, guard);
  const skipped: SkippedLine[] = [];
  const lineLimits: LineLimits = {
    maxLineBytes: limits.maxLineBytes,
    onOversize: (l) => skipped.push({ line: l.line, reason: oversizeReason(limits.maxLineBytes), raw: oversizeRaw(l.prefix, l.bytes) }),
    onInvalidUtf8: (l) => skipped.push({ line: l.line, reason: invalidUtf8Reason(l.offset, l.lineOffset, l.byte), raw: l.raw }),
  };
  const input: SourceInput = {
    name: ref.name,
    path: localPath,
    isParquet,
    lines: () => {
      skipped.length = 0;
      return linesOf(reader.chunks(), lineLimits);
    },
    text: async () => {
      const chunks: Buffer[] = [];
      for await (const c of reader.chunks()) chunks.push(c);
      return checkedText(Buffer.concat(chunks), ref.name);
    },
    bytes: () => reader.chunks(),
    maxLineBytes: limits.maxLineBytes,
  };
  const head = isParquet ? '' : headBuf.toString('utf8');
  // The head holds the whole content when it is shorter than HEAD_BYTES.
  const empty = !isParquet && headBuf.length < HEAD_BYTES && head.replace(/^\uFEFF/, '').trim() === '';
  return {
    input,
    gzip,
    head,
    size: st.size,
    mtimeMs: st.mtimeMs,
    contentHash: () => reader.digest(),
    skipped,
    empty,
    cleanup,
  };
}

/**
 * A whole input as text (sources that parse one JSON document): refused (ParseError, the input fails) if it is not
 * valid UTF-8, naming the byte offset and line of the first bad byte. A document cannot be quarantined record by
 * record, and decoding would replace the bad bytes, altering the evidence.
 */
export function checkedText(buf: Buffer, name: string): string {
  if (isUtf8(buf)) return buf.toString('utf8');
  const at = invalidUtf8At(buf);
  let line = 1;
  let lineStart = 0;
  for (let nl = buf.indexOf(10); nl >= 0 && nl < at; nl = buf.indexOf(10, nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  throw new ParseError(
    `${invalidUtf8Reason(at, at - lineStart, buf[at]!)}; the input is read as one JSON document, so it is not ingested ` +
      '(its records cannot be quarantined one by one): fix or remove the bytes, or convert it to JSON lines',
    { file: name, line, kind: 'total' },
  );
}

/** A line longer than the limit: skipped by `linesOf` (yielded as ''), to be quarantined by the caller. */
export interface OversizeLine {
  /** 1-based line number. */
  line: number;
  /** Its length in bytes (without the newline). */
  bytes: number;
  /** The start of the line (at most OVERSIZE_PREFIX_BYTES bytes, bad UTF-8 bytes written `\xNN`), for the quarantine. */
  prefix: string;
}

/** A line that is not valid UTF-8: skipped by `linesOf` (yielded as ''), to be quarantined by the caller. */
export interface InvalidUtf8Line {
  /** 1-based line number. */
  line: number;
  /** Byte offset of its first bad byte in the (decompressed) input, and in the line. */
  offset: number;
  lineOffset: number;
  /** That byte. */
  byte: number;
  /** The line with its bad bytes written `\xNN` (`rawWithInvalidBytes`). */
  raw: string;
}

export interface LineLimits {
  /** Longest line kept, in bytes; a longer one is never held in memory: it is skipped and reported. */
  maxLineBytes: number;
  /** Called once per skipped line, before the '' that stands for it is yielded. */
  onOversize: (l: OversizeLine) => void;
  /**
   * Called once per line that is not valid UTF-8, before the '' that stands for it is yielded. Without it such a
   * line is decoded with U+FFFD in place of the bad bytes (tests, and readers that only look).
   */
  onInvalidUtf8?: (l: InvalidUtf8Line) => void;
}

/**
 * Split a byte stream into lines (no trailing newline, `\r` stripped, BOM dropped). Linear time: each chunk's whole
 * lines are decoded in one call; the bytes of a line cut at a chunk end wait in a list and are joined once, when its
 * newline arrives. With `limits`, a line longer than `limits.maxLineBytes` is not kept: its bytes are dropped as they
 * stream past, `onOversize` is told and '' is yielded in its place (so callers' line numbers stay right); with
 * `limits.onInvalidUtf8`, a line that is not valid UTF-8 is reported and '' yielded likewise (each chunk's lines are
 * checked at once with the native `isUtf8`; only a chunk that fails is looked at line by line).
 */
export async function* linesOf(chunks: AsyncIterable<Buffer>, limits?: LineLimits): AsyncGenerator<string> {
  // A line's bytes are held up to the limit, plus one for the `\r` of a CRLF ending.
  const max = limits?.maxLineBytes ?? Infinity;
  const onInvalid = limits?.onInvalidUtf8;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Input offset of the first byte of the pending line. */
  let pendingStart = 0;
  /** Skipping an oversize line: its byte count so far and its prefix. */
  let skipping: { bytes: number; prefix: string } | undefined;
  let lineNo = 0;
  let first = true;
  /** Input offset of the current chunk's first byte. */
  let base = 0;
  const decode = (b: Buffer): string => {
    let t = b.toString('utf8');
    if (first) {
      if (t.charCodeAt(0) === 0xfeff) t = t.slice(1);
      first = false;
    }
    return t;
  };
  const strip = (l: string): string => (l.charCodeAt(l.length - 1) === 13 ? l.slice(0, -1) : l);
  const oversize = (bytes: number, prefix: string): string => {
    first = false;
    limits?.onOversize({ line: lineNo, bytes, prefix });
    return '';
  };
  /** A decoded line (maybe past the limit when the limit is under a chunk's size). */
  const checked = (l: string): string => {
    l = strip(l);
    if (l.length * 3 > max && Buffer.byteLength(l) > max) {
      return oversize(Buffer.byteLength(l), oversizePrefix(Buffer.from(l.slice(0, OVERSIZE_PREFIX_BYTES))));
    }
    return l;
  };
  /** One line's bytes (no `\n`) starting at input offset `at`: its text, or '' (reported) if it is not UTF-8. */
  const lineOf = (b: Buffer, at: number): string => {
    if (onInvalid && !isUtf8(b)) {
      const len = b.length > 0 && b[b.length - 1] === 13 ? b.length - 1 : b.length;
      if (len > max) return oversize(len, oversizePrefix(b));
      const body = b.subarray(0, len);
      const bad = invalidUtf8At(body);
      first = false;
      onInvalid({ line: lineNo, offset: at + bad, lineOffset: bad, byte: body[bad]!, raw: rawWithInvalidBytes(body) });
      return '';
    }
    return checked(decode(b));
  };
  for await (const chunk of chunks) {
    const at = base;
    base += chunk.length;
    let pos = 0;
    const nl = chunk.indexOf(10);
    if (nl < 0) {
      // No line ends here: the chunk belongs to the open line.
      if (skipping) skipping.bytes += chunk.length;
      else {
        if (pending.length === 0) pendingStart = at;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes > max + 1) {
          const all = Buffer.concat(pending.length > 1 ? [pending[0]!, pending[1]!] : pending);
          skipping = { bytes: pendingBytes, prefix: oversizePrefix(all) };
          pending = [];
          pendingBytes = 0;
        }
      }
      continue;
    }
    // Finish the open line with the bytes up to the first newline.
    if (skipping) {
      lineNo++;
      const cr = nl > 0 ? chunk[nl - 1] === 13 : false;
      yield oversize(skipping.bytes + nl - (cr ? 1 : 0), skipping.prefix);
      skipping = undefined;
      pos = nl + 1;
    } else if (pending.length > 0) {
      lineNo++;
      pending.push(chunk.subarray(0, nl));
      const line = Buffer.concat(pending, pendingBytes + nl);
      pending = [];
      pendingBytes = 0;
      yield lineOf(line, pendingStart);
      pos = nl + 1;
    }
    // The whole lines after it, decoded in one call.
    const last = chunk.lastIndexOf(10);
    if (last >= pos) {
      const whole = chunk.subarray(pos, last + 1);
      if (!onInvalid || isUtf8(whole)) {
        const text = decode(whole);
        let s = 0;
        for (;;) {
          const e = text.indexOf('\n', s);
          if (e < 0) break;
          lineNo++;
          yield checked(text.slice(s, e));
          s = e + 1;
        }
      } else {
        // Some line here is not UTF-8: line by line.
        for (let s = pos; s <= last; ) {
          const e = chunk.indexOf(10, s);
          lineNo++;
          yield lineOf(chunk.subarray(s, e), at + s);
          s = e + 1;
        }
      }
      pos = last + 1;
    }
    if (pos < chunk.length) {
      const tail = chunk.subarray(pos);
      if (tail.length > max + 1) {
        skipping = { bytes: tail.length, prefix: oversizePrefix(tail) };
      } else {
        pending.push(tail);
        pendingBytes = tail.length;
        pendingStart = at + pos;
      }
    }
  }
  if (skipping) {
    lineNo++;
    yield oversize(skipping.bytes, skipping.prefix);
  } else if (pendingBytes > 0) {
    lineNo++;
    const rest = Buffer.concat(pending, pendingBytes);
    if (onInvalid && !isUtf8(rest)) yield lineOf(rest, pendingStart);
    else {
      const text = decode(rest);
      if (text.length > 0) yield checked(text);
    }
  }
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
