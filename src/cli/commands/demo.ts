import { Command, Option } from 'commander';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { resolveLakeDir } from '../../lake/layout.js';
import { ATTACK_KINDS, type AttackKind } from '../../demo/attacks.js';
import { DEFAULTS, generateDemo, LABELS_FILE, LiveGenerator, LOGS_DIR, MANIFEST_FILE, type GenerateResult } from '../../demo/generate.js';
import { loadDemoNetworks } from '../../demo/asn-pools.js';
import { describeEnvironment } from '../../demo/environment.js';
import { DEFAULT_DATA_DIR, DEFAULT_PORT } from '../../demo/defaults.js';
import { renderTable } from '../format.js';
import { registerLakeViews } from '../lake.js';

export const REFERENCE_QUERY =
  "SELECT src_endpoint.instance_uid as instance_id, src_endpoint.ip as sourceip FROM vpc_flow WHERE src_endpoint.ip IS NOT NULL AND src_endpoint.instance_uid IS NOT NULL AND src_endpoint.instance_uid != '-' AND src_endpoint.ip != '-'";

function intOption(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${flag} must be an integer from ${min} to ${max}, got '${text}'`, [flag.slice(2)]);
  return n;
}

function numberOption(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new ConfigError(`${flag} must be a number from ${min} to ${max}, got '${text}'`, [flag.slice(2)]);
  return n;
}

export function parseAttackList(text: string): AttackKind[] {
  if (text.trim() === '' || text.trim() === 'none') return [];
  const kinds = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (kinds.length === 1 && kinds[0] === 'all') return [...ATTACK_KINDS];
  for (const k of kinds) {
    if (!(ATTACK_KINDS as readonly string[]).includes(k)) throw new ConfigError(`--attacks: unknown attack '${k}' (known: ${ATTACK_KINDS.join(', ')}, all, none)`, ['attacks']);
  }
  return kinds as AttackKind[];
}

function parseEnd(text: string): number {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(ms)) throw new ConfigError(`--end: not an ISO-8601 date or time: '${text}'`, ['end']);
  return ms;
}

interface DemoCliOptions {
  port: string;
  host: string;
  data: string;
  fresh?: boolean;
  once?: boolean;
  json?: boolean;
  seed: string;
  days: string;
  attacks: string;
  interval: string;
  attackEvery: string;
  threads?: string;
  end?: string;
  findings?: boolean;
}

interface GenerateCliOptions {
  out: string;
  days: string;
  signInDays: string;
  seed: string;
  attacks: string;
  end?: string;
  attackDays: string;
  objectMinutes: string;
  volume: string;
  json?: boolean;
  live?: boolean;
  interval: string;
  attackEvery: string;
}

/** `demo generate --live`: keep writing small objects into the logs folder until SIGINT/SIGTERM. */
async function generateLive(res: GenerateResult, o: GenerateCliOptions): Promise<void> {
  const intervalMs = Math.round(numberOption('--interval', o.interval, 0.5, 3600) * 1000);
  const attackEveryMs = Math.round(numberOption('--attack-every', o.attackEvery, 0, 86_400) * 1000);
  const nets = await loadDemoNetworks();
  const live = new LiveGenerator(
    { env: res.env, nets, seed: res.seed, logsDir: res.logsDir, stagingDir: path.join(res.out, '.staging'), labelsFile: res.labelsFile, attackEveryMs, volume: { scale: numberOption('--volume', o.volume, 0.01, 100) } },
    Date.now(),
  );
  process.stderr.write(`Live: a new object per source every ${intervalMs / 1000} s in ${res.logsDir}${attackEveryMs > 0 ? `, an attack every ~${attackEveryMs / 1000} s (labels appended to ${res.labelsFile})` : ''}. Ctrl-C stops.\n`);
  let objects = 0;
  const timer = setInterval(() => {
    const r = live.tick(Date.now());
    objects += r.objects.length;
    for (const p of r.started) process.stderr.write(`  attack ${p.id}: ${p.description}\n`);
    for (const l of r.completed) process.stderr.write(`  labelled ${l.attack_id} (${l.records.length} records)\n`);
  }, intervalMs);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  clearInterval(timer);
  const partial = live.close();
  process.stderr.write(`Stopped (${signal}) after ${objects} live objects${partial.length ? `; ${partial.length} unfinished attack(s) labelled with the records written so far` : ''}.\n`);
}

export function registerDemo(program: Command): void {
  // `demo` and `demo generate` share option names (--days, --seed, --attacks, --json): with positional options on
  // `demo` (and on the root, see main.ts), options after `generate` belong to it.
  const demo = program
    .command('demo')
    // `demo generate --json` is the subcommand's option, not demo's.
    .enablePositionalOptions()
    .description('The whole system on one machine, live (what `npm start` runs): generate -> ingest -> train -> calibrate -> serve + dashboard -> monitor')
    .option('--port <n>', 'HTTP port for the API and the dashboard (0 = any free port)', String(DEFAULT_PORT))
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--data <dir>', 'demo folder (generated logs, lake, models, findings)', DEFAULT_DATA_DIR)
    .option('--fresh', 'delete the demo folder first and start over (otherwise an existing setup is reused)')
    .option('--once', 'run the pipeline to the end without serving, then print precision/recall against the labels (per detector, per attack kind, combined)')
    .option('--json', 'with --once: print the result as JSON on stdout')
    .option('--seed <n>', 'seed of the generated environment', String(DEFAULTS.seed))
    .option('--days <n>', 'days of history', String(DEFAULTS.days))
    .option('--attacks <list>', `attacks in the last day of history (comma-separated; all, none; kinds: ${ATTACK_KINDS.join(', ')})`, 'all')
    .option('--interval <seconds>', 'live mode: a new log object every N seconds', '5')
    .option('--attack-every <seconds>', 'live mode: mean time between live attacks (0 = none)', '90')
    .option('--threads <n>', 'training threads (default: one per core; 1 makes training bit-for-bit reproducible)')
    .option('--end <iso>', 'end of the generated history (default: now); with --threads 1 a --once run is reproducible')
    .option('--findings', 'live mode: print every detection finding too (default: the incidents, as the sinks get them)')
    .addHelpText(
      'after',
      `
Steps:
  1. generate  ${DEFAULTS.days} days of VPC flow logs, Route 53 query logs and CloudTrail for a small AWS account
               (seclake demo generate --help), with labelled attacks in the last day, after ${DEFAULTS.signInDays} days of
               console sign-ins;
  2. ingest    the attack-free days into the lake (<data>/lake);
  3. train     IP Insights and history models of instance -> peer address (VPC flows) and user -> source
               address (CloudTrail sign-ins), and a behaviour model (Random Cut Forest over hourly windows);
  4. calibrate each on a held-out window (per-entity thresholds at a false positive budget);
  5. serve     the SageMaker-compatible API and the dashboard on http://127.0.0.1:${DEFAULT_PORT};
  6. monitor   the last day (replayed) and new log objects written every few seconds, with occasional attacks;
               prints each incident (findings of every detector about one entity fused; --findings: each finding too).
Ctrl-C stops cleanly. With --once: steps 1-4, then the monitor over the attack period, then precision and recall
of the findings against the labels, per detector, per attack kind and combined (docs/demo.md explains the matching).
The attacks: ${ATTACK_KINDS.join(', ')}; the last four keep to the entities' usual addresses (only a behaviour
detector can see them).

Examples:
  npm start                                   # = seclake demo
  seclake demo --fresh --port 9090
  seclake demo --once --json > result.json
  seclake demo samples                        # the bundled AWS sample logs through the ingest`,
    )
    .action(async (o: DemoCliOptions) => {
      const port = intOption('--port', o.port, 0, 65535);
      const seed = intOption('--seed', o.seed, 0, 2 ** 32 - 1);
      const days = numberOption('--days', o.days, 2, 60);
      const interval = numberOption('--interval', o.interval, 0.5, 3600);
      const attackEvery = numberOption('--attack-every', o.attackEvery, 0, 86_400);
      const { runDemo, formatOnceReport } = await import('../../demo/pipeline.js');
      const res = await runDemo({
        dataDir: path.resolve(o.data),
        port,
        host: o.host,
        fresh: o.fresh === true,
        once: o.once === true,
        seed,
        days,
        attacks: parseAttackList(o.attacks),
        intervalMs: Math.round(interval * 1000),
        attackEveryMs: Math.round(attackEvery * 1000),
        ...(o.threads !== undefined ? { threads: intOption('--threads', o.threads, 1, 256) } : {}),
        ...(o.end !== undefined ? { end: parseEnd(o.end) } : {}),
        ...(o.findings ? { findings: true } : {}),
        log: (line) => process.stderr.write(line + '\n'),
      });
      if (o.once && res.once) {
        if (o.json) process.stdout.write(JSON.stringify(res.once, null, 2) + '\n');
        else process.stdout.write(formatOnceReport(res.once));
      }
    });

  demo
    .command('generate')
    .description('Write a realistic, seeded demo environment: raw AWS logs as delivered to S3, plus labelled attacks')
    .requiredOption('--out <dir>', 'output folder (logs/AWSLogs/..., labels.jsonl, manifest.json)')
    .option('--days <n>', 'days of history', String(DEFAULTS.days))
    .option('--sign-in-days <n>', 'days of console sign-in history before the full history (sign-ins and console calls only; one CloudTrail object a day)', String(DEFAULTS.signInDays))
    .option('--seed <n>', 'seed: the same seed and --end give byte-identical files', String(DEFAULTS.seed))
    .option('--attacks <list>', `attacks to inject (comma-separated; all, none; kinds: ${ATTACK_KINDS.join(', ')})`, 'all')
    .option('--end <iso>', 'end of the history (default: the current hour)')
    .option('--attack-days <n>', 'length of the attack period at the end of the history, in days', String(DEFAULTS.attackDays))
    .option('--object-minutes <n>', 'delivery interval: one object per source per N minutes', String(DEFAULTS.objectMinutes))
    .option('--volume <x>', 'traffic volume multiplier', '1')
    .option('--json', 'print a JSON summary (environment, objects, attacks) on stdout')
    .option('--live', 'after the history, keep writing new small objects (now) into the logs folder until Ctrl-C')
    .option('--interval <seconds>', 'with --live: seconds between objects', '5')
    .option('--attack-every <seconds>', 'with --live: mean seconds between attacks (0 = none)', '90')
    .addHelpText(
      'after',
      `
The environment: account 123456789012, us-east-1, one VPC (10.0.0.0/16) with public, app and db subnets in two AZs;
instances web-1..3, bastion-1, app-1..3, batch-1, db-1..2; eight IAM users. Internet clients and employees' homes come
from real consumer ISP ranges (ASN table @ip-location-db/asn). Volumes follow a diurnal curve.

Written:
  <out>/logs/AWSLogs/<acct>/vpcflowlogs/<region>/YYYY/MM/DD/<acct>_vpcflowlogs_<region>_<fl-id>_<stamp>_<hash>.log.gz
  <out>/logs/AWSLogs/<acct>/vpcdnsquerylogs/<vpc-id>/YYYY/MM/DD/...log.gz     Route 53 Resolver query logs
  <out>/logs/AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/...json.gz         CloudTrail
  <out>/labels.jsonl    one line per attack: id, kind, time window, entities, ips, the records (file, line)
  <out>/manifest.json   the environment (ids, subnets, addresses) and counts

Attacks (${ATTACK_KINDS.join(', ')}) happen in the last --attack-days; the history before is clean.
The first five bring addresses the entity never uses (an entity-IP model can see them); the last four (behaviour
attacks) keep to its usual addresses and change how much and what it does.

Examples:
  seclake demo generate --out ./demo-env --days 3 --seed 42 --end 2026-01-10
  seclake ingest ./demo-env/logs --lake ./demo-lake
  seclake demo generate --out ./demo-env --attacks scan,exfiltration --json
  seclake demo generate --out ./demo-env --days 2 --live --interval 5    # then: seclake monitor --watch ./demo-env/logs ...`,
    )
    .action(async (o: GenerateCliOptions) => {
      const res = await generateDemo({
        out: o.out,
        days: numberOption('--days', o.days, 0.05, 60),
        signInDays: numberOption('--sign-in-days', o.signInDays, 0, 365),
        seed: intOption('--seed', o.seed, 0, 2 ** 32 - 1),
        attacks: parseAttackList(o.attacks),
        attackDays: numberOption('--attack-days', o.attackDays, 0, 59),
        objectMinutes: intOption('--object-minutes', o.objectMinutes, 1, 1440),
        volume: { scale: numberOption('--volume', o.volume, 0.01, 100) },
        ...(o.end !== undefined ? { end: parseEnd(o.end) } : {}),
      });
      const summary = {
        out: res.out,
        logs: res.logsDir,
        labels: res.labelsFile,
        manifest: path.join(res.out, MANIFEST_FILE),
        seed: res.seed,
        sign_in_start: new Date(res.signInStart).toISOString(),
        start: new Date(res.start).toISOString(),
        end: new Date(res.end).toISOString(),
        attack_period_start: new Date(res.attackStart).toISOString(),
        objects: res.objects.length,
        records: res.records,
        attacks: res.labels.map((l) => ({ attack_id: l.attack_id, kind: l.kind, category: l.category, start: l.start, end: l.end, entities: l.entity_names, ips: l.ips, records: l.records.length, description: l.description })),
        environment: describeEnvironment(res.env),
        elapsed_ms: res.elapsed_ms,
      };
      if (o.json) {
        process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        if (o.live) await generateLive(res, o);
        return;
      }
      const n = res.records.vpc_flow + res.records.route53 + res.records.cloudtrail;
      process.stdout.write(
        `Generated ${res.objects.length} objects, ${n.toLocaleString('en-US')} records (${res.records.vpc_flow.toLocaleString('en-US')} VPC flow, ` +
          `${res.records.route53.toLocaleString('en-US')} Route 53, ${res.records.cloudtrail.toLocaleString('en-US')} CloudTrail) ` +
          `from ${summary.start} to ${summary.end} in ${(res.elapsed_ms / 1000).toFixed(1)} s\n` +
          `  logs:   ${path.join(res.out, LOGS_DIR)}\n  labels: ${path.join(res.out, LABELS_FILE)}\n\n`,
      );
      if (res.labels.length > 0) {
        process.stdout.write(
          renderTable(
            ['attack', 'start', 'records', 'what'],
            res.labels.map((l) => [l.attack_id, l.start, String(l.records.length), l.description]),
          ) + '\n',
        );
      }
      process.stdout.write(`\nNext: seclake ingest ${path.join(o.out, LOGS_DIR)} --lake ./demo-lake\n`);
      if (o.live) await generateLive(res, o);
    });

  demo
    .command('samples')
    .description('Ingest the bundled sample logs (real AWS documentation examples) and run the reference query')
    .addOption(new Option('--lake <dir>', 'lake directory (default: $SECLAKE_LAKE or ./seclake-data)'))
    .action(async (o: { lake?: string }) => {
      const lakeDir = resolveLakeDir(o.lake);
      const samples = fileURLToPath(new URL('../../../assets/samples', import.meta.url));
      process.stderr.write(`seclake demo samples: ingesting the bundled sample logs (${samples}) into ${lakeDir}\n\n`);
      const [{ ingest }, { openLakeQuery }, { formatSummary }] = await Promise.all([import('../../ingest/ingest.js'), import('../../lake/views.js'), import('./ingest.js'), registerLakeViews()]);
      const summary = await ingest({ lakeDir, paths: [samples] });
      process.stdout.write(formatSummary(summary));
      const db = await openLakeQuery(lakeDir);
      try {
        process.stdout.write(`\nThe reference solution's Athena query, run unchanged against the vpc_flow view:\n  ${REFERENCE_QUERY}\n\n`);
        const rows = await db.all(REFERENCE_QUERY);
        process.stdout.write(renderTable(['instance_id', 'sourceip'], rows.map((r) => [r.instance_id, r.sourceip])) + '\n');
        process.stdout.write(
          `\nTry it yourself:\n  npx seclake query --lake ${o.lake ?? 'seclake-data'} "SELECT class_name, count(*) FROM cloudtrail_api GROUP BY ALL ORDER BY 2 DESC"\n` +
            `  npx seclake query --lake ${o.lake ?? 'seclake-data'} --views\n`,
        );
      } finally {
        db.close();
      }
      if (summary.totals.failed > 0) process.exitCode = 1;
    });
}
