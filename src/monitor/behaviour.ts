/**
 * The monitor's behaviour path: a model of the features kind trained on the lake's behaviour windows (`seclake train
 * --detector rcf --lake`) follows the lake window by window, where a pairs model scores each object on its own.
 *
 * As the embedded monitor passes each catalogued object (in sequence order), `note(obj)` says whether that object can
 * have closed a window of the model (its newest event time, minus the model's lateness, passes the end of the next
 * window) or brought records for windows already scored (late records). Then `step(obj)`:
 *
 *   1. computes the windows of the model's own feature sets (their stored SQL, window and lateness) over the lake as it
 *      was at that object (views over the objects up to its sequence number: the same windows whenever it runs), from
 *      the cursor (or from the model's training cutoff, `closed_through`), with the object's publish time as "now";
 *   2. scores each (entity, window) against a streaming copy of the model, explains it if it is beyond the threshold
 *      (calibrated, higher is anomalous), then updates the copy with it (score-then-update);
 *   3. writes the findings (OCSF 2004, src/findings/behaviour.ts) as one findings object per window (the key names
 *      the model and window) and sends them to the sinks.
 *
 * Late records the computation reports (records now in the lake for windows already scored) are counted and said,
 * never merged. The state, `BehaviourState`, is checkpointed with the monitor's (embedded.ts): the cursor and totals in
 * the checkpoint JSON, the streaming model in a content-named file next to it (`<monitor>.<model>.<hash>.forest`,
 * written and fsynced before the checkpoint that names it; older ones are removed after). A restart (kill -9
 * included) redoes the objects after the checkpoint from that state: the same windows, scores and finding uids, and
 * the same findings objects (rewritten, never doubled). A failing step leaves the state as it was.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, errorMessage } from '../core/errors.js';
import { log } from '../core/log.js';
import { annotateEntity, beyondThreshold, calibrationLowSupport } from '../detectors/calibration.js';
import type { BehaviourCursor, BehaviourStream, FeatureRecord, FeaturesModel, LakeBehaviour } from '../detectors/types.js';
import { buildBehaviourFinding, behaviourSourceObject, type BehaviourContext } from '../findings/behaviour.js';
import { DEFAULT_UNCALIBRATED_THRESHOLD } from '../findings/build.js';
import { findingsObjectKey, publishFindings } from '../findings/lake.js';
import { modelRefOf } from '../findings/model-ref.js';
import { applySuppressions, isSuppressed, lakeSuppressions, type SuppressionSource } from '../findings/suppress.js';
import type { DetectionFinding, ModelRef, Sink } from '../findings/types.js';
import type { CatalogObject } from '../lake/catalog.js';
import { Duck } from '../lake/duckdb.js';
import { SHORT_VIEWS } from '../lake/layout.js';
import { openLakeQuery } from '../lake/views.js';

export const BEHAVIOUR_STATE_VERSION = 1;

/** What the monitor's checkpoint keeps of one behaviour model (JSON). */
export interface BehaviourState {
  version: number;
  /** The model version the state belongs to (a retrained model starts over from its own cutoff). */
  model_version: string;
  /** Where the window computation stopped; null before the first computation. */
  cursor: BehaviourCursor | null;
  /** The streaming model's state file (in the monitor's directory); null: the model's trained state. */
  forest: string | null;
  totals: BehaviourTotals;
}

export interface BehaviourTotals {
  /** Window computations run. */
  steps: number;
  /** (entity, window) records scored. */
  windows: number;
  findings: number;
  /** Records that arrived for windows already scored (counted, not merged). */
  late_records: number;
  /** Windows start before this (epoch ms): all of them are scored. */
  closed_through: number;
}

/** What one step did. */
export interface BehaviourStep {
  model: string;
  windows: number;
  findings: DetectionFinding[];
  /** Late records counted in this step, in total and per view. */
  late: number;
  lateByView: Record<string, number>;
  closedThrough: number;
  /** Findings object keys written. */
  keys: string[];
  sinkErrors: string[];
}

export interface BehaviourProcessorOptions {
  model: FeaturesModel;
  /** Name in findings (default: the model file's base name). */
  modelName?: string;
  lakeDir: string;
  /** The monitor's directory (state files) and name. */
  stateDir: string;
  monitorName: string;
  /** The checkpointed state, if any. */
  saved?: BehaviourState;
  sinks?: readonly Sink[];
  /** Threshold when the model is uncalibrated (default: the detector's). */
  uncalibratedThreshold?: number;
  /**
   * Analysts' suppressions: covered findings are written as "Suppressed" and not sent (findings/suppress.ts).
   * Default: the lake's feedback store; `false`: none.
   */
  suppressions?: SuppressionSource | false;
}

const FOREST_FILE = /^(.+)\.([0-9a-f]{16})\.forest$/;

/** Which catalogued objects a lake view reads (an over-approximation for views defined above the lake). */
function viewReads(view: string): (o: CatalogObject) => boolean {
  const def = SHORT_VIEWS.find((d) => d.name === view);
  if (def) return (o) => def.sources.includes(o.source) && (!def.classUids || def.classUids.includes(o.class_uid));
  // Views defined above the lake (the host views over third-party sources): any custom source's objects.
  return (o) => o.source.startsWith('EXT_');
}

function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

export class BehaviourProcessor {
  readonly model: FeaturesModel;
  readonly modelRef: ModelRef;
  readonly behaviour: LakeBehaviour;
  private stream: BehaviourStream;
  private cursor: BehaviourCursor | null;
  private forestFile: string | null;
  /** The stream has learnt since its state was last written. */
  private forestDirty = false;
  readonly totals: BehaviourTotals;
  private readonly reads: (o: CatalogObject) => boolean;
  /** Newest event time of the objects the sets read, up to the last object noted. */
  private maxTime = -Infinity;
  /** Objects the sets read whose events reach windows not yet scored (for the findings' partition). */
  private recent: Pick<CatalogObject, 'seq' | 'region' | 'account_id' | 'time_min' | 'time_max'>[] = [];
  private db: Duck | undefined;
  private readonly said = new Set<string>();
  private readonly threshold: number;
  private readonly normalMedian: number | undefined;

  constructor(private readonly o: BehaviourProcessorOptions) {
    this.model = o.model;
    this.modelRef = modelRefOf(o.model, o.modelName ? { name: o.modelName } : {});
    const b = o.model.behaviour?.();
    if (!b) {
      throw new ConfigError(
        `${o.model.path || this.modelRef.name} (${o.model.detector.type}) was not trained on the lake's behaviour windows (no feature sets in its header: trained from CSV?): ` +
          `the monitor computes windows only for models of \`seclake train --detector ${o.model.detector.type} --lake DIR\``,
        ['model'],
      );
    }
    this.behaviour = b;
    const reads = b.views.map(viewReads);
    this.reads = (obj) => reads.some((r) => r(obj));
    const cal = o.model.calibration;
    const sc = o.model.detector.score;
    this.threshold = this.modelRef.threshold ?? o.uncalibratedThreshold ?? sc.default_threshold ?? DEFAULT_UNCALIBRATED_THRESHOLD;
    const q = cal?.normal_quantiles;
    this.normalMedian = q && q.length > 0 ? q[(q.length - 1) >> 1] : undefined;
    if (!cal) {
      log.warn(
        `model ${this.modelRef.name} (${o.model.detector.title}) is not calibrated: findings flag ${sc.name} ${sc.direction === 'lower_is_anomalous' ? '<' : '>'} ${this.threshold} ` +
          `(an uncalibrated default); \`seclake calibrate --model ${o.model.path || this.modelRef.name} --lake DIR\` measures one on held-out windows`,
      );
    }
    const saved = o.saved;
    let state: Uint8Array | undefined;
    if (saved && saved.model_version === this.modelRef.version && saved.version === BEHAVIOUR_STATE_VERSION) {
      this.cursor = saved.cursor;
      this.forestFile = saved.forest;
      this.totals = { ...saved.totals };
      if (saved.forest) {
        const file = path.join(o.stateDir, saved.forest);
        if (!existsSync(file)) throw new ConfigError(`${file}: the monitor checkpoint names this state of model ${this.modelRef.name}, which is missing (move the checkpoint aside to start over)`, ['checkpoint']);
        state = readFileSync(file);
      }
    } else {
      if (saved && saved.model_version !== this.modelRef.version) {
        log.warn(`model ${this.modelRef.name} changed since the checkpoint (version ${saved.model_version} -> ${this.modelRef.version}): its behaviour windows start over after its training cutoff`);
      } else if (saved) {
        log.warn(`the checkpoint's state of model ${this.modelRef.name} is of another format (${saved.version}, this seclake writes ${BEHAVIOUR_STATE_VERSION}): its behaviour windows start over after its training cutoff`);
      }
      this.cursor = null;
      this.forestFile = null;
      this.totals = { steps: 0, windows: 0, findings: 0, late_records: 0, closed_through: b.closedThrough };
    }
    this.stream = b.stream(state);
  }

  /** The catalogued objects up to the monitor's position (at start): what the sets have read so far. */
  prime(objects: readonly CatalogObject[]): void {
    for (const obj of objects) this.take(obj);
  }

  private take(obj: CatalogObject): void {
    if (!this.reads(obj)) return;
    if (Number.isFinite(obj.time_max) && obj.time_max > this.maxTime) this.maxTime = obj.time_max;
    if (obj.time_max >= this.closedThrough) this.recent.push({ seq: obj.seq, region: obj.region, account_id: obj.account_id, time_min: obj.time_min, time_max: obj.time_max });
  }

  /** Windows start before this: every one is scored (or was training data). */
  get closedThrough(): number {
    const c = this.cursor?.closedThrough;
    return typeof c === 'number' ? c : Math.ceil(this.behaviour.closedThrough / this.behaviour.windowMs) * this.behaviour.windowMs;
  }

  /**
   * The next object in sequence order (derived objects excluded): whether a step must run at it. True when it can
   * have closed the next window (newest event - lateness >= its end) or holds records for windows already scored.
   */
  note(obj: CatalogObject): boolean {
    if (!this.reads(obj)) return false;
    this.take(obj);
    const ct = this.closedThrough;
    // The step's watermark is at most the newest event up to its "now" (the object's publish time) + maxFutureMs.
    const now = Date.parse(obj.created_at);
    const newest = Number.isFinite(now) ? Math.min(this.maxTime, now + this.behaviour.maxFutureMs) : this.maxTime;
    const closes = newest - this.behaviour.latenessMs >= ct + this.behaviour.windowMs;
    const late = this.cursor !== null && obj.rows > 0 && obj.time_min < ct;
    return closes || late;
  }

  /** Compute, score, learn and report the windows closed by the lake as of `obj` (see the module comment). */
  async step(obj: CatalogObject): Promise<BehaviourStep> {
    const b = this.behaviour;
    // The lake as of this object, restricted to the objects whose events reach the computation's lookback (history
    // features, late-record counts) before its first window: a step reads a bounded period, not the whole lake.
    const first = this.cursor ? this.closedThrough : b.closedThrough;
    // The feature sets declare their columns and read absent ones as NULL: the views need not carry the table schema.
    const db = await openLakeQuery(this.o.lakeDir, { schema: 'objects', throughSeq: obj.seq, ...(b.lookbackMs !== undefined ? { timeFrom: first - b.lookbackMs } : {}) });
    let w: Awaited<ReturnType<LakeBehaviour['windows']>>;
    try {
      const now = Date.parse(obj.created_at);
      w = await b.windows(db, {
        ...(this.cursor ? { cursor: this.cursor } : { start: b.closedThrough }),
        ...(Number.isFinite(now) ? { now } : {}),
        onMessage: (m) => this.say(m),
      });
    } finally {
      db.close();
    }
    const out: BehaviourStep = { model: this.modelRef.name, windows: w.records.length, findings: [], late: w.late.records, lateByView: w.late.byView, closedThrough: w.closedThrough, keys: [], sinkErrors: [] };
    const before = w.records.length > 0 ? this.stream.state() : undefined;
    try {
      const byWindow = new Map<number, DetectionFinding[]>();
      const ctx: BehaviourContext = {
        model: this.modelRef,
        threshold: this.threshold,
        thresholdSource: this.modelRef.threshold !== undefined ? 'calibrated' : 'default',
        ...(this.normalMedian !== undefined ? { normalMedian: this.normalMedian } : {}),
        sets: b.sets,
        views: b.views,
      };
      const dir = this.model.detector.score.direction;
      const cal = this.model.calibration;
      for (const r of w.records) {
        const { native, known } = this.stream.score(r);
        if (!Number.isFinite(native)) {
          this.say(`model ${this.modelRef.name}: the window of ${r.entity} at ${new Date(r.window_start!).toISOString()} cannot be scored (${r.values.length} features, not finite?); skipped`);
          continue;
        }
        // The entity's own threshold (calibration version 2), else its group's, else the global one.
        const ann = cal ? annotateEntity(native, cal, r.entity ?? '', r.group !== undefined ? { group: r.group } : {}) : undefined;
        if (ann ? ann.is_anomaly : beyondThreshold(native, this.threshold, dir)) {
          const f = buildBehaviourFinding(
            {
              entity: r.entity!,
              ...(r.group ? { group: r.group } : {}),
              window_start: r.window_start!,
              window_end: r.window_start! + b.windowMs,
              native_score: native,
              entity_known: known,
              ...(ann
                ? {
                    anomaly_percentile: ann.anomaly_percentile,
                    p_value: ann.p_value,
                    threshold: ann.threshold.threshold,
                    threshold_source: ann.threshold.source,
                    threshold_text: ann.threshold.text,
                    ...(calibrationLowSupport(cal) ? { low_support: true } : {}),
                  }
                : {}),
              features: this.featureValues(r),
              explanation: this.stream.explain(r, native),
            },
            ctx,
          );
          const list = byWindow.get(r.window_start!);
          if (list) list.push(f);
          else byWindow.set(r.window_start!, [f]);
          out.findings.push(f);
        }
        this.stream.update(r);
      }
      // Suppressed findings are written as such and not sent.
      const suppressions = this.o.suppressions === false ? undefined : (this.o.suppressions ?? lakeSuppressions(this.o.lakeDir));
      if (suppressions && out.findings.length > 0) {
        const now = Date.now();
        out.findings = applySuppressions(out.findings, suppressions, now);
        for (const [ws, list] of byWindow) byWindow.set(ws, applySuppressions(list, suppressions, now));
      }
      // One findings object per window, published in window order; then the sinks.
      this.db ??= await Duck.open({ threads: 1 });
      for (const [ws, findings] of [...byWindow].sort((x, y) => x[0] - y[0])) {
        const key = findingsObjectKey(behaviourSourceObject(this.modelRef.name, ws), this.partitionOf(ws));
        await publishFindings(this.o.lakeDir, key, findings, { db: this.db });
        out.keys.push(key);
      }
      const send = out.findings.filter((f) => !isSuppressed(f));
      if (send.length > 0) {
        await Promise.all(
          (this.o.sinks ?? []).map(async (s) => {
            try {
              await s.send(send);
            } catch (err) {
              out.sinkErrors.push(s.name);
              log.warn(`sink ${s.name} failed: ${errorMessage(err)}`);
            }
          }),
        );
      }
    } catch (err) {
      // Back to the state before this step: a retry scores the same windows against the same model.
      if (before) this.stream = b.stream(before);
      throw err;
    }
    this.cursor = w.cursor;
    if (w.records.length > 0) this.forestDirty = true;
    const t = this.totals;
    t.steps++;
    t.windows += w.records.length;
    t.findings += out.findings.length;
    t.late_records += w.late.records;
    t.closed_through = w.closedThrough;
    this.recent = this.recent.filter((x) => x.time_max >= w.closedThrough);
    return out;
  }

  /** Every feature's raw value by name (the finding's evidence). */
  private featureValues(r: FeatureRecord): Record<string, number> {
    const names = (this.model.header.params as { feature_names?: unknown }).feature_names;
    const out: Record<string, number> = {};
    if (!Array.isArray(names)) return out;
    names.forEach((n, i) => {
      const v = r.values[i];
      if (typeof n === 'string' && v !== undefined && Number.isFinite(v)) out[n] = v;
    });
    return out;
  }

  /**
   * The findings partition of a window: the region and account of the objects whose events reach into it when they
   * all share one ('unknown' otherwise), the window's UTC day.
   */
  private partitionOf(windowStart: number): { region: string; accountId: string; eventDay: string } {
    const end = windowStart + this.behaviour.windowMs;
    const objs = this.recent.filter((x) => x.time_min < end && x.time_max >= windowStart);
    const one = (k: 'region' | 'account_id'): string => {
      const vals = new Set(objs.map((x) => x[k]));
      return vals.size === 1 ? [...vals][0]! : 'unknown';
    };
    return { region: one('region'), accountId: one('account_id'), eventDay: dayOf(windowStart) };
  }

  /** Messages of the window computation, each said once (late records always: they carry their counts). */
  private say(m: string): void {
    if (this.said.has(m)) return;
    if (this.said.size < 1000) this.said.add(m);
    log.warn(`behaviour model ${this.modelRef.name}: ${m}`);
  }

  /** The state for the checkpoint; writes the streaming model's state file first when it has learnt since. */
  async saveState(): Promise<BehaviourState> {
    if (this.forestDirty) {
      const bytes = this.stream.state();
      const name = `${this.o.monitorName}.${this.modelRef.name}.${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.forest`;
      const file = path.join(this.o.stateDir, name);
      if (!existsSync(file)) {
        const tmp = `${file}.tmp`;
        const fh = await open(tmp, 'w');
        try {
          await fh.writeFile(bytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
        // The checkpoint's directory fsync (after its own rename) makes this rename durable too.
        await rename(tmp, file);
      }
      this.forestFile = name;
      this.forestDirty = false;
    }
    return { version: BEHAVIOUR_STATE_VERSION, model_version: this.modelRef.version, cursor: this.cursor, forest: this.forestFile, totals: { ...this.totals } };
  }

  /** After the checkpoint naming the current state file is on disk: remove this model's other state files. */
  removeStaleState(): void {
    const prefix = `${this.o.monitorName}.${this.modelRef.name}.`;
    let names: string[];
    try {
      names = readdirSync(this.o.stateDir);
    } catch {
      return;
    }
    for (const n of names) {
      if (!n.startsWith(prefix) || n === this.forestFile) continue;
      const m = FOREST_FILE.exec(n.endsWith('.tmp') ? n.slice(0, -4) : n);
      if (m && m[1] === `${this.o.monitorName}.${this.modelRef.name}`) rmSync(path.join(this.o.stateDir, n), { force: true });
    }
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}
