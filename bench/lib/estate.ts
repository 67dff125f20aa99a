/**
 * A small generated estate for ordering tests and the estate measurement (`npm run bench:ipinsights -- --estate`, test/models/ordering.test.ts):
 * tiers of instances in subnets of one VPC (10.0.0.0/16) talking to each other and to the internet, as `flow-peer`
 * pairs (instance, address at the other end). Deterministic for a seed.
 *
 *   web    10.0.1.0/24, 10.0.2.0/24   <- internet clients (a returning pool in a few ISP /16s, some new ones), -> app, DNS
 *   app    10.0.11.0/24, 10.0.12.0/24 <- web, -> db, partner APIs (two public /24s), DNS
 *   db     10.0.21.0/24               <- app, batch; DNS
 *   batch  10.0.41.0/24               -> db, object storage (a public /16), DNS
 *   bastion 10.0.31.0/24              <- admin addresses; -> every web, app and db instance
 *
 * Evaluation sets, per instance (pairs the model never saw):
 *   normal   held-out traffic of the same distribution (later draws); `known` = the normal pairs whose address the
 *            instance used in training (its real peers)
 *   newHost  an address never used by anyone, inside an internal /24 the instance talks to (a rogue host in the
 *            database subnet, seen from the application servers)
 *   foreignInternal  an address inside the VPC but in a /24 the instance never talks to (another tier's subnet, or
 *            a subnet that does not exist)
 *   foreignPublic    a random public address outside every network the instance talks to
 */
import { Rng } from '../../src/core/rng.js';
import { PairCollector, type PairData } from '../../src/detectors/pairs/data.js';

export interface EstatePair {
  entity: string;
  ip: string;
}

export interface Estate {
  train: PairData;
  trainPairs: EstatePair[];
  /** Held-out normal pairs (calibration half and evaluation half, disjoint draws). */
  calibration: EstatePair[];
  normal: EstatePair[];
  known: EstatePair[];
  newHost: EstatePair[];
  foreignInternal: EstatePair[];
  foreignPublic: EstatePair[];
  instances: { id: string; role: string; ip: string }[];
}

export interface EstateOptions {
  seed?: number;
  /** Training pairs per instance per "day" (scaled by the role's activity). */
  perDay?: number;
  trainDays?: number;
  /** Evaluation pairs per instance and category. */
  evalPerInstance?: number;
}

type Role = 'web' | 'app' | 'db' | 'batch' | 'bastion';

const dotted = (a: number, b: number, c: number, d: number): string => `${a}.${b}.${c}.${d}`;
const slash24 = (ip: string): string => ip.slice(0, ip.lastIndexOf('.'));

/** Weighted choice over [item, weight]. */
function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of items) total += w;
  let x = rng.next() * total;
  for (const [v, w] of items) {
    x -= w;
    if (x <= 0) return v;
  }
  return items[items.length - 1]![0];
}

/** Generate the estate. */
export function generateEstate(opts: EstateOptions = {}): Estate {
  const seed = opts.seed ?? 1;
  const perDay = opts.perDay ?? 60;
  const trainDays = opts.trainDays ?? 7;
  const evalPer = opts.evalPerInstance ?? 40;
  const rng = new Rng((seed * 7919 + 17) >>> 0);
  const used = new Set<string>();
  const host = (net: string): string => {
    for (;;) {
      const ip = `${net}.${10 + rng.int(240)}`;
      if (!used.has(ip)) {
        used.add(ip);
        return ip;
      }
    }
  };
  const layout: [Role, string[], number][] = [
    ['web', ['10.0.1', '10.0.2'], 6],
    ['app', ['10.0.11', '10.0.12'], 8],
    ['db', ['10.0.21'], 4],
    ['batch', ['10.0.41'], 2],
    ['bastion', ['10.0.31'], 1],
  ];
  const instances: { id: string; role: Role; ip: string }[] = [];
  for (const [role, nets, count] of layout) {
    for (let i = 0; i < count; i++) instances.push({ id: `i-${role}-${i}`, role, ip: host(nets[i % nets.length]!) });
  }
  const byRole = (r: Role): string[] => instances.filter((x) => x.role === r).map((x) => x.ip);
  const dns = '10.0.0.2';
  used.add(dns);
  // Internet: client ISPs (a few /16s), a returning-client pool, partner APIs, object storage, admins.
  const clientNets = [
    [73, 15],
    [98, 189],
    [24, 4],
    [71, 200],
  ] as const;
  const client = (): string => {
    const [a, b] = clientNets[rng.int(clientNets.length)]!;
    return dotted(a, b, rng.int(256), 1 + rng.int(254));
  };
  const clientPool = Array.from({ length: 400 }, client);
  const partners = ['151.101.4.10', '151.101.4.11', '104.18.22.40'];
  const storage = (): string => dotted(52, 216, rng.int(256), 1 + rng.int(254));
  const admins = ['203.0.113.7', '198.51.100.20', '198.51.100.21'];
  for (const ip of [...clientPool, ...partners, ...admins]) used.add(ip);

  /** One peer of an instance of this role (flow-peer: the address at the other end). */
  const peer = (role: Role): string => {
    switch (role) {
      case 'web':
        return weighted<() => string>(rng, [
          [() => clientPool[Math.floor(clientPool.length * rng.next() ** 2)]!, 5],
          [client, 1],
          [() => rng.pick(byRole('app')), 3],
          [() => rng.pick(byRole('bastion')), 0.2],
          [() => dns, 1],
        ])();
      case 'app':
        return weighted<() => string>(rng, [
          [() => rng.pick(byRole('web')), 3],
          [() => rng.pick(byRole('db')), 4],
          [() => rng.pick(partners), 1],
          [() => rng.pick(byRole('bastion')), 0.2],
          [() => dns, 1],
        ])();
      case 'db':
        return weighted<() => string>(rng, [
          [() => rng.pick(byRole('app')), 5],
          [() => rng.pick(byRole('batch')), 1],
          [() => rng.pick(byRole('bastion')), 0.2],
          [() => dns, 0.5],
        ])();
      case 'batch':
        return weighted<() => string>(rng, [
          [() => rng.pick(byRole('db')), 3],
          [storage, 2],
          [() => dns, 0.5],
        ])();
      case 'bastion':
        return weighted<() => string>(rng, [
          [() => rng.pick(admins), 2],
          [() => rng.pick([...byRole('web'), ...byRole('app'), ...byRole('db')]), 3],
          [() => dns, 0.5],
        ])();
    }
  };
  const activity: Record<Role, number> = { web: 1.5, app: 1, db: 0.8, batch: 0.5, bastion: 0.4 };

  const c = new PairCollector();
  const trainPairs: EstatePair[] = [];
  const seen = new Map<string, Set<string>>();
  let line = 0;
  for (let day = 0; day < trainDays; day++) {
    for (const inst of instances) {
      const n = Math.max(1, Math.round(perDay * activity[inst.role]));
      for (let i = 0; i < n; i++) {
        const ip = peer(inst.role);
        c.add(inst.id, ip, 'estate', ++line);
        trainPairs.push({ entity: inst.id, ip });
        let s = seen.get(inst.id);
        if (!s) seen.set(inst.id, (s = new Set()));
        s.add(ip);
      }
    }
  }
  for (const p of trainPairs) used.add(p.ip);
  const heldOut = (): EstatePair[] => {
    const out: EstatePair[] = [];
    for (const inst of instances) for (let i = 0; i < evalPer; i++) out.push({ entity: inst.id, ip: peer(inst.role) });
    return out;
  };
  const calibration = heldOut();
  const normal = heldOut();
  const known = normal.filter((p) => seen.get(p.entity)!.has(p.ip));

  // Internal /24s each instance talks to, and every internal /24 of the VPC.
  const vpc24 = new Set<string>([...layout.flatMap(([, nets]) => nets), '10.0.0']);
  const newHost: EstatePair[] = [];
  const foreignInternal: EstatePair[] = [];
  const foreignPublic: EstatePair[] = [];
  const unused = (net: string): string => {
    for (;;) {
      const ip = `${net}.${2 + rng.int(252)}`;
      if (!used.has(ip)) return ip;
    }
  };
  for (const inst of instances) {
    const mine = new Set<string>();
    const my16 = new Set<string>();
    for (const ip of seen.get(inst.id)!) {
      mine.add(slash24(ip));
      my16.add(ip.split('.').slice(0, 2).join('.'));
    }
    const internal = [...mine].filter((n) => n.startsWith('10.0.'));
    const others = [...vpc24].filter((n) => !mine.has(n)).concat(['10.0.99', '10.0.200', '10.0.57']);
    for (let i = 0; i < evalPer; i++) {
      newHost.push({ entity: inst.id, ip: unused(rng.pick(internal)) });
      foreignInternal.push({ entity: inst.id, ip: unused(rng.pick(others)) });
      for (;;) {
        const ip = dotted(1 + rng.int(222), rng.int(256), rng.int(256), 1 + rng.int(254));
        if (ip.startsWith('10.') || my16.has(ip.split('.').slice(0, 2).join('.'))) continue;
        foreignPublic.push({ entity: inst.id, ip });
        break;
      }
    }
  }
  return {
    train: c.finish(),
    trainPairs,
    calibration,
    normal,
    known,
    newHost,
    foreignInternal,
    foreignPublic,
    instances: instances.map(({ id, role, ip }) => ({ id, role, ip })),
  };
}
