/** Typed errors of the AWS mode of the monitor (SQS notifications, S3 objects, the Lambda handler's config). */
import { SeclakeError } from '../../core/errors.js';

/**
 * An SQS message body that is not a notification the monitor understands (not JSON, an unknown shape, an object
 * without a bucket or key). Retrying cannot fix it, so the message is moved aside at once.
 */
export class NotificationError extends SeclakeError {
  readonly messageId: string;
  constructor(messageId: string, message: string, options?: { cause?: unknown }) {
    super(`SQS message ${messageId}: ${message}`, options);
    this.name = 'NotificationError';
    this.messageId = messageId;
  }
}

/**
 * A source object could not be fetched or processed. `permanent` means a retry cannot help (the object is missing, too
 * large, or not a readable Parquet file); transient errors (throttling, network) are retried with backoff.
 */
export class S3ObjectError extends SeclakeError {
  readonly uri: string;
  readonly permanent: boolean;
  constructor(uri: string, message: string, permanent: boolean, options?: { cause?: unknown }) {
    super(`${uri}: ${message}`, options);
    this.name = 'S3ObjectError';
    this.uri = uri;
    this.permanent = permanent;
  }
}
