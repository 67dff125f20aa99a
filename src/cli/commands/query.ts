import type { Command } from 'commander';
import { SeclakeError } from '../../core/errors.js';

// Placeholder until the owning component lands.
export function registerQuery(program: Command): void {
  program
    .command('query')
    .description('(not yet available)')
    .action(() => {
      throw new SeclakeError('query is not available yet');
    });
}
