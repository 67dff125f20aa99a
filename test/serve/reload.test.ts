/**
 * Hot reload: a model file replaced by rename-into-place or rewritten in place is picked up; a bad file
 * keeps the old model; a request in flight keeps the model it started with. Graceful close finishes
 * in-flight requests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { IpInsightsModel, formatPredictions } from '../../src/detectors/ipinsights/index.js';
import { parseCsvPairs } from '../../src/detectors/pairs/csv.js';
import type { ReloadEvent } from '../../src/serve/registry.js';
import { send, startFakeServer, tempDir, writeFakeModel, type FakeServer } from './helpers.js';
import { startServer, trainTinyModel } from './real-model.js';

const CSV = 'user_1,10.0.0.1\n';

function score(body: string): number {
  return (JSON.parse(body) as { predictions: { dot_product: number }[] }).predictions[0]!.dot_product;
}

/** Resolves with the first registry event matching `pred`; rejects after `ms` (a bound, not an assertion on speed). */
function nextEvent(srv: FakeServer, pred: (ev: ReloadEvent) => boolean, ms = 10_000): Promise<ReloadEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching reload event within ${ms} ms`));
    }, ms);
    const off = srv.running.app.registry.on((ev) => {
      if (pred(ev)) {
        clearTimeout(timer);
        off();
        resolve(ev);
      }
    });
  });
}

/** Starts a POST whose body is sent in two parts; returns a function that sends the rest and awaits the reply. */
function startSlowPost(url: string, pathName: string, body: string): Promise<{ finish: () => Promise<{ status: number; body: string; connection: string | undefined }> }> {
  const u = new URL(url);
  return new Promise((resolveStarted, reject) => {
    const reply = new Promise<{ status: number; body: string; connection: string | undefined }>((resolveReply, rejectReply) => {
      const req = request(
        { host: u.hostname, port: u.port, path: pathName, method: 'POST', headers: { 'Content-Type': 'text/csv', 'Content-Length': Buffer.byteLength(body) }, agent: false },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (data += d));
          res.on('end', () => resolveReply({ status: res.statusCode ?? 0, body: data, connection: res.headers.connection }));
        },
      );
      req.on('error', (err) => {
        reject(err);
        rejectReply(err);
      });
      const half = Math.floor(body.length / 2);
      req.write(body.slice(0, half), () => {
        req.flushHeaders();
        // Give the server a moment to see the request line and start the handler (bounded, not asserted).
        setTimeout(() => resolveStarted({ finish: () => (req.end(body.slice(half)), reply) }), 100);
      });
    });
    reply.catch(() => {});
  });
}

describe('hot reload', () => {
  let srv: FakeServer;
  before(async () => {
    srv = await startFakeServer({ models: [{ name: 'ep', bias: 0 }], registry: { watch: true, debounceMs: 50 } });
  });
  after(async () => {
    await srv.close();
  });

  it('picks up a new file renamed into place', async () => {
    const base = score((await send(srv.url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv' })).body);
    const tmp = path.join(srv.dir, 'ep.model.tmp');
    writeFakeModel(tmp, 1000);
    const ev = nextEvent(srv, (e) => e.kind === 'reloaded');
    renameSync(tmp, srv.modelPath('ep'));
    const got = await ev;
    assert.equal(got.kind === 'reloaded' && got.generation, 2);
    const now = score((await send(srv.url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv' })).body);
    assert.equal(now, base + 1000);
  });

  it('picks up a file rewritten in place', async () => {
    const ev = nextEvent(srv, (e) => e.kind === 'reloaded');
    writeFakeModel(srv.modelPath('ep'), 2000);
    await ev;
    const r = await send(srv.url, 'POST', '/endpoints/ep/invocations', CSV, { 'Content-Type': 'text/csv' });
    assert.ok(score(r.body) > 1500);
  });

  it('keeps the old model when the new file is bad, and says why', async () => {
    const before = score((await send(srv.url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv' })).body);
    const ev = nextEvent(srv, (e) => e.kind === 'failed');
    writeFileSync(srv.modelPath('ep'), 'garbage, not a model\n');
    const failed = await ev;
    assert.match(failed.kind === 'failed' ? failed.error : '', /not a fake model file/);
    const r = await send(srv.url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv' });
    assert.equal(r.status, 200);
    assert.equal(score(r.body), before);
    const m = await send(srv.url, 'GET', '/metrics');
    assert.match(m.body, /seclake_serve_model_reloads_total\{model="ep",result="failed"\} [1-9]/);
  });

  it('a request in flight during a swap is answered by the model it started with', async () => {
    const ev0 = nextEvent(srv, (e) => e.kind === 'reloaded');
    writeFakeModel(srv.modelPath('ep'), 0);
    await ev0;
    const body = 'user_1,10.0.0.1\n'.repeat(50);
    const slow = await startSlowPost(srv.url, '/endpoints/ep/invocations', body);
    const ev = nextEvent(srv, (e) => e.kind === 'reloaded');
    const tmp = path.join(srv.dir, 'ep.model.next');
    writeFakeModel(tmp, 5000);
    renameSync(tmp, srv.modelPath('ep'));
    await ev;
    const r = await slow.finish();
    assert.equal(r.status, 200, r.body);
    assert.ok(score(r.body) < 100, 'old model (bias 0) answered the in-flight request');
    const fresh = await send(srv.url, 'POST', '/endpoints/ep/invocations', CSV, { 'Content-Type': 'text/csv' });
    assert.ok(score(fresh.body) > 4000, 'new model answers new requests');
  });

  it('reload() on demand (what SIGHUP calls) reloads even an unchanged file', async () => {
    const gen = srv.running.app.registry.get('ep')!.generation;
    await srv.running.app.registry.reloadAll({ force: true, trigger: 'signal' });
    assert.equal(srv.running.app.registry.get('ep')!.generation, gen + 1);
    await srv.running.app.registry.reloadAll({ trigger: 'signal' });
    assert.equal(srv.running.app.registry.get('ep')!.generation, gen + 1, 'unchanged file is skipped without force');
  });
});

describe('graceful close', () => {
  it('finishes a request in flight, then closes', async () => {
    const srv = await startFakeServer();
    const slow = await startSlowPost(srv.url, '/invocations', 'user_1,10.0.0.1\n'.repeat(20));
    const closed = srv.close();
    const r = await slow.finish();
    assert.equal(r.status, 200);
    assert.equal(r.connection, 'close');
    await closed;
    await assert.rejects(send(srv.url, 'GET', '/ping'), /ECONNREFUSED/);
  });
});

describe('hot reload with the real model on worker threads', () => {
  it('an offloaded request in flight during a swap is scored by the model it started with', async () => {
    const tmp = tempDir('reload-real');
    const modelA = await trainTinyModel(tmp.dir, 'a.model', 1);
    const modelB = await trainTinyModel(tmp.dir, 'b.model', 2);
    const live = path.join(tmp.dir, 'live.model');
    copyFileSync(modelA, live);
    const srv = await startServer({ name: 'ep', modelPath: live, workers: 1, offloadMinBytes: 0, watch: true, debounceMs: 50 });
    try {
      const body = 'user_1,10.1.2.3\nuser_2,10.2.3.4\n'.repeat(20);
      const pairs = parseCsvPairs(body, 'x');
      const expectA = formatPredictions((await IpInsightsModel.load(modelA)).scorePairs(pairs), 'application/json', false);
      const expectB = formatPredictions((await IpInsightsModel.load(modelB)).scorePairs(pairs), 'application/json', false);
      assert.notEqual(expectA, expectB);
      assert.equal((await send(srv.url, 'POST', '/invocations', body, { 'Content-Type': 'text/csv' })).body, expectA);

      const slow = await startSlowPost(srv.url, '/endpoints/ep/invocations', body);
      const reloaded = new Promise<void>((resolve) => {
        const off = srv.running.app.registry.on((ev) => {
          if (ev.kind === 'reloaded') {
            off();
            resolve();
          }
        });
      });
      copyFileSync(modelB, live + '.tmp');
      renameSync(live + '.tmp', live);
      await reloaded;
      const r = await slow.finish();
      assert.equal(r.status, 200);
      assert.equal(r.body, expectA, 'the in-flight request used the old model');
      assert.equal((await send(srv.url, 'POST', '/invocations', body, { 'Content-Type': 'text/csv' })).body, expectB, 'new requests use the new model');
    } finally {
      await srv.close();
      tmp.cleanup();
    }
  });
});
