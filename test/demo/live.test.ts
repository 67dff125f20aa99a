/**
 * `seclake demo` live, in-process on a free port: the SageMaker API and the dashboard answer, the embedded monitor
 * turns the replayed attack day and the live generator's objects into findings, and stopping closes everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDemo } from '../../src/demo/pipeline.js';

test('live demo: API, dashboard, findings from replayed and live objects, clean stop', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-demo-live-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const ac = new AbortController();
  let url = '';
  const checks: Promise<void>[] = [];
  const seen: string[] = [];
  const done = runDemo({
    dataDir: path.join(dir, 'demo'),
    port: 0,
    days: 3,
    volume: 0.3,
    seed: 5,
    threads: 1,
    intervalMs: 400,
    attackEveryMs: 1500,
    findings: true,
    signal: ac.signal,
    log: (l) => {
      lines.push(l);
      if (l.startsWith('  finding')) seen.push(l);
    },
    onReady: (info) => {
      url = info.url;
      checks.push(
        (async () => {
          const root = await fetch(`${url}/`, { redirect: 'manual' });
          assert.equal(root.status, 302);
          assert.equal(root.headers.get('location'), '/ui/');
          const ui = await fetch(info.dashboard);
          assert.equal(ui.status, 200);
          assert.match(await ui.text(), /<html/i);
          const inv = await fetch(`${url}/endpoints/flows/invocations`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'i-0000000000000000a,203.0.113.7\n' });
          assert.equal(inv.status, 200);
          assert.equal((await inv.json() as { predictions: unknown[] }).predictions.length, 1);
        })(),
      );
    },
  });
  // Wait until live objects have been written and scored after the replay, then stop.
  const incoming = path.join(dir, 'demo', 'incoming');
  // Generous for a loaded CI machine; the loop ends as soon as everything was seen.
  const deadline = Date.now() + 90_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const replayed = lines.some((l) => l.includes('replayed the last day'));
    const liveAttack = lines.some((l) => l.startsWith('  attack'));
    const liveObjects = existsSync(incoming) && readdirSync(incoming, { recursive: true }).some((f) => String(f).endsWith('.gz'));
    if ((replayed && liveAttack && liveObjects && seen.length > 0) || Date.now() > deadline) break;
  }
  ac.abort();
  const res = await done;
  await Promise.all(checks);
  assert.ok(url, 'the server came up');
  if (seen.length === 0) {
    // Say how far the monitor got: its checkpoint against the catalog.
    const cpFile = path.join(res.setup.lakeDir, '_seclake', 'monitor', 'demo.json');
    const state = existsSync(cpFile) ? readFileSync(cpFile, 'utf8').slice(0, 400) : 'no checkpoint';
    assert.fail(`no findings were printed (baseline seq ${res.setup.baselineSeq}, monitor checkpoint: ${state}):\n${lines.join('\n')}`);
  }
  assert.ok(lines.some((l) => l.startsWith('  attack')), 'a live attack started');
  assert.ok(lines.includes('Stopped.'));
  // The findings file has the printed findings; the checkpoint moved past the baseline.
  const findings = readFileSync(path.join(dir, 'demo', 'findings.jsonl'), 'utf8').trim().split('\n');
  assert.ok(findings.length >= seen.length);
  const cp = JSON.parse(readFileSync(path.join(res.setup.lakeDir, '_seclake', 'monitor', 'demo.json'), 'utf8')) as { seq: number };
  assert.ok(cp.seq > res.setup.baselineSeq);
  // The server is closed.
  await assert.rejects(fetch(`${url}/ping`));
});
