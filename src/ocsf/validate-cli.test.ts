/** `seclake validate`, run in-process through commander (src/cli/commands/validate.ts). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerValidate, runValidate, type ValidateCliOptions } from '../cli/commands/validate.js';
import { ConfigError } from '../core/errors.js';
import { deriveEvent } from './derive.js';
import { vpcFlowMapped } from './sample-events.js';

const SAMPLES = fileURLToPath(new URL('../../test/samples/', import.meta.url));

interface Run {
  code: number;
  out: string;
}

/** Parse `args` like the CLI does, then run the command with its output captured. */
async function run(args: string[]): Promise<Run> {
  let captured: { files: string[]; opts: ValidateCliOptions } | undefined;
  const program = new Command().name('seclake').exitOverride();
  registerValidate(program);
  const cmd = program.commands.find((c) => c.name() === 'validate')!;
  cmd.exitOverride().action((files: string[], opts: ValidateCliOptions) => {
    captured = { files, opts };
  });
  await program.parseAsync(['node', 'seclake', 'validate', ...args]);
  let out = '';
  try {
    const code = await runValidate(captured!.files, captured!.opts, (t) => (out += t));
    return { code, out };
  } catch (err) {
    return { code: err instanceof ConfigError ? 2 : 99, out: String(err) };
  }
}

describe('seclake validate', () => {
  let dir: string;
  const file = (name: string): string => path.join(dir, name);
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-validate-cli-'));
    const good = [1, 2, 3].map((i) => JSON.stringify(deriveEvent(vpcFlowMapped(i))));
    writeFileSync(file('good.jsonl.gz'), gzipSync(good.join('\n') + '\n'));
    const bad = deriveEvent(vpcFlowMapped(4)) as Record<string, any>;
    bad.src_endpoint.port = 70000;
    bad.observables[0].foo = 1;
    const bad2 = deriveEvent(vpcFlowMapped(5)) as Record<string, any>;
    bad2.observables[2].foo = 1;
    writeFileSync(file('mixed.json'), JSON.stringify([deriveEvent(vpcFlowMapped(6)), bad, bad2], null, 2));
    writeFileSync(file('one.json'), JSON.stringify(deriveEvent(vpcFlowMapped(7)), null, 2));
    writeFileSync(file('broken.jsonl'), [good[0], '{"class_uid": 4001,', '', good[1]].join('\n'));
    writeFileSync(file('notjson.txt'), 'hello world\n');
    writeFileSync(file('v1.parquet.gz'), gzipSync(readFileSync(path.join(SAMPLES, 'security-lake-ocsf-validation/1.0.0-rc.2/VPC_FLOW/example0.gz.parquet'))));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes valid files with exit code 0 (gzip JSON lines, one pretty-printed event)', async () => {
    const r = await run([file('good.jsonl.gz'), file('one.json')]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /good\.jsonl\.gz \(jsonl\): 3 events checked, 0 errors, 0 warnings/);
    assert.match(r.out, /one\.json \(json\): 1 event checked, 0 errors, 0 warnings/);
    assert.match(r.out, /checked 2 files, 4 events against OCSF 1\.1\.0: 0 errors, 0 warnings\n$/);
  });

  it('groups issues by code and path with counts and the first example, exit code 1', async () => {
    const r = await run([file('mixed.json')]);
    assert.equal(r.code, 1);
    assert.match(r.out, /mixed\.json \(json\): 3 events checked, 3 errors, 0 warnings \(2 events with errors\)/);
    assert.match(r.out, /error {3}attribute_unknown at observables\[\]\.foo: 2x\n {10}first: .*mixed\.json record 2: observables\[0\]\.foo: unknown attribute "foo"/);
    assert.match(r.out, /error {3}attribute_value_exceeds_range at src_endpoint\.port: 1x\n {10}first: .*mixed\.json record 2: src_endpoint\.port: 70000 is not a port_t \(0\.\.65535\)/);
  });

  it('names unreadable files and still checks the others', async () => {
    const missing = file('missing.json');
    const r = await run([missing, file('notjson.txt'), file('good.jsonl.gz')]);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(`unreadable: ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read: ENOENT`));
    assert.match(r.out, /notjson\.txt: not OCSF JSON, JSON lines or Parquet/);
    assert.match(r.out, /good\.jsonl\.gz \(jsonl\): 3 events checked, 0 errors/);
    assert.match(r.out, /2 files could not be read/);
  });

  it('reports lines that are not JSON in JSON lines files, by line number', async () => {
    const r = await run([file('broken.jsonl')]);
    assert.equal(r.code, 1);
    assert.match(r.out, /broken\.jsonl \(jsonl\): 3 events checked, 1 error/);
    assert.match(r.out, /record_not_json at \(event\): 1x\n {10}first: .*broken\.jsonl line 2: not valid JSON/);
  });

  it('reads Parquet (even gzip-wrapped) through DuckDB', async () => {
    const r = await run([file('v1.parquet.gz'), '--json']);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out) as { files: { format: string; unit: string; events: number; issues: { code: string; path: string; first: { where: number } }[] }[] };
    assert.equal(j.files[0]!.format, 'parquet');
    assert.equal(j.files[0]!.unit, 'row');
    assert.equal(j.files[0]!.events, 1);
    assert.deepEqual(j.files[0]!.issues.map((i) => `${i.code} ${i.path} ${i.first.where}`).sort(), [
      'attribute_required_missing action_id 1',
      'attribute_unknown cloud.account_uid 1',
      'version_incorrect metadata.version 1',
    ]);
  });

  it('--json prints one object with totals and per-file groups', async () => {
    const r = await run(['--json', file('good.jsonl.gz'), file('mixed.json'), file('missing.json')]);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out) as Record<string, any>;
    assert.equal(j.ocsf_version, '1.1.0');
    assert.equal(j.ok, false);
    assert.deepEqual(j.totals, { files: 3, events: 6, errors: 3, warnings: 0, unreadable: 1 });
    assert.equal(j.files[1].unit, 'record');
    assert.deepEqual(j.files[1].issues[0], {
      severity: 'error',
      code: 'attribute_unknown',
      path: 'observables[].foo',
      count: 2,
      first: { where: 2, message: 'observables[0].foo: unknown attribute "foo" (not defined in object observable; source fields belong in unmapped)' },
    });
    assert.match(j.files[2].read_error, /missing\.json: cannot read/);
    const ok = await run(['--json', file('good.jsonl.gz')]);
    assert.equal(ok.code, 0);
    assert.equal((JSON.parse(ok.out) as { ok: boolean }).ok, true);
  });

  it('--max-errors stops a file early', async () => {
    const r = await run(['--max-errors', '1', file('mixed.json')]);
    assert.equal(r.code, 1);
    assert.match(r.out, /2 events checked, 2 errors/);
    assert.match(r.out, /stopped after 2 errors \(--max-errors\)/);
    const bad = await run(['--max-errors', 'x', file('mixed.json')]);
    assert.notEqual(bad.code, 0);
  });

  it('--derive fills names first; --regex-warnings downgrades regex mismatches', async () => {
    writeFileSync(file('mapped.jsonl'), JSON.stringify(vpcFlowMapped(9)) + '\n');
    assert.equal((await run([file('mapped.jsonl')])).code, 1);
    assert.equal((await run(['--derive', file('mapped.jsonl')])).code, 0);
    const ev = deriveEvent(vpcFlowMapped(9)) as Record<string, any>;
    ev.src_endpoint.ip = '-';
    writeFileSync(file('dash.json'), JSON.stringify(ev));
    assert.equal((await run([file('dash.json')])).code, 1);
    const w = await run(['--regex-warnings', file('dash.json')]);
    assert.equal(w.code, 0);
    assert.match(w.out, /0 errors, 1 warning/);
  });

  it('the registered action sets process.exitCode (1 on errors) and prints to stdout', () => {
    // A child process, so that stdout is the command's own (the test runner reports on ours).
    const cli = (target: string): { status: number | null; stdout: string } => {
      const script =
        `const { Command } = await import('commander');` +
        `const { registerValidate } = await import(${JSON.stringify(new URL('../cli/commands/validate.ts', import.meta.url).href)});` +
        `const p = new Command().name('seclake'); registerValidate(p);` +
        `await p.parseAsync(['node', 'seclake', 'validate', '--json', ${JSON.stringify(target)}]);`;
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
      return { status: r.status, stdout: r.stdout };
    };
    const bad = cli(file('mixed.json'));
    assert.equal(bad.status, 1);
    assert.equal((JSON.parse(bad.stdout) as { ok: boolean }).ok, false);
    const good = cli(file('one.json'));
    assert.equal(good.status, 0);
    assert.equal((JSON.parse(good.stdout) as { ok: boolean }).ok, true);
  });

  it('--help explains the command', async () => {
    const program = new Command().name('seclake');
    registerValidate(program);
    const help = program.commands.find((c) => c.name() === 'validate')!.helpInformation();
    for (const s of ['<file...>', '--json', '--max-errors <n>', '--derive', '--regex-warnings', '--warn-recommended']) assert.ok(help.includes(s), s);
  });
});
