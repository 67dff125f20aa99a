/**
 * Random Cut Forest hyperparameters: SageMaker RCF's (feature_dim, num_trees, num_samples_per_tree, eval_metrics; the
 * same names, ranges and defaults, rcf.md §1.8) plus seclake's streaming ones. ONE zod schema with the text `--help`
 * and the dashboard show; values arrive as SageMaker sends them (strings) or as numbers; every problem is reported at
 * once, each naming its key, and an unknown key is an error.
 */
import { z } from 'zod';
import { parseHyperparameterMap } from '../hyperparameters.js';

function numeric(kind: 'int' | 'float', min: number, max: number) {
  return z.union([z.number(), z.string()]).transform((raw, ctx) => {
    const text = typeof raw === 'number' ? String(raw) : raw.trim();
    const value = text === '' ? Number.NaN : Number(text);
    if (!Number.isFinite(value) || (kind === 'int' && !Number.isInteger(value)) || value < min || value > max) {
      ctx.addIssue({ code: 'custom', message: `must be ${kind === 'int' ? 'an integer' : 'a number'} >= ${min} and <= ${max}, got ${JSON.stringify(raw)}` });
      return z.NEVER;
    }
    return value;
  });
}

function num(kind: 'int' | 'float', min: number, max: number, def: number, description: string) {
  return numeric(kind, min, max).default(def).describe(description);
}

const EVAL_METRICS = ['accuracy', 'precision_recall_fscore'] as const;

/** `eval_metrics`: a list as SageMaker takes it (`["accuracy","precision_recall_fscore"]`, or comma-separated). */
const evalMetrics = z
  .union([z.string(), z.number()])
  .transform((raw, ctx) => {
    const text = String(raw).trim();
    let items: unknown;
    try {
      items = text.startsWith('[') ? JSON.parse(text) : text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    } catch {
      items = undefined;
    }
    if (!Array.isArray(items) || items.length === 0 || !items.every((m) => (EVAL_METRICS as readonly unknown[]).includes(m))) {
      ctx.addIssue({ code: 'custom', message: `must be a list of ${EVAL_METRICS.join(', ')}, got ${JSON.stringify(raw)}` });
      return z.NEVER;
    }
    return [...new Set(items as (typeof EVAL_METRICS)[number][])].join(',');
  })
  .default(EVAL_METRICS.join(','))
  .describe('Metrics computed on the labelled test channel (`--test`): accuracy and/or precision_recall_fscore (SageMaker RCF).');

export const hyperparametersSchema = z
  .object({
    feature_dim: numeric('int', 1, 10_000).optional().describe(
      'Features per record (SageMaker: required). Taken from the data when absent; when given, every record must have this many.'),
    num_trees: num('int', 50, 1000, 100, 'Trees in the forest (SageMaker RCF: 50-1000, default 100). More trees: steadier scores, proportionally slower.'),
    num_samples_per_tree: num('int', 1, 2048, 256,
      'Points each tree keeps (SageMaker RCF: 1-2048, default 256). Choose it so that 1/num_samples_per_tree is about the expected anomaly rate; scores range 0 .. log2(num_samples_per_tree + 1).'),
    time_decay: numeric('float', 0, 1).optional().describe(
      'Recency bias of the tree samplers (rows in time order; the monitor keeps learning with it): 0 = a uniform sample. Default: 0 for CSV (SageMaker\'s uniform sample), ' +
        '1/(10 x num_samples_per_tree) for behaviour models from the lake (AWS\'s default: a window stays in the sample for about 10 x num_samples_per_tree windows).'),
    z_factor: num('float', 0.5, 20, 3,
      'Default threshold before calibration: the training scores\' mean + z_factor x standard deviation (the three-sigma rule SageMaker\'s test metrics use).'),
    seed: num('int', 0, 2 ** 31 - 1, 42, 'Random seed: the same data, parameters and seed give the same forest and scores.'),
    eval_metrics: evalMetrics,
  })
  .strict();

export type Hyperparameters = z.output<typeof hyperparametersSchema>;

/** Validate a hyperparameter map; a ConfigError lists every problem, naming its key. */
export function parseHyperparameters(input: Record<string, string | number | undefined> = {}): Hyperparameters {
  return parseHyperparameterMap(hyperparametersSchema, input, { what: 'rcf hyperparameters', known: Object.keys(hyperparametersSchema.shape), listKnown: true });
}
