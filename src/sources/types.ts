/**
 * The source contract. A source turns one raw input object (file, stdin, S3 object) into OCSF events.
 * Mappings set only `*_id` enums and raw values; `src/ocsf/derive.ts` fills names, `type_uid`,
 * `category_uid`, `*_dt` from the schema, and `src/ocsf/validate.ts` checks the result.
 *
 * The types a source shares with the layers below it (events, rejects, lake source names, hints, the bulk
 * rows and plan) are defined in `src/core/events.ts` and `src/core/bulk.ts`, so that `src/ocsf/` and
 * `src/lake/` never import this folder; they are re-exported here for the source folders.
 */
import type { BulkBatch } from '../core/bulk.js';
import type { SourceHints, SourceItem, SourceType } from '../core/events.js';

export type { EventItem, LakeSourceName, OcsfEvent, RejectItem, SourceHints, SourceItem, SourceType } from '../core/events.js';
export type { BulkBatch, BulkColumnType, BulkExpr, BulkPlan } from '../core/bulk.js';

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
  /**
   * Decompressed text, streamed line by line (no trailing newline). Not used for Parquet. A line the ingest refuses
   * (longer than its line limit, or not valid UTF-8: see line-checks.ts) is yielded as '' and quarantined by the
   * ingest with its reason.
   */
  lines(): AsyncIterable<string>;
  /**
   * Whole decompressed text. Only for formats that need it (one JSON document); bounded by the caller. Rejects
   * (ParseError, the input fails) text that is not valid UTF-8.
   */
  text(): Promise<string>;
  /**
   * The decompressed bytes as they stream, through the ingest's limits (a gzip input expanding past
   * `--max-gzip-ratio` errors) and hashed on the first pass, for readers that split lines themselves (the VPC flow
   * bulk reader); they must apply `maxLineBytes` and the UTF-8 check (line-checks.ts) as `lines()` does. Absent
   * outside the ingest (tests): such a reader opens `path` itself.
   */
  bytes?(): AsyncIterable<Buffer>;
  /** Longest line in bytes a reader may hold (`--max-line-bytes`); a longer one is a reject (`oversizeReason`). */
  maxLineBytes?: number;
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
 * A source may offer a bulk path for an input: compact rows plus a plan of SQL expressions that the lake
 * writer turns into exactly the events the generic path would make (the rows and plan types, and why they
 * are equivalent, are in `src/core/bulk.ts`).
 */
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
