import type { Command } from 'commander';
import { SeclakeError } from '../../core/errors.js';

// Placeholder until the owning component lands.
export function registerCatalog(program: Command): void {
  program
    .command('catalog')
    .description('(not yet available)')
    .action(() => {
      throw new SeclakeError('catalog is not available yet');
    });
}
