import type { Command } from 'commander';
import { SeclakeError } from '../../core/errors.js';

// Placeholder until the owning component lands.
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('(not yet available)')
    .action(() => {
      throw new SeclakeError('validate is not available yet');
    });
}
