/**
 * `seclake demo --once` on a small configuration: the real pipeline (generate -> ingest -> train -> calibrate ->
 * monitor) finds the injected attacks. A broken detector fails these floors: flagging everything drowns precision
 * (the attack day has thousands of normal pairs), flagging nothing or at random misses the attacks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDemo } from '../../src/demo/pipeline.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const END = Date.parse('2026-05-06T18:00:00Z');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('demo --once on a small config finds attacks with useful precision', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-demo-once-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const res = await runDemo({ dataDir: path.join(dir, 'demo'), once: true, days: 3, volume: 0.4, end: END, seed: 5, threads: 1, log: (l) => lines.push(l) });
  const r = res.once!;
  assert.ok(r, 'a once report');
  const e = r.evaluation;
  assert.equal(e.attacks, 5);
  assert.ok(e.findings > 0, 'some findings');
  assert.ok((e.attack_recall ?? 0) >= 0.6, `attack recall ${e.attack_recall}: ${JSON.stringify(e.per_attack)}`);
  assert.ok((e.record_recall ?? 0) > 0.1, `record recall ${e.record_recall}`);
  assert.ok((e.precision ?? 0) >= 0.15, `precision ${e.precision} (${e.true_positives}/${e.findings})`);
  // Addresses from networks the entity never talks to: the database from the internet (flows model) and the
  // sign-in from another country (logins model); the scan of the public subnet.
  for (const kind of ['db_exposed', 'console_login_new_country', 'scan']) {
    assert.ok(e.per_attack.find((a) => a.kind === kind)?.detected, `${kind} detected`);
  }
  assert.ok(r.steps.some((s) => s.step === 'monitor'));
  assert.ok(existsSync(path.join(dir, 'demo', 'models', 'flows.model')));
  assert.ok(lines.some((l) => l.includes('train flows')));
});

test('seclake demo generate through the CLI: --json summary; an unknown attack kind is a usage error', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-demo-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', cwd: ROOT });
  const ok = cli(['demo', 'generate', '--out', path.join(dir, 'gen'), '--days', '1', '--attack-days', '0.5', '--end', '2026-05-06T18:00:00Z', '--volume', '0.1', '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  const summary = JSON.parse(ok.stdout) as { objects: number; attacks: { kind: string }[]; environment: { account: string } };
  assert.ok(summary.objects > 10);
  assert.deepEqual(summary.attacks.map((a) => a.kind), ['scan', 'lateral_movement', 'db_exposed', 'exfiltration', 'console_login_new_country']);
  assert.equal(summary.environment.account, '123456789012');
  const bad = cli(['demo', 'generate', '--out', path.join(dir, 'bad'), '--attacks', 'teleport']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown attack 'teleport'/);
  const help = cli(['demo', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--once/);
});
