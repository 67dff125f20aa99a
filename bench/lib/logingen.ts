/**
 * Synthetic web-login generator after the SageMaker IP Insights tutorial (ipinsights.md §5.1, re-implemented
 * from the description), over the real IPv4 -> ASN range table of `@ip-location-db/asn` (§5.1a).
 *
 * Per user: a home and a work ASN row (work within +-50,000 rows of home), n = floor(50 * Pareto(1, 1))
 * events (capped at 10,000), p_travel ~ Beta(1, 30), p_home ~ Beta(3, 5). Each event is a random row
 * with probability p_travel, else home (p_home) or work, plus Normal(0, 10) rows of noise; the IP is
 * uniform within the row's range. Timestamps are uniform over the 10 days before 2018-11-14; the first
 * 7 days are training data (§5.2). Attacks (§5.3) are a uniformly chosen training user with `drawIp()`
 * (uniform row, uniform address in it). Everything is seeded (the tutorial's generator was not).
 */
import type { AsnTable } from '../../src/calibrate/asn.js';
import { Rng } from '../../src/core/rng.js';

export { loadAsnTable, type AsnTable } from '../../src/calibrate/asn.js';

export interface LoginEvent {
  user: number;
  ip: number;
  /** Seconds before END_DATE (0 .. 864000). */
  ageSeconds: number;
}

export interface LoginData {
  /** Training events (first 7 days), shuffled. */
  trainUser: Uint32Array;
  trainIp: Uint32Array;
  /** Test events (last 3 days). */
  testUser: Uint32Array;
  testIp: Uint32Array;
  /** Per test event: 0 = home/work neighbourhood, 1 = travel (a uniformly random ASN row). */
  testTravel: Uint8Array;
  totalEvents: number;
  /** The generator's per-user parameters (for the Bayes-optimal reference score). */
  users: { home: Uint32Array; work: Uint32Array; pTravel: Float64Array; pHome: Float64Array; events: Uint32Array };
}

export const END_DATE = Date.UTC(2018, 10, 14, 0, 0, 0);
const WINDOW_SECONDS = 10 * 86400;
const TEST_SECONDS = 3 * 86400;

function betaInt(rng: Rng, a: number, b: number): number {
  // Beta(a, b) for integer a, b: the a-th smallest of a+b-1 uniforms.
  const u: number[] = [];
  for (let i = 0; i < a + b - 1; i++) u.push(rng.next());
  u.sort((x, y) => x - y);
  return u[a - 1]!;
}

function pyMod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/** IP drawn like the tutorial's draw_ip(): a uniform row, then a uniform address inside it. */
export function drawIp(rng: Rng, table: AsnTable): number {
  const row = rng.int(table.size);
  return ipInRow(rng, table, row);
}

function ipInRow(rng: Rng, table: AsnTable, row: number): number {
  const s = table.starts[row]!;
  const span = table.ends[row]! - s + 1;
  return s + Math.floor(rng.next() * span);
}

/** Generate the login data set for `users` users. */
export function generateLogins(table: AsnTable, users: number, seed: number): LoginData {
  const nAsn = table.size;
  const trU: number[] = [];
  const trI: number[] = [];
  const teU: number[] = [];
  const teI: number[] = [];
  const teT: number[] = [];
  const tsRng = new Rng(seed ^ 0x7135);
  let total = 0;
  const params = { home: new Uint32Array(users), work: new Uint32Array(users), pTravel: new Float64Array(users), pHome: new Float64Array(users), events: new Uint32Array(users) };
  for (let u = 0; u < users; u++) {
    const rng = new Rng((seed * 100003 + u) >>> 0);
    const home = rng.int(nAsn);
    let work = home;
    while (work === home) work = pyMod(home - 50000 + rng.int(100000), nAsn);
    let n = Math.floor(50 / (1 - rng.next()));
    if (n > 10000) n = 10000;
    const pTravel = 1 - Math.pow(1 - rng.next(), 1 / 30); // Beta(1, 30)
    const pHome = betaInt(rng, 3, 5);
    params.home[u] = home;
    params.work[u] = work;
    params.pTravel[u] = pTravel;
    params.pHome[u] = pHome;
    params.events[u] = n;
    for (let j = 0; j < n; j++) {
      let row: number;
      const travel = rng.next() < pTravel;
      if (travel) {
        row = rng.int(nAsn);
      } else {
        const base = rng.next() < pHome ? home : work;
        row = pyMod(base + Math.trunc(rng.normal() * 10), nAsn);
      }
      const ip = ipInRow(rng, table, row);
      const age = tsRng.int(WINDOW_SECONDS);
      if (age >= TEST_SECONDS) {
        trU.push(u);
        trI.push(ip);
      } else {
        teU.push(u);
        teI.push(ip);
        teT.push(travel ? 1 : 0);
      }
      total++;
    }
  }
  // Shuffle the training rows (the tutorial shuffles before upload).
  const srng = new Rng(seed ^ 0x5f1e);
  for (let i = trU.length - 1; i > 0; i--) {
    const j = srng.int(i + 1);
    const tu = trU[i]!;
    trU[i] = trU[j]!;
    trU[j] = tu;
    const ti = trI[i]!;
    trI[i] = trI[j]!;
    trI[j] = ti;
  }
  return { trainUser: Uint32Array.from(trU), trainIp: Uint32Array.from(trI), testUser: Uint32Array.from(teU), testIp: Uint32Array.from(teI), testTravel: Uint8Array.from(teT), totalEvents: total, users: params };
}

export interface EvalSet {
  normalUser: Uint32Array;
  normalIp: Uint32Array;
  normalTravel: Uint8Array;
  attackUser: Uint32Array;
  attackIp: Uint32Array;
  /**
   * Held-out normal logins disjoint from the normal evaluation rows (the next test rows of the same shuffle, up to
   * `count`): the sample fusion turns scores into p-values with (incidents calibrate on held-out normal traffic).
   */
  calibrationUser: Uint32Array;
  calibrationIp: Uint32Array;
}

/**
 * The tutorial's threshold-selection set (§5.3): `count` test rows of users seen in training, sampled
 * without replacement, and `count` attacks (uniform training user, drawIp()).
 */
export function evaluationSet(table: AsnTable, data: LoginData, count: number, seed: number): EvalSet {
  const rng = new Rng(seed ^ 0xe7a1);
  const trained = new Set<number>();
  for (const u of data.trainUser) trained.add(u);
  const idx: number[] = [];
  for (let i = 0; i < data.testUser.length; i++) if (trained.has(data.testUser[i]!)) idx.push(i);
  const m = Math.min(count, idx.length);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(idx.length - i);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  const normalUser = new Uint32Array(m);
  const normalIp = new Uint32Array(m);
  const normalTravel = new Uint8Array(m);
  for (let i = 0; i < m; i++) {
    normalUser[i] = data.testUser[idx[i]!]!;
    normalIp[i] = data.testIp[idx[i]!]!;
    normalTravel[i] = data.testTravel[idx[i]!]!;
  }
  // The calibration rows: the shuffle continued past the evaluation rows (the draws above are unchanged).
  const c = Math.min(count, idx.length - m);
  const calRng = new Rng(seed ^ 0xca11);
  for (let i = m; i < m + c; i++) {
    const j = i + calRng.int(idx.length - i);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  const calibrationUser = Uint32Array.from(idx.slice(m, m + c), (i) => data.testUser[i]!);
  const calibrationIp = Uint32Array.from(idx.slice(m, m + c), (i) => data.testIp[i]!);
  const users = [...trained];
  const attackUser = new Uint32Array(count);
  const attackIp = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    attackUser[i] = users[rng.int(users.length)]!;
    attackIp[i] = drawIp(rng, table);
  }
  return { normalUser, normalIp, normalTravel, attackUser, attackIp, calibrationUser, calibrationIp };
}

export function dotted(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Row of the table containing `ip`, or -1 (binary search over the sorted starts). */
export function rowOf(table: AsnTable, ip: number): number {
  let lo = 0;
  let hi = table.size - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (table.starts[mid]! <= ip) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans >= 0 && ip <= table.ends[ans]! ? ans : -1;
}

/**
 * log P(ip | user) under the generator itself (the Bayes-optimal score for "is this the user's own traffic";
 * nothing learned can rank pairs better). The row-index noise is rounded toward zero, so a row at distance
 * k != 0 has probability P(k <= |N(0,10)| < k+1) / 2 and distance 0 has P(|N| < 1).
 */
export function oracleLogLikelihood(table: AsnTable, data: LoginData, user: number, ip: number): number {
  const row = rowOf(table, ip);
  if (row < 0) return Number.NEGATIVE_INFINITY;
  const n = table.size;
  const p = data.users;
  const pr = (base: number): number => {
    let dist = Math.abs(row - base);
    dist = Math.min(dist, n - dist);
    const phi = (x: number): number => 0.5 * (1 + erf(x / (10 * Math.SQRT2)));
    if (dist === 0) return phi(1) - phi(-1);
    return phi(dist + 1) - phi(dist);
  };
  const rowP = p.pTravel[user]! / n + (1 - p.pTravel[user]!) * (p.pHome[user]! * pr(p.home[user]!) + (1 - p.pHome[user]!) * pr(p.work[user]!));
  return Math.log(rowP) - Math.log(table.ends[row]! - table.starts[row]! + 1);
}

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7)
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496735) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}
