/**
 * The monitor's per-object step: one OCSF Parquet object (a local file: a lake object, or an S3 object downloaded to a
 * temp file) -> its (entity, IP) pairs -> scores -> calibrated annotations -> ScoredRecords -> findings.
 *
 * Pairs follow a PairSpec: SQL expressions for the entity and the IP plus a filter, over the object's columns, for
 * the lake sources it names. The default (`reference`) is the training definition (lake-pairs.ts): entity =
 * src_endpoint.instance_uid, ip = src_endpoint.ip, nulls and '-' dropped, for VPC flow and Route 53 objects. The
 * source event's endpoint/connection columns travel with each pair as the finding's evidence.
 *
 * The object is streamed in DuckDB chunks (bounded memory) and scored per chunk. The processor itself keeps no
 * per-object state; the FindingPolicy it feeds does (dedup, new entities), which the caller snapshots and restores
 * around retries and checkpoints (see embedded.ts).
 */
import path from 'node:path';
import { ConfigError, errorMessage } from '../core/errors.js';
import { IpInsightsModel } from '../detectors/ipinsights/index.js';
import type { Pair } from '../detectors/ipinsights/wire.js';
import { annotate } from '../calibrate/apply.js';
import { Duck } from '../lake/duckdb.js';
import { emitFindings, type EmitResult } from '../findings/emit.js';
import { modelRefOf } from '../findings/model-ref.js';
import { FindingPolicy, type FindingPolicyOptions } from '../findings/policy.js';
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

/**
 * Which pairs to take from an object: SQL expressions over the object's OCSF columns for the entity and the IP, a
 * filter, and the lake sources it applies to. Expressions come from the operator's configuration (like a view
 * definition), never from log data.
 */
export interface PairSpec {
  /** Preset name, for messages. */
  name?: string;
  entity: string;
  ip: string;
  where?: string;
  /** Lake source names (`VPC_FLOW`, `ROUTE53`, `CLOUD_TRAIL_MGMT`, ...) this spec applies to; [] = every source. */
  sources: readonly string[];
}

/**
 * Pairs as a whole query over the view `events` (= the object, with its `file_row_number`). It must return the
 * columns `entity`, `ip` and `row` (the file_row_number), optionally `time`; e.g.
 * `SELECT actor.user.name AS entity, src_endpoint.ip AS ip, time, file_row_number AS row FROM events WHERE class_uid = 3002`.
 * Like a PairSpec, it is operator configuration, never log data.
 */
export interface PairQuerySpec {
  name?: string;
  sql: string;
  /** Lake source names this query applies to; [] = every source (objects it cannot bind to are skipped). */
  sources: readonly string[];
}

const FLOW_ENTITY = 'CASE WHEN connection_info.direction_id = 1 THEN dst_endpoint.instance_uid ELSE src_endpoint.instance_uid END';
const FLOW_PEER = 'CASE WHEN connection_info.direction_id = 1 THEN src_endpoint.ip ELSE dst_endpoint.ip END';

/** Pair definitions by name. `reference` is the training default (lake-pairs.ts, the reference solution's query). */
export const PAIR_PRESETS: Readonly<Record<string, PairSpec>> = {
  reference: {
    name: 'reference',
    entity: 'src_endpoint.instance_uid',
    ip: 'src_endpoint.ip',
    where: "src_endpoint.ip IS NOT NULL AND src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid != '-' AND src_endpoint.ip != '-'",
    sources: ['VPC_FLOW', 'ROUTE53'],
  },
  /** The instance whose interface logged a flow and the address at the other end (demo `flows` model). */
  'flow-peer': {
    name: 'flow-peer',
    entity: FLOW_ENTITY,
    ip: FLOW_PEER,
    where: `connection_info.direction_id IN (1, 2) AND (${FLOW_ENTITY}) IS NOT NULL AND (${FLOW_ENTITY}) <> '-' AND (${FLOW_PEER}) IS NOT NULL`,
    sources: ['VPC_FLOW'],
  },
  /** Who signed in from where: CloudTrail authentications (class 3002), actor.user.name with src_endpoint.ip. */
  'user-login': {
    name: 'user-login',
    entity: 'actor.user.name',
    ip: 'src_endpoint.ip',
    where: "class_uid = 3002 AND actor.user.name IS NOT NULL AND actor.user.name <> '' AND src_endpoint.ip IS NOT NULL",
    sources: ['CLOUD_TRAIL_MGMT'],
  },
};

/** A preset by name, with a clear error listing the names. */
export function pairPreset(name: string): PairSpec {
  const p = PAIR_PRESETS[name];
  if (!p) throw new ConfigError(`unknown pair definition '${name}'; known: ${Object.keys(PAIR_PRESETS).join(', ')}`, ['pairs']);
  return p;
}

/** Columns kept as evidence when the object has them. */
export const EVIDENCE_COLUMNS: readonly string[] = [
  'class_uid', 'class_name', 'activity_name', 'metadata', 'cloud', 'src_endpoint', 'dst_endpoint',
  'connection_info', 'traffic', 'query', 'actor', 'api', 'disposition', 'action', 'status',
];

/** Pairs per scorePairs call (DuckDB chunks are 2,048 rows; larger batches amortise the call). */
const SCORE_BATCH = 8192;

export interface ProcessorOptions {
  /** A loaded model or a model file path. */
  model: IpInsightsModel | string;
  /** Model name/version for findings (default from the file: modelRefOf). */
  modelName?: string;
  /** Pair definition: a preset name, an expression spec or a query over `events` (default `reference`). */
  pairs?: PairSpec | PairQuerySpec | string;
  /** A policy instance (shared state) or options for a new one. */
  policy?: FindingPolicy | FindingPolicyOptions;
  /** Publish findings objects into this local lake (omit: the caller stores them, e.g. in S3). */
  lakeDir?: string;
  sinks?: readonly Sink[];
  /** Disambiguate findings object keys when several models score the same objects. */
  keySuffix?: string;
  /** Clock for finding times (tests). */
  now?: () => number;
}

export interface Processor {
  process: ProcessObjectFn;
  readonly model: IpInsightsModel;
  readonly modelRef: ModelRef;
  /** The finding policy (dedup and new-entity state); replace it to restore a checkpointed state. */
  policy: FindingPolicy;
  readonly spec: PairSpec | PairQuerySpec;
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

function toMs(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? 0 : t;
  }
  if (v && typeof v === 'object' && 'micros' in v) return Number((v as { micros: bigint }).micros) / 1000;
  return 0;
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
  const model = typeof opts.model === 'string' ? await IpInsightsModel.load(opts.model) : opts.model;
  const modelRef = modelRefOf(model, opts.modelName ? { name: opts.modelName } : {});
  let policy = opts.policy instanceof FindingPolicy ? opts.policy : new FindingPolicy(opts.policy ?? {});
  const spec: PairSpec | PairQuerySpec = typeof opts.pairs === 'string' ? pairPreset(opts.pairs) : (opts.pairs ?? PAIR_PRESETS.reference!);
  if ('sql' in spec) {
    if (typeof spec.sql !== 'string' || spec.sql.trim() === '') throw new ConfigError('the pair query is empty', ['pairs.sql']);
  } else {
    for (const k of ['entity', 'ip'] as const) {
      if (typeof spec[k] !== 'string' || spec[k].trim() === '') throw new ConfigError(`the pair definition needs an SQL expression for ${k}`, [`pairs.${k}`]);
    }
  }
  const sources = spec.sources;
  const history: EntityHistory = model.history();
  const cal = model.calibration;
  const db = await Duck.open({ threads: 1 });
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

  const accepts = (source: string | undefined): boolean => sources.length === 0 || (source !== undefined && sources.includes(source));

  /**
   * The queries for one object, or undefined when the object lacks the columns the definition needs: `pairs` reads
   * only entity, ip, time and row number (all rows are scored); `evidence` reads the evidence columns of given rows
   * (only records that may become findings need them, and nested structs are the costly part to convert).
   */
  type Plan = { pairs: string; evidence: ((rows: readonly number[]) => string) | undefined } | undefined;
  /**
   * Plans by object schema (column names and types): objects of one source share a schema, so after the first
   * object a new one costs a single schema probe instead of three. A schema that does not bind is cached too (as
   * undefined: its objects are skipped). Bounded: cleared past 256 schemas.
   */
  const plans = new Map<string, Plan>();
  async function planFor(file: string): Promise<Plan> {
    // The file path is bound as a parameter; the expressions are configuration.
    const schema = await db.describe('SELECT * FROM read_parquet($1) LIMIT 0', [file]);
    const sig = schema.map((c) => `${c.name}\u0000${c.type}`).join('\u0001');
    if (plans.has(sig)) return plans.get(sig);
    const plan = await buildPlan(file, new Set(schema.map((c) => c.name)));
    if (plans.size >= 256) plans.clear();
    plans.set(sig, plan);
    return plan;
  }
  async function buildPlan(file: string, cols: ReadonlySet<string>): Promise<Plan> {
    const from = ' FROM read_parquet($1, file_row_number = true)';
    let pairs: string;
    try {
      if ('sql' in spec) {
        const inner = `WITH events AS (SELECT *${from}) ${spec.sql.trim().replace(/;+$/, '')}`;
        const out = new Set((await db.describe(inner, [file])).map((c) => c.name));
        const missing = ['entity', 'ip', 'row'].filter((c) => !out.has(c));
        if (missing.length) throw new ConfigError(`the pair query must return the columns entity, ip and row (file_row_number); missing: ${missing.join(', ')}`, ['pairs.sql']);
        pairs = `WITH events AS (SELECT *${from}) SELECT q.entity, q.ip, ${out.has('time') ? 'q."time"' : 'NULL'} AS "time", q."row" AS file_row_number FROM (${spec.sql.trim().replace(/;+$/, '')}) q`;
      } else {
        pairs =
          `SELECT (${spec.entity}) AS entity, (${spec.ip}) AS ip, ${cols.has('time') ? '"time"' : 'NULL'} AS "time", file_row_number` +
          from +
          (spec.where ? ` WHERE ${spec.where}` : '');
      }
      await db.describe(pairs, [file]);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      // A column the definition names is not in this object (e.g. no actor.user in an API-activity object).
      if (/Binder Error/i.test(errorMessage(err))) return undefined;
      throw err;
    }
    const ev = ['time', ...EVIDENCE_COLUMNS].filter((c) => cols.has(c)).map((c) => `"${c}"`);
    // Row numbers are integers this process produced, so they are written into the IN list directly.
    const evidence = ev.length ? (rows: readonly number[]) => `SELECT file_row_number, ${ev.join(', ')}${from} WHERE file_row_number IN (${rows.map((r) => String(Math.trunc(r))).join(',')})` : undefined;
    return { pairs, evidence };
  }

  async function process(localParquetPath: string, ref: SourceRef): Promise<ProcessResult> {
    const source = ref.source ?? sourceOfObject(ref.object);
    const empty: ProcessResult = { rows: 0, pairs: 0, scored: 0, findings: [] };
    if (!accepts(source)) return empty;
    const file = path.resolve(localParquetPath);
    const plan = await planFor(file);
    if (!plan) return empty;
    const records: ScoredRecord[] = [];
    let rows = 0;
    let pairs = 0;
    let badIps = 0;
    // Pairs are scored in batches of SCORE_BATCH (several DuckDB chunks): one scorePairs call per batch.
    const chunkPairs: Pair[] = [];
    /** Per pair in chunkPairs: its time (ms) and file row number. */
    const chunkTimes: number[] = [];
    const chunkRowNos: number[] = [];
    const flush = (): void => {
      if (chunkPairs.length === 0) return;
      let results;
      try {
        results = model.scorePairs(chunkPairs);
      } catch {
        // An unparsable IP in the batch: score one by one so the rest still count.
        results = chunkPairs.map((p) => {
          try {
            return model.scorePairs([p])[0]!;
          } catch {
            return undefined;
          }
        });
      }
      for (let i = 0; i < chunkPairs.length; i++) {
        const res = results[i];
        if (!res) {
          badIps++;
          continue;
        }
        pairs++;
        const p = chunkPairs[i]!;
        const known = res.entity_known !== false;
        const rec: ScoredRecord = {
          ref: { object: ref.object, row: chunkRowNos[i]!, ...(source ? { source } : {}) },
          entity: p.entity,
          ip: p.ip,
          time: chunkTimes[i]!,
          dot_product: res.dot_product,
          entity_known: known,
          entity_count: known ? countOf(p.entity) : 0,
          event: {},
        };
        if (cal) {
          const a = annotate(res, cal);
          rec.anomaly_percentile = a.anomaly_percentile;
          rec.is_anomaly = a.is_anomaly;
        }
        records.push(rec);
      }
      chunkPairs.length = 0;
      chunkTimes.length = 0;
      chunkRowNos.length = 0;
    };
    // Column-wise: entity, ip, time and file_row_number arrays per DuckDB chunk, no per-row conversion.
    for await (const chunk of db.streamColumns(plan.pairs, [file])) {
      const [ents, ipCol, times, rowNos] = chunk.data as [unknown[], unknown[], unknown[], unknown[]];
      const n = chunk.rowCount;
      rows += n;
      for (let k = 0; k < n; k++) {
        const e = ents[k];
        const ip = ipCol[k];
        if (e === null || e === undefined || ip === null || ip === undefined) continue;
        const es = (typeof e === 'string' ? e : String(e)).trim();
        const ips = (typeof ip === 'string' ? ip : String(ip)).trim();
        if (es === '' || es === '-' || ips === '' || ips === '-') continue;
        chunkPairs.push({ entity: es, ip: ips });
        chunkTimes.push(toMs(times[k]));
        chunkRowNos.push(Number(rowNos[k]));
      }
      if (chunkPairs.length >= SCORE_BATCH) flush();
    }
    flush();
    if (records.length === 0) return { ...empty, rows, ...(badIps ? { badIps } : {}) };
    // Evidence for the records that may become findings.
    const candidates = records.filter((r) => policy.classify(r, modelRef) !== null);
    if (candidates.length > 0 && plan.evidence) {
      const byRow = new Map<number, ScoredRecord[]>();
      for (const c of candidates) {
        const list = byRow.get(c.ref.row);
        if (list) list.push(c);
        else byRow.set(c.ref.row, [c]);
      }
      const wanted = [...byRow.keys()];
      for (let i = 0; i < wanted.length; i += 2000) {
        for await (const chunk of db.stream(plan.evidence(wanted.slice(i, i + 2000)), [file])) {
          const names = chunk.columns;
          for (const r of chunk.rows) {
            const event: Record<string, unknown> = {};
            for (let j = 1; j < names.length; j++) {
              const v = r[j];
              if (v !== null && v !== undefined) event[names[j]!] = plain(v);
            }
            for (const rec of byRow.get(Number(r[0])) ?? []) rec.event = event;
          }
        }
      }
    }
    const sourceObject = opts.keySuffix ? `${ref.object}#${opts.keySuffix}` : ref.object;
    const emitted: EmitResult = await emitFindings(records, {
      policy,
      model: modelRef,
      history,
      sourceObject,
      partition: partitionOfObject(ref.object),
      ...(opts.lakeDir !== undefined ? { lakeDir: opts.lakeDir } : {}),
      ...(opts.sinks ? { sinks: opts.sinks } : {}),
      db,
      ...(opts.now ? { now: opts.now() } : {}),
    });
    return {
      rows,
      pairs,
      scored: records.length,
      findings: emitted.findings,
      ...(badIps ? { badIps } : {}),
      findingsKey: emitted.key,
      ...(emitted.sinkErrors.length ? { sinkErrors: emitted.sinkErrors } : {}),
    };
  }

  return {
    process,
    model,
    modelRef,
    get policy() {
      return policy;
    },
    set policy(p: FindingPolicy) {
      policy = p;
    },
    spec,
    accepts,
    close: () => db.close(),
  };
}
