/**
 * The behaviour attacks of the demo, read back from the raw objects the generator wrote: each is far outside its
 * entity's normal hours in the feature a behaviour detector looks at, and none brings an (entity, address) pair an
 * entity-IP model could object to (the exfiltration's pairs are all in the clean history; DNS and API records have no
 * pair). The normal traffic has its own hour-to-hour rhythm per entity, so "unusual" is not "anything but a flat line".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { loadDemoNetworks } from '../../src/demo/asn-pools.js';
import { ATTACK_SPECS, BEHAVIOUR_ATTACK_KINDS, planAttack } from '../../src/demo/attacks.js';
import { buildEnvironment } from '../../src/demo/environment.js';
import { generateDemo, scheduleAttacks, type GenerateResult } from '../../src/demo/generate.js';
import type { AttackLabel } from '../../src/demo/labels.js';
import { dailyEvents, diurnal, HOUR, isWeekend } from '../../src/demo/traffic.js';

const END = Date.parse('2026-03-04T12:00:00Z'); // a Wednesday: the history is two weekdays
const nets = await loadDemoNetworks();
const dir = mkdtempSync(path.join(tmpdir(), 'seclake-demo-behaviour-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const gen: GenerateResult = await generateDemo({ out: dir, days: 2, attackDays: 1, seed: 11, end: END, volume: { scale: 0.3 }, networks: nets });
const label = (kind: string): AttackLabel => gen.labels.find((l) => l.kind === kind)!;

/** Per (entity, hour) tallies of the objects, split into the clean history and the attack period. */
interface Hourly {
  egressBytes: Map<string, number>;
  internalPeers: Map<string, Set<string>>;
  dnsQueries: Map<string, number>;
  apis: Map<string, Set<string>>;
  inboundConversations: Map<string, number>;
  /** (instance, peer) pairs of the clean history. */
  pairs: Set<string>;
}
const hk = (entity: string, t: number): string => `${entity}@${Math.floor(t / HOUR)}`;

function tally(): Hourly {
  const h: Hourly = { egressBytes: new Map(), internalPeers: new Map(), dnsQueries: new Map(), apis: new Map(), inboundConversations: new Map(), pairs: new Set() };
  const add = (m: Map<string, number>, k: string, n: number): void => void m.set(k, (m.get(k) ?? 0) + n);
  for (const o of gen.objects) {
    if (o.start >= gen.attackStart) continue; // clean history only
    const text = gunzipSync(readFileSync(path.join(gen.logsDir, o.key))).toString('utf8');
    if (o.kind === 'vpc_flow') {
      for (const line of text.split('\n').slice(1)) {
        if (!line) continue;
        const f = line.split(' ');
        const t = Number(f[10]) * 1000;
        const inst = f[16]!;
        const egress = f[27] === 'egress';
        const peer = egress ? f[4]! : f[3]!;
        h.pairs.add(`${inst} ${peer}`);
        if (egress) add(h.egressBytes, hk(inst, t), Number(f[9]));
        else if (Number(f[6]) < 32768) add(h.inboundConversations, hk(inst, t), 1);
        if (peer.startsWith('10.0.')) (h.internalPeers.get(hk(inst, t)) ?? h.internalPeers.set(hk(inst, t), new Set()).get(hk(inst, t))!).add(peer);
      }
    } else if (o.kind === 'route53') {
      for (const line of text.split('\n')) {
        if (!line) continue;
        const q = JSON.parse(line) as { query_timestamp: string; srcids: { instance: string } };
        add(h.dnsQueries, hk(q.srcids.instance, Date.parse(q.query_timestamp)), 1);
      }
    } else {
      for (const e of (JSON.parse(text) as { Records: { eventTime: string; eventSource: string; eventName: string; userIdentity: { type: string; arn?: string } }[] }).Records) {
        if (e.userIdentity.type !== 'AssumedRole') continue;
        const k = hk(e.userIdentity.arn!.split('/').pop()!, Date.parse(e.eventTime));
        (h.apis.get(k) ?? h.apis.set(k, new Set()).get(k)!).add(`${e.eventSource}:${e.eventName}`);
      }
    }
  }
  return h;
}
const clean = tally();
/** The entity's largest hourly value in the clean history. */
const maxOf = <T>(m: Map<string, T>, entity: string, v: (x: T) => number): number => {
  let best = 0;
  for (const [k, x] of m) if (k.startsWith(`${entity}@`)) best = Math.max(best, v(x));
  return best;
};

/** The attack's records, read from the objects. */
function recordsOf(l: AttackLabel): string[] {
  const texts = new Map<string, string>();
  return l.records.map((r) => {
    let t = texts.get(r.file);
    if (t === undefined) texts.set(r.file, (t = gunzipSync(readFileSync(path.join(gen.logsDir, r.file))).toString('utf8')));
    return r.view === 'vpc_flow' || r.view === 'route53' ? t.split('\n')[r.position - 1]! : JSON.stringify((JSON.parse(t) as { Records: unknown[] }).Records[r.position - 1]);
  });
}

test('the schedule: every attack after the first full hour of the attack period, inside its own slot, ending before the end', () => {
  assert.deepEqual(gen.labels.map((l) => l.kind).slice(-4), [...BEHAVIOUR_ATTACK_KINDS]);
  const firstHour = Math.ceil(gen.attackStart / HOUR) * HOUR;
  let prevEnd = firstHour;
  for (const l of gen.labels) {
    assert.ok(l.start_ms >= prevEnd, `${l.attack_id} starts after the previous attack (${l.start} >= ${new Date(prevEnd).toISOString()})`);
    assert.ok(l.end_ms < gen.end, `${l.attack_id} ends inside the history`);
    assert.ok(l.end_ms - l.start_ms <= ATTACK_SPECS[l.kind as keyof typeof ATTACK_SPECS].maxMinutes * 60_000);
    prevEnd = l.end_ms;
  }
  // A short attack period squeezes the long attacks instead of running past its end.
  const slots = scheduleAttacks(BEHAVIOUR_ATTACK_KINDS, END - 3 * HOUR, END, new Rng(3));
  for (const s of slots) assert.ok(s.start + s.budgetMs < END, `${s.kind} fits`);
  assert.ok(slots[0]!.budgetMs < 120 * 60_000);
});

test('exfiltration to a usual destination: 20-100x the host\'s busiest hour, to S3 addresses it used in the clean history', () => {
  const l = label('exfiltration_usual_destination');
  assert.equal(l.category, 'behaviour');
  const host = l.entity;
  let bytes = 0;
  for (const [i, line] of recordsOf(l).entries()) {
    const r = l.records[i]!;
    if (r.view !== 'vpc_flow') continue;
    assert.ok(clean.pairs.has(`${r.entity} ${r.ip}`), `(${r.entity}, ${r.ip}) is a pair of the clean history`);
    const f = line.split(' ');
    if (f[27] !== 'egress') continue;
    bytes += Number(f[9]);
    assert.equal(f[26], 'S3', 'through the S3 gateway endpoint');
  }
  const hours = (l.end_ms - l.start_ms) / HOUR;
  assert.ok(hours >= 0.9 && hours <= 2.05, `${hours} h`);
  const busiest = maxOf(clean.egressBytes, host, (x) => x);
  assert.ok(bytes / hours >= 15 * busiest, `${(bytes / hours / 1e6).toFixed(0)} MB/h against a busiest clean hour of ${(busiest / 1e6).toFixed(1)} MB`);
  assert.ok(bytes / hours <= 110 * busiest);
});

test('DNS tunnelling: hundreds to thousands of long random names under one domain, many NXDOMAIN, no flow and no pair', () => {
  const l = label('dns_tunnelling');
  const lines = recordsOf(l).map((x) => JSON.parse(x) as { query_name: string; query_type: string; rcode: string; srcids: { instance: string; resolver_endpoint: string } });
  assert.ok(lines.length >= 300 && lines.length <= 3000, `${lines.length} queries`);
  assert.ok(l.records.every((r) => r.view === 'route53' && r.ip === undefined));
  const domain = String(l.details.domain);
  let labelChars = 0;
  let labels = 0;
  for (const q of lines) {
    assert.ok(q.query_name.endsWith(`.${domain}.`));
    assert.ok(q.query_name.length <= 254 && q.query_name.split('.').every((x) => x.length <= 63));
    assert.ok(['TXT', 'NULL', 'A'].includes(q.query_type));
    assert.equal(q.srcids.instance, l.entity);
    assert.equal(q.srcids.resolver_endpoint, gen.env.resolverEndpoint);
    for (const x of q.query_name.slice(0, -domain.length - 2).split('.').slice(0, -1)) {
      labelChars += x.length;
      labels++;
    }
  }
  assert.ok(labelChars / labels >= 30, `mean data label ${labelChars / labels}`);
  const nx = lines.filter((q) => q.rcode === 'NXDOMAIN').length / lines.length;
  assert.ok(nx >= 0.2 && nx <= 0.9, `NXDOMAIN share ${nx}`);
  const perHour = lines.length / Math.max(1, (l.end_ms - l.start_ms) / HOUR);
  assert.ok(perHour >= 10 * maxOf(clean.dnsQueries, l.entity, (x) => x), `${perHour} queries/h against ${maxOf(clean.dnsQueries, l.entity, (x) => x)}`);
});

test('internal scan: many internal addresses and ports from the scanner\'s own address, mostly rejected', () => {
  const l = label('internal_scan');
  const scanner = gen.env.instances.find((i) => i.id === l.entity)!;
  const prefixes = gen.env.subnets.map((s) => `${s.prefix}.`);
  const probed = new Set<string>();
  const ports = new Set<string>();
  let rejects = 0;
  let scannerRecords = 0;
  for (const [i, line] of recordsOf(l).entries()) {
    const r = l.records[i]!;
    const f = line.split(' ');
    if (f[12] === 'REJECT') rejects++;
    if (r.entity !== scanner.id) continue;
    scannerRecords++;
    if (f[27] !== 'egress') continue;
    assert.equal(f[3], scanner.ip, 'probes leave from the scanner\'s own address');
    assert.ok(prefixes.some((p) => f[4]!.startsWith(p)), `${f[4]} is in a subnet of the VPC`);
    probed.add(f[4]!);
    ports.add(f[6]!);
  }
  const probes = Number(l.details.probes);
  assert.ok(probes >= 500 && probes <= 5000, `${probes} probes`);
  assert.ok(probed.size >= 50 && ports.size >= 8, `${probed.size} addresses, ${ports.size} ports`);
  assert.ok(rejects / probes >= 0.5, `rejected ${rejects}/${probes}`);
  assert.ok(scannerRecords >= probes);
  const usual = maxOf(clean.internalPeers, scanner.id, (s) => s.size);
  assert.ok(probed.size >= 5 * usual, `${probed.size} internal peers against at most ${usual} an hour`);
});

test('API burst: an instance role calls hundreds of distinct APIs from its own address, mostly denied', () => {
  const l = label('api_burst');
  const host = gen.env.instances.find((i) => i.id === l.entity)!;
  const events = recordsOf(l).map((x) => JSON.parse(x) as { eventSource: string; eventName: string; errorCode?: string; sourceIPAddress: string; userIdentity: { type: string; arn: string } });
  assert.ok(l.records.every((r) => r.view === 'cloudtrail_api' && r.ip === undefined));
  for (const e of events) {
    assert.equal(e.userIdentity.type, 'AssumedRole');
    assert.equal(e.userIdentity.arn, `arn:aws:sts::${gen.env.account}:assumed-role/${host.role}-instance-role/${host.id}`);
    assert.equal(e.sourceIPAddress, host.ip);
    assert.match(e.eventName, /^(List|Describe|Get|BatchGet|Lookup|Filter|Search|Simulate)/);
  }
  const distinct = new Set(events.map((e) => `${e.eventSource}:${e.eventName}`)).size;
  assert.ok(distinct >= 150, `${distinct} distinct APIs`);
  assert.ok(events.some((e) => e.eventSource === 'iam.amazonaws.com'));
  const denied = events.filter((e) => e.errorCode !== undefined).length / events.length;
  assert.ok(denied >= 0.5, `denied share ${denied}`);
  assert.ok(distinct >= 8 * maxOf(clean.apis, host.id, (s) => s.size), `${distinct} APIs against at most ${maxOf(clean.apis, host.id, (s) => s.size)} an hour`);
});

test('behaviour attacks vary with the seed and keep their shape', () => {
  const env = buildEnvironment(nets, { seed: 11 });
  const seen: Record<string, Set<string>> = {};
  for (let s = 1; s <= 8; s++) {
    for (const kind of BEHAVIOUR_ATTACK_KINDS) {
      const p = planAttack(env, nets, kind, 'x', END, new Rng(s), { usualEgress: () => [1e6, 2e6, 40e6] });
      assert.ok(p.records.length > 0);
      assert.equal(p.category, 'behaviour');
      assert.ok(p.end - p.start <= ATTACK_SPECS[kind].maxMinutes * 60_000 + 1000, `${kind} seed ${s} within its longest duration`);
      (seen[kind] ??= new Set()).add(`${p.entities[0]} ${p.records.length}`);
      if (kind === 'internal_scan') {
        const d = p.details as { probes: number; addresses: number; ports: number; rejected_share: number };
        assert.ok(d.probes >= 500 && d.probes <= 5000 && d.addresses >= 200 && d.ports >= 8 && d.rejected_share >= 0.6, `internal scan seed ${s}: ${JSON.stringify(d)}`);
      }
      if (kind === 'exfiltration_usual_destination') {
        const m = Number(p.details.multiplier);
        assert.ok(m >= 20 && m <= 100, `multiplier ${m}`);
      }
    }
  }
  for (const kind of BEHAVIOUR_ATTACK_KINDS) assert.ok(seen[kind]!.size >= 6, `${kind}: ${[...seen[kind]!].join('; ')}`);
});

test('normal traffic: each entity has its own hour-to-hour rhythm on top of the diurnal curve', () => {
  const web = gen.env.instances.filter((i) => i.role === 'web');
  const hours: number[] = [];
  for (let t = gen.start; t < gen.attackStart; t += HOUR) hours.push(t);
  // Inbound conversations per hour divided by the diurnal load: what is left is the entity's own rhythm.
  const residual = (id: string): number[] => hours.map((t) => (clean.inboundConversations.get(hk(id, t)) ?? 0) / (diurnal(t + HOUR / 2) * (isWeekend(t) ? 0.8 : 1)));
  const cv = (xs: number[]): number => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length) / m;
  };
  const corr = (a: number[], b: number[]): number => {
    const ma = a.reduce((x, y) => x + y, 0) / a.length;
    const mb = b.reduce((x, y) => x + y, 0) / b.length;
    let s = 0;
    let sa = 0;
    let sb = 0;
    for (let i = 0; i < a.length; i++) {
      s += (a[i]! - ma) * (b[i]! - mb);
      sa += (a[i]! - ma) ** 2;
      sb += (b[i]! - mb) ** 2;
    }
    return s / Math.sqrt(sa * sb);
  };
  const rs = web.map((w) => residual(w.id));
  for (const [k, r] of rs.entries()) assert.ok(cv(r) >= 0.15, `${web[k]!.name}: residual CV ${cv(r).toFixed(3)}`);
  assert.ok(corr(rs[0]!, rs[1]!) < 0.9, `web-1 and web-2 move independently (r = ${corr(rs[0]!, rs[1]!).toFixed(2)})`);
  // Busy hours: somewhere an entity's hour is well above its usual level.
  const busy = rs.some((r) => {
    const sorted = [...r].sort((a, b) => a - b);
    return sorted[sorted.length - 1]! >= 1.7 * sorted[Math.floor(sorted.length / 2)]!;
  });
  assert.ok(busy, 'a busy hour on the web tier');
  // The primary's nightly backup to S3 is in the history.
  const db1 = gen.env.instances.find((i) => i.name === 'db-1')!;
  const nightly = hours.filter((t) => (t % (24 * HOUR)) / HOUR === 2).map((t) => clean.egressBytes.get(hk(db1.id, t)) ?? 0);
  assert.ok(nightly.length > 0 && nightly.every((b) => b >= 500e6), `db-1's 02:00 hours: ${nightly.map((b) => (b / 1e6).toFixed(0)).join(', ')} MB`);
});

test('scheduled events over a week: a backup every night, deploys on most weekdays and none at weekends, some backfills', () => {
  const env = buildEnvironment(nets, { seed: 11 });
  const monday = Math.floor(Date.parse('2026-03-02T00:00:00Z') / (24 * HOUR));
  const app = new Set(env.instances.filter((i) => i.role === 'app').map((i) => i.id));
  const batch = env.instances.find((i) => i.role === 'batch')!;
  let deployDays = 0;
  let backfillDays = 0;
  for (let d = monday; d < monday + 28; d++) {
    const ev = dailyEvents({ env, nets }, d);
    const weekend = isWeekend(d * 24 * HOUR + 12 * HOUR);
    const deploys = ev.trail.filter((r) => r.text.includes('"GetAuthorizationToken"') && [...app].some((a) => r.text.includes(a))).length;
    if (weekend) assert.equal(deploys, 0, 'no deploy at weekends');
    else if (deploys > 0) {
      deployDays++;
      assert.equal(deploys % app.size, 0, 'a deploy rolls over every app instance');
    }
    assert.ok(ev.dns.some((r) => r.text.includes(`backups-${env.account}`)), 'the nightly backup');
    const backfill = ev.flow.filter((r) => r.text.includes(batch.id) && / egress 7$/.test(r.text));
    if (backfill.length > 0) {
      backfillDays++;
      const hour = (backfill[0]!.t % (24 * HOUR)) / HOUR;
      assert.ok(hour >= 9 && hour < 21, `backfill in the daytime (${hour})`);
    }
    // Deterministic per (environment, day): the same records again.
    assert.equal(dailyEvents({ env, nets }, d), ev);
  }
  assert.ok(deployDays >= 10 && deployDays <= 20, `${deployDays} of 20 weekdays with a deploy`);
  assert.ok(backfillDays >= 3 && backfillDays <= 16, `${backfillDays} of 28 days with a backfill`);
});
