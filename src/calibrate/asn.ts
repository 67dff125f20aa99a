/**
 * IPv4 -> ASN range table, used to draw "realistic" attacker IPs the way the login tutorial's `draw_ip()` does:
 * a uniformly random row (one ASN range), then a uniformly random address inside it. That is *not* uniform over the
 * IPv4 space: small ranges are drawn as often as large ones (ipinsights.md §5.1).
 *
 * The default table is `asn-ipv4-num.csv` from the npm package `@ip-location-db/asn` (CC BY 4.0; RouteViews, DB-IP,
 * NRO). Format: no header, `range_start_u32,range_end_u32,asn,org`, inclusive ranges sorted by start; `org` may be
 * CSV-quoted. Only the first two columns are read, and they are plain integers, so quoting in `org` cannot shift them.
 * The tutorial's own `ip2asn-v4-u32.tsv` (whitespace-separated, same first two columns) is accepted as well.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ParseError, SeclakeError, errorMessage } from '../core/errors.js';
import type { Rng } from '../core/rng.js';

export const DEFAULT_ASN_TABLE_MODULE = '@ip-location-db/asn/asn-ipv4-num.csv';

export interface AsnTable {
  /** Inclusive range starts, in file order (sorted by address). */
  starts: Uint32Array;
  /** Inclusive range ends. */
  ends: Uint32Array;
  readonly size: number;
  source: string;
}

/** Locate the bundled table (the @ip-location-db/asn dependency); throws a SeclakeError saying how to pass one when it is missing. */
export function defaultAsnTablePath(): string {
  try {
    return createRequire(import.meta.url).resolve(DEFAULT_ASN_TABLE_MODULE);
  } catch (err) {
    throw new SeclakeError(
      `the ASN range table ${DEFAULT_ASN_TABLE_MODULE} is not installed; ` +
        'install @ip-location-db/asn or pass a table with --asn-table FILE',
      { cause: err },
    );
  }
}

/** Parse an IPv4 range table (CSV `start,end,...` or whitespace-separated `start end ...`). */
export function parseAsnTable(text: string, source: string): AsnTable {
  const starts: number[] = [];
  const ends: number[] = [];
  let lineNo = 0;
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = text.length;
    const line = text.slice(pos, nl).trim();
    pos = nl + 1;
    lineNo++;
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\d+)[,\s]+(\d+)(?:[,\s]|$)/.exec(line);
    if (!m) {
      // A header line (e.g. "ip_range_start,...") is tolerated only as the first line.
      if (starts.length === 0 && lineNo === 1 && /^[A-Za-z_]/.test(line)) continue;
      throw new ParseError('expected two unsigned 32-bit integers (range start, range end)', { file: source, line: lineNo, kind: 'total' });
    }
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (a > 0xffffffff || b > 0xffffffff || b < a) {
      throw new ParseError(`bad range ${m[1]}-${m[2]}`, { file: source, line: lineNo, kind: 'total' });
    }
    starts.push(a);
    ends.push(b);
  }
  if (starts.length === 0) throw new SeclakeError(`${source}: the ASN table has no ranges`);
  return { starts: Uint32Array.from(starts), ends: Uint32Array.from(ends), size: starts.length, source };
}

export async function loadAsnTable(file?: string): Promise<AsnTable> {
  const path = file ?? defaultAsnTablePath();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SeclakeError(`cannot read ASN table ${path}: ${errorMessage(err)}`, { cause: err });
  }
  return parseAsnTable(text, file ?? DEFAULT_ASN_TABLE_MODULE);
}

/** The tutorial's draw_ip(): a uniform row, then a uniform address in its inclusive range (as a uint32). */
export function drawIpU32(table: AsnTable, rng: Rng): number {
  const row = rng.int(table.size);
  const a = table.starts[row]!;
  const span = table.ends[row]! - a + 1;
  return a + rng.int(span);
}

export function u32ToIpv4(x: number): string {
  return `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
}

export function drawIp(table: AsnTable, rng: Rng): string {
  return u32ToIpv4(drawIpU32(table, rng));
}
