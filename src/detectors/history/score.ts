/**
 * The history detector's native score, `prefix_score` (larger = more familiar; direction lower_is_anomalous):
 *
 *   prefix_score = E(L) + step(L) x count_weight x c / (c + count_half)
 *
 * L is the longest prefix (in bits of the address's family) the address shares with any stored training address of
 * the entity (of the population for an entity never seen), c the entity's training rows under that /L prefix.
 * E(L) puts both families on the IPv4 scale of 0-32 "IPv4-equivalent bits":
 *   IPv4  E(L) = L                                   (/24 -> 24, /16 -> 16, exact /32 -> 32)
 *   IPv6  E(L) = 0.375 L            for L <= 64      (the 64 network bits span IPv4's 24: /48 -> 18, /64 -> 24)
 *         E(L) = 24 + (L - 64) / 8  for L > 64       (the 64 interface bits span the last octet: /128 -> 32)
 * step(L) is the width of the next bit on that scale (IPv4: 1; IPv6: 0.375 below /64, 0.125 from /64; an exact
 * match, L = 32 or 128: 1), so the familiarity term never reaches the next prefix length: a longer prefix always
 * scores higher, at equal length a prefix used 500 times scores higher than one used once, and an exact training
 * address scores in [32, 33), above everything else. No stored address of the family at all: 0.
 */
import type { Hyperparameters } from './config.js';

/** The IPv6 prefix that scores like IPv4's /24 (a LAN subnet). */
export const IPV6_SUBNET_BITS = 64;
export const IPV4_SUBNET_BITS = 24;

/** A prefix length of family `fam` in IPv4-equivalent bits (0-32). */
export function ipv4EquivalentBits(fam: 4 | 6, len: number): number {
  if (fam === 4) return len;
  if (len <= IPV6_SUBNET_BITS) return (len * IPV4_SUBNET_BITS) / IPV6_SUBNET_BITS;
  return IPV4_SUBNET_BITS + ((len - IPV6_SUBNET_BITS) * (32 - IPV4_SUBNET_BITS)) / (128 - IPV6_SUBNET_BITS);
}

/** Width of the familiarity term at prefix length `len`: one bit of the family, in IPv4-equivalent bits. */
export function stepAt(fam: 4 | 6, len: number): number {
  if (fam === 4 || len >= 128) return 1;
  return ipv4EquivalentBits(6, len + 1) - ipv4EquivalentBits(6, len);
}

/** prefix_score of a match (see the file comment). */
export function prefixScore(fam: 4 | 6, len: number, count: number, hp: Pick<Hyperparameters, 'count_half' | 'count_weight'>): number {
  if (count <= 0) return ipv4EquivalentBits(fam, len);
  return ipv4EquivalentBits(fam, len) + stepAt(fam, len) * hp.count_weight * (count / (count + hp.count_half));
}
