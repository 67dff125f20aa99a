/**
 * A lake in S3: `s3://bucket/prefix` holds the same Security Lake layout as a local lake directory, and its
 * catalog lives in S3 too, so any number of ingest workers and monitors can share it without a lock server.
 *
 *   <prefix>/aws/<SOURCE>/2.0/region=/accountId=/eventDay=/<hash>-<class>-<n>.parquet   objects (as locally)
 *   <prefix>/_seclake/quarantine/<hash20>.jsonl                                         rejected records
 *   <prefix>/_seclake/catalog/log/<first_seq, 16 digits>.json                           one log entry per publish
 *   <prefix>/_seclake/catalog/inputs/<sha256>.json                                      which log entry is THE one
 *   <prefix>/_seclake/catalog/head.json                                                 hint: a recent log key
 *
 * Publishing an input (objects are staged and written locally first, exactly as for a local lake):
 *   1. HEAD inputs/<sha256>.json: present -> duplicate, nothing uploaded.
 *   2. Upload the objects and the quarantine file (multipart above 16 MiB, streamed from the staged files).
 *   3. Append a log entry: read the tail entry, claim key `first = tail.first + max(1, tail.objects)` with a
 *      conditional PUT (`If-None-Match: *`); on 412 read the winner and try the key after it. Every attempt at
 *      key k+1 happens after key k exists, so keys appear in order and a lister never sees k+1 without k.
 *   4. Resolve: conditional PUT of inputs/<sha256>.json naming this entry. The first entry to be named wins; a
 *      losing worker's entry is void (readers skip it) and it reports `duplicate`.
 * Readers list log entries in key order and keep an entry only if inputs/<sha256>.json names it. An entry whose
 * input record is missing is pending (a writer between steps 3 and 4); after a grace period a reader resolves it
 * itself (the same conditional PUT), so a writer that died there never blocks the log. A pending entry stops a
 * listing, so a consumer's checkpoint never passes an entry that might still become valid.
 *
 * Object sequence numbers are global as in a local lake: entry `first` holds objects first, first+1, ...
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { createReadStream, createWriteStream, mkdirSync, openSync, closeSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { ConfigError, LakeError, errorMessage } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import type { LakeSourceName, SourceType } from '../core/events.js';
import { OBJECT_TYPES, derivedInputHash, type CatalogInput, type CatalogObject, type DerivedObject } from './catalog.js';
import { META_DIR } from './layout.js';

/** Connection settings; anything unset comes from the AWS SDK's usual environment and config files. */
export interface S3Options {
  /** e.g. http://127.0.0.1:5000 (moto, MinIO); implies path-style addressing. Default: $SECLAKE_S3_ENDPOINT, else AWS. */
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
}

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slash ('' for the bucket root). */
  prefix: string;
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isS3Url(s: string | undefined): s is string {
  return typeof s === 'string' && /^s3:\/\//i.test(s);
}

/** `s3://bucket/some/prefix/` -> { bucket, prefix: 'some/prefix' }. The prefix is checked like any key. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(url);
  if (!m) throw new ConfigError(`not an S3 URL: ${JSON.stringify(url)} (expected s3://bucket/prefix)`);
  const bucket = m[1]!;
  if (!BUCKET_RE.test(bucket)) throw new ConfigError(`invalid S3 bucket name in ${JSON.stringify(url)}`);
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '') safeKey(prefix);
  return { bucket, prefix };
}

/**
 * Check a lake-relative object key: POSIX segments, no empty, `.` or `..` segment, no leading slash, no
 * backslash or control characters. Returns it unchanged; throws a LakeError otherwise.
 */
export function safeKey(rel: string): string {
  // eslint-disable-next-line no-control-regex
  if (rel === '' || rel.length > 900 || /[\\\u0000-\u001f\u007f]/.test(rel) || rel.startsWith('/')) {
    throw new LakeError(`invalid object key in lake: ${JSON.stringify(rel)}`);
  }
  for (const seg of rel.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw new LakeError(`invalid object key in lake: ${JSON.stringify(rel)}`);
  }
  return rel;
}

export function createS3Client(opts: S3Options = {}): S3Client {
  const endpoint = opts.endpoint ?? process.env.SECLAKE_S3_ENDPOINT;
  const config: S3ClientConfig = {
    // Plain PUTs with a known length: no aws-chunked trailers (not every S3-compatible store speaks them).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (region) config.region = region;
  else config.region = 'us-east-1';
  if (endpoint) {
    config.endpoint = endpoint;
    config.forcePathStyle = opts.forcePathStyle ?? true;
  } else if (opts.forcePathStyle !== undefined) {
    config.forcePathStyle = opts.forcePathStyle;
  }
  return new S3Client(config);
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}
function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return status(err) === 404 || name === 'NotFound' || name === 'NoSuchKey';
}
/** 412 (the key exists) or 409 (a concurrent conditional write is in flight): someone else got there first. */
function isConflict(err: unknown): boolean {
  const s = status(err);
  const name = (err as { name?: string }).name;
  return s === 412 || s === 409 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict';
}

/** 5xx, throttling, or a response that could not be parsed (an HTML error page from a proxy): worth retrying. */
function isTransient(err: unknown): boolean {
  const s = status(err);
  const name = (err as { name?: string }).name ?? '';
  if (s !== undefined) return s >= 500 || s === 429 || name === 'SlowDown';
  return /TimeoutError|ECONNRESET|EPIPE|socket hang up|Deserialization|XML parse/i.test(`${name} ${errorMessage(err)}`);
}

const RETRIES = 4;

/** Run an S3 call, retrying transient failures with exponential backoff and jitter. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= RETRIES || !isTransient(err)) throw err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}

/** Part size for multipart uploads and the threshold above which they are used. */
export const MULTIPART_PART_BYTES = 16 * 1024 * 1024;

/** A log entry: one published input and its objects. */
export interface LogEntry {
  first_seq: number;
  /** Random id of the publish attempt (tells a writer its own entry from a competitor's). */
  writer: string;
  input_hash: string;
  input: CatalogInput;
  objects: CatalogObject[];
  written_at: string;
}

interface InputRecord {
  input_hash: string;
  writer: string;
  /** first_seq of the log entry that is this input's publication. */
  entry: number;
  resolved_by: 'writer' | 'reader';
  at: string;
}

export interface S3LakeOptions extends S3Options {
  /** A log entry without its input record is resolved by readers after this long (default 60 s). */
  pendingGraceMs?: number;
  /** Readers may resolve pending entries (needs s3:PutObject on the catalog; default true). */
  resolvePending?: boolean;
}

export interface S3PublishObject {
  /** Lake-relative key, e.g. aws/VPC_FLOW/2.0/region=.../x.parquet */
  key: string;
  /** Local staged file to upload. */
  file: string;
  meta: Omit<CatalogObject, 'seq' | 'path' | 'bytes'>;
  /** Already uploaded (its size): publish only records it. */
  uploadedBytes?: number;
}

export interface S3PublishRequest {
  inputHash: string;
  input: Omit<CatalogInput, 'objects' | 'quarantine'>;
  objects: S3PublishObject[];
  quarantine?: { key: string; file: string };
}

export type S3PublishResult = { status: 'published'; objects: CatalogObject[]; entry: number } | { status: 'duplicate' };

const SEQ_DIGITS = 16;
const padSeq = (n: number): string => String(n).padStart(SEQ_DIGITS, '0');

/** The S3 side of a lake: object I/O under the prefix and the catalog protocol described above. */
export class S3Lake {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly pendingGraceMs: number;
  private readonly resolvePending: boolean;
  /** first_seq -> entry (valid) or null (void). Entries never change once resolved. */
  private readonly resolved = new Map<number, LogEntry | null>();
  /** first_seq -> number of seqs it spans, for every entry seen. */
  private readonly spans = new Map<number, number>();

  constructor(
    readonly url: string,
    opts: S3LakeOptions = {},
    client?: S3Client,
  ) {
    const loc = parseS3Url(url);
    this.bucket = loc.bucket;
    this.prefix = loc.prefix;
    this.client = client ?? createS3Client(opts);
    this.pendingGraceMs = opts.pendingGraceMs ?? 60_000;
    this.resolvePending = opts.resolvePending ?? true;
  }

  /** Full S3 key of a lake-relative key. */
  fullKey(rel: string): string {
    safeKey(rel);
    return this.prefix ? `${this.prefix}/${rel}` : rel;
  }

  /** `s3://bucket/prefix/<rel>` */
  objectUrl(rel: string): string {
    return `s3://${this.bucket}/${this.fullKey(rel)}`;
  }

  private relOf(full: string): string {
    return this.prefix ? full.slice(this.prefix.length + 1) : full;
  }

  private where(rel: string): string {
    return `s3://${this.bucket}/${this.prefix ? this.prefix + '/' : ''}${rel}`;
  }

  async exists(rel: string): Promise<boolean> {
    try {
      await retrying(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(rel) })));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw new LakeError(`HEAD ${this.where(rel)} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** GET a small JSON object; undefined if it does not exist. */
  async getJson<T>(rel: string): Promise<T | undefined> {
    let res;
    try {
      res = await retrying(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(rel) })));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new LakeError(`GET ${this.where(rel)} failed: ${errorMessage(err)}`, { cause: err });
    }
    const text = await res.Body!.transformToString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new LakeError(`${this.where(rel)}: not valid JSON`, { cause: err });
    }
  }

  /** PUT a small JSON object. With `ifNoneMatch`, returns false (and writes nothing) if the key exists. */
  async putJson(rel: string, value: unknown, ifNoneMatch = false): Promise<boolean> {
    try {
      // A retried conditional PUT may answer 412 because its own first attempt landed: callers that need to
      // know compare the stored object with what they wrote (log entries and input records carry a writer id).
      await retrying(() =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.fullKey(rel),
            Body: JSON.stringify(value) + '\n',
            ContentType: 'application/json',
            ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}),
          }),
        ),
      );
      return true;
    } catch (err) {
      if (ifNoneMatch && isConflict(err)) return false;
      throw new LakeError(`PUT ${this.where(rel)} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Upload a local file (streamed; multipart above MULTIPART_PART_BYTES, one part in memory at a time). */
  async putFile(rel: string, file: string, contentType = 'application/octet-stream'): Promise<number> {
    const key = this.fullKey(rel);
    const size = statSync(file).size;
    try {
      if (size <= MULTIPART_PART_BYTES) {
        await retrying(() =>
          this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: createReadStream(file), ContentLength: size, ContentType: contentType })),
        );
        return size;
      }
      const created = await retrying(() => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType })));
      const uploadId = created.UploadId!;
      try {
        const parts: { ETag: string; PartNumber: number }[] = [];
        const fd = openSync(file, 'r');
        try {
          const buf = Buffer.allocUnsafe(MULTIPART_PART_BYTES);
          for (let off = 0, n = 1; off < size; off += MULTIPART_PART_BYTES, n++) {
            const len = Math.min(MULTIPART_PART_BYTES, size - off);
            let got = 0;
            while (got < len) got += readSync(fd, buf, got, len - got, off + got);
            const res = await retrying(() =>
              this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: buf.subarray(0, len), ContentLength: len })),
            );
            parts.push({ ETag: res.ETag!, PartNumber: n });
          }
        } finally {
          closeSync(fd);
        }
        await retrying(() =>
          this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } })),
        );
      } catch (err) {
        // An unfinished multipart upload is never visible as an object; abort it so it costs nothing.
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
        throw err;
      }
      return size;
    } catch (err) {
      throw new LakeError(`upload of ${file} to ${this.where(rel)} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Delete an object (absent is fine). */
  async deleteObject(rel: string): Promise<void> {
    try {
      await retrying(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(rel) })));
    } catch (err) {
      if (isNotFound(err)) return;
      throw new LakeError(`DELETE ${this.where(rel)} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Download an object to a local file (streamed; written to `<file>.part` and renamed, so never half a file). */
  async getObjectToFile(rel: string, file: string): Promise<number> {
    mkdirSync(path.dirname(file), { recursive: true });
    const part = `${file}.part-${process.pid}`;
    try {
      const res = await retrying(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(rel) })));
      await pipeline(res.Body as Readable, createWriteStream(part));
      renameSync(part, file);
      return statSync(file).size;
    } catch (err) {
      rmSync(part, { force: true });
      throw new LakeError(`download of ${this.where(rel)} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  /**
   * The Parquet footer of an object as a sparse local file of the object's size (magic, zeros, footer): enough for
   * DuckDB to read the schema (DESCRIBE) without downloading the data.
   */
  async getParquetFooterToFile(rel: string, file: string): Promise<void> {
    const key = this.fullKey(rel);
    try {
      const tail = await retrying(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: 'bytes=-8' })));
      const t = Buffer.from(await tail.Body!.transformToByteArray());
      const total = Number(/\/(\d+)$/.exec(tail.ContentRange ?? '')?.[1] ?? NaN);
      if (t.length !== 8 || t.subarray(4).toString('latin1') !== 'PAR1' || !Number.isFinite(total)) {
        throw new LakeError('not a Parquet object (no PAR1 footer)');
      }
      const footerLen = t.readUInt32LE(0);
      const start = total - 8 - footerLen;
      if (start < 4) throw new LakeError('corrupt Parquet footer length');
      const res = await retrying(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${total - 1}` })));
      const footer = Buffer.from(await res.Body!.transformToByteArray());
      mkdirSync(path.dirname(file), { recursive: true });
      const fd = openSync(file, 'w');
      try {
        const { writeSync, ftruncateSync } = await import('node:fs');
        ftruncateSync(fd, total);
        writeSync(fd, Buffer.from('PAR1', 'latin1'), 0, 4, 0);
        writeSync(fd, footer, 0, footer.length, start);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw new LakeError(`reading the Parquet footer of ${this.where(rel)} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Lake-relative keys under a lake-relative prefix, in key order, starting after `startAfter` (lake-relative). */
  async *listKeys(relPrefix: string, startAfter?: string, maxKeys?: number): AsyncGenerator<{ key: string; size: number; lastModified?: Date }> {
    let token: string | undefined;
    let yielded = 0;
    do {
      let res;
      try {
        res = await retrying(() =>
          this.client.send(
            new ListObjectsV2Command({
              Bucket: this.bucket,
              Prefix: relPrefix.endsWith('/') ? this.fullKey(relPrefix.slice(0, -1)) + '/' : this.fullKey(relPrefix),
              ...(startAfter && !token ? { StartAfter: this.fullKey(startAfter) } : {}),
              ...(token ? { ContinuationToken: token } : {}),
              ...(maxKeys ? { MaxKeys: Math.min(1000, maxKeys) } : {}),
            }),
          ),
        );
      } catch (err) {
        throw new LakeError(`listing ${this.where(relPrefix)} failed: ${errorMessage(err)}`, { cause: err });
      }
      for (const c of res.Contents ?? []) {
        yield { key: this.relOf(c.Key!), size: c.Size ?? 0, ...(c.LastModified ? { lastModified: c.LastModified } : {}) };
        if (maxKeys && ++yielded >= maxKeys) return;
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  // ---- catalog -------------------------------------------------------------------------------------------------

  static readonly LOG = `${META_DIR}/catalog/log/`;
  static readonly INPUTS = `${META_DIR}/catalog/inputs/`;
  static readonly HEAD = `${META_DIR}/catalog/head.json`;

  private logKey(first: number): string {
    return `${S3Lake.LOG}${padSeq(first)}.json`;
  }
  private inputKey(hash: string): string {
    if (!/^[0-9a-f]{16,128}$/.test(hash)) throw new LakeError(`invalid input hash ${JSON.stringify(hash)}`);
    return `${S3Lake.INPUTS}${hash}.json`;
  }
  private firstOf(logRel: string): number {
    return Number(logRel.slice(S3Lake.LOG.length, S3Lake.LOG.length + SEQ_DIGITS));
  }
  private static span(e: LogEntry): number {
    return Math.max(1, e.objects.length);
  }

  /** Is this input (by content hash) published? */
  async hasInput(hash: string): Promise<boolean> {
    return this.exists(this.inputKey(hash));
  }

  /** The last log entry's key, found by listing from the head hint. */
  private async tailKey(): Promise<string | undefined> {
    const hint = await this.getJson<{ last?: string }>(S3Lake.HEAD);
    let last = hint?.last && hint.last.startsWith(S3Lake.LOG) ? hint.last : undefined;
    // The hint may be behind (or ahead of a reset lake): verify it exists, then list after it.
    if (last && !(await this.exists(last))) last = undefined;
    for await (const k of this.listKeys(S3Lake.LOG, last)) last = k.key;
    return last;
  }

  private async readEntry(first: number): Promise<LogEntry | undefined> {
    const e = await this.getJson<LogEntry>(this.logKey(first));
    if (e) this.spans.set(first, S3Lake.span(e));
    return e;
  }

  /** Publish one input: upload, append a log entry, resolve. See the module comment. */
  async publish(req: S3PublishRequest): Promise<S3PublishResult> {
    if (await this.hasInput(req.inputHash)) return { status: 'duplicate' };
    const uploaded: { o: S3PublishObject; bytes: number }[] = [];
    for (const o of req.objects) uploaded.push({ o, bytes: o.uploadedBytes ?? (await this.putFile(o.key, o.file, 'application/vnd.apache.parquet')) });
    if (req.quarantine) await this.putFile(req.quarantine.key, req.quarantine.file, 'application/x-ndjson');
    faultPoint('s3-after-object-put');
    const input: CatalogInput = {
      ...req.input,
      objects: req.objects.map((o) => o.key),
      ...(req.quarantine ? { quarantine: req.quarantine.key } : {}),
    };
    // Append to the log.
    const tail = await this.tailKey();
    let next = 1;
    if (tail) {
      const t = await this.readEntry(this.firstOf(tail));
      next = t ? this.firstOf(tail) + S3Lake.span(t) : this.firstOf(tail) + 1;
    }
    let entry: LogEntry;
    const writer = randomUUID();
    for (let attempt = 0; ; attempt++) {
      if (attempt > 10_000) throw new LakeError(`could not append to the catalog log of ${this.url}`);
      entry = {
        first_seq: next,
        writer,
        input_hash: req.inputHash,
        input,
        objects: uploaded.map(({ o, bytes }, i) => ({ seq: next + i, path: o.key, ...o.meta, bytes }) as CatalogObject),
        written_at: new Date().toISOString(),
      };
      if (await this.putJson(this.logKey(next), entry, true)) break;
      const winner = await this.readEntry(next);
      if (winner?.writer === writer) break; // our own PUT landed before a retry of it
      next += winner ? S3Lake.span(winner) : 1;
    }
    faultPoint('s3-before-commit-record');
    this.spans.set(next, S3Lake.span(entry));
    // Resolve: the first entry named for this input is its publication.
    const rec: InputRecord = { input_hash: req.inputHash, writer, entry: next, resolved_by: 'writer', at: new Date().toISOString() };
    let published = await this.putJson(this.inputKey(req.inputHash), rec, true);
    if (!published) {
      const other = await this.getJson<InputRecord>(this.inputKey(req.inputHash));
      published = other?.entry === next;
    }
    this.resolved.set(next, published ? entry : null);
    await this.putJson(S3Lake.HEAD, { last: this.logKey(next) }).catch(() => undefined);
    return published ? { status: 'published', objects: entry.objects, entry: next } : { status: 'duplicate' };
  }

  /**
   * Publish a derived object (findings) at its deterministic key: upload `file` there (replacing what was there),
   * then add it to the catalog unless it is already listed. The catalog entry's input record is keyed by the object's
   * key (derivedInputHash), so however often and by however many workers the key is published, it is listed once.
   * A crash between the upload and the entry leaves an uncatalogued object that the next publish of the key catalogs.
   */
  async publishDerived(obj: DerivedObject, file: string): Promise<{ object?: CatalogObject; added: boolean }> {
    const bytes = await this.putFile(obj.path, file, 'application/vnd.apache.parquet');
    const hash = derivedInputHash(obj.path);
    if (await this.hasInput(hash)) return { added: false };
    const { path: key, ...meta } = obj;
    const inputName = `derived from ${obj.derived_from}`;
    const now = new Date().toISOString();
    const res = await this.publish({
      inputHash: hash,
      input: { input_hash: hash, input_name: inputName, source_type: obj.source_type, events: obj.rows, rejects: 0, ingested_at: now, derived_from: obj.derived_from },
      objects: [{ key, file, uploadedBytes: bytes, meta: { ...meta, types: OBJECT_TYPES, input_hash: hash, input_name: inputName, created_at: now } }],
    });
    return res.status === 'published' ? { object: res.objects[0]!, added: true } : { added: false };
  }

  /** Decide whether an entry is valid (its input names it), void, or still pending (undefined). */
  private async resolve(e: LogEntry, lastModified: Date | undefined): Promise<LogEntry | null | undefined> {
    const known = this.resolved.get(e.first_seq);
    if (known !== undefined) return known;
    let rec = await this.getJson<InputRecord>(this.inputKey(e.input_hash));
    if (!rec) {
      const age = Date.now() - (lastModified?.getTime() ?? Date.parse(e.written_at));
      if (!this.resolvePending || !(age >= this.pendingGraceMs)) return undefined;
      const mine: InputRecord = { input_hash: e.input_hash, writer: randomUUID(), entry: e.first_seq, resolved_by: 'reader', at: new Date().toISOString() };
      try {
        if (await this.putJson(this.inputKey(e.input_hash), mine, true)) rec = mine;
      } catch {
        return undefined; // read-only reader: leave it pending
      }
      rec ??= await this.getJson<InputRecord>(this.inputKey(e.input_hash));
      if (!rec) return undefined;
    }
    const v = rec.entry === e.first_seq ? e : null;
    this.resolved.set(e.first_seq, v);
    return v;
  }

  /** Log keys that may hold objects with seq > afterSeq, in order (includes the entry containing afterSeq+1). */
  private async *entriesAfter(afterSeq: number): AsyncGenerator<{ key: string; lastModified?: Date }> {
    let start: string | undefined = afterSeq > 0 ? this.logKey(afterSeq) : undefined;
    if (afterSeq > 0) {
      // The entry containing afterSeq+1 may start at or before afterSeq: find the last key <= afterSeq by
      // listing from further and further back (normally a checkpoint is an entry boundary and one step suffices).
      const spans = [...this.spans];
      const cachedStart = spans.find(([f, n]) => f <= afterSeq && afterSeq < f + n - 1)?.[0];
      if (cachedStart !== undefined) start = cachedStart > 1 ? this.logKey(cachedStart - 1) : undefined;
      else if (!spans.some(([f, n]) => f + n - 1 === afterSeq)) {
        for (let back = 16; ; back *= 16) {
          const from = afterSeq - back;
          let found: number | undefined;
          for await (const k of this.listKeys(S3Lake.LOG, from > 0 ? this.logKey(from) : undefined)) {
            const f = this.firstOf(k.key);
            if (f > afterSeq) break;
            found = f;
          }
          if (found !== undefined) {
            start = found > 1 ? this.logKey(found - 1) : undefined;
            break;
          }
          if (from <= 0) break;
        }
      }
    }
    for await (const k of this.listKeys(S3Lake.LOG, start)) yield { key: k.key, ...(k.lastModified ? { lastModified: k.lastModified } : {}) };
  }

  /**
   * Catalogued objects with seq > afterSeq, in seq order. Stops at the first pending entry (see the module
   * comment), so a consumer that checkpoints on the last seq it processed never skips an object.
   */
  async listCatalog(afterSeq = 0): Promise<CatalogObject[]> {
    const out: CatalogObject[] = [];
    for await (const k of this.entriesAfter(afterSeq)) {
      const first = this.firstOf(k.key);
      const known = this.resolved.get(first);
      if (known === null) continue;
      let e = known;
      if (!e) {
        const raw = await this.readEntry(first);
        if (!raw) continue;
        const r = await this.resolve(raw, k.lastModified);
        if (r === undefined) break; // pending: stop here
        if (r === null) continue;
        e = r;
      }
      for (const o of e.objects) if (o.seq > afterSeq) out.push(o);
    }
    return out;
  }

  /** Every published input (valid entries only), in log order. */
  async listInputs(): Promise<CatalogInput[]> {
    const out: CatalogInput[] = [];
    for await (const k of this.entriesAfter(0)) {
      const first = this.firstOf(k.key);
      const known = this.resolved.get(first);
      if (known === null) continue;
      const raw = known ?? (await this.readEntry(first));
      if (!raw) continue;
      const r = known ?? (await this.resolve(raw, k.lastModified));
      if (r === undefined) break;
      if (r) out.push(r.input);
    }
    return out;
  }

  close(): void {
    this.client.destroy();
  }
}

/** Metadata for S3PublishObject from what the writer staged. */
export function objectMeta(o: {
  source: LakeSourceName;
  sourceType: SourceType;
  classUid: number;
  region: string;
  accountId: string;
  eventDay: string;
  rows: number;
  timeMin: number;
  timeMax: number;
  inputHash: string;
  inputName: string;
}): S3PublishObject['meta'] {
  return {
    source: o.source,
    source_type: o.sourceType,
    class_uid: o.classUid,
    region: o.region,
    account_id: o.accountId,
    event_day: o.eventDay,
    rows: o.rows,
    time_min: o.timeMin,
    time_max: o.timeMax,
    input_hash: o.inputHash,
    input_name: o.inputName,
    created_at: new Date().toISOString(),
    types: OBJECT_TYPES,
  };
}
