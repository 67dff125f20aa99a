/**
 * The `seclake` program: the commands (their modules loaded only when needed) and the root options. main.ts runs it.
 */
import { Command, Help } from 'commander';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

type Register = (program: Command) => void;

interface CommandEntry {
  /** Arguments as `seclake --help` shows them after the name (commander's subcommand term). */
  usage: string;
  /** The command's description, as its module sets it (test/cli/help.test.ts checks they agree). */
  summary: string;
  load: () => Promise<Register>;
}

/**
 * The commands, in the order `seclake --help` lists them. A command's module is imported only when that command runs
 * or shows its help: importing every module loads the detectors, the AWS SDK and the rest, for nothing. `seclake
 * --help` lists the commands from this table. Each module imports at the top what its options and help need, and the
 * rest inside its action.
 */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  demo: {
    usage: '[options]',
    summary: 'The whole system on one machine, live (what `npm start` runs): generate -> ingest -> train -> calibrate -> serve + dashboard -> monitor',
    load: async () => (await import('./commands/demo.js')).registerDemo,
  },
  ingest: {
    usage: '[options] <paths...>',
    summary: 'Normalize raw logs to OCSF 1.1.0 and write them to the lake as partitioned Parquet',
    load: async () => (await import('./commands/ingest.js')).registerIngest,
  },
  query: {
    usage: '[options] [sql]',
    summary: 'Run SQL over the lake (DuckDB). Views: vpc_flow, route53, cloudtrail_api, cloudtrail_auth, cloudtrail_account, Glue-named tables, lake_objects, quarantine',
    load: async () => (await import('./commands/query.js')).registerQuery,
  },
  validate: {
    usage: '[options] <file...>',
    summary: 'Check OCSF events against the OCSF 1.1.0 schema (JSON, JSON lines, gzip, or Parquet)',
    load: async () => (await import('./commands/validate.js')).registerValidate,
  },
  quarantine: {
    usage: '[options]',
    summary: 'List records that were not ingested, with input, line, field and reason',
    load: async () => (await import('./commands/quarantine.js')).registerQuarantine,
  },
  catalog: {
    usage: '[options]',
    summary: 'Show what the lake holds: objects per source, class and partition, and ingested inputs; `catalog ddl` prints CREATE TABLE statements',
    load: async () => (await import('./commands/catalog.js')).registerCatalog,
  },
  pairs: {
    usage: '[options]',
    summary: "Write IP Insights training pairs from the lake as headerless entity,ip CSV (SageMaker's training format).",
    load: async () => (await import('./commands/pairs.js')).registerPairs,
  },
  train: {
    usage: '[options]',
    summary:
      "Train a detector's model (default IP Insights: which IPs each entity normally uses) from headerless entity,ip CSV (SageMaker's training format, gzip allowed) or from the lake, and write the model file.",
    load: async () => (await import('./commands/train.js')).registerTrain,
  },
  score: {
    usage: '[options]',
    summary:
      "Score records with a model of any detector; prints the endpoint's response body. Pairs models (IP Insights: SageMaker's, dot_product: larger = more normal; history: prefix_score: larger = more familiar) read entity,ip CSV; feature models (rcf: SageMaker RCF's, score: larger = more anomalous) read rows of numbers.",
    load: async () => (await import('./commands/score.js')).registerScore,
  },
  calibrate: {
    usage: '[options]',
    summary:
      "Choose a model's alert threshold: from held-out normal traffic vs abnormal pairs (AUC, precision/recall, plots), or for a behaviour model from held-out normal windows of the lake; store it with the model",
    load: async () => (await import('./commands/calibrate.js')).registerCalibrate,
  },
  serve: {
    usage: '[options]',
    summary: 'Serve models of any detector (IP Insights, history) over HTTP, compatible with SageMaker InvokeEndpoint (boto3, AWS CLI, AWS SDK)',
    load: async () => (await import('./commands/serve.js')).registerServe,
  },
  findings: {
    usage: '[options]',
    summary: 'List the detection findings in the lake (the `findings` view), newest first',
    load: async () => (await import('./commands/findings.js')).registerFindings,
  },
  evaluate: {
    usage: '[options]',
    summary:
      "Precision and recall of the lake's findings and incidents against labelled attacks (per detector, per attack kind, combined), precision-recall curves, alerts per day",
    load: async () => (await import('./commands/evaluate.js')).registerEvaluate,
  },
  // One module registers both `feedback` and `suppressions`.
  feedback: {
    usage: '[options] <verdict> <uid>',
    summary: 'Mark a finding or incident benign (adds a scoped, expiring suppression) or malicious (keeps it as a labelled example)',
    load: async () => (await import('./commands/feedback.js')).registerFeedback,
  },
  suppressions: {
    usage: '[options]',
    summary: 'List the suppressions analysts added (active ones; --all for expired and removed too), or remove one',
    load: async () => (await import('./commands/feedback.js')).registerFeedback,
  },
  monitor: {
    usage: '[options]',
    summary:
      "Score every new lake object with the lake's models (any detector) and write OCSF Detection Findings, fused into Incident Findings (lake; stdout, file, webhook sinks).",
    load: async () => (await import('./commands/monitor.js')).registerMonitor,
  },
  models: {
    usage: '',
    summary: 'List model files and what they hold (detector, record definition, training, calibration), show one, or list the detectors',
    load: async () => (await import('./commands/models.js')).registerModels,
  },
};

/**
 * The command an argument list runs (`seclake [root options] <command> ...`; `seclake help <command>` shows its
 * help), or undefined for the root (its help lists every command) and for a name that is not a command (commander's
 * error suggests one).
 */
export function commandOf(args: readonly string[]): string | undefined {
  const i = args.findIndex((a) => !a.startsWith('-'));
  if (i < 0) return undefined;
  const name = args[i] === 'help' ? args[i + 1] : args[i];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? name : undefined;
}

/**
 * The program for an argument list: with the command it names (its module loaded), else with every command as a
 * name, usage and summary only (what the root's help, --version and an unknown command's error need). `all` loads
 * every command module instead (the help test compares the two).
 */
export async function buildProgram(args: readonly string[] = [], { all = false }: { all?: boolean } = {}): Promise<Command> {
  const program = new Command();
  program
    .name('seclake')
    .description(
      'Security data lake with machine-learned anomaly detection. ' +
        'Normalizes AWS logs (VPC Flow, Route 53, CloudTrail, OCSF) to OCSF 1.1.0, stores them in a ' +
        'Security Lake-style Parquet lake, queries them with SQL, and learns which IPs each entity uses.',
    )
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .exitOverride();
  const one = commandOf(args);
  if (one !== undefined || all) {
    const entries = one !== undefined ? [COMMANDS[one]!] : Object.values(COMMANDS);
    const registers = await Promise.all(entries.map((c) => c.load()));
    for (const register of new Set(registers)) register(program);
  } else {
    for (const [name, c] of Object.entries(COMMANDS)) program.command(name).description(c.summary);
    program.configureHelp({
      sortSubcommands: false,
      subcommandTerm: (cmd) => {
        const usage = COMMANDS[cmd.name()]?.usage;
        return usage === undefined ? new Help().subcommandTerm(cmd) : `${cmd.name()}${usage ? ` ${usage}` : ''}`;
      },
    });
  }
  for (const cmd of program.commands) cmd.exitOverride();
  // Root options (--version, --help) only before the subcommand, so a subcommand's own subcommands (`demo generate
  // --json`) get their options. Set after the commands exist: commands created later would inherit it, and
  // `catalog ddl --lake X` would stop reaching catalog's --lake.
  program.enablePositionalOptions();
  return program;
}
