/**
 * The bulk path of `aws_vpc_flow` (text deliveries: header line, header-less default format, CSV).
 *
 * Records are checked by the same scanner as `read()` ({@link RecordParser}), so rejects carry the same
 * reasons and lines. A good record is not turned into an OCSF object: the reader emits one compact row
 * (line, time, region, account, a presence mask and the record's values as one staged CSV line) and the
 * plan holds SQL expressions that compute, in DuckDB, exactly what `toOcsf` + `deriveEvent` produce
 * (names and captions from the schema, `type_uid`, `*_dt`, observables, `unmapped`, ...).
 *
 * Validity without per-event validation. What the OCSF validator checks of a mapped flow record is
 * either structural (required attributes, at-least-one constraints, enum values, types), which depends
 * only on which attributes the event has, i.e. on its presence mask, or a check of single values
 * (string and ip_t lengths, the ip_t pattern). The first record of every presence mask is validated in
 * full, as are records with a doubtful value (`certainlyValid`); a failure is a reject with the generic
 * reason and warnings are counted. Other records of a mask whose first record was clean map to valid
 * events. The lake writer checks this on every object (reference events per mask, a sample compared
 * with the generic mapping, read-back validation), and bulk.test.ts compares whole lakes written both ways.
 */
import { createHash, type Hash } from 'node:crypto';
import { isAscii, isUtf8 } from 'node:buffer';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { validateEvent } from '../../ocsf/validate.js';
import { deriveEvent, formatTimestampMs } from '../../ocsf/derive.js';
import { attributeDefAt, categoryOfClass, classByUid, typeByName } from '../../ocsf/schema.js';
import type { BulkBatch, BulkColumnType, BulkExpr, BulkPlan, BulkReader, OcsfEvent, RejectItem, SourceHints, SourceInput } from '../types.js';
import {
  FIELDS,
  RecordParser,
  canonicalName,
  defaultPlan,
  hintsFromFileName,
  looksLikeDefaultRecord,
  parseHeader,
  splitRecord,
  splitWhitespace,
  type FieldIndex,
  type FieldPlan,
  type FlowRecord,
  type FlowReject,
} from './parse.js';
import { CLASS_UID_NETWORK_ACTIVITY, OCSF_VERSION, toOcsf, type MapContext } from './to-ocsf.js';
import { OVERSIZE_PREFIX_BYTES, invalidUtf8At, invalidUtf8Reason, oversizePrefix, oversizeRaw, oversizeReason, rawWithInvalidBytes } from '../line-checks.js';

/** DuckDB's read_csv refuses longer lines (its default max_line_size, 2 MB). */
const MAX_STAGED_BYTES = 2_000_000;

/** First epoch millisecond whose year has five digits: `*_dt` is not derived from here on. */
const DT_LIMIT_MS = 253_402_300_800_000;

/** Longest string_t value the validator accepts; a record no longer than this has no longer value. */
const STRING_MAX_LEN = typeByName('string_t')?.max_len ?? 65_535;
const IP_MAX_LEN = typeByName('ip_t')?.max_len ?? 40;
const IP_REGEX = new RegExp(typeByName('ip_t')?.regex ?? '^$');

// ---- presence mask ------------------------------------------------------------------------------------
// Which attributes a mapped record has depends on the plan (fixed per format) and on these facts; two
// records of a plan with the same mask have events with the same attribute paths (see toOcsf).

const M_VERSION = 1 << 0;
const M_REGION = 1 << 1;
const M_ACCOUNT = 1 << 2;
const M_START = 1 << 3;
const M_END = 1 << 4;
const M_START_NO_DT = 1 << 5;
const M_END_NO_DT = 1 << 6;
const M_SRCADDR = 1 << 7;
const M_PKT_SRC = 1 << 8;
const M_SRC_INTERMEDIATE = 1 << 9;
const M_DSTADDR = 1 << 10;
const M_PKT_DST = 1 << 11;
const M_DST_INTERMEDIATE = 1 << 12;
const M_SRCPORT = 1 << 13;
const M_DSTPORT = 1 << 14;
const M_INGRESS = 1 << 15;
const M_PROTOCOL = 1 << 16;
const M_TCP_FLAGS = 1 << 17;
const M_TYPE_DASH = 1 << 18;
const M_PACKETS = 1 << 19;
const M_BYTES = 1 << 20;
const M_INSTANCE_DASH = 1 << 21;

function isAddr(v: string | undefined): boolean {
  return v !== undefined && v !== '-';
}

/** The presence mask of one record (region/account: whether the event has them after the fallbacks). */
export function presenceMask(r: FlowRecord, hasRegion: boolean, hasAccount: boolean): number {
  let m = 0;
  if (r.version !== undefined) m |= M_VERSION;
  if (hasRegion) m |= M_REGION;
  if (hasAccount) m |= M_ACCOUNT;
  if (r.start !== undefined) m |= r.start * 1000 >= DT_LIMIT_MS ? M_START | M_START_NO_DT : M_START;
  if (r.end !== undefined) m |= r.end * 1000 >= DT_LIMIT_MS ? M_END | M_END_NO_DT : M_END;
  const sa = r.srcaddr;
  const ps = r.pktSrcaddr;
  if (isAddr(sa)) m |= M_SRCADDR;
  if (isAddr(ps)) m |= isAddr(sa) && sa !== ps ? M_PKT_SRC | M_SRC_INTERMEDIATE : M_PKT_SRC;
  const da = r.dstaddr;
  const pd = r.pktDstaddr;
  if (isAddr(da)) m |= M_DSTADDR;
  if (isAddr(pd)) m |= isAddr(da) && da !== pd ? M_PKT_DST | M_DST_INTERMEDIATE : M_PKT_DST;
  if (r.srcport !== undefined) m |= M_SRCPORT;
  if (r.dstport !== undefined) m |= M_DSTPORT;
  if (r.flowDirection === 'ingress') m |= M_INGRESS;
  if (r.protocol !== undefined) m |= M_PROTOCOL;
  if (r.tcpFlags !== undefined) m |= M_TCP_FLAGS;
  if (r.type === '-') m |= M_TYPE_DASH;
  if (r.packets !== undefined) m |= M_PACKETS;
  if (r.bytes !== undefined) m |= M_BYTES;
  if (r.instanceId === '-') m |= M_INSTANCE_DASH;
  return m;
}

// ---- per-value validity ---------------------------------------------------------------------------------

/** An address the validator accepts as ip_t: dotted quads always do (the scanner checked them). */
function ipValid(v: string | undefined): boolean {
  if (v === undefined || v.indexOf(':') < 0) return true;
  return v.length <= IP_MAX_LEN && IP_REGEX.test(v);
}

/**
 * True when the mapped event is certainly valid and warning-free without validating it: the only values
 * of a mapped flow record the validator judges one by one are checked here (see the module comment).
 */
export function certainlyValid(r: FlowRecord, rawLength: number): boolean {
  if (rawLength > STRING_MAX_LEN) return false;
  return ipValid(r.srcaddr) && ipValid(r.dstaddr) && ipValid(r.pktSrcaddr) && ipValid(r.pktDstaddr);
}

// ---- staged text ------------------------------------------------------------------------------------

function needsQuotes(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 32 || c === 34 || c === 9 || c === 13 || c === 10) return true;
  }
  return false;
}

/** Values as one staged CSV line: space separated, quoted (`"` doubled) where a value needs it. */
export function stagedText(values: readonly string[]): string {
  let out = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (i > 0) out += ' ';
    out += needsQuotes(v) ? `"${v.replaceAll('"', '""')}"` : v;
  }
  return out;
}

// ---- plan -------------------------------------------------------------------------------------------

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

function sqlLiteral(v: string | undefined): string {
  return v === undefined ? 'NULL::VARCHAR' : sqlString(v);
}

/** Schema caption of an enum value of class 4001 at `path` (what deriveEvent writes into the sibling). */
function caption(path: string, value: number): string {
  const attr = attributeDefAt(CLASS_UID_NETWORK_ACTIVITY, path.split('.'));
  const c = attr?.enum?.[String(value)]?.caption;
  if (c === undefined) throw new Error(`OCSF schema: no caption for ${path} ${value}`);
  return c;
}

/** `CASE <id> WHEN v THEN '<caption>' ... END` over the ids the mapping produces. */
function captionCase(path: string, idSql: string, values: readonly number[]): string {
  return `CASE ${idSql} ${values.map((v) => `WHEN ${v} THEN ${sqlString(caption(path, v))}`).join(' ')} END`;
}

/** A `*_dt` as the lake stores it: the TIMESTAMP (ms, UTC) of an epoch-ms expression, where deriveEvent sets one. */
function dtSql(msSql: string): string {
  return `CASE WHEN ${msSql} < ${DT_LIMIT_MS} THEN epoch_ms(${msSql}) END`;
}

/** traffic-path 1..8 -> boundary_id 4..11 (to-ocsf.ts). */
const BOUNDARY_OFFSET = 3;

/**
 * Staged column types: number fields the plan maps are INTEGER or BIGINT (by their bounds, so the output
 * casts are no-ops), everything else (incl. ignored duplicate columns) VARCHAR.
 */
function columnTypes(plan: FieldPlan): BulkColumnType[] {
  const types = new Array<BulkColumnType>(plan.count).fill('VARCHAR');
  for (const i of Object.values(plan.ix)) {
    if (i < 0) continue;
    const spec = FIELDS[canonicalName(plan.names[i]!)];
    const kind = spec?.kind;
    if (kind === 'int' || kind === 'port' || kind === 'path') types[i] = (spec?.max ?? Infinity) <= 2_147_483_647 ? 'INTEGER' : 'BIGINT';
  }
  return types;
}

/** Build the SQL plan of one field plan (format) and mapping context. */
export function buildPlan(plan: FieldPlan, ctx: MapContext): BulkPlan {
  const ix = plan.ix;
  const col = (k: keyof FieldIndex): string | undefined => (ix[k] >= 0 ? `c${ix[k] + 1}` : undefined);
  /** Nullable value (NULL = `-` or no such field). */
  const v = (k: keyof FieldIndex, type = 'VARCHAR'): string => col(k) ?? `NULL::${type}`;
  /** A string field as written (`-` kept). */
  const vd = (k: keyof FieldIndex): string => (col(k) ? `coalesce(${col(k)}, '-')` : 'NULL::VARCHAR');
  const has = (k: keyof FieldIndex): boolean => ix[k] >= 0;

  const action = col('action');
  const start = col('start');
  const end = col('end');
  const dir = col('flowDirection');
  const noData = has('logStatus') ? `${col('logStatus')} IN ('NODATA', 'SKIPDATA')` : 'false';
  const anySide = has('interfaceId') || has('vpcId') || has('subnetId') || has('instanceId');

  const derived: [string, string][] = [
    ['_ing', dir ? `coalesce(${dir} = 'ingress', false)` : 'false'],
    ['_sip', `coalesce(${v('pktSrcaddr')}, ${v('srcaddr')})`],
    ['_dip', `coalesce(${v('pktDstaddr')}, ${v('dstaddr')})`],
    ['_t', `coalesce(${start ? `${start} * 1000` : 'NULL'}, ${end ? `${end} * 1000` : 'NULL'}, ${Math.trunc(ctx.fallbackTimeMs)})::BIGINT`],
    [
      '_act',
      action ? `CASE WHEN ${noData} THEN 0 WHEN ${action} = 'ACCEPT' THEN 6 WHEN ${action} = 'REJECT' THEN 5 ELSE 0 END` : '0',
    ],
    ['_sdt', start ? dtSql(`${start} * 1000`) : 'NULL::TIMESTAMP'],
    ['_edt', end ? dtSql(`${end} * 1000`) : 'NULL::TIMESTAMP'],
  ];

  const e: Record<string, BulkExpr> = {};
  // ---- classification
  e.class_uid = String(CLASS_UID_NETWORK_ACTIVITY);
  e.activity_id = '_act';
  e.severity_id = '1';
  const actionId = action ? `CASE ${action} WHEN 'ACCEPT' THEN 1 WHEN 'REJECT' THEN 2 ELSE 0 END` : '0';
  e.action_id = actionId;
  if (action) {
    e.disposition_id = `CASE ${action} WHEN 'ACCEPT' THEN 1 WHEN 'REJECT' THEN 2 ELSE 99 END`;
    // 99 keeps the source's label (`-`).
    e.disposition = `CASE ${action} WHEN 'ACCEPT' THEN ${sqlString(caption('disposition_id', 1))} WHEN 'REJECT' THEN ${sqlString(caption('disposition_id', 2))} ELSE '-' END`;
  }
  // ---- context
  e['metadata.product.name'] = `'Amazon VPC'`;
  e['metadata.product.vendor_name'] = `'AWS'`;
  e['metadata.product.feature.name'] = `'Flowlogs'`;
  e['metadata.product.version'] = `CAST(${v('version', 'BIGINT')} AS VARCHAR)`;
  e['metadata.profiles'] = `['cloud', 'security_control', 'datetime']`;
  e['metadata.version'] = sqlString(OCSF_VERSION);
  e['cloud.provider'] = `'AWS'`;
  e['cloud.region'] = `coalesce(${v('region')}, ${sqlLiteral(ctx.region)})`;
  e['cloud.zone'] = vd('azId');
  const accountUid = `coalesce(${v('accountId')}, ${sqlLiteral(ctx.accountId)})`;
  e['cloud.account'] = { when: `${accountUid} IS NOT NULL` };
  e['cloud.account.uid'] = accountUid;
  // ---- occurrence
  e.time = '_t';
  e.start_time = start ? `${start} * 1000` : 'NULL::BIGINT';
  e.end_time = end ? `${end} * 1000` : 'NULL::BIGINT';
  // ---- endpoints
  const endpoint = (side: 'src' | 'dst'): void => {
    const p = `${side}_endpoint`;
    const addr = v(side === 'src' ? 'srcaddr' : 'dstaddr');
    const pkt = v(side === 'src' ? 'pktSrcaddr' : 'pktDstaddr');
    const port = side === 'src' ? col('srcport') : col('dstport');
    const svc = side === 'src' ? 'pktSrcAwsService' : 'pktDstAwsService';
    const ip = side === 'src' ? '_sip' : '_dip';
    /** The logging interface's side: dst for ingress, src otherwise. */
    const mine = side === 'src' ? 'NOT _ing' : '_ing';
    e[`${p}.ip`] = ip;
    e[`${p}.intermediate_ips`] = `CASE WHEN ${pkt} IS NOT NULL AND ${addr} IS NOT NULL AND ${addr} <> ${pkt} THEN [${addr}] END`;
    e[`${p}.port`] = port ?? 'NULL::BIGINT';
    const empty = [`${ip} IS NULL`, ...(port ? [`${port} IS NULL`] : []), ...(anySide ? [side === 'src' ? '_ing' : 'NOT _ing'] : [])].join(' AND ');
    e[`${p}.svc_name`] = has(svc) ? vd(svc) : `CASE WHEN ${empty} THEN '-' END`;
    e[`${p}.interface_uid`] = `CASE WHEN ${mine} THEN ${vd('interfaceId')} END`;
    e[`${p}.vpc_uid`] = `CASE WHEN ${mine} THEN ${vd('vpcId')} END`;
    e[`${p}.subnet_uid`] = `CASE WHEN ${mine} THEN ${vd('subnetId')} END`;
    e[`${p}.instance_uid`] = `CASE WHEN ${mine} THEN ${vd('instanceId')} END`;
  };
  endpoint('src');
  endpoint('dst');
  // ---- connection, traffic, status
  const directionId = dir ? `CASE WHEN ${dir} IS NULL THEN 99 WHEN ${dir} = 'ingress' THEN 1 ELSE 2 END` : '0';
  e['connection_info.direction_id'] = directionId;
  e['connection_info.direction'] = dir
    ? `CASE WHEN ${dir} IS NULL THEN '-' WHEN ${dir} = 'ingress' THEN ${sqlString(caption('connection_info.direction_id', 1))} ELSE ${sqlString(caption('connection_info.direction_id', 2))} END`
    : sqlString(caption('connection_info.direction_id', 0));
  e['connection_info.protocol_num'] = v('protocol', 'BIGINT');
  e['connection_info.tcp_flags'] = v('tcpFlags', 'BIGINT');
  const type = col('type');
  if (type) {
    // Raw label, no protocol_ver_id: as Security Lake writes it (see to-ocsf.ts).
    e['connection_info.protocol_ver'] = `coalesce(${type}, '-')`;
  }
  const path = col('trafficPath');
  if (path) {
    const captions = [1, 2, 3, 4, 5, 6, 7, 8].map((p) => sqlString(caption('connection_info.boundary_id', p + BOUNDARY_OFFSET)));
    e['connection_info.boundary_id'] = `CASE WHEN ${path} BETWEEN 1 AND 8 THEN ${path} + ${BOUNDARY_OFFSET} ELSE 99 END`;
    e['connection_info.boundary'] = `CASE WHEN ${path} IS NULL THEN '-' WHEN ${path} BETWEEN 1 AND 8 THEN [${captions.join(', ')}][${path}] ELSE CAST(${path} AS VARCHAR) END`;
  }
  e.traffic = { when: `${v('packets', 'BIGINT')} IS NOT NULL OR ${v('bytes', 'BIGINT')} IS NOT NULL` };
  e['traffic.packets'] = v('packets', 'BIGINT');
  e['traffic.bytes'] = v('bytes', 'BIGINT');
  e.status_code = vd('logStatus');
  // ---- observables: every ip and intermediate ip (2), instance_uid unless `-` (10), src side first
  const ipType = sqlString(caption('observables.type_id', 2));
  const uidType = sqlString(caption('observables.type_id', 10));
  const items: { when: string; fields: Record<string, string> }[] = [];
  for (const side of ['src', 'dst'] as const) {
    const p = `${side}_endpoint`;
    const addr = v(side === 'src' ? 'srcaddr' : 'dstaddr');
    const pkt = v(side === 'src' ? 'pktSrcaddr' : 'pktDstaddr');
    const ip = side === 'src' ? '_sip' : '_dip';
    items.push({ when: `${ip} IS NOT NULL`, fields: { name: sqlString(`${p}.ip`), type_id: '2', value: ip, type: ipType } });
    if (has(side === 'src' ? 'srcaddr' : 'dstaddr') && has(side === 'src' ? 'pktSrcaddr' : 'pktDstaddr')) {
      items.push({
        when: `${pkt} IS NOT NULL AND ${addr} IS NOT NULL AND ${addr} <> ${pkt}`,
        fields: { name: sqlString(`${p}.intermediate_ips[]`), type_id: '2', value: addr, type: ipType },
      });
    }
    if (has('instanceId')) {
      items.push({
        when: `${side === 'src' ? 'NOT _ing' : '_ing'} AND ${col('instanceId')} IS NOT NULL`,
        fields: { name: sqlString(`${p}.instance_uid`), type_id: '10', value: col('instanceId')!, type: uidType },
      });
    }
  }
  e.observables = { items };
  // ---- unmapped: the plan's unmapped columns (duplicates: first position, last value), then `-` addresses
  const fixed = new Map<string, string>();
  for (const u of plan.unmapped) fixed.set(u.key, `c${u.index + 1}`);
  const dashAddrs = (
    [
      ['srcaddr', 'srcaddr'],
      ['pktSrcaddr', 'pkt_srcaddr'],
      ['dstaddr', 'dstaddr'],
      ['pktDstaddr', 'pkt_dstaddr'],
    ] as const
  )
    .filter(([k]) => has(k))
    .map(([k, key]) => ({ key, when: `${col(k)} IS NULL` }));
  const fixedKeys = [...fixed.keys()];
  const entry = (key: string, value: string): string => `{'key': ${sqlString(key)}, 'value': ${value}}`;
  const allEntries = [...fixedKeys.map((k) => entry(k, `coalesce(${fixed.get(k)}, '-')`)), ...dashAddrs.map((d) => entry(d.key, `CASE WHEN ${d.when} THEN '-' END`))];
  const general = `map_from_entries(list_filter([${allEntries.join(', ')}], x -> x.value IS NOT NULL))`;
  const anyDash = dashAddrs.map((d) => d.when).join(' OR ');
  if (fixedKeys.length > 0) {
    // Mostly every unmapped value is `-` (sublocation, ecs-*): a constant map then, built once.
    const allDash = fixedKeys.map((k) => `${fixed.get(k)} IS NULL`).join(' AND ');
    const constant = `MAP {${fixedKeys.map((k) => `${sqlString(k)}: '-'`).join(', ')}}`;
    const plain = `map([${fixedKeys.map(sqlString).join(', ')}], [${fixedKeys.map((k) => `coalesce(${fixed.get(k)}, '-')`).join(', ')}])`;
    e.unmapped = anyDash
      ? `CASE WHEN ${anyDash} THEN ${general} WHEN ${allDash} THEN ${constant} ELSE ${plain} END`
      : `CASE WHEN ${allDash} THEN ${constant} ELSE ${plain} END`;
  } else if (anyDash) {
    e.unmapped = `CASE WHEN ${anyDash} THEN ${general} END`;
  }
  // ---- derived by deriveEvent: classification, captions, *_dt
  const cls = classByUid(CLASS_UID_NETWORK_ACTIVITY)!;
  const categoryUid = categoryOfClass(cls)!.uid;
  e.category_uid = String(categoryUid);
  e.type_uid = `${CLASS_UID_NETWORK_ACTIVITY * 100} + _act`;
  e.action = captionCase('action_id', actionId, [0, 1, 2]);
  e.activity_name = captionCase('activity_id', '_act', [0, 5, 6]);
  e.category_name = sqlString(caption('category_uid', categoryUid));
  e.class_name = sqlString(caption('class_uid', CLASS_UID_NETWORK_ACTIVITY));
  e.severity = sqlString(caption('severity_id', 1));
  e.type_name = captionCase('type_uid', `${CLASS_UID_NETWORK_ACTIVITY * 100} + _act`, [0, 5, 6].map((a) => CLASS_UID_NETWORK_ACTIVITY * 100 + a));
  e.start_time_dt = '_sdt';
  e.end_time_dt = '_edt';
  const fallbackDt = formatTimestampMs(ctx.fallbackTimeMs) === undefined ? 'NULL::TIMESTAMP' : `epoch_ms(${Math.floor(ctx.fallbackTimeMs)}::BIGINT)`;
  e.time_dt = start
    ? `CASE WHEN ${start} IS NOT NULL THEN _sdt${end ? ` WHEN ${end} IS NOT NULL THEN _edt` : ''} ELSE ${fallbackDt} END`
    : end
      ? `CASE WHEN ${end} IS NOT NULL THEN _edt ELSE ${fallbackDt} END`
      : fallbackDt;

  const refParser = new RecordParser(plan);
  return {
    lakeSource: 'VPC_FLOW',
    classUid: CLASS_UID_NETWORK_ACTIVITY,
    columns: columnTypes(plan),
    derived,
    time: '_t',
    exprs: e,
    reference(raw: string): OcsfEvent {
      const rec = refParser.parseText(raw);
      if (!rec.ok) throw new Error(`bulk reference: record no longer parses: ${rec.reason}`);
      return deriveEvent(toOcsf(rec, ctx));
    },
  };
}

// ---- reader -------------------------------------------------------------------------------------------

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** Fallbacks for records without region, account or time (as index.ts's mapContext). */
function mapContext(input: SourceInput, hints: SourceHints): MapContext {
  const fromName = hintsFromFileName(input.name);
  return {
    region: hints.region ?? fromName.region,
    accountId: hints.accountId ?? fromName.accountId,
    fallbackTimeMs: fromName.timeMs ?? Date.now(),
  };
}

/** Verdicts of full validation per presence mask (for records whose values are beyond doubt). */
const VERDICT_VALID = 1;
/** Errors or warnings: every record of the mask is validated (and rejected or counted) one by one. */
const VERDICT_CHECK = 2;

/** One format of the input: the scanner, validation verdicts, and the SQL plan built on first use. */
class Format {
  readonly parser: RecordParser;
  /**
   * Validation verdict per presence mask. What the validator checks beyond single values (required
   * attributes, at-least-one constraints such as network_endpoint's) depends only on which attributes
   * an event has, which the mask determines.
   */
  readonly verdicts = new Map<number, number>();
  private sql: BulkPlan | undefined;
  /** Values of the last record when its staged text is not the raw line. */
  values: string[] | undefined;

  constructor(
    readonly plan: FieldPlan,
    private readonly ctx: MapContext,
  ) {
    this.parser = new RecordParser(plan);
  }

  get bulkPlan(): BulkPlan {
    return (this.sql ??= buildPlan(this.plan, this.ctx));
  }

  /**
   * `parser.parseText`, keeping the split values when the line cannot be staged as it is. `plain`: the
   * line is known to contain no `"` and no `\r`.
   */
  parse(line: string, plain: boolean): FlowRecord | FlowReject {
    if (this.plan.delimiter === 'space') {
      const rec = this.parser.parseLine(line);
      if (rec !== undefined) {
        // One-pass scan succeeded: single spaces, no tabs; staged as is unless a value needs quotes.
        this.values = !plain && (line.indexOf('"') >= 0 || line.indexOf('\r') >= 0) ? line.split(' ') : undefined;
        return rec;
      }
      this.values = splitWhitespace(line);
    } else {
      this.values = splitRecord(line, this.plan);
    }
    return this.parser.parse(this.values);
  }
}

/** One decoded piece of the input: whole lines, each followed by `\n` in `bytes` (except a last line without one). */
interface Chunk {
  text: string;
  /** The bytes `text` was decoded from, starting at `base`; set only when they are ASCII (byte = char offsets). */
  bytes: Buffer | undefined;
  base: number;
  /** No `"` and no `\r` anywhere in the text (lines then never need quoting when staged). */
  plain: boolean;
}

/** One line the reader refused (longer than the line limit, or not valid UTF-8): a reject with this reason and raw text. */
interface SkippedLine {
  skipped: true;
  reason: string;
  raw: string;
}

/**
 * The input's text in chunks of whole lines (and lines it refused), and the sha256 of its decompressed bytes when it
 * read them itself. Gives the lines of `input.lines()` (inputs.ts linesOf: `\n` separated, one `\r` before it
 * dropped, a leading BOM dropped; a line longer than `input.maxLineBytes` or not valid UTF-8 refused with the reason
 * line-checks.ts gives), but decodes each chunk in one call, which gives one-byte strings for ASCII text: the
 * streaming TextDecoder behind `lines()` returns two-byte strings, which makes every later string operation
 * (scanning, slicing, joining, writing) about twice as expensive. Reads `input.bytes()` when the ingest offers it
 * (its gzip expansion limit and hash apply), else the file at `input.path`. A line cut at a chunk end waits in a
 * list of pieces joined once (linear time), and is dropped as it streams once it is past the limit.
 */
class ChunkReader {
  /** Only when reading `input.path` itself (`input.bytes()` is hashed by the ingest). */
  private readonly hash: Hash | undefined;
  private digest: string | undefined;
  private readonly max: number;

  constructor(private readonly input: SourceInput) {
    this.hash = input.bytes ? undefined : createHash('sha256');
    this.max = input.maxLineBytes ?? Infinity;
  }

  private stream(): AsyncIterable<Buffer> {
    if (this.input.bytes) return this.input.bytes();
    const file = this.input.path;
    const fd = openSync(file, 'r');
    const magic = Buffer.alloc(2);
    let n = 0;
    try {
      n = readSync(fd, magic, 0, 2, 0);
    } finally {
      closeSync(fd);
    }
    const raw: Readable = createReadStream(file, { highWaterMark: 1 << 20 });
    return n === 2 && magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw;
  }

  private oversize(bytes: number, prefix: string): SkippedLine {
    return { skipped: true, reason: oversizeReason(this.max), raw: oversizeRaw(prefix, bytes) };
  }

  async *chunks(): AsyncGenerator<Chunk | SkippedLine> {
    const max = this.max;
    /** The open line (cut at a chunk end): its pieces, their length and its input offset. */
    let rest: Buffer[] = [];
    let restBytes = 0;
    let restAt = 0;
    /** Dropping an open line past the limit: its length so far and its start. */
    let skipping: { bytes: number; prefix: string } | undefined;
    let first = true;
    let offset = 0;
    const open = (piece: Buffer, at: number): void => {
      if (piece.length > max + 1) skipping = { bytes: piece.length, prefix: oversizePrefix(piece) };
      else {
        rest = [piece];
        restBytes = piece.length;
        restAt = at;
      }
    };
    for await (const c of this.stream()) {
      const buf = c as Buffer;
      this.hash?.update(buf);
      const at = offset;
      offset += buf.length;
      let start = 0;
      if (skipping || restBytes > 0) {
        const nl = buf.indexOf(10);
        if (nl < 0) {
          if (skipping) skipping.bytes += buf.length;
          else {
            rest.push(buf);
            restBytes += buf.length;
            // One line (plus a `\r`) past the limit: keep its start only, drop the rest as it streams.
            if (restBytes > max + 1) {
              skipping = { bytes: restBytes, prefix: oversizePrefix(Buffer.concat(rest.slice(0, 2))) };
              rest = [];
              restBytes = 0;
            }
          }
          continue;
        }
        if (skipping) {
          const cr = nl > 0 && buf[nl - 1] === 13;
          yield this.oversize(skipping.bytes + nl - (cr ? 1 : 0), skipping.prefix);
          skipping = undefined;
        } else {
          // The line cut at the end of the previous chunk: finish it on its own (no copy of the whole chunk).
          rest.push(buf.subarray(0, nl + 1));
          const head = Buffer.concat(rest, restBytes + nl + 1);
          rest = [];
          restBytes = 0;
          yield* this.decode(head, first, restAt);
        }
        first = false;
        start = nl + 1;
      }
      const last = buf.lastIndexOf(10);
      if (last < start) {
        if (start < buf.length) open(buf.subarray(start), at + start);
        continue;
      }
      if (last + 1 < buf.length) open(buf.subarray(last + 1), at + last + 1);
      yield* this.decode(start === 0 ? buf.subarray(0, last + 1) : buf.subarray(start, last + 1), first, at + start);
      first = false;
    }
    if (this.hash) this.digest = this.hash.digest('hex');
    if (skipping) yield this.oversize(skipping.bytes, skipping.prefix);
    else if (restBytes > 0) yield* this.decode(Buffer.concat(rest, restBytes), first, restAt);
  }

  /**
   * Whole lines (each ending with `\n`, but maybe the input's last) at input offset `at` -> chunks; the first one
   * loses a UTF-8 BOM. Text that is not valid UTF-8 is looked at line by line: the bad lines are refused, the others
   * decoded in runs.
   */
  private *decode(bytes: Buffer, first: boolean, at: number): Generator<Chunk | SkippedLine> {
    let start = 0;
    if (first && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
    if (start >= bytes.length) return;
    const region = start === 0 ? bytes : bytes.subarray(start);
    if (isAscii(region)) {
      const text = region.toString('latin1');
      yield { text, bytes: region, base: 0, plain: text.indexOf('"') < 0 && text.indexOf('\r') < 0 };
      return;
    }
    if (isUtf8(region)) {
      yield utf8Chunk(region);
      return;
    }
    let run = 0;
    for (let s = 0; s < region.length; ) {
      let e = region.indexOf(10, s);
      if (e < 0) e = region.length;
      const line = region.subarray(s, e);
      if (!isUtf8(line)) {
        if (s > run) yield utf8Chunk(region.subarray(run, s));
        const body = line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line;
        if (body.length > this.max) yield this.oversize(body.length, oversizePrefix(body));
        else {
          const bad = invalidUtf8At(body);
          yield { skipped: true, reason: invalidUtf8Reason(at + start + s + bad, bad, body[bad]!), raw: rawWithInvalidBytes(body) };
        }
        run = e + 1;
      }
      s = e + 1;
    }
    if (run < region.length) yield utf8Chunk(region.subarray(run));
  }

  /** Available once `chunks()` has run to the end, when it read `input.path` itself. */
  contentHash(): string | undefined {
    return this.digest;
  }
}

function utf8Chunk(bytes: Buffer): Chunk {
  const text = bytes.toString('utf8');
  return { text, bytes: undefined, base: 0, plain: text.indexOf('"') < 0 && text.indexOf('\r') < 0 };
}

class VpcBulkReader implements BulkReader {
  private readonly source: ChunkReader;
  private readonly hasCtxRegion: boolean;
  private readonly hasCtxAccount: boolean;
  private format: Format | undefined;
  private headerText: string | undefined;
  private started = false;
  private lineNo = 0;
  /** The open batch (rows of one plan from the current chunk), and batches ready to yield. */
  private batch: BulkBatch | undefined;
  private readonly ready: BulkBatch[] = [];
  private chunk: Chunk | undefined;
  private readonly maxLineBytes: number;

  constructor(
    input: SourceInput,
    private readonly ctx: MapContext,
  ) {
    this.source = new ChunkReader(input);
    this.maxLineBytes = input.maxLineBytes ?? Infinity;
    this.hasCtxRegion = ctx.region !== undefined;
    this.hasCtxAccount = ctx.accountId !== undefined;
  }

  contentHash(): string | undefined {
    return this.source.contentHash();
  }

  async *batches(): AsyncGenerator<BulkBatch> {
    for await (const chunk of this.source.chunks()) {
      if ('skipped' in chunk) {
        // A line refused unread: quarantined as `input.lines()` would have it, in a batch of its own (no chunk bytes).
        this.chunk = undefined;
        this.reject({ kind: 'reject', line: ++this.lineNo, reason: chunk.reason, raw: chunk.raw });
        this.closeBatch();
        for (const b of this.ready) yield b;
        this.ready.length = 0;
        continue;
      }
      this.chunk = chunk;
      const text = chunk.text;
      const n = text.length;
      let s = 0;
      while (s < n) {
        let nl = text.indexOf('\n', s);
        if (nl < 0) nl = n;
        const cr = nl > s && text.charCodeAt(nl - 1) === 13;
        // Zero-copy staging needs the line's bytes followed directly by its `\n`.
        this.line(text.slice(s, cr ? nl - 1 : nl), chunk.bytes && !cr && nl < n ? chunk.base + s : -1);
        s = nl + 1;
      }
      this.closeBatch();
      for (const b of this.ready) yield b;
      this.ready.length = 0;
    }
  }

  private openBatch(plan: BulkPlan | undefined): BulkBatch {
    const b: BulkBatch = { plan, n: 0, line: [], time: [], region: [], account: [], mask: [], text: [], raw: [], rejects: [], warnings: [] };
    if (this.chunk?.bytes) {
      b.bytes = this.chunk.bytes;
      b.off = [];
    }
    return b;
  }

  private closeBatch(): void {
    if (this.batch && (this.batch.n > 0 || this.batch.rejects.length > 0 || this.batch.warnings.length > 0)) this.ready.push(this.batch);
    this.batch = undefined;
  }

  private reject(r: RejectItem): void {
    (this.batch ??= this.openBatch(undefined)).rejects.push(r);
  }

  /** One line of the input; `off`: its byte offset in the chunk when it can be staged as is (else -1). */
  private line(line: string, off: number): void {
    const ctx = this.ctx;
    const lineNo = ++this.lineNo;
    if (line.length * 3 > this.maxLineBytes && Buffer.byteLength(line) > this.maxLineBytes) {
      const prefix = oversizePrefix(Buffer.from(line.slice(0, OVERSIZE_PREFIX_BYTES)));
      this.reject({ kind: 'reject', line: lineNo, reason: oversizeReason(this.maxLineBytes), raw: oversizeRaw(prefix, Buffer.byteLength(line)) });
      return;
    }
    if (isBlank(line)) return;
    if (!this.started) {
      this.started = true;
      const header = parseHeader(line, lineNo);
      if (header) {
        this.format = new Format(header, ctx);
        this.headerText = line;
        return;
      }
      if (looksLikeDefaultRecord(line)) this.format = new Format(defaultPlan(), ctx);
    }
    const format = this.format;
    if (!format) {
      this.reject({ kind: 'reject', line: lineNo, reason: 'not a VPC flow log: the first line is neither a header of field names nor a default-format record', raw: line });
      return;
    }
    if (line === this.headerText) return;
    const rec = format.parse(line, this.chunk?.plain === true);
    if (!rec.ok) {
      // A header inside the file (deliveries concatenated with `zcat a.gz b.gz`) starts a new format.
      const header = parseHeader(line, lineNo);
      if (header && header.unknown.length === 0) {
        this.format = new Format(header, ctx);
        this.headerText = line;
        return;
      }
      this.reject({ kind: 'reject', line: lineNo, reason: rec.reason, raw: line, ...(rec.field !== undefined ? { field: rec.field } : {}) });
      return;
    }
    const start = rec.start;
    const end = rec.end;
    const region = rec.region !== undefined && rec.region !== '-' ? rec.region : ctx.region;
    const account = rec.accountId !== undefined && rec.accountId !== '-' ? rec.accountId : ctx.accountId;
    const mask = presenceMask(rec, region !== undefined || this.hasCtxRegion, account !== undefined || this.hasCtxAccount);
    const valuesOk = certainlyValid(rec, line.length);
    if (!valuesOk || format.verdicts.get(mask) !== VERDICT_VALID) {
      // Validate as the generic path does: a failure is a reject with its reason, warnings are counted.
      // With values beyond doubt, the verdict holds for every record of this presence mask.
      const ev = deriveEvent(toOcsf(rec, ctx));
      const issues = validateEvent(ev);
      let errors = 0;
      const b = (this.batch ??= this.openBatch(undefined));
      for (const x of issues) {
        if (x.severity === 'warning') b.warnings.push(x.code);
        else errors++;
      }
      if (valuesOk) format.verdicts.set(mask, issues.length === 0 ? VERDICT_VALID : VERDICT_CHECK);
      if (errors > 0) {
        const errs = issues.filter((x) => x.severity === 'error');
        this.reject({ kind: 'reject', line: lineNo, field: errs[0]!.path, reason: `OCSF validation: ${errs.map((x) => x.message).join('; ')}`, raw: JSON.stringify(ev) });
        return;
      }
    }
    const plan = format.bulkPlan;
    let batch = this.batch;
    if (!batch || (batch.plan !== plan && batch.n > 0)) {
      this.closeBatch();
      batch = this.batch = this.openBatch(plan);
    }
    batch.plan = plan;
    const text = format.values ? stagedText(format.values) : line;
    if (text.length > MAX_STAGED_BYTES / 3 && Buffer.byteLength(text) > MAX_STAGED_BYTES - 32) {
      throw new Error(`line ${lineNo} is longer than the bulk path can stage (2 MB); ingest this input with --no-bulk`);
    }
    const i = batch.n++;
    batch.line[i] = lineNo;
    batch.time[i] = start !== undefined ? start * 1000 : end !== undefined ? end * 1000 : ctx.fallbackTimeMs;
    batch.region[i] = region;
    batch.account[i] = account;
    batch.mask[i] = mask;
    batch.text[i] = text;
    batch.raw[i] = line;
    if (batch.off) batch.off[i] = text === line ? off : -1;
  }
}

/**
 * The bulk reader for a text input (header, default format or CSV), or undefined for Parquet (which
 * stays on the generic path).
 */
export async function openBulk(input: SourceInput, hints: SourceHints): Promise<BulkReader | undefined> {
  if (input.isParquet) return undefined;
  return new VpcBulkReader(input, mapContext(input, hints));
}
