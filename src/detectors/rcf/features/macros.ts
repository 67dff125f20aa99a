/**
 * DuckDB macros the feature sets use (temporary: defined on the connection that computes the windows), so per-record
 * work stays in SQL (no per-row JavaScript on the hot path):
 *
 * - `seclake_ipv4_num(ip)`: an IPv4 address as a number (NULL for anything else);
 * - `seclake_ipv6_hex(ip)`: an IPv6 address as 32 lower-case hex digits (`::` expanded; NULL for anything else,
 *   including the embedded-IPv4 form `::ffff:1.2.3.4`);
 * - `seclake_ip_internal(ip)`: true for private and local addresses (RFC 1918 10/8, 172.16/12, 192.168/16, loopback
 *   127/8, link-local 169.254/16; IPv6 ULA fc00::/7, link-local fe80::/10, ::1) and for the configured known subnets;
 *   false for any other address; NULL for NULL;
 * - `seclake_dns_name(h)`: a query name lower-cased without its trailing dot (`S3.amazonaws.com.` and `s3.amazonaws.com`
 *   both give `s3.amazonaws.com`); NULL for the root `.`, which names nothing;
 * - `seclake_etld1(name)`: the registrable domain (eTLD+1) of a normalised name, see PUBLIC_SUFFIXES;
 * - `seclake_entropy(s)`: Shannon entropy of the characters of `s` in bits per character (NULL for NULL or '');
 * - `seclake_mean_label_length(name)`: characters per label of a dotted name.
 */
import { ConfigError } from '../../../core/errors.js';
import type { Duck } from '../../../lake/duckdb.js';
import { parseIp } from '../../pairs/ip.js';

/**
 * Multi-label public suffixes the eTLD+1 macro knows: second-level registries of common country-code TLDs from the
 * ICANN section of the Public Suffix List (publicsuffix.org), plus the reverse-DNS zones. NOT covered: wildcard and
 * exception rules, suffixes of three labels or more (e.g. `pvt.k12.ma.us`), IDN suffixes, and the list's private
 * section (`amazonaws.com`, `cloudfront.net`, `github.io`, ... are treated as ordinary domains, so
 * `a.b.s3.amazonaws.com` -> `amazonaws.com`). A name under a multi-label suffix not listed here gets the suffix
 * itself as its registrable domain (`shop.example.com.xy` -> `com.xy`), which undercounts distinct domains there.
 */
export const PUBLIC_SUFFIXES: readonly string[] = [
  // United Kingdom, Australia, New Zealand
  'co.uk', 'org.uk', 'me.uk', 'ltd.uk', 'plc.uk', 'net.uk', 'sch.uk', 'ac.uk', 'gov.uk', 'nhs.uk', 'police.uk',
  'com.au', 'net.au', 'org.au', 'edu.au', 'gov.au', 'asn.au', 'id.au',
  'co.nz', 'net.nz', 'org.nz', 'ac.nz', 'govt.nz', 'geek.nz', 'school.nz',
  // Asia
  'co.jp', 'ne.jp', 'or.jp', 'ac.jp', 'ad.jp', 'ed.jp', 'go.jp', 'gr.jp', 'lg.jp',
  'co.kr', 'ne.kr', 'or.kr', 're.kr', 'pe.kr', 'go.kr', 'ac.kr', 'ms.kr',
  'com.cn', 'net.cn', 'org.cn', 'gov.cn', 'edu.cn', 'ac.cn',
  'com.hk', 'net.hk', 'org.hk', 'edu.hk', 'gov.hk', 'idv.hk',
  'com.tw', 'net.tw', 'org.tw', 'edu.tw', 'gov.tw', 'idv.tw',
  'com.sg', 'net.sg', 'org.sg', 'edu.sg', 'gov.sg', 'per.sg',
  'com.my', 'net.my', 'org.my', 'edu.my', 'gov.my',
  'co.in', 'net.in', 'org.in', 'firm.in', 'gen.in', 'ind.in', 'ac.in', 'edu.in', 'gov.in', 'res.in',
  'co.id', 'or.id', 'ac.id', 'go.id', 'web.id', 'net.id', 'my.id', 'biz.id',
  'com.ph', 'net.ph', 'org.ph', 'gov.ph', 'edu.ph',
  'com.vn', 'net.vn', 'org.vn', 'edu.vn', 'gov.vn',
  'co.th', 'in.th', 'ac.th', 'go.th', 'or.th', 'net.th',
  'com.pk', 'net.pk', 'org.pk', 'edu.pk', 'gov.pk',
  'co.il', 'org.il', 'net.il', 'ac.il', 'gov.il', 'muni.il',
  'com.sa', 'net.sa', 'org.sa', 'edu.sa', 'gov.sa',
  'com.tr', 'net.tr', 'org.tr', 'edu.tr', 'gov.tr', 'gen.tr', 'biz.tr',
  // Americas
  'com.br', 'net.br', 'org.br', 'gov.br', 'edu.br', 'art.br', 'blog.br',
  'com.mx', 'net.mx', 'org.mx', 'edu.mx', 'gob.mx',
  'com.ar', 'net.ar', 'org.ar', 'gob.ar', 'edu.ar',
  'com.co', 'net.co', 'org.co', 'edu.co', 'gov.co',
  'com.pe', 'net.pe', 'org.pe', 'gob.pe', 'edu.pe',
  'com.ve', 'com.ec', 'com.uy', 'com.bo', 'com.py', 'co.cr',
  // Europe, Africa
  'co.at', 'or.at', 'ac.at', 'gv.at',
  'com.pl', 'net.pl', 'org.pl', 'edu.pl', 'gov.pl',
  'com.ua', 'net.ua', 'org.ua', 'gov.ua', 'edu.ua', 'in.ua',
  'com.gr', 'net.gr', 'org.gr', 'edu.gr', 'gov.gr',
  'com.pt', 'org.pt', 'gov.pt', 'edu.pt',
  'com.es', 'org.es', 'nom.es', 'gob.es', 'edu.es',
  'co.za', 'org.za', 'net.za', 'gov.za', 'ac.za', 'edu.za', 'web.za',
  'com.eg', 'gov.eg', 'edu.eg', 'com.ng', 'gov.ng', 'edu.ng', 'co.ke', 'or.ke', 'ac.ke', 'go.ke',
  // reverse DNS
  'in-addr.arpa', 'ip6.arpa',
];

/** IPv4 ranges that are internal by definition (RFC 1918, loopback, link-local). */
export const INTERNAL_V4: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '169.254.0.0/16'];

/** A known subnet as the macros use it. */
export type SubnetRange = { family: 4; lo: number; hi: number; cidr: string } | { family: 6; hexPrefix: string; cidr: string };

/** Parse a CIDR (`10.1.0.0/16`, `2001:db8::/32`); IPv6 prefix lengths must be multiples of 4 (compared by hex digits). */
export function parseSubnet(cidr: string, key = 'knownSubnets'): SubnetRange {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(cidr.trim());
  const ip = m ? parseIp(m[1]!) : undefined;
  if (!m || !ip) throw new ConfigError(`${key}: ${JSON.stringify(cidr)} is not a CIDR (e.g. 10.1.0.0/16 or 2001:db8::/32)`, [key]);
  const bits = Number(m[2]);
  if (ip.family === 4) {
    if (bits > 32) throw new ConfigError(`${key}: ${JSON.stringify(cidr)}: an IPv4 prefix length is at most 32`, [key]);
    const size = 2 ** (32 - bits);
    const lo = Math.floor(ip.words[0] / size) * size;
    return { family: 4, lo, hi: lo + size - 1, cidr };
  }
  if (bits > 128 || bits % 4 !== 0) {
    throw new ConfigError(`${key}: ${JSON.stringify(cidr)}: IPv6 known subnets need a prefix length that is a multiple of 4, at most 128`, [key]);
  }
  const hex = ip.words.map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
  return { family: 6, hexPrefix: hex.slice(0, bits / 4), cidr };
}

/**
 * The SQL of the macros, with the known subnets (numbers and hex digits produced by parseSubnet: safe to embed).
 * A value used several times is bound once through a one-element lambda (`list_transform([x], v -> ...)[1]`):
 * macros are inlined, so a plain reuse would evaluate the expression again for every use.
 */
export function macroSql(knownSubnets: readonly SubnetRange[] = []): string[] {
  const v4 = knownSubnets.filter((s): s is Extract<SubnetRange, { family: 4 }> => s.family === 4);
  const v6 = knownSubnets.filter((s): s is Extract<SubnetRange, { family: 6 }> => s.family === 6);
  // Private and local IPv4 ranges (INTERNAL_V4) as one pattern over a dotted quad; known subnets by number.
  const privateV4 = "regexp_full_match(ip, '(10\\.[0-9]{1,3}|127\\.[0-9]{1,3}|192\\.168|172\\.(1[6-9]|2[0-9]|3[01])|169\\.254)\\.[0-9]{1,3}\\.[0-9]{1,3}')";
  const knownV4 = v4.length ? ` OR coalesce(list_transform([seclake_ipv4_num(ip)], n -> ${v4.map((s) => `n BETWEEN ${s.lo} AND ${s.hi}`).join(' OR ')})[1], false)` : '';
  const v6Test = ["starts_with(h, 'fc')", "starts_with(h, 'fd')", "regexp_matches(h, '^fe[89ab]')", "h = '00000000000000000000000000000001'", ...v6.map((s) => `starts_with(h, '${s.hexPrefix}')`)].join(' OR ');
  const two = PUBLIC_SUFFIXES.map((s) => `'${s}'`).join(', ');
  return [
    `CREATE OR REPLACE TEMP MACRO seclake_ipv4_num(ip) AS (CASE WHEN regexp_full_match(ip, '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}') ` +
      `THEN list_transform([string_split(ip, '.')], p -> p[1]::BIGINT * 16777216 + p[2]::BIGINT * 65536 + p[3]::BIGINT * 256 + p[4]::BIGINT)[1] END)`,
    // Groups left and right of '::', each padded to 4 digits, the gap filled with zeros; exactly 32 hex digits or NULL.
    `CREATE OR REPLACE TEMP MACRO seclake_ipv6_hex_parts(l, r) AS (` +
      `array_to_string(list_transform(l, g -> lpad(g, 4, '0')), '') || repeat('0000', 8 - len(l) - len(r)) || array_to_string(list_transform(r, g -> lpad(g, 4, '0')), ''))`,
    `CREATE OR REPLACE TEMP MACRO seclake_ipv6_hex_of(s) AS (CASE WHEN contains(s, '::') ` +
      `THEN seclake_ipv6_hex_parts(CASE WHEN split_part(s, '::', 1) = '' THEN []::VARCHAR[] ELSE string_split(split_part(s, '::', 1), ':') END, ` +
      `CASE WHEN split_part(s, '::', 2) = '' THEN []::VARCHAR[] ELSE string_split(split_part(s, '::', 2), ':') END) ` +
      `ELSE seclake_ipv6_hex_parts(string_split(s, ':'), []::VARCHAR[]) END)`,
    `CREATE OR REPLACE TEMP MACRO seclake_ipv6_hex(ip) AS (CASE WHEN contains(ip, ':') AND regexp_full_match(lower(ip), '[0-9a-f:]{2,39}') AND NOT regexp_matches(ip, '::.*::|:::') ` +
      `THEN list_transform([seclake_ipv6_hex_of(lower(ip))], h -> CASE WHEN regexp_full_match(h, '[0-9a-f]{32}') THEN h END)[1] END)`,
    `CREATE OR REPLACE TEMP MACRO seclake_ip_internal_v4(ip) AS (${privateV4}${knownV4})`,
    `CREATE OR REPLACE TEMP MACRO seclake_ip_internal_v6(ip) AS (coalesce(list_transform([seclake_ipv6_hex(ip)], h -> ${v6Test})[1], false))`,
    `CREATE OR REPLACE TEMP MACRO seclake_ip_internal(ip) AS (CASE WHEN ip IS NULL THEN NULL WHEN contains(ip, ':') ` +
      `THEN seclake_ip_internal_v6(ip) ELSE seclake_ip_internal_v4(ip) END)`,
    `CREATE OR REPLACE TEMP MACRO seclake_dns_name(h) AS (CASE WHEN h IS NULL THEN NULL ELSE nullif(lower(rtrim(trim(h), '.')), '') END)`,
    // eTLD+1 from the labels: one more label than the listed two-label suffix the name ends with, else two labels.
    `CREATE OR REPLACE TEMP MACRO seclake_etld1_of(l) AS (CASE WHEN len(l) >= 3 AND (l[len(l) - 1] || '.' || l[len(l)]) IN (${two}) ` +
      `THEN array_to_string(l[len(l) - 2:], '.') WHEN len(l) >= 2 THEN array_to_string(l[len(l) - 1:], '.') ELSE array_to_string(l, '.') END)`,
    `CREATE OR REPLACE TEMP MACRO seclake_etld1(name) AS (CASE WHEN name IS NULL OR name = '' THEN NULL ` +
      `WHEN regexp_full_match(name, '[0-9.]+') THEN name ELSE list_transform([string_split(name, '.')], l -> seclake_etld1_of(l))[1] END)`,
    `CREATE OR REPLACE TEMP MACRO seclake_entropy(s) AS (CASE WHEN s IS NULL OR length(s) = 0 THEN NULL ELSE ` +
      `list_transform([length(s)::DOUBLE], n -> list_sum(list_transform(list_distinct(string_split(s, '')), c -> ` +
      `list_transform([(n - length(replace(s, c, ''))) / n], p -> -p * log2(p))[1])))[1] + 0.0 END)`,
    `CREATE OR REPLACE TEMP MACRO seclake_mean_label_length(name) AS (CASE WHEN name IS NULL OR name = '' THEN NULL ELSE ` +
      `length(replace(name, '.', ''))::DOUBLE / (length(name) - length(replace(name, '.', '')) + 1) END)`,
  ];
}

/** Define the macros on a connection (idempotent). */
export async function installMacros(db: Duck, knownSubnets: readonly SubnetRange[] = []): Promise<void> {
  for (const sql of macroSql(knownSubnets)) await db.run(sql);
}
