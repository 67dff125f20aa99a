/**
 * Normal behaviour of the demo environment over a time window, per role:
 *
 * - web:     HTTPS from internet clients (returning visitors from consumer ISPs, plus first-time visitors from
 *            the same ISPs), calls to the application tier;
 * - app:     requests from the web tier; queries to the database tier; calls to two third-party APIs; uploads to
 *            S3 (gateway endpoint); KMS/Secrets Manager calls by its role; a rolling deploy most weekdays;
 * - db:      connections from the application tier and the batch host; primary -> replica replication; a nightly
 *            backup of the primary to S3;
 * - bastion: SSH from the office and two admins' homes, then SSH on to app/db hosts, in office hours;
 * - batch:   a nightly job (01:00-04:00 UTC) writing to S3 through the gateway endpoint and reading the replica;
 *            now and then an ad-hoc daytime backfill.
 *
 * Volumes follow a diurnal curve (US daytime peak) and are lower at weekends. On top of it every instance has its
 * own hour-to-hour rhythm (`activity()`): a level per day, hourly jitter, busy hours (x1.8-4) and quiet ones, and
 * the web tier has occasional campaign hours; these are drawn per (entity, hour), so they do not depend on how time
 * is cut into windows. Every instance resolves the names it connects to and the names its agents use (Route 53
 * Resolver logs, with the NXDOMAIN noise of search domains and probes), checks in with SSM and refreshes its role
 * credentials (CloudTrail); employees sign in to the console from the office or home and browse (CloudTrail).
 */
import { Rng } from '../core/rng.js';
import { consoleLogin, CONSOLE_CALLS, ec2AssumeRole, instanceApiCall, instanceRoleCall, roleSessionArn, userAgentOf, userApiCall } from './cloudtrail.js';
import { drawFromNetwork, network, type DemoNetworks } from './asn-pools.js';
import { instancesOf, weighted, type DemoEnvironment, type Instance } from './environment.js';
import { dnsLine, flowRecord, type RawRecord } from './records.js';

export const HOUR = 3_600_000;
const DAY_MS = 24 * HOUR;
/** Office hours on weekdays, UTC [from, to) (US working day). */
const OFFICE_HOURS = [13, 23] as const;

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

function dns(
  env: DemoEnvironment,
  out: RawRecord[],
  rng: Rng,
  i: Instance,
  t: number,
  name: string,
  answers: string[],
  o: { type?: 'A' | 'AAAA' | 'TXT' | 'NULL'; rcode?: 'NOERROR' | 'NXDOMAIN' } = {},
): RawRecord {
  const r: RawRecord = { t: Math.floor(t / 1000) * 1000, text: dnsLine(env, { at: i, t, name, answers, srcPort: ephemeralPort(rng), ...o }) };
  out.push(r);
  return r;
}

/**
 * A generator for the key (seed, a, b, c): per-entity hourly and daily draws that are the same however time is cut
 * into windows (an hourly history object and a 5-second live object in the same hour see the same draw).
 */
export function keyedRng(seed: number, a: number, b: number, c = 0): Rng {
  let h = Math.imul((seed >>> 0) ^ 0x2545f491, 0x9e3779b1);
  h = Math.imul(h ^ (a >>> 0), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ (b >>> 0), 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h ^ (c >>> 0), 0x27d4eb2f);
  h ^= h >>> 15;
  return new Rng(h >>> 0);
}

/** activity() key of the web tier as a whole (campaign hours); instances use their index in env.instances. */
const WEB_TIER_KEY = 1000;

/**
 * An entity's own activity multiplier for the hour of `t` (mean about 1): a level per day (log-normal, sd 0.2),
 * hourly jitter (sd 0.15), a busy hour (x1.8-4) in about 4% of hours and a quiet one (x0.3-0.6) in about 3%.
 */
export function activity(seed: number, key: number, t: number): number {
  const day = keyedRng(seed, key, Math.floor(t / DAY_MS), 1);
  const level = Math.exp(0.2 * day.normal());
  const hr = keyedRng(seed, key, Math.floor(t / HOUR), 2);
  const u = hr.next();
  if (u < 0.04) return level * (1.8 + 2.2 * hr.next());
  if (u < 0.07) return level * (0.3 + 0.3 * hr.next());
  return level * Math.exp(0.15 * hr.normal());
}

/** The web shop's campaign hours (a newsletter, a sale): x2-3 load on the web and app tiers in about 2% of hours. */
export function campaign(seed: number, t: number): number {
  const r = keyedRng(seed, WEB_TIER_KEY, Math.floor(t / HOUR), 3);
  return r.next() < 0.02 ? 2 + r.next() : 1;
}

export interface TrafficContext {
  env: DemoEnvironment;
  nets: DemoNetworks;
  volume?: VolumeOptions;
}

const SSM_AGENT = 'aws-sdk-go/1.44.302 (go1.21.8; linux; amd64) amazon-ssm-agent/3.3.131.0';
/** Names an instance's resolver is asked for and cannot answer: search-domain expansions and cloud-init probes. */
const PROBE_NAMES = ['wpad.ec2.internal', 'metadata.google.internal', 'isatap.ec2.internal', 'wpad.prod.internal', 'metadata.azure.internal'];
const REPO_NAME = 'al2023-repos-us-east-1-de612dc2.s3.dualstack.us-east-1.amazonaws.com';

/** Address an interface endpoint of the instance's subnet answers with (.240-.249). */
function endpointIp(i: Instance, rng: Rng): string {
  return `${i.subnet.prefix}.${240 + rng.int(10)}`;
}

function s3Ip(env: DemoEnvironment, rng: Rng): string {
  return env.s3Ips[rng.int(env.s3Ips.length)]!;
}

/** A rolling deploy on one app instance at td: pull the image (ECR, layers from S3), read config and secrets. */
function deployRecords(env: DemoEnvironment, out: WindowRecords, rng: Rng, a: Instance, td: number): void {
  const flows = new FlowEmitter(env, out.flow);
  let t = td;
  const next = (min: number, spread: number): number => (t += min + rng.int(spread));
  dns(env, out.dns, rng, a, t, `api.ecr.${env.region}.amazonaws.com`, [endpointIp(a, rng)]);
  const call = (source: string, name: string, params: Record<string, unknown> | null, o: { errorCode?: string; errorMessage?: string; readOnly?: boolean } = {}): void => {
    out.trail.push({ t: Math.floor(t / 1000) * 1000, text: instanceRoleCall(env, rng, a, t, source, name, params, o) });
  };
  call('sts.amazonaws.com', 'GetCallerIdentity', null);
  next(500, 2000);
  call('ecr.amazonaws.com', 'GetAuthorizationToken', { registryIds: [env.account] });
  next(500, 2000);
  dns(env, out.dns, rng, a, t, `${env.account}.dkr.ecr.${env.region}.amazonaws.com`, [endpointIp(a, rng)]);
  call('ecr.amazonaws.com', 'BatchGetImage', { repositoryName: 'shop/app', imageIds: [{ imageTag: 'release' }] });
  const layers = 4 + rng.int(6);
  dns(env, out.dns, rng, a, t, `prod-${env.region}-starport-layer-bucket.s3.${env.region}.amazonaws.com`, [s3Ip(env, rng)]);
  for (let k = 0; k < layers; k++) {
    next(300, 3000);
    call('ecr.amazonaws.com', 'GetDownloadUrlForLayer', { repositoryName: 'shop/app', layerDigest: `sha256:${rng.nextU32().toString(16).padStart(8, '0')}` });
    flows.conversation(rng, { t, client: a, server: s3Ip(env, rng), port: 443, reqBytes: 2000 + rng.int(4000), respBytes: 5_000_000 + rng.int(75_000_000), clientPath: 7, dstService: 'S3', durationS: 20 + rng.int(40) });
  }
  next(20_000, 40_000);
  dns(env, out.dns, rng, a, t, `ssm.${env.region}.amazonaws.com`, [endpointIp(a, rng)]);
  call('ssm.amazonaws.com', 'GetParametersByPath', { path: '/prod/app/', recursive: true, withDecryption: true });
  next(200, 1000);
  call('ssm.amazonaws.com', 'GetParameters', { names: ['/prod/app/feature-flags', '/prod/app/log-level'], withDecryption: false });
  if (rng.next() < 0.2) {
    // A parameter the role has no grant for: the deploy logs a warning and goes on.
    next(200, 1000);
    call('ssm.amazonaws.com', 'GetParameter', { name: '/prod/shared/datadog-api-key', withDecryption: true }, {
      errorCode: 'AccessDeniedException',
      errorMessage: `User: ${roleSessionArn(env, a)} is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:${env.region}:${env.account}:parameter/prod/shared/datadog-api-key because no identity-based policy allows the ssm:GetParameter action`,
    });
  }
  for (let k = 0; k < 2; k++) {
    next(200, 1500);
    call('secretsmanager.amazonaws.com', 'GetSecretValue', { secretId: k === 0 ? 'prod/app/db' : 'prod/app/payments' });
    next(100, 500);
    call('kms.amazonaws.com', 'Decrypt', { encryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
  }
  next(1000, 5000);
  call('ec2.amazonaws.com', 'DescribeTags', { filterSet: { items: [{ name: 'resource-id', valueSet: { items: [{ value: a.id }] } }] } });
  next(5000, 20_000);
  call('logs.amazonaws.com', 'CreateLogStream', { logGroupName: '/prod/app', logStreamName: `${a.id}/${rng.nextU32().toString(16)}` }, { readOnly: false });
  next(200, 1000);
  call('logs.amazonaws.com', 'DescribeLogStreams', { logGroupName: '/prod/app', logStreamNamePrefix: a.id });
}

/** Records of one UTC day's scheduled events, generated once per (environment, day). */
const dayCache = new WeakMap<DemoEnvironment, Map<number, WindowRecords>>();

/**
 * The day's scheduled events (independent of the traffic volume): a rolling deploy of the app tier on most weekdays
 * (sometimes a second one), an ad-hoc daytime backfill of the batch host on about one day in three (S3 uploads at
 * a third to twice the nightly rate for 40-110 minutes), and the primary database's nightly backup to S3.
 */
export function dailyEvents(ctx: TrafficContext, day: number): WindowRecords {
  const { env } = ctx;
  let cache = dayCache.get(env);
  if (!cache) dayCache.set(env, (cache = new Map()));
  const hit = cache.get(day);
  if (hit) return hit;
  const out = emptyWindow();
  const flows = new FlowEmitter(env, out.flow);
  const r = keyedRng(env.seed, 0xd4e7, day, 4);
  const d0 = day * DAY_MS;
  const app = instancesOf(env, 'app');
  const batch = instancesOf(env, 'batch')[0]!;
  const [db1, db2] = instancesOf(env, 'db') as [Instance, Instance];
  // Deploys: weekdays, US office hours.
  if (!isWeekend(d0 + 12 * HOUR)) {
    const deploys = r.next() < 0.75 ? (r.next() < 0.2 ? 2 : 1) : 0;
    for (let k = 0; k < deploys; k++) {
      let td = d0 + (14 + r.int(8)) * HOUR + r.int(40 * 60_000);
      for (const a of app) {
        deployRecords(env, out, r, a, td);
        td += 4 * 60_000 + r.int(4 * 60_000);
      }
    }
  }
  // Backfill on the batch host: big S3 uploads in the daytime.
  if (r.next() < 0.3) {
    const b0 = d0 + (9 + r.int(10)) * HOUR + r.int(30 * 60_000);
    const dur = (40 + r.int(70)) * 60_000;
    const n = Math.round((100 + r.int(500)) * (dur / HOUR));
    for (let k = 0; k < n; k++) {
      flows.conversation(r, { t: b0 + r.int(dur), client: batch, server: s3Ip(env, r), port: 443, reqBytes: 100_000 + r.int(8_000_000), respBytes: 2000 + r.int(10_000), clientPath: 7, dstService: 'S3', durationS: 30 });
    }
    for (let k = 0; k < n / 8; k++) {
      flows.conversation(r, { t: b0 + r.int(dur), client: batch, server: db2, port: 5432, reqBytes: 500 + r.int(2000), respBytes: 200_000 + r.int(5_000_000), durationS: 45 });
    }
  }
  // Nightly backup of the primary: a multipart upload of 1-4 GB.
  const tb = d0 + 2 * HOUR + r.int(25 * 60_000);
  dns(env, out.dns, r, db1, tb, `backups-${env.account}.s3.${env.region}.amazonaws.com`, [s3Ip(env, r)]);
  const parts = 15 + r.int(26);
  let t = tb + 1000;
  for (let k = 0; k < parts; k++) {
    t += 30_000 + r.int(60_000);
    flows.conversation(r, { t, client: db1, server: s3Ip(env, r), port: 443, reqBytes: 40_000_000 + r.int(80_000_000), respBytes: 2000 + r.int(4000), clientPath: 7, dstService: 'S3', durationS: 59 });
  }
  if (cache.size >= 8) cache.delete(cache.keys().next().value!);
  cache.set(day, out);
  return out;
}

/**
 * Normal records with event times in [t0, t1). Rates are per hour at peak load; the number of events in the
 * window is Poisson with the rate integrated over the window (evaluated at its midpoint), times the entity's
 * activity for that hour.
 */
/**
 * Employees: console sign-ins (office on weekdays in office hours, home otherwise), each followed by a few console
 * calls, over [t0, t1) (hour-long windows or shorter: the rates are per hour of the window's middle).
 */
export function employeeSessions(env: DemoEnvironment, t0: number, t1: number, rng: Rng, out: WindowRecords): void {
  const hours = (t1 - t0) / HOUR;
  const mid = (t0 + t1) / 2;
  const weekend = isWeekend(mid);
  const hourOfDay = (mid % 86_400_000) / HOUR;
  const office = !weekend && hourOfDay >= OFFICE_HOURS[0] && hourOfDay < OFFICE_HOURS[1];
  for (const u of env.users) {
    if (weekend && !u.weekend) continue;
    const rate = office ? 0.6 : weekend ? 0.05 : 0.04;
    const n = poisson(rate * hours, rng);
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
}

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
  const idx = new Map(env.instances.map((x, k) => [x.id, k]));
  const act = (i: Instance): number => activity(env.seed, idx.get(i.id)!, mid);
  const promo = campaign(env.seed, mid);

  const web = instancesOf(env, 'web');
  const app = instancesOf(env, 'app');
  const [db1, db2] = instancesOf(env, 'db') as [Instance, Instance];
  const bastion = instancesOf(env, 'bastion')[0]!;
  const batch = instancesOf(env, 'batch')[0]!;
  const zone = env.internalZone;

  // web: internet clients.
  for (const w of web) {
    const wl = load * promo * act(w);
    const n = count(300 * wl);
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
    const m = count(120 * wl);
    for (let k = 0; k < m; k++) {
      const t = at(t0, t1, rng);
      const a = app[rng.int(app.length)]!;
      flows.conversation(rng, { t, client: w, server: a, port: 8080, reqBytes: 300 + rng.int(3000), respBytes: 1000 + rng.int(60_000) });
      if (rng.next() < 0.08) dns(env, out.dns, rng, w, t - 20, `app.${zone}`, app.map((x) => x.ip));
    }
  }

  // app: database, third-party APIs, uploads to S3.
  for (const a of app) {
    const al = load * Math.sqrt(promo) * act(a);
    const n = count(90 * al);
    for (let k = 0; k < n; k++) {
      const t = at(t0, t1, rng);
      const primary = rng.next() < 0.8;
      flows.conversation(rng, { t, client: a, server: primary ? db1 : db2, port: 5432, reqBytes: 200 + rng.int(4000), respBytes: 500 + rng.int(120_000) });
      if (rng.next() < 0.06) dns(env, out.dns, rng, a, t - 15, primary ? `db.${zone}` : `db-ro.${zone}`, [primary ? db1.ip : db2.ip]);
    }
    const p = count(20 * al);
    for (let k = 0; k < p; k++) {
      const t = at(t0, t1, rng);
      const partner = env.partners[rng.int(env.partners.length)]!;
      const ip = partner.ips[rng.int(partner.ips.length)]!;
      flows.conversation(rng, { t, client: a, server: ip, port: 443, reqBytes: 800 + rng.int(4000), respBytes: 600 + rng.int(8000) });
      if (rng.next() < 0.3) dns(env, out.dns, rng, a, t - 30, partner.host, partner.ips);
    }
    // Customer uploads and logs to the assets bucket (gateway endpoint).
    const u = count(25 * al);
    for (let k = 0; k < u; k++) {
      const t = at(t0, t1, rng);
      const ip = s3Ip(env, rng);
      flows.conversation(rng, { t, client: a, server: ip, port: 443, reqBytes: 20_000 + rng.int(2_000_000), respBytes: 1000 + rng.int(3000), clientPath: 7, dstService: 'S3', durationS: 2 + rng.int(20) });
      if (rng.next() < 0.05) dns(env, out.dns, rng, a, t - 10, `app-assets-${env.account}.s3.${env.region}.amazonaws.com`, [ip]);
    }
  }

  // db: replication primary -> replica (steady, not diurnal).
  const r = count(30 * act(db2));
  for (let k = 0; k < r; k++) {
    flows.conversation(rng, { t: at(t0, t1, rng), client: db2, server: db1, port: 5432, reqBytes: 2000 + rng.int(8000), respBytes: 20_000 + rng.int(2_000_000), durationS: 59 });
  }

  // bastion: admins in office hours (13:00-23:00 UTC on weekdays), rarely otherwise.
  const office = !weekend && hourOfDay >= OFFICE_HOURS[0] && hourOfDay < OFFICE_HOURS[1];
  const sessions = count((office ? 0.8 : 0.04) * act(bastion));
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
  const ba = act(batch);
  const s3 = count((night ? 300 : 4) * ba);
  for (let k = 0; k < s3; k++) {
    const t = at(t0, t1, rng);
    flows.conversation(rng, { t, client: batch, server: s3Ip(env, rng), port: 443, reqBytes: 100_000 + rng.int(8_000_000), respBytes: 2000 + rng.int(10_000), clientPath: 7, dstService: 'S3', durationS: 30 });
    if (rng.next() < 0.05) dns(env, out.dns, rng, batch, t - 10, `exports-${env.account}.s3.us-east-1.amazonaws.com`, [s3Ip(env, rng)]);
  }
  const reads = count((night ? 40 : 0) * ba);
  for (let k = 0; k < reads; k++) {
    flows.conversation(rng, { t: at(t0, t1, rng), client: batch, server: db2, port: 5432, reqBytes: 500 + rng.int(2000), respBytes: 200_000 + rng.int(5_000_000), durationS: 45 });
  }

  // Every instance: periodic AWS endpoint lookups (SSM agent, CloudWatch agent), resolver noise, OS updates, the
  // SSM agent's check-in and the role credential refresh.
  for (const i of env.instances) {
    const q = count(12);
    for (let k = 0; k < q; k++) {
      const name = ['ssm', 'ec2messages', 'ssmmessages', 'monitoring', 'logs'][rng.int(5)]!;
      dns(env, out.dns, rng, i, at(t0, t1, rng), `${name}.${env.region}.amazonaws.com`, [endpointIp(i, rng)]);
    }
    const nx = count(0.8);
    for (let k = 0; k < nx; k++) dns(env, out.dns, rng, i, at(t0, t1, rng), PROBE_NAMES[rng.int(PROBE_NAMES.length)]!, [], { rcode: 'NXDOMAIN' });
    const repo = count(0.3);
    for (let k = 0; k < repo; k++) dns(env, out.dns, rng, i, at(t0, t1, rng), REPO_NAME, [s3Ip(env, rng)]);
    const checkIn = count(4);
    for (let k = 0; k < checkIn; k++) {
      const t = at(t0, t1, rng);
      out.trail.push({ t: Math.floor(t / 1000) * 1000, text: instanceRoleCall(env, rng, i, t, 'ssm.amazonaws.com', 'UpdateInstanceInformation', { instanceId: i.id, agentVersion: '3.3.131.0', platformType: 'Linux', agentName: 'amazon-ssm-agent' }, { userAgent: SSM_AGENT, readOnly: false }) });
    }
    const creds = count(1);
    for (let k = 0; k < creds; k++) {
      const t = at(t0, t1, rng);
      out.trail.push({ t: Math.floor(t / 1000) * 1000, text: ec2AssumeRole(env, rng, i, t) });
    }
  }
  // app roles: secrets and KMS through interface endpoints.
  for (const a of app) {
    const n = count(6 * load * act(a));
    for (let k = 0; k < n; k++) {
      const t = at(t0, t1, rng);
      const kms = rng.next() < 0.6;
      const text = kms
        ? instanceApiCall(env, rng, a, t, 'kms.amazonaws.com', 'Decrypt', { encryptionAlgorithm: 'SYMMETRIC_DEFAULT' })
        : instanceApiCall(env, rng, a, t, 'secretsmanager.amazonaws.com', 'GetSecretValue', { secretId: 'prod/app/db' });
      out.trail.push({ t: Math.floor(t / 1000) * 1000, text });
    }
  }

  employeeSessions(env, t0, t1, rng, out);

  // The day's scheduled events that fall in this window.
  for (let day = Math.floor(t0 / DAY_MS); day * DAY_MS < t1; day++) {
    const ev = dailyEvents(ctx, day);
    for (const kind of ['flow', 'dns', 'trail'] as const) {
      for (const rec of ev[kind]) if (rec.t >= t0 && rec.t < t1) out[kind].push({ t: rec.t, text: rec.text });
    }
  }
  return out;
}
