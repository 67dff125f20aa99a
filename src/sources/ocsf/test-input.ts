/**
 * Test helpers for sources (used by *.test.ts only): a `SourceInput` over in-memory text or a local file,
 * with the same line splitting as the ingest (`linesOf`), a collector for everything a source yields, and
 * golden-file helpers (`UPDATE_GOLDEN=1` rewrites the expected files).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { linesOf } from '../../ingest/inputs.js';
import { deriveEvent } from '../../ocsf/derive.js';
import { validateEvent } from '../../ocsf/validate.js';
import type { SourceDefinition, SourceInput, SourceItem } from '../types.js';

export function textInput(text: string, name = 'memory'): SourceInput {
  const bytes = Buffer.from(text, 'utf8');
  async function* chunks(): AsyncGenerator<Buffer> {
    // Small chunks so line splitting across chunk boundaries is exercised.
    for (let i = 0; i < bytes.length; i += 4096) yield bytes.subarray(i, i + 4096);
  }
  return {
    name,
    path: '',
    isParquet: false,
    lines: () => linesOf(chunks()),
    text: async () => text,
  };
}

export function fileInput(file: string): SourceInput {
  const input = textInput(readFileSync(file, 'utf8'), file);
  return { ...input, path: file };
}

export function parquetInput(file: string): SourceInput {
  return { ...textInput('', file), path: file, isParquet: true };
}

/** Run a source over an input and return every item, checking batches are non-empty and bounded. */
export async function collect(source: SourceDefinition, input: SourceInput): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const batch of source.read(input, {})) {
    if (batch.length === 0 || batch.length > 5000) throw new Error(`bad batch size ${batch.length}`);
    out.push(...batch);
  }
  return out;
}

/**
 * Compare `actual` with the JSON in `file`; with UPDATE_GOLDEN=1 write it instead (review the diff).
 */
export function assertGolden(file: string, actual: unknown): void {
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(file, text);
    return;
  }
  let expected: unknown;
  try {
    expected = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`golden file ${file} is missing or unreadable (run with UPDATE_GOLDEN=1 to create it)`, { cause: err });
  }
  assert.deepStrictEqual(JSON.parse(text), expected);
}

/** Items as stored in golden files: events after deriveEvent, rejects without the raw text. */
export function goldenItems(items: SourceItem[]): unknown[] {
  return items.map((it) =>
    it.kind === 'event'
      ? { line: it.line, lakeSource: it.lakeSource, event: deriveEvent(it.event) }
      : { line: it.line, field: it.field, reason: it.reason },
  );
}

/** Validation errors (not warnings) of every event, after deriveEvent, as `line: message` strings. */
export function validationErrors(items: SourceItem[]): string[] {
  const out: string[] = [];
  for (const it of items) {
    if (it.kind !== 'event') continue;
    for (const issue of validateEvent(deriveEvent(it.event))) if (issue.severity === 'error') out.push(`${it.line}: ${issue.message}`);
  }
  return out;
}

/** Delete a dotted path from an object (for documented normalisations in golden comparisons). */
export function deletePath(obj: Record<string, unknown>, path: string): void {
  const segs = path.split('.');
  let o: unknown = obj;
  for (const s of segs.slice(0, -1)) {
    if (o === null || typeof o !== 'object') return;
    o = (o as Record<string, unknown>)[s];
  }
  if (o !== null && typeof o === 'object') delete (o as Record<string, unknown>)[segs[segs.length - 1]!];
}

/** A copy with every `*_dt` string at any depth replaced by its instant in ms (samples render local offsets). */
export function dtToInstant(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dtToInstant);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = k.endsWith('_dt') && typeof x === 'string' ? Date.parse(x) : dtToInstant(x);
    return out;
  }
  return v;
}
