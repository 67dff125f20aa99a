/**
 * Servers backed by the real IP Insights model, trained once per test file on a small synthetic data
 * set (seeded, in-process, a few seconds): each user logs in from its own /16 most of the time.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { loadPairsCsv } from '../../src/detectors/pairs/data.js';
import type { AnyDetectorModel } from '../../src/detectors/types.js';
import { trainIpInsights } from '../../src/detectors/ipinsights/train.js';
import type { ServeAppOptions } from '../../src/serve/app.js';
import type { RunningServer } from '../../src/serve/server.js';
import { startServer as startModelServer } from '../../src/serve/start.js';
import { tempDir } from './helpers.js';

export interface TestServer {
  running: RunningServer<AnyDetectorModel>;
  url: string;
  dir: string;
  modelPath: string;
  close(): Promise<void>;
}

/** Users user_0 .. user_(n-1); user_i's home network is 10.(i % 50).x.x. */
export function syntheticPairs(rows: number, users: number, seed: number): string {
  const rng = new Rng(seed);
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    const u = rng.int(users);
    const ip = rng.next() < 0.9 ? `10.${u % 50}.${rng.int(256)}.${rng.int(256)}` : `${1 + rng.int(223)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
    lines.push(`user_${u},${ip}`);
  }
  return lines.join('\n') + '\n';
}

/** Trains a small model into `dir` and returns its path. */
export async function trainTinyModel(dir: string, name = 'tiny.model', seed = 1): Promise<string> {
  const csv = path.join(dir, `${name}.train.csv`);
  writeFileSync(csv, syntheticPairs(20_000, 200, seed));
  const modelPath = path.join(dir, name);
  await trainIpInsights({
    train: await loadPairsCsv([csv]),
    hyperparameters: { num_entity_vectors: 400, vector_dim: 16, epochs: 2, mini_batch_size: 500, threads: 1, seed, learning_rate: 0.01 },
    modelPath,
    inProcess: true,
    log: () => {},
  });
  return modelPath;
}

type AppExtras = Pick<ServeAppOptions<AnyDetectorModel>, 'authToken' | 'accessKeys' | 'maxBodyBytes'>;

/** A real-model server on 127.0.0.1:0 serving a freshly trained model as endpoint `name`. */
export async function startServer(opts: {
  name: string;
  app?: Partial<AppExtras>;
  watch?: boolean;
  debounceMs?: number;
  workers?: number;
  offloadMinBytes?: number;
  modelPath?: string;
}): Promise<TestServer> {
  const tmp = tempDir('real');
  try {
    const modelPath = opts.modelPath ?? (await trainTinyModel(tmp.dir));
    const running = await startModelServer({
      models: [{ name: opts.name, path: modelPath }],
      port: 0,
      host: '127.0.0.1',
      watch: opts.watch ?? false,
      ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
      ...(opts.offloadMinBytes !== undefined ? { offloadMinBytes: opts.offloadMinBytes } : {}),
      ...opts.app,
    });
    return {
      running,
      url: running.url,
      dir: tmp.dir,
      modelPath,
      async close() {
        await running.close({ timeoutMs: 2000 });
        tmp.cleanup();
      },
    };
  } catch (err) {
    tmp.cleanup();
    throw err;
  }
}
