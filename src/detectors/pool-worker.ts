/**
 * A thread of the WorkerPool (worker-pool.ts): rebuilds the models it is sent over their shared containers
 * (`modelFromData`), imports each task module once, and runs tasks with `run(model, payload)`.
 */
import { parentPort } from 'node:worker_threads';
import { errorMessage } from '../core/errors.js';
import { ModelData, modelFromData } from './index.js';
import type { AnyDetectorModel } from './types.js';
import { toWireError, type FromPoolWorker, type TaskModule, type ToPoolWorker } from './worker-pool.js';

const port = parentPort;
if (!port) throw new Error('pool-worker must run in a worker thread');

/** Models by id; an Error when the model could not be built from its container (its tasks fail with it). */
const models = new Map<number, AnyDetectorModel | Error>();
/** Task modules by URL: the module once loaded, the import while it loads. */
const tasks = new Map<string, TaskModule | Promise<TaskModule>>();

function taskModule(url: string): TaskModule | Promise<TaskModule> {
  let m = tasks.get(url);
  if (!m) {
    const loading = import(url).then((mod: Partial<TaskModule>) => {
      if (typeof mod.run !== 'function') throw new Error(`task module ${url} exports no run(model, payload)`);
      tasks.set(url, mod as TaskModule);
      return mod as TaskModule;
    });
    // A module that fails to load is tried again by the next task.
    loading.catch(() => tasks.delete(url));
    tasks.set(url, loading);
    m = loading;
  }
  return m;
}

function fail(task: number, err: unknown): void {
  port!.postMessage({ t: 'fail', task, error: toWireError(err) } satisfies FromPoolWorker);
}

function runTask(mod: TaskModule, msg: Extract<ToPoolWorker, { t: 'task' | 'prepare' }>): void {
  try {
    const model = models.get(msg.model);
    if (model === undefined) throw new Error(`model ${msg.model} was not sent to this worker`);
    if (model instanceof Error) throw model;
    if (msg.t === 'prepare') {
      port!.postMessage({ t: 'done', task: msg.task, result: undefined } satisfies FromPoolWorker);
      return;
    }
    const out = mod.run(model, msg.payload);
    if (out instanceof Promise) {
      out.then((result: unknown) => port!.postMessage({ t: 'done', task: msg.task, result } satisfies FromPoolWorker), (err: unknown) => fail(msg.task, err));
      return;
    }
    port!.postMessage({ t: 'done', task: msg.task, result: out } satisfies FromPoolWorker);
  } catch (err) {
    fail(msg.task, err);
  }
}

port.on('message', (msg: ToPoolWorker) => {
  switch (msg.t) {
    case 'model':
      try {
        models.set(msg.id, modelFromData(new ModelData(msg.file, msg.header, msg.data)));
      } catch (err) {
        models.set(msg.id, err instanceof Error ? err : new Error(errorMessage(err)));
      }
      return;
    case 'drop':
      models.delete(msg.id);
      return;
    case 'task':
    case 'prepare': {
      const m = taskModule(msg.url);
      if (m instanceof Promise) m.then((mod) => runTask(mod, msg), (err: unknown) => fail(msg.task, err));
      else runTask(m, msg);
      return;
    }
  }
});

port.postMessage({ t: 'ready' } satisfies FromPoolWorker);
