/**
 * Training data: (entity, IP) pairs from headerless CSV files (SageMaker's training format; gzip
 * allowed) or from any row source (the lake), collected into compact typed arrays. Malformed rows
 * (wrong column count, empty entity, invalid IP) are counted and the first few reported with their
 * line numbers; they never stop the load.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { ParseError, errorMessage } from '../../core/errors.js';
import { entityFingerprint, murmur3String, ENTITY_SEED } from './hash.js';
import { parseIpInto } from './ip.js';
import { splitCsvLine } from './csv.js';

export type BadRowReason = 'columns' | 'empty_entity' | 'bad_ip' | 'quotes';

export interface BadRowExample {
  source: string;
  line: number;
  reason: BadRowReason;
  message: string;
}

export interface BadRowReport {
  total: number;
  byReason: Record<BadRowReason, number>;
  /** The first few bad rows (at most MAX_BAD_EXAMPLES). */
  examples: BadRowExample[];
}

export const MAX_BAD_EXAMPLES = 10;

class GrowU32 {
  data: Uint32Array;
  length = 0;
  constructor(cap = 1024) {
    this.data = new Uint32Array(cap);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

class GrowF64 {
  data: Float64Array;
  length = 0;
  constructor(cap = 1024) {
    this.data = new Float64Array(cap);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

/** Pairs in compact form, independent of the model's table sizes. */
export interface PairData {
  n: number;
  /** murmur3(utf8(entity), 0); the entity row is entHash % num_entity_vectors. */
  entHash: Uint32Array;
  /** 52-bit entity fingerprints (known-entity set). */
  fp: Float64Array;
  /** 4 or 6 per row. */
  fam: Uint8Array;
  /** IPv4 address (family 4) or index of the address in v6 (family 6). */
  addr: Uint32Array;
  /** Four words per IPv6 address. */
  v6: Uint32Array;
  v6Rows: number;
  bad: BadRowReport;
  /** Event time range (ms since epoch) when the source provided times. */
  timeMin: number | undefined;
  timeMax: number | undefined;
  sources: string[];
}

/** Accumulates pairs row by row. */
export class PairCollector {
  private readonly entHash = new GrowU32();
  private readonly fp = new GrowF64();
  private readonly addr = new GrowU32();
  private readonly v6 = new GrowU32(64);
  private fam = new Uint8Array(1024);
  private n = 0;
  private v6Rows = 0;
  private timeMin: number | undefined;
  private timeMax: number | undefined;
  private readonly words = new Uint32Array(4);
  private readonly sources: string[] = [];
  readonly bad: BadRowReport = { total: 0, byReason: { columns: 0, empty_entity: 0, bad_ip: 0, quotes: 0 }, examples: [] };

  get size(): number {
    return this.n;
  }

  addSource(name: string): void {
    this.sources.push(name);
  }

  reportBad(source: string, line: number, reason: BadRowReason, message: string): void {
    this.bad.total++;
    this.bad.byReason[reason]++;
    if (this.bad.examples.length < MAX_BAD_EXAMPLES) this.bad.examples.push({ source, line, reason, message });
  }

  /** Add one pair (entity and ip already trimmed). Returns false (and counts a bad row) when invalid. */
  add(entity: string, ip: string, source: string, line: number, timeMs?: number): boolean {
    if (entity === '') {
      this.reportBad(source, line, 'empty_entity', 'empty entity');
      return false;
    }
    const fam = parseIpInto(ip, this.words);
    if (fam === 0) {
      this.reportBad(source, line, 'bad_ip', `invalid IP address ${JSON.stringify(ip.length > 60 ? ip.slice(0, 60) + '…' : ip)}`);
      return false;
    }
    if (this.n === this.fam.length) {
      const next = new Uint8Array(this.fam.length * 2);
      next.set(this.fam);
      this.fam = next;
    }
    this.fam[this.n++] = fam;
    this.entHash.push(murmur3String(entity, ENTITY_SEED));
    this.fp.push(entityFingerprint(entity));
    if (fam === 4) {
      this.addr.push(this.words[0]!);
    } else {
      this.addr.push(this.v6Rows++);
      for (let i = 0; i < 4; i++) this.v6.push(this.words[i]!);
    }
    if (timeMs !== undefined && Number.isFinite(timeMs)) {
      if (this.timeMin === undefined || timeMs < this.timeMin) this.timeMin = timeMs;
      if (this.timeMax === undefined || timeMs > this.timeMax) this.timeMax = timeMs;
    }
    return true;
  }

  /** Parse one CSV line (without the newline). Blank lines are skipped silently. */
  addCsvLine(line: string, source: string, lineNo: number): void {
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    let entity: string;
    let ip: string;
    if (line.indexOf('"') < 0) {
      const c = line.indexOf(',');
      if (c < 0) {
        if (line.trim() === '') return;
        this.reportBad(source, lineNo, 'columns', 'expected 2 columns (entity, ip), got 1');
        return;
      }
      if (line.indexOf(',', c + 1) >= 0) {
        this.reportBad(source, lineNo, 'columns', `expected 2 columns (entity, ip), got ${line.split(',').length}`);
        return;
      }
      entity = line.slice(0, c).trim();
      ip = line.slice(c + 1).trim();
    } else {
      const f = splitCsvLine(line);
      if (f === undefined) {
        this.reportBad(source, lineNo, 'quotes', 'unbalanced quotes');
        return;
      }
      if (f.length !== 2) {
        this.reportBad(source, lineNo, 'columns', `expected 2 columns (entity, ip), got ${f.length}`);
        return;
      }
      entity = f[0]!.trim();
      ip = f[1]!.trim();
    }
    this.add(entity, ip, source, lineNo);
  }

  finish(): PairData {
    return {
      n: this.n,
      entHash: this.entHash.view(),
      fp: this.fp.view(),
      fam: this.fam.subarray(0, this.n),
      addr: this.addr.view(),
      v6: this.v6.view(),
      v6Rows: this.v6Rows,
      bad: this.bad,
      timeMin: this.timeMin,
      timeMax: this.timeMax,
      sources: [...this.sources],
    };
  }
}

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Stream a (possibly gzipped) headerless CSV file of entity,ip rows into the collector. */
export async function readPairsCsv(file: string, collector: PairCollector, onBytes?: (bytes: number) => void): Promise<void> {
  let input: Readable;
  try {
    const raw = createReadStream(file);
    if (onBytes) raw.on('data', (c) => onBytes(c.length));
    input = (await isGzip(file)) ? raw.pipe(createGunzip()) : raw;
  } catch (err) {
    throw new ParseError(`cannot read: ${errorMessage(err)}`, { file, kind: 'total' }, { cause: err });
  }
  collector.addSource(file);
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  let lineNo = 0;
  try {
    for await (const chunk of input) {
      const text = carry + decoder.decode(chunk as Buffer, { stream: true });
      let start = 0;
      while (true) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        lineNo++;
        collector.addCsvLine(text.slice(start, nl), file, lineNo);
        start = nl + 1;
      }
      carry = text.slice(start);
    }
  } catch (err) {
    throw new ParseError(`cannot read: ${errorMessage(err)}`, { file, line: lineNo + 1, kind: 'total' }, { cause: err });
  }
  const rest = carry + decoder.decode();
  if (rest.length > 0) collector.addCsvLine(rest, file, lineNo + 1);
}

/** Load several CSV files into one PairData. */
export async function loadPairsCsv(files: readonly string[]): Promise<PairData> {
  const c = new PairCollector();
  for (const f of files) await readPairsCsv(f, c);
  return c.finish();
}

/** Sorted unique fingerprints with their row counts. */
export function knownEntities(fp: Float64Array): { fp: Float64Array; count: Uint32Array } {
  const sorted = Float64Array.from(fp).sort();
  let u = 0;
  const counts = new Uint32Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[u - 1]) {
      sorted[u] = sorted[i]!;
      counts[u] = 1;
      u++;
    } else {
      counts[u - 1]!++;
    }
  }
  return { fp: sorted.slice(0, u), count: counts.slice(0, u) };
}

/** Distinct prefix keys across the ladders (sizes the hashed IP table). */
export function countDistinctPrefixes(data: PairData, v4: readonly number[], v6: readonly number[]): number {
  let total = 0;
  // IPv4: sort the addresses once; a prefix changes between neighbours exactly when it is new.
  let nv4 = 0;
  for (let i = 0; i < data.n; i++) if (data.fam[i] === 4) nv4++;
  if (nv4 > 0) {
    const a = new Uint32Array(nv4);
    let j = 0;
    for (let i = 0; i < data.n; i++) if (data.fam[i] === 4) a[j++] = data.addr[i]!;
    a.sort();
    for (const len of v4) {
      let c = 0;
      let prev = -1;
      for (let i = 0; i < nv4; i++) {
        const p = len === 0 ? 0 : a[i]! >>> (32 - len);
        if (p !== prev) {
          c++;
          prev = p;
        }
      }
      total += c;
    }
  }
  if (data.v6Rows > 0) {
    for (const len of v6) {
      const seen = new Set<string>();
      for (let r = 0; r < data.v6Rows; r++) {
        let key = '';
        for (let w = 0; w < 4; w++) {
          const keep = len - w * 32;
          const x = data.v6[r * 4 + w]!;
          key += (keep >= 32 ? x : keep <= 0 ? 0 : (x & (0xffffffff << (32 - keep))) >>> 0).toString(16) + ':';
        }
        seen.add(key);
      }
      total += seen.size;
    }
  }
  return total;
}
