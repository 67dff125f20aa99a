/**
 * Findings: scored (entity, IP) records -> OCSF Detection Findings (build.ts), which ones to emit and dedup
 * (policy.ts), findings objects in the lake (lake.ts). Sinks live in src/sinks/. See docs/findings.md.
 */
export type { SourceRef, ScoredRecord, ModelRef, EntityHistory, DetectionFinding, Sink } from './types.js';
export { buildFinding, severityOf, explain, findingUid, correlationUid, FindingBuildError, DEFAULT_UNCALIBRATED_THRESHOLD, PERCENTILE_BANDS, MARGIN_BANDS } from './build.js';
export type { BuildContext, Explanation, FindingKind, SeverityResult } from './build.js';
export { FindingPolicy, findingPolicyOptionsSchema, DEFAULT_WINDOW_MS } from './policy.js';
export type { FindingPolicyOptions, FindingPolicyState, NewEntityMode, PolicyContext, PolicyStats, UnflaggedRecords } from './policy.js';
export { findingsObjectKey, writeFindingsParquet, publishFindings, listFindingsObjects, findingsViewSql, findingRow, FINDINGS_PREFIX, FINDINGS_COLUMNS } from './lake.js';
export type { FindingsPartition, WrittenFindings, WriteFindingsOptions } from './lake.js';
export { modelRefOf } from './model-ref.js';
export type { ModelLike } from './model-ref.js';
export { emitFindings } from './emit.js';
export type { EmitOptions, EmitResult } from './emit.js';
