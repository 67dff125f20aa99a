import { Command, Option } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { log } from '../../core/log.js';
import { resolveLakeDir } from '../../lake/layout.js';
import { ABNORMAL_GENERATORS, type AbnormalGenerator } from '../../calibrate/generate.js';
import { parseInstant } from '../../calibrate/lake.js';
import type { AbnormalSource, CalibrateOptions, NormalSource } from '../../calibrate/run.js';
import { DEFAULT_SAMPLE, DEFAULT_SEED } from '../../calibrate/defaults.js';
import type { CalibrationRule } from '../../calibrate/evaluate.js';
import { fmtNum, fmtPct } from '../../calibrate/svg.js';
import { fmtInt, jsonValue, renderTable } from '../format.js';
import type { Calibration } from '../../detectors/calibration.js';
import type { FeatureCalibrationRule } from '../../calibrate/features.js';
import { DEFAULT_PAIR_DEFINITION, PAIR_DEFINITIONS, pairDefinition } from '../../detectors/pairs/definitions.js';
import { readableLake, type S3LakeFlags } from '../lake.js';

interface CalibrateCliOptions extends S3LakeFlags {
  model: string;
  normal?: string;
  lake?: string;
  everyRecord?: boolean;
  feedback?: boolean;
  pairs?: string;
  since?: string;
  until?: string;
  abnormal?: string;
  abnormalGen?: AbnormalGenerator;
  abnormalCount?: string;
  maxFpr?: string;
  minPrecision?: string;
  mix?: string;
  threshold?: string;
  sample: string;
  seed: string;
  asnTable?: string;
  labels?: string;
  labelWeight: string;
  report?: string;
  plot?: string[];
  json?: boolean;
  dryRun?: boolean;
  rule?: string;
  requireSupport?: boolean;
  learn?: boolean;
  perEntity?: boolean;
  entityPrior?: string;
}

/** A rate as a fraction (0.01) or a percentage (1%). */
export function parseRate(option: string, text: string, { allowZero }: { allowZero: boolean }): number {
  const t = text.trim();
  const pct = t.endsWith('%');
  const v = Number(pct ? t.slice(0, -1) : t) / (pct ? 100 : 1);
  if (t === '' || !Number.isFinite(v) || v > 1 || v < 0 || (!allowZero && v === 0)) {
    throw new ConfigError(`${option}: expected a rate in ${allowZero ? '[0, 1]' : '(0, 1]'} such as 0.01 or 1%, got '${text}'`, [option.replace(/^--/, '')]);
  }
  return v;
}

function parseIntOpt(option: string, text: string, min: number): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`${option}: expected an integer >= ${min}, got '${text}'`, [option.replace(/^--/, '')]);
  return v;
}

function parseNumber(option: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new ConfigError(`${option}: expected a number, got '${text}'`, [option.replace(/^--/, '')]);
  return v;
}

function parseEntityPrior(text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !(v > 0) || !Number.isFinite(v)) throw new ConfigError(`--entity-prior: expected a positive number of records, got '${text}'`, ['entity-prior']);
  return v;
}

/** The per-entity and support lines of the text output (pairs and behaviour calibrations). */
export function confidenceLines(cal: { per_entity?: Calibration['per_entity']; support?: Calibration['support'] }, unit: string): string[] {
  const lines: string[] = [];
  const s = cal.support;
  if (s) lines.push(`  support       ${s.sufficient ? 'sufficient' : 'LOW'}: ${s.note}`);
  const pe = cal.per_entity;
  if (pe) {
    const ents = Object.entries(pe.entities);
    const measured = ents.filter(([, e]) => e.own !== null).length;
    lines.push(
      `  per entity    ${ents.length} entities (${measured} with the ${pe.min_n.toLocaleString('en-US')} ${unit} needed to measure their own ${fmtPct(pe.target_fpr, 2)} quantile), ` +
        `${Object.keys(pe.groups).length} groups; prior weight ${pe.prior_n.toLocaleString('en-US')} ${unit}`,
    );
    const shown = ents.sort((a, b) => b[1].n - a[1].n).slice(0, 12);
    lines.push(
      renderTable(
        ['entity', 'group', unit, 'own quantile', 'threshold'],
        shown.map(([e, x]) => [e.length > 40 ? `${e.slice(0, 39)}…` : e, x.group ?? '', x.n.toLocaleString('en-US'), x.own === null ? 'too few' : fmtNum(x.own, 4), fmtNum(x.threshold, 4)]),
      )
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n'),
    );
    if (ents.length > shown.length) lines.push(`    ... ${ents.length - shown.length} more (--json lists every one)`);
  }
  return lines;
}

/** Turn the command-line options into run options (all validation up front, before the model is loaded). */
export function toCalibrateOptions(o: CalibrateCliOptions): CalibrateOptions {
  let normal: NormalSource;
  if (o.normal !== undefined && o.lake !== undefined) throw new ConfigError('give either --normal FILE or --lake DIR --since --until, not both', ['normal', 'lake']);
  if (o.pairs !== undefined && o.lake === undefined) throw new ConfigError('--pairs only applies with --lake', ['pairs']);
  if (o.normal !== undefined) {
    if (o.since !== undefined || o.until !== undefined) throw new ConfigError('--since/--until only apply with --lake', ['since', 'until']);
    normal = { kind: 'csv', file: o.normal };
  } else if (o.lake !== undefined || o.since !== undefined || o.until !== undefined) {
    if (o.since === undefined || o.until === undefined) throw new ConfigError('--lake needs both --since and --until (a held-out window after the training data)', ['since', 'until']);
    normal = { kind: 'lake', lakeDir: resolveLakeDir(o.lake), sinceMs: parseInstant(o.since, '--since'), untilMs: parseInstant(o.until, '--until') };
    if (o.pairs !== undefined) normal.pairs = pairDefinition(o.pairs).name;
    if (o.everyRecord) normal.distinctMs = 0;
    if (!(normal.untilMs > normal.sinceMs)) throw new ConfigError('--until must be later than --since', ['until']);
  } else {
    throw new ConfigError('normal traffic is required: --normal FILE (entity,ip CSV) or --lake DIR --since ISO --until ISO', ['normal']);
  }

  if (o.abnormal !== undefined && o.abnormalGen !== undefined) throw new ConfigError('give either --abnormal FILE or --abnormal-gen, not both', ['abnormal', 'abnormal-gen']);
  const count = o.abnormalCount !== undefined ? parseIntOpt('--abnormal-count', o.abnormalCount, 1) : undefined;
  if (count !== undefined && o.abnormal !== undefined) throw new ConfigError('--abnormal-count only applies to generated abnormal pairs', ['abnormal-count']);
  const abnormal: AbnormalSource =
    o.abnormal !== undefined
      ? { kind: 'csv', file: o.abnormal }
      : { kind: 'generate', generator: o.abnormalGen ?? 'random', ...(count !== undefined ? { count } : {}) };

  const rules = [o.maxFpr, o.minPrecision, o.threshold].filter((x) => x !== undefined).length;
  if (rules > 1) throw new ConfigError('give at most one of --max-fpr, --min-precision, --threshold', ['max-fpr', 'min-precision', 'threshold']);
  if (o.mix !== undefined && o.minPrecision === undefined) throw new ConfigError('--mix only applies with --min-precision', ['mix']);
  let rule: CalibrationRule | undefined;
  if (o.maxFpr !== undefined) rule = { kind: 'max_fpr', max_fpr: parseRate('--max-fpr', o.maxFpr, { allowZero: true }) };
  else if (o.minPrecision !== undefined) {
    rule = { kind: 'min_precision', min_precision: parseRate('--min-precision', o.minPrecision, { allowZero: false }) };
    if (o.mix !== undefined) {
      const m = parseNumber('--mix', o.mix);
      if (!(m > 0)) throw new ConfigError(`--mix: expected normal pairs per abnormal pair (> 0), got '${o.mix}'`, ['mix']);
      rule.ratio = m;
    }
  } else if (o.threshold !== undefined) rule = { kind: 'threshold', threshold: parseNumber('--threshold', o.threshold) };

  if (o.asnTable !== undefined && abnormal.kind === 'generate' && abnormal.generator !== 'asn') {
    throw new ConfigError('--asn-table only applies with --abnormal-gen asn', ['asn-table']);
  }
  if (o.report !== undefined && !/\.html?$/i.test(o.report)) throw new ConfigError(`--report: file name must end in .html, got '${o.report}'`, ['report']);
  for (const p of o.plot ?? []) {
    if (!/\.(svg|png)$/i.test(p)) throw new ConfigError(`--plot: file name must end in .svg or .png, got '${p}'`, ['plot']);
  }
  return {
    model: o.model,
    normal,
    abnormal,
    ...(rule ? { rule } : {}),
    sample: parseIntOpt('--sample', o.sample, 0),
    seed: parseIntOpt('--seed', o.seed, 0),
    ...(o.asnTable !== undefined ? { asnTable: o.asnTable } : {}),
    ...(o.labels !== undefined ? { labels: o.labels } : {}),
    ...(o.feedback === false ? { feedback: false } : {}),
    labelWeight: parseIntOpt('--label-weight', o.labelWeight, 1),
    dryRun: o.dryRun === true,
    ...(o.requireSupport ? { requireSupport: true } : {}),
    ...(o.perEntity === false ? { perEntity: false } : {}),
    ...(o.entityPrior !== undefined ? { priorN: parseEntityPrior(o.entityPrior) } : {}),
    ...(o.report !== undefined ? { report: o.report } : {}),
    ...(o.plot ? { plots: o.plot } : {}),
    progress: o.json !== true,
  };
}

/** Where the command writes (tests capture it; default the process streams). */
export interface CalibrateIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const PROCESS_IO: CalibrateIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => log.info(t.replace(/\n$/, '')),
};

export function registerCalibrate(program: Command, io: CalibrateIo = PROCESS_IO): void {
  program
    .command('calibrate')
    .description('Choose a model\'s alert threshold: from held-out normal traffic vs abnormal pairs (AUC, precision/recall, plots), or for a behaviour model from held-out normal windows of the lake; store it with the model')
    .requiredOption('--model <path>', 'model file to calibrate (the calibration is written into its header)')
    .option('--normal <file>', 'held-out normal traffic: headerless entity,ip CSV')
    .option('--lake <dir|s3-url>', 'take normal traffic from the lake instead (same pair definition as training); an s3://bucket/prefix lake is mirrored to a local cache first')
    .option('--s3-endpoint <url>', 'S3 lake: endpoint URL (MinIO, moto, ...); default $SECLAKE_S3_ENDPOINT, else AWS')
    .option('--s3-region <region>', 'S3 lake: region of the bucket (default $AWS_REGION)')
    .option('--cache <dir>', 'S3 lake: local directory the lake is mirrored to (default: the lake cache, $SECLAKE_CACHE)')
    .option('--pairs <name>', `with --lake: record definition (${Object.keys(PAIR_DEFINITIONS).join(', ')}); default: the one the model was trained on, else ${DEFAULT_PAIR_DEFINITION}`)
    .option('--no-feedback', "with --lake: leave out the analysts' verdicts recorded in the lake (seclake feedback; default: benign findings fold in as normal pairs, malicious ones as abnormal)")
    .option('--every-record', 'with --lake: calibrate on every record (default: one example per distinct entity,ip per hour, the unit of an alert)')
    .option('--since <iso>', 'with --lake: start of the held-out window (inclusive)')
    .option('--until <iso>', 'with --lake: end of the held-out window (exclusive)')
    .option('--abnormal <file>', 'labelled abnormal pairs: entity,ip CSV')
    .addOption(new Option('--abnormal-gen <kind>', 'generate abnormal pairs for the normal entities (default random)').choices([...ABNORMAL_GENERATORS]))
    .option('--abnormal-count <n>', 'how many abnormal pairs to generate (default: as many as normal pairs)')
    .option('--max-fpr <rate>', 'choose the threshold with the highest recall at this false positive rate, e.g. 0.01 or 1% (default 1%)')
    .option('--min-precision <rate>', 'choose the threshold with the highest recall at this precision')
    .option('--mix <ratio>', 'with --min-precision: judge precision at this many normal pairs per abnormal pair (default: the evaluation mix)')
    .option('--threshold <score>', "use this threshold on the model's native score (IP Insights: flag when dot_product < T) and just evaluate it")
    .option('--sample <n>', 'use at most N normal pairs, sampled without replacement (0 = all)', String(DEFAULT_SAMPLE))
    .option('--seed <n>', 'seed for sampling and generated pairs', String(DEFAULT_SEED))
    .option('--asn-table <file>', 'with --abnormal-gen asn: IPv4 range table (start,end,... as u32; default @ip-location-db/asn)')
    .option('--labels <file>', 'analyst labels to fold in: CSV entity,ip,label or JSON lines; label true_positive|false_positive')
    .option('--label-weight <n>', 'count each labelled false positive as N normal pairs', '1')
    .option('--report <file.html>', 'write a self-contained HTML report (numbers, tables, charts)')
    .option('--plot <file...>', 'write charts: FILE.svg|FILE.png is the score histogram; FILE-roc and FILE-pr go next to it')
    .addOption(new Option('--rule <rule>', 'behaviour models (rcf from the lake): how to choose the threshold on held-out normal windows (default max-fpr, at --max-fpr or 1%)').choices(['max-fpr', 'three-sigma']))
    .option('--require-support', 'refuse (instead of storing a low-support calibration) when the held-out set is smaller than 3 / FPR records')
    .option('--learn', 'behaviour model: keep what scoring the held-out windows taught it (score-then-update), so a monitor started from it begins after them')
    .option('--no-per-entity', 'one global threshold (no per-entity thresholds)')
    .option('--entity-prior <n>', 'per-entity thresholds: the prior\'s weight in records (default 3 / FPR)')
    .option('--json', 'print the full result as JSON on stdout')
    .option('--dry-run', 'do not write the calibration into the model file')
    .addHelpText(
      'after',
      `
Works for a model of any detector (\`seclake models detectors\`). For IP Insights a pair is flagged when
dot_product < threshold (anomaly score -dot_product > -threshold); for the history detector when prefix_score
< threshold; a detector whose anomalies score high is calibrated on its negated score and the threshold stored
in its own units with its direction. The chosen threshold,
its measured FPR/recall/precision and the normal-score quantiles are stored in the model header, so score,
serve and monitor report is_anomaly and anomaly_percentile (share of normal pairs scoring higher).
Pairs whose entity the model never saw in training are reported separately and not used.

Per-entity thresholds (default): each entity's own quantile of its held-out normal scores at the rule's FPR,
shrunk toward its group's (--normal's optional third column, or with --lake the instance's subnet / the user's
account) and the global threshold with the weight n / (n + prior), prior = 3 / FPR records. Honest confidence:
fewer than 3 / FPR held-out records cannot measure that FPR; the calibration is stored with low support (the
achieved FPR's 95% Clopper-Pearson interval is printed, findings are capped at Medium), or refused with
--require-support. No usable normal pairs at all is always an error.

A behaviour model (rcf trained with \`seclake train --detector rcf --lake\`) is calibrated on held-out NORMAL windows
of the lake: its feature sets' windows after its training cutoff (or from --since, up to --until), scored as the
monitor scores them (in time order, each against the model that learnt the earlier ones); the threshold flags at most
--max-fpr of them (default 1%), or is their mean + 3 std with --rule three-sigma, or --threshold T is measured. With
--learn the model keeps what that replay taught it: its training cutoff moves to the end of the held-out windows, so
the monitor does not score them again. There is no abnormal set for behaviour (--abnormal, --labels, --min-precision
and the report are refused).

Examples:
  seclake calibrate --model logins.model --normal heldout.csv --abnormal-gen asn --max-fpr 1% --report cal.html
  seclake calibrate --model vpc.model --lake ./seclake-data --since 2024-05-08 --until 2024-05-09 --abnormal-gen shuffled
  seclake calibrate --model logins.model --normal heldout.csv --labels triage.jsonl --plot cal.png --json
  seclake calibrate --model ./lake/_seclake/models/rcf-network.model --lake ./lake --rule three-sigma`,
    )
    .action(async (o: CalibrateCliOptions) => {
      if (await scoresFeatures(o.model)) return calibrateFeatures(o, io);
      if (o.rule !== undefined) throw new ConfigError('--rule is for behaviour models (rcf trained on the lake); pair models choose with --max-fpr or --min-precision', ['rule']);
      if (o.learn) throw new ConfigError('--learn is for behaviour models (rcf trained on the lake), which learn as they score; a pair model stays as trained', ['learn']);
      const opts = toCalibrateOptions(o);
      if (opts.normal.kind === 'lake') {
        // The lake checked (an S3 lake: its local mirror) once every option is.
        opts.normal.lakeDir = (await readableLake(o.lake, o)).dir;
        if (opts.normal.pairs === undefined) {
          // Default: the pairs the model was trained on (train --lake records them), else the `default` definition.
          const [{ readModelHeader }, { recordDefinitionOf }] = await Promise.all([import('../../detectors/model-file.js'), import('../../detectors/pairs/definitions.js')]);
          let trained: ReturnType<typeof recordDefinitionOf>;
          try {
            trained = recordDefinitionOf(readModelHeader(opts.model));
          } catch {
            trained = undefined; // the model is loaded (and its errors reported) by the run itself
          }
          if (trained?.name === 'custom') opts.normal.sql = trained.sql;
          else if (trained && Object.hasOwn(PAIR_DEFINITIONS, trained.name)) opts.normal.pairs = trained.name;
        }
      }
      const [{ runCalibration }, { modelAccess }, { ruleText }] = await Promise.all([import('../../calibrate/run.js'), import('../../calibrate/model.js'), import('../../calibrate/report.js')]);
      const res = await runCalibration(opts, modelAccess);
      if (o.json) {
        io.stdout(jsonValue(res.json) + '\n');
        return;
      }
      const j = res.json;
      const lines: string[] = [];
      lines.push(`Calibrated ${j.model}: ${ruleText(j.rule, j.threshold)}`);
      lines.push(`  threshold     flag when ${j.flag_when.replace(/ < .*$/, '')} < ${fmtNum(j.threshold, 6)}`);
      lines.push(`  AUC           ${j.auc.toFixed(4)}    average precision ${j.average_precision.toFixed(4)}`);
      lines.push(`  at threshold  FPR ${fmtPct(j.fpr ?? Number.NaN, 2)}, recall ${fmtPct(j.recall ?? Number.NaN, 2)}, precision ${fmtPct(j.precision ?? Number.NaN, 2)} (evaluation mix)`);
      lines.push(`  pairs         ${j.normal.used.toLocaleString('en-US')} normal (${j.normal.source}), ${j.abnormal.used.toLocaleString('en-US')} abnormal (${j.abnormal.description})`);
      for (const s of [j.normal, j.abnormal]) {
        if (s.unknownEntityPairs > 0) lines.push(`  not used      ${s.unknownEntityPairs.toLocaleString('en-US')} pairs of ${s.unknownEntities} entities never seen in training (${s.source})`);
        if (s.skippedLines > 0) lines.push(`  skipped       ${s.skippedLines} unreadable line(s) in ${s.source}`);
      }
      lines.push('');
      lines.push(
        renderTable(
          ['FPR budget', 'threshold', 'FPR', 'recall', 'precision'],
          j.thresholds_at_fpr.map((t) => [fmtPct(t.target_fpr, 1) + (t.under_resolved ? '*' : ''), fmtNum(t.threshold, 5), fmtPct(t.fpr, 3), fmtPct(t.recall, 2), fmtPct(t.precision ?? Number.NaN, 2)]),
        ),
      );
      if (j.thresholds_at_fpr.some((t) => t.under_resolved)) lines.push('* fewer normal pairs than the budget can resolve');
      const conf = confidenceLines(j.calibration, 'pairs');
      if (conf.length > 0) {
        lines.push('');
        lines.push(...conf);
      }
      lines.push('');
      lines.push('At the chosen threshold, per 1,000,000 pairs (precision depends on how rare attacks are):');
      lines.push(
        renderTable(
          ['normal:abnormal', 'abnormal', 'TP', 'FN', 'FP', 'TN', 'precision'],
          j.mixes.map((m) => [`${m.ratio.toLocaleString('en-US')}:1`, ...[m.abnormal, m.tp, m.fn, m.fp, m.tn].map(fmtInt), fmtPct(m.precision, 2)]),
        ),
      );
      if (j.feedback) {
        const f = j.feedback;
        lines.push('');
        lines.push(
          `Feedback: ${f.false_positives} false positive(s) → normal, ${f.true_positives} true positive(s) → abnormal` +
            (f.unresolved ? `, ${f.unresolved} unresolved finding uid(s)` : '') +
            `; threshold ${fmtNum(f.threshold_before, 5)} → ${fmtNum(f.threshold_after, 5)}; labelled FPs still flagged ${f.fp_flagged_before} → ${f.fp_flagged_after}`,
        );
      }
      io.stdout(lines.join('\n') + '\n');
      io.stderr((j.stored ? `Stored the calibration in ${j.model}` : 'Dry run: the model file was not changed') + '\n');
      for (const f of res.written) io.stderr(`Wrote ${f}\n`);
    });
}

/** Whether a model file is of a detector that scores feature vectors (behaviour windows), from its header. */
async function scoresFeatures(modelFile: string): Promise<boolean> {
  const [{ readModelHeader }, { findDetector }] = await Promise.all([import('../../detectors/model-file.js'), import('../../detectors/index.js')]);
  try {
    return findDetector(readModelHeader(modelFile).detector.type)?.records === 'features';
  } catch {
    return false; // the run loads the model and reports what is wrong with it
  }
}

/** `calibrate` for a behaviour model: held-out normal windows of the lake; refuses what needs an abnormal set. */
async function calibrateFeatures(o: CalibrateCliOptions, io: CalibrateIo): Promise<void> {
  const refused: [string, unknown, string][] = [
    ['--normal', o.normal, 'the held-out normal windows come from the lake (--lake, --since, --until)'],
    ['--pairs', o.pairs, 'a behaviour model reads its own feature sets'],
    ['--abnormal', o.abnormal, 'there is no abnormal set of behaviour windows: the threshold is chosen on normal windows (--max-fpr, --rule three-sigma)'],
    ['--abnormal-gen', o.abnormalGen, 'there is no generator of abnormal behaviour windows: the threshold is chosen on normal windows (--max-fpr, --rule three-sigma)'],
    ['--abnormal-count', o.abnormalCount, 'there is no abnormal set of behaviour windows'],
    ['--min-precision', o.minPrecision, 'precision needs abnormal windows, which behaviour calibration does not have: use --max-fpr or --rule three-sigma'],
    ['--mix', o.mix, 'precision needs abnormal windows'],
    ['--labels', o.labels, 'analyst labels are matched to (entity, IP) pairs, not yet to behaviour windows'],
    ['--asn-table', o.asnTable, 'it applies to generated abnormal IPs'],
    ['--report', o.report, 'the HTML report needs an abnormal set (ROC, PR); use --json'],
    ['--plot', o.plot, 'the charts need an abnormal set (ROC, PR); use --json'],
  ];
  for (const [flag, value, why] of refused) {
    if (value !== undefined) throw new ConfigError(`${flag} does not apply to a behaviour model (${o.model} scores feature windows): ${why}`, [flag.slice(2)]);
  }
  const rules = [o.maxFpr !== undefined || o.rule === 'max-fpr', o.rule === 'three-sigma', o.threshold !== undefined].filter(Boolean).length;
  if (rules > 1) throw new ConfigError('give one of --max-fpr (or --rule max-fpr), --rule three-sigma, --threshold', ['rule']);
  let rule: FeatureCalibrationRule = { kind: 'max_fpr', max_fpr: 0.01 };
  if (o.rule === 'three-sigma') rule = { kind: 'three_sigma' };
  else if (o.threshold !== undefined) rule = { kind: 'threshold', threshold: parseNumber('--threshold', o.threshold) };
  else if (o.maxFpr !== undefined) rule = { kind: 'max_fpr', max_fpr: parseRate('--max-fpr', o.maxFpr, { allowZero: true }) };
  const sinceMs = o.since !== undefined ? parseInstant(o.since, '--since') : undefined;
  const untilMs = o.until !== undefined ? parseInstant(o.until, '--until') : undefined;
  if (sinceMs !== undefined && untilMs !== undefined && !(untilMs > sinceMs)) throw new ConfigError('--until must be later than --since', ['until']);
  const lakeDir = (await readableLake(o.lake, o)).dir;
  const { runFeatureCalibration } = await import('../../calibrate/features.js');
  const j = await runFeatureCalibration({
    model: o.model,
    lakeDir,
    rule,
    ...(sinceMs !== undefined ? { sinceMs } : {}),
    ...(untilMs !== undefined ? { untilMs } : {}),
    dryRun: o.dryRun === true,
    ...(o.perEntity === false ? { perEntity: false } : {}),
    ...(o.requireSupport ? { requireSupport: true } : {}),
    ...(o.learn ? { learn: true } : {}),
    ...(o.entityPrior !== undefined ? { priorN: parseEntityPrior(o.entityPrior) } : {}),
    onMessage: (m) => io.stderr(`seclake calibrate: ${m}\n`),
  });
  if (o.json) {
    io.stdout(jsonValue(j) + '\n');
    return;
  }
  const op = j.direction === 'higher_is_anomalous' ? '>' : '<';
  const h = j.held_out;
  const ruleLine =
    j.rule.kind === 'max_fpr' ? `at most ${fmtPct(j.rule.max_fpr, 2)} of held-out windows flagged` : j.rule.kind === 'three_sigma' ? 'held-out mean + 3 std (three-sigma)' : 'threshold given';
  const lines = [
    `Calibrated ${j.model} (${j.detector}, behaviour windows of ${j.feature_sets.join(', ')}): ${ruleLine}`,
    `  threshold     flag when ${j.score_name} ${op} ${fmtNum(j.threshold, 6)}`,
    `  held out      ${j.held_out.windows.toLocaleString('en-US')} windows of ${h.entities} entities, ${h.since} .. ${h.until} (training ended ${h.training_cutoff})`,
    `  at threshold  ${j.flagged} of them flagged (FPR ${fmtPct(j.fpr, 2)})${j.under_resolved ? `; fewer windows than the rate can resolve (${j.held_out.windows}): the threshold is the highest score seen` : ''}`,
    `  scores        mean ${fmtNum(j.scores.mean, 4)}, std ${fmtNum(j.scores.std, 4)}, median ${fmtNum(j.scores.p50, 4)}, p99 ${fmtNum(j.scores.p99, 4)}, max ${fmtNum(j.scores.max, 4)}`,
  ];
  lines.push(...confidenceLines(j.calibration, 'windows'));
  if (j.previous) lines.push(`  before        threshold ${fmtNum(j.previous.threshold, 6)} flagged ${j.previous.flagged} of them (FPR ${fmtPct(j.previous.fpr, 2)})`);
  if (h.overlaps_training) lines.push(`  note          windows before ${h.training_cutoff} were training data: their scores are lower than new windows'`);
  lines.push('');
  lines.push(renderTable(['FPR budget', 'threshold', 'FPR'], j.thresholds_at_fpr.map((t) => [fmtPct(t.target_fpr, 1), fmtNum(t.threshold, 5), fmtPct(t.fpr, 3)])));
  io.stdout(lines.join('\n') + '\n');
  io.stderr((j.stored ? `Stored the calibration in ${j.model}` : 'Dry run: the model file was not changed') + '\n');
}
