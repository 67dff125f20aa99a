/**
 * Applying analysts' suppressions to detection findings before they are written (docs/incidents.md "Suppressions";
 * the store and the matching rules are src/findings/feedback.ts). A finding an active suppression covers is still
 * written to the lake, with `status_id` 3 "Suppressed" and `unmapped.suppressed_by` = the suppression's id (so it can
 * be audited and the suppression removed), but it never joins an incident and never goes to a sink.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { deriveEvent } from '../ocsf/derive.js';
import { matchSuppression, openFeedback, type SuppressionView } from './feedback.js';
import type { DetectionFinding } from './types.js';

/** OCSF Detection Finding status "Suppressed". */
export const SUPPRESSED_STATUS_ID = 3;

/** Where the active suppressions come from and how one is matched (the feedback store, or a test's list). */
export interface SuppressionSource {
  /** The suppression covering a finding at `now` (epoch ms, processing time), if any: its id. */
  match(finding: DetectionFinding, now: number): { id: string } | undefined;
}

/** The finding marked as suppressed by `id` (a copy; names re-derived). */
export function markSuppressed(f: DetectionFinding, id: string): DetectionFinding {
  const out = structuredClone(f) as Record<string, unknown>;
  out.status_id = SUPPRESSED_STATUS_ID;
  delete out.status;
  const u = (out.unmapped && typeof out.unmapped === 'object' ? out.unmapped : {}) as Record<string, unknown>;
  u.suppressed_by = id;
  out.unmapped = u;
  deriveEvent(out);
  return out as DetectionFinding;
}

export function isSuppressed(f: object): boolean {
  return Number((f as { status_id?: unknown }).status_id) === SUPPRESSED_STATUS_ID;
}

/** Mark the findings an active suppression covers (in place in the returned list; order kept). */
export function applySuppressions(findings: readonly DetectionFinding[], source: SuppressionSource | undefined, now: number): DetectionFinding[] {
  if (!source || findings.length === 0) return [...findings];
  return findings.map((f) => {
    if (isSuppressed(f)) return f;
    const s = source.match(f, now);
    return s ? markSuppressed(f, s.id) : f;
  });
}

/**
 * The suppressions of a local lake's feedback store (`<lake>/_seclake/feedback.jsonl`): read again whenever the file
 * changes (size or modification time), so one added or removed while the monitor runs applies from the next object.
 */
export function lakeSuppressions(lakeDir: string): SuppressionSource & { count(): number } {
  const key = path.resolve(lakeDir);
  const known = byLake.get(key);
  if (known) return known;
  const made = readLakeSuppressions(key);
  if (byLake.size > 64) byLake.clear();
  byLake.set(key, made);
  return made;
}

/** One source per lake directory in this process (each re-reads its file when it changes). */
const byLake = new Map<string, SuppressionSource & { count(): number }>();

function readLakeSuppressions(lakeDir: string): SuppressionSource & { count(): number } {
  const store = openFeedback(lakeDir);
  let stamp: string | undefined;
  let all: SuppressionView[] = [];
  const load = (): void => {
    const st = statSync(store.file, { throwIfNoEntry: false });
    const now = st ? `${st.size}:${st.mtimeMs}` : 'none';
    if (now === stamp) return;
    stamp = now;
    // All of them: matchSuppression checks each against the processing time it is given (created, not expired, not removed).
    all = st ? store.suppressions() : [];
  };
  return {
    match(finding, now) {
      load();
      return matchSuppression(finding, all, now);
    },
    count() {
      load();
      return all.length;
    },
  };
}
