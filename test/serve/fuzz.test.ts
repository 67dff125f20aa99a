/**
 * Fuzz: seeded random, truncated and mutated bodies of every content type, on both invocation routes.
 * The server must answer every one (no crash, no hang) with a well-formed reply: a known status, the
 * SageMaker headers, x-amzn-ErrorType on every error, and a body that parses (JSON or JSON Lines).
 * Bounded: a fixed number of requests, each with a timeout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { Rng } from '../../src/core/rng.js';
import { send } from './helpers.js';
import { startServer, type TestServer } from './real-model.js';

const SEED = Number(process.env.SECLAKE_FUZZ_SEED ?? 20240501);
const COUNT = Number(process.env.SECLAKE_FUZZ_COUNT ?? 1000);

const VALID: Record<string, string> = {
  'text/csv': 'user_1,10.0.0.1\nuser_2, 192.168.1.2\nuser_3,172.16.0.9\n',
  'application/json': '{"instances": [{"data": {"features": {"values": ["user_1", "10.0.0.1"]}}}, {"features": ["user_2", "192.168.1.2"]}]}',
  'application/jsonlines': '{"features": ["user_1", "10.0.0.1"]}\n{"data": {"features": {"values": ["user_2", "192.168.1.2"]}}}\n',
};
const CONTENT_TYPES = ['text/csv', 'application/json', 'application/jsonlines', 'TEXT/CSV; charset=utf-8', 'application/x-recordio-protobuf', 'text/plain', ''];
const ACCEPTS = ['', 'application/json', 'application/jsonlines', 'application/json; verbose=True', 'application/jsonlines;VERBOSE=true', '*/*', 'text/csv', 'application/json;q=0', 'garbage;;;=='];
const KNOWN_STATUS = new Set([200, 400, 406, 415, 424]);

function body(rng: Rng, ct: string): Buffer {
  const base = VALID[ct.split(';')[0]!.trim().toLowerCase()] ?? VALID['text/csv']!;
  switch (rng.int(9)) {
    case 0: // truncated valid body
      return Buffer.from(base.slice(0, rng.int(base.length + 1)));
    case 1: { // random bytes (invalid UTF-8 included)
      const b = Buffer.alloc(rng.int(400));
      for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
      return b;
    }
    case 2: { // byte mutations of a valid body
      const b = Buffer.from(base);
      for (let k = 0; k < 1 + rng.int(5); k++) b[rng.int(b.length)] = rng.int(256);
      return b;
    }
    case 3: // deep nesting
      return Buffer.from('['.repeat(1 + rng.int(20000)) + (rng.int(2) ? ']'.repeat(rng.int(100)) : ''));
    case 4: { // structurally odd JSON
      const odd = ['{}', '[]', 'null', '1', '"x"', '{"instances": null}', '{"instances": [null]}', '{"instances": [{"features": []}]}',
        '{"instances": [{"features": [1, 2]}]}', '{"instances": [{"data": {"features": {"values": "x"}}}]}', '{"instances": [{"features": ["a", "999.1.1.1"]}]}',
        '{"instances": [{"features": ["a", "::1"]}]}', '{"instances": [{"features": ["", "1.2.3.4"]}]}', '{"__proto__": {"instances": []}}'];
      return Buffer.from(rng.pick(odd));
    }
    case 5: { // CSV oddities
      const odd = ['a', ',', ',,', 'a,b,c', 'a,1.2.3.4,', '"a",1.2.3.4', '"a,1.2.3.4', 'a,1.2.3', 'a,01.2.3.4', 'a, 256.1.1.1', 'a,1.2.3.4\r\n\r\n', '\n\n\n',
        'a,::ffff:1.2.3.4', 'a,2001:db8::1', '\u0000,\u0000', 'é,1.2.3.4', 'a,1.2.3.4 extra'];
      return Buffer.from(Array.from({ length: 1 + rng.int(4) }, () => rng.pick(odd)).join('\n'));
    }
    case 6: // many records
      return Buffer.from(base.repeat(1 + rng.int(300)));
    case 7: // empty
      return Buffer.alloc(0);
    default: { // a valid body, sometimes with whitespace noise
      return Buffer.from(rng.int(2) ? base : base.replace(/,/g, ' , ').replace(/\n/g, '\n\n'));
    }
  }
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function post(agent: Agent, url: string, p: string, payload: Buffer, headers: Record<string, string>): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: p, method: 'POST', headers, agent, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

describe('fuzz', () => {
  let srv: TestServer;
  before(async () => {
    // Bodies of 200+ bytes go to worker threads, smaller ones are scored inline: both paths are fuzzed.
    srv = await startServer({ name: 'ep', workers: 2, offloadMinBytes: 200 });
  });
  after(async () => {
    await srv.close();
  });

  it(`answers ${COUNT} random bodies (seed ${SEED}) with well-formed replies`, async () => {
    const rng = new Rng(SEED);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const seen = new Map<number, number>();
    try {
      for (let i = 0; i < COUNT; i++) {
        const ct = rng.pick(CONTENT_TYPES);
        const accept = rng.pick(ACCEPTS);
        const payload = body(rng, ct);
        const route = rng.int(2) ? '/invocations' : '/endpoints/ep/invocations';
        const headers: Record<string, string> = {};
        if (ct) headers['Content-Type'] = ct;
        if (accept) headers.Accept = accept;
        const r = await post(agent, srv.url, route, payload, headers);
        const ctx = `#${i} ${route} ct=${JSON.stringify(ct)} accept=${JSON.stringify(accept)} body=${JSON.stringify(payload.toString('latin1').slice(0, 80))} -> ${r.status} ${r.body.slice(0, 200)}`;
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        assert.ok(KNOWN_STATUS.has(r.status), ctx);
        assert.ok(r.headers['x-amzn-requestid'], ctx);
        if (route === '/endpoints/ep/invocations') assert.ok(r.status === 200 || r.status === 424 || r.status === 400, ctx);
        if (r.status === 200) {
          assert.equal(r.headers['x-amzn-invoked-production-variant'], 'AllTraffic', ctx);
          assert.equal(r.headers['x-amzn-errortype'], undefined, ctx);
          if (r.headers['content-type'] === 'application/jsonlines') {
            for (const line of r.body.split('\n').filter((l) => l !== '')) assert.equal(typeof (JSON.parse(line) as { dot_product: number }).dot_product, 'number', ctx);
          } else {
            assert.equal(r.headers['content-type'], 'application/json', ctx);
            const preds = (JSON.parse(r.body) as { predictions: { dot_product: number }[] }).predictions;
            assert.ok(preds.length > 0 && preds.every((p) => Number.isFinite(p.dot_product)), ctx);
          }
        } else {
          assert.ok(typeof r.headers['x-amzn-errortype'] === 'string' && r.headers['x-amzn-errortype'] !== '', ctx);
          const e = JSON.parse(r.body) as Record<string, unknown>;
          assert.equal(typeof (e.message ?? e.Message), 'string', ctx);
          if (r.status === 424) {
            assert.equal(r.headers['x-amzn-errortype'], 'ModelError', ctx);
            assert.ok([400, 406, 415].includes(e.OriginalStatusCode as number), ctx);
          }
        }
      }
    } finally {
      agent.destroy();
    }
    // Still alive, and every kind of outcome was exercised.
    const ping = await send(srv.url, 'GET', '/ping').catch(() => undefined);
    assert.equal(ping?.status, 200, 'server still answers');
    for (const s of [200, 400, 406, 415, 424]) assert.ok((seen.get(s) ?? 0) > 0, `status ${s} was exercised (${JSON.stringify([...seen])})`);
  });
});
