/**
 * The per-object step a monitor runs after scoring one source object: decide and build the findings (policy), mark
 * those an analyst's suppression covers (suppress.ts: written as status "Suppressed", never sent), write them to the
 * lake (durable first), then hand the others to the sinks. Sinks never fail the step (a FanoutSink or BackgroundSink
 * reports its own errors; a sink that throws anyway is reported here and the step goes on).
 */
import { errorMessage } from '../core/errors.js';
import { log } from '../core/log.js';
import type { Duck } from '../lake/duckdb.js';
import { findingsObjectKey, publishFindings, type FindingsPartition, type WrittenFindings } from './lake.js';
import type { FindingPolicy, PolicyContext, UnflaggedRecords } from './policy.js';
import { applySuppressions, isSuppressed, lakeSuppressions, type SuppressionSource } from './suppress.js';
import type { DetectionFinding, EntityHistory, ModelRef, ScoredRecord, Sink } from './types.js';

export interface EmitOptions {
  policy: FindingPolicy;
  model: ModelRef;
  history?: EntityHistory;
  /** The detector's explanation hook (PolicyContext.explain). */
  explain?: PolicyContext['explain'];
  /** The scored source object (lake-relative path or s3:// URL) and its partition. */
  sourceObject: string;
  partition: FindingsPartition;
  /** Local lake to publish into; omit to skip the lake (e.g. the caller uploads to S3 itself). */
  lakeDir?: string;
  sinks?: readonly Sink[];
  db?: Duck;
  now?: number;
  /** Records of the object not passed in `records` because they qualify for no finding (counted by the policy). */
  unflagged?: UnflaggedRecords;
  /**
   * Analysts' suppressions: covered findings are written as "Suppressed" and not sent. Default: with `lakeDir`, that
   * lake's feedback store (suppress.ts lakeSuppressions); `false`: none.
   */
  suppressions?: SuppressionSource | false;
  /** Processing time for the suppressions (default Date.now()). */
  suppressAt?: number;
}

export interface EmitResult {
  findings: DetectionFinding[];
  /** Lake-relative key of the findings object (whether or not anything was written). */
  key: string;
  written: WrittenFindings | null;
  /** Sinks that threw (their names). */
  sinkErrors: string[];
}

export async function emitFindings(records: readonly ScoredRecord[], o: EmitOptions): Promise<EmitResult> {
  const decided = o.policy.process(records, { model: o.model, ...(o.history ? { history: o.history } : {}), ...(o.explain ? { explain: o.explain } : {}), ...(o.now !== undefined ? { now: o.now } : {}) }, o.unflagged);
  const suppressions = o.suppressions === false ? undefined : (o.suppressions ?? (o.lakeDir !== undefined ? lakeSuppressions(o.lakeDir) : undefined));
  const findings = applySuppressions(decided, suppressions, o.suppressAt ?? Date.now());
  const key = findingsObjectKey(o.sourceObject, o.partition);
  const written = o.lakeDir !== undefined && findings.length > 0 ? await publishFindings(o.lakeDir, key, findings, o.db ? { db: o.db } : {}) : null;
  const sinkErrors: string[] = [];
  const send = findings.filter((f) => !isSuppressed(f));
  if (send.length > 0) {
    await Promise.all(
      (o.sinks ?? []).map(async (s) => {
        try {
          await s.send(send);
        } catch (err) {
          sinkErrors.push(s.name);
          log.warn(`sink ${s.name} failed: ${errorMessage(err)}`);
        }
      }),
    );
  }
  return { findings, key, written, sinkErrors };
}
