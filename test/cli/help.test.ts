/**
 * The CLI loads only what it needs (issue 15): `seclake --help` lists the commands from src/cli/program.ts's table
 * without importing a command module, and `seclake <command> --help` imports that command's module only. Checked
 * here: the table agrees with the modules (the root help is the same text as with every module loaded), each
 * command's help is the same loaded alone as with every command, and, in child processes with a module-resolution
 * hook (loaded.mjs), that a --help loads neither DuckDB nor the AWS SDK. Startup time is measured by
 * `npm run bench:cli`, not here.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Command, CommanderError, Help } from 'commander';
import { COMMANDS, buildProgram, commandOf } from '../../src/cli/program.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const HOOK = path.join(ROOT, 'test/cli/loaded.mjs');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'seclake-cli-help-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The help a program prints for these arguments (commander's exitOverride throws after writing it). */
async function helpOf(args: string[], opts: { all?: boolean } = {}): Promise<string> {
  const program = await buildProgram(args, opts);
  let out = '';
  const capture = (c: Command): void => {
    c.configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (out += s) });
    for (const sub of c.commands) capture(sub);
  };
  capture(program);
  try {
    await program.parseAsync(['node', 'seclake', ...args]);
    assert.fail(`no help for ${args.join(' ')}`);
  } catch (err) {
    assert.ok(err instanceof CommanderError, String(err));
    assert.equal(err.exitCode, 0, `${args.join(' ')}: ${err.message}`);
  }
  return out;
}

/** Every command name and subcommand path (`findings migrate`) of the fully loaded program. */
async function allCommandPaths(): Promise<string[][]> {
  const program = await buildProgram([], { all: true });
  const paths: string[][] = [];
  const walk = (c: Command, prefix: string[]): void => {
    for (const sub of c.commands) {
      paths.push([...prefix, sub.name()]);
      walk(sub, [...prefix, sub.name()]);
    }
  };
  walk(program, []);
  return paths;
}

describe('seclake --help without the command modules', () => {
  it('the table of commands agrees with the modules: names, order, usage and descriptions', async () => {
    const full = await buildProgram([], { all: true });
    const help = new Help();
    assert.deepEqual(
      full.commands.map((c) => c.name()),
      Object.keys(COMMANDS),
    );
    for (const c of full.commands) {
      const entry = COMMANDS[c.name()]!;
      assert.equal(c.description(), entry.summary, `${c.name()}: description`);
      assert.equal(help.subcommandTerm(c), `${c.name()}${entry.usage ? ` ${entry.usage}` : ''}`, `${c.name()}: usage`);
    }
  });

  it('the root help is the same text as with every command loaded', async () => {
    const full = await buildProgram([], { all: true });
    const light = await buildProgram(['--help']);
    assert.equal(light.helpInformation(), full.helpInformation());
    assert.match(light.helpInformation(), /^ {2}monitor \[options\] +Score every new lake object/m);
  });

  it('which command an argument list names', () => {
    assert.equal(commandOf(['query', '--lake', 'x', 'SELECT 1']), 'query');
    assert.equal(commandOf(['help', 'train']), 'train');
    assert.equal(commandOf(['--help']), undefined);
    assert.equal(commandOf(['quer']), undefined);
    assert.equal(commandOf(['suppressions', 'remove', 'abc']), 'suppressions');
  });

  it('each command (and subcommand) has the same help loaded alone as with every command loaded', async () => {
    const paths = await allCommandPaths();
    assert.ok(paths.length >= 25, `${paths.length} command paths`);
    for (const p of paths) {
      const alone = await helpOf([...p, '--help']);
      const withAll = await helpOf([...p, '--help'], { all: true });
      assert.equal(alone, withAll, p.join(' '));
      assert.match(alone, new RegExp(`^Usage: seclake ${p.join(' ')} `), p.join(' '));
      if (p.length === 1) assert.equal(await helpOf(['help', p[0]!]), alone, `help ${p[0]}`);
    }
  });

  it('an unknown command is an error that suggests the near one', async () => {
    const out = await (async () => {
      const program = await buildProgram(['quer']);
      let err = '';
      program.configureOutput({ writeErr: (s) => void (err += s), writeOut: () => {} });
      await assert.rejects(program.parseAsync(['node', 'seclake', 'quer']), (e: unknown) => e instanceof CommanderError && e.exitCode === 1);
      return err;
    })();
    assert.match(out, /unknown command 'quer'/);
    assert.match(out, /Did you mean query\?/);
  });
});

/** Run the CLI under tsx with the resolution hook; the packages (node_modules/<name>) it resolved. */
function loadedBy(args: string[], tag: string): Promise<{ status: number | null; packages: Set<string>; commandModules: Set<string>; stdout: string }> {
  const log = path.join(tmp, `${tag}.txt`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', HOOK, MAIN, ...args], { cwd: ROOT, env: { ...process.env, SECLAKE_LOADED_LOG: log }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', (status) => {
      let urls: string[] = [];
      try {
        urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      } catch {
        // nothing resolved through the hook: an empty list fails the assertions below
      }
      const packages = new Set<string>();
      const commandModules = new Set<string>();
      for (const u of urls) {
        const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
        if (m) packages.add(m[1]!);
        const c = /\/src\/cli\/commands\/([^/]+)\.ts$/.exec(u);
        if (c) commandModules.add(c[1]!);
      }
      resolve({ status, packages, commandModules, stdout });
    });
  });
}

const HEAVY = ['@duckdb/node-api', '@aws-sdk/client-s3', '@aws-sdk/client-sqs', '@resvg/resvg-js', 'chokidar'];

describe('what a --help loads (child processes, module-resolution hook)', () => {
  it('seclake --help: no command module, no DuckDB, no AWS SDK, no zod', async () => {
    const r = await loadedBy(['--help'], 'root');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: seclake /);
    assert.ok(r.packages.has('commander'), `the hook saw the packages: ${[...r.packages].join(', ')}`);
    assert.deepEqual([...r.commandModules], []);
    for (const p of [...HEAVY, 'zod']) assert.ok(!r.packages.has(p), `seclake --help loaded ${p}`);
  });

  it('the hook sees DuckDB when a command uses it (so its absence below means something)', async () => {
    mkdirSync(path.join(tmp, 'lake', '_seclake'), { recursive: true });
    const r = await loadedBy(['query', '--lake', path.join(tmp, 'lake'), '--format', 'csv', 'SELECT 42 AS x'], 'query-run');
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'x\n42\n');
    assert.ok(r.packages.has('@duckdb/node-api'));
  });

  it('seclake <command> --help: that command module only, and no DuckDB or AWS SDK', async () => {
    const names = Object.keys(COMMANDS);
    const results = new Map<string, Awaited<ReturnType<typeof loadedBy>>>();
    // Four at a time: each is a Node.js process with tsx.
    for (let i = 0; i < names.length; i += 4) {
      const batch = names.slice(i, i + 4);
      const rs = await Promise.all(batch.map((n) => loadedBy([n, '--help'], n)));
      batch.forEach((n, j) => results.set(n, rs[j]!));
    }
    for (const [name, r] of results) {
      assert.equal(r.status, 0, name);
      assert.match(r.stdout, new RegExp(`^Usage: seclake ${name} `), name);
      // feedback.ts registers feedback and suppressions; evaluate takes --since/--until as findings does.
      const own = { suppressions: ['feedback'], evaluate: ['evaluate', 'findings'] }[name] ?? [name];
      assert.deepEqual([...r.commandModules].sort(), own, `${name} --help loaded the command modules ${[...r.commandModules].join(', ')}`);
      for (const p of HEAVY) assert.ok(!r.packages.has(p), `${name} --help loaded ${p}`);
    }
  });
});
