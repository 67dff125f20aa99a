/**
 * Where the processor scores pair batches: inline on the calling thread, or on one worker thread (the embedded
 * monitor's default) so the main thread stays free to read objects and write findings while batches are scored.
 * Both run scoreBatch, so they give the same results. A worker that dies fails its pending batches (the monitor
 * retries the object) and scoring carries on inline.
 */
import type { Worker } from 'node:worker_threads';
import { errorMessage } from '../core/errors.js';
import { log } from '../core/log.js';
import { startModuleWorker } from '../core/worker.js';
import type { IpInsightsModel } from '../detectors/ipinsights/index.js';
import type { Weights } from '../detectors/ipinsights/model.js';
import { shareModel } from '../detectors/ipinsights/share.js';
import type { FindingPolicy, FindingPolicyOptions } from '../findings/policy.js';
import type { ModelRef } from '../findings/types.js';
import { scoreBatch, type BatchResult } from './score-batch.js';
import type { FromScoreWorker, ToScoreWorker } from './score-worker.js';

/** How long a scoring worker may take to start (load its code and the model) before scoring falls back to inline. */
const WORKER_START_MS = 30_000;

/** What a scoring worker needs: the model (shared weights) and what decides a candidate. */
export interface ScorerSetup {
  path: string;
  header: IpInsightsModel['header'];
  weights: Weights;
  policy: FindingPolicyOptions;
  modelRef: ModelRef;
}

export interface BatchScorer {
  readonly threaded: boolean;
  /** Resolves once the scorer can take batches (a worker has started and has the model); never rejects. */
  readonly ready: Promise<void>;
  score(text: string): Promise<BatchResult>;
  close(): Promise<void>;
}

/** Scores on the calling thread. `policy` is read per batch (the processor may swap its policy object). */
export function inlineScorer(model: IpInsightsModel, policy: () => FindingPolicy, modelRef: ModelRef): BatchScorer {
  return {
    threaded: false,
    ready: Promise.resolve(),
    score: async (text) => scoreBatch(text, model, policy(), modelRef),
    close: async () => {},
  };
}

/** Scores on one worker thread over a shared copy of the model's weights; falls back to inline if the worker dies. */
export function workerScorer(model: IpInsightsModel, policy: () => FindingPolicy, modelRef: ModelRef): BatchScorer {
  const shared = shareModel(model);
  const inline = inlineScorer(model, policy, modelRef);
  const pending = new Map<number, { resolve: (r: BatchResult) => void; reject: (e: Error) => void }>();
  let nextTask = 1;
  let worker: Worker | undefined = startModuleWorker(import.meta.url, 'score-worker');
  let closing = false;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((r) => (markReady = r));
  const fail = (err: Error): void => {
    markReady();
    if (!worker) return;
    worker = undefined;
    if (!closing) log.warn(`monitor scoring worker stopped (${err.message}); scoring inline from now on`);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.unref();
  // A worker that never comes up must not hold the monitor: give up on it and score inline.
  const startTimer = setTimeout(() => {
    const w = worker;
    fail(new Error(`it did not start within ${WORKER_START_MS / 1000} s`));
    void w?.terminate();
  }, WORKER_START_MS);
  startTimer.unref();
  worker.on('message', (msg: FromScoreWorker) => {
    if (msg.t === 'ready') {
      clearTimeout(startTimer);
      markReady();
      return;
    }
    const p = pending.get(msg.task);
    if (!p) return;
    pending.delete(msg.task);
    if (msg.t === 'done') p.resolve(msg.result);
    else p.reject(new Error(`scoring worker: ${msg.message}`));
  });
  worker.on('error', (err) => fail(err instanceof Error ? err : new Error(errorMessage(err))));
  worker.on('exit', (code) => fail(new Error(`the scoring worker exited (code ${code})`)));
  const setup: ScorerSetup = { path: shared.path, header: shared.header, weights: shared.weights, policy: { ...policy().options }, modelRef };
  worker.postMessage({ t: 'setup', setup } satisfies ToScoreWorker);
  return {
    ready,
    get threaded() {
      return worker !== undefined;
    },
    score(text) {
      const w = worker;
      if (!w) return inline.score(text);
      const task = nextTask++;
      return new Promise((resolve, reject) => {
        pending.set(task, { resolve, reject });
        w.postMessage({ t: 'batch', task, text } satisfies ToScoreWorker);
      });
    },
    async close() {
      closing = true;
      clearTimeout(startTimer);
      markReady();
      const w = worker;
      if (w) await w.terminate();
    },
  };
}
