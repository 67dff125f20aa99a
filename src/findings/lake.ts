/**
 * Findings in the lake: one zstd Parquet object per scored source object,
 *
 *   ext/seclake_findings/1.0/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/<sha256(source object)[0..32]>.parquet
 *
 * named after the source object, so re-processing an object rewrites the same key (with the same rows, since
 * findings are deterministic) and never adds a duplicate. Each row holds the full finding as JSON (`finding`, exact
 * round trip) plus flat columns for SQL. Rows are sorted by (time, uid). Files are written to a temporary name in the
 * target directory and renamed, so readers never see a partial object.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { LakeError, errorMessage } from '../core/errors.js';
import { Duck, quoteIdent, quoteString } from '../lake/duckdb.js';
import { resolveInLake, safeSegment } from '../lake/layout.js';
import type { DetectionFinding } from './types.js';

export const FINDINGS_SOURCE = 'seclake_findings';
export const FINDINGS_VERSION = '1.0';
/** Lake-relative prefix of every findings object. */
export const FINDINGS_PREFIX = `ext/${FINDINGS_SOURCE}/${FINDINGS_VERSION}`;

/** The flat columns of a findings object, in order, with their DuckDB types. */
export const FINDINGS_COLUMNS: readonly { name: string; type: string }[] = [
  { name: 'time', type: 'BIGINT' },
  { name: 'uid', type: 'VARCHAR' },
  { name: 'class_uid', type: 'INTEGER' },
  { name: 'activity_id', type: 'INTEGER' },
  { name: 'severity_id', type: 'INTEGER' },
  { name: 'severity', type: 'VARCHAR' },
  { name: 'kind', type: 'VARCHAR' },
  { name: 'title', type: 'VARCHAR' },
  { name: 'message', type: 'VARCHAR' },
  { name: 'entity', type: 'VARCHAR' },
  { name: 'ip', type: 'VARCHAR' },
  { name: 'dot_product', type: 'DOUBLE' },
  { name: 'threshold', type: 'DOUBLE' },
  { name: 'percentile', type: 'DOUBLE' },
  { name: 'confidence_score', type: 'INTEGER' },
  { name: 'count', type: 'INTEGER' },
  { name: 'first_seen_time', type: 'BIGINT' },
  { name: 'last_seen_time', type: 'BIGINT' },
  { name: 'source_object', type: 'VARCHAR' },
  { name: 'source_row', type: 'BIGINT' },
  { name: 'model_name', type: 'VARCHAR' },
  { name: 'model_version', type: 'VARCHAR' },
  { name: 'correlation_uid', type: 'VARCHAR' },
  { name: 'finding', type: 'VARCHAR' },
];

/** Hive partition columns the `findings` view adds from the path. */
export const FINDINGS_PARTITION_COLUMNS = ['region', 'accountId', 'eventDay'] as const;

export interface FindingsPartition {
  region: string;
  accountId: string;
  /** YYYYMMDD (UTC). */
  eventDay: string;
}

/** Lake-relative key of the findings object for one source object (see the module comment). */
export function findingsObjectKey(sourceObject: string, part: FindingsPartition): string {
  const hash = createHash('sha256').update(sourceObject).digest('hex').slice(0, 32);
  return [
    FINDINGS_PREFIX,
    `region=${safeSegment(part.region)}`,
    `accountId=${safeSegment(part.accountId)}`,
    `eventDay=${safeSegment(part.eventDay)}`,
    `${hash}.parquet`,
  ].join('/');
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The flat row of a finding (the `finding` column is its JSON text). */
export function findingRow(f: DetectionFinding): Record<string, string | number | null> {
  const fi = obj(f.finding_info);
  const u = obj(f.unmapped);
  const model = obj(u.model);
  const meta = obj(f.metadata);
  return {
    time: num(f.time),
    uid: fi.uid as string,
    class_uid: num(f.class_uid),
    activity_id: num(f.activity_id),
    severity_id: num(f.severity_id),
    severity: str(f.severity),
    kind: str(u.kind),
    title: str(fi.title),
    message: str(f.message),
    entity: str(u.entity),
    ip: str(u.ip),
    dot_product: num(u.dot_product),
    threshold: num(u.threshold),
    percentile: num(u.anomaly_percentile),
    confidence_score: num(f.confidence_score),
    count: num(f.count),
    first_seen_time: num(fi.first_seen_time),
    last_seen_time: num(fi.last_seen_time),
    source_object: str(u.source_object),
    source_row: num(u.source_row),
    model_name: str(model.name),
    model_version: str(model.version),
    correlation_uid: str(meta.correlation_uid),
    finding: JSON.stringify(f),
  };
}

function tmpNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** fsync on the thread pool: the event loop goes on (the monitor scores the next object meanwhile). */
async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface WriteFindingsOptions {
  /** An open DuckDB to use (the monitor keeps one); by default one is opened and closed. */
  db?: Duck;
}

export interface WrittenFindings {
  /** Absolute path written. */
  file: string;
  rows: number;
  bytes: number;
}

/**
 * Write findings to a zstd Parquet file at `localFile` (temporary file in the same directory, fsync, rename).
 * The directory must exist or be creatable. Zero findings give a valid empty file with the same columns.
 */
export async function writeFindingsParquet(findings: readonly DetectionFinding[], localFile: string, opts: WriteFindingsOptions = {}): Promise<WrittenFindings> {
  const file = path.resolve(localFile);
  const dir = path.dirname(file);
  const rows = findings.map(findingRow);
  rows.sort((a, b) => (a.time as number) - (b.time as number) || (a.uid! < b.uid! ? -1 : a.uid! > b.uid! ? 1 : 0));
  const tmp = tmpNameFor(file);
  // Rows go into a temporary table through the appender (no JSON staging file), then one COPY writes the Parquet.
  const stageName = `seclake_findings_stage_${process.pid}_${randomBytes(6).toString('hex')}`;
  const stage = quoteIdent(stageName);
  const db = opts.db ?? (await Duck.open({ threads: 1 }));
  let staged = false;
  try {
    mkdirSync(dir, { recursive: true });
    await db.run(`CREATE TEMP TABLE ${stage} (${FINDINGS_COLUMNS.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')})`);
    staged = true;
    await db.appendRows(
      stageName,
      FINDINGS_COLUMNS.map((c) => c.type),
      rows.map((r) => FINDINGS_COLUMNS.map((c) => r[c.name])),
    );
    const select = FINDINGS_COLUMNS.map((c) => quoteIdent(c.name)).join(', ');
    await db.run(`COPY (SELECT ${select} FROM ${stage}) TO ${quoteString(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
    await fsyncFile(tmp);
    await rename(tmp, file);
    return { file, rows: rows.length, bytes: (await stat(file)).size };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new LakeError(`writing findings to ${file} failed: ${errorMessage(err)}`, { cause: err });
  } finally {
    if (staged) await db.run(`DROP TABLE IF EXISTS ${stage}`).catch(() => {});
    if (!opts.db) db.close();
  }
}

/**
 * Publish findings into a local lake at `key` (from findingsObjectKey), atomically. Returns null and writes
 * nothing when there are no findings (an existing object at the key is left alone: findings are never deleted).
 */
export async function publishFindings(lakeDir: string, key: string, findings: readonly DetectionFinding[], opts: WriteFindingsOptions = {}): Promise<WrittenFindings | null> {
  if (!key.startsWith(`${FINDINGS_PREFIX}/`) || !key.endsWith('.parquet')) {
    throw new LakeError(`not a findings object key: ${JSON.stringify(key)} (expected ${FINDINGS_PREFIX}/.../<hash>.parquet)`);
  }
  const file = resolveInLake(lakeDir, key);
  if (findings.length === 0) return null;
  return writeFindingsParquet(findings, file, opts);
}

/** Absolute paths of every published findings object in a local lake, sorted (temporary files excluded). */
export function listFindingsObjects(lakeDir: string): string[] {
  const root = path.join(path.resolve(lakeDir), ...FINDINGS_PREFIX.split('/'));
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.parquet')) out.push(p);
    }
  };
  if (existsSync(root)) walk(root);
  return out.sort();
}

/** SQL for the `findings` view: every findings object (union by name, hive partitions), or an empty typed relation. */
export function findingsViewSql(lakeDir: string): string {
  const files = listFindingsObjects(lakeDir);
  if (files.length === 0) {
    const cols = [...FINDINGS_COLUMNS.map((c) => `NULL::${c.type} AS ${quoteIdent(c.name)}`), ...FINDINGS_PARTITION_COLUMNS.map((c) => `NULL::VARCHAR AS ${quoteIdent(c)}`)];
    return `SELECT ${cols.join(', ')} WHERE false`;
  }
  return (
    `SELECT * FROM read_parquet([${files.map(quoteString).join(', ')}], union_by_name = true, hive_partitioning = true, ` +
    `hive_types = {'region': VARCHAR, 'accountId': VARCHAR, 'eventDay': VARCHAR})`
  );
}
