/**
 * Source `aws_route53`: Route 53 Resolver query logs (JSON lines, a JSON array, or one pretty-printed
 * object) -> OCSF 1.1.0 DNS Activity (4003), lake source `ROUTE53`. See README.md.
 */
import type { SourceDefinition, SourceHints, SourceInput, SourceItem } from '../types.js';
import { batched, readJsonRecords, truncateRaw } from '../ocsf/json-records.js';
import { parseRoute53 } from './parse.js';
import { toOcsf } from './to-ocsf.js';

/** Keys that only Resolver query logs have (checked as JSON keys: `"name":`). */
const STRONG_KEYS = ['query_timestamp', 'query_name', 'srcids', 'query_class', 'firewall_rule_action'];

function hasKey(head: string, key: string): boolean {
  return new RegExp(`"${key}"\\s*:`).test(head);
}

export function detectRoute53(head: string, _name: string, columns?: string[]): number {
  if (columns) return 0; // Resolver query logs are JSON; Parquet is not read by this source
  const t = head.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return 0;
  // Already-OCSF events may carry raw names in `unmapped`: leave them to the ocsf source.
  if (hasKey(head, 'class_uid')) return 0;
  const strong = STRONG_KEYS.filter((k) => hasKey(head, k)).length;
  if (hasKey(head, 'query_timestamp') && hasKey(head, 'query_name')) return strong >= 3 ? 0.95 : 0.85;
  return strong >= 2 ? 0.6 : 0;
}

async function* items(input: SourceInput): AsyncGenerator<SourceItem> {
  for await (const rec of readJsonRecords(input)) {
    if (!rec.ok) {
      yield { kind: 'reject', line: rec.line, reason: rec.reason, raw: rec.raw };
      continue;
    }
    const parsed = parseRoute53(rec.value);
    if (!parsed.ok) {
      yield { kind: 'reject', line: rec.line, reason: parsed.reason, field: parsed.field, raw: truncateRaw(rec.raw()) };
      continue;
    }
    yield { kind: 'event', event: toOcsf(parsed.record), line: rec.line, lakeSource: 'ROUTE53' };
  }
}

export const awsRoute53: SourceDefinition = {
  type: 'aws_route53',
  description: 'Route 53 Resolver query logs (JSON lines, JSON array or object) -> OCSF DNS Activity 4003',
  detect: detectRoute53,
  read(input: SourceInput, _hints: SourceHints): AsyncIterable<SourceItem[]> {
    return batched(items(input));
  },
};
