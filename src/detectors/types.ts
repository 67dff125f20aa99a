/**
 * The detector platform's contract. A detector is one folder `src/detectors/<type>/` whose `index.ts` exports a
 * DetectorDefinition, plus one line in `src/detectors/index.ts`. Everything downstream (calibration, the monitor,
 * findings, serve, the dashboard, `seclake models`) works with any registered detector through this interface.
 *
 * Records: a detector scores records of one kind: `pairs` ((entity, IP) pairs taken from the lake by a pair
 * definition, src/detectors/pairs/definitions.ts) or `features` (a numeric vector, e.g. an entity's behaviour in one
 * time window, src/detectors/rcf/features/). `loadModel` gives an AnyDetectorModel; code that handles one kind only
 * narrows it with `pairsModel()` / `featuresModel()` (src/detectors/index.ts), which name the model and its kind.
 *
 * Scores: every detector has a native score (IP Insights' dot_product, the history detector's prefix_score) with a
 * direction, and an anomaly score derived from it where larger always means more anomalous. Calibration stores the
 * direction, so thresholds and percentiles work for any detector.
 */
import type { Duck } from '../lake/duckdb.js';
import type { Calibration, ScoreDirection } from './calibration.js';
import type { ModelData, ModelHeader, RecordDefinitionRef } from './model-file.js';

export type { ScoreDirection } from './calibration.js';

/** One record of the `pairs` kind. */
export interface PairRecord {
  entity: string;
  ip: string;
}

/**
 * One record of the `features` kind: a vector in the model's feature order (its header lists the names). `entity`
 * (and `group`) let a model that scales per entity use that entity's history; without them it scales globally.
 */
export interface FeatureRecord {
  values: ArrayLike<number>;
  entity?: string;
  group?: string;
  /** Start of the window the vector describes (epoch ms), when it describes one. */
  window_start?: number;
}

/** The record kinds, and the record type of each. */
export interface RecordKinds {
  pairs: PairRecord;
  features: FeatureRecord;
}
export type RecordKind = keyof RecordKinds;

/** The native score of a detector: its name (a key of the endpoint's predictions) and direction. */
export interface ScoreInfo {
  name: string;
  direction: ScoreDirection;
  /**
   * The threshold findings use while a model is uncalibrated (IP Insights: 0, the SageMaker tutorial's); 0 when
   * absent. `seclake calibrate` replaces it with one measured on the user's traffic.
   */
  default_threshold?: number;
}

/**
 * Scores of a batch, one slot per record, in order. A record the detector cannot score (an address that does not
 * parse) has native NaN and known 0; it is counted as bad, never thrown.
 */
export interface BatchScores {
  native: Float64Array;
  /** 1 when the record's entity was seen in training. */
  known: Uint8Array;
}

/** Why a detector scored a record as it did: one clause for the finding's sentence, and its facts. */
export interface Explanation {
  /** e.g. "its 412 training addresses never shared more than /8 with it (nearest 198.51.100.4)"; '' when none. */
  reason: string;
  /** Structured facts behind the reason (JSON-safe), carried in the finding's explanation. */
  details: Record<string, unknown>;
}

/** The detector's response for one record on the endpoint: the native score under its name, plus its own fields. */
export type Prediction = Record<string, unknown> & { entity_known?: boolean };

/** Response bodies of the endpoint (SageMaker runtime API), byte for byte what the detector's clients parse. */
export interface WireFormat<P extends Prediction = Prediction> {
  /**
   * `application/json` ({"predictions": [...]} for IP Insights), `application/jsonlines` (one object per line), or
   * `text/csv` when the detector lists it in responseTypes.
   */
  formatPredictions(results: readonly P[], accept: ResponseType, verbose: boolean): string;
  /** Response media types it writes, beyond the default application/json and application/jsonlines. */
  readonly responseTypes?: readonly ResponseType[];
}

/** Response media types of the endpoint. */
export type ResponseType = 'application/json' | 'application/jsonlines' | 'text/csv';

export interface EntityInfo {
  /** Seen in training. */
  known: boolean;
  /** Training records with this entity (0 when unknown). */
  count: number;
}

/**
 * What an entity did in training, for explanations: distinct addresses and the nearest one to a given address
 * (longest common prefix). Detectors of the pairs kind provide it when their model stores the addresses.
 */
export interface EntityHistory {
  /** Distinct addresses the entity was seen with in training (0 if unknown or not stored). */
  size(entity: string): number;
  /** The stored training address of this entity sharing the longest prefix with `ip`, and that prefix in bits. */
  nearest(entity: string, ip: string): { ip: string; prefix_len: number } | undefined;
  /** Training addresses actually stored for this entity (a model may keep a capped sample). */
  stored?(entity: string): number;
}

/**
 * A loaded model: immutable, safe to share between concurrent requests. `R` is its record type (PairRecord for the
 * pairs kind, the default, FeatureRecord for the features kind); AnyDetectorModel is a model of either.
 */
export interface DetectorModel<P extends Prediction = Prediction, R = PairRecord> {
  /** The detector's definition. */
  readonly detector: DetectorDefinition;
  /** The file it was loaded from ('' for a model kept in memory). */
  readonly path: string;
  readonly header: ModelHeader;
  /** The loaded container (header and data), for sharing with worker threads (see shareModelData). */
  readonly data: ModelData;
  /** The stored calibration, if `seclake calibrate` has run on this model. */
  readonly calibration: Calibration | undefined;
  /** Score records: native scores and whether each entity was known. Never throws for a bad record. */
  scoreBatch(records: readonly R[]): BatchScores;
  /**
   * The endpoint's predictions (detector-specific fields; `verbose` adds what SageMaker's verbose=True adds).
   * Throws ParseError naming the 1-based record for a record it cannot score.
   */
  predict(records: readonly R[], opts?: { verbose?: boolean; source?: string }): P[];
  /** Whether an entity was seen in training, and how often. */
  entityInfo(entity: string): EntityInfo;
  /** Why this record got this native score. */
  explain(record: R, native: number): Explanation;
  /** The entity's training addresses, when the model keeps them (for explanations and finding evidence). */
  history(): EntityHistory | undefined;
}

/** A model of the pairs kind. */
export type PairsModel = DetectorModel<Prediction, PairRecord>;
/**
 * A model of the features kind. One trained on the lake's behaviour windows (`seclake train --lake`) also gives
 * `behaviour()`: the windows of its feature sets as they close, and a streaming copy of it (the monitor, calibration).
 */
export type FeaturesModel = DetectorModel<Prediction, FeatureRecord> & { behaviour?(): LakeBehaviour | undefined };

/** Where a behaviour computation stopped (JSON; the monitor keeps it in its checkpoint). Opaque to callers. */
export type BehaviourCursor = Record<string, unknown>;

/** Windows computed from the lake by LakeBehaviour.windows(). */
export interface BehaviourWindows {
  /** One record per (entity, window) closed by the watermark, in window then entity order (entity, group, window_start set). */
  records: FeatureRecord[];
  /** Windows were emitted for starts in [from, closedThrough). */
  from: number;
  closedThrough: number;
  /** Newest event time of the sets' views minus the lateness; NaN when they hold no records. */
  watermark: number;
  /** Records that arrived for windows a previous call (its cursor) had already emitted: counted, never merged. */
  late: { records: number; byView: Record<string, number>; windows: { view: string; windowStart: number; records: number }[] };
  /** Human-readable lines (sets skipped, columns read as NULL, late and future records). */
  messages: string[];
  /** Pass to the next call to continue after these windows. */
  cursor: BehaviourCursor;
}

/** Behaviour windows of the lake for a features model trained on them, and a streaming copy of the model. */
export interface LakeBehaviour {
  /** Window length (ms). */
  readonly windowMs: number;
  /** Feature set names, and the lake views they read. */
  readonly sets: readonly string[];
  readonly views: readonly string[];
  /** Windows starting before this instant (epoch ms) were in the training data. */
  readonly closedThrough: number;
  /** How long after a window's end its records may still arrive: it closes when the newest event is this much later. */
  readonly latenessMs: number;
  /** Events further than this past `now` do not move the watermark (clock skew). */
  readonly maxFutureMs: number;
  /**
   * How far before the first window it computes a call reads (history features, late-record counts): a caller may
   * open the lake with only the objects whose events reach past `start - lookbackMs` (createLakeViews' `timeFrom`).
   */
  readonly lookbackMs?: number;
  /**
   * The windows closed in the lake open on `db` (openLakeQuery), computed with the model's own set definitions: after
   * `cursor` (a previous call's), else from `start` (default closedThrough), up to `end`. `now` clamps the watermark
   * (records further in the future do not move it; default the wall clock).
   */
  windows(db: Duck, opts?: { cursor?: BehaviourCursor; start?: number; end?: number; now?: number; onMessage?: (m: string) => void }): Promise<BehaviourWindows>;
  /** A streaming copy of the model: from its trained state, or from a state `BehaviourStream.state()` saved. */
  stream(state?: Uint8Array): BehaviourStream;
  /**
   * Write the model to `file` with a stream's state as its trained state and its training cutoff moved to
   * `closedThrough` (the windows the stream learnt: calibration's score-then-update replay). Other header slots stay.
   */
  saveLearnt(file: string, state: Uint8Array, closedThrough: number): void;
}

/** A features model that keeps learning: score a window, explain it, then update the model with it. */
export interface BehaviourStream {
  /** Native score against the current state (NaN for a record of the wrong size), and whether the entity is known. */
  score(record: FeatureRecord): { native: number; known: boolean };
  /** Why the current state gives this record its score (call before update()). */
  explain(record: FeatureRecord, native: number): Explanation;
  /** Learn from the record (score-then-update). */
  update(record: FeatureRecord): void;
  /** The state, to continue later with LakeBehaviour.stream(state): the same records then give the same scores. */
  state(): Uint8Array;
}
/** A model of any kind, as loadModel returns it. */
export type AnyDetectorModel = PairsModel | FeaturesModel;

/** What `train` is given. */
export interface DetectorTrainOptions<D = unknown> {
  /** Training records (for the pairs kind: a PairData from src/detectors/pairs/data.ts). */
  train: D;
  validation?: D;
  /** Hyperparameters by name (strings from `--hp name=value`, or numbers); validated by the detector. */
  hyperparameters?: Record<string, string | number | undefined>;
  /** Where to write the model file; omit to keep the model in memory. */
  modelPath?: string;
  /** The record definition the records came from (stored in the header). */
  recordDefinition?: RecordDefinitionRef;
  /** Where the data came from (file names or "lake:<dir>"). */
  source?: string;
  /** Progress (records done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Log lines (SageMaker-style metrics). Default stderr. */
  log?: (line: string) => void;
}

export interface DetectorTrainResult {
  model: AnyDetectorModel;
  /** The detector's training summary for `seclake train --json`. */
  summary: Record<string, unknown>;
  /** One line for people ("12,000 pairs, 40 entities, 10 epochs in 2.1 s ..."); the CLI says something generic without it. */
  message?: string;
}

/** A hyperparameter, for `--help` and the dashboard. */
export interface HyperparameterDoc {
  name: string;
  description: string;
  default: string | number | boolean;
}

/** A detector: one folder, one registry line. */
export interface DetectorDefinition {
  /** Config `type`, the folder name and the model header's detector.type (`ipinsights`, `history`). */
  readonly type: string;
  /** Version of the detector's model layout (sections and params) it writes; it reads this and older ones. */
  readonly version: number;
  /** Human name ("IP Insights"). */
  readonly title: string;
  /** One line for `seclake models` and `--help`. */
  readonly description: string;
  /** Record kind it scores. */
  readonly records: RecordKind;
  /** Its native score. */
  readonly score: ScoreInfo;
  /** Words for findings: the finding type ("Anomalous Entity-IP Pair") and what an anomaly is. */
  readonly finding: { type: string };
  /** Hyperparameters it accepts, with defaults. */
  readonly hyperparameters: readonly HyperparameterDoc[];
  /** Validate hyperparameters (ConfigError naming the key for a bad or unknown one); returns the full set. */
  parseHyperparameters(input: Record<string, string | number | undefined>): Record<string, unknown>;
  train(opts: DetectorTrainOptions): Promise<DetectorTrainResult>;
  /** Build the model from a loaded container whose header names this detector (ModelFileError when it cannot). */
  load(data: ModelData): AnyDetectorModel;
  /** The endpoint's response formats. */
  readonly wire: WireFormat;
}

/** A detector of the pairs kind: its load() gives a PairsModel. */
export interface PairsDetectorDefinition extends DetectorDefinition {
  readonly records: 'pairs';
  load(data: ModelData): PairsModel;
}

/** A detector of the features kind: its load() gives a FeaturesModel. */
export interface FeaturesDetectorDefinition extends DetectorDefinition {
  readonly records: 'features';
  load(data: ModelData): FeaturesModel;
}
