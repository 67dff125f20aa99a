/**
 * Quarantine: every record that could not be parsed, mapped or validated is kept with the input's
 * name and hash, the line (or record index), the field, and the reason. Nothing is dropped silently.
 * Records are streamed to a staging file and published with the input, so a re-run never doubles them.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { faultPoint } from '../core/fault.js';
import { META_DIR } from './layout.js';

const MAX_RAW = 4096;

export interface QuarantineRecord {
  input_name: string;
  input_hash: string;
  source_type: string;
  line: number;
  field?: string;
  reason: string;
  raw: string;
  quarantined_at: string;
}

export function quarantineDir(lakeDir: string): string {
  return path.join(lakeDir, META_DIR, 'quarantine');
}

/** Buffered append-only writer for one input's rejects. */
export class QuarantineWriter {
  private fd: number | undefined;
  private buf: string[] = [];
  private bufLen = 0;
  count = 0;

  constructor(readonly file: string) {}

  add(rec: Omit<QuarantineRecord, 'quarantined_at'>): void {
    const raw = rec.raw.length > MAX_RAW ? rec.raw.slice(0, MAX_RAW) + '…[truncated]' : rec.raw;
    const line = JSON.stringify({ ...rec, raw, quarantined_at: new Date().toISOString() }) + '\n';
    this.buf.push(line);
    this.bufLen += line.length;
    this.count++;
    if (this.bufLen > 1 << 20) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    if (this.fd === undefined) this.fd = openSync(this.file, 'a');
    writeSync(this.fd, this.buf.join(''));
    faultPoint('ingest-mid-quarantine-write');
    this.buf = [];
    this.bufLen = 0;
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Read the quarantine, newest files last; optionally only one input (by name substring or hash prefix). */
export function readQuarantine(lakeDir: string, filter?: { input?: string; limit?: number }): QuarantineRecord[] {
  const dir = quarantineDir(lakeDir);
  if (!existsSync(dir)) return [];
  const out: QuarantineRecord[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()) {
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (!line) continue;
      let rec: QuarantineRecord;
      try {
        rec = JSON.parse(line) as QuarantineRecord;
      } catch {
        continue; // torn line from a crash; the input is re-ingested and rewrites this file
      }
      if (filter?.input && !rec.input_name.includes(filter.input) && !rec.input_hash.startsWith(filter.input)) continue;
      out.push(rec);
      if (filter?.limit && out.length >= filter.limit) return out;
    }
  }
  return out;
}
