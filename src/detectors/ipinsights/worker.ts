/**
 * Training worker thread: builds typed-array views over the SharedArrayBuffers it is given and runs
 * its share of each epoch when told to (kernel.ts, or wasm/kernel-wasm.ts when the WebAssembly kernel trains). Errors propagate to the parent as 'error'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Kernel, viewsOf, type KernelConfig, type SharedBufferSpec } from './kernel.js';
import { WasmKernel, type WasmKernelInit } from './wasm/kernel-wasm.js';

interface Init {
  cfg: KernelConfig;
  buffers: SharedBufferSpec;
  worker: number;
  /** Present when the WebAssembly kernel trains (the module, the shared memory, this worker's scratch region). */
  wasm?: WasmKernelInit;
}

const init = workerData as Init;
const kernel = init.wasm
  ? new WasmKernel(init.cfg, viewsOf(init.buffers), init.worker, init.wasm)
  : new Kernel(init.cfg, viewsOf(init.buffers), init.worker);
const port = parentPort!;
port.on('message', (msg: { type: 'epoch'; epoch: number; n: number } | { type: 'exit' }) => {
  if (msg.type === 'exit') {
    port.close();
    return;
  }
  kernel.runEpoch(msg.epoch, msg.n);
  port.postMessage({ type: 'done', epoch: msg.epoch });
});
