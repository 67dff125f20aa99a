/**
 * Fault injection for crash tests: `SECLAKE_FAULT=<point>[:<n>]` kills the process with SIGKILL (what `kill -9`, the
 * OOM killer or a power cut does: no handler, no cleanup, no flush) the n-th time (default the first) it reaches the
 * named point. Each point is one line, `faultPoint('<point>')`, at a place where a crash must leave a state that a
 * rerun repairs: test/reliability/ kills the real CLI at every point, reruns it without the fault and compares the
 * lake, findings and sink output with an uninterrupted run.
 *
 * The points are the keys of FAULT_POINTS, each with the place it marks. An unknown name is an error (the CLI checks
 * at startup, `checkFaultEnv`; `faultPoint` checks too), so a typo cannot make a crash test pass without crashing.
 * Before the kill a line `seclake: fault point <point> ...` is written to stderr (synchronously), so a test can tell
 * that the process died at that point and not elsewhere. Without SECLAKE_FAULT a point costs one comparison.
 */
import { writeSync } from 'node:fs';
import { ConfigError } from './errors.js';

export const FAULT_ENV = 'SECLAKE_FAULT';

/** Every fault point: name -> where it is (and what a crash there leaves behind). */
export const FAULT_POINTS = {
  // ---- ingest (local and S3 lakes stage alike) ----
  'ingest-mid-quarantine-write': 'lake/quarantine.ts: rejects flushed to the staged quarantine file (each 1 MiB, and at the end), before the rest, the hash stamp and the publish',
  'ingest-after-staging': 'ingest/ingest.ts: an input fully staged (Parquet objects and stamped quarantine written), before its publish',
  'ingest-after-object-rename': 'lake/writer.ts publishInput: a staged Parquet object renamed into the lake layout, before the others and the catalog',
  'ingest-after-quarantine-rename': 'lake/writer.ts publishInput: the quarantine file renamed into place, before the catalog appends',
  'catalog-between-appends': 'lake/catalog.ts publish: objects appended to objects.jsonl, the input record (the commit) not yet',
  'ingest-after-commit': 'lake/writer.ts publishInput: the input record appended, before the staging directory is removed and the lock released',
  // ---- S3 lake (ingest, and findings published by a monitor) ----
  's3-after-object-put': 'lake/s3.ts publish: the data objects (and quarantine) uploaded, before the catalog log entry',
  's3-before-commit-record': 'lake/s3.ts publish: the catalog log entry written, before inputs/<hash>.json (the commit record)',
  // ---- monitor (embedded: local lake or S3 lake) ----
  'catalog-derived-after-rename': 'lake/catalog.ts publishDerived: a findings object moved to its key, before its catalog line',
  'findings-after-object': 'findings/lake.ts: a findings object published (one per scored source object and class), before the next',
  'sink-file-mid-append': 'sinks/file: half of a batch of findings lines written to the file sink (a torn last line)',
  'monitor-after-findings': 'monitor/embedded.ts: an object\'s findings in the lake and sent to the sinks, before its checkpoint',
  'monitor-mid-checkpoint': 'monitor/embedded.ts writeCheckpoint: the new checkpoint written to its temp file and fsynced, before the rename',
  // ---- AWS mode (SQS notifications) ----
  'aws-after-findings': 'monitor/aws/s3-object.ts: an object\'s findings object uploaded and findings sent to the sinks, before its done record',
  'aws-before-delete': 'monitor/aws/sqs-monitor.ts: a message\'s objects done (done records written), before DeleteMessage',
} as const satisfies Record<string, string>;

export type FaultPointName = keyof typeof FAULT_POINTS;

export interface FaultSpec {
  point: FaultPointName;
  /** Kill on this hit of the point (1 = the first). */
  hit: number;
}

/** Parse a SECLAKE_FAULT value: undefined when unset or empty; ConfigError naming the known points when invalid. */
export function parseFaultSpec(value: string | undefined): FaultSpec | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const m = /^([a-z0-9-]+)(?::(\d+))?$/.exec(value.trim());
  const point = m?.[1];
  if (!m || !point || !Object.hasOwn(FAULT_POINTS, point)) {
    throw new ConfigError(
      `${FAULT_ENV}=${JSON.stringify(value)}: not a fault point (expected <point>[:<n>]; known points: ${Object.keys(FAULT_POINTS).join(', ')})`,
      [FAULT_ENV],
    );
  }
  const hit = m[2] === undefined ? 1 : Number(m[2]);
  if (!Number.isSafeInteger(hit) || hit < 1) throw new ConfigError(`${FAULT_ENV}=${JSON.stringify(value)}: the hit count must be 1 or more`, [FAULT_ENV]);
  return { point: point as FaultPointName, hit };
}

/** Check SECLAKE_FAULT (the CLI calls this at startup): throws ConfigError for an unknown point. */
export function checkFaultEnv(env: NodeJS.ProcessEnv = process.env): FaultSpec | undefined {
  return parseFaultSpec(env[FAULT_ENV]);
}

let parsed: { raw: string | undefined; spec: FaultSpec | undefined } | undefined;
const hits = new Map<FaultPointName, number>();

/**
 * A fault-injection point: when SECLAKE_FAULT names it (and this is the hit it names), say so on stderr, run
 * `beforeKill` (a point that simulates a torn write writes its partial bytes there) and SIGKILL this process.
 */
export function faultPoint(name: FaultPointName, beforeKill?: () => void): void {
  const raw = process.env[FAULT_ENV];
  if (raw === undefined || raw === '') return;
  if (parsed?.raw !== raw) parsed = { raw, spec: parseFaultSpec(raw) };
  const spec = parsed.spec;
  if (!spec || spec.point !== name) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n !== spec.hit) return;
  try {
    writeSync(2, `seclake: fault point ${name} (hit ${n}): killing the process (${FAULT_ENV})\n`);
  } catch {
    // stderr closed: kill anyway
  }
  beforeKill?.();
  process.kill(process.pid, 'SIGKILL');
}
