/** Hyperparameter docs from a detector's zod object schema (its `.describe()` texts) and its parsed defaults. */
import type { HyperparameterDoc } from './types.js';

export function hyperparameterDocs(shape: Readonly<Record<string, { description?: string | undefined }>>, defaults: Readonly<Record<string, unknown>>): HyperparameterDoc[] {
  return Object.entries(shape).map(([name, schema]) => {
    const d = defaults[name];
    return { name, description: schema.description ?? '', default: typeof d === 'number' || typeof d === 'string' || typeof d === 'boolean' ? d : String(d) };
  });
}
