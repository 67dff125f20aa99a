/**
 * Contract types shared by the pipeline's lower layers: what a source hands on (events and rejects, with
 * where they came from) and what the lake stores them under. They live here, below `src/ocsf/` and
 * `src/lake/`, so that neither depends on `src/sources/` (see "Layers" in docs/ARCHITECTURE.md).
 * `src/sources/types.ts` re-exports them for the source folders.
 */

/** An OCSF event as a plain JSON object. */
export type OcsfEvent = Record<string, unknown>;

/** Security Lake source names used in lake paths (`aws/<SOURCE>/2.0/...`). */
export type LakeSourceName = 'VPC_FLOW' | 'ROUTE53' | 'CLOUD_TRAIL_MGMT' | 'S3_DATA' | 'LAMBDA_EXECUTION' | 'SH_FINDINGS' | `EXT_${string}`;

/** The `type` of a registered source (`src/sources/index.ts`); the catalog records it per input. */
export type SourceType = 'aws_vpc_flow' | 'aws_route53' | 'aws_cloudtrail' | 'ocsf';

/** One mapped event, with where it came from. */
export interface EventItem {
  kind: 'event';
  event: OcsfEvent;
  /** 1-based line (text formats) or record index (JSON arrays, Parquet rows) in the input object. */
  line: number;
  lakeSource: LakeSourceName;
}

/** One record that could not be parsed or mapped; it goes to quarantine with the reason. */
export interface RejectItem {
  kind: 'reject';
  line: number;
  reason: string;
  field?: string;
  /** The raw text of the record (truncated by the quarantine writer if huge). */
  raw: string;
}

export type SourceItem = EventItem | RejectItem;

/** Hints from the object key / file name (e.g. `<acct>_vpcflowlogs_<region>_...`) and CLI flags. */
export interface SourceHints {
  region?: string;
  accountId?: string;
}
