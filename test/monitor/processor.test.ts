import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ingest } from '../../src/ingest/ingest.js';
import { isDerivedObject, readObjects } from '../../src/lake/catalog.js';
import { IpInsightsModel } from '../../src/detectors/ipinsights/index.js';
import { createProcessor, partitionOfObject, sourceOfObject } from '../../src/monitor/processor.js';
import { pairPreset } from '../../src/detectors/pairs/definitions.js';
import { validateEvent } from '../../src/ocsf/validate.js';
import { openLakeQuery } from '../../src/lake/views.js';
import { DAY0, INSTANCES, buildLakeAndModel, writeFlowObject } from './fixture.js';

describe('monitor processor', () => {
  let dir: string;
  let lakeDir: string;
  let modelPath: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-proc-'));
    ({ lakeDir, modelPath } = await buildLakeAndModel(dir));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('parses source and partition from lake object paths', () => {
    const p = 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20261120/x.parquet';
    assert.equal(sourceOfObject(p), 'VPC_FLOW');
    assert.deepEqual(partitionOfObject(p), { region: 'us-east-1', accountId: '123456789012', eventDay: '20261120' });
    assert.equal(sourceOfObject('ext/seclake_findings/1.0/region=a/accountId=b/eventDay=c/y.parquet'), 'EXT_seclake_findings');
    assert.equal(sourceOfObject('random/file.parquet'), undefined);
    assert.throws(() => pairPreset('nope'), /unknown pair definition 'nope'; known: reference, flow-peer, user-login/);
  });

  it('flags the foreign peers in a new object, not the routine ones, with valid findings pointing at their rows', async () => {
    const seq0 = Math.max(0, ...readObjects(lakeDir).map((o) => o.seq));
    const file = writeFlowObject(dir, 'new', {
      records: 400,
      startSec: DAY0 + 3 * 86400,
      seed: 9,
      anomalies: [
        { instance: 3, peer: '203.0.113.77' },
        { instance: 4, peer: '198.51.100.9' },
      ],
    });
    await ingest({ lakeDir, paths: [file] });
    const objs = readObjects(lakeDir, seq0);
    assert.equal(objs.length, 1);
    const obj = objs[0]!;
    const model = await IpInsightsModel.load(modelPath);
    const proc = await createProcessor({ model, pairs: 'flow-peer', lakeDir, policy: { uncalibratedThreshold: 0 } });
    try {
      const res = await proc.process(path.join(lakeDir, obj.path), { object: obj.path, row: 0 });
      assert.equal(res.pairs, 402);
      assert.equal(res.scored, 402);
      const flagged = res.findings.map((f) => (f.unmapped as { entity?: string; ip?: string } | undefined) ?? {});
      const text = JSON.stringify(res.findings);
      assert.ok(text.includes('203.0.113.77') && text.includes('198.51.100.9'), 'both foreign peers are findings');
      assert.ok(res.findings.length <= 6, `few false positives: ${res.findings.length} findings (${JSON.stringify(flagged)})`);
      for (const f of res.findings) {
        const errors = validateEvent(f).filter((i) => i.severity === 'error');
        assert.deepEqual(errors, []);
        assert.ok(text.includes(obj.path), 'the finding names its source object');
        // Evidence is read back by row number for flagged records only: it must be that row's own event.
        const ev = (f.evidences as { src_endpoint?: { ip?: string }; dst_endpoint?: { ip?: string } }[])[0]!;
        const u = f.unmapped as { ip: string };
        assert.ok(ev.src_endpoint?.ip === u.ip || ev.dst_endpoint?.ip === u.ip, `evidence endpoints hold the flagged address ${u.ip}: ${JSON.stringify(ev)}`);
        assert.ok((f.observables as { type_id: number; value: string }[]).some((o) => o.type_id === 2 && o.value === u.ip), 'the address is an observable');
      }
      // The findings object landed in the lake and the `findings` view reads it back.
      assert.ok(res.findingsKey);
      const db = await openLakeQuery(lakeDir);
      try {
        const rows = await db.all('SELECT count(*)::INT AS n FROM findings');
        assert.equal(rows[0]!.n, res.findings.length);
      } finally {
        db.close();
      }
      // Re-processing rewrites the same object with the same uids (after restoring the policy state).
      const uids = res.findings.map((f) => f.finding_info.uid).sort();
      const proc2 = await createProcessor({ model, pairs: 'flow-peer', lakeDir, policy: { uncalibratedThreshold: 0 } });
      const again = await proc2.process(path.join(lakeDir, obj.path), { object: obj.path, row: 0 });
      proc2.close();
      assert.deepEqual(again.findings.map((f) => f.finding_info.uid).sort(), uids);
      assert.equal(again.findingsKey, res.findingsKey);
    } finally {
      proc.close();
    }
  });

  it('skips objects of other sources and objects without the columns of the definition', async () => {
    const proc = await createProcessor({ model: modelPath, pairs: 'user-login' });
    try {
      const obj = readObjects(lakeDir)[0]!;
      const res = await proc.process(path.join(lakeDir, obj.path), { object: obj.path, row: 0 });
      assert.deepEqual(res, { rows: 0, pairs: 0, scored: 0, findings: [] });
      assert.equal(proc.accepts('CLOUD_TRAIL_MGMT'), true);
      assert.equal(proc.accepts('VPC_FLOW'), false);
    } finally {
      proc.close();
    }
  });

  it('a custom pair query over `events` gives the same findings as the equivalent preset; a query without row is a config error', async () => {
    const obj = readObjects(lakeDir).filter((o) => !isDerivedObject(o)).at(-1)!;
    const fp = pairPreset('flow-peer');
    const sql = `SELECT ${fp.entity} AS entity, ${fp.ip} AS ip, time, file_row_number AS row FROM events WHERE ${fp.where};`;
    const ref = { object: obj.path, row: 0 };
    const a = await createProcessor({ model: modelPath, pairs: 'flow-peer', policy: { uncalibratedThreshold: 0 } });
    const b = await createProcessor({ model: modelPath, pairs: { name: 'custom', sql, sources: ['VPC_FLOW'] }, policy: { uncalibratedThreshold: 0 } });
    const c = await createProcessor({ model: modelPath, pairs: { sql: 'SELECT src_endpoint.instance_uid AS entity, src_endpoint.ip AS ip FROM events', sources: [] } });
    try {
      const ra = await a.process(path.join(lakeDir, obj.path), ref);
      const rb = await b.process(path.join(lakeDir, obj.path), ref);
      assert.ok(ra.pairs > 0 && ra.findings.length > 0, 'the preset finds something on this object');
      assert.equal(rb.pairs, ra.pairs);
      assert.deepEqual(rb.findings.map((f) => f.finding_info.uid), ra.findings.map((f) => f.finding_info.uid));
      assert.deepEqual(rb.findings.map((f) => f.evidences), ra.findings.map((f) => f.evidences));
      await assert.rejects(c.process(path.join(lakeDir, obj.path), ref), /must return the columns entity, ip and row/);
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });

  it('objects of one source with different columns: a flow log v2 object (no instance ids) between v5 ones is skipped, the next v5 one scored', async () => {
    const v2 = path.join(dir, '123456789012_vpcflowlogs_us-east-1_fl-0abc_v2only.log');
    const start = DAY0 + 86400;
    (await import('node:fs')).writeFileSync(
      v2,
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n' +
        `2 123456789012 eni-0a1b2c3d 10.0.1.5 203.0.113.9 443 49152 6 10 840 ${start} ${start + 60} ACCEPT OK\n`,
    );
    const seq0 = Math.max(0, ...readObjects(lakeDir).map((o) => o.seq));
    const sum = await ingest({ lakeDir, paths: [v2] });
    assert.equal(sum.totals.rejects, 0);
    const v2obj = readObjects(lakeDir, seq0)[0]!;
    assert.equal(v2obj.source, 'VPC_FLOW');
    const v5obj = readObjects(lakeDir)[0]!;
    const proc = await createProcessor({ model: modelPath, pairs: 'flow-peer', policy: { uncalibratedThreshold: 0 } });
    try {
      const first = await proc.process(path.join(lakeDir, v5obj.path), { object: v5obj.path, row: 0 });
      assert.ok(first.pairs > 0);
      assert.deepEqual(await proc.process(path.join(lakeDir, v2obj.path), { object: v2obj.path, row: 0 }), { rows: 0, pairs: 0, scored: 0, findings: [] });
      const again = await proc.process(path.join(lakeDir, v5obj.path), { object: v5obj.path, row: 0 });
      assert.equal(again.pairs, first.pairs);
    } finally {
      proc.close();
    }
  });

  it('a custom pair query may give time as a TIMESTAMP (with time zone too): findings keep the event time in ms', async () => {
    const obj = readObjects(lakeDir).filter((o) => o.rows > 1 && !isDerivedObject(o)).at(-1)!;
    const fp = pairPreset('flow-peer');
    const ref = { object: obj.path, row: 0 };
    const a = await createProcessor({ model: modelPath, pairs: 'flow-peer', policy: { uncalibratedThreshold: 0 } });
    const b = await createProcessor({
      model: modelPath,
      pairs: { sql: `SELECT ${fp.entity} AS entity, ${fp.ip} AS ip, to_timestamp(time / 1000) AS time, file_row_number AS row FROM events WHERE ${fp.where}`, sources: [] },
      policy: { uncalibratedThreshold: 0 },
    });
    const c = await createProcessor({
      model: modelPath,
      pairs: { sql: `SELECT ${fp.entity} AS entity, ${fp.ip} AS ip, make_timestamp(time * 1000) AS time, file_row_number AS row FROM events WHERE ${fp.where}`, sources: [] },
      policy: { uncalibratedThreshold: 0 },
    });
    try {
      const ra = await a.process(path.join(lakeDir, obj.path), ref);
      assert.ok(ra.findings.length > 0);
      for (const r of [await b.process(path.join(lakeDir, obj.path), ref), await c.process(path.join(lakeDir, obj.path), ref)]) {
        assert.deepEqual(r.findings.map((f) => f.time), ra.findings.map((f) => f.time));
      }
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });

  it('concurrent process() calls (the SQS monitor with --concurrency) give the findings sequential calls give', async () => {
    const seq0 = Math.max(0, ...readObjects(lakeDir).map((o) => o.seq));
    const files = [0, 1, 2, 3].map((k) =>
      writeFlowObject(dir, `conc${k}`, { records: 300, startSec: DAY0 + 4 * 86400 + k * 600, seed: 70 + k, anomalies: [{ instance: k, peer: `198.51.100.${40 + k}` }] }),
    );
    await ingest({ lakeDir, paths: files });
    const objs = readObjects(lakeDir, seq0);
    assert.equal(objs.length, 4);
    const uids = (rs: { findings: { finding_info: { uid: string } }[] }[]): string[] => rs.flatMap((r) => r.findings.map((f) => f.finding_info.uid)).sort();
    const seqProc = await createProcessor({ model: modelPath, pairs: 'flow-peer', policy: { uncalibratedThreshold: 0 } });
    const concProc = await createProcessor({ model: modelPath, pairs: 'flow-peer', policy: { uncalibratedThreshold: 0 }, scoreOnWorker: true });
    try {
      const sequential = [];
      for (const o of objs) sequential.push(await seqProc.process(path.join(lakeDir, o.path), { object: o.path, row: 0 }));
      const concurrent = await Promise.all(objs.map((o) => concProc.process(path.join(lakeDir, o.path), { object: o.path, row: 0 })));
      assert.ok(uids(sequential).length >= 4);
      assert.deepEqual(uids(concurrent), uids(sequential));
      assert.equal(concProc.policy.stats.records, seqProc.policy.stats.records);
    } finally {
      seqProc.close();
      concProc.close();
    }
  });

  it('a custom query taking two pairs from each row: one finding per pair, distinct uids, the same findings every run', async () => {
    const obj = readObjects(lakeDir).filter((o) => o.rows > 1 && !isDerivedObject(o)).at(-1)!;
    const sql =
      "SELECT src_endpoint.instance_uid AS entity, dst_endpoint.ip AS ip, time, file_row_number AS row FROM events WHERE src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid <> '-' " +
      "UNION ALL SELECT src_endpoint.instance_uid, src_endpoint.ip, time, file_row_number FROM events WHERE src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid <> '-'";
    const run = async (): Promise<string[]> => {
      // Every pair below the threshold: a finding for each distinct pair.
      const p = await createProcessor({ model: modelPath, pairs: { sql, sources: [] }, policy: { uncalibratedThreshold: 1e9 } });
      try {
        const r = await p.process(path.join(lakeDir, obj.path), { object: obj.path, row: 0 });
        return r.findings.map((f) => `${f.finding_info.uid} ${(f.unmapped as { source_row: number }).source_row}`);
      } finally {
        p.close();
      }
    };
    const a = await run();
    const uids = a.map((x) => x.split(' ')[0]);
    assert.equal(new Set(uids).size, uids.length, 'no two findings share a uid');
    const rows = a.map((x) => x.split(' ')[1]);
    assert.ok(rows.length > new Set(rows).size, 'some rows gave two findings');
    assert.deepEqual(await run(), a, 'same findings, same order');
  });

  it('a corrupt object is an error, not a silent zero', async () => {
    const proc = await createProcessor({ model: modelPath, pairs: 'reference' });
    try {
      const bad = path.join(dir, 'bad.parquet');
      (await import('node:fs')).writeFileSync(bad, 'PAR1 this is not parquet');
      await assert.rejects(proc.process(bad, { object: 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20260101/bad.parquet', row: 0 }));
    } finally {
      proc.close();
    }
  });

  it('knows every fixture instance', async () => {
    const m = await IpInsightsModel.load(modelPath);
    for (const i of INSTANCES) assert.equal(m.entityInfo(i).known, true, i);
  });
});
