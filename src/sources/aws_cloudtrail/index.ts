/**
 * Source `aws_cloudtrail`: CloudTrail delivery files (`{"Records":[…]}`), single events and JSON lines of
 * events -> OCSF 1.1.0 API Activity 6003 / Authentication 3002 / Account Change 3001 (Insights ->
 * Detection Finding 2004). Lake source by event category. See README.md.
 */
import type { SourceDefinition, SourceHints, SourceInput, SourceItem } from '../types.js';
import { batched, readJsonRecords, truncateRaw } from '../ocsf/json-records.js';
import { parseCloudTrail } from './parse.js';
import { toOcsf } from './to-ocsf.js';

function hasKey(head: string, key: string): boolean {
  return new RegExp(`"${key}"\\s*:`).test(head);
}

export function detectCloudTrail(head: string, name: string, columns?: string[]): number {
  if (columns) return 0; // CloudTrail is delivered as JSON; Parquet is not read by this source
  const t = head.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return 0;
  // Already-OCSF events may carry raw CloudTrail names in `unmapped`: leave them to the ocsf source.
  if (hasKey(head, 'class_uid')) return 0;
  const version = hasKey(head, 'eventVersion');
  const time = hasKey(head, 'eventTime');
  if (!version || !time) return 0;
  const records = /^\{\s*"Records"\s*:\s*\[/.test(t);
  const source = hasKey(head, 'eventSource') || hasKey(head, 'insightDetails');
  if (records || source) return 0.95;
  return /_CloudTrail_/.test(name) ? 0.8 : 0.6;
}

async function* items(input: SourceInput): AsyncGenerator<SourceItem> {
  for await (const rec of readJsonRecords(input, { unwrapKey: 'Records' })) {
    if (!rec.ok) {
      yield { kind: 'reject', line: rec.line, reason: rec.reason, raw: rec.raw };
      continue;
    }
    const parsed = parseCloudTrail(rec.value);
    if (!parsed.ok) {
      yield { kind: 'reject', line: rec.line, reason: parsed.reason, field: parsed.field, raw: truncateRaw(rec.raw()) };
      continue;
    }
    const mapped = toOcsf(parsed.record);
    if (!mapped.ok) {
      yield { kind: 'reject', line: rec.line, reason: mapped.reason, field: mapped.field, raw: truncateRaw(rec.raw()) };
      continue;
    }
    yield { kind: 'event', event: mapped.event, line: rec.line, lakeSource: mapped.lakeSource };
  }
}

export const awsCloudtrail: SourceDefinition = {
  type: 'aws_cloudtrail',
  description: 'AWS CloudTrail (delivery files, single events, JSON lines) -> OCSF API Activity 6003, Authentication 3002, Account Change 3001',
  detect: detectCloudTrail,
  read(input: SourceInput, _hints: SourceHints): AsyncIterable<SourceItem[]> {
    return batched(items(input));
  },
};
