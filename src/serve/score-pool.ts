/**
 * Scoring large request bodies on worker threads, so batches use every core while the main thread keeps
 * doing HTTP. Small requests (single pairs) are never sent here: the hop would cost more than scoring.
 *
 * The threads are the detectors' WorkerPool (src/detectors/worker-pool.ts), shared in design with the monitor: the
 * task is score-task.ts (scoreBody: parse, predict, format, as on the main thread), models are shared, not copied
 * (the registry loads them with sharedModel, so their containers live in SharedArrayBuffers and each worker builds
 * the model over the same memory). A worker receives a model before the first task that uses it and drops it once
 * a reload has replaced it and no task holds it, so a request scores with the snapshot it started with, in
 * whichever thread it runs.
 */
import { WorkerPool, defaultWorkerCount, taskModuleUrl } from '../detectors/worker-pool.js';
import type { AnyDetectorModel } from '../detectors/types.js';
import type { Offloader, ServeLogger } from './app.js';
import type { AcceptChoice, RequestFormat } from './formats.js';
import type { LoadedModel } from './registry.js';
import type { ScoredBody } from './score-body.js';
import type { ScoreTask } from './score-task.js';
import { DEFAULT_OFFLOAD_MIN_BYTES } from './limits.js';

export { defaultWorkerCount };

export { DEFAULT_OFFLOAD_MIN_BYTES };

const SCORE_TASK = taskModuleUrl(import.meta.url, 'score-task');

export class ScorePool implements Offloader<AnyDetectorModel> {
  readonly threads: number;
  private readonly minBytes: number;
  private readonly pool: WorkerPool;

  constructor(opts: { threads: number; minBodyBytes?: number; log?: ServeLogger }) {
    this.threads = Math.max(1, opts.threads);
    this.minBytes = opts.minBodyBytes ?? DEFAULT_OFFLOAD_MIN_BYTES;
    const log = opts.log;
    this.pool = new WorkerPool({
      threads: this.threads,
      respawn: true,
      ...(log ? { onWorkerLost: (err: Error, replaced: boolean) => log.warn(`Scoring worker lost (${err.message})${replaced ? '; replaced' : '; bodies are scored on the main thread if none is left'}`) } : {}),
    });
  }

  /** Resolves once the workers have started (or been dropped). */
  get ready(): Promise<void> {
    return this.pool.ready;
  }

  accepts(bodyBytes: number): boolean {
    return bodyBytes >= this.minBytes && this.pool.size > 0;
  }

  score(snap: LoadedModel<AnyDetectorModel>, fmt: RequestFormat, text: string, accept: AcceptChoice, source: string): Promise<ScoredBody> {
    // A worker that dies fails this request (500); the pool replaces the worker.
    return this.pool.run<ScoredBody>(snap.model, SCORE_TASK, { fmt, text, accept, source } satisfies ScoreTask);
  }

  /** A reload replaced this model: the workers drop it once no request uses it. */
  forget(model: AnyDetectorModel): void {
    this.pool.forget(model);
  }

  /** Terminates the workers; tasks still running are rejected. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
