import type { ThresholdSource } from '../detectors/calibration.js';
import type { ScoreInfo } from '../detectors/types.js';

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

/** How a calibrated model judged one record (calibration.ts annotateEntity); every field absent when uncalibrated. */
export interface RecordJudgement {
  /** Calibrated share of normal traffic scoring higher, in [0, 1]. */
  anomaly_percentile?: number;
  /** The native score is beyond the calibrated threshold (the entity's: `threshold`). */
  is_anomaly?: boolean;
  /**
   * The probability, under the entity's normal traffic (shrunk toward its group's and the global), of a score at
   * least this anomalous (calibration.ts pValueOf), per entity-hour where the calibration knows its rate.
   */
  p_value?: number;
  /** The calibrated threshold that judged the record (the entity's, its group's or the global one), native units. */
  threshold?: number;
  threshold_source?: ThresholdSource;
  /** Why that threshold: "below db-1's threshold 1.75 (its own 0.1% quantile 4.01 over 5,102 held-out pairs, ...)". */
  threshold_text?: string;
  /** The pair is in the model's training data: severity at most Low, percentile below 1. */
  seen_in_training?: boolean;
  /** The model's calibration or the entity's training history is thin: severity at most Medium. */
  low_support?: boolean;
}

/** One (entity, IP) pair taken from a source event, scored by a model of any detector. */
export interface ScoredRecord extends RecordJudgement {
  ref: SourceRef;
  entity: string;
  ip: string;
  /** Event time, epoch ms. */
  time: number;
  /** The detector's native score (IP Insights: dot_product; history: prefix_score); its direction is the model's. */
  native_score: number;
  entity_known: boolean;
  /** Training rows with this entity (0 when unknown). */
  entity_count: number;
  /**
   * The source OCSF event's columns used as evidence, as plain JSON (whatever the object has of: class_uid,
   * class_name, time, metadata, cloud, src_endpoint, dst_endpoint, connection_info, traffic, query, actor, api).
   */
  event: Record<string, unknown>;
}

/** The detector behind a model, as findings describe it (plain data: it crosses worker boundaries). */
export interface DetectorRef {
  /** Detector type (`ipinsights`, `history`). */
  type: string;
  /** Human name ("IP Insights"). */
  title: string;
  /** Native score name and direction. */
  score: ScoreInfo;
  /** The finding type of an anomaly ("Anomalous Entity-IP Pair"). */
  finding_type: string;
}

/** The model that produced a score (for finding_info.analytic and the explanation). */
export interface ModelRef {
  /** Model name (file base name without extension unless configured). */
  name: string;
  /** Stable version: the model's data_crc32 as 8 hex digits, or a configured version. */
  version: string;
  detector: DetectorRef;
  /** Calibrated threshold on the native score, when calibrated. */
  threshold?: number;
}

export type { EntityHistory } from '../detectors/types.js';

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
