/**
 * CloudWatch Embedded Metric Format: a log line that CloudWatch Logs turns into metrics, with no PutMetricData call
 * and no extra IAM permission. One document is a JSON object with an `_aws` member (Timestamp in epoch
 * milliseconds, CloudWatchMetrics: [{ Namespace, Dimensions: [[dimension names]], Metrics: [{ Name, Unit }] }]) and,
 * as top-level members, every dimension's value and every metric's value (a number, or up to 100 numbers); any other
 * top-level member is a property (searchable in Logs Insights, not a metric).
 * Specification: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

/** CloudWatch's metric units (the ones a count or a duration needs, and the rest of the standard list). */
export type EmfUnit =
  | 'Seconds'
  | 'Microseconds'
  | 'Milliseconds'
  | 'Bytes'
  | 'Kilobytes'
  | 'Megabytes'
  | 'Gigabytes'
  | 'Terabytes'
  | 'Bits'
  | 'Kilobits'
  | 'Megabits'
  | 'Gigabits'
  | 'Terabits'
  | 'Percent'
  | 'Count'
  | 'Bytes/Second'
  | 'Kilobytes/Second'
  | 'Megabytes/Second'
  | 'Gigabytes/Second'
  | 'Terabytes/Second'
  | 'Bits/Second'
  | 'Kilobits/Second'
  | 'Megabits/Second'
  | 'Gigabits/Second'
  | 'Terabits/Second'
  | 'Count/Second'
  | 'None';

export interface EmfMetric {
  name: string;
  unit: EmfUnit;
  /** One value, or several (at most 100 are kept: the format's limit per metric and document). */
  value: number | readonly number[];
}

export interface EmfInput {
  namespace: string;
  /** Dimension name -> value; all of them form one dimension set. */
  dimensions: Record<string, string>;
  metrics: readonly EmfMetric[];
  /** Other members (request id, ...): searchable, not metrics. */
  properties?: Record<string, unknown>;
  /** Epoch milliseconds (default now). */
  timestamp?: number;
}

/** The format's limits. */
export const EMF_MAX_VALUES = 100;
export const EMF_MAX_METRICS = 100;
export const EMF_MAX_DIMENSIONS = 30;

export class EmfError extends Error {
  override name = 'EmfError';
}

/**
 * One EMF document. Metrics without a value (an empty list, a non-finite number) are left out rather than sent
 * as zero; a property never takes the place of a metric or dimension of the same name.
 */
export function emfDocument(input: EmfInput): Record<string, unknown> {
  if (!input.namespace || input.namespace.length > 255) throw new EmfError(`EMF namespace must be 1 to 255 characters: ${JSON.stringify(input.namespace)}`);
  const dimNames = Object.keys(input.dimensions);
  if (dimNames.length > EMF_MAX_DIMENSIONS) throw new EmfError(`EMF allows ${EMF_MAX_DIMENSIONS} dimensions in a set, got ${dimNames.length}`);
  const doc: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input.properties ?? {})) if (k !== '_aws') doc[k] = v;
  for (const [k, v] of Object.entries(input.dimensions)) doc[k] = v;
  const declared: { Name: string; Unit: EmfUnit }[] = [];
  for (const m of input.metrics) {
    if (declared.some((d) => d.Name === m.name) || Object.hasOwn(input.dimensions, m.name)) throw new EmfError(`EMF metric ${m.name} is named twice`);
    const values = (typeof m.value === 'number' ? [m.value] : [...m.value]).filter((x) => Number.isFinite(x)).slice(0, EMF_MAX_VALUES);
    if (values.length === 0) continue;
    doc[m.name] = typeof m.value === 'number' ? values[0] : values;
    declared.push({ Name: m.name, Unit: m.unit });
  }
  if (declared.length > EMF_MAX_METRICS) throw new EmfError(`EMF allows ${EMF_MAX_METRICS} metrics in a document, got ${declared.length}`);
  return {
    _aws: {
      Timestamp: Math.round(input.timestamp ?? Date.now()),
      CloudWatchMetrics: [{ Namespace: input.namespace, Dimensions: [dimNames], Metrics: declared }],
    },
    ...doc,
  };
}
