/**
 * Typed errors for seclake. Every message names the object it is about (file, line, field, key).
 * Library code throws these; only src/cli turns them into exit codes.
 */

export class SeclakeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SeclakeError';
  }
}

/** Invalid configuration or command-line input. `path` lists the offending keys (dotted). */
export class ConfigError extends SeclakeError {
  readonly path: string[];
  constructor(message: string, path: string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
    this.path = path;
  }
}

/**
 * `--lake` (or $SECLAKE_LAKE, or the default ./seclake-data) names no lake: a directory that does not exist or holds
 * no `_seclake/`, an S3 prefix with no catalog, or an S3 lake given to a command that reads local lakes only.
 * `location` is the path or s3:// URL as resolved.
 */
export class NoLakeError extends ConfigError {
  readonly location: string;
  constructor(location: string, message: string, options?: { cause?: unknown }) {
    super(message, ['lake'], options);
    this.name = 'NoLakeError';
    this.location = location;
  }
}

/**
 * A record or object could not be parsed. `kind` follows matano: `partial` sidelines one line/record,
 * `total` fails the whole object (never the process).
 */
export class ParseError extends SeclakeError {
  readonly file: string;
  readonly line: number | undefined;
  readonly field: string | undefined;
  readonly kind: 'partial' | 'total';
  constructor(
    message: string,
    ctx: { file: string; line?: number; field?: string; kind?: 'partial' | 'total' },
    options?: { cause?: unknown },
  ) {
    const where = `${ctx.file}${ctx.line !== undefined ? `:${ctx.line}` : ''}${ctx.field ? ` field ${ctx.field}` : ''}`;
    super(`${where}: ${message}`, options);
    this.name = 'ParseError';
    this.file = ctx.file;
    this.line = ctx.line;
    this.field = ctx.field;
    this.kind = ctx.kind ?? 'partial';
  }
}

/** A model file is unreadable, of the wrong format, or of a newer format version. */
export class ModelFileError extends SeclakeError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'ModelFileError';
    this.file = file;
  }
}

/** Training diverged (NaN/Inf loss) or could not start. */
export class TrainingError extends SeclakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrainingError';
  }
}

/** Lake I/O problems (layout, catalog, Parquet write, SQL). */
export class LakeError extends SeclakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LakeError';
  }
}

/** A sink (webhook, file, ...) failed. Permanent errors are not retried. */
export class SinkError extends SeclakeError {
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SinkError';
    this.permanent = permanent;
  }
}

/** An HTTP-level error with the status and the AWS error type to send (x-amzn-ErrorType). */
export class HttpError extends SeclakeError {
  readonly status: number;
  readonly errorType: string;
  constructor(status: number, errorType: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpError';
    this.status = status;
    this.errorType = errorType;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
