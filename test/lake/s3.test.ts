/**
 * The S3 lake against a real S3 API (moto_server on loopback): ingest of the bundled samples, keys, catalog,
 * idempotency (also across concurrent workers), crash windows, multipart, download + DuckDB.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startMoto, type Moto } from '../helpers/moto.js';
import { ingest } from '../../src/ingest/ingest.js';
import { readInputs, readObjects } from '../../src/lake/catalog.js';
import { Duck } from '../../src/lake/duckdb.js';
import { MULTIPART_PART_BYTES, S3Lake, parseS3Url, safeKey, type LogEntry } from '../../src/lake/s3.js';
import { openLakeStore, syncLakeToDir } from '../../src/lake/store.js';
import { openLakeQuery } from '../../src/lake/views.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const samples = path.join(root, 'assets', 'samples');
const flowFile = path.join(samples, 'vpc-flow', 'aws-docs-v5-custom-traffic-path.log');
const LAYOUT = /^(aws\/[A-Z0-9_]+|ext\/[a-z0-9_]+)\/2\.0\/region=[A-Za-z0-9_.+-]+\/accountId=[A-Za-z0-9_.+-]+\/eventDay=[0-9]{8}\/[0-9a-f]{20}-[0-9]+-[0-9]+\.parquet$/;

let moto: Moto;
let s3: S3Client;
const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'seclake-s3test-'));
  dirs.push(d);
  return d;
};
let bucketN = 0;
async function newBucket(): Promise<string> {
  const b = `lake-${++bucketN}-${process.pid}`;
  await s3.send(new CreateBucketCommand({ Bucket: b }));
  return b;
}
async function allKeys(bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const c of r.Contents ?? []) out.push(c.Key!);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

before(async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1' });
});
after(async () => {
  s3?.destroy();
  await moto?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('S3 URLs and keys are checked: no traversal, no absolute keys', () => {
  assert.deepEqual(parseS3Url('s3://my-bucket/a/b/'), { bucket: 'my-bucket', prefix: 'a/b' });
  assert.deepEqual(parseS3Url('s3://my-bucket'), { bucket: 'my-bucket', prefix: '' });
  assert.throws(() => parseS3Url('s3://my-bucket/a/../b'), /invalid object key/);
  assert.throws(() => parseS3Url('s3://My_Bucket/x'), /invalid S3 bucket/);
  assert.throws(() => parseS3Url('/local/dir'), /not an S3 URL/);
  for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a/./b', 'a\\b', 'a\u0000b', '']) assert.throws(() => safeKey(bad), /invalid object key/, bad);
  assert.equal(safeKey('aws/VPC_FLOW/2.0/region=us-east-1/x.parquet'), 'aws/VPC_FLOW/2.0/region=us-east-1/x.parquet');
  const lake = new S3Lake('s3://bkt/pre', { endpoint: 'http://127.0.0.1:1' });
  assert.equal(lake.objectUrl('aws/x.parquet'), 's3://bkt/pre/aws/x.parquet');
  assert.throws(() => lake.fullKey('../../other-prefix/x'), /invalid object key/);
  lake.close();
});

test('ingest of the bundled samples into s3://bucket/prefix: same objects as a local lake, under the same keys; catalog, re-ingest, download', async () => {
  const bucket = await newBucket();
  const url = `s3://${bucket}/team/lake`;
  const local = tmp();
  const [sum, localSum] = [
    await ingest({ lakeDir: url, paths: [samples], s3: { endpoint: moto.endpoint } }),
    await ingest({ lakeDir: local, paths: [samples] }),
  ];
  assert.equal(sum.lake, url);
  assert.equal(sum.totals.failed, 0, JSON.stringify(sum.inputs.filter((i) => i.status === 'failed')));
  assert.ok(sum.totals.ingested > 50, `ingested ${sum.totals.ingested}`);
  assert.deepEqual(sum.totals, localSum.totals);

  const store = openLakeStore(url, { endpoint: moto.endpoint });
  try {
    const objs = await store.listCatalog(0);
    const localObjs = readObjects(local);
    // Same objects (paths are content-derived), same rows.
    assert.deepEqual(
      objs.map((o) => [o.path, o.rows, o.class_uid, o.source]).sort(),
      localObjs.map((o) => [o.path, o.rows, o.class_uid, o.source]).sort(),
    );
    // Sequence numbers: 1..N without gaps here (one worker; every input has objects or takes one seq).
    const seqs = objs.map((o) => o.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(new Set(seqs).size, seqs.length);
    // Every catalogued object is in S3 under <prefix>/<Security Lake layout path>; nothing else outside _seclake/.
    const keys = await allKeys(bucket);
    const dataKeys = keys.filter((k) => !k.startsWith('team/lake/_seclake/'));
    assert.deepEqual(dataKeys.sort(), objs.map((o) => `team/lake/${o.path}`).sort());
    for (const o of objs) assert.match(o.path, LAYOUT);
    assert.ok(keys.every((k) => k.startsWith('team/lake/')));
    // Inputs: one per ingested input, with the content hash; quarantine files (if any) are in S3 too.
    const inputs = await store.listInputs();
    assert.equal(inputs.length, sum.totals.ingested);
    assert.deepEqual(inputs.map((i) => i.input_hash).sort(), readInputs(local).map((i) => i.input_hash).sort());
    for (const i of inputs.filter((x) => x.quarantine)) assert.ok(keys.includes(`team/lake/${i.quarantine}`), i.quarantine);
    // listCatalog(after) returns exactly the later objects, also from a fresh reader (no cache) and mid-entry.
    const fresh = new S3Lake(url, { endpoint: moto.endpoint });
    const mid = seqs[Math.floor(seqs.length / 2)]!;
    assert.deepEqual((await fresh.listCatalog(mid)).map((o) => o.seq), seqs.filter((s) => s > mid));
    assert.deepEqual((await fresh.listCatalog(seqs.at(-1)!)).length, 0);
    fresh.close();

    // Download one VPC flow object and query it locally: the same rows as the local lake's object.
    // (An object whose event times come from the log: records without a time get the ingest time, which differs.)
    const vpc = objs.find((o) => o.source === 'VPC_FLOW' && o.rows > 3 && o.time_max < Date.UTC(2025, 0, 1))!;
    assert.ok(vpc);
    const dl = path.join(tmp(), 'x.parquet');
    const size = await store.getObjectToFile(vpc.path, dl);
    assert.equal(size, vpc.bytes);
    const db = await Duck.open();
    try {
      const [{ n }] = (await db.all('SELECT count(*)::INTEGER AS n FROM read_parquet($1)', [dl])) as [{ n: number }];
      assert.equal(n, vpc.rows);
      const diff = await db.all(
        'SELECT count(*)::INTEGER AS d FROM ((SELECT * FROM read_parquet($1, hive_partitioning = false) EXCEPT ALL SELECT * FROM read_parquet($2, hive_partitioning = false)) ' +
          'UNION ALL (SELECT * FROM read_parquet($2, hive_partitioning = false) EXCEPT ALL SELECT * FROM read_parquet($1, hive_partitioning = false)))',
        [dl, path.join(local, vpc.path)],
      );
      assert.equal(diff[0]!.d, 0);
    } finally {
      db.close();
    }

    // Re-ingest: a no-op (no new log entries, no new objects).
    const logBefore = (await allKeys(bucket, 'team/lake/_seclake/catalog/log/')).length;
    const again = await ingest({ lakeDir: url, paths: [samples], s3: { endpoint: moto.endpoint } });
    assert.equal(again.totals.ingested, 0);
    assert.equal(again.totals.duplicates, sum.totals.ingested);
    assert.equal((await allKeys(bucket, 'team/lake/_seclake/catalog/log/')).length, logBefore);
    assert.equal((await store.listCatalog(0)).length, objs.length);

    // The cache mirror used by `seclake query --lake s3://` is a valid local lake with the same catalog.
    const cache = tmp();
    const r1 = await syncLakeToDir(store, cache);
    assert.equal(r1.downloaded, objs.length);
    assert.deepEqual(readObjects(cache), objs);
    const r2 = await syncLakeToDir(store, cache);
    assert.equal(r2.downloaded, 0);
  } finally {
    store.close();
  }
});

test('two concurrent ingests of the same file publish it once', async () => {
  const bucket = await newBucket();
  const url = `s3://${bucket}/lake`;
  const [a, b] = await Promise.all([
    ingest({ lakeDir: url, paths: [flowFile], s3: { endpoint: moto.endpoint } }),
    ingest({ lakeDir: url, paths: [flowFile], s3: { endpoint: moto.endpoint } }),
  ]);
  const statuses = [a.inputs[0]!.status, b.inputs[0]!.status].sort();
  assert.ok(!statuses.includes('failed'), JSON.stringify([a.inputs[0], b.inputs[0]]));
  assert.deepEqual(statuses, ['duplicate', 'ingested']);
  const lake = new S3Lake(url, { endpoint: moto.endpoint });
  try {
    const inputs = await lake.listInputs();
    assert.equal(inputs.length, 1);
    const objs = await lake.listCatalog(0);
    assert.deepEqual(objs.map((o) => o.path).sort(), [...(a.inputs[0]!.objects.length ? a : b).inputs[0]!.objects].sort());
  } finally {
    lake.close();
  }
});

test('rejected records are quarantined in S3 with the input; the query mirror shows them', async () => {
  const bucket = await newBucket();
  const url = `s3://${bucket}/lake`;
  const dir = tmp();
  const f = path.join(dir, '123456789010_vpcflowlogs_us-east-1_fl-1_20141214T0000Z_ab12.log');
  const good = readFileSync(path.join(samples, 'vpc-flow', 'aws-docs-v2-default-format.log'), 'utf8').trimEnd().split('\n');
  writeFileSync(f, [...good.slice(0, 2), '2 123456789010 eni-x 172.31.16.139 172.31.16.21 notaport 22 6 20 4249 1418530010 1418530070 ACCEPT OK', ...good.slice(2)].join('\n') + '\n');
  const s = await ingest({ lakeDir: url, paths: [f], s3: { endpoint: moto.endpoint } });
  assert.equal(s.totals.ingested, 1);
  assert.equal(s.totals.rejects, 1);
  const store = openLakeStore(url, { endpoint: moto.endpoint });
  try {
    const [input] = await store.listInputs();
    assert.ok(input?.quarantine, JSON.stringify(input));
    assert.equal(input.quarantine, `_seclake/quarantine/${s.inputs[0]!.hash!.slice(0, 20)}.jsonl`);
    assert.ok((await allKeys(bucket)).includes(`lake/${input.quarantine}`));
    const local = path.join(tmp(), 'q.jsonl');
    await store.getObjectToFile(input.quarantine, local);
    const rec = JSON.parse(readFileSync(local, 'utf8').trim()) as { line: number; input_hash: string; raw: string };
    assert.equal(rec.line, 3);
    assert.equal(rec.input_hash, s.inputs[0]!.hash);
    assert.match(rec.raw, /notaport/);
    const cache = tmp();
    await syncLakeToDir(store, cache);
    const db = await openLakeQuery(cache);
    try {
      const rows = await db.all('SELECT line, input_hash FROM quarantine');
      assert.deepEqual(rows, [{ line: 3, input_hash: s.inputs[0]!.hash }]);
    } finally {
      db.close();
    }
  } finally {
    store.close();
  }
});

test('racing publishers that both append a log entry: one entry is valid, the other void; readers agree', async () => {
  const bucket = await newBucket();
  const url = `s3://${bucket}/lake`;
  const dir = tmp();
  const f = path.join(dir, 'obj.parquet');
  writeFileSync(f, 'not really parquet, the protocol does not look');
  const req = (name: string, hash = createHash('sha256').update('input-1').digest('hex')) => ({
    inputHash: hash,
    input: { input_hash: hash, input_name: name, source_type: 'aws_vpc_flow' as const, events: 1, rejects: 0, ingested_at: '' },
    objects: [{ key: `aws/VPC_FLOW/2.0/region=r/accountId=a/eventDay=20240101/${hash.slice(0, 20)}-4001-0.parquet`, file: f, meta: {
      source: 'VPC_FLOW' as const, source_type: 'aws_vpc_flow' as const, class_uid: 4001, region: 'r', account_id: 'a', event_day: '20240101',
      rows: 1, time_min: 0, time_max: 0, input_hash: hash, input_name: name, created_at: '' } }],
  });
  const w1 = new S3Lake(url, { endpoint: moto.endpoint });
  const w2 = new S3Lake(url, { endpoint: moto.endpoint });
  // Both pass the "already published?" check, then both append: force it by racing publish() itself.
  const hash = req('w').inputHash;
  const [r1, r2] = await Promise.all([w1.publish(req('w1')), w2.publish(req('w2'))]);
  assert.deepEqual([r1.status, r2.status].sort(), ['duplicate', 'published']);
  const reader = new S3Lake(url, { endpoint: moto.endpoint });
  const objs = await reader.listCatalog(0);
  assert.equal(objs.length, 1);
  const winner = r1.status === 'published' ? r1 : r2;
  assert.ok(winner.status === 'published');
  assert.equal(objs[0]!.seq, winner.entry);
  assert.equal((await reader.listInputs()).length, 1);
  // A later publish goes after both entries (void or not) and is listed after the valid one.
  const hash2 = createHash('sha256').update('input-2').digest('hex');
  const r3 = await w1.publish(req('w3', hash2));
  assert.equal(r3.status, 'published');
  assert.deepEqual((await reader.listCatalog(0)).map((o) => o.input_hash), [hash, hash2]);
  for (const l of [w1, w2, reader]) l.close();
});

test('crash windows: uploaded-but-unlogged objects are invisible; a logged-but-unresolved entry blocks, then is resolved after the grace period', async () => {
  const bucket = await newBucket();
  const url = `s3://${bucket}/lake`;
  const lake = new S3Lake(url, { endpoint: moto.endpoint });
  const dir = tmp();
  const f = path.join(dir, 'o.parquet');
  writeFileSync(f, 'x');
  // 1. Writer died after uploading an object (step 2): not in the catalog.
  await lake.putFile('aws/VPC_FLOW/2.0/region=r/accountId=a/eventDay=20240101/dead-4001-0.parquet', f);
  assert.deepEqual(await lake.listCatalog(0), []);
  // 2. Writer died after appending its log entry (step 3) but before resolving it (step 4).
  const hash = createHash('sha256').update('crashed').digest('hex');
  const obj = { seq: 1, path: 'aws/VPC_FLOW/2.0/region=r/accountId=a/eventDay=20240101/dead-4001-0.parquet', source: 'VPC_FLOW', source_type: 'aws_vpc_flow',
    class_uid: 4001, region: 'r', account_id: 'a', event_day: '20240101', rows: 1, time_min: 0, time_max: 0, bytes: 1, input_hash: hash, input_name: 'crashed', created_at: '' };
  const entry: LogEntry = { first_seq: 1, writer: 'w-crashed', input_hash: hash, input: { input_hash: hash, input_name: 'crashed', source_type: 'aws_vpc_flow', events: 1, rejects: 0, objects: [obj.path], ingested_at: '' }, objects: [obj as LogEntry['objects'][0]], written_at: new Date().toISOString() };
  assert.equal(await lake.putJson('_seclake/catalog/log/0000000000000001.json', entry, true), true);
  // A second, healthy publish lands after it.
  const hash2 = createHash('sha256').update('healthy').digest('hex');
  const pub = await lake.publish({
    inputHash: hash2,
    input: { input_hash: hash2, input_name: 'healthy', source_type: 'aws_vpc_flow', events: 0, rejects: 0, ingested_at: '' },
    objects: [],
  });
  assert.equal(pub.status, 'published');
  // Within the grace period the pending entry stops the listing (a consumer's checkpoint cannot pass it).
  const patient = new S3Lake(url, { endpoint: moto.endpoint, pendingGraceMs: 3_600_000 });
  assert.deepEqual(await patient.listCatalog(0), []);
  assert.deepEqual(await patient.listInputs(), []);
  // After it, a reader resolves it (conditional PUT of the input record) and everyone sees it from then on.
  const eager = new S3Lake(url, { endpoint: moto.endpoint, pendingGraceMs: 0 });
  assert.deepEqual((await eager.listCatalog(0)).map((o) => o.seq), [1]);
  assert.deepEqual((await patient.listInputs()).map((i) => i.input_name), ['crashed', 'healthy']);
  // Re-ingesting the crashed input is now a duplicate.
  assert.equal(await lake.hasInput(hash), true);
  // Two log entries for one input (a worker that lost the race): the resolved one counts, the other is void.
  const seqNext = (await eager.listCatalog(0)).length + 1 + 1; // entries 1 (crashed) and 2 (healthy, no objects, one seq)
  const dupHash = createHash('sha256').update('dup').digest('hex');
  const dupEntry = (first: number, name: string): LogEntry => ({
    first_seq: first, writer: `w-${name}`, input_hash: dupHash, input: { ...entry.input, input_hash: dupHash, input_name: name },
    objects: [{ ...(obj as LogEntry['objects'][0]), seq: first, input_hash: dupHash, input_name: name }], written_at: new Date().toISOString(),
  });
  assert.equal(await lake.putJson(`_seclake/catalog/log/${String(seqNext).padStart(16, '0')}.json`, dupEntry(seqNext, 'first'), true), true);
  assert.equal(await lake.putJson(`_seclake/catalog/log/${String(seqNext + 1).padStart(16, '0')}.json`, dupEntry(seqNext + 1, 'second'), true), true);
  const r = new S3Lake(url, { endpoint: moto.endpoint, pendingGraceMs: 0 });
  assert.deepEqual((await r.listCatalog(0)).map((o) => [o.seq, o.input_name]), [[1, 'crashed'], [seqNext, 'first']]);
  assert.deepEqual((await patient.listCatalog(2)).map((o) => [o.seq, o.input_name]), [[seqNext, 'first']]);
  r.close();
  for (const l of [lake, patient, eager]) l.close();
});

test('listCatalog(afterSeq) from a fresh reader equals the full listing filtered, for every checkpoint (mid-entry too)', async () => {
  const bucket = await newBucket();
  const url = `s3://${bucket}/lake`;
  const w = new S3Lake(url, { endpoint: moto.endpoint });
  const f = path.join(tmp(), 'o.parquet');
  writeFileSync(f, 'x');
  for (let i = 0; i < 24; i++) {
    const hash = createHash('sha256').update(`in-${i}`).digest('hex');
    const n = [0, 1, 3, 2, 1, 5][i % 6]!; // inputs with 0..5 objects: entries spanning 1..5 seqs
    const r = await w.publish({
      inputHash: hash,
      input: { input_hash: hash, input_name: `in-${i}`, source_type: 'aws_vpc_flow', events: n, rejects: 0, ingested_at: '' },
      objects: Array.from({ length: n }, (_, k) => ({
        key: `aws/VPC_FLOW/2.0/region=r/accountId=a/eventDay=20240101/${hash.slice(0, 20)}-4001-${k}.parquet`,
        file: f,
        meta: { source: 'VPC_FLOW' as const, source_type: 'aws_vpc_flow' as const, class_uid: 4001, region: 'r', account_id: 'a', event_day: '20240101', rows: 1, time_min: 0, time_max: 0, input_hash: hash, input_name: `in-${i}`, created_at: '' },
      })),
    });
    assert.equal(r.status, 'published');
  }
  const all = await w.listCatalog(0);
  const seqs = all.map((o) => o.seq);
  assert.equal(all.length, 4 * (0 + 1 + 3 + 2 + 1 + 5));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  for (let after = 0; after <= seqs.at(-1)! + 1; after++) {
    const fresh = new S3Lake(url, { endpoint: moto.endpoint });
    assert.deepEqual((await fresh.listCatalog(after)).map((o) => o.seq), seqs.filter((s) => s > after), `after ${after}`);
    fresh.close();
  }
  // A polling reader (cache warm) agrees too.
  for (const after of [0, 5, 17, seqs.at(-1)!]) assert.deepEqual((await w.listCatalog(after)).map((o) => o.seq), seqs.filter((s) => s > after));
  w.close();
});

test('large objects go up in parts and come back byte for byte', async () => {
  const bucket = await newBucket();
  const lake = new S3Lake(`s3://${bucket}/p`, { endpoint: moto.endpoint });
  const dir = tmp();
  const big = path.join(dir, 'big.bin');
  const data = randomBytes(MULTIPART_PART_BYTES + 1234567);
  writeFileSync(big, data);
  assert.equal(await lake.putFile('aws/big.bin', big), data.length);
  const back = path.join(dir, 'back.bin');
  assert.equal(await lake.getObjectToFile('aws/big.bin', back), data.length);
  assert.ok(readFileSync(back).equals(data));
  lake.close();
});

test('CLI: seclake ingest / catalog / query --lake s3://', async () => {
  const bucket = await newBucket();
  const url = `s3://${bucket}/cli`;
  const env = { ...process.env, ...moto.env, SECLAKE_S3_ENDPOINT: moto.endpoint, SECLAKE_CACHE: tmp() };
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', env });
  const r = cli(['ingest', path.join(samples, 'vpc-flow'), '--lake', url, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { lake: string; totals: { ingested: number; events: number } };
  assert.equal(s.lake, url);
  assert.equal(s.totals.ingested, 5);
  const c = cli(['catalog', '--lake', url, '--json']);
  assert.equal(c.status, 0, c.stderr);
  const cat = JSON.parse(c.stdout) as { inputs: number; rows: number };
  assert.equal(cat.inputs, 5);
  assert.equal(cat.rows, s.totals.events);
  const q = cli(['query', '--lake', url, '--format', 'json', 'SELECT count(*)::INTEGER AS n FROM vpc_flow']);
  assert.equal(q.status, 0, q.stderr);
  assert.deepEqual(JSON.parse(q.stdout), [{ n: s.totals.events }]);
  // DDL straight from the S3 lake (footers only); `--lake` may follow `ddl`.
  const d = cli(['catalog', 'ddl', '--engine', 'athena', '--lake', url, '--database', 'sec']);
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stdout, /CREATE EXTERNAL TABLE IF NOT EXISTS `sec`\.`amazon_security_lake_table_[a-z0-9_]+_vpc_flow_2_0` \(/);
  assert.ok(d.stdout.includes(`LOCATION '${url}/aws/VPC_FLOW/2.0/'`), d.stdout.slice(0, 2000));
  // A local lake (an empty one) for Athena: the DDL needs to know where it lives in S3.
  const empty = path.join(tmp(), 'empty');
  mkdirSync(path.join(empty, '_seclake'), { recursive: true });
  const bad = cli(['catalog', 'ddl', '--engine', 'athena', '--lake', empty]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--location s3:\/\//);
});
