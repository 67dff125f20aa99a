import type { Command } from 'commander';
import { SeclakeError } from '../../core/errors.js';

// Placeholder until the owning component lands.
export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('(not yet available)')
    .action(() => {
      throw new SeclakeError('train is not available yet');
    });
}
