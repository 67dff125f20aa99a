/**
 * Assembles the WebAssembly kernels from their text sources (hand-written WAT, with wabt from the npm registry; no
 * binary is downloaded): src/detectors/ipinsights/wasm/kernel.wat -> kernel.wasm beside it (read by the sources
 * under tsx) and, when dist/ exists or --dist is given, dist/detectors/ipinsights/wasm/kernel.wasm (read by the
 * compiled CLI). `npm run build` and `prepare` run it after tsc; `npm test` runs it first.
 *
 *   node --import tsx scripts/build-wasm.ts [--dist]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KERNELS = ['src/detectors/ipinsights/wasm/kernel.wat'];

async function main(): Promise<void> {
  const wabt = await wabtInit();
  const toDist = process.argv.includes('--dist') || existsSync(path.join(ROOT, 'dist'));
  for (const rel of KERNELS) {
    const file = path.join(ROOT, rel);
    const features = { simd: true, threads: true, bulk_memory: true };
    const mod = wabt.parseWat(rel, readFileSync(file, 'utf8'), features);
    try {
      (mod.validate as (f: typeof features) => void)(features);
      const { buffer } = mod.toBinary({});
      const out = file.replace(/\.wat$/, '.wasm');
      writeFileSync(out, buffer);
      const outs = [path.relative(ROOT, out)];
      if (toDist) {
        const dist = path.join(ROOT, 'dist', path.relative(path.join(ROOT, 'src'), out));
        mkdirSync(path.dirname(dist), { recursive: true });
        writeFileSync(dist, buffer);
        outs.push(path.relative(ROOT, dist));
      }
      process.stdout.write(`build-wasm: ${rel} -> ${outs.join(', ')} (${buffer.length} bytes)\n`);
    } finally {
      mod.destroy();
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`build-wasm: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
