/**
 * The layer rule (seclake/layers in eslint.config.js, "Layers" in docs/ARCHITECTURE.md): ESLint run through its
 * Node API on snippets placed at paths inside src/. An upward import fails in every form (value, type-only,
 * re-export, import(), import('...').T), an allowed one passes, a temporary exception covers exactly its file and
 * specifier, tests are exempt, a new folder must be given a layer, and the matrix in the docs is the one enforced.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let eslint: ESLint;
let config: { LAYERS: Record<string, string[]>; LAYER_EXCEPTIONS: [string, string][] };

before(async () => {
  eslint = new ESLint({ cwd: ROOT });
  config = (await import(pathToFileURL(path.join(ROOT, 'eslint.config.js')).href)) as typeof config;
});

/** Messages of the layer rules for `code` linted as if it were the file `file` (relative to the repo root). */
async function layerMessages(file: string, code: string): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  const fatal = result!.messages.find((m) => m.fatal);
  assert.equal(fatal, undefined, `${file} does not parse: ${fatal?.message}`);
  return result!.messages.filter((m) => m.ruleId?.startsWith('seclake/'));
}

async function assertUpward(file: string, code: string, from: string, to: string): Promise<void> {
  const msgs = await layerMessages(file, code);
  assert.equal(msgs.length, 1, `${file}: ${code}\n${JSON.stringify(msgs, null, 2)}`);
  const [m] = msgs;
  assert.equal(m!.ruleId, 'seclake/layers');
  assert.equal(m!.severity, 2);
  assert.match(m!.message, /^seclake\/layers: /);
  assert.ok(m!.message.includes(`src/${from}/ may not import src/${to}/`), m!.message);
}

test('an upward import fails, in every form of import', async () => {
  await assertUpward('src/lake/fake.ts', "import { findingsViewSql } from '../findings/lake.js';\nexport const x = findingsViewSql;\n", 'lake', 'findings');
  await assertUpward('src/ocsf/fake.ts', "import type { SourceDefinition } from '../sources/types.js';\nexport type X = SourceDefinition;\n", 'ocsf', 'sources');
  await assertUpward('src/lake/deep/fake.ts', "import { type SourceInput } from '../../sources/types.js';\nexport type X = SourceInput;\n", 'lake', 'sources');
  await assertUpward('src/calibrate/fake.ts', "export { createProgress } from '../cli/progress.js';\n", 'calibrate', 'cli');
  await assertUpward('src/detectors/fake.ts', "export * from '../findings/types.js';\n", 'detectors', 'findings');
  await assertUpward('src/detectors/fake.ts', "export async function f() { return import('../calibrate/apply.js'); }\n", 'detectors', 'calibrate');
  await assertUpward('src/sinks/fake.ts', "export type M = import('../monitor/processor.js').ProcessObjectFn;\n", 'sinks', 'monitor');
  await assertUpward('src/core/fake.ts', "export { log } from '../lake/duckdb.js';\n", 'core', 'lake');
  // sources sit beside detectors: neither imports the other
  await assertUpward('src/detectors/fake.ts', "import type { OcsfEvent } from '../sources/types.js';\nexport type X = OcsfEvent;\n", 'detectors', 'sources');
  // serve and monitor are siblings; only cli imports cli
  await assertUpward('src/serve/fake.ts', "export * from '../monitor/embedded.js';\n", 'serve', 'monitor');
  await assertUpward('src/demo/fake.ts', "export * from '../cli/main.js';\n", 'demo', 'cli');
});

test('the message names the rule, the forbidden edge and what the folder may import', async () => {
  const [m] = await layerMessages('src/lake/fake.ts', "import type { OcsfEvent } from '../sources/types.js';\nexport type X = OcsfEvent;\n");
  assert.equal(
    m!.message,
    "seclake/layers: src/lake/ may not import src/sources/ ('../sources/types.js'); type-only imports count too. " +
      'src/lake/ may import src/core/, src/ocsf/. Move what both need down a layer (see "Layers" in docs/ARCHITECTURE.md).',
  );
});

test('downward and same-folder imports, packages and files outside src/ pass', async () => {
  const code = [
    "import path from 'node:path';",
    "import { z } from 'zod';",
    "import type { OcsfEvent } from '../core/events.js';",
    "import { classByUid } from '../ocsf/schema.js';",
    "import { Duck } from './duckdb.js';",
    "import pkg from '../../package.json' with { type: 'json' };",
    'export const all = [path, z, classByUid, Duck, pkg];',
    'export type E = OcsfEvent;',
  ].join('\n');
  assert.deepEqual(await layerMessages('src/lake/fake.ts', code), []);
  assert.deepEqual(await layerMessages('src/cli/fake.ts', "export * from '../demo/generate.js';\nexport * from '../lake/views.js';\n"), []);
  assert.deepEqual(await layerMessages('src/lambda.ts', "export * from './monitor/aws/lambda-handler.js';\nexport * from './core/errors.js';\n"), []);
  assert.deepEqual(await layerMessages('src/sources/fake.ts', "export * from '../lake/duckdb.js';\nexport * from '../ocsf/derive.js';\n"), []);
});

test('a temporary exception covers exactly its file and its import', async (t) => {
  if (config.LAYER_EXCEPTIONS.length === 0) return t.skip('no temporary exceptions left');
  const [file, spec] = config.LAYER_EXCEPTIONS[0]!;
  const from = file.split('/')[1]!;
  const to = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).split('/')[1]!;
  // the file's excepted imports (all of them, so none is reported as no longer needed) pass
  const excepted = config.LAYER_EXCEPTIONS.filter(([f]) => f === file).map(([, s], i) => `export * as m${i} from '${s}';\n`).join('');
  assert.deepEqual(await layerMessages(file, excepted), []);
  // the same import from another file of the folder fails
  await assertUpward(path.posix.join(path.posix.dirname(file), 'not-excepted.ts'), `export * from '${spec}';\n`, from, to);
  // and the excepted file with one more upward import fails on that one
  const toCli = path.posix.relative(path.posix.dirname(file), 'src/cli/main.js');
  await assertUpward(file, excepted + `export * from '${toCli}';\n`, from, 'cli');
});

test('an exception whose import is gone is reported (a warning) so its line gets deleted', async (t) => {
  if (config.LAYER_EXCEPTIONS.length === 0) return t.skip('no temporary exceptions left');
  const [file, spec] = config.LAYER_EXCEPTIONS[0]!;
  const msgs = await layerMessages(file, 'export const x = 1;\n');
  assert.equal(msgs.length, config.LAYER_EXCEPTIONS.filter(([f]) => f === file).length);
  for (const m of msgs) {
    assert.equal(m.ruleId, 'seclake/layers-allowlist');
    assert.equal(m.severity, 1);
  }
  assert.ok(msgs.some((m) => m.message.includes(`no longer imports '${spec}'`)));
});

test('tests are exempt', async () => {
  assert.deepEqual(await layerMessages('src/lake/fake.test.ts', "import { ingest } from '../ingest/ingest.js';\nexport const x = ingest;\n"), []);
});

test('a folder of src/ without a layer fails until it is given one', async () => {
  const msgs = await layerMessages('src/pipeline/graph.ts', 'export const x = 1;\n');
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0]!.ruleId, 'seclake/layers');
  assert.match(msgs[0]!.message, /src\/pipeline\/ is not a layer; add it to LAYERS in eslint\.config\.js/);
  const into = await layerMessages('src/cli/fake.ts', "export * from '../pipeline/graph.js';\n");
  assert.match(into[0]!.message, /src\/pipeline\/ is not a layer/);
});

test('every folder of src/ has a layer, and docs/ARCHITECTURE.md shows the enforced matrix', () => {
  const folders = readdirSync(path.join(ROOT, 'src'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  for (const f of [...folders, '(root)']) assert.ok(f in config.LAYERS, `src/${f}/ has a layer in eslint.config.js`);
  const doc = readFileSync(path.join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8');
  const at = doc.indexOf('\n## Layers');
  assert.ok(at >= 0, 'docs/ARCHITECTURE.md has a "## Layers" section');
  const section = doc.slice(at);
  const table: Record<string, string[]> = {};
  for (const line of section.slice(1).split('\n## ')[0]!.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const folder = /^`([^`]+)`/.exec(cells[1] ?? '')?.[1];
    if (!folder) continue;
    table[folder] = [...(cells[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!).sort();
  }
  const enforced = Object.fromEntries(Object.entries(config.LAYERS).map(([k, v]) => [k, [...v].sort()]));
  assert.deepEqual(table, enforced);
});
