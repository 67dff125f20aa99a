import { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { BadRowReport, PairData } from '../../detectors/pairs/data.js';
import { DEFAULT_PAIR_DEFINITION, PAIR_DEFINITIONS, checkDegenerate, compileDefinitionSql, pairDefinition } from '../../detectors/pairs/definitions.js';
import { DEFAULT_DETECTOR, DETECTORS, detectorOf, type DetectorDefinition } from '../../detectors/index.js';
import type { RcfTrainingData } from '../../detectors/rcf/train.js';
import { META_DIR } from '../../lake/layout.js';
import { isS3Lake, readableLake, type QueryableLake, type S3LakeFlags } from '../lake.js';

interface TrainCliOptions extends S3LakeFlags {
  detector: string;
  train?: string[];
  lake?: string;
  sql?: string;
  pairs?: string;
  model?: string;
  name?: string;
  register: boolean;
  validation?: string[];
  test?: string[];
  features?: string;
  window?: string;
  featureConfig?: string;
  until?: string;
  hp: string[];
  threads?: string;
  seed?: string;
  json?: boolean;
  progress: boolean;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function describeBad(bad: BadRowReport): string {
  const reasons = Object.entries(bad.byReason)
    .filter(([, n]) => n > 0)
    .map(([r, n]) => `${r}: ${n}`)
    .join(', ');
  const first = bad.examples.map((e) => `  ${e.source}:${e.line}: ${e.message}`).join('\n');
  return `skipped ${bad.total} malformed row${bad.total === 1 ? '' : 's'} (${reasons}); first ${bad.examples.length}:\n${first}`;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description(
      'Train a detector\'s model (default IP Insights: which IPs each entity normally uses) from headerless ' +
        'entity,ip CSV (SageMaker\'s training format, gzip allowed) or from the lake, and write the model file.',
    )
    .option('--detector <type>', `detector to train (${DETECTORS.map((d) => d.type).join(', ')})`, DEFAULT_DETECTOR)
    .option('--train <file>', 'training CSV: entity,ip per line, no header (repeatable)', collect)
    .option('--lake <dir|s3-url>', 'take the pairs from the lake instead (the record definition --pairs, default `default`); an s3://bucket/prefix lake is mirrored to a local cache first')
    .option('--s3-endpoint <url>', 'S3 lake: endpoint URL (MinIO, moto, ...); default $SECLAKE_S3_ENDPOINT, else AWS')
    .option('--s3-region <region>', 'S3 lake: region of the bucket (default $AWS_REGION)')
    .option('--cache <dir>', 'S3 lake: local directory the lake is mirrored to (default: the lake cache, $SECLAKE_CACHE)')
    .option('--pairs <name>', `with --lake: record definition (${Object.keys(PAIR_DEFINITIONS).join(', ')}; default: ${DEFAULT_PAIR_DEFINITION})`)
    .option('--sql <sql>', 'with --lake: a custom query producing (entity, ip[, time]) rows instead of a definition')
    .option('--model <path>', 'model file to write (with a local --lake, default <lake>/_seclake/models/<detector>-<definition>.model)')
    .option('--name <name>', 'with a local --lake: the name the model is registered under in the lake (default: the file name without extension)')
    .option('--no-register', 'with a local --lake: do not register the model for the lake (`seclake monitor` without --model runs the registered ones; models are not registered for an S3 lake)')
    .option('--validation <file>', 'validation CSV: logs validation:discriminator_auc every epoch (repeatable)', collect)
    .option('--test <file>', 'rcf: labelled test CSV (label 0/1 first, then the features; SageMaker\'s test channel): accuracy, precision, recall, F1 (repeatable)', collect)
    .option('--features <sets>', 'rcf with --lake: behaviour feature sets, comma-separated (default: every set whose source the lake holds)')
    .option('--window <duration>', 'rcf with --lake: feature window (e.g. 15m, 1h, 1d; default 1h)')
    .option('--until <time>', 'rcf with --lake: train on windows ending by this time only (ISO 8601, e.g. to keep recent days for calibrate)')
    .option('--feature-config <file>', 'rcf with --lake: a JSON feature config (your own feature sets, window, lateness, known subnets; docs/detectors.md)')
    .option('--hp <name=value>', 'hyperparameter of the detector (repeatable), e.g. --hp vector_dim=64; SageMaker names for IP Insights', collect, [])
    .option('--threads <n>', 'worker threads (default: one per core)')
    .option('--seed <n>', 'random seed; with --threads 1 training is bit-for-bit reproducible')
    .option('--json', 'print the training summary as JSON on stdout')
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
Detectors and their hyperparameters (--hp NAME=VALUE; \`seclake models detectors\` describes them):
${DETECTORS.map((d) => `  ${d.type.padEnd(11)} ${d.title}: ${d.hyperparameters.map((h) => h.name).join(', ')}`).join('\n')}
  IP Insights uses SageMaker's names and ranges (docs/ipinsights.md) and prints SageMaker's metric lines to
  stderr (#quality_metric, #progress_metric, #throughput_metric).
Malformed rows (wrong column count, empty entity, invalid IP) are skipped and reported with line numbers.

Record definitions for --lake (--pairs NAME; stored in the model header as record_definition, so
\`seclake monitor\` and \`calibrate --lake\` use the same pairs by default):
${Object.values(PAIR_DEFINITIONS).map((d) => `  ${d.name.padEnd(11)} ${d.description}`).join('\n')}
Default (--pairs default) query; parts over sources the lake does not hold are left out:
  ${compileDefinitionSql(DEFAULT_PAIR_DEFINITION).replaceAll('\n', '\n  ')}

Examples:
  seclake train --train pairs.csv --model ipi.model --hp num_entity_vectors=20000 --hp epochs=5
  seclake train --train train.csv.gz --validation valid.csv --model ipi.model --threads 1 --seed 7
  seclake train --lake ./seclake-data          # writes and registers <lake>/_seclake/models/ipinsights-default.model
  seclake train --lake ./seclake-data --model ipi.model --json
  seclake train --lake ./seclake-data --detector history --model history.model
  seclake train --lake s3://my-bucket/lake --pairs flow-peer --model flows.model   # pairs from the lake's local mirror
  seclake train --detector rcf --train features.csv --test labelled.csv --model rcf.model --hp num_trees=100
  seclake train --detector rcf --lake ./seclake-data --features network,dns --window 1h   # behaviour per entity and hour`,
    )
    .action(async (o: TrainCliOptions) => {
      if (!o.train?.length && !o.lake) throw new ConfigError('give --train FILE or --lake DIR', ['train']);
      if (!o.model && !o.lake) throw new ConfigError('give --model FILE (where to write the model)', ['model']);
      if (o.name !== undefined && !o.lake) throw new ConfigError('--name needs --lake (it is the name the model is registered under)', ['name']);
      if (o.train?.length && o.lake) throw new ConfigError('give either --train or --lake, not both', ['train', 'lake']);
      if (o.sql && !o.lake) throw new ConfigError('--sql needs --lake', ['sql']);
      if (o.pairs !== undefined && !o.lake) throw new ConfigError('--pairs needs --lake', ['pairs']);
      if (o.pairs !== undefined && o.sql !== undefined) throw new ConfigError('give --pairs or --sql, not both', ['pairs', 'sql']);
      const detector = detectorOf(o.detector);
      const { parseHpAssignments } = await import('../../detectors/ipinsights/config.js');
      const hp: Record<string, string> = parseHpAssignments(o.hp);
      const accepts = (name: string): boolean => detector.hyperparameters.some((h) => h.name === name);
      for (const [flag, value] of [['threads', o.threads], ['seed', o.seed]] as const) {
        if (value === undefined) continue;
        if (!accepts(flag)) throw new ConfigError(`--${flag}: the ${detector.type} detector has no ${flag} hyperparameter`, [flag]);
        hp[flag] = value;
      }
      // Fail on a bad hyperparameter before reading any data.
      detector.parseHyperparameters(hp);
      const lake = o.lake !== undefined ? await trainingLake(o) : undefined;
      if (detector.records === 'features') return trainFeatures(o, detector, hp, lake);
      for (const [flag, value] of [['test', o.test], ['features', o.features], ['window', o.window], ['feature-config', o.featureConfig], ['until', o.until]] as const) {
        if (value !== undefined) throw new ConfigError(`--${flag} is for detectors of behaviour features (rcf), not ${detector.type}`, [flag]);
      }

      let data: PairData;
      let source: string;
      /** What the model is trained on, recorded in its header (record_definition). */
      let recordDefinition: { name: string; sql: string } | undefined;
      const { loadPairsCsv } = await import('../../detectors/pairs/data.js');
      const { loadPairsFromLake, pairDataKeys } = await import('../../detectors/pairs/lake.js');
      if (lake) {
        const dir = lake.dir;
        if (o.sql !== undefined) {
          data = await loadPairsFromLake(dir, o.sql);
          recordDefinition = { name: 'custom', sql: o.sql };
        } else {
          const def = pairDefinition(o.pairs ?? DEFAULT_PAIR_DEFINITION);
          data = await loadPairsFromLake(dir, { definition: def });
          recordDefinition = { name: def.name, sql: compileDefinitionSql(def) };
        }
        source = `lake:${o.lake}`;
      } else {
        data = await loadPairsCsv(o.train!);
        source = o.train!.join(',');
      }
      if (data.bad.total > 0) process.stderr.write(`seclake train: ${describeBad(data.bad)}\n`);
      let validation: PairData | undefined;
      if (o.validation?.length) {
        validation = await loadPairsCsv(o.validation);
        if (validation.bad.total > 0) process.stderr.write(`seclake train: validation: ${describeBad(validation.bad)}\n`);
      }
      process.stderr.write(`seclake train: ${data.n.toLocaleString('en-US')} training pairs${validation ? `, ${validation.n.toLocaleString('en-US')} validation pairs` : ''}\n`);
      const warnings: string[] = [];
      const degenerate = checkDegenerate(pairDataKeys(data), recordDefinition ? { definition: recordDefinition.name } : {});
      if (degenerate.warning) warnings.push(degenerate.warning);
      for (const w of warnings) process.stderr.write(`seclake train: warning: ${w}\n`);

      const lakeDir = lake && !lake.s3 ? lake.dir : undefined;
      let modelPath = o.model;
      if (!modelPath) {
        const dir = path.join(lakeDir!, META_DIR, 'models');
        mkdirSync(dir, { recursive: true });
        modelPath = path.join(dir, `${detector.type}-${recordDefinition?.name ?? 'custom'}.model`);
      }
      const { createProgress } = await import('../../core/progress.js');
      let bar: ReturnType<typeof createProgress> | undefined;
      const res = await detector
        .train({
          train: data,
          ...(validation ? { validation } : {}),
          hyperparameters: hp,
          modelPath,
          source,
          ...(recordDefinition ? { recordDefinition: { kind: 'pairs', ...recordDefinition } } : {}),
          onProgress: (done, total) => {
            if (!o.progress) return;
            bar ??= createProgress('train', total, 'records');
            bar.update(done);
          },
          log: (line) => {
            if (bar && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
            process.stderr.write(line + '\n');
          },
        })
        .finally(() => bar?.stop());

      // Registered for the lake, so `seclake monitor --lake` (no --model) runs it.
      const registered = lakeDir && o.register ? await register(lakeDir, o.name, modelPath, detector.type) : undefined;
      // Honest confidence: entities with too few training records cannot raise High or Critical findings.
      const { trainingSupport } = await import('../../detectors/calibration.js');
      const support = trainingSupport(data.fp);
      if (!support.sufficient) process.stderr.write(`seclake train: warning: low support: ${support.note}\n`);
      const summary = {
        model: modelPath,
        detector: detector.type,
        ...(registered ? { registered: { name: registered.name, lake: lakeDir } } : {}),
        ...res.summary,
        ...(recordDefinition ? { record_definition: recordDefinition } : {}),
        support,
        warnings,
      };
      if (o.json) {
        process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      } else {
        const t = res.model.header.training;
        const line = res.message ?? `${t.rows.toLocaleString('en-US')} records, ${t.distinct_entities.toLocaleString('en-US')} entities in ${t.training_seconds.toFixed(1)} s`;
        process.stdout.write(`Trained ${modelPath} (${detector.title}): ${line}\n`);
        process.stdout.write(`Support: ${support.sufficient ? '' : 'LOW: '}${support.note}\n`);
        if (registered) process.stdout.write(`Registered as '${registered.name}' for the lake ${lakeDir} (seclake monitor --lake ${o.lake} runs it)\n`);
      }
    });
}

/**
 * The lake `train --lake` reads: a local lake (checked), or an S3 lake's local mirror. A model trained on an S3 lake is
 * written where --model says (required) and not registered: the registry (`_seclake/models.json`) is a local lake's.
 */
async function trainingLake(o: TrainCliOptions): Promise<QueryableLake> {
  if (isS3Lake(o.lake)) {
    if (!o.model) throw new ConfigError(`give --model FILE: a model trained on the S3 lake ${o.lake} is written where --model says (models are registered for local lakes only)`, ['model']);
    if (o.name !== undefined) throw new ConfigError(`--name registers the model for a local lake; models are not registered for the S3 lake ${o.lake}`, ['name']);
  }
  const lake = await readableLake(o.lake, o);
  if (lake.s3 && o.register) process.stderr.write(`seclake train: the model is not registered for the S3 lake ${lake.location} (models are registered for local lakes only); monitor it with --model\n`);
  return lake;
}

/** Register a model for a local lake (`seclake monitor --lake` without --model runs it). */
async function register(lakeDir: string, name: string | undefined, modelPath: string, type: string): Promise<{ name: string }> {
  const { modelNameOf, registerModel } = await import('../../lake/models.js');
  return registerModel(lakeDir, name ?? modelNameOf(modelPath), modelPath, type);
}

/** `train` for a detector of the features kind: SageMaker RCF's CSV channels, or behaviour features from the lake. */
async function trainFeatures(o: TrainCliOptions, detector: DetectorDefinition, hp: Record<string, string>, lake: QueryableLake | undefined): Promise<void> {
  for (const [flag, value] of [['sql', o.sql], ['pairs', o.pairs], ['validation', o.validation]] as const) {
    if (value !== undefined) throw new ConfigError(`--${flag} is for detectors of (entity, IP) pairs, not ${detector.type}`, [flag]);
  }
  if (o.lake === undefined && (o.features !== undefined || o.window !== undefined || o.featureConfig !== undefined || o.until !== undefined)) {
    throw new ConfigError('--features, --window, --feature-config and --until need --lake', ['features']);
  }
  const until = o.until === undefined ? undefined : Date.parse(o.until);
  if (until !== undefined && !Number.isFinite(until)) throw new ConfigError(`--until: not a time: ${JSON.stringify(o.until)} (ISO 8601, e.g. 2026-12-01T00:00:00Z)`, ['until']);
  const lakeDir = lake && !lake.s3 ? lake.dir : undefined;
  const { readFeatureCsv } = await import('../../detectors/rcf/csv.js');
  let data: RcfTrainingData;
  let source: string;
  let definition: string;
  if (lake) {
    const { loadLakeFeatures } = await import('../../detectors/rcf/lake.js');
    const lf = await loadLakeFeatures(lake.dir, {
      ...(o.features !== undefined ? { sets: o.features.split(',').map((s) => s.trim()).filter((s) => s !== '') } : {}),
      ...(o.window !== undefined ? { window: o.window } : {}),
      ...(o.featureConfig !== undefined ? { configFile: o.featureConfig } : {}),
      ...(until !== undefined ? { until } : {}),
      log: (line) => process.stderr.write(`seclake train: ${line}\n`),
    });
    data = lf.data;
    source = `lake:${o.lake}`;
    definition = lf.data.features!.sets.join('+');
    process.stderr.write(`seclake train: ${data.matrix.n.toLocaleString('en-US')} windows of ${lf.entities.toLocaleString('en-US')} entities x ${data.matrix.dim} features (${definition}, ${lf.windowText} windows)\n`);
  } else {
    const matrix = await readFeatureCsv(o.train!);
    data = { matrix };
    source = o.train!.join(',');
    definition = 'csv';
    process.stderr.write(`seclake train: ${matrix.n.toLocaleString('en-US')} training records x ${matrix.dim} features\n`);
  }
  if (o.test?.length) data.test = await readFeatureCsv(o.test, { labelled: true, dim: data.matrix.dim });
  let modelPath = o.model;
  if (!modelPath) {
    const dir = path.join(lakeDir!, META_DIR, 'models');
    mkdirSync(dir, { recursive: true });
    // Sets joined with '-' (the record definition says 'network+dns'): a model name may not hold '+' (lake/models.ts).
    modelPath = path.join(dir, `${detector.type}-${definition.replaceAll('+', '-')}.model`);
  }
  const { createProgress } = await import('../../core/progress.js');
  let bar: ReturnType<typeof createProgress> | undefined;
  const res = await detector
    .train({
      train: data,
      hyperparameters: hp,
      modelPath,
      source,
      onProgress: (done, total) => {
        if (!o.progress) return;
        bar ??= createProgress('train', total, 'records');
        bar.update(done);
      },
      log: (line) => {
        if (bar && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
        process.stderr.write(line + '\n');
      },
    })
    .finally(() => bar?.stop());
  const registered = lakeDir && o.register ? await register(lakeDir, o.name, modelPath, detector.type) : undefined;
  const summary = { model: modelPath, detector: detector.type, ...(registered ? { registered: { name: registered.name, lake: lakeDir } } : {}), ...res.summary };
  if (o.json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  process.stdout.write(`Trained ${modelPath} (${detector.title}): ${res.message ?? `${res.model.header.training.rows} records`}\n`);
  if (registered) process.stdout.write(`Registered as '${registered.name}' for the lake ${lakeDir} (seclake monitor --lake ${o.lake} runs it)\n`);
}
