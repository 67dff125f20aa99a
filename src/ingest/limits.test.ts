/**
 * Issue 12 items 5 and 6: linear-time line splitting with a line-size limit (an oversize line is quarantined
 * with its line number and reason, never held in memory), the gzip expansion guard, and stale staging cleanup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { createGzip, gzipSync } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ingest } from './ingest.js';
import { linesOf, type OversizeLine } from './inputs.js';
import { readQuarantine } from '../lake/quarantine.js';

const MiB = 1024 * 1024;
const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'seclake-limits-'));

const ROUTE53 = (i: number, extra = ''): string =>
  `{"version":"1.100000","account_id":"111111111111","region":"eu-west-1","vpc_id":"vpc-0a1b2c3d4e5f60001",` +
  `"query_timestamp":"2024-05-01T10:00:0${i}Z","query_name":"www${i}.example.com.","query_type":"A","query_class":"IN",` +
  `"rcode":"NOERROR","answers":[],"srcaddr":"10.0.1.25","srcport":"53211","transport":"UDP"${extra}}`;

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size));
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of it) out.push(l);
  return out;
}

/** What linesOf promises, on the whole text at once. */
function reference(text: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const parts = text.split('\n');
  const last = parts.pop()!;
  if (last.length > 0) parts.push(last);
  return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

test('linesOf splits like the whole text does, whatever the chunk boundaries (BOM, CRLF, multi-byte, no final newline)', async () => {
  const samples = ['\ufeffa\r\nbé€\n\nc😀d\r\n', 'x', 'one\ntwo', '\r\n\r\n', '\ufeff', 'a\r', 'é'.repeat(50) + '\n' + '😀'.repeat(40)];
  for (const text of samples) {
    const buf = Buffer.from(text);
    for (let size = 1; size <= buf.length + 1; size++) {
      assert.deepEqual(await collect(linesOf(chunked(buf, size))), reference(text), `${JSON.stringify(text)} in chunks of ${size}`);
    }
  }
});

test('linesOf skips a line over the limit (yielding "" in its place) and reports it; lines up to the limit are kept', async () => {
  const long = 'L'.repeat(100);
  const text = `first\n${long}\n${'k'.repeat(40)}\r\n${long}`;
  for (const size of [1, 7, 64, 1000]) {
    const seen: OversizeLine[] = [];
    const lines = await collect(linesOf(chunked(Buffer.from(text), size), { maxLineBytes: 40, onOversize: (l) => seen.push(l) }));
    assert.deepEqual(lines, ['first', '', 'k'.repeat(40), ''], `chunks of ${size}`);
    assert.deepEqual(
      seen.map((l) => [l.line, l.bytes]),
      [
        [2, 100],
        [4, 100],
      ],
      `chunks of ${size}`,
    );
    assert.ok(seen.every((l) => long.startsWith(l.prefix) && l.prefix.length > 0));
  }
});

test('a 20 MiB line under a 32 MiB limit is read whole, in 1 MiB chunks', async () => {
  const line = 'x'.repeat(20 * MiB);
  const buf = Buffer.from(`a\n${line}\nb\n`);
  const seen: OversizeLine[] = [];
  const lines = await collect(linesOf(chunked(buf, MiB), { maxLineBytes: 32 * MiB, onOversize: (l) => seen.push(l) }));
  assert.equal(lines.length, 3);
  assert.equal(lines[1], line);
  assert.deepEqual(seen, []);
});

test('ingest: a 64 MiB line is quarantined with its line number and reason (16 MiB limit); the other records are ingested', async () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const file = path.join(dir, 'dns.jsonl');
  const ws = createWriteStream(file);
  ws.write(ROUTE53(1) + '\n');
  const block = Buffer.alloc(MiB, 'z');
  ws.write('{"padding":"');
  for (let i = 0; i < 64; i++) ws.write(block);
  ws.write('"}\n');
  ws.write(ROUTE53(2) + '\n');
  await new Promise<void>((r) => ws.end(() => r()));
  const s = await ingest({ lakeDir: lake, paths: [file], maxLineBytes: 16 * MiB });
  assert.equal(s.totals.failed, 0, JSON.stringify(s.inputs));
  assert.equal(s.totals.events, 2);
  assert.equal(s.totals.rejects, 1);
  const q = readQuarantine(lake);
  assert.equal(q.length, 1);
  assert.equal(q[0]!.input_name, file);
  assert.equal(q[0]!.line, 2);
  assert.match(q[0]!.reason, /line longer than 16777216 bytes/);
  assert.ok(q[0]!.raw.length < 4096, 'the quarantine keeps only the start of the line');
  assert.ok(s.rejects_by_reason.some((r) => /line longer than/.test(r.reason)));
});

test('ingest: a 20 MiB record under a 32 MiB limit is read, not quarantined as too long', async () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const file = path.join(dir, 'dns.jsonl');
  writeFileSync(file, [ROUTE53(1), ROUTE53(2, `,"padding":"${'p'.repeat(20 * MiB)}"`), ROUTE53(3)].join('\n') + '\n');
  const s = await ingest({ lakeDir: lake, paths: [file], maxLineBytes: 32 * MiB });
  assert.equal(s.totals.failed, 0, JSON.stringify(s.inputs));
  assert.equal(s.totals.events + s.totals.rejects, 3);
  assert.ok(!s.rejects_by_reason.some((r) => /line longer than/.test(r.reason)), JSON.stringify(s.rejects_by_reason));
  // The same file under the default 16 MiB limit: that record is quarantined as too long.
  const s2 = await ingest({ lakeDir: path.join(dir, 'lake2'), paths: [file] });
  assert.equal(s2.totals.rejects, 1);
  assert.ok(s2.rejects_by_reason.some((r) => /line longer than/.test(r.reason)), JSON.stringify(s2.rejects_by_reason));
});

/** One 100 MiB line, gzipped (about 100 KiB): past 250x + 64 MiB. */
function bomb(): Buffer {
  return gzipSync(Buffer.concat([Buffer.from('{"x":"'), Buffer.alloc(100 * MiB, 'a'), Buffer.from('"}\n')]), { level: 9 });
}

test('gzip guard: an input that expands past the ratio fails naming the file (trailer check and streaming check); others go on', async () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const big = bomb();
  const a = path.join(dir, 'a-bomb.jsonl.gz');
  writeFileSync(a, big);
  // Two members, the last one empty: its trailer says 0 bytes, so only the streaming guard can catch it.
  const b = path.join(dir, 'b-hidden.jsonl.gz');
  writeFileSync(b, Buffer.concat([big, gzipSync(Buffer.alloc(0))]));
  const ok = path.join(dir, 'c-ok.jsonl.gz');
  writeFileSync(ok, gzipSync(ROUTE53(1) + '\n'));
  const s = await ingest({ lakeDir: lake, paths: [a, b, ok], sourceType: 'aws_route53' });
  const byName = new Map(s.inputs.map((i) => [i.name, i]));
  for (const f of [a, b]) {
    assert.equal(byName.get(f)?.status, 'failed', JSON.stringify(byName.get(f)));
    assert.match(byName.get(f)!.message ?? '', /gzip input .*expands past \d+ bytes \(250x .*decompression bomb/);
    assert.ok(byName.get(f)!.message!.includes(f), 'the message names the file');
  }
  assert.equal(byName.get(ok)?.status, 'ingested');
  // A higher ratio lets it through (and its one line is quarantined as too long).
  const s2 = await ingest({ lakeDir: path.join(dir, 'lake2'), paths: [b], maxGzipRatio: 2000, sourceType: 'aws_route53' });
  assert.equal(s2.totals.failed, 0, JSON.stringify(s2.inputs));
  assert.equal(s2.totals.rejects, 1);
});

test('gzip guard: a 700 MiB one-line bomb (under 1 MiB gzipped) fails fast instead of expanding', async () => {
  const dir = tmp();
  const file = path.join(dir, 'bomb.jsonl.gz');
  const gz = createGzip({ level: 9 });
  const out = createWriteStream(file);
  gz.pipe(out);
  const block = Buffer.alloc(4 * MiB, 'a');
  gz.write('{"x":"');
  for (let i = 0; i < 175; i++) if (!gz.write(block)) await new Promise((r) => gz.once('drain', r));
  await new Promise<void>((r) => {
    out.once('finish', () => r());
    gz.end();
  });
  const s = await ingest({ lakeDir: path.join(dir, 'lake'), paths: [file], sourceType: 'ocsf' });
  assert.equal(s.inputs[0]?.status, 'failed');
  assert.match(s.inputs[0]!.message ?? '', /decompression bomb/);
});

test('staging cleanup: a killed ingest\'s staging (dead pid, or unowned and old) is removed; a live process\'s stays', async () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const staging = path.join(lake, '_seclake', 'staging');
  mkdirSync(staging, { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const mk = (name: string, file = 'part.jsonl'): string => {
      mkdirSync(path.join(staging, name), { recursive: true });
      writeFileSync(path.join(staging, name, file), 'x'.repeat(1000));
      return name;
    };
    const t = Date.now() - 60_000;
    const deadRun = mk(`${t}-p${deadPid}-abcd1234-0`);
    const deadTmp = mk(`${t}-p${deadPid}-abcd1234-tmp`, 'stdin-1');
    const ownOld = mk(`${t - 10 * 24 * 3600_000}-p${process.pid}-oldoldol-0`); // our pid, but made before we started
    const oldLegacy = mk('1700000000000-deadbeef-0');
    const old = (Date.now() - 7 * 3600_000) / 1000;
    for (const n of [oldLegacy]) {
      utimesSync(path.join(staging, n, 'part.jsonl'), old, old);
      utimesSync(path.join(staging, n), old, old);
    }
    const liveRun = mk(`${Date.now()}-p${live.pid}-live0001-0`);
    const freshLegacy = mk('duckdb-tmp', 'duckdb_temp_storage-0.tmp');
    const file = path.join(dir, 'dns.jsonl');
    writeFileSync(file, ROUTE53(1) + '\n');
    const s = await ingest({ lakeDir: lake, paths: [file] });
    assert.equal(s.totals.ingested, 1);
    const left = readdirSync(staging).sort();
    for (const gone of [deadRun, deadTmp, ownOld, oldLegacy]) assert.ok(!left.includes(gone), `${gone} removed: ${left.join(', ')}`);
    for (const kept of [liveRun, freshLegacy]) assert.ok(left.includes(kept), `${kept} kept: ${left.join(', ')}`);
    assert.equal(readFileSync(path.join(staging, liveRun, 'part.jsonl'), 'utf8').length, 1000);
    // The ingest's own staging is gone too.
    assert.deepEqual(left, [liveRun, freshLegacy].sort());
    assert.ok(!existsSync(path.join(lake, '_seclake', 'lock')));
  } finally {
    live.kill();
  }
});
