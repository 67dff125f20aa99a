/**
 * Findings of an S3 lake (moto_server on loopback): published through the S3 catalog like every other object, so the
 * lake's ordinary mirror (syncLakeToDir, what `seclake query` uses) has them and `seclake findings --lake s3://...`
 * needs no separate findings sync; the AWS monitor's findings store catalogs them too and skips its own findings
 * objects; legacy (pre-2.0) findings objects in S3 are reported and converted by `seclake findings migrate`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findingsObjectKey, legacyTargetKey, listLegacyFindingsObjects, publishFindingsToStore, writeFindingsParquet } from '../../src/findings/lake.js';
import { countLegacyFindingsInS3 } from '../../src/findings/s3.js';
import { createS3Client, S3Lake } from '../../src/lake/s3.js';
import { S3LakeStore, syncLakeToDir } from '../../src/lake/store.js';
import { openLakeQuery } from '../../src/lake/views.js';
import { S3FindingsStore } from '../../src/monitor/aws/findings-store.js';
import { defaultSkip } from '../../src/monitor/aws/s3-object.js';
import type { DetectionFinding } from '../../src/findings/types.js';
import { startMoto, type Moto } from '../helpers/moto.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
const TESTDATA = path.join(ROOT, 'src', 'findings', 'testdata');
/** The builder's golden findings when the legacy objects were written (frozen; the findings inside those objects). */
const GOLDEN = JSON.parse(readFileSync(path.join(TESTDATA, 'legacy-lake', 'findings.json'), 'utf8')) as Record<string, DetectionFinding>;
const BUCKET = 'findings-test';
const LAKE = `s3://${BUCKET}/lake`;
const PART = { region: 'us-east-1', accountId: '1', eventDay: '20260102' };
let moto: Moto;
let s3: S3Client;
let tmp: string;

/** `n` distinct schema-valid findings about one source object (made from the builder's golden findings). */
function findings(object: string, n: number): DetectionFinding[] {
  const base = Object.values(GOLDEN);
  return Array.from({ length: n }, (_, i) => {
    const f = structuredClone(base[i % base.length]!);
    f.finding_info.uid = `${object.slice(-12)}-${i}`;
    f.time = Date.UTC(2026, 0, 2) + i;
    (f.unmapped as Record<string, unknown>).source_object = object;
    return f;
  });
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...moto.env, CI: '1' } });
}

before(async () => {
  moto = await startMoto();
  s3 = createS3Client({ endpoint: moto.endpoint, region: 'us-east-1' });
  Object.assign(process.env, moto.env);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  tmp = mkdtempSync(path.join(tmpdir(), 'seclake-findings-s3-'));
});
after(async () => {
  s3?.destroy();
  await moto?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('findings in an S3 lake', () => {
  const uids: string[] = [];

  it('are catalogued once per key (re-published, or by the AWS monitor store) and the ordinary lake mirror has them', async () => {
    const store = new S3LakeStore(new S3Lake(LAKE, {}, s3));
    const src = [0, 1].map((i) => `${LAKE}/aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20260102/obj${i}.parquet`);
    const keys = src.map((s) => findingsObjectKey(s, PART));
    const f0 = findings(src[0]!, 3);
    const f1 = findings(src[1]!, 2);
    uids.push(...[...f0, ...f1].map((f) => f.finding_info.uid));
    assert.deepEqual((await publishFindingsToStore(store, keys[0]!, f0, { tmpDir: tmp })).map((o) => o.added), [true]);
    assert.deepEqual((await publishFindingsToStore(store, keys[0]!, f0, { tmpDir: tmp })).map((o) => o.added), [false], 'the same source object again');
    // A crash between the upload and the catalog entry: an uncatalogued object at the key ...
    const orphan = path.join(tmp, 'orphan.parquet');
    await writeFindingsParquet(f1, orphan);
    await store.putFile(keys[1]!, orphan);
    assert.deepEqual((await store.listCatalog(0)).map((o) => o.path), [keys[0]]);
    // ... is catalogued when the object is processed again; the AWS monitor's store publishes the same way.
    const aws = new S3FindingsStore(s3, LAKE, tmp);
    const ref = { bucket: BUCKET, key: src[1]!.slice(`s3://${BUCKET}/`.length) };
    const url = await aws.writeFindings(ref, { prefix: 'lake', source: 'VPC_FLOW', sourceVersion: '2.0', region: 'us-east-1', accountId: '1', eventDay: '20260102', file: 'obj1.parquet' } as never, f1);
    assert.equal(url, `${LAKE}/${keys[1]!}`);
    await aws.writeFindings(ref, { prefix: 'lake', source: 'VPC_FLOW', sourceVersion: '2.0', region: 'us-east-1', accountId: '1', eventDay: '20260102', file: 'obj1.parquet' } as never, f1);
    const cat = await store.listCatalog(0);
    assert.deepEqual(cat.map((o) => o.path), keys, 'each key once');
    assert.deepEqual(cat.map((o) => [o.source, o.class_uid, o.rows, o.derived_from]), [
      ['EXT_seclake_findings', 2004, 3, src[0]],
      ['EXT_seclake_findings', 2004, 2, src[1]],
    ]);
    // The monitor never scores its own findings objects when their S3 notifications come back.
    assert.match(defaultSkip({ bucket: BUCKET, key: `lake/${keys[0]!}` }) ?? '', /findings/);
    // No separate sync: the lake's mirror (as `seclake query --lake s3://` makes it) has the findings.
    const dir = path.join(tmp, 'mirror');
    const r = await syncLakeToDir(store, dir);
    assert.equal(r.objects, 2);
    const db = await openLakeQuery(dir);
    try {
      assert.deepEqual(await db.all('SELECT count(*)::INTEGER AS n, count(DISTINCT source_object)::INTEGER AS s FROM findings'), [{ n: 5, s: 2 }]);
      assert.deepEqual(await db.all('SELECT count(*)::INTEGER AS n FROM seclake_findings'), [{ n: 5 }]);
    } finally {
      db.close();
    }
    store.close();
  });

  it('seclake findings --lake s3://... lists them through the lake mirror', () => {
    const r = cli(['findings', '--lake', LAKE, '--s3-endpoint', moto.endpoint, '--cache', path.join(tmp, 'cli-cache'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as DetectionFinding[];
    assert.deepEqual(new Set(got.map((f) => f.finding_info.uid)), new Set(uids));
    assert.match(r.stderr, /synced s3:\/\/findings-test\/lake: 2 of 2 objects downloaded/);
    assert.doesNotMatch(r.stderr, /migrate/);
  });

  it('legacy findings objects in S3 are reported, and `seclake findings migrate` converts and catalogs them', async () => {
    const lake = new S3Lake(LAKE, {}, s3);
    const legacyDir = path.join(TESTDATA, 'legacy-lake');
    const legacy = listLegacyFindingsObjects(legacyDir);
    for (const k of legacy) await lake.putFile(k, path.join(legacyDir, k));
    assert.equal(await countLegacyFindingsInS3(LAKE, { client: s3 }), 2);
    const cache = path.join(tmp, 'cli-cache-2');
    let r = cli(['findings', '--lake', LAKE, '--s3-endpoint', moto.endpoint, '--cache', cache, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 5);
    assert.match(r.stderr, /2 findings objects of s3:\/\/findings-test\/lake are in the format before 2\.0 .* seclake findings migrate --lake s3:\/\/findings-test\/lake/);
    r = cli(['findings', 'migrate', '--lake', LAKE, '--s3-endpoint', moto.endpoint, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { lake: LAKE, dry_run: false, legacy: 2, migrated: 2, superseded: 0, findings: 5 });
    assert.equal(await countLegacyFindingsInS3(LAKE, { client: s3 }), 0);
    const cat = await lake.listCatalog(0);
    for (const k of legacy) assert.equal(cat.filter((o) => o.path === legacyTargetKey(k)).length, 1);
    r = cli(['findings', '--lake', LAKE, '--s3-endpoint', moto.endpoint, '--cache', cache, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const all = JSON.parse(r.stdout) as DetectionFinding[];
    assert.equal(all.length, 10);
    const golden = new Set(Object.values(GOLDEN).map((f) => JSON.stringify(f)));
    assert.equal(all.filter((f) => golden.has(JSON.stringify(f))).length, 5, 'the migrated findings are the original ones, exactly');
    assert.doesNotMatch(r.stderr, /migrate/);
    assert.deepEqual(readdirSync(path.join(cache, 'ext', 'seclake_findings')), ['2.0']);
    lake.close();
  });
});
