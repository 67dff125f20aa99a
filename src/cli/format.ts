/** Output helpers shared by commands: tables for people, CSV/JSON for machines. */

export type OutputFormat = 'table' | 'csv' | 'json' | 'jsonl';

export function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

export function csvCell(v: unknown): string {
  const s = cell(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function jsonValue(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Date ? x.toISOString() : x));
}

/** A plain aligned text table; long cells are cut to `maxWidth`. */
export function renderTable(columns: string[], rows: unknown[][], maxWidth = 60): string {
  const cut = (s: string): string => (s.length > maxWidth ? s.slice(0, maxWidth - 1) + '…' : s);
  const text = rows.map((r) => r.map((v) => cut(cell(v).replace(/\s+/g, ' '))));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
}

export function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}
