/**
 * The flat `findings` view (SQL, the dashboard, `seclake findings`): one row per finding of every catalogued findings
 * object (all findings classes, src/findings/lake.ts), with generic columns derived from the OCSF row, and the
 * legacy (flat, uncatalogued) findings objects of a local lake mapped to the same columns until they are migrated.
 *
 * The lake does not know this view (src/lake/ imports nothing from here): importing this module registers it with
 * `registerLakeView`, so every `openLakeQuery`/`createLakeViews` of the process creates it; `createLakeViews(db, dir,
 * { views: [findingsView] })` creates it explicitly.
 *
 * Detector-specific values live in the finding's `unmapped` (a MAP(VARCHAR, VARCHAR) with dotted keys in the
 * Parquet: `unmapped['entity']`, `unmapped['model.name']`); each column falls back to what findings written before
 * the detector-neutral fields carry (IP Insights only): detector 'ipinsights', native_score = dot_product,
 * native_score_name 'dot_product', anomaly_score = -dot_product. Behaviour findings (src/findings/behaviour.ts, kind
 * 'behaviour') have no `ip` and no source row: `window_start`/`window_end` give the (entity, window) they describe.
 */
import { registerLakeView, type LakeViewContext, type LakeViewDef } from '../lake/views.js';
import { quoteIdent, quoteString } from '../lake/duckdb.js';
import { isFindingsSource, legacyTargetKey, listLegacyFindingsObjects } from './keys.js';

export const FINDINGS_VIEW = 'findings';

const u = (k: string): string => `"unmapped"['${k}']`;
const dbl = (k: string): string => `TRY_CAST(${u(k)} AS DOUBLE)`;

/**
 * The view's columns: name, DuckDB type, SQL over an OCSF findings row, SQL over a legacy flat row. Partition columns
 * (`region`, `accountId`, `eventDay`) follow.
 */
export const FINDINGS_VIEW_COLUMNS: readonly { name: string; type: string; ocsf: string; legacy: string }[] = [
  { name: 'time', type: 'BIGINT', ocsf: '"time"', legacy: '"time"' },
  { name: 'uid', type: 'VARCHAR', ocsf: 'coalesce(finding_info.uid, metadata.uid)', legacy: 'uid' },
  { name: 'class_uid', type: 'INTEGER', ocsf: 'class_uid', legacy: 'class_uid' },
  { name: 'activity_id', type: 'INTEGER', ocsf: 'activity_id', legacy: 'activity_id' },
  { name: 'severity_id', type: 'INTEGER', ocsf: 'severity_id', legacy: 'severity_id' },
  { name: 'severity', type: 'VARCHAR', ocsf: 'severity', legacy: 'severity' },
  { name: 'kind', type: 'VARCHAR', ocsf: u('kind'), legacy: 'kind' },
  { name: 'title', type: 'VARCHAR', ocsf: 'finding_info.title', legacy: 'title' },
  { name: 'message', type: 'VARCHAR', ocsf: 'message', legacy: 'message' },
  { name: 'detector', type: 'VARCHAR', ocsf: `coalesce(${u('detector')}, 'ipinsights')`, legacy: `'ipinsights'` },
  { name: 'model_name', type: 'VARCHAR', ocsf: `coalesce(${u('model.name')}, finding_info.analytic.name)`, legacy: 'model_name' },
  { name: 'model_version', type: 'VARCHAR', ocsf: `coalesce(${u('model.version')}, finding_info.analytic.version)`, legacy: 'model_version' },
  { name: 'entity', type: 'VARCHAR', ocsf: u('entity'), legacy: 'entity' },
  { name: 'ip', type: 'VARCHAR', ocsf: u('ip'), legacy: 'ip' },
  { name: 'anomaly_score', type: 'DOUBLE', ocsf: `coalesce(${dbl('anomaly_score')}, -${dbl('dot_product')})`, legacy: '-dot_product' },
  { name: 'native_score', type: 'DOUBLE', ocsf: `coalesce(${dbl('native_score')}, ${dbl('dot_product')})`, legacy: 'dot_product' },
  { name: 'native_score_name', type: 'VARCHAR', ocsf: `coalesce(${u('native_score_name')}, 'dot_product')`, legacy: `'dot_product'` },
  { name: 'dot_product', type: 'DOUBLE', ocsf: dbl('dot_product'), legacy: 'dot_product' },
  { name: 'threshold', type: 'DOUBLE', ocsf: dbl('threshold'), legacy: 'threshold' },
  { name: 'percentile', type: 'DOUBLE', ocsf: dbl('anomaly_percentile'), legacy: 'percentile' },
  { name: 'confidence_score', type: 'INTEGER', ocsf: 'confidence_score', legacy: 'confidence_score' },
  { name: 'count', type: 'INTEGER', ocsf: '"count"', legacy: '"count"' },
  { name: 'first_seen_time', type: 'BIGINT', ocsf: 'finding_info.first_seen_time', legacy: 'first_seen_time' },
  { name: 'last_seen_time', type: 'BIGINT', ocsf: 'finding_info.last_seen_time', legacy: 'last_seen_time' },
  { name: 'source_object', type: 'VARCHAR', ocsf: u('source_object'), legacy: 'source_object' },
  { name: 'source_row', type: 'BIGINT', ocsf: `TRY_CAST(${u('source_row')} AS BIGINT)`, legacy: 'source_row' },
  { name: 'correlation_uid', type: 'VARCHAR', ocsf: 'metadata.correlation_uid', legacy: 'correlation_uid' },
  // Behaviour findings (kind 'behaviour'): the (entity, window) they describe; NULL for findings about one event.
  { name: 'window_start', type: 'BIGINT', ocsf: `TRY_CAST(${u('window_start')} AS BIGINT)`, legacy: 'NULL::BIGINT' },
  { name: 'window_end', type: 'BIGINT', ocsf: `TRY_CAST(${u('window_end')} AS BIGINT)`, legacy: 'NULL::BIGINT' },
  // JSON text: the observables, the explanation (history clause facts, score, threshold and where it came from), and
  // the detector-specific facts of the explanation in one column.
  { name: 'observables', type: 'VARCHAR', ocsf: `json_extract(raw_data, '$.observables')::VARCHAR`, legacy: `json_extract(finding, '$.observables')::VARCHAR` },
  { name: 'explanation', type: 'VARCHAR', ocsf: `json_extract(raw_data, '$.unmapped.explanation')::VARCHAR`, legacy: `json_extract(finding, '$.unmapped.explanation')::VARCHAR` },
  { name: 'extras', type: 'VARCHAR', ocsf: `json_extract(raw_data, '$.unmapped.explanation.details')::VARCHAR`, legacy: 'NULL::VARCHAR' },
  { name: 'finding', type: 'VARCHAR', ocsf: 'raw_data', legacy: 'finding' },
  // Per-entity calibration and honest confidence (calibration version 2): the entity's p-value, which threshold fired
  // (entity, group, global; 'calibrated' in findings written before; 'default' when uncalibrated) and low support.
  { name: 'p_value', type: 'DOUBLE', ocsf: dbl('p_value'), legacy: 'NULL::DOUBLE' },
  { name: 'threshold_source', type: 'VARCHAR', ocsf: u('threshold_source'), legacy: 'NULL::VARCHAR' },
  { name: 'low_support', type: 'BOOLEAN', ocsf: `coalesce(TRY_CAST(${u('low_support')} AS BOOLEAN), false)`, legacy: 'false' },
];

const PARTITION_COLUMNS = ['region', 'accountId', 'eventDay'] as const;

/** Names of the view's columns, in order (partition columns last). */
export const FINDINGS_VIEW_COLUMN_NAMES: readonly string[] = [...FINDINGS_VIEW_COLUMNS.map((c) => c.name), ...PARTITION_COLUMNS];

function select(from: string, pick: 'ocsf' | 'legacy', partitions = true): string {
  const cols = FINDINGS_VIEW_COLUMNS.map((c) => `CAST(${c[pick]} AS ${c.type}) AS ${quoteIdent(c.name)}`);
  const parts = PARTITION_COLUMNS.map((p) => (partitions ? `CAST(${quoteIdent(p)} AS VARCHAR) AS ${quoteIdent(p)}` : `NULL::VARCHAR AS ${quoteIdent(p)}`));
  return `SELECT ${[...cols, ...parts].join(', ')} FROM (${from})`;
}

/**
 * The flat findings columns over findings object files anywhere (e.g. downloaded from S3, outside a lake): the
 * `findings` view's columns, partition columns NULL. For tools and tests that read one object.
 */
export function findingsFilesSql(files: readonly string[]): string {
  if (files.length === 0) throw new Error('findingsFilesSql: no files');
  return select(`SELECT * FROM read_parquet([${files.map(quoteString).join(', ')}], union_by_name = true)`, 'ocsf', false);
}

/**
 * Legacy objects the view reads: those of a local lake whose OCSF replacement is not catalogued (a source object
 * scored again since, or a migration interrupted after publishing, has one: its legacy object is hidden).
 */
export function visibleLegacyObjects(ctx: Pick<LakeViewContext, 'lakeDir' | 'objects'>): string[] {
  const legacy = listLegacyFindingsObjects(ctx.lakeDir);
  if (legacy.length === 0) return [];
  const catalogued = new Set(ctx.objects.map((o) => o.path));
  return legacy.filter((k) => !catalogued.has(legacyTargetKey(k)));
}

/** The SQL of the `findings` view and how many objects it reads. */
export function findingsViewSql(ctx: LakeViewContext): { sql: string; objects: number } {
  const ocsf = ctx.objects.filter((o) => isFindingsSource(o.source)).map((o) => o.path);
  const legacy = visibleLegacyObjects(ctx);
  const parts: string[] = [];
  const a = ctx.read(ocsf);
  if (a) parts.push(select(a, 'ocsf'));
  const b = ctx.read(legacy);
  if (b) parts.push(select(b, 'legacy'));
  if (parts.length === 0) {
    const cols = [...FINDINGS_VIEW_COLUMNS.map((c) => `NULL::${c.type} AS ${quoteIdent(c.name)}`), ...PARTITION_COLUMNS.map((p) => `NULL::VARCHAR AS ${quoteIdent(p)}`)];
    return { sql: `SELECT ${cols.join(', ')} WHERE false`, objects: 0 };
  }
  return { sql: parts.join(' UNION ALL '), objects: ocsf.length + legacy.length };
}

export const findingsView: LakeViewDef = { name: FINDINGS_VIEW, build: findingsViewSql };

registerLakeView(findingsView);
