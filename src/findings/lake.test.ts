import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  FINDINGS_PREFIX,
  findingsKeyForClass,
  findingsObjectKey,
  legacyTargetKey,
  listFindingsObjects,
  listLegacyFindingsObjects,
  migrateLegacyFindings,
  parseFindingsKey,
  publishFindings,
  writeFindingsParquet,
} from './lake.js';
import { FINDINGS_VIEW_COLUMN_NAMES } from './view.js';
import { openLakeQuery } from '../lake/views.js';
import { readObjects } from '../lake/catalog.js';
import { Duck, quoteString } from '../lake/duckdb.js';
import { LakeError } from '../core/errors.js';
import { rowToEvent } from '../ocsf/from-row.js';
import { validateEvent } from '../ocsf/validate.js';
import type { DetectionFinding } from './types.js';

const HERE = path.dirname(new URL(import.meta.url).pathname);
/** Old-format (flat, uncatalogued) findings objects written by the code before findings became OCSF Parquet. */
const LEGACY_LAKE = path.join(HERE, 'testdata', 'legacy-lake');
/**
 * Real, schema-valid 2004 findings: the builder's golden findings when the legacy objects were written (the findings
 * inside them; frozen, unlike build.expected.json).
 */
const GOLDEN = JSON.parse(readFileSync(path.join(LEGACY_LAKE, 'findings.json'), 'utf8')) as Record<string, DetectionFinding>;

const SRC = 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20260101/abc-4001-0.parquet';
const PART = { region: 'us-east-1', accountId: '123456789012', eventDay: '20260101' };

/** `n` distinct findings made from the golden ones (uids, times and pairs varied), out of time order. */
function findings(n = 5, object = SRC): DetectionFinding[] {
  const base = Object.values(GOLDEN);
  const out: DetectionFinding[] = [];
  for (let i = 0; i < n; i++) {
    const f = structuredClone(base[i % base.length]!);
    f.finding_info.uid = `${object.length.toString(16)}${String(i).padStart(4, '0')}`.padEnd(32, 'a');
    f.time = 1_767_268_800_000 + (n - i) * 1000;
    (f.unmapped as Record<string, unknown>).source_object = object;
    out.push(f);
  }
  return out;
}

function tmpLake(): string {
  return mkdtempSync(path.join(tmpdir(), 'seclake-findings-'));
}

test('findingsObjectKey: Security Lake custom-source layout (2.0), named after the source object, one source per class, sanitised', () => {
  const key = findingsObjectKey(SRC, PART);
  assert.match(key, /^ext\/seclake_findings\/2\.0\/region=us-east-1\/accountId=123456789012\/eventDay=20260101\/[0-9a-f]{32}\.parquet$/);
  assert.equal(findingsObjectKey(SRC, PART), key);
  assert.notEqual(findingsObjectKey(SRC + 'x', PART), key);
  const odd = findingsObjectKey('s3://b/k', { region: '../..', accountId: '', eventDay: 'a/b' });
  assert.ok(odd.split('/').every((s) => s !== '..' && s !== '.') && odd.includes('accountId=unknown') && odd.includes('eventDay=a_b'), odd);
  assert.deepEqual(parseFindingsKey(key), { classUid: 2004, ...PART });
  // Another findings class of the same source object: its own custom source, same partition and name.
  const incident = findingsKeyForClass(key, 2005);
  assert.equal(incident, findingsObjectKey(SRC, PART, 2005));
  assert.equal(incident, key.replace('ext/seclake_findings/', 'ext/seclake_incidents/'));
  assert.equal(parseFindingsKey(incident)?.classUid, 2005);
  assert.equal(parseFindingsKey('aws/VPC_FLOW/2.0/region=a/accountId=b/eventDay=c/x.parquet'), undefined);
  assert.throws(() => findingsObjectKey(SRC, PART, 4001), LakeError);
  assert.equal(legacyTargetKey('ext/seclake_findings/1.0/region=a/accountId=b/eventDay=c/0123.parquet'), 'ext/seclake_findings/2.0/region=a/accountId=b/eventDay=c/0123.parquet');
});

test('writeFindingsParquet: OCSF Parquet of the class (real OCSF columns, rows validate), the finding round-trips exactly, sorted, deterministic', async () => {
  const dir = tmpLake();
  const db = await Duck.open();
  try {
    const fs = findings(6);
    const file = path.join(dir, 'out', 'f.parquet');
    const w = await writeFindingsParquet(fs, file);
    assert.equal(w.rows, fs.length);
    assert.deepEqual(readdirSync(path.dirname(file)), ['f.parquet'], 'no temporary files left');
    const cols = new Map((await db.describe(`SELECT * FROM read_parquet(${quoteString(file)})`)).map((c) => [c.name, c.type]));
    for (const c of ['class_uid', 'category_uid', 'type_uid', 'activity_id', 'severity_id', 'time', 'status_id', 'confidence_score', 'message', 'count']) {
      assert.ok(cols.has(c), `column ${c}`);
    }
    for (const c of ['metadata', 'finding_info', 'cloud']) assert.match(cols.get(c) ?? '', /^STRUCT\(/, c);
    for (const c of ['resources', 'observables', 'evidences']) assert.match(cols.get(c) ?? '', /\[\]$/, c);
    assert.equal(cols.get('unmapped'), 'MAP(VARCHAR, VARCHAR)');
    assert.equal(cols.get('raw_data'), 'VARCHAR');
    assert.equal(cols.has('finding'), false, 'no flat columns in the object');
    assert.equal(cols.has('entity'), false);
    const codecs = await db.all(`SELECT DISTINCT compression FROM parquet_metadata(${quoteString(file)})`);
    assert.deepEqual(codecs.map((r) => r.compression), ['ZSTD']);
    const rows = await db.all(`SELECT * FROM read_parquet(${quoteString(file)})`);
    const times = rows.map((r) => r.time as number);
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    const byUid = new Map(fs.map((f) => [f.finding_info.uid, f]));
    for (const r of rows) {
      const ev = rowToEvent(r, { dropColumns: ['raw_data'] });
      const f = byUid.get((ev.finding_info as Record<string, unknown>).uid as string)!;
      // Exact round trip through raw_data: the finding as emitted, byte for byte.
      assert.equal(r.raw_data, JSON.stringify(f));
      // A reader that expects OCSF rows finds them: the row is the finding (unmapped flattened as Security Lake does).
      assert.deepEqual(validateEvent(ev).filter((x) => x.severity === 'error'), []);
      for (const k of ['class_uid', 'category_uid', 'type_uid', 'activity_id', 'severity_id', 'time', 'message', 'count']) assert.deepEqual(ev[k], f[k], k);
      assert.deepEqual(ev.finding_info, f.finding_info);
      assert.deepEqual(ev.metadata, f.metadata);
      assert.deepEqual(ev.resources, f.resources);
      assert.deepEqual(ev.observables, f.observables);
      const u = ev.unmapped as Record<string, string>;
      const fu = f.unmapped as Record<string, unknown>;
      assert.equal(u.entity, fu.entity);
      assert.equal(u['model.name'], (fu.model as Record<string, unknown>).name);
      assert.equal(Number(u.dot_product), fu.dot_product);
    }
    // Deterministic: the same findings in another order give the same bytes.
    const again = path.join(dir, 'again.parquet');
    await writeFindingsParquet([...fs].reverse(), again, { db });
    assert.ok(readFileSync(again).equals(readFileSync(file)));
    // One class per object.
    await assert.rejects(writeFindingsParquet([fs[0]!, { ...fs[1]!, class_uid: 2005 } as unknown as DetectionFinding], path.join(dir, 'x.parquet')), LakeError);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('publishFindings: catalogued exactly once however often the key is rewritten; the flat findings view; empty lake gives an empty typed view', async () => {
  const lake = tmpLake();
  try {
    let db = await openLakeQuery(lake);
    try {
      assert.deepEqual(await db.all('SELECT count(*)::INTEGER AS n FROM findings'), [{ n: 0 }]);
      assert.deepEqual((await db.describe('SELECT * FROM findings')).map((c) => c.name), FINDINGS_VIEW_COLUMN_NAMES);
    } finally {
      db.close();
    }
    const key = findingsObjectKey(SRC, PART);
    const first = await publishFindings(lake, key, findings(5));
    assert.equal(first!.rows, 5);
    assert.equal(first!.objects![0]!.added, true);
    const again = await publishFindings(lake, key, findings(5)); // the same source object processed again
    assert.equal(again!.objects![0]!.added, false);
    const src2 = SRC.replace('us-east-1', 'eu-west-1');
    const key2 = findingsObjectKey(src2, { ...PART, region: 'eu-west-1' });
    await publishFindings(lake, key2, findings(2, src2));
    assert.equal(await publishFindings(lake, findingsObjectKey('nothing', PART), []), null);
    const cat = readObjects(lake);
    assert.deepEqual(cat.map((o) => o.path), [key, key2], 'each key catalogued once');
    assert.deepEqual(cat.map((o) => [o.source, o.class_uid, o.rows, o.derived_from]), [
      ['EXT_seclake_findings', 2004, 5, SRC],
      ['EXT_seclake_findings', 2004, 2, src2],
    ]);
    assert.deepEqual(listFindingsObjects(lake), [path.join(lake, key2), path.join(lake, key)].sort());
    // A crash between writing an object and cataloguing it: the uncatalogued file is invisible; publishing the key
    // again (the monitor redoes the object) catalogs it once.
    const src3 = SRC.replace('abc-', 'def-');
    const key3 = findingsObjectKey(src3, PART);
    await writeFindingsParquet(findings(3, src3), path.join(lake, key3));
    writeFileSync(path.join(path.dirname(path.join(lake, key)), '.x.parquet.tmp-1-aa'), 'junk');
    db = await openLakeQuery(lake);
    try {
      const rows = await db.all('SELECT region, count(*)::INTEGER AS n, count(DISTINCT uid)::INTEGER AS u FROM findings GROUP BY region ORDER BY region');
      assert.deepEqual(rows, [
        { region: 'eu-west-1', n: 2, u: 2 },
        { region: 'us-east-1', n: 5, u: 5 },
      ]);
      // The OCSF rows are a view of their own too (the custom source), with the OCSF columns.
      assert.deepEqual(await db.all('SELECT count(*)::INTEGER AS n, min(category_uid) AS c, min(type_uid)::INTEGER AS t FROM seclake_findings'), [{ n: 7, c: 2, t: 200401 }]);
      assert.deepEqual(await db.all('SELECT count(*)::INTEGER AS n FROM amazon_security_lake_table_us_east_1_ext_seclake_findings_2_0'), [{ n: 5 }]);
      // Flat columns, with the fallbacks for findings written before the detector-neutral fields.
      const f = findings(5)[0]!;
      const u = f.unmapped as Record<string, unknown>;
      const [r] = await db.all('SELECT * FROM findings WHERE uid = $1', [f.finding_info.uid]);
      assert.deepEqual(JSON.parse(r!.finding as string), f);
      assert.equal(r!.finding, JSON.stringify(f));
      assert.deepEqual(
        { ...r!, finding: undefined },
        {
          time: f.time,
          uid: f.finding_info.uid,
          class_uid: 2004,
          activity_id: f.activity_id,
          severity_id: f.severity_id,
          severity: f.severity,
          kind: u.kind,
          title: f.finding_info.title,
          message: f.message,
          detector: 'ipinsights',
          model_name: 'flows',
          model_version: '0a1b2c3d',
          entity: u.entity,
          ip: u.ip,
          anomaly_score: -(u.dot_product as number),
          native_score: u.dot_product,
          native_score_name: 'dot_product',
          dot_product: u.dot_product,
          threshold: u.threshold,
          percentile: u.anomaly_percentile,
          confidence_score: f.confidence_score,
          count: f.count,
          first_seen_time: f.finding_info.first_seen_time,
          last_seen_time: f.finding_info.last_seen_time,
          source_object: SRC,
          source_row: u.source_row,
          correlation_uid: (f.metadata as Record<string, unknown>).correlation_uid,
          window_start: null,
          window_end: null,
          observables: JSON.stringify(f.observables),
          explanation: JSON.stringify(u.explanation),
          extras: (u.explanation as Record<string, unknown>).details === undefined ? null : JSON.stringify((u.explanation as Record<string, unknown>).details),
          finding: undefined,
          // Per-entity calibration columns (NULL/false for findings written without them).
          p_value: typeof u.p_value === 'number' ? u.p_value : null,
          threshold_source: typeof u.threshold_source === 'string' ? u.threshold_source : null,
          low_support: u.low_support === true,
          region: 'us-east-1',
          accountId: '123456789012',
          eventDay: '20260101',
        },
      );
    } finally {
      db.close();
    }
    await publishFindings(lake, key3, findings(3, src3));
    assert.equal(readObjects(lake).filter((o) => o.path === key3).length, 1);
    await assert.rejects(publishFindings(lake, 'aws/VPC_FLOW/x.parquet', findings()), LakeError);
    await assert.rejects(publishFindings(lake, `${FINDINGS_PREFIX}/../../../../etc/x.parquet`, findings()), LakeError);
  } finally {
    rmSync(lake, { recursive: true, force: true });
  }
});

test('the detector-neutral unmapped fields, when a finding has them, take precedence over the IP Insights fallbacks', async () => {
  const lake = tmpLake();
  try {
    const f = findings(1)[0]!;
    Object.assign(f.unmapped as Record<string, unknown>, { detector: 'history', anomaly_score: 0.75, native_score: 3, native_score_name: 'prefix_score' });
    delete (f.unmapped as Record<string, unknown>).dot_product;
    await publishFindings(lake, findingsObjectKey(SRC, PART), [f]);
    const db = await openLakeQuery(lake);
    try {
      assert.deepEqual(await db.all('SELECT detector, anomaly_score, native_score, native_score_name, dot_product FROM findings'), [
        { detector: 'history', anomaly_score: 0.75, native_score: 3, native_score_name: 'prefix_score', dot_product: null },
      ]);
      assert.deepEqual(await db.all(`SELECT unmapped['detector'] AS d FROM seclake_findings`), [{ d: 'history' }]);
    } finally {
      db.close();
    }
  } finally {
    rmSync(lake, { recursive: true, force: true });
  }
});

test('legacy findings objects (flat, uncatalogued, written before 2.0) load in the view, and migrate converts them to catalogued OCSF objects', async () => {
  const lake = tmpLake();
  try {
    cpSync(LEGACY_LAKE, lake, { recursive: true });
    rmSync(path.join(lake, 'README.md'));
    rmSync(path.join(lake, 'findings.json'));
    const legacy = listLegacyFindingsObjects(lake);
    assert.equal(legacy.length, 2);
    const viewRows = async (): Promise<Record<string, unknown>[]> => {
      const db = await openLakeQuery(lake);
      try {
        return await db.all('SELECT uid, detector, entity, ip, dot_product, native_score, anomaly_score, model_name, region, eventDay, finding FROM findings ORDER BY uid, finding');
      } finally {
        db.close();
      }
    };
    const before = await viewRows();
    assert.equal(before.length, 5);
    const golden = new Map(Object.values(GOLDEN).map((f) => [JSON.stringify(f), f]));
    for (const r of before) {
      const f = golden.get(r.finding as string);
      assert.ok(f, 'the legacy finding column is a golden finding, exactly');
      const u = f.unmapped as Record<string, unknown>;
      assert.deepEqual([r.detector, r.entity, r.ip, r.dot_product, r.native_score, r.anomaly_score], ['ipinsights', u.entity, u.ip, u.dot_product, u.dot_product, -(u.dot_product as number)]);
    }
    const [, vpcLegacy] = legacy; // region=us-east-1 (sorted after eu-west-1)
    assert.match(vpcLegacy!, /region=us-east-1/);
    // Migration.
    const res = await migrateLegacyFindings(lake);
    assert.deepEqual(res, { legacy: 2, migrated: 2, superseded: 0, findings: 5 });
    assert.deepEqual(listLegacyFindingsObjects(lake), []);
    assert.ok(!existsSync(path.join(lake, vpcLegacy!)));
    const cat = readObjects(lake);
    assert.deepEqual(cat.map((o) => o.path).sort(), legacy.map(legacyTargetKey).sort());
    assert.ok(cat.every((o) => o.source === 'EXT_seclake_findings' && o.class_uid === 2004 && typeof o.derived_from === 'string'));
    assert.deepEqual(await viewRows(), before, 'the view gives the same rows after the migration');
    // Again: nothing to do.
    assert.deepEqual(await migrateLegacyFindings(lake), { legacy: 0, migrated: 0, superseded: 0, findings: 0 });
    // A legacy object whose replacement is already catalogued (scored again since the upgrade) is hidden, and
    // migrate only removes it.
    cpSync(LEGACY_LAKE, lake, { recursive: true });
    assert.equal((await viewRows()).length, 5, 'no duplicates while the legacy copies are back');
    assert.deepEqual(await migrateLegacyFindings(lake), { legacy: 2, migrated: 0, superseded: 2, findings: 0 });
    assert.equal(readObjects(lake).length, 2);
  } finally {
    rmSync(lake, { recursive: true, force: true });
  }
});
