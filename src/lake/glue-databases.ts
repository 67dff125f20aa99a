/**
 * Security Lake's Glue databases as DuckDB schemas, so a query that names the database the way AWS's documentation
 * does, `"amazon_security_lake_glue_db_us_east_1"."amazon_security_lake_table_us_east_1_vpc_flow_2_0"`, reads the
 * same view as the bare table name. For every Glue-named view in `main` (views.ts), the schema
 * `amazon_security_lake_glue_db_<region>` gets a view of the same name over it.
 *
 * DuckDB fixes a view's columns when the view is created, so these are recreated whenever the lake's views are
 * (createLakeViews calls this last).
 */
import { quoteIdent, type Duck } from './duckdb.js';

/** `amazon_security_lake_table_<region>_...`, the region as AWS spells it with underscores (us_east_1, us_gov_west_1). */
const GLUE_TABLE = /^amazon_security_lake_table_([a-z]{2}(?:_gov|_iso[a-z]?)?_[a-z]+_[0-9]+)_[a-z0-9_]+$/;

/** Security Lake's Glue database for a region in Glue spelling (`us_east_1` -> amazon_security_lake_glue_db_us_east_1). */
export function glueDatabaseOf(region: string): string {
  return `amazon_security_lake_glue_db_${region.replace(/-/g, '_').toLowerCase()}`;
}

/**
 * Create (or replace) `<glue database>.<glue table>` views over the Glue-named views of `main`. Returns the
 * qualified names created.
 */
export async function exposeGlueDatabases(db: Duck): Promise<string[]> {
  const rows = await db.all(
    "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal AND starts_with(view_name, 'amazon_security_lake_table_') ORDER BY view_name",
  );
  const made: string[] = [];
  const schemas = new Set<string>();
  for (const r of rows) {
    const table = String(r.view_name);
    const m = GLUE_TABLE.exec(table);
    if (!m) continue;
    const schema = glueDatabaseOf(m[1]!);
    if (!schemas.has(schema)) {
      await db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      schemas.add(schema);
    }
    await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(schema)}.${quoteIdent(table)} AS SELECT * FROM main.${quoteIdent(table)}`);
    made.push(`${schema}.${table}`);
  }
  return made;
}
