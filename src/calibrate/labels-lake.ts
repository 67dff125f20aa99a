/**
 * What `seclake evaluate` reads from a lake: the `findings` view (every detector's Detection Findings) and, when the
 * lake has one, the `incidents` view (latest revision of each Incident Finding; columns of issue 14's contract B), as
 * the evaluation's FindingLike and IncidentLike.
 *
 * Columns that not every lake's views have yet (`p_value`, `status_id`) are read from the raw finding JSON when the
 * view lacks them. Suppressed findings (status_id 3) are returned apart: the evaluation leaves them out and counts
 * them.
 */
import { SeclakeError } from '../core/errors.js';
import { quoteIdent, type Duck, type Row } from '../lake/duckdb.js';
import { openLakeQuery } from '../lake/views.js';
import { SHORT_VIEWS } from '../lake/layout.js';
import type { LakeSourceName } from '../core/events.js';
import { incidentRevisionsView, incidentsView } from '../findings/incidents-view.js';
import { findingsSourceName } from '../findings/keys.js';
import { findingsView } from '../findings/view.js';
import type { FindingLike, IncidentLike } from './labels-eval.js';

/** OCSF status_id of a suppressed finding (feedback, issue 14 contract C). */
export const STATUS_SUPPRESSED = 3;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

async function columnsOf(db: Duck, view: string): Promise<Set<string>> {
  return new Set((await db.describe(`SELECT * FROM ${quoteIdent(view)}`)).map((c) => c.name));
}

/** Whether the connection has a table or view of this name. */
export async function hasRelation(db: Duck, name: string): Promise<boolean> {
  const rows = await db.all('SELECT count(*) AS n FROM information_schema.tables WHERE table_name = $1', [name]);
  return Number(rows[0]?.n ?? 0) > 0;
}

export interface LakeFindings {
  /** Findings that count (not suppressed). */
  findings: FindingLike[];
  /** Suppressed findings (status_id 3), left out. */
  suppressed: FindingLike[];
}

/**
 * Every finding of the `findings` view. A finding with an address is a pair finding at its event time; one without
 * is a window finding over its window (window_start/_end, else OCSF start_time/end_time, else first/last seen).
 * `viewOf`: the lake view of a pair finding's source object (sets FindingLike.view).
 */
export async function readLakeFindings(db: Duck, opts: { view?: string; viewOf?: (sourceObject: string) => string | undefined } = {}): Promise<LakeFindings> {
  const view = opts.view ?? 'findings';
  if (!(await hasRelation(db, view))) throw new SeclakeError(`the lake has no '${view}' view`);
  const cols = await columnsOf(db, view);
  const col = (name: string, fallback: string): string => (cols.has(name) ? quoteIdent(name) : fallback);
  const json = (path: string, type: string): string => (cols.has('finding') ? `TRY_CAST(json_extract_string("finding", '${path}') AS ${type})` : `NULL::${type}`);
  const sql =
    `SELECT ${col('uid', 'NULL::VARCHAR')} AS uid, "time", ${col('entity', 'NULL::VARCHAR')} AS entity, ${col('ip', 'NULL::VARCHAR')} AS ip, ` +
    `${col('model_name', 'NULL::VARCHAR')} AS model, ${col('detector', 'NULL::VARCHAR')} AS detector, ` +
    `${col('percentile', 'NULL::DOUBLE')} AS percentile, ${col('anomaly_score', 'NULL::DOUBLE')} AS anomaly_score, ` +
    `${col('p_value', json('$.unmapped.p_value', 'DOUBLE'))} AS p_value, ${col('status_id', json('$.status_id', 'INTEGER'))} AS status_id, ` +
    `${col('source_object', 'NULL::VARCHAR')} AS source_object, ` +
    `coalesce(${col('window_start', 'NULL::BIGINT')}, ${json('$.start_time', 'BIGINT')}, ${col('first_seen_time', 'NULL::BIGINT')}) AS w_start, ` +
    `coalesce(${col('window_end', 'NULL::BIGINT')}, ${json('$.end_time', 'BIGINT')}, ${col('last_seen_time', 'NULL::BIGINT')}) AS w_end ` +
    `FROM ${quoteIdent(view)} ORDER BY "time", uid`;
  const rows = await db.all(sql);
  const findings: FindingLike[] = [];
  const suppressed: FindingLike[] = [];
  for (const r of rows) {
    const f = findingOfRow(r);
    const view = f.ip ? opts.viewOf?.(str(r.source_object) ?? '') : undefined;
    if (view) f.view = view;
    if (num(r.status_id) === STATUS_SUPPRESSED) suppressed.push(f);
    else findings.push(f);
  }
  return { findings, suppressed };
}

function findingOfRow(r: Row): FindingLike {
  const ip = str(r.ip) ?? '';
  const pair = ip !== '';
  const t = num(r.time) ?? 0;
  const start = pair ? t : (num(r.w_start) ?? t);
  const endRaw = pair ? undefined : num(r.w_end);
  const f: FindingLike = { entity: str(r.entity) ?? '', time: start, scope: pair ? 'pair' : 'window' };
  if (pair) f.ip = ip;
  else f.end = endRaw !== undefined && endRaw > start ? endRaw : start;
  const uid = str(r.uid);
  if (uid) f.uid = uid;
  const model = str(r.model);
  if (model) f.model = model;
  const detector = str(r.detector);
  if (detector) f.detector = detector;
  const p = num(r.p_value);
  if (p !== undefined) f.p_value = p;
  const pc = num(r.percentile);
  if (pc !== undefined) f.percentile = pc;
  const a = num(r.anomaly_score);
  if (a !== undefined) f.anomaly_score = a;
  return f;
}

function jsonStrings(v: unknown, where: string): string[] {
  if (v === null || v === undefined || v === '') return [];
  let x: unknown = v;
  if (typeof v === 'string') {
    try {
      x = JSON.parse(v);
    } catch {
      throw new SeclakeError(`${where}: not a JSON array: ${v.slice(0, 80)}`);
    }
  }
  if (!Array.isArray(x)) throw new SeclakeError(`${where}: not a JSON array`);
  return x.filter((e): e is string => typeof e === 'string');
}

export interface LakeIncidents {
  incidents: IncidentLike[];
  /** Suppressed incidents (status_id 3), left out. */
  suppressed: number;
}

/**
 * Every incident of the `incidents` view (latest revision per uid), or undefined when the connection has no such
 * view. Needs `uid`, `start_time`, `entity` and `finding_uids` (a JSON array of finding uids); `end_time`, `score`,
 * `p_value`, `detectors`, `severity` and `status_id` are read when present. Suppressed incidents (status_id 3) are
 * counted and left out unless `includeSuppressed`.
 */
export async function readLakeIncidents(db: Duck, opts: { view?: string; includeSuppressed?: boolean } = {}): Promise<LakeIncidents | undefined> {
  const view = opts.view ?? 'incidents';
  if (!(await hasRelation(db, view))) return undefined;
  const cols = await columnsOf(db, view);
  for (const need of ['uid', 'entity', 'finding_uids']) if (!cols.has(need)) throw new SeclakeError(`the '${view}' view has no column '${need}' (columns: ${[...cols].join(', ')})`);
  const col = (name: string, type: string): string => (cols.has(name) ? `CAST(${quoteIdent(name)} AS ${type})` : `NULL::${type}`);
  const rows = await db.all(
    `SELECT ${col('uid', 'VARCHAR')} AS uid, ${col('entity', 'VARCHAR')} AS entity, coalesce(${col('start_time', 'BIGINT')}, ${col('time', 'BIGINT')}) AS start_time, ` +
      `${col('end_time', 'BIGINT')} AS end_time, ${col('score', 'DOUBLE')} AS score, ${col('p_value', 'DOUBLE')} AS p_value, ${col('finding_uids', 'VARCHAR')} AS finding_uids, ` +
      `${col('detectors', 'VARCHAR')} AS detectors, ${col('severity', 'VARCHAR')} AS severity, ${col('status_id', 'INTEGER')} AS status_id ` +
      `FROM ${quoteIdent(view)} ORDER BY start_time, uid`,
  );
  const incidents: IncidentLike[] = [];
  let suppressed = 0;
  for (const r of rows) {
    if (!opts.includeSuppressed && num(r.status_id) === STATUS_SUPPRESSED) {
      suppressed++;
      continue;
    }
    const uid = str(r.uid) ?? '';
    const time = num(r.start_time);
    if (time === undefined) throw new SeclakeError(`incident ${uid}: no start_time`);
    const inc: IncidentLike = { uid, entity: str(r.entity) ?? '', time, finding_uids: jsonStrings(r.finding_uids, `incident ${uid} finding_uids`) };
    const end = num(r.end_time);
    if (end !== undefined) inc.end = end;
    const score = num(r.score);
    if (score !== undefined) inc.score = score;
    const p = num(r.p_value);
    if (p !== undefined) inc.p_value = p;
    const dets = r.detectors === null || r.detectors === undefined ? undefined : jsonStrings(r.detectors, `incident ${uid} detectors`);
    if (dets) inc.detectors = dets;
    const sev = str(r.severity);
    if (sev) inc.severity = sev;
    incidents.push(inc);
  }
  return { incidents, suppressed };
}

export interface EvaluationInputs {
  findings: FindingLike[];
  /** Suppressed findings, left out (counted). */
  suppressed: FindingLike[];
  /** Undefined when the lake holds no incidents (see incidentsNote). */
  incidents?: IncidentLike[];
  suppressedIncidents: number;
  incidentsNote?: string;
}

/**
 * The findings and incidents of a local lake directory. Incidents count only when the lake has incident objects
 * (`ext/seclake_incidents/`): a lake scored by a monitor that did not build incidents has an empty view, reported as
 * "no incidents" rather than as zero incidents.
 */
export async function readEvaluationInputs(lakeDir: string, opts: { includeSuppressed?: boolean } = {}): Promise<EvaluationInputs> {
  const db = await openLakeQuery(lakeDir, { views: [findingsView, incidentRevisionsView, incidentsView] });
  try {
    // The short view (vpc_flow, cloudtrail_auth, ...) each catalogued object lands in, for per-model record recall.
    const objects = await db.all('SELECT path, source, class_uid FROM lake_objects');
    const viewByPath = new Map<string, string>();
    for (const o of objects) {
      const def = SHORT_VIEWS.find((d) => d.sources.includes(String(o.source) as LakeSourceName) && (!d.classUids || d.classUids.includes(Number(o.class_uid))));
      if (def) viewByPath.set(String(o.path), def.name);
    }
    const { findings, suppressed } = await readLakeFindings(db, { viewOf: (p) => viewByPath.get(p) });
    if (!objects.some((o) => o.source === findingsSourceName(2005))) return { findings, suppressed, suppressedIncidents: 0, incidentsNote: 'the lake has no incident objects (ext/seclake_incidents/): findings only' };
    const inc = await readLakeIncidents(db, opts);
    if (!inc) return { findings, suppressed, suppressedIncidents: 0, incidentsNote: 'no incidents view' };
    return { findings, suppressed, incidents: inc.incidents, suppressedIncidents: inc.suppressed };
  } finally {
    db.close();
  }
}
