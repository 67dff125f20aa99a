/**
 * Child process for bench/ingest.bench.ts: runs one mode and prints {events, ms, max_rss_mb} as JSON,
 * so peak RSS is per mode.
 */
import { rmSync } from 'node:fs';
import { ingest } from '../../src/ingest/ingest.js';
import { Duck, quoteString } from '../../src/lake/duckdb.js';

const [mode, file, out] = process.argv.slice(2) as [string, string, string];
rmSync(out, { recursive: true, force: true });
let events = 0;
const t0 = performance.now();
if (mode === 'duckdb') {
  const db = await Duck.open();
  await db.run(
    `COPY (SELECT * FROM read_csv(${quoteString(file)}, delim = ' ', header = true)) TO ${quoteString(out + '.parquet')} (FORMAT parquet, COMPRESSION zstd)`,
  );
  events = Number((await db.all(`SELECT count(*)::BIGINT AS n FROM read_parquet(${quoteString(out + '.parquet')})`))[0]!.n);
  db.close();
  rmSync(out + '.parquet', { force: true });
} else {
  const s = await ingest({ lakeDir: out, paths: [file] });
  if (s.totals.failed > 0) throw new Error(JSON.stringify(s.inputs));
  events = s.totals.events;
}
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ mode, events, ms, max_rss_mb: process.resourceUsage().maxRSS / 1024 }) + '\n');
