/**
 * SQL over the lake: a DuckDB connection with one view per source (short names such as `vpc_flow`)
 * and one per Glue table name Security Lake uses (e.g. amazon_security_lake_table_us_east_1_vpc_flow_2_0).
 * Views read only objects the catalog lists, so half-written or unpublished files are never visible.
 *
 * Every source view has its table's fixed schema (columns.ts: every attribute of the source's OCSF classes under
 * Security Lake's profiles, typed as Security Lake stores them), whatever its objects hold: an attribute no object has
 * reads as NULL. The Parquet reader does it: the view reads, before the objects, an empty Parquet file with that
 * schema (a "template", `_seclake/schema/`, written once per schema and content-named), with `union_by_name`, so the
 * reader fills what an object lacks and struct fields are still read one by one. Objects written before the lake's
 * `*_dt` were TIMESTAMPs (catalog `types` absent; their `*_dt` are RFC 3339 text) are read through a cast.
 *
 * Custom (ext/) sources are known generically from the catalog: each gets a short view named after it
 * (`ext/seclake_findings/` -> `seclake_findings`) and its Glue-named views. Views that interpret a source (such as
 * the flat `findings` view over the findings objects, src/findings/view.ts) are defined by the layers above and
 * handed in (`createLakeViews(db, dir, { views })`) or registered once (`registerLakeView`): the lake imports none
 * of them.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { errorMessage } from '../core/errors.js';
import { makeOwnedDir } from '../core/owned-dir.js';
import { Duck, quoteIdent, quoteString } from './duckdb.js';
import { OBJECT_TYPES, readObjects, type CatalogObject } from './catalog.js';
import { conformSelect, emptySelect, printDuckType, sourceClasses, sourceProfiles, tableSchema, type TableColumn } from './columns.js';
import { SHORT_VIEWS, glueTableName, resolveInLake, META_DIR, SOURCE_VERSION } from './layout.js';
import { exposeGlueDatabases } from './glue-databases.js';
import type { LakeSourceName } from '../core/events.js';

/** The hive partition columns every source view ends with. */
const PARTITION_COLUMNS = [
  { name: 'region', type: 'VARCHAR' },
  { name: 'accountId', type: 'VARCHAR' },
  { name: 'eventDay', type: 'VARCHAR' },
];

/** `read_parquet(...)` over absolute files (union by name, the hive partition columns as VARCHAR). */
function readParquet(files: readonly string[]): string {
  return (
    `read_parquet([${files.map(quoteString).join(', ')}], union_by_name = true, hive_partitioning = true, ` +
    `hive_types = {'region': VARCHAR, 'accountId': VARCHAR, 'eventDay': VARCHAR})`
  );
}

/**
 * `read_parquet` over lake-relative object paths (union by name, the hive partition columns `region`, `accountId`,
 * `eventDay` as VARCHAR); undefined for no paths. The objects' own columns only (no table schema).
 */
export function readObjectsSql(lakeDir: string, paths: readonly string[]): string | undefined {
  if (paths.length === 0) return undefined;
  return `SELECT * FROM ${readParquet(paths.map((p) => resolveInLake(lakeDir, p)))}`;
}

/** Folder of the schema templates, hive-shaped like an object's so one read_parquet takes both. */
const TEMPLATE_DIR = path.join(META_DIR, 'schema', 'region=schema', 'accountId=schema', 'eventDay=schema');

/** Templates this process knows exist, by file; and its fallback folder when a lake cannot be written to. */
const templatesKnown = new Set<string>();
let fallbackDir: string | undefined;

/**
 * The empty Parquet file with `schema`'s columns (written once, atomically; named after the schema, so any process
 * writing it writes the same file). In the lake when it can be written to, else in a folder of this process.
 */
async function templateFile(db: Duck, lakeDir: string, schema: readonly TableColumn[]): Promise<string> {
  const text = schema.map((c) => `${c.name} ${printDuckType(c.type)}`).join('\n');
  const name = `${createHash('sha256').update(text).digest('hex').slice(0, 24)}.parquet`;
  const write = async (dir: string): Promise<string> => {
    const file = path.join(dir, name);
    if (templatesKnown.has(file) || existsSync(file)) {
      templatesKnown.add(file);
      return file;
    }
    mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await db.run(`COPY (SELECT ${emptySelect(schema)} WHERE false) TO ${quoteString(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
      renameSync(tmp, file);
    } finally {
      rmSync(tmp, { force: true });
    }
    templatesKnown.add(file);
    return file;
  };
  try {
    return await write(resolveInLake(lakeDir, TEMPLATE_DIR));
  } catch (err) {
    // A lake this process cannot write to (read-only copy): the template goes to a folder of its own.
    fallbackDir ??= path.join(makeOwnedDir(tmpdir(), 'seclake-schema-'), TEMPLATE_DIR);
    try {
      return await write(fallbackDir);
    } catch (err2) {
      throw new Error(`cannot write the schema template of a lake view (${errorMessage(err)}; ${errorMessage(err2)})`, { cause: err2 });
    }
  }
}

/**
 * The SELECT of a source view over `objects`: the table schema of `classUids` under `profiles` (see the module
 * comment); an empty lake gives the schema's columns and no rows.
 */
async function sourceViewSql(db: Duck, lakeDir: string, objects: readonly CatalogObject[], classUids: readonly number[], profiles: readonly string[], opts: CreateViewsOptions): Promise<string> {
  const schema = tableSchema(classUids, profiles);
  if (objects.length === 0) return `SELECT ${emptySelect(schema, PARTITION_COLUMNS)} WHERE false`;
  if (opts.schema === 'objects') return readObjectsSql(lakeDir, objects.map((o) => o.path))!;
  const read = readParquet([await templateFile(db, lakeDir, schema), ...objects.map((o) => resolveInLake(lakeDir, o.path))]);
  // Objects of today's types: the reader alone gives the schema (the template's columns first, in its order).
  if (objects.every((o) => o.types === OBJECT_TYPES)) return `SELECT * FROM ${read}`;
  // Objects written before may hold `*_dt` as text: read through a cast where the union of the objects says so.
  const union = (await db.all(`DESCRIBE SELECT * FROM ${read}`)).map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
  return `SELECT ${conformSelect(union, schema).select} FROM ${read}`;
}

/** The OCSF classes of a view: its source's (or the given ones), and those of its objects. */
function classesOf(sources: readonly LakeSourceName[], objects: readonly CatalogObject[], only?: readonly number[]): number[] {
  const fixed = only ?? sources.flatMap((s) => sourceClasses(s));
  return [...new Set([...fixed, ...objects.map((o) => o.class_uid).filter((c) => Number.isInteger(c)).sort((a, b) => a - b)])];
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
  /**
   * `table` (default): every source view has its table's fixed schema. `objects`: the source views have only the
   * columns their objects hold (a plain read_parquet), for readers that declare the columns they read and read the
   * absent ones as NULL themselves (the behaviour features, src/detectors/rcf/features/columns.ts): filling the table
   * schema's absent struct fields costs a query that reads struct fields about 2-3x (npm run bench:views).
   */
  schema?: 'table' | 'objects';
}

/** Create (or replace) the lake views on an open connection. */
export async function createLakeViews(db: Duck, lakeDir: string, opts: CreateViewsOptions = {}): Promise<LakeViews> {
  const all = readObjects(lakeDir);
  const tf = opts.timeFrom;
  const objects = all.filter((o) => (opts.throughSeq === undefined || o.seq <= opts.throughSeq) && (tf === undefined || !Number.isFinite(o.time_max) || o.time_max >= tf));
  const views: Record<string, number> = {};
  for (const def of SHORT_VIEWS) {
    const objs = objects.filter((o) => def.sources.includes(o.source) && (!def.classUids || def.classUids.includes(o.class_uid)));
    const sql = await sourceViewSql(db, lakeDir, objs, classesOf(def.sources, objs, def.classUids), sourceProfiles(def.sources[0]!), opts);
    await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(def.name)} AS ${sql}`);
    views[def.name] = objs.length;
  }
  // Glue-named views: one per (region, source) present; always the us-east-1 ones of the main sources.
  const glue = new Map<string, { source: LakeSourceName; objects: CatalogObject[] }>();
  for (const base of ['VPC_FLOW', 'ROUTE53', 'CLOUD_TRAIL_MGMT'] as LakeSourceName[]) glue.set(glueTableName('us-east-1', base), { source: base, objects: [] });
  for (const o of objects) {
    const name = glueNameOf(o);
    if (!glue.has(name)) glue.set(name, { source: o.source, objects: [] });
    glue.get(name)!.objects.push(o);
  }
  for (const [name, g] of glue) {
    const sql = await sourceViewSql(db, lakeDir, g.objects, classesOf([g.source], g.objects), sourceProfiles(g.source), opts);
    await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(name)} AS ${sql}`);
    views[name] = g.objects.length;
  }
  // The same tables in schemas named like Security Lake's Glue databases: "amazon_security_lake_glue_db_us_east_1"."...".
  await exposeGlueDatabases(db);
  // Every custom (ext/) source also gets a short view named after it, e.g. `seclake_findings`.
  for (const src of new Set(objects.map((o) => o.source).filter((s) => s.startsWith('EXT_')))) {
    const name = src.slice(4).toLowerCase();
    if (views[name] !== undefined) continue;
    const objs = objects.filter((o) => o.source === src);
    const sql = await sourceViewSql(db, lakeDir, objs, classesOf([src], objs), sourceProfiles(src), opts);
    await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(name)} AS ${sql}`);
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
