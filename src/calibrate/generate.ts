/**
 * Synthetic abnormal traffic for calibration, always for entities the model knows (the normal set's entities):
 *
 * - `random`:   entity uniform with replacement, IP uniform over IPv4 (each octet uniform): the attack of the training
 *               objective's random negatives and of SageMaker's discriminator_auc.
 * - `shuffled`: the entity of one random normal pair with the IP of another random normal pair of a different
 *               entity (so entities are as frequent as in normal traffic); pairs that recreate a pair seen in the
 *               normal set are re-drawn. "An insider using a colleague's usual address."
 * - `asn`:      entity uniform with replacement, IP from the tutorial's draw_ip(): uniform ASN range, then a uniform
 *               address inside it (ipinsights.md §5.3 step 2).
 */
import type { Rng } from '../core/rng.js';
import { drawIp, u32ToIpv4, type AsnTable } from './asn.js';
import type { Pair } from './inputs.js';

export const ABNORMAL_GENERATORS = ['random', 'shuffled', 'asn'] as const;
export type AbnormalGenerator = (typeof ABNORMAL_GENERATORS)[number];

export interface GenerateOptions {
  kind: AbnormalGenerator;
  /** How many abnormal pairs (default: as many as normal pairs, the tutorial's attack_freq = 1). */
  count?: number;
  rng: Rng;
  /** Needed for `asn`. */
  asnTable?: AsnTable;
}

/** Distinct entities in order of first appearance. */
export function entitiesOf(pairs: readonly Pair[]): string[] {
  return [...new Set(pairs.map((p) => p.entity))];
}

export function generateAbnormal(normal: readonly Pair[], opts: GenerateOptions): Pair[] {
  if (normal.length === 0) throw new RangeError('abnormal pairs are generated for the normal set\'s entities, which is empty');
  const count = opts.count ?? normal.length;
  const rng = opts.rng;
  switch (opts.kind) {
    case 'random': {
      const entities = entitiesOf(normal);
      const out: Pair[] = new Array(count);
      for (let i = 0; i < count; i++) out[i] = { entity: rng.pick(entities), ip: u32ToIpv4(rng.nextU32()) };
      return out;
    }
    case 'asn': {
      const table = opts.asnTable;
      if (!table) throw new RangeError('the asn generator needs an ASN table');
      const entities = entitiesOf(normal);
      const out: Pair[] = new Array(count);
      for (let i = 0; i < count; i++) out[i] = { entity: rng.pick(entities), ip: drawIp(table, rng) };
      return out;
    }
    case 'shuffled':
      return shuffledPairs(normal, count, rng);
  }
}

function shuffledPairs(normal: readonly Pair[], count: number, rng: Rng): Pair[] {
  const seen = new Set<string>();
  const ipsOf = new Map<string, number>();
  for (const p of normal) {
    seen.add(`${p.entity}\u0000${p.ip}`);
    ipsOf.set(p.entity, (ipsOf.get(p.entity) ?? 0) + 1);
  }
  if (ipsOf.size < 2) throw new RangeError('shuffled pairs need at least two entities');
  const out: Pair[] = [];
  let attempts = 0;
  const maxAttempts = count * 50 + 1000;
  while (out.length < count && attempts < maxAttempts) {
    attempts++;
    const a = normal[rng.int(normal.length)]!;
    const b = normal[rng.int(normal.length)]!;
    if (a.entity === b.entity || seen.has(`${a.entity}\u0000${b.ip}`)) continue;
    out.push({ entity: a.entity, ip: b.ip });
  }
  return out;
}
