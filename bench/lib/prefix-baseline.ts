/**
 * The plain baseline IP Insights must beat: score (entity, ip) by the longest prefix (in bits) that `ip`
 * shares with any IPv4 address the entity was seen with in training (0 for unseen entities). The best
 * match is always one of the two sorted neighbours of `ip`, so a lookup is a binary search.
 */
export class LongestPrefixBaseline {
  private readonly offsets: Uint32Array;
  private readonly ips: Uint32Array;

  constructor(users: Uint32Array, ips: Uint32Array, numUsers: number) {
    const counts = new Uint32Array(numUsers + 1);
    for (const u of users) counts[u + 1]!++;
    for (let i = 1; i <= numUsers; i++) counts[i]! += counts[i - 1]!;
    this.offsets = counts.slice();
    const fill = counts.slice();
    this.ips = new Uint32Array(ips.length);
    for (let i = 0; i < users.length; i++) this.ips[fill[users[i]!]!++] = ips[i]!;
    for (let u = 0; u < numUsers; u++) this.ips.subarray(this.offsets[u]!, this.offsets[u + 1]!).sort();
  }

  score(user: number, ip: number): number {
    if (user + 1 >= this.offsets.length) return 0;
    const lo0 = this.offsets[user]!;
    const hi0 = this.offsets[user + 1]!;
    if (lo0 === hi0) return 0;
    let lo = lo0;
    let hi = hi0;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ips[mid]! < ip) lo = mid + 1;
      else hi = mid;
    }
    let best = 0;
    if (lo < hi0) best = Math.max(best, Math.clz32((this.ips[lo]! ^ ip) >>> 0));
    if (lo > lo0) best = Math.max(best, Math.clz32((this.ips[lo - 1]! ^ ip) >>> 0));
    return best;
  }
}
