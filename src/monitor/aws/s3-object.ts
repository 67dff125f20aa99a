/**
 * One S3 object announced by a notification: download it to a temp file (streamed, bounded memory, size limit,
 * always cleaned up), run the per-object processor on it, write its findings object and send the findings to the
 * sinks, then record the object as done. Used by the SQS worker (sqs-monitor.ts) and the Lambda handler.
 *
 * Exactly-once effects under at-least-once delivery:
 * - the findings object's key and the finding uids are functions of the source object, so processing an object twice
 *   (redelivery, two workers, a crash before DeleteMessage) rewrites the same findings object;
 * - a done record keyed by (bucket, key, etag) is written after the findings object and the sinks; an object that
 *   already has one is acknowledged without being processed again, so sinks (webhooks) are not sent the same findings
 *   twice. The only window for a repeated sink delivery is a crash between the sinks and the done record.
 *   A notification without an ETag (EventBridge events may carry none) is completed by a HeadObject first (ETag,
 *   version id, size), and the object is then read with If-Match on that ETag: the done record names the version
 *   processed, whatever shape announced it, so an object already done is never processed (and sent) again, and a
 *   new version under the same key is.
 *
 * Downloads go to this process's temp directory (temp-dir.ts: removed at exit, and a killed process's is swept by
 * the next one), one subdirectory per object, removed as soon as the object is done.
 *
 * An object that gives no pairs (none of its records is a pair of the record definition) is done like any other,
 * and said: its outcome carries `noPairs` (the reason), which the worker counts and prints and the Lambda logs.
 */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorMessage } from '../../core/errors.js';
import { faultPoint } from '../../core/fault.js';
import type { DetectionFinding, Sink, SourceRef } from '../../findings/types.js';
import type { ProcessObjectFn, ProcessResult } from '../processor.js';
import { S3ObjectError } from './errors.js';
import { parseLakeKey, s3Uri, type LakeKeyInfo, type S3ObjectRef } from './notifications.js';
import { processTempDir } from './temp-dir.js';
import { DEFAULT_MAX_OBJECT_BYTES } from './defaults.js';

export { DEFAULT_MAX_OBJECT_BYTES };

/** A local file name for an object: a hash of bucket and key, so a key can never name a path (no traversal). */
export function localTempName(ref: { bucket: string; key: string }): string {
  return `${createHash('sha256').update(ref.bucket).update('\0').update(ref.key).digest('hex').slice(0, 32)}.parquet`;
}

/** The done-record id of an object version: sha256 of bucket, key and ETag (when the notification carried one). */
export function objectVersionId(ref: S3ObjectRef): string {
  return createHash('sha256').update(`${ref.bucket}\0${ref.key}\0${(ref.etag ?? '').replaceAll('"', '')}`).digest('hex');
}

export interface Download {
  file: string;
  bytes: number;
  etag: string | undefined;
  cleanup(): void;
}

function httpStatus(err: unknown): number | undefined {
  const m = (err as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return m?.httpStatusCode;
}

/** An S3 error as an S3ObjectError: permanent when the object (or bucket, or version) is missing or access is denied. */
function s3Failure(uri: string, what: string, err: unknown): S3ObjectError {
  const status = httpStatus(err);
  const name = (err as { name?: string }).name;
  const missing = status === 404 || name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NoSuchVersion' || name === 'NotFound';
  const denied = status === 403;
  return new S3ObjectError(uri, `${what} failed: ${name ?? 'error'}: ${errorMessage(err)}`, missing || denied, { cause: err });
}

/**
 * A notification's object with its version identity: as announced when it has an ETag, else completed by a
 * HeadObject (ETag, and the version id and size when the notification lacks them). `ifMatch` is set when the ETag
 * came from the HeadObject: the download must read that version.
 */
export async function identifyObject(s3: S3Client, ref: S3ObjectRef, signal?: AbortSignal): Promise<{ ref: S3ObjectRef; ifMatch?: string }> {
  if (ref.etag) return { ref };
  const uri = s3Uri(ref);
  let head;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, ...(ref.versionId ? { VersionId: ref.versionId } : {}) }), signal ? { abortSignal: signal } : {});
  } catch (err) {
    throw s3Failure(uri, 'HeadObject (the notification has no ETag)', err);
  }
  if (!head.ETag) throw new S3ObjectError(uri, 'HeadObject returned no ETag (the notification has none either): the object version cannot be identified', false);
  const out: S3ObjectRef = { ...ref, etag: head.ETag.replaceAll('"', '') };
  if (!out.versionId && head.VersionId && head.VersionId !== 'null') out.versionId = head.VersionId;
  if (out.size === undefined && head.ContentLength !== undefined) out.size = head.ContentLength;
  return { ref: out, ifMatch: head.ETag };
}

/**
 * Stream GetObject into a fresh subdirectory of this process's temp directory under `tmpRoot` (temp-dir.ts). Memory
 * stays bounded (stream pipeline); more than `maxBytes` (announced or actual) fails permanently; the subdirectory is
 * removed on any failure, and by `cleanup()`. With `ifMatch`, another version than that ETag's fails (retried: the
 * next attempt identifies the object again).
 */
export async function downloadObject(
  s3: S3Client,
  ref: S3ObjectRef,
  opts: { tmpRoot?: string; maxBytes?: number; signal?: AbortSignal; ifMatch?: string } = {},
): Promise<Download> {
  const uri = s3Uri(ref);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  if (ref.size !== undefined && ref.size > maxBytes) throw new S3ObjectError(uri, `object is ${ref.size} bytes, more than the limit of ${maxBytes}`, true);
  const dir = mkdtempSync(path.join(processTempDir(opts.tmpRoot ?? tmpdir()), 'object-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const file = path.join(dir, localTempName(ref));
  try {
    let res;
    try {
      res = await s3.send(
        new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, ...(ref.versionId ? { VersionId: ref.versionId } : {}), ...(opts.ifMatch ? { IfMatch: opts.ifMatch } : {}) }),
        opts.signal ? { abortSignal: opts.signal } : {},
      );
    } catch (err) {
      if (opts.ifMatch && (httpStatus(err) === 412 || (err as { name?: string }).name === 'PreconditionFailed')) {
        throw new S3ObjectError(uri, `the object changed between HeadObject and GetObject (ETag no longer ${opts.ifMatch})`, false, { cause: err });
      }
      throw s3Failure(uri, 'GetObject', err);
    }
    const len = res.ContentLength;
    if (len !== undefined && len > maxBytes) {
      (res.Body as Readable | undefined)?.destroy();
      throw new S3ObjectError(uri, `object is ${len} bytes, more than the limit of ${maxBytes}`, true);
    }
    const body = res.Body as Readable | undefined;
    if (!body || typeof (body as Readable).pipe !== 'function') throw new S3ObjectError(uri, 'GetObject returned no body stream', false);
    let bytes = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (bytes > maxBytes) cb(new S3ObjectError(uri, `object is more than the limit of ${maxBytes} bytes`, true));
        else cb(null, chunk);
      },
    });
    try {
      await pipeline(body, limit, createWriteStream(file, { flags: 'wx' }), opts.signal ? { signal: opts.signal } : {});
    } catch (err) {
      if (err instanceof S3ObjectError) throw err;
      throw new S3ObjectError(uri, `download failed after ${bytes} bytes: ${errorMessage(err)}`, false, { cause: err });
    }
    if (len !== undefined && bytes !== len) throw new S3ObjectError(uri, `download truncated: ${bytes} of ${len} bytes`, false);
    return { file, bytes, etag: res.ETag?.replaceAll('"', ''), cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** The per-object processor (src/monitor/processor.ts): a local Parquet file and its reference -> findings. */
export type { ProcessResult, ProcessObjectFn } from '../processor.js';

/** The record written once an object is fully processed. */
export interface DoneRecord {
  object: string;
  etag: string | null;
  rows: number;
  pairs: number;
  scored: number;
  findings: number;
  findings_object: string | null;
  processed_at: string;
}

/** Where findings objects, done records and quarantine records go (S3 or a local lake). */
export interface FindingsStore {
  /** e.g. `s3://bucket/prefix` or a directory. */
  readonly location: string;
  /**
   * Write the findings of one source object as one Parquet object at a key derived from the source object (so a
   * rewrite replaces it). Returns where it went.
   */
  writeFindings(source: S3ObjectRef, info: LakeKeyInfo | undefined, findings: readonly DetectionFinding[]): Promise<string>;
  getDone(id: string, source: S3ObjectRef): Promise<DoneRecord | undefined>;
  putDone(id: string, source: S3ObjectRef, rec: DoneRecord): Promise<void>;
}

/** Where messages moved aside go when no dead-letter queue is configured. */
export interface QuarantineStore {
  readonly location: string;
  /** Record a message moved aside. Returns where it went. */
  putQuarantine(rec: QuarantineRecord): Promise<string>;
}

export interface QuarantineRecord {
  message_id: string;
  receive_count: number;
  reason: string;
  error_name: string;
  body: string;
  queue_url: string | null;
  quarantined_at: string;
}

export type ObjectOutcome =
  | {
      status: 'processed';
      uri: string;
      bytes: number;
      result: ProcessResult;
      findingsObject: string | null;
      /** Set when the object gave no pairs: why (it is done all the same). */
      noPairs?: string;
    }
  | { status: 'already-done'; uri: string; done: DoneRecord }
  | { status: 'skipped'; uri: string; reason: string };

export interface ObjectHandlerOptions {
  s3: S3Client;
  process: ProcessObjectFn;
  store: FindingsStore;
  sinks?: readonly Sink[];
  tmpRoot?: string;
  maxBytes?: number;
  /** Keys to acknowledge without processing; return the reason. Default: `defaultSkip`. */
  skip?: (ref: S3ObjectRef) => string | undefined;
  /** Skip the done-record check (always reprocess). */
  ignoreDone?: boolean;
}

/**
 * Objects the monitor does not score: not Parquet, or written by seclake itself (findings under
 * `ext/seclake_findings/`, records under `_seclake/`): a bucket notification for every key would otherwise feed the
 * monitor its own output.
 */
export function defaultSkip(ref: S3ObjectRef): string | undefined {
  const k = ref.key;
  if (/(^|\/)_seclake\//.test(k)) return 'a seclake bookkeeping object (_seclake/)';
  if (/(^|\/)ext\/seclake_findings\//.test(k)) return 'a seclake findings object';
  if (!k.endsWith('.parquet')) return 'not a Parquet object (key does not end in .parquet)';
  if (k.endsWith('/')) return 'a folder marker';
  return undefined;
}

/** Why an object gave no pairs (undefined when it gave some). */
export function noPairsReason(result: ProcessResult): string | undefined {
  if (result.pairs > 0) return undefined;
  if (result.rows === 0) return 'no record of the object is a pair of the record definition';
  return `none of its ${result.rows} pairs has a valid IP address`;
}

export function createObjectHandler(opts: ObjectHandlerOptions): (ref: S3ObjectRef, signal?: AbortSignal) => Promise<ObjectOutcome> {
  const skip = opts.skip ?? defaultSkip;
  // At start: this process's temp directory, and the ones killed processes left under the root removed.
  processTempDir(opts.tmpRoot ?? tmpdir());
  return async (announced, signal) => {
    const uri = s3Uri(announced);
    const why = skip(announced);
    if (why) return { status: 'skipped', uri, reason: why };
    const { ref, ifMatch } = await identifyObject(opts.s3, announced, signal);
    const id = objectVersionId(ref);
    if (!opts.ignoreDone) {
      const done = await opts.store.getDone(id, ref);
      if (done) return { status: 'already-done', uri, done };
    }
    const dl = await downloadObject(opts.s3, ref, {
      ...(opts.tmpRoot ? { tmpRoot: opts.tmpRoot } : {}),
      ...(opts.maxBytes ? { maxBytes: opts.maxBytes } : {}),
      ...(signal ? { signal } : {}),
      ...(ifMatch ? { ifMatch } : {}),
    });
    try {
      const info = parseLakeKey(ref.key);
      const sourceRef: SourceRef = { object: uri, row: 0, ...(info ? { source: info.source } : {}) };
      let result: ProcessResult;
      try {
        result = await opts.process(dl.file, sourceRef);
      } catch (err) {
        throw new S3ObjectError(uri, `processing failed: ${errorMessage(err).replace(/\s*\n\s*/g, ' ')}`, false, { cause: err });
      }
      let findingsObject: string | null = null;
      if (result.findings.length > 0) {
        findingsObject = await opts.store.writeFindings(ref, info, result.findings);
        for (const sink of opts.sinks ?? []) await sink.send(result.findings);
      }
      faultPoint('aws-after-findings');
      const etag = ref.etag?.replaceAll('"', '') ?? dl.etag ?? null;
      await opts.store.putDone(id, ref, {
        object: uri,
        etag,
        rows: result.rows,
        pairs: result.pairs,
        scored: result.scored,
        findings: result.findings.length,
        findings_object: findingsObject,
        processed_at: new Date().toISOString(),
      });
      const noPairs = noPairsReason(result);
      return { status: 'processed', uri, bytes: dl.bytes, result, findingsObject, ...(noPairs ? { noPairs } : {}) };
    } finally {
      dl.cleanup();
    }
  };
}

/** A short random id (for temp names that must not collide between concurrent writers). */
export function randomSuffix(): string {
  return randomBytes(6).toString('hex');
}
