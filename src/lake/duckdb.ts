/**
 * The one DuckDB wrapper. Owns instance/connection lifecycle, parameter binding and identifier/string
 * quoting. No other module builds SQL from user values: identifiers go through `quoteIdent`, values
 * are bound as `$1, $2, ...` parameters (or `quoteString` for the few places DuckDB cannot bind,
 * such as file paths inside COPY ... TO).
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import { LakeError, errorMessage } from '../core/errors.js';
import { TRINO_SESSION_SQL } from './trino.js';

export type SqlParams = DuckDBValue[] | Record<string, DuckDBValue>;

/**
 * The DuckDB package, loaded by the first Duck.open(): importing this module (a command's --help, code that only
 * quotes identifiers) does not load the native library (about 0.3 s).
 */
let api: typeof import('@duckdb/node-api') | undefined;

/** Quote an identifier (table, view, column): "a""b". */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quote a string literal: 'it''s'. Only for places DuckDB cannot bind a parameter. */
export function quoteString(value: string): string {
  if (value.includes('\0')) throw new LakeError('string literal contains a NUL byte');
  return `'${value.replaceAll("'", "''")}'`;
}

/** Plain JS values from a DuckDB row: BIGINT -> number when safe, nested structs/lists kept. */
export type Row = Record<string, unknown>;

export interface DuckOptions {
  /** Database file; default in-memory. */
  path?: string;
  threads?: number;
  memoryLimit?: string;
  /**
   * Define Athena's (Trino's) functions as macros and set the session time zone to UTC (trino.ts), so queries
   * written for Security Lake run unchanged; default true.
   */
  trino?: boolean;
}

/**
 * A statement does not bind to the data: it names a column (or struct field) the table or file does not have
 * (DuckDB's "Binder Error"). Callers that probe whether a query fits an object (the monitor's pair plans) branch on
 * this type, not on message text; every other SQL failure is a plain LakeError.
 */
export class SqlBindError extends LakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SqlBindError';
  }
}

/** The typed error for a failed statement. */
function sqlError(err: unknown, what = 'SQL failed'): LakeError {
  const msg = errorMessage(err);
  return /\bBinder Error\b/.test(msg) ? new SqlBindError(`${what}: ${msg}`, { cause: err }) : new LakeError(`${what}: ${msg}`, { cause: err });
}

export class Duck {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly con: DuckDBConnection,
  ) {}

  static async open(opts: DuckOptions = {}): Promise<Duck> {
    const config: Record<string, string> = {
      // Extensions that are not built in cannot be downloaded here: fail fast instead of hanging.
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      // DuckDB keeps the bytes of every file it reads in this cache (up to memory_limit, 80% of RAM by default), so a
      // long-lived connection reading new objects (the monitor's scans, the dashboard) grew by every object it read.
      // The lake is local files (S3 objects are downloaded first): the OS page cache already holds them.
      enable_external_file_cache: 'false',
    };
    if (opts.threads) config.threads = String(opts.threads);
    if (opts.memoryLimit) config.memory_limit = opts.memoryLimit;
    // An in-memory database spills to `.tmp` in the working directory by default: a user's folder, or Lambda's
    // read-only task root. The OS temp directory instead (created only when a query spills).
    if (opts.path === undefined || opts.path === ':memory:') config.temp_directory = path.join(tmpdir(), `seclake-duckdb-${process.pid}`);
    api ??= await import('@duckdb/node-api');
    const instance = await api.DuckDBInstance.create(opts.path ?? ':memory:', config);
    const con = await instance.connect();
    if (opts.trino !== false) {
      try {
        await con.run(TRINO_SESSION_SQL);
      } catch (err) {
        con.closeSync();
        instance.closeSync();
        throw sqlError(err, 'defining the Trino functions');
      }
    }
    return new Duck(instance, con);
  }

  /** Run a statement; no result rows. */
  async run(sql: string, params?: SqlParams): Promise<void> {
    try {
      await this.con.run(sql, params);
    } catch (err) {
      throw sqlError(err);
    }
  }

  /** Run a query and return all rows as plain JS objects (BIGINT as number when it fits). */
  async all(sql: string, params?: SqlParams): Promise<Row[]> {
    try {
      const reader = await this.con.runAndReadAll(sql, params);
      return reader.getRowObjectsJS().map((r) => normalize(r) as Row);
    } catch (err) {
      throw sqlError(err);
    }
  }

  /** Column names and DuckDB type names of a query's result. */
  async describe(sql: string, params?: SqlParams): Promise<{ name: string; type: string }[]> {
    let reader;
    try {
      reader = await this.con.runAndReadUntil(sql, 0, params);
    } catch (err) {
      throw sqlError(err);
    }
    return reader.columnNames().map((name, i) => ({ name, type: reader.columnTypes()[i]!.toString() }));
  }

  /**
   * Stream a query's rows in chunks (bounded memory). Each chunk is an array of row arrays in column order.
   */
  async *stream(sql: string, params?: SqlParams): AsyncGenerator<{ columns: string[]; rows: unknown[][] }> {
    let result;
    try {
      result = await this.con.stream(sql, params);
    } catch (err) {
      throw sqlError(err);
    }
    const columns = result.columnNames();
    while (true) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      yield { columns, rows: chunk.convertRows(api!.JSDuckDBValueConverter).map((r) => r.map(normalize)) };
    }
  }

  /**
   * Stream a query column-wise (bounded memory): per DuckDB chunk, one array of values per column, converted with
   * the JS converter but not normalized (BIGINT stays bigint, nested values as the converter gives them). For hot
   * loops over a few scalar columns: no per-row array or object is built.
   */
  async *streamColumns(sql: string, params?: SqlParams): AsyncGenerator<{ columns: string[]; rowCount: number; data: unknown[][] }> {
    let result;
    try {
      result = await this.con.stream(sql, params);
    } catch (err) {
      throw sqlError(err);
    }
    const columns = result.columnNames();
    while (true) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const data: unknown[][] = [];
      for (let c = 0; c < columns.length; c++) data.push(chunk.convertColumnValues(c, api!.JSDuckDBValueConverter));
      yield { columns, rowCount: chunk.rowCount, data };
    }
  }

  /**
   * Open a streaming result: column names and DuckDB type names up front (also for a result with no rows), then
   * `next()` gives one chunk's rows (row arrays, normalized as `stream` does) or null at the end. Stop reading at any
   * point to abandon the rest (the caller may also `con.interrupt()`); nothing beyond the chunk read is materialised
   * in JavaScript.
   */
  async openStream(sql: string, params?: SqlParams): Promise<{ columns: string[]; types: string[]; next(): Promise<unknown[][] | null> }> {
    let result;
    try {
      result = await this.con.stream(sql, params);
    } catch (err) {
      throw sqlError(err);
    }
    const columns = result.columnNames();
    const types = result.columnTypes().map((t) => t.toString());
    return {
      columns,
      types,
      async next() {
        let chunk;
        try {
          chunk = await result.fetchChunk();
        } catch (err) {
          throw sqlError(err);
        }
        if (!chunk || chunk.rowCount === 0) return null;
        return chunk.convertRows(api!.JSDuckDBValueConverter).map((r) => r.map(normalize));
      },
    };
  }

  /**
   * Append rows to an existing table through the DuckDB appender (no SQL text, no staging file). Each row holds one
   * value per column, in the table's column order; `types` names each column's type: VARCHAR, BIGINT, INTEGER,
   * DOUBLE or BOOLEAN. null/undefined append NULL; numbers for integer columns are rounded (as a cast would).
   */
  async appendRows(table: string, types: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
    let appender;
    try {
      appender = await this.con.createAppender(table);
    } catch (err) {
      throw new LakeError(`SQL failed: cannot append to ${table}: ${errorMessage(err)}`, { cause: err });
    }
    try {
      for (const row of rows) {
        for (let c = 0; c < types.length; c++) {
          const v = row[c];
          if (v === null || v === undefined) {
            appender.appendNull();
            continue;
          }
          switch (types[c]) {
            case 'VARCHAR':
              appender.appendVarchar(typeof v === 'string' ? v : String(v));
              break;
            case 'BIGINT':
              appender.appendBigInt(typeof v === 'bigint' ? v : BigInt(Math.round(Number(v))));
              break;
            case 'INTEGER':
              appender.appendInteger(Math.round(Number(v)));
              break;
            case 'DOUBLE':
              appender.appendDouble(Number(v));
              break;
            case 'BOOLEAN':
              appender.appendBoolean(Boolean(v));
              break;
            default:
              throw new LakeError(`appendRows: unsupported column type ${types[c]}`);
          }
        }
        appender.endRow();
      }
      appender.flushSync();
    } catch (err) {
      if (err instanceof LakeError) throw err;
      throw new LakeError(`SQL failed: appending to ${table}: ${errorMessage(err)}`, { cause: err });
    } finally {
      appender.closeSync();
    }
  }

  close(): void {
    try {
      this.con.closeSync();
    } finally {
      this.instance.closeSync();
    }
  }
}

/** BigInt -> number when safe; recurse into arrays and plain objects. */
export function normalize(v: unknown): unknown {
  if (typeof v === 'bigint') {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = normalize(x);
    return out;
  }
  return v;
}
