/**
 * Builds the Lambda artifact: what `sam build` puts in .aws-sam/build/MonitorFunction (deploy/sam/Makefile calls
 * this with $ARTIFACTS_DIR), and what `npm run build:lambda -- DIR` writes anywhere else.
 *
 *   DIR/lambda.mjs, lambda.mjs.map   src/lambda.ts and everything it imports, bundled by esbuild (ESM, Node.js 20+);
 *                                    handler `lambda.handler`
 *   DIR/node_modules/@duckdb/node-bindings-linux-x64/   DuckDB's native library for the Lambda platform (the only
 *                                    package not bundled: a .node addon and its shared library cannot be)
 *   DIR/assets/..., DIR/package.json the files the bundled code reads through `new URL('<path>', import.meta.url)`
 *
 * Every module keeps its own `import.meta.url`: a module's URL is where it would be if the repository were laid out
 * under DIR (src/ocsf/schema.ts -> DIR/src/ocsf/schema.js), so `new URL('../../assets/...', import.meta.url)` finds
 * DIR/assets/..., and those files are copied there (package.json trimmed to name and version). Nothing the function
 * does not import is carried: the build fails if the bundle pulls in a package only the CLI needs (the ASN table,
 * the SVG renderer).
 *
 *   node --import tsx scripts/build-lambda.ts DIR
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'src', 'lambda.ts');
/** The function's platform (template.yaml: Architectures [x86_64], a glibc Amazon Linux runtime). */
const NATIVE_PACKAGE = '@duckdb/node-bindings-linux-x64';
/** Packages the CLI uses that must never reach the function (size, native code it does not run). */
const FORBIDDEN = ['@ip-location-db/', '@resvg/', 'playwright-core', 'typescript', 'chokidar', 'cli-progress'];

class BuildError extends Error {
  override name = 'BuildError';
}

/** Bytes of the files under a directory. */
export function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

/**
 * Gives each bundled source module its own import.meta.url (its place under the artifact root) and records the
 * files it reads relative to it.
 */
function importMetaUrlPlugin(assets: Map<string, string>): Plugin {
  return {
    name: 'seclake-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const rel = path.relative(ROOT, args.path);
        if (!text.includes('import.meta.url') || rel.startsWith('..')) return undefined;
        for (const m of text.matchAll(/new URL\(\s*(['"])([^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g)) {
          const target = path.resolve(path.dirname(args.path), m[2]!);
          if (/\.[cm]?[jt]s$/.test(target)) continue; // a module (a worker entry): not data the function reads
          const targetRel = path.relative(ROOT, target);
          if (targetRel.startsWith('..') || !existsSync(target)) {
            throw new BuildError(`${rel}: new URL(${JSON.stringify(m[2])}, import.meta.url) names ${target}, which is not a file of the repository`);
          }
          assets.set(targetRel, rel);
        }
        const moduleUrl = `new URL(${JSON.stringify(rel.split(path.sep).join('/').replace(/\.ts$/, '.js'))}, __seclakeArtifactRoot).href`;
        return { contents: text.replaceAll('import.meta.url', moduleUrl), loader: 'ts', resolveDir: path.dirname(args.path) };
      });
    },
  };
}

/** The native DuckDB package for the Lambda platform: from node_modules on a linux x64 host, else from the registry. */
function installNative(out: string): void {
  const bindings = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', '@duckdb', 'node-bindings', 'package.json'), 'utf8')) as {
    optionalDependencies?: Record<string, string>;
  };
  const version = bindings.optionalDependencies?.[NATIVE_PACKAGE];
  if (!version) throw new BuildError(`@duckdb/node-bindings names no ${NATIVE_PACKAGE} version (optionalDependencies)`);
  const dest = path.join(out, 'node_modules', ...NATIVE_PACKAGE.split('/'));
  const local = path.join(ROOT, 'node_modules', ...NATIVE_PACKAGE.split('/'));
  const localVersion = existsSync(path.join(local, 'package.json')) ? (JSON.parse(readFileSync(path.join(local, 'package.json'), 'utf8')) as { version?: string }).version : undefined;
  mkdirSync(path.dirname(dest), { recursive: true });
  if (localVersion === version) {
    cpSync(local, dest, { recursive: true });
    return;
  }
  // Another host (macOS, arm64): npm skipped the linux x64 package; fetch its tarball (npm's cache first).
  const tmp = mkdtempSync(path.join(tmpdir(), 'seclake-native-'));
  try {
    const name = execFileSync('npm', ['pack', '--prefer-offline', '--silent', `${NATIVE_PACKAGE}@${version}`, '--pack-destination', tmp], { encoding: 'utf8' }).trim().split('\n').pop()!;
    mkdirSync(dest, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(tmp, name), '-C', dest, '--strip-components=1']);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function buildLambda(out: string): Promise<{ bytes: number; bundleBytes: number; files: string[] }> {
  out = path.resolve(out);
  if (existsSync(out) && readdirSync(out).length > 0) throw new BuildError(`${out} is not empty: the artifact is built into an empty directory`);
  mkdirSync(out, { recursive: true });
  const assets = new Map<string, string>();
  const res = await build({
    entryPoints: [ENTRY],
    outfile: path.join(out, 'lambda.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // ESM builds of the AWS SDK where packages have them.
    mainFields: ['module', 'main'],
    external: ['@duckdb/node-bindings-*'],
    // CommonJS dependencies call require() (node: builtins, the native binding): give the ES module one.
    banner: {
      js: [
        "import { createRequire as __seclakeCreateRequire } from 'node:module';",
        'const require = __seclakeCreateRequire(import.meta.url);',
        "const __seclakeArtifactRoot = new URL('./', import.meta.url);",
      ].join('\n'),
    },
    minify: true,
    // Error class names are reported (DLQ attribute seclake-error, logs): keep them.
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
    plugins: [importMetaUrlPlugin(assets)],
  });
  const inputs = Object.keys(res.metafile.inputs);
  const forbidden = inputs.filter((i) => FORBIDDEN.some((f) => i.includes(`node_modules/${f}`)));
  if (forbidden.length > 0) throw new BuildError(`the function bundle pulls in packages it must not carry: ${forbidden.slice(0, 5).join(', ')}`);

  for (const [rel, from] of assets) {
    const dest = path.join(out, rel);
    mkdirSync(path.dirname(dest), { recursive: true });
    if (rel === 'package.json') {
      const pkg = JSON.parse(readFileSync(path.join(ROOT, rel), 'utf8')) as { name: string; version: string };
      writeFileSync(dest, `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, description: `seclake Lambda artifact (read by ${from})` }, null, 2)}\n`);
    } else {
      cpSync(path.join(ROOT, rel), dest);
    }
  }
  installNative(out);
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(path.relative(out, p).split(path.sep).join('/'));
    }
  };
  walk(out);
  return { bytes: dirBytes(out), bundleBytes: statSync(path.join(out, 'lambda.mjs')).size, files: files.sort() };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node --import tsx scripts/build-lambda.ts OUTPUT_DIR\n');
    process.exit(2);
  }
  buildLambda(out).then(
    (r) => {
      process.stderr.write(`built ${out}: ${r.files.length} files, ${(r.bytes / 1e6).toFixed(1)} MB (lambda.mjs ${(r.bundleBytes / 1e6).toFixed(2)} MB)\n`);
    },
    (err: unknown) => {
      process.stderr.write(`build-lambda: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
