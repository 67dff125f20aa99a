/**
 * npm run bench:ingest — seclake ingest vs plain DuckDB read_csv -> Parquet on the same file, same run.
 * Generates N (default 1M) gzip'd VPC flow lines (v5 custom format with instance-id), then runs each
 * mode in its own child process (so peak RSS is per mode), best of --repeat runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFlowLog } from './lib/flowgen.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const lines = Number(process.env.BENCH_LINES ?? 1_000_000);
const repeat = Number(process.env.BENCH_REPEAT ?? 2);
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
  max_rss_mb: number;
}

function run(mode: string): Run {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench/lib/run-ingest.ts'), mode, file, path.join(dir, `out-${mode}`)], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Run;
}

const best: Record<string, Run> = {};
for (let i = 0; i < repeat; i++) {
  for (const mode of ['duckdb', 'seclake']) {
    const r = run(mode);
    process.stderr.write(`  ${mode}: ${r.events} events in ${(r.ms / 1000).toFixed(2)} s, peak RSS ${r.max_rss_mb.toFixed(0)} MB\n`);
    if (!best[mode] || r.ms < best[mode].ms) best[mode] = r;
  }
}
const d = best.duckdb!;
const s = best.seclake!;
const rate = (r: Run): number => (r.events / r.ms) * 1000;
const rows = [
  ['mode', 'events', 'seconds', 'events/s', 'peak RSS MB'],
  ['plain DuckDB read_csv -> Parquet (reference)', String(d.events), (d.ms / 1000).toFixed(2), rate(d).toFixed(0), d.max_rss_mb.toFixed(0)],
  ['seclake ingest (parse, OCSF map, validate, Parquet)', String(s.events), (s.ms / 1000).toFixed(2), rate(s).toFixed(0), s.max_rss_mb.toFixed(0)],
];
const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
console.log(`ratio seclake/duckdb: ${(rate(s) / rate(d)).toFixed(2)}x  (target >= 0.5x, peak RSS < 1024 MB)`);
if (s.events !== d.events) console.log(`note: event counts differ (${s.events} vs ${d.events})`);
