/**
 * `seclake monitor --lake DIR --once` with the lake's registered rcf model (behaviour-fixture.ts: the app server's
 * exfiltration at hour 75, the bastion's scan at hour 77), killed by SIGKILL at the monitor's fault points
 * (SECLAKE_FAULT, src/core/fault.ts) and run again: the same findings (ids and scores) as an uninterrupted run, none
 * doubled, and the same checkpoint position.
 *
 * - `findings-after-object:1`: the first findings object (the exfiltration's window) is published, the run dies before
 *   its checkpoint: the rerun recomputes the window from the last checkpoint's cursor and streaming model.
 * - `monitor-mid-checkpoint:5`: the fifth checkpoint (after the hour whose records close the exfiltration's window) has
 *   its new streaming-model state file written and its JSON fsynced, not renamed: the rerun starts from the fourth
 *   checkpoint and the state file it names.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ingest } from '../../src/ingest/ingest.js';
import { readCheckpoint } from '../../src/monitor/embedded.js';
import { EXPECTED, HOUR, T0, buildTrainedLake, cli, findingRows, flagged, type FindingRow, type TrainedLake } from './behaviour-fixture.js';

describe('seclake monitor with a behaviour model, killed and run again', () => {
  let dir: string;
  let t: TrainedLake;
  let reference: FindingRow[];
  let referenceSeq: number;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-behaviour-crash-'));
    t = await buildTrainedLake(dir);
    assert.equal((await ingest({ lakeDir: t.lakeDir, paths: t.monitored })).totals.rejects, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const args = (lake: string): string[] => ['monitor', '--lake', lake, '--once', '--after-seq', String(t.startSeq), '--checkpoint-ms', '0', '--json'];

  it('an uninterrupted run of the registered model: two findings, the JSON summary counts windows', async () => {
    const lakeDir = path.join(dir, 'ref');
    cpSync(t.lakeDir, lakeDir, { recursive: true });
    const r = await cli(args(lakeDir));
    assert.equal(r.code, 0, r.stderr);
    const sum = JSON.parse(r.stdout.trim().split('\n').pop()!) as { windows: number; findings: number; lateRecords: number; failed: number };
    assert.deepEqual({ windows: sum.windows, findings: sum.findings, late: sum.lateRecords, failed: sum.failed }, { windows: 27, findings: 2, late: 0, failed: 0 }); // hours 71..79: the model learnt the held-out day when calibrated
    reference = await findingRows(lakeDir);
    assert.deepEqual(flagged(reference), EXPECTED);
    referenceSeq = readCheckpoint(lakeDir)!.seq;
  });

  for (const fault of ['findings-after-object:1', 'monitor-mid-checkpoint:5']) {
    it(`killed at ${fault}, then run again: the same findings, none doubled`, async () => {
      assert.ok(reference, 'the uninterrupted run ran');
      const lakeDir = path.join(dir, `kill-${fault.replace(/[^a-z0-9]+/g, '-')}`);
      cpSync(t.lakeDir, lakeDir, { recursive: true });
      const killed = await cli(args(lakeDir), { SECLAKE_FAULT: fault });
      assert.notEqual(killed.code, 0, `${fault}: the run was killed`);
      assert.match(killed.stderr, new RegExp(`fault point ${fault.split(':')[0]} \\(hit ${fault.split(':')[1]}\\)`));
      const atKill = await findingRows(lakeDir);
      assert.ok(atKill.length >= 1 && atKill.length < 2, `${fault}: ${atKill.length} findings in the lake when killed`);
      const rerun = await cli(args(lakeDir));
      assert.equal(rerun.code, 0, rerun.stderr);
      const got = await findingRows(lakeDir);
      assert.deepEqual(got.map((x) => [x.uid, x.native_score]), reference.map((x) => [x.uid, x.native_score]));
      const cp = readCheckpoint(lakeDir)!;
      assert.equal(cp.seq, referenceSeq);
      assert.equal(cp.behaviour!['rcf-network']!.totals.closed_through, T0 + 80 * HOUR);
    });
  }
});
