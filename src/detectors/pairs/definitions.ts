/**
 * Record definitions of the pair detectors: which (entity, IP) pairs a model learns from the lake and scores on new
 * objects. One definition serves both: `compileDefinitionSql` turns it into the training query over the lake's views,
 * and the monitor's processor (src/monitor/processor.ts) applies the same expressions to each object of a source the
 * definition reads (`specsForSource`), so training and monitoring take exactly the same pairs.
 *
 * A definition is one or more specs, each for its own lake sources:
 *
 * - `default` = `flow-peer` + `user-login`: the lake pipeline's default (train --lake, pairs, calibrate --lake, monitor).
 * - `flow-peer` (VPC_FLOW): the instance whose interface logged a flow record and the address at the other end, in
 *   both directions (the source of an ingress record, the destination of an egress record). "Which addresses does
 *   this instance talk to."
 * - `user-login` (CLOUD_TRAIL_MGMT, class 3002): who signed in (actor.user.name) from where (src_endpoint.ip).
 * - `reference` (VPC_FLOW, ROUTE53): the AWS reference solution's query, src_endpoint.instance_uid with
 *   src_endpoint.ip. Kept by name, but DEGENERATE on VPC flow logs v5+ (those with `flow-direction`): OCSF 1.1 maps
 *   an ingress record's instance to the destination endpoint, so the records that carry src_endpoint.instance_uid
 *   are the instance's own egress records, whose src_endpoint.ip is the instance's own interface address. Every
 *   instance is paired with its own address (one address per entity, one entity per address), the model learns
 *   nothing about whom an instance talks to, and attack pairs never appear (AUC 0.30 on a held-out estate, vs 0.996
 *   for `flow-peer`). It only makes sense on v2-v4 logs without flow-direction, as in the original blog post.
 *
 * Expressions are operator configuration (like a view definition), never log data.
 */
import { ConfigError } from '../../core/errors.js';

/**
 * Which pairs to take from an object: SQL expressions over the object's OCSF columns for the entity and the IP, a
 * filter, and the lake sources it applies to.
 */
export interface PairSpec {
  /** Preset name, for messages. */
  name?: string;
  entity: string;
  ip: string;
  where?: string;
  /** Lake source names (`VPC_FLOW`, `ROUTE53`, `CLOUD_TRAIL_MGMT`, ...) this spec applies to; [] = every source. */
  sources: readonly string[];
  /**
   * The lake views the training query reads for this spec (default: the views of its sources, see SOURCE_VIEWS).
   * E.g. `user-login` reads `cloudtrail_auth` only, the CloudTrail class its filter keeps.
   */
  views?: readonly string[];
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

/** A named record definition: one spec per group of lake sources. */
export interface PairDefinition {
  name: string;
  /** One line for help texts and docs. */
  description: string;
  specs: readonly PairSpec[];
}

/** Lake source -> the lake views (src/lake/layout.ts SHORT_VIEWS) its records appear in. */
export const SOURCE_VIEWS: Readonly<Record<string, readonly string[]>> = {
  VPC_FLOW: ['vpc_flow'],
  ROUTE53: ['route53'],
  CLOUD_TRAIL_MGMT: ['cloudtrail_api', 'cloudtrail_auth', 'cloudtrail_account'],
  S3_DATA: ['s3_data'],
  LAMBDA_EXECUTION: ['lambda_execution'],
};

const FLOW_ENTITY = 'CASE WHEN connection_info.direction_id = 1 THEN dst_endpoint.instance_uid ELSE src_endpoint.instance_uid END';
const FLOW_PEER = 'CASE WHEN connection_info.direction_id = 1 THEN src_endpoint.ip ELSE dst_endpoint.ip END';

/** Single-spec presets by name (the parts the definitions are made of). */
export const PAIR_PRESETS: Readonly<Record<string, PairSpec>> = {
  /**
   * The reference solution's query. Degenerate on VPC flow logs v5+ (flow-direction): OCSF puts an ingress record's
   * instance on dst_endpoint, so every instance is paired with its own address (see the module comment).
   */
  reference: {
    name: 'reference',
    entity: 'src_endpoint.instance_uid',
    ip: 'src_endpoint.ip',
    where: "src_endpoint.ip IS NOT NULL AND src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid != '-' AND src_endpoint.ip != '-'",
    sources: ['VPC_FLOW', 'ROUTE53'],
    views: ['vpc_flow', 'route53'],
  },
  /** The instance whose interface logged a flow and the address at the other end (both directions). */
  'flow-peer': {
    name: 'flow-peer',
    entity: FLOW_ENTITY,
    ip: FLOW_PEER,
    where: `connection_info.direction_id IN (1, 2) AND (${FLOW_ENTITY}) IS NOT NULL AND (${FLOW_ENTITY}) <> '-' AND (${FLOW_PEER}) IS NOT NULL`,
    sources: ['VPC_FLOW'],
    views: ['vpc_flow'],
  },
  /** Who signed in from where: CloudTrail authentications (class 3002), actor.user.name with src_endpoint.ip. */
  'user-login': {
    name: 'user-login',
    entity: 'actor.user.name',
    ip: 'src_endpoint.ip',
    where: "class_uid = 3002 AND actor.user.name IS NOT NULL AND actor.user.name <> '' AND src_endpoint.ip IS NOT NULL",
    sources: ['CLOUD_TRAIL_MGMT'],
    views: ['cloudtrail_auth'],
  },
};

/** The definition the lake pipeline uses when none is given. */
export const DEFAULT_PAIR_DEFINITION = 'default';

/** Record definitions by name (`--pairs NAME`). */
export const PAIR_DEFINITIONS: Readonly<Record<string, PairDefinition>> = {
  default: {
    name: 'default',
    description: 'flow-peer for VPC flow logs (instance, address at the other end) + user-login for CloudTrail sign-ins',
    specs: [PAIR_PRESETS['flow-peer']!, PAIR_PRESETS['user-login']!],
  },
  'flow-peer': {
    name: 'flow-peer',
    description: 'VPC flow: the instance whose interface logged the flow and the address at the other end, both directions',
    specs: [PAIR_PRESETS['flow-peer']!],
  },
  'user-login': {
    name: 'user-login',
    description: 'CloudTrail sign-ins (class 3002): actor.user.name with src_endpoint.ip',
    specs: [PAIR_PRESETS['user-login']!],
  },
  reference: {
    name: 'reference',
    description:
      "the AWS reference solution's query (src_endpoint.instance_uid, src_endpoint.ip; VPC flow + Route 53); degenerate on v5+ flow logs (pairs each instance with its own address)",
    specs: [PAIR_PRESETS.reference!],
  },
};

/** A definition by name, with a clear error listing the names. */
export function pairDefinition(name: string): PairDefinition {
  const d = Object.hasOwn(PAIR_DEFINITIONS, name) ? PAIR_DEFINITIONS[name] : undefined;
  if (!d) throw new ConfigError(`unknown pair definition '${name}'; known: ${Object.keys(PAIR_DEFINITIONS).join(', ')}`, ['pairs']);
  return d;
}

/** A single-spec preset by name (`reference`, `flow-peer`, `user-login`), with a clear error listing the names. */
export function pairPreset(name: string): PairSpec {
  const p = Object.hasOwn(PAIR_PRESETS, name) ? PAIR_PRESETS[name] : undefined;
  if (!p) {
    const multi = Object.hasOwn(PAIR_DEFINITIONS, name) ? ` ('${name}' has several specs: use pairDefinition)` : '';
    throw new ConfigError(`unknown pair definition '${name}'${multi}; known: ${Object.keys(PAIR_PRESETS).join(', ')}`, ['pairs']);
  }
  return p;
}

/** Any accepted form of a definition -> its specs (a name, a definition, one spec or one query spec). */
export function specsOf(def: string | PairDefinition | PairSpec | PairQuerySpec): readonly (PairSpec | PairQuerySpec)[] {
  if (typeof def === 'string') return pairDefinition(def).specs;
  if ('specs' in def) return def.specs;
  return [def];
}

/** Whether a spec reads objects of this lake source. */
export function specApplies(spec: PairSpec | PairQuerySpec, source: string | undefined): boolean {
  return spec.sources.length === 0 || (source !== undefined && spec.sources.includes(source));
}

/** The specs of a definition that apply to an object of this lake source (in definition order; [] = none). */
export function specsForSource<S extends PairSpec | PairQuerySpec>(specs: readonly S[], source: string | undefined): S[] {
  return specs.filter((s) => specApplies(s, source));
}

/** The lake views one spec's training query reads. */
export function viewsOf(spec: PairSpec): readonly string[] {
  if (spec.views?.length) return spec.views;
  if (spec.sources.length === 0) throw new ConfigError(`pair spec ${spec.name ?? ''} applies to every source: give its lake views`, ['pairs.views']);
  return spec.sources.flatMap((s) => SOURCE_VIEWS[s] ?? []);
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One spec over one view: SELECT entity, ip, time. */
export function specViewSql(spec: PairSpec, view: string): string {
  if (!IDENT.test(view)) throw new ConfigError(`not a lake view name: ${JSON.stringify(view)}`, ['pairs.views']);
  return `SELECT (${spec.entity}) AS entity, (${spec.ip}) AS ip, time FROM ${view}${spec.where ? ` WHERE ${spec.where}` : ''}`;
}

/**
 * The training query of a definition over the lake's views: UNION ALL of each spec over each of its views, returning
 * (entity, ip, time), with exactly the expressions the monitor applies to each object.
 */
export function compileDefinitionSql(def: string | PairDefinition): string {
  const d = typeof def === 'string' ? pairDefinition(def) : def;
  const parts = d.specs.flatMap((s) => viewsOf(s).map((v) => specViewSql(s, v)));
  if (parts.length === 0) throw new ConfigError(`pair definition ${d.name} reads no lake view`, ['pairs']);
  return parts.join('\nUNION ALL\n');
}

/** The parts of compileDefinitionSql, one per (spec, view), for callers that check each against the lake first. */
export function definitionParts(def: string | PairDefinition): { spec: PairSpec; view: string; sql: string }[] {
  const d = typeof def === 'string' ? pairDefinition(def) : def;
  return d.specs.flatMap((s) => viewsOf(s).map((view) => ({ spec: s, view, sql: specViewSql(s, view) })));
}

/** What a model file records about the pairs it was trained on (the header's `record_definition`). */
export interface RecordDefinitionInfo {
  /** A definition name, or `custom` for a query given with --sql. */
  name: string;
  sql: string;
}

/**
 * The record definition a model header stores: its `record_definition` slot, or `extras.record_definition` (where
 * seclake recorded it before the model file had a slot).
 */
export function recordDefinitionOf(header: { record_definition?: unknown; extras?: Record<string, unknown> | undefined } | undefined): RecordDefinitionInfo | undefined {
  for (const r of [header?.record_definition, header?.extras?.record_definition]) {
    if (!r || typeof r !== 'object') continue;
    const { name, sql } = r as Record<string, unknown>;
    if (typeof name === 'string') return { name, sql: typeof sql === 'string' ? sql : '' };
  }
  return undefined;
}

/**
 * The definition to score a model's records with when none is given: the one it was trained on when that is a named
 * definition, else `default`; `note` says why when a recorded custom query could not be used (it reads the lake's
 * views, not single objects).
 */
export function definitionForModel(header: Parameters<typeof recordDefinitionOf>[0]): { name: string; note?: string } {
  const trained = recordDefinitionOf(header);
  if (trained && Object.hasOwn(PAIR_DEFINITIONS, trained.name)) return { name: trained.name };
  if (trained) return { name: DEFAULT_PAIR_DEFINITION, note: `trained on a custom query (${trained.name}); scoring with '${DEFAULT_PAIR_DEFINITION}'` };
  return { name: DEFAULT_PAIR_DEFINITION };
}

export interface DegeneracyStats {
  entities: number;
  /** Entities seen with exactly one distinct IP. */
  singleIpEntities: number;
  /** Of those, the ones whose IP no other entity uses (entity <-> IP one to one: likely its own address). */
  ownAddressEntities: number;
}

export interface DegeneracyCheck {
  degenerate: boolean;
  stats: DegeneracyStats;
  /** A warning to print (with the definition to use instead), when degenerate. */
  warning?: string;
}

/**
 * Whether a training set pairs entities with their own address rather than with the addresses they talk to: when
 * most entities (> `share`, default 80%) have a single distinct IP, and most of those IPs belong to that entity alone
 * (a one-to-one mapping: the entity's own interface address, as the `reference` query gives on v5+ flow logs).
 * Pure: pairs in, verdict out. Needs at least `minEntities` (default 3) entities to judge.
 */
export function checkDegenerate(
  pairs: Iterable<readonly [string, string]>,
  opts: { share?: number; minEntities?: number; definition?: string } = {},
): DegeneracyCheck {
  const share = opts.share ?? 0.8;
  const ipsOf = new Map<string, Set<string>>();
  const entitiesOf = new Map<string, Set<string>>();
  for (const [e, ip] of pairs) {
    let s = ipsOf.get(e);
    if (!s) ipsOf.set(e, (s = new Set()));
    if (s.size < 2) s.add(ip);
    let t = entitiesOf.get(ip);
    if (!t) entitiesOf.set(ip, (t = new Set()));
    if (t.size < 2) t.add(e);
  }
  let single = 0;
  let own = 0;
  for (const ips of ipsOf.values()) {
    if (ips.size !== 1) continue;
    single++;
    const [ip] = ips;
    if (entitiesOf.get(ip!)!.size === 1) own++;
  }
  const stats: DegeneracyStats = { entities: ipsOf.size, singleIpEntities: single, ownAddressEntities: own };
  const enough = stats.entities >= (opts.minEntities ?? 3);
  const degenerate = enough && single > share * stats.entities && own >= 0.5 * single;
  if (!degenerate) return { degenerate, stats };
  const pct = (n: number): string => `${Math.round((100 * n) / stats.entities)}%`;
  const def = opts.definition ? ` (pair definition '${opts.definition}')` : '';
  const warning =
    `the training set looks degenerate${def}: ${pct(single)} of ${stats.entities} entities are paired with a single address, ` +
    `and ${pct(own)} with an address no other entity uses (likely the entity's own address: the reference query on VPC flow logs v5+ ` +
    `pairs each instance with its own interface address). The model will not learn whom entities talk to. ` +
    `Use --pairs default (flow-peer for VPC flow logs: the instance and the address at the other end, plus user-login for sign-ins) or --pairs flow-peer.`;
  return { degenerate, stats, warning };
}
