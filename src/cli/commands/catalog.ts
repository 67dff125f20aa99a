import { Command, Option } from 'commander';
import type { CatalogInput, CatalogObject } from '../../lake/catalog.js';
import { resolveLakeDir } from '../../lake/layout.js';
import { ConfigError } from '../../core/errors.js';
import { fmtInt, renderTable } from '../format.js';
import { checkLakeDir, checkS3Lake } from '../lake.js';

const isS3 = (s: string | undefined): s is string => s !== undefined && /^s3:\/\//i.test(s);

/** Catalog of a local lake (files) or an S3 lake (the SDK is only loaded for S3). */
async function loadCatalog(lake: string | undefined, endpoint: string | undefined, afterSeq: number): Promise<{ where: string; objects: CatalogObject[]; inputs: CatalogInput[] }> {
  const loc = lake ?? process.env.SECLAKE_LAKE;
  if (isS3(loc)) {
    await checkS3Lake(loc, endpoint ? { s3Endpoint: endpoint } : {});
    const { S3Lake } = await import('../../lake/s3.js');
    const s3 = new S3Lake(loc, endpoint ? { endpoint } : {});
    try {
      return { where: loc, objects: await s3.listCatalog(afterSeq), inputs: await s3.listInputs() };
    } finally {
      s3.close();
    }
  }
  const { readInputs, readObjects } = await import('../../lake/catalog.js');
  const dir = checkLakeDir(resolveLakeDir(lake));
  return { where: dir, objects: readObjects(dir, afterSeq), inputs: readInputs(dir) };
}

export function registerCatalog(program: Command): void {
  const catalog = program
    .command('catalog')
    .description('Show what the lake holds: objects per source, class and partition, and ingested inputs; `catalog ddl` prints CREATE TABLE statements')
    .option('--lake <dir|s3-url>', 'lake directory or s3://bucket/prefix (default: $SECLAKE_LAKE or ./seclake-data)')
    .option('--s3-endpoint <url>', 'S3 lake: endpoint URL (default $SECLAKE_S3_ENDPOINT, else AWS)')
    .option('--objects', 'list every object (path, rows, time range, input)')
    .option('--after-seq <n>', 'only objects published after this sequence number', '0')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  seclake catalog --lake ./lake
  seclake catalog --lake ./lake --objects --after-seq 120 --json
  seclake catalog --lake s3://my-bucket/lake
  seclake catalog ddl --engine athena --lake ./lake --location s3://my-bucket/lake`,
    )
    .action(async (o: { lake?: string; s3Endpoint?: string; objects?: boolean; afterSeq: string; json?: boolean }) => {
      const afterSeq = Number(o.afterSeq);
      if (!Number.isInteger(afterSeq) || afterSeq < 0) throw new ConfigError(`--after-seq must be a non-negative integer, got ${o.afterSeq}`);
      const cat = await loadCatalog(o.lake, o.s3Endpoint, afterSeq);
      const objects = cat.objects;
      if (o.objects) {
        if (o.json) {
          for (const ob of objects) process.stdout.write(JSON.stringify(ob) + '\n');
        } else {
          process.stdout.write(
            renderTable(
              ['seq', 'path', 'rows', 'from', 'to'],
              objects.map((ob) => [ob.seq, ob.path, fmtInt(ob.rows), new Date(ob.time_min).toISOString(), new Date(ob.time_max).toISOString()]),
              140,
            ) + '\n',
          );
        }
        return;
      }
      // Inputs of derived objects (findings; the S3 catalog records one per findings object) are not ingested inputs.
      const inputs = cat.inputs.filter((i) => i.derived_from === undefined);
      const groups = new Map<string, { source: string; class_uid: number; objects: number; rows: number; bytes: number; partitions: Set<string> }>();
      for (const ob of objects) {
        const k = `${ob.source}|${ob.class_uid}`;
        const g = groups.get(k) ?? { source: ob.source, class_uid: ob.class_uid, objects: 0, rows: 0, bytes: 0, partitions: new Set<string>() };
        g.objects++;
        g.rows += ob.rows;
        g.bytes += ob.bytes;
        g.partitions.add(`${ob.region}/${ob.account_id}/${ob.event_day}`);
        groups.set(k, g);
      }
      const summary = {
        lake: cat.where,
        inputs: inputs.length,
        objects: objects.length,
        rows: objects.reduce((a, b) => a + b.rows, 0),
        rejects: inputs.reduce((a, b) => a + b.rejects, 0),
        last_seq: objects.length ? objects[objects.length - 1]!.seq : 0,
        by_source: [...groups.values()].map((g) => ({ ...g, partitions: g.partitions.size })),
      };
      if (o.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
        return;
      }
      process.stdout.write(
        `${cat.where}: ${fmtInt(summary.inputs)} inputs, ${fmtInt(summary.objects)} objects, ${fmtInt(summary.rows)} events, ${fmtInt(summary.rejects)} quarantined records\n\n`,
      );
      process.stdout.write(
        renderTable(
          ['source', 'class_uid', 'objects', 'partitions', 'events', 'MB'],
          summary.by_source.map((g) => [g.source, g.class_uid, g.objects, g.partitions, fmtInt(g.rows), (g.bytes / 1e6).toFixed(2)]),
        ) + '\n',
      );
    });

  catalog
    .command('ddl')
    .description("Print CREATE TABLE statements for the lake's tables (Athena/Glue or DuckDB): each source's fixed OCSF schema, *_dt as timestamp")
    .addOption(new Option('--engine <engine>', 'SQL dialect').choices(['athena', 'duckdb']).default('athena'))
    .option('--database <name>', 'Athena database (default: Security Lake\'s amazon_security_lake_glue_db_<region>)')
    .option('--location <url>', 'where the engine finds the lake (default: the lake itself; Athena needs s3://bucket/prefix)')
    .option('--no-projection', 'Athena: ALTER TABLE ... ADD PARTITION for every known partition instead of partition projection')
    .option('--max-objects <n>', 'objects whose schema is read per table (spread over the catalog)', '1000')
    .addHelpText(
      'after',
      `
Takes --lake and --s3-endpoint from \`seclake catalog\` (write them before or after \`ddl\`).

One table per region and source, named as Security Lake names them (amazon_security_lake_table_us_east_1_vpc_flow_2_0,
custom sources ..._ext_<name>_<version>, e.g. the monitor's findings ..._ext_seclake_findings_2_0), partitioned by region, accountid, eventday. Columns
are the table's fixed schema, as the lake's views have it: every attribute of the source's OCSF classes under Security
Lake's profiles (time_dt and the other *_dt timestamp, ids int, time bigint), plus anything else the catalogued
objects' Parquet schemas hold (union by name); nested OCSF objects become struct<...>, lists array<...>, unmapped
map<string,string>. For an S3 lake only each object's footer is downloaded. Objects written before seclake stored *_dt
as timestamps hold them as text, which Athena cannot read as timestamp: the DDL warns (stderr too) and names the fix.

Examples:
  seclake catalog ddl --engine athena --lake s3://my-bucket/lake > tables.sql
  seclake catalog ddl --engine athena --lake ./lake --location s3://my-bucket/lake --database security
  seclake catalog ddl --engine duckdb --lake ./lake | duckdb lake.db`,
    )
    .exitOverride()
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{
        lake?: string;
        s3Endpoint?: string;
        engine: 'athena' | 'duckdb';
        database?: string;
        location?: string;
        projection: boolean;
        maxObjects: string;
      }>();
      const maxObjects = Number(o.maxObjects);
      if (!Number.isInteger(maxObjects) || maxObjects < 1) throw new ConfigError(`--max-objects must be a positive integer, got ${o.maxObjects}`);
      const { describeLakeTables, renderDdl } = await import('../../lake/ddl.js');
      // Every table comes from the catalog (the monitor's findings objects are catalogued too: ..._ext_seclake_findings_2_0).
      const loc = o.lake ?? process.env.SECLAKE_LAKE;
      let tables;
      let where: string;
      if (isS3(loc)) {
        await checkS3Lake(loc, o.s3Endpoint ? { s3Endpoint: o.s3Endpoint } : {});
        const { S3Lake } = await import('../../lake/s3.js');
        const s3 = new S3Lake(loc, o.s3Endpoint ? { endpoint: o.s3Endpoint } : {});
        try {
          tables = await describeLakeTables(await s3.listCatalog(0), { s3 }, { maxObjectsPerTable: maxObjects });
        } finally {
          s3.close();
        }
        where = loc.replace(/\/+$/, '');
      } else {
        const { readObjects } = await import('../../lake/catalog.js');
        const dir = checkLakeDir(resolveLakeDir(o.lake));
        tables = await describeLakeTables(readObjects(dir), { dir }, { maxObjectsPerTable: maxObjects });
        where = dir;
      }
      const location = o.location ?? where;
      if (o.engine === 'athena' && !isS3(location)) {
        throw new ConfigError(`Athena reads the lake from S3: give --location s3://bucket/prefix (where ${where} is, or will be, uploaded)`);
      }
      process.stdout.write(
        renderDdl(tables, { engine: o.engine, location, projection: o.projection, ...(o.database !== undefined ? { database: o.database } : {}) }),
      );
      if (tables.length === 0) process.stderr.write(`seclake: ${where} has no catalogued objects: no tables\n`);
      for (const t of tables) {
        if (t.textTimestamps.paths.length === 0) continue;
        process.stderr.write(
          `seclake: warning: ${t.name}: ${t.textTimestamps.objects} objects written before seclake stored *_dt as timestamps hold ${t.textTimestamps.paths.join(', ')} as text` +
            (o.engine === 'athena' ? ', which Athena cannot read as timestamp: ingest their inputs again with `seclake ingest --force`' : ' (the view casts them)') +
            '\n',
        );
      }
    });
}
