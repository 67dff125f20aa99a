/**
 * The lake pipeline with its defaults on an estate of our own (not the demo generator): raw VPC flow logs v5 with
 * flow-direction, written here, of 20 instances in three tiers (web behind an internal load balancer, app, db) talking
 * to their peers and a few internet services for three days; then a 12-hour window in which two instances contact
 * foreign addresses and a foreign address connects to a web server. `seclake ingest` -> `seclake train --lake` ->
 * `seclake monitor --once --from-start` with no pair options must flag those pairs and (almost) nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoFindingOf } from '../../src/demo/monitor.js';
import type { DetectionFinding } from '../../src/findings/types.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function cli(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `seclake ${args.slice(0, 3).join(' ')} ...: exit ${r.status}\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** mulberry32: a small seeded generator (the estate is the same every run). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const VPC = 'vpc-0e57a7e00000001';
const HOUR = 3_600_000;
const FIELDS =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id ' +
  'tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path';

interface Instance {
  id: string;
  eni: string;
  ip: string;
  subnet: string;
  tier: 'web' | 'app' | 'db';
}

function estate(): Instance[] {
  const out: Instance[] = [];
  const tiers = [
    ['web', 5, 1],
    ['app', 9, 2],
    ['db', 6, 3],
  ] as const;
  let n = 0;
  for (const [tier, count, net] of tiers) {
    for (let i = 0; i < count; i++, n++) {
      const hex = (0xa000 + n).toString(16);
      out.push({ id: `i-0e57a7e00000${hex}0`, eni: `eni-0e57a7e0000${hex}0`, ip: `10.20.${net}.${11 + i}`, subnet: `subnet-0e57a7e000000${net}`, tier });
    }
  }
  return out;
}

/** A relationship: `client` opens connections to `server:port`; a side that is not an instance logs nothing. */
interface Link {
  client: Instance | string;
  server: Instance | string;
  port: number;
  /** Chance per hour that the link is used. */
  p: number;
}

const LB = ['10.20.1.200', '10.20.1.201'];
const SERVICES = { cdn: '151.101.2.15', metrics: '34.120.177.193', api: '52.94.28.10', pkgs: '91.189.91.38', backup: '52.218.49.4', mail: '18.200.160.41' };

function links(inst: Instance[]): Link[] {
  const web = inst.filter((i) => i.tier === 'web');
  const app = inst.filter((i) => i.tier === 'app');
  const db = inst.filter((i) => i.tier === 'db');
  const out: Link[] = [];
  web.forEach((w, i) => {
    for (const lb of LB) out.push({ client: lb, server: w, port: 443, p: 0.95 });
    for (let k = 0; k < 3; k++) out.push({ client: w, server: app[(i * 2 + k) % app.length]!, port: 8080, p: 0.8 });
    out.push({ client: w, server: SERVICES.cdn, port: 443, p: 0.5 }, { client: w, server: SERVICES.metrics, port: 443, p: 0.9 });
  });
  app.forEach((a, i) => {
    for (let k = 0; k < 2; k++) out.push({ client: a, server: db[(i + k * 3) % db.length]!, port: 5432, p: 0.8 });
    out.push({ client: a, server: SERVICES.api, port: 443, p: 0.7 }, { client: a, server: SERVICES.metrics, port: 443, p: 0.9 });
    if (i % 3 === 0) out.push({ client: a, server: SERVICES.mail, port: 587, p: 0.3 });
  });
  db.forEach((d, i) => {
    out.push({ client: d, server: SERVICES.backup, port: 443, p: 0.4 }, { client: d, server: SERVICES.metrics, port: 443, p: 0.9 });
    if (i < 3) out.push({ client: d, server: db[(i + 3) % db.length]!, port: 5432, p: 0.9 }); // replication
  });
  for (const i of inst) out.push({ client: i, server: SERVICES.pkgs, port: 80, p: 0.05 });
  return out;
}

const ipOf = (x: Instance | string): string => (typeof x === 'string' ? x : x.ip);

/** The v5 records of one TCP connection: request and response, logged by each side that is an instance. */
function connection(c: Instance | string, s: Instance | string, port: number, t: number, r: () => number, bytes: number): string[] {
  const sport = 32768 + Math.floor(r() * 28000);
  const start = Math.floor(t / 1000);
  const end = start + 1 + Math.floor(r() * 50);
  const pk = 2 + Math.floor(r() * 30);
  const line = (at: Instance, dir: 'ingress' | 'egress', src: string, dst: string, sp: number, dp: number, b: number): string =>
    `5 ${ACCOUNT} ${at.eni} ${src} ${dst} ${sp} ${dp} 6 ${pk} ${b} ${start} ${end} ACCEPT OK ${VPC} ${at.subnet} ${at.id} 18 IPv4 ${src} ${dst} ${REGION} euw1-az1 - - - - ${dir} ${dir === 'egress' ? (dst.startsWith('10.') ? 1 : 8) : '-'}`;
  const out: string[] = [];
  const cs = ipOf(c);
  const ss = ipOf(s);
  if (typeof c !== 'string') out.push(line(c, 'egress', cs, ss, sport, port, 400 + pk * 60), line(c, 'ingress', ss, cs, port, sport, bytes));
  if (typeof s !== 'string') out.push(line(s, 'ingress', cs, ss, sport, port, 400 + pk * 60), line(s, 'egress', ss, cs, port, sport, bytes));
  return out;
}

function objectName(hourStart: number): string {
  const d = new Date(hourStart).toISOString();
  const stamp = `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}T${d.slice(11, 13)}${d.slice(14, 16)}Z`;
  return path.join('AWSLogs', ACCOUNT, 'vpcflowlogs', REGION, d.slice(0, 4), d.slice(5, 7), d.slice(8, 10), `${ACCOUNT}_vpcflowlogs_${REGION}_fl-0e57a7e0_${stamp}_${hourStart.toString(16)}.log`);
}

/** Write one flow log object per hour in [from, to); `extra(hourStart)` adds (attack) records. Returns the files. */
function writeHours(dir: string, inst: Instance[], from: number, to: number, seed: number, extra?: (h: number, r: () => number) => string[]): string[] {
  const r = rng(seed);
  const ls = links(inst);
  const files: string[] = [];
  for (let h = from; h < to; h += HOUR) {
    const lines: string[] = [];
    for (const l of ls) {
      if (r() >= l.p) continue;
      const n = 1 + Math.floor(r() * 3);
      for (let k = 0; k < n; k++) lines.push(...connection(l.client, l.server, l.port, h + Math.floor(r() * (HOUR - 60_000)), r, 2000 + Math.floor(r() * 90_000)));
    }
    if (extra) lines.push(...extra(h, r));
    const file = path.join(dir, objectName(h));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${FIELDS}\n${lines.join('\n')}\n`);
    files.push(file);
  }
  return files;
}

test('an estate of our own: raw v5 flow logs -> ingest -> train --lake -> monitor, no pair options', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-estate-'));
  if (!process.env.SECLAKE_TEST_KEEP) t.after(() => rmSync(dir, { recursive: true, force: true }));
  const inst = estate();
  const web2 = inst.find((i) => i.tier === 'web' && i.ip.endsWith('.12'))!;
  const app4 = inst.filter((i) => i.tier === 'app')[3]!;
  const db1 = inst.find((i) => i.tier === 'db')!;
  const C2 = '185.220.101.33';
  const EXFIL = '45.83.64.7';
  const SCANNER = '103.251.167.20';
  const attackPairs = new Set([`${app4.id} ${C2}`, `${db1.id} ${EXFIL}`, `${web2.id} ${SCANNER}`]);

  const t0 = Date.parse('2026-03-02T00:00:00Z');
  const calStart = t0 + 60 * HOUR;
  const heldOut = t0 + 72 * HOUR;
  const end = heldOut + 12 * HOUR;
  const history = writeHours(path.join(dir, 'history'), inst, t0, calStart, 11);
  const calibration = writeHours(path.join(dir, 'calibration'), inst, calStart, heldOut, 13);
  const window = writeHours(path.join(dir, 'window'), inst, heldOut, end, 12, (h, r) => {
    const k = (h - heldOut) / HOUR;
    const out: string[] = [];
    // A beacon from app-4 every hour from hour 3; a large upload from db-1 at hours 7-8; SSH from a foreign address.
    if (k >= 3) out.push(...connection(app4, C2, 443, h + 600_000, r, 1500));
    if (k === 7 || k === 8) out.push(...connection(db1, EXFIL, 443, h + 1_200_000, r, 2_000_000_000));
    if (k === 5) for (let i = 0; i < 4; i++) out.push(...connection(SCANNER, web2, 22, h + i * 60_000, r, 3000));
    return out;
  });

  // Two and a half days of history -> train; the next 12 hours -> calibrate; then the window -> monitor.
  const lake = path.join(dir, 'lake');
  cli(['ingest', '--lake', lake, '--json', ...history]);
  // No --model: the model goes into the lake and is registered there, so the monitor below needs no options.
  const trained = JSON.parse(cli(['train', '--lake', lake, '--threads', '1', '--seed', '1', '--json', '--no-progress']).stdout) as {
    model: string;
    registered: { name: string };
    rows: number;
    distinct_entities: number;
    warnings: string[];
    record_definition: { name: string };
  };
  assert.equal(trained.record_definition.name, 'default');
  assert.equal(trained.registered.name, 'ipinsights-default');
  const model = trained.model;
  assert.ok(model.startsWith(path.join(lake, '_seclake', 'models')), model);
  assert.deepEqual(trained.warnings, []);
  assert.equal(trained.distinct_entities, inst.length);

  // calibrate --lake, no pair options: the model's own definition (its user-login part finds no CloudTrail here).
  cli(['ingest', '--lake', lake, '--json', ...calibration]);
  const cal = JSON.parse(cli(['calibrate', '--model', model, '--lake', lake, '--since', new Date(calStart).toISOString(), '--until', new Date(heldOut).toISOString(), '--json']).stdout) as {
    normal: { used: number };
    auc: number;
    threshold: number;
  };
  assert.ok(cal.normal.used > 1000, `calibration normal pairs ${cal.normal.used}`);

  cli(['ingest', '--lake', lake, '--json', ...window]);
  const pairsCsv = path.join(dir, 'pairs.csv');
  cli(['pairs', '--lake', lake, '--out', pairsCsv]);
  const lakePairs = new Set(readFileSync(pairsCsv, 'utf8').split('\n').filter(Boolean).map((l) => l.replace(',', ' ')));
  for (const p of attackPairs) assert.ok(lakePairs.has(p), `the default definition reads attack pair ${p}`);
  const normalPairs = [...lakePairs].filter((p) => !attackPairs.has(p)).length;

  const out = path.join(dir, 'findings.jsonl');
  // The monitor with no model or pair options: the lake's registered model with the definition it was trained on.
  const sum = JSON.parse(cli(['monitor', '--lake', lake, '--once', '--from-start', '--json', '--quiet', '--sink', `file:${out}`, '--sink-detections', '--no-sink-incidents']).stdout) as { failed: number; pairs: number };
  assert.equal(sum.failed, 0);
  const findings = existsSync(out)
    ? readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => demoFindingOf(JSON.parse(l) as DetectionFinding))
    : [];
  const flagged = new Set(findings.map((f) => `${f.entity} ${f.ip}`));
  const hit = [...attackPairs].filter((p) => flagged.has(p));
  const falsePairs = [...flagged].filter((p) => !attackPairs.has(p));
  t.diagnostic(
    `calibration AUC ${cal.auc.toFixed(4)}, threshold ${cal.threshold.toFixed(3)}; ${findings.length} findings; attack pairs ${hit.length}/${attackPairs.size}; false pairs ${falsePairs.length} of ${normalPairs} normal pairs: ${falsePairs.slice(0, 5).join(', ')}`,
  );
  assert.deepEqual(hit.sort(), [...attackPairs].sort(), 'every attack pair is flagged');
  assert.ok(falsePairs.length <= Math.max(3, 0.03 * normalPairs), `false pairs: ${falsePairs.length} of ${normalPairs}: ${falsePairs.join(', ')}`);
});
