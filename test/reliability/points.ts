/**
 * Which fault points (src/core/fault.ts) each crash test kills the CLI at, as `SECLAKE_FAULT` values (`point[:hit]`).
 * test/reliability/fault.test.ts checks that every point is in at least one list.
 */
export const INGEST_LOCAL_FAULTS = [
  'ingest-mid-quarantine-write',
  // The second input staged, the first one published.
  'ingest-after-staging:2',
  'ingest-after-object-rename',
  'ingest-after-quarantine-rename',
  // The second input's objects appended after the first input's commit.
  'catalog-between-appends:2',
  'ingest-after-commit',
] as const;

/** The staging is the local lake's: only what differs (the local staging directory, the upload and the S3 commit). */
export const INGEST_S3_FAULTS = ['ingest-after-staging', 's3-after-object-put', 's3-before-commit-record:2'] as const;

/** The embedded monitor over a local lake (four source objects; findings in three of them). */
export const MONITOR_LOCAL_FAULTS = [
  'findings-after-object:2',
  'catalog-derived-after-rename:2',
  'sink-file-mid-append:2',
  'monitor-after-findings:2',
  'monitor-mid-checkpoint:2',
] as const;

/**
 * The embedded monitor over an S3 lake: its findings objects go through the S3 catalog, and a restart lists that
 * catalog after the checkpoint's sequence number (the checkpoint file itself is written as for a local lake).
 */
export const MONITOR_S3_FAULTS = ['s3-after-object-put:2', 's3-before-commit-record:2', 'findings-after-object:2', 'monitor-after-findings:2'] as const;

/**
 * AWS mode: S3 notifications on SQS, findings next to the source objects (published through that bucket's S3 catalog,
 * as by a monitor over an S3 lake, whose test kills at the other S3 points).
 */
export const AWS_FAULTS = ['aws-after-findings:2', 'aws-before-delete:2', 's3-before-commit-record:2'] as const;

export const ALL_FAULTS: readonly string[] = [...INGEST_LOCAL_FAULTS, ...INGEST_S3_FAULTS, ...MONITOR_LOCAL_FAULTS, ...MONITOR_S3_FAULTS, ...AWS_FAULTS];
