/**
 * Issue 12 items 2 and 3: the local catalog survives a kill -9 between its two appends (objects, then the input record
 * that commits them) and a torn last line (power loss, full disk). Real ingests through the CLI in child processes;
 * the crash is injected with SECLAKE_FAULT=catalog-between-appends (SIGKILL at that point).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalogDir, publish, publishDerived, readInputs, readObjects, type CatalogObject } from '../../src/lake/catalog.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'seclake-catalog-crash-'));

function cli(args: string[], env: Record<string, string> = {}): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, SECLAKE_FAULT: '', ...env },
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A VPC flow log (v2) of 300 records over three days: three objects. `salt` makes inputs differ. */
function flowLog(dir: string, name: string, salt: number): string {
  const lines = ['version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'];
  for (let i = 0; i < 300; i++) {
    const t = 1704067200 + (i % 3) * 86400 + i;
    lines.push(`2 123456789012 eni-0a1b2c3d 10.0.${salt}.${(i % 200) + 1} 172.31.16.21 ${20000 + i} 443 6 10 ${1000 + i} ${t} ${t + 60} ACCEPT OK`);
  }
  const file = path.join(dir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function ingest(lake: string, file: string, env: Record<string, string> = {}): ReturnType<typeof cli> {
  return cli(['ingest', file, '--lake', lake, '--json'], env);
}

function rowCount(lake: string): number {
  const r = cli(['query', '--lake', lake, '--format', 'json', 'SELECT count(*)::INTEGER AS n FROM vpc_flow']);
  assert.equal(r.status, 0, r.stderr);
  return Number((JSON.parse(r.stdout) as { n: number }[])[0]!.n);
}

/** Every line of a catalog file (all must be JSON). */
function lines(lake: string, name: string): unknown[] {
  const file = path.join(catalogDir(lake), name);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown);
}

const shape = (objs: CatalogObject[]): [number, string, number][] => objs.map((o) => [o.seq, o.path, o.rows]);

test('a kill -9 between the catalog appends: the objects are not listed, and the rerun publishes them once', () => {
  const dir = tmp();
  const a = flowLog(dir, 'a.log', 1);
  const ref = path.join(dir, 'ref');
  assert.equal(ingest(ref, a).status, 0);

  const lake = path.join(dir, 'lake');
  const crashed = ingest(lake, a, { SECLAKE_FAULT: 'catalog-between-appends' });
  assert.equal(crashed.signal, 'SIGKILL', `the fault point kills the ingest (status ${crashed.status}): ${crashed.stderr}`);
  assert.equal(lines(lake, 'objects.jsonl').length, 3, 'the objects were appended');
  assert.equal(lines(lake, 'inputs.jsonl').length, 0, 'the input record was not');
  assert.deepEqual(readObjects(lake), [], 'objects without their input record are not committed');

  const rerun = ingest(lake, a);
  assert.equal(rerun.status, 0, rerun.stderr);
  assert.deepEqual(shape(readObjects(lake)), shape(readObjects(ref)));
  assert.equal(lines(lake, 'objects.jsonl').length, 3);
  assert.equal(readInputs(lake).length, 1);
  assert.equal(rowCount(lake), 300);
  assert.equal(rowCount(lake), rowCount(ref));

  assert.equal(ingest(lake, a).status, 0);
  assert.equal(readObjects(lake).length, 3, 're-ingest adds nothing');
});

test('the state a crash between the appends leaves, then another input: seqs stay monotonic, the crashed input publishes once', () => {
  const dir = tmp();
  const a = flowLog(dir, 'a.log', 1);
  const b = flowLog(dir, 'b.log', 2);
  const lake = path.join(dir, 'lake');
  assert.equal(ingest(lake, a).status, 0);
  // What a kill between the appends leaves: A's objects renamed into place and catalogued, no input record.
  writeFileSync(path.join(catalogDir(lake), 'inputs.jsonl'), '');
  assert.deepEqual(readObjects(lake), []);

  const rb = ingest(lake, b);
  assert.equal(rb.status, 0, rb.stderr);
  assert.match(rb.stderr, /dropping 3 object\(s\)/);
  const afterB = readObjects(lake);
  assert.deepEqual(afterB.map((o) => o.seq), [1, 2, 3]);
  assert.ok(afterB.every((o) => o.input_name.endsWith('b.log')));

  const ra = ingest(lake, a);
  assert.equal(ra.status, 0, ra.stderr);
  const all = readObjects(lake);
  assert.deepEqual(all.map((o) => o.seq), [1, 2, 3, 4, 5, 6]);
  assert.equal(new Set(all.map((o) => o.path)).size, 6, 'every object once');
  assert.equal(lines(lake, 'objects.jsonl').length, 6);
  assert.equal(rowCount(lake), 600);
});

test('a torn last line in both catalog files: readers ignore it, the next ingest moves it aside and adds its objects once', () => {
  const dir = tmp();
  const a = flowLog(dir, 'a.log', 1);
  const b = flowLog(dir, 'b.log', 2);
  const lake = path.join(dir, 'lake');
  assert.equal(ingest(lake, a).status, 0);
  appendFileSync(path.join(catalogDir(lake), 'objects.jsonl'), '{"seq": 4, "pa');
  appendFileSync(path.join(catalogDir(lake), 'inputs.jsonl'), '{"input_hash": "ab');

  assert.equal(readObjects(lake).length, 3);
  assert.equal(readInputs(lake).length, 1);
  const cat = cli(['catalog', '--lake', lake, '--objects', '--json']);
  assert.equal(cat.status, 0, cat.stderr);

  const rb = ingest(lake, b);
  assert.equal(rb.status, 0, rb.stderr);
  assert.match(rb.stderr, /torn last line/);
  const all = readObjects(lake);
  assert.deepEqual(all.map((o) => o.seq), [1, 2, 3, 4, 5, 6]);
  assert.equal(new Set(all.map((o) => o.path)).size, 6);
  assert.equal(lines(lake, 'objects.jsonl').length, 6, 'every line of objects.jsonl is JSON again');
  assert.equal(lines(lake, 'inputs.jsonl').length, 2, 'every line of inputs.jsonl is JSON again');
  assert.equal(readFileSync(path.join(catalogDir(lake), 'objects.jsonl.torn'), 'utf8'), '{"seq": 4, "pa\n');
  assert.equal(readFileSync(path.join(catalogDir(lake), 'inputs.jsonl.torn'), 'utf8'), '{"input_hash": "ab\n');
  assert.equal(rowCount(lake), 600);

  assert.equal(ingest(lake, b).status, 0);
  assert.equal(readObjects(lake).length, 6, 're-ingest adds nothing');
});

test('a last line of NUL bytes (power loss) is ignored and cut by the next publish, derived ones included', async () => {
  const lake = tmp();
  const base = {
    source: 'VPC_FLOW' as const, source_type: 'aws_vpc_flow' as const, class_uid: 4001, region: 'r', account_id: 'a', event_day: '20240101',
    rows: 1, time_min: 0, time_max: 0, bytes: 1, input_hash: 'h', input_name: 'n', created_at: '',
  };
  const input = { input_hash: 'h', input_name: 'n', source_type: 'aws_vpc_flow' as const, events: 1, rejects: 0, objects: ['a'], ingested_at: '' };
  publish(lake, [{ ...base, path: 'a' }], input);
  const objectsFile = path.join(catalogDir(lake), 'objects.jsonl');
  appendFileSync(objectsFile, '\0\0\0\0\0\0\0\0\n');
  assert.deepEqual(readObjects(lake).map((o) => o.path), ['a']);

  const file = path.join(lake, 'finding.tmp');
  writeFileSync(file, 'x');
  const derived = { path: 'ext/f/x.parquet', source: 'VPC_FLOW' as const, source_type: 'aws_vpc_flow' as const, class_uid: 2004, region: 'r',
    account_id: 'a', event_day: '20240101', rows: 1, time_min: 0, time_max: 0, derived_from: 'a' };
  const r = await publishDerived(lake, derived, file);
  assert.equal(r.added, true);
  assert.equal(r.object.seq, 2);
  // A derived object is committed by its own line; an uncommitted ingest before it would have been dropped first.
  assert.deepEqual(readObjects(lake).map((o) => [o.seq, o.path]), [[1, 'a'], [2, 'ext/f/x.parquet']]);
  assert.equal(readFileSync(objectsFile, 'utf8').split('\n').filter((l) => l.trim()).length, 2);
});
