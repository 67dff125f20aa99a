/**
 * VPC Flow Logs wire formats -> typed flow records. Pure, no I/O.
 *
 * A flow log's format is a list of field names chosen by its owner (any subset, any order). It is
 * read once, from the header line (text: hyphenated names, space separated; CSV: underscore names,
 * comma separated) or from Parquet column names, and compiled into a {@link FieldPlan}: the column
 * index of every known field (-1 when absent) and the columns that land in `unmapped`.
 * {@link RecordParser} then turns one record's values into a {@link FlowRecord} or a
 * {@link FlowReject} naming the field, without regexes; on the common single-space line it makes one
 * pass, parses numbers from char codes and allocates only the strings it keeps and the record.
 */
import ipaddr from 'ipaddr.js';

// ---- field catalogue --------------------------------------------------------------------------------

/** How a field's value is checked and stored. */
export type FieldKind = 'int' | 'port' | 'ip' | 'str' | 'action' | 'direction' | 'path' | 'unmapped';

export interface FieldSpec {
  /** Flow log version that introduced the field (VPC User Guide; reject-reason from the OCSF v1.5.0 sample). */
  since: number;
  kind: FieldKind;
  /** Inclusive bounds for integer kinds. */
  min?: number;
  max?: number;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Largest Unix-seconds value whose milliseconds are still a valid JavaScript date. */
const MAX_EPOCH_SECONDS = 8_640_000_000_000;

/** Every documented field, by its hyphenated text name. Parquet/CSV use the same names with `_`. */
export const FIELDS: Readonly<Record<string, FieldSpec>> = {
  version: { since: 2, kind: 'int', min: 0, max: 255 },
  'account-id': { since: 2, kind: 'str' },
  'interface-id': { since: 2, kind: 'str' },
  srcaddr: { since: 2, kind: 'ip' },
  dstaddr: { since: 2, kind: 'ip' },
  srcport: { since: 2, kind: 'port', min: 0, max: 65535 },
  dstport: { since: 2, kind: 'port', min: 0, max: 65535 },
  protocol: { since: 2, kind: 'int', min: 0, max: 255 },
  packets: { since: 2, kind: 'int', min: 0, max: MAX_SAFE },
  bytes: { since: 2, kind: 'int', min: 0, max: MAX_SAFE },
  start: { since: 2, kind: 'int', min: 0, max: MAX_EPOCH_SECONDS },
  end: { since: 2, kind: 'int', min: 0, max: MAX_EPOCH_SECONDS },
  action: { since: 2, kind: 'action' },
  'log-status': { since: 2, kind: 'str' },
  'vpc-id': { since: 3, kind: 'str' },
  'subnet-id': { since: 3, kind: 'str' },
  'instance-id': { since: 3, kind: 'str' },
  'tcp-flags': { since: 3, kind: 'int', min: 0, max: 65535 },
  type: { since: 3, kind: 'str' },
  'pkt-srcaddr': { since: 3, kind: 'ip' },
  'pkt-dstaddr': { since: 3, kind: 'ip' },
  region: { since: 4, kind: 'str' },
  'az-id': { since: 4, kind: 'str' },
  'sublocation-type': { since: 4, kind: 'unmapped' },
  'sublocation-id': { since: 4, kind: 'unmapped' },
  'pkt-src-aws-service': { since: 5, kind: 'str' },
  'pkt-dst-aws-service': { since: 5, kind: 'str' },
  'flow-direction': { since: 5, kind: 'direction' },
  'traffic-path': { since: 5, kind: 'path', min: 0, max: 255 },
  'ecs-cluster-arn': { since: 7, kind: 'unmapped' },
  'ecs-cluster-name': { since: 7, kind: 'unmapped' },
  'ecs-container-instance-arn': { since: 7, kind: 'unmapped' },
  'ecs-container-instance-id': { since: 7, kind: 'unmapped' },
  'ecs-container-id': { since: 7, kind: 'unmapped' },
  'ecs-second-container-id': { since: 7, kind: 'unmapped' },
  'ecs-service-name': { since: 7, kind: 'unmapped' },
  'ecs-task-definition-arn': { since: 7, kind: 'unmapped' },
  'ecs-task-arn': { since: 7, kind: 'unmapped' },
  'ecs-task-id': { since: 7, kind: 'unmapped' },
  'reject-reason': { since: 8, kind: 'unmapped' },
};

/** The default format (version 2): used for header-less (CloudWatch Logs style) records. */
export const DEFAULT_V2_FIELDS: readonly string[] = [
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport',
  'protocol', 'packets', 'bytes', 'start', 'end', 'action', 'log-status',
];

/** `account_id` / `${account-id}` / `Account-ID` -> `account-id`. */
export function canonicalName(name: string): string {
  let n = name.trim();
  if (n.startsWith('${') && n.endsWith('}')) n = n.slice(2, -1);
  return n.toLowerCase().replaceAll('_', '-');
}

/** `account-id` -> `account_id` (the key used in `unmapped` and in Parquet). */
export function underscoreName(name: string): string {
  return canonicalName(name).replaceAll('-', '_');
}

// ---- plan ---------------------------------------------------------------------------------------------

/** How the values of one record are separated. `columns`: already split (Parquet rows). */
export type Delimiter = 'space' | 'comma' | 'columns';

/** Column index of every mapped field, -1 when the format does not include it. */
export interface FieldIndex {
  version: number;
  accountId: number;
  interfaceId: number;
  srcaddr: number;
  dstaddr: number;
  srcport: number;
  dstport: number;
  protocol: number;
  packets: number;
  bytes: number;
  start: number;
  end: number;
  action: number;
  logStatus: number;
  vpcId: number;
  subnetId: number;
  instanceId: number;
  tcpFlags: number;
  type: number;
  pktSrcaddr: number;
  pktDstaddr: number;
  region: number;
  azId: number;
  pktSrcAwsService: number;
  pktDstAwsService: number;
  flowDirection: number;
  trafficPath: number;
}

const INDEX_KEY: Readonly<Record<string, keyof FieldIndex>> = {
  version: 'version',
  'account-id': 'accountId',
  'interface-id': 'interfaceId',
  srcaddr: 'srcaddr',
  dstaddr: 'dstaddr',
  srcport: 'srcport',
  dstport: 'dstport',
  protocol: 'protocol',
  packets: 'packets',
  bytes: 'bytes',
  start: 'start',
  end: 'end',
  action: 'action',
  'log-status': 'logStatus',
  'vpc-id': 'vpcId',
  'subnet-id': 'subnetId',
  'instance-id': 'instanceId',
  'tcp-flags': 'tcpFlags',
  type: 'type',
  'pkt-srcaddr': 'pktSrcaddr',
  'pkt-dstaddr': 'pktDstaddr',
  region: 'region',
  'az-id': 'azId',
  'pkt-src-aws-service': 'pktSrcAwsService',
  'pkt-dst-aws-service': 'pktDstAwsService',
  'flow-direction': 'flowDirection',
  'traffic-path': 'trafficPath',
};

export interface FieldPlan {
  delimiter: Delimiter;
  /** Field names as written in the input (used in reject reasons). */
  names: string[];
  /** Number of values every record must have. */
  count: number;
  ix: FieldIndex;
  /** Columns copied to `unmapped` under their underscore name: documented unmapped fields and unknown ones. */
  unmapped: { index: number; key: string }[];
  /** Names the plan does not know (they land in `unmapped`). */
  unknown: string[];
  /** 1-based line of the header (0 for the implied default format or Parquet). */
  headerLine: number;
}

function emptyIndex(): FieldIndex {
  return {
    version: -1, accountId: -1, interfaceId: -1, srcaddr: -1, dstaddr: -1, srcport: -1, dstport: -1, protocol: -1,
    packets: -1, bytes: -1, start: -1, end: -1, action: -1, logStatus: -1, vpcId: -1, subnetId: -1, instanceId: -1,
    tcpFlags: -1, type: -1, pktSrcaddr: -1, pktDstaddr: -1, region: -1, azId: -1, pktSrcAwsService: -1,
    pktDstAwsService: -1, flowDirection: -1, trafficPath: -1,
  };
}

/** Compile a field list (as written) into a plan. Unknown names go to `unmapped`; duplicates: the last wins. */
export function compilePlan(names: readonly string[], delimiter: Delimiter, headerLine = 0): FieldPlan {
  const ix = emptyIndex();
  const unmapped: { index: number; key: string }[] = [];
  const unknown: string[] = [];
  names.forEach((raw, i) => {
    const name = canonicalName(raw);
    const key = INDEX_KEY[name];
    if (key) {
      ix[key] = i;
      return;
    }
    if (!FIELDS[name]) unknown.push(raw);
    unmapped.push({ index: i, key: name.replaceAll('-', '_') });
  });
  return { delimiter, names: [...names], count: names.length, ix, unmapped, unknown, headerLine };
}

/** Count of names in the list that are documented VPC flow log fields. */
export function knownFieldCount(names: readonly string[]): number {
  let n = 0;
  for (const raw of names) if (FIELDS[canonicalName(raw)]) n++;
  return n;
}

/** A header token: a field name (letters, digits, `-`, `_`), optionally written as `${name}`. */
function isNameToken(t: string): boolean {
  let s = 0;
  let e = t.length;
  if (t.startsWith('${') && t.endsWith('}')) {
    s = 2;
    e -= 1;
  }
  if (e - s < 1 || e - s > 64) return false;
  const c0 = t.charCodeAt(s) | 0x20;
  if (c0 < 97 || c0 > 122) return false;
  for (let i = s + 1; i < e; i++) {
    const c = t.charCodeAt(i);
    const l = c | 0x20;
    if (!((l >= 97 && l <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95)) return false;
  }
  return true;
}

/**
 * The plan declared by a header line, or undefined if the line is not a header: every token must be a
 * name and at least one must be a documented field. Comma-separated lines are CSV headers.
 */
export function parseHeader(line: string, headerLine: number): FieldPlan | undefined {
  const text = line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
  const comma = text.includes(',');
  const tokens = comma ? text.split(',').map((t) => unquote(t.trim())) : splitWhitespace(text);
  if (tokens.length === 0) return undefined;
  for (const t of tokens) if (!isNameToken(t)) return undefined;
  if (knownFieldCount(tokens) === 0) return undefined;
  return compilePlan(tokens, comma ? 'comma' : 'space', headerLine);
}

const ACCOUNT_LIKE = (s: string): boolean => s === 'unknown' || s === '-' || (s.length === 12 && isDigits(s));

/** True when the line is a default-format (v2) record: 14 values with the expected shape. */
export function looksLikeDefaultRecord(line: string): boolean {
  const f = splitWhitespace(line);
  if (f.length !== 14) return false;
  if (!isDigits(f[0]!) || !ACCOUNT_LIKE(f[1]!) || !(f[2]!.startsWith('eni-') || f[2] === '-')) return false;
  if (!isDigits(f[10]!) || !isDigits(f[11]!)) return false;
  const action = f[12];
  if (action !== 'ACCEPT' && action !== 'REJECT' && action !== '-') return false;
  for (const i of [3, 4]) if (f[i] !== '-' && !isIp(f[i]!)) return false;
  return true;
}

/** The default v2 plan (records without a header line). */
export function defaultPlan(): FieldPlan {
  return compilePlan(DEFAULT_V2_FIELDS, 'space', 0);
}

// ---- splitting ----------------------------------------------------------------------------------------

/** Split on runs of spaces/tabs, ignoring leading and trailing blanks. */
export function splitWhitespace(line: string): string[] {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    let c = line.charCodeAt(i);
    while (i < n && (c === 32 || c === 9 || c === 13)) c = line.charCodeAt(++i);
    if (i >= n) break;
    const s = i;
    while (i < n && c !== 32 && c !== 9 && c !== 13) c = line.charCodeAt(++i);
    out.push(line.slice(s, i));
  }
  return out;
}

function unquote(s: string): string {
  return s.length >= 2 && s.charCodeAt(0) === 34 && s.charCodeAt(s.length - 1) === 34 ? s.slice(1, -1).replaceAll('""', '"') : s;
}

/** RFC 4180 split of one CSV line (quoted fields with `""` escapes); only used when a line has quotes. */
function splitCsvQuoted(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else quoted = false;
      } else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * Split one text record into values. Space-delimited records use `split(' ')` and fall back to
 * whitespace-run splitting only when that does not give the expected count of non-empty values
 * (double spaces, tabs, leading/trailing blanks). CSV
 * values that are empty mean "no value" and become `-`.
 */
export function splitRecord(line: string, plan: FieldPlan): string[] {
  if (plan.delimiter === 'comma') {
    const f = line.includes('"') ? splitCsvQuoted(line) : line.split(',');
    for (let i = 0; i < f.length; i++) {
      const v = f[i]!;
      if (v === '') f[i] = '-';
      else if (v.charCodeAt(0) === 32 || v.charCodeAt(v.length - 1) === 32) f[i] = v.trim() || '-';
    }
    return f;
  }
  if (line.indexOf('\t') >= 0) return splitWhitespace(line);
  const f = line.split(' ');
  if (f.length === plan.count) {
    let clean = true;
    for (let i = 0; i < f.length; i++) {
      if (f[i]!.length === 0) {
        clean = false;
        break;
      }
    }
    if (clean) return f;
  }
  return splitWhitespace(line);
}

// ---- value checks -----------------------------------------------------------------------------------

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Non-negative decimal integer, or NaN. No sign, no spaces, at most 16 digits. */
export function parseUint(s: string): number {
  const n = s.length;
  if (n === 0 || n > 16) return Number.NaN;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return Number.NaN;
    v = v * 10 + c;
  }
  return v;
}

/** Dotted-quad IPv4 without leading zeros (as OCSF `ip_t` requires). */
export function isIPv4(s: string): boolean {
  const n = s.length;
  if (n < 7 || n > 15) return false;
  let dots = 0;
  let v = 0;
  let digits = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return false;
      dots++;
      digits = 0;
      v = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return false;
    if (digits === 1 && v === 0) return false;
    v = v * 10 + d;
    if (v > 255) return false;
    digits++;
  }
  return dots === 3 && digits > 0;
}

/**
 * IPv6: a cheap check for the plain hex forms AWS writes (groups of 1-4 hex digits, at most one `::`);
 * anything else with a colon (embedded IPv4, zone id) is decided by ipaddr.js.
 */
export function isIPv6(s: string): boolean {
  const n = s.length;
  if (n < 2 || n > 45) return false;
  let groups = 0;
  let hex = 0;
  let compressed = false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 58) {
      if (i + 1 < n && s.charCodeAt(i + 1) === 58) {
        if (compressed) return false;
        compressed = true;
        if (hex > 0) groups++;
        hex = 0;
        i++;
        continue;
      }
      if (hex === 0) return false;
      groups++;
      hex = 0;
      if (i === n - 1) return false;
      continue;
    }
    const l = c | 0x20;
    if ((c >= 48 && c <= 57) || (l >= 97 && l <= 102)) {
      if (++hex > 4) return false;
      continue;
    }
    if (c === 46 || c === 37) return ipaddr.IPv6.isValid(s);
    return false;
  }
  if (hex > 0) groups++;
  return compressed ? groups <= 7 : groups === 8;
}

export function isIp(s: string): boolean {
  return s.indexOf(':') >= 0 ? isIPv6(s) : isIPv4(s);
}

// ---- records ------------------------------------------------------------------------------------------

export type FlowAction = 'ACCEPT' | 'REJECT' | '-';
export type FlowDirection = 'ingress' | 'egress' | '-';

/**
 * One flow record, checked. `undefined` = the format does not have the field (or, for numbers, the
 * value is `-`). String fields keep `-` as written; addresses are valid IPs or `-`.
 */
export interface FlowRecord {
  ok: true;
  version: string | undefined;
  accountId: string | undefined;
  interfaceId: string | undefined;
  srcaddr: string | undefined;
  dstaddr: string | undefined;
  srcport: number | undefined;
  dstport: number | undefined;
  protocol: number | undefined;
  packets: number | undefined;
  bytes: number | undefined;
  start: number | undefined;
  end: number | undefined;
  action: FlowAction | undefined;
  logStatus: string | undefined;
  vpcId: string | undefined;
  subnetId: string | undefined;
  instanceId: string | undefined;
  tcpFlags: number | undefined;
  type: string | undefined;
  pktSrcaddr: string | undefined;
  pktDstaddr: string | undefined;
  region: string | undefined;
  azId: string | undefined;
  pktSrcAwsService: string | undefined;
  pktDstAwsService: string | undefined;
  flowDirection: FlowDirection | undefined;
  /** 1-8 as documented (other integers are kept), or `-`. */
  trafficPath: number | '-' | undefined;
  /** Values for `unmapped` (underscore keys): sublocation-*, ecs-*, reject-reason, unknown fields. */
  unmapped: Record<string, string> | undefined;
}

export interface FlowReject {
  ok: false;
  /** The offending field as named in the input; undefined for record-level problems. */
  field: string | undefined;
  reason: string;
}

function show(v: string): string {
  return `'${v.length > 64 ? `${v.slice(0, 64)}…` : v}'`;
}

/** Column kinds for the scanner: numbers are parsed from char codes, the rest is sliced. */
const COL_STR = 0;
const COL_NUM = 1;

/** Marks in the numeric scratch array: `-` and "not an integer" (valid values are >= 0). */
const NUM_DASH = -1;
const NUM_BAD = -2;

/**
 * Parses records of one plan. Values are first loaded into per-column scratch arrays (numbers
 * already converted), either by {@link RecordParser.parseLine}'s single pass over a text line or from
 * split values; {@link RecordParser.build} then checks them and creates the record. The first
 * failure of the current record is kept in a field instead of allocating results per value.
 */
export class RecordParser {
  private fail: FlowReject | undefined;
  private readonly colKind: Uint8Array;
  /** Inclusive bounds of number columns, from {@link FIELDS}. */
  private readonly colMin: Float64Array;
  private readonly colMax: Float64Array;
  private readonly nums: Float64Array;
  private readonly vals: string[];

  constructor(readonly plan: FieldPlan) {
    const n = plan.count;
    this.colKind = new Uint8Array(n);
    this.colMin = new Float64Array(n);
    this.colMax = new Float64Array(n);
    this.nums = new Float64Array(n);
    this.vals = new Array<string>(n).fill('');
    for (let i = 0; i < n; i++) {
      const spec = FIELDS[canonicalName(plan.names[i]!)];
      const k = spec?.kind;
      this.colKind[i] = k === 'int' || k === 'port' || k === 'path' ? COL_NUM : COL_STR;
      this.colMin[i] = spec?.min ?? 0;
      this.colMax[i] = spec?.max ?? MAX_SAFE;
    }
  }

  /** Check one text record of this plan's format (space- or comma-separated). */
  parseText(line: string): FlowRecord | FlowReject {
    if (this.plan.delimiter === 'comma') return this.parse(splitRecord(line, this.plan));
    return this.parseLine(line) ?? this.parse(splitWhitespace(line));
  }

  /** Check one record's values (already split). */
  parse(values: readonly string[]): FlowRecord | FlowReject {
    const plan = this.plan;
    if (values.length !== plan.count) return this.countReject(values.length);
    const kinds = this.colKind;
    const nums = this.nums;
    const vals = this.vals;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      vals[i] = v;
      if (kinds[i] === COL_NUM) {
        if (v === '-') nums[i] = NUM_DASH;
        else {
          const n = parseUint(v);
          nums[i] = n === n ? n : NUM_BAD;
        }
      }
    }
    return this.build();
  }

  /**
   * Check one single-space-separated text record in one pass. Returns undefined when the line is not
   * clean (double or trailing blanks, tabs, a non-digit in a number column, another field count): the
   * caller then splits it on whitespace runs and calls {@link RecordParser.parse}, which decides.
   */
  parseLine(line: string): FlowRecord | FlowReject | undefined {
    const count = this.plan.count;
    const kinds = this.colKind;
    const nums = this.nums;
    const vals = this.vals;
    const n = line.length;
    if (line.indexOf('\t') >= 0) return undefined;
    let i = 0;
    let col = 0;
    for (;;) {
      if (col >= count) return undefined;
      const s = i;
      if (kinds[col] === COL_NUM) {
        let v = 0;
        let c = 0;
        while (i < n && (c = line.charCodeAt(i)) !== 32) {
          const d = c - 48;
          if (d < 0 || d > 9) {
            if (c === 45 && i === s && (i + 1 === n || line.charCodeAt(i + 1) === 32)) {
              v = NUM_DASH;
              i++;
              break;
            }
            return undefined;
          }
          v = v * 10 + d;
          i++;
        }
        const len = i - s;
        if (len === 0 || len > 16) return undefined;
        nums[col] = v;
      } else {
        i = line.indexOf(' ', s);
        if (i < 0) i = n;
        if (i === s) return undefined;
        vals[col] = line.slice(s, i);
      }
      col++;
      if (i >= n) break;
      if (++i >= n) return undefined;
    }
    if (col !== count) return undefined;
    return this.build();
  }

  private countReject(got: number): FlowReject {
    const plan = this.plan;
    const where = plan.headerLine > 0 ? ` (header at line ${plan.headerLine})` : plan.delimiter === 'space' ? ' (default format)' : '';
    return { ok: false, field: undefined, reason: `record has ${got} fields, expected ${plan.count}${where}` };
  }

  private setFail(i: number, reason: string): void {
    if (!this.fail) this.fail = { ok: false, field: this.plan.names[i], reason: `${this.plan.names[i]}: ${reason}` };
  }

  private str(i: number): string | undefined {
    return i < 0 ? undefined : this.vals[i];
  }

  private int(i: number): number | undefined {
    if (i < 0) return undefined;
    const min = this.colMin[i]!;
    const max = this.colMax[i]!;
    const n = this.nums[i]!;
    if (n === NUM_DASH) return undefined;
    if (n === NUM_BAD) {
      this.setFail(i, `${show(this.vals[i]!)} is not an integer`);
      return undefined;
    }
    if (n < min || n > max) {
      this.setFail(i, `${n} is out of range ${min}-${max}`);
      return undefined;
    }
    return n;
  }

  /** An address column; `checked` is an address of this record already found valid (pkt-* usually repeat it). */
  private ip(i: number, checked?: string): string | undefined {
    if (i < 0) return undefined;
    const v = this.vals[i]!;
    if (v === checked || v === '-' || isIp(v)) return v;
    this.setFail(i, `${show(v)} is not an IP address`);
    return undefined;
  }

  private action(i: number): FlowAction | undefined {
    if (i < 0) return undefined;
    const v = this.vals[i]!;
    if (v === 'ACCEPT' || v === 'REJECT' || v === '-') return v;
    this.setFail(i, `${show(v)} is not ACCEPT, REJECT or -`);
    return undefined;
  }

  private direction(i: number): FlowDirection | undefined {
    if (i < 0) return undefined;
    const v = this.vals[i]!;
    if (v === 'ingress' || v === 'egress' || v === '-') return v;
    this.setFail(i, `${show(v)} is not ingress, egress or -`);
    return undefined;
  }

  private path(i: number): number | '-' | undefined {
    if (i < 0) return undefined;
    return this.nums[i] === NUM_DASH ? '-' : this.int(i);
  }

  /** Check the loaded values and create the record. */
  private build(): FlowRecord | FlowReject {
    this.fail = undefined;
    const plan = this.plan;
    const ix = plan.ix;
    const version = this.int(ix.version);
    let unmapped: Record<string, string> | undefined;
    const um = plan.unmapped;
    if (um.length > 0) {
      unmapped = {};
      // Unmapped columns are never number columns (see the constructor), so their text is in `vals`.
      for (let k = 0; k < um.length; k++) unmapped[um[k]!.key] = this.vals[um[k]!.index]!;
    }
    const srcaddr = this.ip(ix.srcaddr);
    const dstaddr = this.ip(ix.dstaddr);
    const rec: FlowRecord = {
      ok: true,
      version: version === undefined ? undefined : String(version),
      accountId: this.str(ix.accountId),
      interfaceId: this.str(ix.interfaceId),
      srcaddr,
      dstaddr,
      srcport: this.int(ix.srcport),
      dstport: this.int(ix.dstport),
      protocol: this.int(ix.protocol),
      packets: this.int(ix.packets),
      bytes: this.int(ix.bytes),
      start: this.int(ix.start),
      end: this.int(ix.end),
      action: this.action(ix.action),
      logStatus: this.str(ix.logStatus),
      vpcId: this.str(ix.vpcId),
      subnetId: this.str(ix.subnetId),
      instanceId: this.str(ix.instanceId),
      tcpFlags: this.int(ix.tcpFlags),
      type: this.str(ix.type),
      pktSrcaddr: this.ip(ix.pktSrcaddr, srcaddr),
      pktDstaddr: this.ip(ix.pktDstaddr, dstaddr),
      region: this.str(ix.region),
      azId: this.str(ix.azId),
      pktSrcAwsService: this.str(ix.pktSrcAwsService),
      pktDstAwsService: this.str(ix.pktDstAwsService),
      flowDirection: this.direction(ix.flowDirection),
      trafficPath: this.path(ix.trafficPath),
      unmapped,
    };
    return this.fail ?? rec;
  }
}

// ---- Parquet / row values ---------------------------------------------------------------------------

/** A Parquet/JSON cell as a flow log text value: null -> `-`, numbers as decimal text. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v === '' ? '-' : v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

// ---- file names -----------------------------------------------------------------------------------

export interface NameHints {
  accountId?: string;
  region?: string;
  /** Delivery time from `_YYYYMMDDTHHmmZ_`, epoch ms. */
  timeMs?: number;
}

/** Hints from an S3 delivery file name: `<acct>_vpcflowlogs_<region>_<flow-log-id>_<YYYYMMDDTHHmmZ>_<hash>...`. */
export function hintsFromFileName(name: string): NameHints {
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  const parts = base.split('_');
  const out: NameHints = {};
  const at = parts.indexOf('vpcflowlogs');
  if (at !== 1) return out;
  if (parts[0]!.length === 12 && isDigits(parts[0]!)) out.accountId = parts[0];
  if (parts[2] && /^[a-z]{2}(-[a-z]+)+-\d+$/.test(parts[2])) out.region = parts[2];
  for (let i = 3; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.length === 14 && p[8] === 'T' && p[13] === 'Z' && isDigits(p.slice(0, 8)) && isDigits(p.slice(9, 13))) {
      const ms = Date.UTC(+p.slice(0, 4), +p.slice(4, 6) - 1, +p.slice(6, 8), +p.slice(9, 11), +p.slice(11, 13));
      if (Number.isFinite(ms)) out.timeMs = ms;
      break;
    }
  }
  return out;
}
