/** Shared helpers for the serve tests: temp dirs, a fake-model server, and a raw HTTP client. */
import { request, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServeApp, type ServeAppOptions } from '../../src/serve/app.js';
import { ModelRegistry, type ModelRegistryOptions, type ServableModel } from '../../src/serve/registry.js';
import { listen, type ListenOptions, type RunningServer } from '../../src/serve/server.js';
import { FakeModel } from './fake-model.js';

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `seclake-serve-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface FakeServerOptions {
  models?: { name: string; bias: number }[];
  app?: Partial<Omit<ServeAppOptions<FakeModel>, 'registry'>>;
  registry?: Partial<ModelRegistryOptions<FakeModel>>;
  /** Extra listen() options (connection cap, allowed Host names). */
  listen?: Omit<ListenOptions, 'port' | 'host'>;
}

export interface FakeServer {
  running: RunningServer<FakeModel>;
  dir: string;
  url: string;
  modelPath(name: string): string;
  close(): Promise<void>;
}

/** A server on 127.0.0.1:0 serving fake models written to a temp dir. */
export async function startFakeServer(opts: FakeServerOptions = {}): Promise<FakeServer> {
  const { dir, cleanup } = tempDir('fake');
  const models = opts.models ?? [{ name: 'default-ep', bias: 0 }];
  const specs = models.map((m) => {
    const file = path.join(dir, `${m.name}.model`);
    writeFileSync(file, `fake-model ${m.bias}\n`);
    return { name: m.name, path: file };
  });
  const registry = await ModelRegistry.create(specs, { loader: FakeModel.load, watch: false, ...opts.registry });
  const app = createServeApp({ registry, ...opts.app });
  const running = await listen(app, { ...opts.listen, port: 0, host: '127.0.0.1' });
  return {
    running,
    dir,
    url: running.url,
    modelPath: (name) => path.join(dir, `${name}.model`),
    async close() {
      await running.close({ timeoutMs: 2000 });
      cleanup();
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header names exactly as sent. */
  rawHeaderNames: string[];
  body: string;
}

/** One HTTP request with exactly the given headers (no defaults added besides Host and Content-Length). */
export function send(url: string, method: string, pathName: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(pathName, url);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, agent: false, timeout: 20_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaderNames: res.rawHeaders.filter((_, i) => i % 2 === 0),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${pathName} timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

export function writeFakeModel(file: string, bias: number, delayMs = 0): void {
  writeFileSync(file, `fake-model ${bias}${delayMs ? ` delay=${delayMs}` : ''}\n`);
}

export type { ServableModel };
