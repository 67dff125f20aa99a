/** The server's default limits, in a module of their own so `seclake serve --help` shows them without loading the server. */

/** SageMaker's InvokeEndpoint body limit (6 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;
/** Default budget for the request bodies of all requests in flight together (256 MiB). */
export const DEFAULT_MAX_INFLIGHT_BYTES = 256 * 1024 * 1024;
/** Requests with bodies at least this large are scored on a worker (≈ 500 CSV pairs). */
export const DEFAULT_OFFLOAD_MIN_BYTES = 16 * 1024;
