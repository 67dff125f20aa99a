/**
 * Reads the few things the deploy tests need from deploy/sam/template.yaml, without a YAML library (the template's
 * CloudFormation tags, !Ref, !Sub, !If, would need one that knows them): blocks by indentation, scalars by key.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TEMPLATE_PATH = path.join(REPO, 'deploy', 'sam', 'template.yaml');

export function templateText(): string {
  return readFileSync(TEMPLATE_PATH, 'utf8');
}

/** The lines of the block under `key:` found by walking `keys` from the top (each key one level deeper). */
export function block(text: string | readonly string[], keys: readonly string[]): string[] {
  let lines = typeof text === 'string' ? text.split('\n') : [...text];
  for (const key of keys) {
    const i = lines.findIndex((l) => new RegExp(`^\\s*(- )?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\s|$)`).test(l));
    if (i < 0) throw new Error(`template.yaml: no ${keys.join(' > ')} (missing ${key})`);
    const indent = /^\s*/.exec(lines[i]!)![0].length + (lines[i]!.trimStart().startsWith('- ') ? 2 : 0);
    const body: string[] = [lines[i]!];
    for (let j = i + 1; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trim() === '' || l.trimStart().startsWith('#')) {
        body.push(l);
        continue;
      }
      if (/^\s*/.exec(l)![0].length <= indent) break;
      body.push(l);
    }
    lines = body;
  }
  return lines;
}

/** The scalar value of `key:` directly in a block (quotes removed), or undefined. */
export function scalar(lines: readonly string[], key: string): string | undefined {
  for (const l of lines) {
    const m = new RegExp(`^\\s*${key}:\\s*(.*?)\\s*$`).exec(l);
    if (m && m[1] !== '') return m[1]!.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}
