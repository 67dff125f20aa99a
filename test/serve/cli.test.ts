/**
 * `seclake serve` as a process: startup, SIGHUP reload, graceful SIGTERM (in-flight request finished,
 * exit 0), and flag errors. Bounded: every wait has a deadline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, renameSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { send, tempDir } from './helpers.js';
import { trainTinyModel } from './real-model.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
const CSV = 'user_1,10.1.2.3\nuser_2,10.2.3.4\nuser_3,203.0.113.9\n';

interface Proc {
  child: ChildProcess;
  stderr(): string;
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

function startCli(args: string[]): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    err += d;
    for (const w of [...waiters]) {
      const m = w.re.exec(err);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stderr: () => err,
    exited,
    waitFor(re, ms = 60_000) {
      const m = re.exec(err);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${re} in serve output within ${ms} ms; stderr so far:\n${err}`)), ms);
        waiters.push({ re, resolve: (mm) => (clearTimeout(t), resolve(mm)) });
        void exited.then((code) => reject(new Error(`serve exited (${code}) before ${re}; stderr:\n${err}`)));
      });
    },
  };
}

function scores(body: string): number[] {
  return (JSON.parse(body) as { predictions: { dot_product: number }[] }).predictions.map((p) => p.dot_product);
}

describe('seclake serve (process)', () => {
  let tmp: { dir: string; cleanup: () => void };
  let modelA: string;
  let modelB: string;
  const procs: Proc[] = [];
  before(async () => {
    tmp = tempDir('cli');
    modelA = await trainTinyModel(tmp.dir, 'a.model', 1);
    modelB = await trainTinyModel(tmp.dir, 'b.model', 2);
  });
  after(() => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    tmp.cleanup();
  });

  it('serves, reloads on SIGHUP, and on SIGTERM finishes the request in flight and exits 0', async () => {
    const live = path.join(tmp.dir, 'live.model');
    copyFileSync(modelA, live);
    const p = startCli(['--model', `ep=${live}`, '--port', '0', '--no-watch']);
    procs.push(p);
    const url = (await p.waitFor(/Serving ep \(default\) on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const first = await send(url, 'POST', '/endpoints/ep/invocations', CSV, { 'Content-Type': 'text/csv' });
    assert.equal(first.status, 200, first.body);

    copyFileSync(modelB, live + '.tmp');
    renameSync(live + '.tmp', live);
    p.child.kill('SIGHUP');
    await p.waitFor(/Reloaded model ep from .* \(generation 2, signal\)/);
    const second = await send(url, 'POST', '/endpoints/ep/invocations', CSV, { 'Content-Type': 'text/csv' });
    assert.equal(second.status, 200);
    assert.notDeepEqual(scores(second.body), scores(first.body), 'the reloaded model scores differently');

    // A request whose body is still arriving when SIGTERM comes is answered, then the process exits 0.
    const u = new URL(url);
    const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: '/invocations', method: 'POST', agent: false,
        headers: { 'Content-Type': 'text/csv', 'Content-Length': Buffer.byteLength(CSV) } }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (b += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      });
      req.on('error', reject);
      req.write(CSV.slice(0, 5), () => {
        setTimeout(() => {
          p.child.kill('SIGTERM');
          void p.waitFor(/SIGTERM: shutting down/).then(() => req.end(CSV.slice(5)));
        }, 200);
      });
    });
    const r = await reply;
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(scores(r.body), scores(second.body));
    assert.equal(await p.exited, 0, p.stderr());
    assert.match(p.stderr(), /Stopped \(SIGTERM\)/);
  });

  it('picks up a model file renamed into place (watching), and keeps the old one when the new file is bad', async () => {
    const live = path.join(tmp.dir, 'watched.model');
    copyFileSync(modelA, live);
    const p = startCli(['--model', `w=${live}`, '--port', '0', '--reload-debounce-ms', '50']);
    procs.push(p);
    const url = (await p.waitFor(/on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const before = scores((await send(url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv' })).body);
    copyFileSync(path.join(tmp.dir, 'a.model.train.csv'), live + '.bad');
    renameSync(live + '.bad', live);
    await p.waitFor(/Reload of model w from .* failed \(watch\); still serving generation 1: /);
    assert.deepEqual(scores((await send(url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv' })).body), before);
    copyFileSync(modelB, live + '.tmp');
    renameSync(live + '.tmp', live);
    await p.waitFor(/Reloaded model w from .* \(generation 2, watch\)/);
    assert.notDeepEqual(scores((await send(url, 'POST', '/invocations', CSV, { 'Content-Type': 'text/csv' })).body), before);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
  });

  it('exits 2 on bad flags and 1 on a bad model file, naming the problem', async () => {
    const bad = startCli(['--model', 'no_underscores=x.model']);
    assert.equal(await bad.exited, 2);
    assert.match(bad.stderr(), /not a valid endpoint name/);
    const half = startCli(['--model', `ep=${modelA}`, '--access-key-id', 'AKID']);
    assert.equal(await half.exited, 2);
    assert.match(half.stderr(), /--access-key-id and --secret-access-key must be given together/);
    const missing = startCli(['--model', `ep=${path.join(tmp.dir, 'missing.model')}`, '--port', '0']);
    assert.equal(await missing.exited, 1);
    assert.match(missing.stderr(), /missing\.model/);
  });
});
