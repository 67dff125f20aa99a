/**
 * bench:rcf-features — behaviour feature windows computed from a lake, per second, against a plain DuckDB GROUP BY of
 * the same features over the same views.
 *
 *   npm run bench:rcf-features [-- --days 7 --scale 1 --runs 3 --keep]
 *
 * 1. The demo's generator (src/demo) writes --days of a small AWS account's logs (VPC flow, Route 53, CloudTrail;
 *    --scale multiplies the traffic), ingested into a temp lake (not timed).
 * 2. seclake: computeFeatureWindows with the built-in sets (network, dns, api; host has no source in the demo and is
 *    skipped) over the whole history, 1 h windows: inspection of the views, the watermark scan, one SQL statement,
 *    the typed arrays.
 * 3. Reference, same connection: hand-written GROUP BY queries computing the same features over the same views and
 *    window range, one per set, results read into JS rows. The values are compared with seclake's (every feature of
 *    every window), so the two compute the same thing. The two run alternately, --runs times each (after one untimed
 *    seclake run), best of each: the machine's load varies between runs.
 * 4. Incremental: the history minus its last closed window, then the last window with the cursor (what the monitor
 *    does when a window closes): ms for that call.
 *
 * Prints windows/s of each and the ratio (seclake / reference); one summary line at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateDemo } from '../src/demo/generate.js';
import { ingest } from '../src/ingest/ingest.js';
import type { Duck } from '../src/lake/duckdb.js';
import { openLakeQuery } from '../src/lake/views.js';
import { computeFeatureWindows } from '../src/detectors/rcf/features/compute.js';
import { installMacros } from '../src/detectors/rcf/features/macros.js';
import { BUILTIN_FEATURE_SETS } from '../src/detectors/rcf/features/sets.js';
import type { ComputeResult } from '../src/detectors/rcf/features/types.js';

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '7' },
    scale: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'boolean' },
  },
});
const DAYS = Number(values.days);
const SCALE = Number(values.scale);
const RUNS = Math.max(1, Number(values.runs));
const W = 3_600_000;
const HISTORY = 7 * 86_400_000;

const NETWORK_REF = `
WITH f AS (
  SELECT CASE connection_info.direction_id WHEN 1 THEN dst_endpoint.instance_uid ELSE src_endpoint.instance_uid END AS entity,
         CASE connection_info.direction_id WHEN 1 THEN src_endpoint.ip ELSE dst_endpoint.ip END AS peer,
         connection_info.direction_id = 1 AS inbound, src_endpoint.port AS sp, dst_endpoint.port AS dp,
         coalesce(traffic.bytes, 0) AS bytes, coalesce(traffic.packets, 0) AS packets,
         coalesce(action_id = 2 OR activity_id = 5, false) AS rejected, ("time" // $w) * $w AS ws
  FROM vpc_flow WHERE "time" >= $start AND "time" < $end AND connection_info.direction_id IN (1, 2)
),
e AS (SELECT *, seclake_ip_internal(peer) AS internal FROM f WHERE entity IS NOT NULL AND entity <> '-'),
g AS (
  SELECT entity, ws,
         coalesce(sum(bytes) FILTER (WHERE inbound), 0) AS bytes_in, coalesce(sum(bytes) FILTER (WHERE NOT inbound), 0) AS bytes_out,
         coalesce(sum(packets) FILTER (WHERE inbound), 0) AS packets_in, coalesce(sum(packets) FILTER (WHERE NOT inbound), 0) AS packets_out,
         count(*) AS flows, count(DISTINCT peer) AS peers, count(DISTINCT dp) FILTER (WHERE NOT inbound AND dp < sp) AS dst_ports,
         avg(rejected::INT) AS rejected_share,
         coalesce(sum(bytes) FILTER (WHERE NOT inbound AND NOT internal), 0) AS external_bytes_out,
         coalesce(sum(bytes) FILTER (WHERE NOT internal), 0) / nullif(sum(bytes), 0) AS external_share,
         count(DISTINCT peer) FILTER (WHERE internal) AS internal_peers, count(DISTINCT peer) FILTER (WHERE NOT internal) AS external_peers
  FROM e GROUP BY entity, ws
),
s AS (SELECT DISTINCT entity, peer, ws FROM e WHERE peer IS NOT NULL),
n AS (
  SELECT entity, ws, count(*) FILTER (WHERE ws > first AND (prev IS NULL OR ws - prev > $h)) AS new_peers
  FROM (SELECT *, lag(ws) OVER (PARTITION BY entity, peer ORDER BY ws) AS prev, min(ws) OVER (PARTITION BY entity) AS first FROM s)
  GROUP BY entity, ws
)
SELECT g.*, coalesce(n.new_peers, 0) AS new_peers FROM g LEFT JOIN n USING (entity, ws)`;

const DNS_REF = `
SELECT coalesce(nullif(src_endpoint.instance_uid, '-'), src_endpoint.ip) AS entity, ("time" // $w) * $w AS ws,
       count(*) AS queries,
       count(DISTINCT seclake_dns_name(query.hostname)) AS distinct_names,
       count(DISTINCT seclake_etld1(seclake_dns_name(query.hostname))) AS distinct_domains,
       avg(CASE WHEN rcode_id = 3 THEN 1.0 ELSE 0.0 END) AS nxdomain_share,
       avg(seclake_mean_label_length(seclake_dns_name(query.hostname))) AS mean_label_length,
       avg(seclake_entropy(replace(seclake_dns_name(query.hostname), '.', ''))) AS name_entropy
FROM route53 WHERE "time" >= $start AND "time" < $end AND coalesce(nullif(src_endpoint.instance_uid, '-'), src_endpoint.ip) IS NOT NULL
GROUP BY ALL`;

const CT = `SELECT "time", actor, api, status_id, class_uid, activity_id, unmapped['readOnly'] AS read_only FROM`;
/** The API query over the CloudTrail views that have rows (an empty view has none of these columns). */
const apiRef = (views: readonly string[]): string => `
WITH c AS (${views.map((v) => `${CT} ${v}`).join(' UNION ALL BY NAME ')}),
e AS (
  SELECT CASE WHEN actor.user.type = 'AssumedRole' AND regexp_matches(actor.user.uid, '/(i-[0-9a-f]{8,17})$') THEN regexp_extract(actor.user.uid, '/(i-[0-9a-f]{8,17})$', 1)
              WHEN actor.user.type = 'AssumedRole' THEN coalesce(actor.session.issuer, regexp_extract(actor.user.uid, '^(.*)/[^/]*$', 1))
              ELSE coalesce(actor.user.name, actor.user.uid) END AS entity,
         ("time" // $w) * $w AS ws, api.service.name AS service, api.operation AS operation, api.response.error AS error, status_id, class_uid, activity_id, read_only
  FROM c WHERE "time" >= $start AND "time" < $end
)
SELECT entity, ws, count(*) AS calls, count(DISTINCT coalesce(service, '') || ':' || coalesce(operation, '')) AS distinct_apis,
       avg(CASE WHEN error IS NOT NULL OR status_id = 2 THEN 1.0 ELSE 0.0 END) AS error_share,
       avg(CASE WHEN regexp_matches(coalesce(error, ''), '(?i)accessdenied|unauthorized|notauthorized|forbidden') THEN 1.0 ELSE 0.0 END) AS access_denied_share,
       count(*) FILTER (WHERE CASE WHEN read_only IS NOT NULL THEN lower(read_only) = 'false' ELSE class_uid = 3001 OR (class_uid = 6003 AND activity_id IN (1, 3, 4)) END) AS write_calls,
       count(*) FILTER (WHERE service = 'iam.amazonaws.com') AS iam_calls
FROM e WHERE entity IS NOT NULL AND entity <> '' GROUP BY entity, ws`;
const CT_VIEWS = ['cloudtrail_api', 'cloudtrail_auth', 'cloudtrail_account'];

/** Run the reference queries; rows keyed by `<set>|<entity>|<window>`. */
async function reference(db: Duck, start: number, end: number, apiSql: string): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  const api = apiSql;
  for (const [set, sql] of [['network', NETWORK_REF], ['dns', DNS_REF], ['api', api]] as const) {
    const params: Record<string, number> = { w: W, start, end };
    if (set === 'network') params.h = HISTORY;
    for await (const chunk of db.stream(sql, params)) {
      const cols = chunk.columns;
      for (const r of chunk.rows) {
        const rec: Record<string, number> = {};
        cols.forEach((c, i) => {
          if (c !== 'entity' && c !== 'ws') rec[c] = r[i] === null ? 0 : Number(r[i]);
        });
        out.set(`${set}|${String(r[0])}|${Number(r[1])}`, rec);
      }
    }
  }
  return out;
}

/** Every feature of every window of seclake's result against the reference's rows. */
function compare(r: ComputeResult, ref: Map<string, Record<string, number>>): { checked: number; mismatches: string[] } {
  const dim = r.featureNames.length;
  const mismatches: string[] = [];
  let checked = 0;
  const seen = new Set<string>();
  for (let i = 0; i < r.entities.length; i++) {
    r.features.forEach((f, d) => {
      if (f.set === 'host') return;
      const key = `${f.set}|${r.entities[i]}|${r.windowStart[i]}`;
      const row = ref.get(key);
      const want = row ? (row[f.feature] ?? Number.NaN) : f.default;
      const got = r.values[i * dim + d]!;
      checked++;
      if (row) seen.add(key);
      if (!(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)))) mismatches.push(`${key} ${f.feature}: seclake ${got}, reference ${want}`);
    });
  }
  for (const k of ref.keys()) if (!seen.has(k)) mismatches.push(`${k}: a reference row seclake has no window for`);
  return { checked, mismatches };
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

const dir = mkdtempSync(path.join(tmpdir(), 'seclake-bench-rcf-features-'));
try {
  const t0 = performance.now();
  const end = Date.UTC(2025, 0, 15);
  const gen = await generateDemo({ out: path.join(dir, 'demo'), days: DAYS, end, attacks: [], attackDays: 0, volume: { scale: SCALE } });
  const lake = path.join(dir, 'lake');
  const s = await ingest({ lakeDir: lake, paths: [gen.logsDir] });
  const records = gen.records.vpc_flow + gen.records.route53 + gen.records.cloudtrail;
  console.log(
    `lake: ${DAYS} days of the demo account (scale ${SCALE}): ${gen.records.vpc_flow.toLocaleString('en-US')} flow, ${gen.records.route53.toLocaleString('en-US')} DNS, ` +
      `${gen.records.cloudtrail.toLocaleString('en-US')} CloudTrail records in ${s.totals.ingested} objects (${((performance.now() - t0) / 1000).toFixed(1)} s to generate and ingest)`,
  );

  // As training, calibration and the monitor open the lake for the feature sets (views of the objects' own columns).
  const db = await openLakeQuery(lake, { schema: 'objects' });
  try {
    const sets = BUILTIN_FEATURE_SETS;
    const now = end + 3_600_000;
    // ---- seclake and the reference, alternately (the machine's load changes; each gets its best of RUNS) ----
    // An untimed seclake call warms up; the reference gets the same macros and the same Parquet metadata cache.
    let result = await computeFeatureWindows(db, { sets, now, windowMs: W, historyMs: HISTORY });
    const r0 = result;
    await installMacros(db);
    await db.run('SET parquet_metadata_cache = true');
    // Written for what this lake holds, as a hand-written query would be: the CloudTrail views with rows, and
    // api.response.error only once some record failed (the demo's never do).
    const ctViews: string[] = [];
    for (const v of CT_VIEWS) if ((await db.all(`SELECT 1 AS one FROM ${v} LIMIT 1`)).length) ctViews.push(v);
    let apiSql = apiRef(ctViews);
    const apiHasErrors = await db.all(`DESCRIBE ${apiSql}`, { w: W, start: 0, end: 1 }).then(
      () => true,
      () => false,
    );
    if (!apiHasErrors) apiSql = apiSql.replace('api.response.error AS error', 'NULL::VARCHAR AS error');
    let best = Infinity;
    let refBest = Infinity;
    let ref: Map<string, Record<string, number>> | undefined;
    for (let k = 0; k < RUNS; k++) {
      const a = await time(() => computeFeatureWindows(db, { sets, now, windowMs: W, historyMs: HISTORY }));
      if (a.ms < best) best = a.ms;
      result = a.value;
      const b = await time(() => reference(db, r0.from, r0.closedThrough, apiSql));
      if (b.ms < refBest) refBest = b.ms;
      ref = b.value;
    }
    const r = result;
    const n = r.entities.length;
    console.log(`seclake:   ${n.toLocaleString('en-US')} windows x ${r.featureNames.length} features in ${best.toFixed(0)} ms (best of ${RUNS}) = ${Math.round((n / best) * 1000).toLocaleString('en-US')} windows/s; skipped: ${r.skipped.map((x) => x.set).join(', ') || 'none'}`);
    console.log(`reference: plain DuckDB GROUP BY per set (network, dns, api), rows read into JS: ${refBest.toFixed(0)} ms (best of ${RUNS}) = ${Math.round((n / refBest) * 1000).toLocaleString('en-US')} windows/s`);
    const cmp = compare(r, ref!);
    console.log(cmp.mismatches.length === 0 ? `values: equal on all ${cmp.checked.toLocaleString('en-US')} (window, feature) values` : `values: ${cmp.mismatches.length} MISMATCHES of ${cmp.checked}, e.g.\n  ${cmp.mismatches.slice(0, 8).join('\n  ')}`);

    // ---- incremental: the last closed window with the cursor ----
    const head = await computeFeatureWindows(db, { sets, now, windowMs: W, historyMs: HISTORY, end: r.closedThrough - W });
    const inc = await time(() => computeFeatureWindows(db, { sets, now, windowMs: W, historyMs: HISTORY, cursor: head.cursor }));
    // The same window from the incremental call and from the whole-history call: the same values.
    let incDiff = 0;
    const dim = r.featureNames.length;
    const at = new Map(r.entities.map((e, i) => [`${e}|${r.windowStart[i]}`, i]));
    inc.value.entities.forEach((e, i) => {
      const j = at.get(`${e}|${inc.value.windowStart[i]}`);
      for (let d = 0; d < dim; d++) if (j === undefined || Math.abs(inc.value.values[i * dim + d]! - r.values[j * dim + d]!) > 1e-9 * Math.max(1, Math.abs(r.values[j * dim + d]!))) incDiff++;
    });
    console.log(
      `incremental: the last window (${inc.value.entities.length} entities) with the cursor: ${inc.ms.toFixed(0)} ms (7-day lookback for new peers); ` +
        `late records ${inc.value.late.records}; ${incDiff === 0 ? 'values equal to the whole-history run' : `${incDiff} VALUES DIFFER from the whole-history run`}`,
    );

    const ratio = refBest / best;
    console.log(
      `rcf-features: ${Math.round((n / best) * 1000).toLocaleString('en-US')} windows/s vs plain DuckDB GROUP BY ${Math.round((n / refBest) * 1000).toLocaleString('en-US')} windows/s = ${ratio.toFixed(2)}x ` +
        `(${n.toLocaleString('en-US')} windows, ${r.featureNames.length} features, ${records.toLocaleString('en-US')} records, ${DAYS} d; values ${cmp.mismatches.length === 0 ? 'equal' : 'DIFFER'}; incremental window ${inc.ms.toFixed(0)} ms)`,
    );
  } finally {
    db.close();
  }
} finally {
  if (values.keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
