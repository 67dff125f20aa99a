/**
 * The `incident_revisions` and `incidents` views (SQL, the dashboard): one row per Incident Finding revision of every
 * catalogued incidents object (`ext/seclake_incidents/`, written by the monitor: src/findings/incidents.ts), and the
 * latest revision of each incident. Columns (docs/incidents.md):
 *
 *   uid, revision, time (the revision's latest evidence), start_time, end_time, entity, severity_id, severity,
 *   status_id, status, title, message, score, p_value, low_support, detectors, models, finding_uids (JSON arrays),
 *   finding_count, timeline (JSON array, strongest evidence first), incident (the raw OCSF JSON),
 *   region, accountId, eventDay
 *
 * Importing this module registers both views with the lake's views (as src/findings/view.ts does for `findings`).
 */
import { registerLakeView, type LakeViewContext, type LakeViewDef } from '../lake/views.js';
import { quoteIdent } from '../lake/duckdb.js';
import { findingsSourceName } from './keys.js';

export const INCIDENTS_VIEW = 'incidents';
export const INCIDENT_REVISIONS_VIEW = 'incident_revisions';

const u = (k: string): string => `"unmapped"['${k}']`;
const j = (path: string): string => `json_extract(raw_data, '$.unmapped.${path}')`;

/** The views' columns: name, DuckDB type, SQL over an incidents object's row. Partition columns follow. */
export const INCIDENTS_VIEW_COLUMNS: readonly { name: string; type: string; sql: string }[] = [
  { name: 'uid', type: 'VARCHAR', sql: `coalesce(${u('incident_uid')}, metadata.correlation_uid)` },
  { name: 'revision', type: 'INTEGER', sql: `TRY_CAST(${u('revision')} AS INTEGER)` },
  { name: 'time', type: 'BIGINT', sql: '"time"' },
  { name: 'start_time', type: 'BIGINT', sql: 'start_time' },
  { name: 'end_time', type: 'BIGINT', sql: 'end_time' },
  { name: 'entity', type: 'VARCHAR', sql: u('entity') },
  { name: 'severity_id', type: 'INTEGER', sql: 'severity_id' },
  { name: 'severity', type: 'VARCHAR', sql: 'severity' },
  { name: 'status_id', type: 'INTEGER', sql: 'status_id' },
  { name: 'status', type: 'VARCHAR', sql: 'status' },
  { name: 'title', type: 'VARCHAR', sql: u('title') },
  { name: 'message', type: 'VARCHAR', sql: 'message' },
  { name: 'score', type: 'DOUBLE', sql: `TRY_CAST(${u('score')} AS DOUBLE)` },
  { name: 'p_value', type: 'DOUBLE', sql: `TRY_CAST(${u('p_value')} AS DOUBLE)` },
  { name: 'low_support', type: 'BOOLEAN', sql: `TRY_CAST(${u('low_support')} AS BOOLEAN)` },
  { name: 'detectors', type: 'VARCHAR', sql: `${j('detectors')}::VARCHAR` },
  { name: 'models', type: 'VARCHAR', sql: `${j('models')}::VARCHAR` },
  { name: 'finding_uids', type: 'VARCHAR', sql: `${j('finding_uids')}::VARCHAR` },
  { name: 'finding_count', type: 'INTEGER', sql: `TRY_CAST(${u('finding_count')} AS INTEGER)` },
  { name: 'timeline', type: 'VARCHAR', sql: `${j('timeline')}::VARCHAR` },
  { name: 'incident', type: 'VARCHAR', sql: 'raw_data' },
];

const PARTITION_COLUMNS = ['region', 'accountId', 'eventDay'] as const;

/** Names of the views' columns, in order (partition columns last). */
export const INCIDENTS_VIEW_COLUMN_NAMES: readonly string[] = [...INCIDENTS_VIEW_COLUMNS.map((c) => c.name), ...PARTITION_COLUMNS];

function revisionsSql(ctx: LakeViewContext): { sql: string; objects: number } {
  const source = findingsSourceName(2005);
  const paths = ctx.objects.filter((o) => o.source === source).map((o) => o.path);
  const from = ctx.read(paths);
  if (!from) {
    const cols = [...INCIDENTS_VIEW_COLUMNS.map((c) => `NULL::${c.type} AS ${quoteIdent(c.name)}`), ...PARTITION_COLUMNS.map((p) => `NULL::VARCHAR AS ${quoteIdent(p)}`)];
    return { sql: `SELECT ${cols.join(', ')} WHERE false`, objects: 0 };
  }
  const cols = INCIDENTS_VIEW_COLUMNS.map((c) => `CAST(${c.sql} AS ${c.type}) AS ${quoteIdent(c.name)}`);
  const parts = PARTITION_COLUMNS.map((p) => `CAST(${quoteIdent(p)} AS VARCHAR) AS ${quoteIdent(p)}`);
  return { sql: `SELECT ${[...cols, ...parts].join(', ')} FROM (${from})`, objects: paths.length };
}

/** Every revision of every incident. */
export function incidentRevisionsViewSql(ctx: LakeViewContext): { sql: string; objects: number } {
  return revisionsSql(ctx);
}

/** The latest revision of each incident (a revision rewritten after a restart is the same row: one is kept). */
export function incidentsViewSql(ctx: LakeViewContext): { sql: string; objects: number } {
  const r = revisionsSql(ctx);
  return {
    sql: `SELECT * FROM (${r.sql}) QUALIFY row_number() OVER (PARTITION BY ${quoteIdent('uid')} ORDER BY ${quoteIdent('revision')} DESC, ${quoteIdent('time')} DESC) = 1`,
    objects: r.objects,
  };
}

export const incidentRevisionsView: LakeViewDef = { name: INCIDENT_REVISIONS_VIEW, build: incidentRevisionsViewSql };
export const incidentsView: LakeViewDef = { name: INCIDENTS_VIEW, build: incidentsViewSql };

registerLakeView(incidentRevisionsView);
registerLakeView(incidentsView);
