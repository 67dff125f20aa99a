/**
 * The monitor's batch scorers: on a worker thread and inline they give the same results; a processor scoring on a
 * worker finds exactly what an inline one finds; when the worker is gone, scoring carries on inline.
 * And the worker pool under them (src/detectors/worker-pool.ts, serve's too): shared models rebuilt in the worker,
 * errors that keep their class, a worker that dies or never starts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ParseError } from '../../src/core/errors.js';
import { loadModel, pairsModel } from '../../src/detectors/index.js';
import { IpInsightsModel } from '../../src/detectors/ipinsights/index.js';
import { WorkerFailedError, WorkerPool, sharedModel } from '../../src/detectors/worker-pool.js';
import { FindingPolicy } from '../../src/findings/policy.js';
import { modelRefOf } from '../../src/findings/model-ref.js';
import { readObjects } from '../../src/lake/catalog.js';
import { createProcessor } from '../../src/monitor/processor.js';
import { scoreBatch } from '../../src/monitor/score-batch.js';
import { inlineScorer, workerScorer } from '../../src/monitor/scorer.js';
import { INSTANCES, buildLakeAndModel } from './fixture.js';

describe('monitor batch scorers', () => {
  let dir: string;
  let lakeDir: string;
  let modelPath: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-scorer-'));
    ({ lakeDir, modelPath } = await buildLakeAndModel(dir, 1));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A batch as the processor's query gives it: the JSON arrays of the rows, joined by commas. */
  const batch = (): string =>
    JSON.stringify([
      [INSTANCES[0], '10.0.0.5', 1_700_000_000_000, 0],
      [INSTANCES[1], '203.0.113.77', 1_700_000_001_000, 1],
      ['i-0neverseen000000', '198.51.100.1', 1_700_000_002_000, 2],
      [INSTANCES[2], 'not-an-ip', 1_700_000_003_000, 3],
      [INSTANCES[2], '-', 1_700_000_004_000, 4],
      [null, '10.0.0.1', 1_700_000_005_000, 5],
      [` ${INSTANCES[3]} `, ' 2001:db8::1 ', 1_700_000_006_000, 6],
    ]).slice(1, -1);

  it('scoreBatch: pairs, bad IPs, skipped rows; candidates are what the policy may turn into findings', async () => {
    const model = await IpInsightsModel.load(modelPath);
    const policy = new FindingPolicy({ uncalibratedThreshold: 0 });
    const ref = modelRefOf(model);
    const r = scoreBatch(batch(), model, policy, ref);
    assert.equal(r.rows, 7);
    assert.equal(r.badIps, 1);
    assert.equal(r.pairs, 4);
    assert.equal(r.unflagged + r.candidates.length, 4);
    for (const c of r.candidates) assert.notEqual(policy.kindOf(c.entity_known, c.native_score, c.is_anomaly, ref), null);
    const fresh = r.candidates.find((c) => c.entity === 'i-0neverseen000000');
    assert.ok(fresh && !fresh.entity_known, 'an unknown entity is a candidate (new entity)');
    assert.ok(r.candidates.every((c) => c.entity.trim() === c.entity && c.ip.trim() === c.ip), 'trimmed');
    const never = scoreBatch(batch(), model, new FindingPolicy({ uncalibratedThreshold: -1e9, newEntity: 'never' }), ref);
    assert.deepEqual([never.candidates.length, never.unflagged, never.unflaggedMaxTime], [0, 4, 1_700_000_006_000]);
  });

  it('a worker scores exactly as inline; once the worker is gone, scoring goes on inline', async () => {
    const model = await IpInsightsModel.load(modelPath);
    const policy = new FindingPolicy({ uncalibratedThreshold: 0 });
    const ref = modelRefOf(model);
    const inline = inlineScorer(model, () => policy, ref);
    const worker = workerScorer(model, () => policy, ref);
    await worker.ready;
    assert.equal(worker.threaded, true);
    const a = await inline.score(batch());
    const b = await worker.score(batch());
    assert.deepEqual(b, a);
    await worker.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(worker.threaded, false);
    assert.deepEqual(await worker.score(batch()), a);
    await assert.rejects(worker.score('["i-1", "10.0.0.1"'), SyntaxError);
  });

  it('a processor scoring on a worker finds what an inline one finds', async () => {
    const obj = readObjects(lakeDir)[0]!;
    const ref = { object: obj.path, row: 0 };
    // Every record below this threshold: findings for every pair, through the whole path.
    const a = await createProcessor({ model: modelPath, pairs: 'flow-peer', policy: { uncalibratedThreshold: 1e9 } });
    const b = await createProcessor({ model: modelPath, pairs: 'flow-peer', policy: { uncalibratedThreshold: 1e9 }, scoreOnWorker: true });
    try {
      const ra = await a.process(path.join(lakeDir, obj.path), ref);
      const rb = await b.process(path.join(lakeDir, obj.path), ref);
      assert.ok(ra.pairs > 0 && ra.findings.length > 0);
      assert.deepEqual(rb, ra);
      assert.deepEqual(b.policy.toJSON(), a.policy.toJSON());
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('worker pool', () => {
  let dir: string;
  let modelPath: string;
  let taskUrl: string;
  const pairs = [{ entity: INSTANCES[0]!, ip: '10.0.0.5' }, { entity: 'i-0neverseen000000', ip: '198.51.100.1' }, { entity: INSTANCES[1]!, ip: 'nope' }];
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-pool-'));
    ({ modelPath } = await buildLakeAndModel(dir, 1));
    // A task module as a caller would write one: run(model, payload) in the worker.
    const task = path.join(dir, 'task.mjs');
    const errors = new URL('../../src/core/errors.ts', import.meta.url).href;
    writeFileSync(task, `import { ParseError } from ${JSON.stringify(errors)};
export function run(model, p) {
  if (p.op === 'exit') process.exit(3);
  if (p.op === 'parse') throw new ParseError('bad thing', { file: 'body', line: 7, field: 'ip' });
  if (p.op === 'range') throw new RangeError('out of range');
  if (p.op === 'async') return Promise.resolve(model.detector.type);
  return { type: model.detector.type, shared: model.data.data instanceof SharedArrayBuffer, native: Array.from(model.scoreBatch(p.pairs).native) };
}
`);
    taskUrl = pathToFileURL(task).href;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('rebuilds the model over its shared container in the worker: same scores; errors keep their class', async () => {
    const model = pairsModel(await loadModel(modelPath), 'test');
    const pool = new WorkerPool({ threads: 2 });
    try {
      await pool.ready;
      assert.equal(pool.size, 2);
      const expected = Array.from(model.scoreBatch(pairs).native);
      const runs = await Promise.all([1, 2, 3, 4].map(() => pool.run<{ type: string; shared: boolean; native: number[] }>(model, taskUrl, { pairs })));
      for (const r of runs) assert.deepEqual(r, { type: 'ipinsights', shared: true, native: expected });
      assert.equal(await pool.run(model, taskUrl, { op: 'async' }), 'ipinsights');
      await assert.rejects(pool.run(model, taskUrl, { op: 'parse' }), (err: unknown) =>
        err instanceof ParseError && err.message === 'body:7 field ip: bad thing' && err.line === 7 && err.field === 'ip');
      await assert.rejects(pool.run(model, taskUrl, { op: 'range' }), RangeError);
      // A model loaded shared is used as is (its container is not copied again); forgetting one is harmless.
      const shared = sharedModel(model);
      assert.ok(shared.data.data instanceof SharedArrayBuffer);
      assert.equal(sharedModel(shared), shared);
      assert.deepEqual((await pool.run<{ native: number[] }>(shared, taskUrl, { pairs })).native, expected);
      pool.forget(shared);
      pool.forget(model);
      assert.deepEqual((await pool.run<{ native: number[] }>(model, taskUrl, { pairs })).native, expected, 'a forgotten model is sent again');
      await pool.prepare(model, taskUrl);
    } finally {
      await pool.close();
    }
    assert.equal(pool.size, 0);
    await assert.rejects(pool.run(model, taskUrl, { pairs }), WorkerFailedError);
  });

  it('a worker that dies fails its task (WorkerFailedError); it is replaced with respawn, not without', async () => {
    const model = await loadModel(modelPath);
    const lost: boolean[] = [];
    const pool = new WorkerPool({ threads: 1, onWorkerLost: (_err, replaced) => lost.push(replaced) });
    const single = new WorkerPool({ threads: 1, respawn: false });
    try {
      await Promise.all([pool.ready, single.ready]);
      await assert.rejects(pool.run(model, taskUrl, { op: 'exit' }), (err: unknown) => err instanceof WorkerFailedError && /exited with code 3/.test(err.message));
      assert.deepEqual(lost, [true]);
      assert.equal(pool.size, 1);
      assert.equal((await pool.run<{ type: string }>(model, taskUrl, { pairs })).type, 'ipinsights', 'the replacement scores');
      await assert.rejects(single.run(model, taskUrl, { op: 'exit' }), WorkerFailedError);
      assert.equal(single.size, 0);
      await assert.rejects(single.run(model, taskUrl, { pairs }), WorkerFailedError, 'none left: the caller goes inline');
    } finally {
      await Promise.all([pool.close(), single.close()]);
    }
  });

  it('a worker that does not start in time is dropped, and its tasks fail', async () => {
    const model = await loadModel(modelPath);
    const errors: string[] = [];
    const pool = new WorkerPool({ threads: 1, startTimeoutMs: 1, onWorkerLost: (err) => errors.push(err.message) });
    try {
      const task = pool.run(model, taskUrl, { pairs });
      await pool.ready;
      await assert.rejects(task, WorkerFailedError);
      assert.equal(pool.size, 0);
      assert.match(errors.join(), /did not start within/);
    } finally {
      await pool.close();
    }
  });
});
