/**
 * Raw log records as AWS writes them, and the S3 object keys AWS delivers them under:
 *
 * - VPC Flow Logs, custom format with every version-5 field (header line first), gzip:
 *   `AWSLogs/<acct>/vpcflowlogs/<region>/YYYY/MM/DD/<acct>_vpcflowlogs_<region>_<fl-id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz`
 * - Route 53 Resolver query logs (JSON lines, format 1.100000), gzip:
 *   `AWSLogs/<acct>/vpcdnsquerylogs/<vpc-id>/YYYY/MM/DD/<acct>_vpcdnsquerylogs_<vpc-id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz`
 * - CloudTrail (`{"Records":[...]}` on one line), gzip:
 *   `AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz`
 *
 * Pure functions: records in, text and keys out.
 */
import { createHash } from 'node:crypto';
import type { Rng } from '../core/rng.js';
import type { DemoEnvironment, Instance } from './environment.js';

export type LogKind = 'vpc_flow' | 'route53' | 'cloudtrail';

/** The OCSF view a record lands in (for labels). */
export type LabelView = 'vpc_flow' | 'route53' | 'cloudtrail_auth' | 'cloudtrail_api' | 'cloudtrail_account';

/** Ties a generated record to an injected attack. */
export interface AttackTag {
  attackId: string;
  view: LabelView;
  /**
   * The entity whose log holds the record (the instance whose interface logged a flow, that sent a DNS query, whose
   * role made an API call; the user who signed in or called): what a behaviour detector attributes it to.
   */
  entity?: string;
  /** With `entity`: the (entity, ip) pair the demo's pair models score this record as, when one scores it. */
  ip?: string;
}

/** One raw record: its event time and its text (a flow log line, a JSON line, or a CloudTrail record). */
export interface RawRecord {
  /** Event time, epoch ms (flow logs: start x 1000). */
  t: number;
  text: string;
  tag?: AttackTag;
}

/** Every field of flow log version 5, in AWS's documented order. */
export const FLOW_FIELDS = [
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes',
  'start', 'end', 'action', 'log-status', 'vpc-id', 'subnet-id', 'instance-id', 'tcp-flags', 'type', 'pkt-srcaddr',
  'pkt-dstaddr', 'region', 'az-id', 'sublocation-type', 'sublocation-id', 'pkt-src-aws-service', 'pkt-dst-aws-service',
  'flow-direction', 'traffic-path',
] as const;

export const FLOW_HEADER = FLOW_FIELDS.join(' ');

export interface FlowSpec {
  /** The instance whose network interface logged the flow. */
  at: Instance;
  direction: 'ingress' | 'egress';
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** 6 TCP, 17 UDP. */
  protocol: number;
  packets: number;
  bytes: number;
  /** Seconds. */
  start: number;
  end: number;
  action: 'ACCEPT' | 'REJECT';
  tcpFlags: number;
  /** Egress only: 1 same VPC, 7 gateway VPC endpoint, 8 internet gateway. */
  trafficPath?: number;
  /** AWS service name of the destination (S3 through the gateway endpoint). */
  dstService?: string;
}

export function flowLine(env: DemoEnvironment, f: FlowSpec): string {
  return flowRecord(env, f.at, f.direction, f.src, f.dst, f.srcPort, f.dstPort, f.protocol, f.packets, f.bytes, f.start, f.end, f.action, f.tcpFlags, f.trafficPath ?? 1, f.dstService ?? '-');
}

/** flowLine with positional arguments (the generator's hot path: no intermediate objects). */
export function flowRecord(
  env: DemoEnvironment,
  i: Instance,
  direction: 'ingress' | 'egress',
  src: string,
  dst: string,
  srcPort: number,
  dstPort: number,
  protocol: number,
  packets: number,
  bytes: number,
  start: number,
  end: number,
  action: 'ACCEPT' | 'REJECT',
  tcpFlags: number,
  trafficPath: number,
  dstService: string,
): string {
  return (
    '5 ' + env.account + ' ' + i.eni + ' ' + src + ' ' + dst + ' ' + srcPort + ' ' + dstPort + ' ' + protocol + ' ' + packets + ' ' + bytes + ' ' +
    start + ' ' + end + ' ' + action + ' OK ' + env.vpcId + ' ' + i.subnet.id + ' ' + i.id + ' ' + (protocol === 6 ? tcpFlags : 0) + ' IPv4 ' +
    src + ' ' + dst + ' ' + env.region + ' ' + i.subnet.azId + ' - - - ' + dstService + ' ' + direction + ' ' +
    (direction === 'egress' ? trafficPath : '-')
  );
}

export type DnsType = 'A' | 'AAAA' | 'TXT' | 'NULL';

export interface DnsSpec {
  at: Instance;
  t: number;
  name: string;
  type?: DnsType;
  rcode?: 'NOERROR' | 'NXDOMAIN';
  answers: string[];
  srcPort: number;
}

export function dnsLine(env: DemoEnvironment, d: DnsSpec): string {
  const type = d.type ?? 'A';
  return JSON.stringify({
    version: '1.100000',
    account_id: env.account,
    region: env.region,
    vpc_id: env.vpcId,
    query_timestamp: isoSeconds(d.t),
    query_name: d.name.endsWith('.') ? d.name : `${d.name}.`,
    query_type: type,
    query_class: 'IN',
    rcode: d.rcode ?? 'NOERROR',
    answers: d.answers.map((a) => ({ Rdata: a, Type: type, Class: 'IN' })),
    srcaddr: d.at.ip,
    srcport: String(d.srcPort),
    transport: 'UDP',
    srcids: { instance: d.at.id, resolver_endpoint: env.resolverEndpoint },
  });
}

/** `2026-11-27T13:05:09Z` (CloudTrail's and Route 53's second precision). */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function uuid(rng: Rng): string {
  const h = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[rng.int(16)];
    return s;
  };
  return `${h(8)}-${h(4)}-4${h(3)}-${'89ab'[rng.int(4)]}${h(3)}-${h(12)}`;
}

/** YYYYMMDDTHHmmZ of an instant (delivery time in AWS object names). */
export function compactStamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}Z`;
}

function datePath(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}`;
}

/** Short deterministic suffix from the content (AWS uses a random one; ours keeps re-generation byte-identical). */
export function contentSuffix(text: string, len: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, len);
}

/** S3 key of a delivered object (relative to the bucket). */
export function objectKey(env: DemoEnvironment, kind: LogKind, deliveredMs: number, text: string): string {
  const stamp = compactStamp(deliveredMs);
  const day = datePath(deliveredMs);
  switch (kind) {
    case 'vpc_flow':
      return `AWSLogs/${env.account}/vpcflowlogs/${env.region}/${day}/${env.account}_vpcflowlogs_${env.region}_${env.flowLogId}_${stamp}_${contentSuffix(text, 8)}.log.gz`;
    case 'route53':
      return `AWSLogs/${env.account}/vpcdnsquerylogs/${env.vpcId}/${day}/${env.account}_vpcdnsquerylogs_${env.vpcId}_${stamp}_${contentSuffix(text, 8)}.log.gz`;
    case 'cloudtrail':
      return `AWSLogs/${env.account}/CloudTrail/${env.region}/${day}/${env.account}_CloudTrail_${env.region}_${stamp}_${contentSuffix(text, 16).toUpperCase()}.json.gz`;
  }
}

/**
 * The object's text and each record's 1-based position as the ingest reports it (flow logs: file line, the header
 * is line 1; Route 53: file line; CloudTrail: index in `Records`). Records are sorted by time (stable).
 */
export function objectText(kind: LogKind, records: RawRecord[]): { text: string; positions: number[] } {
  const order = records.map((_, i) => i).sort((a, b) => records[a]!.t - records[b]!.t || a - b);
  const positions = new Array<number>(records.length);
  let text: string;
  if (kind === 'vpc_flow') {
    const lines = [FLOW_HEADER];
    order.forEach((ri, k) => {
      lines.push(records[ri]!.text);
      positions[ri] = k + 2;
    });
    text = lines.join('\n') + '\n';
  } else if (kind === 'route53') {
    const lines: string[] = [];
    order.forEach((ri, k) => {
      lines.push(records[ri]!.text);
      positions[ri] = k + 1;
    });
    text = lines.join('\n') + '\n';
  } else {
    const parts: string[] = [];
    order.forEach((ri, k) => {
      parts.push(records[ri]!.text);
      positions[ri] = k + 1;
    });
    text = `{"Records":[${parts.join(',')}]}\n`;
  }
  return { text, positions };
}
