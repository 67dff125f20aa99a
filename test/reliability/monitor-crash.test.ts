/**
 * Crash consistency of `seclake monitor` over a lake (issue 12, "crash-consistency harness"): for every monitor fault
 * point, `monitor --once --from-start --checkpoint-ms 0 --sink file:F --sink-detections` over four source objects is
 * killed there by SIGKILL, run again without the fault, and must leave what an uninterrupted run leaves: the same
 * findings and incidents objects (by content), catalog, checkpoint (position, policy and incident state) and rows in
 * every view (`findings`, `incidents`, `incident_revisions` included), nothing left over, and the same findings and
 * incidents in the file sink (every line whole; one sent before the crash may be sent again: sinks are
 * at-least-once). A local lake, and an S3 lake on moto_server (findings and incidents through the S3 catalog).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/lake/s3.js';
import { startMoto } from '../helpers/moto.js';
import { REGION, trainModel, writeInputs, type Inputs } from './fixture.js';
import { assertKilledAt, assertOk, filesUnder, inParallel, listBucket, localLakeSnapshot, makeTmpDir, runCli, s3LakeSnapshot, sinkOutput, type CliResult, type LakeSnapshot } from './harness.js';
import { MONITOR_LOCAL_FAULTS, MONITOR_S3_FAULTS } from './points.js';

let dir: string;
let inputs: Inputs;
let model: string;
/** A local lake with a, b and c ingested (four source objects). */
let template: string;
/** The keys of an S3 lake with a, b and c ingested (`seclake ingest --lake s3://lake/sl` once, on a moto of its own). */
let s3Template: { key: string; body: Uint8Array }[];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seclake-crash-monitor-'));
  inputs = writeInputs(path.join(dir, 'in'));
  model = await trainModel(dir);
  template = path.join(dir, 'template');
  assertOk(await runCli(['ingest', inputs.a, inputs.b, inputs.c, '--lake', template, '--region', REGION]), 'ingest of the template lake');
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: REGION });
  const moto = await startMoto();
  const s3 = createS3Client({ endpoint: moto.endpoint, region: REGION });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'lake' }));
    const env = { ...moto.env, TMPDIR: makeTmpDir(path.join(dir, 'tmp-s3-template')) };
    assertOk(await runCli(['ingest', inputs.a, inputs.b, inputs.c, '--lake', 's3://lake/sl', '--s3-endpoint', moto.endpoint, '--s3-region', REGION, '--region', REGION], { env }), 'ingest into the S3 lake');
    s3Template = [];
    for (const key of await listBucket(s3, 'lake')) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'lake', Key: key }));
      s3Template.push({ key, body: await got.Body!.transformToByteArray() });
    }
  } finally {
    s3.destroy();
    await moto.stop();
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

const monitorArgs = (lake: string, sink: string): string[] => [
  'monitor', '--lake', lake, '--model', model, '--pairs', 'reference', '--once', '--from-start', '--checkpoint-ms', '0', '--sink', `file:${sink}`, '--sink-detections', '--quiet',
];

/** What an uninterrupted run must have produced: a findings object per source object, incidents, both in the sink. */
function checkReference(want: Run): void {
  assertOk(want.rerun, 'the uninterrupted monitor');
  const derived = want.lake!.objects.filter((o) => 'derived_from' in o);
  assert.equal(derived.filter((o) => o.source === 'EXT_seclake_findings').length, 4, 'a findings object per source object');
  assert.ok(derived.filter((o) => o.source === 'EXT_seclake_incidents').length >= 2, 'incidents objects (one per source object that changed incidents)');
  assert.equal(want.sink!.repeats, 0, 'an uninterrupted run sends each finding and incident once');
  assert.deepEqual(want.sink!.bad, []);
  const classes = want.sink!.findings.map((l) => (JSON.parse(l) as { class_uid: number }).class_uid);
  assert.ok(classes.includes(2004) && classes.includes(2005), 'the sink got detection findings (--sink-detections) and incidents');
}

interface Run {
  fault: string;
  crashed?: CliResult;
  rerun: CliResult;
  lake?: LakeSnapshot;
  state?: LakeSnapshot;
  sink?: ReturnType<typeof sinkOutput>;
  leftover: string[];
}

function check(r: Run, want: Run, where: string): void {
  assertKilledAt(r.crashed!, r.fault);
  assertOk(r.rerun, `the rerun after ${r.fault}`);
  assert.deepEqual(r.lake, want.lake, `${where}: the lake after a crash at ${r.fault} and a rerun differs from the uninterrupted run's`);
  if (want.state) assert.deepEqual(r.state, want.state, `${where}: the monitor state after a crash at ${r.fault} differs`);
  assert.deepEqual(r.sink!.bad, [], `${where}: the file sink after a crash at ${r.fault} has broken lines`);
  assert.deepEqual(r.sink!.findings, want.sink!.findings, `${where}: the file sink after a crash at ${r.fault} holds other findings`);
  assert.deepEqual(r.leftover, [], `${where}: temp files left behind by the monitor killed at ${r.fault}`);
}

test('local lake: the monitor killed at each fault point, then rerun: findings, catalog and checkpoint are the uninterrupted run\'s', async (t) => {
  const one = async (name: string, fault: string | undefined): Promise<Run> => {
    const lake = path.join(dir, `local-${name}`);
    cpSync(template, lake, { recursive: true });
    const sink = path.join(dir, `sink-local-${name}.jsonl`);
    const tmp = makeTmpDir(path.join(dir, `tmp-local-${name}`));
    const env = { TMPDIR: tmp };
    const crashed = fault ? await runCli(monitorArgs(lake, sink), { fault, env }) : undefined;
    const rerun = await runCli(monitorArgs(lake, sink), { env });
    const leftover = filesUnder(tmp);
    return { fault: fault ?? '', ...(crashed ? { crashed } : {}), rerun, ...(rerun.status === 0 ? { lake: await localLakeSnapshot(lake), sink: sinkOutput(sink) } : {}), leftover };
  };
  const runs = await inParallel(2, [() => one('ref', undefined), ...MONITOR_LOCAL_FAULTS.map((f) => () => one(f.replace(':', '-'), f))]);
  const want = runs[0]!;
  checkReference(want);
  assert.ok(want.lake!.views.findings!.rows >= 4, 'findings in the view');
  assert.ok(want.lake!.views.incidents!.rows >= 3, 'incidents in the view');
  assert.ok(want.lake!.views.incident_revisions!.rows >= want.lake!.views.incidents!.rows, 'incident revisions in the view');
  for (const r of runs.slice(1)) await t.test(r.fault, () => check(r, want, 'local lake'));
});

test('S3 lake (moto): the monitor killed at each fault point, then rerun: findings, S3 catalog and checkpoint are the uninterrupted run\'s', async (t) => {
  const one = async (name: string, fault: string | undefined): Promise<Run> => {
    const moto = await startMoto();
    const s3 = createS3Client({ endpoint: moto.endpoint, region: REGION });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'lake' }));
      for (const o of s3Template) await s3.send(new PutObjectCommand({ Bucket: 'lake', Key: o.key, Body: o.body }));
      const url = 's3://lake/sl';
      const tmp = makeTmpDir(path.join(dir, `tmp-s3-${name}`));
      const env = { ...moto.env, TMPDIR: tmp };
      const s3Args = ['--s3-endpoint', moto.endpoint];
      const state = path.join(dir, `state-s3-${name}`);
      const sink = path.join(dir, `sink-s3-${name}.jsonl`);
      const args = [...monitorArgs(url, sink), ...s3Args, '--region', REGION, '--state-dir', state];
      const crashed = fault ? await runCli(args, { fault, env }) : undefined;
      const rerun = await runCli(args, { env });
      const leftover = filesUnder(tmp);
      if (rerun.status !== 0) return { fault: fault ?? '', ...(crashed ? { crashed } : {}), rerun, leftover };
      return {
        fault: fault ?? '',
        ...(crashed ? { crashed } : {}),
        rerun,
        lake: await s3LakeSnapshot(s3, moto.endpoint, url, path.join(dir, `mirror-s3-${name}`)),
        state: await localLakeSnapshot(state, { seqFreeCheckpoint: true }),
        sink: sinkOutput(sink),
        leftover,
      };
    } finally {
      s3.destroy();
      await moto.stop();
    }
  };
  const runs = await inParallel(2, [() => one('ref', undefined), ...MONITOR_S3_FAULTS.map((f) => () => one(f.replace(':', '-'), f))]);
  const want = runs[0]!;
  checkReference(want);
  assert.ok(want.lake!.views.incidents!.rows >= 3, 'incidents in the S3 lake\'s view');
  for (const r of runs.slice(1)) await t.test(r.fault, () => check(r, want, 'S3 lake'));
});
