/**
 * The monitor's task of the detectors' worker pool (see scorer.ts): a worker parses and scores a pair batch with
 * scoreBatch over the shared model, so the main thread only reads objects and writes findings. The finding policy is
 * rebuilt in the worker from its options (and again only when they change).
 */
import { pairsModel } from '../detectors/index.js';
import type { AnyDetectorModel } from '../detectors/types.js';
import { FindingPolicy, type FindingPolicyOptions } from '../findings/policy.js';
import type { ModelRef } from '../findings/types.js';
import { scoreBatch, type BatchResult } from './score-batch.js';

export interface MonitorScoreTask {
  /** The batch as the processor reads it (see scoreBatch). */
  text: string;
  policy: FindingPolicyOptions;
  modelRef: ModelRef;
}

let cached: { key: string; policy: FindingPolicy } | undefined;

export function run(model: AnyDetectorModel, task: MonitorScoreTask): BatchResult {
  const key = JSON.stringify(task.policy);
  if (cached?.key !== key) cached = { key, policy: new FindingPolicy(task.policy) };
  return scoreBatch(task.text, pairsModel(model, 'the monitor\'s pair scoring'), cached.policy, task.modelRef);
}
