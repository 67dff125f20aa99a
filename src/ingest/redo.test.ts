/**
 * Issue 12 item 4 and the ingest parts of item 8: an input ingested with the wrong source can be redone (another
 * source for an input none of whose records was ingested, or `force` for any input), without doubling anything; an
 * empty input is a success with 0 records; symbolic links in a folder are followed inside it and refused, with a
 * warning, outside it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ingest } from './ingest.js';
import { catalogDir, readInputs, readObjects, type CatalogObject } from '../lake/catalog.js';
import { readQuarantine } from '../lake/quarantine.js';
import { openLakeQuery } from '../lake/views.js';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'seclake-redo-'));

const ROUTE53 = (i: number): string =>
  `{"version":"1.100000","account_id":"111111111111","region":"eu-west-1","vpc_id":"vpc-0a1b2c3d4e5f60001",` +
  `"query_timestamp":"2024-05-01T10:00:0${i}Z","query_name":"www${i}.example.com.","query_type":"A","query_class":"IN",` +
  `"rcode":"NOERROR","answers":[],"srcaddr":"10.0.1.25","srcport":"53211","transport":"UDP"}`;

function route53File(dir: string, name = 'dns.jsonl', n = 3): string {
  const file = path.join(dir, name);
  writeFileSync(file, Array.from({ length: n }, (_, i) => ROUTE53(i)).join('\n') + '\n');
  return file;
}

/** A VPC flow log (v2) of 300 records over three days: three objects; `bad` lines that do not parse at the end. */
function flowLog(dir: string, name: string, bad = 0): string {
  const lines = ['version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'];
  for (let i = 0; i < 300; i++) {
    const t = 1704067200 + (i % 3) * 86400 + i;
    lines.push(`2 123456789012 eni-0a1b2c3d 10.0.1.${(i % 200) + 1} 172.31.16.21 ${20000 + i} 443 6 10 ${1000 + i} ${t} ${t + 60} ACCEPT OK`);
  }
  for (let i = 0; i < bad; i++) lines.push(`2 123456789012 eni-0a1b2c3d 10.0.1.1 172.31.16.21 notaport 443 6 10 10 1704067200 1704067260 ACCEPT OK`);
  const file = path.join(dir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function count(lake: string, view: string): Promise<number> {
  const db = await openLakeQuery(lake);
  try {
    return Number((await db.all(`SELECT count(*)::INTEGER AS n FROM ${view}`))[0]!.n);
  } finally {
    db.close();
  }
}

/** Parquet files under the lake's data folders (what a tool reading the folders sees). */
function parquetFiles(lake: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '_seclake') continue;
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith('.parquet')) out.push(path.relative(lake, f).split(path.sep).join('/'));
    }
  };
  if (existsSync(lake)) walk(lake);
  return out.sort();
}

test('every record quarantined under the wrong source: said loudly, and ingesting it again as the right source redoes it', async () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const file = route53File(dir);
  const wrong = await ingest({ lakeDir: lake, paths: [file], sourceType: 'aws_vpc_flow' });
  assert.equal(wrong.totals.ingested, 1);
  assert.equal(wrong.totals.events, 0);
  assert.equal(wrong.totals.rejects, 3);
  const w = wrong.inputs[0]!;
  assert.match(w.warning ?? '', /none of its 3 record\(s\) was ingested: every one was quarantined as aws_vpc_flow/);
  assert.match(w.warning ?? '', /--source <type>/);
  assert.match(w.warning ?? '', /--force/);
  assert.equal(readQuarantine(lake).length, 3);

  // The same wrong source again: nothing to redo, and it says why and what would.
  const again = await ingest({ lakeDir: lake, paths: [file], sourceType: 'aws_vpc_flow' });
  assert.equal(again.inputs[0]?.status, 'duplicate');
  assert.match(again.inputs[0]!.warning ?? '', /none of its 3 record\(s\) was ingested \(all quarantined as aws_vpc_flow\).*--force/);

  // The right source: read again, published as revision 1, the wrong one's quarantine retracted.
  const right = await ingest({ lakeDir: lake, paths: [file], sourceType: 'aws_route53' });
  const r = right.inputs[0]!;
  assert.equal(r.status, 'ingested', JSON.stringify(r));
  assert.equal(r.events, 3);
  assert.equal(r.revision, 1);
  assert.equal(r.warning, undefined);
  assert.equal(await count(lake, 'route53'), 3);
  assert.deepEqual(readQuarantine(lake), [], 'the wrong source\'s quarantine is gone');
  const inputs = readInputs(lake);
  assert.equal(inputs.length, 1, 'one current record per input');
  assert.equal(inputs[0]!.source_type, 'aws_route53');
  assert.equal(inputs[0]!.revision, 1);

  // Now it is in the lake: detected (no --source) or not, ingesting it again adds nothing.
  for (const sourceType of [undefined, 'aws_route53'] as const) {
    const s = await ingest({ lakeDir: lake, paths: [file], ...(sourceType ? { sourceType } : {}) });
    assert.equal(s.inputs[0]?.status, 'duplicate');
    assert.equal(s.inputs[0]?.warning, undefined);
  }
  // The same content under another name (found by hash, not by name): also a duplicate.
  const copy = path.join(dir, 'copy.jsonl.gz');
  writeFileSync(copy, gzipSync(readFileSync(file)));
  assert.equal((await ingest({ lakeDir: lake, paths: [copy], sourceType: 'aws_vpc_flow' })).inputs[0]?.status, 'duplicate');
  assert.equal(await count(lake, 'route53'), 3);
});

test('a file none of whose records was ingested is redone when another name for its content is read as another source', async () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const file = route53File(dir);
  await ingest({ lakeDir: lake, paths: [file], sourceType: 'ocsf' });
  const copy = path.join(dir, 'renamed.jsonl');
  writeFileSync(copy, readFileSync(file));
  // Detected as Route 53 this time (no --source): another source than the recorded one, so it is redone.
  const s = await ingest({ lakeDir: lake, paths: [copy] });
  assert.equal(s.inputs[0]?.status, 'ingested', JSON.stringify(s.inputs[0]));
  assert.equal(s.inputs[0]?.revision, 1);
  assert.equal(await count(lake, 'route53'), 3);
  assert.equal(readQuarantine(lake).length, 0);
});

test('--force redoes an ingested input: new objects in one commit, the earlier ones retracted and removed, nothing doubled', async () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const file = flowLog(dir, 'a.log', 2);
  const first = await ingest({ lakeDir: lake, paths: [file] });
  assert.equal(first.totals.events, 300);
  assert.equal(first.totals.rejects, 2);
  const before = readObjects(lake);
  assert.equal(before.length, 3);
  assert.deepEqual(parquetFiles(lake), before.map((o) => o.path).sort());

  const plain = await ingest({ lakeDir: lake, paths: [file] });
  assert.equal(plain.inputs[0]?.status, 'duplicate', 'without --force, nothing is redone');

  for (const revision of [1, 2]) {
    const forced = await ingest({ lakeDir: lake, paths: [file], force: true, rowsPerObject: revision === 2 ? 40 : 250_000 });
    const f = forced.inputs[0]!;
    assert.equal(f.status, 'ingested', JSON.stringify(f));
    assert.equal(f.revision, revision);
    assert.equal(f.events, 300);
    const objs = readObjects(lake);
    assert.ok(objs.every((o) => o.revision === revision && o.path.includes(`-r${revision}-`)), JSON.stringify(objs.map((o) => o.path)));
    assert.equal(f.retracted, revision === 1 ? 4 : 3 + 1, 'the earlier objects and quarantine file were removed');
    assert.equal(await count(lake, 'vpc_flow'), 300, `revision ${revision}: 300 rows, not doubled`);
    assert.equal(await count(lake, 'quarantine'), 2, 'the quarantine is not doubled either');
    assert.equal(await count(lake, 'lake_objects'), objs.length);
    assert.deepEqual(parquetFiles(lake), objs.map((o) => o.path).sort(), 'only the current objects are on disk');
    assert.equal(readInputs(lake).length, 1);
    // Sequence numbers keep growing: a monitor following the catalog sees the new objects as new.
    assert.ok(Math.min(...objs.map((o) => o.seq)) > Math.max(...before.map((o) => o.seq)));
  }
  assert.equal(readObjects(lake).length, Math.ceil(100 / 40) * 3, 'revision 2 was written 40 rows per object');
  // The raw catalog keeps every record; readers see the latest revision only.
  const raw = readFileSync(path.join(catalogDir(lake), 'inputs.jsonl'), 'utf8').trim().split('\n');
  assert.equal(raw.length, 3);
});

test('a forced redo that died between its catalog appends lists the earlier revision only; the rerun publishes it once', async () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const file = flowLog(dir, 'a.log');
  await ingest({ lakeDir: lake, paths: [file] });
  const committed = readObjects(lake);
  // What a kill between the appends of a forced publish leaves: revision 1's objects appended, no record.
  const objectsFile = path.join(catalogDir(lake), 'objects.jsonl');
  let seq = Math.max(...committed.map((o) => o.seq));
  const torn: CatalogObject[] = committed.map((o) => ({ ...o, seq: ++seq, revision: 1, path: o.path.replace(/-(\d+-\d+\.parquet)$/, '-r1-$1') }));
  appendFileSync(objectsFile, torn.map((o) => JSON.stringify(o) + '\n').join(''));
  assert.deepEqual(
    readObjects(lake).map((o) => o.path),
    committed.map((o) => o.path),
    'objects of a revision without its record are not committed (the input itself is)',
  );
  assert.equal(await count(lake, 'vpc_flow'), 300);

  const rerun = await ingest({ lakeDir: lake, paths: [file], force: true });
  assert.equal(rerun.inputs[0]?.revision, 1);
  const objs = readObjects(lake);
  assert.equal(objs.length, 3);
  assert.ok(objs.every((o) => o.revision === 1));
  assert.deepEqual(objs.map((o) => o.seq), torn.map((o) => o.seq), 'the dropped sequence numbers are assigned again');
  assert.equal(await count(lake, 'vpc_flow'), 300);
});

test('an empty input is a success with 0 records, recorded so that a rerun skips it (plain, gzip, blank lines, in a folder)', async () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const empty = path.join(dir, 'empty.log');
  writeFileSync(empty, '');
  const gz = path.join(dir, 'empty2.json.gz');
  writeFileSync(gz, gzipSync(Buffer.alloc(0)));
  const blank = path.join(dir, 'blank.log');
  writeFileSync(blank, '\ufeff\n \r\n\n');
  const folder = path.join(dir, 'folder');
  mkdirSync(folder);
  writeFileSync(path.join(folder, 'walked.log'), '');
  const s = await ingest({ lakeDir: lake, paths: [empty, blank, folder] });
  assert.equal(s.totals.failed, 0, JSON.stringify(s.inputs));
  const byName = new Map(s.inputs.map((i) => [path.basename(i.name), i]));
  assert.equal(byName.get('empty.log')?.status, 'ingested');
  assert.equal(byName.get('empty.log')?.message, 'empty input: 0 records');
  assert.equal(byName.get('empty.log')?.events, 0);
  assert.equal(byName.get('blank.log')?.status, 'ingested');
  assert.equal(byName.get('blank.log')?.message, 'empty input: 0 records');
  // Another empty input has the same content (hash): recorded already, still a success.
  assert.equal(byName.get('walked.log')?.status, 'duplicate');
  assert.match(byName.get('walked.log')?.message ?? '', /^empty input: 0 records/);
  const g = await ingest({ lakeDir: lake, paths: [gz] });
  assert.equal(g.totals.failed, 0);
  assert.match(g.inputs[0]?.message ?? '', /^empty input: 0 records/);
  // A rerun skips them as already ingested.
  const again = await ingest({ lakeDir: lake, paths: [empty, blank] });
  assert.deepEqual(again.inputs.map((i) => i.status), ['duplicate', 'duplicate']);
  assert.deepEqual(readObjects(lake), []);
  assert.equal(readInputs(lake).length, 2);
});

test('symbolic links in a folder: followed to a file inside it, refused with a warning outside it, to a folder or nowhere', async () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const folder = path.join(dir, 'logs');
  mkdirSync(path.join(folder, '.store'), { recursive: true });
  mkdirSync(path.join(folder, 'sub'));
  route53File(path.join(folder, '.store'), 'kept.jsonl', 2); // hidden: read only through the link
  const outside = route53File(dir, 'outside.jsonl', 4);
  symlinkSync(path.join(folder, '.store', 'kept.jsonl'), path.join(folder, 'inside-link.jsonl'));
  symlinkSync(outside, path.join(folder, 'outside-link.jsonl'));
  symlinkSync(path.join(folder, 'nowhere.jsonl'), path.join(folder, 'dangling-link.jsonl'));
  symlinkSync(path.join(folder, 'sub'), path.join(folder, 'dir-link'));
  const s = await ingest({ lakeDir: lake, paths: [folder] });
  const byName = new Map(s.inputs.map((i) => [path.basename(i.name), i]));
  const inside = byName.get('inside-link.jsonl');
  assert.equal(inside?.status, 'ingested', JSON.stringify(inside));
  assert.equal(inside?.events, 2);
  assert.match(inside?.message ?? '', /symbolic link to .*kept\.jsonl/);
  for (const [name, why] of [
    ['outside-link.jsonl', /symbolic link to .*outside\.jsonl, outside the folder being ingested .*not followed/],
    ['dangling-link.jsonl', /symbolic link that points nowhere/],
    ['dir-link', /symbolic link to the folder .*sub: not followed/],
  ] as const) {
    const r = byName.get(name);
    assert.equal(r?.status, 'skipped', name);
    assert.match(r?.warning ?? '', why, name);
  }
  assert.equal(s.totals.events, 2, 'nothing from outside the folder');
  assert.equal(s.totals.failed, 0);
});
