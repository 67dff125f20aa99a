import { Command, Option } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { readableLake } from '../lake.js';
import { csvCell, jsonValue, renderTable, type OutputFormat } from '../format.js';

export function registerQuery(program: Command): void {
  program
    .command('query')
    .description('Run SQL over the lake (DuckDB). Views: vpc_flow, route53, cloudtrail_api, cloudtrail_auth, cloudtrail_account, Glue-named tables, lake_objects, quarantine')
    .argument('[sql]', 'the SQL statement (or --file)')
    .option('--lake <dir>', 'lake directory (default: $SECLAKE_LAKE or ./seclake-data); s3://bucket/prefix is synced to a local cache first')
    .option('--cache <dir>', 'S3 lake: local cache directory (default $SECLAKE_CACHE or ~/.cache/seclake/s3/...)')
    .option('--s3-endpoint <url>', 'S3 lake: endpoint URL (default $SECLAKE_S3_ENDPOINT, else AWS)')
    .option('--s3-region <region>', 'S3 lake: region of the bucket (default $AWS_REGION)')
    .option('--file <path>', 'read the SQL from a file')
    .addOption(new Option('--format <fmt>', 'output format').choices(['table', 'csv', 'json', 'jsonl']).default('table'))
    .option('--max-rows <n>', 'table format: rows to show (csv/json stream everything)', '200')
    .option('--views', 'list the views and how many objects each reads, then exit')
    .addHelpText(
      'after',
      `
Examples:
  seclake query "SELECT count(*) FROM vpc_flow"
  seclake query --format csv "SELECT src_endpoint.instance_uid AS instance_id, src_endpoint.ip AS sourceip FROM vpc_flow WHERE src_endpoint.ip IS NOT NULL AND src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid != '-' AND src_endpoint.ip != '-'"
  seclake query "SELECT * FROM amazon_security_lake_table_us_east_1_vpc_flow_2_0 LIMIT 5"
  seclake query --views`,
    )
    .action(async (sqlArg: string | undefined, o: { lake?: string; cache?: string; s3Endpoint?: string; s3Region?: string; file?: string; format: OutputFormat; maxRows: string; views?: boolean }) => {
      // An S3 lake is queried through a local mirror of its catalogued objects (downloaded once, then incrementally).
      const lake = await readableLake(o.lake, o);
      const { openLakeQuery } = await import('../../lake/views.js');
      const db = await openLakeQuery(lake.dir);
      try {
        if (o.views) {
          const rows = await db.all(
            `SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' ORDER BY view_name`,
          );
          process.stdout.write(rows.map((r) => r.view_name).join('\n') + '\n');
          return;
        }
        let sql = sqlArg;
        if (o.file) sql = (await import('node:fs')).readFileSync(o.file, 'utf8');
        if (!sql || !sql.trim()) throw new ConfigError('no SQL given: pass it as an argument or with --file');
        const maxRows = Number(o.maxRows);
        let columns: string[] = [];
        const tableRows: unknown[][] = [];
        let total = 0;
        // JSON: the opening bracket is written with the first row (or at the end), so a statement that fails before
        // producing rows leaves stdout empty (the error goes to stderr, exit status 1), not a dangling `[`.
        for await (const chunk of db.stream(sql)) {
          if (columns.length === 0) {
            columns = chunk.columns;
            if (o.format === 'csv') process.stdout.write(columns.map(csvCell).join(',') + '\n');
          }
          for (const row of chunk.rows) {
            if (o.format === 'table') {
              if (tableRows.length < maxRows) tableRows.push(row);
            } else if (o.format === 'csv') {
              process.stdout.write(row.map(csvCell).join(',') + '\n');
            } else {
              const obj: Record<string, unknown> = {};
              columns.forEach((c, i) => (obj[c] = row[i]));
              const sep = o.format === 'json' ? (total === 0 ? '[\n' : ',\n') : '';
              process.stdout.write(sep + jsonValue(obj) + (o.format === 'jsonl' ? '\n' : ''));
            }
            total++;
          }
        }
        if (o.format === 'json') process.stdout.write(total === 0 ? '[]\n' : '\n]\n');
        if (o.format === 'csv' && columns.length === 0) {
          const cols = await db.describe(sql);
          process.stdout.write(cols.map((c) => csvCell(c.name)).join(',') + '\n');
        }
        if (o.format === 'table') {
          if (columns.length === 0) columns = (await db.describe(sql)).map((c) => c.name);
          process.stdout.write(renderTable(columns, tableRows) + '\n');
          process.stderr.write(`(${total} row${total === 1 ? '' : 's'}${total > tableRows.length ? `, first ${tableRows.length} shown` : ''})\n`);
        }
      } finally {
        db.close();
      }
    });
}
