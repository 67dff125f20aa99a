import { Command, Option } from 'commander';
import type { IngestSummary } from '../../ingest/ingest.js';
import { DEFAULT_MAX_GZIP_RATIO, DEFAULT_MAX_LINE_BYTES } from '../../ingest/inputs.js';
import { resolveLakeDir } from '../../lake/layout.js';
import { SOURCE_TYPES } from '../../sources/index.js';
import type { SourceType } from '../../sources/types.js';
import { fmtInt, renderTable } from '../format.js';
import { ConfigError } from '../../core/errors.js';
import { log } from '../../core/log.js';

export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('Normalize raw logs to OCSF 1.1.0 and write them to the lake as partitioned Parquet')
    .argument('<paths...>', 'files, folders (walked recursively) or - for stdin; gzip or plain')
    .option('--lake <dir|s3-url>', 'lake directory or s3://bucket/prefix (default: $SECLAKE_LAKE or ./seclake-data)')
    .option('--s3-endpoint <url>', 'S3 lake: endpoint URL (MinIO, moto, ...); default $SECLAKE_S3_ENDPOINT, else AWS')
    .option('--s3-region <region>', 'S3 lake: region of the bucket (default $AWS_REGION)')
    .option('--staging <dir>', 'S3 lake: local directory to stage and write Parquet in (default: a temp dir, removed afterwards)')
    .addOption(new Option('--source <type>', 'force a source type instead of detecting it from the content').choices(SOURCE_TYPES))
    .option('--region <region>', 'region for records that carry none (default: from the file name, else "unknown")')
    .option('--account <id>', 'account id for records that carry none (default: from the file name, else "unknown")')
    .option('--rows-per-object <n>', 'maximum rows per Parquet object', '250000')
    .option('--no-validate', 'skip OCSF schema validation of each event (faster; not recommended)')
    .option('--no-bulk', "use the generic per-event path even where a source has a bulk path (VPC flow text); same output, slower")
    .option('--max-line-bytes <n>', 'longest line (record) read; a longer one is quarantined without being held in memory', String(DEFAULT_MAX_LINE_BYTES))
    .option('--max-gzip-ratio <n>', 'a gzip input may expand to this many times its size + 64 MiB, else it fails (decompression bomb)', String(DEFAULT_MAX_GZIP_RATIO))
    .option('--force', 'redo inputs already in the lake: read them again and replace what they published (local lakes)')
    .option('--fail-on-reject', 'exit with status 3 when any record was quarantined')
    .option('--json', 'print the summary as one JSON object on stdout')
    .addHelpText(
      'after',
      `
Sources (auto-detected from content): aws_vpc_flow (VPC Flow Logs v2-v8 text with header, CSV, Parquet),
aws_route53 (Resolver query logs, JSON lines/arrays), aws_cloudtrail ({"Records":[...]} or single events),
ocsf (OCSF 1.1.0 JSON lines or Parquet).

Layout: <lake>/aws/<SOURCE>/2.0/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/<object>.parquet
With --lake s3://bucket/prefix the objects are written locally, uploaded under the same keys and published
through a catalog kept in S3 (<prefix>/_seclake/catalog/); many workers may ingest into one S3 lake at once
(see docs/s3-lake.md).

Bad records are quarantined with file, line and reason (see \`seclake quarantine\`); re-ingesting the
same content adds nothing. A line longer than --max-line-bytes (default 16 MiB) is quarantined with its
line number, never held in memory; so is a line that is not valid UTF-8 (the reason gives the byte
offset; the text is never altered). A gzip input expanding past --max-gzip-ratio x its size + 64 MiB
fails. An input read as one JSON document that is not valid UTF-8 fails, naming the line and offset.
An empty input is a success with 0 records. In a folder, a symbolic link to a file inside that folder
is followed; one pointing outside it, to a folder or nowhere is skipped with a warning.
Staging left by killed ingests is removed at the start of the next one.

Redo: an input is recorded by the sha256 of its content, so ingesting it again adds nothing.
  - If none of its records was ingested (all quarantined: a warning says so), ingesting it again as
    another source (--source, or detected) redoes it.
  - --force redoes any input (local lakes): it is read again and published as the input's next
    revision; its earlier objects and quarantine are retracted in the same catalog commit and their
    files removed, so nothing is doubled. Findings the monitor already raised from them stay.

Exit status: 0 ok (records may have been quarantined), 1 an input failed, 2 usage error,
3 with --fail-on-reject when records were quarantined.

Examples:
  seclake ingest ./flowlogs/ --lake ./lake
  seclake ingest ./dns.log --lake ./lake --source aws_route53    # redo an input first read as the wrong source
  seclake ingest ./flowlogs/ --lake ./lake --force               # read everything again, replacing it
  zcat 123456789012_vpcflowlogs_us-east-1_fl-1_20240101T0000Z_ab12.log.gz | seclake ingest - --region us-east-1
  seclake ingest ./assets/samples --lake ./lake-check --json
  seclake ingest ./flowlogs/ --lake s3://my-bucket/lake --s3-region eu-west-1`,
    )
    .action(
      async (
        paths: string[],
        o: { lake?: string; s3Endpoint?: string; s3Region?: string; staging?: string; source?: SourceType; region?: string; account?: string; rowsPerObject: string; maxLineBytes: string; maxGzipRatio: string; validate: boolean; bulk: boolean; force?: boolean; failOnReject?: boolean; json?: boolean },
      ) => {
        const rowsPerObject = Number(o.rowsPerObject);
        if (!Number.isInteger(rowsPerObject) || rowsPerObject < 1) throw new ConfigError(`--rows-per-object must be a positive integer, got ${o.rowsPerObject}`);
        const maxLineBytes = Number(o.maxLineBytes);
        if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) throw new ConfigError(`--max-line-bytes must be a positive integer, got ${o.maxLineBytes}`);
        const maxGzipRatio = Number(o.maxGzipRatio);
        if (!Number.isFinite(maxGzipRatio) || maxGzipRatio < 1) throw new ConfigError(`--max-gzip-ratio must be a number >= 1, got ${o.maxGzipRatio}`);
        const lakeArg = o.lake ?? process.env.SECLAKE_LAKE;
        const s3 = lakeArg !== undefined && /^s3:\/\//i.test(lakeArg);
        const lakeDir = s3 ? lakeArg : resolveLakeDir(o.lake);
        if (s3 && o.force) throw new ConfigError('--force is not supported for an S3 lake yet (redo the input in a local lake)');
        const [{ ingest }, { createProgress }] = await Promise.all([import('../../ingest/ingest.js'), import('../../core/progress.js')]);
        let bar: ReturnType<typeof createProgress> | undefined;
        const summary = await ingest({
          lakeDir,
          paths,
          rowsPerObject,
          maxLineBytes,
          maxGzipRatio,
          validate: o.validate,
          bulk: o.bulk,
          ...(o.force ? { force: true } : {}),
          ...(s3 ? { s3: { ...(o.s3Endpoint ? { endpoint: o.s3Endpoint } : {}), ...(o.s3Region ? { region: o.s3Region } : {}) } } : {}),
          ...(s3 && o.staging ? { stagingDir: o.staging } : {}),
          ...(o.source ? { sourceType: o.source } : {}),
          ...(o.region ? { region: o.region } : {}),
          ...(o.account ? { accountId: o.account } : {}),
          onProgress: (p) => {
            bar ??= createProgress('ingest', p.inputsTotal, 'inputs');
            bar.update(p.inputsDone, { events: p.events });
          },
        });
        bar?.stop();
        // What the user must hear about (every record quarantined, a link not followed): in the summary, or with
        // --json (stdout is data) on stderr.
        if (o.json) for (const i of summary.inputs) if (i.warning) log.warn(`${i.name}: ${i.warning}`);
        if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
        else process.stdout.write(formatSummary(summary));
        if (summary.totals.failed > 0) process.exitCode = 1;
        else if (o.failOnReject && summary.totals.rejects > 0) process.exitCode = 3;
      },
    );
}

export function formatSummary(s: IngestSummary): string {
  const t = s.totals;
  const out: string[] = [];
  out.push(
    `Ingested ${fmtInt(t.ingested)} of ${fmtInt(t.inputs)} input${t.inputs === 1 ? '' : 's'} into ${s.lake}` +
      ` (${t.duplicates} already in the lake, ${t.skipped} skipped, ${t.failed} failed)`,
  );
  out.push(`  events written: ${fmtInt(t.events)}   records quarantined: ${fmtInt(t.rejects)}   ${(s.elapsed_ms / 1000).toFixed(2)} s, ${fmtInt(s.events_per_sec)} events/s`);
  if (s.by_class.length > 0) {
    out.push('', 'Events by class:');
    out.push(indent(renderTable(['source', 'class', 'events'], s.by_class.map((c) => [c.source, `${c.class_name} (${c.class_uid})`, fmtInt(c.events)]))));
  }
  if (s.by_partition.length > 0) {
    out.push('', 'Events by partition:');
    const shown = s.by_partition.slice(0, 30);
    out.push(indent(renderTable(['partition', 'events'], shown.map((p) => [p.partition, fmtInt(p.events)]), 120)));
    if (s.by_partition.length > shown.length) out.push(`  … and ${s.by_partition.length - shown.length} more`);
  }
  if (s.rejects_by_reason.length > 0) {
    out.push('', 'Quarantined records by reason (details: seclake quarantine):');
    out.push(indent(renderTable(['count', 'reason'], s.rejects_by_reason.map((r) => [fmtInt(r.count), r.reason]), 120)));
  }
  const redone = s.inputs.filter((i) => i.revision !== undefined);
  if (redone.length > 0) {
    out.push('', 'Ingested again (the earlier ingest of the same content retracted):');
    for (const r of redone) out.push(`  ${r.name}: revision ${r.revision}, ${fmtInt(r.events)} events, ${fmtInt(r.rejects)} quarantined, ${r.retracted ?? 0} earlier file(s) removed`);
  }
  const warned = s.inputs.filter((i) => i.warning);
  if (warned.length > 0) {
    out.push('', 'Warnings:');
    for (const w of warned) out.push(`  ${w.name}: ${w.warning}`);
  }
  const failed = s.inputs.filter((i) => i.status === 'failed');
  if (failed.length > 0) {
    out.push('', 'Failed inputs:');
    // Errors name their file already (ParseError: "file:line: ..."); say it once.
    for (const f of failed) {
      const m = f.message ?? 'failed';
      out.push(`  ${m.startsWith(`${f.name}:`) ? m : `${f.name}: ${m}`}`);
    }
  }
  return out.join('\n') + '\n';
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n');
}
