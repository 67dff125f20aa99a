/**
 * Read OCSF events from a file for checking: JSON (one event or an array of events), JSON lines, either
 * optionally gzip-compressed, or Parquet (read through DuckDB, rows turned back into OCSF JSON with
 * `rowToEvent`, hive partition columns dropped). Items come out one at a time (bounded memory, except for a
 * single JSON document, which is parsed whole).
 */
import { createReadStream, createWriteStream, mkdtempSync, openSync, readSync, closeSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ParseError, errorMessage } from '../core/errors.js';
import type { RowStreamer as Duck } from '../core/rows.js';
import type { OcsfEvent } from '../core/events.js';
import { HIVE_PARTITION_COLUMNS, rowToEvent } from './from-row.js';

export type EventFileFormat = 'json' | 'jsonl' | 'parquet';

/** One record of the file: an event, or a record that is not JSON (JSON lines only). */
export type EventRecord =
  | { kind: 'event'; event: OcsfEvent; where: number }
  | { kind: 'unparsable'; where: number; message: string };

export interface EventFile {
  format: EventFileFormat;
  gzip: boolean;
  /** What `where` counts: `line` (JSON lines), `record` (JSON document, 1-based), `row` (Parquet, 1-based). */
  unit: 'line' | 'record' | 'row';
  records(): AsyncGenerator<EventRecord>;
  /** Remove temp files (gunzipped Parquet). */
  close(): void;
}

function readHead(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

function textStream(file: string, gzip: boolean): Readable {
  const s = createReadStream(file, { highWaterMark: 1 << 20 });
  return gzip ? s.pipe(createGunzip()) : s;
}

async function decompressedHead(file: string, gzip: boolean, n: number): Promise<Buffer> {
  if (!gzip) return readHead(file, n);
  const chunks: Buffer[] = [];
  let len = 0;
  const s = textStream(file, true);
  try {
    for await (const c of s) {
      chunks.push(c as Buffer);
      len += (c as Buffer).length;
      if (len >= n) break;
    }
  } finally {
    s.destroy();
  }
  return Buffer.concat(chunks).subarray(0, n);
}

async function* lines(file: string, gzip: boolean): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  let first = true;
  for await (const chunk of textStream(file, gzip)) {
    let text = rest + decoder.decode(chunk as Buffer, { stream: true });
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
      yield text.slice(start, nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.decode();
  if (rest.length > 0) yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

/**
 * Open an event file. Throws `ParseError` (kind `total`, naming the file) when it cannot be read or is
 * neither JSON nor Parquet. `duck` is called (once) only for Parquet files.
 */
export async function openEventFile(file: string, duck: () => Promise<Duck>): Promise<EventFile> {
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
  } catch (err) {
    throw new ParseError(`cannot read: ${errorMessage(err)}`, { file, kind: 'total' }, { cause: err });
  }
  const magic = readHead(file, 2);
  const gzip = magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  let head: Buffer;
  try {
    head = await decompressedHead(file, gzip, 4096);
  } catch (err) {
    throw new ParseError(`cannot ${gzip ? 'decompress' : 'read'}: ${errorMessage(err)}`, { file, kind: 'total' }, { cause: err });
  }
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return openParquet(file, gzip, duck);
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  const firstChar = text.trimStart()[0];
  if (firstChar !== '{' && firstChar !== '[') {
    throw new ParseError('not OCSF JSON, JSON lines or Parquet (expected "{", "[" or a Parquet file)', { file, kind: 'total' });
  }
  return openJson(file, gzip);
}

function openJson(file: string, gzip: boolean): EventFile {
  let unit: EventFile['unit'] = 'line';
  let format: EventFileFormat = 'jsonl';
  const ef: EventFile = {
    get format() {
      return format;
    },
    gzip,
    get unit() {
      return unit;
    },
    close: () => undefined,
    async *records(): AsyncGenerator<EventRecord> {
      let lineNo = 0;
      let decided = false;
      const pending: string[] = [];
      const it = lines(file, gzip);
      try {
        for await (const line of it) {
          lineNo++;
          if (!decided) {
            pending.push(line);
            if (line.trim() === '') continue;
            // JSON lines when the first non-empty line is a complete JSON object on its own.
            let first: unknown;
            try {
              first = JSON.parse(line);
            } catch {
              first = undefined;
            }
            if (first !== undefined && first !== null && typeof first === 'object' && !Array.isArray(first)) {
              decided = true;
              pending.length = 0;
              yield { kind: 'event', event: first as OcsfEvent, where: lineNo };
              continue;
            }
            // Otherwise one JSON document (pretty-printed event, or an array of events): read it whole.
            for await (const more of it) pending.push(more);
            format = 'json';
            unit = 'record';
            let doc: unknown;
            try {
              doc = JSON.parse(pending.join('\n'));
            } catch (err) {
              throw new ParseError(`not valid JSON: ${errorMessage(err)}`, { file, kind: 'total' }, { cause: err });
            }
            if (Array.isArray(doc)) {
              for (let i = 0; i < doc.length; i++) yield { kind: 'event', event: doc[i] as OcsfEvent, where: i + 1 };
            } else {
              yield { kind: 'event', event: doc as OcsfEvent, where: 1 };
            }
            return;
          }
          if (line.trim() === '') continue;
          let ev: unknown;
          try {
            ev = JSON.parse(line);
          } catch (err) {
            yield { kind: 'unparsable', where: lineNo, message: `not valid JSON: ${errorMessage(err)}` };
            continue;
          }
          yield { kind: 'event', event: ev as OcsfEvent, where: lineNo };
        }
      } catch (err) {
        if (err instanceof ParseError) throw err;
        throw new ParseError(`cannot ${gzip ? 'decompress' : 'read'}: ${errorMessage(err)}`, { file, kind: 'total' }, { cause: err });
      }
    },
  };
  return ef;
}

async function openParquet(file: string, gzip: boolean, duck: () => Promise<Duck>): Promise<EventFile> {
  let local = file;
  let tmp: string | undefined;
  if (gzip) {
    tmp = mkdtempSync(path.join(tmpdir(), 'seclake-validate-'));
    local = path.join(tmp, 'input.parquet');
    try {
      await pipeline(textStream(file, true), createWriteStream(local));
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw new ParseError(`cannot decompress: ${errorMessage(err)}`, { file, kind: 'total' }, { cause: err });
    }
  }
  return {
    format: 'parquet',
    gzip,
    unit: 'row',
    close: () => {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
    async *records(): AsyncGenerator<EventRecord> {
      const db = await duck();
      let row = 0;
      try {
        for await (const chunk of db.stream('SELECT * FROM read_parquet(?)', [local])) {
          const cols = chunk.columns;
          for (const values of chunk.rows) {
            const obj: Record<string, unknown> = {};
            for (let i = 0; i < cols.length; i++) obj[cols[i]!] = values[i];
            row++;
            yield { kind: 'event', event: rowToEvent(obj, { dropColumns: HIVE_PARTITION_COLUMNS }), where: row };
          }
        }
      } catch (err) {
        throw new ParseError(`cannot read Parquet: ${errorMessage(err)}`, { file, kind: 'total' }, { cause: err });
      }
    },
  };
}
