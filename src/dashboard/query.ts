/**
 * The dashboard's query box: SQL over the lake views, read-only, in two layers.
 *
 * 1. The text must be one statement of a reading kind (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE,
 *    TABLE) and must not contain a writing or configuring keyword outside string literals and quoted names.
 * 2. It runs on its own in-memory DuckDB whose file access is limited to the lake directory
 *    (`allowed_directories` + `enable_external_access = false`) with the configuration then locked, so even a
 *    statement that slipped past (1) can neither read nor write anything outside the lake, nor load extensions.
 *
 * Rows are streamed and cut at the row limit; a query running longer than the time limit is interrupted.
 */
import path from 'node:path';
import { HttpError, errorMessage } from '../core/errors.js';
import { quoteString } from '../lake/duckdb.js';
import { openLakeQuery } from '../lake/views.js';

export const DEFAULT_ROW_LIMIT = 500;
export const MAX_ROW_LIMIT = 10_000;
export const MAX_SQL_CHARS = 20_000;
export const DEFAULT_QUERY_TIMEOUT_MS = 20_000;

const READ_KEYWORDS = new Set(['SELECT', 'WITH', 'FROM', 'VALUES', 'DESCRIBE', 'DESC', 'SHOW', 'SUMMARIZE', 'TABLE', 'EXPLAIN']);
/** Words that start a writing, configuring or file-touching statement. */
const DENIED_WORDS = [
  'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'UPSERT', 'CREATE', 'DROP', 'ALTER', 'TRUNCATE', 'COPY', 'EXPORT', 'IMPORT',
  'ATTACH', 'DETACH', 'INSTALL', 'LOAD', 'PRAGMA', 'SET', 'RESET', 'CALL', 'CHECKPOINT', 'VACUUM', 'USE', 'GRANT',
  'REVOKE', 'BEGIN', 'COMMIT', 'ROLLBACK', 'ABORT', 'PREPARE', 'EXECUTE', 'DEALLOCATE',
];
const DENIED_RE = new RegExp(`\\b(${DENIED_WORDS.join('|')})\\b`, 'i');

export class QueryRefusedError extends HttpError {
  constructor(message: string) {
    super(400, 'QueryRefused', message);
    this.name = 'QueryRefusedError';
  }
}

/**
 * The statement with comments removed and the contents of string literals, quoted identifiers and dollar-quoted
 * strings blanked (their quotes kept), so keywords can be looked for in what DuckDB will parse as code.
 * Throws QueryRefusedError for an unterminated literal or comment.
 */
export function codeOnly(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end;
      out += ' ';
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new QueryRefusedError('Unterminated /* comment');
      i = end + 2;
      out += ' ';
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= n) throw new QueryRefusedError(`Unterminated ${c === "'" ? 'string literal' : 'quoted identifier'}`);
        if (sql[j] === c) {
          if (sql[j + 1] === c) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      out += c + ' '.repeat(j - i - 1) + c;
      i = j + 1;
    } else if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 66));
      if (m && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? ' ')) {
        const tag = m[0];
        const end = sql.indexOf(tag, i + tag.length);
        if (end < 0) throw new QueryRefusedError('Unterminated dollar-quoted string');
        out += "''";
        i = end + tag.length;
      } else {
        out += c;
        i++;
      }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Checks the statement is one read-only statement; returns it without a trailing semicolon. */
export function checkReadOnly(sql: string): string {
  if (sql.length > MAX_SQL_CHARS) throw new QueryRefusedError(`The query is too long (${sql.length} characters; at most ${MAX_SQL_CHARS})`);
  if (sql.includes('\0')) throw new QueryRefusedError('The query contains a NUL character');
  const code = codeOnly(sql);
  const trimmed = code.replace(/[\s;]+$/, '');
  if (trimmed.trim() === '') throw new QueryRefusedError('The query is empty');
  if (trimmed.includes(';')) throw new QueryRefusedError('Only one statement is allowed (remove the semicolon in the middle)');
  const first = /^[\s(]*([A-Za-z]+)/.exec(trimmed)?.[1]?.toUpperCase();
  if (first === undefined || !READ_KEYWORDS.has(first)) {
    throw new QueryRefusedError(`Only reading statements are allowed (SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE); this one starts with ${first ?? 'something else'}`);
  }
  const denied = DENIED_RE.exec(trimmed);
  if (denied) throw new QueryRefusedError(`The query is read-only: ${denied[1]!.toUpperCase()} is not allowed`);
  // Cut the trailing semicolons off the original text at the same length as the code view.
  const cut = code.length - code.replace(/[\s;]+$/, '').length;
  return sql.slice(0, sql.length - cut);
}

export interface QueryResult {
  columns: string[];
  types: string[];
  rows: unknown[][];
  /** More rows existed beyond the limit. */
  truncated: boolean;
  limit: number;
  elapsed_ms: number;
}

export interface QueryOptions {
  limit?: number;
  timeoutMs?: number;
}

/** Runs one checked read-only statement over the lake in a sandboxed DuckDB. Errors come back as HttpError 400. */
export async function runLakeQuery(lakeDir: string, sqlText: string, opts: QueryOptions = {}): Promise<QueryResult> {
  const sql = checkReadOnly(sqlText);
  const limit = Math.max(1, Math.min(MAX_ROW_LIMIT, Math.floor(opts.limit ?? DEFAULT_ROW_LIMIT)));
  const t0 = performance.now();
  const db = await openLakeQuery(lakeDir);
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  try {
    const root = path.resolve(lakeDir) + path.sep;
    await db.run(`SET allowed_directories = [${quoteString(root)}]`);
    await db.run('SET enable_external_access = false');
    await db.run('SET threads = 2');
    await db.run("SET memory_limit = '1GB'");
    await db.run('SET lock_configuration = true');
    timer = setTimeout(() => {
      timedOut = true;
      db.con.interrupt();
    }, opts.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS);
    const rows: unknown[][] = [];
    let columns: string[] = [];
    let truncated = false;
    for await (const chunk of db.stream(sql)) {
      columns = chunk.columns;
      for (const r of chunk.rows) {
        if (rows.length >= limit) {
          truncated = true;
          break;
        }
        rows.push(r);
      }
      if (truncated) break;
    }
    let types: string[] = [];
    if (columns.length === 0 || rows.length === 0) {
      // A result with no rows still has columns: ask for them.
      const d = await db.describe(sql).catch(() => []);
      columns = d.map((c) => c.name);
      types = d.map((c) => c.type);
    }
    return { columns, types, rows, truncated, limit, elapsed_ms: Math.round(performance.now() - t0) };
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (timedOut) throw new HttpError(400, 'QueryTimeout', `The query ran longer than ${Math.round((opts.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS) / 1000)} s and was stopped`);
    throw new HttpError(400, 'QueryFailed', errorMessage(err).replace(/^SQL failed: /, ''));
  } finally {
    if (timer) clearTimeout(timer);
    db.close();
  }
}
