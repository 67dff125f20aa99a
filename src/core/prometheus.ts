/**
 * The Prometheus text exposition format (version 0.0.4), written once for every /metrics seclake serves (the
 * inference server: src/serve/metrics.ts; the monitor: src/monitor/metrics.ts).
 *
 *   # HELP <name> <text, with \ and newline escaped>
 *   # TYPE <name> counter|gauge|histogram|untyped
 *   <name>[<suffix>]{<label>="<value, with \ " and newline escaped>",...} <float>
 *
 * A family with no samples still gets its HELP and TYPE lines (a scraper learns the metric exists). Names and label
 * names are checked against the format's grammar: a bad one is a programming error, thrown.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'untyped';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** Appended to the family name: `_bucket`, `_sum`, `_count` for a histogram. */
  suffix?: string;
  labels?: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: readonly Sample[];
}

/** Content-Type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value inside double quotes: backslash, double quote and newline escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and newline escaped. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as the format spells floats (NaN, +Inf, -Inf). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelText(labels: Labels | undefined): string {
  if (!labels) return '';
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  for (const k of keys) if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new Error(`invalid Prometheus label name ${JSON.stringify(k)}`);
  return `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`).join(',')}}`;
}

/** The exposition text of these families, in the order given. */
export function renderMetrics(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new Error(`invalid Prometheus metric name ${JSON.stringify(f.name)}`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const name = f.name + (s.suffix ?? '');
      if (!METRIC_NAME.test(name)) throw new Error(`invalid Prometheus metric name ${JSON.stringify(name)}`);
      out.push(`${name}${labelText(s.labels)} ${formatValue(s.value)}`);
    }
  }
  return out.join('\n') + '\n';
}

/**
 * The samples of one histogram series: cumulative `_bucket`s (each bound, then +Inf), `_sum` and `_count`. `counts`
 * holds one (non-cumulative) count per bound plus the overflow.
 */
export function histogramSamples(labels: Labels, bounds: readonly number[], counts: ArrayLike<number>, sum: number, count: number): Sample[] {
  const out: Sample[] = [];
  let cum = 0;
  for (let i = 0; i < bounds.length; i++) {
    cum += counts[i]!;
    out.push({ suffix: '_bucket', labels: { ...labels, le: formatValue(bounds[i]!) }, value: cum });
  }
  cum += counts[bounds.length]!;
  out.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: cum });
  out.push({ suffix: '_sum', labels, value: sum });
  out.push({ suffix: '_count', labels, value: count });
  return out;
}

/** Counters (or gauges) per label set: `inc(['a', 'b'])` counts the series whose labels are those values, in order. */
export class LabelledValues {
  private readonly values = new Map<string, { labels: string[]; value: number }>();
  constructor(readonly labelNames: readonly string[]) {}

  private entry(labels: readonly string[]): { labels: string[]; value: number } {
    if (labels.length !== this.labelNames.length) throw new Error(`expected ${this.labelNames.length} label values (${this.labelNames.join(', ')}), got ${labels.length}`);
    const key = labels.join('\u0000');
    let e = this.values.get(key);
    if (!e) {
      e = { labels: [...labels], value: 0 };
      this.values.set(key, e);
    }
    return e;
  }

  inc(labels: readonly string[], by = 1): void {
    this.entry(labels).value += by;
  }

  set(labels: readonly string[], value: number): void {
    this.entry(labels).value = value;
  }

  get(labels: readonly string[]): number {
    return this.values.get(labels.join('\u0000'))?.value ?? 0;
  }

  /** Every series, ordered by its label values. */
  samples(): Sample[] {
    return [...this.values.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([, e]) => ({ labels: Object.fromEntries(this.labelNames.map((n, i) => [n, e.labels[i]!])), value: e.value }));
  }
}
