// A module-resolution hook for test/cli/help.test.ts: appends every resolved module URL to the file named by
// $SECLAKE_LOADED_LOG, so a test can see what a command loaded. Registered with `--import ./test/cli/loaded.mjs`.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (process.env.SECLAKE_LOADED_LOG) appendFileSync(process.env.SECLAKE_LOADED_LOG, `${r.url}\n`);
  return r;
}
