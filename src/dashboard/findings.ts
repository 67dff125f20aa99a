/**
 * Findings as the dashboard reads them: OCSF Detection Findings (2004) from the lake's findings view, newest first,
 * each reduced to what the list shows (severity, entity, IP, score, percentile, explanation, source reference), and
 * the source event a finding points at (object + row, read from the lake only when the catalog lists that object).
 *
 * The findings view holds the whole finding as JSON (the column named below) next to flat columns; this module reads
 * the fields from the JSON (`unmapped` carries entity, ip, dot_product, anomaly_percentile, source_object/source_row
 * and the model, see src/findings/build.ts), so it depends on nothing but the OCSF object itself.
 */
import { errorMessage } from '../core/errors.js';
import { FINDINGS_VIEW } from '../findings/view.js';
import { readObjects } from '../lake/catalog.js';
import { quoteIdent, quoteString, type Row } from '../lake/duckdb.js';
import { resolveInLake } from '../lake/layout.js';
import type { LabelRecord } from './labels.js';
import type { LakeReader } from './reader.js';

/** OCSF Incident Finding: catalogued like detection findings, listed on the incidents pages instead. */
const INCIDENT_CLASS = 2005;

/** The view the catalogued findings objects are read through (src/findings/view.ts). */
export { FINDINGS_VIEW };

export interface FindingSummary {
  uid: string;
  time: number | null;
  severity_id: number | null;
  severity: string | null;
  title: string;
  kind: string | null;
  entity: string;
  ip: string;
  dot_product: number | null;
  percentile: number | null;
  threshold: number | null;
  explanation: string;
  model: string | null;
  model_version: string | null;
  source_object: string | null;
  source_row: number | null;
  count: number | null;
  label: LabelRecord['label'] | null;
  /** The suppression that silenced the finding (status Suppressed), else null. */
  suppressed_by: string | null;
}

export interface FindingFilter {
  /** Lowest severity_id shown. */
  minSeverity?: number;
  /** Substring of entity, IP or title (case-insensitive). */
  text?: string;
  /** unlabelled | true_positive | false_positive */
  label?: string;
  limit?: number;
  /** Findings of one model version only. */
  modelVersion?: string;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A column value as a finite number (numbers, bigints, numeric text), else null. */
export function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

/** A column value as text (strings, numbers, bigints), else null. */
export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : null;
}

/** Parses the finding JSON (text or already an object). */
export function parseFinding(raw: unknown): Record<string, unknown> | undefined {
  if (isObj(raw)) return raw;
  if (typeof raw !== 'string') return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    return isObj(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The list's view of one OCSF Detection Finding (pure). */
export function summarize(f: Record<string, unknown>, labels?: ReadonlyMap<string, LabelRecord>): FindingSummary {
  const info = isObj(f.finding_info) ? f.finding_info : {};
  const u = isObj(f.unmapped) ? f.unmapped : {};
  const model = isObj(u.model) ? u.model : {};
  const analytic = isObj(info.analytic) ? info.analytic : {};
  const evidence = Array.isArray(f.evidences) && isObj(f.evidences[0]) ? f.evidences[0] : {};
  const evData = isObj(evidence.data) ? evidence.data : {};
  const resource = Array.isArray(f.resources) && isObj(f.resources[0]) ? f.resources[0] : {};
  const uid = str(info.uid) ?? str(isObj(f.metadata) ? f.metadata.uid : undefined) ?? '';
  return {
    uid,
    time: num(f.time),
    severity_id: num(f.severity_id),
    severity: str(f.severity),
    title: str(info.title) ?? '',
    kind: str(u.kind),
    entity: str(u.entity) ?? str(resource.uid) ?? '',
    ip: str(u.ip) ?? '',
    dot_product: num(u.dot_product),
    percentile: num(u.anomaly_percentile),
    threshold: num(u.threshold),
    explanation: str(f.message) ?? str(info.desc) ?? '',
    model: str(model.name) ?? str(analytic.name),
    model_version: str(model.version) ?? str(analytic.version),
    source_object: str(u.source_object) ?? str(evData.source_object),
    source_row: num(u.source_row) ?? num(evData.source_row),
    count: num(f.count),
    label: labels?.get(uid)?.label ?? null,
    suppressed_by: num(f.status_id) === 3 ? (str(u.suppressed_by) ?? '') : null,
  };
}

/** Whether the lake has any findings objects (the view is an empty typed relation otherwise). */
async function hasFindings(reader: LakeReader): Promise<boolean> {
  return reader.use(async (_db, views) => (views[FINDINGS_VIEW] ?? 0) > 0);
}

/**
 * Newest findings first, filtered on the view's flat columns (time, severity_id, entity, ip, title, model_version);
 * each summarised from its full JSON (`finding`), with its current label.
 */
export async function listFindings(reader: LakeReader, labels: ReadonlyMap<string, LabelRecord>, filter: FindingFilter = {}): Promise<FindingSummary[]> {
  if (!(await hasFindings(reader))) return [];
  const limit = Math.max(1, Math.min(5000, Math.floor(filter.limit ?? 200)));
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.minSeverity !== undefined && filter.minSeverity > 0) {
    params.push(filter.minSeverity);
    where.push(`severity_id >= $${params.length}`);
  }
  if (filter.text) {
    params.push(`%${filter.text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const p = `$${params.length}`;
    where.push(`(lower(coalesce(entity, '')) LIKE ${p} ESCAPE '\\' OR lower(coalesce(ip, '')) LIKE ${p} ESCAPE '\\' OR lower(coalesce(title, '')) LIKE ${p} ESCAPE '\\')`);
  }
  if (filter.modelVersion) {
    params.push(filter.modelVersion);
    where.push(`model_version = $${params.length}`);
  }
  // Label filters need the label store, so they are applied after the query, on a larger window.
  // Detection findings only: incidents (2005) are catalogued findings objects too, shown on their own pages.
  where.push(`class_uid IS DISTINCT FROM ${INCIDENT_CLASS}`);
  const labelFilter = filter.label;
  if (labelFilter === 'true_positive' || labelFilter === 'false_positive') {
    const uids = [...labels.values()].filter((l) => l.label === labelFilter).map((l) => l.finding_uid);
    if (uids.length === 0) return [];
    params.push(...uids);
    where.push(`uid IN (${uids.map((_u, i) => `$${params.length - uids.length + i + 1}`).join(', ')})`);
  }
  const fetch = labelFilter === 'unlabelled' ? Math.min(50_000, limit + labels.size) : limit;
  const sql =
    `SELECT finding FROM ${quoteIdent(FINDINGS_VIEW)}` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY time DESC NULLS LAST, uid LIMIT ${fetch}`;
  const rows = await reader.all(sql, params);
  const out: FindingSummary[] = [];
  for (const r of rows) {
    const f = parseFinding(r.finding);
    if (!f) continue;
    const s = summarize(f, labels);
    if (labelFilter === 'unlabelled' && s.label !== null) continue;
    out.push(s);
    if (out.length >= limit) break;
  }
  return out;
}

/** Number of findings in the lake. */
export async function countFindings(reader: LakeReader): Promise<number> {
  if (!(await hasFindings(reader))) return 0;
  const rows = await reader.all(`SELECT count(*)::BIGINT AS n FROM ${quoteIdent(FINDINGS_VIEW)} WHERE class_uid IS DISTINCT FROM ${INCIDENT_CLASS}`);
  return Number(rows[0]?.n ?? 0);
}

/** Native scores (dot_product for IP Insights) of the anomaly findings of one model version (for the histogram), at most `limit`. */
export async function findingScores(reader: LakeReader, modelVersion: string, limit = 5000): Promise<number[]> {
  if (!(await hasFindings(reader))) return [];
  const rows = await reader.all(
    `SELECT native_score AS s FROM ${quoteIdent(FINDINGS_VIEW)} WHERE model_version = $1 AND kind IS DISTINCT FROM 'new_entity' AND native_score IS NOT NULL ` +
      `ORDER BY time DESC LIMIT ${Math.floor(limit)}`,
    [modelVersion],
  );
  return rows.map((r) => num(r.s)).filter((x): x is number => x !== null);
}

/** One finding by uid (the full OCSF object), or undefined. */
export async function getFinding(reader: LakeReader, uid: string): Promise<Record<string, unknown> | undefined> {
  if (!(await hasFindings(reader))) return undefined;
  const rows = await reader.all(`SELECT finding FROM ${quoteIdent(FINDINGS_VIEW)} WHERE uid = $1 AND class_uid IS DISTINCT FROM ${INCIDENT_CLASS} LIMIT 1`, [uid]);
  return rows.length > 0 ? parseFinding(rows[0]!.finding) : undefined;
}

/** Several findings by uid (the OCSF object and its summary, with its label when given), keyed by uid; unknown uids are absent. */
export async function getFindings(
  reader: LakeReader,
  uids: readonly string[],
  labels?: ReadonlyMap<string, LabelRecord>,
): Promise<Map<string, { finding: Record<string, unknown>; summary: FindingSummary }>> {
  const out = new Map<string, { finding: Record<string, unknown>; summary: FindingSummary }>();
  if (uids.length === 0 || !(await hasFindings(reader))) return out;
  for (let i = 0; i < uids.length; i += 500) {
    const chunk = uids.slice(i, i + 500);
    const rows = await reader.all(
      `SELECT finding FROM ${quoteIdent(FINDINGS_VIEW)} WHERE uid IN (${chunk.map((_u, k) => `$${k + 1}`).join(', ')}) AND class_uid IS DISTINCT FROM ${INCIDENT_CLASS}`,
      chunk,
    );
    for (const r of rows) {
      const f = parseFinding(r.finding);
      if (!f) continue;
      const s = summarize(f, labels);
      if (!out.has(s.uid)) out.set(s.uid, { finding: f, summary: s });
    }
  }
  return out;
}

export type SourceEvent =
  | { status: 'found'; object: string; row: number; event: Row }
  | { status: 'unavailable'; object: string | null; row: number | null; reason: string };

/**
 * The event a finding was raised on: row `row` (0-based, Parquet order) of `object`. Only objects the catalog lists
 * are read (a finding's reference is data; it must not name arbitrary files).
 */
export async function sourceEvent(reader: LakeReader, object: string | null, row: number | null): Promise<SourceEvent> {
  if (object === null || row === null || !Number.isInteger(row) || row < 0) {
    return { status: 'unavailable', object, row, reason: 'the finding names no source object and row' };
  }
  if (object.startsWith('s3://')) return { status: 'unavailable', object, row, reason: 'the source object is in S3; this dashboard reads the local lake only' };
  const listed = readObjects(reader.lakeDir).some((o) => o.path === object);
  if (!listed) return { status: 'unavailable', object, row, reason: 'the source object is not in this lake’s catalog' };
  let file: string;
  try {
    file = resolveInLake(reader.lakeDir, object);
  } catch {
    return { status: 'unavailable', object, row, reason: 'the source object path leaves the lake' };
  }
  let rows: Row[];
  try {
    rows = await reader.all(`SELECT * EXCLUDE (file_row_number) FROM read_parquet(${quoteString(file)}, file_row_number = true) WHERE file_row_number = $1`, [row]);
  } catch (err) {
    return { status: 'unavailable', object, row, reason: `the source object cannot be read (${errorMessage(err).replace(/^SQL failed: /, '').slice(0, 300)})` };
  }
  if (rows.length === 0) return { status: 'unavailable', object, row, reason: `the source object has no row ${row}` };
  return { status: 'found', object, row, event: evidenceFirst(stripNulls(rows[0]!) as Row) };
}

/** What an analyst looks at first (the pair's endpoints and the traffic) goes to the top of the event. */
const FIRST_KEYS = ['time', 'class_name', 'activity_name', 'src_endpoint', 'dst_endpoint', 'connection_info', 'traffic', 'query', 'actor', 'api', 'action', 'disposition'];

export function evidenceFirst(event: Row): Row {
  const out: Row = {};
  for (const k of FIRST_KEYS) if (k in event) out[k] = event[k];
  for (const [k, v] of Object.entries(event)) if (!(k in out)) out[k] = v;
  return out;
}

/** Drops null fields (OCSF rows are wide and mostly empty) so the event reads well. */
export function stripNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripNulls);
  if (isObj(v) && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === null || x === undefined) continue;
      const c = stripNulls(x);
      if (isObj(c) && Object.getPrototypeOf(c) === Object.prototype && Object.keys(c).length === 0) continue;
      out[k] = c;
    }
    return out;
  }
  return v;
}
