/** seclake's version (package.json), read once; 'unknown' when the file cannot be read. */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function seclakeVersion(): string {
  if (cached !== undefined) return cached;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    cached = pkg.version ?? 'unknown';
  } catch {
    cached = 'unknown';
  }
  return cached;
}
