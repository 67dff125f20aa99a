/**
 * The bulk path of aws_vpc_flow is proven against the generic path: the same inputs are ingested both
 * ways and the two lakes must hold the same events (read back through the views), the same Parquet
 * schemas, rejects (line, field, reason, raw), warnings, partitions and input hashes. Inputs: every
 * raw VPC sample in test/samples, the source's testdata/, the benchmark's generator and a
 * seeded synthetic corpus over all versions, fields and edge cases. Every event the bulk path writes
 * must validate, and the writer's run-time checks must fail an input whose plan maps wrongly.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Rng } from '../../core/rng.js';
import { ingest, type IngestSummary } from '../../ingest/ingest.js';
import { openInput } from '../../ingest/inputs.js';
import { readObjects } from '../../lake/catalog.js';
import { Duck, quoteString } from '../../lake/duckdb.js';
import { readQuarantine } from '../../lake/quarantine.js';
import { BulkPlanError, selectFromShape, type Shape } from '../../lake/shape.js';
import { openLakeQuery } from '../../lake/views.js';
import { LakeWriter } from '../../lake/writer.js';
import { HIVE_PARTITION_COLUMNS, rowToEvent } from '../../ocsf/from-row.js';
import { validateEvent } from '../../ocsf/validate.js';
import type { BulkBatch, BulkPlan, OcsfEvent } from '../types.js';
import { certainlyValid, openBulk, presenceMask, stagedText } from './bulk.js';
import { awsVpcFlow } from './index.js';
import { RecordParser, parseHeader, type FlowRecord } from './parse.js';
import { writeFlowLog } from '../../../bench/lib/flowgen.js';

const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
const SAMPLES = here('../../../test/samples/vpc-flow/');
const TESTDATA = here('./testdata/');
/** Records without start/end take the read time: fix the clock so both paths agree. */
const NOW = Date.UTC(2024, 4, 17, 12, 34, 56, 789);

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'seclake-bulk-'));

// ---- comparing two lakes ------------------------------------------------------------------------------

interface LakeView {
  summary: IngestSummary;
  events: OcsfEvent[];
  quarantine: { input: string; line: number; field?: string; reason: string; raw: string }[];
  schemas: Map<string, string>;
  objects: string[];
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as object).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

async function readLake(lake: string, summary: IngestSummary): Promise<LakeView> {
  const db = await openLakeQuery(lake);
  const objects = readObjects(lake).map((o) => o.path).sort();
  const schemas = new Map<string, string>();
  try {
    const rows = await db.all('SELECT * FROM vpc_flow');
    const events = rows
      .map((r) => rowToEvent(r, { dropColumns: HIVE_PARTITION_COLUMNS }))
      .map((e) => ({ e, k: `${String(e.time).padStart(16, '0')} ${canonical(e)}` }))
      .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
      .map((x) => x.e);
    for (const o of objects) {
      const cols = await db.all(`DESCRIBE SELECT * FROM read_parquet(${quoteString(path.join(lake, o))})`);
      schemas.set(o, cols.map((c) => `${String(c.column_name)} ${String(c.column_type)}`).join(', '));
      // Rows are time-sorted in every object.
      const times = (await db.all(`SELECT time FROM read_parquet(${quoteString(path.join(lake, o))})`)).map((r) => Number(r.time));
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!, `${o}: rows out of time order at ${i}`);
    }
    const quarantine = readQuarantine(lake)
      .map((q) => ({ input: q.input_name, line: q.line, ...(q.field ? { field: q.field } : {}), reason: q.reason, raw: q.raw }))
      .sort((a, b) => (a.input === b.input ? a.line - b.line : a.input < b.input ? -1 : 1));
    return { summary, events, quarantine, schemas, objects };
  } finally {
    db.close();
  }
}

/** Ingest `paths` with the bulk path and with the generic path; assert the lakes agree; return both. */
async function ingestBoth(t: TestContext, paths: string[], opts: { rowsPerObject?: number; splitInputs?: RegExp } = {}): Promise<{ bulk: LakeView; generic: LakeView }> {
  t.mock.method(Date, 'now', () => NOW);
  const dir = tmp();
  const run = async (bulk: boolean): Promise<LakeView> => {
    const lake = path.join(dir, bulk ? 'bulk' : 'generic');
    const summary = await ingest({ lakeDir: lake, paths, bulk, ...(opts.rowsPerObject ? { rowsPerObject: opts.rowsPerObject } : {}) });
    return readLake(lake, summary);
  };
  const generic = await run(false);
  const bulk = await run(true);
  const g = generic.summary;
  const b = bulk.summary;
  const failed = (s: IngestSummary): string => JSON.stringify(s.inputs.filter((i) => i.status === 'failed').map((i) => [i.name, i.message]));
  assert.deepEqual(b.totals, g.totals, `totals; bulk failures: ${failed(b)}`);
  const inputs = (s: IngestSummary): unknown[] =>
    s.inputs.map((i) => ({ name: i.name, status: i.status, hash: i.hash, events: i.events, rejects: i.rejects, message: i.message }));
  assert.deepEqual(inputs(b), inputs(g), 'per-input status, hash, events, rejects');
  // An empty input is recorded without being read (no source, no path).
  const read = (i: IngestSummary['inputs'][number]): boolean => i.status === 'ingested' && !/^empty input/.test(i.message ?? '');
  for (const i of b.inputs) if (read(i)) assert.equal(i.mode, 'bulk', `${i.name} went through the bulk path`);
  for (const i of g.inputs) if (read(i)) assert.equal(i.mode, 'generic');
  assert.deepEqual(b.by_partition, g.by_partition, 'events per partition');
  assert.deepEqual(b.rejects_by_reason, g.rejects_by_reason, 'rejects by reason');
  assert.deepEqual(b.warnings_by_code, g.warnings_by_code, 'warnings by code');
  assert.deepEqual(bulk.quarantine, generic.quarantine, 'quarantine (input, line, field, reason, raw)');
  assert.equal(bulk.events.length, generic.events.length, 'event count');
  for (let i = 0; i < generic.events.length; i++) assert.deepStrictEqual(bulk.events[i], generic.events[i], `event ${i}`);
  // Same objects with the same Parquet schemas (names, order, types), except where an input changes
  // format midway (concatenated deliveries): the bulk path starts a new object per format there.
  const split = (o: string, s: LakeView): boolean => {
    const input = s.summary.inputs.find((i) => i.objects.includes(o));
    return !!(input && opts.splitInputs?.test(input.name));
  };
  const comparable = (s: LakeView): string[] => s.objects.filter((o) => !split(o, s));
  assert.deepEqual(comparable(bulk), comparable(generic), 'object paths');
  for (const o of comparable(generic)) assert.equal(bulk.schemas.get(o), generic.schemas.get(o), `schema of ${o}`);
  // Every event the bulk path wrote is valid OCSF.
  for (const e of bulk.events) {
    const errors = validateEvent(e).filter((x) => x.severity === 'error');
    assert.deepEqual(errors, [], `invalid bulk event: ${JSON.stringify(e)}`);
  }
  return { bulk, generic };
}

// ---- synthetic corpus ---------------------------------------------------------------------------------

const ALL_FIELDS = [
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end',
  'action', 'log-status', 'vpc-id', 'subnet-id', 'instance-id', 'tcp-flags', 'type', 'pkt-srcaddr', 'pkt-dstaddr', 'region', 'az-id',
  'sublocation-type', 'sublocation-id', 'pkt-src-aws-service', 'pkt-dst-aws-service', 'flow-direction', 'traffic-path',
  'ecs-cluster-arn', 'ecs-cluster-name', 'ecs-container-instance-arn', 'ecs-container-instance-id', 'ecs-container-id',
  'ecs-second-container-id', 'ecs-service-name', 'ecs-task-definition-arn', 'ecs-task-arn', 'ecs-task-id', 'reject-reason',
];
const V2 = ALL_FIELDS.slice(0, 14);
const V3 = [...V2, 'vpc-id', 'subnet-id', 'instance-id', 'tcp-flags', 'type', 'pkt-srcaddr', 'pkt-dstaddr'];
const V4 = [...V3, 'region', 'az-id', 'sublocation-type', 'sublocation-id'];
const V5 = [...V4, 'pkt-src-aws-service', 'pkt-dst-aws-service', 'flow-direction', 'traffic-path'];
const V7 = [...V5, ...ALL_FIELDS.filter((f) => f.startsWith('ecs-'))];
const V8 = [...V7, 'reject-reason'];

const IPS = [
  '10.0.1.5', '10.0.0.220', '203.0.113.5', '198.51.100.7', '0.0.0.0', '255.255.255.255', '172.31.16.139',
  '2001:db8::1', '2001:db8:1234:a102:3304:8879:34cf:4071', '::1', 'fe80::1%eth0', '::ffff:1.2.3.4', '::',
  // 45 characters: accepted by the scanner, longer than ip_t allows -> a validation reject on both paths.
  '0000:0000:0000:0000:0000:ffff:255.255.255.255',
];

function pick<T>(r: Rng, items: readonly T[]): T {
  return r.pick(items);
}

/** A value for one field; `dash` is the chance of `-`. */
function value(r: Rng, field: string, base: number, dash: number): string {
  if (r.next() < dash) return '-';
  switch (field) {
    case 'version': return pick(r, ['2', '3', '4', '5', '7', '8', '05']);
    case 'account-id': return pick(r, ['123456789012', '111122223333', '111122223333', 'unknown']);
    case 'interface-id': return `eni-0a1b2c3d4e5f6000${r.int(10)}`;
    case 'srcaddr': case 'dstaddr': case 'pkt-srcaddr': case 'pkt-dstaddr': return pick(r, IPS);
    case 'srcport': case 'dstport': return pick(r, ['443', '80', '22', '0', '65535', String(1024 + r.int(60000)), '00443']);
    case 'protocol': return pick(r, ['6', '17', '1', '0', '255']);
    case 'packets': case 'bytes': return pick(r, [String(r.int(100000)), '0', '9007199254740991']);
    case 'start': case 'end': return r.next() < 0.02 ? '8640000000000' : String(base + r.int(3 * 86400));
    case 'action': return pick(r, ['ACCEPT', 'ACCEPT', 'REJECT']);
    case 'log-status': return pick(r, ['OK', 'OK', 'OK', 'NODATA', 'SKIPDATA']);
    case 'vpc-id': return pick(r, ['vpc-0a1b2c3d', 'vpc-abcdefab012345678']);
    case 'subnet-id': return `subnet-${r.int(5)}`;
    case 'instance-id': return pick(r, ['i-0123456789abcdef0', 'i-0fedcba9876543210']);
    case 'tcp-flags': return pick(r, ['0', '2', '3', '18', '19', '255']);
    case 'type': return pick(r, ['IPv4', 'IPv4', 'IPv6', 'EFA', 'Other', 'toString']);
    case 'region': return pick(r, ['us-east-1', 'eu-west-1']);
    case 'az-id': return pick(r, ['use1-az1', 'euw1-az2']);
    case 'sublocation-type': return pick(r, ['wavelength', 'outpost', 'localzone']);
    case 'sublocation-id': return `loc-${r.int(3)}`;
    case 'pkt-src-aws-service': case 'pkt-dst-aws-service': return pick(r, ['S3', 'EC2', 'AMAZON', 'ROUTE53']);
    case 'flow-direction': return pick(r, ['ingress', 'egress']);
    case 'traffic-path': return pick(r, ['1', '2', '3', '4', '5', '6', '7', '8', '0', '9', '255']);
    case 'reject-reason': return 'BPA';
    case 'future-field': return pick(r, ['x1', 'ünïcødé', 'a"b', 'tab\\tlike', '日本']);
    default: return field.startsWith('ecs-') ? `arn:aws:ecs:us-east-1:123456789012:${field}/${r.int(100)}` : `v${r.int(10)}`;
  }
}

/** One record of a format (values as strings, in format order). */
function record(r: Rng, fields: readonly string[], base: number, opts: { dash: number; noData?: boolean }): string[] {
  if (opts.noData) {
    return fields.map((f) =>
      f === 'log-status' ? pick(r, ['NODATA', 'SKIPDATA']) : f === 'start' || f === 'end' ? String(base + r.int(86400)) : ['version', 'account-id', 'interface-id'].includes(f) ? value(r, f, base, 0) : '-',
    );
  }
  const vals = fields.map((f) => value(r, f, base, opts.dash));
  // pkt-* usually repeat srcaddr/dstaddr.
  const at = (f: string): number => fields.indexOf(f);
  if (r.next() < 0.6 && at('pkt-srcaddr') >= 0 && at('srcaddr') >= 0) vals[at('pkt-srcaddr')] = vals[at('srcaddr')]!;
  if (r.next() < 0.6 && at('pkt-dstaddr') >= 0 && at('dstaddr') >= 0) vals[at('pkt-dstaddr')] = vals[at('dstaddr')]!;
  return vals;
}

function shuffled<T>(r: Rng, items: readonly T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** A malformed line for a format: wrong count, bad integer, bad address, bad action or direction. */
function malformed(r: Rng, fields: readonly string[], vals: string[]): string[] {
  const v = [...vals];
  const set = (f: string, x: string): boolean => {
    const i = fields.indexOf(f);
    if (i < 0) return false;
    v[i] = x;
    return true;
  };
  switch (r.int(6)) {
    case 0: return v.slice(0, -1);
    case 1: if (set('srcport', pick(r, ['abc', '70000', '-1', '1.5']))) return v; break;
    case 2: if (set('srcaddr', pick(r, ['999.1.1.1', '10.0.0.01', 'not-an-ip', '1:2:3']))) return v; break;
    case 3: if (set('action', 'ALLOW')) return v; break;
    case 4: if (set('flow-direction', 'sideways')) return v; break;
    default: break;
  }
  return [...v, 'extra'];
}

interface CorpusFile {
  name: string;
  fields: string[] | undefined;
  delimiter: ' ' | ',';
  lines: number;
  seed: number;
  dash: number;
  sortedTimes?: boolean;
  crlf?: boolean;
  bom?: boolean;
  noFinalNewline?: boolean;
  gzip?: boolean;
  messy?: boolean;
  secondFormat?: string[];
  invalidUtf8?: boolean;
}

function writeCorpusFile(dir: string, f: CorpusFile): string {
  const r = new Rng(f.seed);
  const base = 1_700_000_000 + r.int(100) * 86400;
  const nl = f.crlf ? '\r\n' : '\n';
  const parts: (string | Buffer)[] = [];
  const push = (s: string): void => void parts.push(s + nl);
  const join = (vals: string[]): string =>
    f.delimiter === ',' ? vals.map((x) => (/[", ]/.test(x) || r.next() < 0.05 ? `"${x.replaceAll('"', '""')}"` : x === '-' && r.next() < 0.5 ? '' : x)).join(',') : vals.join(' ');
  const header = (fields: string[]): string => (f.delimiter === ',' ? fields.map((x) => x.replaceAll('-', '_')).join(',') : fields.join(' '));
  let fields = f.fields ?? V2;
  if (f.fields) push(header(f.fields));
  for (let i = 0; i < f.lines; i++) {
    if (f.secondFormat && i === Math.floor(f.lines / 2)) {
      fields = f.secondFormat;
      push(header(fields));
    }
    const noData = r.next() < 0.05;
    const vals = record(r, fields, f.sortedTimes ? base + i : base, { dash: f.dash, ...(noData ? { noData } : {}) });
    if (f.sortedTimes) {
      const si = fields.indexOf('start');
      const ei = fields.indexOf('end');
      if (si >= 0) vals[si] = String(base + i * 7);
      if (ei >= 0) vals[ei] = String(base + i * 7 + 60);
    }
    // Values with a quote or a text delimiter only where a text format can carry them.
    if (f.delimiter === ' ') for (let k = 0; k < vals.length; k++) if (/[ \t]/.test(vals[k]!)) vals[k] = 'x';
    const roll = r.next();
    if (f.invalidUtf8 && r.next() < 0.1) {
      // Bytes that are not UTF-8 in the last value (replaced by U+FFFD on both paths).
      parts.push(Buffer.concat([Buffer.from(join(vals)), Buffer.from([0xc3, 0x28, 0xe2, 0x82]), Buffer.from(nl)]));
      continue;
    }
    if (f.messy && roll < 0.04) push(join(malformed(r, fields, vals)));
    else if (f.messy && roll < 0.06) push('');
    else if (f.messy && roll < 0.07) push(header(fields));
    else if (f.messy && roll < 0.1 && f.delimiter === ' ') push(vals.join(pick(r, ['  ', '\t', ' \t '])) + pick(r, ['', ' ', '\t']));
    else if (f.messy && roll < 0.12 && f.delimiter === ' ') push(` ${vals.join(' ')}`);
    else push(join(vals));
  }
  let body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  if (f.noFinalNewline) body = body.subarray(0, body.length - nl.length);
  if (f.bom) body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]);
  const file = path.join(dir, f.name + (f.gzip ? '.gz' : ''));
  writeFileSync(file, f.gzip ? gzipSync(body) : body);
  return file;
}

function corpus(dir: string): { files: string[]; split: RegExp } {
  const r = new Rng(7);
  const specs: CorpusFile[] = [
    { name: 'v2-default.log', fields: V2, delimiter: ' ', lines: 300, seed: 1, dash: 0.1, messy: true },
    { name: 'headerless.log', fields: undefined, delimiter: ' ', lines: 200, seed: 2, dash: 0, sortedTimes: true },
    { name: 'v3.log', fields: V3, delimiter: ' ', lines: 300, seed: 3, dash: 0.15, messy: true },
    { name: 'v3-shuffled.log', fields: shuffled(r, V3), delimiter: ' ', lines: 300, seed: 4, dash: 0.2 },
    { name: 'v4.log.txt', fields: V4, delimiter: ' ', lines: 300, seed: 5, dash: 0.1, crlf: true, bom: true },
    { name: 'v5-bench-order.log', fields: V5, delimiter: ' ', lines: 400, seed: 6, dash: 0.05, sortedTimes: true, gzip: true },
    { name: 'v5-shuffled.log', fields: shuffled(r, V5), delimiter: ' ', lines: 400, seed: 7, dash: 0.3, messy: true },
    { name: 'v7-ecs.log', fields: V7, delimiter: ' ', lines: 300, seed: 8, dash: 0.2, noFinalNewline: true },
    { name: 'v8-all-and-unknown.log', fields: [...V8, 'future-field'], delimiter: ' ', lines: 400, seed: 9, dash: 0.15, messy: true, invalidUtf8: true },
    { name: 'no-version.log', fields: ['instance-id', 'interface-id', 'srcaddr', 'dstaddr', 'pkt-srcaddr', 'pkt-dstaddr'], delimiter: ' ', lines: 100, seed: 10, dash: 0.2 },
    { name: 'sparse.log', fields: ['srcaddr', 'flow-direction', 'log-status', 'future-field'], delimiter: ' ', lines: 100, seed: 11, dash: 0.5 },
    { name: 'duplicate-columns.log', fields: ['version', 'srcport', 'srcaddr', 'srcport', 'dstaddr', 'start', 'action', 'mystery', 'mystery'], delimiter: ' ', lines: 100, seed: 12, dash: 0.1 },
    { name: 'concatenated.log', fields: V3, delimiter: ' ', lines: 200, seed: 13, dash: 0.1, secondFormat: shuffled(r, V5) },
    { name: 'v5-underscore.csv', fields: shuffled(r, V5), delimiter: ',', lines: 300, seed: 14, dash: 0.2 },
    { name: 'v8-unknown.csv', fields: [...V8, 'future-field'], delimiter: ',', lines: 300, seed: 15, dash: 0.2, crlf: true },
    { name: '123456789012_vpcflowlogs_ap-southeast-2_fl-0a1b_20240301T1205Z_abc123.log', fields: ['version', 'srcaddr', 'dstaddr', 'action', 'log-status', 'region', 'account-id'], delimiter: ' ', lines: 150, seed: 16, dash: 0.4 },
  ];
  for (let i = 0; i < 4; i++) {
    // Random subsets in random order.
    const fields = shuffled(r, ALL_FIELDS).slice(0, 3 + r.int(ALL_FIELDS.length - 3));
    specs.push({ name: `random-${i}.log`, fields, delimiter: ' ', lines: 250, seed: 100 + i, dash: r.next() * 0.5, messy: i % 2 === 0, gzip: i === 3 });
  }
  // The header-less file must look like the default format from its first line.
  const files = specs.map((s) => writeCorpusFile(dir, s));
  return { files, split: /concatenated/ };
}

// ---- tests --------------------------------------------------------------------------------------------

test('bulk == generic on every raw VPC sample (test/samples/vpc-flow)', async (t) => {
  const files = readdirSync(SAMPLES).map((f) => path.join(SAMPLES, f));
  assert.ok(files.length >= 7);
  const { bulk } = await ingestBoth(t, files);
  assert.ok(bulk.events.length >= 29);
});

test("bulk == generic on the source's testdata (edge cases, malformed, quoted CSV, header-less, concatenated)", async (t) => {
  const files = readdirSync(TESTDATA)
    .filter((f) => !f.endsWith('.json'))
    .map((f) => path.join(TESTDATA, f));
  const { bulk } = await ingestBoth(t, files, { splitInputs: /concatenated/ });
  assert.ok(bulk.quarantine.length >= 10, 'malformed.log rejects compared');
});

test('bulk == generic on a synthetic corpus over all versions, fields and edge cases (many objects, unsorted times)', async (t) => {
  const dir = path.join(tmp(), 'corpus');
  mkdirSync(dir);
  const { files, split } = corpus(dir);
  const { bulk } = await ingestBoth(t, files, { rowsPerObject: 97, splitInputs: split });
  const s = bulk.summary;
  assert.equal(s.totals.failed, 0);
  assert.ok(s.totals.events > 3000, `events ${s.totals.events}`);
  assert.ok(s.totals.rejects > 50, `rejects ${s.totals.rejects}`);
  assert.ok(s.rejects_by_reason.some((r) => /is not an (integer|IP address)/.test(r.reason)), "scanner rejects compared");
  assert.ok(s.rejects_by_reason.some((r) => r.reason.startsWith('OCSF validation')), 'validation rejects (long IPv6, toString type) compared');
  assert.ok(s.by_partition.length >= 10, `partitions ${s.by_partition.length}`);
  const e = bulk.events;
  const some = (f: (x: Record<string, any>) => boolean, what: string): void => assert.ok(e.some((x) => f(x as Record<string, any>)), what);
  some((x) => x.src_endpoint?.intermediate_ips || x.dst_endpoint?.intermediate_ips, 'intermediate ips');
  some((x) => String(x.src_endpoint?.ip ?? '').includes(':'), 'IPv6');
  some((x) => x.connection_info?.direction === '-' && x.connection_info.direction_id === 99, 'direction -');
  some((x) => x.connection_info?.boundary === '-', 'traffic-path -');
  some((x) => x.connection_info?.boundary_id === 99 && /^\d+$/.test(String(x.connection_info.boundary)), 'traffic-path outside 1-8');
  some((x) => x.disposition === '-', 'action -');
  some((x) => x.activity_id === 0 && /DATA$/.test(String(x.status_code)), 'NODATA/SKIPDATA');
  some((x) => x.src_endpoint?.svc_name === '-' && x.src_endpoint.ip === undefined, 'empty endpoint gets svc_name -');
  some((x) => x.time === NOW, 'records without start/end take the read time');
  some((x) => x.start_time !== undefined && x.start_time_dt === undefined, 'no *_dt past year 9999');
  some((x) => x.unmapped?.srcaddr === '-', 'unmapped dash address');
  some((x) => typeof x.unmapped?.ecs_task_arn === 'string', 'ecs fields');
  some((x) => x.unmapped?.reject_reason === 'BPA', 'reject-reason');
  some((x) => String(x.unmapped?.future_field ?? '').includes('"'), 'a quote inside a value');
  assert.ok(!e.some((x) => JSON.stringify(x).includes('\uFFFD')), 'invalid UTF-8 is never decoded into an event');
  assert.ok(
    bulk.quarantine.some((q) => /^invalid UTF-8: byte 0xc3 at byte offset \d+ of the input \(byte \d+ of the line\)$/.test(String(q.reason)) && String(q.raw).endsWith('\\xc3(\\xe2\\x82')),
    'a line with invalid UTF-8 is quarantined with its offsets and its bytes (as lines() does)',
  );
  some((x) => x.connection_info?.protocol_ver === 'EFA' && x.connection_info.protocol_ver_id === undefined, 'type other than IPv4/IPv6');
  some((x) => x.cloud?.region === 'ap-southeast-2' && x.cloud?.account?.uid === '123456789012', 'region/account from the S3 file name');
});

test('bulk == generic on the benchmark generator (sorted times, default object size)', async (t) => {
  const file = path.join(tmp(), 'flow-v5.log.gz');
  await writeFlowLog(file, 3000, 3);
  const { bulk } = await ingestBoth(t, [file]);
  assert.equal(bulk.events.length, 3000);
});

test('bulk and generic inputs have the same content hash (re-ingesting either way adds nothing)', async () => {
  const file = path.join(tmp(), 'flow.log.gz');
  await writeFlowLog(file, 500, 9);
  const lake = tmp();
  const first = await ingest({ lakeDir: lake, paths: [file] });
  assert.equal(first.inputs[0]!.mode, 'bulk');
  const opened = await openInput({ name: file, file, walked: false }, tmp());
  assert.equal(first.inputs[0]!.hash, await opened.contentHash(), 'the hash inputs.ts computes');
  // The same content, uncompressed and under another name, through the generic path: a duplicate.
  const copy = path.join(tmp(), 'renamed.log');
  writeFileSync(copy, gunzipSync(readFileSync(file)));
  const again = await ingest({ lakeDir: lake, paths: [copy], bulk: false });
  assert.equal(again.inputs[0]!.status, 'duplicate');
});

test('bulk: false and validate: false use the generic path', async () => {
  const file = path.join(SAMPLES, 'aws-docs-v2-default-format.log');
  const a = await ingest({ lakeDir: tmp(), paths: [file], bulk: false });
  const b = await ingest({ lakeDir: tmp(), paths: [file], validate: false });
  assert.equal(a.inputs[0]!.mode, 'generic');
  assert.equal(b.inputs[0]!.mode, 'generic');
});

test('Parquet inputs stay on the generic path', async () => {
  assert.ok(awsVpcFlow.bulk);
  const reader = await awsVpcFlow.bulk!({ name: 'x.parquet', path: '', isParquet: true, lines: async function* () {}, text: async () => '' }, {});
  assert.equal(reader, undefined);
});

// ---- run-time checks ------------------------------------------------------------------------------------

/** Read a file through the bulk reader, replacing the plan's expressions; write it with a LakeWriter. */
async function writeTampered(file: string, tamper: (exprs: BulkPlan['exprs']) => BulkPlan['exprs']): Promise<unknown> {
  const dir = tmp();
  const opened = await openInput({ name: file, file, walked: false }, dir);
  const reader = (await openBulk(opened.input, {}))!;
  const duck = await Duck.open({ threads: 1 });
  const writer = new LakeWriter(dir, duck, 'tamper', { rowsPerObject: 100_000 });
  const plans = new Map<BulkPlan, BulkPlan>();
  try {
    for await (const b of reader.batches()) {
      if (!b.plan) continue;
      let p = plans.get(b.plan);
      if (!p) plans.set(b.plan, (p = { ...b.plan, exprs: tamper(b.plan.exprs), reference: b.plan.reference.bind(b.plan) }));
      writer.addBulk({ ...b, plan: p } as BulkBatch, {});
    }
    await writer.finish();
    return undefined;
  } catch (err) {
    return err;
  } finally {
    writer.abort();
    duck.close();
  }
}

test('run-time check: a plan that maps a sampled row differently from the generic path fails the input', async () => {
  const file = path.join(tmp(), 'flow.log');
  await writeFlowLog(file, 400, 5);
  const ok = await writeTampered(file, (e) => e);
  assert.equal(ok, undefined);
  const err = await writeTampered(file, (e) => ({ ...e, 'connection_info.direction': "'Sideways'" }));
  assert.match(String(err), /bulk check .*line \d+ maps to a different event than the generic path .*connection_info\.direction/);
});

test('run-time check: invalid rows outside the compared sample are caught by reading the object back', async () => {
  const file = path.join(tmp(), 'flow.log');
  await writeFlowLog(file, 400, 5);
  // Rows after the first 64 of the part (the compared sample) get an address that is not an ip_t.
  // c11 is `start` in the generator's v5 format; its first 200 rows start within 1700000003.
  const err = await writeTampered(file, (e) => ({ ...e, 'src_endpoint.ip': `CASE WHEN c11 > 1700000003 THEN 'not-an-ip' ELSE _sip END` }));
  assert.match(String(err), /bulk check .*row \d+ of the written object is not valid OCSF/);
});

test('a plan without SQL for an attribute its events have is refused', () => {
  const shape: Shape & { k: 'struct' } = { k: 'struct', fields: new Map([['time', { k: 'leaf', t: 'BIGINT' }], ['status_code', { k: 'leaf', t: 'VARCHAR' }]]) };
  assert.throws(() => selectFromShape(shape, { time: '_t' }), BulkPlanError);
  assert.match(selectFromShape(shape, { time: '_t', status_code: "'OK'", ignored: 'x' }), /CAST\(_t AS BIGINT\) AS "time",\s+CAST\('OK' AS VARCHAR\) AS "status_code"/);
});

// ---- units --------------------------------------------------------------------------------------------

test('staged text quotes values that contain blanks, quotes or line breaks', () => {
  assert.equal(stagedText(['a', 'b-c', '-']), 'a b-c -');
  assert.equal(stagedText(['a b', 'q"q', 'x\ry', 't\tu']), '"a b" "q""q" "x\ry" "t\tu"');
});

test('presence masks separate records whose events have different attributes', () => {
  const plan = parseHeader('version srcaddr dstaddr pkt-srcaddr pkt-dstaddr srcport start end flow-direction instance-id type', 1)!;
  const p = new RecordParser(plan);
  const rec = (line: string): FlowRecord => {
    const r = p.parseText(line);
    assert.ok(r.ok, line);
    return r;
  };
  const m = (line: string): number => presenceMask(rec(line), true, true);
  const base = '5 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2 443 1700000000 1700000060 egress i-1 IPv4';
  assert.equal(m(base), m('5 10.0.0.9 10.0.0.8 10.0.0.9 10.0.0.8 80 1700000001 1700000061 egress i-2 IPv6'));
  for (const other of [
    '- 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2 443 1700000000 1700000060 egress i-1 IPv4',
    '5 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.2 443 1700000000 1700000060 egress i-1 IPv4',
    '5 - 10.0.0.2 10.0.0.1 10.0.0.2 443 1700000000 1700000060 egress i-1 IPv4',
    '5 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2 - 1700000000 1700000060 egress i-1 IPv4',
    '5 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2 443 8640000000000 1700000060 egress i-1 IPv4',
    '5 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2 443 1700000000 1700000060 ingress i-1 IPv4',
    '5 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2 443 1700000000 1700000060 egress - IPv4',
    '5 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.2 443 1700000000 1700000060 egress i-1 -',
  ]) {
    assert.notEqual(m(other), m(base), other);
  }
});

test('records the validator could object to are not certainly valid (they are validated one by one)', () => {
  const p = new RecordParser(parseHeader('srcaddr dstaddr type', 1)!);
  const rec = (line: string): FlowRecord => p.parseText(line) as FlowRecord;
  assert.equal(certainlyValid(rec('10.0.0.1 2001:db8::1 IPv6'), 30), true);
  assert.equal(certainlyValid(rec('10.0.0.1 0000:0000:0000:0000:0000:ffff:255.255.255.255 IPv6'), 60), false);
  // `type` is a raw label with no enum id, so no value of it can draw a validator issue.
  assert.equal(certainlyValid(rec('10.0.0.1 10.0.0.2 Other'), 30), true);
  assert.equal(certainlyValid(rec('10.0.0.1 10.0.0.2 constructor'), 30), true);
  assert.equal(certainlyValid(rec('10.0.0.1 10.0.0.2 IPv4'), 70_000), false);
});
