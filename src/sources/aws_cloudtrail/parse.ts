/**
 * CloudTrail record: JSON value -> checked record. Pure; returns a result, never throws.
 * Only the fields the mapping relies on are checked; everything else passes through to `unmapped`.
 * Record fields: CloudTrail User Guide, "CloudTrail record contents".
 */
import { isPlainObject } from '../ocsf/json-records.js';
import { parseIsoTime } from '../ocsf/values.js';

export type CloudTrailKind = 'event' | 'insight';

export interface CloudTrailRecord {
  kind: CloudTrailKind;
  /** `eventTime` in ms since the epoch. */
  time: number;
  /** The decoded record as delivered (the mapping works on a copy). */
  raw: Record<string, unknown>;
}

export type ParseResult<T> = { ok: true; record: T } | { ok: false; field: string; reason: string };

function fail(field: string, reason: string): { ok: false; field: string; reason: string } {
  return { ok: false, field, reason: `${field}: ${reason}` };
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return `'${s.length > 80 ? `${s.slice(0, 80)}…` : s}'`;
}

/** Fields that must be strings when present. */
const STRING_FIELDS = [
  'eventVersion',
  'eventSource',
  'eventName',
  'awsRegion',
  'sourceIPAddress',
  'userAgent',
  'errorCode',
  'errorMessage',
  'requestID',
  'eventID',
  'eventType',
  'eventCategory',
  'recipientAccountId',
  'vpcEndpointId',
  'apiVersion',
] as const;

/** CloudTrail Insights events carry `insightDetails` instead of a caller and an API name. */
export function isInsight(v: Record<string, unknown>): boolean {
  return v.eventType === 'AwsCloudTrailInsight' || (v.eventCategory === 'Insight' && v.eventName === undefined);
}

/**
 * An EventBridge event carrying a CloudTrail record (`"detail-type": "AWS API Call via CloudTrail"`,
 * `"AWS Console Sign In via CloudTrail"`, …): the record is its `detail`; the envelope (id, time, region,
 * account, resources) repeats it and is dropped.
 */
function unwrapEventBridge(value: Record<string, unknown>): Record<string, unknown> {
  const detail = value.detail;
  if (value.eventTime === undefined && typeof value['detail-type'] === 'string' && isPlainObject(detail) && detail.eventVersion !== undefined) {
    return detail;
  }
  return value;
}

export function parseCloudTrail(input: unknown): ParseResult<CloudTrailRecord> {
  if (!isPlainObject(input)) return fail('record', `not a JSON object (${input === null ? 'null' : Array.isArray(input) ? 'array' : typeof input})`);
  const value = unwrapEventBridge(input);
  const et = value.eventTime;
  if (et === undefined || et === null || et === '') return fail('eventTime', 'missing');
  if (typeof et !== 'string') return fail('eventTime', `${show(et)} is not a string`);
  const time = parseIsoTime(et);
  if (time === undefined) return fail('eventTime', `${show(et)} is not an ISO-8601 timestamp`);
  for (const f of STRING_FIELDS) {
    const v = value[f];
    if (v !== undefined && v !== null && typeof v !== 'string') return fail(f, `${show(v)} is not a string`);
  }
  // An empty string stands for "absent" in some exports (the ocsf/examples v1.5.0 raw sample has
  // `"resources": ""`); only other non-object values are errors.
  for (const f of ['userIdentity', 'additionalEventData', 'insightDetails'] as const) {
    const v = value[f];
    if (v !== undefined && v !== null && v !== '' && !isPlainObject(v)) return fail(f, `${show(v)} is not an object`);
  }
  if (value.resources !== undefined && value.resources !== null && value.resources !== '' && !Array.isArray(value.resources)) {
    return fail('resources', `${show(value.resources)} is not an array`);
  }
  if (isInsight(value)) return { ok: true, record: { kind: 'insight', time, raw: value } };
  if (typeof value.eventName !== 'string' || value.eventName === '') return fail('eventName', 'missing');
  return { ok: true, record: { kind: 'event', time, raw: value } };
}
