/**
 * What code below the lake needs from a query connection: run one SQL statement and stream the result in
 * chunks of rows. `Duck` (src/lake/duckdb.ts, the one DuckDB wrapper) satisfies it structurally, so a
 * caller above the lake passes a `Duck` and the callee (e.g. src/ocsf/read-events.ts) does not import
 * `src/lake/` (see "Layers" in docs/ARCHITECTURE.md).
 */

/** One chunk of a result: column names and rows of plain JS values in that column order. */
export interface RowChunk {
  columns: string[];
  rows: unknown[][];
}

/** A positional query parameter (bound as `?` / `$1`, never spliced into the SQL). */
export type RowParam = string | number | bigint | boolean | null;

export interface RowStreamer {
  stream(sql: string, params?: RowParam[]): AsyncIterable<RowChunk>;
}
