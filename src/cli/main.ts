import { CommanderError } from 'commander';
import { ConfigError, SeclakeError, errorMessage } from '../core/errors.js';
import { checkFaultEnv } from '../core/fault.js';
import { buildProgram } from './program.js';

// The AWS SDK (v3) warns on every run under Node.js 20 that its releases from 2027 need Node.js 22 (a
// NodeVersionSupportWarning on stderr of every S3 or SQS command). This variable is the SDK's own switch for exactly
// that warning; a value the user set is kept.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv.slice(2));
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
