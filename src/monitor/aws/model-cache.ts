/**
 * A model file kept in S3, cached on local disk (Lambda: /tmp survives between invocations of a warm container).
 * The object's ETag is checked at most every `refreshSeconds`; a new ETag downloads the new model (streamed, written
 * to a temporary name and renamed) and removes the old copy, so a retrained model is picked up without a redeploy.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../core/errors.js';
import { S3ObjectError } from './errors.js';
import { parseS3Uri } from './notifications.js';
import { downloadObject } from './s3-object.js';

export interface CachedModel {
  path: string;
  etag: string;
  /** True when this version differs from the one the previous call returned (or on the first call). */
  changed: boolean;
}

export class S3ModelCache {
  private readonly bucket: string;
  private readonly key: string;
  private readonly dir: string;
  private readonly stem: string;
  private current: { path: string; etag: string } | undefined;
  private checkedAt = 0;

  constructor(
    private readonly s3: S3Client,
    readonly uri: string,
    cacheRoot: string,
    private readonly refreshSeconds = 300,
    private readonly maxBytes = 8 * 1024 ** 3,
  ) {
    const loc = parseS3Uri(uri);
    if (!loc || !loc.prefix) throw new S3ObjectError(uri, 'model URI must be s3://bucket/key', true);
    this.bucket = loc.bucket;
    this.key = loc.prefix;
    this.dir = path.join(cacheRoot, 'seclake-models');
    this.stem = createHash('sha256').update(uri).digest('hex').slice(0, 16);
  }

  /** The local path of the current model version (downloading it if needed). */
  async get(now = Date.now()): Promise<CachedModel> {
    if (this.current && now - this.checkedAt < this.refreshSeconds * 1000) return { ...this.current, changed: false };
    let etag: string;
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key }));
      etag = (head.ETag ?? '').replaceAll('"', '') || 'none';
    } catch (err) {
      // Keep serving the cached model if S3 is briefly unavailable; without one, fail.
      if (this.current) return { ...this.current, changed: false };
      throw new S3ObjectError(this.uri, `cannot read the model: ${errorMessage(err)}`, false, { cause: err });
    }
    this.checkedAt = now;
    if (this.current?.etag === etag) return { ...this.current, changed: false };
    mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, `${this.stem}-${etag.replace(/[^A-Za-z0-9-]/g, '_')}.model`);
    if (!existsSync(file)) {
      const dl = await downloadObject(this.s3, { bucket: this.bucket, key: this.key, etag }, { tmpRoot: this.dir, maxBytes: this.maxBytes });
      try {
        renameSync(dl.file, file);
      } finally {
        dl.cleanup();
      }
    }
    for (const f of readdirSync(this.dir)) {
      if (f.startsWith(`${this.stem}-`) && path.join(this.dir, f) !== file) rmSync(path.join(this.dir, f), { force: true });
    }
    this.current = { path: file, etag };
    return { ...this.current, changed: true };
  }
}
