/** Small deterministic data sets and tiny models for the detector's tests (not shipped API). */
import { Rng } from '../../core/rng.js';
import { PairCollector, type PairData } from '../pairs/data.js';
import { trainIpInsights, type TrainOptions, type TrainResult } from './train.js';
import type { HyperparameterInput } from './config.js';

export const TINY_HP: HyperparameterInput = {
  num_entity_vectors: 256,
  vector_dim: 16,
  epochs: 12,
  mini_batch_size: 64,
  learning_rate: 0.02,
  random_negative_sampling_rate: 3,
  shuffled_negative_sampling_rate: 1,
  num_ip_vectors: 8192,
  threads: 1,
  seed: 42,
};

/** `users` entities, each with a home /24 in 10.<u>.<u>.0/24 and `perUser` logins from ~20 hosts in it. */
export function subnetData(users = 40, perUser = 60, seed = 1): PairData {
  const rng = new Rng(seed);
  const c = new PairCollector();
  let line = 0;
  for (let r = 0; r < perUser; r++) {
    for (let u = 0; u < users; u++) {
      c.add(`user_${u}`, `10.${u}.${u}.${1 + rng.int(20)}`, 'mem', ++line);
    }
  }
  return c.finish();
}

export async function trainTiny(data: PairData, hp: HyperparameterInput = {}, extra: { modelPath?: string; validation?: PairData; log?: (l: string) => void; inProcess?: boolean; kernel?: TrainOptions['kernel'] } = {}): Promise<TrainResult> {
  return trainIpInsights({
    train: data,
    hyperparameters: { ...TINY_HP, ...hp },
    inProcess: extra.inProcess ?? true,
    log: extra.log ?? (() => {}),
    ...(extra.modelPath ? { modelPath: extra.modelPath } : {}),
    ...(extra.validation ? { validation: extra.validation } : {}),
    ...(extra.kernel ? { kernel: extra.kernel } : {}),
  });
}
