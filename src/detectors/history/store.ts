/**
 * The history detector's address store and its lookup: per owner (a training entity, or the population of all
 * entities) the distinct training addresses, sorted, with running row counts, in flat typed arrays (no object per
 * address), and the longest-known-prefix match that scores a query address against one owner.
 *
 * Layout of one owner's range [start, end) of `addr` (4 words per address, most significant first) and `cum`:
 *   [start, v4end)  IPv4 addresses as IPv4-mapped IPv6 (0, 0, 0xffff, a.b.c.d), ascending
 *   [v4end, end)    IPv6 addresses, ascending (128-bit)
 *   cum[k]          training rows of the owner at addresses start..k (inclusive, IPv4 block first)
 * The parser folds real IPv4-mapped IPv6 text into IPv4, so the two blocks never hold the same address.
 *
 * The longest common prefix of a query with a sorted set is reached at one of its two sorted neighbours, and the
 * set's addresses sharing at least L bits with the query are one contiguous run, so a lookup is three binary
 * searches and its count one subtraction of running counts.
 */

export const MAPPED = 0xffff;

/** One owner's addresses. */
export interface AddressStore {
  /** Four words per address. */
  addr: Uint32Array;
  /** Running training-row count per address, restarting at each owner. */
  cum: Uint32Array;
}

/** The result of a lookup (reused between calls; no allocation on the hot path). */
export interface Match {
  /** Longest common prefix in bits of the query's family (0-32 for IPv4, 0-128 for IPv6). */
  len: number;
  /**
   * Index in the store of the nearest address: the longest prefix among the query's two sorted neighbours (the
   * numerically nearest addresses below and above it; ties: the more used, then the lower), -1 if none.
   */
  index: number;
  /** Training rows of the owner at addresses under the query's /len prefix (0 when no address of the family). */
  count: number;
}

export function newMatch(): Match {
  return { len: 0, index: -1, count: 0 };
}

/** Longest common prefix, in bits, of two 32-bit words. */
export function lcp32(a: number, b: number): number {
  return Math.clz32((a ^ b) >>> 0);
}

/** Longest common prefix of a stored IPv6 address and four query words. */
function lcp128(addr: Uint32Array, k: number, q: Uint32Array): number {
  let len = 0;
  for (let j = 0; j < 4; j++) {
    const l = lcp32(addr[k * 4 + j]!, q[j]!);
    len += l;
    if (l < 32) break;
  }
  return len;
}

/** -1, 0, 1: stored address k against four words. */
function cmp128(addr: Uint32Array, k: number, q: ArrayLike<number>): number {
  for (let j = 0; j < 4; j++) {
    const x = addr[k * 4 + j]!;
    const y = q[j]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** First index in [lo, hi) whose IPv4 value (word 3) is >= v (or > v with `upper`). */
function bound4(addr: Uint32Array, lo: number, hi: number, v: number, upper: boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = addr[mid * 4 + 3]!;
    if (x < v || (upper && x === v)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in [lo, hi) whose address is >= q (or > q with `upper`). */
function bound6(addr: Uint32Array, lo: number, hi: number, q: ArrayLike<number>, upper: boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmp128(addr, mid, q);
    if (c < 0 || (upper && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Training rows at stored address k of an owner starting at `start`. */
export function rowsAt(cum: Uint32Array, start: number, k: number): number {
  return cum[k]! - (k > start ? cum[k - 1]! : 0);
}

const lowKey = new Uint32Array(4);
const highKey = new Uint32Array(4);

/**
 * Match a query (family 4: q[0] is the IPv4 value; family 6: q[0..3]) against one owner's range: the longest
 * prefix it shares with a stored address of its family, the nearest such address, and the owner's training rows
 * under that prefix. `start` is the owner's first index (the base of its running counts).
 */
export function matchOwner(s: AddressStore, start: number, v4end: number, end: number, fam: 4 | 6, q: Uint32Array, out: Match): Match {
  const { addr, cum } = s;
  const lo0 = fam === 4 ? start : v4end;
  const hi0 = fam === 4 ? v4end : end;
  out.len = 0;
  out.index = -1;
  out.count = 0;
  if (lo0 >= hi0) return out;
  let first: number;
  let last: number;
  if (fam === 4) {
    const v = q[0]!;
    const p = bound4(addr, lo0, hi0, v, false);
    let best = -1;
    let bestLen = -1;
    for (let k = p - 1; k <= p; k++) {
      if (k < lo0 || k >= hi0) continue;
      const l = lcp32(addr[k * 4 + 3]!, v);
      if (l > bestLen || (l === bestLen && rowsAt(cum, start, k) > rowsAt(cum, start, best))) {
        best = k;
        bestLen = l;
      }
    }
    out.len = bestLen;
    out.index = best;
    if (bestLen === 32) {
      first = best;
      last = best;
    } else {
      const mask = bestLen === 0 ? 0 : (0xffffffff << (32 - bestLen)) >>> 0;
      first = bound4(addr, lo0, hi0, (v & mask) >>> 0, false);
      last = bound4(addr, lo0, hi0, (v | ~mask) >>> 0, true) - 1;
    }
  } else {
    const p = bound6(addr, lo0, hi0, q, false);
    let best = -1;
    let bestLen = -1;
    for (let k = p - 1; k <= p; k++) {
      if (k < lo0 || k >= hi0) continue;
      const l = lcp128(addr, k, q);
      if (l > bestLen || (l === bestLen && rowsAt(cum, start, k) > rowsAt(cum, start, best))) {
        best = k;
        bestLen = l;
      }
    }
    out.len = bestLen;
    out.index = best;
    if (bestLen === 128) {
      first = best;
      last = best;
    } else {
      for (let j = 0; j < 4; j++) {
        const keep = bestLen - j * 32;
        const mask = keep >= 32 ? 0xffffffff : keep <= 0 ? 0 : (0xffffffff << (32 - keep)) >>> 0;
        lowKey[j] = (q[j]! & mask) >>> 0;
        highKey[j] = (q[j]! | ~mask) >>> 0;
      }
      first = bound6(addr, lo0, hi0, lowKey, false);
      last = bound6(addr, lo0, hi0, highKey, true) - 1;
    }
  }
  out.count = cum[last]! - (first > start ? cum[first - 1]! : 0);
  return out;
}


/** Whether stored address k is an IPv4-mapped address. */
export function isMapped(addr: Uint32Array, k: number): boolean {
  return addr[k * 4] === 0 && addr[k * 4 + 1] === 0 && addr[k * 4 + 2] === MAPPED;
}
