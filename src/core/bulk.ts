/**
 * The bulk contract between a source's bulk reader and the lake writer. Instead of one OCSF object per
 * record, a source may stream compact rows (one staged CSV line of the record's checked values) and a plan
 * of SQL expressions that DuckDB evaluates to produce exactly the events the generic path (`read()` +
 * `deriveEvent` + `validateEvent`) would. The lake writer stages the rows per partition as CSV and converts
 * them with one `COPY`. Equivalence is proven by differential tests and checked at run time on a sample of
 * every object. The reader side (`BulkReader`, `BulkOpener`) is in `src/sources/types.ts`.
 */
import type { LakeSourceName, OcsfEvent, RejectItem } from './events.js';

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
