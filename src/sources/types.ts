/**
 * The source contract. A source turns one raw input object (file, stdin, S3 object) into OCSF events.
 * Mappings set only `*_id` enums and raw values; `src/ocsf/derive.ts` fills names, `type_uid`,
 * `category_uid`, `*_dt` from the schema, and `src/ocsf/validate.ts` checks the result.
 */

/** An OCSF event as a plain JSON object. */
export type OcsfEvent = Record<string, unknown>;

/** Security Lake source names used in lake paths (`aws/<SOURCE>/2.0/...`). */
export type LakeSourceName = 'VPC_FLOW' | 'ROUTE53' | 'CLOUD_TRAIL_MGMT' | 'S3_DATA' | 'LAMBDA_EXECUTION' | 'SH_FINDINGS' | `EXT_${string}`;

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

/** What a source reads: one raw object, already decompressed if it was gzip. */
export interface SourceInput {
  /** Display name used in messages and quarantine (file path, `-` for stdin, `s3://b/k`). */
  name: string;
  /** Path of a local file holding the (decompressed) bytes; Parquet readers need a real file. */
  path: string;
  /** True when the content is Parquet (magic `PAR1`). */
  isParquet: boolean;
  /** Decompressed text, streamed line by line (no trailing newline). Not used for Parquet. */
  lines(): AsyncIterable<string>;
  /** Whole decompressed text. Only for formats that need it (one JSON document); bounded by the caller. */
  text(): Promise<string>;
}

/** Hints from the object key / file name (e.g. `<acct>_vpcflowlogs_<region>_...`) and CLI flags. */
export interface SourceHints {
  region?: string;
  accountId?: string;
}

export interface SourceDefinition {
  type: SourceType;
  /** One line for `--help` and docs. */
  description: string;
  /**
   * How sure this source is that `head` (the first ~64 KiB of decompressed text, or '' for Parquet)
   * is its format: 0 = not mine, 1 = certainly mine. `columns` lists Parquet column names when Parquet.
   */
  detect(head: string, name: string, columns?: string[]): number;
  /** Stream items in batches (bounded memory: never hold the whole input as events). */
  read(input: SourceInput, hints: SourceHints): AsyncIterable<SourceItem[]>;
}
