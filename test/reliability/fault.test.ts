/**
 * The fault-injection hook itself (src/core/fault.ts): every point is exercised by a crash test, a misspelt
 * SECLAKE_FAULT stops the CLI at startup (so a crash test cannot pass vacuously), and a point kills only on the hit it
 * is given.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { FAULT_POINTS, parseFaultSpec } from '../../src/core/fault.js';
import { ROOT, runCli } from './harness.js';
import { ALL_FAULTS } from './points.js';

test('every fault point is killed at by a crash test', () => {
  const used = new Set(ALL_FAULTS.map((f) => f.split(':')[0]));
  assert.deepEqual(Object.keys(FAULT_POINTS).filter((p) => !used.has(p)), []);
  for (const f of ALL_FAULTS) assert.doesNotThrow(() => parseFaultSpec(f), f);
});

test('SECLAKE_FAULT: <point>[:<n>]; anything else is a ConfigError naming the known points', () => {
  assert.equal(parseFaultSpec(undefined), undefined);
  assert.equal(parseFaultSpec(''), undefined);
  assert.deepEqual(parseFaultSpec('catalog-between-appends'), { point: 'catalog-between-appends', hit: 1 });
  assert.deepEqual(parseFaultSpec('monitor-mid-checkpoint:3'), { point: 'monitor-mid-checkpoint', hit: 3 });
  for (const bad of ['catalog-between-append', 'monitor-mid-checkpoint:x', 'Catalog-between-appends', 'a b']) {
    assert.throws(() => parseFaultSpec(bad), (e: unknown) => e instanceof ConfigError && /known points: .*catalog-between-appends/.test(e.message), bad);
  }
  assert.throws(() => parseFaultSpec('monitor-mid-checkpoint:0'), (e: unknown) => e instanceof ConfigError && /hit count must be 1 or more/.test(e.message));
});

test('the CLI refuses an unknown fault point at startup, before doing anything', async () => {
  const r = await runCli(['query', '--lake', path.join(ROOT, 'does-not-exist'), 'SELECT 1'], { fault: 'catalog-between-apends' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /SECLAKE_FAULT="catalog-between-apends": not a fault point/);
});

test('a point kills on the hit it names (SIGKILL, after saying so on stderr), and only when named', () => {
  const script = [
    "import { faultPoint } from './src/core/fault.ts';",
    "for (let i = 1; i <= 3; i++) { faultPoint('monitor-after-findings'); faultPoint('monitor-mid-checkpoint'); process.stdout.write(`passed ${i}\\n`); }",
  ].join('\n');
  const run = (fault: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SECLAKE_FAULT: fault } });
  const second = run('monitor-mid-checkpoint:2');
  assert.equal(second.signal, 'SIGKILL');
  assert.equal(second.stdout, 'passed 1\n');
  assert.match(second.stderr, /fault point monitor-mid-checkpoint \(hit 2\): killing the process/);
  const none = run('');
  assert.equal(none.status, 0, none.stderr);
  assert.equal(none.stdout, 'passed 1\npassed 2\npassed 3\n');
});
