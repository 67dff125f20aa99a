/**
 * Findings in the lake: a custom source like any other. One OCSF Parquet object per scored source object and
 * findings class (Detection Finding 2004 -> `ext/seclake_findings/`, Incident Finding 2005 -> `ext/seclake_incidents/`:
 * one class per source, as Security Lake asks of custom sources),
 *
 *   ext/seclake_findings/2.0/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/<sha256(source object)[0..32]>.parquet
 *
 * named after the source object, so re-processing an object rewrites the same key (with the same rows, since
 * findings are deterministic) and never adds a duplicate. The rows are the findings' own OCSF columns (`class_uid`,
 * `category_uid`, `type_uid`, `metadata`, `finding_info`, `evidences`, `resources`, `observables`, `unmapped` as
 * MAP(VARCHAR, VARCHAR) with dotted keys, ...), written by the lake's OCSF-to-Parquet code (src/lake/events-file.ts,
 * shape.ts), sorted by (time, uid), plus `raw_data`: the finding as emitted, JSON text, for an exact round trip.
 *
 * Objects are published through the catalog as derived objects (`derived_from` = the source object): the local
 * catalog or the S3 one, once per key however often the key is rewritten (src/lake/catalog.ts publishDerived). The
 * flat `findings` view over them is src/findings/view.ts.
 *
 * Findings objects written before this format (flat tables under `ext/seclake_findings/1.0/`, not catalogued) are
 * "legacy": the view still reads them, and `migrateLegacyFindings` (`seclake findings migrate`) rewrites each as
 * the OCSF object at the 2.0 key and catalogs it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LakeError } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import { makeOwnedDir } from '../core/owned-dir.js';
import { hasDerived, publishDerived, readObjects, type DerivedObject } from '../lake/catalog.js';
import { Duck, quoteString } from '../lake/duckdb.js';
import { writeEventsParquet } from '../lake/events-file.js';
import { resolveInLake } from '../lake/layout.js';
import type { LakeStore } from '../lake/store.js';
import {
  DEFAULT_FINDINGS_CLASS,
  FINDINGS_PREFIX,
  LEGACY_FINDINGS_PREFIX,
  findingsKeyForClass,
  findingsSourceName,
  isFindingsSource,
  legacyTargetKey,
  listLegacyFindingsObjects,
  parseFindingsKey,
  findingsClassInfo,
} from './keys.js';
import type { DetectionFinding } from './types.js';
// Registers the flat `findings` view with the lake's views (src/findings/view.ts).
import './view.js';
// Registers the `incidents` and `incident_revisions` views (src/findings/incidents-view.ts).
import './incidents-view.js';

/**
 * A finding of any class seclake stores (Detection Finding 2004, Incident Finding 2005): OCSF JSON with its class and a
 * uid (`finding_info.uid`, else `metadata.uid`).
 */
export type StoredFinding = Record<string, unknown> & { class_uid: number };

export {
  DEFAULT_FINDINGS_CLASS,
  FINDINGS_CLASSES,
  FINDINGS_PREFIX,
  FINDINGS_SOURCE,
  FINDINGS_SOURCE_NAMES,
  FINDINGS_VERSION,
  LEGACY_FINDINGS_PREFIX,
  findingsKeyForClass,
  findingsObjectKey,
  findingsPrefix,
  findingsSourceName,
  isFindingsSource,
  legacyTargetKey,
  listLegacyFindingsObjects,
  parseFindingsKey,
} from './keys.js';
export type { FindingsPartition } from './keys.js';

/**
 * A minimal finding merged into every findings object's shape (never written): the columns and struct fields the
 * flat `findings` view reads exist in every object, so the view's SQL binds over any set of objects.
 */
const SEED: Record<string, unknown> = {
  time: 0,
  class_uid: 0,
  category_uid: 0,
  type_uid: 0,
  activity_id: 0,
  severity_id: 0,
  severity: '',
  message: '',
  count: 0,
  confidence_score: 0,
  finding_info: { uid: '', title: '', first_seen_time: 0, last_seen_time: 0, analytic: { name: '', version: '' } },
  metadata: { uid: '', correlation_uid: '' },
  unmapped: { seed: '' },
  raw_data: '',
};

/** The seed of Incident Finding objects (2005 has no finding_info: the `incidents` view reads these). */
const INCIDENT_SEED: Record<string, unknown> = {
  time: 0,
  start_time: 0,
  end_time: 0,
  class_uid: 2005,
  category_uid: 0,
  type_uid: 0,
  activity_id: 0,
  severity_id: 0,
  severity: '',
  status_id: 0,
  status: '',
  message: '',
  count: 0,
  confidence_score: 0,
  metadata: { uid: '', correlation_uid: '' },
  unmapped: { seed: '' },
  raw_data: '',
};

function seedOf(classUid: number): Record<string, unknown> {
  return classUid === 2005 ? INCIDENT_SEED : { ...SEED, class_uid: classUid };
}

/** The row of a finding: the finding itself plus `raw_data`, its JSON text. */
export function findingEvent(f: StoredFinding): Record<string, unknown> {
  return { ...f, raw_data: JSON.stringify(f) };
}

/** A stored finding's uid: `finding_info.uid` (Detection Finding), else `metadata.uid` (an Incident Finding's revision). */
function uidOf(f: StoredFinding): string {
  const fi = f.finding_info as { uid?: unknown } | undefined;
  if (fi && typeof fi.uid === 'string') return fi.uid;
  const md = f.metadata as { uid?: unknown } | undefined;
  return md && typeof md.uid === 'string' ? md.uid : '';
}

function byTimeUid(a: StoredFinding, b: StoredFinding): number {
  const ta = Number(a.time);
  const tb = Number(b.time);
  if (ta !== tb) return ta - tb;
  const ua = uidOf(a);
  const ub = uidOf(b);
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

/** Findings grouped by class, in class order. */
export function findingsByClass<F extends StoredFinding>(findings: readonly F[]): Map<number, F[]> {
  const m = new Map<number, F[]>();
  for (const f of findings) {
    const c = Number(f.class_uid);
    findingsClassInfo(c);
    const list = m.get(c);
    if (list) list.push(f);
    else m.set(c, [f]);
  }
  return new Map([...m].sort((a, b) => a[0] - b[0]));
}

export interface WriteFindingsOptions {
  /** An open DuckDB to use (the monitor keeps one); by default one is opened and closed. */
  db?: Duck;
}

export interface WrittenFindings {
  /** Absolute path written (the first class's object when there are several). */
  file: string;
  rows: number;
  bytes: number;
  /** Every object written: lake-relative key (or the file, for writeFindingsParquet) and rows. */
  objects?: { key: string; rows: number; bytes: number; added?: boolean }[];
}

/**
 * Write findings of one class to an OCSF zstd Parquet file at `localFile` (temporary file in the same directory,
 * fsync, rename). Rows sorted by (time, uid). Zero findings give a valid file with the seed columns.
 */
export async function writeFindingsParquet(
  findings: readonly StoredFinding[],
  localFile: string,
  opts: WriteFindingsOptions & { classUid?: number } = {},
): Promise<WrittenFindings & { timeMin: number; timeMax: number }> {
  const classUid = opts.classUid ?? (findings.length > 0 ? Number(findings[0]!.class_uid) : DEFAULT_FINDINGS_CLASS);
  findingsClassInfo(classUid);
  const other = findings.find((f) => Number(f.class_uid) !== classUid);
  if (other) throw new LakeError(`one findings object holds one class: ${classUid} and ${String(other.class_uid)} given (use publishFindings)`);
  const sorted = [...findings].sort(byTimeUid);
  // Fresh copies (parsed back from the JSON that becomes raw_data): the writer may rewrite them in place.
  const events = sorted.map((f) => {
    const json = JSON.stringify(f);
    const e = JSON.parse(json) as Record<string, unknown>;
    e.raw_data = json;
    return e;
  });
  const w = await writeEventsParquet(events, localFile, { classUid, owned: true, seed: [seedOf(classUid)], ...(opts.db ? { db: opts.db } : {}) });
  return { file: w.file, rows: w.rows, bytes: w.bytes, timeMin: w.timeMin, timeMax: w.timeMax };
}

/** What the catalog records of a findings object. */
export function findingsObjectMeta(key: string, findings: readonly StoredFinding[], derivedFrom?: string): DerivedObject {
  const p = parseFindingsKey(key);
  if (!p) throw new LakeError(`not a findings object key: ${JSON.stringify(key)}`);
  let tmin = Infinity;
  let tmax = -Infinity;
  for (const f of findings) {
    const t = Number(f.time);
    if (Number.isFinite(t)) {
      tmin = Math.min(tmin, t);
      tmax = Math.max(tmax, t);
    }
  }
  const u = findings[0]?.unmapped as Record<string, unknown> | undefined;
  const from = derivedFrom ?? (typeof u?.source_object === 'string' ? u.source_object : key);
  return {
    path: key,
    source: findingsSourceName(p.classUid),
    source_type: 'ocsf',
    class_uid: p.classUid,
    region: p.region,
    account_id: p.accountId,
    event_day: p.eventDay,
    rows: findings.length,
    time_min: Number.isFinite(tmin) ? tmin : 0,
    time_max: Number.isFinite(tmax) ? tmax : 0,
    derived_from: from,
  };
}

function checkKey(key: string): void {
  if (!parseFindingsKey(key)) throw new LakeError(`not a findings object key: ${JSON.stringify(key)} (expected ${FINDINGS_PREFIX}/region=.../<hash>.parquet)`);
}

/**
 * Publish findings into a local lake at `key` (from findingsObjectKey; findings of other classes go to the same
 * source object's key of their class): each object is written next to its key, then moved there and catalogued
 * once under the lake lock (catalog.publishDerived). Returns null and writes nothing when there are no findings (an
 * existing object at the key is left alone: findings are never deleted).
 */
export async function publishFindings(lakeDir: string, key: string, findings: readonly StoredFinding[], opts: WriteFindingsOptions = {}): Promise<WrittenFindings | null> {
  checkKey(key);
  resolveInLake(lakeDir, key);
  if (findings.length === 0) return null;
  const objects: NonNullable<WrittenFindings['objects']> = [];
  let first: WrittenFindings | undefined;
  for (const [cls, group] of findingsByClass(findings)) {
    const k = findingsKeyForClass(key, cls);
    const dest = resolveInLake(lakeDir, k);
    const ready = path.join(path.dirname(dest), `.${path.basename(dest)}.ready-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const w = await writeFindingsParquet(group, ready, { ...opts, classUid: cls });
      const pub = await publishDerived(lakeDir, findingsObjectMeta(k, group), ready);
      objects.push({ key: k, rows: w.rows, bytes: w.bytes, added: pub.added });
      first ??= { file: dest, rows: w.rows, bytes: w.bytes };
      faultPoint('findings-after-object');
    } finally {
      rmSync(ready, { force: true });
    }
  }
  return { ...first!, objects };
}

/**
 * Publish findings into any lake store (S3 or local) at `key`: written to a temporary directory, then
 * `store.publishDerived` (upload, catalogued once). Returns the objects written (none for no findings).
 */
export async function publishFindingsToStore(
  store: Pick<LakeStore, 'publishDerived'>,
  key: string,
  findings: readonly StoredFinding[],
  opts: WriteFindingsOptions & { tmpDir?: string; derivedFrom?: string } = {},
): Promise<NonNullable<WrittenFindings['objects']>> {
  checkKey(key);
  if (findings.length === 0) return [];
  // Named after this process: one left by a monitor killed mid-write is removed by the next (core/owned-dir.ts).
  const dir = makeOwnedDir(opts.tmpDir ?? tmpdir(), 'seclake-findings-');
  const out: NonNullable<WrittenFindings['objects']> = [];
  try {
    for (const [cls, group] of findingsByClass(findings)) {
      const k = findingsKeyForClass(key, cls);
      const file = path.join(dir, `${cls}.parquet`);
      const w = await writeFindingsParquet(group, file, { ...(opts.db ? { db: opts.db } : {}), classUid: cls });
      const pub = await store.publishDerived(findingsObjectMeta(k, group, opts.derivedFrom), file);
      out.push({ key: k, rows: w.rows, bytes: w.bytes, added: pub.added });
      faultPoint('findings-after-object');
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Absolute paths of every catalogued findings object of a local lake, sorted. */
export function listFindingsObjects(lakeDir: string): string[] {
  return readObjects(lakeDir)
    .filter((o) => isFindingsSource(o.source))
    .map((o) => resolveInLake(lakeDir, o.path))
    .sort();
}

// ---- legacy (flat, uncatalogued) findings objects ------------------------------------------------------------

/** The findings of a legacy object (its `finding` column, JSON). */
export async function readLegacyFindings(file: string, db?: Duck): Promise<DetectionFinding[]> {
  const d = db ?? (await Duck.open({ threads: 1 }));
  try {
    const rows = await d.all(`SELECT finding FROM read_parquet(${quoteString(file)})`);
    return rows.map((r) => JSON.parse(String(r.finding)) as DetectionFinding);
  } catch (err) {
    throw new LakeError(`${file} is not a legacy findings object (no readable \`finding\` column)`, { cause: err });
  } finally {
    if (!db) d.close();
  }
}

export interface MigrateResult {
  /** Legacy objects found. */
  legacy: number;
  /** Converted and catalogued. */
  migrated: number;
  /** Already catalogued at the new key (the source object was scored again since): only the legacy object removed. */
  superseded: number;
  findings: number;
}

/**
 * Convert every legacy findings object of a lake (a local directory or a LakeStore, e.g. S3) to an OCSF findings
 * object at its 2.0 key, catalogued, then remove the legacy object. Idempotent and safe to interrupt: a legacy
 * object is removed only after its replacement is catalogued.
 */
export async function migrateLegacyFindings(
  lake: string | LakeStore,
  opts: { tmpDir?: string; dryRun?: boolean; onObject?: (legacyKey: string, targetKey: string, findings: number) => void } = {},
): Promise<MigrateResult> {
  const res: MigrateResult = { legacy: 0, migrated: 0, superseded: 0, findings: 0 };
  const db = await Duck.open({ threads: 1 });
  try {
    if (typeof lake === 'string') {
      for (const legacy of listLegacyFindingsObjects(lake)) {
        res.legacy++;
        const target = legacyTargetKey(legacy);
        const file = resolveInLake(lake, legacy);
        if (hasDerived(lake, target)) {
          res.superseded++;
          if (!opts.dryRun) rmSync(file, { force: true });
          continue;
        }
        const findings = await readLegacyFindings(file, db);
        opts.onObject?.(legacy, target, findings.length);
        if (opts.dryRun) continue;
        await publishFindings(lake, target, findings, { db });
        rmSync(file, { force: true });
        res.migrated++;
        res.findings += findings.length;
      }
      return res;
    }
    const catalogued = new Set((await lake.listCatalog(0)).map((o) => o.path));
    const root = opts.tmpDir ?? tmpdir();
    mkdirSync(root, { recursive: true });
    for (const { key: legacy } of await lake.listKeys(`${LEGACY_FINDINGS_PREFIX}/`)) {
      if (!legacy.endsWith('.parquet') || path.posix.basename(legacy).startsWith('.')) continue;
      res.legacy++;
      const target = legacyTargetKey(legacy);
      if (catalogued.has(target)) {
        res.superseded++;
        if (!opts.dryRun) await lake.deleteObject(legacy);
        continue;
      }
      const dir = mkdtempSync(path.join(root, 'seclake-migrate-'));
      try {
        const local = path.join(dir, 'legacy.parquet');
        await lake.getObjectToFile(legacy, local);
        const findings = await readLegacyFindings(local, db);
        opts.onObject?.(legacy, target, findings.length);
        if (opts.dryRun) continue;
        await publishFindingsToStore(lake, target, findings, { db, tmpDir: dir });
        await lake.deleteObject(legacy);
        res.migrated++;
        res.findings += findings.length;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    return res;
  } finally {
    db.close();
  }
}
