/**
 * A real lake for the dashboard tests, built with the real components:
 * - the bundled samples (assets/samples) and a generated VPC flow log (v3 custom format: 6 instances, each on its own
 *   subnet, over 3 days, plus a few connections from the internet, malformed lines that go to the quarantine, and one
 *   instance id carrying HTML: log content is attacker-controlled) ingested by the ingest library;
 * - an IP Insights model trained in-process on the lake's pairs before the last day, and calibrated on them
 *   (seclake calibrate's library);
 * - findings: the last day's flow records scored by that model, turned into OCSF Detection Findings by the findings
 *   builder (src/findings/build.ts) and written to the lake by the findings writer (src/findings/lake.ts), one
 *   findings object per source object, as the monitor does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { annotate } from '../../src/detectors/calibration.js';
import { modelAccess } from '../../src/calibrate/model.js';
import { runCalibration } from '../../src/calibrate/run.js';
import { Rng } from '../../src/core/rng.js';
import { IpInsightsModel } from '../../src/detectors/ipinsights/index.js';
import { DEFAULT_PAIRS_SQL, loadPairsFromLake, writeLakePairsCsv } from '../../src/detectors/pairs/lake.js';
import { trainIpInsights } from '../../src/detectors/ipinsights/train.js';
import { buildFinding } from '../../src/findings/build.js';
import { findingsKeyForClass, findingsObjectKey, publishFindings } from '../../src/findings/lake.js';
import { IncidentBuilder, type IncidentFinding } from '../../src/findings/incidents.js';
import { history } from '../../src/detectors/history/index.js';
import { detectorRefOf } from '../../src/findings/model-ref.js';
import type { DetectionFinding, ScoredRecord } from '../../src/findings/types.js';
import { ingest } from '../../src/ingest/ingest.js';
import { readObjects } from '../../src/lake/catalog.js';
import { Duck, quoteString } from '../../src/lake/duckdb.js';
import { resolveInLake } from '../../src/lake/layout.js';
import { modelRefOf } from '../../src/findings/model-ref.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
/** The instance id that carries markup (ingested from a flow log line). */
/** Midnight UTC of the fixture flow log's last day: the model learns from what came before. */
export const LAST_DAY_MS = Date.UTC(2026, 10, 27);
export const XSS_ENTITY = 'i-"><img/src=x/onerror=window.__xss=1><script>window.__xss=2</script>';

const INSTANCES = ['i-0a1b2c3d4e5f00001', 'i-0a1b2c3d4e5f00002', 'i-0a1b2c3d4e5f00003', 'i-0a1b2c3d4e5f00004', 'i-0a1b2c3d4e5f00005', 'i-0a1b2c3d4e5f00006'];
const HEADER = 'version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status';

/** A VPC flow log (v3 custom format) over three days: normal traffic, a few internet sources, junk lines. */
export function flowLog(seed = 7): string {
  const rng = new Rng(seed);
  const lines = [HEADER];
  const day0 = Date.UTC(2026, 10, 25) / 1000;
  const line = (inst: string, src: string, dst: string, t: number, dport = 443): string =>
    `3 vpc-0abc0abc0abc0abc0 subnet-0abc0abc0abc0abc0 ${inst} eni-0abc0abc0abc0abc0 123456789012 IPv4 ${src} ${dst} ${1024 + rng.int(60000)} ${dport} ${src} ${dst} 6 ${100 + rng.int(9000)} ${1 + rng.int(20)} ${t} ${t + 60} ACCEPT 2 OK`;
  for (let d = 0; d < 3; d++) {
    const n = 150 + d * 60;
    for (let i = 0; i < n; i++) {
      const k = rng.int(INSTANCES.length);
      const t = day0 + d * 86400 + rng.int(86000);
      lines.push(line(INSTANCES[k]!, `10.${k + 1}.${rng.int(4)}.${1 + rng.int(250)}`, '10.0.0.10', t));
    }
  }
  // Day 3: connections from the internet to two instances (what the model should find unusual).
  const t3 = day0 + 2 * 86400;
  const internet = ['185.220.101.34', '45.155.205.233', '203.0.113.77', '91.240.118.172', '193.32.162.159', '141.98.10.63', '2.58.56.101', '80.94.95.181', '162.243.145.21', '71.6.135.131'];
  internet.forEach((ip, i) => lines.push(line(INSTANCES[i % INSTANCES.length]!, ip, '10.0.0.10', t3 + 40_000 + i * 97, i % 2 === 0 ? 22 : 3389)));
  // The attacker-controlled instance id (no spaces, so it survives the space-separated format).
  lines.push(line(XSS_ENTITY, '198.51.100.9', '10.0.0.10', t3 + 50_000));
  // Malformed lines: quarantined with their reasons.
  lines.push(line(INSTANCES[1]!, '10.2.0.1', '10.0.0.10', t3 + 1000).replace(' 443 ', ' https '));
  lines.push(line(INSTANCES[1]!, '10.2.0.2', '10.0.0.10', t3 + 1001).replace(' 443 ', ' port80 '));
  lines.push('3 vpc-0abc too few fields');
  return lines.join('\n') + '\n';
}

export interface DashboardFixture {
  dir: string;
  lakeDir: string;
  modelPath: string;
  findings: DetectionFinding[];
  /** The latest revision of every incident written (none with `incidents: false`). */
  incidents: IncidentFinding[];
  /** The entity and the incident two detectors agree on (two revisions); the entity whose findings all have low support. */
  fusedEntity: string;
  fusedIncident: string;
  lowSupportEntity: string;
  /** uid of the finding about XSS_ENTITY. */
  xssUid: string;
  cleanup(): void;
}

/** Rows of one Parquet object with their 0-based row numbers. */
async function objectRows(db: Duck, file: string): Promise<Record<string, unknown>[]> {
  return db.all(`SELECT * FROM read_parquet(${quoteString(file)}, file_row_number = true) ORDER BY file_row_number`);
}

/**
 * Options: `incidents: false` leaves the incidents out (a lake as written before incidents, or by a monitor run with
 * them off). With incidents (the default) the detection findings are fused by the incidents builder object by object
 * and written as the monitor writes them (src/monitor/embedded.ts: one incidents object per source object, the
 * source object's key of class 2005); one entity's findings are marked low support (contract A's
 * `unmapped.low_support`), and a history-detector finding about the strongest entity's strongest record is added as
 * another object, so that incident has two detectors and a second revision.
 */
export async function buildFixture(opts: { incidents?: boolean } = {}): Promise<DashboardFixture> {
  const withIncidents = opts.incidents !== false;
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-dashboard-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const lakeDir = path.join(dir, 'lake');
    const flow = path.join(dir, '123456789012_vpcflowlogs_us-east-1_fl-0abc_20261127T0000Z_fixture.log');
    writeFileSync(flow, flowLog());
    await ingest({ lakeDir, paths: [path.join(REPO, 'assets/samples'), flow] });

    // Train on the lake's (instance, source IP) pairs before the last day, as `seclake train --lake` does.
    const historySql = `SELECT * FROM (${DEFAULT_PAIRS_SQL}) WHERE time < ${LAST_DAY_MS}`;
    const modelPath = path.join(dir, 'flows.model');
    await trainIpInsights({
      train: await loadPairsFromLake(lakeDir, historySql),
      hyperparameters: { num_entity_vectors: 64, vector_dim: 16, epochs: 20, mini_batch_size: 64, threads: 1, seed: 3, learning_rate: 0.05 },
      modelPath,
      inProcess: true,
      source: `lake:${lakeDir}`,
      log: () => {},
    });
    const pairsCsv = path.join(dir, 'pairs.csv');
    await writeLakePairsCsv(lakeDir, pairsCsv, historySql);
    await runCalibration(
      { model: modelPath, normal: { kind: 'csv', file: pairsCsv }, abnormal: { kind: 'generate', generator: 'random', count: 2000 }, rule: { kind: 'max_fpr', max_fpr: 0.02 }, sample: 0, seed: 1, progress: false },
      modelAccess,
    );

    // Score the fixture flow log's records and keep what a monitor would report.
    const model = await IpInsightsModel.load(modelPath);
    const cal = model.calibration!;
    const modelRef = modelRefOf(model, { name: 'flows' });
    const findings: DetectionFinding[] = [];
    const incidentsByUid = new Map<string, IncidentFinding>();
    const builder = new IncidentBuilder();
    let xssUid = '';
    let fusedEntity = '';
    let fusedIncident = '';
    let lowSupportEntity = '';
    const db = await Duck.open();
    const um = (f: DetectionFinding): Record<string, unknown> => f.unmapped as Record<string, unknown>;
    const writeIncidents = async (key: string, forObject: DetectionFinding[], object: string): Promise<void> => {
      if (!withIncidents) return;
      const revs = builder.add(forObject, object);
      await publishFindings(lakeDir, findingsKeyForClass(key, 2005), revs.map((r) => r.incident), { db });
      for (const r of revs) incidentsByUid.set(r.incident.unmapped.incident_uid, r.incident);
    };
    try {
      for (const o of readObjects(lakeDir).filter((x) => x.source === 'VPC_FLOW' && x.input_name.endsWith('_fixture.log') && x.time_min >= LAST_DAY_MS)) {
        const forObject: DetectionFinding[] = [];
        for (const row of await objectRows(db, resolveInLake(lakeDir, o.path))) {
          const src = row.src_endpoint as { ip?: string; instance_uid?: string } | null;
          if (!src?.ip || !src.instance_uid) continue;
          const [scored] = model.scorePairs([{ entity: src.instance_uid, ip: src.ip }]);
          const ann = annotate(scored!, cal);
          const info = model.entityInfo(src.instance_uid);
          const isXss = src.instance_uid === XSS_ENTITY;
          if (!ann.is_anomaly && info.known && !isXss) continue;
          const { file_row_number: rowNo, ...event } = row;
          const rec: ScoredRecord = {
            ref: { object: o.path, row: Number(rowNo), source: o.source },
            entity: src.instance_uid,
            ip: src.ip,
            time: Number(row.time),
            native_score: scored!.dot_product,
            entity_known: info.known,
            entity_count: info.count,
            anomaly_percentile: ann.anomaly_percentile,
            is_anomaly: ann.is_anomaly,
            event,
          };
          const f = buildFinding(rec, { model: modelRef, history: model.history(), kind: info.known ? 'anomaly' : 'new_entity' });
          if (isXss) xssUid = f.finding_info.uid;
          forObject.push(f);
        }
        // One entity (not the markup one) stands for a model whose calibration is thin (contract A).
        if (withIncidents) {
          lowSupportEntity ||= [...new Set(forObject.map((f) => String(um(f).entity)))].sort().find((e) => e !== XSS_ENTITY) ?? '';
          for (const f of forObject) if (um(f).entity === lowSupportEntity) um(f).low_support = 'true';
        }
        const key = findingsObjectKey(o.path, { region: o.region, accountId: o.account_id, eventDay: o.event_day });
        await publishFindings(lakeDir, key, forObject, { db });
        await writeIncidents(key, forObject, o.path);
        findings.push(...forObject);
      }
      if (withIncidents) {
        // The history baseline agrees about the strongest finding of the entity with the most findings.
        const count = new Map<string, number>();
        for (const f of findings) if (um(f).entity !== lowSupportEntity && um(f).entity !== XSS_ENTITY) count.set(String(um(f).entity), (count.get(String(um(f).entity)) ?? 0) + 1);
        fusedEntity = [...count.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
        const strongest = findings.filter((f) => um(f).entity === fusedEntity).sort((a, b) => Number(um(b).anomaly_percentile ?? 0) - Number(um(a).anomaly_percentile ?? 0))[0]!;
        const u = um(strongest) as { source_object: string; source_row: number; ip: string };
        const hist = buildFinding(
          {
            ref: { object: u.source_object, row: u.source_row, source: 'VPC_FLOW' },
            entity: fusedEntity,
            ip: u.ip,
            time: Number(strongest.time),
            native_score: -9.5,
            entity_known: true,
            entity_count: 40,
            anomaly_percentile: 0.99995,
            is_anomaly: true,
            event: {},
          },
          { model: { detector: detectorRefOf(history), name: 'history', version: '0h15t0ry' }, kind: 'anomaly' },
        );
        const hkey = findingsObjectKey('fixture/history-replay', { region: 'us-east-1', accountId: '123456789012', eventDay: '20261127' });
        await publishFindings(lakeDir, hkey, [hist], { db });
        await writeIncidents(hkey, [hist], 'fixture/history-replay');
        findings.push(hist);
        fusedIncident = [...incidentsByUid.values()].find((i) => i.unmapped.finding_uids.includes(hist.finding_info.uid))?.unmapped.incident_uid ?? '';
        if (!fusedIncident) throw new Error('fixture: the history finding joined no incident');
      }
    } finally {
      db.close();
    }
    if (!xssUid) throw new Error('fixture: the XSS record did not make it into the lake');
    return { dir, lakeDir, modelPath, findings, incidents: [...incidentsByUid.values()], fusedEntity, fusedIncident, lowSupportEntity, xssUid, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}
