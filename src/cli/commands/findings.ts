import { Command, Option } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { fmtInt, renderTable } from '../format.js';
import { checkS3Lake, isS3Lake, lakeArg, localLake, readableLake } from '../lake.js';
import type { DuckDBValue } from '@duckdb/node-api';

const SEVERITY_LEVELS: Record<string, number> = { informational: 1, info: 1, low: 2, medium: 3, high: 4, critical: 5 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/i;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `24h`, `15m`, `7d` (before `now`), or an ISO 8601 date/time -> epoch ms. */
export function parseTimeBound(value: string, flag: string, now = Date.now()): number {
  const v = value.trim();
  const m = DURATION.exec(v);
  if (m) return now - Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
    if (!Number.isNaN(t)) return t;
  }
  throw new ConfigError(`${flag} ${JSON.stringify(value)}: expected a duration before now (30m, 24h, 7d) or an ISO 8601 time (2026-01-31, 2026-01-31T12:00:00Z)`, [flag]);
}

interface FindingsOptions {
  lake?: string;
  s3Endpoint?: string;
  s3Region?: string;
  cache?: string;
  since?: string;
  until?: string;
  minSeverity?: string;
  entity?: string;
  limit: string;
  format: 'table' | 'json' | 'jsonl';
  json?: boolean;
}

function pct(p: unknown): string {
  if (typeof p !== 'number') return '';
  const s = (p * 100).toFixed(p >= 0.999 ? 3 : 2);
  return `${p < 1 && Number(s) >= 100 ? '99.999' : s}%`;
}

export function registerFindings(program: Command): void {
  const findings = program
    .command('findings')
    .description('List the detection findings in the lake (the `findings` view), newest first')
    .option('--lake <dir|s3-url>', 'lake directory or s3://bucket/prefix (default: $SECLAKE_LAKE or ./seclake-data)')
    .option('--s3-endpoint <url>', 'S3 lake: endpoint URL (MinIO, moto, ...); default $SECLAKE_S3_ENDPOINT, else AWS')
    .option('--s3-region <region>', 'S3 lake: region of the bucket (default $AWS_REGION)')
    .option('--cache <dir>', 'S3 lake: local directory the lake is mirrored to (default: the lake cache, $SECLAKE_CACHE)')
    .option('--since <when>', 'only findings whose event time is at or after this: a duration before now (30m, 24h, 7d) or an ISO time')
    .option('--until <when>', 'only findings whose event time is before this (same forms as --since)')
    .addOption(new Option('--min-severity <level>', 'only findings at least this severe').choices(['informational', 'low', 'medium', 'high', 'critical']))
    .option('--entity <id>', 'only findings about this entity (exact match)')
    .option('--limit <n>', 'at most this many findings', '100')
    .addOption(new Option('--format <fmt>', 'output: a table, a JSON array of full OCSF findings, or JSON lines').choices(['table', 'json', 'jsonl']).default('table'))
    .option('--json', 'same as --format json')
    .addHelpText(
      'after',
      `
Findings are OCSF 1.1.0 Detection Findings (class 2004) that \`seclake monitor\` writes to
<lake>/ext/seclake_findings/2.0/ as OCSF Parquet, catalogued like every lake object. The table
shows event time, severity, entity, IP, score (the detector's native score, dot_product for IP
Insights), percentile (share of normal traffic scoring higher) and title; JSON gives the full
findings. With --lake s3://bucket/prefix the lake's catalogued objects are mirrored to a local
cache first (as \`seclake query\` does; only new or changed ones are downloaded).
Findings written by seclake before 2.0 (ext/seclake_findings/1.0/) are read too from a local lake;
\`seclake findings migrate\` converts them.

Examples:
  seclake findings --since 24h
  seclake findings --min-severity high --limit 20
  seclake findings --entity i-0123456789abcdef0 --since 2026-01-31 --until 2026-02-01 --json
  seclake findings --lake s3://my-bucket/lake --s3-region eu-west-1 --since 7d
  seclake query "SELECT severity, count(*) FROM findings GROUP BY ALL"
  seclake findings migrate --lake ./lake`,
    )
    .action(async (o: FindingsOptions) => {
      const format = o.json ? 'json' : o.format;
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new ConfigError(`--limit ${JSON.stringify(o.limit)}: expected a positive integer`, ['--limit']);
      const now = Date.now();
      const where: string[] = [];
      const params: DuckDBValue[] = [];
      const bind = (sql: string, v: DuckDBValue): void => {
        params.push(v);
        where.push(sql.replace('?', `$${params.length}`));
      };
      if (o.since) bind('time >= ?', parseTimeBound(o.since, '--since', now));
      if (o.until) bind('time < ?', parseTimeBound(o.until, '--until', now));
      if (o.minSeverity) bind('severity_id >= ?', SEVERITY_LEVELS[o.minSeverity]!);
      if (o.entity !== undefined) bind('entity = ?', o.entity);
      const sql =
        `SELECT time, severity, entity, ip, native_score, percentile, title, count, uid, finding FROM findings` +
        (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
        // uid, then the finding itself: a total order, so every run lists the same findings in the same order.
        ` ORDER BY time DESC, uid, finding LIMIT ${limit}`;
      // Findings objects are catalogued: an S3 lake's mirror (as for `seclake query`) has them.
      const lake = await readableLake(o.lake, o);
      if (lake.s3) {
        const [{ countLegacyFindingsInS3 }, { LEGACY_FINDINGS_PREFIX }] = await Promise.all([import('../../findings/s3.js'), import('../../findings/lake.js')]);
        const legacy = await countLegacyFindingsInS3(lake.location, { ...(o.s3Endpoint ? { endpoint: o.s3Endpoint } : {}), ...(o.s3Region ? { region: o.s3Region } : {}) });
        if (legacy > 0) {
          process.stderr.write(
            `seclake: ${legacy} findings object${legacy === 1 ? '' : 's'} of ${lake.location} ${legacy === 1 ? 'is' : 'are'} in the format before 2.0 ` +
              `(${LEGACY_FINDINGS_PREFIX}/, not catalogued) and not shown; convert them once with: seclake findings migrate --lake ${lake.location}\n`,
          );
        }
      }
      const [{ openLakeQuery }, { findingsView }] = await Promise.all([import('../../lake/views.js'), import('../../findings/view.js')]);
      const db = await openLakeQuery(lake.dir, { views: [findingsView] });
      let rows;
      try {
        rows = await db.all(sql, params);
      } finally {
        db.close();
      }
      if (format === 'json' || format === 'jsonl') {
        const full = rows.map((r) => JSON.parse(r.finding as string) as unknown);
        process.stdout.write(format === 'json' ? JSON.stringify(full, null, 2) + '\n' : full.map((f) => JSON.stringify(f) + '\n').join(''));
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('No findings.\n');
        return;
      }
      process.stdout.write(
        renderTable(
          ['time', 'severity', 'entity', 'ip', 'score', 'percentile', 'title'],
          rows.map((r) => [
            new Date(r.time as number).toISOString().slice(0, 19) + 'Z',
            r.severity,
            r.entity,
            r.ip,
            typeof r.native_score === 'number' ? r.native_score.toFixed(2) : '',
            pct(r.percentile),
            `${r.title as string}${typeof r.count === 'number' && r.count > 1 ? ` (x${r.count})` : ''}`,
          ]),
          70,
        ) + '\n',
      );
      process.stderr.write(`(${rows.length} finding${rows.length === 1 ? '' : 's'}${rows.length === limit ? `, limited to ${limit}` : ''})\n`);
    });

  findings
    .command('migrate')
    .description('Convert findings objects written before 2.0 (flat tables under ext/seclake_findings/1.0/, not catalogued) to OCSF Parquet in the catalog')
    .option('--dry-run', 'only list what would be converted')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Takes --lake, --s3-endpoint and --s3-region from \`seclake findings\` (before or after \`migrate\`).

Each old object ext/seclake_findings/1.0/<partition>/<name>.parquet is rewritten as the OCSF findings object
ext/seclake_findings/2.0/<partition>/<name>.parquet (the key seclake writes for the same source object today),
catalogued once, and then removed. An old object whose source object has been scored again since (its 2.0 object is
already catalogued) is only removed. Safe to interrupt and run again.

Examples:
  seclake findings migrate --lake ./lake
  seclake findings migrate --lake s3://my-bucket/lake --dry-run`,
    )
    .exitOverride()
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ lake?: string; s3Endpoint?: string; s3Region?: string; dryRun?: boolean; json?: boolean }>();
      const loc = lakeArg(o.lake);
      if (isS3Lake(loc)) await checkS3Lake(loc, o);
      const dir = isS3Lake(loc) ? undefined : localLake(o.lake, 'findings migrate');
      const [{ openLakeStore }, { migrateLegacyFindings }] = await Promise.all([import('../../lake/store.js'), import('../../findings/lake.js')]);
      const store = isS3Lake(loc) ? openLakeStore(loc, { ...(o.s3Endpoint ? { endpoint: o.s3Endpoint } : {}), ...(o.s3Region ? { region: o.s3Region } : {}) }) : undefined;
      try {
        const where = store ? store.location : dir!;
        const res = await migrateLegacyFindings(store ?? where, {
          ...(o.dryRun ? { dryRun: true } : {}),
          onObject: (from, to, n) => {
            if (!o.json) process.stderr.write(`${o.dryRun ? 'would convert' : 'converting'} ${from} -> ${to} (${fmtInt(n)} findings)\n`);
          },
        });
        if (o.json) process.stdout.write(JSON.stringify({ lake: where, dry_run: Boolean(o.dryRun), ...res }) + '\n');
        else
          process.stdout.write(
            `${where}: ${fmtInt(res.legacy)} old findings objects; ${o.dryRun ? 'would convert' : 'converted'} ${fmtInt(o.dryRun ? res.legacy - res.superseded : res.migrated)} ` +
              `(${fmtInt(res.findings)} findings), ${fmtInt(res.superseded)} already replaced by a newer object${o.dryRun ? '' : ' (removed)'}\n`,
          );
      } finally {
        store?.close();
      }
    });
}
