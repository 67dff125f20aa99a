import type { Command } from 'commander';
import { SeclakeError } from '../../core/errors.js';

// Placeholder until the owning component lands.
export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('(not yet available)')
    .action(() => {
      throw new SeclakeError('ingest is not available yet');
    });
}
