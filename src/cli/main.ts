import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { ConfigError, SeclakeError, errorMessage } from '../core/errors.js';
import { checkFaultEnv } from '../core/fault.js';
import { registerIngest } from './commands/ingest.js';
import { registerQuery } from './commands/query.js';
import { registerValidate } from './commands/validate.js';
import { registerQuarantine } from './commands/quarantine.js';
import { registerCatalog } from './commands/catalog.js';
import { registerPairs } from './commands/pairs.js';
import { registerTrain } from './commands/train.js';
import { registerScore } from './commands/score.js';
import { registerDemo } from './commands/demo.js';
import { registerServe } from './commands/serve.js';
import { registerCalibrate } from './commands/calibrate.js';
import { registerFindings } from './commands/findings.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerFeedback } from './commands/feedback.js';
import { registerMonitor } from './commands/monitor.js';
import { registerModels } from './commands/models.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
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
  registerDemo(program);
  registerIngest(program);
  registerQuery(program);
  registerValidate(program);
  registerQuarantine(program);
  registerCatalog(program);
  registerPairs(program);
  registerTrain(program);
  registerScore(program);
  registerCalibrate(program);
  registerServe(program);
  registerFindings(program);
  registerEvaluate(program);
  registerFeedback(program);
  registerMonitor(program);
  registerModels(program);
  for (const cmd of program.commands) cmd.exitOverride();
  // Root options (--version, --help) only before the subcommand, so a subcommand's own subcommands (`demo generate
  // --json`) get their options. Set after the commands exist: commands created later would inherit it, and
  // `catalog ddl --lake X` would stop reaching catalog's --lake.
  program.enablePositionalOptions();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    // A crash test's SECLAKE_FAULT must name a real point (src/core/fault.ts): a typo would never crash.
    checkFaultEnv();
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0 by design.
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`seclake: ${err.message}\n`);
      return 2;
    }
    if (err instanceof SeclakeError) {
      process.stderr.write(`seclake: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`seclake: unexpected error: ${errorMessage(err)}\n${err instanceof Error && err.stack ? err.stack + '\n' : ''}`);
    return 1;
  }
}

// Output piped into a reader that has gone (`seclake query ... | head`): stop quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode === undefined ? 0 : Number(process.exitCode));
    throw err;
  });
}

const code = await main(process.argv);
process.exitCode = code;
