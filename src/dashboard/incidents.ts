/**
 * Incidents as the dashboard reads them: OCSF Incident Findings (2005) from the lake's `incidents` view (latest
 * revision per uid) and `incident_revisions` view (every revision), whose flat columns are fixed by the incidents
 * module (src/findings/incidents.ts, incidents-view.ts; docs/incidents.md):
 *
 *   uid, revision, time (last update), start_time, end_time, entity, severity_id, severity, status_id, status, title,
 *   message, score (-log10 p), p_value, low_support, detectors / models / finding_uids (JSON arrays), finding_count,
 *   timeline (JSON array of {time, end?, finding_uid, model, detector, severity, summary}, strongest first), incident
 *   (the raw OCSF JSON), region, accountId, eventDay.
 *
 * A lake without those views (no incidents written yet, or a seclake whose monitor writes none) gives empty lists;
 * the pages say how incidents appear. Only fixed, parameterised SQL runs here.
 */
import { quoteIdent } from '../lake/duckdb.js';
import type { FindingSummary } from './findings.js';
import { getFindings, num, str } from './findings.js';
import type { LakeReader } from './reader.js';

import { INCIDENT_REVISIONS_VIEW, INCIDENTS_VIEW } from '../findings/incidents-view.js';

export { INCIDENT_REVISIONS_VIEW, INCIDENTS_VIEW };

/** One member of an incident's timeline (strongest evidence first). */
export interface TimelineEntry {
  time: number | null;
  end: number | null;
  finding_uid: string;
  model: string;
  detector: string;
  severity: string;
  /** The p-value the finding weighs in with (null when the timeline does not say). */
  p_value: number | null;
  summary: string;
}

export interface IncidentSummary {
  uid: string;
  revision: number | null;
  /** Last update. */
  time: number | null;
  start_time: number | null;
  end_time: number | null;
  entity: string;
  severity_id: number | null;
  severity: string | null;
  status_id: number | null;
  status: string | null;
  title: string;
  message: string;
  score: number | null;
  p_value: number | null;
  low_support: boolean;
  detectors: string[];
  models: string[];
  finding_uids: string[];
  finding_count: number;
  timeline: TimelineEntry[];
}

export interface IncidentFilter {
  /** Lowest severity_id shown. */
  minSeverity?: number;
  /** One status_id only. */
  statusId?: number;
  /** Substring of the entity (case-insensitive). */
  entity?: string;
  limit?: number;
}

/** A JSON array column (JSON text or an already parsed list) as a list; anything else as []. */
function jsonArray(v: unknown): unknown[] {
  let a: unknown = v;
  if (typeof v === 'string') {
    try {
      a = JSON.parse(v) as unknown;
    } catch {
      return [];
    }
  }
  return Array.isArray(a) ? a : [];
}

/** A JSON array column (text or a parsed list) as strings; anything else as []. */
export function stringList(v: unknown): string[] {
  return jsonArray(v).map((x) => str(x)).filter((x): x is string => x !== null);
}

/** The timeline column (JSON text) as entries; malformed entries are skipped. */
export function parseTimeline(v: unknown): TimelineEntry[] {
  const a = jsonArray(v);
  const out: TimelineEntry[] = [];
  for (const e of a) {
    if (e === null || typeof e !== 'object') continue;
    const o = e as Record<string, unknown>;
    const uid = str(o.finding_uid);
    if (!uid) continue;
    out.push({
      time: num(o.time),
      end: num(o.end),
      finding_uid: uid,
      model: str(o.model) ?? '',
      detector: str(o.detector) ?? '',
      severity: str(o.severity) ?? '',
      p_value: num(o.p_value),
      summary: str(o.summary) ?? '',
    });
  }
  return out;
}

/** One row of the incidents view as the pages use it (pure). */
export function incidentFromRow(r: Record<string, unknown>): IncidentSummary {
  const uids = stringList(r.finding_uids);
  return {
    uid: str(r.uid) ?? '',
    revision: num(r.revision),
    time: num(r.time),
    start_time: num(r.start_time),
    end_time: num(r.end_time),
    entity: str(r.entity) ?? '',
    severity_id: num(r.severity_id),
    severity: str(r.severity),
    status_id: num(r.status_id),
    status: str(r.status),
    title: str(r.title) ?? '',
    message: str(r.message) ?? '',
    score: num(r.score),
    p_value: num(r.p_value),
    low_support: r.low_support === true || r.low_support === 'true',
    detectors: stringList(r.detectors),
    models: stringList(r.models),
    finding_uids: uids,
    finding_count: num(r.finding_count) ?? uids.length,
    timeline: parseTimeline(r.timeline),
  };
}

const LIST_COLUMNS = [
  'uid', 'revision', 'time', 'start_time', 'end_time', 'entity', 'severity_id', 'severity', 'status_id', 'status', 'title', 'message',
  'score', 'p_value', 'low_support', 'detectors', 'models', 'finding_uids', 'finding_count', 'timeline',
].map(quoteIdent).join(', ');

/** Whether the lake has the incidents view and any incident objects behind it. */
export async function incidentsState(reader: LakeReader): Promise<'none' | 'empty' | 'some'> {
  return reader.use(async (_db, views) => (views[INCIDENTS_VIEW] === undefined ? 'none' : (views[INCIDENTS_VIEW] ?? 0) > 0 ? 'some' : 'empty'));
}

function where(filter: IncidentFilter): { sql: string; params: (string | number)[] } {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  if (filter.minSeverity !== undefined && filter.minSeverity > 0) {
    params.push(filter.minSeverity);
    clauses.push(`severity_id >= $${params.length}`);
  }
  if (filter.statusId !== undefined) {
    params.push(filter.statusId);
    clauses.push(`status_id = $${params.length}`);
  }
  if (filter.entity) {
    params.push(`%${filter.entity.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    clauses.push(`lower(coalesce(entity, '')) LIKE $${params.length} ESCAPE '\\'`);
  }
  return { sql: clauses.length > 0 ? ` WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Incidents, newest first (by their last evidence), filtered; at most `limit` (default 200). */
export async function listIncidents(reader: LakeReader, filter: IncidentFilter = {}): Promise<IncidentSummary[]> {
  if ((await incidentsState(reader)) !== 'some') return [];
  const limit = Math.max(1, Math.min(5000, Math.floor(filter.limit ?? 200)));
  const w = where(filter);
  const rows = await reader.all(
    `SELECT ${LIST_COLUMNS} FROM ${quoteIdent(INCIDENTS_VIEW)}${w.sql} ORDER BY coalesce(end_time, "time") DESC NULLS LAST, uid LIMIT ${limit}`,
    w.params,
  );
  return rows.map(incidentFromRow);
}

/** How many incidents match the filter (the list shows at most its limit). */
export async function countIncidents(reader: LakeReader, filter: IncidentFilter = {}): Promise<number> {
  if ((await incidentsState(reader)) !== 'some') return 0;
  const w = where(filter);
  const rows = await reader.all(`SELECT count(*)::BIGINT AS n FROM ${quoteIdent(INCIDENTS_VIEW)}${w.sql}`, w.params);
  return Number(rows[0]?.n ?? 0);
}

/** Start time and severity of every incident matching the filter (for the timeline chart), at most `limit`. */
export async function incidentTimes(reader: LakeReader, filter: IncidentFilter = {}, limit = 50_000): Promise<{ time: number; severity_id: number }[]> {
  if ((await incidentsState(reader)) !== 'some') return [];
  const w = where(filter);
  const rows = await reader.all(
    `SELECT coalesce(start_time, "time") AS t, severity_id AS s FROM ${quoteIdent(INCIDENTS_VIEW)}${w.sql} ORDER BY t DESC NULLS LAST LIMIT ${Math.floor(limit)}`,
    w.params,
  );
  const out: { time: number; severity_id: number }[] = [];
  for (const r of rows) {
    const t = num(r.t);
    if (t !== null) out.push({ time: t, severity_id: num(r.s) ?? 0 });
  }
  return out;
}

/** The statuses present (for the filter), by id. */
export async function incidentStatuses(reader: LakeReader): Promise<{ id: number; name: string; count: number }[]> {
  if ((await incidentsState(reader)) !== 'some') return [];
  const rows = await reader.all(
    `SELECT status_id AS id, any_value(status) AS name, count(*)::BIGINT AS n FROM ${quoteIdent(INCIDENTS_VIEW)} WHERE status_id IS NOT NULL GROUP BY status_id ORDER BY status_id`,
  );
  return rows.map((r) => ({ id: num(r.id) ?? 0, name: str(r.name) ?? `status ${String(r.id)}`, count: num(r.n) ?? 0 }));
}

export interface IncidentDetail {
  incident: IncidentSummary;
  /** The raw OCSF Incident Finding. */
  ocsf: Record<string, unknown> | undefined;
  /** Every revision (oldest first): revision, time, severity, score, finding count. */
  revisions: { revision: number | null; time: number | null; severity_id: number | null; severity: string | null; score: number | null; finding_count: number | null }[];
  /** The member detection findings found in the findings view (OCSF object and summary), by uid. */
  members: Map<string, { finding: Record<string, unknown>; summary: FindingSummary }>;
}

/** One incident (latest revision), its revisions and its detection findings; undefined when there is none. */
export async function getIncident(reader: LakeReader, uid: string): Promise<IncidentDetail | undefined> {
  if ((await incidentsState(reader)) !== 'some') return undefined;
  const rows = await reader.all(`SELECT ${LIST_COLUMNS}, ${quoteIdent('incident')} FROM ${quoteIdent(INCIDENTS_VIEW)} WHERE uid = $1 LIMIT 1`, [uid]);
  if (rows.length === 0) return undefined;
  const incident = incidentFromRow(rows[0]!);
  let ocsf: Record<string, unknown> | undefined;
  const raw = rows[0]!.incident;
  if (typeof raw === 'string') {
    try {
      const v = JSON.parse(raw) as unknown;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) ocsf = v as Record<string, unknown>;
    } catch {
      ocsf = undefined;
    }
  }
  const hasRevisions = await reader.hasView(INCIDENT_REVISIONS_VIEW);
  const revRows = hasRevisions
    ? await reader.all(
        `SELECT revision, "time", severity_id, severity, score, finding_count FROM ${quoteIdent(INCIDENT_REVISIONS_VIEW)} WHERE uid = $1 ORDER BY revision, "time" LIMIT 500`,
        [uid],
      )
    : [];
  const revisions = revRows.map((r) => ({
    revision: num(r.revision),
    time: num(r.time),
    severity_id: num(r.severity_id),
    severity: str(r.severity),
    score: num(r.score),
    finding_count: num(r.finding_count),
  }));
  const memberUids = [...new Set([...incident.timeline.map((t) => t.finding_uid), ...incident.finding_uids])];
  const members = await getFindings(reader, memberUids);
  return { incident, ocsf, revisions, members };
}
