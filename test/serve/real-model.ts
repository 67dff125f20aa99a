/** Test servers backed by the real model (temporarily the fake until the detector lands). */
import type { ServeAppOptions } from '../../src/serve/app.js';
import { startFakeServer, type FakeServer } from './helpers.js';
import type { FakeModel } from './fake-model.js';

export type TestServer = FakeServer;

export async function startServer(opts: { name: string; app?: Partial<Omit<ServeAppOptions<FakeModel>, 'registry' | 'codec'>> }): Promise<TestServer> {
  return startFakeServer({ models: [{ name: opts.name, bias: 0 }], ...(opts.app ? { app: opts.app } : {}) });
}
