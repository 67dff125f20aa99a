import type { Command } from 'commander';
import { renderTable } from '../format.js';
import { checkS3Lake, isS3Lake, lakeArg, localLake, type S3LakeFlags } from '../lake.js';
import type { QuarantineRecord } from '../../lake/quarantine.js';

/**
 * The quarantine of an S3 lake: the quarantine files its catalog lists (the published inputs'), downloaded to a
 * temporary directory laid out as a lake's and read as a local one's.
 */
async function s3Quarantine(url: string, flags: S3LakeFlags, filter: { input?: string; limit: number }): Promise<QuarantineRecord[]> {
  await checkS3Lake(url, flags);
  const [{ mkdtempSync, rmSync }, { tmpdir }, path, { S3Lake }, { readQuarantine }, { resolveInLake }] = await Promise.all([
    import('node:fs'),
    import('node:os'),
    import('node:path'),
    import('../../lake/s3.js'),
    import('../../lake/quarantine.js'),
    import('../../lake/layout.js'),
  ]);
  const lake = new S3Lake(url, { ...(flags.s3Endpoint ? { endpoint: flags.s3Endpoint } : {}), ...(flags.s3Region ? { region: flags.s3Region } : {}) });
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-quarantine-'));
  try {
    for (const input of await lake.listInputs()) {
      if (input.quarantine) await lake.getObjectToFile(input.quarantine, resolveInLake(dir, input.quarantine));
    }
    return readQuarantine(dir, filter);
  } finally {
    lake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function registerQuarantine(program: Command): void {
  program
    .command('quarantine')
    .description('List records that were not ingested, with input, line, field and reason')
    .option('--lake <dir|s3-url>', 'lake directory or s3://bucket/prefix (default: $SECLAKE_LAKE or ./seclake-data)')
    .option('--s3-endpoint <url>', 'S3 lake: endpoint URL (MinIO, moto, ...); default $SECLAKE_S3_ENDPOINT, else AWS')
    .option('--s3-region <region>', 'S3 lake: region of the bucket (default $AWS_REGION)')
    .option('--input <name-or-hash>', 'only records of inputs whose name contains this, or whose hash starts with it')
    .option('--limit <n>', 'at most this many records', '100')
    .option('--json', 'print JSON lines (one record each, with the raw text)')
    .action(async (o: { lake?: string; input?: string; limit: string; json?: boolean } & S3LakeFlags) => {
      const filter = { ...(o.input ? { input: o.input } : {}), limit: Number(o.limit) };
      const loc = lakeArg(o.lake);
      let recs: QuarantineRecord[];
      if (isS3Lake(loc)) recs = await s3Quarantine(loc, o, filter);
      else {
        const dir = localLake(o.lake, 'quarantine');
        const { readQuarantine } = await import('../../lake/quarantine.js');
        recs = readQuarantine(dir, filter);
      }
      if (o.json) {
        for (const r of recs) process.stdout.write(JSON.stringify(r) + '\n');
        return;
      }
      if (recs.length === 0) {
        process.stdout.write('No quarantined records.\n');
        return;
      }
      process.stdout.write(
        renderTable(
          ['input', 'line', 'field', 'reason'],
          recs.map((r) => [r.input_name, r.line, r.field ?? '', r.reason]),
          90,
        ) + '\n',
      );
    });
}
