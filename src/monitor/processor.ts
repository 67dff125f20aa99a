/**
 * The monitor's per-object step: one OCSF Parquet object (a local file: a lake object, or an S3 object downloaded to a
 * temp file) -> its (entity, IP) pairs -> scores -> calibrated annotations -> ScoredRecords -> findings.
 *
 * Pairs follow a record definition (src/detectors/pairs/definitions.ts, shared with training): one or more PairSpecs, each SQL
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
import { ConfigError } from '../core/errors.js';
import { log } from '../core/log.js';
import { isFeaturesModel, loadModel, pairsModel } from '../detectors/index.js';
import type { AnyDetectorModel, DetectorModel } from '../detectors/types.js';
import { definitionForModel, specApplies, specsOf, type PairDefinition, type PairQuerySpec, type PairSpec } from '../detectors/pairs/definitions.js';
import { Duck } from '../lake/duckdb.js';
import { readEvidence } from './evidence.js';
import { PairPlanner, type Plan } from './pair-plan.js';
import { ScanPool } from './scan-pool.js';
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


export { EVIDENCE_COLUMNS } from './pair-plan.js';
/** Objects read at once (a monitor reads the next objects while it writes the findings of this one). */
export const SCAN_CONNECTIONS = 3;

export interface ProcessorOptions {
  /** A loaded model (of any detector) or a model file path. */
  model: AnyDetectorModel | string;
  /** Model name/version for findings (default from the file: modelRefOf). */
  modelName?: string;
  /**
   * Pair definition: a definition name (src/detectors/pairs/definitions.ts), a definition, an expression spec or a query over
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

export async function createProcessor(opts: ProcessorOptions): Promise<Processor> {
  const loaded = typeof opts.model === 'string' ? await loadModel(opts.model) : opts.model;
  if (isFeaturesModel(loaded)) {
    // Behaviour windows aggregate many objects over the lake's views: the embedded monitor computes them (behaviour.ts).
    throw new ConfigError(
      `${loaded.path || opts.modelName || 'the model'} (${loaded.detector.title}) scores behaviour windows computed over the lake, not single objects: ` +
        'it runs in the embedded monitor (`seclake monitor --lake DIR`), not in AWS mode (SQS, Lambda) or on one object',
      ['model'],
    );
  }
  const model = pairsModel(loaded, 'the monitor');
  const modelRef = modelRefOf(model, opts.modelName ? { name: opts.modelName } : {});
  let policy = opts.policy instanceof FindingPolicy ? opts.policy : new FindingPolicy(opts.policy ?? {});
  // Default: the record definition the model was trained on (its header says), else `default`.
  const specs = specsOf(opts.pairs ?? definitionForModel(model.header).name);
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
  if (!model.calibration) {
    const sc = model.detector.score;
    const t = policy.thresholdOf(modelRef);
    log.warn(
      `model ${modelRef.name} (${model.detector.title}) is not calibrated: findings flag ${sc.name} ${sc.direction === 'lower_is_anomalous' ? '<' : '>'} ${t} ` +
        `(an uncalibrated default); \`seclake calibrate --model ${model.path || modelRef.name} --lake DIR\` measures a threshold on your traffic`,
    );
  }
  const history: EntityHistory | undefined = model.history();
  const explain = model.explain.bind(model);
  const scorer = opts.scoreOnWorker ? workerScorer(model, () => policy, modelRef) : inlineScorer(model, () => policy, modelRef);
  // Starting the worker is part of starting up, like loading the model.
  await scorer.ready;
  /** Findings are written through this connection; objects are read through the scan pool (three at most at once). */
  const db = await Duck.open({ threads: 1 });
  const scans = new ScanPool(SCAN_CONNECTIONS);
  const defName = typeof opts.pairs === 'string' ? opts.pairs : (opts.pairs as { name?: string } | undefined)?.name ?? definitionForModel(model.header).name;
  const warned = new Set<string>();
  const planner = new PairPlanner(specs, (source) => {
    // Once per source: objects of one source can hold several OCSF classes, and a definition reads only some of them.
    const key = source ?? '';
    if (warned.has(key)) return;
    warned.add(key);
    const hint = source === 'VPC_FLOW' ? ' (flow logs without flow-direction, v2-v4, need --pairs reference)' : '';
    log.warn(`some objects of ${source ?? 'an unknown source'} lack the columns the record definition '${defName}' reads; they are skipped${hint}`);
  });
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

  async function score(localParquetPath: string, ref: SourceRef): Promise<ScoredObject> {
    return scans.with((scan) => scoreWith(scan, localParquetPath, ref));
  }

  async function scoreWith(db: Duck, localParquetPath: string, ref: SourceRef): Promise<ScoredObject> {
    const source = ref.source ?? sourceOfObject(ref.object);
    const file = path.resolve(localParquetPath);
    const out: ScoredObject = { ref, source, rows: 0, pairs: 0, badIps: 0, records: [], unflagged: { records: 0, maxTime: -Infinity } };
    if (!accepts(source)) return out;
    let plan: Plan | undefined;
    // Batches go to the scorer as they arrive (on a worker they are scored while DuckDB reads on); results are merged
    // in arrival order, and the candidates sorted by row below.
    const pending: Promise<BatchResult>[] = [];
    for await (const b of planner.batches(db, file, source)) {
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
        if (c.p_value !== undefined) rec.p_value = c.p_value;
        if (c.threshold !== undefined) rec.threshold = c.threshold;
        if (c.threshold_source !== undefined) rec.threshold_source = c.threshold_source;
        if (c.threshold_text !== undefined) rec.threshold_text = c.threshold_text;
        if (c.seen_in_training) rec.seen_in_training = true;
        if (c.low_support) rec.low_support = true;
        out.records.push(rec);
      }
    }
    if (out.pairs === 0 || !plan) return out;
    const records = out.records;
    // Batches (and rows within one) arrive in no particular order: the policy sees candidates in row order (first
    // occurrence wins), several pairs of one row (a custom query) by entity and IP, so the findings are the same each run.
    records.sort((a, b) => a.ref.row - b.ref.row || (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    // Evidence for the records that may become findings.
    await readEvidence(db, file, plan, planner, source, records);
    return out;
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
      void scorer.close();
      scans.close();
      db.close();
    },
  };
}
