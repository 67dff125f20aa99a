/**
 * `seclake serve` in one call: models of any detector loaded with loadModel (so a file may even change detector
 * type on reload), each endpoint replying in its own model's wire format, the shared request formats, and the
 * worker pool for large bodies.
 */
import { loadModel } from '../detectors/index.js';
import type { AnyDetectorModel } from '../detectors/types.js';
import { sharedModel } from '../detectors/worker-pool.js';
import { createServeApp, type ServeLogger } from './app.js';
import { ModelRegistry, type ModelSpec, type ReloadEvent } from './registry.js';
import { ScorePool } from './score-pool.js';
import { listen, type RunningServer } from './server.js';

export interface ServerOptions {
  /** The first model is the default (served on /invocations). */
  models: ModelSpec[];
  port?: number;
  host?: string;
  authToken?: string;
  accessKeys?: ReadonlyMap<string, string>;
  maxBodyBytes?: number;
  /** Budget for the request bodies of all requests in flight together (default 256 MiB); beyond it, 503 + Retry-After. */
  maxInflightBytes?: number;
  /** Most connections open at once (default 1024). */
  maxConnections?: number;
  /** Extra Host header names accepted when bound to loopback (DNS-rebinding check); `*` turns the check off. */
  allowedHosts?: readonly string[];
  /** Watch model files for changes (default true). */
  watch?: boolean;
  debounceMs?: number;
  log?: ServeLogger;
  /** Worker threads for large bodies (default 0: score everything on the main thread). */
  workers?: number;
  /** Bodies at least this large go to a worker (default 16 KiB). */
  offloadMinBytes?: number;
}

/** Loads every model (fails fast on a bad file), builds the app and listens. */
export async function startServer(opts: ServerOptions): Promise<RunningServer<AnyDetectorModel>> {
  const log = opts.log;
  // Reload events can arrive before create() returns (a watch error), so the listener reads a holder.
  const holder: { registry?: ModelRegistry<AnyDetectorModel> } = {};
  const workers = opts.workers ?? 0;
  const registry = await ModelRegistry.create<AnyDetectorModel>(opts.models, {
    // With workers, model data lives in SharedArrayBuffers so every thread scores from the same memory.
    loader: workers > 0 ? async (file) => sharedModel(await loadModel(file)) : loadModel,
    watch: opts.watch ?? true,
    ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
    ...(log ? { onEvent: (ev: ReloadEvent) => logReload(log, ev, holder.registry) } : {}),
  });
  holder.registry = registry;
  let pool: ScorePool | undefined;
  if (workers > 0) {
    const p = new ScorePool({ threads: workers, ...(opts.offloadMinBytes !== undefined ? { minBodyBytes: opts.offloadMinBytes } : {}), ...(log ? { log } : {}) });
    pool = p;
    // A reloaded model replaces the old one in the workers once the requests still using it are done.
    const current = new Map(registry.names().map((n) => [n, registry.get(n)!.model]));
    registry.on((ev) => {
      if (ev.kind !== 'reloaded') return;
      const old = current.get(ev.name);
      const now = registry.get(ev.name)!.model;
      current.set(ev.name, now);
      if (old && old !== now) p.forget(old);
    });
  }
  const app = createServeApp({
    registry,
    ...(opts.authToken !== undefined ? { authToken: opts.authToken } : {}),
    ...(opts.accessKeys !== undefined ? { accessKeys: opts.accessKeys } : {}),
    ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
    ...(opts.maxInflightBytes !== undefined ? { maxInflightBytes: opts.maxInflightBytes } : {}),
    ...(log ? { log } : {}),
    ...(pool ? { offload: pool } : {}),
  });
  try {
    return await listen(app, {
      ...(opts.port !== undefined ? { port: opts.port } : {}),
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}),
      ...(opts.allowedHosts !== undefined ? { allowedHosts: opts.allowedHosts } : {}),
      ...(pool ? { onClose: () => pool.close() } : {}),
    });
  } catch (err) {
    registry.close();
    await pool?.close();
    throw err;
  }
}

function logReload(log: ServeLogger, ev: ReloadEvent, registry: ModelRegistry<AnyDetectorModel> | undefined): void {
  switch (ev.kind) {
    case 'reloaded': {
      const m = registry?.get(ev.name)?.model;
      log.info(`Reloaded model ${ev.name} from ${ev.path} (generation ${ev.generation}, ${ev.trigger})${m ? `, detector ${m.detector.type}` : ''}`);
      break;
    }
    case 'failed':
      log.warn(`Reload of model ${ev.name} from ${ev.path} failed (${ev.trigger}); still serving generation ${registry?.get(ev.name)?.generation ?? '?'}: ${ev.error}`);
      break;
    case 'watch-error':
      log.warn(`Cannot watch ${ev.path} for model ${ev.name}; reload with SIGHUP instead: ${ev.error}`);
      break;
    case 'unchanged':
      break;
  }
}
