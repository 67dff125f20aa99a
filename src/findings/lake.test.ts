import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FINDINGS_COLUMNS, findingRow, findingsObjectKey, listFindingsObjects, publishFindings, writeFindingsParquet } from './lake.js';
import { FindingPolicy } from './policy.js';
import { openLakeQuery } from '../lake/views.js';
import { Duck } from '../lake/duckdb.js';
import { LakeError } from '../core/errors.js';
import type { DetectionFinding, ScoredRecord } from './types.js';

const SRC = 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20260101/abc-4001-0.parquet';
const T0 = Date.UTC(2026, 0, 1, 12);

function findings(object = SRC, n = 5): DetectionFinding[] {
  const recs: ScoredRecord[] = [];
  for (let i = 0; i < n; i++) {
    recs.push({
      ref: { object, row: i, source: 'VPC_FLOW' },
      entity: `i-0${i % 3}`,
      ip: i === 4 ? '2001:db8::7' : `203.0.113.${i}`,
      time: T0 + (n - i) * 1000, // out of time order on purpose
      dot_product: -2 - i,
      entity_known: i !== 3,
      entity_count: 10,
      anomaly_percentile: 0.999,
      is_anomaly: true,
      event: { class_uid: 4001, src_endpoint: { ip: i === 4 ? '2001:db8::7' : `203.0.113.${i}`, port: 443 }, cloud: { provider: 'AWS', region: 'us-east-1', account: { uid: '123456789012' } } },
    });
  }
  return new FindingPolicy().process(recs, { model: { name: 'flows', version: '01234567', threshold: -1 } });
}

function tmpLake(): string {
  return mkdtempSync(path.join(tmpdir(), 'seclake-findings-'));
}

test('findingsObjectKey: Security Lake-style partitions, named after the source object, sanitised', () => {
  const key = findingsObjectKey(SRC, { region: 'us-east-1', accountId: '123456789012', eventDay: '20260101' });
  assert.match(key, /^ext\/seclake_findings\/1\.0\/region=us-east-1\/accountId=123456789012\/eventDay=20260101\/[0-9a-f]{32}\.parquet$/);
  assert.equal(findingsObjectKey(SRC, { region: 'us-east-1', accountId: '123456789012', eventDay: '20260101' }), key);
  assert.notEqual(findingsObjectKey(SRC + 'x', { region: 'us-east-1', accountId: '123456789012', eventDay: '20260101' }), key);
  const odd = findingsObjectKey('s3://b/k', { region: '../..', accountId: '', eventDay: 'a/b' });
  assert.ok(odd.split('/').every((s) => s !== '..' && s !== '.') && odd.includes('accountId=unknown') && odd.includes('eventDay=a_b'), odd);
});

test('writeFindingsParquet: zstd Parquet, flat columns, full finding JSON round-trips exactly, rows sorted by time', async () => {
  const dir = tmpLake();
  const db = await Duck.open();
  try {
    const fs = findings();
    const file = path.join(dir, 'out', 'f.parquet');
    const w = await writeFindingsParquet(fs, file);
    assert.equal(w.rows, fs.length);
    assert.deepEqual(readdirSync(path.dirname(file)), ['f.parquet'], 'no temporary files left');
    const cols = await db.describe(`SELECT * FROM read_parquet('${file}')`);
    assert.deepEqual(cols.map((c) => c.name), FINDINGS_COLUMNS.map((c) => c.name));
    const codecs = await db.all(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`);
    assert.deepEqual(codecs.map((r) => r.compression), ['ZSTD']);
    const rows = await db.all(`SELECT * FROM read_parquet('${file}')`);
    const times = rows.map((r) => r.time as number);
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    const byUid = new Map(fs.map((f) => [f.finding_info.uid, f]));
    for (const r of rows) {
      const f = byUid.get(r.uid as string)!;
      assert.deepEqual(JSON.parse(r.finding as string), f);
      // Every flat column is what findingRow (the columns' definition, evaluated in JS) gives.
      assert.deepEqual(r, findingRow(f));
      assert.equal(r.severity_id, f.severity_id);
      assert.equal(r.entity, (f.unmapped as Record<string, unknown>).entity);
      assert.equal(r.source_object, SRC);
      assert.equal(r.model_name, 'flows');
    }
    // Zero findings: a valid, empty file with the same columns.
    const empty = path.join(dir, 'empty.parquet');
    assert.equal((await writeFindingsParquet([], empty, { db })).rows, 0);
    assert.deepEqual((await db.describe(`SELECT * FROM read_parquet('${empty}')`)).map((c) => c.name), FINDINGS_COLUMNS.map((c) => c.name));
    // Deterministic: the same findings give the same bytes.
    const again = path.join(dir, 'again.parquet');
    await writeFindingsParquet([...fs].reverse(), again, { db });
    assert.ok(readFileSync(again).equals(readFileSync(file)));
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('publishFindings + findings view: re-processing rewrites the same key, never a duplicate; empty lake gives an empty typed view', async () => {
  const lake = tmpLake();
  try {
    // Empty lake.
    let db = await openLakeQuery(lake);
    try {
      assert.deepEqual(await db.all('SELECT count(*)::INTEGER AS n FROM findings'), [{ n: 0 }]);
      const cols = (await db.describe('SELECT * FROM findings')).map((c) => c.name);
      for (const c of [...FINDINGS_COLUMNS.map((x) => x.name), 'region', 'accountId', 'eventDay']) assert.ok(cols.includes(c), c);
    } finally {
      db.close();
    }
    const part = { region: 'us-east-1', accountId: '123456789012', eventDay: '20260101' };
    const key = findingsObjectKey(SRC, part);
    const first = await publishFindings(lake, key, findings());
    assert.equal(first!.rows, 5);
    await publishFindings(lake, key, findings()); // re-processing the same object
    const src2 = SRC.replace('us-east-1', 'eu-west-1');
    await publishFindings(lake, findingsObjectKey(src2, { ...part, region: 'eu-west-1' }), findings(src2, 2));
    assert.equal(await publishFindings(lake, findingsObjectKey('nothing', part), []), null);
    assert.equal(listFindingsObjects(lake).length, 2);
    // A leftover temporary file (crash between write and rename) is not visible.
    writeFileSync(path.join(path.dirname(path.join(lake, key)), '.x.parquet.tmp-1-aa'), 'junk');
    db = await openLakeQuery(lake);
    try {
      const rows = await db.all('SELECT region, count(*)::INTEGER AS n, count(DISTINCT uid)::INTEGER AS u FROM findings GROUP BY region ORDER BY region');
      assert.deepEqual(rows, [
        { region: 'eu-west-1', n: 2, u: 2 },
        { region: 'us-east-1', n: 5, u: 5 },
      ]);
      const top = await db.all('SELECT severity, entity, ip, eventDay FROM findings ORDER BY dot_product LIMIT 1');
      assert.deepEqual(top, [{ severity: 'High', entity: 'i-01', ip: '2001:db8::7', eventDay: '20260101' }]);
    } finally {
      db.close();
    }
    await assert.rejects(publishFindings(lake, 'aws/VPC_FLOW/x.parquet', findings()), LakeError);
    await assert.rejects(publishFindings(lake, 'ext/seclake_findings/1.0/../../../../etc/x.parquet', findings()), LakeError);
  } finally {
    rmSync(lake, { recursive: true, force: true });
  }
});
