/**
 * The server is detector-neutral: a history model and an IP Insights model on one server, each endpoint answering in
 * its own detector's wire format (the AWS SDK v3 as the client), on the main thread and on the worker pool; a reload
 * may change a file's detector type.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { detectorOf, loadModel, pairsModel } from '../../src/detectors/index.js';
import { loadPairsCsv } from '../../src/detectors/pairs/data.js';
import type { AnyDetectorModel, DetectorModel } from '../../src/detectors/types.js';
import type { RunningServer } from '../../src/serve/server.js';
import { startServer } from '../../src/serve/start.js';
import { send, tempDir } from './helpers.js';
import { syntheticPairs, trainTinyModel } from './real-model.js';

const CSV = 'user_1,10.1.7.9\nuser_1,203.0.113.50\nstranger,10.3.3.3\nuser_2,2001:db8::7\n';
const PAIRS = CSV.trim().split('\n').map((l) => {
  const [entity, ip] = l.split(',') as [string, string];
  return { entity, ip };
});

function sdkClient(url: string): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDDUMMY', secretAccessKey: 'dummy-secret' }, maxAttempts: 1 });
}

async function invoke(client: SageMakerRuntimeClient, name: string, body: string, contentType = 'text/csv', accept?: string): Promise<{ type: string | undefined; body: string }> {
  const out = await client.send(new InvokeEndpointCommand({ EndpointName: name, ContentType: contentType, ...(accept ? { Accept: accept } : {}), Body: new TextEncoder().encode(body) }));
  return { type: out.ContentType, body: new TextDecoder().decode(out.Body) };
}

for (const mode of ['inline', 'worker threads'] as const) describe(`serving a history model next to an IP Insights model (${mode})`, () => {
  const tmp = tempDir('detectors');
  let ipiPath: string;
  let histPath: string;
  let hist: DetectorModel;
  let ipi: DetectorModel;
  let running: RunningServer<AnyDetectorModel>;
  let client: SageMakerRuntimeClient;

  before(async () => {
    ipiPath = await trainTinyModel(tmp.dir, 'logins.model');
    const csv = path.join(tmp.dir, 'history.train.csv');
    writeFileSync(csv, syntheticPairs(20_000, 200, 1));
    histPath = path.join(tmp.dir, 'history.model');
    // Trained through the registry, as `seclake train --detector history` does.
    await detectorOf('history').train({ train: await loadPairsCsv([csv]), modelPath: histPath, log: () => {} });
    [hist, ipi] = (await Promise.all([loadModel(histPath), loadModel(ipiPath)])).map((m) => pairsModel(m, 'test')) as [DetectorModel, DetectorModel];
    assert.equal(hist.detector.type, 'history');
    running = await startServer({
      models: [{ name: 'logins', path: ipiPath }, { name: 'login-history', path: histPath }],
      port: 0,
      host: '127.0.0.1',
      watch: false,
      // With workers and no size threshold, every request is scored on a worker thread.
      ...(mode === 'worker threads' ? { workers: 2, offloadMinBytes: 0 } : {}),
    });
    client = sdkClient(running.url);
  });
  after(async () => {
    client?.destroy();
    await running?.close({ timeoutMs: 2000 });
    tmp.cleanup();
  });

  it('AWS SDK: /endpoints/<history model>/invocations answers {"predictions": [{"prefix_score": ...}]}, byte for byte the model\'s wire format', async () => {
    const r = await invoke(client, 'login-history', CSV);
    assert.equal(r.type, 'application/json');
    const preds = (JSON.parse(r.body) as { predictions: Record<string, unknown>[] }).predictions;
    assert.equal(preds.length, PAIRS.length);
    for (const p of preds) {
      assert.deepEqual(Object.keys(p), ['prefix_score']);
      assert.equal(typeof p.prefix_score, 'number');
    }
    assert.equal(r.body, hist.detector.wire.formatPredictions(hist.predict(PAIRS), 'application/json', false));
    // More familiar at home than far away, for the same user.
    assert.ok((preds[0]!.prefix_score as number) > (preds[1]!.prefix_score as number), r.body);
  });

  it('the IP Insights endpoint on the same server still answers dot_product, and /invocations is the default (first) model', async () => {
    const r = await invoke(client, 'logins', CSV);
    assert.equal(r.body, ipi.detector.wire.formatPredictions(ipi.predict(PAIRS), 'application/json', false));
    assert.match(r.body, /^\{"predictions": \[\{"dot_product": /);
    const d = await send(running.url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv' });
    assert.equal(d.status, 200);
    assert.equal(d.body, r.body);
  });

  it('the shared request formats and Accept variants work for the history model', async () => {
    const json = await invoke(client, 'login-history', JSON.stringify({ instances: PAIRS.map((p) => ({ features: [p.entity, p.ip] })) }), 'application/json');
    const jsonl = await invoke(client, 'login-history', PAIRS.map((p) => JSON.stringify({ data: { features: { values: [p.entity, p.ip] } } })).join('\n'), 'application/jsonlines');
    const csv = await invoke(client, 'login-history', CSV);
    assert.equal(json.body, csv.body);
    assert.equal(jsonl.body, csv.body);
    const verbose = await invoke(client, 'login-history', CSV, 'text/csv', 'application/jsonlines; verbose=True');
    assert.equal(verbose.type, 'application/jsonlines');
    assert.equal(verbose.body, hist.detector.wire.formatPredictions(hist.predict(PAIRS, { verbose: true }), 'application/jsonlines', true));
    const first = JSON.parse(verbose.body.split('\n')[0]!) as Record<string, unknown>;
    assert.equal(typeof first.prefix_score, 'number');
    assert.equal(first.entity_known, true);
  });

  it('a bad record on the history endpoint: ModelError naming the line, as for IP Insights', async () => {
    for (const [name, body, re] of [
      ['login-history', 'user_1,10.1.7.9\nuser_1,300.1.1.1\nno-comma\n', /^text\/csv body:2 field ip: invalid IP address "300\.1\.1\.1"/],
      ['login-history', 'user_1,10.1.7.9\n\nno-comma\n', /^text\/csv body:3: expected 2 columns/],
      ['logins', 'user_1,10.1.7.9\nuser_1,300.1.1.1\nno-comma\n', /^text\/csv body:2 field ip: invalid IP address "300\.1\.1\.1"/],
    ] as const) {
      await assert.rejects(invoke(client, name, body), (err: unknown) => {
        assert.ok(err instanceof ModelError, `expected ModelError, got ${String(err)}`);
        assert.equal(err.OriginalStatusCode, 400);
        assert.match(err.OriginalMessage ?? '', re, `${name}: ${err.OriginalMessage}`);
        return true;
      });
    }
  });

  it('a reload may change the detector type of a file', async () => {
    const file = path.join(tmp.dir, 'swap.model');
    copyFileSync(histPath, file);
    const swap = await startServer({ models: [{ name: 'swap', path: file }], port: 0, host: '127.0.0.1', watch: false, ...(mode === 'worker threads' ? { workers: 1, offloadMinBytes: 0 } : {}) });
    try {
      const before = await send(swap.url, 'POST', '/endpoints/swap/invocations', CSV, { 'Content-Type': 'text/csv' });
      assert.match(before.body, /^\{"predictions": \[\{"prefix_score": /);
      copyFileSync(ipiPath, `${file}.tmp`);
      renameSync(`${file}.tmp`, file);
      await swap.app.registry.reload('swap', { force: true });
      assert.equal(swap.app.registry.get('swap')!.model.detector.type, 'ipinsights');
      const after = await send(swap.url, 'POST', '/endpoints/swap/invocations', CSV, { 'Content-Type': 'text/csv' });
      assert.equal(after.body, ipi.detector.wire.formatPredictions(ipi.predict(PAIRS), 'application/json', false));
    } finally {
      await swap.close({ timeoutMs: 2000 });
    }
  });
});
