import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.join(ROOT, 'src');

// ---- Layers (docs/ARCHITECTURE.md, "Layers") ------------------------------------------------------------
// A file in a top-level folder of src/ may import its own folder and the folders listed for it, nothing else.
// Every form counts: value and type-only imports, re-exports, import(), import('...').T types, require().
// '(root)' is the files directly in src/ (src/lambda.ts): entry points, imported by nobody.
// Checked by the seclake/layers rule below; test/lint/layers.test.ts proves it fires.
const PIPELINE = ['core', 'ocsf', 'lake', 'sources', 'detectors', 'findings', 'sinks'];
export const LAYERS = {
  core: [],
  ocsf: ['core'],
  lake: ['core', 'ocsf'],
  sources: ['core', 'ocsf', 'lake'],
  detectors: ['core', 'ocsf', 'lake'],
  findings: ['core', 'ocsf', 'lake', 'detectors'],
  sinks: ['core', 'ocsf', 'lake', 'detectors', 'findings'],
  ingest: [...PIPELINE],
  calibrate: [...PIPELINE],
  monitor: [...PIPELINE, 'ingest', 'calibrate'],
  serve: [...PIPELINE, 'ingest', 'calibrate'],
  dashboard: [...PIPELINE, 'ingest', 'calibrate', 'monitor', 'serve'],
  demo: [...PIPELINE, 'ingest', 'calibrate', 'monitor', 'serve', 'dashboard'],
  cli: [...PIPELINE, 'ingest', 'calibrate', 'monitor', 'serve', 'dashboard', 'demo'],
  '(root)': [...PIPELINE, 'ingest', 'calibrate', 'monitor', 'serve', 'dashboard', 'demo'],
};

// TEMPORARY exceptions: exact file -> exact import specifier, nothing else. Each is an upward import that work in
// progress on issue 11 removes; whoever lands that work deletes the line (seclake/layers-allowlist warns about
// a line whose import is gone). Do not add lines: move the shared code down a layer instead.
export const LAYER_EXCEPTIONS = [
  // Empty: every upward import issue 11 found is gone. A line here is [file, import specifier], with the reason.
];

/** Files exempt from the layer rule: tests and test-only helpers may reach across layers. */
const LAYER_EXEMPT = ['src/**/*.test.ts', 'src/sources/ocsf/test-input.ts'];

/** Path of `abs` relative to src/ with `/` separators, or undefined when it is outside src/. */
function srcRelative(abs) {
  const rel = path.relative(SRC, abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

function layerOf(srcRel) {
  const i = srcRel.indexOf('/');
  return i < 0 ? '(root)' : srcRel.slice(0, i);
}

const label = (layer) => (layer === '(root)' ? 'src/ (root files)' : `src/${layer}/`);

function stringValue(node) {
  if (!node) return undefined;
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0].value.cooked;
  return undefined;
}

/** Visitors calling `check(sourceNode)` for every way a module names another one. */
function moduleReferences(check) {
  return {
    ImportDeclaration: (n) => check(n.source),
    ExportNamedDeclaration: (n) => n.source && check(n.source),
    ExportAllDeclaration: (n) => check(n.source),
    ImportExpression: (n) => check(n.source),
    TSImportType: (n) => check(n.source ?? n.argument?.literal),
    TSImportEqualsDeclaration: (n) => n.moduleReference.type === 'TSExternalModuleReference' && check(n.moduleReference.expression),
    CallExpression: (n) => n.callee.type === 'Identifier' && n.callee.name === 'require' && check(n.arguments[0]),
  };
}

/** For a linted file: its layer and a function giving the layer an import specifier points into (or undefined). */
function fileContext(context) {
  const file = context.filename;
  const rel = srcRelative(file);
  if (rel === undefined) return undefined;
  return {
    key: `src/${rel}`,
    layer: layerOf(rel),
    target(spec) {
      if (!spec.startsWith('.')) return undefined; // packages and node: builtins
      const to = srcRelative(path.resolve(path.dirname(file), spec));
      return to === undefined ? undefined : layerOf(to);
    },
  };
}

const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports between the top-level folders of src/ follow the layer matrix (docs/ARCHITECTURE.md, "Layers")' },
    schema: [],
    messages: {
      upward:
        'seclake/layers: {{from}} may not import {{to}} ({{spec}}); type-only imports count too. {{from}} may import {{allowed}}. ' +
        'Move what both need down a layer (see "Layers" in docs/ARCHITECTURE.md).',
      unknownLayer: 'seclake/layers: {{folder}} is not a layer; add it to LAYERS in eslint.config.js and to "Layers" in docs/ARCHITECTURE.md.',
    },
  },
  create(context) {
    const f = fileContext(context);
    if (!f) return {};
    const exceptions = new Set(LAYER_EXCEPTIONS.filter(([file]) => file === f.key).map(([, spec]) => spec));
    const known = f.layer in LAYERS;
    return {
      Program(node) {
        if (!known) context.report({ node, messageId: 'unknownLayer', data: { folder: label(f.layer) } });
      },
      ...moduleReferences((node) => {
        const spec = stringValue(node);
        const to = spec === undefined ? undefined : f.target(spec);
        if (!known || to === undefined || to === f.layer) return;
        if (!(to in LAYERS)) {
          context.report({ node, messageId: 'unknownLayer', data: { folder: label(to) } });
        } else if (!LAYERS[f.layer].includes(to) && !exceptions.has(spec)) {
          const allowed = LAYERS[f.layer].map(label).join(', ') || 'nothing outside itself';
          context.report({ node, messageId: 'upward', data: { from: label(f.layer), to: label(to), spec: `'${spec}'`, allowed } });
        }
      }),
    };
  },
};

const allowlistRule = {
  meta: {
    type: 'suggestion',
    docs: { description: 'Every temporary layer exception in eslint.config.js is still needed' },
    schema: [],
    messages: { stale: "seclake/layers-allowlist: this file no longer imports '{{spec}}'; delete its line from LAYER_EXCEPTIONS in eslint.config.js." },
  },
  create(context) {
    const f = fileContext(context);
    if (!f) return {};
    const unused = new Set(LAYER_EXCEPTIONS.filter(([file]) => file === f.key).map(([, spec]) => spec));
    if (unused.size === 0) return {};
    return {
      ...moduleReferences((node) => unused.delete(stringValue(node))),
      'Program:exit'(node) {
        for (const spec of unused) context.report({ node, messageId: 'stale', data: { spec } });
      },
    };
  },
};

const seclake = { meta: { name: 'seclake-local' }, rules: { layers: layersRule, 'layers-allowlist': allowlistRule } };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'seclake-data/**', 'coverage/**', '**/testdata/**', '.exp/**', '.bench-tmp/**', '.tmp-*', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/**/*.{ts,mts,cts,js,mjs,cjs}'],
    ignores: LAYER_EXEMPT,
    plugins: { seclake },
    rules: { 'seclake/layers': 'error', 'seclake/layers-allowlist': 'warn' },
  },
);
