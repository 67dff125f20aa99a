/**
 * The demo's AWS environment: one account, one region, one VPC with public, application and database subnets
 * in two availability zones, instances with roles, IAM users, and the address pools their traffic comes from.
 * Everything is derived from the seed, so the same seed gives the same ids and addresses.
 */
import { Rng } from '../core/rng.js';
import { drawFromNetwork, network, type DemoNetworks } from './asn-pools.js';

export type Role = 'web' | 'app' | 'db' | 'bastion' | 'batch';
export type Tier = 'public' | 'app' | 'db';

export interface Subnet {
  id: string;
  name: string;
  tier: Tier;
  /** e.g. 10.0.1.0/24 */
  cidr: string;
  /** First three octets, e.g. "10.0.1". */
  prefix: string;
  azId: string;
}

export interface Instance {
  id: string;
  name: string;
  role: Role;
  eni: string;
  subnet: Subnet;
  ip: string;
}

export interface DemoUser {
  name: string;
  arn: string;
  principalId: string;
  accessKeyId: string;
  /** Home addresses (consumer ISP in the home country). */
  homeIps: string[];
  /** Network of the home addresses (for the explanation in docs and labels). */
  homeAsn: number;
  /** Logs in on weekends too. */
  weekend: boolean;
}

export interface DemoEnvironment {
  seed: number;
  account: string;
  region: string;
  vpcId: string;
  vpcCidr: string;
  flowLogId: string;
  resolverEndpoint: string;
  subnets: Subnet[];
  instances: Instance[];
  users: DemoUser[];
  /** The office's NAT address (all employees in the office share it). */
  officeIp: string;
  /** Admin addresses allowed to SSH to the bastion (office + two admins' homes). */
  adminIps: string[];
  /** Regular web clients (returning visitors), most popular first. */
  webClients: string[];
  /** Weights for drawing a new web client's ISP (asn, weight). */
  clientNetworks: [number, number][];
  /** Third-party APIs the application tier calls (payments, e-mail), with their host names. */
  partners: { host: string; ips: string[] }[];
  /** S3 us-east-1 addresses the batch job writes to (through the gateway endpoint). */
  s3Ips: string[];
  internalZone: string;
}

export const ACCOUNT_ID = '123456789012';
export const REGION = 'us-east-1';

/** Consumer ISPs of web clients and their weights (US-heavy, like a US web shop's visitors). */
const CLIENT_NETWORKS: [number, number][] = [
  [7922, 22],
  [7018, 18],
  [701, 10],
  [22773, 6],
  [20115, 8],
  [21928, 10],
  [812, 4],
  [577, 3],
  [2856, 4],
  [5089, 3],
  [3320, 5],
  [3215, 4],
];

/** Employee home networks (US consumer ISPs). */
const HOME_NETWORKS = [7922, 7018, 701, 22773, 20115];

const USER_NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];

/** S3 in us-east-1 (from AWS's published ip-ranges.json). */
const S3_PREFIXES = ['52.216', '52.217', '54.231'];

function hex(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[rng.int(16)];
  return s;
}

function upperAlnum(rng: Rng, n: number): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let s = '';
  for (let i = 0; i < n; i++) s += A[rng.int(A.length)];
  return s;
}

/** Weighted choice over [value, weight] pairs. */
export function weighted<T>(items: readonly (readonly [T, number])[], rng: Rng): T {
  let total = 0;
  for (const [, w] of items) total += w;
  let x = rng.next() * total;
  for (const [v, w] of items) {
    x -= w;
    if (x < 0) return v;
  }
  return items[items.length - 1]![0];
}

export interface EnvironmentOptions {
  seed: number;
  /** Regular web clients (default 1500). */
  webClients?: number;
}

export function buildEnvironment(nets: DemoNetworks, opts: EnvironmentOptions): DemoEnvironment {
  const rng = new Rng(opts.seed ^ 0x5eed0e17);
  const subnet = (name: string, tier: Tier, third: number, az: string): Subnet => ({
    id: `subnet-0${hex(rng, 16)}`,
    name,
    tier,
    cidr: `10.0.${third}.0/24`,
    prefix: `10.0.${third}`,
    azId: az,
  });
  const subnets = [
    subnet('public-a', 'public', 0, 'use1-az1'),
    subnet('public-b', 'public', 1, 'use1-az2'),
    subnet('app-a', 'app', 10, 'use1-az1'),
    subnet('app-b', 'app', 11, 'use1-az2'),
    subnet('db-a', 'db', 20, 'use1-az1'),
    subnet('db-b', 'db', 21, 'use1-az2'),
  ];
  const byName = new Map(subnets.map((s) => [s.name, s]));
  const used = new Set<string>();
  const instance = (name: string, role: Role, subnetName: string): Instance => {
    const s = byName.get(subnetName)!;
    let ip: string;
    do ip = `${s.prefix}.${10 + rng.int(200)}`;
    while (used.has(ip));
    used.add(ip);
    return { id: `i-0${hex(rng, 16)}`, name, role, eni: `eni-0${hex(rng, 16)}`, subnet: s, ip };
  };
  const instances = [
    instance('web-1', 'web', 'public-a'),
    instance('web-2', 'web', 'public-b'),
    instance('web-3', 'web', 'public-a'),
    instance('bastion-1', 'bastion', 'public-a'),
    instance('app-1', 'app', 'app-a'),
    instance('app-2', 'app', 'app-b'),
    instance('app-3', 'app', 'app-a'),
    instance('batch-1', 'batch', 'app-b'),
    instance('db-1', 'db', 'db-a'),
    instance('db-2', 'db', 'db-b'),
  ];

  const users: DemoUser[] = USER_NAMES.map((name, i) => {
    const asn = HOME_NETWORKS[i % HOME_NETWORKS.length]!;
    const net = network(nets, asn);
    const homeIps = [drawFromNetwork(net, rng)];
    // Some users' home address changes once (DHCP lease) inside the same ISP block.
    if (rng.next() < 0.5) {
      const [a, b, c] = homeIps[0]!.split('.');
      homeIps.push(`${a}.${b}.${c}.${1 + rng.int(254)}`);
    }
    return {
      name,
      arn: `arn:aws:iam::${ACCOUNT_ID}:user/${name}`,
      principalId: `AIDA${upperAlnum(rng, 17)}`,
      accessKeyId: `ASIA${upperAlnum(rng, 16)}`,
      homeIps,
      homeAsn: asn,
      weekend: rng.next() < 0.3,
    };
  });
  const officeIp = drawFromNetwork(network(nets, 701), rng);
  const adminIps = [officeIp, users[0]!.homeIps[0]!, users[1]!.homeIps[0]!];

  const n = opts.webClients ?? 1500;
  const webClients: string[] = [];
  const seen = new Set<string>();
  while (webClients.length < n) {
    const ip = drawFromNetwork(network(nets, weighted(CLIENT_NETWORKS, rng)), rng);
    if (!seen.has(ip)) {
      seen.add(ip);
      webClients.push(ip);
    }
  }
  const partners = [
    { host: 'api.payments.example.com', ips: [drawFromNetwork(network(nets, 13335), rng), drawFromNetwork(network(nets, 13335), rng)] },
    { host: 'api.mailer.example.net', ips: [drawFromNetwork(network(nets, 54113), rng), drawFromNetwork(network(nets, 54113), rng)] },
  ];
  const s3Ips: string[] = [];
  for (let i = 0; i < 24; i++) s3Ips.push(`${S3_PREFIXES[rng.int(S3_PREFIXES.length)]}.${rng.int(256)}.${1 + rng.int(254)}`);

  return {
    seed: opts.seed,
    account: ACCOUNT_ID,
    region: REGION,
    vpcId: `vpc-0${hex(rng, 16)}`,
    vpcCidr: '10.0.0.0/16',
    flowLogId: `fl-0${hex(rng, 16)}`,
    resolverEndpoint: `rslvr-in-${hex(rng, 17)}`,
    subnets,
    instances,
    users,
    officeIp,
    adminIps,
    webClients,
    clientNetworks: CLIENT_NETWORKS,
    partners,
    s3Ips,
    internalZone: 'prod.internal',
  };
}

export function instancesOf(env: DemoEnvironment, role: Role): Instance[] {
  return env.instances.filter((i) => i.role === role);
}

/** A plain summary for `demo generate --json` and the manifest. */
export function describeEnvironment(env: DemoEnvironment): Record<string, unknown> {
  return {
    account: env.account,
    region: env.region,
    vpc: { id: env.vpcId, cidr: env.vpcCidr, flow_log_id: env.flowLogId },
    subnets: env.subnets.map((s) => ({ id: s.id, name: s.name, tier: s.tier, cidr: s.cidr, az_id: s.azId })),
    instances: env.instances.map((i) => ({ id: i.id, name: i.name, role: i.role, ip: i.ip, subnet: i.subnet.name, eni: i.eni })),
    users: env.users.map((u) => ({ name: u.name, home_ips: u.homeIps, home_asn: u.homeAsn })),
    office_ip: env.officeIp,
    admin_ips: env.adminIps,
    web_clients: env.webClients.length,
    partners: env.partners,
  };
}
