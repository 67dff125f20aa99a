import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readJsonRecords, splitTopLevel, truncateRaw, type JsonRecordItem } from './json-records.js';
import { textInput } from './test-input.js';

async function read(text: string, unwrapKey?: string): Promise<JsonRecordItem[]> {
  const out: JsonRecordItem[] = [];
  for await (const r of readJsonRecords(textInput(text), unwrapKey ? { unwrapKey } : {})) out.push(r);
  return out;
}

const summary = (items: JsonRecordItem[]): unknown[] => items.map((r) => (r.ok ? [r.line, r.value] : [r.line, 'ERR']));

test('empty and whitespace-only inputs have no records', async () => {
  assert.deepEqual(await read(''), []);
  assert.deepEqual(await read('\n\n  \n'), []);
  assert.deepEqual(await read('[]'), []);
  assert.deepEqual(await read('{"Records":[]}', 'Records'), []);
});

test('JSON lines: numbered by line, blank lines skipped, bad lines rejected in place', async () => {
  const items = await read('{"a":1}\n\n{"a":2\n  {"a":3}  \nnot json\n');
  assert.deepEqual(summary(items), [
    [1, { a: 1 }],
    [3, 'ERR'],
    [4, { a: 3 }],
    [5, 'ERR'],
  ]);
  const bad = items[1]!;
  assert.ok(!bad.ok && /^malformed JSON: /.test(bad.reason) && bad.raw === '{"a":2');
});

test('a first line that is not JSON does not switch to document mode', async () => {
  assert.deepEqual(summary(await read('garbage\n{"a":1}\n')), [
    [1, 'ERR'],
    [2, { a: 1 }],
  ]);
});

test('JSON array and pretty-printed object: numbered by element index / record 1', async () => {
  assert.deepEqual(summary(await read('[\n  {"a":1},\n  {"a":2}\n]\n')), [
    [1, { a: 1 }],
    [2, { a: 2 }],
  ]);
  assert.deepEqual(summary(await read('{\n  "a": 1\n}\n')), [[1, { a: 1 }]]);
  // BOM before a document
  assert.deepEqual(summary(await read('\ufeff{\n  "a": 1\n}\n')), [[1, { a: 1 }]]);
});

test('Records unwrapping: single-line delivery file and pretty-printed document', async () => {
  assert.deepEqual(summary(await read('{"Records":[{"a":1},{"a":2},{"a":3}]}', 'Records')), [
    [1, { a: 1 }],
    [2, { a: 2 }],
    [3, { a: 3 }],
  ]);
  assert.deepEqual(summary(await read('{\n "Records": [\n  {"a":1},\n  {"a":2}\n ]\n}', 'Records')), [
    [1, { a: 1 }],
    [2, { a: 2 }],
  ]);
  // A wrapper on a later line of JSON lines: its records carry that line's number.
  assert.deepEqual(summary(await read('\n{"a":0}\n{"Records":[{"a":1},{"a":2}]}\n', 'Records')), [
    [2, { a: 0 }],
    [3, { a: 1 }],
    [3, { a: 2 }],
  ]);
  // Leading blank lines do not change position numbering of a one-line delivery file.
  assert.deepEqual(summary(await read('\n\n{"Records":[{"a":1},{"a":2}]}', 'Records')), [
    [1, { a: 1 }],
    [2, { a: 2 }],
  ]);
  // Without unwrapKey the wrapper is one record.
  assert.deepEqual(summary(await read('{"Records":[{"a":1}]}')), [[1, { Records: [{ a: 1 }] }]]);
});

test('a document that is not valid JSON is one reject at line 1 with the parse error', async () => {
  const items = await read('{\n  "a": 1,\n  "b": \n}\n');
  assert.equal(items.length, 1);
  const r = items[0]!;
  assert.ok(!r.ok);
  assert.equal(r.line, 1);
  assert.match(r.reason, /^malformed JSON document: /);
  const arr = await read('[{"a":1}, {"a":');
  assert.equal(arr.length, 1);
  assert.ok(!arr[0]!.ok && arr[0]!.line === 1);
});

test('concatenated pretty-printed objects are split and numbered by their first line', async () => {
  const text = '{\n "a": 1\n}\n{\n "a": 2,\n}\n{"a": 3}{"a": 4}\n';
  assert.deepEqual(summary(await read(text)), [
    [1, { a: 1 }],
    [4, 'ERR'],
    [7, { a: 3 }],
    [7, { a: 4 }],
  ]);
});

test('splitTopLevel respects strings and escapes; refuses top-level scalars', () => {
  assert.deepEqual(splitTopLevel('{"x":"}{\\"\\\\"}\n[1]'), [
    { line: 1, text: '{"x":"}{\\"\\\\"}' },
    { line: 2, text: '[1]' },
  ]);
  assert.equal(splitTopLevel('{"a":1} 42'), undefined);
});

test('raw text of rejects is truncated to about 4 KiB', async () => {
  const long = `{"a":"${'x'.repeat(10000)}"`;
  const items = await read(`${long}\n`);
  const r = items[0]!;
  assert.ok(!r.ok);
  assert.ok(r.raw.length < 4200 && r.raw.startsWith('{"a":"xxx'));
  assert.match(r.raw, /…\[truncated \d+ chars\]$/);
  assert.equal(truncateRaw('short'), 'short');
});
