/**
 * bench:views — queries through the lake's views (each source's fixed schema: the Parquet reader fills what an object
 * lacks from the schema template, src/lake/views.ts) against the same queries on a plain `read_parquet` of the same
 * objects (the objects' own columns only: what the views were before they had a schema), same connection, same run.
 *
 *   npm run bench:views [-- --lines 1000000 --runs 5 --keep]
 *
 * 1. --lines VPC flow log lines (bench/lib/flowgen.ts) ingested into a temp lake (not timed).
 * 2. Creating the views (the schema templates already written) against creating plain read_parquet views.
 * 3. Per query, the view and the plain read alternately, --runs times each, best of each (the machine's load varies).
 *    Every query's rows are compared, so the two compute the same thing.
 *
 * Prints ms of each and the ratio (view / plain).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { ingest } from '../src/ingest/ingest.js';
import { readObjects } from '../src/lake/catalog.js';
import { Duck } from '../src/lake/duckdb.js';
import { createLakeViews, readObjectsSql } from '../src/lake/views.js';
import { writeFlowLog } from './lib/flowgen.js';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' }, keep: { type: 'boolean' } } });
const lines = Number(values.lines);
const runs = Number(values.runs);
const dir = mkdtempSync(path.join(tmpdir(), 'seclake-bench-views-'));
const lake = path.join(dir, 'lake');

const QUERIES: [string, string][] = [
  ['count', 'SELECT count(*) AS n FROM {view}'],
  ['one field', 'SELECT count(DISTINCT src_endpoint.ip) AS n FROM {view}'],
  ['two structs, group by', 'SELECT dst_endpoint.port AS port, sum(traffic.bytes) AS b FROM {view} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5'],
  ['pairs (reference query)', "SELECT src_endpoint.instance_uid AS i, src_endpoint.ip AS ip, count(*) AS n FROM {view} WHERE src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid != '-' GROUP BY ALL ORDER BY 3 DESC, 1, 2 LIMIT 5"],
  ['time_dt window', "SELECT count(*) AS n FROM {view} WHERE time_dt >= (SELECT max(time_dt) FROM {view}) - INTERVAL '1' HOUR"],
  ['SELECT * LIMIT 1000', 'SELECT * FROM {view} LIMIT 1000'],
];

async function best(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

try {
  process.stderr.write(`generating and ingesting ${lines} flow log lines\n`);
  const log = path.join(dir, 'flow.log.gz');
  await writeFlowLog(log, lines);
  const s = await ingest({ lakeDir: lake, paths: [log] });
  if (s.totals.failed > 0) throw new Error('ingest failed');
  const objects = readObjects(lake).filter((o) => o.source === 'VPC_FLOW');
  const db = await Duck.open();
  try {
    await createLakeViews(db, lake); // writes the schema templates once
    const plain = readObjectsSql(lake, objects.map((o) => o.path))!;
    const create = { view: Infinity, plain: Infinity };
    for (let i = 0; i < runs; i++) {
      create.view = Math.min(create.view, await best(() => createLakeViews(db, lake)));
      create.plain = Math.min(create.plain, await best(() => db.run(`CREATE OR REPLACE VIEW plain_flow AS ${plain}`)));
    }
    const out: { query: string; view_ms: number; plain_ms: number; ratio: number }[] = [];
    for (const [name, q] of QUERIES) {
      const a = await db.all(q.replaceAll('{view}', 'vpc_flow'));
      const b = await db.all(q.replaceAll('{view}', 'plain_flow'));
      // SELECT * differs by design (the view has every schema column); the others must agree.
      if (!name.startsWith('SELECT *') && !isDeepStrictEqual(a, b)) throw new Error(`${name}: the view and the plain read differ`);
      let v = Infinity;
      let p = Infinity;
      for (let i = 0; i < runs; i++) {
        v = Math.min(v, await best(() => db.all(q.replaceAll('{view}', 'vpc_flow'))));
        p = Math.min(p, await best(() => db.all(q.replaceAll('{view}', 'plain_flow'))));
      }
      out.push({ query: name, view_ms: Math.round(v), plain_ms: Math.round(p), ratio: Number((v / p).toFixed(2)) });
    }
    const w = Math.max(...out.map((r) => r.query.length));
    process.stdout.write(`${lines} flow records in ${objects.length} objects; best of ${runs}\n`);
    process.stdout.write(`${'create all lake views'.padEnd(w)}  view ${create.view.toFixed(0).padStart(6)} ms (every view of the lake)  plain ${create.plain.toFixed(0).padStart(6)} ms (one view)\n`);
    for (const r of out) process.stdout.write(`${r.query.padEnd(w)}  view ${String(r.view_ms).padStart(6)} ms  plain ${String(r.plain_ms).padStart(6)} ms  ratio ${r.ratio.toFixed(2)}\n`);
    process.stdout.write(JSON.stringify({ bench: 'views', lines, objects: objects.length, create_ms: { views: Math.round(create.view), plain: Math.round(create.plain) }, queries: out }) + '\n');
  } finally {
    db.close();
  }
} finally {
  if (values.keep) process.stderr.write(`kept ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}
