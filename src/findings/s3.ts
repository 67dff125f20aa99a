/**
 * Findings of a lake in S3 (`s3://bucket/prefix`, the monitor's AWS mode writes them there): mirror the findings
 * objects into a local directory laid out as a lake, so the `findings` view and `seclake findings` read them.
 * Findings objects are not in the catalog, so they are found by listing `<prefix>/ext/seclake_findings/1.0/`.
 * Objects already present locally with the same size are kept (a findings object is rewritten only with the same
 * rows); local findings objects that are no longer in S3 are removed, so the mirror matches the bucket.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { LakeError, errorMessage } from '../core/errors.js';
import { resolveInLake } from '../lake/layout.js';
import { S3Lake, type S3Options } from '../lake/s3.js';
import { FINDINGS_PREFIX, listFindingsObjects } from './lake.js';

export interface FindingsSyncResult {
  dir: string;
  /** Findings objects in S3. */
  objects: number;
  downloaded: number;
  bytes_downloaded: number;
  /** Local findings objects removed because S3 no longer has them. */
  removed: number;
}

/** Mirror the findings objects of the S3 lake at `url` into `dir` (a local lake directory). */
export async function syncFindingsFromS3(url: string, dir: string, opts: S3Options & { client?: S3Client } = {}): Promise<FindingsSyncResult> {
  const lake = new S3Lake(url, opts, opts.client);
  const root = path.resolve(dir);
  const listPrefix = `${lake.prefix ? `${lake.prefix}/` : ''}${FINDINGS_PREFIX}/`;
  const remote: { rel: string; size: number }[] = [];
  let token: string | undefined;
  try {
    do {
      const res = await lake.client.send(new ListObjectsV2Command({ Bucket: lake.bucket, Prefix: listPrefix, ContinuationToken: token }));
      for (const o of res.Contents ?? []) {
        if (!o.Key || !o.Key.endsWith('.parquet')) continue;
        const rel = o.Key.slice(lake.prefix ? lake.prefix.length + 1 : 0);
        if (path.posix.basename(rel).startsWith('.')) continue;
        remote.push({ rel, size: o.Size ?? -1 });
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  } catch (err) {
    if (!opts.client) lake.close();
    throw new LakeError(`listing findings in s3://${lake.bucket}/${listPrefix} failed: ${errorMessage(err)}`, { cause: err });
  }
  let downloaded = 0;
  let bytes = 0;
  try {
    for (const r of remote) {
      const local = resolveInLake(root, r.rel);
      if (existsSync(local) && statSync(local).size === r.size) continue;
      bytes += await lake.getObjectToFile(r.rel, local);
      downloaded++;
    }
  } finally {
    if (!opts.client) lake.close();
  }
  const keep = new Set(remote.map((r) => resolveInLake(root, r.rel)));
  let removed = 0;
  for (const f of listFindingsObjects(root)) {
    if (keep.has(f)) continue;
    rmSync(f, { force: true });
    removed++;
  }
  return { dir: root, objects: remote.length, downloaded, bytes_downloaded: bytes, removed };
}
