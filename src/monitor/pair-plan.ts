/**
 * The SQL a processor runs on an object for a record definition (src/detectors/pairs/definitions.ts): per object, the pair query
 * of each spec of its source that binds to the object's columns, and the evidence query.
 *
 * - `pairs` reads only entity, ip, time (ms) and row number, as the comma-joined JSON arrays of SCORE_BATCH rows (a
 *   single string per batch crosses from DuckDB to JS instead of two strings per row, which dominated the cost);
 * - `evidence` reads the evidence columns of given rows (only records that may become findings need them, and nested
 *   structs are the costly part to decode).
 *
 * Plans are cached by source and object schema: objects of one source share a schema, so after the first object a
 * new one costs a single schema probe. The plan the last object of a source used is tried first, without a probe;
 * a query that does not bind to an object (SqlBindError: a column it names is missing) falls back to the probe. The
 * expressions are operator configuration (like a view definition), never log data; the file path is bound.
 *
 * An object lacks the OCSF attributes none of its records has (a VPC flow object of ingress REJECTs only has no
 * `src_endpoint.instance_uid`): a spec that does not bind is tried again over the object with the attributes it names
 * and the object lacks read as typed NULLs (src/lake/columns.ts: the object read with the lake's table schema of its
 * classes, as the views read it), so the object gives the pairs it has. Such a
 * plan fits that schema only, so it is never the source's "last plan" tried without a probe. Names the OCSF schema
 * does not know stay unbound: the object is skipped and said (onUnbound).
 */
import { ConfigError } from '../core/errors.js';
import { log } from '../core/log.js';
import { specsForSource, type PairQuerySpec, type PairSpec } from '../detectors/pairs/definitions.js';
import { absentFieldsSelect, columnPathsOf } from '../lake/columns.js';
import { SqlBindError, type Duck } from '../lake/duckdb.js';

/**
 * Source columns read for a finding's evidence when the object has them: what buildFinding uses (the endpoints,
 * connection, query/actor/api, cloud, class and `metadata.uid`). Read only for the rows that may become findings.
 */
export const EVIDENCE_COLUMNS: readonly string[] = ['class_uid', 'cloud', 'src_endpoint', 'dst_endpoint', 'connection_info', 'query', 'actor', 'api'];

/** Rows per JSON batch read from DuckDB (and per scoreBatch call). */
export const SCORE_BATCH = 8192;

/** The queries for one object. */
export interface Plan {
  pairs: string;
  evidence: ((rows: readonly number[]) => string) | undefined;
  /** Attributes the object lacks that the pair query reads as NULL (dotted paths; empty: none). */
  absent: readonly string[];
}

const READ = 'read_parquet($1, file_row_number = true)';
const FROM = ` FROM ${READ}`;

/** What a plan is built from: the object's schema and, asked for only when a spec does not bind, its OCSF classes. */
interface ObjectInfo {
  file: string;
  schema: readonly { name: string; type: string }[];
  cols: ReadonlySet<string>;
  classUids(): Promise<number[]>;
}

/** Whether a query binds against this object: its columns, or undefined when it names a column the object lacks. */
async function binds(db: Duck, sql: string, file: string): Promise<{ name: string; type: string }[] | undefined> {
  try {
    return await db.describe(sql, [file]);
  } catch (err) {
    if (err instanceof SqlBindError) return undefined;
    throw err;
  }
}

/** The pair query of a spec over `from` (a FROM clause naming the object as $1). */
async function specQuery(db: Duck, obj: ObjectInfo, spec: PairSpec | PairQuerySpec, from: string): Promise<string | undefined> {
  const file = obj.file;
  if ('sql' in spec) {
    const inner = `WITH events AS (SELECT *${from}) ${spec.sql.trim().replace(/;+$/, '')}`;
    const described = await binds(db, inner, file);
    if (!described) return undefined;
    const out = new Map(described.map((c) => [c.name, c.type]));
    const missing = ['entity', 'ip', 'row'].filter((c) => !out.has(c));
    if (missing.length) throw new ConfigError(`the pair query must return the columns entity, ip and row (file_row_number); missing: ${missing.join(', ')}`, ['pairs.sql']);
    const tt = out.get('time');
    // Event time in ms: OCSF's BIGINT as is, a TIMESTAMP (any precision, with or without time zone) or DATE through
    // epoch_ms (a TIMESTAMP WITH TIME ZONE is not cast: that would shift it by the session's zone), else dropped.
    const time =
      tt === undefined ? 'NULL' : /^TIMESTAMP/.test(tt) ? 'epoch_ms(q."time")' : tt === 'DATE' ? 'epoch_ms(q."time"::TIMESTAMP)' : /INT|DOUBLE|FLOAT|DECIMAL/.test(tt) ? 'q."time"' : 'NULL';
    const pairs = `WITH events AS (SELECT *${from}) SELECT q.entity, q.ip, ${time} AS "time", q."row" AS file_row_number FROM (${spec.sql.trim().replace(/;+$/, '')}) q`;
    return (await binds(db, pairs, file)) ? pairs : undefined;
  }
  const pairs = `SELECT (${spec.entity}) AS entity, (${spec.ip}) AS ip, ${obj.cols.has('time') ? '"time"' : 'NULL'} AS "time", file_row_number` + from + (spec.where ? ` WHERE ${spec.where}` : '');
  return (await binds(db, pairs, file)) ? pairs : undefined;
}

/** The statement whose column paths a spec reads (for absentFieldsSelect). */
function specStatement(spec: PairSpec | PairQuerySpec): string {
  if ('sql' in spec) return spec.sql.trim().replace(/;+$/, '');
  return `SELECT (${spec.entity}), (${spec.ip}) FROM events${spec.where ? ` WHERE ${spec.where}` : ''}`;
}

/**
 * One spec's pair query over the object (entity, ip, time, file_row_number), or undefined when it does not bind even
 * with the OCSF attributes it names and the object lacks read as NULL (then `absent` lists those attributes).
 */
async function specPairs(db: Duck, obj: ObjectInfo, spec: PairSpec | PairQuerySpec): Promise<{ sql: string; absent: string[] } | undefined> {
  const direct = await specQuery(db, obj, spec, FROM);
  if (direct !== undefined) return { sql: direct, absent: [] };
  const completion = absentFieldsSelect(obj.schema, await columnPathsOf(db, specStatement(spec)), await obj.classUids());
  if (!completion) return undefined;
  const sql = await specQuery(db, obj, spec, ` FROM (SELECT ${completion.select} FROM ${READ})`);
  return sql === undefined ? undefined : { sql, absent: completion.absent };
}

async function buildPlan(db: Duck, obj: ObjectInfo, applicable: readonly (PairSpec | PairQuerySpec)[]): Promise<Plan | undefined> {
  const { file, cols } = obj;
  // One pair query per spec of the object's source that binds (UNION ALL when several do).
  const parts: string[] = [];
  const absent = new Set<string>();
  for (const spec of applicable) {
    const part = await specPairs(db, obj, spec);
    if (part === undefined) continue;
    parts.push(part.sql);
    for (const a of part.absent) absent.add(a);
  }
  if (parts.length === 0) return undefined;
  const pairs = parts.length === 1 ? parts[0]! : parts.map((p) => `SELECT * FROM (${p})`).join(' UNION ALL ');
  const batches =
    // The rows of a batch as JSON arrays joined by commas (the scorer adds the brackets): cheaper than json_group_array.
    `SELECT string_agg(json_array(p.entity, p.ip, p."time", p.file_row_number)::VARCHAR, ',') AS batch FROM (${pairs}) p ` +
    `GROUP BY p.file_row_number // ${SCORE_BATCH}`;
  const ev = EVIDENCE_COLUMNS.some((c) => cols.has(c)) ? [`COLUMNS(c -> c IN (${EVIDENCE_COLUMNS.map((c) => `'${c}'`).join(', ')}))`] : [];
  // Only metadata.uid is used (the event uid); the whole struct (lists of profiles...) costs more to decode.
  if (cols.has('metadata') && (await binds(db, `SELECT metadata.uid FROM read_parquet($1) LIMIT 0`, file))) ev.push('metadata.uid AS "metadata.uid"');
  // Row numbers are integers this process produced, so they are written into the IN list directly.
  const evidence = ev.length ? (rows: readonly number[]) => `SELECT file_row_number, ${ev.join(', ')}${FROM} WHERE file_row_number IN (${rows.map((r) => String(Math.trunc(r))).join(',')})` : undefined;
  return { pairs: batches, evidence, absent: [...absent].sort() };
}

/** Plans for the specs of one record definition, cached by source and schema. */
export class PairPlanner {
  /** Plans by source and object schema; a schema that does not bind is cached as undefined. Cleared past 256. */
  private readonly plans = new Map<string, Plan | undefined>();
  /** The plan the last object of each source used, tried first without a schema probe. */
  private readonly last = new Map<string, Plan | undefined>();
  /** Sources and absent attributes already said (once each). */
  private readonly saidAbsent = new Set<string>();

  /** `onUnbound` is told (once per source and schema) when none of the specs binds to an object of a source they name. */
  constructor(
    private readonly specs: readonly (PairSpec | PairQuerySpec)[],
    private readonly onUnbound?: (source: string | undefined) => void,
  ) {}

  /** The plan for this object from its schema (one probe), or undefined when none of its source's specs binds. */
  async probe(db: Duck, file: string, source: string | undefined): Promise<Plan | undefined> {
    const schema = await db.describe('SELECT * FROM read_parquet($1) LIMIT 0', [file]);
    const sig = `${source ?? ''}\u0002` + schema.map((c) => `${c.name}\u0000${c.type}`).join('\u0001');
    if (this.plans.has(sig)) return this.plans.get(sig);
    const applicable = specsForSource(this.specs, source);
    const cols = new Set(schema.map((c) => c.name));
    let classes: Promise<number[]> | undefined;
    const classUids = (): Promise<number[]> =>
      (classes ??= cols.has('class_uid')
        ? db.all('SELECT DISTINCT class_uid::INTEGER AS c FROM read_parquet($1) WHERE class_uid IS NOT NULL LIMIT 16', [file]).then((rows) => rows.map((r) => Number(r.c)))
        : Promise.resolve([]));
    const plan = await buildPlan(db, { file, schema, cols, classUids }, applicable);
    // Said only when a spec names this source: a spec for every source may not fit some of them by design.
    if (!plan && applicable.some((sp) => sp.sources.length > 0)) this.onUnbound?.(source);
    if (plan && plan.absent.length > 0) this.sayAbsent(source, plan.absent);
    if (this.plans.size >= 256) this.plans.clear();
    this.plans.set(sig, plan);
    return plan;
  }

  /** Once per source and set of attributes: which attributes objects lack and are read as NULL. */
  private sayAbsent(source: string | undefined, absent: readonly string[]): void {
    const key = `${source ?? ''}\u0000${absent.join(',')}`;
    if (this.saidAbsent.has(key)) return;
    if (this.saidAbsent.size > 1000) this.saidAbsent.clear();
    this.saidAbsent.add(key);
    // Flow logs without flow-direction (v2-v4) have no direction: flow-peer reads no pair from them.
    const hint = absent.includes('connection_info.direction_id') ? ' (VPC flow logs without flow-direction, v2-v4, give flow-peer no pairs: use --pairs reference)' : '';
    log.info(`objects of ${source ?? 'an unknown source'} without ${absent.join(', ')} (no record has them): read as NULL${hint}`);
  }

  /**
   * The object's pair batches with the plan that produced them: the source's last plan first; when it does not bind
   * to this object, the probed one (for this object's schema).
   */
  async *batches(db: Duck, file: string, source: string | undefined): AsyncGenerator<{ plan: Plan; batch: string }> {
    const key = source ?? '';
    let plan = this.last.get(key);
    let probed = false;
    if (plan === undefined) {
      plan = await this.probe(db, file, source);
      probed = true;
    }
    for (;;) {
      if (!plan) return;
      let first = true;
      try {
        for await (const chunk of db.streamColumns(plan.pairs, [file])) {
          first = false;
          const col = chunk.data[0]!;
          for (let b = 0; b < chunk.rowCount; b++) yield { plan, batch: String(col[b]) };
        }
        // A plan reading absent attributes as NULL fits its schema only: the next object of the source probes.
        if (plan.absent.length === 0) this.last.set(key, plan);
        return;
      } catch (err) {
        if (probed || !first || !(err instanceof SqlBindError)) throw err;
        plan = await this.probe(db, file, source);
        probed = true;
      }
    }
  }
}
