/**
 * Issue 12 items 5 and 8 on the VPC flow bulk path (the default for flow log text): it reads the input's bytes
 * through the ingest's limits, as `input.lines()` does for the generic path. A line past `--max-line-bytes` is
 * quarantined with the same line, reason and raw text (and never held whole: the line is dropped as it streams), a
 * line that is not UTF-8 likewise, and a gzip input expanding past `--max-gzip-ratio` fails naming the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ingest, type IngestOptions, type IngestSummary } from '../../ingest/ingest.js';
import { readQuarantine, type QuarantineRecord } from '../../lake/quarantine.js';

const MiB = 1024 * 1024;
const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'seclake-bulk-limits-'));
const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
const record = (i: number): string =>
  `2 123456789012 eni-0a1b2c3d 10.0.1.${(i % 200) + 1} 172.31.16.21 ${20000 + i} 443 6 10 ${1000 + i} ${1704067200 + i} ${1704067260 + i} ACCEPT OK`;

const quarantineOf = (lake: string): Omit<QuarantineRecord, 'quarantined_at'>[] =>
  readQuarantine(lake)
    .map(({ quarantined_at, ...q }) => (void quarantined_at, q))
    .sort((a, b) => a.line - b.line);

/** Ingest with the bulk path and with the generic one; both must say the same. */
async function both(dir: string, file: string, opts: Partial<IngestOptions> = {}): Promise<{ bulk: IngestSummary; generic: IngestSummary; quarantine: Omit<QuarantineRecord, 'quarantined_at'>[] }> {
  const bulk = await ingest({ lakeDir: path.join(dir, 'bulk'), paths: [file], ...opts });
  const generic = await ingest({ lakeDir: path.join(dir, 'generic'), paths: [file], bulk: false, ...opts });
  const strip = (s: IngestSummary): unknown => s.inputs.map(({ mode, ...i }) => (void mode, i));
  assert.deepEqual(strip(bulk), strip(generic), 'the same results both ways');
  assert.deepEqual(bulk.rejects_by_reason, generic.rejects_by_reason);
  const quarantine = quarantineOf(path.join(dir, 'bulk'));
  assert.deepEqual(quarantine, quarantineOf(path.join(dir, 'generic')), 'the same quarantine both ways');
  return { bulk, generic, quarantine };
}

test('bulk path: lines past --max-line-bytes (across many chunks, and within one) are quarantined as the generic path does', async () => {
  const dir = tmp();
  const file = path.join(dir, 'flow.log');
  const ws = createWriteStream(file);
  ws.write(`${HEADER}\n${record(1)}\n`);
  // Line 3: 40 MiB in one line (40 reads of 1 MiB), never held whole.
  const block = Buffer.alloc(MiB, 'x');
  for (let i = 0; i < 40; i++) if (!ws.write(block)) await new Promise<void>((r) => ws.once('drain', () => r()));
  ws.write(`\n${record(2)}\n`);
  // Line 5: 300 bytes, past a 256-byte limit, inside one chunk.
  ws.write(`${record(3)} ${'y'.repeat(300 - record(3).length - 1)}\n${record(4)}\n`);
  await new Promise<void>((r) => ws.end(() => r()));
  const { bulk, quarantine } = await both(dir, file, { maxLineBytes: 256 });
  assert.equal(bulk.inputs[0]?.mode, 'bulk');
  assert.equal(bulk.totals.events, 3);
  assert.deepEqual(
    quarantine.map((q) => [q.line, q.reason]),
    [
      [3, 'line longer than 256 bytes (--max-line-bytes)'],
      [5, 'line longer than 256 bytes (--max-line-bytes)'],
    ],
  );
  assert.match(quarantine[0]!.raw, /^x{1024}…\[truncated: the line is 41943040 bytes\]$/);
  assert.match(quarantine[1]!.raw, /…\[truncated: the line is 300 bytes\]$/);
});

test('bulk path: the default limit (16 MiB) quarantines a 20 MiB line; a 1 MiB one under it is read (and rejected as a record)', async () => {
  const dir = tmp();
  const file = path.join(dir, 'flow.log');
  writeFileSync(file, `${HEADER}\n${record(1)}\n${'z'.repeat(20 * MiB)}\n${'w'.repeat(MiB)}\n${record(2)}\n`);
  const { bulk, quarantine } = await both(dir, file);
  assert.equal(bulk.totals.events, 2);
  assert.equal(quarantine.length, 2);
  assert.equal(quarantine[0]!.reason, 'line longer than 16777216 bytes (--max-line-bytes)');
  assert.doesNotMatch(quarantine[1]!.reason, /line longer than/);
});

test('bulk path: a line that is not valid UTF-8 is quarantined with its byte offset, as the generic path does', async () => {
  const dir = tmp();
  const lines = [Buffer.from(`${HEADER}\n${record(1)}\n`), Buffer.from(`${record(2)} `), Buffer.from([0xc3, 0x28]), Buffer.from(`\n${record(3)}\n`)];
  const file = path.join(dir, 'flow.log.gz');
  writeFileSync(file, gzipSync(Buffer.concat(lines)));
  const { bulk, quarantine } = await both(dir, file);
  assert.equal(bulk.inputs[0]?.mode, 'bulk');
  assert.equal(bulk.totals.events, 2);
  const at = lines[0]!.length + lines[1]!.length;
  assert.deepEqual(
    quarantine.map((q) => [q.line, q.reason, q.raw]),
    [[3, `invalid UTF-8: byte 0xc3 at byte offset ${at} of the input (byte ${lines[1]!.length} of the line)`, `${record(2)} \\xc3(`]],
  );
});

test('bulk path: a gzip input expanding past --max-gzip-ratio fails naming the file, also when its trailer hides it', async () => {
  const dir = tmp();
  // Flow records and one 100 MiB line of one byte (gzip ~1000x), then an empty member whose trailer says 0 bytes:
  // only the streaming guard can catch it, and the bulk reader used to read the file itself, without one.
  const body = Buffer.concat([Buffer.from(`${HEADER}\n${record(1)}\n`), Buffer.alloc(100 * MiB, 'a'), Buffer.from(`\n${record(2)}\n`)]);
  const file = path.join(dir, 'flow.log.gz');
  writeFileSync(file, Buffer.concat([gzipSync(body, { level: 9 }), gzipSync(Buffer.alloc(0))]));
  const s = await ingest({ lakeDir: path.join(dir, 'lake'), paths: [file], sourceType: 'aws_vpc_flow' });
  assert.equal(s.inputs[0]?.status, 'failed', JSON.stringify(s.inputs[0]));
  assert.equal(s.inputs[0]?.mode, 'bulk');
  assert.match(s.inputs[0]!.message ?? '', /flow\.log\.gz: gzip input expands past \d+ bytes \(250x .*decompression bomb/);
  assert.equal(s.totals.events, 0);
});
