/**
 * Labelled attacks injected into the demo traffic. Each attack is a set of raw records (tagged with the attack id,
 * the OCSF view they land in, and the (entity, ip) pair the demo's detectors score for them) plus its ground truth:
 *
 * - `scan`:               new internet addresses (hosting providers) probe the public subnet's instances on common
 *                         ports; most probes are rejected by the security groups, web ports are answered;
 * - `lateral_movement`:   an address in 10.0.99.0/24 — a subnet that does not exist in the VPC — connects to
 *                         application and database hosts (SSH, SMB, PostgreSQL, RDP);
 * - `db_exposed`:         a database host is reached from the internet (PostgreSQL, accepted) and answers with a lot
 *                         of data;
 * - `exfiltration`:       an application or batch host resolves an unknown domain and uploads to a server of a
 *                         foreign hosting provider;
 * - `console_login_new_country`: an employee's console account signs in from a foreign consumer ISP (a country no
 *                         employee logs in from), then enumerates IAM and creates an access key.
 *
 * Those five bring (entity, address) pairs the entity never uses: an entity-IP model (IP Insights) can see them.
 * The behaviour attacks below keep to the entity's usual addresses (or internal neighbours) and change only how much
 * and what it does; only a behaviour model (per-entity features per time window) can see them:
 *
 * - `exfiltration_usual_destination`: an app or batch host uploads 20-100x its busiest hour's egress, for one or two
 *                         hours, to S3 addresses it writes to every day (a bucket of the attacker's in the same region);
 * - `dns_tunnelling`:     an instance sends hundreds to thousands of Route 53 queries of long random labels under one
 *                         registrable domain (TXT/NULL/A, many NXDOMAIN) through the VPC resolver it always uses;
 * - `internal_scan`:      a compromised instance sweeps its own and neighbouring subnets from its usual address (host
 *                         discovery on every address, many ports on the hosts it knows of); its security group's
 *                         least-privilege egress, the network ACLs and the targets' security groups reject most probes;
 * - `api_burst`:          an instance's role (its EC2 session, from its own address) suddenly calls hundreds of
 *                         distinct read APIs (List*, Describe*, Get*, IAM reads), most of them denied.
 *
 * Labels tag every record with the entity whose log holds it (what a behaviour detector attributes it to) and, where
 * one of the demo's pair models scores it, the (entity, ip) pair (labels.ts).
 */
import type { Rng } from '../core/rng.js';
import { ENUMERATION_CALLS, ENUMERATION_SERVICES, deniedCode, type ApiCall } from './api-catalog.js';
import { drawFromNetwork, network, type DemoNetworks } from './asn-pools.js';
import { consoleLogin, INTRUDER_CALLS, instanceRoleCall, roleSessionArn, userApiCall, type RoleCallOptions } from './cloudtrail.js';
import { instancesOf, weighted, type DemoEnvironment, type Instance, type Role, type Tier } from './environment.js';
import { dnsLine, flowRecord, type DnsType, type LabelView, type LogKind, type RawRecord } from './records.js';
import { ephemeralPort, FlowEmitter, HOUR, keyedRng, normalTraffic, type TrafficContext, type VolumeOptions } from './traffic.js';

/** The attacks an entity-IP model can see (new addresses for the entity). */
export const ADDRESS_ATTACK_KINDS = ['scan', 'lateral_movement', 'db_exposed', 'exfiltration', 'console_login_new_country'] as const;
/** The attacks only a behaviour model can see (usual addresses, unusual volume or shape). */
export const BEHAVIOUR_ATTACK_KINDS = ['exfiltration_usual_destination', 'dns_tunnelling', 'internal_scan', 'api_burst'] as const;
export const ATTACK_KINDS = [...ADDRESS_ATTACK_KINDS, ...BEHAVIOUR_ATTACK_KINDS] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];

/** `address`: the attack brings (entity, address) pairs the entity does not use; `behaviour`: it does not. */
export type AttackCategory = 'address' | 'behaviour';

/** Per kind: its category and its longest duration in minutes (the scheduler leaves room for it). */
export const ATTACK_SPECS: Readonly<Record<AttackKind, { category: AttackCategory; maxMinutes: number }>> = {
  scan: { category: 'address', maxMinutes: 5 },
  lateral_movement: { category: 'address', maxMinutes: 10 },
  db_exposed: { category: 'address', maxMinutes: 10 },
  exfiltration: { category: 'address', maxMinutes: 20 },
  console_login_new_country: { category: 'address', maxMinutes: 10 },
  exfiltration_usual_destination: { category: 'behaviour', maxMinutes: 120 },
  dns_tunnelling: { category: 'behaviour', maxMinutes: 60 },
  internal_scan: { category: 'behaviour', maxMinutes: 40 },
  api_burst: { category: 'behaviour', maxMinutes: 20 },
};

/** Options of planAttack. */
export interface PlanOptions {
  /** Longest the attack may last, in ms (the scheduler's room); the long attacks shorten to fit. */
  budgetMs?: number;
  /** The traffic volume of the environment (the exfiltration's "usual" egress is measured at it). */
  volume?: VolumeOptions;
  /**
   * An instance's egress bytes per hour over the day before the attack, sorted (the generator measures them on the
   * history it wrote); default: measured on a day of freshly drawn normal traffic (hourlyEgress).
   */
  usualEgress?: (host: Instance) => number[];
}

export interface AttackPlan {
  id: string;
  kind: AttackKind;
  category: AttackCategory;
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, inclusive (last record's time). */
  end: number;
  /** The entities attacked or used (instance ids, user names). */
  entities: string[];
  ips: string[];
  description: string;
  /** Extra facts for the label (country, network, target names). */
  details: Record<string, unknown>;
  records: { kind: LogKind; rec: RawRecord }[];
}

const SCAN_PORTS = [21, 22, 23, 25, 80, 110, 135, 139, 443, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 9200];
const HOSTING = [14061, 16276, 24940, 20473, 9009];
const FOREIGN_ISPS = [4134, 12389, 45899, 9829];
const EXFIL_HOSTS = [49505, 9009, 24940];

function nameOf(env: DemoEnvironment, entity: string): string {
  return env.instances.find((i) => i.id === entity)?.name ?? entity;
}

/** Tag every record of a flow batch with the pair the instance-peer detector scores (local instance, remote ip). */
function tagFlows(recs: RawRecord[], attackId: string, out: AttackPlan['records']): void {
  for (const r of recs) {
    const f = r.text.split(' ');
    // fields: 2 interface, 3 src, 4 dst, 16 instance-id, 27 flow-direction
    const ingress = f[27] === 'ingress';
    r.tag = { attackId, view: 'vpc_flow', entity: f[16]!, ip: ingress ? f[3]! : f[4]! };
    out.push({ kind: 'vpc_flow', rec: r });
  }
}

function fmtBytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(0)} MB` : `${Math.round(n / 1e3)} kB`;
}

// ---- behaviour attacks: every (entity, address) pair is one the entity uses, or an internal neighbour ------------

/** Internal scan: the discovery probes (ICMP echo = port 0 over protocol 1) and the ports tried on live hosts. */
const DISCOVERY_PORTS = [0, 22, 80, 443, 445, 3389];
const INTERNAL_SCAN_PORTS = [
  21, 22, 23, 25, 53, 80, 88, 110, 111, 135, 139, 143, 389, 443, 445, 636, 993, 995, 1433, 1521, 2049, 2375, 2379, 3000, 3306, 3389,
  5000, 5432, 5601, 5900, 5985, 6379, 6443, 7001, 8000, 8080, 8443, 8888, 9000, 9090, 9200, 9300, 10250, 11211, 15672, 27017,
];

/**
 * Ports the VPC's network ACLs let cross from one tier's subnets to another's (inside one subnet only security groups
 * apply): the web tier to the app tier (8080), the bastion to app and db (22), app and batch to db (5432), db to db
 * (replication). Everything else is denied at the subnet edge and logged REJECT at the sending interface.
 */
function naclAllows(from: Tier, to: Tier, port: number): boolean {
  if (from === 'public' && to === 'app') return port === 8080 || port === 22;
  if (from === 'public' && to === 'db') return port === 22;
  if ((from === 'app' || from === 'db') && to === 'db') return port === 5432;
  return false;
}

/**
 * Least-privilege egress of the scanning instance's security group: what its role needs (web -> app 8080, app and
 * batch -> db 5432) and HTTPS anywhere (S3, third-party APIs); no ICMP. Denied probes are logged REJECT at its interface.
 */
function sgEgressAllows(from: Instance, to: Tier, port: number): boolean {
  if (port === 443) return true;
  if (from.role === 'web') return to === 'app' && port === 8080;
  return (from.role === 'app' || from.role === 'batch') && to === 'db' && port === 5432;
}

/** Whether the target's security group accepts the port from the scanning instance (by role). */
function sgAccepts(target: Instance, from: Instance, port: number): boolean {
  if (port === 22) return from.role === 'bastion';
  switch (target.role) {
    case 'web':
      return port === 80 || port === 443;
    case 'app':
      return port === 8080 && from.role === 'web';
    case 'db':
      return port === 5432 && (from.role === 'app' || from.role === 'batch' || from.role === 'db');
    default:
      return false;
  }
}

const TUNNEL_WORDS = ['cdn-sync', 'telemetry', 'metrics-hub', 'update-check', 'static-assets', 'api-gw', 'cloud-cache', 'edge-stats'];
const TUNNEL_TLDS = ['com', 'net', 'io', 'xyz', 'info', 'top'];
const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
const BOTO3 = [
  'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.79-99.167.amzn2023.x86_64 md/arch#x86_64 lang/python#3.9.16 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69',
  'Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux#5.10.205-195.807.amzn2.x86_64 md/arch#x86_64 lang/python#3.7.16 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.57',
  'aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.167.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off',
];
/** Services with an interface endpoint in the demo VPC (calls to others still show the private address; see cloudtrail.ts). */
const ENDPOINT_SERVICES = new Set(['ec2', 'ssm', 'kms', 'secretsmanager', 'logs', 'sts', 'ecr', 'monitoring']);
/** What each role's instance profile may call (the managed policies SSM, CloudWatch agent, ECR read-only, plus its own). */
const ROLE_ALLOWS: Record<Role, readonly string[]> = {
  web: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:DescribeAssociation', 'ssm:DescribeDocument', 'ssm:ListAssociations', 'ec2:DescribeTags', 'ec2:DescribeVolumes', 'logs:DescribeLogStreams', 'logs:DescribeLogGroups'],
  app: [
    'ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:DescribeAssociation', 'ssm:DescribeDocument', 'ssm:ListAssociations',
    'ec2:DescribeTags', 'ec2:DescribeVolumes', 'logs:DescribeLogStreams', 'logs:DescribeLogGroups', 'kms:DescribeKey', 'secretsmanager:GetSecretValue',
    'secretsmanager:DescribeSecret', 'ecr:GetAuthorizationToken', 'ecr:BatchGetImage', 'ecr:DescribeRepositories', 'ecr:ListImages', 'ecr:DescribeImages',
    'ecr:GetRepositoryPolicy', 'ecr:GetLifecyclePolicy', 'ecr:DescribeImageScanFindings',
  ],
  db: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:DescribeAssociation', 'ssm:ListAssociations', 'ec2:DescribeTags', 'ec2:DescribeVolumes', 'logs:DescribeLogStreams', 'logs:DescribeLogGroups'],
  bastion: ['ssm:GetParameter', 'ssm:DescribeAssociation', 'ssm:ListAssociations', 'ec2:DescribeTags', 'ec2:DescribeInstances', 'ec2:DescribeVolumes', 'logs:DescribeLogGroups'],
  batch: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:ListAssociations', 'ec2:DescribeTags', 'ec2:DescribeVolumes', 'logs:DescribeLogGroups', 's3:ListBuckets', 's3:GetBucketLocation', 'glue:GetDatabases', 'glue:GetTables'],
};

function b32(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += B32[rng.int(32)];
  return s;
}

/** Log-uniform draw in [lo, hi]. */
function logUniform(rng: Rng, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo)));
}

/**
 * An instance's egress bytes per hour over the 24 hours before `before` (hourly windows of freshly drawn normal
 * traffic with the same volume: the process the history comes from, not the history itself), sorted ascending.
 */
export function hourlyEgress(ctx: TrafficContext, host: Instance, before: number): number[] {
  const end = Math.floor(before / HOUR) * HOUR;
  const out: number[] = [];
  for (let w = end - 24 * HOUR; w < end; w += HOUR) {
    const recs = normalTraffic(ctx, w, w + HOUR, keyedRng(ctx.env.seed, 0xe9e5, Math.floor(w / HOUR), 5)).flow;
    let bytes = 0;
    for (const r of recs) {
      if (!r.text.includes(host.id)) continue;
      const f = r.text.split(' ');
      if (f[16] === host.id && f[27] === 'egress') bytes += Number(f[9]);
    }
    out.push(bytes);
  }
  return out.sort((a, b) => a - b);
}

/** A flow record at the scanner's or a target's interface for one probe (SYN, no payload). */
function probeRecord(env: DemoEnvironment, at: Instance, direction: 'ingress' | 'egress', src: string, dst: string, sport: number, port: number, t: number, action: 'ACCEPT' | 'REJECT', rng: Rng, reply = false): RawRecord {
  const proto = port === 0 ? 1 : 6;
  const s = Math.floor(t / 1000);
  const packets = 1 + (rng.next() < 0.3 ? 1 : 0);
  const flags = reply ? 18 : 2; // SYN-ACK : SYN
  return { t: s * 1000, text: flowRecord(env, at, direction, src, dst, proto === 1 ? 0 : sport, port, proto, packets, packets * (proto === 1 ? 84 : 60), s, s + (packets > 1 ? 1 : 0), action, flags, 1, '-') };
}

export function planAttack(env: DemoEnvironment, nets: DemoNetworks, kind: AttackKind, id: string, start: number, rng: Rng, o: PlanOptions = {}): AttackPlan {
  const budget = o.budgetMs;
  const records: AttackPlan['records'] = [];
  const flowsOut: RawRecord[] = [];
  const flows = new FlowEmitter(env, flowsOut);
  const take = (): RawRecord[] => flowsOut.splice(0, flowsOut.length);
  let entities: string[] = [];
  let ips: string[] = [];
  let description = '';
  const details: Record<string, unknown> = {};
  switch (kind) {
    case 'scan': {
      const targets = env.instances.filter((i) => i.subnet.tier === 'public');
      const n = 2 + rng.int(2);
      const scanners: string[] = [];
      for (let k = 0; k < n; k++) scanners.push(drawFromNetwork(network(nets, HOSTING[rng.int(HOSTING.length)]!), rng));
      let t = start;
      for (const s of scanners) {
        for (const target of targets) {
          for (const port of SCAN_PORTS) {
            t += 50 + rng.int(400);
            const open = (target.role === 'web' && (port === 80 || port === 443));
            flows.conversation(rng, { t, client: s, server: target, port, reqBytes: 60 + rng.int(200), respBytes: 300 + rng.int(1500), durationS: 1, action: open ? 'ACCEPT' : 'REJECT' });
          }
        }
      }
      tagFlows(take(), id, records);
      entities = targets.map((i) => i.id);
      ips = scanners;
      description = `port scan of the public subnet (${targets.map((i) => i.name).join(', ')}) from ${scanners.length} hosting-provider addresses`;
      details.networks = scanners.length;
      break;
    }
    case 'lateral_movement': {
      const src = `10.0.99.${10 + rng.int(200)}`;
      const targets = [...instancesOf(env, 'app'), ...instancesOf(env, 'db')];
      let t = start;
      for (const target of targets) {
        for (const port of [22, 445, 3389, 5432]) {
          t += 500 + rng.int(5000);
          const ok = (port === 22) || (port === 5432 && target.role === 'db');
          flows.conversation(rng, { t, client: src, server: target, port, reqBytes: 200 + rng.int(3000), respBytes: 400 + rng.int(20_000), durationS: 3, action: ok ? 'ACCEPT' : 'REJECT' });
        }
      }
      tagFlows(take(), id, records);
      entities = targets.map((i) => i.id);
      ips = [src];
      description = `connections from ${src}, in 10.0.99.0/24 (no such subnet in the VPC), to ${targets.map((i) => i.name).join(', ')}`;
      details.subnet = '10.0.99.0/24';
      break;
    }
    case 'db_exposed': {
      const db = instancesOf(env, 'db')[0]!;
      const asn = HOSTING[rng.int(HOSTING.length)]!;
      const src = drawFromNetwork(network(nets, asn), rng);
      let t = start;
      const n = 6 + rng.int(6);
      for (let k = 0; k < n; k++) {
        t += 5_000 + rng.int(40_000);
        const dump = k >= n - 2;
        flows.conversation(rng, { t, client: src, server: db, port: 5432, reqBytes: 300 + rng.int(2000), respBytes: dump ? 20_000_000 + rng.int(80_000_000) : 500 + rng.int(3000), durationS: dump ? 59 : 2 });
      }
      tagFlows(take(), id, records);
      entities = [db.id];
      ips = [src];
      description = `${db.name} (PostgreSQL) reached from the internet (${src}, AS${asn} ${network(nets, asn).name}) and dumped`;
      details.asn = asn;
      details.network = network(nets, asn).name;
      break;
    }
    case 'exfiltration': {
      const candidates: Instance[] = [...instancesOf(env, 'app'), ...instancesOf(env, 'batch')];
      const host = candidates[rng.int(candidates.length)]!;
      const asn = EXFIL_HOSTS[rng.int(EXFIL_HOSTS.length)]!;
      const dst = drawFromNetwork(network(nets, asn), rng);
      const domain = `cdn-${(rng.nextU32() >>> 0).toString(36)}.sync-files.top`;
      const dnsRec: RawRecord = { t: Math.floor(start / 1000) * 1000, text: dnsLine(env, { at: host, t: start, name: domain, answers: [dst], srcPort: ephemeralPort(rng) }), tag: { attackId: id, view: 'route53', entity: host.id } };
      records.push({ kind: 'route53', rec: dnsRec });
      let t = start + 2_000;
      const n = 8 + rng.int(8);
      for (let k = 0; k < n; k++) {
        t += 10_000 + rng.int(60_000);
        flows.conversation(rng, { t, client: host, server: dst, port: 443, reqBytes: 5_000_000 + rng.int(50_000_000), respBytes: 2000 + rng.int(5000), durationS: 59 });
      }
      tagFlows(take(), id, records);
      entities = [host.id];
      ips = [dst];
      const net = network(nets, asn);
      description = `${host.name} resolved ${domain} and uploaded to ${dst} (AS${asn} ${net.name}, ${net.country})`;
      details.asn = asn;
      details.network = net.name;
      details.country = net.country;
      details.domain = domain;
      break;
    }
    case 'console_login_new_country': {
      const u = env.users[rng.int(env.users.length)]!;
      const asn = FOREIGN_ISPS[rng.int(FOREIGN_ISPS.length)]!;
      const net = network(nets, asn);
      const ip = drawFromNetwork(net, rng);
      const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36';
      const login: RawRecord = { t: Math.floor(start / 1000) * 1000, text: consoleLogin(env, rng, u, start, ip, ua), tag: { attackId: id, view: 'cloudtrail_auth', entity: u.name, ip } };
      records.push({ kind: 'cloudtrail', rec: login });
      let t = start;
      for (const call of INTRUDER_CALLS) {
        t += 15_000 + rng.int(60_000);
        const view: LabelView = call[1] === 'CreateAccessKey' ? 'cloudtrail_account' : 'cloudtrail_api';
        records.push({ kind: 'cloudtrail', rec: { t: Math.floor(t / 1000) * 1000, text: userApiCall(env, rng, u, t, ip, ua, call), tag: { attackId: id, view, entity: u.name } } });
      }
      entities = [u.name];
      ips = [ip];
      description = `console sign-in as ${u.name} from ${ip} (AS${asn} ${net.name}, ${net.country}; the user normally signs in from the US), then IAM enumeration and a new access key`;
      details.user = u.name;
      details.asn = asn;
      details.network = net.name;
      details.country = net.country;
      break;
    }
    case 'exfiltration_usual_destination': {
      const candidates: Instance[] = [...instancesOf(env, 'app'), ...instancesOf(env, 'batch')];
      const host = candidates[rng.int(candidates.length)]!;
      let hourly = o.usualEgress?.(host) ?? [];
      if (hourly.length === 0) hourly = hourlyEgress({ env, nets, ...(o.volume ? { volume: o.volume } : {}) }, host, start);
      // 20-100x its busiest hour of the day before: beyond anything it does, at any hour (the batch host's nightly
      // export is 30-60x its daytime hours).
      const busiest = Math.max(1, hourly[hourly.length - 1]!);
      const median = hourly[Math.floor(hourly.length / 2)]!;
      const multiplier = logUniform(rng, 20, 100);
      const durMs = Math.max(10 * 60_000, Math.min(budget ?? Infinity, (60 + rng.int(61)) * 60_000));
      const total = multiplier * busiest * (durMs / HOUR);
      // Multipart upload to the attacker's bucket in the same region: the addresses are S3's, which the host writes to daily.
      const dsts: string[] = [];
      for (let k = 1 + rng.int(3); dsts.length < k; ) {
        const ip = env.s3Ips[rng.int(env.s3Ips.length)]!;
        if (!dsts.includes(ip)) dsts.push(ip);
      }
      const bucket = `${['db-backup', 'archive', 'logs-export', 'snapshots'][rng.int(4)]}-${(rng.nextU32() >>> 8).toString(16)}`;
      records.push({ kind: 'route53', rec: { t: Math.floor(start / 1000) * 1000, text: dnsLine(env, { at: host, t: start, name: `${bucket}.s3.${env.region}.amazonaws.com`, answers: [dsts[0]!], srcPort: ephemeralPort(rng) }), tag: { attackId: id, view: 'route53', entity: host.id } } });
      const streams = 1 + rng.int(4);
      const n = Math.max(streams, Math.round((streams * durMs) / 60_000));
      let sent = 0;
      for (let k = 0; k < n; k++) {
        const t = start + 2_000 + Math.floor(((k + rng.next()) / n) * (durMs - 4_000));
        const bytes = Math.max(1_000_000, Math.round((total / n) * (0.7 + 0.6 * rng.next())));
        sent += bytes;
        flows.conversation(rng, { t, client: host, server: dsts[rng.int(dsts.length)]!, port: 443, reqBytes: bytes, respBytes: 4000 + rng.int(20_000), clientPath: 7, dstService: 'S3', durationS: 59 });
      }
      tagFlows(take(), id, records);
      entities = [host.id];
      ips = dsts;
      description = `${host.name} uploaded ${fmtBytes(sent)} in ${Math.round(durMs / 60_000)} min to S3 (${dsts.join(', ')}, addresses it writes to every day; bucket ${bucket}): ${Math.round(multiplier)}x the egress of its busiest hour the day before (${fmtBytes(busiest)}; median hour ${fmtBytes(median)})`;
      Object.assign(details, { bytes: sent, minutes: Math.round(durMs / 60_000), multiplier: Math.round(multiplier * 10) / 10, usual_hourly_bytes_max: busiest, usual_hourly_bytes_median: median, bucket, streams });
      break;
    }
    case 'dns_tunnelling': {
      const candidates = env.instances.filter((i) => i.role !== 'db');
      const host = candidates[rng.int(candidates.length)]!;
      const domain = `${TUNNEL_WORDS[rng.int(TUNNEL_WORDS.length)]}${10 + rng.int(990)}.${TUNNEL_TLDS[rng.int(TUNNEL_TLDS.length)]}`;
      const n = Math.round(logUniform(rng, 300, 3000));
      const durMs = Math.max(5 * 60_000, Math.min(budget ?? Infinity, (15 + rng.int(46)) * 60_000));
      const nxShare = 0.3 + 0.5 * rng.next();
      // A tool profile: dnscat2-like (TXT, some A), iodine-like (NULL, some A), or mixed.
      const profile: [DnsType, number][] = [
        [['TXT', 0.75], ['A', 0.25]],
        [['NULL', 0.8], ['A', 0.2]],
        [['TXT', 0.5], ['NULL', 0.2], ['A', 0.3]],
      ][rng.int(3)] as [DnsType, number][];
      const session = b32(rng, 4);
      let nx = 0;
      for (let k = 0; k < n; k++) {
        const t = start + Math.floor(((k + rng.next()) / n) * durMs);
        const labels: string[] = [];
        const dataLabels = 1 + rng.int(3);
        for (let d = 0; d < dataLabels; d++) labels.push(b32(rng, 30 + rng.int(34)));
        const name = `${labels.join('.')}.${k.toString(16)}${session}.${domain}`;
        const type = weighted(profile, rng);
        const nxd = rng.next() < nxShare;
        if (nxd) nx++;
        const answers = nxd ? [] : type === 'A' ? [`${100 + rng.int(100)}.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`] : [type === 'TXT' ? `"${b32(rng, 60 + rng.int(140))}"` : b32(rng, 40 + rng.int(80))];
        records.push({ kind: 'route53', rec: { t: Math.floor(t / 1000) * 1000, text: dnsLine(env, { at: host, t, name, type, rcode: nxd ? 'NXDOMAIN' : 'NOERROR', answers, srcPort: ephemeralPort(rng) }), tag: { attackId: id, view: 'route53', entity: host.id } } });
      }
      entities = [host.id];
      ips = [host.ip];
      description = `${host.name} sent ${n} Route 53 queries of long random labels under ${domain} in ${Math.round(durMs / 60_000)} min (${profile.map(([t]) => t).join('/')}, ${Math.round((100 * nx) / n)}% NXDOMAIN), through the VPC resolver it always uses`;
      Object.assign(details, { domain, queries: n, minutes: Math.round(durMs / 60_000), nxdomain_share: Math.round((1000 * nx) / n) / 1000, types: profile.map(([t]) => t) });
      break;
    }
    case 'internal_scan': {
      const candidates = env.instances.filter((i) => i.role === 'app' || i.role === 'web' || i.role === 'batch');
      const scanner = candidates[rng.int(candidates.length)]!;
      // Its own subnet and one or two neighbours: the same tier in the other AZ, and a tier it talks to.
      const talksTo: Record<Tier, Tier[]> = { public: ['app'], app: ['db', 'public'], db: ['db'] };
      const others = env.subnets.filter((s) => s !== scanner.subnet && (s.tier === scanner.subnet.tier || talksTo[scanner.subnet.tier].includes(s.tier)));
      const subnets = [scanner.subnet];
      for (let k = 1 + rng.int(2); k > 0 && others.length > 0; k--) subnets.push(others.splice(rng.int(others.length), 1)[0]!);
      const byIp = new Map(env.instances.map((i) => [i.ip, i]));
      const discovery = DISCOVERY_PORTS.filter(() => rng.next() < 0.7);
      if (discovery.length < 2) discovery.push(0, 443);
      const deep = INTERNAL_SCAN_PORTS.filter(() => rng.next() < 0.35 + 0.5 * rng.next());
      const probes: { ip: string; port: number }[] = [];
      for (const s of subnets) {
        // Its own subnet whole (.4-.254; AWS keeps .0-.3 and .255), a block of each neighbour.
        const count = s === scanner.subnet ? 251 : 60 + rng.int(192);
        const first = s === scanner.subnet ? 4 : 4 + rng.int(252 - count);
        for (let h = first; h < first + count; h++) {
          const ip = `${s.prefix}.${h}`;
          if (ip === scanner.ip) continue;
          for (const port of discovery) probes.push({ ip, port });
          // The hosts it knows of (its ARP cache, the internal zone's names) get the long port list.
          if (byIp.has(ip)) for (const port of deep) if (!discovery.includes(port)) probes.push({ ip, port });
        }
      }
      while (probes.length > 5000) probes.splice(rng.int(probes.length), 1);
      const durMs = Math.max(3 * 60_000, Math.min(budget ?? Infinity, (8 + rng.int(33)) * 60_000));
      const sport = ephemeralPort(rng);
      const out: RawRecord[] = [];
      let rejected = 0;
      const hit = new Set<string>();
      probes.forEach((p, k) => {
        const t = start + Math.floor(((k + rng.next()) / probes.length) * durMs);
        const target = byIp.get(p.ip);
        const tier = env.subnets.find((s) => p.ip.startsWith(`${s.prefix}.`))!.tier;
        const cross = !p.ip.startsWith(`${scanner.subnet.prefix}.`);
        if (!sgEgressAllows(scanner, tier, p.port) || (cross && !naclAllows(scanner.subnet.tier, tier, p.port))) {
          out.push(probeRecord(env, scanner, 'egress', scanner.ip, p.ip, sport, p.port, t, 'REJECT', rng));
          rejected++;
          return;
        }
        out.push(probeRecord(env, scanner, 'egress', scanner.ip, p.ip, sport, p.port, t, 'ACCEPT', rng));
        if (!target) return;
        hit.add(target.id);
        if (p.port !== 0 && sgAccepts(target, scanner, p.port)) {
          out.push(probeRecord(env, target, 'ingress', scanner.ip, p.ip, sport, p.port, t, 'ACCEPT', rng));
          out.push(probeRecord(env, target, 'egress', p.ip, scanner.ip, p.port, sport, t, 'ACCEPT', rng, true));
          out.push(probeRecord(env, scanner, 'ingress', p.ip, scanner.ip, p.port, sport, t, 'ACCEPT', rng, true));
        } else {
          out.push(probeRecord(env, target, 'ingress', scanner.ip, p.ip, sport, p.port, t, 'REJECT', rng));
          rejected++;
        }
      });
      tagFlows(out, id, records);
      entities = [scanner.id, ...[...hit].filter((e) => e !== scanner.id)];
      ips = [scanner.ip];
      const addresses = new Set(probes.map((p) => p.ip)).size;
      const ports = new Set(probes.map((p) => p.port)).size;
      description = `${scanner.name} (${scanner.ip}, its own address) probed ${addresses} addresses of ${subnets.map((s) => s.name).join(', ')} on ${ports} ports in ${Math.round(durMs / 60_000)} min: ${probes.length} probes, ${Math.round((100 * rejected) / probes.length)}% rejected`;
      Object.assign(details, { scanner: scanner.name, subnets: subnets.map((s) => s.cidr), addresses, ports, probes: probes.length, rejected_share: Math.round((1000 * rejected) / probes.length) / 1000, minutes: Math.round(durMs / 60_000) });
      break;
    }
    case 'api_burst': {
      const apps = instancesOf(env, 'app');
      const host = rng.next() < 0.5 ? apps[rng.int(apps.length)]! : env.instances[rng.int(env.instances.length)]!;
      const allowed = new Set(ROLE_ALLOWS[host.role]);
      allowed.add('sts:GetCallerIdentity');
      // Some roles carry more than they need (a ReadOnly policy on a service or two).
      const services = [...ENUMERATION_SERVICES];
      const extra: string[] = [];
      for (let k = rng.int(4); k > 0; k--) extra.push(services[rng.int(services.length)]!.replace(/\.amazonaws\.com$/, ''));
      // The tool goes service by service, in its own order; it skips some calls.
      for (let k = services.length - 1; k > 0; k--) {
        const j = rng.int(k + 1);
        [services[k], services[j]] = [services[j]!, services[k]!];
      }
      const target = 150 + rng.int(251);
      const keep = 0.55 + 0.4 * rng.next();
      const chosen: ApiCall[] = [];
      const first = ENUMERATION_CALLS.find((c) => c.name === 'GetCallerIdentity')!;
      chosen.push(first);
      for (const s of services) {
        for (const c of ENUMERATION_CALLS) if (c.source === s && c !== first && chosen.length < target && rng.next() < keep) chosen.push(c);
      }
      const calls: ApiCall[] = [];
      for (const c of chosen) {
        calls.push(c);
        if (rng.next() < 0.15) calls.push(c); // a retry, or the next page
      }
      const ua = BOTO3[rng.int(BOTO3.length)]!;
      const naturalMs = calls.length * 1400;
      const durMs = Math.min(budget ?? Infinity, Math.max(3 * 60_000, Math.min(20 * 60_000, naturalMs)));
      const arn = roleSessionArn(env, host);
      let denied = 0;
      calls.forEach((c, k) => {
        const t = start + Math.floor(((k + rng.next()) / calls.length) * durMs);
        const prefix = c.action.split(':')[0]!;
        const ok = allowed.has(c.action) || extra.includes(c.source.replace(/\.amazonaws\.com$/, '')) || c.action === 'sts:GetCallerIdentity';
        const o: RoleCallOptions = { userAgent: ua, vpcEndpoint: ENDPOINT_SERVICES.has(c.source.replace(/\.amazonaws\.com$/, '')) };
        if (!ok) {
          denied++;
          o.errorCode = deniedCode(c.source);
          const why = `User: ${arn} is not authorized to perform: ${c.action}${prefix === 'ec2' ? '' : ` on resource: arn:aws:${prefix}:${env.region}:${env.account}:*`} because no identity-based policy allows the ${c.action} action`;
          o.errorMessage = prefix === 'ec2' ? `You are not authorized to perform this operation. ${why}` : why;
        }
        const params = c.source === 's3.amazonaws.com' && c.name !== 'ListBuckets' && c.name !== 'GetAccountPublicAccessBlock' ? { bucketName: `exports-${env.account}`, Host: `exports-${env.account}.s3.${env.region}.amazonaws.com` } : null;
        records.push({ kind: 'cloudtrail', rec: { t: Math.floor(t / 1000) * 1000, text: instanceRoleCall(env, rng, host, t, c.source, c.name, params, o), tag: { attackId: id, view: 'cloudtrail_api', entity: host.id } } });
      });
      const distinct = new Set(calls.map((c) => `${c.source}:${c.name}`)).size;
      entities = [host.id];
      ips = [host.ip];
      description = `the role of ${host.name} (session ${host.id}, from ${host.ip}, its own address) called ${distinct} distinct APIs of ${new Set(calls.map((c) => c.source)).size} services in ${Math.round(durMs / 60_000)} min (${calls.length} calls, ${Math.round((100 * denied) / calls.length)}% AccessDenied)`;
      Object.assign(details, { role: `${host.role}-instance-role`, calls: calls.length, distinct_apis: distinct, denied, denied_share: Math.round((1000 * denied) / calls.length) / 1000, user_agent: ua, minutes: Math.round(durMs / 60_000) });
      break;
    }
  }
  let end = start;
  for (const r of records) end = Math.max(end, r.rec.t);
  details.targets = entities.map((e) => nameOf(env, e));
  return { id, kind, category: ATTACK_SPECS[kind].category, start: Math.floor(start / 1000) * 1000, end, entities, ips, description, details, records };
}
