/**
 * Inputs of the crash-consistency tests: three tiny VPC flow logs (v5, egress records of six instances from their
 * home networks, a few foreign sources, an unknown instance and three unparseable lines) and a small IP Insights model
 * trained in-process on the instances' home addresses, so the monitor finds exactly the planted anomalies.
 *
 *   a.log  two event days (two objects), anomalies i0 <- 203.0.113.1 (day 1) and i1 <- 203.0.113.2 (day 2), 3 bad lines
 *   b.log  day 1: anomaly i2 <- 203.0.113.3 and an unknown instance (a new-entity finding)
 *   c.log  day 1, monitor only: i0 <- 203.0.113.1 again within the hour (deduplicated by the policy state a checkpoint
 *          carries), the unknown instance again (new entity "once": no second finding) and i3 <- 203.0.113.4
 *
 * Each anomaly pair occurs in one object of a.log + b.log, so in AWS mode (no policy state across restarts, objects
 * in any order) the findings of a and b do not depend on the order the objects are processed in.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { PairCollector } from '../../src/detectors/pairs/data.js';
import { trainIpInsights } from '../../src/detectors/ipinsights/train.js';

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
const INSTANCES = 6;
/** 2025-11-24T16:00:00Z: day 1; day 2 starts 86,400 s later. */
const DAY1 = 1_764_000_000;

export function instanceId(i: number): string {
  return `i-0000000000000${i.toString(16).padStart(4, '0')}`;
}

function homeIp(i: number, rng: Rng): string {
  return `10.0.${i}.${1 + rng.int(20)}`;
}

const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id flow-direction';

function record(instance: number, src: string, startSec: number): string {
  const eni = `eni-0000000000000${instance.toString(16).padStart(4, '0')}`;
  return `5 ${ACCOUNT} ${eni} ${src} 52.95.10.20 44321 443 6 10 840 ${startSec} ${startSec + 60} ACCEPT OK vpc-0a1b2c3d4e5f60718 subnet-0a1b2c3d4e5f60718 ${instanceId(instance)} egress`;
}

function normal(rng: Rng, n: number, startSec: number): string[] {
  const out: string[] = [];
  for (let r = 0; r < n; r++) {
    const i = rng.int(INSTANCES);
    out.push(record(i, homeIp(i, rng), startSec + r * 7));
  }
  return out;
}

export interface Inputs {
  dir: string;
  a: string;
  b: string;
  c: string;
}

/** Write a.log, b.log and c.log (see the module comment) into `dir`. */
export function writeInputs(dir: string): Inputs {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(11);
  const unknown = 0x00ff;
  const a = [
    HEADER,
    ...normal(rng, 30, DAY1),
    record(0, '203.0.113.1', DAY1 + 300),
    'this is not a flow log record',
    `5 ${ACCOUNT} eni-00000000000000001 10.0.1.1 52.95.10.20 notaport 443 6 10 840 ${DAY1} ${DAY1 + 60} ACCEPT OK vpc-1 subnet-1 ${instanceId(1)} egress`,
    ...normal(rng, 20, DAY1 + 86_400),
    record(1, '203.0.113.2', DAY1 + 86_400 + 500),
    '5 too few fields',
  ];
  const b = [HEADER, ...normal(rng, 25, DAY1 + 3_600), record(2, '203.0.113.3', DAY1 + 3_700), record(unknown, '10.9.9.9', DAY1 + 3_710)];
  const c = [HEADER, ...normal(rng, 15, DAY1 + 600), record(0, '203.0.113.1', DAY1 + 900), record(unknown, '10.9.9.9', DAY1 + 905), record(3, '203.0.113.4', DAY1 + 910)];
  const files = { a: path.join(dir, 'a.log'), b: path.join(dir, 'b.log'), c: path.join(dir, 'c.log') };
  writeFileSync(files.a, a.join('\n') + '\n');
  writeFileSync(files.b, b.join('\n') + '\n');
  writeFileSync(files.c, c.join('\n') + '\n');
  return { dir, ...files };
}

/** Train the model (in-process, seeded, well under a second) into `dir`/vpc.model. */
export async function trainModel(dir: string): Promise<string> {
  const rng = new Rng(7);
  const c = new PairCollector();
  let line = 0;
  for (let r = 0; r < 80; r++) for (let i = 0; i < INSTANCES; i++) c.add(instanceId(i), homeIp(i, rng), 'mem', ++line);
  const modelPath = path.join(dir, 'vpc.model');
  await trainIpInsights({
    train: c.finish(),
    hyperparameters: {
      num_entity_vectors: 64,
      vector_dim: 16,
      epochs: 12,
      mini_batch_size: 64,
      learning_rate: 0.02,
      random_negative_sampling_rate: 3,
      shuffled_negative_sampling_rate: 1,
      num_ip_vectors: 4096,
      threads: 1,
      seed: 42,
    },
    modelPath,
    inProcess: true,
    log: () => {},
  });
  return modelPath;
}
