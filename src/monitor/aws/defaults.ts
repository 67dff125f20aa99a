/**
 * AWS mode's defaults, in a module that loads no SDK: `seclake monitor --help` shows them (src/monitor/aws/cli.ts)
 * without loading the S3 and SQS clients.
 */
import type { RetryPolicy } from './message.js';

export const DEFAULT_RETRY: RetryPolicy = { maxReceives: 5, baseDelaySeconds: 5, maxDelaySeconds: 900 };

/** Default largest object downloaded (Security Lake objects are tens of MB at most). */
export const DEFAULT_MAX_OBJECT_BYTES = 2 * 1024 ** 3;
