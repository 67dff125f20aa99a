/**
 * Issue 12 item 4 through the CLI as a user runs it: `seclake ingest --force` redoes an input (killed with kill -9
 * between the catalog appends of the redo, or right after its commit, it is still never doubled), and an input whose
 * every record was quarantined is said so loudly, with what to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readObjects } from '../../src/lake/catalog.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'seclake-e2e-redo-'));

function cli(args: string[], env: Record<string, string> = {}): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, SECLAKE_FAULT: '', ...env },
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A VPC flow log (v2) of 300 records over three days: three objects. */
function flowLog(dir: string, name: string, salt = 1): string {
  const lines = ['version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'];
  for (let i = 0; i < 300; i++) {
    const t = 1704067200 + (i % 3) * 86400 + i;
    lines.push(`2 123456789012 eni-0a1b2c3d 10.0.${salt}.${(i % 200) + 1} 172.31.16.21 ${20000 + i} 443 6 10 ${1000 + i} ${t} ${t + 60} ACCEPT OK`);
  }
  const file = path.join(dir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function rows(lake: string): number {
  const r = cli(['query', '--lake', lake, '--format', 'json', 'SELECT count(*)::INTEGER AS n FROM vpc_flow']);
  assert.equal(r.status, 0, r.stderr);
  return Number((JSON.parse(r.stdout) as { n: number }[])[0]!.n);
}

function parquetOnDisk(lake: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '_seclake') continue;
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.parquet')) out.push(path.relative(lake, path.join(d, e.name)).split(path.sep).join('/'));
    }
  };
  if (existsSync(lake)) walk(lake);
  return out.sort();
}

test('ingest --force killed between its catalog appends: the earlier objects stay listed; the rerun redoes it once', () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const a = flowLog(dir, 'a.log');
  assert.equal(cli(['ingest', a, '--lake', lake]).status, 0);
  const before = readObjects(lake).map((o) => o.path);

  const crashed = cli(['ingest', a, '--lake', lake, '--force', '--json'], { SECLAKE_FAULT: 'catalog-between-appends' });
  assert.equal(crashed.signal, 'SIGKILL', `killed at the fault point (status ${crashed.status}): ${crashed.stderr}`);
  assert.deepEqual(readObjects(lake).map((o) => o.path), before, 'the uncommitted revision is not listed');
  assert.equal(rows(lake), 300);

  const rerun = cli(['ingest', a, '--lake', lake, '--force', '--json']);
  assert.equal(rerun.status, 0, rerun.stderr);
  const s = JSON.parse(rerun.stdout) as { inputs: { status: string; revision?: number; events: number }[] };
  assert.equal(s.inputs[0]?.status, 'ingested');
  assert.equal(s.inputs[0]?.revision, 1);
  assert.equal(rows(lake), 300, 'redone, not doubled');
  const now = readObjects(lake).map((o) => o.path).sort();
  assert.equal(now.length, 3);
  assert.deepEqual(parquetOnDisk(lake), now, 'the earlier objects were removed');

  const plain = cli(['ingest', a, '--lake', lake, '--json']);
  assert.equal((JSON.parse(plain.stdout) as { inputs: { status: string }[] }).inputs[0]?.status, 'duplicate');
});

test('ingest --force killed right after its commit: the new revision is the one listed; the next ingest removes the old files', () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const a = flowLog(dir, 'a.log');
  assert.equal(cli(['ingest', a, '--lake', lake]).status, 0);
  const before = readObjects(lake).map((o) => o.path);
  const crashed = cli(['ingest', a, '--lake', lake, '--force'], { SECLAKE_FAULT: 'ingest-after-commit' });
  assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
  const listed = readObjects(lake).map((o) => o.path).sort();
  assert.ok(listed.every((p) => p.includes('-r1-')), listed.join());
  assert.equal(rows(lake), 300);
  assert.equal(parquetOnDisk(lake).length, 6, 'the retracted files are still there (not listed, not read)');
  // Any later publish into the lake removes them.
  const b = flowLog(dir, 'b.log', 2);
  assert.equal(cli(['ingest', b, '--lake', lake]).status, 0);
  assert.equal(rows(lake), 600);
  assert.deepEqual(parquetOnDisk(lake), readObjects(lake).map((o) => o.path).sort());
  assert.ok(before.every((p) => !parquetOnDisk(lake).includes(p)));
});

test('every record quarantined: the CLI says so (summary, or stderr with --json) and how to redo it; --source redoes it', () => {
  const dir = tmp();
  const lake = path.join(dir, 'lake');
  const a = flowLog(dir, 'a.log');
  const wrong = cli(['ingest', a, '--lake', lake, '--source', 'aws_route53']);
  assert.equal(wrong.status, 0, wrong.stderr);
  assert.match(wrong.stdout, /Warnings:\n {2}.*a\.log: none of its 301 record\(s\) was ingested: every one was quarantined as aws_route53/);
  assert.match(wrong.stdout, /--source <type>/);
  const again = cli(['ingest', a, '--lake', lake, '--source', 'aws_route53', '--json']);
  assert.match(again.stderr, /warning: .*a\.log: none of its 301 record\(s\) was ingested .*--force/);
  const right = cli(['ingest', a, '--lake', lake, '--json']);
  assert.equal(right.status, 0, right.stderr);
  const s = JSON.parse(right.stdout) as { totals: { events: number }; inputs: { revision?: number }[] };
  assert.equal(s.totals.events, 300);
  assert.equal(s.inputs[0]?.revision, 1);
  assert.equal(rows(lake), 300);
  const q = cli(['query', '--lake', lake, '--format', 'json', 'SELECT count(*)::INTEGER AS n FROM quarantine']);
  assert.equal((JSON.parse(q.stdout) as { n: number }[])[0]!.n, 0, 'the wrong source\'s quarantine is retracted');
});

test('ingest --help documents --force and the redo rules; --force on an S3 lake is refused', () => {
  const help = cli(['ingest', '--help']);
  assert.match(help.stdout, /--force/);
  assert.match(help.stdout, /Redo:/);
  const s3 = cli(['ingest', path.join(root, 'README.md'), '--lake', 's3://bucket/lake', '--force']);
  assert.notEqual(s3.status, 0);
  assert.match(s3.stderr, /--force is not supported for an S3 lake/);
});
