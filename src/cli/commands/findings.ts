import { Command, Option } from 'commander';
import path from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { resolveLakeDir } from '../../lake/layout.js';
import { openLakeQuery } from '../../lake/views.js';
import { defaultCacheDir } from '../../lake/store.js';
import { syncFindingsFromS3 } from '../../findings/s3.js';
import { renderTable } from '../format.js';
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
  program
    .command('findings')
    .description('List the detection findings in the lake (the `findings` view), newest first')
    .option('--lake <dir|s3-url>', 'lake directory or s3://bucket/prefix (default: $SECLAKE_LAKE or ./seclake-data)')
    .option('--s3-endpoint <url>', 'S3 lake: endpoint URL (MinIO, moto, ...); default $SECLAKE_S3_ENDPOINT, else AWS')
    .option('--s3-region <region>', 'S3 lake: region of the bucket (default $AWS_REGION)')
    .option('--cache <dir>', 'S3 lake: local directory the findings objects are mirrored to (default: the lake cache, $SECLAKE_CACHE)')
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
<lake>/ext/seclake_findings/. The table shows event time, severity, entity, IP, score (dot_product),
percentile (share of normal traffic scoring higher) and title; JSON gives the full findings.
With --lake s3://bucket/prefix the findings objects are mirrored to a local cache first (only new
or changed ones are downloaded).

Examples:
  seclake findings --since 24h
  seclake findings --min-severity high --limit 20
  seclake findings --entity i-0123456789abcdef0 --since 2026-01-31 --until 2026-02-01 --json
  seclake findings --lake s3://my-bucket/lake --s3-region eu-west-1 --since 7d
  seclake query "SELECT severity, count(*) FROM findings GROUP BY ALL"`,
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
        `SELECT time, severity, entity, ip, dot_product, percentile, title, count, uid, finding FROM findings` +
        (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
        ` ORDER BY time DESC, uid LIMIT ${limit}`;
      const lakeArg = o.lake ?? process.env.SECLAKE_LAKE;
      let lakeDir: string;
      if (lakeArg !== undefined && /^s3:\/\//i.test(lakeArg)) {
        lakeDir = path.resolve(o.cache ?? defaultCacheDir(lakeArg));
        const r = await syncFindingsFromS3(lakeArg, lakeDir, { ...(o.s3Endpoint ? { endpoint: o.s3Endpoint } : {}), ...(o.s3Region ? { region: o.s3Region } : {}) });
        if (r.downloaded > 0 || r.removed > 0) process.stderr.write(`synced findings of ${lakeArg}: ${r.downloaded} of ${r.objects} objects downloaded to ${lakeDir}\n`);
      } else {
        lakeDir = resolveLakeDir(o.lake);
      }
      const db = await openLakeQuery(lakeDir);
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
            typeof r.dot_product === 'number' ? r.dot_product.toFixed(2) : '',
            pct(r.percentile),
            `${r.title as string}${typeof r.count === 'number' && r.count > 1 ? ` (x${r.count})` : ''}`,
          ]),
          70,
        ) + '\n',
      );
      process.stderr.write(`(${rows.length} finding${rows.length === 1 ? '' : 's'}${rows.length === limit ? `, limited to ${limit}` : ''})\n`);
    });
}
