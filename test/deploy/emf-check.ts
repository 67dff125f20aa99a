/**
 * Validates a parsed log line as a CloudWatch Embedded Metric Format document, by the specification's rules
 * (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
 * independently of src/monitor/aws/emf.ts: returns every problem found (none = valid).
 */

const UNITS = new Set([
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits',
  'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second',
  'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function emfProblems(doc: unknown): string[] {
  const p: string[] = [];
  if (!isObject(doc)) return ['the document is not a JSON object'];
  const aws = doc._aws;
  if (!isObject(aws)) return ['no _aws object at the root'];
  if (typeof aws.Timestamp !== 'number' || !Number.isInteger(aws.Timestamp) || aws.Timestamp < 0) p.push('_aws.Timestamp must be a non-negative integer (epoch milliseconds)');
  const directives = aws.CloudWatchMetrics;
  if (!Array.isArray(directives) || directives.length === 0) return [...p, '_aws.CloudWatchMetrics must be a non-empty array'];
  directives.forEach((d: unknown, i) => {
    const at = `_aws.CloudWatchMetrics[${i}]`;
    if (!isObject(d)) {
      p.push(`${at} is not an object`);
      return;
    }
    if (typeof d.Namespace !== 'string' || d.Namespace.length < 1 || d.Namespace.length > 255) p.push(`${at}.Namespace must be a string of 1 to 255 characters`);
    if (!Array.isArray(d.Dimensions)) p.push(`${at}.Dimensions must be an array of dimension sets`);
    else {
      d.Dimensions.forEach((set: unknown, j) => {
        if (!Array.isArray(set) || set.length > 30) {
          p.push(`${at}.Dimensions[${j}] must be an array of at most 30 names`);
          return;
        }
        for (const name of set) {
          if (typeof name !== 'string') p.push(`${at}.Dimensions[${j}] has a non-string name`);
          else if (typeof doc[name] !== 'string') p.push(`dimension ${name} must be a top-level string member`);
        }
      });
    }
    if (!Array.isArray(d.Metrics) || d.Metrics.length > 100) {
      p.push(`${at}.Metrics must be an array of at most 100 metric definitions`);
      return;
    }
    const seen = new Set<string>();
    d.Metrics.forEach((m: unknown, j) => {
      if (!isObject(m) || typeof m.Name !== 'string' || m.Name.length < 1 || m.Name.length > 255) {
        p.push(`${at}.Metrics[${j}].Name must be a string of 1 to 255 characters`);
        return;
      }
      if (seen.has(m.Name)) p.push(`metric ${m.Name} is defined twice`);
      seen.add(m.Name);
      if (m.Unit !== undefined && (typeof m.Unit !== 'string' || !UNITS.has(m.Unit))) p.push(`metric ${m.Name} has an unknown unit ${JSON.stringify(m.Unit)}`);
      const v = doc[m.Name];
      const ok = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
      if (Array.isArray(v)) {
        if (v.length === 0 || v.length > 100 || !v.every(ok)) p.push(`metric ${m.Name}: an array value must hold 1 to 100 numbers`);
      } else if (!ok(v)) p.push(`metric ${m.Name} must be a top-level member with a number (or array of numbers) value`);
    });
  });
  return p;
}
