/**
 * Where the AWS-mode monitor puts its output: findings objects (one per source object, at the findings lake's key for
 * it), done records (one per processed object version) and quarantine records (messages moved aside when there is no
 * dead-letter queue). Either in S3 or in a local lake directory.
 *
 *   <lake>/ext/seclake_findings/2.0/region=/accountId=/eventDay=/<sha256(source)>.parquet    findings (src/findings/lake.ts)
 *   <lake>/_seclake/monitor/done/<sha256(bucket, key, etag)>.json                            done records
 *   <lake>/_seclake/monitor/quarantine/<YYYYMMDD>/<message id>.json                         quarantine records
 *
 * `<lake>` is `s3://bucket/prefix` or a directory. By default (no findings location configured) findings go next to
 * the source: the source object's bucket and the lake prefix in its key (the part before `aws/` or `ext/`).
 * Findings objects are OCSF Parquet published through that lake's catalog (S3 or local) like every other object,
 * once per key however often a source object is redelivered; the monitor skips its own findings objects when their
 * notifications come back (s3-object.ts defaultSkip).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LakeError, errorMessage } from '../../core/errors.js';
import { findingsObjectKey, publishFindings, publishFindingsToStore } from '../../findings/lake.js';
import type { DetectionFinding } from '../../findings/types.js';
import { META_DIR, resolveInLake } from '../../lake/layout.js';
import { S3Lake } from '../../lake/s3.js';
import { parseLakeKey, s3Uri, type LakeKeyInfo, type S3ObjectRef } from './notifications.js';
import { randomSuffix, type DoneRecord, type FindingsStore, type QuarantineRecord, type QuarantineStore } from './s3-object.js';
import { processTempDir } from './temp-dir.js';

export const DONE_DIR = `${META_DIR}/monitor/done`;
export const QUARANTINE_DIR = `${META_DIR}/monitor/quarantine`;

function partitionOf(info: LakeKeyInfo | undefined): { region: string; accountId: string; eventDay: string } {
  return { region: info?.region || 'unknown', accountId: info?.accountId || 'unknown', eventDay: info?.eventDay || 'unknown' };
}

/** A message id as a file name: kept when it is plain (SQS ids are UUIDs), else hashed. */
function safeId(id: string): string {
  return /^[A-Za-z0-9_-]{1,128}$/.test(id) ? id : createHash('sha256').update(id).digest('hex').slice(0, 32);
}

function day(iso: string): string {
  return iso.slice(0, 10).replaceAll('-', '');
}

/** Findings, done and quarantine records in S3: at a fixed `s3://bucket/prefix`, or next to each source object. */
export class S3FindingsStore implements FindingsStore, QuarantineStore {
  readonly location: string;
  private readonly lakes = new Map<string, S3Lake>();
  /**
   * @param fixed `s3://bucket/prefix` for all output; undefined = next to the source (its bucket and lake prefix).
   * @param tmpRoot where findings Parquet files are staged before upload (in this process's directory: temp-dir.ts).
   */
  constructor(
    private readonly s3: S3Client,
    private readonly fixed?: string,
    private readonly tmpRoot: string = tmpdir(),
  ) {
    this.location = fixed ?? '(next to each source object)';
    if (fixed) this.lakeAt(fixed);
  }

  private lakeAt(url: string): S3Lake {
    let lake = this.lakes.get(url);
    if (!lake) {
      lake = new S3Lake(url, {}, this.s3);
      this.lakes.set(url, lake);
    }
    return lake;
  }

  private lakeFor(source: S3ObjectRef, info: LakeKeyInfo | undefined): S3Lake {
    if (this.fixed) return this.lakeAt(this.fixed);
    return this.lakeAt(`s3://${source.bucket}${info?.prefix ? `/${info.prefix}` : ''}`);
  }

  async writeFindings(source: S3ObjectRef, info: LakeKeyInfo | undefined, findings: readonly DetectionFinding[]): Promise<string> {
    const lake = this.lakeFor(source, info);
    const key = findingsObjectKey(s3Uri(source), partitionOf(info));
    // Written locally, uploaded to the key and added to the lake's S3 catalog (once per key).
    // Staged in this process's temp directory (removed at exit; a killed process's is swept by the next one).
    const written = await publishFindingsToStore(lake, key, findings, { tmpDir: processTempDir(this.tmpRoot), derivedFrom: s3Uri(source) });
    return lake.objectUrl(written[0]?.key ?? key);
  }

  getDone(id: string, source: S3ObjectRef): Promise<DoneRecord | undefined> {
    return this.lakeFor(source, parseLakeKey(source.key)).getJson<DoneRecord>(`${DONE_DIR}/${id}.json`);
  }

  async putDone(id: string, source: S3ObjectRef, rec: DoneRecord): Promise<void> {
    await this.lakeFor(source, parseLakeKey(source.key)).putJson(`${DONE_DIR}/${id}.json`, rec);
  }

  async putQuarantine(rec: QuarantineRecord): Promise<string> {
    if (!this.fixed) throw new LakeError('no quarantine location: set a findings location (s3://...) or a dead-letter queue');
    const lake = this.lakeAt(this.fixed);
    const key = `${QUARANTINE_DIR}/${day(rec.quarantined_at)}/${safeId(rec.message_id)}.json`;
    await lake.putJson(key, rec);
    return lake.objectUrl(key);
  }
}

function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomSuffix()}`);
  try {
    writeFileSync(tmp, JSON.stringify(value) + '\n');
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new LakeError(`writing ${file} failed: ${errorMessage(err)}`, { cause: err });
  }
}

/** Findings, done and quarantine records in a local lake directory. */
export class LocalFindingsStore implements FindingsStore, QuarantineStore {
  readonly location: string;
  constructor(lakeDir: string) {
    this.location = path.resolve(lakeDir);
  }

  async writeFindings(source: S3ObjectRef, info: LakeKeyInfo | undefined, findings: readonly DetectionFinding[]): Promise<string> {
    const key = findingsObjectKey(s3Uri(source), partitionOf(info));
    const written = await publishFindings(this.location, key, findings);
    return written?.file ?? resolveInLake(this.location, key);
  }

  getDone(id: string): Promise<DoneRecord | undefined> {
    const file = resolveInLake(this.location, `${DONE_DIR}/${id}.json`);
    try {
      return Promise.resolve(JSON.parse(readFileSync(file, 'utf8')) as DoneRecord);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve(undefined);
      return Promise.reject(new LakeError(`reading ${file} failed: ${errorMessage(err)}`, { cause: err }));
    }
  }

  putDone(id: string, _source: S3ObjectRef, rec: DoneRecord): Promise<void> {
    writeJsonAtomic(resolveInLake(this.location, `${DONE_DIR}/${id}.json`), rec);
    return Promise.resolve();
  }

  putQuarantine(rec: QuarantineRecord): Promise<string> {
    const file = resolveInLake(this.location, `${QUARANTINE_DIR}/${day(rec.quarantined_at)}/${safeId(rec.message_id)}.json`);
    writeJsonAtomic(file, rec);
    return Promise.resolve(file);
  }
}
