import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { emitFindings } from './emit.js';
import { FindingPolicy } from './policy.js';
import { listFindingsObjects } from './lake.js';
import { MemorySink } from '../sinks/memory/index.js';
import type { ScoredRecord, Sink } from './types.js';
import { IPI } from './test-support.js';

function r(row: number, dot: number): ScoredRecord {
  return { ref: { object: 'aws/x.parquet', row }, entity: 'i-1', ip: `10.0.0.${row}`, time: 1_760_000_000_000 + row, native_score: dot, entity_known: true, entity_count: 3, event: {} };
}

test('emitFindings: policy -> lake object -> sinks; a throwing sink does not fail the step; nothing written without findings', async () => {
  const lake = mkdtempSync(path.join(tmpdir(), 'seclake-emit-'));
  try {
    const mem = new MemorySink();
    const broken: Sink = { name: 'broken', send: () => Promise.reject(new Error('nope')), close: async () => {} };
    const policy = new FindingPolicy();
    const base = { policy, model: { detector: IPI, name: 'm', version: '1' }, sourceObject: 'aws/x.parquet', partition: { region: 'us-east-1', accountId: '1', eventDay: '20251009' }, lakeDir: lake, sinks: [mem, broken] };
    const res = await emitFindings([r(0, -2), r(1, 3), r(2, -1)], base);
    assert.equal(res.findings.length, 2);
    assert.equal(res.written!.rows, 2);
    assert.ok(res.key.startsWith('ext/seclake_findings/2.0/region=us-east-1/accountId=1/eventDay=20251009/'));
    assert.deepEqual(listFindingsObjects(lake), [path.join(lake, res.key)]);
    assert.deepEqual(mem.findings, res.findings);
    assert.deepEqual(res.sinkErrors, ['broken']);
    const none = await emitFindings([r(3, 5)], { ...base, sourceObject: 'aws/y.parquet' });
    assert.deepEqual([none.findings.length, none.written, mem.batches], [0, null, 1]);
  } finally {
    rmSync(lake, { recursive: true, force: true });
  }
});
