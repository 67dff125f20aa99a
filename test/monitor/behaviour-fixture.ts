/**
 * A small lake of hourly behaviour for the behaviour monitor and calibration tests: three instances whose VPC flow
 * logs (v5, flow-direction, instance ids) repeat the same hourly routine with a little noise, at volumes an order of
 * magnitude apart (an app server that uploads ~40 MB an hour to S3, a database, a bastion). Files hold whole hours;
 * `behaviourFlows` can put in the two behaviour anomalies no (entity, IP) model sees: the app server sending 50x its
 * usual bytes to its usual S3 address (exfiltration to a usual destination), and the bastion scanning its own subnet
 * (many internal peers and ports, mostly rejected).
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/core/rng.js';
import { runFeatureCalibration, type FeatureCalibrationJson } from '../../src/calibrate/features.js';
import { detectorOf } from '../../src/detectors/index.js';
import { writeFlows, type Flow, type TestInstance } from '../../src/detectors/rcf/features/test-data.js';
import { loadLakeFeatures } from '../../src/detectors/rcf/lake.js';
import { ingest } from '../../src/ingest/ingest.js';
import { readObjects } from '../../src/lake/catalog.js';
import { META_DIR } from '../../src/lake/layout.js';
import { registerModel } from '../../src/lake/models.js';
import { openLakeQuery } from '../../src/lake/views.js';

export const HOUR = 3_600_000;
export const MIN = 60_000;
/** 2026-03-02T00:00:00Z: hour 0 of the fixture. */
export const T0 = Date.UTC(2026, 2, 2);

export const APP: TestInstance = { id: 'i-0a11a11a11a11a11a', ip: '10.0.1.10', subnet: 'subnet-0a11a11a11a11a11a', eni: 'eni-0a11a11a11a11a11a' };
export const DB: TestInstance = { id: 'i-0db0db0db0db0db0d', ip: '10.0.2.20', subnet: 'subnet-0db0db0db0db0db0d', eni: 'eni-0db0db0db0db0db0d' };
export const BASTION: TestInstance = { id: 'i-0b45b45b45b45b45b', ip: '10.0.3.30', subnet: 'subnet-0b45b45b45b45b45b', eni: 'eni-0b45b45b45b45b45b' };
export const INSTANCES = [APP, DB, BASTION];

const S3_IP = '52.216.8.44';
const LB_IPS = ['10.0.9.11', '10.0.9.12'];

export interface HourOptions {
  /** Multiply the app server's bytes to S3 in this hour (exfiltration to a usual destination). */
  exfil?: number;
  /** The bastion scans its subnet in this hour. */
  scan?: boolean;
}

/** One hour of routine traffic (hour index from T0), with noise from `rng`. */
export function hourFlows(hour: number, rng: Rng, opts: HourOptions = {}): Flow[] {
  const t0 = T0 + hour * HOUR;
  const at = (): number => t0 + 30_000 + Math.floor(rng.next() * (HOUR - 60_000));
  const vary = (x: number): number => Math.round(x * (0.85 + 0.3 * rng.next()));
  const out: Flow[] = [];
  let port = 40_000 + ((hour * 97) % 1000);
  const eph = (): number => port++;
  // The app server: requests from the load balancers, queries to the database, uploads to S3.
  for (let k = 0; k < 6; k++) {
    const lb = LB_IPS[k % 2]!;
    const p = eph();
    out.push({ at: APP, dir: 'ingress', src: lb, dst: APP.ip, sport: p, dport: 8080, bytes: vary(150_000), packets: vary(120), t: at() });
    out.push({ at: APP, dir: 'egress', src: APP.ip, dst: lb, sport: 8080, dport: p, bytes: vary(900_000), packets: vary(700), t: at() });
  }
  for (let k = 0; k < 4; k++) {
    const p = eph();
    out.push({ at: APP, dir: 'egress', src: APP.ip, dst: DB.ip, sport: p, dport: 5432, bytes: vary(20_000), packets: vary(40), t: at() });
    out.push({ at: APP, dir: 'ingress', src: DB.ip, dst: APP.ip, sport: 5432, dport: p, bytes: vary(300_000), packets: vary(260), t: at() });
    // The database logs the same conversation from its side.
    out.push({ at: DB, dir: 'ingress', src: APP.ip, dst: DB.ip, sport: p, dport: 5432, bytes: vary(20_000), packets: vary(40), t: at() });
    out.push({ at: DB, dir: 'egress', src: DB.ip, dst: APP.ip, sport: 5432, dport: p, bytes: vary(300_000), packets: vary(260), t: at() });
  }
  const exfil = opts.exfil ?? 1;
  for (let k = 0; k < 2; k++) {
    out.push({ at: APP, dir: 'egress', src: APP.ip, dst: S3_IP, sport: eph(), dport: 443, bytes: vary(20_000_000 * exfil), packets: vary(15_000 * exfil), t: at() });
  }
  // The bastion: one admin SSH session from the VPN range, and a look at the app server.
  const p = eph();
  out.push({ at: BASTION, dir: 'ingress', src: '10.8.0.5', dst: BASTION.ip, sport: p, dport: 22, bytes: vary(40_000), packets: vary(90), t: at() });
  out.push({ at: BASTION, dir: 'egress', src: BASTION.ip, dst: '10.8.0.5', sport: 22, dport: p, bytes: vary(60_000), packets: vary(110), t: at() });
  out.push({ at: BASTION, dir: 'egress', src: BASTION.ip, dst: APP.ip, sport: eph(), dport: 22, bytes: vary(8_000), packets: vary(30), t: at() });
  if (opts.scan) {
    // Every address of its /24 on a handful of ports; most refused.
    for (let host = 1; host <= 60; host++) {
      for (const dport of [22, 80, 443, 3389, 5432]) {
        out.push({ at: BASTION, dir: 'egress', src: BASTION.ip, dst: `10.0.3.${100 + host}`, sport: 50_000 + host, dport, bytes: 60, packets: 1, t: at(), action: rng.next() < 0.9 ? 'REJECT' : 'ACCEPT' });
      }
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

/** Flows of hours [from, to) (seeded by hour, so any split of the range gives the same records). */
export function behaviourFlows(from: number, to: number, anomalies: Record<number, HourOptions> = {}): Flow[] {
  const out: Flow[] = [];
  for (let h = from; h < to; h++) out.push(...hourFlows(h, new Rng(1000 + h), anomalies[h] ?? {}));
  return out;
}

/** Write hours [from, to) as one flow log file in `dir`; returns its path. */
export function writeHours(dir: string, name: string, from: number, to: number, anomalies: Record<number, HourOptions> = {}): string {
  mkdirSync(dir, { recursive: true });
  return writeFlows(dir, name, behaviourFlows(from, to, anomalies));
}

/** A few records of `hour` (late: for a window the monitor has already closed). */
export function lateFlows(dir: string, name: string, hour: number, n: number): string {
  const rng = new Rng(5000 + hour);
  const flows: Flow[] = [];
  for (let k = 0; k < n; k++) {
    flows.push({ at: DB, dir: 'egress', src: DB.ip, dst: APP.ip, sport: 5432, dport: 41_000 + k, bytes: 1000, packets: 3, t: T0 + hour * HOUR + 5 * MIN + Math.floor(rng.next() * 1000) });
  }
  mkdirSync(dir, { recursive: true });
  return writeFlows(dir, name, flows);
}

export function hourIso(hour: number): string {
  return new Date(T0 + hour * HOUR).toISOString();
}


/** The monitored hours (one object each) and their anomalies: the app server's exfiltration, the bastion's scan. */
export const MONITORED_FROM = 72;
export const MONITORED_TO = 81;
export const ANOMALIES: Record<number, HourOptions> = { 75: { exfil: 50 }, 77: { scan: true } };

export interface TrainedLake {
  /** The lake: two days of history, the held-out day (hours 48-72). */
  lakeDir: string;
  /** The rcf model (network set), registered for the lake as `rcf-network`, inside it, calibrated on the held-out day. */
  model: string;
  calibration: FeatureCalibrationJson;
  /** The last catalogued object before the monitored ones. */
  startSeq: number;
  /** Files of the monitored hours 72..80, one per hour, not ingested yet. */
  monitored: string[];
}

/** Build the trained lake in `dir` (what `train --detector rcf --lake --features network` then `calibrate` do, in-process). */
export async function buildTrainedLake(dir: string, opts: { learn?: boolean } = {}): Promise<TrainedLake> {
  const lakeDir = path.join(dir, 'lake');
  const inDir = path.join(dir, 'in');
  const hist = await ingest({ lakeDir, paths: [writeHours(inDir, 'd0', 0, 24), writeHours(inDir, 'd1', 24, 48)] });
  if (hist.totals.rejects !== 0 || hist.totals.failed !== 0) throw new Error('fixture ingest rejected records');
  const lf = await loadLakeFeatures(lakeDir, { sets: ['network'], log: () => {} });
  const modelsDir = path.join(lakeDir, META_DIR, 'models');
  mkdirSync(modelsDir, { recursive: true });
  const model = path.join(modelsDir, 'rcf-network.model');
  await detectorOf('rcf').train({ train: lf.data, hyperparameters: { num_trees: 50, seed: 7 }, modelPath: model, source: `lake:${lakeDir}`, log: () => {} });
  await registerModel(lakeDir, 'rcf-network', model, 'rcf');
  const held = await ingest({ lakeDir, paths: [writeHours(inDir, 'd2', 48, 72)] });
  if (held.totals.rejects !== 0) throw new Error('fixture ingest rejected records');
  // learn (default): the model keeps the held-out day it was calibrated on (score-then-update), so the monitor goes on
  // after it; learn: false leaves the model as trained (calibration tests calibrate it again).
  const calibration = await runFeatureCalibration({ model, lakeDir, learn: opts.learn ?? true });
  const startSeq = Math.max(...readObjects(lakeDir).map((o) => o.seq));
  const monitored: string[] = [];
  for (let h = MONITORED_FROM; h < MONITORED_TO; h++) monitored.push(writeHours(inDir, `h${h}`, h, h + 1, ANOMALIES));
  return { lakeDir, model, calibration, startSeq, monitored };
}

/** `hour entity` of the windows the findings describe, sorted. */
export function flagged(rows: readonly { window_start: number; entity: string }[]): string[] {
  return rows.map((r) => `${(r.window_start - T0) / HOUR} ${r.entity}`).sort();
}

/** The injected anomalies as `flagged` gives them. */
export const EXPECTED = [`75 ${APP.id}`, `77 ${BASTION.id}`].sort();

export interface FindingRow {
  uid: string;
  kind: string;
  detector: string;
  entity: string;
  ip: string | null;
  native_score: number;
  severity: string;
  message: string;
  window_start: number;
  window_end: number;
  explanation: string;
}

/** The `findings` view of a lake, by window and entity. */
export async function findingRows(lakeDir: string): Promise<FindingRow[]> {
  const db = await openLakeQuery(lakeDir);
  try {
    const rows = await db.all('SELECT uid, kind, detector, entity, ip, native_score, severity, message, window_start, window_end, explanation FROM findings ORDER BY window_start, entity');
    return rows.map((r) => ({ ...r, window_start: Number(r.window_start), window_end: Number(r.window_end), native_score: Number(r.native_score) }) as unknown as FindingRow);
  } finally {
    db.close();
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Run the seclake CLI (tsx), with extra environment. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, timeout: 120_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
