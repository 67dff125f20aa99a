import { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { createProgress } from '../../core/progress.js';
import { parseHpAssignments, SAGEMAKER_HYPERPARAMETERS } from '../../detectors/ipinsights/config.js';
import { loadPairsCsv, type BadRowReport, type PairData } from '../../detectors/ipinsights/data.js';
import { loadPairsFromLake, pairDataKeys } from '../../detectors/ipinsights/lake-pairs.js';
import { DEFAULT_PAIR_DEFINITION, PAIR_DEFINITIONS, checkDegenerate, compileDefinitionSql, pairDefinition } from '../../detectors/pairs.js';
import { trainIpInsights } from '../../detectors/ipinsights/train.js';
import { resolveLakeDir } from '../../lake/layout.js';

interface TrainCliOptions {
  train?: string[];
  lake?: string;
  sql?: string;
  pairs?: string;
  model: string;
  validation?: string[];
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
      'Train an IP Insights model (which IPs each entity normally uses) from headerless entity,ip CSV ' +
        '(SageMaker\'s training format, gzip allowed) or from the lake, and write the model file.',
    )
    .option('--train <file>', 'training CSV: entity,ip per line, no header (repeatable)', collect)
    .option('--lake <dir>', 'take the pairs from the lake instead (the record definition --pairs, default `default`)')
    .option('--pairs <name>', `with --lake: record definition (${Object.keys(PAIR_DEFINITIONS).join(', ')}; default ${DEFAULT_PAIR_DEFINITION})`)
    .option('--sql <sql>', 'with --lake: a custom query producing (entity, ip[, time]) rows instead of a definition')
    .requiredOption('--model <path>', 'model file to write')
    .option('--validation <file>', 'validation CSV: logs validation:discriminator_auc every epoch (repeatable)', collect)
    .option('--hp <name=value>', 'hyperparameter, SageMaker name (repeatable), e.g. --hp vector_dim=64', collect, [])
    .option('--threads <n>', 'worker threads (default: one per core)')
    .option('--seed <n>', 'random seed; with --threads 1 training is bit-for-bit reproducible')
    .option('--json', 'print the training summary as JSON on stdout')
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
Hyperparameters (SageMaker IP Insights names; values as SageMaker's string map):
  ${SAGEMAKER_HYPERPARAMETERS.join(', ')}
  seclake extras: optimizer (sgd|adam), random_negative_entity (uniform|batch), entity_max_norm,
  num_ip_vectors, threads, seed. Defaults and ranges: docs/ipinsights.md.

Metric lines in SageMaker's format go to stderr (#quality_metric, #progress_metric, #throughput_metric).
Malformed rows (wrong column count, empty entity, invalid IP) are skipped and reported with line numbers.

Record definitions for --lake (--pairs NAME; stored in the model header as record_definition, so
\`seclake monitor\` and \`calibrate --lake\` use the same pairs by default):
${Object.values(PAIR_DEFINITIONS).map((d) => `  ${d.name.padEnd(11)} ${d.description}`).join('\n')}
Default (--pairs default) query; parts over sources the lake does not hold are left out:
  ${compileDefinitionSql(DEFAULT_PAIR_DEFINITION).replaceAll('\n', '\n  ')}

Examples:
  seclake train --train pairs.csv --model ipi.model --hp num_entity_vectors=20000 --hp epochs=5
  seclake train --train train.csv.gz --validation valid.csv --model ipi.model --threads 1 --seed 7
  seclake train --lake ./seclake-data --model ipi.model --json`,
    )
    .action(async (o: TrainCliOptions) => {
      if (!o.train?.length && !o.lake) throw new ConfigError('give --train FILE or --lake DIR', ['train']);
      if (o.train?.length && o.lake) throw new ConfigError('give either --train or --lake, not both', ['train', 'lake']);
      if (o.sql && !o.lake) throw new ConfigError('--sql needs --lake', ['sql']);
      if (o.pairs !== undefined && !o.lake) throw new ConfigError('--pairs needs --lake', ['pairs']);
      if (o.pairs !== undefined && o.sql !== undefined) throw new ConfigError('give --pairs or --sql, not both', ['pairs', 'sql']);
      const hp: Record<string, string> = parseHpAssignments(o.hp);
      if (o.threads !== undefined) hp.threads = o.threads;
      if (o.seed !== undefined) hp.seed = o.seed;

      let data: PairData;
      let source: string;
      /** What the model is trained on, recorded in its header (record_definition). */
      let recordDefinition: { name: string; sql: string } | undefined;
      if (o.lake) {
        const dir = resolveLakeDir(o.lake);
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

      let bar: ReturnType<typeof createProgress> | undefined;
      const res = await trainIpInsights({
        train: data,
        ...(validation ? { validation } : {}),
        hyperparameters: hp,
        modelPath: o.model,
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
      }).finally(() => bar?.stop());

      const t = res.header.training;
      const summary = {
        model: o.model,
        rows: t.rows,
        bad_rows: t.bad_rows,
        distinct_entities: t.distinct_entities,
        ipv6_rows: t.ipv6_rows,
        epochs: t.epochs,
        final_loss: t.final_loss,
        final_accuracy: t.final_accuracy,
        validation_auc: t.validation_auc,
        threads: t.threads,
        seed: t.seed,
        seconds: t.training_seconds,
        records_per_second: t.records_per_second,
        data_time_range: t.data_time_range,
        hyperparameters: res.hyperparameters,
        bad_row_examples: res.bad.examples,
        ...(recordDefinition ? { record_definition: recordDefinition } : {}),
        warnings,
      };
      if (o.json) {
        process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      } else {
        process.stdout.write(
          `Trained ${o.model}: ${t.rows.toLocaleString('en-US')} pairs, ${t.distinct_entities.toLocaleString('en-US')} entities, ` +
            `${t.epochs} epochs in ${t.training_seconds.toFixed(1)} s (${Math.round(t.records_per_second).toLocaleString('en-US')} records/s, ${t.threads} threads); ` +
            `final loss ${t.final_loss.toFixed(4)}` +
            (t.validation_auc !== null ? `, validation AUC ${t.validation_auc.toFixed(4)}` : '') +
            (t.bad_rows > 0 ? `; ${t.bad_rows} malformed rows skipped` : '') +
            '\n',
        );
      }
    });
}
