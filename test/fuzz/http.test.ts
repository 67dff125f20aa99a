/**
 * Fuzz: every HTTP route of `seclake serve` (the SageMaker runtime and container routes) and of the dashboard mounted
 * on it (pages, /ui/api/* including the query box with the page's CSRF token, labels, static assets), on in-process
 * servers on 127.0.0.1 over a real lake with real models and findings (test/dashboard/fixture.ts, plus a history
 * model): random methods, paths (known routes, mutated segments, traversal, bad percent-encoding), query strings,
 * headers (Host, Origin, CSRF token, Content-Type, Accept, bearer token, cookie) and bodies (mutated valid request
 * bodies, random bytes); raw malformed HTTP on a socket; queries mutated from real ones.
 *
 * Properties: every request is answered within the case timeout (no hang) with a status the routes define and never
 * a 5xx other than 503 + Retry-After (no crash, no internal error); an error reply explains itself (a JSON message,
 * or the dashboard's HTML error page with one; `x-amzn-ErrorType` on the API); the servers still answer /ping
 * afterwards; the heap after all cases is within a generous bound of the heap before.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { mountDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { detectorOf } from '../../src/detectors/index.js';
import { loadPairsCsv } from '../../src/detectors/pairs/data.js';
import { startServer } from '../../src/serve/start.js';
import { buildFixture, type DashboardFixture } from '../dashboard/fixture.js';
import { syntheticPairs } from '../serve/real-model.js';
import { CASE_TIMEOUT_MS, describeInput, heapMiB, mutatedJson, mutatedText, params, randomBytes, startWatchdog, tokenArb, type Watchdog } from './support.js';

const TOKEN = 'fuzz-token-0123456789';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Omit the Host header entirely. */
  noHost: boolean;
  body: Buffer | undefined;
}

function send(agent: Agent, base: string, r: Req): Promise<Reply> {
  const u = new URL(base);
  // node:http frames a DELETE/OPTIONS body only with a Content-Length: set it, as every client does (unframed bytes
  // would be a second, malformed request on the connection; the raw-socket property sends those on purpose).
  const headers = r.body !== undefined ? { ...r.headers, 'Content-Length': String(r.body.length) } : r.headers;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method: r.method, path: r.path, headers, agent, setHost: !r.noHost && !Object.keys(r.headers).some((h) => h.toLowerCase() === 'host'), timeout: CASE_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${CASE_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(r.body);
  });
}

/** Statuses the routes define (302/303: redirects to the dashboard and after ?token=). */
const KNOWN = new Set([200, 302, 303, 400, 401, 403, 404, 405, 406, 408, 413, 415, 424, 431, 503]);

/** Checks one reply: a known status, no internal error, and an explained refusal. */
function checkReply(r: Req, res: Reply): void {
  const ctx = `${r.method} ${describeInput(r.path, 200)} headers=${JSON.stringify(r.headers).slice(0, 300)} body=${describeInput(r.body ?? '', 200)} -> ${res.status} ${res.body.slice(0, 300)}`;
  assert.ok(KNOWN.has(res.status), `unexpected status: ${ctx}`);
  if (res.status === 503) assert.ok(res.headers['retry-after'], `503 without Retry-After: ${ctx}`);
  if (res.status < 400 || r.method === 'HEAD') return;
  const type = String(res.headers['content-type'] ?? '');
  if (type.startsWith('application/json')) {
    const e = JSON.parse(res.body) as Record<string, unknown>;
    const msg = e.message ?? e.Message;
    assert.ok(typeof msg === 'string' && msg.trim() !== '', `error without a message: ${ctx}`);
    assert.ok(typeof res.headers['x-amzn-errortype'] === 'string' && res.headers['x-amzn-errortype'] !== '', `API error without x-amzn-ErrorType: ${ctx}`);
  } else {
    assert.ok(type.startsWith('text/html'), `error reply of type '${type}': ${ctx}`);
    const m = /<h1>(\d+) [^<]*<\/h1><p>([^<]+)<\/p>/.exec(res.body);
    assert.ok(m && Number(m[1]) === res.status && m[2]!.trim() !== '', `HTML error page without a message: ${ctx}`);
  }
}

// ---- request arbitraries ----------------------------------------------------------------------------------

const PAIRS_BODIES = [
  'i-0a1b2c3d4e5f00001,10.1.0.7\ni-0a1b2c3d4e5f00002,185.220.101.34\nuser_3,2001:db8::7\n',
  '{"instances": [{"features": ["i-0a1b2c3d4e5f00001", "10.1.0.7"]}, {"data": {"features": {"values": ["user_2", "192.168.1.2"]}}}]}',
  '{"features": ["i-0a1b2c3d4e5f00001", "10.1.0.7"]}\n{"data": {"features": {"values": ["user_2", "::1"]}}}\n',
];
const pairsBody = fc.oneof(
  { weight: 4, arbitrary: mutatedText(PAIRS_BODIES).map((s) => Buffer.from(s, 'utf8')) },
  { weight: 2, arbitrary: mutatedJson(PAIRS_BODIES.slice(1)).map((s) => Buffer.from(s, 'utf8')) },
  { weight: 1, arbitrary: randomBytes },
);
const jsonBody = fc.oneof(
  fc.constantFrom('{"label":"true_positive"}', '{"label":"false_positive"}', '{"label":"maybe"}', '{"sql":1}', '{"sql":"DROP TABLE x"}', '{"sql":"SELEC 1"}', '[]', 'null', '{}', '{"sql":"SELECT 1; SELECT 2"}', "{\"sql\":\"SELECT '\"}")
    .map((s) => Buffer.from(s)),
  mutatedJson(['{"label":"true_positive"}', '{"sql":"INSERT INTO x VALUES (1)","limit":5}']).map((s) => Buffer.from(s)),
  randomBytes,
);

const CONTENT_TYPES = ['text/csv', 'application/json', 'application/jsonlines', 'TEXT/CSV; charset=utf-8', 'application/json; charset=utf-8', 'text/plain', 'application/x-recordio-protobuf', 'multipart/form-data; boundary=x', ''];
const ACCEPTS = ['', 'application/json', 'application/jsonlines', 'application/json; verbose=True', '*/*', 'text/html', 'application/json;q=0', 'garbage;;;==', 'application/jsonlines;q=0.5, application/json;q=0.9'];

/** encodeURIComponent that does not throw on a lone surrogate (it becomes U+FFFD). */
function enc(s: string): string {
  return encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
}

function requestArb(uids: readonly string[], csrf: () => string, base: () => string): fc.Arbitrary<Req> {
  const uid = fc.oneof(fc.constantFrom(...uids), tokenArb.map(enc), fc.constantFrom('%', '%zz', '%00', '..%2F..%2Fetc%2Fpasswd', '..', '%2e%2e', 'a'.repeat(5000)));
  const known = fc.oneof(
    fc.constantFrom('/ping', '/invocations', '/endpoints/flows/invocations', '/endpoints/history/invocations', '/execution-parameters', '/metrics', '/', '/ui', '/ui/', '/ui/lake', '/ui/models', '/ui/findings',
      '/ui/api/summary', '/ui/api/models', '/ui/api/findings', '/ui/api/labels', '/ui/api/query', '/ui/static/style.css', '/ui/static/app.js', '/ui/static/favicon.svg', '/ui/static/../index.ts',
      '/ui/incidents', '/ui/suppressions', '/ui/api/incidents', '/ui/api/feedback', '/ui/api/suppressions', '/ui/api/suppressions?all=1&hits=1'),
    uid.map((u) => `/ui/incidents/${u}`),
    uid.map((u) => `/ui/api/incidents/${u}`),
    uid.map((u) => `/ui/api/suppressions/${u}/remove`),
    uid.map((u) => `/ui/findings/${u}`),
    uid.map((u) => `/ui/api/findings/${u}`),
    uid.map((u) => `/ui/api/findings/${u}/label`),
    tokenArb.map((n) => `/endpoints/${enc(n)}/invocations`),
    fc.constantFrom('/endpoints//invocations', '/endpoints/flows', '/endpoints/flows/invocations/x', '//ping', '/ping/', '/PING', '/ui//api/summary', '/ui/api/', '/ui/api/findings/', '/ui/api/incidents/', '/ui/incidents/', '/ui/api/suppressions/', '/uix', 'http://127.0.0.1/ping', '*', '/%'),
  );
  const pathArb = fc.oneof({ weight: 6, arbitrary: known }, { weight: 1, arbitrary: fc.webPath() }, { weight: 1, arbitrary: mutatedText(['/ui/api/findings?severity=3&limit=5', '/endpoints/flows/invocations']) });
  const query = fc.oneof(
    { weight: 3, arbitrary: fc.constant('') },
    { weight: 3, arbitrary: fc.array(fc.tuple(fc.constantFrom('severity', 'label', 'q', 'limit', 'model', 'version', 'token', 'x'), fc.oneof(tokenArb, fc.constantFrom('3', '0', '7', 'unlabelled', 'true_positive', TOKEN, '5000', '5001'))), { maxLength: 4 }).map((kv) => `?${kv.map(([k, v]) => `${k}=${enc(v)}`).join('&')}`) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => `?${s.replace(/[\s#]/g, '')}`) },
  );
  const method = fc.constantFrom('GET', 'GET', 'GET', 'POST', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH');
  const header = (name: string, values: fc.Arbitrary<string>): fc.Arbitrary<[string, string] | undefined> => fc.option(values.map((v) => [name, v] as [string, string]), { freq: 2 });
  return fc
    .record({
      method,
      path: pathArb,
      query,
      contentType: header('Content-Type', fc.constantFrom(...CONTENT_TYPES)),
      accept: header('Accept', fc.constantFrom(...ACCEPTS)),
      csrf: fc.constantFrom('right', 'right', 'wrong', 'none'),
      origin: fc.constantFrom('same', 'none', 'none', 'evil'),
      fetchSite: fc.constantFrom('none', 'none', 'same-origin', 'cross-site'),
      host: fc.constantFrom('default', 'default', 'default', 'default', 'localhost', 'evil.example', 'none', '127.0.0.1'),
      auth: fc.constantFrom('none', 'none', 'right', 'wrong', 'cookie'),
      body: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: pairsBody }, { weight: 2, arbitrary: jsonBody }),
    })
    .map((x): Req => {
      const headers: Record<string, string> = {};
      for (const h of [x.contentType, x.accept]) if (h && h[1] !== '') headers[h[0]] = h[1];
      const url = new URL(base());
      if (x.csrf === 'right') headers['X-CSRF-Token'] = csrf();
      else if (x.csrf === 'wrong') headers['X-CSRF-Token'] = 'bm90IHRoZSB0b2tlbg';
      if (x.origin === 'same') headers.Origin = base();
      else if (x.origin === 'evil') headers.Origin = 'http://evil.example';
      if (x.fetchSite !== 'none') headers['Sec-Fetch-Site'] = x.fetchSite;
      if (x.host === 'localhost' || x.host === '127.0.0.1') headers.Host = `${x.host}:${url.port}`;
      else if (x.host === 'evil.example') headers.Host = 'evil.example';
      if (x.auth === 'right') headers.Authorization = `Bearer ${TOKEN}`;
      else if (x.auth === 'wrong') headers.Authorization = 'Bearer nope';
      else if (x.auth === 'cookie') headers.Cookie = 'seclake_dashboard=0000; other=1';
      // node:http sends only request targets of printable latin-1: escape the rest (the raw-socket property sends anything).
      // Request lines stay under node:http's 16 KiB header limit (the raw-socket property goes past it).
      const escaped = x.path.slice(0, 4000).replace(/[^\u0021-\u00ff]/g, (c) => enc(c));
      const p = escaped.startsWith('/') || escaped.startsWith('http') || escaped === '*' ? escaped : `/${escaped}`;
      return { method: x.method, path: p + (p.includes('?') ? '' : x.query), headers, noHost: x.host === 'none', body: x.method === 'GET' || x.method === 'HEAD' ? undefined : x.body };
    });
}

/** The query box: statements mutated from real ones (reading, refused, escaping the sandbox, huge results). */
const QUERIES = [
  'SELECT count(*) AS n FROM vpc_flow',
  'SELECT * FROM findings ORDER BY time DESC LIMIT 3',
  'SELECT * FROM quarantine',
  'SELECT path, rows FROM lake_objects',
  'DESCRIBE vpc_flow',
  'SHOW TABLES',
  'SELECT src_endpoint.ip AS ip, count(*) AS n FROM vpc_flow GROUP BY ALL ORDER BY n DESC',
  'WITH t AS (SELECT 1 AS x) SELECT * FROM t',
  'SELECT range(0, 300000000) AS x',
  "SELECT * FROM read_csv('/etc/passwd')",
  "SELECT * FROM read_parquet('../**/*.parquet')",
  "SELECT repeat('x', 50000000) AS big",
  'SELECT * FROM range(100000000)',
  "FROM vpc_flow SELECT time, unmapped['x'] -- comment",
  'SELECT 1; DROP TABLE vpc_flow',
];

describe('fuzz: HTTP routes of serve and the dashboard', () => {
  let fx: DashboardFixture;
  let dog: Watchdog;
  let heapBefore = 0;
  const servers: { url: string; csrf: string; close: () => Promise<void>; dash: Dashboard; token: boolean }[] = [];

  before(async () => {
    heapBefore = heapMiB();
    fx = await buildFixture();
    const csv = path.join(fx.dir, 'history.train.csv');
    writeFileSync(csv, syntheticPairs(5000, 100, 1));
    const histPath = path.join(fx.dir, 'history.model');
    await detectorOf('history').train({ train: await loadPairsCsv([csv]), modelPath: histPath, log: () => {} });
    for (const token of [false, true]) {
      const running = await startServer({
        models: [{ name: 'flows', path: fx.modelPath }, { name: 'history', path: histPath }],
        port: 0,
        host: '127.0.0.1',
        watch: false,
        // Bodies of 300 bytes or more are scored on a worker thread, smaller ones inline: both paths are fuzzed.
        workers: 1,
        offloadMinBytes: 300,
        maxBodyBytes: 64 * 1024,
        ...(token ? { authToken: TOKEN } : {}),
      });
      const dash = mountDashboard(running.app, { lakeDir: fx.lakeDir, registry: running.app.registry, pollMs: 500, queryTimeoutMs: 10_000, queryMaxMemoryBytes: 256 * 1024 ** 2, ...(token ? { authToken: TOKEN } : {}) });
      const headers: Record<string, string> = token ? { Authorization: `Bearer ${TOKEN}` } : {};
      const agent = new Agent();
      const page = await send(agent, running.url, { method: 'GET', path: '/ui/', headers, noHost: false, body: undefined });
      agent.destroy();
      const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)?.[1];
      assert.ok(csrf, `the dashboard page carries a CSRF token (${page.status})`);
      servers.push({ url: running.url, csrf, dash, token, close: () => running.close({ timeoutMs: 2000 }) });
    }
    // Started once the fixture is built: it bounds the cases, not the setup.
    dog = startWatchdog();
  });

  after(async () => {
    for (const s of servers) {
      s.dash.close();
      await s.close();
    }
    fx?.cleanup();
    await dog?.stop();
  });

  for (const which of [0, 1]) {
    it(`every route answers random requests with a known status and explains every refusal (${which ? 'with' : 'without'} --auth-token)`, async () => {
      const srv = servers[which]!;
      const agent = new Agent({ keepAlive: true, maxSockets: 2 });
      const seen = new Map<number, number>();
      let prev = '';
      try {
        await fc.assert(
          fc.asyncProperty(requestArb(fx.findings.map((f) => f.finding_info.uid), () => srv.csrf, () => srv.url), async (r) => {
            dog.beat(`http ${r.method} ${r.path.slice(0, 300)} ${JSON.stringify(r.headers)}`);
            // A body that is valid SQL would spawn a query process per case: the query property below covers those.
            let res: Reply;
            try {
              res = await send(agent, srv.url, r);
            } catch (err) {
              throw new Error(`no reply (${(err as Error).message}) after ${describeInput(prev)}`, { cause: err });
            } finally {
              prev = `${r.method} ${r.path.slice(0, 200)} ${JSON.stringify(r.headers)} body=${describeInput(r.body ?? '', 100)}`;
            }
            seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
            checkReply(r, res);
          }),
          params(`http-routes-${which}`, 400),
        );
      } finally {
        agent.destroy();
      }
      // The arbitraries reach the routes' answers, not only refusals.
      for (const s of [200, 400, 404, 405]) assert.ok((seen.get(s) ?? 0) > 0, `status ${s} was exercised: ${JSON.stringify([...seen])}`);
    });
  }

  it('the query box (page CSRF token) answers mutated statements with rows or an explained 4xx', async () => {
    const srv = servers[0]!;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const seen = new Map<number, number>();
    try {
      await fc.assert(
        fc.asyncProperty(mutatedText(QUERIES, 3), fc.option(fc.oneof(fc.integer(), fc.double(), fc.constant(1e12)), { nil: undefined }), async (sql, limit) => {
          dog.beat(`query ${JSON.stringify(sql).slice(0, 500)} limit=${limit}`);
          const body = Buffer.from(JSON.stringify({ sql, ...(limit !== undefined ? { limit } : {}) }));
          const r: Req = { method: 'POST', path: '/ui/api/query', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': srv.csrf, Origin: srv.url }, noHost: false, body };
          const res = await send(agent, srv.url, r);
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          checkReply(r, res);
          if (res.status === 200) {
            const q = JSON.parse(res.body) as { columns: string[]; rows: unknown[][]; limit: number; truncated: boolean };
            assert.ok(Array.isArray(q.columns) && Array.isArray(q.rows) && q.rows.length <= q.limit, `bad query result for ${sql}: ${res.body.slice(0, 200)}`);
          }
        }),
        params('http-query', 12),
      );
    } finally {
      agent.destroy();
    }
    assert.ok((seen.get(200) ?? 0) > 0 && (seen.get(400) ?? 0) > 0, `both answers were exercised: ${JSON.stringify([...seen])}`);
  });

  it('malformed HTTP on a raw socket is answered or closed, never crashes the server', async () => {
    const srv = servers[0]!;
    const u = new URL(srv.url);
    const raw = fc.oneof(
      randomBytes,
      mutatedText([
        `GET /ping HTTP/1.1\r\nHost: 127.0.0.1:${u.port}\r\n\r\n`,
        `POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:${u.port}\r\nContent-Type: text/csv\r\nContent-Length: 17\r\n\r\nuser_1,10.0.0.1\n`,
        `POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:${u.port}\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nu,1.2\r\n0\r\n\r\n`,
        `GET /ui/api/summary HTTP/1.1\r\nHost: 127.0.0.1:${u.port}\r\nX-Long: ${'a'.repeat(2000)}\r\n\r\n`,
      ]).map((s) => Buffer.from(s, 'latin1')),
    );
    await fc.assert(
      fc.asyncProperty(raw, async (bytes) => {
        dog.beat(`raw ${describeInput(bytes)}`);
        const answer = await new Promise<string>((resolve, reject) => {
          const sock = connect(Number(u.port), u.hostname);
          const chunks: Buffer[] = [];
          sock.setTimeout(3000, () => sock.end());
          sock.on('data', (c: Buffer) => chunks.push(c));
          sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve(Buffer.concat(chunks).toString('latin1')) : reject(e)));
          sock.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
          sock.end(bytes);
        });
        const status = /^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1];
        if (status !== undefined) assert.ok(Number(status) < 500 || status === '503', `raw request answered ${status}: ${describeInput(bytes)} -> ${answer.slice(0, 300)}`);
      }),
      params('http-raw', 40),
    );
  });

  it('an HTTP/1.1 request without a Host header is refused with a reason (node:http alone answered a bare 400)', async () => {
    const u = new URL(servers[0]!.url);
    const rawRequest = (text: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const sock = connect(Number(u.port), u.hostname);
        const chunks: Buffer[] = [];
        sock.on('data', (c: Buffer) => chunks.push(c));
        sock.on('error', reject);
        sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
        sock.end(text);
      });
    const answer = await rawRequest('GET /ping HTTP/1.1\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /x-amzn-ErrorType: ValidationError/i);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { message: string };
    assert.match(body.message, /Host header/);
    // HTTP/1.0 has no Host requirement: answered as before.
    assert.match(await rawRequest('GET /ping HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 /);
  });

  it('the servers still answer, and memory stayed bounded', async () => {
    const agent = new Agent();
    try {
      for (const s of servers) {
        const res = await send(agent, s.url, { method: 'GET', path: '/ping', headers: {}, noHost: false, body: undefined });
        assert.equal(res.status, 200);
      }
    } finally {
      agent.destroy();
    }
    const now = heapMiB();
    assert.ok(now - heapBefore < 256, `heap grew from ${heapBefore.toFixed(0)} MiB to ${now.toFixed(0)} MiB`);
  });
});
