/**
 * Throughput of `deriveEvent` and `validateEvent` on a VPC-flow-sized Network Activity event (about 40
 * attributes as mapped, 66 after derive). Run: `npm run bench:ocsf`.
 * Targets: derive >= 1M events/s, validate >= 300k events/s, one thread.
 *
 * Times are CPU time of this process (user + system), not wall time, so that other work on the machine
 * does not count; each figure is the best of several trials. Two shapes:
 * - pipeline: map -> derive -> validate one event at a time, as the ingest does (the event stays in cache);
 *   stage costs are differences between loops that stop after each stage;
 * - batch: derive a batch of 2,000 fresh events, then validate the batch (colder caches).
 */
import { deriveEvent } from '../src/ocsf/derive.js';
import { vpcFlowMapped } from '../src/ocsf/sample-events.js';
import { validateEvent } from '../src/ocsf/validate.js';

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function perSecond(n: number, ms: number): number {
  return Math.round((n / ms) * 1000);
}

function fmt(n: number): string {
  return `${n.toLocaleString('en-US')} events/s`;
}

/** CPU ms for n events going through the first `stages` stages (0 = map only, 1 = + derive, 2 = + validate). */
function pipeline(n: number, stages: 0 | 1 | 2, offset: number): number {
  let sink = 0;
  const t0 = cpuMs();
  for (let i = 0; i < n; i++) {
    const e = vpcFlowMapped(offset + i);
    if (stages >= 1) deriveEvent(e);
    if (stages >= 2) sink += validateEvent(e).length;
    else sink += e.class_uid as number;
  }
  const ms = cpuMs() - t0;
  if (sink < 0) throw new Error('unreachable');
  return ms;
}

function batch(size: number, rounds: number): { derive: number; validate: number } {
  let deriveMs = 0;
  let validateMs = 0;
  for (let r = 0; r < rounds; r++) {
    const events = Array.from({ length: size }, (_, i) => vpcFlowMapped(r * size + i));
    let t0 = cpuMs();
    for (let i = 0; i < events.length; i++) deriveEvent(events[i]!);
    deriveMs += cpuMs() - t0;
    t0 = cpuMs();
    for (let i = 0; i < events.length; i++) if (validateEvent(events[i]!).length > 0) throw new Error('bench event is not valid');
    validateMs += cpuMs() - t0;
  }
  return { derive: perSecond(size * rounds, deriveMs), validate: perSecond(size * rounds, validateMs) };
}

function countLeaves(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((a: number, x) => a + countLeaves(x), 0);
  if (v !== null && typeof v === 'object') return Object.values(v).reduce((a: number, x) => a + countLeaves(x), 0);
  return 1;
}

function main(): void {
  const sample = vpcFlowMapped(1);
  const mappedLeaves = countLeaves(sample);
  deriveEvent(sample);
  const issues = validateEvent(sample);
  if (issues.length > 0) throw new Error(`bench event is not valid: ${issues.map((x) => x.message).join('; ')}`);
  // Warm up: compile plans/checkers, let V8 optimise.
  pipeline(50_000, 2, 0);
  batch(2_000, 20);

  const N = 200_000;
  const TRIALS = 5;
  let bestDerive = 0;
  let bestValidate = 0;
  for (let t = 0; t < TRIALS; t++) {
    const map = pipeline(N, 0, t * N);
    const mapDerive = pipeline(N, 1, t * N);
    const all = pipeline(N, 2, t * N);
    bestDerive = Math.max(bestDerive, perSecond(N, mapDerive - map));
    bestValidate = Math.max(bestValidate, perSecond(N, all - mapDerive));
  }
  let bestBatch = { derive: 0, validate: 0 };
  for (let t = 0; t < TRIALS; t++) {
    const b = batch(2_000, 50);
    bestBatch = { derive: Math.max(bestBatch.derive, b.derive), validate: Math.max(bestBatch.validate, b.validate) };
  }
  process.stdout.write(`event: ${mappedLeaves} attributes as mapped, ${countLeaves(sample)} after derive (best of ${TRIALS} trials, CPU time)\n`);
  process.stdout.write(`pipeline  deriveEvent: ${fmt(bestDerive)}   validateEvent: ${fmt(bestValidate)}\n`);
  process.stdout.write(`batch     deriveEvent: ${fmt(bestBatch.derive)}   validateEvent: ${fmt(bestBatch.validate)}\n`);
}

main();
