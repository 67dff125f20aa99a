/** Hyperparameter docs from a detector's zod object schema (its `.describe()` texts) and its parsed defaults. */
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import type { HyperparameterDoc } from './types.js';

export function hyperparameterDocs(shape: Readonly<Record<string, { description?: string | undefined }>>, defaults: Readonly<Record<string, unknown>>): HyperparameterDoc[] {
  return Object.entries(shape).map(([name, schema]) => {
    const d = defaults[name];
    return { name, description: schema.description ?? '', default: typeof d === 'number' || typeof d === 'string' || typeof d === 'boolean' ? d : d === undefined ? '(none)' : String(d) };
  });
}

/**
 * Validate a hyperparameter map (strings or numbers, as SageMaker sends them) with a detector's strict zod schema.
 * Throws a ConfigError listing every problem as `name: message`, the offending keys in `path`; an unknown key is
 * `name: unknown hyperparameter` (with the known names when `listKnown`). Keys in `ignore` are accepted and dropped.
 */
export function parseHyperparameterMap<T>(
  schema: z.ZodType<T>,
  input: Readonly<Record<string, string | number | undefined>>,
  opts: { what: string; known: readonly string[]; listKnown?: boolean; ignore?: readonly string[] },
): T {
  const clean: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined && !opts.ignore?.includes(k)) clean[k] = v;
  const res = schema.safeParse(clean);
  if (res.success) return res.data;
  const lines: string[] = [];
  const paths: string[] = [];
  for (const issue of res.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        lines.push(`${key}: unknown hyperparameter${opts.listKnown ? ` (known: ${opts.known.join(', ')})` : ''}`);
        paths.push(key);
      }
      continue;
    }
    const key = issue.path.join('.') || '(hyperparameters)';
    lines.push(`${key}: ${issue.message}`);
    paths.push(key);
  }
  throw new ConfigError(`invalid ${opts.what}: ${lines.join('; ')}`, paths);
}
