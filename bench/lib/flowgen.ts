/**
 * Synthetic VPC Flow Logs (v5 custom format with instance-id), as an S3 delivery writes them:
 * gzip, a header line, one record per line. Deterministic for a seed.
 */
import { createWriteStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import { Rng } from '../../src/core/rng.js';

export const V5_FIELDS = [
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes',
  'start', 'end', 'action', 'log-status', 'vpc-id', 'subnet-id', 'instance-id', 'tcp-flags', 'type', 'pkt-srcaddr',
  'pkt-dstaddr', 'region', 'az-id', 'sublocation-type', 'sublocation-id', 'pkt-src-aws-service', 'pkt-dst-aws-service',
  'flow-direction', 'traffic-path',
];

/**
 * The record lines (no header, no trailing newline), one per call. Deterministic for a seed: 200 instances in
 * 10.0.0.0/20, half ingress, 70% of peers inside the VPC, start times 50 records per second from `startSec`.
 */
export interface FlowMix {
  /** Draw internet peers from this many fixed addresses (a site's regular clients) instead of anywhere. */
  publicPool?: number;
  /** Share of records whose peer is replaced by a never-seen address (198.18.0.0/16, benchmark space). */
  foreignRate?: number;
  /** Seed of the pool (the same pool across objects). */
  poolSeed?: number;
}

export function* flowLines(lines: number, seed = 1, startSec = 1_700_000_000, mix: FlowMix = {}): Generator<string> {
  const rng = new Rng(seed);
  const poolRng = new Rng(mix.poolSeed ?? 4242);
  const pool = mix.publicPool
    ? Array.from({ length: mix.publicPool }, () => `${poolRng.int(223) + 1}.${poolRng.int(256)}.${poolRng.int(256)}.${poolRng.int(254) + 1}`)
    : undefined;
  const foreign = mix.foreignRate ?? 0;
  const frng = new Rng(seed ^ 0x5bd1e995);
  const instances = Array.from({ length: 200 }, (_, i) => `i-0${(0xa000000000000000n + BigInt(i) * 7919n).toString(16).slice(0, 16)}`);
  for (let i = 0; i < lines; i++) {
    const inst = rng.int(instances.length);
    const priv = `10.0.${inst >> 4}.${(inst & 15) * 16 + 4}`;
    const ingress = rng.next() < 0.5;
    let peer = rng.next() < 0.7 ? `10.0.${rng.int(16)}.${rng.int(250) + 2}` : `${rng.int(223) + 1}.${rng.int(256)}.${rng.int(256)}.${rng.int(254) + 1}`;
    // Options use their own generators, so the default output is unchanged.
    if (pool && !peer.startsWith('10.')) peer = pool[frng.int(pool.length)]!;
    if (foreign > 0 && frng.next() < foreign) peer = `198.18.${frng.int(256)}.${frng.int(254) + 1}`;
    const src = ingress ? peer : priv;
    const dst = ingress ? priv : peer;
    const sport = ingress ? 1024 + rng.int(60000) : [443, 80, 5432, 22][rng.int(4)]!;
    const dport = ingress ? [443, 80, 5432, 22][rng.int(4)]! : 1024 + rng.int(60000);
    const start = startSec + Math.floor(i / 50);
    const accept = rng.next() < 0.95;
    yield `5 123456789012 eni-0${inst.toString(16).padStart(16, '0')} ${src} ${dst} ${sport} ${dport} 6 ${1 + rng.int(100)} ${40 + rng.int(100000)} ` +
      `${start} ${start + 60} ${accept ? 'ACCEPT' : 'REJECT'} OK vpc-0a1b2c3d4e5f60718 subnet-0${(inst >> 4).toString(16).padStart(16, '0')} ${instances[inst]} ` +
      `${[2, 18, 19, 3][rng.int(4)]} IPv4 ${src} ${dst} us-east-1 use1-az${1 + (inst % 6)} - - - - ${ingress ? 'ingress' : 'egress'} ${ingress ? '-' : String(1 + rng.int(8))}`;
  }
}

/** A gzip VPC flow log file: the v5 header line, then `lines` records from flowLines(). */
export async function writeFlowLog(file: string, lines: number, seed = 1, startSec = 1_700_000_000, mix: FlowMix = {}): Promise<void> {
  const gz = createGzip({ level: 6 });
  const out = createWriteStream(file);
  gz.pipe(out);
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  const write = (s: string): Promise<void> | undefined => (gz.write(s) ? undefined : new Promise((r) => gz.once('drain', () => r())));
  await write(V5_FIELDS.join(' ') + '\n');
  let buf = '';
  for (const line of flowLines(lines, seed, startSec, mix)) {
    buf += line + '\n';
    if (buf.length > 1 << 16) {
      await write(buf);
      buf = '';
    }
  }
  gz.end(buf);
  await done;
}
