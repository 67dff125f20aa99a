/**
 * What the Trino session setup (src/lake/trino.ts: the time zone and the function macros, one batch per
 * connection) adds to opening a DuckDB connection. The reference is the same open and close without it, measured in
 * the same run, interleaved.
 *
 *   node --import tsx bench/trino.bench.ts [rounds]
 *
 * Prints the median open+close time of each, the difference, and the ratio; wall and this process's CPU time (the
 * second is steadier on a shared machine).
 */
import { Duck } from '../src/lake/duckdb.js';
import { TRINO_MACROS, TRINO_SESSION_SQL } from '../src/lake/trino.js';

const rounds = Number(process.argv[2] ?? 60);

async function once(trino: boolean): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const db = await Duck.open({ trino });
  db.close();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Warm-up: the native package loads on the first open.
await once(false);
await once(true);
const plain: { wall: number; cpu: number }[] = [];
const trino: { wall: number; cpu: number }[] = [];
for (let i = 0; i < rounds; i++) {
  plain.push(await once(false));
  trino.push(await once(true));
}
const statements = TRINO_SESSION_SQL.split(';\n').length;
console.log(`Trino session setup: ${TRINO_MACROS.length} functions, ${statements} statements in one batch; ${rounds} rounds`);
for (const k of ['wall', 'cpu'] as const) {
  const p = median(plain.map((r) => r[k]));
  const t = median(trino.map((r) => r[k]));
  console.log(
    `${k.padEnd(4)}  open+close without: ${p.toFixed(2)} ms  with: ${t.toFixed(2)} ms  added: ${(t - p).toFixed(2)} ms  ratio: ${(t / p).toFixed(2)}`,
  );
}
