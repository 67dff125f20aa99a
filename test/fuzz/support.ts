/**
 * Shared machinery of the fuzz suite (test/fuzz/*.test.ts): run counts and seeds, a watchdog that bounds every
 * case, heap measurement, and arbitraries that mutate real samples or make random bytes and text.
 *
 * Environment:
 * - `FUZZ_SEED` (default 20260512): the seed. Each property derives its own seed from it and its name, so a failure
 *   names one seed to replay with (`FUZZ_SEED=<n>`, the property's fast-check seed and path are in the message).
 * - `FUZZ_RUNS` (default 300): runs of the cheap properties (one record, one body); the expensive ones (a whole
 *   ingest, an HTTP request, a spawned query) scale by the same factor. `FUZZ_RUNS=3000` runs ten times longer.
 * - `FUZZ_CASE_TIMEOUT_MS` (default 20000): the longest one case may take before the run is declared hung.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { linesOf } from '../../src/ingest/inputs.js';
import type { SourceInput } from '../../src/sources/types.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const SEED = intEnv('FUZZ_SEED', 20260512);
export const DEFAULT_RUNS = 300;
export const RUNS = intEnv('FUZZ_RUNS', DEFAULT_RUNS);
export const CASE_TIMEOUT_MS = intEnv('FUZZ_CASE_TIMEOUT_MS', 20_000);

function intEnv(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}

/** Runs of a property whose default is `base` (for the default FUZZ_RUNS), scaled by FUZZ_RUNS. */
export function runs(base: number): number {
  return Math.max(1, Math.round((base * RUNS) / DEFAULT_RUNS));
}

/** A property's seed: FUZZ_SEED mixed with its name (FNV-1a), so properties do not replay each other's inputs. */
export function seedOf(name: string): number {
  let h = 0x811c9dc5 ^ SEED;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** fast-check parameters for a property: its seed, its run count, a per-case timeout for async properties. */
export function params<T>(name: string, baseRuns: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  return { seed: seedOf(name), numRuns: runs(baseRuns), timeout: CASE_TIMEOUT_MS, includeErrorInReport: true, ...extra };
}

// ---- watchdog ---------------------------------------------------------------------------------------------

const WATCHDOG_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
let label = '(before the first case)';
let timer;
const arm = () => {
  clearTimeout(timer);
  timer = setTimeout(() => {
    writeSync(2, '\\nFUZZ HANG: one case ran longer than ' + workerData.ms + ' ms; the case: ' + label + '\\n');
    process.kill(process.pid, 'SIGKILL');
  }, workerData.ms);
};
parentPort.on('message', (m) => {
  if (m === null) { clearTimeout(timer); parentPort.close(); return; }
  label = m;
  arm();
});
arm();
`;

export interface Watchdog {
  /** A case starts: `label` says which (printed if it never ends). */
  beat(label: string): void;
  stop(): Promise<void>;
}

/**
 * A watchdog on its own thread: if no `beat` comes for `ms`, it prints the last case and kills this process (a
 * synchronous loop in a parser cannot be interrupted from the same thread; the test file then fails with the case).
 */
export function startWatchdog(ms = CASE_TIMEOUT_MS): Watchdog {
  const w = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { ms } });
  w.unref();
  return {
    beat(label: string): void {
      w.postMessage(label.length > 2000 ? `${label.slice(0, 2000)}…` : label);
    },
    async stop(): Promise<void> {
      w.postMessage(null);
      await w.terminate();
    },
  };
}

/** A short printable description of a case input, for the watchdog and assertion messages. */
export function describeInput(v: unknown, max = 300): string {
  let s: string;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) s = `bytes(${v.length}) ${JSON.stringify(Buffer.from(v).toString('latin1').slice(0, max))}`;
  else if (typeof v === 'string') s = `text(${v.length}) ${JSON.stringify(v.slice(0, max))}`;
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = String(v);
    }
  }
  return s.length > max + 40 ? `${s.slice(0, max + 40)}…` : s;
}

// ---- memory -----------------------------------------------------------------------------------------------

let gcFn: (() => void) | undefined;

/** A full garbage collection (exposed at run time: the test runner starts files without --expose-gc). */
export function fullGc(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

/** Heap in use after a full collection, in MiB. */
export function heapMiB(): number {
  fullGc();
  return process.memoryUsage().heapUsed / 1024 ** 2;
}

// ---- inputs -----------------------------------------------------------------------------------------------

/**
 * A SourceInput over bytes, split into lines exactly as the ingest splits a file (`linesOf`, small chunks so lines
 * cross chunk boundaries); `text()` decodes the whole as UTF-8, as the ingest does for one-document JSON.
 */
export function bytesInput(bytes: Buffer, name = 'fuzz-input'): SourceInput {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < bytes.length; i += 997) yield bytes.subarray(i, i + 997);
  }
  return { name, path: '', isParquet: false, lines: () => linesOf(chunks()), text: async () => bytes.toString('utf8') };
}

/** Every file under `dir` (relative to the repo) whose name matches `re`, read as text. */
export function samples(dir: string, re: RegExp): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = path.join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (re.test(e)) out.push(readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(REPO, dir));
  if (out.length === 0) throw new Error(`no samples matching ${re} under ${dir}`);
  return out;
}

// ---- arbitraries ------------------------------------------------------------------------------------------

/** Values that tend to break parsers: boundaries, other types, separators, markup, huge and odd unicode. */
export const NASTY_TOKENS: readonly string[] = [
  '', ' ', '-', '--', '0', '-0', '-1', '00', '1.5', '1e3', '1e309', 'NaN', 'Infinity', '9007199254740993', '99999999999999999999',
  '65535', '65536', '4294967296', '255', '256', 'true', 'null', 'undefined', '[]', '{}', '"', '""', "'", ',', ',,', ';', '\\', '\t', '\r',
  '\u0000', '\u0085', '\u2028', '\ufeff', '\ufffd', '\ud800', '\udfff', '😀', 'é', 'İ', '0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4',
  '1.2.3', '::', '::1', '::ffff:1.2.3.4', 'fe80::1%eth0', '2001:db8::', '1:2:3:4:5:6:7:8:9', 'ACCEPT', 'REJECT', 'ingress', 'egress',
  'NODATA', 'SKIPDATA', 'OK', '__proto__', 'constructor', 'prototype', 'toString', '<script>alert(1)</script>', '${jndi:x}', '%s%n',
  '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '2024-02-30T25:61:61Z', '2024-01-01', 'x'.repeat(300),
];

/** A string of odd characters: lone surrogates, controls, combining marks, wide characters. */
export const oddText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.array(fc.integer({ min: 0xd800, max: 0xdfff }), { maxLength: 4 }).map((a) => String.fromCharCode(...a)),
  fc.array(fc.integer({ min: 0, max: 0x1f }), { maxLength: 6 }).map((a) => String.fromCharCode(...a)),
);

export const tokenArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_TOKENS) },
  { weight: 1, arbitrary: oddText },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.ipV4() },
  { weight: 1, arbitrary: fc.ipV6() },
);

/** One edit of a text. Positions are fractions of the length, so an edit applies to any text. */
type TextOp =
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; len: number }
  | { op: 'replaceToken'; at: number; text: string }
  | { op: 'truncate'; at: number }
  | { op: 'dupLine'; at: number; times: number }
  | { op: 'dropLine'; at: number }
  | { op: 'swapLines'; a: number; b: number }
  | { op: 'flipByte'; at: number; bit: number }
  | { op: 'repeat'; times: number };

const frac = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

const textOpArb: fc.Arbitrary<TextOp> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: frac, text: tokenArb }),
  fc.record({ op: fc.constant('delete' as const), at: frac, len: fc.integer({ min: 1, max: 40 }) }),
  { weight: 3, arbitrary: fc.record({ op: fc.constant('replaceToken' as const), at: frac, text: tokenArb }) },
  fc.record({ op: fc.constant('truncate' as const), at: frac }),
  fc.record({ op: fc.constant('dupLine' as const), at: frac, times: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ op: fc.constant('dropLine' as const), at: frac }),
  fc.record({ op: fc.constant('swapLines' as const), a: frac, b: frac }),
  fc.record({ op: fc.constant('flipByte' as const), at: frac, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('repeat' as const), times: fc.integer({ min: 2, max: 20 }) }),
);

const TOKEN_SEP = /[\s,:"{}[\]]/;

function applyTextOp(t: string, o: TextOp): string {
  const pos = (f: number): number => Math.floor(f * (t.length + 1));
  switch (o.op) {
    case 'insert': {
      const i = pos(o.at);
      return t.slice(0, i) + o.text + t.slice(i);
    }
    case 'delete': {
      const i = pos(o.at);
      return t.slice(0, i) + t.slice(i + o.len);
    }
    case 'replaceToken': {
      // The token (run of non-separators) around a position: a field value, a JSON key or value.
      let s = Math.min(pos(o.at), t.length);
      let e = s;
      while (s > 0 && !TOKEN_SEP.test(t[s - 1]!)) s--;
      while (e < t.length && !TOKEN_SEP.test(t[e]!)) e++;
      return t.slice(0, s) + o.text + t.slice(e);
    }
    case 'truncate':
      return t.slice(0, pos(o.at));
    case 'dupLine': {
      const lines = t.split('\n');
      const i = Math.floor(o.at * lines.length);
      lines.splice(i, 0, ...Array<string>(o.times).fill(lines[i] ?? ''));
      return lines.join('\n');
    }
    case 'dropLine': {
      const lines = t.split('\n');
      lines.splice(Math.floor(o.at * lines.length), 1);
      return lines.join('\n');
    }
    case 'swapLines': {
      const lines = t.split('\n');
      const a = Math.floor(o.a * lines.length);
      const b = Math.floor(o.b * lines.length);
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      return lines.join('\n');
    }
    case 'flipByte': {
      const b = Buffer.from(t, 'utf8');
      if (b.length === 0) return t;
      const i = Math.min(b.length - 1, Math.floor(o.at * b.length));
      b[i] = b[i]! ^ (1 << o.bit);
      return b.toString('latin1') === t ? t : b.toString('utf8');
    }
    case 'repeat':
      return t.repeat(o.times);
  }
}

/** A sample text with a few edits applied (shrinks towards fewer edits of the first sample). */
export function mutatedText(texts: readonly string[], maxOps = 6): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...texts), fc.array(textOpArb, { maxLength: maxOps }))
    .map(([t, ops]) => ops.reduce(applyTextOp, t));
}

/** Two samples spliced at random points (a file that changes format in the middle). */
export function splicedText(texts: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...texts), fc.constantFrom(...texts), frac, frac)
    .map(([a, b, x, y]) => a.slice(0, Math.floor(x * a.length)) + b.slice(Math.floor(y * b.length)));
}

/** Interesting JSON values to plant inside a document. */
const jsonPlant: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, 1e308, -0, '', '-', [], {}, [null], { '': '' }, '1970-01-01T00:00:00Z', 'not a date', '::1', '1.2.3.4', 'x'.repeat(5000)) },
  { weight: 2, arbitrary: tokenArb },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d)) as unknown) },
);

type JsonOp = { path: number[]; op: 'set' | 'delete' | 'wrap' | 'stringify' | 'proto' | 'rename'; value: unknown; key: string };

const jsonOpArb: fc.Arbitrary<JsonOp> = fc.record({
  path: fc.array(fc.nat(), { maxLength: 6 }),
  op: fc.constantFrom('set' as const, 'set' as const, 'set' as const, 'delete' as const, 'wrap' as const, 'stringify' as const, 'proto' as const, 'rename' as const),
  value: jsonPlant,
  key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'class_uid', 'metadata', 'time', 'eventTime', 'Records', ''), fc.string({ maxLength: 8 })),
});

/** Apply one edit at a path chosen by indices into the children of each container on the way down. */
function applyJsonOp(doc: unknown, o: JsonOp): unknown {
  const root = { v: doc } as Record<string, unknown>;
  let parent: Record<string, unknown> | unknown[] = root;
  let key: string | number = 'v';
  for (const n of o.path) {
    const cur: unknown = (parent as Record<string, unknown>)[key as string];
    if (cur === null || typeof cur !== 'object') break;
    const keys: (string | number)[] = Array.isArray(cur) ? cur.map((_, i) => i) : Object.keys(cur);
    if (keys.length === 0) break;
    parent = cur as Record<string, unknown>;
    key = keys[n % keys.length]!;
  }
  const p = parent as Record<string | number, unknown>;
  switch (o.op) {
    case 'set':
      p[key] = structuredClone(o.value);
      break;
    case 'delete':
      if (Array.isArray(p)) p.splice(key as number, 1);
      else delete p[key];
      break;
    case 'wrap':
      p[key] = [p[key]];
      break;
    case 'stringify':
      p[key] = JSON.stringify(p[key]) ?? 'undefined';
      break;
    case 'proto': {
      // An own property named __proto__ (as JSON.parse makes it), not a prototype change.
      const cur = p[key];
      if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) Object.defineProperty(cur, o.key || '__proto__', { value: structuredClone(o.value), enumerable: true, configurable: true, writable: true });
      break;
    }
    case 'rename': {
      const cur = p[key];
      if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) {
        const ks = Object.keys(cur);
        if (ks.length > 0) {
          const k = ks[o.path.length % ks.length]!;
          const v = (cur as Record<string, unknown>)[k];
          delete (cur as Record<string, unknown>)[k];
          Object.defineProperty(cur, o.key, { value: v, enumerable: true, configurable: true, writable: true });
        }
      }
      break;
    }
  }
  return root.v;
}

/** The JSON values of a sample: one document, or one per line of JSON lines (a line that is not JSON stays text). */
function jsonValuesOf(t: string): unknown[] {
  try {
    return [JSON.parse(t) as unknown];
  } catch {
    return t
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        try {
          return JSON.parse(l) as unknown;
        } catch {
          return l;
        }
      });
  }
}

/**
 * A JSON sample (a document, or JSON lines: every line is edited as its own document) with structural edits:
 * values replaced by other types, keys removed or renamed, `__proto__` keys, deep nesting. Serialised back in one
 * of the layouts the sources read (compact lines, pretty-printed, concatenated, one array).
 */
export function mutatedJson(texts: readonly string[]): fc.Arbitrary<string> {
  const docs = texts.map(jsonValuesOf);
  return fc
    .tuple(fc.nat({ max: docs.length - 1 }), fc.array(jsonOpArb, { maxLength: 5 }), fc.constantFrom('lines', 'pretty', 'concatenated', 'array'))
    .map(([i, ops, layout]) => {
      const values = docs[i]!.map((d) => ops.reduce(applyJsonOp, structuredClone(d)));
      switch (layout) {
        case 'lines':
          return values.map((v) => JSON.stringify(v) ?? 'null').join('\n') + '\n';
        case 'pretty':
          return values.map((v) => JSON.stringify(v, null, 2) ?? 'null').join('\n');
        case 'concatenated':
          return values.map((v) => JSON.stringify(v) ?? 'null').join('');
        default:
          return JSON.stringify(values);
      }
    });
}

/**
 * One record of the JSON samples (the elements of a `Records` wrapper or of an array count as records) with
 * structural edits (see mutatedJson), or any JSON value.
 */
export function mutatedRecord(texts: readonly string[]): fc.Arbitrary<unknown> {
  const records: unknown[] = [];
  for (const t of texts) {
    for (const v of jsonValuesOf(t)) {
      const inner = Array.isArray(v) ? v : v !== null && typeof v === 'object' && Array.isArray((v as Record<string, unknown>).Records) ? ((v as Record<string, unknown>).Records as unknown[]) : [v];
      records.push(...inner);
    }
  }
  return fc.oneof(
    { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...records), fc.array(jsonOpArb, { maxLength: 5 })).map(([r, ops]) => ops.reduce(applyJsonOp, structuredClone(r))) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<unknown> },
  );
}

/** Random input of any kind: bytes (invalid UTF-8 included), unicode text, JSON values, separators. */
export const randomBytes: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'binary', maxLength: 500 }).map((s) => Buffer.from(s, 'utf8')),
  fc.array(fc.oneof(tokenArb, fc.constantFrom('\n', '\r\n', ' ', ',', '{', '}', '[', ']', '"')), { maxLength: 200 }).map((a) => Buffer.from(a.join(''), 'utf8')),
  fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s, 'utf8')),
  fc.array(fc.json({ maxDepth: 3 }), { maxLength: 20 }).map((a) => Buffer.from(a.join('\n'), 'utf8')),
);

/** Text as bytes, sometimes with a UTF-8 BOM, CRLF line ends, or a stray invalid byte. */
export function asBytes(text: fc.Arbitrary<string>): fc.Arbitrary<Buffer> {
  return fc.tuple(text, fc.constantFrom('plain', 'plain', 'plain', 'bom', 'crlf', 'badbyte')).map(([t, how]) => {
    switch (how) {
      case 'bom':
        return Buffer.from(`\ufeff${t}`, 'utf8');
      case 'crlf':
        return Buffer.from(t.replace(/\n/g, '\r\n'), 'utf8');
      case 'badbyte': {
        const b = Buffer.from(t, 'utf8');
        return Buffer.concat([b.subarray(0, b.length >> 1), Buffer.from([0xff, 0xc3]), b.subarray(b.length >> 1)]);
      }
      default:
        return Buffer.from(t, 'utf8');
    }
  });
}
