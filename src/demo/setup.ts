/**
 * The demo's batch part, as library calls: generate the history -> ingest the clean baseline -> train the two
 * models (instance -> peer on VPC flows, user -> address on CloudTrail authentications) -> calibrate each on a
 * held-out window of the baseline (abnormal pairs generated from the ASN table). The attack period is left for
 * the monitor (`pipeline.ts`).
 *
 * Timeline of the history (days = D, attack period = 1 day, held-out window = 12 h):
 *
 *   start ............ train ............ | held-out (calibration) | attack period (monitored) | end = now
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, SeclakeError } from '../core/errors.js';
import { modelAccess } from '../calibrate/model.js';
import { NoCalibrationDataError, runCalibration } from '../calibrate/run.js';
import { runFeatureCalibration } from '../calibrate/features.js';
import { loadLakeFeatures } from '../detectors/rcf/lake.js';
import { trainRcf } from '../detectors/rcf/train.js';
import { loadPairsFromLake } from '../detectors/pairs/lake.js';
import { trainIpInsights } from '../detectors/ipinsights/train.js';
import { trainHistory } from '../detectors/history/index.js';
import { ingest, type IngestSummary } from '../ingest/ingest.js';
import { readObjects } from '../lake/catalog.js';
import { loadDemoNetworks, type DemoNetworks } from './asn-pools.js';
import type { AttackKind } from './attacks.js';
import { generateDemo, type GenerateResult } from './generate.js';
import { PAIR_SOURCES, pairSql, type PairModel } from './pairs.js';
import { HOUR } from './traffic.js';

export const MARKER_FILE = '.seclake-demo';
export const STATE_FILE = 'demo-state.json';

export interface ModelSettings {
  /** SageMaker-style hyperparameters (small and fast: a handful of entities). */
  hyperparameters: Record<string, string | number>;
  /** Calibration budget: share of held-out normal pairs allowed above the threshold. */
  maxFpr: number;
  /**
   * Held-out window before the attack period (default: the demo's, 12 h), at most half the history of its pairs.
   * Sign-ins are a few per user a day: their models are calibrated on ten days of them, the network models on hours.
   */
  heldOutHours?: number;
}

/** Small, fast settings: 10 instances and 8 users need neither big vectors nor many epochs. */
export const MODEL_SETTINGS: Record<PairModel, ModelSettings> = {
  flows: { hyperparameters: { vector_dim: 32, epochs: 4, num_entity_vectors: 1000, shuffled_negative_sampling_rate: 2, seed: 1 }, maxFpr: 0.001 },
  logins: { hyperparameters: { vector_dim: 16, epochs: 30, num_entity_vectors: 100, seed: 1 }, maxFpr: 0.01, heldOutHours: 10 * 24 },
};

/**
 * The history (longest-known-prefix) models next to the IP Insights ones, on the same pairs: `flows-history` and
 * `logins-history` (detector `history`), calibrated the same way (per-entity thresholds at the same FPR budget).
 */
export const HISTORY_SETTINGS: Record<PairModel, ModelSettings> = {
  flows: { hyperparameters: {}, maxFpr: 0.001 },
  logins: { hyperparameters: {}, maxFpr: 0.01, heldOutHours: 10 * 24 },
};

/** Every pair model of the demo: the IP Insights models, then the history ones. */
export const PAIR_MODEL_NAMES = ['flows', 'logins', 'flows-history', 'logins-history'] as const;
export type PairModelName = (typeof PAIR_MODEL_NAMES)[number];

/**
 * The behaviour (RCF) model: every built-in feature set the demo's sources fill (network, DNS, API), 1-hour windows.
 * Calibrated like the IP models on the held-out window: the lowest threshold flagging at most maxFpr of its
 * windows, or three-sigma when the held-out window has too few windows for that rate to mean anything.
 */
export const BEHAVIOUR_SETTINGS = { hyperparameters: { seed: 1 } as Record<string, string | number>, maxFpr: 0.01 };
export const BEHAVIOUR_MODEL = 'behaviour';

export interface BehaviourModelInfo {
  name: string;
  path: string;
  /** Training windows (entity x hour) and their entities. */
  trainWindows: number;
  entities: number;
  features: number;
  sets: string[];
  /** Views the feature sets read (for the per-detector record recall). */
  views: string[];
  heldOutWindows: number;
  threshold: number | null;
  /** How the threshold was chosen. */
  rule: string;
  /** Share of held-out windows beyond the threshold. */
  fpr: number | null;
}

export interface SetupOptions {
  /** The demo folder: generated/, lake/, models/, calibration/. */
  dataDir: string;
  seed?: number;
  days?: number;
  /** End of the history (default: now, to the minute). */
  end?: number;
  attacks?: readonly AttackKind[];
  /** Delete the folder first (it must be a demo folder or empty). */
  fresh?: boolean;
  /** Training threads (default: all cores). */
  threads?: number;
  heldOutHours?: number;
  /** Traffic volume multiplier (tests use less). */
  volume?: number;
  log?: (line: string) => void;
  networks?: DemoNetworks;
}

export interface StepTiming {
  step: string;
  ms: number;
  detail: string;
}

export interface ModelInfo {
  name: PairModelName;
  /** The pairs it learns (flows: instance -> peer; logins: user -> sign-in address). */
  base: PairModel;
  detector: 'ipinsights' | 'history';
  path: string;
  trainPairs: number;
  entities: number;
  heldOutPairs: number;
  threshold: number | null;
  auc: number;
  /** The monitor's pair preset the model was trained on (what the monitor scores with it). */
  pairs: string;
  /** The held-out window is too small for the FPR budget (its findings are capped at Medium). */
  lowSupport?: boolean;
}

export interface DemoSetup {
  dataDir: string;
  lakeDir: string;
  generated: GenerateResult;
  /** The pair models (IP Insights: flows, logins; history: flows-history, logins-history). */
  models: Record<PairModel, ModelInfo> & Partial<Record<PairModelName, ModelInfo>>;
  /** The behaviour model (RCF over per-entity hourly feature windows). */
  behaviour: BehaviourModelInfo;
  /** Catalog sequence number of the last baseline object: the monitor starts after it. */
  baselineSeq: number;
  /** Raw objects of the attack period (absolute paths), not yet ingested. */
  attackPeriodFiles: string[];
  timings: StepTiming[];
  reused: boolean;
}

/** Refuse to delete a folder that is not a demo folder (no marker) and not empty. */
function clearDemoDir(dir: string): void {
  if (!existsSync(dir)) return;
  if (!existsSync(path.join(dir, MARKER_FILE)) && readdirSync(dir).length > 0) {
    throw new ConfigError(`--fresh: ${dir} is not a seclake demo folder (no ${MARKER_FILE}); refusing to delete it`, ['data']);
  }
  rmSync(dir, { recursive: true, force: true });
}

async function timed<T>(timings: StepTiming[], step: string, log: (l: string) => void, fn: () => Promise<{ value: T; detail: string }>): Promise<T> {
  const t0 = performance.now();
  const { value, detail } = await fn();
  const ms = Math.round(performance.now() - t0);
  timings.push({ step, ms, detail });
  log(`  ${step.padEnd(17)} ${(ms / 1000).toFixed(1).padStart(5)} s  ${detail}`);
  return value;
}

function ingestDetail(s: IngestSummary): string {
  return `${s.totals.ingested} objects, ${s.totals.events.toLocaleString('en-US')} events, ${s.totals.rejects} rejects${s.totals.failed ? `, ${s.totals.failed} FAILED` : ''}`;
}

export async function setupDemo(opts: SetupOptions): Promise<DemoSetup> {
  const log = opts.log ?? (() => {});
  const dataDir = path.resolve(opts.dataDir);
  const lakeDir = path.join(dataDir, 'lake');
  const stateFile = path.join(dataDir, STATE_FILE);
  if (opts.fresh) clearDemoDir(dataDir);
  if (existsSync(stateFile)) {
    let state: DemoSetup | undefined;
    try {
      state = JSON.parse(readFileSync(stateFile, 'utf8')) as DemoSetup;
    } catch {
      state = undefined;
    }
    if (state?.models && PAIR_MODEL_NAMES.every((n) => state!.models[n] && existsSync(state!.models[n]!.path)) && state.behaviour && existsSync(state.behaviour.path)) {
      log(`Reusing the demo environment in ${dataDir} (history ${new Date(state.generated.start).toISOString()} .. ${new Date(state.generated.end).toISOString()}; --fresh starts over)`);
      return { ...state, reused: true, timings: [] };
    }
  }
  if (existsSync(path.join(dataDir, MARKER_FILE))) {
    // A demo folder without a usable state: an earlier setup stopped half-way. Its lake may hold part of another
    // history, so start over.
    log(`${dataDir}: an earlier demo setup did not finish; starting over`);
    clearDemoDir(dataDir);
  } else if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new ConfigError(`${dataDir} exists and is not a seclake demo folder; choose another --data folder`, ['data']);
  }
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path.join(dataDir, MARKER_FILE), 'seclake demo folder: `seclake demo --fresh` may delete it\n');
  const timings: StepTiming[] = [];
  const heldOut = (opts.heldOutHours ?? 12) * HOUR;

  const nets = opts.networks ?? (await loadDemoNetworks());
  const generated = await timed(timings, 'generate', log, async () => {
    const r = await generateDemo({
      out: path.join(dataDir, 'generated'),
      networks: nets,
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.days !== undefined ? { days: opts.days } : {}),
      end: opts.end ?? Math.floor(Date.now() / 60_000) * 60_000,
      ...(opts.attacks ? { attacks: opts.attacks } : {}),
      ...(opts.volume !== undefined ? { volume: { scale: opts.volume } } : {}),
    });
    const n = r.records.vpc_flow + r.records.route53 + r.records.cloudtrail;
    return { value: r, detail: `${r.objects.length} objects, ${n.toLocaleString('en-US')} records (${r.records.vpc_flow.toLocaleString('en-US')} flow, ${r.records.route53.toLocaleString('en-US')} DNS, ${r.records.cloudtrail.toLocaleString('en-US')} CloudTrail), ${r.labels.length} attacks` };
  });
  const heldStart = generated.attackStart - heldOut;
  if (heldStart <= generated.start) throw new ConfigError('the history is too short for a training period before the held-out window', ['days']);

  const baselineFiles = generated.objects.filter((o) => o.end < generated.attackStart).map((o) => path.join(generated.logsDir, o.key));
  const attackPeriodFiles = generated.objects.filter((o) => o.end >= generated.attackStart).map((o) => path.join(generated.logsDir, o.key));
  await timed(timings, 'ingest', log, async () => {
    const s = await ingest({ lakeDir, paths: baselineFiles });
    if (s.totals.failed > 0 || s.totals.rejects > 0) {
      throw new SeclakeError(`ingesting the generated baseline: ${s.totals.failed} inputs failed, ${s.totals.rejects} records rejected (see seclake quarantine --lake ${lakeDir})`);
    }
    return { value: s, detail: `baseline (before ${new Date(generated.attackStart).toISOString()}): ${ingestDetail(s)}` };
  });
  const objs = readObjects(lakeDir);
  const baselineSeq = objs.length > 0 ? objs[objs.length - 1]!.seq : 0;

  const modelsDir = path.join(dataDir, 'models');
  const calDir = path.join(dataDir, 'calibration');
  mkdirSync(modelsDir, { recursive: true });
  mkdirSync(calDir, { recursive: true });
  const models = {} as DemoSetup['models'];
  for (const modelName of PAIR_MODEL_NAMES) {
    const name: PairModel = modelName.startsWith('logins') ? 'logins' : 'flows';
    const detector = modelName.endsWith('-history') ? 'history' : 'ipinsights';
    const file = path.join(modelsDir, `${modelName}.model`);
    const settings = detector === 'history' ? HISTORY_SETTINGS[name] : MODEL_SETTINGS[name];
    // The model's own held-out window: its setting, at most half the history its pairs have (sign-ins: the sign-in
    // history), never shorter than the demo's.
    const pairsStart = name === 'logins' ? generated.signInStart : generated.start;
    const wanted = settings.heldOutHours !== undefined ? Math.min(settings.heldOutHours * HOUR, Math.floor((generated.attackStart - pairsStart) / 2 / HOUR) * HOUR) : 0;
    const modelHeldStart = Math.min(heldStart, generated.attackStart - wanted);
    const trained = await timed(timings, `train ${modelName}`, log, async () => {
      const data = await loadPairsFromLake(lakeDir, pairSql(name, { untilMs: modelHeldStart }));
      if (data.n === 0) throw new SeclakeError(`no ${name} training pairs in the lake before ${new Date(modelHeldStart).toISOString()}`);
      const source = `seclake demo: ${name} pairs before ${new Date(modelHeldStart).toISOString()}`;
      if (detector === 'history') {
        const res = trainHistory({ train: data, hyperparameters: settings.hyperparameters, modelPath: file, source, log: () => {} });
        const t = res.header.training;
        return { value: { pairs: data.n, entities: t.distinct_entities }, detail: `${data.n.toLocaleString('en-US')} pairs, ${t.distinct_entities} entities, ${t.stored_addresses.toLocaleString('en-US')} addresses stored` };
      }
      const hp: Record<string, string | number> = { ...settings.hyperparameters, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) };
      const res = await trainIpInsights({ train: data, hyperparameters: hp, modelPath: file, source, log: () => {} });
      const t = res.header.training;
      return { value: { pairs: data.n, entities: t.distinct_entities }, detail: `${data.n.toLocaleString('en-US')} pairs, ${t.distinct_entities} entities, ${t.epochs} epochs, final loss ${t.final_loss.toFixed(3)}` };
    });
    const window = `${new Date(modelHeldStart).toISOString()} .. ${new Date(generated.attackStart).toISOString()}`;
    const cal = await timed(timings, `calibrate ${modelName}`, log, async () => {
      let r: Awaited<ReturnType<typeof runCalibration>>;
      try {
        // Normal pairs of the held-out window straight from the lake, with each entity's group (the instance's
        // subnet, the user's account) for the per-entity thresholds.
        r = await runCalibration(
          {
            model: file,
            normal: { kind: 'lake', lakeDir, sinceMs: modelHeldStart, untilMs: generated.attackStart, pairs: PAIR_SOURCES[name].preset },
            abnormal: { kind: 'generate', generator: 'asn' },
            rule: { kind: 'max_fpr', max_fpr: settings.maxFpr },
            sample: 50_000,
            seed: generated.seed,
            report: path.join(calDir, `${modelName}.html`),
          },
          modelAccess,
        );
      } catch (err) {
        // Few users sign in rarely: a held-out window (it moves with the clock in live mode) may hold none of their
        // sign-ins, or only sign-ins of users the model never saw. The model stays uncalibrated (findings use its
        // detector's default threshold) instead of the whole demo failing.
        if (!(err instanceof NoCalibrationDataError)) throw err;
        return { value: { heldOut: 0, threshold: null, auc: Number.NaN, support: null }, detail: `${err.message} (held-out window ${window}): not calibrated (default threshold)` };
      }
      const c = r.evaluation.calibration;
      const thr = c.threshold;
      const pe = c.per_entity;
      const perEntity = pe ? `; per-entity thresholds for ${Object.keys(pe.entities).length} entities (${Object.values(pe.entities).filter((e) => e.own !== null).length} with enough records of their own), ${Object.keys(pe.groups).length} groups` : '';
      const support = c.support && !c.support.sufficient ? `; LOW SUPPORT: ${c.support.n_normal} held-out pairs, ${c.support.needed_n} needed` : '';
      return {
        value: { heldOut: r.json.normal.used, threshold: Number.isFinite(thr) ? thr : null, auc: r.evaluation.auc, support: c.support ?? null },
        detail: `${r.json.normal.used.toLocaleString('en-US')} held-out pairs vs generated ASN pairs: AUC ${r.evaluation.auc.toFixed(4)}, threshold ${Number(thr).toFixed(3)} at FPR <= ${settings.maxFpr}${perEntity}${support}`,
      };
    });
    models[modelName] = {
      name: modelName,
      base: name,
      detector,
      path: file,
      trainPairs: trained.pairs,
      entities: trained.entities,
      heldOutPairs: cal.heldOut,
      threshold: cal.threshold,
      auc: cal.auc,
      pairs: PAIR_SOURCES[name].preset,
      lowSupport: cal.support !== null && !cal.support.sufficient,
    };
  }
  // The behaviour model learns as it scores, so its held-out windows need not be the pair models' (whose held-out
  // pairs must be unseen by a model that stays fixed): it trains on the first half of the baseline (a day at least)
  // and is calibrated on the second half, score-then-update as the monitor scores. Windows are few (one per entity and
  // hour), and a p-value is never rarer than 1 / (held-out windows + 1): the more there are, the sharper its evidence.
  const behaviourHeld = Math.min(heldStart, generated.start + Math.max(24 * HOUR, Math.floor((generated.attackStart - generated.start) / 2 / HOUR) * HOUR));
  const behaviour = await setupBehaviour({ lakeDir, modelsDir, since: generated.start, heldStart: behaviourHeld, attackStart: generated.attackStart, timings, log });
  const setup: DemoSetup = { dataDir, lakeDir, generated, models, behaviour, baselineSeq, attackPeriodFiles, timings, reused: false };
  writeFileSync(stateFile, JSON.stringify(setup, null, 2) + '\n');
  return setup;
}

/**
 * Train the behaviour model on the windows before the held-out window (the IP models' training period: no attack and
 * no held-out window in it), then calibrate it on the held-out window's windows.
 */
async function setupBehaviour(o: { lakeDir: string; modelsDir: string; since: number; heldStart: number; attackStart: number; timings: StepTiming[]; log: (l: string) => void }): Promise<BehaviourModelInfo> {
  const file = path.join(o.modelsDir, `${BEHAVIOUR_MODEL}.model`);
  const trained = await timed(o.timings, 'train behaviour', o.log, async () => {
    // From the start of the full history: the sign-in history before it is users' alone (its windows still feed the
    // history features' lookback: new APIs, new source addresses).
    const f = await loadLakeFeatures(o.lakeDir, { since: o.since, until: o.heldStart, now: o.attackStart, log: () => {} });
    const res = trainRcf({ data: f.data, hyperparameters: BEHAVIOUR_SETTINGS.hyperparameters, modelPath: file, source: `seclake demo: behaviour windows before ${new Date(o.heldStart).toISOString()}`, log: () => {} });
    const views = [...new Set(f.data.features!.definition.flatMap((s) => s.source))];
    return {
      value: { windows: f.data.matrix.n, entities: f.entities, features: f.data.matrix.dim, sets: f.data.features!.sets, views },
      detail: `${f.data.matrix.n.toLocaleString('en-US')} windows (${f.windowText}) of ${f.entities} entities x ${f.data.matrix.dim} features (${f.data.features!.sets.join(', ')}), ${res.hyperparameters.num_trees} trees`,
    };
  });
  const cal = await timed(o.timings, 'calibrate behaviour', o.log, async () => {
    const probe = await runFeatureCalibration({ model: file, lakeDir: o.lakeDir, sinceMs: o.heldStart, untilMs: o.attackStart, rule: { kind: 'max_fpr', max_fpr: BEHAVIOUR_SETTINGS.maxFpr }, dryRun: true });
    // A rate finer than one window of the held-out set is not measured: the three-sigma convention instead.
    const rule = probe.under_resolved ? ({ kind: 'three_sigma' } as const) : ({ kind: 'max_fpr', max_fpr: BEHAVIOUR_SETTINGS.maxFpr } as const);
    const r = await runFeatureCalibration({ model: file, lakeDir: o.lakeDir, sinceMs: o.heldStart, untilMs: o.attackStart, rule, learn: true });
    const ruleText = rule.kind === 'max_fpr' ? `FPR <= ${rule.max_fpr}` : 'three-sigma (too few held-out windows for the FPR budget)';
    return {
      value: { windows: r.held_out.windows, threshold: r.threshold, rule: ruleText, fpr: r.fpr },
      detail: `${r.held_out.windows} held-out windows: threshold ${r.threshold.toFixed(3)} at ${ruleText}, ${r.flagged} flagged`,
    };
  });
  return {
    name: BEHAVIOUR_MODEL,
    path: file,
    trainWindows: trained.windows,
    entities: trained.entities,
    features: trained.features,
    sets: trained.sets,
    views: trained.views,
    heldOutWindows: cal.windows,
    threshold: cal.threshold,
    rule: cal.rule,
    fpr: cal.fpr,
  };
}
