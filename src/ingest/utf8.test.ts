/**
 * Issue 12 item 8: invalid UTF-8 is never decoded into an event (U+FFFD in place of the bad bytes alters the
 * evidence): the line is quarantined with the byte offset of its first bad byte and its bytes written `\xNN`; an input
 * read as one JSON document fails naming the line and offset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ingest } from './ingest.js';
import { linesOf, type InvalidUtf8Line } from './inputs.js';
import { invalidUtf8At, rawWithInvalidBytes } from '../sources/line-checks.js';
import { readQuarantine } from '../lake/quarantine.js';
import { openLakeQuery } from '../lake/views.js';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'seclake-utf8-'));

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('invalidUtf8At agrees with the native isUtf8 on random and edge-case bytes; rawWithInvalidBytes keeps valid text as is', () => {
  const edge = [
    [0xc0, 0x80], // overlong
    [0xe0, 0x80, 0x80], // overlong
    [0xed, 0xa0, 0x80], // surrogate
    [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
    [0xf5, 0x80, 0x80, 0x80],
    [0xe2, 0x82], // cut
    [0x80],
    [0xef, 0xbb, 0xbf, 0x41], // BOM + A
    [0xf0, 0x9f, 0x98, 0x80], // emoji
  ];
  for (const e of edge) assert.equal(invalidUtf8At(Buffer.from(e)) < 0, isUtf8(Buffer.from(e)), JSON.stringify(e));
  const r = rng(7);
  const alphabet = [0x41, 0x0a, 0x7f, 0x80, 0xbf, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x82, 0x9f, 0xa0];
  for (let i = 0; i < 20_000; i++) {
    const b = Buffer.from(Array.from({ length: 1 + Math.floor(r() * 8) }, () => alphabet[Math.floor(r() * alphabet.length)]!));
    const bad = invalidUtf8At(b);
    assert.equal(bad < 0, isUtf8(b), b.toString('hex'));
    if (bad >= 0) assert.ok(isUtf8(b.subarray(0, bad)), `the bytes before ${bad} are valid: ${b.toString('hex')}`);
  }
  assert.equal(rawWithInvalidBytes(Buffer.from('plain é 😀')), 'plain é 😀');
  assert.equal(rawWithInvalidBytes(Buffer.from([0x61, 0xff, 0x62, 0xe2, 0x82])), 'a\\xffb\\xe2\\x82');
});

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, Math.min(buf.length, i + size));
}

test('linesOf: a line that is not UTF-8 is reported (line, input offset, byte) and yields "", whatever the chunk boundaries', async () => {
  const lines = [Buffer.from('\ufeffgood é'), Buffer.from([0x62, 0x61, 0x64, 0xff, 0x21]), Buffer.from('ok 😀\r'), Buffer.from([0xe2, 0x82, 0x0d]), Buffer.from('last')];
  const text = Buffer.concat(lines.flatMap((l, i) => (i < lines.length - 1 ? [l, Buffer.from('\n')] : [l])));
  const start = (i: number): number => lines.slice(0, i).reduce((a, l) => a + l.length + 1, 0);
  for (let size = 1; size <= text.length + 1; size++) {
    const seen: InvalidUtf8Line[] = [];
    const out: string[] = [];
    for await (const l of linesOf(chunked(text, size), { maxLineBytes: 1000, onOversize: () => assert.fail('no oversize'), onInvalidUtf8: (x) => seen.push(x) })) out.push(l);
    assert.deepEqual(out, ['good é', '', 'ok 😀', '', 'last'], `chunks of ${size}`);
    assert.deepEqual(
      seen.map((s) => [s.line, s.offset, s.lineOffset, s.byte, s.raw]),
      [
        [2, start(1) + 3, 3, 0xff, 'bad\\xff!'],
        [4, start(3), 0, 0xe2, '\\xe2\\x82'],
      ],
      `chunks of ${size}`,
    );
  }
  // Without the callback (tests, readers that only look), bad bytes are replaced as before.
  const out: string[] = [];
  for await (const l of linesOf(chunked(text, 3))) out.push(l);
  assert.equal(out[1], 'bad\ufffd!');
});

const ROUTE53 = (i: number, name = `www${i}.example.com.`): string =>
  `{"version":"1.100000","account_id":"111111111111","region":"eu-west-1","vpc_id":"vpc-0a1b2c3d4e5f60001",` +
  `"query_timestamp":"2024-05-01T10:00:0${i}Z","query_name":"${name}","query_type":"A","query_class":"IN",` +
  `"rcode":"NOERROR","answers":[],"srcaddr":"10.0.1.25","srcport":"53211","transport":"UDP"}`;

test('ingest: a JSON line with invalid UTF-8 is quarantined with its line and byte offset; nothing altered reaches the lake', async () => {
  const dir = tmp();
  // The query name holds the two raw bytes 0xff 0xfe: `"query_name":"ev\xff\xfe"`.
  const line2 = ROUTE53(2, 'ev__').replace('ev__', 'ev\xff\xfe');
  const content = Buffer.concat([Buffer.from(ROUTE53(1) + '\n'), Buffer.from(line2 + '\n', 'latin1'), Buffer.from(ROUTE53(3) + '\n')]);
  const offset = Buffer.from(ROUTE53(1) + '\n').length + line2.indexOf('\xff');
  for (const [name, body] of [
    ['dns.jsonl', content],
    ['dns.jsonl.gz', gzipSync(content)],
  ] as const) {
    const lake = path.join(dir, `lake-${name}`);
    const file = path.join(dir, name);
    writeFileSync(file, body);
    const s = await ingest({ lakeDir: lake, paths: [file] });
    assert.equal(s.totals.failed, 0, JSON.stringify(s.inputs));
    assert.equal(s.totals.events, 2, name);
    assert.equal(s.totals.rejects, 1, name);
    const q = readQuarantine(lake);
    assert.equal(q.length, 1);
    assert.equal(q[0]!.input_name, file);
    assert.equal(q[0]!.line, 2);
    assert.equal(q[0]!.reason, `invalid UTF-8: byte 0xff at byte offset ${offset} of the input (byte ${line2.indexOf('\xff')} of the line)`);
    assert.ok(q[0]!.raw.includes('"query_name":"ev\\xff\\xfe"'), q[0]!.raw);
    const db = await openLakeQuery(lake);
    try {
      const names = (await db.all('SELECT query.hostname AS h FROM route53 ORDER BY 1')).map((r) => String(r.h));
      assert.equal(names.length, 2);
      assert.ok(names[0]!.startsWith('www1.') && names[1]!.startsWith('www3.'), names.join());
      assert.ok(!names.some((n) => n.includes('\ufffd')));
    } finally {
      db.close();
    }
  }
});

test('ingest: a JSON document (pretty-printed CloudTrail) with invalid UTF-8 fails, naming the line and offset', async () => {
  const dir = tmp();
  const doc = Buffer.concat([
    Buffer.from('{\n  "Records": [\n    {"eventVersion": "1.08", "eventName": "Console'),
    Buffer.from([0xc3, 0x28]),
    Buffer.from('Login", "eventTime": "2024-05-01T10:00:00Z", "eventSource": "signin.amazonaws.com"}\n  ]\n}\n'),
  ]);
  const file = path.join(dir, 'trail.json');
  writeFileSync(file, doc);
  const s = await ingest({ lakeDir: path.join(dir, 'lake'), paths: [file], sourceType: 'aws_cloudtrail' });
  assert.equal(s.inputs[0]?.status, 'failed');
  const at = doc.indexOf(0xc3);
  assert.match(s.inputs[0]!.message ?? '', new RegExp(`trail\\.json:3: invalid UTF-8: byte 0xc3 at byte offset ${at} of the input .*one JSON document`));
});
