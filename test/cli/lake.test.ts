/**
 * `--lake` names a lake, in every command (issue 15): a path that is not a lake (no directory, or a directory without
 * `_seclake/`) is a NoLakeError naming it, instead of an empty answer (`query` printing 0, `train` finding 0 pairs);
 * a command that reads local lakes only refuses an s3:// lake, naming the commands that take one. Run in-process
 * through the real program (src/cli/program.ts), plus the exit status and message of one real process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { NoLakeError } from '../../src/core/errors.js';
import { S3_LAKE_COMMANDS } from '../../src/cli/lake.js';
import { buildProgram } from '../../src/cli/program.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'seclake-cli-lake-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const missing = path.join(dir, 'no-such-lake');
const notALake = path.join(dir, 'not-a-lake');
mkdirSync(notALake);
writeFileSync(path.join(notALake, 'notes.txt'), 'a folder, not a lake\n');
const labels = path.join(dir, 'labels.jsonl');
writeFileSync(labels, '');
const model = path.join(dir, 'never-read.model');

/** Run the command in-process; resolves with what it threw (undefined if it did not). */
async function run(args: string[]): Promise<unknown> {
  const program = await buildProgram(args);
  const quiet = (c: Command): void => {
    c.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    for (const s of c.commands) quiet(s);
  };
  quiet(program);
  try {
    await program.parseAsync(['node', 'seclake', ...args]);
    return undefined;
  } catch (err) {
    return err;
  }
}

/** Every command that reads a lake, with the arguments it needs besides --lake. */
const READERS: [string, string[]][] = [
  ['query', ['query', 'SELECT count(*) FROM vpc_flow']],
  ['query --views', ['query', '--views']],
  ['pairs', ['pairs', '--out', path.join(dir, 'pairs.csv')]],
  ['train', ['train', '--model', path.join(dir, 'm.model')]],
  ['train --detector rcf', ['train', '--detector', 'rcf', '--model', path.join(dir, 'r.model')]],
  ['calibrate', ['calibrate', '--model', model, '--since', '2024-01-01', '--until', '2024-01-02']],
  ['quarantine', ['quarantine']],
  ['findings', ['findings']],
  ['findings migrate', ['findings', 'migrate']],
  ['evaluate', ['evaluate', '--labels', labels]],
  ['feedback', ['feedback', 'benign', '0123456789abcdef0123456789abcdef']],
  ['feedback export', ['feedback', 'export', '--model', 'flows']],
  ['suppressions', ['suppressions']],
  ['suppressions remove', ['suppressions', 'remove', 'abcdef']],
  ['models list --lake', ['models', 'list']],
  ['monitor', ['monitor', '--once']],
  ['serve --lake', ['serve', '--model', `m=${model}`, '--port', '0']],
  ['catalog', ['catalog']],
  ['catalog ddl', ['catalog', 'ddl']],
];

function withLake(args: string[], lake: string): string[] {
  // `findings migrate`, `feedback export` and `suppressions remove` take --lake from their parent command.
  return [...args, '--lake', lake];
}

describe('a lake path that is not a lake', () => {
  for (const [name, args] of READERS) {
    it(`${name}: a missing directory and a directory without _seclake/ are errors naming the path`, async () => {
      const e1 = await run(withLake(args, missing));
      assert.ok(e1 instanceof NoLakeError, `${name}: ${String(e1)}`);
      assert.equal(e1.location, missing);
      assert.match(e1.message, new RegExp(`no lake at ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the directory does not exist`));
      const e2 = await run(withLake(args, notALake));
      assert.ok(e2 instanceof NoLakeError, `${name}: ${String(e2)}`);
      assert.match(e2.message, /has no _seclake\//);
    });
  }

  it('$SECLAKE_LAKE and the default ./seclake-data are checked the same way', async () => {
    const saved = process.env.SECLAKE_LAKE;
    process.env.SECLAKE_LAKE = missing;
    try {
      const e = await run(['query', 'SELECT 1']);
      assert.ok(e instanceof NoLakeError && e.location === missing, String(e));
    } finally {
      if (saved === undefined) delete process.env.SECLAKE_LAKE;
      else process.env.SECLAKE_LAKE = saved;
    }
  });

  it('as a user sees it: exit status 2 and the path on stderr (seclake query prints no 0)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'query', '--lake', missing, 'SELECT count(*) FROM vpc_flow'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `seclake: no lake at ${missing}: the directory does not exist (\`seclake ingest --lake ${missing}\` creates a lake)\n`);
  });

  it('query sees the views defined above the lake (findings, incidents, host features) without the other commands loaded', () => {
    const lake = path.join(dir, 'views-lake');
    mkdirSync(path.join(lake, '_seclake'), { recursive: true });
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'query', '--lake', lake, '--views'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const views = r.stdout.split('\n');
    for (const v of ['findings', 'incidents', 'incident_revisions', 'ocsf_process_activity', 'vpc_flow']) assert.ok(views.includes(v), `${v} in ${r.stdout}`);
  });

  it('commands that create a lake do not need one: ingest, monitor --watch', async () => {
    const empty = path.join(dir, 'empty.log');
    writeFileSync(empty, '');
    const lake = path.join(dir, 'new-lake');
    const saved = process.stdout.write.bind(process.stdout);
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      assert.equal(await run(['ingest', empty, '--lake', lake]), undefined);
    } finally {
      process.stdout.write = saved;
    }
    // Now it is a lake: the same query answers.
    const e = await run(['quarantine', '--lake', lake, '--json']);
    assert.equal(e, undefined);
    // monitor --watch on a missing lake goes past the lake check (here it stops at the model it cannot find).
    const w = await run(['monitor', '--lake', path.join(dir, 'watched-lake'), '--watch', dir, '--model', model, '--once']);
    assert.ok(!(w instanceof NoLakeError), String(w));
  });
});

describe('an S3 lake given to a command that reads local lakes only', () => {
  const refusing: [string, string[]][] = [
    ['feedback', ['feedback', 'benign', '0123456789abcdef0123456789abcdef']],
    ['suppressions', ['suppressions']],
    ['feedback export', ['feedback', 'export', '--model', 'flows']],
    ['models list --lake', ['models', 'list']],
    ['serve --lake', ['serve', '--model', `m=${model}`, '--port', '0']],
  ];
  for (const [name, args] of refusing) {
    it(`${name}: refused, naming the commands that take an s3:// lake`, async () => {
      const e = await run(withLake(args, 's3://bucket/lake'));
      assert.ok(e instanceof NoLakeError, `${name}: ${String(e)}`);
      assert.equal(e.location, 's3://bucket/lake');
      assert.match(e.message, /does not take an S3 lake \(s3:\/\/bucket\/lake\)/);
      assert.ok(e.message.includes(`Commands that take an s3:// lake: ${S3_LAKE_COMMANDS.join(', ')}`), e.message);
    });
  }

  it('train on an S3 lake needs --model (models are registered for local lakes only), before reading anything', async () => {
    const e = await run(['train', '--lake', 's3://bucket/lake']);
    assert.match(String(e), /give --model FILE: a model trained on the S3 lake s3:\/\/bucket\/lake/);
    const n = await run(['train', '--lake', 's3://bucket/lake', '--model', model, '--name', 'x']);
    assert.match(String(n), /--name registers the model for a local lake/);
  });
});
