/**
 * Public API of the inference server. `startServer` is the one-call entry point used by `seclake serve` (models of
 * any detector); the rest lets other code (a dashboard, tests) build, extend and run the app.
 */
export {
  createServeApp,
  ServeApp,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_INFLIGHT_BYTES,
  DEFAULT_VARIANT,
  type MountedHandler,
  type Offloader,
  type MountOptions,
  type RouteContext,
  type ServeAppOptions,
  type ServeLogger,
} from './app.js';
export { listen, handleSignals, isLoopbackHost, loopbackHostSet, DEFAULT_MAX_CONNECTIONS, type ListenOptions, type RunningServer } from './server.js';
export {
  ModelRegistry,
  isValidEndpointName,
  type LoadedModel,
  type ModelLoader,
  type ModelRegistryOptions,
  type ModelSpec,
  type ReloadEvent,
  type ServableModel,
} from './registry.js';
export { ServeMetrics, LATENCY_BUCKETS } from './metrics.js';
export {
  negotiateAccept,
  parseCsvPairs,
  parseJsonInstances,
  parseJsonLines,
  parsePairs,
  requestFormat,
  type AcceptChoice,
  type Pair,
  type ParsedPairs,
  type RequestFormat,
  type ResponseFormat,
} from './formats.js';
export { scoreBody, type ScoredBody } from './score-body.js';
export { verifySigV4, type SigV4Result, type SigV4VerifyOptions } from './sigv4.js';
export { startServer, type ServerOptions } from './start.js';
export { ScorePool, defaultWorkerCount, DEFAULT_OFFLOAD_MIN_BYTES } from './score-pool.js';
