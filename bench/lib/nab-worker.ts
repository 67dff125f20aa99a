/**
 * A worker thread of `npm run bench:nab`: scores one series with one detector variant per message
 * ({ id, values, variant } -> { id, scores, ms } or { id, error }).
 */
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { scoreSeries, variant } from '../nab-detector.js';

export interface NabTask {
  id: number;
  values: Float64Array;
  variant: string;
}
export type NabReply = { id: number; scores: Float64Array; ms: number } | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error('nab-worker must run in a worker thread');
port.on('message', (task: NabTask) => {
  try {
    const t0 = performance.now();
    const scores = scoreSeries(task.values, variant(task.variant));
    port.postMessage({ id: task.id, scores, ms: performance.now() - t0 } satisfies NabReply, [scores.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ id: task.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies NabReply);
  }
});
