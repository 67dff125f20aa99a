/**
 * IP address parsing for the IP Insights detector, without allocation on the hot path.
 *
 * An address is parsed into four 32-bit words (`out[0..3]`, most significant first):
 * - IPv4 `a.b.c.d` -> family 4, `out[0]` = the address as an unsigned 32-bit integer;
 * - IPv6 -> family 6, `out[0..3]` = the 128 bits. IPv4-mapped IPv6 (`::ffff:a.b.c.d`, `::ffff:0a01:0203`)
 *   is canonicalised to family 4, so `::ffff:10.1.2.3` and `10.1.2.3` are the same address.
 * Accepted IPv6 forms: RFC 4291 text (`::` compression, hex in any case, trailing dotted IPv4), an
 * optional zone (`fe80::1%eth0`, the zone is dropped). IPv4 must be four decimal octets 0-255 without
 * leading zeros (`010.0.0.1` is ambiguous: octal in some parsers) and without surrounding junk.
 */

export type IpFamily = 4 | 6;

/** Parse `text` (already trimmed) into `out`; returns 4, 6 or 0 (invalid). */
export function parseIpInto(text: string, out: Uint32Array): 0 | IpFamily {
  const len = text.length;
  if (len === 0 || len > 64) return 0;
  // IPv4 fast path: digits and dots only.
  let colon = false;
  for (let i = 0; i < len; i++) {
    if (text.charCodeAt(i) === 58) {
      colon = true;
      break;
    }
  }
  if (!colon) {
    const v = parseIpv4(text, 0, len);
    if (v < 0) return 0;
    out[0] = v;
    out[1] = 0;
    out[2] = 0;
    out[3] = 0;
    return 4;
  }
  return parseIpv6(text, out);
}

/** Dotted-quad IPv4 in text[start, end) -> unsigned 32-bit value, or -1. */
function parseIpv4(text: string, start: number, end: number): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (true) {
    if (i >= end) return -1;
    let n = 0;
    let digits = 0;
    const first = i;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      digits++;
      i++;
      if (digits > 3) return -1;
    }
    if (digits === 0 || n > 255) return -1;
    if (digits > 1 && text.charCodeAt(first) === 48) return -1;
    value = value * 256 + n;
    octets++;
    if (octets === 4) break;
    if (i >= end || text.charCodeAt(i) !== 46) return -1;
    i++;
  }
  if (i !== end) return -1;
  return value;
}

const hextets = new Uint16Array(8);

function parseIpv6(text: string, out: Uint32Array): 0 | IpFamily {
  let end = text.length;
  const pct = text.indexOf('%');
  if (pct >= 0) {
    if (pct === end - 1) return 0;
    end = pct;
  }
  let n = 0; // hextets parsed
  let gap = -1; // index in hextets where '::' was
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return 0;
    gap = 0;
    i = 2;
    if (i === end) {
      hextets.fill(0);
      return finishV6(out);
    }
  }
  while (i < end) {
    // Trailing dotted IPv4?
    let j = i;
    let hasDot = false;
    while (j < end) {
      const c = text.charCodeAt(j);
      if (c === 58) break;
      if (c === 46) hasDot = true;
      j++;
    }
    if (hasDot) {
      if (j !== end || n > 6) return 0;
      const v4 = parseIpv4(text, i, end);
      if (v4 < 0) return 0;
      hextets[n++] = v4 >>> 16;
      hextets[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    const digits = j - i;
    if (digits === 0 || digits > 4 || n >= 8) return 0;
    let h = 0;
    for (let k = i; k < j; k++) {
      const c = text.charCodeAt(k);
      let d: number;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      else return 0;
      h = (h << 4) | d;
    }
    hextets[n++] = h;
    i = j;
    if (i === end) break;
    // i at ':'
    i++;
    if (i === end) return 0; // trailing single ':'
    if (text.charCodeAt(i) === 58) {
      if (gap >= 0) return 0; // second '::'
      gap = n;
      i++;
      if (i === end) break;
    }
  }
  if (gap >= 0) {
    if (n > 7) return 0;
    const tail = n - gap;
    for (let k = 0; k < tail; k++) hextets[7 - k] = hextets[n - 1 - k]!;
    for (let k = gap; k < 8 - tail; k++) hextets[k] = 0;
  } else if (n !== 8) {
    return 0;
  }
  return finishV6(out);
}

function finishV6(out: Uint32Array): 0 | IpFamily {
  const w0 = ((hextets[0]! << 16) | hextets[1]!) >>> 0;
  const w1 = ((hextets[2]! << 16) | hextets[3]!) >>> 0;
  const w2 = ((hextets[4]! << 16) | hextets[5]!) >>> 0;
  const w3 = ((hextets[6]! << 16) | hextets[7]!) >>> 0;
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) {
    // IPv4-mapped (::ffff:0:0/96) -> IPv4.
    out[0] = w3;
    out[1] = 0;
    out[2] = 0;
    out[3] = 0;
    return 4;
  }
  out[0] = w0;
  out[1] = w1;
  out[2] = w2;
  out[3] = w3;
  return 6;
}

/** Parsed form of an address (allocates; for tests, explanations and generators). */
export interface ParsedIp {
  family: IpFamily;
  words: [number, number, number, number];
}

export function parseIp(text: string): ParsedIp | undefined {
  const out = new Uint32Array(4);
  const fam = parseIpInto(text.trim(), out);
  if (fam === 0) return undefined;
  return { family: fam, words: [out[0]!, out[1]!, out[2]!, out[3]!] };
}

/** Dotted quad of an unsigned 32-bit IPv4 value. */
export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** RFC 5952 text of an IPv6 address given as four 32-bit words. */
export function formatIpv6(w: ArrayLike<number>): string {
  const h: number[] = [];
  for (let i = 0; i < 4; i++) {
    const x = w[i]! >>> 0;
    h.push(x >>> 16, x & 0xffff);
  }
  // Longest run of >= 2 zero hextets (first one on ties) becomes '::'.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (h[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && h[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(h);
  return `${hex(h.slice(0, best))}::${hex(h.slice(best + bestLen))}`;
}

/** Canonical text of a parsed address (IPv4-mapped IPv6 comes back as dotted IPv4). */
export function formatIp(ip: ParsedIp): string {
  return ip.family === 4 ? formatIpv4(ip.words[0]) : formatIpv6(ip.words);
}
