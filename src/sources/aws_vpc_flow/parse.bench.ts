/**
 * Throughput of the aws_vpc_flow hot path on one core, on synthetic v5 custom-format lines (the
 * format of the ingest benchmark, bench/lib/flowgen.ts).
 *
 *   node --import tsx src/sources/aws_vpc_flow/parse.bench.ts [lines]
 *
 * Prints lines/s for: split + parse, + map to OCSF, + deriveEvent, + validateEvent, and for the
 * source's `read()` (batches, header handling) over in-memory lines with derive + validate.
 */
import { Rng } from '../../core/rng.js';
import { deriveEvent } from '../../ocsf/derive.js';
import { validateEvent } from '../../ocsf/validate.js';
import type { SourceInput } from '../types.js';
import { awsVpcFlow } from './index.js';
import { RecordParser, parseHeader } from './parse.js';
import { toOcsf, type MapContext } from './to-ocsf.js';

const HEADER =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id ' +
  'instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service ' +
  'flow-direction traffic-path';

/** Distinct synthetic lines; the bench cycles through them (1M distinct strings would cost ~0.5 GB). */
function generate(n: number, seed = 1): string[] {
  const rng = new Rng(seed);
  const out: string[] = new Array(n);
  const start0 = 1_700_000_000;
  for (let i = 0; i < n; i++) {
    const inst = rng.int(200);
    const priv = `10.0.${inst >> 4}.${(inst & 15) * 16 + 4}`;
    const ingress = rng.next() < 0.5;
    const peer = rng.next() < 0.7 ? `10.0.${rng.int(16)}.${rng.int(250) + 2}` : `${rng.int(223) + 1}.${rng.int(256)}.${rng.int(256)}.${rng.int(254) + 1}`;
    const src = ingress ? peer : priv;
    const dst = ingress ? priv : peer;
    const sport = ingress ? 1024 + rng.int(60000) : [443, 80, 5432, 22][rng.int(4)]!;
    const dport = ingress ? [443, 80, 5432, 22][rng.int(4)]! : 1024 + rng.int(60000);
    const start = start0 + Math.floor(i / 50);
    out[i] =
      `5 123456789012 eni-0${inst.toString(16).padStart(16, '0')} ${src} ${dst} ${sport} ${dport} 6 ${1 + rng.int(100)} ${40 + rng.int(100000)} ` +
      `${start} ${start + 60} ${rng.next() < 0.95 ? 'ACCEPT' : 'REJECT'} OK vpc-0a1b2c3d4e5f60718 subnet-0${(inst >> 4).toString(16).padStart(16, '0')} ` +
      `i-0${inst.toString(16).padStart(16, 'a')} ${[2, 18, 19, 3][rng.int(4)]} IPv4 ${src} ${dst} us-east-1 use1-az${1 + (inst % 6)} - - - - ` +
      `${ingress ? 'ingress' : 'egress'} ${ingress ? '-' : String(1 + rng.int(8))}`;
  }
  return out;
}

const total = Number(process.argv[2] ?? 1_000_000);
// Lines as the ingest hands them over (src/ingest/inputs.ts linesOf): slices of a decoded text chunk,
// not the concatenated strings the generator builds.
const text = generate(Math.min(total, 200_000)).join('\n');
const lines: string[] = [];
for (let s = 0; s <= text.length; ) {
  let nl = text.indexOf('\n', s);
  if (nl < 0) nl = text.length;
  lines.push(text.slice(s, nl));
  s = nl + 1;
}
const plan = parseHeader(HEADER, 1)!;
const ctx: MapContext = { region: undefined, accountId: undefined, fallbackTimeMs: 0 };

/** Lines/s by wall clock and by this process's CPU time (the second is steadier on a shared machine). */
function report(label: string, n: number, wallMs: number, cpu: NodeJS.CpuUsage): void {
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const rate = (ms: number): string => String(Math.round((n / ms) * 1000)).padStart(9);
  console.log(`${label.padEnd(42)} ${rate(wallMs)} lines/s wall  ${rate(cpuMs)} lines/s cpu  (${(wallMs / 1000).toFixed(2)} s)`);
}

function run(label: string, step: (line: string) => unknown): void {
  // Warm up (JIT), then time `total` lines.
  for (let i = 0; i < 20_000; i++) step(lines[i % lines.length]!);
  let ok = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < total; i++) if (step(lines[i % lines.length]!)) ok++;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  if (ok !== total) throw new Error(`${label}: ${total - ok} lines failed`);
  report(label, total, ms, cpu);
}

const parser = new RecordParser(plan);
run('split + parse', (l) => parser.parseText(l).ok);
run('split + parse + map', (l) => {
  const r = parser.parseText(l);
  return r.ok && toOcsf(r, ctx);
});
run('split + parse + map + derive', (l) => {
  const r = parser.parseText(l);
  return r.ok && deriveEvent(toOcsf(r, ctx));
});
run('split + parse + map + derive + validate', (l) => {
  const r = parser.parseText(l);
  if (!r.ok) return false;
  const e = deriveEvent(toOcsf(r, ctx));
  return validateEvent(e).length === 0;
});

// The source's read() over in-memory lines (async iteration, batching), then derive + validate.
const input: SourceInput = {
  name: 'bench.log',
  path: '',
  isParquet: false,
  async *lines() {
    yield HEADER;
    for (let i = 0; i < total; i++) yield lines[i % lines.length]!;
  },
  text: () => Promise.reject(new Error('not used')),
};
const c0 = process.cpuUsage();
const t0 = performance.now();
let events = 0;
for await (const batch of awsVpcFlow.read(input, {})) {
  for (const item of batch) {
    if (item.kind !== 'event') throw new Error(`line ${item.line}: ${item.reason}`);
    if (validateEvent(deriveEvent(item.event)).length === 0) events++;
  }
}
if (events !== total) throw new Error(`read(): ${total - events} lines failed`);
report('read() + derive + validate', total, performance.now() - t0, process.cpuUsage(c0));
