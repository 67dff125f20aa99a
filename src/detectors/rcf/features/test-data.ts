/**
 * Raw logs for the feature tests (not shipped API): VPC flow log lines (version-5 custom format), Route 53 Resolver
 * query log lines, CloudTrail records and third-party OCSF host events, written as files the ingest reads. The
 * tests compute the expected features from these by hand.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const VPC = 'vpc-0123456789abcdef0';
/** 2024-03-01T00:00:00Z, the start of window 0. */
export const T0 = Date.UTC(2024, 2, 1);
export const HOUR = 3_600_000;
export const MIN = 60_000;

export const FLOW_HEADER =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id ' +
  'instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service ' +
  'flow-direction traffic-path';

export interface TestInstance {
  id: string;
  ip: string;
  subnet: string;
  eni: string;
}

export const A: TestInstance = { id: 'i-0aaaaaaaaaaaaaaa1', ip: '10.0.1.10', subnet: 'subnet-0aaaaaaaaaaaaaaa1', eni: 'eni-0aaaaaaaaaaaaaaa1' };
export const B: TestInstance = { id: 'i-0bbbbbbbbbbbbbbb2', ip: '10.0.3.30', subnet: 'subnet-0bbbbbbbbbbbbbbb2', eni: 'eni-0bbbbbbbbbbbbbbb2' };

export interface Flow {
  at: TestInstance;
  dir: 'ingress' | 'egress';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  bytes: number;
  packets: number;
  /** Event time (ms); the record's start is this in seconds. */
  t: number;
  action?: 'ACCEPT' | 'REJECT';
}

/** A version-5 flow log record with every field (the interface's instance on the logging side). */
export function flowLine(f: Flow): string {
  const start = Math.floor(f.t / 1000);
  return [
    5, ACCOUNT, f.at.eni, f.src, f.dst, f.sport, f.dport, 6, f.packets, f.bytes, start, start + 30, f.action ?? 'ACCEPT', 'OK', VPC, f.at.subnet,
    f.at.id, 2, 'IPv4', f.src, f.dst, REGION, 'use1-az1', '-', '-', '-', '-', f.dir, f.dir === 'egress' ? 1 : '-',
  ].join(' ');
}

export function writeFlows(dir: string, name: string, flows: readonly Flow[]): string {
  const file = path.join(dir, `${ACCOUNT}_vpcflowlogs_${REGION}_fl-0123_${name}.log`);
  writeFileSync(file, [FLOW_HEADER, ...flows.map(flowLine)].join('\n') + '\n');
  return file;
}

export interface Query {
  /** Querying instance (srcids.instance), or undefined for a query from an address only. */
  at?: TestInstance;
  src?: string;
  name: string;
  rcode?: string;
  t: number;
}

export function dnsLine(q: Query): string {
  return JSON.stringify({
    version: '1.100000',
    account_id: ACCOUNT,
    region: REGION,
    vpc_id: VPC,
    query_timestamp: new Date(q.t).toISOString().replace('.000Z', 'Z'),
    query_name: q.name,
    query_type: 'A',
    query_class: 'IN',
    rcode: q.rcode ?? 'NOERROR',
    answers: [],
    srcaddr: q.at?.ip ?? q.src ?? '10.0.9.9',
    srcport: '53000',
    transport: 'UDP',
    srcids: q.at ? { instance: q.at.id } : {},
  });
}

export function writeQueries(dir: string, name: string, queries: readonly Query[]): string {
  const file = path.join(dir, `${ACCOUNT}_vpcdnsquerylogs_${VPC}_${name}.log`);
  writeFileSync(file, queries.map(dnsLine).join('\n') + '\n');
  return file;
}

export interface Call {
  /** An IAM user name, or an instance whose role session made the call. */
  user?: string;
  instance?: TestInstance;
  source: string;
  name: string;
  t: number;
  error?: string;
  readOnly?: boolean;
  ip?: string;
}

let callSeq = 0;

export function trailRecord(c: Call): Record<string, unknown> {
  callSeq++;
  const id = `00000000-0000-4000-8000-${String(callSeq).padStart(12, '0')}`;
  const userIdentity = c.instance
    ? {
        type: 'AssumedRole',
        principalId: `AROAEXAMPLE:${c.instance.id}`,
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/app-role/${c.instance.id}`,
        accountId: ACCOUNT,
        accessKeyId: 'ASIAEXAMPLE',
        sessionContext: { sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLE', arn: `arn:aws:iam::${ACCOUNT}:role/app-role`, accountId: ACCOUNT, userName: 'app-role' } },
      }
    : { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: `arn:aws:iam::${ACCOUNT}:user/${c.user}`, accountId: ACCOUNT, userName: c.user };
  const rec: Record<string, unknown> = {
    eventVersion: '1.09',
    userIdentity,
    eventTime: new Date(c.t).toISOString().replace('.000Z', 'Z'),
    eventSource: c.source,
    eventName: c.name,
    awsRegion: REGION,
    sourceIPAddress: c.ip ?? c.instance?.ip ?? '198.51.100.10',
    userAgent: 'test',
    requestParameters: null,
    responseElements: c.name === 'ConsoleLogin' ? { ConsoleLogin: 'Success' } : null,
    requestID: id,
    eventID: id,
    eventType: c.name === 'ConsoleLogin' ? 'AwsConsoleSignIn' : 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  };
  if (c.readOnly !== undefined) rec.readOnly = c.readOnly;
  if (c.error) {
    rec.errorCode = c.error;
    rec.errorMessage = 'denied';
  }
  if (c.name === 'ConsoleLogin') rec.additionalEventData = { LoginTo: 'https://console.aws.amazon.com/', MFAUsed: 'Yes' };
  return rec;
}

export function writeTrail(dir: string, name: string, calls: readonly Call[]): string {
  const file = path.join(dir, `${ACCOUNT}_CloudTrail_${REGION}_${name}.json`);
  writeFileSync(file, JSON.stringify({ Records: calls.map(trailRecord) }) + '\n');
  return file;
}

const HOST_META = { version: '1.1.0', product: { name: 'Acme EDR', vendor_name: 'Acme' }, profiles: ['host'] };

/** A third-party OCSF event of class 1007 (process), 3002 (authentication) or 1001 (file) on a device. */
export function hostEvent(
  classUid: 1007 | 3002 | 1001,
  t: number,
  host: string,
  fields: { activity?: number; process?: string; path?: string; user?: string; failed?: boolean },
): Record<string, unknown> {
  const device = { hostname: host, type_id: 6 };
  const base = { class_uid: classUid, severity_id: 1, time: t, metadata: HOST_META, device };
  if (classUid === 1007) {
    const name = fields.path!.split('/').pop()!;
    return { ...base, activity_id: fields.activity ?? 1, actor: { user: { name: 'root' } }, process: { name, pid: 100, file: { path: fields.path, name, type_id: 1 } } };
  }
  if (classUid === 3002) {
    return { ...base, activity_id: 1, user: { name: fields.user }, status_id: fields.failed ? 2 : 1, service: { name: 'sshd' } };
  }
  return { ...base, activity_id: fields.activity ?? 2, actor: { user: { name: 'root' } }, file: { path: fields.path, name: fields.path!.split('/').pop(), type_id: 1 } };
}

export function writeHostEvents(dir: string, name: string, events: readonly Record<string, unknown>[]): string {
  const file = path.join(dir, `${name}.ocsf.jsonl`);
  writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return file;
}

/** Shannon entropy in bits per character (the tests' reference for seclake_entropy). */
export function entropy(s: string): number {
  const c = new Map<string, number>();
  for (const ch of s) c.set(ch, (c.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of c.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}
