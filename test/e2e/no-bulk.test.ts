import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');

interface Summary {
  totals: { events: number; rejects: number };
  inputs: { name: string; mode?: string }[];
}

const run = (args: string[]): string => execFileSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('ingest --no-bulk takes the generic path for every input and lands the same events', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-nobulk-'));
  try {
    const samples = path.join(ROOT, 'assets', 'samples');
    const bulk = JSON.parse(run(['ingest', '--lake', path.join(dir, 'a'), '--json', samples])) as Summary;
    const generic = JSON.parse(run(['ingest', '--lake', path.join(dir, 'b'), '--json', '--no-bulk', samples])) as Summary;
    assert.ok(bulk.inputs.some((i) => i.mode === 'bulk'), 'the default uses the bulk path somewhere');
    assert.ok(!generic.inputs.some((i) => i.mode === 'bulk'), '--no-bulk never does');
    assert.deepEqual(generic.totals, bulk.totals);
    const q = (lake: string): string => run(['query', '--lake', path.join(dir, lake), '--format', 'csv', 'SELECT count(*) AS n, count(DISTINCT src_endpoint.ip) AS ips, sum(traffic.bytes) AS bytes FROM vpc_flow']);
    assert.equal(q('b'), q('a'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
