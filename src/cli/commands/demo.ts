import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { ingest } from '../../ingest/ingest.js';
import { resolveLakeDir } from '../../lake/layout.js';
import { openLakeQuery } from '../../lake/views.js';
import { formatSummary } from './ingest.js';
import { renderTable } from '../format.js';

export const REFERENCE_QUERY =
  "SELECT src_endpoint.instance_uid as instance_id, src_endpoint.ip as sourceip FROM vpc_flow WHERE src_endpoint.ip IS NOT NULL AND src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid != '-' AND src_endpoint.ip != '-'";

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Run the pipeline end to end on the bundled sample logs (what `npm start` runs)')
    .option('--lake <dir>', 'lake directory (default: $SECLAKE_LAKE or ./seclake-data)')
    .action(async (o: { lake?: string }) => {
      const lakeDir = resolveLakeDir(o.lake);
      const samples = fileURLToPath(new URL('../../../assets/samples', import.meta.url));
      process.stderr.write(`seclake demo: ingesting the bundled sample logs (${samples}) into ${lakeDir}\n\n`);
      const summary = await ingest({ lakeDir, paths: [samples] });
      process.stdout.write(formatSummary(summary));
      const db = await openLakeQuery(lakeDir);
      try {
        process.stdout.write(`\nThe reference solution's Athena query, run unchanged against the vpc_flow view:\n  ${REFERENCE_QUERY}\n\n`);
        const rows = await db.all(REFERENCE_QUERY);
        process.stdout.write(renderTable(['instance_id', 'sourceip'], rows.map((r) => [r.instance_id, r.sourceip])) + '\n');
        process.stdout.write(
          `\nTry it yourself:\n  npx seclake query --lake ${o.lake ?? 'seclake-data'} "SELECT class_name, count(*) FROM cloudtrail_api GROUP BY ALL ORDER BY 2 DESC"\n` +
            `  npx seclake query --lake ${o.lake ?? 'seclake-data'} --views\n`,
        );
      } finally {
        db.close();
      }
      if (summary.totals.failed > 0) process.exitCode = 1;
    });
}
