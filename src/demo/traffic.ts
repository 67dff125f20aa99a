/**
 * Normal behaviour of the demo environment over a time window, per role:
 *
 * - web:     HTTPS from internet clients (returning visitors from consumer ISPs, plus first-time visitors from
 *            the same ISPs), calls to the application tier;
 * - app:     requests from the web tier; queries to the database tier; calls to two third-party APIs;
 * - db:      connections from the application tier and the batch host; primary -> replica replication;
 * - bastion: SSH from the office and two admins' homes, then SSH on to app/db hosts, in office hours;
 * - batch:   a nightly job (01:00-04:00 UTC) writing to S3 through the gateway endpoint and reading the replica.
 *
 * Volumes follow a diurnal curve (US daytime peak) and are lower at weekends. Every instance resolves the
 * names it connects to (Route 53 Resolver logs) and refreshes its role credentials (CloudTrail); employees sign
 * in to the console from the office or home and browse (CloudTrail).
 */
import type { Rng } from '../core/rng.js';
import { consoleLogin, CONSOLE_CALLS, ec2AssumeRole, instanceApiCall, userAgentOf, userApiCall } from './cloudtrail.js';
import { drawFromNetwork, network, type DemoNetworks } from './asn-pools.js';
import { instancesOf, weighted, type DemoEnvironment, type Instance } from './environment.js';
import { dnsLine, flowRecord, type RawRecord } from './records.js';

export const HOUR = 3_600_000;

export interface WindowRecords {
  flow: RawRecord[];
  dns: RawRecord[];
  trail: RawRecord[];
}

export function emptyWindow(): WindowRecords {
  return { flow: [], dns: [], trail: [] };
}

/** Traffic volume multipliers (1 = the default). */
export interface VolumeOptions {
  /** Scales every per-hour rate (default 1). */
  scale?: number;
}

/** Web-tier load in [0.25, 1]: lowest around 06:00 UTC, highest around 18:00 UTC (US daytime). */
export function diurnal(ms: number): number {
  const h = (ms % 86_400_000) / HOUR;
  return 0.25 + 0.75 * (0.5 + 0.5 * Math.cos((2 * Math.PI * (h - 18)) / 24));
}

export function isWeekend(ms: number): boolean {
  const d = new Date(ms).getUTCDay();
  return d === 0 || d === 6;
}

/** Poisson sample (Knuth below 30, normal approximation above). */
export function poisson(lambda: number, rng: Rng): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * rng.normal()));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rng.next();
  } while (p > l);
  return k - 1;
}

export function ephemeralPort(rng: Rng): number {
  return 32768 + rng.int(28232);
}

/** Emits the flow records of one TCP/UDP conversation at the interfaces that see it. */
export class FlowEmitter {
  constructor(
    private readonly env: DemoEnvironment,
    private readonly out: RawRecord[],
  ) {}

  /**
   * A conversation from `client` to `server` (either may be an instance or a plain address). Each instance
   * involved logs its side: the server's interface an ingress request and an egress reply, the client's an
   * egress request and an ingress reply. Returns the records written (for attack tagging).
   */
  conversation(
    rng: Rng,
    c: {
      t: number;
      client: Instance | string;
      server: Instance | string;
      port: number;
      protocol?: number;
      reqBytes: number;
      respBytes: number;
      durationS?: number;
      action?: 'ACCEPT' | 'REJECT';
      clientPath?: number;
      dstService?: string;
    },
  ): RawRecord[] {
    const written: RawRecord[] = [];
    const env = this.env;
    const out = this.out;
    const proto = c.protocol ?? 6;
    const start = Math.floor(c.t / 1000);
    const end = start + Math.max(1, Math.min(59, Math.round(c.durationS ?? 1 + rng.int(20))));
    const sport = ephemeralPort(rng);
    const client = c.client;
    const server = c.server;
    const cIp = typeof client === 'string' ? client : client.ip;
    const sIp = typeof server === 'string' ? server : server.ip;
    const t = start * 1000;
    const emit = (text: string): void => {
      const r: RawRecord = { t, text };
      out.push(r);
      written.push(r);
    };
    if (c.action === 'REJECT') {
      // Only the receiving interface sees a rejected packet; no reply.
      if (typeof server !== 'string') {
        emit(flowRecord(env, server, 'ingress', cIp, sIp, sport, c.port, proto, 1 + rng.int(2), 40 + rng.int(2) * 20, start, start, 'REJECT', 2, 1, '-'));
      }
      return written;
    }
    const reqPk = Math.max(1, Math.ceil(c.reqBytes / 1200));
    const respPk = Math.max(1, Math.ceil(c.respBytes / 1200));
    const reqFlags = proto === 6 ? 3 : 0;
    const respFlags = proto === 6 ? 19 : 0;
    if (typeof server !== 'string') {
      emit(flowRecord(env, server, 'ingress', cIp, sIp, sport, c.port, proto, reqPk, c.reqBytes, start, end, 'ACCEPT', reqFlags, 1, '-'));
      emit(flowRecord(env, server, 'egress', sIp, cIp, c.port, sport, proto, respPk, c.respBytes, start, end, 'ACCEPT', respFlags, typeof client === 'string' ? 8 : 1, '-'));
    }
    if (typeof client !== 'string') {
      const path = c.clientPath ?? (typeof server === 'string' ? 8 : 1);
      emit(flowRecord(env, client, 'egress', cIp, sIp, sport, c.port, proto, reqPk, c.reqBytes, start, end, 'ACCEPT', reqFlags, path, c.dstService ?? '-'));
      emit(flowRecord(env, client, 'ingress', sIp, cIp, c.port, sport, proto, respPk, c.respBytes, start, end, 'ACCEPT', respFlags, 1, '-'));
    }
    return written;
  }
}

/** Uniform time in [t0, t1). */
function at(t0: number, t1: number, rng: Rng): number {
  return t0 + Math.floor(rng.next() * (t1 - t0));
}

function dns(env: DemoEnvironment, out: RawRecord[], rng: Rng, i: Instance, t: number, name: string, answers: string[]): RawRecord {
  const r: RawRecord = { t: Math.floor(t / 1000) * 1000, text: dnsLine(env, { at: i, t, name, answers, srcPort: ephemeralPort(rng) }) };
  out.push(r);
  return r;
}

export interface TrafficContext {
  env: DemoEnvironment;
  nets: DemoNetworks;
  volume?: VolumeOptions;
}

/**
 * Normal records with event times in [t0, t1). Rates are per hour at peak load; the number of events in the
 * window is Poisson with the rate integrated over the window (evaluated at its midpoint).
 */
export function normalTraffic(ctx: TrafficContext, t0: number, t1: number, rng: Rng): WindowRecords {
  const { env, nets } = ctx;
  const out = emptyWindow();
  const flows = new FlowEmitter(env, out.flow);
  const hours = (t1 - t0) / HOUR;
  const mid = (t0 + t1) / 2;
  const weekend = isWeekend(mid);
  const load = diurnal(mid) * (weekend ? 0.8 : 1) * (ctx.volume?.scale ?? 1);
  const hourOfDay = (mid % 86_400_000) / HOUR;
  const count = (perHour: number): number => poisson(perHour * hours, rng);

  const web = instancesOf(env, 'web');
  const app = instancesOf(env, 'app');
  const [db1, db2] = instancesOf(env, 'db') as [Instance, Instance];
  const bastion = instancesOf(env, 'bastion')[0]!;
  const batch = instancesOf(env, 'batch')[0]!;
  const zone = env.internalZone;

  // web: internet clients.
  for (const w of web) {
    const n = count(300 * load);
    for (let k = 0; k < n; k++) {
      let client: string;
      if (rng.next() < 0.85) {
        // Returning visitors: popularity falls off like a power law.
        const u = rng.next();
        client = env.webClients[Math.floor(env.webClients.length * u * u * u)]!;
      } else {
        client = drawFromNetwork(network(nets, weighted(env.clientNetworks, rng)), rng);
      }
      flows.conversation(rng, { t: at(t0, t1, rng), client, server: w, port: rng.next() < 0.92 ? 443 : 80, reqBytes: 400 + rng.int(6000), respBytes: 2000 + rng.int(400_000), durationS: 1 + rng.int(30) });
    }
    // web -> app
    const m = count(120 * load);
    for (let k = 0; k < m; k++) {
      const t = at(t0, t1, rng);
      const a = app[rng.int(app.length)]!;
      flows.conversation(rng, { t, client: w, server: a, port: 8080, reqBytes: 300 + rng.int(3000), respBytes: 1000 + rng.int(60_000) });
      if (rng.next() < 0.08) dns(env, out.dns, rng, w, t - 20, `app.${zone}`, app.map((x) => x.ip));
    }
  }

  // app: database and third-party APIs.
  for (const a of app) {
    const n = count(90 * load);
    for (let k = 0; k < n; k++) {
      const t = at(t0, t1, rng);
      const primary = rng.next() < 0.8;
      flows.conversation(rng, { t, client: a, server: primary ? db1 : db2, port: 5432, reqBytes: 200 + rng.int(4000), respBytes: 500 + rng.int(120_000) });
      if (rng.next() < 0.06) dns(env, out.dns, rng, a, t - 15, primary ? `db.${zone}` : `db-ro.${zone}`, [primary ? db1.ip : db2.ip]);
    }
    const p = count(20 * load);
    for (let k = 0; k < p; k++) {
      const t = at(t0, t1, rng);
      const partner = env.partners[rng.int(env.partners.length)]!;
      const ip = partner.ips[rng.int(partner.ips.length)]!;
      flows.conversation(rng, { t, client: a, server: ip, port: 443, reqBytes: 800 + rng.int(4000), respBytes: 600 + rng.int(8000) });
      if (rng.next() < 0.3) dns(env, out.dns, rng, a, t - 30, partner.host, partner.ips);
    }
  }

  // db: replication primary -> replica (steady, not diurnal).
  const r = count(30);
  for (let k = 0; k < r; k++) {
    flows.conversation(rng, { t: at(t0, t1, rng), client: db2, server: db1, port: 5432, reqBytes: 2000 + rng.int(8000), respBytes: 20_000 + rng.int(2_000_000), durationS: 59 });
  }

  // bastion: admins in office hours (13:00-23:00 UTC on weekdays), rarely otherwise.
  const office = !weekend && hourOfDay >= 13 && hourOfDay < 23;
  const sessions = count(office ? 0.8 : 0.04);
  for (let k = 0; k < sessions; k++) {
    const t = at(t0, t1, rng);
    const admin = env.adminIps[rng.int(env.adminIps.length)]!;
    flows.conversation(rng, { t, client: admin, server: bastion, port: 22, reqBytes: 5000 + rng.int(50_000), respBytes: 10_000 + rng.int(200_000), durationS: 59 });
    const hops = 1 + rng.int(3);
    for (let h = 0; h < hops; h++) {
      const target = rng.next() < 0.6 ? app[rng.int(app.length)]! : rng.next() < 0.5 ? db1 : batch;
      flows.conversation(rng, { t: t + 5_000 + h * 20_000, client: bastion, server: target, port: 22, reqBytes: 3000 + rng.int(30_000), respBytes: 5000 + rng.int(100_000), durationS: 40 });
    }
  }

  // batch: nightly export to S3 (gateway endpoint) reading the replica; a heartbeat during the day.
  const night = hourOfDay >= 1 && hourOfDay < 4;
  const s3 = count(night ? 300 : 4);
  for (let k = 0; k < s3; k++) {
    const t = at(t0, t1, rng);
    flows.conversation(rng, { t, client: batch, server: env.s3Ips[rng.int(env.s3Ips.length)]!, port: 443, reqBytes: 100_000 + rng.int(8_000_000), respBytes: 2000 + rng.int(10_000), clientPath: 7, dstService: 'S3', durationS: 30 });
    if (rng.next() < 0.05) dns(env, out.dns, rng, batch, t - 10, `exports-${env.account}.s3.us-east-1.amazonaws.com`, [env.s3Ips[rng.int(env.s3Ips.length)]!]);
  }
  const reads = count(night ? 40 : 0);
  for (let k = 0; k < reads; k++) {
    flows.conversation(rng, { t: at(t0, t1, rng), client: batch, server: db2, port: 5432, reqBytes: 500 + rng.int(2000), respBytes: 200_000 + rng.int(5_000_000), durationS: 45 });
  }

  // Every instance: periodic AWS endpoint lookups (SSM agent, CloudWatch agent) and role credential refresh.
  for (const i of env.instances) {
    const q = count(12);
    for (let k = 0; k < q; k++) {
      const name = ['ssm', 'ec2messages', 'ssmmessages', 'monitoring', 'logs'][rng.int(5)]!;
      dns(env, out.dns, rng, i, at(t0, t1, rng), `${name}.${env.region}.amazonaws.com`, [`${i.subnet.prefix}.${240 + rng.int(10)}`]);
    }
    const creds = count(1);
    for (let k = 0; k < creds; k++) {
      const t = at(t0, t1, rng);
      out.trail.push({ t: Math.floor(t / 1000) * 1000, text: ec2AssumeRole(env, rng, i, t) });
    }
  }
  // app roles: secrets and KMS through interface endpoints.
  for (const a of app) {
    const n = count(6 * load);
    for (let k = 0; k < n; k++) {
      const t = at(t0, t1, rng);
      const kms = rng.next() < 0.6;
      const text = kms
        ? instanceApiCall(env, rng, a, t, 'kms.amazonaws.com', 'Decrypt', { encryptionAlgorithm: 'SYMMETRIC_DEFAULT' })
        : instanceApiCall(env, rng, a, t, 'secretsmanager.amazonaws.com', 'GetSecretValue', { secretId: 'prod/app/db' });
      out.trail.push({ t: Math.floor(t / 1000) * 1000, text });
    }
  }

  // Employees: console sign-in (office on weekdays in office hours, home otherwise), then a few console calls.
  for (const u of env.users) {
    if (weekend && !u.weekend) continue;
    const rate = office ? 0.6 : weekend ? 0.05 : 0.04;
    const n = count(rate);
    for (let k = 0; k < n; k++) {
      const t = at(t0, t1, rng);
      const ip = office && rng.next() < 0.7 ? env.officeIp : u.homeIps[rng.int(u.homeIps.length)]!;
      const ua = userAgentOf(u);
      out.trail.push({ t: Math.floor(t / 1000) * 1000, text: consoleLogin(env, rng, u, t, ip, ua) });
      const calls = 2 + rng.int(6);
      for (let c = 0; c < calls; c++) {
        const tc = t + 20_000 + c * (10_000 + rng.int(60_000));
        if (tc >= t1) break;
        out.trail.push({ t: Math.floor(tc / 1000) * 1000, text: userApiCall(env, rng, u, tc, ip, ua, CONSOLE_CALLS[rng.int(CONSOLE_CALLS.length)]!) });
      }
    }
  }
  return out;
}
