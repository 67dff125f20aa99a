/**
 * Contracts between the monitor (which scores lake objects), the findings builder (which turns scores into OCSF
 * Detection Findings) and the sinks (which deliver them). Kept in one file so each side can be built and tested alone.
 */

/** Where a scored record came from. */
export interface SourceRef {
  /**
   * The source object: a lake-relative POSIX path for a local lake
   * (`aws/VPC_FLOW/2.0/region=us-east-1/accountId=123/eventDay=20260101/x.parquet`) or `s3://bucket/key`.
   */
  object: string;
  /** 0-based row within the object (Parquet row order). */
  row: number;
  /** Lake source name (`VPC_FLOW`, `ROUTE53`, ...) when known. */
  source?: string;
}

/** One (entity, IP) pair taken from a source event, scored by a model. */
export interface ScoredRecord {
  ref: SourceRef;
  entity: string;
  ip: string;
  /** Event time, epoch ms. */
  time: number;
  dot_product: number;
  entity_known: boolean;
  /** Training rows with this entity (0 when unknown). */
  entity_count: number;
  /** Calibrated share of normal traffic scoring higher, in [0, 1]; absent when the model is uncalibrated. */
  anomaly_percentile?: number;
  /** dot_product below the calibrated threshold; absent when the model is uncalibrated. */
  is_anomaly?: boolean;
  /**
   * The source OCSF event's columns used as evidence, as plain JSON (whatever the object has of: class_uid,
   * class_name, time, metadata, cloud, src_endpoint, dst_endpoint, connection_info, traffic, query, actor, api).
   */
  event: Record<string, unknown>;
}

/** The model that produced a score (for finding_info.analytic and the explanation). */
export interface ModelRef {
  /** Model name (file base name without extension unless configured). */
  name: string;
  /** Stable version: the model's data_crc32 as 8 hex digits, or a configured version. */
  version: string;
  /** Calibrated threshold on dot_product, when calibrated. */
  threshold?: number;
}

/** What the explanation needs to know about an entity's training history. */
export interface EntityHistory {
  /** Distinct addresses the entity was seen with in training (0 if unknown or history not stored). */
  size(entity: string): number;
  /**
   * The training address of this entity sharing the longest prefix with `ip` (same family), and that prefix length
   * in bits; undefined when the entity has no stored history or the family differs.
   */
  nearest(entity: string, ip: string): { ip: string; prefix_len: number } | undefined;
  /**
   * (Optional, added by the findings builder.) Training addresses actually stored for this entity: the model keeps
   * a capped sample, so `nearest` is searched among `stored(entity)` of the `size(entity)` addresses.
   */
  stored?(entity: string): number;
}

/** An OCSF 1.1.0 Detection Finding (class_uid 2004) as a plain JSON object that validates against the schema. */
export type DetectionFinding = Record<string, unknown> & {
  class_uid: 2004;
  finding_info: { uid: string; title: string } & Record<string, unknown>;
};

/** A destination for findings. `send` may be called many times; `close` flushes. */
export interface Sink {
  readonly name: string;
  send(findings: readonly DetectionFinding[]): Promise<void>;
  close(): Promise<void>;
}
