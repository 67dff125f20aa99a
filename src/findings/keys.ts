/**
 * Names and keys of findings objects (see src/findings/lake.ts): which custom source each findings class is stored as,
 * the deterministic key of a source object's findings, and the legacy (flat, uncatalogued) objects' keys. No I/O
 * beyond listing a local directory; shared by the writer (lake.ts) and the `findings` view (view.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { LakeError } from '../core/errors.js';
import { SOURCE_VERSION, safeSegment } from '../lake/layout.js';

/** Findings classes and the custom source each is stored as. */
export const FINDINGS_CLASSES: Readonly<Record<number, { source: string; name: string }>> = {
  2004: { source: 'seclake_findings', name: 'Detection Finding' },
  2005: { source: 'seclake_incidents', name: 'Incident Finding' },
};
export const DEFAULT_FINDINGS_CLASS = 2004;
export const FINDINGS_SOURCE = FINDINGS_CLASSES[DEFAULT_FINDINGS_CLASS]!.source;
export const FINDINGS_VERSION = SOURCE_VERSION;
/** Lake-relative prefix of every Detection Finding object. */
export const FINDINGS_PREFIX = `ext/${FINDINGS_SOURCE}/${FINDINGS_VERSION}`;
/** Where findings objects of the flat, uncatalogued format were written (see migrateLegacyFindings). */
export const LEGACY_FINDINGS_PREFIX = `ext/${FINDINGS_SOURCE}/1.0`;

export function findingsClassInfo(classUid: number): { source: string; name: string } {
  const c = FINDINGS_CLASSES[classUid];
  if (!c) throw new LakeError(`class ${classUid} is not a findings class seclake stores (known: ${Object.keys(FINDINGS_CLASSES).join(', ')})`);
  return c;
}

/** The lake source name (catalog `source`) of a findings class: `EXT_seclake_findings`. */
export function findingsSourceName(classUid = DEFAULT_FINDINGS_CLASS): `EXT_${string}` {
  return `EXT_${findingsClassInfo(classUid).source}`;
}

/** Lake-relative prefix of a findings class: `ext/seclake_findings/2.0`. */
export function findingsPrefix(classUid = DEFAULT_FINDINGS_CLASS): string {
  return `ext/${findingsClassInfo(classUid).source}/${FINDINGS_VERSION}`;
}

/** Catalog source names of every findings class. */
export const FINDINGS_SOURCE_NAMES: readonly string[] = Object.keys(FINDINGS_CLASSES).map((c) => findingsSourceName(Number(c)));

export interface FindingsPartition {
  region: string;
  accountId: string;
  /** YYYYMMDD (UTC). */
  eventDay: string;
}

/** Lake-relative key of the findings object of one source object (and class; see the module comment). */
export function findingsObjectKey(sourceObject: string, part: FindingsPartition, classUid = DEFAULT_FINDINGS_CLASS): string {
  const hash = createHash('sha256').update(sourceObject).digest('hex').slice(0, 32);
  return [
    findingsPrefix(classUid),
    `region=${safeSegment(part.region)}`,
    `accountId=${safeSegment(part.accountId)}`,
    `eventDay=${safeSegment(part.eventDay)}`,
    `${hash}.parquet`,
  ].join('/');
}

const KEY_RE = /^ext\/([a-z0-9_]+)\/(\d+\.\d+)\/region=([^/]+)\/accountId=([^/]+)\/eventDay=([^/]+)\/([0-9a-f]{32})\.parquet$/;

/** The class and partition of a findings object key; undefined when `key` is not one. */
export function parseFindingsKey(key: string): ({ classUid: number } & FindingsPartition) | undefined {
  const m = KEY_RE.exec(key);
  if (!m || m[2] !== FINDINGS_VERSION) return undefined;
  const cls = Object.entries(FINDINGS_CLASSES).find(([, c]) => c.source === m[1]);
  if (!cls) return undefined;
  return { classUid: Number(cls[0]), region: m[3]!, accountId: m[4]!, eventDay: m[5]! };
}

/** The key of the same source object's findings of another class (same partition and name). */
export function findingsKeyForClass(key: string, classUid: number): string {
  const p = parseFindingsKey(key);
  if (!p) throw new LakeError(`not a findings object key: ${JSON.stringify(key)} (expected ${FINDINGS_PREFIX}/region=.../<hash>.parquet)`);
  if (p.classUid === classUid) return key;
  return `${findingsPrefix(classUid)}/${key.slice(findingsPrefix(p.classUid).length + 1)}`;
}

/**
 * Whether a catalog source name is the Detection Findings source (`EXT_seclake_findings`): the objects the flat
 * `findings` view reads. Incident Findings (`EXT_seclake_incidents`) have views of their own (incidents-view.ts).
 */
export function isFindingsSource(source: string): boolean {
  return source === findingsSourceName(DEFAULT_FINDINGS_CLASS);
}

/** Whether a catalog source name is the source of any findings class seclake stores (detections, incidents). */
export function isAnyFindingsSource(source: string): boolean {
  return FINDINGS_SOURCE_NAMES.includes(source);
}

// ---- legacy (flat, uncatalogued) findings objects ------------------------------------------------------------

/** Lake-relative keys of legacy findings objects in a local lake directory, sorted (temporary files excluded). */
export function listLegacyFindingsObjects(lakeDir: string): string[] {
  const root = path.join(path.resolve(lakeDir), ...LEGACY_FINDINGS_PREFIX.split('/'));
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) walk(path.join(dir, e.name), `${rel}/${e.name}`);
      else if (e.isFile() && e.name.endsWith('.parquet')) out.push(`${rel}/${e.name}`);
    }
  };
  if (existsSync(root)) walk(root, LEGACY_FINDINGS_PREFIX);
  return out.sort();
}

/** The OCSF (2.0) key a legacy findings object migrates to: same partition and name. */
export function legacyTargetKey(legacyKey: string): string {
  if (!legacyKey.startsWith(`${LEGACY_FINDINGS_PREFIX}/`)) throw new LakeError(`not a legacy findings object key: ${JSON.stringify(legacyKey)}`);
  return `${FINDINGS_PREFIX}/${legacyKey.slice(LEGACY_FINDINGS_PREFIX.length + 1)}`;
}
