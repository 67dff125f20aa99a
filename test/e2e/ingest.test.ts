/**
 * End-to-end ingest over the real samples (test/samples and the bundled raw CloudTrail in assets/samples/cloudtrail),
 * through the CLI as a user runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingest } from '../../src/ingest/ingest.js';
import { openLakeQuery } from '../../src/lake/views.js';
import { readInputs, readObjects } from '../../src/lake/catalog.js';
import { readQuarantine } from '../../src/lake/quarantine.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const samples = path.join(root, 'test', 'samples');
const cloudtrail = path.join(root, 'assets', 'samples', 'cloudtrail');
const cli = (args: string[], input?: string): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'seclake-e2e-'));

const REFERENCE_QUERY =
  "SELECT src_endpoint.instance_uid as instance_id, src_endpoint.ip as sourceip FROM vpc_flow WHERE src_endpoint.ip IS NOT NULL AND src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid != '-' AND src_endpoint.ip != '-'";

test('every raw sample ingests; nothing fails; the reference query returns the v3+ instance/IP pairs', async () => {
  const lake = tmp();
  const r = cli(['ingest', samples, cloudtrail, '--lake', lake, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.totals.failed, 0, JSON.stringify(s.inputs.filter((i: { status: string }) => i.status === 'failed')));
  // Raw log samples: zero rejects.
  const raw = s.inputs.filter((i: { name: string; status: string }) =>
    /\/(vpc-flow|route53-resolver|cloudtrail)\//.test(i.name) && i.status === 'ingested');
  assert.ok(raw.length >= 80, `raw inputs ingested: ${raw.length}`);
  for (const i of raw) assert.equal(i.rejects, 0, `${i.name}: ${i.rejects} rejects`);
  const classes = new Set(s.by_class.map((c: { class_uid: number }) => c.class_uid));
  for (const c of [4001, 4003, 6003, 3002, 3001]) assert.ok(classes.has(c), `class ${c} present`);
  const db = await openLakeQuery(lake);
  try {
    const pairs = await db.all(REFERENCE_QUERY);
    assert.ok(pairs.length > 0);
    for (const p of pairs) {
      assert.match(String(p.instance_id), /^i-[0-9a-f]+$/);
      assert.notEqual(p.sourceip, '-');
    }
    // Transit-gateway sample: instance-id '-' rows are excluded by the query.
    const dash = await db.all("SELECT count(*)::INTEGER AS n FROM vpc_flow WHERE src_endpoint.instance_uid = '-'");
    assert.ok(Number(dash[0]!.n) > 0, 'the literal "-" instance ids are kept, as Security Lake does');
    const glue = await db.all('SELECT count(*)::INTEGER AS n FROM amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0');
    assert.ok(Number(glue[0]!.n) >= 2900);
  } finally {
    db.close();
  }
  // Every output object validates against the schema.
  const objects = readObjects(lake).map((o) => path.join(lake, o.path));
  const v = cli(['validate', ...objects, '--json']);
  assert.equal(v.status, 0, v.stdout.slice(0, 2000) + v.stderr);
});

test('re-ingesting the same content adds nothing, also under another name', async () => {
  const lake = tmp();
  const src = path.join(samples, 'vpc-flow', 'aws-docs-v3-custom-tcp-flags.log');
  const first = await ingest({ lakeDir: lake, paths: [src] });
  assert.equal(first.totals.ingested, 1);
  const again = await ingest({ lakeDir: lake, paths: [src] });
  assert.equal(again.totals.duplicates, 1);
  const copy = path.join(tmp(), 'renamed.log.gz');
  writeFileSync(copy, gzipSync(readFileSync(src)));
  const renamed = await ingest({ lakeDir: lake, paths: [copy] });
  assert.equal(renamed.totals.duplicates, 1, 'same decompressed content under another name is a duplicate');
  assert.equal(readInputs(lake).length, 1);
  assert.equal(readObjects(lake).reduce((a, o) => a + o.rows, 0), first.totals.events);
});

test('bad lines are quarantined with file, line and reason; the good ones land', async () => {
  const lake = tmp();
  const dir = tmp();
  const file = path.join(dir, 'mixed.log');
  writeFileSync(
    file,
    [
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
      '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 abc 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1235b8ca123456789 999.1.1.1 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1235b8ca123456789 172.31.16.139',
      '2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK',
    ].join('\n') + '\n',
  );
  const s = await ingest({ lakeDir: lake, paths: [file] });
  assert.equal(s.totals.events, 2);
  assert.equal(s.totals.rejects, 3);
  const q = readQuarantine(lake);
  assert.deepEqual(q.map((r) => r.line), [3, 4, 5]);
  for (const r of q) {
    assert.equal(r.input_name, file);
    assert.equal(r.input_hash, s.inputs[0]!.hash);
    assert.ok(r.reason.length > 0);
    assert.ok(r.raw.length > 0);
  }
  assert.match(q[0]!.reason, /srcport/);
  assert.match(q[1]!.reason, /srcaddr/);
  const listed = cli(['quarantine', '--lake', lake]);
  assert.equal(listed.status, 0);
  assert.match(listed.stdout, /srcport/);
});

test('an unreadable file fails only itself and sets the exit status; folders skip non-log files', () => {
  const lake = tmp();
  const dir = tmp();
  writeFileSync(path.join(dir, 'notes.txt'), 'hello, not a log\n');
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(path.join(dir, 'sub', 'flow.log'), readFileSync(path.join(samples, 'vpc-flow', 'aws-docs-v2-default-format.log')));
  const ok = cli(['ingest', dir, '--lake', lake, '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  const s = JSON.parse(ok.stdout);
  assert.equal(s.totals.ingested, 1);
  assert.equal(s.totals.skipped, 1);
  const bad = cli(['ingest', path.join(dir, 'missing.log'), path.join(dir, 'sub', 'flow.log'), '--lake', lake, '--json']);
  assert.equal(bad.status, 1);
  const b = JSON.parse(bad.stdout);
  assert.equal(b.totals.failed, 1);
  assert.match(b.inputs[0].message, /missing\.log|cannot read/);
  const notLog = cli(['ingest', path.join(dir, 'notes.txt'), '--lake', lake]);
  assert.equal(notLog.status, 1, 'an explicitly named file that is no known format is a failure');
});

test('stdin ingest, and a crash before publish leaves nothing visible', async () => {
  const lake = tmp();
  const text = readFileSync(path.join(samples, 'route53-resolver', 'all-distinct-records.jsonl'), 'utf8');
  const r = cli(['ingest', '-', '--lake', lake, '--json'], text);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).totals.events, 4);
  // Simulate a crash: staged Parquet without a catalog entry must not be visible to queries.
  const staging = path.join(lake, '_seclake', 'staging', 'crashed-run');
  mkdirSync(staging, { recursive: true });
  execFileSync('cp', [path.join(lake, readObjects(lake)[0]!.path), path.join(staging, 'p0-0.parquet')]);
  const stray = path.join(lake, 'aws', 'ROUTE53', '2.0', 'region=us-east-1', 'accountId=unknown', 'eventDay=20990101');
  mkdirSync(stray, { recursive: true });
  execFileSync('cp', [path.join(lake, readObjects(lake)[0]!.path), path.join(stray, 'orphan.parquet')]);
  const db = await openLakeQuery(lake);
  try {
    const n = await db.all('SELECT count(*)::INTEGER AS n FROM route53');
    assert.equal(n[0]!.n, 4);
  } finally {
    db.close();
  }
  assert.ok(existsSync(staging));
  assert.ok(readdirSync(lake).includes('aws'));
});

test('query command formats', () => {
  const lake = tmp();
  assert.equal(cli(['ingest', path.join(samples, 'vpc-flow'), '--lake', lake]).status, 0);
  const csv = cli(['query', '--lake', lake, '--format', 'csv', REFERENCE_QUERY]);
  assert.equal(csv.status, 0, csv.stderr);
  assert.equal(csv.stdout.split('\n')[0], 'instance_id,sourceip');
  const json = cli(['query', '--lake', lake, '--format', 'json', 'SELECT 1 AS a']);
  assert.deepEqual(JSON.parse(json.stdout), [{ a: 1 }]);
  const empty = cli(['query', '--lake', lake, '--format', 'json', 'SELECT 1 AS a WHERE false']);
  assert.deepEqual(JSON.parse(empty.stdout), []);
  const bad = cli(['query', '--lake', lake, 'SELEC nonsense']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /SQL failed/);
});
