/**
 * The dashboard's query box: SQL over the lake views, read-only, in two layers.
 *
 * 1. The text must be one statement of a reading kind (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE,
 *    TABLE) and must not contain a writing or configuring keyword outside string literals and quoted names.
 * 2. It runs on its own in-memory DuckDB whose file access is limited to the lake directory
 *    (`allowed_directories` + `enable_external_access = false`) with the configuration then locked, so even a
 *    statement that slipped past (1) can neither read nor write anything outside the lake, nor load extensions.
 *
 * Rows are streamed and cut at the row limit and at a byte budget (the rows as JSON, 16 MiB by default); a
 * SELECT-like statement is wrapped in a LIMIT so DuckDB stops producing rows there too. A query running longer than
 * the time limit is interrupted.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError, errorMessage } from '../core/errors.js';
import { quoteString } from '../lake/duckdb.js';
import { openLakeQuery } from '../lake/views.js';
// The views registered by layers above the lake (registerLakeView) are process state: the query child process must
// register them too, by importing their modules. Today that is the flat `findings` view.
import '../findings/view.js';

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
  /** More rows existed beyond what is returned (see truncated_reason). */
  truncated: boolean;
  /** Why the rows stop early: the row limit, or the byte budget of the JSON rows; null when complete. */
  truncated_reason: 'row_limit' | 'byte_budget' | null;
  limit: number;
  /** The byte budget of the rows, as JSON. */
  max_bytes: number;
  elapsed_ms: number;
}

export interface QueryOptions {
  limit?: number;
  timeoutMs?: number;
  /** Byte budget of the result rows as JSON (default DEFAULT_MAX_RESULT_BYTES). */
  maxBytes?: number;
  /** Memory ceiling of the query process (resident set; default DEFAULT_MAX_QUERY_MEMORY_BYTES). */
  maxMemoryBytes?: number;
}

/** Default memory ceiling of the process running a query-box statement: 2 GiB resident. */
export const DEFAULT_MAX_QUERY_MEMORY_BYTES = 2 * 1024 ** 3;

/** Default byte budget of a query-box result (the rows as JSON): 16 MiB. */
export const DEFAULT_MAX_RESULT_BYTES = 16 * 1024 * 1024;

const jsonReplacer = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/** Statements that can be wrapped as a subquery, so DuckDB itself stops after the row limit. */
const WRAPPABLE = new Set(['SELECT', 'WITH', 'FROM', 'VALUES', 'TABLE']);

/**
 * The statement as DuckDB should run it: a SELECT-like statement wrapped in `SELECT * FROM (...) LIMIT n` (the
 * newlines keep a trailing `--` comment from swallowing the parenthesis), so the engine produces at most `n` rows
 * instead of buffering a whole wide result ahead of the stream; other reading statements as they are.
 */
export function limitedSql(sql: string, n: number): string {
  const first = /^[\s(]*([A-Za-z]+)/.exec(codeOnly(sql))?.[1]?.toUpperCase();
  return first !== undefined && WRAPPABLE.has(first) ? `SELECT * FROM (\n${sql}\n) LIMIT ${n}` : sql;
}

/**
 * Runs one checked read-only statement over the lake in a sandboxed DuckDB. Errors come back as HttpError 400.
 * Rows are streamed chunk by chunk and kept until the row limit or the byte budget (the rows as JSON) is reached;
 * then the stream is abandoned and the query interrupted, and the result says it was truncated and why.
 */
export async function runLakeQueryInProcess(lakeDir: string, sqlText: string, opts: QueryOptions = {}): Promise<QueryResult> {
  const sql = checkReadOnly(sqlText);
  const limit = Math.max(1, Math.min(MAX_ROW_LIMIT, Math.floor(opts.limit ?? DEFAULT_ROW_LIMIT)));
  const maxBytes = Math.max(1024, Math.floor(opts.maxBytes ?? DEFAULT_MAX_RESULT_BYTES));
  const t0 = performance.now();
  const db = await openLakeQuery(lakeDir);
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  try {
    const root = path.resolve(lakeDir) + path.sep;
    await db.run(`SET allowed_directories = [${quoteString(root)}]`);
    // DuckDB always allows its temp directory (an in-memory database's is `.tmp` under the working directory): no
    // spilling, so nothing but the lake is readable.
    await db.run("SET temp_directory = ''");
    await db.run('SET enable_external_access = false');
    await db.run('SET threads = 2');
    await db.run("SET memory_limit = '1GB'");
    await db.run('SET lock_configuration = true');
    timer = setTimeout(() => {
      timedOut = true;
      db.con.interrupt();
    }, opts.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS);
    const stream = await db.openStream(limitedSql(sql, limit + 1));
    const rows: unknown[][] = [];
    let bytes = 2; // []
    let reason: QueryResult['truncated_reason'] = null;
    for (let chunk = await stream.next(); chunk; chunk = await stream.next()) {
      for (const r of chunk) {
        if (rows.length >= limit) {
          reason = 'row_limit';
          break;
        }
        bytes += Buffer.byteLength(JSON.stringify(r, jsonReplacer)) + 1;
        if (bytes > maxBytes) {
          reason = 'byte_budget';
          break;
        }
        rows.push(r);
      }
      if (reason) {
        // Stop the engine: the rest of the result is not wanted.
        db.con.interrupt();
        break;
      }
    }
    return {
      columns: stream.columns,
      types: stream.types,
      rows,
      truncated: reason !== null,
      truncated_reason: reason,
      limit,
      max_bytes: maxBytes,
      elapsed_ms: Math.round(performance.now() - t0),
    };
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (timedOut) throw new HttpError(400, 'QueryTimeout', `The query ran longer than ${Math.round((opts.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS) / 1000)} s and was stopped`);
    throw new HttpError(400, 'QueryFailed', errorMessage(err).replace(/^SQL failed: /, ''));
  } finally {
    if (timer) clearTimeout(timer);
    db.close();
  }
}

const CHILD_FLAG = '--seclake-query-child';

/** Resident set of a process in bytes (Linux /proc), or undefined where that cannot be read. */
function residentBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs one checked read-only statement over the lake in a sandboxed DuckDB in a child process (see
 * runLakeQueryInProcess for the row limit and the byte budget). DuckDB does not hold every allocation to its
 * memory_limit, nor stop inside one huge value when interrupted (`SELECT range(0, 300000000)` is one row holding a
 * 300-million-element list), so the child's resident memory is watched and the child killed past the ceiling
 * (default 2 GiB); the answer is then an HttpError 400 QueryTooLarge. Errors come back as HttpError 400.
 */
/** Flags that take the next argument as their value, and that the query child needs (module loaders, conditions). */
const LOADER_FLAGS_WITH_VALUE = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r', '--conditions', '-C']);

/**
 * The parent's Node flags the query child needs to load this module (tsx's `--import`, loaders, conditions) and
 * nothing else: not `-e`/`-p` code (the child would run the parent's script again, and that one spawn again), not the
 * test runner or the inspector.
 */
export function loaderArgs(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (LOADER_FLAGS_WITH_VALUE.has(a) && i + 1 < execArgv.length) {
      out.push(a, execArgv[++i]!);
    } else if ([...LOADER_FLAGS_WITH_VALUE].some((f) => f.startsWith('--') && a.startsWith(`${f}=`)) || a === '--enable-source-maps' || a === '--no-warnings') {
      out.push(a);
    }
  }
  return out;
}

export async function runLakeQuery(lakeDir: string, sqlText: string, opts: QueryOptions = {}): Promise<QueryResult> {
  checkReadOnly(sqlText);
  const ceiling = Math.max(64 * 1024 * 1024, Math.floor(opts.maxMemoryBytes ?? DEFAULT_MAX_QUERY_MEMORY_BYTES));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const execArgv = loaderArgs(process.execArgv);
  const child = spawn(process.execPath, [...execArgv, fileURLToPath(import.meta.url), CHILD_FLAG], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.length < 64 && err.push(b));
  child.stdin.on('error', () => {});
  child.stdin.end(JSON.stringify({ lakeDir, sql: sqlText, opts: { ...opts, maxMemoryBytes: undefined } }));
  let killedFor: 'memory' | 'time' | undefined;
  let peak = 0;
  const watch = setInterval(() => {
    const rss = child.pid !== undefined ? residentBytes(child.pid) : undefined;
    if (rss !== undefined && rss > peak) peak = rss;
    if (rss !== undefined && rss > ceiling && !killedFor) {
      killedFor = 'memory';
      child.kill('SIGKILL');
    }
  }, 25);
  // The child interrupts itself at the time limit; this is the backstop for a statement that does not notice.
  const backstop = setTimeout(() => {
    if (!killedFor) {
      killedFor = 'time';
      child.kill('SIGKILL');
    }
  }, timeoutMs + 5000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c));
    });
    if (killedFor === 'memory') {
      throw new HttpError(400, 'QueryTooLarge', `The query used more than ${Math.round(ceiling / 1024 ** 2)} MiB of memory and was stopped (a huge value or intermediate result; add a LIMIT or aggregate)`);
    }
    if (killedFor === 'time') throw new HttpError(400, 'QueryTimeout', `The query ran longer than ${Math.round(timeoutMs / 1000)} s and was stopped`);
    let answer: { result?: QueryResult; error?: { status: number; code: string; message: string } };
    try {
      answer = JSON.parse(Buffer.concat(out).toString('utf8')) as typeof answer;
    } catch {
      throw new HttpError(500, 'QueryFailed', `The query process ended without an answer (exit ${code ?? 'signal'}): ${Buffer.concat(err).toString('utf8').slice(0, 500)}`);
    }
    if (answer.error) throw new HttpError(answer.error.status, answer.error.code, answer.error.message);
    return answer.result!;
  } finally {
    clearInterval(watch);
    clearTimeout(backstop);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** The child process: reads {lakeDir, sql, opts} on stdin, writes {result} or {error} on stdout. */
async function childMain(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { lakeDir: string; sql: string; opts: QueryOptions };
  let answer: unknown;
  try {
    answer = { result: await runLakeQueryInProcess(req.lakeDir, req.sql, req.opts) };
  } catch (e) {
    answer = e instanceof HttpError ? { error: { status: e.status, code: e.errorType, message: e.message } } : { error: { status: 400, code: 'QueryFailed', message: errorMessage(e) } };
  }
  process.stdout.write(JSON.stringify(answer, jsonReplacer), () => process.exit(0));
}

if (process.argv[2] === CHILD_FLAG && process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void childMain();
}
