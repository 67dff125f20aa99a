/**
 * A small real lake for the monitor tests: VPC flow logs (v5, with flow-direction and instance ids) of a few instances
 * that each talk to their own tier's /24, ingested with the real ingest library, and an IP Insights model trained
 * in-process on the `flow-peer` pairs of that history. `writeFlowObject` writes new log files: normal traffic, or an
 * instance reaching addresses it never talks to.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Rng } from '../../src/core/rng.js';
import { trainIpInsights } from '../../src/detectors/ipinsights/index.js';
import { loadPairsFromLake } from '../../src/detectors/pairs/lake.js';
import { ingest } from '../../src/ingest/ingest.js';
import { PAIR_PRESETS } from '../../src/detectors/pairs/definitions.js';

export const INSTANCES = Array.from({ length: 8 }, (_, i) => `i-0000000000000000${i}`);
const HEADER =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status ' +
  'vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr flow-direction traffic-path';

/** Instance i lives at 10.0.<tier>.<10+i> and talks to 10.<20+tier>.0.<1..30> (its tier's peers); tier = i % 2. */
function ownIp(i: number): string {
  return `10.0.${i % 2}.${10 + i}`;
}

export interface FlowSpec {
  records: number;
  startSec: number;
  seed: number;
  /** Per record: the instance index and the peer address; default normal traffic. */
  anomalies?: { instance: number; peer: string }[];
}

export function flowLog(spec: FlowSpec): string {
  const rng = new Rng(spec.seed);
  const lines = [HEADER];
  const add = (inst: number, peer: string, t: number): void => {
    const egress = rng.next() < 0.5;
    const src = egress ? ownIp(inst) : peer;
    const dst = egress ? peer : ownIp(inst);
    lines.push(
      `5 123456789012 eni-0${inst}aaaaaaaaaaaaaaa ${src} ${dst} ${1024 + rng.int(60000)} 443 6 10 4000 ${t} ${t + 60} ACCEPT OK ` +
        `vpc-01234567 subnet-0${inst % 2}234567 ${INSTANCES[inst]} 2 IPv4 ${src} ${dst} ${egress ? 'egress' : 'ingress'} 1`,
    );
  };
  for (let r = 0; r < spec.records; r++) {
    const inst = rng.int(INSTANCES.length);
    add(inst, `10.${20 + (inst % 2)}.0.${1 + rng.int(30)}`, spec.startSec + r);
  }
  for (const a of spec.anomalies ?? []) add(a.instance, a.peer, spec.startSec + spec.records);
  return lines.join('\n') + '\n';
}

/** Write a gzip flow log named as AWS delivers it (so region/account come from the name). */
export function writeFlowObject(dir: string, name: string, spec: FlowSpec): string {
  const file = path.join(dir, `123456789012_vpcflowlogs_us-east-1_fl-0abc_${name}.log.gz`);
  writeFileSync(file, gzipSync(flowLog(spec)));
  return file;
}

export const DAY0 = Date.UTC(2026, 10, 20) / 1000;

/** A lake with `days` of normal history and a model trained on it (flow-peer pairs). */
export async function buildLakeAndModel(dir: string, days = 2): Promise<{ lakeDir: string; modelPath: string }> {
  const lakeDir = path.join(dir, 'lake');
  const files: string[] = [];
  for (let d = 0; d < days; d++) files.push(writeFlowObject(dir, `hist${d}`, { records: 3000, startSec: DAY0 + d * 86400, seed: 100 + d }));
  const sum = await ingest({ lakeDir, paths: files });
  if (sum.totals.rejects !== 0) throw new Error(`fixture ingest rejected ${sum.totals.rejects} records`);
  const spec = PAIR_PRESETS['flow-peer']!;
  const data = await loadPairsFromLake(lakeDir, `SELECT (${spec.entity}) AS entity, (${spec.ip}) AS ip, time FROM vpc_flow WHERE ${spec.where}`);
  const modelPath = path.join(dir, 'flows.model');
  await trainIpInsights({
    train: data,
    hyperparameters: { num_entity_vectors: 64, vector_dim: 16, epochs: 8, mini_batch_size: 64, learning_rate: 0.02, num_ip_vectors: 4096, threads: 1, seed: 7 },
    modelPath,
    inProcess: true,
    log: () => {},
  });
  return { lakeDir, modelPath };
}
