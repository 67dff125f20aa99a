/**
 * The history detector: the longest-known-prefix baseline as a detector of the platform. For an (entity, IP) pair
 * it scores how long a prefix of this IP the entity used in training, and how often (`prefix_score`, larger = more
 * familiar; see score.ts for the definition and README.md for the model file).
 *
 *   train.ts   PairData -> per-entity sorted distinct addresses with counts + the population -> model file
 *   store.ts   the address store and the longest-prefix lookup
 *   score.ts   prefix_score (IPv4 and IPv6 on one 0-33 scale)
 *   wire.ts    endpoint response bodies
 */
import { ModelFileError, ParseError } from '../../core/errors.js';
import { annotateScore, readCalibration, type Calibration } from '../calibration.js';
import { packModelData, type ModelData, type ModelHeader as ContainerHeader } from '../model-file.js';
import type { BatchScores, PairsDetectorDefinition, DetectorModel, EntityHistory, EntityInfo, Explanation, PairRecord, WireFormat } from '../types.js';
import type { PairData } from '../pairs/data.js';
import { entityFingerprint } from '../pairs/hash.js';
import { formatIpv4, formatIpv6, parseIpInto } from '../pairs/ip.js';
import { hyperparametersSchema, parseHyperparameters, type Hyperparameters } from './config.js';
import { prefixScore } from './score.js';
import { isMapped, matchOwner, newMatch, rowsAt, type AddressStore, type Match } from './store.js';
import { HISTORY_TYPE, HISTORY_VERSION, historySections, trainHistory, type HistoryArrays, type HistoryHeader } from './train.js';
import { formatPredictions, type HistoryPrediction } from './wire.js';
import { findFingerprint } from '../pairs/hash.js';
import { hyperparameterDocs } from '../hyperparameters.js';
import { jsonResponseType } from '../wire.js';

export type { HistoryPrediction } from './wire.js';
export type { Hyperparameters as HistoryHyperparameters } from './config.js';
export type { HistoryArrays, HistoryHeader, HistoryParams, HistoryTrainingMetadata } from './train.js';
export { HISTORY_TYPE, HISTORY_VERSION, trainHistory, buildHistory } from './train.js';
export { prefixScore, ipv4EquivalentBits } from './score.js';

/** One record looked up: the owner searched and the match (scratch, reused). */
interface Lookup {
  /** 0 = the address does not parse. */
  fam: 0 | 4 | 6;
  known: boolean;
  /** Entity index, -1 when unknown (scored against the population). */
  entity: number;
  store: AddressStore;
  /** The owner's first index (base of its running counts). */
  start: number;
  match: Match;
}

/** A loaded history model: immutable, safe to share between concurrent requests. */
export class HistoryModel implements DetectorModel<HistoryPrediction> {
  readonly detector: PairsDetectorDefinition = history;
  readonly path: string;
  readonly header: HistoryHeader;
  readonly arrays: HistoryArrays;
  readonly calibration: Calibration | undefined;
  readonly hyperparameters: Hyperparameters;
  private packed: ModelData | undefined;
  private readonly entityStore: AddressStore;
  private readonly words = new Uint32Array(4);
  private readonly scratch: Lookup;
  private readonly entityHistory: EntityHistory;

  /** Throws CalibrationError naming the file when the header's calibration is malformed. */
  constructor(path: string, header: HistoryHeader, arrays: HistoryArrays, data?: ModelData) {
    this.path = path;
    this.header = header;
    this.arrays = arrays;
    this.packed = data;
    this.hyperparameters = header.hyperparameters;
    this.calibration = readCalibration(header, path || 'model header');
    this.entityStore = { addr: arrays.addr, cum: arrays.cum };
    this.scratch = { fam: 0, known: false, entity: -1, store: this.entityStore, start: 0, match: newMatch() };
    this.entityHistory = {
      size: (entity) => {
        const e = this.entityIndex(entity);
        return e < 0 ? 0 : this.arrays.distinct[e]!;
      },
      stored: (entity) => {
        const e = this.entityIndex(entity);
        return e < 0 ? 0 : this.arrays.offset[e + 1]! - this.arrays.offset[e]!;
      },
      nearest: (entity, ip) => {
        if (this.entityIndex(entity) < 0) return undefined;
        const l = this.lookup(entity, ip);
        if (l.fam === 0 || l.match.index < 0) return undefined;
        return { ip: this.addressText(l.store, l.match.index), prefix_len: l.match.len };
      },
    };
  }

  /** The model over a loaded container whose header names detector history (ModelFileError otherwise). */
  static fromData(md: ModelData): HistoryModel {
    return new HistoryModel(md.file, md.header as unknown as HistoryHeader, historyFromData(md), md);
  }

  /** The container (header and data); a model trained in memory packs its arrays once. */
  get data(): ModelData {
    this.packed ??= packModelData(this.path, this.header as unknown as ContainerHeader, historySections(this.arrays));
    return this.packed;
  }

  private entityIndex(entity: string): number {
    return findFingerprint(this.arrays.fp, entityFingerprint(entity));
  }

  /** Parse and match one record into the scratch lookup. */
  private lookup(entity: string, ip: string): Lookup {
    const l = this.scratch;
    const w = this.words;
    let fam = parseIpInto(ip, w);
    if (fam === 0 && typeof ip === 'string') fam = parseIpInto(ip.trim(), w);
    l.fam = fam;
    if (fam === 0) return l;
    const a = this.arrays;
    const e = this.entityIndex(entity);
    l.entity = e;
    l.known = e >= 0;
    if (e >= 0) {
      const start = a.offset[e]!;
      l.store = this.entityStore;
      l.start = start;
      matchOwner(this.entityStore, start, start + a.v4[e]!, a.offset[e + 1]!, fam, w, l.match);
    } else {
      const p = this.header.params.population;
      l.store = a.population;
      l.start = 0;
      matchOwner(a.population, 0, p.v4, p.stored, fam, w, l.match);
    }
    return l;
  }

  private addressText(s: AddressStore, k: number): string {
    return isMapped(s.addr, k) ? formatIpv4(s.addr[k * 4 + 3]!) : formatIpv6(s.addr.subarray(k * 4, k * 4 + 4));
  }

  private scoreOf(l: Lookup): number {
    return prefixScore(l.fam as 4 | 6, l.match.len, l.match.count, this.hyperparameters);
  }

  /** Native scores (prefix_score) and known flags; an address that does not parse gets NaN (never throws). */
  scoreBatch(records: readonly PairRecord[]): BatchScores {
    const n = records.length;
    const out: BatchScores = { native: new Float64Array(n), known: new Uint8Array(n) };
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      const l = this.lookup(String(r.entity), r.ip);
      if (l.fam === 0) {
        out.native[i] = Number.NaN;
        continue;
      }
      out.native[i] = this.scoreOf(l);
      out.known[i] = l.known ? 1 : 0;
    }
    return out;
  }

  /**
   * The endpoint's predictions: `{prefix_score, entity_known}`; verbose adds prefix_len, nearest_ip, prefix_count
   * and, for a calibrated model, anomaly_percentile and is_anomaly. An address that does not parse throws a
   * ParseError naming the 1-based record.
   */
  predict(records: readonly PairRecord[], opts: { verbose?: boolean; source?: string } = {}): HistoryPrediction[] {
    const verbose = opts.verbose === true;
    const cal = this.calibration;
    const out: HistoryPrediction[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const l = this.lookup(String(r.entity), r.ip);
      if (l.fam === 0) {
        throw new ParseError(`invalid IP address ${JSON.stringify(String(r.ip).slice(0, 80))}`, { file: opts.source ?? 'request', line: i + 1, field: 'ip' });
      }
      const score = this.scoreOf(l);
      if (!verbose) {
        out[i] = { prefix_score: score, entity_known: l.known };
        continue;
      }
      const m = l.match;
      const p: HistoryPrediction = {
        prefix_score: score,
        prefix_len: m.len,
        nearest_ip: m.index < 0 ? null : this.addressText(l.store, m.index),
        prefix_count: m.count,
        entity_known: l.known,
      };
      if (cal) {
        const a = annotateScore(score, cal);
        p.anomaly_percentile = a.anomaly_percentile;
        p.is_anomaly = a.is_anomaly;
      }
      out[i] = p;
    }
    return out;
  }

  entityInfo(entity: string): EntityInfo {
    const e = this.entityIndex(entity);
    return e < 0 ? { known: false, count: 0 } : { known: true, count: this.arrays.rows[e]! };
  }

  /**
   * The longest known prefix behind a score: "its longest known prefix is /24 (nearest 10.0.1.7, 37 training
   * connections under it)", with the facts in `details`.
   */
  explain(record: PairRecord, native: number): Explanation {
    const l = this.lookup(String(record.entity), record.ip);
    if (l.fam === 0) return { reason: '', details: { prefix_score: native } };
    const a = this.arrays;
    const m = l.match;
    const fam = l.fam;
    const nearest = m.index < 0 ? null : this.addressText(l.store, m.index);
    const e = l.entity;
    const details: Record<string, unknown> = {
      prefix_score: native,
      prefix_len: m.len,
      family: fam === 4 ? 'ipv4' : 'ipv6',
      nearest_ip: nearest,
      nearest_count: m.index < 0 ? 0 : rowsAt(l.store.cum, l.start, m.index),
      prefix_count: m.count,
      entity_known: l.known,
      entity_training_rows: e < 0 ? 0 : a.rows[e]!,
      entity_distinct_addresses: e < 0 ? 0 : a.distinct[e]!,
      entity_stored_addresses: e < 0 ? 0 : a.offset[e + 1]! - a.offset[e]!,
    };
    const conn = (c: number): string => `${c} training connection${c === 1 ? '' : 's'}`;
    const exact = m.len === (fam === 4 ? 32 : 128);
    let reason: string;
    if (l.known) {
      if (m.index < 0) reason = `it has no IPv${fam} training address (its ${a.distinct[e]!} training addresses are all IPv${fam === 4 ? 6 : 4})`;
      else if (exact) reason = `it used this exact address in training (${conn(m.count)})`;
      else reason = `its longest known prefix is /${m.len} (nearest ${nearest}, ${conn(m.count)} under it)`;
    } else if (m.index < 0) {
      reason = `the entity was never seen in training, and no training address is IPv${fam}`;
    } else if (exact) {
      reason = `the entity was never seen in training; other entities used this exact address (${conn(m.count)})`;
    } else {
      reason = `the entity was never seen in training; among all training addresses the longest known prefix is /${m.len} (nearest ${nearest}, ${conn(m.count)} under it)`;
    }
    return { reason, details };
  }

  history(): EntityHistory {
    return this.entityHistory;
  }
}

/** The model's arrays from a container; ModelFileError naming the file when it is not a valid history model. */
export function historyFromData(md: ModelData): HistoryArrays {
  const file = md.file;
  const h = md.header as unknown as HistoryHeader;
  if (h.detector.type !== HISTORY_TYPE) throw new ModelFileError(file, `not a history model (detector ${h.detector.type})`);
  if (h.detector.version > HISTORY_VERSION) {
    throw new ModelFileError(file, `history model version ${h.detector.version} is newer than this seclake supports (${HISTORY_VERSION}); upgrade seclake`);
  }
  const pop = h.params?.population;
  if (!pop || !Number.isInteger(pop.stored) || !Number.isInteger(pop.v4) || pop.v4 > pop.stored) {
    throw new ModelFileError(file, 'corrupt model header (missing or bad params.population)');
  }
  const fp = md.f64('entity.fingerprint');
  const m = fp.length;
  const offset = md.u32('entity.offset', m + 1);
  const s = offset[m]!;
  const a: HistoryArrays = {
    fp,
    rows: md.u32('entity.rows', m),
    distinct: md.u32('entity.distinct', m),
    offset,
    v4: md.u32('entity.v4', m),
    addr: md.u32('entity.addr', s * 4),
    cum: md.u32('entity.cum', s),
    population: { addr: md.u32('population.addr', pop.stored * 4), cum: md.u32('population.cum', pop.stored) },
  };
  if (offset[0] !== 0) throw new ModelFileError(file, 'model section entity.offset is inconsistent');
  for (let e = 0; e < m; e++) {
    if (offset[e + 1]! < offset[e]! || a.v4[e]! > offset[e + 1]! - offset[e]!) throw new ModelFileError(file, 'model section entity.offset/entity.v4 is inconsistent');
  }
  return a;
}

const wire: WireFormat = {
  formatPredictions: (results, accept, verbose) => formatPredictions(results as unknown as HistoryPrediction[], jsonResponseType(accept), verbose),
};

/** The history detector (longest known prefix) as a detector of the platform. */
export const history: PairsDetectorDefinition = {
  type: HISTORY_TYPE,
  version: HISTORY_VERSION,
  title: 'Prefix history',
  description: 'scores how long a prefix of the address the entity used in training, and how often (longest-known-prefix baseline)',
  records: 'pairs',
  // Uncalibrated, flag an address that shares less than a /16 (IPv6: /43) with every training address of the entity.
  score: { name: 'prefix_score', direction: 'lower_is_anomalous', default_threshold: 16 },
  finding: { type: 'Unfamiliar Entity-IP Pair' },
  hyperparameters: hyperparameterDocs(hyperparametersSchema.shape, parseHyperparameters({}) as unknown as Record<string, unknown>),
  parseHyperparameters: (input) => parseHyperparameters(input) as unknown as Record<string, unknown>,
  async train(opts) {
    const res = trainHistory({
      train: opts.train as PairData,
      ...(opts.hyperparameters ? { hyperparameters: opts.hyperparameters } : {}),
      ...(opts.modelPath ? { modelPath: opts.modelPath } : {}),
      ...(opts.recordDefinition ? { recordDefinition: opts.recordDefinition } : {}),
      ...(opts.source ? { source: opts.source } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
    const model = new HistoryModel(opts.modelPath ?? '', res.header, res.arrays);
    return { model, summary: { ...res.header.training, hyperparameters: res.hyperparameters } };
  },
  load: (md) => HistoryModel.fromData(md),
  wire,
};
