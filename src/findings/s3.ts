/**
 * Findings in an S3 lake. Findings objects are published through the S3 catalog like every other object
 * (src/findings/lake.ts publishFindingsToStore), so the lake's mirror (`syncLakeToDir`, what `seclake query` and
 * `seclake findings --lake s3://...` use) already holds them: there is no separate findings sync any more. What is
 * left here is finding the findings objects of the format before 2.0 (flat tables under `ext/seclake_findings/1.0/`,
 * never catalogued), which `seclake findings migrate` converts (migrateLegacyFindings).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { S3Lake, type S3Options } from '../lake/s3.js';
import { LEGACY_FINDINGS_PREFIX } from './keys.js';

/** Lake-relative keys of the legacy findings objects of the S3 lake at `url`. */
export async function listLegacyFindingsInS3(url: string, opts: S3Options & { client?: S3Client } = {}): Promise<string[]> {
  const lake = new S3Lake(url, opts, opts.client);
  try {
    const out: string[] = [];
    for await (const k of lake.listKeys(`${LEGACY_FINDINGS_PREFIX}/`)) {
      const base = k.key.slice(k.key.lastIndexOf('/') + 1);
      if (k.key.endsWith('.parquet') && !base.startsWith('.')) out.push(k.key);
    }
    return out;
  } finally {
    if (!opts.client) lake.close();
  }
}

/** How many legacy findings objects the S3 lake at `url` has (0 once migrated). */
export async function countLegacyFindingsInS3(url: string, opts: S3Options & { client?: S3Client } = {}): Promise<number> {
  return (await listLegacyFindingsInS3(url, opts)).length;
}
