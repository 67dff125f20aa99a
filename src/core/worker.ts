/**
 * Start a worker thread whose entry is a module next to the caller: `<name>.js` from compiled JS, `<name>.ts` from
 * TypeScript sources (tsx), where the worker registers tsx itself first, since loader hooks do not reach workers.
 *
 *   startModuleWorker(import.meta.url, 'score-worker', { workerData })
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startModuleWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const api = import.meta.resolve('tsx/esm/api');
  const target = new URL(`./${name}.ts`, callerUrl).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
