/**
 * Embedded mode: follow a local lake's catalog and score every new object with one or more models.
 *
 * The catalog (`_seclake/catalog/objects.jsonl`) numbers published objects 1, 2, 3, ... The monitor keeps a durable
 * checkpoint, `_seclake/monitor/<name>.json`: the last fully processed sequence number and every model's finding-policy
 * state (dedup window, entities already reported as new). Per object, in sequence order:
 *
 *   1. every model whose pair definition covers the object's source scores it; its findings object is written to
 *      `ext/seclake_findings/...` (deterministic name and content) and the findings go to the sinks;
 *   2. then the checkpoint moves past the object (write tmp, fsync, rename, fsync the directory): at most every
 *      `checkpointMs` (default 1 s) while objects keep coming, and whenever the monitor has caught up or stops.
 *
 * Between 1 and 2, the findings of every model for the object (pair models and behaviour steps) go to the incident
 * builder (src/findings/incidents.ts; its state is in the checkpoint too): the incident revisions they cause are
 * written as one incidents object per source object (`ext/seclake_incidents/...`, the source object's key of class
 * 2005), then the sinks get the detection findings (`sinkDetections`) and the incident revisions that are news
 * (`sinkIncidents`: new, more severe, or with another detector; what `seclake monitor` sends by default). A finding an analyst's suppression covers (src/findings/suppress.ts) is
 * written as "Suppressed", joins no incident and goes to no sink.
 *
 * A crash between 1 and 2 redoes the objects after the checkpoint from its policy and incident state: the same
 * findings and incidents objects are rewritten with the same uids, so the lake neither loses nor doubles a finding or
 * an incident revision (sinks may see one twice; its uid is stable). Reading and scoring depend on no state, so while one object's findings are decided and written, the
 * next two objects are already being read and scored (on their own DuckDB connections); steps 1 and 2 stay in order.
 * A failing object is retried (`retries`, with backoff, from the same policy state), then recorded in
 * `_seclake/monitor/<name>.failed.jsonl` with the reason and skipped: one bad object never stops the monitor.
 *
 * With `watchDir`, raw log files dropped into that folder are ingested into the lake first (watch.ts); the catalog
 * then brings their objects here.
 *
 * Models of the features kind trained on the lake's behaviour windows (rcf) follow the lake window by window instead
 * (behaviour.ts): at each object that can have closed a window, the windows closed by then are computed, scored, learnt
 * and reported; their cursor and streaming model are part of the checkpoint (the model's state in a file next to it).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, watch as fsWatch, type FSWatcher as NodeFsWatcher } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, errorMessage } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import { log } from '../core/log.js';
import { FindingPolicy, type FindingPolicyOptions, type FindingPolicyState } from '../findings/policy.js';
import type { DetectionFinding, Sink } from '../findings/types.js';
import { findingsObjectKey, publishFindings, publishFindingsToStore } from '../findings/lake.js';
import { IncidentBuilder, type AnyFinding, type AnySink, type IncidentFinding, type IncidentOptions, type IncidentRevision, type IncidentState } from '../findings/incidents.js';
import { isSuppressed } from '../findings/suppress.js';
import { modelRefOf } from '../findings/model-ref.js';
import { catalogDir, isDerivedObject, readObjects, type CatalogObject } from '../lake/catalog.js';
import { Duck } from '../lake/duckdb.js';
import { META_DIR } from '../lake/layout.js';
import { isFeaturesModel, loadModel } from '../detectors/index.js';
import type { AnyDetectorModel } from '../detectors/types.js';
import type { LakeStore } from '../lake/store.js';
import type { PairQuerySpec, PairSpec } from '../detectors/pairs/definitions.js';
import { BehaviourProcessor, type BehaviourState, type BehaviourStep } from './behaviour.js';
import { SCAN_CONNECTIONS, createProcessor, partitionOfObject, type Processor, type ScoredObject } from './processor.js';
import { startFolderWatch, type FolderWatch } from './watch.js';

export const CHECKPOINT_VERSION = 1;

export interface MonitorModelSpec {
  /** A model of any detector: one that scores pairs reads each object; a behaviour (features) model the lake's windows. */
  model: AnyDetectorModel | string;
  /** Name in findings (default: the model file's base name). */
  name?: string;
  /** Pair definition: preset name, expression spec or query over `events` (default `reference`). */
  pairs?: PairSpec | PairQuerySpec | string;
}

export interface MonitorOptions {
  lakeDir: string;
  /**
   * A lake elsewhere (S3: `openLakeStore('s3://bucket/prefix')`): the catalog and objects are read through it, each
   * object is downloaded to `lakeDir` for scoring and removed, findings objects are uploaded to it; `lakeDir` then only
   * holds this monitor's state (checkpoint, failed list, a local copy of the findings).
   */
  store?: LakeStore;
  models: MonitorModelSpec[];
  /** Checkpoint name (several monitors can follow one lake). Default `default`. */
  name?: string;
  /**
   * Where a monitor without a checkpoint starts: after the newest object (`now`, the default: "score what arrives"),
   * at the first object (`beginning`), or after a given sequence number.
   */
  start?: 'now' | 'beginning' | { afterSeq: number };
  policy?: FindingPolicyOptions;
  /**
   * Where findings go besides the lake: detection findings (`sinkDetections`, default true here) and incident revisions
   * that are news (`sinkIncidents`: a new incident, a revision that raises its severity or adds a detector type; default
   * false here, so a sink written for detection findings keeps working). `seclake monitor` sends incidents and no
   * detection findings unless --sink-detections.
   */
  sinks?: readonly (AnySink | Sink)[];
  /** Send incident revisions that are news to the sinks (default false; the CLI's default is true). */
  sinkIncidents?: boolean;
  /** Send detection findings to the sinks (default true; the CLI's default is false; suppressed ones never go). */
  sinkDetections?: boolean;
  /** Fuse findings into incidents (gap, assignee group, ...); `false`: no incidents (default: the defaults). */
  incidents?: IncidentOptions | false;
  /** Attempts per object before it is recorded as failed (default 3). */
  retries?: number;
  /** First retry delay in ms (doubles per attempt; default 200). */
  retryDelayMs?: number;
  /**
   * Most time between checkpoints while objects keep coming (default 1000 ms; 0 = after every object). The checkpoint
   * is also written whenever the catalog has no more objects and on stop. A crash redoes the objects after the last
   * checkpoint: the same findings objects are rewritten (no loss, no duplicate in the lake); sinks may see them again.
   */
  checkpointMs?: number;
  /** Catalog poll interval in ms for the live mode (default 1000). */
  pollMs?: number;
  /** Live mode: also ingest raw files dropped into this folder. */
  watchDir?: string;
  onEvent?: (e: MonitorEvent) => void;
  /** Keep the findings and incident revisions in the summary (default false: only counts). */
  collectFindings?: boolean;
}

export type MonitorEvent =
  | { type: 'start'; afterSeq: number; models: string[] }
  | { type: 'object'; seq: number; path: string; source: string; pairs: number; findings: number; incidents: number; ms: number; lagMs: number }
  /** An incident revision this object caused (after the checkpoint passed it); `notify`: new, more severe or another detector. */
  | { type: 'incident'; seq: number; incident: IncidentFinding; notify: boolean }
  /** A behaviour model's windows closed at this object (and late records it counted): scored, findings written. */
  | { type: 'windows'; seq: number; model: string; windows: number; findings: number; closedThrough: number; lateRecords: number; lateByView: Record<string, number> }
  | { type: 'retry'; seq: number; path: string; attempt: number; reason: string }
  | { type: 'failed'; seq: number; path: string; reason: string }
  | { type: 'ingested'; file: string; status: string; events: number; rejects: number }
  | { type: 'ingest-error'; file: string; reason: string }
  | { type: 'stop'; reason: string };

export interface MonitorSummary {
  /** Objects processed (including those no model applied to). */
  objects: number;
  /** Objects a model applied to that gave no pairs (done all the same; each `object` event says 0 pairs). */
  noPairs: number;
  failed: number;
  pairs: number;
  /** (entity, window) records the behaviour models scored. */
  windows: number;
  /** Records that arrived for behaviour windows already scored: counted (and said), not merged. */
  lateRecords: number;
  findings: number;
  /** Findings written as suppressed (counted in `findings` too). */
  suppressed: number;
  /** Incident revisions written (new incidents and updates). */
  incidents: number;
  /** New incidents among them. */
  newIncidents: number;
  /** Checkpoint after the run. */
  lastSeq: number;
  /** Findings, when collectFindings is set. */
  found?: DetectionFinding[];
  /** Incident revisions, in the order written, when collectFindings is set (the latest revision of a uid is current). */
  foundIncidents?: IncidentFinding[];
}

interface Checkpoint {
  version: number;
  name: string;
  seq: number;
  policies: Record<string, FindingPolicyState>;
  /** Per behaviour model: cursor, state file of the streaming model, totals (behaviour.ts). */
  behaviour?: Record<string, BehaviourState>;
  /** The incident builder's open incidents (src/findings/incidents.ts). */
  incidents?: IncidentState;
  updated_at: string;
  totals: { objects: number; failed: number; pairs: number; findings: number; incidents?: number };
}

export function monitorDir(lakeDir: string): string {
  return path.join(lakeDir, META_DIR, 'monitor');
}

function checkpointPath(lakeDir: string, name: string): string {
  return path.join(monitorDir(lakeDir), `${name}.json`);
}

export function failedPath(lakeDir: string, name: string): string {
  return path.join(monitorDir(lakeDir), `${name}.failed.jsonl`);
}

/** The checkpoint of a monitor, if it has one. */
export function readCheckpoint(lakeDir: string, name = 'default'): Checkpoint | undefined {
  const file = checkpointPath(lakeDir, name);
  if (!existsSync(file)) return undefined;
  let cp: Checkpoint;
  try {
    cp = JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
  } catch (err) {
    throw new ConfigError(`${file}: unreadable monitor checkpoint: ${errorMessage(err)} (move it aside to start over)`, ['checkpoint']);
  }
  if (cp.version !== CHECKPOINT_VERSION || !Number.isInteger(cp.seq)) throw new ConfigError(`${file}: not a version ${CHECKPOINT_VERSION} monitor checkpoint`, ['checkpoint']);
  return cp;
}

/** Write the checkpoint durably: tmp file, fsync, rename, fsync the directory (fsyncs on the thread pool). */
async function writeCheckpoint(lakeDir: string, cp: Checkpoint): Promise<void> {
  const dir = monitorDir(lakeDir);
  mkdirSync(dir, { recursive: true });
  const file = checkpointPath(lakeDir, cp.name);
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(cp) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  faultPoint('monitor-mid-checkpoint');
  await rename(tmp, file);
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

function validName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) throw new ConfigError(`monitor name must be 1-64 of [A-Za-z0-9_.-], got ${JSON.stringify(name)}`, ['name']);
  return name;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Objects read and scored ahead of the one whose findings are being written: one per spare scan connection. */
const READ_AHEAD = SCAN_CONNECTIONS - 1;

/** An object being read and scored ahead of its turn (see LakeMonitor.prefetch). */
interface Prefetch {
  obj: CatalogObject;
  /** When its processing started (performance.now()). */
  t0: number;
  /** The local Parquet file (the lake object, or the S3 object's download). */
  file: string;
  applicable: Processor[];
  /** One scored object per applicable processor; never an unhandled rejection (awaited by processObject). */
  scored: Promise<ScoredObject[]>;
}

/** A monitor over one lake: `runOnce()` processes the backlog; `start()` follows the catalog until `stop()`. */
export class LakeMonitor {
  private processors: Processor[] = [];
  private behaviours: BehaviourProcessor[] = [];
  private cp!: Checkpoint;
  private stopping = false;
  private wake: (() => void) | undefined;
  private watch: FolderWatch | undefined;
  private catalogHint: NodeFsWatcher | undefined;
  /** The catalog changed since the last read (a hint; see run()). */
  private hinted = false;
  private readonly name: string;
  private readonly found: DetectionFinding[] = [];
  private readonly foundIncidents: IncidentFinding[] = [];
  private incidents: IncidentBuilder | undefined;
  /** Writes incidents objects (opened on first use). */
  private db: Duck | undefined;
  /** The checkpoint in memory is ahead of the one on disk. */
  private dirty = false;
  private lastCheckpointAt = performance.now();
  private constructor(private readonly o: MonitorOptions) {
    this.name = validName(o.name ?? 'default');
  }

  static async open(o: MonitorOptions): Promise<LakeMonitor> {
    if (o.models.length === 0) throw new ConfigError('the monitor needs at least one model', ['model']);
    const m = new LakeMonitor(o);
    await m.init();
    return m;
  }

  private async init(): Promise<void> {
    const o = this.o;
    const existing = readCheckpoint(o.lakeDir, this.name);
    const policyOpts = o.policy ?? {};
    const multi = o.models.length > 1;
    for (const spec of o.models) {
      const model = typeof spec.model === 'string' ? await loadModel(spec.model) : spec.model;
      if (isFeaturesModel(model)) {
        const what = `${model.path || spec.name || 'the model'} (${model.detector.type})`;
        if (o.store) throw new ConfigError(`${what} scores behaviour windows computed over a local lake's views; it does not run on an S3 lake yet (monitor a local copy)`, ['model']);
        if (spec.pairs !== undefined) throw new ConfigError(`${what} scores behaviour windows, not (entity, IP) pairs: give it no pair definition`, ['pairs']);
        this.behaviours.push(
          new BehaviourProcessor({
            model,
            ...(spec.name ? { modelName: spec.name } : {}),
            lakeDir: o.lakeDir,
            stateDir: monitorDir(o.lakeDir),
            monitorName: this.name,
            ...(existing?.behaviour?.[spec.name ?? modelRefOf(model).name] ? { saved: existing.behaviour[spec.name ?? modelRefOf(model).name]! } : {}),
            ...(o.policy?.uncalibratedThreshold !== undefined ? { uncalibratedThreshold: o.policy.uncalibratedThreshold } : {}),
          }),
        );
        continue;
      }
      const proc = await createProcessor({
        model,
        ...(spec.name ? { modelName: spec.name } : {}),
        ...(spec.pairs ? { pairs: spec.pairs } : {}),
        policy: policyOpts,
        lakeDir: o.lakeDir,
        scoreOnWorker: true,
        // No sinks: the monitor sends to them itself (incidents, and detections when asked) after the incidents are
        // written. Findings an analyst's suppression covers (the lake's feedback store) are written as Suppressed.
        ...(multi ? { keySuffix: spec.name ?? path.basename(typeof spec.model === 'string' ? spec.model : spec.model.path) } : {}),
      });
      this.processors.push(proc);
    }
    const names = [...this.processors.map((p) => p.modelRef.name), ...this.behaviours.map((b) => b.modelRef.name)];
    if (new Set(names).size !== names.length) throw new ConfigError(`two monitored models have the same name (${names.join(', ')}); name them`, ['model']);
    if (existing) {
      this.cp = existing;
      for (const p of this.processors) {
        const st = existing.policies[p.modelRef.name];
        if (st) p.policy = FindingPolicy.fromJSON(st, policyOpts);
      }
    } else {
      const start = o.start ?? 'now';
      const seq = start === 'beginning' ? 0 : start === 'now' ? Math.max(0, ...(await this.catalog(0)).map((x) => x.seq)) : start.afterSeq;
      this.cp = { version: CHECKPOINT_VERSION, name: this.name, seq, policies: {}, updated_at: new Date().toISOString(), totals: { objects: 0, failed: 0, pairs: 0, findings: 0 } };
    }
    if (o.incidents !== false) {
      const io = o.incidents ?? {};
      this.incidents = existing?.incidents ? IncidentBuilder.fromJSON(existing.incidents, io) : new IncidentBuilder(io);
    }
    if (this.behaviours.length > 0) {
      // What the feature sets have read up to the start point (their newest event time, objects of open windows).
      const upTo = (await this.catalog(0)).filter((x) => x.seq <= this.cp.seq && !isDerivedObject(x));
      for (const b of this.behaviours) b.prime(upTo);
    }
    this.emit({ type: 'start', afterSeq: this.cp.seq, models: names });
  }

  /** Catalogued objects after a sequence number: the local catalog, or the store's. */
  private catalog(afterSeq: number): Promise<CatalogObject[]> {
    return this.o.store ? this.o.store.listCatalog(afterSeq) : Promise.resolve(readObjects(this.o.lakeDir, afterSeq));
  }

  private emit(e: MonitorEvent): void {
    this.o.onEvent?.(e);
  }

  get lastSeq(): number {
    return this.cp.seq;
  }

  /** Start reading and scoring an object (download it first from an S3 lake). */
  private prefetch(obj: CatalogObject): Prefetch {
    const t0 = performance.now();
    const store = this.o.store;
    const file = store ? path.join(monitorDir(this.o.lakeDir), `${this.name}.object.${obj.seq}.parquet`) : path.join(this.o.lakeDir, obj.path);
    const applicable = this.processors.filter((p) => p.accepts(obj.source));
    const ref = { object: store ? store.objectUrl(obj.path) : obj.path, row: 0, source: obj.source };
    const scored = (async () => {
      if (store && applicable.length > 0) {
        mkdirSync(monitorDir(this.o.lakeDir), { recursive: true });
        await store.getObjectToFile(obj.path, file);
      }
      const out: ScoredObject[] = [];
      for (const p of applicable) out.push(await p.score(file, ref));
      return out;
    })();
    scored.catch(() => {});
    return { obj, t0, file, applicable, scored };
  }

  /** Process one catalogued object with every applicable model; retries, then records a failure. */
  private async processObject(pre: Prefetch, totals: MonitorSummary): Promise<void> {
    const { obj, t0, file, applicable } = pre;
    const store = this.o.store;
    // Behaviour models whose windows this object can close (or that it brings late records for), in order.
    const stepping = this.behaviours.filter((b) => b.note(obj));
    const snapshot = applicable.map((p) => p.policy.snapshot());
    const attempts = Math.max(1, this.o.retries ?? 3);
    let pairs = 0;
    let findings: DetectionFinding[] = [];
    let revisions: IncidentRevision[] = [];
    // The source object as findings name it (an S3 lake: its s3:// URL), for the incidents object's key and derived_from.
    const sourceRef = store ? store.objectUrl(obj.path) : obj.path;
    // Behaviour steps done (kept across attempts: a step that succeeded has moved its model's state on).
    const steps: BehaviourStep[] = [];
    let failure: string | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      pairs = 0;
      findings = [];
      revisions = [];
      failure = undefined;
      try {
        // The first attempt uses the scoring started ahead; a retry reads and scores again.
        const scored = await (attempt === 1 ? pre.scored : this.prefetch(obj).scored);
        for (let i = 0; i < applicable.length; i++) {
          const res = await applicable[i]!.emit(scored[i]!);
          // An S3 (store) lake: the findings object is published through its catalog too (once per key).
          if (store && res.findingsKey && res.findings.length > 0) {
            await publishFindingsToStore(store, res.findingsKey, res.findings, { tmpDir: monitorDir(this.o.lakeDir) });
          }
          pairs += res.pairs;
          findings = findings.concat(res.findings);
        }
        // A behaviour step changes its model's state only when it succeeds (a failed one leaves it as it was).
        for (const b of stepping.slice(steps.length)) steps.push(await b.step(obj));
        for (const st of steps) findings = findings.concat(st.findings);
        // The findings of every model for this object -> incident revisions, written before the checkpoint moves.
        if (this.incidents) {
          revisions = this.incidents.add(findings, sourceRef);
          try {
            if (revisions.length > 0) await this.writeIncidents(sourceRef, revisions.map((r) => r.incident));
          } catch (err) {
            // Not written: the builder takes them back (a retry adds the same findings again).
            this.incidents.undoLast();
            throw err;
          }
          this.incidents.advance(obj.time_max);
        }
        break;
      } catch (err) {
        failure = errorMessage(err);
        applicable.forEach((p, i) => p.policy.restore(snapshot[i]!));
        if (attempt < attempts) {
          this.emit({ type: 'retry', seq: obj.seq, path: obj.path, attempt, reason: failure });
          await sleep((this.o.retryDelayMs ?? 200) * 2 ** (attempt - 1));
        }
      }
    }
    if (store) rmSync(file, { force: true });
    if (failure !== undefined) {
      mkdirSync(monitorDir(this.o.lakeDir), { recursive: true });
      appendFileSync(failedPath(this.o.lakeDir, this.name), JSON.stringify({ seq: obj.seq, path: obj.path, reason: failure, attempts, at: new Date().toISOString() }) + '\n');
      totals.failed++;
      this.cp.totals.failed++;
      this.emit({ type: 'failed', seq: obj.seq, path: obj.path, reason: failure });
    } else {
      await this.deliver(findings, revisions);
      totals.pairs += pairs;
      totals.findings += findings.length;
      totals.suppressed += findings.filter((f) => isSuppressed(f)).length;
      totals.incidents += revisions.length;
      totals.newIncidents += revisions.filter((r) => r.incident.unmapped.revision === 1).length;
      if (applicable.length > 0 && pairs === 0) totals.noPairs++;
      this.cp.totals.pairs += pairs;
      this.cp.totals.findings += findings.length;
      if (revisions.length > 0) this.cp.totals.incidents = (this.cp.totals.incidents ?? 0) + revisions.length;
      if (this.o.collectFindings) {
        for (const f of findings) this.found.push(f);
        for (const r of revisions) this.foundIncidents.push(r.incident);
      }
    }
    for (const st of steps) {
      totals.windows += st.windows;
      totals.lateRecords += st.late;
    }
    totals.objects++;
    this.cp.totals.objects++;
    this.cp.seq = obj.seq;
    this.dirty = true;
    faultPoint('monitor-after-findings');
    await this.checkpoint(false);
    for (const st of steps) {
      if (st.windows > 0 || st.late > 0) {
        this.emit({ type: 'windows', seq: obj.seq, model: st.model, windows: st.windows, findings: st.findings.length, closedThrough: st.closedThrough, lateRecords: st.late, lateByView: st.lateByView });
      }
    }
    if (failure === undefined) {
      for (const r of revisions) this.emit({ type: 'incident', seq: obj.seq, incident: r.incident, notify: r.notify });
      const ms = performance.now() - t0;
      const created = Date.parse(obj.created_at);
      this.emit({ type: 'object', seq: obj.seq, path: obj.path, source: obj.source, pairs, findings: findings.length, incidents: revisions.length, ms, lagMs: Number.isNaN(created) ? 0 : Date.now() - created });
    }
  }

  /** Write one object's incident revisions: the source object's incidents object (local lake, and the S3 lake's). */
  private async writeIncidents(sourceRef: string, incidents: readonly IncidentFinding[]): Promise<void> {
    const key = findingsObjectKey(sourceRef, partitionOfObject(sourceRef), 2005);
    this.db ??= await Duck.open({ threads: 1 });
    await publishFindings(this.o.lakeDir, key, incidents, { db: this.db });
    if (this.o.store) await publishFindingsToStore(this.o.store, key, incidents, { db: this.db, tmpDir: monitorDir(this.o.lakeDir) });
  }

  /**
   * The sinks get the object's incident revisions that are news (a new incident, a higher severity, another detector)
   * and, with sinkDetections, its detection findings (never suppressed ones). A sink that throws is reported.
   */
  private async deliver(findings: readonly DetectionFinding[], revisions: readonly IncidentRevision[]): Promise<void> {
    const sinks = this.o.sinks ?? [];
    if (sinks.length === 0) return;
    const batch: AnyFinding[] = [];
    if (this.o.sinkDetections !== false) for (const f of findings) if (!isSuppressed(f)) batch.push(f);
    if (this.o.sinkIncidents === true) for (const r of revisions) if (r.notify) batch.push(r.incident);
    if (batch.length === 0) return;
    await Promise.all(
      sinks.map(async (s) => {
        try {
          await (s as AnySink).send(batch);
        } catch (err) {
          log.warn(`sink ${s.name} failed: ${errorMessage(err)}`);
        }
      }),
    );
  }

  /**
   * Write the checkpoint (sequence number and every policy's state) if it is behind and, unless forced, checkpointMs
   * have passed since the last write. Serialising a large policy state per object would dominate a backlog.
   */
  private async checkpoint(force: boolean): Promise<void> {
    if (!this.dirty) return;
    if (!force && performance.now() - this.lastCheckpointAt < (this.o.checkpointMs ?? 1000)) return;
    for (const p of this.processors) this.cp.policies[p.modelRef.name] = p.policy.toJSON();
    if (this.incidents) this.cp.incidents = this.incidents.toJSON();
    if (this.behaviours.length > 0) {
      mkdirSync(monitorDir(this.o.lakeDir), { recursive: true });
      // Each streaming model's state file is on disk before the checkpoint that names it.
      this.cp.behaviour ??= {};
      for (const b of this.behaviours) this.cp.behaviour[b.modelRef.name] = await b.saveState();
    }
    this.cp.updated_at = new Date().toISOString();
    await writeCheckpoint(this.o.lakeDir, this.cp);
    for (const b of this.behaviours) b.removeStaleState();
    this.lastCheckpointAt = performance.now();
    this.dirty = false;
  }

  /** Process every catalogued object after the checkpoint, then return. */
  async runOnce(): Promise<MonitorSummary> {
    const totals: MonitorSummary = { objects: 0, noPairs: 0, failed: 0, pairs: 0, windows: 0, lateRecords: 0, findings: 0, suppressed: 0, incidents: 0, newIncidents: 0, lastSeq: this.cp.seq };
    for (;;) {
      const listed = await this.catalog(this.cp.seq);
      if (listed.length === 0) break;
      // Objects seclake derived from others (findings, this monitor's own included) are never scored.
      const batch = listed.filter((o) => !isDerivedObject(o));
      // Objects ahead: the next ones are read and scored while this one's findings are written.
      const ahead: Prefetch[] = [];
      try {
        for (let i = 0; i < batch.length; i++) {
          if (this.stopping) break;
          while (ahead.length <= READ_AHEAD && i + ahead.length < batch.length) ahead.push(this.prefetch(batch[i + ahead.length]!));
          await this.processObject(ahead.shift()!, totals);
        }
      } finally {
        // Stopped (or failed) with objects read ahead: let their reads finish before the connections close.
        for (const p of ahead) {
          await p.scored.catch(() => {});
          if (this.o.store) rmSync(p.file, { force: true });
        }
      }
      // Every object listed is done (the derived ones need nothing): the checkpoint passes them all.
      const last = listed[listed.length - 1]!.seq;
      if (!this.stopping && last > this.cp.seq) {
        this.cp.seq = last;
        this.dirty = true;
      }
      // Caught up (or stopping): the checkpoint goes to disk now.
      await this.checkpoint(true);
      if (this.stopping) break;
    }
    totals.lastSeq = this.cp.seq;
    if (this.o.collectFindings) {
      totals.found = this.found.splice(0);
      totals.foundIncidents = this.foundIncidents.splice(0);
    }
    return totals;
  }

  /** Follow the catalog (and the watch folder) until stop(). Resolves with the totals. */
  async run(): Promise<MonitorSummary> {
    const totals: MonitorSummary = { objects: 0, noPairs: 0, failed: 0, pairs: 0, windows: 0, lateRecords: 0, findings: 0, suppressed: 0, incidents: 0, newIncidents: 0, lastSeq: this.cp.seq };
    if (this.o.watchDir) {
      this.watch = startFolderWatch({
        dir: this.o.watchDir,
        lakeDir: this.o.lakeDir,
        onIngested: (e) => {
          this.emit(e);
          this.wake?.();
        },
      });
    }
    // fs.watch on the catalog folder is only a hint that wakes the poll early (it can miss or repeat events, and is
    // unavailable on some filesystems); the poll interval stays the source of truth.
    // (A store-backed lake has no local catalog to watch: polling only.)
    if (!this.o.store) {
      try {
        mkdirSync(catalogDir(this.o.lakeDir), { recursive: true });
        this.catalogHint = fsWatch(catalogDir(this.o.lakeDir), { persistent: false }, () => {
          this.hinted = true;
          this.wake?.();
        });
        this.catalogHint.on('error', () => {
          this.catalogHint?.close();
          this.catalogHint = undefined;
        });
      } catch {
        this.catalogHint = undefined;
      }
    }
    while (!this.stopping) {
      this.hinted = false;
      const r = await this.runOnce();
      totals.objects += r.objects;
      totals.noPairs += r.noPairs;
      totals.failed += r.failed;
      totals.pairs += r.pairs;
      totals.windows += r.windows;
      totals.lateRecords += r.lateRecords;
      totals.findings += r.findings;
      totals.suppressed += r.suppressed;
      totals.incidents += r.incidents;
      totals.newIncidents += r.newIncidents;
      if (r.found) (totals.found ??= []).push(...r.found);
      if (r.foundIncidents) (totals.foundIncidents ??= []).push(...r.foundIncidents);
      if (this.stopping) break;
      if (this.hinted) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.o.pollMs ?? 1000);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    totals.lastSeq = this.cp.seq;
    return totals;
  }

  /** Stop after the current object (and the watch folder's current ingest). */
  async stop(reason = 'stopped'): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wake?.();
    this.catalogHint?.close();
    this.catalogHint = undefined;
    if (this.watch) await this.watch.close();
    this.emit({ type: 'stop', reason });
  }

  close(): void {
    this.catalogHint?.close();
    this.catalogHint = undefined;
    for (const p of this.processors) p.close();
    for (const b of this.behaviours) b.close();
    this.db?.close();
    this.db = undefined;
  }
}

/** Process the backlog after the checkpoint (or `start`) once and return. */
export async function monitorOnce(o: MonitorOptions): Promise<MonitorSummary> {
  const m = await LakeMonitor.open(o);
  try {
    return await m.runOnce();
  } finally {
    m.close();
  }
}

export interface MonitorHandle {
  monitor: LakeMonitor;
  /** Resolves when the monitor has stopped. */
  done: Promise<MonitorSummary>;
  stop(reason?: string): Promise<MonitorSummary>;
}

/** Start following the lake in the background. */
export async function startMonitor(o: MonitorOptions): Promise<MonitorHandle> {
  const monitor = await LakeMonitor.open(o);
  const done = monitor.run().finally(() => monitor.close());
  return {
    monitor,
    done,
    stop: async (reason?: string) => {
      await monitor.stop(reason);
      return done;
    },
  };
}
