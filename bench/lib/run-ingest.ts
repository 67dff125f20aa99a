/**
 * Child process for bench/ingest.bench.ts: runs one mode and prints {mode, events, ms, cpu_ms, max_rss_mb}
 * as JSON, so peak RSS is per mode. Modes: `duckdb` (plain read_csv -> Parquet, the reference), `bulk`
 * (seclake ingest, the source's bulk path), `generic` (seclake ingest --no-bulk: per-event objects).
 * With `--cpu-prof` on the node command line, a profile of the mode is written as usual.
 */
import { rmSync } from 'node:fs';
import { ingest } from '../../src/ingest/ingest.js';
import { Duck, quoteString } from '../../src/lake/duckdb.js';

const [mode, file, out] = process.argv.slice(2) as [string, string, string];
rmSync(out, { recursive: true, force: true });
let events = 0;
let path: string | undefined;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
if (mode === 'duckdb') {
  const db = await Duck.open();
  await db.run(
    `COPY (SELECT * FROM read_csv(${quoteString(file)}, delim = ' ', header = true)) TO ${quoteString(out + '.parquet')} (FORMAT parquet, COMPRESSION zstd)`,
  );
  events = Number((await db.all(`SELECT count(*)::BIGINT AS n FROM read_parquet(${quoteString(out + '.parquet')})`))[0]!.n);
  db.close();
  rmSync(out + '.parquet', { force: true });
} else if (mode === 'bulk' || mode === 'generic') {
  const s = await ingest({ lakeDir: out, paths: [file], bulk: mode === 'bulk' });
  if (s.totals.failed > 0) throw new Error(JSON.stringify(s.inputs));
  events = s.totals.events;
  path = s.inputs[0]?.mode;
} else {
  throw new Error(`unknown mode ${mode}`);
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
rmSync(out, { recursive: true, force: true });
process.stdout.write(
  JSON.stringify({ mode, events, ms, cpu_ms: (cpu.user + cpu.system) / 1000, max_rss_mb: process.resourceUsage().maxRSS / 1024, ...(path ? { path } : {}) }) + '\n',
);
