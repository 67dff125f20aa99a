/**
 * `seclake models`: what model files hold and which detectors this seclake has.
 *
 *   seclake models list [--dir DIR | FILE...]   one line per model file (header only; --verify reads the data too)
 *   seclake models show FILE                    one model's header in readable form
 *   seclake models detectors                    the registered detectors, their native score and hyperparameters
 *
 * Every form has --json. Files of any detector are read through the one model container (src/detectors/
 * model-file.ts); a file that cannot be read, names a detector this seclake does not have, or fails its checks is
 * reported with its path and makes the exit status 1.
 */
import { Command } from 'commander';

/** Where output goes (tests capture it). */
export interface ModelsIo {
  stdout(s: string): void;
  stderr(s: string): void;
}

const processIo: ModelsIo = { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s) };

export function registerModels(program: Command, io: ModelsIo = processIo): void {
  const models = program
    .command('models')
    .description('List model files and what they hold (detector, record definition, training, calibration), show one, or list the detectors')
    .addHelpText(
      'after',
      `
A model file holds one detector's model: its header names the detector type and version, the record
definition (query) it was trained on, the hyperparameters, the training metadata (rows, entities, data
time range) and the calibration \`seclake calibrate\` stored. Files of every detector, and IP Insights
files written before the detector platform, are read the same way.

Examples:
  seclake models                                 # = models list: the *.model files in this folder
  seclake models list --dir ./seclake-data/models
  seclake models list flows.model logins.model --json
  seclake models list --dir models --verify      # also read the data and check its CRC-32
  seclake models show flows.model
  seclake models show flows.model --json | jq .header.training
  seclake models detectors`,
    );

  models
    .command('list', { isDefault: true })
    .description('One line per model file: detector, record definition, trained at, data time range, rows, entities, calibration, size')
    .argument('[files...]', 'model files or directories (a directory contributes its *.model files)')
    .option('--dir <dir>', 'list the *.model files in this directory (default: the current directory)')
    .option('--lake <dir>', 'list the models registered for this lake (the ones `seclake monitor --lake` runs without --model)')
    .option('--verify', 'also read each file\'s data: size, CRC-32, and whether its detector loads it (slower on large models)')
    .option('--json', 'print a JSON array, one object per file (unreadable files as {file, error})')
    .addHelpText(
      'after',
      `
The calibration column shows the rule the monitor applies, e.g. "dot_product < -1.2345" (flag when
the native score is below the threshold) or "score > 0.8" for a detector whose higher scores are
anomalous. A file that cannot be read, or names a detector this seclake does not have, is reported
on stderr with its path, and the exit status is 1.

Examples:
  seclake models list
  seclake models list --dir ./seclake-data/models --verify
  seclake models list --lake ./seclake-data
  seclake models list a.model b.model --json`,
    )
    .exitOverride()
    .action(async (files: string[], o: { dir?: string; lake?: string; json?: boolean; verify?: boolean }) => (await import('./models-run.js')).listModels(o, files, io));

  models
    .command('show')
    .description("Print one model file's header: detector, record definition, hyperparameters, training metadata, calibration, sections")
    .argument('<file>', 'the model file')
    .option('--json', 'print the header (and what seclake makes of it) as JSON')
    .option('--no-verify', 'read only the header (by default the data is read too: size, CRC-32, and whether the detector loads it)')
    .addHelpText(
      'after',
      `
Examples:
  seclake models show flows.model
  seclake models show flows.model --no-verify
  seclake models show flows.model --json | jq .header.calibration.threshold`,
    )
    .exitOverride()
    .action(async (file: string, o: { json?: boolean; verify: boolean }) => (await import('./models-run.js')).showModel(file, o, io));

  models
    .command('detectors')
    .description('List the detectors this seclake has: type, title, native score and direction, hyperparameters with defaults')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  seclake models detectors
  seclake models detectors --json`,
    )
    .exitOverride()
    .action(async (o: { json?: boolean }) => (await import('./models-run.js')).listDetectors(o, io));
}
