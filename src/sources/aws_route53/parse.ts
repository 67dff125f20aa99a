/**
 * Route 53 Resolver query log record: JSON value -> typed record. Pure; returns a result, never throws.
 * Field list: Route 53 Developer Guide, "Resolver query log format" (version 1.1).
 */
import { isPlainObject } from '../ocsf/json-records.js';
import { isIpAddress, parseIsoTime, str } from '../ocsf/values.js';

export interface Route53Answer {
  rdata: string;
  type: string | undefined;
  class: string | undefined;
  /** Keys other than Rdata/Type/Class, kept for `unmapped`. */
  extra: Record<string, unknown>;
}

export interface Route53Record {
  version?: string;
  account_id?: string;
  region?: string;
  vpc_id?: string;
  query_timestamp: string;
  /** `query_timestamp` in ms since the epoch. */
  time: number;
  query_name: string;
  query_type?: string;
  query_class?: string;
  rcode?: string;
  answers: Route53Answer[];
  srcaddr?: string;
  srcport?: number;
  transport?: string;
  srcids: Record<string, string>;
  firewall_rule_action?: string;
  firewall_rule_group_id?: string;
  firewall_domain_list_id?: string;
  /** Top-level keys this parser does not know, for `unmapped`. */
  extra: Record<string, unknown>;
}

export type ParseResult<T> = { ok: true; record: T } | { ok: false; field: string; reason: string };

const STRING_FIELDS = [
  'version',
  'account_id',
  'region',
  'vpc_id',
  'query_type',
  'query_class',
  'rcode',
  'srcaddr',
  'transport',
  'firewall_rule_action',
  'firewall_rule_group_id',
  'firewall_domain_list_id',
] as const;

const KNOWN = new Set<string>([...STRING_FIELDS, 'query_timestamp', 'query_name', 'answers', 'srcport', 'srcids']);

function fail(field: string, reason: string): { ok: false; field: string; reason: string } {
  return { ok: false, field, reason: `${field}: ${reason}` };
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return `'${s.length > 80 ? `${s.slice(0, 80)}…` : s}'`;
}

/** Parse one decoded JSON value as a Resolver query log record. */
export function parseRoute53(value: unknown): ParseResult<Route53Record> {
  if (!isPlainObject(value)) return fail('record', `not a JSON object (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`);
  const ts = value.query_timestamp;
  if (ts === undefined || ts === null || ts === '') return fail('query_timestamp', 'missing');
  if (typeof ts !== 'string') return fail('query_timestamp', `${show(ts)} is not a string`);
  const time = parseIsoTime(ts);
  if (time === undefined) return fail('query_timestamp', `${show(ts)} is not an ISO-8601 timestamp`);
  const qn = value.query_name;
  if (qn === undefined || qn === null || qn === '') return fail('query_name', 'missing');
  if (typeof qn !== 'string') return fail('query_name', `${show(qn)} is not a string`);

  const strings: Partial<Record<(typeof STRING_FIELDS)[number], string>> = {};
  for (const f of STRING_FIELDS) {
    const v = value[f];
    if (v === undefined || v === null || v === '') continue;
    const s = str(v);
    if (s === undefined) return fail(f, `${show(v)} is not a string`);
    strings[f] = s;
  }
  // Built with every key in one literal so all records share one object shape.
  const rec: Route53Record = {
    version: strings.version,
    account_id: strings.account_id,
    region: strings.region,
    vpc_id: strings.vpc_id,
    query_timestamp: ts,
    time,
    query_name: qn,
    query_type: strings.query_type,
    query_class: strings.query_class,
    rcode: strings.rcode,
    answers: [],
    srcaddr: strings.srcaddr,
    srcport: undefined,
    transport: strings.transport,
    srcids: {},
    firewall_rule_action: strings.firewall_rule_action,
    firewall_rule_group_id: strings.firewall_rule_group_id,
    firewall_domain_list_id: strings.firewall_domain_list_id,
    extra: {},
  };
  if (rec.srcaddr !== undefined && !isIpAddress(rec.srcaddr)) return fail('srcaddr', `${show(rec.srcaddr)} is not an IP address`);

  const sp = value.srcport;
  if (sp !== undefined && sp !== null && sp !== '' && sp !== '-') {
    const n = typeof sp === 'number' ? sp : typeof sp === 'string' && /^\d{1,5}$/.test(sp) ? Number(sp) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > 65535) return fail('srcport', `${show(sp)} is not a port number`);
    rec.srcport = n;
  }

  const answers = value.answers;
  if (answers !== undefined && answers !== null) {
    if (!Array.isArray(answers)) return fail('answers', `${show(answers)} is not an array`);
    for (let i = 0; i < answers.length; i++) {
      const a: unknown = answers[i];
      if (!isPlainObject(a)) return fail(`answers[${i}]`, `${show(a)} is not an object`);
      const extra: Record<string, unknown> = {};
      let rdata: string | undefined;
      let type: string | undefined;
      let cls: string | undefined;
      for (const k in a) {
        const v = a[k];
        const lk = k.toLowerCase();
        if (lk === 'rdata' && typeof v === 'string') rdata = v;
        else if (lk === 'type' && typeof v === 'string') type = v;
        else if (lk === 'class' && typeof v === 'string') cls = v;
        else extra[k] = v;
      }
      if (rdata === undefined) return fail(`answers[${i}].Rdata`, 'missing');
      rec.answers.push({ rdata, type, class: cls, extra });
    }
  }

  const srcids = value.srcids;
  if (srcids !== undefined && srcids !== null) {
    if (!isPlainObject(srcids)) return fail('srcids', `${show(srcids)} is not an object`);
    for (const k in srcids) {
      const v = srcids[k];
      const s = str(v);
      if (s !== undefined) rec.srcids[k] = s;
      else if (v !== null && v !== undefined && v !== '') return fail(`srcids.${k}`, `${show(v)} is not a string`);
    }
  }

  // src_endpoint is required by DNS Activity and needs an ip or an instance id.
  if (rec.srcaddr === undefined && rec.srcids.instance === undefined) return fail('srcaddr', 'missing (and no srcids.instance)');

  for (const k in value) if (!KNOWN.has(k)) rec.extra[k] = value[k];
  return { ok: true, record: rec };
}
