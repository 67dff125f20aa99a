/**
 * Throughput of the aws_vpc_flow hot path on one core, on synthetic v5 custom-format lines (the
 * format of the ingest benchmark, bench/lib/flowgen.ts).
 *
 *   npm run bench:vpc-parse [-- lines]
 *
 *
 * Prints lines/s for: split + parse, + map to OCSF, + deriveEvent, + validateEvent, and for the
 * source's `read()` (batches, header handling) over in-memory lines with derive + validate.
 */
import { deriveEvent } from '../src/ocsf/derive.js';
import { validateEvent } from '../src/ocsf/validate.js';
import type { SourceInput } from '../src/sources/types.js';
import { awsVpcFlow } from '../src/sources/aws_vpc_flow/index.js';
import { RecordParser, parseHeader } from '../src/sources/aws_vpc_flow/parse.js';
import { toOcsf, type MapContext } from '../src/sources/aws_vpc_flow/to-ocsf.js';
import { V5_FIELDS, flowLines } from './lib/flowgen.js';

const HEADER = V5_FIELDS.join(' ');

const total = Number(process.argv[2] ?? 1_000_000);
// Lines as the ingest hands them over (src/ingest/inputs.ts linesOf): slices of a decoded text chunk,
// not the concatenated strings the generator builds.
const text = [...flowLines(Math.min(total, 200_000))].join('\n');
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
