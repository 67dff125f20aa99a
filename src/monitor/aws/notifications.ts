/**
 * SQS message bodies -> the S3 objects they announce. Pure functions, no I/O.
 *
 * Shapes understood (all as they arrive in an SQS message body, a JSON string):
 * - S3 event notification: `{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name"}, "object": {"key", "size", "eTag", "sequencer"}}}]}`
 *   (several records per message are allowed; records that are not `ObjectCreated*` are ignored with a reason);
 * - the same wrapped by SNS: `{"Type": "Notification", "Message": "<the S3 event as a JSON string>", ...}`
 *   (raw message delivery sends the inner document itself, which is the first shape);
 * - EventBridge `Object Created` (what Security Lake sends its subscribers, and what an EventBridge rule targeting
 *   SQS delivers): `{"detail-type": "Object Created", "source": "aws.s3", "detail": {"bucket": {"name"}, "object": {"key", "size", "etag"}}}`;
 *   Security Lake's subscriber messages may omit `detail-type`; another `detail-type` is ignored with a reason;
 * - `s3:TestEvent`, sent once when a bucket notification is configured: acknowledged, no object.
 *
 * Keys are URL-decoded the way S3 encodes them (form encoding: `+` is a space, then percent escapes; moto also
 * encodes `/` as `%2F`), for both the S3 and the EventBridge shapes, like the reference Lambda's `unquote_plus`.
 * A decoded key is only ever used as an S3 key: local file names are derived from a hash (see s3-object.ts).
 */
import { NotificationError } from './errors.js';

/** One S3 object a notification announced. `key` is decoded. */
export interface S3ObjectRef {
  bucket: string;
  key: string;
  size?: number;
  etag?: string;
  versionId?: string;
  sequencer?: string;
  eventName?: string;
  eventTime?: string;
}

export type NotificationShape = 's3' | 'sns+s3' | 'eventbridge' | 'sns+eventbridge' | 's3-test' | 'sns+s3-test';

export interface ParsedNotification {
  messageId: string;
  shape: NotificationShape;
  /** Objects to process (empty for a test event or when every record was ignored). */
  objects: S3ObjectRef[];
  /** Records that were understood but are not object creations (deletes, restores, ...), with why they were skipped. */
  ignored: string[];
}

/** S3 never puts more than a handful of records in one message; refuse absurd bodies instead of looping over them. */
const MAX_RECORDS = 1000;
/** S3 keys are at most 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

/**
 * Decode a key as S3 writes it into notifications: `+` -> space, then percent escapes (`%2B` is a real `+`).
 * Throws URIError on a malformed escape.
 */
export function decodeS3Key(raw: string): string {
  return decodeURIComponent(raw.replaceAll('+', ' '));
}

/** Encode a key the way S3 notifications do (the inverse of decodeS3Key; for tests and hand-made events). */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key).replaceAll('%20', '+');
}

const BUCKET_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;

function objectRef(messageId: string, where: string, bucket: unknown, rawKey: unknown, extra: Omit<S3ObjectRef, 'bucket' | 'key'>): S3ObjectRef {
  const b = str(bucket);
  if (!b) throw new NotificationError(messageId, `${where}: missing bucket name`);
  if (!BUCKET_RE.test(b)) throw new NotificationError(messageId, `${where}: invalid bucket name ${JSON.stringify(b.slice(0, 80))}`);
  const k = str(rawKey);
  if (k === undefined || k === '') throw new NotificationError(messageId, `${where}: missing object key`);
  let key: string;
  try {
    key = decodeS3Key(k);
  } catch (err) {
    throw new NotificationError(messageId, `${where}: object key is not valid URL encoding: ${JSON.stringify(k.slice(0, 120))}`, { cause: err });
  }
  if (key.includes('\0')) throw new NotificationError(messageId, `${where}: object key contains a NUL character`);
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new NotificationError(messageId, `${where}: object key longer than ${MAX_KEY_BYTES} bytes`);
  const ref: S3ObjectRef = { bucket: b, key };
  for (const [name, v] of Object.entries(extra)) if (v !== undefined) (ref as unknown as Json)[name] = v;
  return ref;
}

function fromS3Records(messageId: string, records: unknown[], objects: S3ObjectRef[], ignored: string[]): void {
  if (records.length > MAX_RECORDS) throw new NotificationError(messageId, `${records.length} records in one message (at most ${MAX_RECORDS})`);
  records.forEach((rec, i) => {
    const where = `Records[${i}]`;
    if (!isObj(rec) || !isObj(rec.s3)) throw new NotificationError(messageId, `${where}: not an S3 event record (no "s3" object)`);
    const eventName = str(rec.eventName) ?? '';
    // S3 writes "ObjectCreated:Put"; some emulators keep the "s3:" of the configuration.
    if (!/^(s3:)?ObjectCreated:/.test(eventName)) {
      ignored.push(`${where}: event ${JSON.stringify(eventName)} is not an object creation`);
      return;
    }
    const s3 = rec.s3;
    const bucket = isObj(s3.bucket) ? s3.bucket.name : undefined;
    const obj = isObj(s3.object) ? s3.object : {};
    objects.push(
      objectRef(messageId, where, bucket, obj.key, {
        size: num(obj.size),
        etag: str(obj.eTag) ?? str(obj.etag),
        versionId: str(obj.versionId) || undefined,
        sequencer: str(obj.sequencer),
        eventName,
        eventTime: str(rec.eventTime),
      }),
    );
  });
}

function fromEventBridge(messageId: string, doc: Json, objects: S3ObjectRef[], ignored: string[]): void {
  const detailType = str(doc['detail-type']);
  if (detailType !== undefined && detailType !== 'Object Created') {
    ignored.push(`EventBridge event ${JSON.stringify(detailType)} is not an object creation`);
    return;
  }
  const detail = doc.detail as Json;
  const obj = isObj(detail.object) ? detail.object : {};
  objects.push(
    objectRef(messageId, 'detail', isObj(detail.bucket) ? detail.bucket.name : undefined, obj.key, {
      size: num(obj.size),
      etag: str(obj.etag) ?? str(obj.eTag),
      versionId: str(obj['version-id']) ?? str(obj.versionId),
      sequencer: str(obj.sequencer),
      eventName: detailType ?? 'Object Created',
      eventTime: str(doc.time),
    }),
  );
}

function isTestEvent(doc: Json): boolean {
  return doc.Event === 's3:TestEvent';
}

function parseJson(messageId: string, text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const head = text.length > 120 ? `${text.slice(0, 120)}…` : text;
    throw new NotificationError(messageId, `${what} is not JSON: ${JSON.stringify(head)}`, { cause: err });
  }
}

function describe(doc: unknown): string {
  if (!isObj(doc)) return Array.isArray(doc) ? 'a JSON array' : `a JSON ${doc === null ? 'null' : typeof doc}`;
  const keys = Object.keys(doc).slice(0, 8);
  return `an object with keys ${keys.map((k) => JSON.stringify(k)).join(', ') || '(none)'}`;
}

function parseDoc(messageId: string, doc: unknown, viaSns: boolean): ParsedNotification {
  const objects: S3ObjectRef[] = [];
  const ignored: string[] = [];
  const pre = viaSns ? 'sns+' : '';
  if (isObj(doc)) {
    if (isTestEvent(doc)) return { messageId, shape: `${pre}s3-test` as NotificationShape, objects, ignored };
    if (Array.isArray(doc.Records)) {
      fromS3Records(messageId, doc.Records, objects, ignored);
      return { messageId, shape: `${pre}s3` as NotificationShape, objects, ignored };
    }
    if (isObj(doc.detail)) {
      fromEventBridge(messageId, doc, objects, ignored);
      return { messageId, shape: `${pre}eventbridge` as NotificationShape, objects, ignored };
    }
    if (!viaSns && (doc.Type === 'Notification' || typeof doc.TopicArn === 'string') && 'Message' in doc) {
      const inner = doc.Message;
      return parseDoc(messageId, typeof inner === 'string' ? parseJson(messageId, inner, 'the SNS Message') : inner, true);
    }
  }
  throw new NotificationError(
    messageId,
    `not an S3 event notification, SNS notification, EventBridge Object Created event or s3:TestEvent (got ${describe(doc)}${viaSns ? ' inside the SNS Message' : ''})`,
  );
}

/**
 * Parse one SQS message body. `body` is normally the JSON string SQS delivers; an already-parsed object is accepted
 * too (hand-made test events). Throws NotificationError (with the message id) for anything else.
 */
export function parseNotification(body: unknown, messageId: string): ParsedNotification {
  if (body === undefined || body === null || body === '') throw new NotificationError(messageId, 'empty message body');
  const doc = typeof body === 'string' ? parseJson(messageId, body, 'the message body') : body;
  return parseDoc(messageId, doc, false);
}

/** Where a Security Lake key sits in the lake layout. */
export interface LakeKeyInfo {
  /** Key prefix before `aws/` or `ext/` (no trailing slash; '' at the bucket root). */
  prefix: string;
  /** `VPC_FLOW`, `ROUTE53`, ... or `EXT_<NAME>` for custom sources under `ext/<name>/`. */
  source: string;
  sourceVersion: string;
  region: string;
  accountId: string;
  eventDay: string;
  file: string;
}

const LAKE_KEY_RE = /^(?:(.+)\/)?(aws|ext)\/([^/]+)\/([^/]+)\/region=([^/]*)\/accountId=([^/]*)\/eventDay=([^/]*)\/([^/]+)$/;

/**
 * Parse a Security Lake object key: `[prefix/]aws/<SOURCE>/<version>/region=<r>/accountId=<a>/eventDay=<d>/<file>`
 * (or `ext/<name>/...` for custom sources). Undefined when the key is not in that layout.
 */
export function parseLakeKey(key: string): LakeKeyInfo | undefined {
  const m = LAKE_KEY_RE.exec(key);
  if (!m) return undefined;
  const [, prefix, kind, name, sourceVersion, region, accountId, eventDay, file] = m;
  return {
    prefix: prefix ?? '',
    source: kind === 'ext' ? `EXT_${name!.toUpperCase()}` : name!,
    sourceVersion: sourceVersion!,
    region: region!,
    accountId: accountId!,
    eventDay: eventDay!,
    file: file!,
  };
}

/** `s3://bucket/key` (the key as is, not encoded: this names the object in findings and logs). */
export function s3Uri(ref: { bucket: string; key: string }): string {
  return `s3://${ref.bucket}/${ref.key}`;
}

/** Split `s3://bucket/prefix` into bucket and prefix (no leading or trailing slash). */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!m || !BUCKET_RE.test(m[1]!)) return undefined;
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}
