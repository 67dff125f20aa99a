/**
 * SQL over the lake: a DuckDB connection with one view per source (short names such as `vpc_flow`)
 * and one per Glue table name Security Lake uses (e.g. amazon_security_lake_table_us_east_1_vpc_flow_2_0).
 * Views read only objects the catalog lists, so half-written or unpublished files are never visible.
 *
 * Custom (ext/) sources are known generically from the catalog: each gets a short view named after it
 * (`ext/seclake_findings/` -> `seclake_findings`) and its Glue-named views. Views that interpret a source (such as
 * the flat `findings` view over the findings objects, src/findings/view.ts) are defined by the layers above and
 * handed in (`createLakeViews(db, dir, { views })`) or registered once (`registerLakeView`): the lake imports none
 * of them.
 */
import path from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { Duck, quoteIdent, quoteString } from './duckdb.js';
import { readObjects, type CatalogObject } from './catalog.js';
import { SHORT_VIEWS, glueTableName, resolveInLake, META_DIR, SOURCE_VERSION } from './layout.js';
import type { LakeSourceName } from '../core/events.js';

/** Columns every empty view still has, so queries written for a source run (and return nothing) on an empty lake. */
const EMPTY_COLUMNS =
  'NULL::BIGINT AS time, NULL::INTEGER AS class_uid, NULL::INTEGER AS activity_id, NULL::BIGINT AS type_uid, ' +
  'NULL::INTEGER AS severity_id, ' +
  'NULL::STRUCT(ip VARCHAR, port INTEGER, instance_uid VARCHAR, interface_uid VARCHAR, vpc_uid VARCHAR, subnet_uid VARCHAR, hostname VARCHAR, domain VARCHAR) AS src_endpoint, ' +
  'NULL::STRUCT(ip VARCHAR, port INTEGER, instance_uid VARCHAR, interface_uid VARCHAR, vpc_uid VARCHAR, subnet_uid VARCHAR, hostname VARCHAR, domain VARCHAR) AS dst_endpoint, ' +
  'NULL::STRUCT(provider VARCHAR, region VARCHAR, account STRUCT(uid VARCHAR)) AS cloud, ' +
  'NULL::STRUCT(version VARCHAR, uid VARCHAR, product STRUCT(name VARCHAR, vendor_name VARCHAR)) AS metadata, ' +
  'NULL::VARCHAR AS region, NULL::VARCHAR AS accountId, NULL::VARCHAR AS eventDay';

/**
 * `read_parquet` over lake-relative object paths (union by name, the hive partition columns `region`, `accountId`,
 * `eventDay` as VARCHAR); undefined for no paths.
 */
export function readObjectsSql(lakeDir: string, paths: readonly string[]): string | undefined {
  if (paths.length === 0) return undefined;
  const files = paths.map((p) => quoteString(resolveInLake(lakeDir, p))).join(', ');
  return (
    `SELECT * FROM read_parquet([${files}], union_by_name = true, hive_partitioning = true, ` +
    `hive_types = {'region': VARCHAR, 'accountId': VARCHAR, 'eventDay': VARCHAR})`
  );
}

function viewSql(lakeDir: string, objects: CatalogObject[]): string {
  return readObjectsSql(lakeDir, objects.map((o) => o.path)) ?? `SELECT ${EMPTY_COLUMNS} WHERE false`;
}

/** Source version of an object from its path (`ext/seclake_findings/2.0/...` -> 2.0). */
function versionOf(p: string): string {
  return /^(?:aws|ext)\/[^/]+\/(\d+\.\d+)\//.exec(p)?.[1] ?? SOURCE_VERSION;
}

/** Glue table name of an object: Security Lake's name with the object's source version. */
function glueNameOf(o: CatalogObject): string {
  return glueTableName(o.region, o.source).replace(/_\d+_\d+$/, `_${versionOf(o.path).replace('.', '_')}`);
}

export interface LakeViews {
  /** view name -> number of objects behind it */
  views: Record<string, number>;
}

/** What a view defined above the lake is given to build its SQL. */
export interface LakeViewContext {
  db: Duck;
  /** Absolute lake directory. */
  lakeDir: string;
  /** Every catalogued object, in seq order. */
  objects: readonly CatalogObject[];
  /** `read_parquet` SQL over lake-relative paths (see readObjectsSql); undefined for none. */
  read(paths: readonly string[]): string | undefined;
}

/** A view defined by a layer above the lake (e.g. the flat `findings` view of src/findings/view.ts). */
export interface LakeViewDef {
  name: string;
  /** The view's SELECT and how many objects it reads. */
  build(ctx: LakeViewContext): Promise<{ sql: string; objects: number }> | { sql: string; objects: number };
}

const registered = new Map<string, LakeViewDef>();

/**
 * Register a view that every `createLakeViews`/`openLakeQuery` in this process creates (unless the caller passes
 * its own list). Registering a name again replaces the definition.
 */
export function registerLakeView(def: LakeViewDef): void {
  registered.set(def.name, def);
}

/** The registered views. */
export function registeredLakeViews(): LakeViewDef[] {
  return [...registered.values()];
}

export interface CreateViewsOptions {
  /** Views defined above the lake to create after the lake's own (default: the registered ones). */
  views?: readonly LakeViewDef[];
  /** Only objects with a sequence number up to this one (the lake as it was then; the monitor's behaviour windows). */
  throughSeq?: number;
  /**
   * Only objects with events at or after this instant (catalog `time_max >= timeFrom`; epoch ms): a query that reads
   * a bounded period of a long lake opens only its objects. Objects with no time range are kept.
   */
  timeFrom?: number;
}

/** Create (or replace) the lake views on an open connection. */
export async function createLakeViews(db: Duck, lakeDir: string, opts: CreateViewsOptions = {}): Promise<LakeViews> {
  const all = readObjects(lakeDir);
  const tf = opts.timeFrom;
  const objects = all.filter((o) => (opts.throughSeq === undefined || o.seq <= opts.throughSeq) && (tf === undefined || !Number.isFinite(o.time_max) || o.time_max >= tf));
  const views: Record<string, number> = {};
  for (const def of SHORT_VIEWS) {
    const objs = objects.filter((o) => def.sources.includes(o.source) && (!def.classUids || def.classUids.includes(o.class_uid)));
    await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(def.name)} AS ${viewSql(lakeDir, objs)}`);
    views[def.name] = objs.length;
  }
  // Glue-named views: one per (region, source) present; always the us-east-1 ones of the main sources.
  const glue = new Map<string, CatalogObject[]>();
  for (const base of ['VPC_FLOW', 'ROUTE53', 'CLOUD_TRAIL_MGMT'] as LakeSourceName[]) glue.set(glueTableName('us-east-1', base), []);
  for (const o of objects) {
    const name = glueNameOf(o);
    if (!glue.has(name)) glue.set(name, []);
    glue.get(name)!.push(o);
  }
  for (const [name, objs] of glue) {
    await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(name)} AS ${viewSql(lakeDir, objs)}`);
    views[name] = objs.length;
  }
  // Every custom (ext/) source also gets a short view named after it, e.g. `seclake_findings`.
  for (const src of new Set(objects.map((o) => o.source).filter((s) => s.startsWith('EXT_')))) {
    const name = src.slice(4).toLowerCase();
    if (views[name] !== undefined) continue;
    const objs = objects.filter((o) => o.source === src);
    await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(name)} AS ${viewSql(lakeDir, objs)}`);
    views[name] = objs.length;
  }
  // Views defined above the lake (e.g. `findings`).
  const ctx: LakeViewContext = { db, lakeDir: path.resolve(lakeDir), objects, read: (paths) => readObjectsSql(lakeDir, paths) };
  for (const def of opts.views ?? registeredLakeViews()) {
    const v = await def.build(ctx);
    await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(def.name)} AS ${v.sql}`);
    views[def.name] = v.objects;
  }
  // The catalog itself, and the quarantine, are queryable too.
  const catalogFile = path.join(lakeDir, META_DIR, 'catalog', 'objects.jsonl');
  await db.run(
    existsSync(catalogFile) && objects.length > 0
      ? // Only committed objects (readObjects: a torn last line and objects whose input record is missing are left out).
        `CREATE OR REPLACE VIEW lake_objects AS SELECT * FROM read_json(${quoteString(catalogFile)}, format = 'newline_delimited', ignore_errors = true) ` +
        `WHERE seq IN (${objects.map((o) => String(Math.trunc(o.seq))).join(', ')})`
      : `CREATE OR REPLACE VIEW lake_objects AS SELECT NULL::BIGINT AS seq, NULL::VARCHAR AS path, NULL::VARCHAR AS source, NULL::INTEGER AS class_uid, NULL::BIGINT AS rows WHERE false`,
  );
  views.lake_objects = objects.length;
  const qGlob = path.join(lakeDir, META_DIR, 'quarantine', '*.jsonl');
  // read_json fails on a glob that matches nothing: an empty (or absent) quarantine folder is the empty view.
  const qDir = path.join(lakeDir, META_DIR, 'quarantine');
  const hasQuarantine = existsSync(qDir) && readdirSync(qDir).some((f) => f.endsWith('.jsonl'));
  await db.run(
    hasQuarantine
      ? `CREATE OR REPLACE VIEW quarantine AS SELECT * FROM read_json(${quoteString(qGlob)}, format = 'newline_delimited', union_by_name = true, columns = {input_name: 'VARCHAR', input_hash: 'VARCHAR', source_type: 'VARCHAR', line: 'BIGINT', field: 'VARCHAR', reason: 'VARCHAR', raw: 'VARCHAR', quarantined_at: 'VARCHAR'})`
      : `CREATE OR REPLACE VIEW quarantine AS SELECT NULL::VARCHAR AS input_name, NULL::VARCHAR AS input_hash, NULL::VARCHAR AS source_type, NULL::BIGINT AS line, NULL::VARCHAR AS field, NULL::VARCHAR AS reason, NULL::VARCHAR AS raw, NULL::VARCHAR AS quarantined_at WHERE false`,
  );
  return { views };
}

/** Open an in-memory DuckDB with the lake's views defined. Caller closes it. */
export async function openLakeQuery(lakeDir: string, opts: CreateViewsOptions = {}): Promise<Duck> {
  const db = await Duck.open();
  try {
    await createLakeViews(db, lakeDir, opts);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
