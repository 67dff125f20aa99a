/**
 * History detector hyperparameters: ONE zod schema with ranges, defaults and the text `--help` and the dashboard
 * show. Values arrive as SageMaker sends hyperparameters (a string -> string map) or as numbers; every problem is
 * reported at once, each naming its key, and an unknown key (a typo) is an error.
 */
import { z } from 'zod';
import { parseHyperparameterMap } from '../hyperparameters.js';

type NumKind = 'int' | 'float';

/** A numeric hyperparameter given as a number or a numeric string. */
function num(kind: NumKind, min: number, max: number, def: number, description: string, minExclusive = false) {
  return z
    .union([z.number(), z.string()])
    .transform((raw, ctx) => {
      const text = typeof raw === 'number' ? String(raw) : raw.trim();
      const value = text === '' ? Number.NaN : Number(text);
      const range = `${minExclusive ? '>' : '>='} ${min} and <= ${max}`;
      const what = kind === 'int' ? 'an integer' : 'a number';
      const low = minExclusive ? value <= min : value < min;
      if (!Number.isFinite(value) || (kind === 'int' && !Number.isInteger(value)) || low || value > max) {
        ctx.addIssue({ code: 'custom', message: `must be ${what} ${range}, got ${JSON.stringify(raw)}` });
        return z.NEVER;
      }
      return value;
    })
    .default(def)
    .describe(description);
}

export const hyperparametersSchema = z
  .object({
    max_addresses_per_entity: num('int', 1, 1 << 24, 4096,
      'Distinct training addresses stored per entity. Beyond it the most used are kept (equally used ones evenly spread ' +
        'over the sorted addresses; the most used of each family always) and a dropped address\'s rows are credited to the kept address of its ' +
        'family sharing the longest prefix with it, so no row is lost and the count under a matched prefix is never below ' +
        'the true one. 20 bytes per stored address.'),
    max_population_addresses: num('int', 1, 1 << 28, 1 << 20,
      'Distinct addresses stored for the population (all entities together), which entities never seen in training are ' +
        'scored against; capped like max_addresses_per_entity. 20 bytes per stored address.'),
    count_half: num('float', 0, 1e9,
      10,
      'Training connections under the matched prefix at which the familiarity term is half its weight: the term is ' +
        'count_weight x c / (c + count_half), c = the entity\'s training rows under the prefix.', true),
    count_weight: num('float', 0, 1, 1,
      'Weight of the familiarity term, as a share of one prefix bit (0 = prefix length only; at most 1, so a longer prefix ' +
        'always scores higher than a shorter one).'),
  })
  .strict();

export type Hyperparameters = z.output<typeof hyperparametersSchema>;
export type HyperparameterInput = Record<string, string | number | undefined>;

/**
 * Validate a hyperparameter map (strings or numbers). Throws a ConfigError listing every problem as `name: message`,
 * with the offending keys in `path`; an unknown key is `name: unknown hyperparameter`.
 */
export function parseHyperparameters(input: HyperparameterInput = {}): Hyperparameters {
  return parseHyperparameterMap(hyperparametersSchema, input, { what: 'history hyperparameters', known: Object.keys(hyperparametersSchema.shape), listKnown: true });
}
