import { Command } from 'commander';
import { DEFAULT_PAIRS_SQL, writeLakePairsCsv } from '../../detectors/ipinsights/lake-pairs.js';
import { resolveLakeDir } from '../../lake/layout.js';

export function registerPairs(program: Command): void {
  program
    .command('pairs')
    .description('Write IP Insights training pairs from the lake as headerless entity,ip CSV (SageMaker\'s training format).')
    .option('--lake <dir>', 'lake directory (default: $SECLAKE_LAKE or ./seclake-data)')
    .requiredOption('--out <file>', "CSV file to write ('-' = stdout)")
    .option('--sql <sql>', 'query producing (entity, ip[, time]) rows; default: the AWS reference solution\'s VPC Flow + Route 53 query')
    .addHelpText(
      'after',
      `
Default query (the blog notebook's two Athena queries, concatenated; rows with '-' or null dropped):
  ${DEFAULT_PAIRS_SQL.replaceAll('\n', '\n  ')}

Examples:
  seclake pairs --lake ./seclake-data --out pairs.csv
  seclake pairs --out - --sql "SELECT actor.user.uid, src_endpoint.ip FROM cloudtrail_api WHERE src_endpoint.ip IS NOT NULL"`,
    )
    .action(async (o: { lake?: string; out: string; sql?: string }) => {
      const dir = resolveLakeDir(o.lake);
      const res = await writeLakePairsCsv(dir, o.out === '-' ? process.stdout : o.out, o.sql ?? DEFAULT_PAIRS_SQL);
      process.stderr.write(
        `seclake pairs: wrote ${res.written.toLocaleString('en-US')} pairs${o.out === '-' ? '' : ` to ${o.out}`}` +
          (res.skipped > 0 ? ` (${res.skipped} rows with an empty entity or IP skipped)` : '') +
          '\n',
      );
    });
}
