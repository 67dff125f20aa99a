/** Human-facing status lines go to stderr so stdout stays clean for data (`--json`, query results). */
export const log = {
  info(msg: string): void {
    process.stderr.write(`${msg}\n`);
  },
  warn(msg: string): void {
    process.stderr.write(`warning: ${msg}\n`);
  },
  error(msg: string): void {
    process.stderr.write(`error: ${msg}\n`);
  },
};
