/**
 * Resource limits and the Host check of the inference server (issue 12): the DNS-rebinding Host check on every
 * route of a loopback-bound server, the in-flight request-body budget (503 + Retry-After), and the connection cap.
 * No timing assertions: every wait is for an observable state (a reply, a closed socket, the budget in use).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { loopbackHostSet } from '../../src/serve/server.js';
import { send, startFakeServer, type FakeServer, type RawResponse } from './helpers.js';

const CSV_LINE = 'user_1,10.0.0.1\n';

/** Polls `cond` (every 10 ms, at most ~20 s) until it holds. */
async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await sleep(10);
  }
  assert.fail(`gave up waiting for ${what}`);
}

/** A raw connection: what it received, and whether the server closed it. */
interface RawConn {
  socket: Socket;
  data(): string;
  closed: Promise<void>;
}

function rawConnect(port: number): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    let got = '';
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      got += d;
    });
    socket.on('error', () => {}); // a reset from the server counts as closed
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => resolve({ socket, data: () => got, closed }));
    socket.once('error', reject);
  });
}

function expectForbidden(r: RawResponse, what: string): void {
  assert.equal(r.status, 403, `${what}: ${r.status} ${r.body}`);
  assert.equal(r.headers['x-amzn-errortype'], 'ForbiddenException', what);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.match((JSON.parse(r.body) as { message: string }).message, /Host .* is not allowed/);
}

describe('serve Host check (DNS rebinding)', () => {
  let srv: FakeServer;
  let port: number;
  before(async () => {
    srv = await startFakeServer({ models: [{ name: 'first', bias: 0 }], listen: { allowedHosts: ['seclake.internal'] } });
    port = srv.running.port;
  });
  after(async () => {
    await srv.close();
  });

  it('refuses a foreign Host with 403 on every route, without a token', async () => {
    for (const host of ['attacker.example', `attacker.example:${port}`, `localhost:${port + 1}`, `evil.127.0.0.1.nip.io:${port}`, `seclake.internal.evil:${port}`]) {
      expectForbidden(await send(srv.url, 'POST', '/invocations', CSV_LINE, { Host: host, 'Content-Type': 'text/csv' }), `${host} /invocations`);
      expectForbidden(await send(srv.url, 'POST', '/endpoints/first/invocations', CSV_LINE, { Host: host, 'Content-Type': 'text/csv' }), `${host} runtime`);
      expectForbidden(await send(srv.url, 'GET', '/metrics', undefined, { Host: host }), `${host} /metrics`);
      expectForbidden(await send(srv.url, 'GET', '/ping', undefined, { Host: host }), `${host} /ping`);
      expectForbidden(await send(srv.url, 'GET', '/execution-parameters', undefined, { Host: host }), `${host} /execution-parameters`);
    }
    const metrics = await send(srv.url, 'GET', '/metrics');
    assert.match(metrics.body, /seclake_serve_errors_total\{model="",route="invocations",error_type="ForbiddenException"\} \d+/);
  });

  it('accepts the bound address, localhost, 127.0.0.1, [::1] and --allowed-host names (what boto3 and the SDKs send)', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, 'localhost', `seclake.internal:${port}`, 'Seclake.Internal']) {
      const r = await send(srv.url, 'POST', '/endpoints/first/invocations', CSV_LINE, { Host: host, 'Content-Type': 'text/csv' });
      assert.equal(r.status, 200, `${host}: ${r.body}`);
      assert.equal((await send(srv.url, 'GET', '/metrics', undefined, { Host: host })).status, 200, host);
    }
  });

  it('builds the allowed set from the bound address and port', () => {
    const s = loopbackHostSet('127.0.0.2', 8080, ['a.example', 'b.example:9000', '::1']);
    for (const h of ['127.0.0.2:8080', '127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'a.example:8080', 'a.example', 'b.example:9000']) assert.ok(s.has(h), h);
    for (const h of ['127.0.0.3:8080', 'b.example:8080', 'a.example:8081']) assert.ok(!s.has(h), h);
    assert.ok(loopbackHostSet('::1', 80).has('[::1]:80'));
  });

  it('does not check Host with --allowed-host "*"', async () => {
    const open = await startFakeServer({ listen: { allowedHosts: ['*'] } });
    try {
      const r = await send(open.url, 'GET', '/metrics', undefined, { Host: 'anything.example' });
      assert.equal(r.status, 200);
    } finally {
      await open.close();
    }
  });
});

describe('serve in-flight body budget', () => {
  let srv: FakeServer;
  before(async () => {
    srv = await startFakeServer({ models: [{ name: 'first', bias: 0 }], app: { maxInflightBytes: 100 } });
  });
  after(async () => {
    await srv.close();
  });

  it('answers 503 ServiceUnavailable with Retry-After past the budget, and serves again once bodies are done', async () => {
    const inflight = srv.running.app.inflight;
    const body = CSV_LINE.repeat(5); // 80 bytes
    assert.equal(Buffer.byteLength(body), 80);
    // A slow client: declares 80 bytes and sends 10 of them.
    const slow = await rawConnect(srv.running.port);
    slow.socket.write(`POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:${srv.running.port}\r\nContent-Type: text/csv\r\nContent-Length: 80\r\n\r\n${body.slice(0, 10)}`);
    await until('the slow body to hold its 80 bytes', () => inflight.used === 80);

    for (const p of ['/invocations', '/endpoints/first/invocations']) {
      const r = await send(srv.url, 'POST', p, body, { 'Content-Type': 'text/csv' });
      assert.equal(r.status, 503, `${p}: ${r.body}`);
      assert.equal(r.headers['retry-after'], '1');
      assert.equal(r.headers['x-amzn-errortype'], 'ServiceUnavailable');
      assert.match((JSON.parse(r.body) as { message: string }).message, /busy.*100 bytes/);
    }
    // A chunked body is charged as it arrives.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: srv.running.port, path: '/invocations', method: 'POST', agent: false, headers: { 'Content-Type': 'text/csv' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(body.slice(0, 40));
      req.end(body.slice(40));
    });
    assert.equal(chunked, 503);
    // Small bodies still fit beside the slow one; GET routes need no budget.
    assert.equal((await send(srv.url, 'POST', '/invocations', CSV_LINE, { 'Content-Type': 'text/csv' })).status, 200);
    assert.equal((await send(srv.url, 'GET', '/ping')).status, 200);

    // The slow body completes and is scored; its bytes go back to the budget.
    slow.socket.write(body.slice(10));
    await until('the slow request to be answered', () => slow.data().includes('\r\n\r\n{"predictions"'));
    assert.match(slow.data(), /^HTTP\/1\.1 200 /);
    slow.socket.destroy();
    await until('the budget to be free', () => inflight.used === 0);
    const again = await send(srv.url, 'POST', '/invocations', body, { 'Content-Type': 'text/csv' });
    assert.equal(again.status, 200, again.body);
    assert.equal(inflight.used, 0);
  });
});

describe('serve connection cap', () => {
  let srv: FakeServer;
  before(async () => {
    srv = await startFakeServer({ listen: { maxConnections: 2 } });
  });
  after(async () => {
    await srv.close();
  });

  it('closes connections beyond the cap, and answers /ping again once others close', async () => {
    const port = srv.running.port;
    const ping = `GET /ping HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
    const held: RawConn[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await rawConnect(port);
      c.socket.write(ping);
      await until(`held connection ${i} to be served`, () => c.data().includes('{"status":"Healthy"}'));
      held.push(c);
    }
    // Both are idle keep-alive connections now: a third one is closed without an answer.
    const extra = await rawConnect(port);
    extra.socket.write(ping);
    await extra.closed;
    assert.doesNotMatch(extra.data(), /200 OK/);

    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    let ok = false;
    await until('/ping to answer again', async () => {
      try {
        ok = (await send(srv.url, 'GET', '/ping')).status === 200;
      } catch {
        ok = false;
      }
      return ok;
    });
    assert.ok(ok);
  });
});
