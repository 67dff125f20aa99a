/**
 * Real address ranges for the demo environment, from the ASN table the calibration already uses
 * (`@ip-location-db/asn`, CC BY 4.0: RouteViews, DB-IP, NRO; located by `defaultAsnTablePath()` in
 * `src/calibrate/asn.ts`). The table maps ranges to an ASN and its organisation but has no country, so the
 * demo keeps a small hand-made list of well-known networks with the country they mostly serve: consumer ISPs
 * (web clients, employees at home), hosting providers (scanners) and foreign ISPs (the "new country" login,
 * the exfiltration destination). Addresses are drawn from a network's ranges weighted by range size, so big
 * customer blocks get most clients, as they do in real traffic.
 */
import { readFile } from 'node:fs/promises';
import { SeclakeError, errorMessage } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { defaultAsnTablePath, parseAsnTable, u32ToIpv4, type AsnTable } from '../calibrate/asn.js';

export type NetworkKind = 'isp' | 'hosting' | 'cloud';

export interface NetworkInfo {
  asn: number;
  name: string;
  /** ISO 3166-1 alpha-2 country the network mostly serves. */
  country: string;
  kind: NetworkKind;
}

/** Networks the demo draws addresses from. Names are short forms of the table's organisation names. */
export const DEMO_NETWORKS: readonly NetworkInfo[] = [
  // Consumer ISPs, US (the company's home country).
  { asn: 7922, name: 'Comcast', country: 'US', kind: 'isp' },
  { asn: 7018, name: 'AT&T', country: 'US', kind: 'isp' },
  { asn: 701, name: 'Verizon', country: 'US', kind: 'isp' },
  { asn: 22773, name: 'Cox', country: 'US', kind: 'isp' },
  { asn: 20115, name: 'Charter', country: 'US', kind: 'isp' },
  { asn: 21928, name: 'T-Mobile USA', country: 'US', kind: 'isp' },
  // Consumer ISPs elsewhere (some of the web shop's customers).
  { asn: 812, name: 'Rogers', country: 'CA', kind: 'isp' },
  { asn: 577, name: 'Bell Canada', country: 'CA', kind: 'isp' },
  { asn: 2856, name: 'BT', country: 'GB', kind: 'isp' },
  { asn: 5089, name: 'Virgin Media', country: 'GB', kind: 'isp' },
  { asn: 3320, name: 'Deutsche Telekom', country: 'DE', kind: 'isp' },
  { asn: 3215, name: 'Orange', country: 'FR', kind: 'isp' },
  // Foreign ISPs no employee uses (attack sources).
  { asn: 4134, name: 'Chinanet', country: 'CN', kind: 'isp' },
  { asn: 12389, name: 'Rostelecom', country: 'RU', kind: 'isp' },
  { asn: 45899, name: 'VNPT', country: 'VN', kind: 'isp' },
  { asn: 9829, name: 'BSNL', country: 'IN', kind: 'isp' },
  // Hosting providers (where scanners and exfiltration servers live).
  { asn: 14061, name: 'DigitalOcean', country: 'US', kind: 'hosting' },
  { asn: 16276, name: 'OVH', country: 'FR', kind: 'hosting' },
  { asn: 24940, name: 'Hetzner', country: 'DE', kind: 'hosting' },
  { asn: 20473, name: 'Vultr', country: 'US', kind: 'hosting' },
  { asn: 9009, name: 'M247', country: 'RO', kind: 'hosting' },
  { asn: 49505, name: 'Selectel', country: 'RU', kind: 'hosting' },
  // SaaS/CDN networks the application calls (payment and e-mail APIs).
  { asn: 13335, name: 'Cloudflare', country: 'US', kind: 'cloud' },
  { asn: 54113, name: 'Fastly', country: 'US', kind: 'cloud' },
];

/** Ranges of one network, with cumulative sizes for size-weighted draws. */
export interface NetworkRanges extends NetworkInfo {
  starts: Uint32Array;
  ends: Uint32Array;
  /** cum[i] = addresses in ranges 0..i (inclusive). */
  cum: Float64Array;
}

export interface DemoNetworks {
  byAsn: ReadonlyMap<number, NetworkRanges>;
  /** The whole IPv4 table (for "anywhere on the internet" draws, as calibration's draw_ip). */
  table: AsnTable;
  /** Where the table came from (for attribution in the manifest). */
  source: string;
}

/** Parse the table text: the whole table, plus the ranges of the DEMO_NETWORKS. */
export function parseDemoNetworks(text: string, source: string, networks: readonly NetworkInfo[] = DEMO_NETWORKS): DemoNetworks {
  const table = parseAsnTable(text, source);
  const wanted = new Map(networks.map((n) => [n.asn, { info: n, starts: [] as number[], ends: [] as number[] }]));
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = text.length;
    const c1 = text.indexOf(',', pos);
    const c2 = c1 < 0 || c1 > nl ? -1 : text.indexOf(',', c1 + 1);
    const c3 = c2 < 0 || c2 > nl ? -1 : text.indexOf(',', c2 + 1);
    if (c3 > 0 && c3 < nl) {
      const w = wanted.get(Number(text.slice(c2 + 1, c3)));
      if (w) {
        const a = Number(text.slice(pos, c1));
        const b = Number(text.slice(c1 + 1, c2));
        // Skip tiny ranges (single addresses, /30s): real customer blocks are bigger.
        if (b - a >= 255) {
          w.starts.push(a);
          w.ends.push(b);
        }
      }
    }
    pos = nl + 1;
  }
  const byAsn = new Map<number, NetworkRanges>();
  for (const { info, starts, ends } of wanted.values()) {
    if (starts.length === 0) throw new SeclakeError(`${source}: no address ranges for AS${info.asn} (${info.name}); the demo needs them`);
    const cum = new Float64Array(starts.length);
    let total = 0;
    for (let i = 0; i < starts.length; i++) {
      total += ends[i]! - starts[i]! + 1;
      cum[i] = total;
    }
    byAsn.set(info.asn, { ...info, starts: Uint32Array.from(starts), ends: Uint32Array.from(ends), cum });
  }
  return { byAsn, table, source };
}

export async function loadDemoNetworks(file?: string): Promise<DemoNetworks> {
  const path = file ?? defaultAsnTablePath();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SeclakeError(`cannot read ASN table ${path}: ${errorMessage(err)}`, { cause: err });
  }
  return parseDemoNetworks(text, file ?? '@ip-location-db/asn/asn-ipv4-num.csv');
}

/** A host address inside one of the network's ranges (size-weighted), never the .0 or .255 of a /24. */
export function drawFromNetwork(n: NetworkRanges, rng: Rng): string {
  const total = n.cum[n.cum.length - 1]!;
  const x = rng.next() * total;
  let lo = 0;
  let hi = n.cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (n.cum[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  const a = n.starts[lo]!;
  const span = n.ends[lo]! - a + 1;
  for (;;) {
    const ip = (a + rng.int(span)) >>> 0;
    const last = ip & 255;
    if (last !== 0 && last !== 255) return u32ToIpv4(ip);
  }
}

export function network(nets: DemoNetworks, asn: number): NetworkRanges {
  const n = nets.byAsn.get(asn);
  if (!n) throw new SeclakeError(`AS${asn} is not one of the demo networks`);
  return n;
}
