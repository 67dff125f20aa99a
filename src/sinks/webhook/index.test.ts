import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookSink, backoffMs, parseRetryAfter, slackText, type WebhookFailure } from './index.js';
import { buildFinding } from '../../findings/build.js';
import type { DetectionFinding } from '../../findings/types.js';
import { IPI } from '../../findings/test-support.js';

function finding(i: number): DetectionFinding {
  return buildFinding(
    {
      ref: { object: 'aws/VPC_FLOW/x.parquet', row: i },
      entity: `i-0${i}`,
      ip: `203.0.113.${i}`,
      time: 1_760_000_000_000 + i,
      native_score: -4,
      entity_known: true,
      entity_count: 5,
      anomaly_percentile: 0.9995,
      is_anomaly: true,
      event: { src_endpoint: { ip: `203.0.113.${i}` } },
    },
    { model: { detector: IPI, name: 'm', version: '1', threshold: -1 }, kind: 'anomaly' },
  );
}

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server on 127.0.0.1:0 whose n-th request (0-based) is answered by `plan(n, req, res)`. */
async function serve(plan: (n: number, req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = received.length;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      plan(n, req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook/secret-path`, received, server };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

const servers: Server[] = [];
after(async () => {
  for (const s of servers) await close(s);
});

/** Recorded sleeps instead of real waiting: the test checks the delays chosen, not how long anything took. */
function recorder(): { delays: number[]; sleep: (ms: number) => Promise<void> } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => void delays.push(ms) };
}

describe('webhook sink against a real local HTTP server', () => {
  let fs: DetectionFinding[];
  before(() => {
    fs = [finding(1), finding(2), finding(3)];
  });

  it('retries a server that fails twice (503, then a dropped connection) and then succeeds; body, headers, backoff', async () => {
    const srv = await serve((n, _req, res) => {
      if (n === 0) res.writeHead(503).end('busy');
      else if (n === 1) res.socket!.destroy();
      else res.writeHead(204).end();
    });
    servers.push(srv.server);
    const rec = recorder();
    const failures: WebhookFailure[] = [];
    const sink = new WebhookSink({
      url: srv.url,
      env: { SECLAKE_WEBHOOK_AUTHORIZATION: 'Bearer t0ken' },
      initialBackoffMs: 100,
      random: () => 0.5,
      sleep: rec.sleep,
      onFailure: (f) => failures.push(f),
    });
    await sink.send(fs);
    await sink.close();
    assert.equal(srv.received.length, 3);
    assert.deepEqual(JSON.parse(srv.received[2]!.body), fs);
    assert.equal(srv.received[2]!.headers.authorization, 'Bearer t0ken');
    assert.equal(srv.received[2]!.headers['content-type'], 'application/json');
    assert.deepEqual(rec.delays, [50, 100], 'full jitter: random x 100 ms, then x 200 ms');
    assert.deepEqual(failures, []);
    assert.deepEqual({ ...sink.stats }, { requests: 3, retries: 2, delivered: 3, failed: 0, failedBatches: 0 });
    assert.ok(!sink.name.includes('secret-path'), 'the URL path (often a secret) is not in the name');
  });

  it('gives up on a server that always fails after maxAttempts, reports it, and does not throw', async () => {
    const srv = await serve((_n, _req, res) => res.writeHead(500).end('boom'));
    servers.push(srv.server);
    const rec = recorder();
    const failures: WebhookFailure[] = [];
    const sink = new WebhookSink({ url: srv.url, maxAttempts: 4, sleep: rec.sleep, onFailure: (f) => failures.push(f) });
    await sink.send(fs); // resolves
    assert.equal(srv.received.length, 4);
    assert.equal(rec.delays.length, 3);
    assert.equal(failures.length, 1);
    assert.deepEqual({ ...failures[0]!, sink: '' }, { sink: '', findings: 3, attempts: 4, permanent: false, error: 'HTTP 500: boom', status: 500 });
    assert.equal(sink.stats.failed, 3);
    assert.equal(sink.stats.delivered, 0);
  });

  it('honours Retry-After on 429, does not retry other 4xx, and batches', async () => {
    const srv = await serve((n, req, res) => {
      if (req.url!.includes('bad')) res.writeHead(400).end('no');
      else if (n === 0) res.writeHead(429, { 'retry-after': '7' }).end();
      else res.writeHead(200).end('ok');
    });
    servers.push(srv.server);
    const rec = recorder();
    const sink = new WebhookSink({ url: srv.url, sleep: rec.sleep, batchSize: 2, onFailure: () => {} });
    await sink.send(fs);
    assert.deepEqual(rec.delays, [7000]);
    assert.deepEqual(srv.received.map((r) => (JSON.parse(r.body) as unknown[]).length), [2, 2, 1]);
    const bad = new WebhookSink({ url: srv.url.replace('hook', 'bad'), sleep: rec.sleep, onFailure: () => {} });
    const before = srv.received.length;
    await bad.send(fs);
    assert.equal(srv.received.length - before, 1, 'a permanent error is not retried');
    assert.equal(bad.stats.failed, 3);
  });

  it('times out a hung request and retries; connection refused is retried too', async () => {
    const srv = await serve((n, _req, res) => {
      if (n === 0) return; // never answer
      res.writeHead(200).end();
    });
    servers.push(srv.server);
    const rec = recorder();
    const sink = new WebhookSink({ url: srv.url, timeoutMs: 300, sleep: rec.sleep });
    await sink.send([fs[0]!]);
    assert.equal(sink.stats.delivered, 1);
    assert.equal(sink.stats.retries, 1);

    const gone = await serve(() => {});
    await close(gone.server);
    const failures: WebhookFailure[] = [];
    const refused = new WebhookSink({ url: gone.url, maxAttempts: 3, sleep: rec.sleep, onFailure: (f) => failures.push(f) });
    await refused.send([fs[0]!]);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.attempts, 3);
    assert.match(failures[0]!.error, /ECONNREFUSED|fetch failed/);
  });

  it('reads at most a few KiB of an error answer (a 20 MB body is cut off)', async () => {
    const big = 'x'.repeat(1 << 20);
    const srv = await serve((_n, _req, res) => {
      res.writeHead(502);
      let sent = 0;
      const more = (): void => {
        while (sent < 20 && res.write(big)) sent++;
        if (sent < 20) res.once('drain', more);
        else res.end();
      };
      res.on('error', () => {});
      more();
    });
    servers.push(srv.server);
    const failures: WebhookFailure[] = [];
    const sink = new WebhookSink({ url: srv.url, maxAttempts: 2, sleep: recorder().sleep, onFailure: (f) => failures.push(f) });
    await sink.send([fs[0]!]);
    assert.equal(failures.length, 1);
    assert.ok(failures[0]!.error.startsWith('HTTP 502: xxx') && failures[0]!.error.length < 300, failures[0]!.error.slice(0, 50));
  });

  it('slack format posts {"text": ...} with one line per finding', async () => {
    const srv = await serve((_n, _req, res) => res.writeHead(200).end('ok'));
    servers.push(srv.server);
    const sink = new WebhookSink({ url: srv.url, format: 'slack' });
    await sink.send(fs);
    assert.equal(srv.received.length, 1);
    const body = JSON.parse(srv.received[0]!.body) as { text: string };
    assert.deepEqual(Object.keys(body), ['text']);
    assert.equal(body.text, slackText(fs));
    const lines = body.text.split('\n');
    assert.equal(lines[0], 'seclake: 3 findings');
    assert.ok(lines[1]!.includes('*High*') && lines[1]!.includes('Unusual IP address for i-01: 203.0.113.1'), lines[1]);
  });
});

describe('webhook helpers', () => {
  it('parses Retry-After seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 10_000);
  });
  it('full jitter stays within the exponential cap', () => {
    assert.equal(backoffMs(1, 500, 30_000, () => 0.999999), 499);
    assert.equal(backoffMs(3, 500, 30_000, () => 0.5), 1000);
    assert.equal(backoffMs(20, 500, 30_000, () => 0.5), 15_000);
    assert.equal(backoffMs(2, 500, 30_000, () => 0), 0);
  });
  it('rejects non-http URLs', () => {
    assert.throws(() => new WebhookSink({ url: 'ftp://x' }), /http or https/);
    assert.throws(() => new WebhookSink({ url: 'nope' }), /invalid webhook URL/);
  });
});
