import type { Command } from 'commander';
import { readQuarantine } from '../../lake/quarantine.js';
import { resolveLakeDir } from '../../lake/layout.js';
import { renderTable } from '../format.js';

export function registerQuarantine(program: Command): void {
  program
    .command('quarantine')
    .description('List records that were not ingested, with input, line, field and reason')
    .option('--lake <dir>', 'lake directory (default: $SECLAKE_LAKE or ./seclake-data)')
    .option('--input <name-or-hash>', 'only records of inputs whose name contains this, or whose hash starts with it')
    .option('--limit <n>', 'at most this many records', '100')
    .option('--json', 'print JSON lines (one record each, with the raw text)')
    .action((o: { lake?: string; input?: string; limit: string; json?: boolean }) => {
      const recs = readQuarantine(resolveLakeDir(o.lake), { ...(o.input ? { input: o.input } : {}), limit: Number(o.limit) });
      if (o.json) {
        for (const r of recs) process.stdout.write(JSON.stringify(r) + '\n');
        return;
      }
      if (recs.length === 0) {
        process.stdout.write('No quarantined records.\n');
        return;
      }
      process.stdout.write(
        renderTable(
          ['input', 'line', 'field', 'reason'],
          recs.map((r) => [r.input_name, r.line, r.field ?? '', r.reason]),
          90,
        ) + '\n',
      );
    });
}
