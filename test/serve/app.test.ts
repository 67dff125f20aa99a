/**
 * Routes, headers and error shapes of the inference server, against a fake model on 127.0.0.1:0.
 * (The real model and the real AWS clients are in clients.test.ts and parity.test.ts.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { HttpError } from '../../src/core/errors.js';
import { send, startFakeServer, type FakeServer } from './helpers.js';

const CSV = 'user_1,10.0.0.1\nuser_2, 192.168.1.2\n';

describe('serve app', () => {
  let srv: FakeServer;
  before(async () => {
    srv = await startFakeServer({ models: [{ name: 'first', bias: 0 }, { name: 'second', bias: 100 }] });
  });
  after(async () => {
    await srv.close();
  });

  it('answers GET /ping with 200 and a request id', async () => {
    const r = await send(srv.url, 'GET', '/ping');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/);
    assert.deepEqual(JSON.parse(r.body), { status: 'Healthy' });
  });

  it('scores CSV on the runtime route with SageMaker response headers, names as sent', async () => {
    const r = await send(srv.url, 'POST', '/endpoints/second/invocations', CSV, { 'Content-Type': 'text/csv' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-amzn-invoked-production-variant'], 'AllTraffic');
    assert.ok(r.rawHeaderNames.includes('x-Amzn-Invoked-Production-Variant'));
    assert.ok(r.rawHeaderNames.includes('x-amzn-RequestId'));
    assert.equal(r.headers['x-amzn-errortype'], undefined);
    const preds = (JSON.parse(r.body) as { predictions: { dot_product: number }[] }).predictions;
    assert.equal(preds.length, 2);
    assert.ok(preds.every((p) => p.dot_product > 90), 'second model has bias 100');
    assert.match(r.body, /^\{"predictions": \[\{"dot_product": /);
  });

  it('POST /invocations uses the first (default) model', async () => {
    const r = await send(srv.url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv' });
    assert.equal(r.status, 200);
    const preds = (JSON.parse(r.body) as { predictions: { dot_product: number }[] }).predictions;
    assert.ok(preds.every((p) => p.dot_product < 90));
  });

  it('gives the same scores for CSV, JSON (both shapes, mixed) and JSON Lines', async () => {
    const csv = await send(srv.url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv' });
    const json = await send(srv.url, 'POST', '/invocations',
      JSON.stringify({ instances: [{ data: { features: { values: ['user_1', '10.0.0.1'] } } }, { features: ['user_2', '192.168.1.2'] }] }),
      { 'Content-Type': 'application/json' });
    const jsonl = await send(srv.url, 'POST', '/invocations',
      '{"features": ["user_1", "10.0.0.1"]}\n{"data": {"features": {"values": ["user_2", "192.168.1.2"]}}}\n',
      { 'Content-Type': 'application/jsonlines; charset=utf-8' });
    assert.equal(json.status, 200, json.body);
    assert.equal(jsonl.status, 200, jsonl.body);
    assert.equal(json.body, csv.body);
    assert.equal(jsonl.body, csv.body);
  });

  it('answers JSON Lines with Accept application/jsonlines and adds embeddings with verbose=True (any case)', async () => {
    const r = await send(srv.url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv', Accept: 'application/jsonlines' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/jsonlines');
    const lines = r.body.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.deepEqual(Object.keys(JSON.parse(lines[0]!) as object), ['dot_product']);
    for (const accept of ['application/json; verbose=True', 'application/json;VERBOSE=true', 'application/json; verbose="TRUE"']) {
      const v = await send(srv.url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv', Accept: accept });
      assert.equal(v.status, 200);
      assert.equal(v.headers['content-type'], 'application/json');
      const p = (JSON.parse(v.body) as { predictions: Record<string, unknown>[] }).predictions[0]!;
      assert.ok(Array.isArray(p.entity_embedding) && Array.isArray(p.ip_embedding), accept);
    }
    const nv = await send(srv.url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv', Accept: 'application/json; verbose=False' });
    assert.equal((JSON.parse(nv.body) as { predictions: Record<string, unknown>[] }).predictions[0]!.entity_embedding, undefined);
  });

  it('unknown endpoint: 400 ValidationError on the runtime route', async () => {
    const r = await send(srv.url, 'POST', '/endpoints/nope/invocations', CSV, { 'Content-Type': 'text/csv' });
    assert.equal(r.status, 400);
    assert.equal(r.headers['x-amzn-errortype'], 'ValidationError');
    assert.ok(r.rawHeaderNames.includes('x-amzn-ErrorType'));
    assert.match((JSON.parse(r.body) as { message: string }).message, /Endpoint nope not found/);
    const bad = await send(srv.url, 'POST', '/endpoints/bad_name!/invocations', CSV, { 'Content-Type': 'text/csv' });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['x-amzn-errortype'], 'ValidationError');
  });

  it('malformed record: 424 ModelError (OriginalStatusCode 400, line named) on the runtime route, 400 on /invocations', async () => {
    const body = 'user_1,10.0.0.1\nuser_2,10.0.0.2\nbroken line without comma\n';
    const r = await send(srv.url, 'POST', '/endpoints/first/invocations', body, { 'Content-Type': 'text/csv' });
    assert.equal(r.status, 424);
    assert.equal(r.headers['x-amzn-errortype'], 'ModelError');
    const e = JSON.parse(r.body) as Record<string, unknown>;
    assert.equal(e.OriginalStatusCode, 400);
    assert.match(String(e.OriginalMessage), /:3\b/);
    assert.equal(e.ErrorCode, 'CLIENT_ERROR_FROM_MODEL');
    assert.match(String(e.Message), /^Received client error \(400\) from primary with message "/);
    const c = await send(srv.url, 'POST', '/invocations', body, { 'Content-Type': 'text/csv' });
    assert.equal(c.status, 400);
    assert.equal(c.headers['x-amzn-errortype'], 'ValidationError');
    assert.match((JSON.parse(c.body) as { message: string }).message, /:3\b/);
  });

  it('names the JSON instance or JSON Lines line that is wrong', async () => {
    const j = await send(srv.url, 'POST', '/invocations', JSON.stringify({ instances: [{ features: ['a', '1.2.3.4'] }, { features: ['only-one'] }] }), { 'Content-Type': 'application/json' });
    assert.equal(j.status, 400);
    assert.match(j.body, /instances\[1\]/);
    const l = await send(srv.url, 'POST', '/invocations', '{"features": ["a", "1.2.3.4"]}\n\n{"features": ["a", 7]}\n', { 'Content-Type': 'application/jsonlines' });
    assert.equal(l.status, 400);
    assert.match(l.body, /body:3/);
    const ip = await send(srv.url, 'POST', '/endpoints/first/invocations', '{"features": ["a", "1.2.3.4"]}\n\n{"features": ["a", "1.2.3.999"]}\n', { 'Content-Type': 'application/jsonlines' });
    assert.equal(ip.status, 424);
    assert.match(String((JSON.parse(ip.body) as { OriginalMessage: string }).OriginalMessage), /^application\/jsonlines body:3: invalid IP address "1\.2\.3\.999"/);
    const s = await send(srv.url, 'POST', '/invocations', '{"instances": [\n{"features": ["a", "1.2.3.4"]},\n{oops}]}', { 'Content-Type': 'application/json' });
    assert.equal(s.status, 400);
    assert.match(s.body, /body:3: invalid JSON/);
  });

  it('unsupported Content-Type: 415 on /invocations, 424 ModelError with OriginalStatusCode 415 on the runtime route', async () => {
    const c = await send(srv.url, 'POST', '/invocations', CSV, { 'Content-Type': 'application/x-recordio-protobuf' });
    assert.equal(c.status, 415);
    assert.equal(c.headers['x-amzn-errortype'], 'UnsupportedMediaType');
    const r = await send(srv.url, 'POST', '/endpoints/first/invocations', CSV, { 'Content-Type': 'text/plain' });
    assert.equal(r.status, 424);
    assert.equal((JSON.parse(r.body) as { OriginalStatusCode: number }).OriginalStatusCode, 415);
    const none = await send(srv.url, 'POST', '/invocations', CSV);
    assert.equal(none.status, 415);
  });

  it('unsupported Accept: 406, and 424 with OriginalStatusCode 406 on the runtime route', async () => {
    const c = await send(srv.url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv', Accept: 'text/csv' });
    assert.equal(c.status, 406);
    assert.equal(c.headers['x-amzn-errortype'], 'NotAcceptable');
    const r = await send(srv.url, 'POST', '/endpoints/first/invocations', CSV, { 'Content-Type': 'text/csv', Accept: 'text/csv' });
    assert.equal(r.status, 424);
    assert.equal((JSON.parse(r.body) as { OriginalStatusCode: number }).OriginalStatusCode, 406);
    const any = await send(srv.url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv', Accept: 'text/csv;q=1, */*;q=0.1' });
    assert.equal(any.status, 200);
  });

  it('an empty body is a client error, not a crash', async () => {
    const r = await send(srv.url, 'POST', '/endpoints/first/invocations', '', { 'Content-Type': 'text/csv' });
    assert.equal(r.status, 424);
    assert.match(r.body, /no records/);
  });

  it('body over the limit: 400 ValidationError, refused from Content-Length before reading', async () => {
    const big = Buffer.alloc(6 * 1024 * 1024 + 1, 0x61);
    const r = await send(srv.url, 'POST', '/endpoints/first/invocations', big, { 'Content-Type': 'text/csv' });
    assert.equal(r.status, 400);
    assert.equal(r.headers['x-amzn-errortype'], 'ValidationError');
    assert.match(r.body, /too large/);
    assert.equal(r.headers.connection, 'close');
  });

  it('body over the limit without Content-Length (chunked): refused once the limit is crossed', async () => {
    const { request } = await import('node:http');
    const u = new URL(srv.url);
    const res = await new Promise<{ status: number; type: string | undefined }>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: '/invocations', method: 'POST', headers: { 'Content-Type': 'text/csv' }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['x-amzn-errortype'] as string | undefined }));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      let sent = 0;
      const write = (): void => {
        // Bounded: at most 8 MiB, even if the server never answers.
        while (sent < 8) {
          sent++;
          if (!req.write(chunk)) {
            req.once('drain', write);
            return;
          }
        }
        req.end();
      };
      write();
    });
    assert.equal(res.status, 400);
    assert.equal(res.type, 'ValidationError');
  });

  it('unknown route: 404 with an error type; wrong method: 405 with Allow', async () => {
    const r = await send(srv.url, 'GET', '/nowhere');
    assert.equal(r.status, 404);
    assert.equal(r.headers['x-amzn-errortype'], 'UnknownOperationException');
    const m = await send(srv.url, 'GET', '/invocations');
    assert.equal(m.status, 405);
    assert.equal(m.headers.allow, 'POST');
    assert.ok(m.headers['x-amzn-errortype']);
  });

  it('GET /execution-parameters', async () => {
    const r = await send(srv.url, 'GET', '/execution-parameters');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { MaxConcurrentTransforms: 4, BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: 6 });
  });

  it('GET /metrics: Prometheus text with requests, errors, latency and pairs per model', async () => {
    await send(srv.url, 'POST', '/endpoints/second/invocations', CSV, { 'Content-Type': 'text/csv' });
    const r = await send(srv.url, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(r.body, /^seclake_serve_requests_total\{model="second",route="endpoint",status="200"\} [1-9]\d*$/m);
    assert.match(r.body, /^seclake_serve_errors_total\{model="first",route="endpoint",error_type="ModelError"\} [1-9]\d*$/m);
    assert.match(r.body, /^seclake_serve_request_duration_seconds_bucket\{model="second",le="\+Inf"\} [1-9]\d*$/m);
    assert.match(r.body, /^seclake_serve_pairs_scored_total\{model="second"\} [1-9]\d*$/m);
    assert.match(r.body, /^seclake_serve_model_generation\{model="first"\} 1$/m);
    // Every sample line is `name{labels} number`.
    for (const line of r.body.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      assert.match(line, /^[a-z_]+(\{[^}]*\})? -?[\d.e+-]+$/, line);
    }
  });

  it('mounted routes (for the dashboard) get the path below the prefix', async () => {
    srv.running.app.mount('/dash', (_req, res, ctx) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`dash:${ctx.path}`);
    });
    const a = await send(srv.url, 'GET', '/dash/api/x?y=1');
    assert.equal(a.status, 200);
    assert.equal(a.body, 'dash:/api/x');
    assert.ok(a.headers['x-amzn-requestid']);
    const b = await send(srv.url, 'GET', '/dash');
    assert.equal(b.body, 'dash:/');
    const c = await send(srv.url, 'GET', '/dashboard');
    assert.equal(c.status, 404);
    srv.running.app.mount('/boom', () => {
      throw new HttpError(409, 'ConflictException', 'already there');
    });
    const d = await send(srv.url, 'GET', '/boom/x');
    assert.equal(d.status, 409);
    assert.equal(d.headers['x-amzn-errortype'], 'ConflictException');
    assert.deepEqual(JSON.parse(d.body), { message: 'already there' });
  });

  it('answers malformed HTTP with a JSON error and an error type', async () => {
    const u = new URL(srv.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(u.port), u.hostname, () => sock.end('GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n'));
      let data = '';
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => (data += d));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.match(reply, /x-amzn-ErrorType: ValidationError/);
  });
});

describe('serve app with a bearer token', () => {
  let srv: FakeServer;
  before(async () => {
    srv = await startFakeServer({ app: { authToken: 's3cret-token' } });
  });
  after(async () => {
    await srv.close();
  });

  it('requires the token on /invocations, /metrics and /execution-parameters but not /ping', async () => {
    for (const [method, p] of [['POST', '/invocations'], ['GET', '/metrics'], ['GET', '/execution-parameters']] as const) {
      const r = await send(srv.url, method, p, method === 'POST' ? CSV : undefined, { 'Content-Type': 'text/csv' });
      assert.equal(r.status, 401, p);
      assert.equal(r.headers['x-amzn-errortype'], 'UnauthorizedException');
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
      const w = await send(srv.url, method, p, method === 'POST' ? CSV : undefined, { 'Content-Type': 'text/csv', Authorization: 'Bearer wrong-token!' });
      assert.equal(w.status, 401, p);
      const ok = await send(srv.url, method, p, method === 'POST' ? CSV : undefined, { 'Content-Type': 'text/csv', Authorization: 'bearer s3cret-token' });
      assert.equal(ok.status, 200, p);
    }
    assert.equal((await send(srv.url, 'GET', '/ping')).status, 200);
  });
});
