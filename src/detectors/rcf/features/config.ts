/**
 * The feature config file (JSON): user-defined feature sets next to the built-in ones, known internal subnets, and
 * the window settings. Validated strictly (zod: unknown keys are errors); every problem names its key, e.g.
 * `sets[0].features[2].transform: Invalid option: expected one of "log1p"|"none"`.
 *
 * ```json
 * {
 *   "use": ["network", "dns", "s3_reads"],
 *   "window": "1h", "lateness": "10m", "history": "7d",
 *   "knownSubnets": ["100.64.0.0/10", "2600:1f18::/32"],
 *   "sets": [{
 *     "name": "s3_reads", "description": "S3 data events per principal", "entity": "user or role",
 *     "source": ["s3_data"],
 *     "columns": { "s3_data": ["actor.user.name", "api.operation"] },
 *     "features": [{ "name": "gets", "description": "GetObject calls", "unit": "count" }],
 *     "sql": "SELECT actor.user.name AS entity, window_start, count(*) FILTER (WHERE api.operation = 'GetObject') AS gets FROM s3_data GROUP BY ALL"
 *   }]
 * }
 * ```
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../../../core/errors.js';
import { columnTree, VIEW_CLASSES, type ColumnNode } from './columns.js';
import { parseSubnet } from './macros.js';
import { BUILTIN_FEATURE_SETS, DEFAULT_FEATURE_SET_NAMES } from './sets.js';
import type { FeatureSet } from './types.js';

const IDENT_RE = /^[a-z][a-z0-9_]*$/;
const VIEW_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Column names a set's SQL returns besides its features. */
const RESERVED = new Set(['entity', 'entity_group', 'window_start']);

const ident = z.string().regex(IDENT_RE, 'must be a lower-case identifier (a-z, 0-9, _; starting with a letter)');
const viewName = z.string().regex(VIEW_RE, 'must be a view name (letters, digits, _)');

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `10m`, `1h`, `7d`, `1500ms`, or a number of milliseconds. */
export function parseDuration(v: string | number, key: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new ConfigError(`${key}: must be a duration (e.g. 10m, 1h) or milliseconds >= 0, got ${v}`, [key]);
    return v;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(v);
  if (!m) throw new ConfigError(`${key}: ${JSON.stringify(v)} is not a duration (e.g. 30s, 10m, 1h, 7d)`, [key]);
  return Math.round(Number(m[1]) * UNITS_MS[m[2]!]!);
}

const duration = z.union([z.string(), z.number()]);

const featureSchema = z.strictObject({
  name: ident,
  description: z.string().min(1, 'must not be empty'),
  unit: z.string().min(1).optional(),
  transform: z.enum(['log1p', 'none']).optional(),
  default: z.number().refine(Number.isFinite, 'must be a finite number').optional(),
  scaleFloor: z.number().positive().refine(Number.isFinite, 'must be a finite number').optional(),
  support: ident.optional(),
});

const setSchema = z.strictObject({
  name: ident,
  description: z.string().default(''),
  entity: z.string().min(1, 'must not be empty'),
  source: z.array(viewName).min(1, 'must name at least one view'),
  columns: z.record(viewName, z.array(z.string().min(1))),
  classes: z.record(viewName, z.number().int().positive()).optional(),
  features: z.array(featureSchema).min(1, 'must define at least one feature'),
  sql: z.string().min(1, 'must not be empty'),
});

const configSchema = z.strictObject({
  use: z.array(ident).min(1).optional(),
  window: duration.optional(),
  lateness: duration.optional(),
  history: duration.optional(),
  knownSubnets: z.array(z.string()).default([]),
  sets: z.array(setSchema).default([]),
});

/** A loaded config file. */
export interface FeatureConfig {
  /** User-defined sets (validated), in file order. */
  sets: FeatureSet[];
  /** Sets to compute when the caller names none (default: the built-in ones). */
  use?: string[];
  windowMs?: number;
  latenessMs?: number;
  historyMs?: number;
  knownSubnets: string[];
}

/** `sets.0.features.2.transform` -> `sets[0].features[2].transform` */
function keyOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

function zodError(what: string, error: z.ZodError): ConfigError {
  const lines: string[] = [];
  const keys: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const key = keyOf([...issue.path, k]);
        lines.push(`${key}: unknown key`);
        keys.push(key);
      }
      continue;
    }
    const key = keyOf(issue.path) || '(top level)';
    lines.push(`${key}: ${issue.message}`);
    keys.push(key);
  }
  return new ConfigError(`invalid ${what}: ${lines.join('; ')}`, keys);
}

/**
 * Structural checks of one set beyond its shape: feature names unique and not reserved, columns only for its source
 * views, every column an OCSF attribute of the view's class (or explicitly typed). Returns the column tree per view.
 * `where` prefixes keys in errors (`sets[0]`).
 */
export function checkFeatureSet(set: FeatureSet, where = `set ${set.name}`): Map<string, Map<string, ColumnNode>> {
  const seen = new Set<string>();
  set.features.forEach((f, i) => {
    if (RESERVED.has(f.name)) throw new ConfigError(`${where}.features[${i}].name: '${f.name}' is reserved (entity, entity_group, window_start)`, [`${where}.features[${i}].name`]);
    if (seen.has(f.name)) throw new ConfigError(`${where}.features[${i}].name: '${f.name}' appears twice in set ${set.name}`, [`${where}.features[${i}].name`]);
    seen.add(f.name);
  });
  set.features.forEach((f, i) => {
    if (f.support === undefined) return;
    if (f.support === f.name || !set.features.some((g) => g.name === f.support)) {
      throw new ConfigError(`${where}.features[${i}].support: '${f.support}' is not another feature of set ${set.name} (the count the share or mean is taken over)`, [`${where}.features[${i}].support`]);
    }
  });
  set.source.forEach((v, i) => {
    if (!VIEW_RE.test(v)) throw new ConfigError(`${where}.source[${i}]: ${JSON.stringify(v)} is not a view name (letters, digits, _)`, [`${where}.source[${i}]`]);
  });
  const sources = new Set(set.source);
  if (sources.size !== set.source.length) throw new ConfigError(`${where}.source: a view is listed twice`, [`${where}.source`]);
  for (const v of set.source) {
    if (sources.has(`${v}_history`)) throw new ConfigError(`${where}.source: ${v} and ${v}_history cannot both be sources (the set reads ${v}_history as ${v}'s lookback)`, [`${where}.source`]);
  }
  for (const k of [...Object.keys(set.columns), ...Object.keys(set.classes ?? {})]) {
    if (!sources.has(k)) throw new ConfigError(`${where}.columns.${k}: ${k} is not one of the set's source views (${set.source.join(', ')})`, [`${where}.columns.${k}`]);
  }
  const trees = new Map<string, Map<string, ColumnNode>>();
  for (const v of set.source) {
    const classUid = set.classes?.[v] ?? VIEW_CLASSES[v];
    trees.set(v, columnTree(set.columns[v] ?? [], v, classUid, `${where}.columns.${v}`));
  }
  return trees;
}

/** Parse a config object (already JSON-parsed); `what` names it in errors (the file). */
export function parseFeatureConfig(raw: unknown, what = 'feature config'): FeatureConfig {
  const res = configSchema.safeParse(raw);
  if (!res.success) throw zodError(what, res.error);
  const c = res.data;
  const builtin = new Set(BUILTIN_FEATURE_SETS.map((s) => s.name));
  const names = new Set<string>();
  const sets: FeatureSet[] = c.sets.map((s, i) => {
    const where = `sets[${i}]`;
    if (builtin.has(s.name)) throw new ConfigError(`invalid ${what}: ${where}.name: '${s.name}' is a built-in set; choose another name`, [`${where}.name`]);
    if (names.has(s.name)) throw new ConfigError(`invalid ${what}: ${where}.name: '${s.name}' is defined twice`, [`${where}.name`]);
    names.add(s.name);
    const set: FeatureSet = {
      name: s.name,
      description: s.description,
      entity: s.entity,
      source: s.source,
      columns: s.columns,
      ...(s.classes ? { classes: s.classes } : {}),
      features: s.features.map((f) => ({
        name: f.name,
        description: f.description,
        ...(f.unit !== undefined ? { unit: f.unit } : {}),
        ...(f.transform !== undefined ? { transform: f.transform } : {}),
        ...(f.default !== undefined ? { default: f.default } : {}),
        ...(f.scaleFloor !== undefined ? { scaleFloor: f.scaleFloor } : {}),
        ...(f.support !== undefined ? { support: f.support } : {}),
      })),
      sql: s.sql,
    };
    try {
      checkFeatureSet(set, where);
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`invalid ${what}: ${err.message}`, err.path);
      throw err;
    }
    return set;
  });
  c.knownSubnets.forEach((cidr, i) => {
    try {
      parseSubnet(cidr, `knownSubnets[${i}]`);
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`invalid ${what}: ${err.message}`, err.path);
      throw err;
    }
  });
  const out: FeatureConfig = { sets, knownSubnets: c.knownSubnets };
  if (c.use) {
    c.use.forEach((n, i) => {
      if (!builtin.has(n) && !names.has(n)) throw new ConfigError(`invalid ${what}: use[${i}]: unknown feature set '${n}' (known: ${[...builtin, ...names].join(', ')})`, [`use[${i}]`]);
    });
    out.use = c.use;
  }
  const dur = (v: string | number | undefined, key: string): number | undefined => {
    if (v === undefined) return undefined;
    try {
      return parseDuration(v, key);
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`invalid ${what}: ${err.message}`, err.path);
      throw err;
    }
  };
  const w = dur(c.window, 'window');
  if (w !== undefined) out.windowMs = w;
  const l = dur(c.lateness, 'lateness');
  if (l !== undefined) out.latenessMs = l;
  const h = dur(c.history, 'history');
  if (h !== undefined) out.historyMs = h;
  return out;
}

/** Read and validate a feature config file (JSON). */
export function loadFeatureConfig(file: string): FeatureConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read feature config ${file}: ${errorMessage(err)}`, ['features-config']);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON: ${errorMessage(err)}`, ['features-config']);
  }
  return parseFeatureConfig(raw, `feature config ${file}`);
}

/**
 * The sets to compute: by name (built-in or from the config), else the config's `use`, else every built-in set.
 * Unknown names fail listing the known ones.
 */
export function resolveFeatureSets(names?: readonly string[], config?: FeatureConfig): FeatureSet[] {
  const all = new Map<string, FeatureSet>([...BUILTIN_FEATURE_SETS, ...(config?.sets ?? [])].map((s) => [s.name, s]));
  const want = names && names.length > 0 ? names : (config?.use ?? DEFAULT_FEATURE_SET_NAMES);
  const out: FeatureSet[] = [];
  for (const n of want) {
    const s = all.get(n);
    if (!s) throw new ConfigError(`unknown feature set '${n}' (known: ${[...all.keys()].join(', ')})`, ['features']);
    if (!out.includes(s)) out.push(s);
  }
  return out;
}
