/**
 * Behaviour features: the types shared by the feature sets (sets.ts), the window computation (compute.ts), the
 * scaler (scaler.ts) and the config file (config.ts). See README.md in this folder.
 */

/** How a feature's raw value is transformed before scaling: `log1p` for counts and volumes, `none` for shares/means. */
export type FeatureTransform = 'log1p' | 'none';

/** One feature of a set: a column of the set's SQL. */
export interface FeatureDef {
  /** Column name in the set's SQL result (lower-case identifier). */
  name: string;
  description: string;
  /**
   * Unit, for explanations: `bytes`, `packets`, `count`, `share` (0..1), `chars`, `bits`, or any word (printed as
   * is after the number).
   */
  unit?: string;
  /** Default: `log1p`. */
  transform?: FeatureTransform;
  /** Value when the set has no row for an (entity, window) another set has (default 0). */
  default?: number;
  /** Smallest scale (in transformed units) the scaler uses for this feature (default: see scaler.ts). */
  scaleFloor?: number;
  /**
   * For a share or mean over the window's records: the count feature of the same set it is taken over (e.g.
   * `nxdomain_share` over `queries`). The scaler shrinks a share over few records toward the entity's usual value.
   */
  support?: string;
}

/**
 * A column a set reads from a view: an OCSF attribute path (`traffic.bytes`), typed from the OCSF 1.1.0 schema of
 * the view's class, or `path:TYPE` with an explicit DuckDB type (VARCHAR, BIGINT, INTEGER, DOUBLE, BOOLEAN,
 * MAP(VARCHAR, VARCHAR)). A declared column the view's objects do not have (yet) reads as NULL.
 */
export type ColumnSpec = string;

/** A named feature set: SQL over the lake's views producing one row per (entity, window). */
export interface FeatureSet {
  /** `network` | `dns` | `api` | `host` | user-defined (lower-case identifier). */
  name: string;
  description: string;
  /** Lake views it reads (vpc_flow, route53, cloudtrail_api, ...); the set is skipped when none of them has rows. */
  source: string[];
  /** What the entity is (e.g. `instance`, `user or role session`, `host`), for docs and explanations. */
  entity: string;
  /**
   * The columns the SQL reads, per source view (besides `time` and `window_start`, always there). The SQL sees only
   * these: each source view is replaced by a relation of exactly these columns, typed, NULL where the view lacks one.
   */
  columns: Record<string, readonly ColumnSpec[]>;
  /** OCSF class of a source view whose class is not built in (see VIEW_CLASSES), to type its columns. */
  classes?: Record<string, number>;
  features: FeatureDef[];
  /**
   * A SELECT returning `entity` (VARCHAR), `window_start` (epoch ms, a multiple of $window_ms), optionally
   * `entity_group` (subnet/role/account: the scaler's fallback for an entity with little history), and one column
   * per feature; one row per (entity, window). It reads each source view `v` as:
   *   - `v`: the records of the windows being computed (time in [$start, $end)), with `window_start` added;
   *   - `v_history`: the same plus the lookback (time in [$start - $history_ms, $end)), for history features.
   * Named parameters ($window_ms, $start, $end, $history_ms) are bound, never spliced. The macros of macros.ts
   * (seclake_ip_internal, seclake_dns_name, seclake_etld1, seclake_entropy, seclake_mean_label_length) are defined.
   */
  sql: string;
}

/** A feature as it appears in computed windows: `<set>.<feature>` with its definition. */
export interface FeatureInfo {
  /** `<set>.<feature>` */
  name: string;
  set: string;
  feature: string;
  description: string;
  unit: string;
  transform: FeatureTransform;
  default: number;
  scaleFloor?: number;
  /** The count feature (same set) a share or mean is taken over. */
  support?: string;
}

/** Feature windows, columnar: n rows of dim values, row-major. */
export interface FeatureWindows {
  /** `<set>.<feature>`, dim entries. */
  featureNames: string[];
  /** The same, with units and transforms. */
  features: FeatureInfo[];
  /** n */
  entities: string[];
  /** n, the entity's group (subnet/role/account) for the scaler's thin-history fallback; '' when unknown. */
  groups: string[];
  /** n, epoch ms; the window is [start, start + windowMs). */
  windowStart: Float64Array;
  /** n * dim raw (unscaled) values. */
  values: Float64Array;
  windowMs: number;
}

/** Per-window record counts of one view below the closed boundary, kept to tell late records. */
export interface ViewCounts {
  /** Window starts (epoch ms), ascending. */
  windows: number[];
  /** Records per window, same order. */
  records: number[];
}

/**
 * Where a previous computation stopped: windows before `closedThrough` were emitted. JSON-serialisable (the monitor
 * keeps it with its checkpoint).
 */
export interface FeatureCursor {
  version: 1;
  windowMs: number;
  /** Every window starting before this instant (epoch ms) has been emitted. */
  closedThrough: number;
  /** The watermark then (max event time seen minus the lateness). */
  watermark: number;
  /** Per source view: record counts of the windows in [closedThrough - lateHorizonMs, closedThrough). */
  counts: Record<string, ViewCounts>;
}

/** Records that arrived for windows a previous computation had already emitted. */
export interface LateReport {
  /** Total late records (all views). */
  records: number;
  /** Per view. */
  byView: Record<string, number>;
  /** Per view and window. */
  windows: { view: string; windowStart: number; records: number }[];
}

/** A set that was not computed, and why. */
export interface SkippedSet {
  set: string;
  reason: string;
}

export interface ComputeResult extends FeatureWindows {
  /** Max event time seen (clamped to now + maxFutureMs) minus the lateness; NaN when no source has records. */
  watermark: number;
  /** Windows were emitted for starts in [from, closedThrough). */
  from: number;
  closedThrough: number;
  /** Sets that read no rows (no view, or empty views): their features are in the windows, at their defaults. */
  skipped: SkippedSet[];
  /** Late records (only with a cursor: records arriving for windows emitted before). Never merged into windows. */
  late: LateReport;
  /** Records beyond now + maxFutureMs, per view (ignored for the watermark; they wait in their future windows). */
  future: Record<string, number>;
  /** Human-readable lines: skipped sets, views/columns read as NULL, late and future records. */
  messages: string[];
  /** Pass to the next call to continue after these windows and count late records. */
  cursor: FeatureCursor;
}
