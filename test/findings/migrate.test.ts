/**
 * Findings objects written before findings became OCSF Parquet in the catalog (flat tables under
 * ext/seclake_findings/1.0/, testdata made with the old writer): `seclake findings` and `seclake query` still read
 * them, and `seclake findings migrate` converts them (the CLI as a user runs it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listLegacyFindingsObjects } from '../../src/findings/lake.js';
import { readObjects } from '../../src/lake/catalog.js';
import type { DetectionFinding } from '../../src/findings/types.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
const LEGACY = path.join(ROOT, 'src', 'findings', 'testdata', 'legacy-lake');
const GOLDEN = JSON.parse(readFileSync(path.join(LEGACY, 'findings.json'), 'utf8')) as Record<string, DetectionFinding>;
let lake: string;

function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  lake = mkdtempSync(path.join(tmpdir(), 'seclake-findings-migrate-'));
  cpSync(path.join(LEGACY, 'ext'), path.join(lake, 'ext'), { recursive: true });
});
after(() => rmSync(lake, { recursive: true, force: true }));

describe('seclake findings over findings objects of the old format', () => {
  const listed = (): DetectionFinding[] => {
    const r = cli(['findings', '--lake', lake, '--json']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as DetectionFinding[];
  };

  it('reads them before the migration (seclake findings, seclake query)', () => {
    const got = listed();
    assert.equal(got.length, 5);
    const golden = new Set(Object.values(GOLDEN).map((f) => JSON.stringify(f)));
    assert.ok(got.every((f) => golden.has(JSON.stringify(f))));
    const q = cli(['query', '--lake', lake, '--format', 'json', 'SELECT detector, count(*)::INTEGER AS n FROM findings GROUP BY ALL']);
    assert.equal(q.status, 0, q.stderr);
    assert.deepEqual(JSON.parse(q.stdout), [{ detector: 'ipinsights', n: 5 }]);
  });

  it('migrate --dry-run changes nothing; migrate converts, catalogs and removes them; the same findings are listed', () => {
    const before = listed();
    const dry = cli(['findings', 'migrate', '--lake', lake, '--dry-run']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /2 old findings objects; would convert 2/);
    assert.equal(listLegacyFindingsObjects(lake).length, 2);
    const r = cli(['findings', 'migrate', '--lake', lake]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /2 old findings objects; converted 2 \(5 findings\)/);
    assert.match(r.stderr, /converting ext\/seclake_findings\/1\.0\/.* -> ext\/seclake_findings\/2\.0\//);
    assert.deepEqual(listLegacyFindingsObjects(lake), []);
    assert.deepEqual(readObjects(lake).map((o) => [o.source, o.class_uid]), [
      ['EXT_seclake_findings', 2004],
      ['EXT_seclake_findings', 2004],
    ]);
    assert.deepEqual(listed(), before);
    const cat = cli(['catalog', '--lake', lake, '--json']);
    assert.equal(cat.status, 0, cat.stderr);
    assert.deepEqual((JSON.parse(cat.stdout) as { by_source: { source: string; objects: number }[] }).by_source.map((g) => [g.source, g.objects]), [['EXT_seclake_findings', 2]]);
  });
});
