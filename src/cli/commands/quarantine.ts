import type { Command } from 'commander';
import { SeclakeError } from '../../core/errors.js';

// Placeholder until the owning component lands.
export function registerQuarantine(program: Command): void {
  program
    .command('quarantine')
    .description('(not yet available)')
    .action(() => {
      throw new SeclakeError('quarantine is not available yet');
    });
}
