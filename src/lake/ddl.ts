/**
 * CREATE TABLE statements for a lake's tables, so Athena/Glue (or Trino, or DuckDB) read the same Parquet objects.
 *
 * One table per (region, source) as Security Lake names them (`amazon_security_lake_table_us_east_1_vpc_flow_2_0`,
 * custom sources `..._ext_<name>_2_0`, see glueTableName), with the fixed schema the lake's views have (columns.ts:
 * every attribute of the source's OCSF classes under Security Lake's profiles, `*_dt` as `timestamp`) plus whatever
 * else the table's catalogued objects hold (DuckDB DESCRIBE over them, union by name), DuckDB types mapped to Hive
 * types (struct<...>, array<...>, map<...>). Objects written before the lake stored `*_dt` as timestamps hold them as
 * text, which Athena cannot read as `timestamp`: the DDL says so for such a table (LakeTable.textTimestamps) and how
 * to rewrite them. Partitions are the layout's `region=/accountId=/eventDay=` folders, declared as
 * `region`, `accountid`, `eventday` (Glue lower-cases names). Because the folder names are camelCase, Athena's
 * `MSCK REPAIR TABLE` cannot discover them: the default is partition projection with a storage location template;
 * `projection: false` emits `ALTER TABLE ... ADD PARTITION` statements for the partitions the catalog knows.
 *
 * Everything here except `describeLakeTables` is pure, so the DDL text is golden-tested.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LakeError } from '../core/errors.js';
import type { LakeSourceName } from '../core/events.js';
import { OBJECT_TYPES, type CatalogObject } from './catalog.js';
import { conformSelect, emptySelect, parseDuckType, printDuckType, sourceClasses, sourceProfiles, tableSchema, type ColType } from './columns.js';
import { Duck, quoteIdent, quoteString } from './duckdb.js';
import { SOURCE_VERSION, glueTableName, resolveInLake, sourcePrefix } from './layout.js';
import type { S3Lake } from './s3.js';

// ---- DuckDB types -> Hive types ---------------------------------------------------------------------------------

const HIVE_PRIMS: Record<string, string> = {
  VARCHAR: 'string',
  BIGINT: 'bigint',
  INTEGER: 'int',
  SMALLINT: 'smallint',
  TINYINT: 'tinyint',
  BOOLEAN: 'boolean',
  DOUBLE: 'double',
  FLOAT: 'float',
  DATE: 'date',
  TIMESTAMP: 'timestamp',
  'TIMESTAMP WITH TIME ZONE': 'timestamp',
  TIMESTAMP_MS: 'timestamp',
  TIMESTAMP_NS: 'timestamp',
  TIMESTAMP_S: 'timestamp',
  BLOB: 'binary',
  UTINYINT: 'smallint',
  USMALLINT: 'int',
  UINTEGER: 'bigint',
  UBIGINT: 'decimal(20,0)',
  HUGEINT: 'decimal(38,0)',
  UHUGEINT: 'decimal(38,0)',
};

/** Backtick-quote a Hive/Athena identifier (every one is quoted: reserved words need it, the others don't mind). */
export function hiveIdent(name: string): string {
  if (name.includes('`')) throw new LakeError(`column name ${JSON.stringify(name)} cannot be quoted for Athena`);
  return '`' + name + '`';
}

/** Hive/Athena DDL type of a parsed DuckDB type. */
export function hiveType(t: ColType): string {
  switch (t.k) {
    case 'prim': {
      const dec = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t.name);
      if (dec) return `decimal(${dec[1]},${dec[2]})`;
      return HIVE_PRIMS[t.name] ?? 'string';
    }
    case 'list':
      return `array<${hiveType(t.item)}>`;
    case 'map':
      return `map<${hiveType(t.key)},${hiveType(t.value)}>`;
    case 'struct':
      return `struct<${t.fields.map((f) => `${hiveIdent(f.name)}:${hiveType(f.type)}`).join(',')}>`;
  }
}

// ---- tables ------------------------------------------------------------------------------------------------------

/** What DDL needs of an object: catalogued objects qualify, and so do layout keys of uncatalogued files (see objectsFromKeys). */
export type DdlObject = Pick<CatalogObject, 'path' | 'source' | 'region' | 'account_id' | 'event_day'> & {
  /** Rows; -1 when unknown (read from the Parquet footer). */
  rows: number;
  /** OCSF class (catalogued objects). */
  class_uid?: number;
  /** Column types version (CatalogObject.types). */
  types?: number;
};

const KEY_RE = /^(aws\/([A-Z0-9_]+)|ext\/([a-z0-9_.+-]+))\/(\d+\.\d+)\/region=([^/]+)\/accountId=([^/]+)\/eventDay=([^/]+)\/[^/]+\.parquet$/;

/**
 * Objects from lake-relative layout keys that are not in the catalog (e.g. findings objects of the format before 2.0,
 * `ext/seclake_findings/1.0/region=/accountId=/eventDay=/<hash>.parquet`; today's are catalogued). Keys not in the
 * layout are skipped.
 */
export function objectsFromKeys(keys: readonly string[]): DdlObject[] {
  const out: DdlObject[] = [];
  for (const k of keys) {
    const m = KEY_RE.exec(k);
    if (!m) continue;
    const source = (m[2] ?? `EXT_${m[3]!}`) as LakeSourceName;
    out.push({ path: k, source, region: m[5]!, account_id: m[6]!, event_day: m[7]!, rows: -1 });
  }
  return out;
}

/** Source version of an object from its path (`aws/VPC_FLOW/2.0/...` -> 2.0). */
function versionOf(p: string): string {
  return /^(?:aws|ext)\/[^/]+\/(\d+\.\d+)\//.exec(p)?.[1] ?? SOURCE_VERSION;
}

/** Glue table name for a source version: glueTableName for 2.0; `..._<major>_<minor>` for others (e.g. 1.0). */
export function tableName(region: string, source: LakeSourceName, version: string): string {
  return glueTableName(region, source).replace(/_\d+_\d+$/, `_${version.replace('.', '_')}`);
}

export interface LakeTable {
  /** Glue table name, e.g. amazon_security_lake_table_us_east_1_vpc_flow_2_0 */
  name: string;
  source: LakeSourceName;
  region: string;
  /** Lake-relative prefix of the source: aws/VPC_FLOW/2.0 */
  prefix: string;
  /**
   * Data columns (partition columns excluded), DuckDB type strings: the table schema's columns in its order, then
   * columns only the objects have.
   */
  columns: { name: string; type: string }[];
  /**
   * Column paths (`time_dt`, `actor.session.created_time_dt`) the schema types TIMESTAMP that some objects hold as
   * text (written before the lake's `*_dt` were timestamps), and how many objects may: catalogued without `types`.
   */
  textTimestamps: { paths: string[]; objects: number };
  /** Known partitions (sorted). */
  partitions: { region: string; accountId: string; eventDay: string }[];
  objects: number;
  /** -1 when unknown (uncatalogued objects beyond the described sample). */
  rows: number;
}

const PARTITION_COLUMNS = ['region', 'accountid', 'eventday'];
const PARTITION_SELECT = [
  { name: 'region', type: 'VARCHAR' },
  { name: 'accountId', type: 'VARCHAR' },
  { name: 'eventDay', type: 'VARCHAR' },
];

interface Group {
  name: string;
  source: LakeSourceName;
  region: string;
  version: string;
  objects: DdlObject[];
}

/** Group objects into tables: one per (region, source, version), in a stable order. */
export function groupTables(objects: readonly DdlObject[]): Group[] {
  const byName = new Map<string, Group>();
  for (const o of objects) {
    const version = versionOf(o.path);
    const name = tableName(o.region, o.source, version);
    let t = byName.get(name);
    if (!t) byName.set(name, (t = { name, source: o.source, region: o.region, version, objects: [] }));
    t.objects.push(o);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Evenly spread sample of at most n items, always including the last. */
function spread<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  const out: T[] = [];
  for (let k = 0; k < n; k++) out.push(xs[Math.round((k * (xs.length - 1)) / (n - 1))]!);
  return out;
}

export interface DescribeOptions {
  /** Objects described per table (evenly spread over the catalog, newest included). Default 1000. */
  maxObjectsPerTable?: number;
}

/**
 * Describe a lake's tables from its catalogued objects. A local lake reads the objects' footers in place; an S3
 * lake (`s3` given) fetches only each object's Parquet footer (two ranged GETs) into a temp dir.
 */
export async function describeLakeTables(objects: readonly DdlObject[], where: { dir: string } | { s3: S3Lake }, opts: DescribeOptions = {}): Promise<LakeTable[]> {
  const groups = groupTables(objects);
  const db = await Duck.open({ threads: 1 });
  const tmp = 's3' in where ? mkdtempSync(path.join(tmpdir(), 'seclake-ddl-')) : undefined;
  try {
    const out: LakeTable[] = [];
    for (const g of groups) {
      const sample = spread(g.objects, opts.maxObjectsPerTable ?? 1000);
      const files: string[] = [];
      for (const o of sample) {
        if ('dir' in where) files.push(resolveInLake(where.dir, o.path));
        else {
          const f = path.join(tmp!, `${files.length}.parquet`);
          await where.s3.getParquetFooterToFile(o.path, f);
          files.push(f);
        }
      }
      // DESCRIBE reads only the footers (an S3 lake's files here are footers in sparse files; a scan would fail).
      const described = (
        await db.all(`DESCRIBE SELECT * FROM read_parquet([${files.map(quoteString).join(', ')}], union_by_name = true, hive_partitioning = false)`)
      ).map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
      // The table schema (none for tables of no OCSF class, e.g. legacy flat findings), then the objects' other columns.
      const classes = [...new Set([...sourceClasses(g.source), ...g.objects.flatMap((o) => (o.class_uid === undefined ? [] : [o.class_uid])).sort((a, b) => a - b)])];
      const schema = tableSchema(classes, sourceProfiles(g.source));
      const merged = conformSelect(described, schema).columns;
      const known = new Set(merged.map((c) => c.name.toLowerCase()));
      const cols = [
        ...merged.map((c) => ({ name: c.name, type: printDuckType(c.type) })),
        ...described.filter((c) => !known.has(c.name.toLowerCase())),
      ];
      const text = textTimestampPaths(described, schema);
      // Rows of objects that are not catalogued (findings): from the footers' metadata.
      const unknown = sample.flatMap((o, k) => (o.rows < 0 ? [files[k]!] : []));
      const unsampledUnknown = g.objects.some((o) => o.rows < 0) && sample.length < g.objects.length;
      let extraRows = 0;
      if (unknown.length > 0) {
        const r = await db.all(`SELECT sum(num_rows)::BIGINT AS n FROM parquet_file_metadata([${unknown.map(quoteString).join(', ')}])`);
        extraRows = Number(r[0]?.n ?? 0);
      }
      const parts = new Map<string, { region: string; accountId: string; eventDay: string }>();
      for (const o of g.objects) parts.set(`${o.region}|${o.account_id}|${o.event_day}`, { region: o.region, accountId: o.account_id, eventDay: o.event_day });
      out.push({
        name: g.name,
        source: g.source,
        region: g.region,
        prefix: `${sourcePrefix(g.source)}/${g.version}`,
        columns: cols.filter((c) => !PARTITION_COLUMNS.includes(c.name.toLowerCase())),
        textTimestamps: { paths: text, objects: text.length === 0 ? 0 : g.objects.filter((o) => o.types !== OBJECT_TYPES).length },
        partitions: [...parts.values()].sort((a, b) => `${a.region}|${a.accountId}|${a.eventDay}`.localeCompare(`${b.region}|${b.accountId}|${b.eventDay}`)),
        objects: g.objects.length,
        rows: unsampledUnknown ? -1 : g.objects.reduce((a, o) => a + Math.max(0, o.rows), 0) + extraRows,
      });
    }
    return out;
  } finally {
    db.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

/** Paths where `described` holds text and the schema a TIMESTAMP (structs only: lists of objects hold no `*_dt`). */
function textTimestampPaths(described: readonly { name: string; type: string }[], schema: readonly { name: string; type: ColType }[]): string[] {
  const out: string[] = [];
  const walk = (a: ColType, t: ColType, at: string): void => {
    if (a.k === 'prim' && t.k === 'prim') {
      if (a.name === 'VARCHAR' && t.name === 'TIMESTAMP') out.push(at);
    } else if (a.k === 'struct' && t.k === 'struct') {
      for (const f of t.fields) {
        const af = a.fields.find((x) => x.name === f.name);
        if (af) walk(af.type, f.type, `${at}.${f.name}`);
      }
    }
  };
  for (const c of schema) {
    const d = described.find((x) => x.name.toLowerCase() === c.name.toLowerCase());
    if (!d) continue;
    try {
      walk(parseDuckType(d.type), c.type, c.name);
    } catch {
      // a type the parser does not know holds no text timestamp of the schema
    }
  }
  return out;
}

// ---- DDL text ----------------------------------------------------------------------------------------------------

export interface DdlOptions {
  engine: 'athena' | 'duckdb';
  /** Where the lake is for the engine: s3://bucket/prefix (Athena: required) or a directory (DuckDB). */
  location: string;
  /** Athena database; default Security Lake's `amazon_security_lake_glue_db_<region>` per table region. */
  database?: string;
  /** Athena: partition projection (default) or explicit ALTER TABLE ... ADD PARTITION statements. */
  projection?: boolean;
}

function sqlString(s: string): string {
  if (/[\0\n\r]/.test(s)) throw new LakeError(`cannot put ${JSON.stringify(s)} in a DDL string literal`);
  return `'${s.replaceAll("'", "''")}'`;
}

const DB_RE = /^[a-z0-9_]{1,255}$/;

export function glueDatabaseName(region: string): string {
  return `amazon_security_lake_glue_db_${region.replace(/-/g, '_').toLowerCase()}`;
}

const rowsText = (t: LakeTable): string => (t.rows < 0 ? 'rows not counted' : `${t.rows} rows`);
const isDay = (d: string): boolean => /^\d{8}$/.test(d);

/** The statements (each ends with `;`), with `--` comment lines. */
export function renderDdl(tables: LakeTable[], opts: DdlOptions): string {
  const loc = opts.location.replace(/\/+$/, '');
  const out: string[] = [];
  if (opts.engine === 'duckdb') {
    out.push(`-- seclake catalog ddl --engine duckdb: ${tables.length} table${tables.length === 1 ? '' : 's'} as views over ${loc}`);
    if (/^s3:\/\//i.test(loc)) out.push('-- Reading s3:// needs the httpfs extension: INSTALL httpfs; LOAD httpfs; and S3 credentials (CREATE SECRET).');
    for (const t of tables) {
      out.push('');
      out.push(`-- ${t.source} in ${t.region}: ${t.objects} objects, ${rowsText(t)}; columns:`);
      for (const c of t.columns) out.push(`--   ${c.name} ${c.type}`);
      const glob = `${loc}/${t.prefix}/region=${t.region}/*/*/*.parquet`;
      if (t.textTimestamps.paths.length > 0) out.push(`-- ${t.textTimestamps.objects} objects written before *_dt were timestamps hold ${t.textTimestamps.paths.join(', ')} as text: read through a cast.`);
      // The table's columns (an empty relation of them) by name before the objects: a column no object has is NULL.
      const read =
        `SELECT ${emptySelect(t.columns.map((c) => ({ name: c.name, type: parseDuckType(c.type) })), PARTITION_SELECT)} WHERE false ` +
        `UNION ALL BY NAME SELECT * FROM read_parquet(${sqlString(glob)}, hive_partitioning = true, union_by_name = true, ` +
        `hive_types = {'region': VARCHAR, 'accountId': VARCHAR, 'eventDay': VARCHAR})`;
      const casts = [...new Set(t.textTimestamps.paths.map((p) => p.split('.')[0]!))].map((c) => {
        const col = t.columns.find((x) => x.name === c)!;
        return `CAST(${quoteIdent(c)} AS ${col.type}) AS ${quoteIdent(c)}`;
      });
      out.push(`CREATE OR REPLACE VIEW ${quoteIdent(t.name)} AS SELECT *${casts.length ? ` REPLACE (${casts.join(', ')})` : ''} FROM (${read});`);
    }
    return out.join('\n') + '\n';
  }
  if (!/^s3:\/\/[^/]+/i.test(loc)) throw new LakeError(`Athena tables need an s3:// location, got ${JSON.stringify(opts.location)} (use --location s3://bucket/prefix)`);
  if (opts.database !== undefined && !DB_RE.test(opts.database)) throw new LakeError(`invalid Athena database name ${JSON.stringify(opts.database)} (lower-case letters, digits, _)`);
  const projection = opts.projection ?? true;
  out.push(`-- seclake catalog ddl --engine athena: ${tables.length} table${tables.length === 1 ? '' : 's'} over ${loc}`);
  out.push('-- Partition folders are camelCase (accountId=, eventDay=), which MSCK REPAIR TABLE cannot discover:');
  out.push(projection ? '-- partitions are projected (TBLPROPERTIES projection.*); regenerate when new accounts appear.' : '-- partitions are added explicitly below; re-run after ingesting new days/accounts.');
  const dbs = [...new Set(tables.map((t) => opts.database ?? glueDatabaseName(t.region)))].sort();
  for (const db of dbs) {
    if (!DB_RE.test(db)) throw new LakeError(`invalid Athena database name ${JSON.stringify(db)}`);
    out.push('', `CREATE DATABASE IF NOT EXISTS ${hiveIdent(db)};`);
  }
  for (const t of tables) {
    const db = opts.database ?? glueDatabaseName(t.region);
    const fq = `${hiveIdent(db)}.${hiveIdent(t.name)}`;
    const tableLoc = `${loc}/${t.prefix}/`;
    out.push('');
    out.push(`-- ${t.source} in ${t.region}: ${t.objects} objects, ${rowsText(t)}`);
    if (t.textTimestamps.paths.length > 0) {
      out.push(
        `-- WARNING: ${t.textTimestamps.objects} objects were written before seclake stored *_dt as timestamps: they hold ${t.textTimestamps.paths.join(', ')} as text,`,
        '-- which Athena cannot read as timestamp. Rewrite them: seclake ingest --force <their inputs> (seclake catalog --objects lists them).',
      );
    }
    out.push(`CREATE EXTERNAL TABLE IF NOT EXISTS ${fq} (`);
    out.push(t.columns.map((c) => `  ${hiveIdent(c.name)} ${hiveType(parseDuckType(c.type))}`).join(',\n'));
    out.push(')');
    out.push('PARTITIONED BY (`region` string, `accountid` string, `eventday` string)');
    out.push("ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'");
    out.push("STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'");
    out.push("OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'");
    out.push(`LOCATION ${sqlString(tableLoc)}`);
    const props: [string, string][] = [
      ['classification', 'parquet'],
      ['parquet.compression', 'ZSTD'],
    ];
    if (projection) {
      const accounts = [...new Set(t.partitions.map((p) => p.accountId))].sort();
      const days = [...new Set(t.partitions.map((p) => p.eventDay))].sort();
      props.push(['projection.enabled', 'true'], ['projection.region.type', 'enum'], ['projection.region.values', t.region]);
      props.push(['projection.accountid.type', 'enum'], ['projection.accountid.values', accounts.join(',')]);
      if (days.every(isDay)) {
        props.push(
          ['projection.eventday.type', 'date'],
          ['projection.eventday.format', 'yyyyMMdd'],
          ['projection.eventday.range', `${days[0]},NOW`],
          ['projection.eventday.interval', '1'],
          ['projection.eventday.interval.unit', 'DAYS'],
        );
      } else {
        props.push(['projection.eventday.type', 'enum'], ['projection.eventday.values', days.join(',')]);
      }
      props.push(['storage.location.template', `${loc}/${t.prefix}/region=\${region}/accountId=\${accountid}/eventDay=\${eventday}/`]);
    }
    out.push('TBLPROPERTIES (');
    out.push(props.map(([k, v]) => `  ${sqlString(k)} = ${sqlString(v)}`).join(',\n'));
    out.push(');');
    if (!projection && t.partitions.length > 0) {
      out.push(`ALTER TABLE ${fq} ADD IF NOT EXISTS`);
      out.push(
        t.partitions
          .map(
            (p) =>
              `  PARTITION (\`region\` = ${sqlString(p.region)}, \`accountid\` = ${sqlString(p.accountId)}, \`eventday\` = ${sqlString(p.eventDay)}) ` +
              `LOCATION ${sqlString(`${loc}/${t.prefix}/region=${p.region}/accountId=${p.accountId}/eventDay=${p.eventDay}/`)}`,
          )
          .join('\n') + ';',
      );
    }
  }
  return out.join('\n') + '\n';
}
