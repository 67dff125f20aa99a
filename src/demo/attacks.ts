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
 */
import type { Rng } from '../core/rng.js';
import { drawFromNetwork, network, type DemoNetworks } from './asn-pools.js';
import { consoleLogin, INTRUDER_CALLS, userApiCall } from './cloudtrail.js';
import { instancesOf, type DemoEnvironment, type Instance } from './environment.js';
import { dnsLine, type LabelView, type LogKind, type RawRecord } from './records.js';
import { ephemeralPort, FlowEmitter } from './traffic.js';

export const ATTACK_KINDS = ['scan', 'lateral_movement', 'db_exposed', 'exfiltration', 'console_login_new_country'] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];

export interface AttackPlan {
  id: string;
  kind: AttackKind;
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

export function planAttack(env: DemoEnvironment, nets: DemoNetworks, kind: AttackKind, id: string, start: number, rng: Rng): AttackPlan {
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
      const dnsRec: RawRecord = { t: Math.floor(start / 1000) * 1000, text: dnsLine(env, { at: host, t: start, name: domain, answers: [dst], srcPort: ephemeralPort(rng) }), tag: { attackId: id, view: 'route53' } };
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
        records.push({ kind: 'cloudtrail', rec: { t: Math.floor(t / 1000) * 1000, text: userApiCall(env, rng, u, t, ip, ua, call), tag: { attackId: id, view } } });
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
  }
  let end = start;
  for (const r of records) end = Math.max(end, r.rec.t);
  details.targets = entities.map((e) => nameOf(env, e));
  return { id, kind, start: Math.floor(start / 1000) * 1000, end, entities, ips, description, details, records };
}
