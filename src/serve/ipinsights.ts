/**
 * The inference server wired to the IP Insights detector: model files loaded with IpInsightsModel.load,
 * CSV parsing and response formatting shared with `seclake score` (src/detectors/ipinsights/wire.ts).
 */
import { IpInsightsModel } from '../detectors/ipinsights/index.js';
import { parseIpInto } from '../detectors/ipinsights/ip.js';
import { formatPredictions, parseCsvPairs } from '../detectors/ipinsights/wire.js';
import { createServeApp, type ServeLogger, type WireCodec } from './app.js';
import { ModelRegistry, type ModelSpec, type ReloadEvent } from './registry.js';
import { ScorePool, shareModel } from './score-pool.js';
import { listen, type RunningServer } from './server.js';

const ipWords = new Uint32Array(4);

export const ipInsightsCodec: WireCodec = {
  parseCsvPairs,
  isValidIp: (ip) => parseIpInto(ip, ipWords) !== 0,
  formatPredictions: (results, accept, verbose) => formatPredictions(results, accept, verbose),
};

export interface IpInsightsServerOptions {
  /** The first model is the default (served on /invocations). */
  models: ModelSpec[];
  port?: number;
  host?: string;
  authToken?: string;
  accessKeys?: ReadonlyMap<string, string>;
  maxBodyBytes?: number;
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
export async function startIpInsightsServer(opts: IpInsightsServerOptions): Promise<RunningServer<IpInsightsModel>> {
  const log = opts.log;
  // Reload events can arrive before create() returns (a watch error), so the listener reads a holder.
  const holder: { registry?: ModelRegistry<IpInsightsModel> } = {};
  const workers = opts.workers ?? 0;
  const registry = await ModelRegistry.create(opts.models, {
    // With workers, weights live in SharedArrayBuffers so every thread scores from the same memory.
    loader: workers > 0 ? async (file) => shareModel(await IpInsightsModel.load(file)) : (file) => IpInsightsModel.load(file),
    watch: opts.watch ?? true,
    ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
    ...(log ? { onEvent: (ev: ReloadEvent) => logReload(log, ev, holder.registry) } : {}),
  });
  holder.registry = registry;
  const pool = workers > 0 ? new ScorePool({ threads: workers, ...(opts.offloadMinBytes !== undefined ? { minBodyBytes: opts.offloadMinBytes } : {}) }) : undefined;
  const app = createServeApp({
    registry,
    codec: ipInsightsCodec,
    ...(opts.authToken !== undefined ? { authToken: opts.authToken } : {}),
    ...(opts.accessKeys !== undefined ? { accessKeys: opts.accessKeys } : {}),
    ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
    ...(log ? { log } : {}),
    ...(pool ? { offload: pool } : {}),
  });
  try {
    return await listen(app, {
      ...(opts.port !== undefined ? { port: opts.port } : {}),
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      ...(pool ? { onClose: () => pool.close() } : {}),
    });
  } catch (err) {
    registry.close();
    await pool?.close();
    throw err;
  }
}

function logReload(log: ServeLogger, ev: ReloadEvent, registry: ModelRegistry<IpInsightsModel> | undefined): void {
  switch (ev.kind) {
    case 'reloaded':
      log.info(`Reloaded model ${ev.name} from ${ev.path} (generation ${ev.generation}, ${ev.trigger})`);
      break;
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
