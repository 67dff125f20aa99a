/**
 * Feature windows from the lake: every feature set's SQL over the lake's views, combined into one row per (entity,
 * window) with the features of every set, read into typed arrays. One SQL statement does the work; JavaScript only
 * copies the aggregated rows.
 *
 * - Sources: each source view of a set is replaced (a CTE of the same name inside the set's query) by a relation of
 *   exactly the set's declared columns (columns.ts: typed, NULL where the lake lacks one), restricted to the windows
 *   being computed, plus `<view>_history` with the lookback. A set none of whose views has rows is skipped with a
 *   message; its features stay in the windows at their defaults, so dimensions never depend on the lake's content.
 * - Watermark: the newest event time of the sets' views (clamped to now + maxFutureMs), taken as the OLDEST of the
 *   views' newest times among the views that are not idle (newest record within idleMs of the newest of all views),
 *   minus the lateness. Sources deliver at their own pace (flow logs, Route 53 and CloudTrail objects of the same hour
 *   arrive one after another); a window closes once every delivering source has passed it, not when the first one
 *   has. A source silent for longer than idleMs (CloudTrail sign-ins at night) does not hold windows back. A window
 *   [s, s + w) is closed when s + w <= watermark; only closed windows are emitted.
 * - Cursor: a call given the previous call's cursor emits only windows after the ones already emitted, and counts
 *   late records: records now in the lake for windows already emitted that were not there before (per view and
 *   window, from record counts the cursor keeps for the last lateHorizonMs). They are reported, never merged: an
 *   emitted window is not emitted again.
 */
import { ConfigError, LakeError } from '../../../core/errors.js';
import { quoteIdent, type Duck } from '../../../lake/duckdb.js';
import { parseDuckType, type ColType } from '../../../lake/columns.js';
import { projection, type ColumnNode } from './columns.js';
import { checkFeatureSet } from './config.js';
import { installMacros, parseSubnet } from './macros.js';
import { BUILTIN_FEATURE_SETS } from './sets.js';
import type { ComputeResult, FeatureCursor, FeatureInfo, FeatureSet, LateReport, SkippedSet, ViewCounts } from './types.js';
import './views.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Window length when none is given: one hour. */
export const DEFAULT_WINDOW_MS = HOUR_MS;
/** How late a record may arrive after the newest one before its window closes: 10 minutes. */
export const DEFAULT_LATENESS_MS = 600_000;
/** Lookback of history features (new peers): 7 days. */
export const DEFAULT_HISTORY_MS = 7 * DAY_MS;
/** How far back the cursor keeps per-window record counts to tell late records: 1 day. */
export const DEFAULT_LATE_HORIZON_MS = DAY_MS;
/**
 * A view whose newest record is further than this behind the newest of all views does not hold the watermark: 2 hours
 * (more than a delivery interval: sources delivering hourly objects are up to an hour apart, and 1 h let the jitter of
 * the object boundaries mark one idle).
 */
export const DEFAULT_IDLE_MS = 2 * HOUR_MS;
/** Event times further than this past `now` do not move the watermark: 15 minutes. */
export const DEFAULT_MAX_FUTURE_MS = 900_000;

export interface ComputeOptions {
  sets: readonly FeatureSet[];
  /** Window length in ms (default 1 h); windows start at multiples of it (UTC epoch). */
  windowMs?: number;
  /** Emit only windows starting at or after this instant (epoch ms; rounded up to a window boundary). */
  start?: number;
  /** Emit only windows ending at or before this instant (epoch ms). */
  end?: number;
  /** Allowed lateness (default 10 min). */
  latenessMs?: number;
  /** Lookback of history features, bound as $history_ms (default 7 days). */
  historyMs?: number;
  /** The previous call's cursor: continue after its windows and count late records. */
  cursor?: FeatureCursor;
  /** How far back the new cursor keeps record counts (default 1 day). */
  lateHorizonMs?: number;
  /** Current time for the watermark's clamp (default Date.now()). */
  now?: number;
  /** A view whose newest record is further than this behind the newest of all views is idle: the watermark does not wait for it (default 2 h). */
  idleMs?: number;
  /** Records further than this beyond `now` are ignored for the watermark (default 15 min). */
  maxFutureMs?: number;
  /** Subnets that count as internal besides RFC 1918/ULA/local (CIDR). */
  knownSubnets?: readonly string[];
  /** Called with each message as it is produced (also returned in `messages`). */
  onMessage?: (message: string) => void;
}

/** The features of the sets, in window column order. */
export function featureInfos(sets: readonly FeatureSet[]): FeatureInfo[] {
  return sets.flatMap((s) =>
    s.features.map((f) => {
      const info: FeatureInfo = {
        name: `${s.name}.${f.name}`,
        set: s.name,
        feature: f.name,
        description: f.description,
        unit: f.unit ?? 'count',
        transform: f.transform ?? 'log1p',
        default: f.default ?? 0,
      };
      if (f.scaleFloor !== undefined) info.scaleFloor = f.scaleFloor;
      if (f.support !== undefined) info.support = f.support;
      return info;
    }),
  );
}

interface ViewInfo {
  exists: boolean;
  /** Records with an event time (a view without a `time` column has none usable). */
  hasRows: boolean;
  /** Records per window, max/min time, records past the clamp (from one scan of `time`). */
  profile?: TimeProfile;
  /** Top-level columns and their parsed types. */
  schema: Map<string, ColType>;
}

function floorTo(t: number, w: number): number {
  return Math.floor(t / w) * w;
}

function num(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  const n = typeof v === 'bigint' ? Number(v) : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** A finite number as a SQL literal (values from validated configuration only). */
function literal(n: number): string {
  if (!Number.isFinite(n)) throw new ConfigError(`not a finite number: ${n}`);
  return Number.isInteger(n) ? `${n}` : `${n}::DOUBLE`;
}

function fmtMs(ms: number): string {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS} d`;
  if (ms % HOUR_MS === 0) return `${ms / HOUR_MS} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

/**
 * Each view: does it exist, its columns (from the catalog: binding a lake view reads every object's footer), and its
 * `time` profile: records per window, newest and oldest time (one statement for all views).
 */
async function inspectViews(db: Duck, views: Iterable<string>, windowMs: number, limit: number): Promise<Map<string, ViewInfo>> {
  const names = [...views];
  const schemas = new Map<string, Map<string, ColType>>();
  const wanted = new Set(names);
  const cols = await db.all('SELECT table_name, column_name, data_type FROM information_schema.columns ORDER BY table_name, ordinal_position');
  for (const c of cols) {
    const t = String(c.table_name);
    if (!wanted.has(t)) continue;
    if (!schemas.has(t)) schemas.set(t, new Map());
    schemas.get(t)!.set(String(c.column_name), parseDuckType(String(c.data_type)));
  }
  const out = new Map<string, ViewInfo>();
  const timed: string[] = [];
  for (const v of names) {
    const schema = schemas.get(v);
    out.set(v, { exists: schema !== undefined, hasRows: false, schema: schema ?? new Map() });
    if (schema?.has('time')) timed.push(v);
  }
  for (const [v, profile] of await timeProfiles(db, timed, windowMs, limit)) {
    const info = out.get(v)!;
    info.profile = profile;
    info.hasRows = profile.perWindow.size > 0;
  }
  return out;
}

/** The stand-in relation of one view: declared columns + time + window_start, over [lo, $end). */
function sourceRelation(view: string, info: ViewInfo, tree: Map<string, ColumnNode>, lo: string): { sql: string; missing: string[] } {
  const p = projection(tree, info.exists ? info.schema : new Map<string, ColType>(), '__src.');
  const hasTime = info.exists && info.schema.has('time');
  if (!hasTime) {
    // No such view (or no time column): a typed relation with no rows.
    const nulls = projection(tree, new Map<string, ColType>());
    return { sql: `SELECT ${[...nulls.select, 'NULL::BIGINT AS "time"', 'NULL::BIGINT AS window_start'].join(', ')} WHERE false`, missing: p.missing };
  }
  const cols = [...p.select, 'CAST(__src."time" AS BIGINT) AS "time"', '(CAST(__src."time" AS BIGINT) // $window_ms) * $window_ms AS window_start'];
  return {
    sql: `SELECT ${cols.join(', ')} FROM main.${quoteIdent(view)} AS __src WHERE __src."time" >= ${lo} AND __src."time" < $end`,
    missing: p.missing,
  };
}

interface TimeProfile {
  perWindow: Map<number, number>;
  max?: number;
  min?: number;
  future: number;
}

/** One scan of each view's `time`: records per window, the max time at or before `limit`, min time, records after it. */
async function timeProfiles(db: Duck, views: readonly string[], windowMs: number, limit: number): Promise<Map<string, TimeProfile>> {
  const out = new Map<string, TimeProfile>(views.map((v) => [v, { perWindow: new Map(), future: 0 }]));
  if (views.length === 0) return out;
  const parts = views.map(
    (v, k) =>
      `SELECT ${k} AS v, ("time" // $w) * $w AS ws, count(*) AS n, max("time") FILTER (WHERE "time" <= $limit) AS max_t, min("time") AS min_t, ` +
      `count(*) FILTER (WHERE "time" > $limit) AS future FROM ${quoteIdent(v)} WHERE "time" IS NOT NULL GROUP BY ALL`,
  );
  for (const r of await db.all(parts.join(' UNION ALL '), { w: windowMs, limit })) {
    const p = out.get(views[num(r.v)!]!)!;
    p.perWindow.set(num(r.ws)!, num(r.n)!);
    const mx = num(r.max_t);
    const mn = num(r.min_t);
    if (mx !== undefined) p.max = p.max === undefined ? mx : Math.max(p.max, mx);
    if (mn !== undefined) p.min = p.min === undefined ? mn : Math.min(p.min, mn);
    p.future += num(r.future) ?? 0;
  }
  return out;
}

/**
 * Compute the feature windows of the sets over the lake views on `db` (a connection from openLakeQuery; the host
 * views of views.ts are registered when this module loads). Throws ConfigError for a user set whose SQL does not
 * bind or lacks a declared column, naming the set.
 */
export async function computeFeatureWindows(db: Duck, opts: ComputeOptions): Promise<ComputeResult> {
  const windowMs = opts.windowMs ?? DEFAULT_WINDOW_MS;
  if (!Number.isInteger(windowMs) || windowMs < 1000 || windowMs > 7 * DAY_MS) throw new ConfigError(`window: must be a whole number of ms from 1 s to 7 d, got ${windowMs}`, ['window']);
  const latenessMs = opts.latenessMs ?? DEFAULT_LATENESS_MS;
  if (!(latenessMs >= 0) || !Number.isFinite(latenessMs)) throw new ConfigError(`lateness: must be >= 0 ms, got ${latenessMs}`, ['lateness']);
  const historyMs = opts.historyMs ?? DEFAULT_HISTORY_MS;
  if (!Number.isInteger(historyMs) || historyMs < 0) throw new ConfigError(`history: must be a whole number of ms >= 0, got ${historyMs}`, ['history']);
  const horizon = opts.lateHorizonMs ?? DEFAULT_LATE_HORIZON_MS;
  const maxFuture = opts.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS;
  const now = opts.now ?? Date.now();
  const cursor = opts.cursor;
  if (cursor && (cursor.version !== 1 || cursor.windowMs !== windowMs)) {
    throw new ConfigError(`the feature cursor is for ${fmtMs(cursor.windowMs)} windows (version ${cursor.version}), not ${fmtMs(windowMs)}`, ['window']);
  }
  if (opts.sets.length === 0) throw new ConfigError('no feature sets to compute', ['features']);
  const names = new Set<string>();
  const trees = opts.sets.map((s) => {
    if (names.has(s.name)) throw new ConfigError(`feature set '${s.name}' is given twice`, ['features']);
    names.add(s.name);
    return checkFeatureSet(s);
  });
  const features = featureInfos(opts.sets);
  const messages: string[] = [];
  const say = (m: string): void => {
    messages.push(m);
    opts.onMessage?.(m);
  };

  await installMacros(db, (opts.knownSubnets ?? []).map((c, i) => parseSubnet(c, `knownSubnets[${i}]`)));
  // Every statement below binds the lake views, which reads the footers of all their objects: cache them.
  await db.run('SET parquet_metadata_cache = true');
  const views = await inspectViews(db, new Set(opts.sets.flatMap((s) => s.source)), windowMs, now + maxFuture);

  // Sets with data, and the skipped ones.
  const skipped: SkippedSet[] = [];
  const active: number[] = [];
  opts.sets.forEach((s, i) => {
    if (s.source.some((v) => views.get(v)!.hasRows)) {
      active.push(i);
      const empty = s.source.filter((v) => !views.get(v)!.hasRows);
      if (empty.length) say(`feature set '${s.name}': ${empty.map((v) => `${v} ${views.get(v)!.exists ? 'is empty' : 'does not exist'}`).join(', ')} (read as no records)`);
      return;
    }
    const why = s.source.map((v) => (!views.get(v)!.exists ? `no view ${v}` : views.get(v)!.schema.has('time') ? `${v} is empty` : `${v} has no time column`)).join(', ');
    skipped.push({ set: s.name, reason: why });
    say(`feature set '${s.name}' skipped: ${why}; its features read as their defaults`);
  });

  // Watermark from the views of the active sets (their time profiles, which also give the window counts).
  const activeViews = [...new Set(active.flatMap((i) => opts.sets[i]!.source))].filter((v) => views.get(v)!.hasRows);
  let maxT: number | undefined;
  let minT: number | undefined;
  const future: Record<string, number> = {};
  const profiles = new Map<string, Map<number, number>>();
  const newest: number[] = [];
  for (const v of activeViews) {
    const p = views.get(v)!.profile!;
    profiles.set(v, p.perWindow);
    if (p.max !== undefined) newest.push(p.max);
    if (p.max !== undefined) maxT = maxT === undefined ? p.max : Math.max(maxT, p.max);
    if (p.min !== undefined) minT = minT === undefined ? p.min : Math.min(minT, p.min);
    if (p.future > 0) {
      future[v] = p.future;
      say(`${v}: ${p.future} records are more than ${fmtMs(maxFuture)} past now (${new Date(now).toISOString()}); they do not move the watermark and wait in their windows`);
    }
  }
  // The slowest delivering view (see the file's comment): views within idleMs of the newest hold the watermark.
  const idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  if (!(idleMs >= 0)) throw new ConfigError(`idleMs must be >= 0, got ${idleMs}`, ['idleMs']);
  const slowest = maxT === undefined ? undefined : Math.min(...newest.filter((t) => t >= maxT! - idleMs));
  const watermark = slowest === undefined ? Number.NaN : slowest - latenessMs;
  let from: number;
  if (cursor) from = cursor.closedThrough;
  else if (opts.start !== undefined) from = Math.ceil(opts.start / windowMs) * windowMs;
  else from = minT !== undefined ? floorTo(minT, windowMs) : 0;
  if (cursor && opts.start !== undefined) from = Math.max(from, Math.ceil(opts.start / windowMs) * windowMs);
  let closed = Number.isNaN(watermark) ? from : floorTo(watermark, windowMs);
  if (opts.end !== undefined) closed = Math.min(closed, floorTo(opts.end, windowMs));
  closed = Math.max(closed, from);

  // Late records (with a cursor) and the new cursor's counts.
  const late: LateReport = { records: 0, byView: {}, windows: [] };
  const counts: Record<string, ViewCounts> = {};
  for (const [v, c] of profiles) {
    if (cursor) {
      const before = new Map<number, number>();
      const prev = cursor.counts[v];
      if (prev) prev.windows.forEach((w, k) => before.set(w, prev.records[k]!));
      for (const [w, n] of [...c].sort((a, b) => a[0] - b[0])) {
        if (w < cursor.closedThrough - horizon || w >= cursor.closedThrough) continue;
        const extra = n - (before.get(w) ?? 0);
        if (extra > 0) {
          late.windows.push({ view: v, windowStart: w, records: extra });
          late.byView[v] = (late.byView[v] ?? 0) + extra;
          late.records += extra;
        }
      }
    }
    const kept = [...c].filter(([w]) => w >= closed - horizon && w < closed).sort((a, b) => a[0] - b[0]);
    counts[v] = { windows: kept.map(([w]) => w), records: kept.map(([, n]) => n) };
  }
  if (late.records > 0) {
    const per = Object.entries(late.byView).map(([v, n]) => `${v}: ${n}`).join(', ');
    say(
      `${late.records} late records arrived for ${new Set(late.windows.map((w) => w.windowStart)).size} windows already emitted (${per}); ` +
        `not merged (raise the lateness, now ${fmtMs(latenessMs)}, if sources deliver later than that)`,
    );
  }
  const newCursor: FeatureCursor = { version: 1, windowMs, closedThrough: closed, watermark: Number.isNaN(watermark) ? (cursor?.watermark ?? closed) : watermark, counts };

  const dim = features.length;
  const result: ComputeResult = {
    featureNames: features.map((f) => f.name),
    features,
    entities: [],
    groups: [],
    windowStart: new Float64Array(0),
    values: new Float64Array(0),
    windowMs,
    watermark,
    from,
    closedThrough: closed,
    skipped,
    late,
    future,
    messages,
    cursor: newCursor,
  };
  if (active.length === 0 || closed <= from) return result;

  // One statement: each active set as a CTE over its stand-in relations, the (entity, window) keys of all, joined.
  const nothingBefore = minT !== undefined && minT >= from;
  const setCtes: string[] = [];
  const setCols: { groupCol: boolean }[] = [];
  const params = { start: from, end: closed, window_ms: windowMs, history_ms: historyMs };
  for (const i of active) {
    const s = opts.sets[i]!;
    const rels: string[] = [];
    for (const v of s.source) {
      const info = views.get(v)!;
      const tree = trees[i]!.get(v)!;
      const hist = sourceRelation(v, info, tree, '$start - $history_ms');
      if (hist.missing.length && info.hasRows) say(`feature set '${s.name}': ${v} has no ${hist.missing.join(', ')} (read as NULL)`);
      // When the lookback holds nothing before the windows (a first computation over the whole history), a set that
      // reads both gets the windows' relation as a filter of the lookback's: one scan instead of two. Otherwise each
      // is its own scan (the lookback one reads only the columns its uses need). An unused CTE is never run.
      const oneScan = nothingBefore && new RegExp(`\\b${v}_history\\b`).test(s.sql);
      const cur = oneScan ? `SELECT * FROM ${quoteIdent(`${v}_history`)} WHERE "time" >= $start` : sourceRelation(v, info, tree, '$start').sql;
      rels.push(`${quoteIdent(`${v}_history`)} AS (${hist.sql})`, `${quoteIdent(v)} AS (${cur})`);
    }
    const body = s.sql.trim().replace(/;+\s*$/, '');
    // Entity and window typed alike in every set (a user set may return numbers), so the sets join.
    const cte =
      `WITH ${rels.join(',\n')}\nSELECT * REPLACE (CAST(__q.entity AS VARCHAR) AS entity, CAST(__q.window_start AS BIGINT) AS window_start) ` +
      `FROM (${body}) AS __q WHERE __q.entity IS NOT NULL AND __q.window_start >= $start AND __q.window_start < $end`;
    // Check that a user set binds and returns the declared columns (DESCRIBE binds without running; a bind costs a
    // read of the views' object footers, so the built-in sets, whose columns are known, are not checked).
    if (BUILTIN_FEATURE_SETS.includes(s)) {
      setCtes.push(`${quoteIdent(`__set_${s.name}`)} AS (${cte})`);
      setCols.push({ groupCol: true });
      continue;
    }
    let described: { name: string; type: string }[];
    try {
      described = (await db.all(`DESCRIBE ${cte}`, params)).map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    } catch (err) {
      throw new ConfigError(`feature set '${s.name}': its SQL does not run on this lake: ${err instanceof Error ? err.message.replace(/^SQL failed: /, '') : String(err)}`, [`features.${s.name}.sql`], { cause: err });
    }
    const have = new Set(described.map((c) => c.name));
    const missing = ['entity', 'window_start', ...s.features.map((f) => f.name)].filter((c) => !have.has(c));
    if (missing.length) throw new ConfigError(`feature set '${s.name}': its SQL returns no column ${missing.join(', ')} (columns: ${[...have].join(', ')})`, [`features.${s.name}.sql`]);
    setCtes.push(`${quoteIdent(`__set_${s.name}`)} AS (${cte})`);
    setCols.push({ groupCol: have.has('entity_group') });
  }
  const activeSets = active.map((i) => opts.sets[i]!);
  const keys = activeSets.map((s) => `SELECT entity, window_start FROM ${quoteIdent(`__set_${s.name}`)}`).join(' UNION ');
  const alias = (k: number): string => `__s${k}`;
  const groupExpr = activeSets.map((_, k) => (setCols[k]!.groupCol ? `CAST(${alias(k)}.entity_group AS VARCHAR)` : 'NULL')).join(', ');
  const featureExprs: string[] = [];
  for (const f of features) {
    const k = activeSets.findIndex((s) => s.name === f.set);
    featureExprs.push(k < 0 ? `${literal(f.default)}::DOUBLE` : `coalesce(CAST(${alias(k)}.${quoteIdent(f.feature)} AS DOUBLE), ${literal(f.default)})`);
  }
  const joins = activeSets.map((s, k) => `LEFT JOIN ${quoteIdent(`__set_${s.name}`)} AS ${alias(k)} ON ${alias(k)}.entity = __k.entity AND ${alias(k)}.window_start = __k.window_start`);
  const sql =
    `WITH ${setCtes.join(',\n')},\n__keys AS (${keys})\n` +
    `SELECT CAST(__k.entity AS VARCHAR) AS entity, coalesce(${groupExpr}, '') AS entity_group, CAST(__k.window_start AS DOUBLE) AS window_start` +
    (featureExprs.length ? `, ${featureExprs.join(', ')}` : '') +
    `\nFROM __keys AS __k\n${joins.join('\n')}\nORDER BY __k.window_start, __k.entity`;

  const entities: string[] = [];
  const groups: string[] = [];
  const starts: number[] = [];
  const chunks: Float64Array[] = [];
  let n = 0;
  for await (const chunk of db.streamColumns(sql, params)) {
    const [ent, grp, ws, ...cols] = chunk.data;
    const block = new Float64Array(chunk.rowCount * dim);
    for (let r = 0; r < chunk.rowCount; r++) {
      const e = String(ent![r]);
      const w = Number(ws![r]);
      if (n > 0 && starts[n - 1] === w && entities[n - 1] === e) {
        throw new LakeError(`feature sets ${activeSets.map((s) => s.name).join(', ')}: more than one row for entity ${e} and window ${new Date(w).toISOString()}; a set's SQL must return one row per (entity, window_start)`);
      }
      entities.push(e);
      groups.push(grp![r] === null || grp![r] === undefined ? '' : String(grp![r]));
      starts.push(w);
      n++;
    }
    for (let c = 0; c < dim; c++) {
      const col = cols[c]!;
      for (let r = 0; r < chunk.rowCount; r++) {
        const v = col[r];
        block[r * dim + c] = v === null || v === undefined ? features[c]!.default : Number(v);
      }
    }
    chunks.push(block);
  }
  const values = new Float64Array(n * dim);
  let off = 0;
  for (const b of chunks) {
    values.set(b, off);
    off += b.length;
  }
  result.entities = entities;
  result.groups = groups;
  result.windowStart = Float64Array.from(starts);
  result.values = values;
  return result;
}
