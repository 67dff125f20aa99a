/**
 * The server and the scoring library give byte-identical output for the same pairs, in every request and
 * response format; and `seclake score` (the CLI) gives the same numbers as the server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpInsightsModel, formatPredictions } from '../../src/detectors/ipinsights/index.js';
import { parseCsvPairs } from '../../src/detectors/pairs/csv.js';
import { Rng } from '../../src/core/rng.js';
import { send } from './helpers.js';
import { startServer, type TestServer } from './real-model.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');

/** Runs `seclake score` and returns its stdout. */
function seclakeScore(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, 'score', ...args], { cwd: ROOT, timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`seclake score ${args.join(' ')} failed: ${stderr}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

function pairsCsv(n: number, seed: number): string {
  const rng = new Rng(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    // Known users on and off their home network, unknown users, and a few IPv6 addresses.
    const user = rng.int(10) === 0 ? `stranger_${rng.int(1000)}` : `user_${rng.int(200)}`;
    const ip = rng.int(20) === 0 ? `2001:db8::${rng.int(65536).toString(16)}` : rng.int(2) ? `10.${rng.int(50)}.${rng.int(256)}.${rng.int(256)}` : `${1 + rng.int(223)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
    lines.push(rng.int(3) === 0 ? `${user}, ${ip}` : `${user},${ip}`);
  }
  return lines.join('\n') + '\n';
}

for (const mode of ['inline', 'worker threads'] as const) describe(`server/library parity (${mode})`, () => {
  let srv: TestServer;
  let model: IpInsightsModel;
  const csv = pairsCsv(500, 42);
  before(async () => {
    // With workers and no size threshold, every request is scored on a worker thread.
    srv = await startServer({ name: 'parity', ...(mode === 'worker threads' ? { workers: 2, offloadMinBytes: 0 } : {}) });
    model = await IpInsightsModel.load(srv.modelPath);
  });
  after(async () => {
    await srv.close();
  });

  it('CSV in, every Accept variant out: same bytes as formatPredictions(scorePairs(parseCsvPairs()))', async () => {
    const pairs = parseCsvPairs(csv, 'pairs.csv');
    for (const [accept, type, verbose] of [
      [undefined, 'application/json', false],
      ['application/json', 'application/json', false],
      ['application/jsonlines', 'application/jsonlines', false],
      ['application/json; verbose=True', 'application/json', true],
      ['application/jsonlines;verbose=true', 'application/jsonlines', true],
    ] as const) {
      const expected = formatPredictions(model.scorePairs(pairs, { verbose }), type, verbose);
      for (const route of ['/invocations', '/endpoints/parity/invocations']) {
        const r = await send(srv.url, 'POST', route, csv, { 'Content-Type': 'text/csv', ...(accept ? { Accept: accept } : {}) });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['content-type'], type);
        assert.equal(r.body, expected, `${route} Accept=${accept}`);
      }
    }
  });

  it('the same pairs as JSON (mixed shapes) and JSON Lines give the same bytes as CSV', async () => {
    const pairs = parseCsvPairs(csv, 'pairs.csv');
    const json = JSON.stringify({ instances: pairs.map((p, i) => (i % 2 ? { features: [p.entity, p.ip] } : { data: { features: { values: [p.entity, p.ip] } } })) });
    const jsonl = pairs.map((p, i) => JSON.stringify(i % 3 ? { features: [p.entity, p.ip] } : { data: { features: { values: [p.entity, p.ip] } } })).join('\n');
    const expected = formatPredictions(model.scorePairs(pairs), 'application/json', false);
    const a = await send(srv.url, 'POST', '/endpoints/parity/invocations', json, { 'Content-Type': 'application/json' });
    const b = await send(srv.url, 'POST', '/endpoints/parity/invocations', jsonl, { 'Content-Type': 'application/jsonlines' });
    assert.equal(a.body, expected);
    assert.equal(b.body, expected);
  });

  it('`seclake score` prints exactly what the server answers, in every response format', async () => {
    const file = path.join(srv.dir, 'pairs.csv');
    writeFileSync(file, csv);
    for (const [accept, cliArgs] of [
      [undefined, []],
      ['application/jsonlines', ['--accept', 'application/jsonlines']],
      ['application/json; verbose=True', ['--verbose']],
      ['application/jsonlines; verbose=True', ['--accept', 'application/jsonlines', '--verbose']],
    ] as const) {
      const [r, cli] = await Promise.all([
        send(srv.url, 'POST', '/endpoints/parity/invocations', csv, { 'Content-Type': 'text/csv', ...(accept ? { Accept: accept } : {}) }),
        seclakeScore(['--model', srv.modelPath, '--input', file, ...cliArgs]),
      ]);
      assert.equal(r.status, 200);
      assert.equal(r.body, cli, `Accept=${accept} vs seclake score ${cliArgs.join(' ')}`);
    }
  });

  it('bad records name the line the same way', async () => {
    const bad = csv + 'user_1,10.0.0.1,extra\n';
    const r = await send(srv.url, 'POST', '/endpoints/parity/invocations', bad, { 'Content-Type': 'text/csv' });
    assert.equal(r.status, 424);
    assert.match((JSON.parse(r.body) as { OriginalMessage: string }).OriginalMessage, /^text\/csv body:501: expected 2 columns/);
    const ip = await send(srv.url, 'POST', '/invocations', '{"features": ["a", "1.2.3.4"]}\n{"features": ["a", "300.1.1.1"]}', { 'Content-Type': 'application/jsonlines' });
    assert.equal(ip.status, 400);
    assert.match((JSON.parse(ip.body) as { message: string }).message, /^application\/jsonlines body:2: invalid IP address "300\.1\.1\.1"/);
  });
});
