/**
 * The embedded monitor over a real lake: backlog and checkpoint, a kill -9 of a `seclake monitor` process mid-run
 * followed by a restart (same findings as an uninterrupted run, none doubled), a corrupt object recorded and skipped,
 * and the watch folder ("drop a flow log, get a finding").
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ingest } from '../../src/ingest/ingest.js';
import { readObjects } from '../../src/lake/catalog.js';
import { openLakeQuery } from '../../src/lake/views.js';
import { failedPath, monitorOnce, readCheckpoint, startMonitor, type MonitorEvent } from '../../src/monitor/embedded.js';
import { DAY0, buildLakeAndModel, flowLog, writeFlowObject } from './fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');

async function findingUids(lakeDir: string): Promise<string[]> {
  const db = await openLakeQuery(lakeDir);
  try {
    return (await db.all('SELECT uid FROM findings ORDER BY uid')).map((r) => String(r.uid));
  } finally {
    db.close();
  }
}

/** Every incident revision (uid, revision, members) of a lake, in order. */
async function incidentRevisions(lakeDir: string): Promise<{ uid: string; revision: number; finding_uids: string[] }[]> {
  const db = await openLakeQuery(lakeDir);
  try {
    const rows = await db.all('SELECT uid, revision, finding_uids FROM incident_revisions ORDER BY uid, revision');
    return rows.map((r) => ({ uid: String(r.uid), revision: Number(r.revision), finding_uids: JSON.parse(String(r.finding_uids)) as string[] }));
  } finally {
    db.close();
  }
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('embedded monitor', () => {
  let dir: string;
  let base: string;
  let modelPath: string;
  let histSeq: number;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-monitor-'));
    const built = await buildLakeAndModel(dir);
    modelPath = built.modelPath;
    base = built.lakeDir;
    histSeq = Math.max(...readObjects(base).map((o) => o.seq));
    // Twelve new objects, each with one foreign peer among routine traffic.
    const files: string[] = [];
    for (let k = 0; k < 12; k++) {
      files.push(
        writeFlowObject(dir, `new${k}`, { records: 300, startSec: DAY0 + 3 * 86400 + k * 600, seed: 50 + k, anomalies: [{ instance: k % 8, peer: `203.0.113.${10 + k}` }] }),
      );
    }
    const sum = await ingest({ lakeDir: base, paths: files });
    assert.equal(sum.totals.rejects, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('processes the backlog after a start point, keeps a checkpoint and finds the foreign peers', async () => {
    const lakeDir = path.join(dir, 'lake-once');
    cpSync(base, lakeDir, { recursive: true });
    const events: MonitorEvent[] = [];
    const sum = await monitorOnce({ lakeDir, models: [{ model: modelPath, pairs: 'flow-peer' }], start: { afterSeq: histSeq }, onEvent: (e) => events.push(e), collectFindings: true });
    assert.equal(sum.objects, 12);
    assert.equal(sum.failed, 0);
    assert.ok(sum.findings >= 12, `findings ${sum.findings}`);
    const text = JSON.stringify(sum.found);
    for (let k = 0; k < 12; k++) assert.ok(text.includes(`203.0.113.${10 + k}`), `peer ${k} found`);
    assert.equal(readCheckpoint(lakeDir)!.seq, sum.lastSeq);
    assert.equal(events.filter((e) => e.type === 'object').length, 12);
    // Every finding joined one incident; the summary and the events name the revisions written.
    assert.ok(sum.newIncidents >= 1 && sum.incidents >= sum.newIncidents, `incidents ${sum.newIncidents} new, ${sum.incidents} revisions`);
    assert.equal(sum.foundIncidents!.length, sum.incidents);
    assert.equal(events.filter((e) => e.type === 'incident').length, sum.incidents);
    const revs = await incidentRevisions(lakeDir);
    assert.equal(revs.length, sum.incidents);
    const latest = new Map(revs.map((r) => [r.uid, r]));
    assert.equal(latest.size, sum.newIncidents);
    const members = [...latest.values()].flatMap((r) => r.finding_uids).sort();
    assert.deepEqual(members, await findingUids(lakeDir), 'each finding is in exactly one incident');
    // Nothing new: a second run does nothing.
    const again = await monitorOnce({ lakeDir, models: [{ model: modelPath, pairs: 'flow-peer' }] });
    assert.equal(again.objects, 0);
    assert.deepEqual((await findingUids(lakeDir)).length, sum.findings);
  });

  it('a crash with objects processed after the last checkpoint (checkpointMs): the restart redoes them, same findings, none doubled', async () => {
    const a = path.join(dir, 'lake-ckpt-a');
    const b = path.join(dir, 'lake-ckpt-b');
    cpSync(base, a, { recursive: true });
    cpSync(base, b, { recursive: true });
    const models = [{ model: modelPath, pairs: 'flow-peer' }];
    await monitorOnce({ lakeDir: a, models, start: { afterSeq: histSeq } });
    const expected = await findingUids(a);
    // The "crash": an exception out of the 7th object's event, with no checkpoint written since the start.
    let seen = 0;
    await assert.rejects(
      monitorOnce({
        lakeDir: b,
        models,
        start: { afterSeq: histSeq },
        checkpointMs: 3_600_000,
        onEvent: (e) => {
          if (e.type === 'object' && ++seen === 7) throw new Error('crash');
        },
      }),
      /crash/,
    );
    assert.equal(readCheckpoint(b), undefined, 'no checkpoint reached disk');
    const partial = await findingUids(b);
    assert.ok(partial.length > 0 && partial.length < expected.length, `findings of the first objects are in the lake (${partial.length})`);
    const sum = await monitorOnce({ lakeDir: b, models, start: { afterSeq: histSeq }, checkpointMs: 3_600_000 });
    assert.equal(sum.objects, 12, 'every object after the start is redone');
    const got = await findingUids(b);
    assert.deepEqual(got, expected);
    assert.equal(new Set(got).size, got.length, 'no finding doubled');
    assert.equal(readCheckpoint(b)!.seq, readCheckpoint(a)!.seq, 'caught up: the checkpoint is written');
    // The incident revisions too: none lost, none doubled, the same members; the same incident state.
    assert.deepEqual(await incidentRevisions(b), await incidentRevisions(a));
    assert.deepEqual(readCheckpoint(b)!.incidents, readCheckpoint(a)!.incidents);
  });

  it('kill -9 mid-run, then restart: the same findings as an uninterrupted run, none doubled', async () => {
    const a = path.join(dir, 'lake-a');
    const b = path.join(dir, 'lake-b');
    cpSync(base, a, { recursive: true });
    cpSync(base, b, { recursive: true });
    // A checkpoint after every object, so the kill lands between checkpoints of a run still in progress.
    const args = (lake: string): string[] => ['monitor', '--lake', lake, '--model', modelPath, '--pairs', 'flow-peer', '--once', '--after-seq', String(histSeq), '--quiet', '--checkpoint-ms', '0'];
    const ra = await cli(args(a));
    assert.equal(ra.code, 0, ra.stderr);
    const expected = await findingUids(a);
    assert.ok(expected.length >= 12);

    // Kill the second run once it has checkpointed a few objects (and is in the middle of the rest).
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args(b)], { cwd: ROOT, stdio: 'ignore' });
    const cpFile = path.join(b, '_seclake', 'monitor', 'default.json');
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        try {
          if (existsSync(cpFile) && JSON.parse(readFileSync(cpFile, 'utf8')).seq >= histSeq + 3) {
            clearInterval(t);
            child.kill('SIGKILL');
            resolve();
          }
        } catch {
          /* mid-rename: try again */
        }
      }, 5);
      child.once('exit', () => {
        clearInterval(t);
        resolve();
      });
      setTimeout(() => reject(new Error('monitor never checkpointed')), 90_000).unref();
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
    const killedAt = readCheckpoint(b)!.seq;
    assert.ok(killedAt >= histSeq + 3);
    const rb = await cli(args(b));
    assert.equal(rb.code, 0, rb.stderr);
    const got = await findingUids(b);
    assert.deepEqual(got, expected);
    assert.equal(new Set(got).size, got.length, 'no finding doubled');
    assert.equal(readCheckpoint(b)!.seq, readCheckpoint(a)!.seq);
    assert.deepEqual(await incidentRevisions(b), await incidentRevisions(a), 'the same incident revisions, none doubled');
  });

  it('live seclake monitor: follows the catalog, scores an object ingested while it runs, SIGTERM exits 0 with a JSON summary', async () => {
    const lakeDir = path.join(dir, 'lake-live');
    cpSync(base, lakeDir, { recursive: true });
    const lastSeq = Math.max(...readObjects(lakeDir).map((o) => o.seq));
    const sinkFile = path.join(dir, 'live-findings.jsonl');
    const argv = ['monitor', '--lake', lakeDir, '--model', modelPath, '--pairs', 'flow-peer', '--after-seq', String(histSeq), '--poll-ms', '200', '--json', '--sink', `file:${sinkFile}`];
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...argv], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let newSeq = lastSeq;
    const waitSeq = async (seq: number): Promise<void> => {
      const deadline = Date.now() + 90_000;
      for (;;) {
        if ((readCheckpoint(lakeDir)?.seq ?? -1) >= seq) return;
        if (child.exitCode !== null) throw new Error(`monitor exited early: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`checkpoint never reached seq ${seq}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await waitSeq(lastSeq);
      const file = writeFlowObject(dir, 'live', { records: 200, startSec: DAY0 + 6 * 86400, seed: 91, anomalies: [{ instance: 5, peer: '192.0.2.77' }] });
      const [pub] = (await ingest({ lakeDir, paths: [file] })).inputs;
      assert.equal(pub?.status, 'ingested');
      newSeq = Math.max(...readObjects(lakeDir).map((o) => o.seq));
      assert.ok(newSeq > lastSeq);
      await waitSeq(newSeq);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    const sum = JSON.parse(stdout.trim().split('\n').pop()!) as { objects: number; failed: number; findings: number; lastSeq: number };
    // The catalog also lists the monitor's own findings objects (derived): never scored, passed by the checkpoint.
    const all = readObjects(lakeDir);
    assert.equal(sum.objects, all.filter((o) => o.seq > histSeq && o.derived_from === undefined).length);
    assert.ok(all.some((o) => o.derived_from !== undefined && o.source === 'EXT_seclake_findings'), 'findings objects are catalogued');
    assert.ok(!stderr.split('\n').some((l) => l.startsWith('{') && (JSON.parse(l) as { path?: string }).path?.startsWith('ext/')), 'no findings object was scored');
    assert.equal(sum.failed, 0);
    assert.ok(sum.lastSeq >= newSeq);
    const events = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; seq?: number; findings?: number; reason?: string });
    assert.ok(events.some((e) => e.type === 'object' && (e.seq ?? 0) > lastSeq && (e.findings ?? 0) >= 1), 'the live object produced a finding');
    assert.ok(events.some((e) => e.type === 'stop' && e.reason === 'SIGTERM'));
    const db = await openLakeQuery(lakeDir);
    try {
      const rows = await db.all("SELECT count(*)::INT AS n FROM findings WHERE ip = '192.0.2.77'");
      assert.ok(Number(rows[0]!.n) >= 1);
      // The file sink got every incident the lake got (each new one is sent; flushed on SIGTERM), and no detection
      // finding (no --sink-detections).
      const sunk = readFileSync(sinkFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { class_uid: number; unmapped: { incident_uid: string } });
      assert.deepEqual([...new Set(sunk.map((x) => x.class_uid))], [2005]);
      const inLake = (await db.all('SELECT uid FROM incidents ORDER BY uid')).map((r) => String(r.uid));
      assert.ok(inLake.length >= 1);
      assert.deepEqual([...new Set(sunk.map((x) => x.unmapped.incident_uid))].sort(), inLake);
    } finally {
      db.close();
    }
  });

  it('a corrupt object is retried, recorded with its reason and skipped; the next objects are still scored', async () => {
    const lakeDir = path.join(dir, 'lake-corrupt');
    cpSync(base, lakeDir, { recursive: true });
    const objs = readObjects(lakeDir, histSeq);
    const victim = objs[4]!;
    writeFileSync(path.join(lakeDir, victim.path), 'PAR1 garbage that is not a parquet file PAR1');
    const events: MonitorEvent[] = [];
    const sum = await monitorOnce({ lakeDir, models: [{ model: modelPath, pairs: 'flow-peer' }], start: { afterSeq: histSeq }, retries: 2, retryDelayMs: 1, onEvent: (e) => events.push(e) });
    assert.equal(sum.failed, 1);
    assert.equal(sum.objects, 12);
    const failed = readFileSync(failedPath(lakeDir, 'default'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; path: string; reason: string });
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.seq, victim.seq);
    assert.ok(failed[0]!.reason.length > 0);
    assert.equal(events.filter((e) => e.type === 'retry').length, 1);
    // Past the last object, and past the findings objects the run catalogued (never scored).
    assert.equal(readCheckpoint(lakeDir)!.seq, Math.max(...readObjects(lakeDir).map((o) => o.seq)));
    assert.ok(readObjects(lakeDir).some((o) => o.derived_from !== undefined));
  });

  it('watch folder: drop a flow log (written then renamed), get a finding', async () => {
    const lakeDir = path.join(dir, 'lake-watch');
    cpSync(base, lakeDir, { recursive: true });
    const incoming = path.join(dir, 'incoming');
    mkdirSync(incoming);
    const events: MonitorEvent[] = [];
    let gotFinding: () => void = () => {};
    const found = new Promise<void>((r) => (gotFinding = r));
    const h = await startMonitor({
      lakeDir,
      models: [{ model: modelPath, pairs: 'flow-peer' }],
      watchDir: incoming,
      pollMs: 100,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'object' && e.findings > 0) gotFinding();
      },
    });
    try {
      const name = '123456789012_vpcflowlogs_us-east-1_fl-0abc_drop.log.gz';
      const tmp = path.join(incoming, `.${name}.tmp`);
      writeFileSync(tmp, gzipSync(flowLog({ records: 200, startSec: DAY0 + 5 * 86400, seed: 77, anomalies: [{ instance: 2, peer: '192.0.2.200' }] })));
      renameSync(tmp, path.join(incoming, name));
      await Promise.race([found, new Promise((_, rej) => setTimeout(() => rej(new Error(`no finding; events ${JSON.stringify(events)}`)), 60_000).unref())]);
    } finally {
      await h.stop();
    }
    const ingested = events.filter((e) => e.type === 'ingested');
    assert.equal(ingested.length, 1, 'the temp name was ignored; the renamed file ingested once');
    const db = await openLakeQuery(lakeDir);
    try {
      const rows = await db.all("SELECT count(*)::INT AS n FROM findings WHERE ip = '192.0.2.200'");
      assert.ok(Number(rows[0]!.n) >= 1);
    } finally {
      db.close();
    }
  });
});
