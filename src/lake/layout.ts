/**
 * Where things live in a lake. The layout mirrors Amazon Security Lake (source version 2):
 *
 *   <lake>/aws/<SOURCE>/2.0/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/<object>.parquet
 *   <lake>/ext/<name>/2.0/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/<object>.parquet
 *   <lake>/_seclake/catalog/objects.jsonl   every published object, in publish order (seq)
 *   <lake>/_seclake/catalog/inputs.jsonl    every fully ingested input (content hash, counts)
 *   <lake>/_seclake/quarantine/<input-hash>.jsonl   rejected records of that input, with reasons
 *   <lake>/_seclake/staging/                in-progress writes; never read by queries
 *
 * Object names are derived from the input's content hash, so re-ingesting after a crash rewrites the
 * same objects instead of adding copies.
 */
import path from 'node:path';
import { LakeError } from '../core/errors.js';
import type { LakeSourceName } from '../core/events.js';

export const SOURCE_VERSION = '2.0';
export const META_DIR = '_seclake';
export const DEFAULT_LAKE = './seclake-data';

/** Lake directory from a flag, then `SECLAKE_LAKE`, then the default. */
export function resolveLakeDir(flag?: string): string {
  return path.resolve(flag ?? process.env.SECLAKE_LAKE ?? DEFAULT_LAKE);
}

export interface PartitionKey {
  source: LakeSourceName;
  classUid: number;
  region: string;
  accountId: string;
  /** YYYYMMDD (UTC). */
  eventDay: string;
}

const SAFE_SEGMENT = /^[A-Za-z0-9_.+-]{1,128}$/;

/** Partition values come from log content: keep them to a safe alphabet so they can never escape the lake. */
export function safeSegment(value: string, fallback = 'unknown'): string {
  if (!value) return fallback;
  if (SAFE_SEGMENT.test(value) && value !== '.' && value !== '..') return value;
  const cleaned = value.replace(/[^A-Za-z0-9_.+-]/g, '_').slice(0, 128);
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? fallback : cleaned;
}

/** `aws/VPC_FLOW` or `ext/<name>` (custom sources are written `EXT_<name>`). */
export function sourcePrefix(source: LakeSourceName): string {
  if (source.startsWith('EXT_')) return `ext/${safeSegment(source.slice(4).toLowerCase())}`;
  return `aws/${source}`;
}

/** Relative (POSIX) directory of a partition. */
export function partitionDir(key: PartitionKey): string {
  return [
    sourcePrefix(key.source),
    SOURCE_VERSION,
    `region=${safeSegment(key.region)}`,
    `accountId=${safeSegment(key.accountId)}`,
    `eventDay=${safeSegment(key.eventDay)}`,
  ].join('/');
}

export function eventDayOf(timeMs: number): string {
  const d = new Date(timeMs);
  if (Number.isNaN(d.getTime())) return 'unknown';
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

/** Resolve a lake-relative path, refusing anything that would leave the lake. */
export function resolveInLake(lakeDir: string, rel: string): string {
  if (rel.includes('\0')) throw new LakeError(`invalid path in lake: ${JSON.stringify(rel)}`);
  const full = path.resolve(lakeDir, rel);
  const root = path.resolve(lakeDir);
  if (full !== root && !full.startsWith(root + path.sep)) {
    throw new LakeError(`path escapes the lake: ${JSON.stringify(rel)}`);
  }
  return full;
}

/** Short view names, one per source/class, as used in docs and the reference solution. */
export interface ViewDef {
  name: string;
  sources: LakeSourceName[];
  classUids?: number[];
  glueSource?: string;
}

export const SHORT_VIEWS: ViewDef[] = [
  { name: 'vpc_flow', sources: ['VPC_FLOW'], glueSource: 'vpc_flow' },
  { name: 'route53', sources: ['ROUTE53'], glueSource: 'route53' },
  { name: 'cloudtrail_api', sources: ['CLOUD_TRAIL_MGMT'], classUids: [6003] },
  { name: 'cloudtrail_auth', sources: ['CLOUD_TRAIL_MGMT'], classUids: [3002] },
  { name: 'cloudtrail_account', sources: ['CLOUD_TRAIL_MGMT'], classUids: [3001] },
  { name: 's3_data', sources: ['S3_DATA'], glueSource: 's3_data' },
  { name: 'lambda_execution', sources: ['LAMBDA_EXECUTION'], glueSource: 'lambda_execution' },
];

/** Glue table name Security Lake uses, e.g. amazon_security_lake_table_us_east_1_vpc_flow_2_0. */
export function glueTableName(region: string, source: LakeSourceName): string {
  const r = region.replace(/-/g, '_').toLowerCase();
  const s = source.startsWith('EXT_') ? `ext_${source.slice(4).toLowerCase()}` : source.toLowerCase();
  return `amazon_security_lake_table_${r}_${s}_${SOURCE_VERSION.replace('.', '_')}`;
}
