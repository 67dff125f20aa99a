/**
 * Reading JSON records from one input, for every JSON-based source (Route 53, CloudTrail, OCSF).
 *
 * Accepted layouts, decided from the first non-empty line:
 * - JSON lines: one value per line. A record is numbered by its 1-based line. (An array on a line is one
 *   record, which the sources reject as not an object.)
 * - One document (first line starts with `[`, or is a `{` that does not parse on its own, i.e. a
 *   pretty-printed object): the whole text is parsed. Elements of a top-level array are numbered by
 *   their 1-based index; a single object is record 1. If the text is not one JSON value but several
 *   concatenated ones (`{…}{…}`, pretty-printed objects one after another, as Firehose writes them),
 *   each is parsed on its own and numbered by the line it starts on.
 * - With `unwrapKey` (CloudTrail's `Records`): an object holding an array under that key stands for its
 *   elements, numbered by their 1-based position when the object is the whole document or the first
 *   line (a one-line delivery file); on a later line of JSON lines, its elements get that line's number.
 *
 * Nothing here throws on bad content: malformed JSON becomes an error item with its line and the raw
 * text (truncated), and the caller turns it into a reject.
 */
import type { SourceInput, SourceItem } from '../types.js';

/** Rejected raw text is cut to this many characters (the quarantine keeps it for inspection only). */
export const MAX_RAW_CHARS = 4096;

/** Records per yielded batch. */
export const BATCH_SIZE = 1000;

export type JsonRecordItem =
  | { ok: true; line: number; value: unknown; raw: () => string }
  | { ok: false; line: number; reason: string; raw: string };

export interface ReadJsonOptions {
  /** Key of an array that wraps the records (CloudTrail: `Records`). */
  unwrapKey?: string;
}

/** Cut raw text for a reject: at most `max` characters, with a marker saying how much was dropped. */
export function truncateRaw(raw: string, max = MAX_RAW_CHARS): string {
  if (raw.length <= max) return raw;
  return `${raw.slice(0, max)}…[truncated ${raw.length - max} chars]`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function parseError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Stream the JSON records of an input (see the module comment for the layouts). */
export async function* readJsonRecords(input: SourceInput, opts: ReadJsonOptions = {}): AsyncGenerator<JsonRecordItem> {
  const it = input.lines()[Symbol.asyncIterator]();
  let lineNo = 0;
  let first: string | undefined;
  for (;;) {
    const r = await it.next();
    if (r.done) return; // empty or whitespace-only input: no records
    lineNo++;
    if (r.value.trim() !== '') {
      first = r.value;
      break;
    }
  }
  const head = first.trimStart();
  let documentMode = head.startsWith('[');
  let firstValue: unknown;
  let firstError: string | undefined;
  if (!documentMode) {
    try {
      firstValue = JSON.parse(first);
    } catch (err) {
      if (head.startsWith('{')) documentMode = true;
      else firstError = parseError(err);
    }
  }
  if (documentMode) {
    await it.return?.();
    yield* documentRecords(await input.text(), opts);
    return;
  }
  if (firstError !== undefined) yield { ok: false, line: lineNo, reason: `malformed JSON: ${firstError}`, raw: truncateRaw(first) };
  else yield* lineRecords(firstValue, first, lineNo, opts, true);
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    lineNo++;
    const line = r.value;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      yield { ok: false, line: lineNo, reason: `malformed JSON: ${parseError(err)}`, raw: truncateRaw(line) };
      continue;
    }
    yield* lineRecords(value, line, lineNo, opts, false);
  }
}

/** One line (or one of several concatenated documents): a record, or an `unwrapKey` object's records. */
function* lineRecords(value: unknown, line: string, lineNo: number, opts: ReadJsonOptions, first: boolean): Generator<JsonRecordItem> {
  const list = Array.isArray(value) ? undefined : wrapped(value, opts);
  if (!list) {
    yield { ok: true, line: lineNo, value, raw: () => line };
    return;
  }
  // A wrapper on the first line (a one-line delivery file) numbers its records by position; a wrapper on
  // a later line of a JSON-lines file gives its records that line's number.
  let i = 0;
  for (const v of list) yield { ok: true, line: first ? ++i : lineNo, value: v, raw: () => JSON.stringify(v) };
}

/** The records an array or an `unwrapKey` object stands for, or undefined if `value` is one record. */
function wrapped(value: unknown, opts: ReadJsonOptions): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (opts.unwrapKey && isPlainObject(value) && Array.isArray(value[opts.unwrapKey])) return value[opts.unwrapKey] as unknown[];
  return undefined;
}

function* documentRecords(text: string, opts: ReadJsonOptions): Generator<JsonRecordItem> {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const parts = splitTopLevel(text);
    if (!parts || parts.length < 2) {
      yield { ok: false, line: 1, reason: `malformed JSON document: ${parseError(err)}`, raw: truncateRaw(text) };
      return;
    }
    for (const [n, p] of parts.entries()) {
      let v: unknown;
      try {
        v = JSON.parse(p.text);
      } catch (e) {
        yield { ok: false, line: p.line, reason: `malformed JSON: ${parseError(e)}`, raw: truncateRaw(p.text) };
        continue;
      }
      yield* lineRecords(v, p.text, p.line, opts, n === 0);
    }
    return;
  }
  const list = wrapped(value, opts);
  if (!list) {
    yield { ok: true, line: 1, value, raw: () => text };
    return;
  }
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    yield { ok: true, line: i + 1, value: v, raw: () => JSON.stringify(v) };
  }
}

/**
 * Split text holding several top-level JSON objects/arrays (`{…}{…}` or one per few lines) into their
 * texts with the line each starts on. Returns undefined if something other than an object or array
 * appears at the top level. An unterminated last value is returned as is (its parse will fail).
 */
export function splitTopLevel(text: string): { line: number; text: string }[] | undefined {
  const out: { line: number; text: string }[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  let startLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 92 /* \ */) escaped = true;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (depth === 0) {
      if (c === 32 || c === 9 || c === 10 || c === 13) continue;
      if (c !== 123 /* { */ && c !== 91 /* [ */) return undefined;
      start = i;
      startLine = line;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) {
      depth--;
      if (depth === 0) {
        out.push({ line: startLine, text: text.slice(start, i + 1) });
        start = -1;
      }
    }
  }
  if (start >= 0) out.push({ line: startLine, text: text.slice(start) });
  return out;
}

/** Group items into batches of `size` (bounded memory for the consumer). */
export async function* batched(items: AsyncIterable<SourceItem>, size = BATCH_SIZE): AsyncGenerator<SourceItem[]> {
  let batch: SourceItem[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
