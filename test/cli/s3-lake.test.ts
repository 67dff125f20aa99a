/**
 * Commands on an S3 lake (issue 15), as a user runs them, against moto_server: `pairs`, `train`, `calibrate` and
 * `quarantine` read an s3:// lake (the first three through its local mirror, quarantine through its quarantine files)
 * and give what they give on the same data in a local lake, where they used to answer 0 pairs / nothing quarantined;
 * an S3 prefix without a lake, or a bucket that does not exist, is an error naming it. No command prints the AWS SDK's
 * Node.js version warning.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/lake/s3.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { DAY0, flowLog } from '../monitor/fixture.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const BUCKET = 'cli-s3-lake';
const LAKE = `s3://${BUCKET}/lake`;

let moto: Moto;
let dir: string;
let local: string;

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...moto.env, SECLAKE_S3_ENDPOINT: moto.endpoint, SECLAKE_CACHE: path.join(dir, 'cache') },
  });
  // Every S3 command used to print the SDK's NodeVersionSupportWarning (Node.js 20); it is silenced, nothing else is.
  assert.doesNotMatch(r.stderr, /NodeVersionSupportWarning|will require node/, args.join(' '));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  moto = await startMoto();
  dir = mkdtempSync(path.join(os.tmpdir(), 'seclake-cli-s3-'));
  local = path.join(dir, 'local-lake');
  const s3 = createS3Client({ endpoint: moto.endpoint, region: 'us-east-1' });
  Object.assign(process.env, moto.env);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();
  // Two days of v5 flow logs (flow-peer pairs), the second with two lines that are not flow records (quarantined).
  const day0 = path.join(dir, '123456789012_vpcflowlogs_us-east-1_fl-0abc_d0.log');
  const day1 = path.join(dir, '123456789012_vpcflowlogs_us-east-1_fl-0abc_d1.log');
  writeFileSync(day0, flowLog({ records: 1500, startSec: DAY0, seed: 1 }));
  writeFileSync(day1, flowLog({ records: 1500, startSec: DAY0 + 86400, seed: 2 }) + 'this is not a flow record\n5 123456789012 eni-x 10.0.0.1\n');
  for (const lake of [LAKE, local]) {
    const r = cli(['ingest', day0, day1, '--lake', lake, '--json']);
    assert.equal(r.status, 0, r.stderr);
  }
});
after(async () => {
  await moto?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('commands on an s3:// lake', () => {
  it('pairs: the same pairs as from the same data in a local lake (it used to write 0)', () => {
    const s3Out = path.join(dir, 's3-pairs.csv');
    const localOut = path.join(dir, 'local-pairs.csv');
    const a = cli(['pairs', '--lake', LAKE, '--pairs', 'flow-peer', '--out', s3Out]);
    assert.equal(a.status, 0, a.stderr);
    const b = cli(['pairs', '--lake', local, '--pairs', 'flow-peer', '--out', localOut]);
    assert.equal(b.status, 0, b.stderr);
    const s3Pairs = readFileSync(s3Out, 'utf8').split('\n').filter(Boolean);
    assert.equal(s3Pairs.length, 3000);
    assert.deepEqual(s3Pairs.sort(), readFileSync(localOut, 'utf8').split('\n').filter(Boolean).sort());
  });

  it('quarantine: the lake\'s rejected records (it used to say there were none)', () => {
    const a = cli(['quarantine', '--lake', LAKE, '--json']);
    assert.equal(a.status, 0, a.stderr);
    const s3Recs = a.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { input_name: string; line: number; reason: string });
    assert.equal(s3Recs.length, 2);
    assert.deepEqual(s3Recs.map((r) => r.line), [1502, 1503]);
    const b = cli(['quarantine', '--lake', local, '--json']);
    const localRecs = b.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { reason: string });
    assert.deepEqual(s3Recs.map((r) => r.reason), localRecs.map((r) => r.reason));
    assert.match(cli(['quarantine', '--lake', LAKE]).stdout, /d1\.log/);
  });

  it('train --lake s3:// --pairs flow-peer: trains on the lake\'s pairs, written where --model says, not registered', () => {
    const model = path.join(dir, 'flows.model');
    const r = cli(['train', '--lake', LAKE, '--pairs', 'flow-peer', '--model', model, '--threads', '1', '--seed', '3', '--hp', 'epochs=2', '--hp', 'vector_dim=8', '--json', '--no-progress']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /3,000 training pairs/);
    assert.match(r.stderr, /not registered for the S3 lake s3:\/\/cli-s3-lake\/lake/);
    const j = JSON.parse(r.stdout) as { record_definition: { name: string }; registered?: unknown; rows?: number };
    assert.equal(j.record_definition.name, 'flow-peer');
    assert.equal(j.registered, undefined);

    // calibrate --lake s3:// on the second day, with the pairs the model was trained on (its header says flow-peer).
    const c = cli(['calibrate', '--model', model, '--lake', LAKE, '--since', new Date((DAY0 + 86400) * 1000).toISOString(), '--until', new Date((DAY0 + 2 * 86400) * 1000).toISOString(), '--abnormal-gen', 'random', '--dry-run', '--json']);
    assert.equal(c.status, 0, c.stderr);
    const cj = JSON.parse(c.stdout) as { normal: { pairs: number; source: string } };
    // Day 2's 1,500 flow-peer records, one per distinct (entity, ip) per hour.
    assert.ok(cj.normal.pairs > 0 && cj.normal.pairs <= 1500, JSON.stringify(cj.normal));
  });

  it('an S3 prefix without a lake, and a bucket that does not exist, are errors naming them', () => {
    const none = cli(['query', '--lake', `s3://${BUCKET}/no-lake-here`, 'SELECT count(*) FROM vpc_flow']);
    assert.equal(none.status, 2);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^seclake: no lake at s3:\/\/cli-s3-lake\/no-lake-here: nothing under s3:\/\/cli-s3-lake\/no-lake-here\/_seclake\/catalog\//);
    const p = cli(['pairs', '--lake', 's3://no-such-bucket-here/lake', '--out', path.join(dir, 'x.csv')]);
    assert.equal(p.status, 2);
    assert.match(p.stderr, /no lake at s3:\/\/no-such-bucket-here\/lake: the bucket does not exist/);
    const q = cli(['quarantine', '--lake', `s3://${BUCKET}/no-lake-here`]);
    assert.equal(q.status, 2);
    assert.match(q.stderr, /no lake at s3:\/\/cli-s3-lake\/no-lake-here/);
  });
});
