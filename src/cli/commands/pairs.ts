import type { Command } from 'commander';
import { SeclakeError } from '../../core/errors.js';

// Placeholder until the owning component lands.
export function registerPairs(program: Command): void {
  program
    .command('pairs')
    .description('(not yet available)')
    .action(() => {
      throw new SeclakeError('pairs is not available yet');
    });
}
