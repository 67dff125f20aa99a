/**
 * Findings of an S3 lake (moto_server on loopback): mirrored into a local directory for the `findings` view, and
 * listed by `seclake findings --lake s3://...`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CreateBucketCommand, DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FindingPolicy } from '../../src/findings/policy.js';
import { findingsObjectKey, writeFindingsParquet } from '../../src/findings/lake.js';
import { syncFindingsFromS3 } from '../../src/findings/s3.js';
import { createS3Client, S3Lake } from '../../src/lake/s3.js';
import { openLakeQuery } from '../../src/lake/views.js';
import type { DetectionFinding, ScoredRecord } from '../../src/findings/types.js';
import { startMoto, type Moto } from '../helpers/moto.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
const BUCKET = 'findings-test';
let moto: Moto;
let s3: S3Client;
let tmp: string;
const keys: string[] = [];
const published: DetectionFinding[] = [];

function findings(object: string, n: number): DetectionFinding[] {
  const recs: ScoredRecord[] = [];
  for (let i = 0; i < n; i++) {
    recs.push({
      ref: { object, row: i },
      entity: `i-0${i}`,
      ip: `198.51.100.${i}`,
      time: Date.UTC(2026, 0, 2) + i,
      dot_product: -3,
      entity_known: true,
      entity_count: 2,
      anomaly_percentile: 0.9991,
      is_anomaly: true,
      event: { src_endpoint: { ip: `198.51.100.${i}` } },
    });
  }
  return new FindingPolicy().process(recs, { model: { name: 'm', version: '1', threshold: -1 } });
}

before(async () => {
  moto = await startMoto();
  s3 = createS3Client({ endpoint: moto.endpoint, region: 'us-east-1' });
  Object.assign(process.env, moto.env);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  tmp = mkdtempSync(path.join(tmpdir(), 'seclake-findings-s3-'));
  const lake = new S3Lake(`s3://${BUCKET}/lake`, {}, s3);
  for (const [i, n] of [3, 2].entries()) {
    const source = `s3://${BUCKET}/lake/aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20260102/obj${i}.parquet`;
    const fs = findings(source, n);
    published.push(...fs);
    const key = findingsObjectKey(source, { region: 'us-east-1', accountId: '1', eventDay: '20260102' });
    const file = path.join(tmp, `f${i}.parquet`);
    await writeFindingsParquet(fs, file);
    await lake.putFile(key, file);
    keys.push(key);
  }
});
after(async () => {
  s3?.destroy();
  await moto?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('findings in an S3 lake', () => {
  it('mirrors the findings objects (only new ones downloaded, deleted ones removed) and the view reads them', async () => {
    const dir = path.join(tmp, 'mirror');
    const opts = { endpoint: moto.endpoint, region: 'us-east-1' };
    const r1 = await syncFindingsFromS3(`s3://${BUCKET}/lake`, dir, opts);
    assert.deepEqual({ ...r1, bytes_downloaded: r1.bytes_downloaded > 0 }, { dir, objects: 2, downloaded: 2, bytes_downloaded: true, removed: 0 });
    const r2 = await syncFindingsFromS3(`s3://${BUCKET}/lake`, dir, opts);
    assert.equal(r2.downloaded, 0);
    let db = await openLakeQuery(dir);
    try {
      assert.deepEqual(await db.all('SELECT count(*)::INTEGER AS n FROM findings'), [{ n: 5 }]);
    } finally {
      db.close();
    }
    // Another prefix in the same bucket has no findings.
    assert.equal((await syncFindingsFromS3(`s3://${BUCKET}/other`, path.join(tmp, 'other'), opts)).objects, 0);
    // A findings object deleted in S3 goes from the mirror too.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `lake/${keys[1]!}` }));
    const r3 = await syncFindingsFromS3(`s3://${BUCKET}/lake`, dir, opts);
    assert.equal(r3.removed, 1);
    db = await openLakeQuery(dir);
    try {
      assert.deepEqual(await db.all('SELECT count(*)::INTEGER AS n FROM findings'), [{ n: 3 }]);
    } finally {
      db.close();
    }
  });

  it('seclake findings --lake s3://... lists them', () => {
    const cache = path.join(tmp, 'cli-cache');
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'findings', '--lake', `s3://${BUCKET}/lake`, '--s3-endpoint', moto.endpoint, '--cache', cache, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ...moto.env, CI: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as DetectionFinding[];
    assert.deepEqual(new Set(got.map((f) => f.finding_info.uid)), new Set(published.slice(0, 3).map((f) => f.finding_info.uid)));
    assert.match(r.stderr, /synced findings of s3:\/\/findings-test\/lake: 1 of 1 objects downloaded/);
  });
});
