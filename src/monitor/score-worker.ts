/**
 * The monitor's scoring worker: parses and scores pair batches (score-batch.ts) with a model whose weights are
 * shared with the main thread, so the main thread only reads objects and writes findings. See BatchScorer.
 */
import { parentPort } from 'node:worker_threads';
import { errorMessage } from '../core/errors.js';
import { IpInsightsModel } from '../detectors/ipinsights/index.js';
import { FindingPolicy } from '../findings/policy.js';
import { scoreBatch, type BatchResult } from './score-batch.js';
import type { ScorerSetup } from './scorer.js';

export type ToScoreWorker = { t: 'setup'; setup: ScorerSetup } | { t: 'batch'; task: number; text: string };
export type FromScoreWorker = { t: 'ready' } | { t: 'done'; task: number; result: BatchResult } | { t: 'fail'; task: number; message: string };

const port = parentPort;
if (!port) throw new Error('score-worker must run in a worker thread');
let state: { model: IpInsightsModel; policy: FindingPolicy; setup: ScorerSetup } | undefined;

port.on('message', (msg: ToScoreWorker) => {
  if (msg.t === 'setup') {
    const s = msg.setup;
    state = { model: new IpInsightsModel(s.path, s.header, s.weights), policy: new FindingPolicy(s.policy), setup: s };
    port.postMessage({ t: 'ready' } satisfies FromScoreWorker);
    return;
  }
  let reply: FromScoreWorker;
  try {
    if (!state) throw new Error('the scoring worker has no model');
    reply = { t: 'done', task: msg.task, result: scoreBatch(msg.text, state.model, state.policy, state.setup.modelRef) };
  } catch (err) {
    reply = { t: 'fail', task: msg.task, message: errorMessage(err) };
  }
  port.postMessage(reply);
});
