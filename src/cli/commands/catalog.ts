import type { Command } from 'commander';
import { readInputs, readObjects } from '../../lake/catalog.js';
import { resolveLakeDir } from '../../lake/layout.js';
import { fmtInt, renderTable } from '../format.js';

export function registerCatalog(program: Command): void {
  program
    .command('catalog')
    .description('Show what the lake holds: objects per source, class and partition, and ingested inputs')
    .option('--lake <dir>', 'lake directory (default: $SECLAKE_LAKE or ./seclake-data)')
    .option('--objects', 'list every object (path, rows, time range, input)')
    .option('--after-seq <n>', 'only objects published after this sequence number', '0')
    .option('--json', 'print JSON')
    .action((o: { lake?: string; objects?: boolean; afterSeq: string; json?: boolean }) => {
      const lakeDir = resolveLakeDir(o.lake);
      const objects = readObjects(lakeDir, Number(o.afterSeq));
      if (o.objects) {
        if (o.json) {
          for (const ob of objects) process.stdout.write(JSON.stringify(ob) + '\n');
        } else {
          process.stdout.write(
            renderTable(
              ['seq', 'path', 'rows', 'from', 'to'],
              objects.map((ob) => [ob.seq, ob.path, fmtInt(ob.rows), new Date(ob.time_min).toISOString(), new Date(ob.time_max).toISOString()]),
              140,
            ) + '\n',
          );
        }
        return;
      }
      const inputs = readInputs(lakeDir);
      const groups = new Map<string, { source: string; class_uid: number; objects: number; rows: number; bytes: number; partitions: Set<string> }>();
      for (const ob of objects) {
        const k = `${ob.source}|${ob.class_uid}`;
        const g = groups.get(k) ?? { source: ob.source, class_uid: ob.class_uid, objects: 0, rows: 0, bytes: 0, partitions: new Set<string>() };
        g.objects++;
        g.rows += ob.rows;
        g.bytes += ob.bytes;
        g.partitions.add(`${ob.region}/${ob.account_id}/${ob.event_day}`);
        groups.set(k, g);
      }
      const summary = {
        lake: lakeDir,
        inputs: inputs.length,
        objects: objects.length,
        rows: objects.reduce((a, b) => a + b.rows, 0),
        rejects: inputs.reduce((a, b) => a + b.rejects, 0),
        last_seq: objects.length ? objects[objects.length - 1]!.seq : 0,
        by_source: [...groups.values()].map((g) => ({ ...g, partitions: g.partitions.size })),
      };
      if (o.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
        return;
      }
      process.stdout.write(
        `${lakeDir}: ${fmtInt(summary.inputs)} inputs, ${fmtInt(summary.objects)} objects, ${fmtInt(summary.rows)} events, ${fmtInt(summary.rejects)} quarantined records\n\n`,
      );
      process.stdout.write(
        renderTable(
          ['source', 'class_uid', 'objects', 'partitions', 'events', 'MB'],
          summary.by_source.map((g) => [g.source, g.class_uid, g.objects, g.partitions, fmtInt(g.rows), (g.bytes / 1e6).toFixed(2)]),
        ) + '\n',
      );
    });
}
