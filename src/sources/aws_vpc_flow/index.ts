/**
 * The `aws_vpc_flow` source: Amazon VPC Flow Logs (text with a header line, header-less default
 * format, underscore-named CSV, Parquet) -> OCSF 1.1.0 Network Activity. See README.md.
 */
import { Duck } from '../../lake/duckdb.js';
import type { SourceDefinition, SourceHints, SourceInput, SourceItem } from '../types.js';
import {
  FIELDS,
  RecordParser,
  canonicalName,
  cellText,
  compilePlan,
  defaultPlan,
  hintsFromFileName,
  knownFieldCount,
  looksLikeDefaultRecord,
  parseHeader,
  type FieldPlan,
} from './parse.js';
import { toOcsf, type MapContext } from './to-ocsf.js';

/**
 * Items per yielded batch. Small on purpose: a batch's events stay alive until the consumer is done
 * with it, and with 4096 events (~6 MB) per batch V8 copies and promotes them on every young-generation
 * scavenge. Measured on 1M v5 lines (read() alone, CPU time): 4096 -> ~150k lines/s, 1024 -> ~450k,
 * 256 -> ~650k (bench/vpc-parse.bench.ts; GC was 63% of the profile at 4096).
 */
export const BATCH_SIZE = 256;

/** Fields whose presence makes a column list look like a flow log (besides the rest of the catalogue). */
const CORE_FIELDS = ['srcaddr', 'dstaddr', 'interface-id', 'log-status', 'pkt-srcaddr', 'pkt-dstaddr', 'flow-direction'];

function firstLine(head: string): string | undefined {
  let start = 0;
  while (start < head.length) {
    let nl = head.indexOf('\n', start);
    if (nl < 0) nl = head.length;
    const line = head.slice(start, nl).replace(/\r$/, '');
    if (line.trim() !== '') return line;
    start = nl + 1;
  }
  return undefined;
}

/** Confidence that a column list (header or Parquet columns) is a flow log format. */
function columnsConfidence(names: readonly string[]): number {
  if (names.length === 0) return 0;
  const known = knownFieldCount(names);
  if (known === 0) return 0;
  const core = names.filter((n) => CORE_FIELDS.includes(canonicalName(n))).length;
  const share = known / names.length;
  if (share === 1 && (core > 0 || known >= 3)) return 0.95;
  if (core >= 2 && share >= 0.5) return 0.85;
  if (core >= 1 && share >= 0.5) return 0.7;
  return share >= 0.8 && known >= 3 ? 0.6 : 0.2;
}

function detect(head: string, _name: string, columns?: string[]): number {
  if (columns) return columnsConfidence(columns);
  const line = firstLine(head);
  if (line === undefined) return 0;
  const plan = parseHeader(line, 1);
  if (plan) return columnsConfidence(plan.names);
  return looksLikeDefaultRecord(line) ? 0.9 : 0;
}

/** Fallbacks for records without region, account or time. */
function mapContext(input: SourceInput, hints: SourceHints): MapContext {
  const fromName = hintsFromFileName(input.name);
  return {
    region: hints.region ?? fromName.region,
    accountId: hints.accountId ?? fromName.accountId,
    fallbackTimeMs: fromName.timeMs ?? Date.now(),
  };
}

/** Turns text lines into items, one plan per header (a repeated header, e.g. concatenated files, starts a new plan). */
class TextReader {
  private parser: RecordParser | undefined;
  private headerText: string | undefined;
  private started = false;

  constructor(private readonly ctx: MapContext) {}

  line(line: string, lineNo: number): SourceItem | undefined {
    if (isBlank(line)) return undefined;
    if (!this.started) {
      this.started = true;
      const header = parseHeader(line, lineNo);
      if (header) {
        this.parser = new RecordParser(header);
        this.headerText = line;
        return undefined;
      }
      if (looksLikeDefaultRecord(line)) this.parser = new RecordParser(defaultPlan());
    }
    const parser = this.parser;
    if (!parser) {
      return { kind: 'reject', line: lineNo, reason: 'not a VPC flow log: the first line is neither a header of field names nor a default-format record', raw: line };
    }
    if (line === this.headerText) return undefined;
    const rec = parser.parseText(line);
    if (rec.ok) return { kind: 'event', event: toOcsf(rec, this.ctx), line: lineNo, lakeSource: 'VPC_FLOW' };
    // A header inside the file (deliveries concatenated with `zcat a.gz b.gz`) starts a new format.
    const header = parseHeader(line, lineNo);
    if (header && header.unknown.length === 0) {
      this.parser = new RecordParser(header);
      this.headerText = line;
      return undefined;
    }
    return { kind: 'reject', line: lineNo, reason: rec.reason, raw: line, ...(rec.field !== undefined ? { field: rec.field } : {}) };
  }
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

async function* readText(input: SourceInput, ctx: MapContext): AsyncGenerator<SourceItem[]> {
  const reader = new TextReader(ctx);
  let batch: SourceItem[] = [];
  let lineNo = 0;
  for await (const line of input.lines()) {
    lineNo++;
    const item = reader.line(line, lineNo);
    if (item === undefined) continue;
    batch.push(item);
    if (batch.length >= BATCH_SIZE) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function rowJson(columns: readonly string[], row: readonly unknown[]): string {
  const o: Record<string, unknown> = {};
  columns.forEach((c, i) => {
    const v = row[i];
    o[c] = typeof v === 'bigint' ? v.toString() : v;
  });
  return JSON.stringify(o);
}

async function* readParquet(input: SourceInput, ctx: MapContext): AsyncGenerator<SourceItem[]> {
  const db = await Duck.open({ threads: 1 });
  try {
    let parser: RecordParser | undefined;
    let plan: FieldPlan | undefined;
    let rowNo = 0;
    let batch: SourceItem[] = [];
    for await (const chunk of db.stream('SELECT * FROM read_parquet($1)', [input.path])) {
      if (!plan) {
        plan = compilePlan(chunk.columns, 'columns');
        parser = knownFieldCount(chunk.columns) > 0 ? new RecordParser(plan) : undefined;
      }
      for (const row of chunk.rows) {
        rowNo++;
        if (!parser) {
          batch.push({ kind: 'reject', line: rowNo, reason: `not a VPC flow log: no known field among columns ${chunk.columns.join(', ')}`, raw: rowJson(chunk.columns, row) });
        } else {
          const values = new Array<string>(row.length);
          for (let i = 0; i < row.length; i++) values[i] = cellText(row[i]);
          const rec = parser.parse(values);
          if (rec.ok) batch.push({ kind: 'event', event: toOcsf(rec, ctx), line: rowNo, lakeSource: 'VPC_FLOW' });
          else batch.push({ kind: 'reject', line: rowNo, reason: rec.reason, raw: rowJson(chunk.columns, row), ...(rec.field !== undefined ? { field: rec.field } : {}) });
        }
        if (batch.length >= BATCH_SIZE) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    db.close();
  }
}

export const awsVpcFlow: SourceDefinition = {
  type: 'aws_vpc_flow',
  description: `Amazon VPC Flow Logs v2-v8 (text with header, default format, CSV, Parquet; ${Object.keys(FIELDS).length} fields) -> OCSF Network Activity`,
  detect,
  read(input: SourceInput, hints: SourceHints): AsyncIterable<SourceItem[]> {
    const ctx = mapContext(input, hints);
    return input.isParquet ? readParquet(input, ctx) : readText(input, ctx);
  },
  bulk: async (input, hints) => (await import('./bulk.js')).openBulk(input, hints),
};
