/**
 * `seclake findings` run as a user runs it (node --import tsx src/cli/main.ts), over a lake with published findings.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FindingPolicy } from '../../src/findings/policy.js';
import { findingsObjectKey, publishFindings } from '../../src/findings/lake.js';
import type { DetectionFinding, ScoredRecord } from '../../src/findings/types.js';
import { IPI } from '../../src/findings/test-support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
const H = 3_600_000;
const NOW = Date.now();
let lake: string;
let empty: string;
let all: DetectionFinding[] = [];

function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** (entity, ip, hours ago, percentile) */
const SPEC: [string, string, number, number][] = [
  ['i-0aaa', '203.0.113.7', 1, 0.99995], // Critical
  ['i-0aaa', '198.51.100.9', 30, 0.995], // Medium, older than 24 h
  ['i-0bbb', '2001:db8::7', 3, 0.9995], // High
  ['i-0ccc', '192.0.2.44', 5, 0.95], // Low
];

before(async () => {
  lake = mkdtempSync(path.join(tmpdir(), 'seclake-findings-cli-'));
  empty = mkdtempSync(path.join(tmpdir(), 'seclake-findings-cli-empty-'));
  // A lake with nothing in it (a lake is a directory holding _seclake/; a path without one is an error).
  mkdirSync(path.join(empty, '_seclake'));
  const policy = new FindingPolicy();
  for (const [i, [entity, ip, hoursAgo, p]] of SPEC.entries()) {
    const object = `aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=x/obj-${i}.parquet`;
    const rec: ScoredRecord = {
      ref: { object, row: 0 },
      entity,
      ip,
      time: NOW - hoursAgo * H,
      native_score: -2 - i,
      entity_known: true,
      entity_count: 9,
      anomaly_percentile: p,
      is_anomaly: true,
      event: { class_uid: 4001, src_endpoint: { ip } },
    };
    const fs = policy.process([rec], { model: { detector: IPI, name: 'flows', version: 'abcd1234', threshold: -1 } });
    all.push(...fs);
    await publishFindings(lake, findingsObjectKey(object, { region: 'us-east-1', accountId: '123456789012', eventDay: '20260101' }), fs);
  }
  all = all.sort((a, b) => (b.time as number) - (a.time as number));
});
after(() => {
  rmSync(lake, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

describe('seclake findings', () => {
  it('lists findings newest first as a table', () => {
    const r = cli(['findings', '--lake', lake]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^time\s+severity\s+entity\s+ip\s+score\s+percentile\s+title$/);
    const body = lines.slice(2);
    assert.deepEqual(body.map((l) => l.split(/\s+/)[1]), ['Critical', 'High', 'Low', 'Medium']);
    assert.ok(body[0]!.includes('i-0aaa') && body[0]!.includes('203.0.113.7') && body[0]!.includes('-2.00') && body[0]!.includes('99.995%'), body[0]);
    assert.match(r.stderr, /\(4 findings\)/);
  });

  it('--json gives the full OCSF findings, filtered by --since, --min-severity, --entity and --limit', () => {
    const j = (args: string[]): DetectionFinding[] => {
      const r = cli(['findings', '--lake', lake, '--json', ...args]);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as DetectionFinding[];
    };
    assert.deepEqual(j([]), all);
    assert.deepEqual(j(['--since', '24h']).map((f) => f.finding_info.uid), all.filter((f) => (f.time as number) >= NOW - 24 * H).map((f) => f.finding_info.uid));
    assert.deepEqual(j(['--min-severity', 'high']).map((f) => f.severity), ['Critical', 'High']);
    assert.deepEqual(j(['--entity', 'i-0aaa']).map((f) => (f.unmapped as Record<string, unknown>).ip), ['203.0.113.7', '198.51.100.9']);
    assert.equal(j(['--limit', '1']).length, 1);
    const until = new Date(NOW - 4 * H).toISOString();
    assert.deepEqual(j(['--until', until]).map((f) => (f.unmapped as Record<string, unknown>).entity), ['i-0ccc', 'i-0aaa']);
    const jl = cli(['findings', '--lake', lake, '--format', 'jsonl', '--limit', '2']);
    assert.deepEqual(jl.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown), all.slice(0, 2));
  });

  it('an empty lake has no findings (not an error); bad arguments exit 2 with a clear message', () => {
    const r = cli(['findings', '--lake', empty]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'No findings.\n');
    assert.equal(cli(['findings', '--lake', empty, '--json']).stdout, '[]\n');
    const bad = cli(['findings', '--lake', lake, '--since', 'yesterday']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--since "yesterday": expected a duration before now/);
    assert.notEqual(cli(['findings', '--lake', lake, '--min-severity', 'huge']).status, 0);
    assert.equal(cli(['findings', '--lake', lake, '--limit', '0']).status, 2);
  });

  it('the findings view is queryable with seclake query', () => {
    const r = cli(['query', '--lake', lake, '--format', 'json', 'SELECT severity, count(*)::INTEGER AS n FROM findings GROUP BY severity ORDER BY severity']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [
      { severity: 'Critical', n: 1 },
      { severity: 'High', n: 1 },
      { severity: 'Low', n: 1 },
      { severity: 'Medium', n: 1 },
    ]);
  });
});
