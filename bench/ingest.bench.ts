/**
 * npm run bench:ingest — seclake ingest vs plain DuckDB read_csv -> Parquet on the same file, same run.
 * Generates N (default 1M) gzip'd VPC flow lines (v5 custom format with instance-id), then runs each
 * mode in its own child process (so peak RSS is per mode): the DuckDB reference and seclake's bulk path
 * (the default for VPC flow text), best of BENCH_REPEAT runs each, interleaved; then the generic
 * per-event path once (slow: ~30 s per 1M lines on 2 cores; BENCH_GENERIC=0 skips it).
 *
 * Timings on a shared machine are noisy: compare against the reference of the same run, and look at
 * CPU time too (the ratio of CPU times is what a fully loaded machine would show).
 *
 * Env: BENCH_LINES (default 1000000), BENCH_REPEAT (default 2), BENCH_GENERIC (default 1).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFlowLog } from './lib/flowgen.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const lines = Number(process.env.BENCH_LINES ?? 1_000_000);
const repeat = Number(process.env.BENCH_REPEAT ?? 2);
const withGeneric = process.env.BENCH_GENERIC !== '0';
const dir = path.join(root, '.bench-tmp');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `flow-v5-${lines}.log.gz`);
if (!existsSync(file)) {
  process.stderr.write(`generating ${lines} flow log lines -> ${file}\n`);
  await writeFlowLog(file, lines);
}
process.stderr.write(`input: ${(statSync(file).size / 1e6).toFixed(1)} MB gzip\n`);

interface Run {
  mode: string;
  events: number;
  ms: number;
  cpu_ms: number;
  max_rss_mb: number;
  path?: string;
}

function run(mode: string): Run {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench/lib/run-ingest.ts'), mode, file, path.join(dir, `out-${mode}`)], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as Run;
  process.stderr.write(
    `  ${mode}: ${r.events} events in ${(r.ms / 1000).toFixed(2)} s (CPU ${(r.cpu_ms / 1000).toFixed(2)} s), peak RSS ${r.max_rss_mb.toFixed(0)} MB\n`,
  );
  return r;
}

const best: Record<string, Run> = {};
for (let i = 0; i < repeat; i++) {
  for (const mode of ['duckdb', 'bulk']) {
    const r = run(mode);
    if (!best[mode] || r.ms < best[mode].ms) best[mode] = r;
  }
}
if (withGeneric) best.generic = run('generic');

const d = best.duckdb!;
const rate = (r: Run): number => (r.events / r.ms) * 1000;
const cpuRate = (r: Run): number => (r.events / r.cpu_ms) * 1000;
const label: Record<string, string> = {
  duckdb: 'plain DuckDB read_csv -> Parquet (reference)',
  bulk: 'seclake ingest, bulk path (default)',
  generic: 'seclake ingest, generic path (--no-bulk)',
};
const modes = ['duckdb', 'bulk', ...(best.generic ? ['generic'] : [])];
const rows = [
  ['mode', 'events', 'seconds', 'events/s', 'ratio', 'CPU s', 'events/CPU-s', 'CPU ratio', 'peak RSS MB'],
  ...modes.map((m) => {
    const r = best[m]!;
    return [
      label[m]!,
      String(r.events),
      (r.ms / 1000).toFixed(2),
      rate(r).toFixed(0),
      `${(rate(r) / rate(d)).toFixed(2)}x`,
      (r.cpu_ms / 1000).toFixed(2),
      cpuRate(r).toFixed(0),
      `${(cpuRate(r) / cpuRate(d)).toFixed(2)}x`,
      r.max_rss_mb.toFixed(0),
    ];
  }),
];
const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
const b = best.bulk!;
console.log(`ratio seclake/duckdb: ${(rate(b) / rate(d)).toFixed(2)}x wall, ${(cpuRate(b) / cpuRate(d)).toFixed(2)}x CPU  (target >= 0.5x, peak RSS < 1024 MB)`);
for (const m of modes) if (best[m]!.events !== d.events) console.log(`note: ${m} wrote ${best[m]!.events} events, the reference ${d.events}`);
if (b.path !== 'bulk') console.log(`note: the bulk run used the ${b.path ?? 'unknown'} path`);
