/**
 * The estate ordering measurement (issue 14 item 2): train IP Insights and the history detector on a generated
 * estate (bench/lib/estate.ts), score held-out normal pairs, known peers, new hosts in known subnets and foreign
 * addresses, and fuse the two detectors as incidents do (bench/lib/fusion.ts). Required order for each detector and
 * the fusion: known peer > new host in a known subnet > foreign address.
 */
import { performance } from 'node:perf_hooks';
import { IpInsightsModel } from '../../src/detectors/ipinsights/index.js';
import { trainIpInsights } from '../../src/detectors/ipinsights/train.js';
import { HistoryModel, trainHistory } from '../../src/detectors/history/index.js';
import type { HyperparameterInput } from '../../src/detectors/ipinsights/config.js';
import { generateEstate, type Estate, type EstateOptions, type EstatePair } from './estate.js';
import { fuseLog10, median, orderAuc, pValues } from './fusion.js';

/** The demo's flow-peer settings (src/demo/setup.ts), single-threaded so a seed gives one model. */
export const ESTATE_IPI_HP: HyperparameterInput = { vector_dim: 32, epochs: 4, num_entity_vectors: 1000, shuffled_negative_sampling_rate: 2, seed: 1, threads: 1 };

export const CATEGORIES = ['normal', 'known', 'newHost', 'foreignInternal', 'foreignPublic'] as const;
export type Category = (typeof CATEGORIES)[number];

export interface DetectorOrdering {
  medians: Record<Category, number>;
  /** AUCs of the required order (0.5 = no order, 1 = perfect). */
  auc: { knownOverNewHost: number; normalOverNewHost: number; newHostOverForeignInternal: number; newHostOverForeignPublic: number; knownOverForeign: number };
}

export interface OrderingResult {
  ipinsights: DetectorOrdering;
  history: DetectorOrdering;
  fused: DetectorOrdering;
  counts: Record<Category, number>;
  trainRows: number;
  trainSeconds: number;
  recordsPerSecond: number;
}

function ordering(s: Record<Category, Float64Array>): DetectorOrdering {
  const medians = Object.fromEntries(CATEGORIES.map((c) => [c, median(s[c])])) as Record<Category, number>;
  const foreign = Float64Array.from([...s.foreignInternal, ...s.foreignPublic]);
  return {
    medians,
    auc: {
      knownOverNewHost: orderAuc(s.known, s.newHost),
      normalOverNewHost: orderAuc(s.normal, s.newHost),
      newHostOverForeignInternal: orderAuc(s.newHost, s.foreignInternal),
      newHostOverForeignPublic: orderAuc(s.newHost, s.foreignPublic),
      knownOverForeign: orderAuc(s.known, foreign),
    },
  };
}

/** Train both detectors on the estate and measure the order. */
export async function measureOrdering(opts: { estate?: EstateOptions; hp?: HyperparameterInput } = {}): Promise<OrderingResult & { estate: Estate }> {
  const estate = generateEstate(opts.estate);
  const t = performance.now();
  const res = await trainIpInsights({ train: estate.train, hyperparameters: { ...ESTATE_IPI_HP, ...opts.hp }, inProcess: true, log: () => {} });
  const trainSeconds = (performance.now() - t) / 1000;
  const ipi = new IpInsightsModel('', res.header, res.weights, res.history);
  const h = trainHistory({ train: estate.train, log: () => {} });
  const hist = new HistoryModel('', h.header, h.arrays);
  const score = (m: { scoreBatch(r: readonly EstatePair[]): { native: Float64Array } }): Record<Category | 'calibration', Float64Array> => {
    const out = { calibration: m.scoreBatch(estate.calibration).native } as Record<Category | 'calibration', Float64Array>;
    for (const c of CATEGORIES) out[c] = m.scoreBatch(estate[c]).native;
    return out;
  };
  const si = score(ipi);
  const sh = score(hist);
  const fused = {} as Record<Category, Float64Array>;
  for (const c of CATEGORIES) fused[c] = fuseLog10([pValues(si.calibration, si[c]), pValues(sh.calibration, sh[c])]);
  return {
    estate,
    ipinsights: ordering(si),
    history: ordering(sh),
    fused: ordering(fused),
    counts: Object.fromEntries(CATEGORIES.map((c) => [c, estate[c].length])) as Record<Category, number>,
    trainRows: estate.train.n,
    trainSeconds,
    recordsPerSecond: res.recordsPerSecond,
  };
}

/** A printable table of an OrderingResult. */
export function formatOrdering(r: OrderingResult): string[] {
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  const lines: string[] = [];
  lines.push(`estate: ${r.trainRows} training pairs; evaluation ${CATEGORIES.map((c) => `${c} ${r.counts[c]}`).join(', ')}`);
  lines.push(`IP Insights training: ${r.trainSeconds.toFixed(2)} s, ${Math.round(r.recordsPerSecond).toLocaleString('en-US')} records/s (one thread)`);
  lines.push('detector     | median normal | known  | new host | foreign int | foreign pub || AUC known>new | normal>new | new>foreign int | new>foreign pub | known>foreign');
  for (const [name, o] of [['IP Insights', r.ipinsights], ['history', r.history], ['fused', r.fused]] as const) {
    const m = o.medians;
    const a = o.auc;
    lines.push(
      `${name.padEnd(12)} | ${f(m.normal).padStart(13)} | ${f(m.known).padStart(6)} | ${f(m.newHost).padStart(8)} | ${f(m.foreignInternal).padStart(11)} | ${f(m.foreignPublic).padStart(11)} || ` +
        `${f(a.knownOverNewHost).padStart(13)} | ${f(a.normalOverNewHost).padStart(10)} | ${f(a.newHostOverForeignInternal).padStart(15)} | ${f(a.newHostOverForeignPublic).padStart(15)} | ${f(a.knownOverForeign).padStart(13)}`,
    );
  }
  return lines;
}
