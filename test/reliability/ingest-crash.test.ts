/**
 * Crash consistency of `seclake ingest` (issue 12, "crash-consistency harness"): for every ingest fault point, the
 * CLI ingesting two inputs (three objects, three quarantined lines) is killed there by SIGKILL, run again without the
 * fault, and the lake it leaves must be identical to the lake of an uninterrupted run: same files (nothing left over),
 * same committed catalog, same quarantine, same rows in every view. Local lake and S3 lake (moto_server).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/lake/s3.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { REGION, writeInputs, type Inputs } from './fixture.js';
import { assertKilledAt, assertOk, filesUnder, inParallel, makeTmpDir, localLakeSnapshot, runCli, s3LakeSnapshot, type LakeSnapshot } from './harness.js';
import { INGEST_LOCAL_FAULTS, INGEST_S3_FAULTS } from './points.js';

let dir: string;
let inputs: Inputs;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'seclake-crash-ingest-'));
  inputs = writeInputs(path.join(dir, 'in'));
  // The in-process S3 clients (snapshots) sign with moto's dummy credentials.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: REGION });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const ingestArgs = (lake: string): string[] => ['ingest', inputs.a, inputs.b, '--lake', lake, '--region', REGION, '--json'];

test('local lake: killed at each ingest fault point, then rerun: the lake is the uninterrupted run\'s', async (t) => {
  const ref = path.join(dir, 'ref');
  const refRun = await runCli(ingestArgs(ref));
  assertOk(refRun, 'the uninterrupted ingest');
  const want = await localLakeSnapshot(ref);
  assert.equal(want.objects.length, 3, 'three objects');
  assert.equal(Object.values(want.quarantine).flat().length, 3, 'three quarantined lines');
  assert.equal(want.views.vpc_flow?.rows, 79, 'every valid record in vpc_flow');

  const results = await inParallel(2, INGEST_LOCAL_FAULTS.map((fault) => async () => {
    const lake = path.join(dir, `local-${fault.replace(':', '-')}`);
    const crashed = await runCli(ingestArgs(lake), { fault });
    const rerun = await runCli(ingestArgs(lake));
    return { fault, crashed, rerun, got: rerun.status === 0 ? await localLakeSnapshot(lake) : undefined };
  }));
  for (const r of results) {
    await t.test(r.fault, () => {
      assertKilledAt(r.crashed, r.fault);
      assertOk(r.rerun, `the rerun after ${r.fault}`);
      assert.deepEqual(r.got, want, `the lake after a crash at ${r.fault} and a rerun differs from the uninterrupted run's`);
    });
  }
});

interface S3Run {
  fault: string;
  crashed?: Awaited<ReturnType<typeof runCli>>;
  rerun: Awaited<ReturnType<typeof runCli>>;
  got?: LakeSnapshot;
  /** Files left in the runs' temp directory (TMPDIR), besides tsx's cache. */
  leftover: string[];
}

/** One S3 lake on its own moto_server (the same bucket name for every run: keys and findings name it). */
async function s3Run(name: string, fault: string | undefined): Promise<S3Run> {
  const moto: Moto = await startMoto();
  const s3 = createS3Client({ endpoint: moto.endpoint, region: REGION });
  const tmp = makeTmpDir(path.join(dir, `tmp-${name}`));
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'lake' }));
    const url = 's3://lake/sl';
    const args = [...ingestArgs(url), '--s3-endpoint', moto.endpoint, '--s3-region', REGION];
    const env = { ...moto.env, TMPDIR: tmp };
    const crashed = fault ? await runCli(args, { env, fault }) : undefined;
    const rerun = await runCli(args, { env });
    const got = rerun.status === 0 ? await s3LakeSnapshot(s3, moto.endpoint, url, path.join(dir, `mirror-${name}`)) : undefined;
    const leftover = filesUnder(tmp);
    return { fault: fault ?? '', ...(crashed ? { crashed } : {}), rerun, ...(got ? { got } : {}), leftover };
  } finally {
    s3.destroy();
    await moto.stop();
  }
}

test('S3 lake (moto): killed at each fault point of an S3 ingest, then rerun: the lake is the uninterrupted run\'s', async (t) => {
  const runs = await inParallel(2, [() => s3Run('ref', undefined), ...INGEST_S3_FAULTS.map((f) => () => s3Run(f.replace(':', '-'), f))]);
  const ref = runs[0]!;
  assertOk(ref.rerun, 'the uninterrupted S3 ingest');
  const want = ref.got!;
  assert.equal(want.objects.length, 3, 'three objects');
  assert.equal(Object.values(want.quarantine).flat().length, 3, 'three quarantined lines');
  assert.deepEqual(ref.leftover, [], 'the uninterrupted ingest leaves no temp files');
  for (const r of runs.slice(1)) {
    await t.test(r.fault, () => {
      assertKilledAt(r.crashed!, r.fault);
      assertOk(r.rerun, `the rerun after ${r.fault}`);
      assert.deepEqual(r.got, want, `the S3 lake after a crash at ${r.fault} and a rerun differs from the uninterrupted run's`);
      assert.deepEqual(r.leftover, [], `temp files left behind by the ingest killed at ${r.fault}`);
    });
  }
});
