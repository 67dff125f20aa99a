/**
 * Where the processor scores pair batches: inline on the calling thread, or on one worker thread (the embedded
 * monitor's default) so the main thread stays free to read objects and write findings while batches are scored.
 * Both run scoreBatch, so they give the same results.
 *
 * The worker is the detectors' WorkerPool (src/detectors/worker-pool.ts, the one serve uses too) with one thread and
 * the task module score-worker.ts; the model's container is shared with it (SharedArrayBuffer), not copied. A worker
 * that dies fails its pending batches (the monitor retries the object) and scoring carries on inline; a worker that
 * does not start within 30 s is dropped the same way.
 */
import { log } from '../core/log.js';
import type { DetectorModel } from '../detectors/types.js';
import { WorkerPool, taskModuleUrl } from '../detectors/worker-pool.js';
import type { FindingPolicy } from '../findings/policy.js';
import type { ModelRef } from '../findings/types.js';
import { scoreBatch, type BatchResult } from './score-batch.js';
import type { MonitorScoreTask } from './score-worker.js';

const SCORE_TASK = taskModuleUrl(import.meta.url, 'score-worker');

export interface BatchScorer {
  readonly threaded: boolean;
  /** Resolves once the scorer can take batches (a worker has started and has the model); never rejects. */
  readonly ready: Promise<void>;
  score(text: string): Promise<BatchResult>;
  close(): Promise<void>;
}

/** Scores on the calling thread. `policy` is read per batch (the processor may swap its policy object). */
export function inlineScorer(model: DetectorModel, policy: () => FindingPolicy, modelRef: ModelRef): BatchScorer {
  return {
    threaded: false,
    ready: Promise.resolve(),
    score: async (text) => scoreBatch(text, model, policy(), modelRef),
    close: async () => {},
  };
}

/**
 * Scores on one worker thread over a shared copy of the model's container; falls back to inline once the worker is
 * gone. The policy's options go with every batch (the worker rebuilds the policy when they change), as inline reads
 * `policy()` per batch.
 */
export function workerScorer(model: DetectorModel, policy: () => FindingPolicy, modelRef: ModelRef): BatchScorer {
  const inline = inlineScorer(model, policy, modelRef);
  let closing = false;
  const pool = new WorkerPool({
    threads: 1,
    respawn: false,
    onWorkerLost: (err) => {
      if (!closing) log.warn(`monitor scoring worker stopped (${err.message}); scoring inline from now on`);
    },
  });
  const ready = pool.prepare(model, SCORE_TASK);
  return {
    ready,
    get threaded() {
      return pool.size > 0;
    },
    score(text) {
      if (pool.size === 0) return inline.score(text);
      return pool.run<BatchResult>(model, SCORE_TASK, { text, policy: { ...policy().options }, modelRef } satisfies MonitorScoreTask);
    },
    async close() {
      closing = true;
      await pool.close();
    },
  };
}
