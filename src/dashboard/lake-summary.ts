/**
 * What is in the lake, from the catalog (objects and inputs) and the quarantine: events per source, per day and per
 * partition, and rejected records grouped by reason. Pure aggregation over catalog records, plus one DuckDB query
 * over the quarantine view.
 */
import { readInputs, readObjects, type CatalogObject } from '../lake/catalog.js';
import type { LakeReader } from './reader.js';

export interface SourceRow {
  source: string;
  class_uid: number;
  objects: number;
  events: number;
  bytes: number;
  time_min: number;
  time_max: number;
}

export interface DayRow {
  day: string;
  events: number;
  /** events per source on that day */
  by_source: Record<string, number>;
}

export interface PartitionRow {
  source: string;
  region: string;
  account_id: string;
  day: string;
  objects: number;
  events: number;
}

export interface ReasonRow {
  source_type: string;
  field: string;
  reason: string;
  count: number;
  example_input: string;
}

export interface LakeSummary {
  objects: number;
  events: number;
  bytes: number;
  inputs: number;
  inputs_with_rejects: number;
  rejects: number;
  sources: SourceRow[];
  days: DayRow[];
  partitions: PartitionRow[];
  quarantine: ReasonRow[];
  /** Latest catalog entry. */
  last_object_at: string | undefined;
}

/** Aggregate catalog objects (pure). */
export function summarizeObjects(objects: readonly CatalogObject[]): Pick<LakeSummary, 'objects' | 'events' | 'bytes' | 'sources' | 'days' | 'partitions' | 'last_object_at'> {
  const sources = new Map<string, SourceRow>();
  const days = new Map<string, DayRow>();
  const parts = new Map<string, PartitionRow>();
  let events = 0;
  let bytes = 0;
  let last: string | undefined;
  for (const o of objects) {
    events += o.rows;
    bytes += o.bytes;
    if (last === undefined || o.created_at > last) last = o.created_at;
    const sk = `${o.source}\u0000${o.class_uid}`;
    const s = sources.get(sk);
    if (s) {
      s.objects++;
      s.events += o.rows;
      s.bytes += o.bytes;
      s.time_min = Math.min(s.time_min, o.time_min);
      s.time_max = Math.max(s.time_max, o.time_max);
    } else {
      sources.set(sk, { source: o.source, class_uid: o.class_uid, objects: 1, events: o.rows, bytes: o.bytes, time_min: o.time_min, time_max: o.time_max });
    }
    const d = days.get(o.event_day) ?? { day: o.event_day, events: 0, by_source: {} };
    d.events += o.rows;
    d.by_source[o.source] = (d.by_source[o.source] ?? 0) + o.rows;
    days.set(o.event_day, d);
    const pk = `${o.source}\u0000${o.region}\u0000${o.account_id}\u0000${o.event_day}`;
    const p = parts.get(pk) ?? { source: o.source, region: o.region, account_id: o.account_id, day: o.event_day, objects: 0, events: 0 };
    p.objects++;
    p.events += o.rows;
    parts.set(pk, p);
  }
  return {
    objects: objects.length,
    events,
    bytes,
    sources: [...sources.values()].sort((a, b) => a.source.localeCompare(b.source) || a.class_uid - b.class_uid),
    days: [...days.values()].sort((a, b) => a.day.localeCompare(b.day)),
    partitions: [...parts.values()].sort((a, b) => b.day.localeCompare(a.day) || a.source.localeCompare(b.source) || a.region.localeCompare(b.region) || a.account_id.localeCompare(b.account_id)),
    last_object_at: last,
  };
}

/** Reasons without their per-record values, so "port 'x'" and "port 'y'" count together (as `seclake ingest` does). */
const QUARANTINE_SQL = `
  SELECT coalesce(source_type, '') AS source_type, coalesce(field, '') AS field,
         left(regexp_replace(coalesce(reason, ''), '''[^'']*''|"[^"]*"|\\b\\d+(\\.\\d+)?\\b', '…', 'g'), 160) AS reason,
         count(*)::BIGINT AS count, min(input_name) AS example_input
  FROM quarantine GROUP BY ALL ORDER BY count DESC, reason LIMIT 200`;

export async function lakeSummary(lakeDir: string, reader: LakeReader): Promise<LakeSummary> {
  const objects = readObjects(lakeDir);
  const inputs = readInputs(lakeDir);
  let rejects = 0;
  let withRejects = 0;
  for (const i of inputs) {
    rejects += i.rejects;
    if (i.rejects > 0) withRejects++;
  }
  const quarantine = withRejects > 0 ? ((await reader.all(QUARANTINE_SQL)) as unknown as ReasonRow[]) : [];
  return { ...summarizeObjects(objects), inputs: inputs.length, inputs_with_rejects: withRejects, rejects, quarantine };
}
