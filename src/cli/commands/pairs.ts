import { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_PAIR_DEFINITION, PAIR_DEFINITIONS, compileDefinitionSql, pairDefinition } from '../../detectors/pairs/definitions.js';
import { readableLake, type S3LakeFlags } from '../lake.js';

export function registerPairs(program: Command): void {
  program
    .command('pairs')
    .description('Write IP Insights training pairs from the lake as headerless entity,ip CSV (SageMaker\'s training format).')
    .option('--lake <dir|s3-url>', 'lake directory or s3://bucket/prefix, mirrored to a local cache first (default: $SECLAKE_LAKE or ./seclake-data)')
    .option('--s3-endpoint <url>', 'S3 lake: endpoint URL (MinIO, moto, ...); default $SECLAKE_S3_ENDPOINT, else AWS')
    .option('--s3-region <region>', 'S3 lake: region of the bucket (default $AWS_REGION)')
    .option('--cache <dir>', 'S3 lake: local directory the lake is mirrored to (default: the lake cache, $SECLAKE_CACHE)')
    .requiredOption('--out <file>', "CSV file to write ('-' = stdout)")
    .option('--pairs <name>', `record definition (${Object.keys(PAIR_DEFINITIONS).join(', ')}; default: ${DEFAULT_PAIR_DEFINITION})`)
    .option('--sql <sql>', 'a custom query producing (entity, ip[, time]) rows instead of a definition')
    .addHelpText(
      'after',
      `
Record definitions (--pairs NAME):
${Object.values(PAIR_DEFINITIONS).map((d) => `  ${d.name.padEnd(11)} ${d.description}`).join('\n')}

Default (--pairs default) query; parts over sources the lake does not hold are left out:
  ${compileDefinitionSql(DEFAULT_PAIR_DEFINITION).replaceAll('\n', '\n  ')}

Examples:
  seclake pairs --lake ./seclake-data --out pairs.csv
  seclake pairs --lake ./seclake-data --out flows.csv --pairs flow-peer
  seclake pairs --lake s3://my-bucket/lake --s3-region eu-west-1 --out pairs.csv
  seclake pairs --out - --sql "SELECT actor.user.uid, src_endpoint.ip FROM cloudtrail_api WHERE src_endpoint.ip IS NOT NULL"`,
    )
    .action(async (o: { lake?: string; out: string; sql?: string; pairs?: string } & S3LakeFlags) => {
      if (o.pairs !== undefined && o.sql !== undefined) throw new ConfigError('give --pairs or --sql, not both', ['pairs', 'sql']);
      const query = o.sql ?? { definition: pairDefinition(o.pairs ?? DEFAULT_PAIR_DEFINITION) };
      const lake = await readableLake(o.lake, o);
      const { writeLakePairsCsv } = await import('../../detectors/pairs/lake.js');
      const res = await writeLakePairsCsv(lake.dir, o.out === '-' ? process.stdout : o.out, query);
      process.stderr.write(
        `seclake pairs: wrote ${res.written.toLocaleString('en-US')} pairs${o.out === '-' ? '' : ` to ${o.out}`}` +
          (res.skipped > 0 ? ` (${res.skipped} rows with an empty entity or IP skipped)` : '') +
          '\n',
      );
    });
}
