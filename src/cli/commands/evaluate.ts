import { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, SeclakeError, errorMessage } from '../../core/errors.js';
import type { FindingLike, IncidentLike } from '../../calibrate/labels-eval.js';
import { parseTimeBound } from './findings.js';
import { lakeArg as lakeOf, readableLake } from '../lake.js';

interface EvaluateCliOptions {
  lake?: string;
  labels: string;
  since?: string;
  until?: string;
  models?: string;
  report?: string;
  plot?: string;
  json?: boolean;
  includeSuppressed?: boolean;
  s3Endpoint?: string;
  s3Region?: string;
  cache?: string;
}

/** Whether the range [t, end] (an instant when end <= t) meets [from, to). */
const inPeriod = (t: number, end: number | undefined, from: number, to: number): boolean => t < to && Math.max(t, end ?? t) >= from;

function write(file: string, data: string | Buffer): void {
  try {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    writeFileSync(file, data);
  } catch (err) {
    throw new SeclakeError(`cannot write ${file}: ${errorMessage(err)}`, { cause: err });
  }
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description('Precision and recall of the lake\'s findings and incidents against labelled attacks (per detector, per attack kind, combined), precision-recall curves, alerts per day')
    .requiredOption('--labels <file>', 'labelled attacks, one JSON object per line (docs/labels.md; the demo writes <data>/generated/labels.jsonl)')
    .option('--lake <dir|s3-url>', 'lake directory or s3://bucket/prefix (default: $SECLAKE_LAKE or ./seclake-data)')
    .option('--since <when>', 'only attacks that end at or after this, findings whose event time (window start) is at or after it, and incidents with such a member: a duration before now (30m, 24h, 7d) or an ISO time')
    .option('--until <when>', 'only attacks that start before this, findings before it, and incidents with such a member (same forms as --since)')
    .option('--models <a,b>', 'only findings of these models (names as in the findings view\'s model_name); incidents are scored through those members only')
    .option('--report <file.html>', 'write an HTML report (tables and the curves inline)')
    .option('--plot <file.png>', 'write the precision-recall curves as a PNG')
    .option('--json', 'print the evaluation as JSON (with the curves)')
    .option('--include-suppressed', 'count suppressed findings and incidents (status_id 3) like the others (default: left out and counted)')
    .option('--s3-endpoint <url>', 'S3 lake: endpoint URL (MinIO, moto, ...); default $SECLAKE_S3_ENDPOINT, else AWS')
    .option('--s3-region <region>', 'S3 lake: region of the bucket (default $AWS_REGION)')
    .option('--cache <dir>', 'S3 lake: local directory the lake is mirrored to (default: the lake cache, $SECLAKE_CACHE)')
    .addHelpText(
      'after',
      `
Reads the lake's \`findings\` view (Detection Findings of every detector) and, when the lake holds incident objects,
its \`incidents\` view, and matches them against the labels:
  - a pair finding (entity, ip, time) is true when the pair is one of an attack's record pairs and the time lies in
    the attack's window; a window finding (entity, time range) when the entity is one of the attack's behaviour
    entities and the range overlaps its behaviour window;
  - an incident is true when at least one of its member findings (finding_uids) is.
Suppressed findings and incidents (status_id 3) are left out and counted (--include-suppressed counts them as alerts). Findings are ranked by p-value (else
percentile, else anomaly score) and incidents by score for the precision-recall curves. Alerts per day count over
--since .. --until, else over the whole UTC days the alerts and labels touch.

Examples:
  seclake evaluate --lake ./seclake-demo/lake --labels ./seclake-demo/generated/labels.jsonl
  seclake evaluate --labels redteam-2026-05.jsonl --since 2026-05-06 --until 2026-05-08 --report eval.html --plot pr.png
  seclake evaluate --labels labels.jsonl --models flows,behaviour --json`,
    )
    .action(async (o: EvaluateCliOptions) => {
      const now = Date.now();
      const since = o.since !== undefined ? parseTimeBound(o.since, '--since', now) : undefined;
      const until = o.until !== undefined ? parseTimeBound(o.until, '--until', now) : undefined;
      if (since !== undefined && until !== undefined && until <= since) throw new ConfigError(`--until (${o.until}) is not after --since (${o.since})`, ['--until']);
      const models = o.models !== undefined ? o.models.split(',').map((s) => s.trim()).filter((s) => s !== '') : undefined;
      if (models && models.length === 0) throw new ConfigError('--models: give at least one model name', ['--models']);
      const lakeArg = lakeOf(o.lake);
      const lakeDir = (await readableLake(o.lake, o)).dir;
      const [{ detectorNameOf, evaluateLabels, readLabelsFile }, { readEvaluationInputs }, { evaluationCharts, evaluationPng, formatLabelsEvaluation, labelsReportHtml }] = await Promise.all([
        import('../../calibrate/labels-eval.js'),
        import('../../calibrate/labels-lake.js'),
        import('../../calibrate/labels-report.js'),
      ]);

      const from = since ?? -Infinity;
      const to = until ?? Infinity;
      const labels = readLabelsFile(o.labels).filter((l) => inPeriod(l.start_ms, l.end_ms, from, to));
      const input = await readEvaluationInputs(lakeDir, { includeSuppressed: Boolean(o.includeSuppressed) });
      if (o.includeSuppressed) input.findings.push(...input.suppressed.splice(0));
      const ofModels = (f: FindingLike): boolean => !models || models.includes(detectorNameOf(f));
      // Members of incidents: every finding of the models, whatever its time (an incident in the period may name one
      // just before it).
      const members = input.findings.filter(ofModels);
      // A finding is in the period by its event time (a window finding: its window's start), as in `demo --once`.
      const findings = members.filter((f) => f.time >= from && f.time < to);
      const suppressed = input.suppressed.filter((f) => ofModels(f) && f.time >= from && f.time < to).length;
      // An incident counts when one of its members does.
      let incidents: IncidentLike[] | null = null;
      if (input.incidents) {
        const uids = new Set(findings.map((f) => f.uid));
        // With --models, an incident keeps only its members of those models (the others are not read, not missing).
        const otherModels = models ? new Set(input.findings.filter((f) => !ofModels(f)).map((f) => f.uid)) : undefined;
        incidents = input.incidents
          .filter((i) => i.finding_uids.some((u) => uids.has(u)))
          .map((i) => (otherModels ? { ...i, finding_uids: i.finding_uids.filter((u) => !otherModels.has(u)) } : i));
      }
      const known = new Set(findings.map(detectorNameOf));
      const result = evaluateLabels(labels, findings, {
        incidents,
        ...(input.incidentsNote ? { incidentsNote: input.incidentsNote } : {}),
        members,
        suppressed,
        period: { ...(since !== undefined ? { from: since } : {}), ...(until !== undefined ? { to: until } : {}) },
        // A model asked for that has no finding still gets its (empty) row.
        ...(models ? { detectors: models.filter((m) => !known.has(m)).map((name) => ({ name, detector: 'no findings' })) } : {}),
      });
      const charts = o.report || o.plot ? evaluationCharts(result) : undefined;
      if (o.report) write(o.report, labelsReportHtml(result, { lake: lakeArg ?? lakeDir, labelsFile: o.labels, generatedAt: new Date(now).toISOString() }, charts));
      if (o.plot) write(o.plot, evaluationPng(result, charts));
      if (o.json) {
        process.stdout.write(
          JSON.stringify({
            lake: lakeDir,
            labels_file: o.labels,
            since: since !== undefined ? new Date(since).toISOString() : null,
            until: until !== undefined ? new Date(until).toISOString() : null,
            models: models ?? null,
            suppressed_incidents: input.suppressedIncidents,
            ...result,
          }) + '\n',
        );
      } else {
        process.stdout.write(formatLabelsEvaluation(result).join('\n') + '\n');
        if (input.suppressedIncidents > 0) process.stdout.write(`Suppressed incidents (status_id 3) left out: ${input.suppressedIncidents}.\n`);
      }
      if (o.report) process.stderr.write(`report: ${o.report}\n`);
      if (o.plot) process.stderr.write(`plot: ${o.plot}\n`);
    });
}
