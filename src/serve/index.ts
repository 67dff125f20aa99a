/**
 * Public API of the inference server. `startIpInsightsServer` is the one-call entry point used by
 * `seclake serve`; the rest lets other code (a dashboard, tests) build, extend and run the app.
 */
export {
  createServeApp,
  ServeApp,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_VARIANT,
  type MountedHandler,
  type Offloader,
  type MountOptions,
  type ResultOf,
  type RouteContext,
  type ServeAppOptions,
  type ServeLogger,
  type WireCodec,
} from './app.js';
export { listen, handleSignals, type ListenOptions, type RunningServer } from './server.js';
export {
  ModelRegistry,
  isValidEndpointName,
  type LoadedModel,
  type ModelLoader,
  type ModelRegistryOptions,
  type ModelSpec,
  type ReloadEvent,
  type ScoreResultLike,
  type ServableModel,
} from './registry.js';
export { ServeMetrics, LATENCY_BUCKETS } from './metrics.js';
export { negotiateAccept, parseJsonInstances, parseJsonLines, requestFormat, type AcceptChoice, type Pair, type RequestFormat, type ResponseFormat } from './formats.js';
export { verifySigV4, type SigV4Result, type SigV4VerifyOptions } from './sigv4.js';
export { startIpInsightsServer, ipInsightsCodec, type IpInsightsServerOptions } from './ipinsights.js';
export { ScorePool, shareModel, defaultWorkerCount, DEFAULT_OFFLOAD_MIN_BYTES } from './score-pool.js';
