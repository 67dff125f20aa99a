/**
 * Findings: scored (entity, IP) records -> OCSF Detection Findings (build.ts), which ones to emit and dedup
 * (policy.ts), findings objects in the lake (lake.ts: OCSF Parquet, catalogued) and the flat `findings` view (view.ts). Sinks live in src/sinks/. See docs/findings.md.
 */
export type { SourceRef, ScoredRecord, ModelRef, EntityHistory, DetectionFinding, Sink } from './types.js';
export { buildFinding, severityOf, explain, findingUid, correlationUid, FindingBuildError, DEFAULT_UNCALIBRATED_THRESHOLD, PERCENTILE_BANDS, MARGIN_BANDS } from './build.js';
export type { BuildContext, Explanation, FindingKind, SeverityResult } from './build.js';
export { FindingPolicy, findingPolicyOptionsSchema, DEFAULT_WINDOW_MS } from './policy.js';
export type { FindingPolicyOptions, FindingPolicyState, NewEntityMode, PolicyContext, PolicyStats, UnflaggedRecords } from './policy.js';
export {
  findingsObjectKey,
  findingsKeyForClass,
  findingsPrefix,
  findingsSourceName,
  isFindingsSource,
  parseFindingsKey,
  writeFindingsParquet,
  publishFindings,
  publishFindingsToStore,
  findingsObjectMeta,
  findingEvent,
  listFindingsObjects,
  listLegacyFindingsObjects,
  legacyTargetKey,
  readLegacyFindings,
  migrateLegacyFindings,
  FINDINGS_CLASSES,
  FINDINGS_PREFIX,
  FINDINGS_SOURCE_NAMES,
  LEGACY_FINDINGS_PREFIX,
} from './lake.js';
export type { FindingsPartition, WrittenFindings, WriteFindingsOptions, MigrateResult } from './lake.js';
export { findingsView, findingsViewSql, findingsFilesSql, FINDINGS_VIEW, FINDINGS_VIEW_COLUMNS, FINDINGS_VIEW_COLUMN_NAMES } from './view.js';
export { listLegacyFindingsInS3, countLegacyFindingsInS3 } from './s3.js';
export { modelRefOf } from './model-ref.js';
export type { ModelLike } from './model-ref.js';
export { emitFindings } from './emit.js';
export type { EmitOptions, EmitResult } from './emit.js';
