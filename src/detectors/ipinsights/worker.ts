/**
 * Training worker thread: builds typed-array views over the SharedArrayBuffers it is given and runs
 * its share of each epoch when told to (see kernel.ts). Errors propagate to the parent as 'error'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Kernel, viewsOf, type KernelConfig, type SharedBufferSpec } from './kernel.js';

interface Init {
  cfg: KernelConfig;
  buffers: SharedBufferSpec;
  worker: number;
}

const init = workerData as Init;
const kernel = new Kernel(init.cfg, viewsOf(init.buffers), init.worker);
const port = parentPort!;
port.on('message', (msg: { type: 'epoch'; epoch: number; n: number } | { type: 'exit' }) => {
  if (msg.type === 'exit') {
    port.close();
    return;
  }
  kernel.runEpoch(msg.epoch, msg.n);
  port.postMessage({ type: 'done', epoch: msg.epoch });
});
