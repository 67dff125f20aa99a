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
  /**
   * Local file path. For Parquet, a real decompressed file (Parquet readers need one); otherwise the file as found,
   * possibly still gzip (a reader that opens it itself must sniff the magic, as the bulk reader does).
   */
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
  /**
   * Optional fast path for inputs where it applies (see {@link BulkReader}); undefined -> `read()`. Used
   * only when events are validated (the bulk path's proof of validity replaces per-event validation).
   */
  bulk?: BulkOpener;
}

// ---- bulk capability ----------------------------------------------------------------------------------

/**
 * A source may offer a bulk path for an input: instead of one OCSF object per record, it streams compact
 * rows (one staged CSV line of the record's checked values) and a plan of SQL expressions that DuckDB
 * evaluates to produce exactly the events the generic path (`read()` + `deriveEvent` + `validateEvent`)
 * would. The lake writer stages the rows per partition as CSV and converts them with one `COPY`.
 * Equivalence is proven by differential tests and checked at run time on a sample of every object.
 */

/** DuckDB type of one staged CSV column. `-` is read as NULL in every column. */
export type BulkColumnType = 'INTEGER' | 'BIGINT' | 'VARCHAR';

/**
 * SQL for one OCSF attribute path (dotted, e.g. `src_endpoint.ip`), over the staged columns `c1..cN` and
 * the plan's derived columns (rows carry no line number):
 * - a string: the value of a scalar, a list of scalars or a MAP (NULL = attribute absent);
 * - `{ when }` on an object path: the object is present only where the condition holds (default: always);
 * - `{ items }` on a list of objects: candidate elements in order, each kept where its `when` holds; the
 *   list is absent when no element is kept.
 */
export type BulkExpr = string | { when: string } | { items: { when?: string; fields: Record<string, string> }[] };

export interface BulkPlan {
  readonly lakeSource: LakeSourceName;
  readonly classUid: number;
  /** Types of the staged columns `c1..cN`, in staged order. */
  readonly columns: readonly BulkColumnType[];
  /** Columns computed from the staged ones before sorting (`[name, sql]`), usable in `time` and `exprs`. */
  readonly derived: readonly (readonly [string, string])[];
  /** SQL of the event time in epoch ms (the sort key). */
  readonly time: string;
  /** Expressions for every attribute path the plan's events can have. */
  readonly exprs: Readonly<Record<string, BulkExpr>>;
  /** The event the generic path makes of one record of this plan (mapped and derived), from its raw text. */
  reference(raw: string): OcsfEvent;
}

/**
 * Rows of one plan, as parallel arrays of length `n`. Every row is an event that is valid OCSF: the
 * reader validated it, or validated an event with the same attribute paths and checked the values the
 * validator judges one by one. Rows whose `mask` is equal have events with the same attribute paths, so
 * one reference event per mask gives the events' union shape.
 */
export interface BulkBatch {
  /** The plan of the rows (undefined only when the batch has no rows, just rejects or warnings). */
  plan: BulkPlan | undefined;
  n: number;
  line: number[];
  /** Event time, epoch ms. */
  time: number[];
  /** `cloud.region` / `cloud.account.uid` of the event (undefined when absent), for the partition. */
  region: (string | undefined)[];
  account: (string | undefined)[];
  mask: number[];
  /** The row's values as one staged CSV line (space separated, quoted where needed), without line number and newline. */
  text: string[];
  /** The record as read (input for `plan.reference`). */
  raw: string[];
  /**
   * Optional zero-copy staging: `off[i] >= 0` says that row i's staged text is exactly the bytes
   * `bytes[off[i] .. off[i] + text[i].length)` (ASCII), followed by a `\n` byte.
   */
  bytes?: Buffer;
  off?: number[];
  /** Records that could not be parsed or failed validation, in line order. */
  rejects: RejectItem[];
  /** Codes of validation warnings of the batch's events (as the generic path counts them). */
  warnings: string[];
}

export interface BulkReader {
  batches(): AsyncIterable<BulkBatch>;
  /**
   * sha256 (hex) of the decompressed content, when the reader read the input's bytes itself (instead of
   * `input.lines()`) to the end; undefined otherwise (the caller hashes the input).
   */
  contentHash?(): string | undefined;
}

/** Optional member of {@link SourceDefinition}: a bulk reader for this input, or undefined to use `read()`. */
export type BulkOpener = (input: SourceInput, hints: SourceHints) => Promise<BulkReader | undefined>;
