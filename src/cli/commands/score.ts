import type { Command } from 'commander';
import { SeclakeError } from '../../core/errors.js';

// Placeholder until the owning component lands.
export function registerScore(program: Command): void {
  program
    .command('score')
    .description('(not yet available)')
    .action(() => {
      throw new SeclakeError('score is not available yet');
    });
}
