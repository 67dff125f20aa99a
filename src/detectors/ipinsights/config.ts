/**
 * IP Insights hyperparameters: ONE zod schema holding SageMaker's names, ranges and defaults
 * (ipinsights.md §1) plus our own extras (marked "seclake extra"). Values arrive as SageMaker sends them,
 * a string -> string map, or as numbers; every problem is reported at once, each naming the parameter.
 */
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import { parseHyperparameterMap } from '../hyperparameters.js';

type NumKind = 'int' | 'float';

/** A numeric hyperparameter given as a number or a numeric string (SageMaker passes strings). */
function num(kind: NumKind, min: number, max: number, def: number, description: string) {
  return z
    .union([z.number(), z.string()])
    .transform((raw, ctx) => {
      const text = typeof raw === 'number' ? String(raw) : raw.trim();
      const value = text === '' ? Number.NaN : Number(text);
      const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `between ${min} and ${max}`;
      const what = kind === 'int' ? 'an integer' : 'a number';
      if (!Number.isFinite(value) || (kind === 'int' && !Number.isInteger(value)) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `must be ${what} ${range}, got ${JSON.stringify(raw)}` });
        return z.NEVER;
      }
      return value;
    })
    .default(def)
    .describe(description);
}

/** Keys the SageMaker container accepts in its configuration but does not document; accepted and ignored. */
export const SAGEMAKER_HIDDEN_KEYS = ['_kvstore', '_log_level', '_num_gpus', '_num_kv_servers', '_tuning_objective_metric'] as const;

/** Default sibling_negative_sampling_rate (measured on the estate and the login benchmark, docs/ipinsights.md). */
export const SIBLING_DEFAULT = 1;

export const OPTIMIZERS = ['sgd', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export const hyperparametersSchema = z
  .object({
    // ---- SageMaker IP Insights (names, ranges and container defaults as in ipinsights.md §1) ----
    num_entity_vectors: num('int', 1, 250_000_000, 100_000,
      'Entity embedding rows; entities are hashed into them (recommended: 2 x unique entities). SageMaker docs mark it required; the container default is 100000.'),
    vector_dim: num('int', 4, 4096, 128, 'Size of the entity and IP embeddings (SageMaker docs: required; container default 128).'),
    batch_metrics_publish_interval: num('int', 1, Number.POSITIVE_INFINITY, 1000, 'Log running train metrics every X mini-batches.'),
    epochs: num('int', 1, Number.POSITIVE_INFINITY, 10, 'Passes over the training data.'),
    learning_rate: num('float', 1e-6, 10, 0.001, 'Learning rate (the step size of the chosen optimizer).'),
    mini_batch_size: num('int', 1, 500_000, 10_000,
      'Positive examples per mini-batch (shuffled negatives are re-paired within it). SageMaker docs say 10000, its container used 5000; we use 10000.'),
    num_ip_encoder_layers: num('int', 0, 100, 1, 'Fully-connected layers on top of the IP prefix embedding.'),
    random_negative_sampling_rate: num('int', 0, 500, 1, 'R: random-IP negatives per positive.'),
    shuffled_negative_sampling_rate: num('int', 0, 500, 1, 'S: shuffled (re-paired within the mini-batch) negatives per positive.'),
    weight_decay: num('float', 0, 10, 0.00001, 'L2 regularisation coefficient (applied lazily to the rows a step touches).'),
    // ---- seclake extras (not SageMaker hyperparameters) ----
    optimizer: z
      .enum(OPTIMIZERS, { message: `must be one of ${OPTIMIZERS.join(', ')}` })
      .default('sgd')
      .describe('seclake extra. sgd: word2vec-style Hogwild SGD with linear decay (default, see docs/ipinsights.md); adam: lazy (row-sparse) Adam as SageMaker.'),
    random_negative_entity: z
      .enum(['uniform', 'batch'], { message: 'must be one of uniform, batch' })
      .default('uniform')
      .describe('seclake extra. Entity a random-IP negative is paired with: uniform = drawn uniformly from the training entities (default; the model also learns how active each entity is), batch = the positive\'s own entity (SageMaker).'),
    entity_max_norm: num('float', 0, 1e6, 2, 'seclake extra. Entity vectors are scaled back to this L2 norm after each update (0 = no cap); keeps scores of busy and quiet entities on one scale.'),
    sibling_negative_sampling_rate: num('float', 0, 500, SIBLING_DEFAULT,
      'seclake extra. Sibling negatives per positive: the positive\'s entity with an unused host of the same /24 (IPv6 /64); a fraction is a probability of one. They teach the model that a new host in a known subnet is less normal than the known peers (docs/ipinsights.md "New hosts in known subnets"); 0 = none (SageMaker). Needs num_ip_encoder_layers <= 1 (ignored with dense layers).'),
    threads: num('int', 0, 256, 0, 'seclake extra. Training worker threads; 0 = one per available core.'),
    seed: num('int', 0, 0xffffffff, 1, 'seclake extra. Seed of every random choice; with threads=1 training is bit-for-bit reproducible.'),
    num_ip_vectors: num('int', 0, 1 << 28, 0,
      'seclake extra. Rows of the hashed IP-prefix table; 0 = sized from the data (distinct prefixes rounded up to a power of two, at most 128 MiB).'),
  })
  .strict()
  .superRefine((hp, ctx) => {
    const rs = hp.random_negative_sampling_rate + hp.shuffled_negative_sampling_rate;
    if (rs < 1 || rs > 500) {
      ctx.addIssue({
        code: 'custom',
        path: ['random_negative_sampling_rate'],
        message: `random_negative_sampling_rate + shuffled_negative_sampling_rate must be between 1 and 500, got ${rs}`,
      });
    }
  });

export type Hyperparameters = z.output<typeof hyperparametersSchema>;
export type HyperparameterInput = Record<string, string | number | undefined>;

/** Names of the SageMaker hyperparameters (in the documented order). */
export const SAGEMAKER_HYPERPARAMETERS = [
  'num_entity_vectors',
  'vector_dim',
  'batch_metrics_publish_interval',
  'epochs',
  'learning_rate',
  'mini_batch_size',
  'num_ip_encoder_layers',
  'random_negative_sampling_rate',
  'shuffled_negative_sampling_rate',
  'weight_decay',
] as const;

/**
 * Validate a SageMaker-style hyperparameter map (string -> string, numbers also accepted). Unknown keys
 * are errors (typos must not pass silently), except SageMaker's hidden `_...` keys. Throws a ConfigError
 * listing every problem, each as `name: message`.
 */
export function parseHyperparameters(input: HyperparameterInput = {}): Hyperparameters {
  return parseHyperparameterMap(hyperparametersSchema, input, { what: 'hyperparameters', known: Object.keys(hyperparametersSchema.shape), ignore: SAGEMAKER_HIDDEN_KEYS });
}

/** Parse `name=value` strings (the CLI's repeated --hp) into a map; later values win. */
export function parseHpAssignments(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--hp expects name=value, got ${JSON.stringify(item)}`, ['hp']);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

/** The SageMaker hyperparameters of a resolved set, as SageMaker's string map. */
export function toSageMakerMap(hp: Hyperparameters): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of SAGEMAKER_HYPERPARAMETERS) out[k] = String(hp[k]);
  return out;
}
