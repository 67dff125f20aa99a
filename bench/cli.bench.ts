/**
 * Startup time of the CLI as a user runs it (`node bin/seclake.js`, the compiled dist/), for `--help` and each
 * command's `--help`, beside a bare Node.js start (`node -e 0`) measured in the same run, as a ratio. Also shown: what
 * importing DuckDB alone costs (what `--help` used to load, with the AWS SDK and the rest).
 *
 *   npm run build && npm run bench:cli [-- runs]      (default 9 runs of each, interleaved; medians)
 *
 * Issue 15's target: `seclake --help` and `seclake <command> --help` under 300 ms on the development machine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { COMMANDS } from '../src/cli/program.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/seclake.js');
if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) {
  console.error('bench:cli measures the compiled CLI: run `npm run build` first (dist/cli/main.js is missing).');
  process.exit(2);
}
const runs = Number(process.argv[2] ?? 9);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`runs must be a positive integer, got ${process.argv[2]}`);
  process.exit(2);
}

interface Case {
  label: string;
  args: string[];
}

const cases: Case[] = [
  { label: 'node -e 0 (reference)', args: ['-e', '0'] },
  { label: 'import @duckdb/node-api', args: ['--input-type=module', '-e', "await import('@duckdb/node-api')"] },
  { label: 'seclake --help', args: [BIN, '--help'] },
  { label: 'seclake --version', args: [BIN, '--version'] },
  ...Object.keys(COMMANDS).map((c) => ({ label: `seclake ${c} --help`, args: [BIN, c, '--help'] })),
];

const times = new Map<string, number[]>(cases.map((c) => [c.label, []]));
// Interleaved rounds: load on a shared machine drifts, and each case sees the same drift.
for (let r = 0; r < runs; r++) {
  for (const c of cases) {
    const t0 = performance.now();
    const res = spawnSync(process.execPath, c.args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = performance.now() - t0;
    if (res.status !== 0) {
      console.error(`${c.label}: exit ${res.status}\n${res.stderr.toString()}`);
      process.exit(1);
    }
    times.get(c.label)!.push(ms);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ref = median(times.get(cases[0]!.label)!);
console.log(`CLI startup, ${runs} runs each (interleaved), Node.js ${process.version}; wall time of the whole process`);
console.log(`${'case'.padEnd(34)} ${'median'.padStart(8)} ${'min'.padStart(8)}  vs node -e 0`);
let worst = { label: '', ms: 0 };
for (const c of cases) {
  const xs = times.get(c.label)!;
  const m = median(xs);
  if (c.label.startsWith('seclake') && m > worst.ms) worst = { label: c.label, ms: m };
  console.log(`${c.label.padEnd(34)} ${`${m.toFixed(0)} ms`.padStart(8)} ${`${Math.min(...xs).toFixed(0)} ms`.padStart(8)}  ${(m / ref).toFixed(2)}x`);
}
console.log(`slowest: ${worst.label}, ${worst.ms.toFixed(0)} ms (${(worst.ms / ref).toFixed(2)}x node -e 0; target: under 300 ms)`);
