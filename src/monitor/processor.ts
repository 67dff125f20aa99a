/**
 * The monitor's per-object step: one OCSF Parquet object (a local file: a lake object, or an S3 object downloaded to a
 * temp file) -> its (entity, IP) pairs -> scores -> calibrated annotations -> ScoredRecords -> findings.
 *
 * Pairs follow a record definition (src/detectors/pairs.ts, shared with training): one or more PairSpecs, each SQL
 * expressions for the entity and the IP plus a filter, over the object's columns, for the lake sources it names; an
 * object is read with the specs of its source. The default (`default`) is `flow-peer` for VPC flow objects plus
 * `user-login` for CloudTrail. The source row's endpoint/connection columns become the finding's evidence.
 *
 * Per object: the pair query runs in DuckDB and hands over the JSON arrays of 8,192 rows at a time (a string per
 * batch crosses into JS, not two per row); each batch is scored (inline, or on the processor's scoring worker: scorer.ts); only the
 * records that may become findings are kept (the rest are counted), and their evidence columns are read back by row
 * number. `score` does that and depends on no state, so a monitor can score the next objects while `emit` (policy,
 * findings object, sinks) handles this one, in order. The FindingPolicy `emit` feeds keeps the dedup and new-entity
 * state, which the caller snapshots and restores around retries and checkpoints (see embedded.ts).
 */
import path from 'node:path';
import { ConfigError, errorMessage } from '../core/errors.js';
import { loadModel } from '../detectors/index.js';
import type { DetectorModel } from '../detectors/types.js';
import { DEFAULT_PAIR_DEFINITION, specApplies, specsForSource, specsOf, type PairDefinition, type PairQuerySpec, type PairSpec } from '../detectors/pairs.js';
import { Duck } from '../lake/duckdb.js';
import type { BatchResult } from './score-batch.js';
import { inlineScorer, workerScorer } from './scorer.js';
import { emitFindings, type EmitResult } from '../findings/emit.js';
import { modelRefOf } from '../findings/model-ref.js';
import { FindingPolicy, type FindingPolicyOptions, type UnflaggedRecords } from '../findings/policy.js';
import type { FindingsPartition } from '../findings/lake.js';
import type { DetectionFinding, EntityHistory, ModelRef, ScoredRecord, Sink, SourceRef } from '../findings/types.js';

/** What the per-object processor reports. */
export interface ProcessResult {
  /** Rows the pair query returned (pairs before the IP check). */
  rows: number;
  /** Pairs scored. */
  pairs: number;
  scored: number;
  findings: DetectionFinding[];
  /** Pairs whose IP did not parse (skipped, counted). */
  badIps?: number;
  /** Lake-relative key of the findings object (written only when there are findings and a lake). */
  findingsKey?: string;
  /** Sinks that failed for this object. */
  sinkErrors?: string[];
}

/** The per-object processor: a local Parquet file (the object) and its reference -> findings. */
export type ProcessObjectFn = (localParquetPath: string, ref: SourceRef) => Promise<ProcessResult>;

// The pair record definitions live in src/detectors/pairs.ts (shared with training); re-exported for the monitor's callers.
export { PAIR_PRESETS, pairPreset, type PairSpec, type PairQuerySpec, type PairDefinition } from '../detectors/pairs.js';

/**
 * Source columns read for a finding's evidence when the object has them: what buildFinding uses (the endpoints,
 * connection, query/actor/api, cloud, class and `metadata.uid`). Read only for the rows that may become findings.
 */
export const EVIDENCE_COLUMNS: readonly string[] = ['class_uid', 'cloud', 'src_endpoint', 'dst_endpoint', 'connection_info', 'query', 'actor', 'api'];

/** Pairs per scorePairs call and rows per JSON batch read from DuckDB. */
const SCORE_BATCH = 8192;
/** Objects read at once (a monitor reads the next objects while it writes the findings of this one). */
export const SCAN_CONNECTIONS = 3;

export interface ProcessorOptions {
  /** A loaded model (of any detector) or a model file path. */
  model: DetectorModel | string;
  /** Model name/version for findings (default from the file: modelRefOf). */
  modelName?: string;
  /**
   * Pair definition: a definition name (src/detectors/pairs.ts), a definition, an expression spec or a query over
   * `events` (default `default`).
   */
  pairs?: PairDefinition | PairSpec | PairQuerySpec | string;
  /** A policy instance (shared state) or options for a new one. */
  policy?: FindingPolicy | FindingPolicyOptions;
  /** Publish findings objects into this local lake (omit: the caller stores them, e.g. in S3). */
  lakeDir?: string;
  sinks?: readonly Sink[];
  /** Disambiguate findings object keys when several models score the same objects. */
  keySuffix?: string;
  /**
   * Score pair batches on a worker thread (the main thread keeps reading objects and writing findings meanwhile).
   * Default false: inline, for one-shot callers (the SQS monitor's per-message steps, the Lambda handler).
   */
  scoreOnWorker?: boolean;
  /** Clock for finding times (tests). */
  now?: () => number;
}

/**
 * One object scored, before the finding policy has seen it: what `Processor.score` returns and `Processor.emit`
 * takes. Scoring reads the object and depends on no state, so a monitor can score the next object while it emits
 * this one; emitting (policy, lake, sinks) must follow object order.
 */
export interface ScoredObject {
  ref: SourceRef;
  source: string | undefined;
  rows: number;
  pairs: number;
  badIps: number;
  /** Records that may become findings, in row order, with their evidence. */
  records: ScoredRecord[];
  /** The other scored records, counted. */
  unflagged: UnflaggedRecords;
}

export interface Processor {
  /** score then emit. */
  process: ProcessObjectFn;
  /** Read and score an object (no policy state involved); up to three run at once. */
  score(localParquetPath: string, ref: SourceRef): Promise<ScoredObject>;
  /** Decide, build, write and send the findings of a scored object (in object order). */
  emit(scored: ScoredObject): Promise<ProcessResult>;
  readonly model: DetectorModel;
  readonly modelRef: ModelRef;
  /** The finding policy (dedup and new-entity state); replace it to restore a checkpointed state. */
  policy: FindingPolicy;
  /** The first spec of the definition (the only one for single-spec definitions). */
  readonly spec: PairSpec | PairQuerySpec;
  /** Every spec of the definition; an object is read with the specs of its source. */
  readonly specs: readonly (PairSpec | PairQuerySpec)[];
  /** Whether objects of this lake source are scored. */
  accepts(source: string | undefined): boolean;
  close(): void;
}

/** Lake source name from an object path (`aws/VPC_FLOW/2.0/...`, `ext/<name>/...`), if it follows the layout. */
export function sourceOfObject(objectPath: string): string | undefined {
  const m = /(?:^|\/)aws\/([A-Z0-9_]+)\/[^/]+\/region=/.exec(objectPath);
  if (m) return m[1];
  const e = /(?:^|\/)ext\/([^/]+)\/[^/]+\/region=/.exec(objectPath);
  return e ? `EXT_${e[1]}` : undefined;
}

/** Partition of an object path (`region=../accountId=../eventDay=..`), with 'unknown' for missing parts. */
export function partitionOfObject(objectPath: string): FindingsPartition {
  const get = (k: string): string => new RegExp(`(?:^|/)${k}=([^/]+)/`).exec(objectPath)?.[1] ?? 'unknown';
  return { region: get('region'), accountId: get('accountId'), eventDay: get('eventDay') };
}

/** JSON-safe copy of a DuckDB value (BigInt -> number, Date -> ms). */
function plain(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== null && x !== undefined) out[k] = plain(x);
    return out;
  }
  return v;
}

export async function createProcessor(opts: ProcessorOptions): Promise<Processor> {
  const model = typeof opts.model === 'string' ? await loadModel(opts.model) : opts.model;
  const modelRef = modelRefOf(model, opts.modelName ? { name: opts.modelName } : {});
  let policy = opts.policy instanceof FindingPolicy ? opts.policy : new FindingPolicy(opts.policy ?? {});
  const specs = specsOf(opts.pairs ?? DEFAULT_PAIR_DEFINITION);
  if (specs.length === 0) throw new ConfigError('the pair definition has no spec', ['pairs']);
  for (const spec of specs) {
    if ('sql' in spec) {
      if (typeof spec.sql !== 'string' || spec.sql.trim() === '') throw new ConfigError('the pair query is empty', ['pairs.sql']);
    } else {
      for (const k of ['entity', 'ip'] as const) {
        if (typeof spec[k] !== 'string' || spec[k].trim() === '') throw new ConfigError(`the pair definition needs an SQL expression for ${k}`, [`pairs.${k}`]);
      }
    }
  }
  const history: EntityHistory | undefined = model.history();
  const explain = model.explain.bind(model);
  const scorer = opts.scoreOnWorker ? workerScorer(model, () => policy, modelRef) : inlineScorer(model, () => policy, modelRef);
  // Starting the worker is part of starting up, like loading the model.
  await scorer.ready;
  /** Findings are written through this connection; objects are read through the scan pool (three at most at once). */
  const db = await Duck.open({ threads: 1 });
  const scanDbs: Duck[] = [];
  const idle: Duck[] = [];
  const waiting: ((d: Duck) => void)[] = [];
  let closed = false;
  /** Connections opened or being opened (counted before the await, so concurrent callers never open more). */
  let opened = 0;
  async function acquire(): Promise<Duck> {
    const free = idle.pop();
    if (free) return free;
    if (opened < SCAN_CONNECTIONS) {
      opened++;
      try {
        const d = await Duck.open({ threads: 1 });
        if (closed) {
          d.close();
          throw new Error('the processor is closed');
        }
        scanDbs.push(d);
        return d;
      } catch (err) {
        opened--;
        throw err;
      }
    }
    return new Promise((resolve) => waiting.push(resolve));
  }
  function release(d: Duck): void {
    const next = waiting.shift();
    if (next) next(d);
    else idle.push(d);
  }
  const entityCounts = new Map<string, number>();
  const countOf = (e: string): number => {
    let c = entityCounts.get(e);
    if (c === undefined) {
      c = model.entityInfo(e).count;
      if (entityCounts.size > 200_000) entityCounts.clear();
      entityCounts.set(e, c);
    }
    return c;
  };

  const accepts = (source: string | undefined): boolean => specs.some((sp) => specApplies(sp, source));

  /**
   * The queries for one object, or undefined when the object lacks the columns the definition needs: `pairs` reads
   * only entity, ip, time (ms) and row number, as the comma-joined JSON arrays of SCORE_BATCH rows (a single string
   * per batch crosses from DuckDB to JS instead of two strings per row, which dominated the cost); `evidence` reads the
   * evidence columns of given rows (only records that may become findings need them, and nested structs are the
   * costly part to decode).
   */
  type Plan = { pairs: string; evidence: ((rows: readonly number[]) => string) | undefined } | undefined;
  /**
   * Plans by source and object schema (column names and types): objects of one source share a schema, so after the first
   * object a new one costs a single schema probe instead of several. A schema that does not bind is cached too (as
   * undefined: its objects are skipped). Bounded: cleared past 256 schemas.
   */
  const plans = new Map<string, Plan>();
  /**
   * The plan the last object of each source used. Tried first, without a schema probe (~2-8 ms per object); a
   * Binder Error (a column it names is not in this object) falls back to the probe. An object of the same source
   * with extra evidence columns still gets them (the evidence query selects by name with COLUMNS).
   */
  const lastPlan = new Map<string, Plan>();
  async function planFor(db: Duck, file: string, source: string | undefined): Promise<Plan> {
    // The file path is bound as a parameter; the expressions are configuration.
    const schema = await db.describe('SELECT * FROM read_parquet($1) LIMIT 0', [file]);
    const sig = `${source ?? ''}\u0002` + schema.map((c) => `${c.name}\u0000${c.type}`).join('\u0001');
    if (plans.has(sig)) return plans.get(sig);
    const plan = await buildPlan(db, file, new Set(schema.map((c) => c.name)), specsForSource(specs, source));
    if (plans.size >= 256) plans.clear();
    plans.set(sig, plan);
    return plan;
  }
  /** Whether a query binds against this object (a Binder Error means a column it names is missing). */
  async function binds(db: Duck, sql: string, file: string): Promise<{ name: string; type: string }[] | undefined> {
    try {
      return await db.describe(sql, [file]);
    } catch (err) {
      if (/Binder Error/i.test(errorMessage(err))) return undefined;
      throw err;
    }
  }
  /** One spec's pair query over the object (entity, ip, time, file_row_number), or undefined when it does not bind. */
  async function specPairs(db: Duck, file: string, cols: ReadonlySet<string>, spec: PairSpec | PairQuerySpec, from: string): Promise<string | undefined> {
    let pairs: string;
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
      pairs = `WITH events AS (SELECT *${from}) SELECT q.entity, q.ip, ${time} AS "time", q."row" AS file_row_number FROM (${spec.sql.trim().replace(/;+$/, '')}) q`;
    } else {
      pairs =
        `SELECT (${spec.entity}) AS entity, (${spec.ip}) AS ip, ${cols.has('time') ? '"time"' : 'NULL'} AS "time", file_row_number` +
        from +
        (spec.where ? ` WHERE ${spec.where}` : '');
    }
    return (await binds(db, pairs, file)) ? pairs : undefined;
  }
  async function buildPlan(db: Duck, file: string, cols: ReadonlySet<string>, applicable: readonly (PairSpec | PairQuerySpec)[]): Promise<Plan> {
    const from = ' FROM read_parquet($1, file_row_number = true)';
    // One pair query per spec of the object's source that binds (UNION ALL when several do).
    const parts: string[] = [];
    for (const spec of applicable) {
      const part = await specPairs(db, file, cols, spec, from);
      if (part !== undefined) parts.push(part);
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
    const evidence = ev.length ? (rows: readonly number[]) => `SELECT file_row_number, ${ev.join(', ')}${from} WHERE file_row_number IN (${rows.map((r) => String(Math.trunc(r))).join(',')})` : undefined;
    return { pairs: batches, evidence };
  }

  async function score(localParquetPath: string, ref: SourceRef): Promise<ScoredObject> {
    if (closed) throw new Error('the processor is closed');
    const db = await acquire();
    try {
      return await scoreWith(db, localParquetPath, ref);
    } finally {
      release(db);
    }
  }

  /** Run a plan's pair query; a cached per-source plan that does not bind is replaced by a probed one. */
  async function* pairBatches(db: Duck, file: string, source: string | undefined): AsyncGenerator<{ plan: NonNullable<Plan>; batch: string }> {
    const key = source ?? '';
    let plan = lastPlan.get(key);
    let probed = false;
    if (plan === undefined) {
      plan = await planFor(db, file, source);
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
        lastPlan.set(key, plan);
        return;
      } catch (err) {
        if (probed || !first || !/Binder Error/i.test(errorMessage(err))) throw err;
        plan = await planFor(db, file, source);
        probed = true;
      }
    }
  }

  async function scoreWith(db: Duck, localParquetPath: string, ref: SourceRef): Promise<ScoredObject> {
    const source = ref.source ?? sourceOfObject(ref.object);
    const file = path.resolve(localParquetPath);
    const out: ScoredObject = { ref, source, rows: 0, pairs: 0, badIps: 0, records: [], unflagged: { records: 0, maxTime: -Infinity } };
    if (!accepts(source)) return out;
    let plan: Plan;
    // Batches go to the scorer as they arrive (on a worker they are scored while DuckDB reads on); results are merged
    // in arrival order, and the candidates sorted by row below.
    const pending: Promise<BatchResult>[] = [];
    for await (const b of pairBatches(db, file, source)) {
      plan = b.plan;
      const p = scorer.score(b.batch);
      p.catch(() => {});
      pending.push(p);
    }
    for (const r of await Promise.all(pending)) {
      out.rows += r.rows;
      out.pairs += r.pairs;
      out.badIps += r.badIps;
      out.unflagged.records += r.unflagged;
      if (r.unflaggedMaxTime > out.unflagged.maxTime) out.unflagged.maxTime = r.unflaggedMaxTime;
      for (const c of r.candidates) {
        const rec: ScoredRecord = {
          ref: { object: ref.object, row: c.row, ...(source ? { source } : {}) },
          entity: c.entity,
          ip: c.ip,
          time: c.time,
          native_score: c.native_score,
          entity_known: c.entity_known,
          entity_count: c.entity_known ? countOf(c.entity) : 0,
          event: {},
        };
        if (c.anomaly_percentile !== undefined) rec.anomaly_percentile = c.anomaly_percentile;
        if (c.is_anomaly !== undefined) rec.is_anomaly = c.is_anomaly;
        out.records.push(rec);
      }
    }
    if (out.pairs === 0 || !plan) return out;
    const records = out.records;
    // Batches (and rows within one) arrive in no particular order: the policy sees candidates in row order (first
    // occurrence wins), several pairs of one row (a custom query) by entity and IP, so the findings are the same each run.
    records.sort((a, b) => a.ref.row - b.ref.row || (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    // Evidence for the records that may become findings.
    if (records.length > 0) {
      try {
        await readEvidence(db, file, plan, records);
      } catch (err) {
        // The source's cached plan names an evidence column this object lacks: probe this object's schema.
        if (!/Binder Error/i.test(errorMessage(err))) throw err;
        const probed = await planFor(db, file, source);
        if (probed) await readEvidence(db, file, probed, records);
      }
    }
    return out;
  }

  /** Attach to each record the evidence columns of its source row. */
  async function readEvidence(db: Duck, file: string, plan: NonNullable<Plan>, records: readonly ScoredRecord[]): Promise<void> {
    const evidence = plan.evidence;
    if (!evidence) return;
    const byRow = new Map<number, ScoredRecord[]>();
    for (const c of records) {
      const list = byRow.get(c.ref.row);
      if (list) list.push(c);
      else byRow.set(c.ref.row, [c]);
    }
    const wanted = [...byRow.keys()];
    for (let i = 0; i < wanted.length; i += 2000) {
      for await (const chunk of db.stream(evidence(wanted.slice(i, i + 2000)), [file])) {
        const names = chunk.columns;
        for (const r of chunk.rows) {
          const event: Record<string, unknown> = {};
          for (let j = 1; j < names.length; j++) {
            const v = r[j];
            if (v === null || v === undefined) continue;
            if (names[j] === 'metadata.uid') event.metadata = { uid: plain(v) };
            else event[names[j]!] = plain(v);
          }
          for (const rec of byRow.get(Number(r[0])) ?? []) rec.event = event;
        }
      }
    }
  }

  /**
   * Emits run one at a time, in call order: they share the policy and the findings connection (a DuckDB connection
   * runs one statement at a time). Concurrent `process` calls (the SQS monitor's --concurrency) still score in parallel.
   */
  let emitting: Promise<unknown> = Promise.resolve();
  function emit(scored: ScoredObject): Promise<ProcessResult> {
    const run = emitting.then(() => emitNow(scored));
    emitting = run.catch(() => {});
    return run;
  }

  async function emitNow(scored: ScoredObject): Promise<ProcessResult> {
    const { ref, records } = scored;
    if (scored.pairs === 0) return { rows: scored.rows, pairs: 0, scored: 0, findings: [], ...(scored.badIps ? { badIps: scored.badIps } : {}) };
    const sourceObject = opts.keySuffix ? `${ref.object}#${opts.keySuffix}` : ref.object;
    const emitted: EmitResult = await emitFindings(records, {
      policy,
      model: modelRef,
      ...(history ? { history } : {}),
      explain,
      sourceObject,
      partition: partitionOfObject(ref.object),
      ...(opts.lakeDir !== undefined ? { lakeDir: opts.lakeDir } : {}),
      ...(opts.sinks ? { sinks: opts.sinks } : {}),
      db,
      ...(opts.now ? { now: opts.now() } : {}),
      unflagged: scored.unflagged,
    });
    return {
      rows: scored.rows,
      pairs: scored.pairs,
      scored: scored.pairs,
      findings: emitted.findings,
      ...(scored.badIps ? { badIps: scored.badIps } : {}),
      findingsKey: emitted.key,
      ...(emitted.sinkErrors.length ? { sinkErrors: emitted.sinkErrors } : {}),
    };
  }

  return {
    process: async (file, ref) => emit(await score(file, ref)),
    score,
    emit,
    model,
    modelRef,
    get policy() {
      return policy;
    },
    set policy(p: FindingPolicy) {
      policy = p;
    },
    spec: specs[0]!,
    specs,
    accepts,
    close: () => {
      closed = true;
      void scorer.close();
      for (const d of scanDbs) d.close();
      db.close();
    },
  };
}
