/**
 * npm run bench:serve — the inference server vs a bare node:http server, same machine, same run.
 *
 * Each server runs in its own child process; both are started, and only one is under load at a time.
 * The load generator runs in this process. Rounds alternate between the servers (the order flips every
 * round) so that changes in machine load hit both alike; medians over the rounds are reported.
 * Workloads, on 127.0.0.1 with keep-alive connections:
 *   - single-pair CSV requests (1 pair each) at a fixed concurrency: req/s, p50/p99 latency;
 *   - 1,000-pair CSV batches: pairs/s.
 * The reference is a bare node:http server that reads the body and returns a constant JSON body.
 * seclake serve runs as `seclake serve` does (worker threads for large bodies, --workers auto).
 *
 * Two load generators are available: `raw` (default; pre-serialised requests written to keep-alive
 * sockets and a minimal response parser: cheap, so the server is the bottleneck) and `agent` (node:http
 * request with a keep-alive Agent: heavier, so on 2 cores it may be the bottleneck). The client's own
 * CPU use is printed so a saturated client is visible.
 *
 * Options (after `--`): --duration <s> (3) --warmup <s> (0.5) --rounds <n> (5) --connections <n> (16)
 *   --batch-connections <n> (4) --client raw|agent (raw) --workers <n|auto> (auto, as `seclake serve`)
 *   --model <file> (default: train one with the default hyperparameters into .bench-tmp/serve)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/rng.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const BARE_BODY = '{"predictions": [{"dot_product": 1.0}]}';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}

// ---------------------------------------------------------------------------------------------------
// Child role: one server, prints "READY <port>" and serves until SIGTERM.

async function runServerRole(kind: string, model: string): Promise<void> {
  let port: number;
  if (kind === 'bare') {
    const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
      // Read (and drop) the body like any real handler must, then answer a constant.
      req.on('data', () => {});
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(BARE_BODY) });
        res.end(BARE_BODY);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    process.once('SIGTERM', () => server.close(() => process.exit(0)));
  } else {
    const { startServer } = await import('../src/serve/start.js');
    const { defaultWorkerCount } = await import('../src/serve/score-pool.js');
    const w = arg('workers', 'auto');
    const workers = w === 'auto' ? defaultWorkerCount() : Number(w);
    const running = await startServer({ models: [{ name: 'bench', path: model }], port: 0, host: '127.0.0.1', watch: false, workers });
    port = running.port;
    process.once('SIGTERM', () => void running.close().then(() => process.exit(0)));
  }
  process.stdout.write(`READY ${port}\n`);
}

function startChild(kind: string, model: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--role', 'server', '--kind', kind, '--model', model, '--workers', arg('workers', 'auto')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start within 60 s`)), 60_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited early with ${code}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

// ---------------------------------------------------------------------------------------------------
// Load generators.

interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
  clientCpuPct: number;
}

interface LoadSpec {
  port: number;
  path: string;
  contentType: string;
  bodies: Buffer[];
  connections: number;
  warmupMs: number;
  durationMs: number;
}

/** Keep-alive raw sockets, one request in flight per socket, minimal Content-Length response parsing. */
async function loadRaw(spec: LoadSpec): Promise<LoadResult> {
  const reqs = spec.bodies.map((b) =>
    Buffer.concat([
      Buffer.from(`POST ${spec.path} HTTP/1.1\r\nHost: 127.0.0.1:${spec.port}\r\nContent-Type: ${spec.contentType}\r\nContent-Length: ${b.length}\r\n\r\n`),
      b,
    ]),
  );
  const lat: number[] = [];
  let requests = 0;
  let errors = 0;
  let measuring = false;
  const start = performance.now();
  const measureFrom = start + spec.warmupMs;
  const end = measureFrom + spec.durationMs;
  let cpu0 = process.cpuUsage();

  const worker = (w: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const sock: Socket = connect(spec.port, '127.0.0.1');
      sock.setNoDelay(true);
      let buf: Buffer = Buffer.alloc(0);
      let t0 = 0;
      let i = w;
      const next = (): void => {
        const now = performance.now();
        if (now >= end) {
          sock.end();
          resolve();
          return;
        }
        if (!measuring && now >= measureFrom) {
          measuring = true;
          cpu0 = process.cpuUsage();
        }
        t0 = now;
        sock.write(reqs[i++ % reqs.length]!);
      };
      sock.on('connect', next);
      sock.on('data', (d: Buffer) => {
        buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
        const he = buf.indexOf('\r\n\r\n');
        if (he < 0) return;
        const head = buf.subarray(0, he).toString('latin1');
        const m = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (!m) {
          reject(new Error(`response without Content-Length: ${head.slice(0, 200)}`));
          return;
        }
        const total = he + 4 + Number(m[1]);
        if (buf.length < total) return;
        const ok = head.startsWith('HTTP/1.1 200');
        buf = buf.subarray(total);
        const t1 = performance.now();
        if (t0 >= measureFrom && t1 <= end) {
          requests++;
          if (!ok) errors++;
          lat.push(t1 - t0);
        }
        next();
      });
      sock.on('error', reject);
    });

  await Promise.all(Array.from({ length: spec.connections }, (_, w) => worker(w)));
  const cpu = process.cpuUsage(cpu0);
  return { requests, errors, seconds: spec.durationMs / 1000, latenciesMs: lat, clientCpuPct: ((cpu.user + cpu.system) / 1000 / spec.durationMs) * 100 };
}

/** node:http request() through a keep-alive Agent with `connections` sockets. */
async function loadAgent(spec: LoadSpec): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const lat: number[] = [];
  let requests = 0;
  let errors = 0;
  let measuring = false;
  const start = performance.now();
  const measureFrom = start + spec.warmupMs;
  const end = measureFrom + spec.durationMs;
  let cpu0 = process.cpuUsage();
  const one = (body: Buffer): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: spec.port, path: spec.path, method: 'POST', agent, headers: { 'Content-Type': spec.contentType, 'Content-Length': body.length } },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve(res.statusCode === 200));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const worker = async (w: number): Promise<void> => {
    let i = w;
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      if (!measuring && t0 >= measureFrom) {
        measuring = true;
        cpu0 = process.cpuUsage();
      }
      const ok = await one(spec.bodies[i++ % spec.bodies.length]!);
      const t1 = performance.now();
      if (t0 >= measureFrom && t1 <= end) {
        requests++;
        if (!ok) errors++;
        lat.push(t1 - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, (_, w) => worker(w)));
  agent.destroy();
  const cpu = process.cpuUsage(cpu0);
  return { requests, errors, seconds: spec.durationMs / 1000, latenciesMs: lat, clientCpuPct: ((cpu.user + cpu.system) / 1000 / spec.durationMs) * 100 };
}

/** CPU seconds (user + system, all threads) a process has used so far; undefined off Linux. */
function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of /proc/<pid>/stat (11 and 12 after the command name), in clock ticks (100/s).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// ---------------------------------------------------------------------------------------------------
// Workloads and model.

function makeBodies(rng: Rng, count: number, pairsPerBody: number, entities: string[]): Buffer[] {
  const out: Buffer[] = [];
  for (let b = 0; b < count; b++) {
    let s = '';
    for (let i = 0; i < pairsPerBody; i++) {
      const ip = `10.${rng.int(4)}.${rng.int(256)}.${rng.int(256)}`;
      s += `${rng.pick(entities)},${ip}\n`;
    }
    out.push(Buffer.from(s));
  }
  return out;
}

/** Trains (once, cached in .bench-tmp/serve) a model with the default hyperparameters (vector_dim 128). */
async function ensureModel(dir: string, entities: string[], rng: Rng): Promise<string> {
  const given = arg('model', '');
  if (given) return path.resolve(given);
  const file = path.join(dir, 'bench.model');
  if (existsSync(file)) return file;
  const trainCsv = path.join(dir, 'train.csv');
  const lines: string[] = [];
  for (let i = 0; i < 200_000; i++) {
    const e = rng.int(entities.length);
    lines.push(`${entities[e]},10.${e % 4}.${rng.int(256)}.${rng.int(256)}`);
  }
  writeFileSync(trainCsv, lines.join('\n') + '\n');
  process.stderr.write(`training a bench model (default hyperparameters, 2 epochs) -> ${path.relative(ROOT, file)}\n`);
  const { loadPairsCsv } = await import('../src/detectors/pairs/data.js');
  const { trainIpInsights } = await import('../src/detectors/ipinsights/train.js');
  await trainIpInsights({ train: await loadPairsCsv([trainCsv]), hyperparameters: { num_entity_vectors: 4000, epochs: 2 }, modelPath: file, log: () => {} });
  return file;
}

// ---------------------------------------------------------------------------------------------------

/** What the model work alone costs (parse, score, format), measured in this process without HTTP. */
async function measureModelCost(model: string, single: Buffer[], batches: Buffer[]): Promise<{ singleUs: number; batchPairsPerSec: number }> {
  const { loadModel } = await import('../src/detectors/index.js');
  const { scoreBody } = await import('../src/serve/score-body.js');
  const m = await loadModel(model);
  const accept = { type: 'application/json', verbose: false } as const;
  const run = (bodies: Buffer[], ms: number): { calls: number; pairs: number; seconds: number } => {
    let calls = 0;
    let pairs = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < ms) {
      for (let i = 0; i < 50; i++) {
        // What the server runs per body, on the main thread or a worker: parse, predict, format.
        pairs += scoreBody(m, 'text/csv', bodies[(calls + i) % bodies.length]!.toString('utf8'), accept, 'bench').pairs;
      }
      calls += 50;
      t = performance.now();
    }
    return { calls, pairs, seconds: (t - t0) / 1000 };
  };
  run(single, 300);
  const s = run(single, 1000);
  run(batches, 300);
  const b = run(batches, 1000);
  return { singleUs: (s.seconds / s.calls) * 1e6, batchPairsPerSec: b.pairs / b.seconds };
}

interface Run {
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  clientCpu: number;
  /** CPU used by the server process (all its threads) per second of wall time, in %; NaN when unknown. */
  serverCpu: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const durationMs = Number(arg('duration', '3')) * 1000;
  const warmupMs = Number(arg('warmup', '0.5')) * 1000;
  const rounds = Number(arg('rounds', '5'));
  const connections = Number(arg('connections', '16'));
  const batchConnections = Number(arg('batch-connections', '4'));
  const client = arg('client', 'raw');
  if (client !== 'raw' && client !== 'agent') throw new Error(`--client must be raw or agent, got ${client}`);
  const load = client === 'agent' ? loadAgent : loadRaw;
  const dir = path.join(ROOT, '.bench-tmp', 'serve');
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(7);
  const entities = Array.from({ length: 2000 }, (_, i) => `user_${i}`);
  const model = await ensureModel(dir, entities, rng);
  const single = makeBodies(rng, 2000, 1, entities);
  const batches = makeBodies(rng, 32, 1000, entities);

  const modelCost = await measureModelCost(model, single, batches);
  const how =
    `load generator: ${client === 'raw' ? 'raw keep-alive sockets' : 'node:http Agent keep-alive'} in the parent process; ` +
    `bare and seclake servers each in their own child process (both started, only one loaded at a time; seclake with --workers ${arg('workers', 'auto')}); ` +
    `${rounds} interleaved rounds of ${durationMs / 1000} s (+${warmupMs / 1000} s warm-up) per server and workload; ` +
    `${connections} connections for single pairs, ${batchConnections} for batches; medians reported`;
  process.stderr.write(how + '\n');
  const servers = {
    bare: await startChild('bare', model),
    seclake: await startChild('seclake', model),
  };
  const workloads = [
    { name: 'single pair', bodies: single, conns: connections, pairs: 1 },
    { name: '1,000-pair batch', bodies: batches, conns: batchConnections, pairs: 1000 },
  ] as const;
  const runs = new Map<string, Run[]>();
  try {
    for (const w of workloads) {
      for (let r = 0; r < rounds; r++) {
        // Alternate which server goes first so slow drifts in machine load hit both alike.
        const order = r % 2 === 0 ? (['bare', 'seclake'] as const) : (['seclake', 'bare'] as const);
        for (const kind of order) {
          const pathName = kind === 'bare' ? '/invocations' : '/endpoints/bench/invocations';
          const cpu0 = processCpuSeconds(servers[kind].child.pid);
          const wall0 = performance.now();
          const res = await load({ port: servers[kind].port, path: pathName, contentType: 'text/csv', bodies: [...w.bodies], connections: w.conns, warmupMs, durationMs });
          const cpu1 = processCpuSeconds(servers[kind].child.pid);
          const serverCpu = cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) / ((performance.now() - wall0) / 1000)) * 100 : NaN;
          const sorted = res.latenciesMs.sort((a, b) => a - b);
          const run: Run = { reqPerSec: res.requests / res.seconds, p50: pct(sorted, 50), p99: pct(sorted, 99), errors: res.errors, clientCpu: res.clientCpuPct, serverCpu };
          const key = `${kind}|${w.name}`;
          runs.set(key, [...(runs.get(key) ?? []), run]);
          process.stderr.write(`  round ${r + 1} ${kind.padEnd(7)} ${w.name.padEnd(16)} ${run.reqPerSec.toFixed(0).padStart(6)} req/s  p99 ${run.p99.toFixed(2)} ms  server CPU ${run.serverCpu.toFixed(0)}%\n`);
        }
      }
    }
  } finally {
    await Promise.all([stopChild(servers.bare.child), stopChild(servers.seclake.child)]);
  }

  const table = [['workload', 'server', 'req/s', 'pairs/s', 'p50 ms', 'p99 ms', 'non-200', 'server CPU %', 'server CPU us/req', 'client CPU %', 'req/s per round']];
  const med = new Map<string, Run>();
  for (const w of workloads) {
    for (const kind of ['bare', 'seclake'] as const) {
      const rs = runs.get(`${kind}|${w.name}`)!;
      const m: Run = {
        reqPerSec: median(rs.map((x) => x.reqPerSec)),
        p50: median(rs.map((x) => x.p50)),
        p99: median(rs.map((x) => x.p99)),
        errors: rs.reduce((a, x) => a + x.errors, 0),
        clientCpu: median(rs.map((x) => x.clientCpu)),
        serverCpu: median(rs.map((x) => x.serverCpu)),
      };
      med.set(`${kind}|${w.name}`, m);
      table.push([
        w.name,
        kind === 'bare' ? 'bare node:http, constant body (reference)' : 'seclake serve, IpInsightsModel',
        m.reqPerSec.toFixed(0),
        (m.reqPerSec * w.pairs).toFixed(0),
        m.p50.toFixed(2),
        m.p99.toFixed(2),
        String(m.errors),
        Number.isNaN(m.serverCpu) ? 'n/a' : m.serverCpu.toFixed(0),
        Number.isNaN(m.serverCpu) ? 'n/a' : ((m.serverCpu * 1e4) / m.reqPerSec).toFixed(1),
        m.clientCpu.toFixed(0),
        rs.map((x) => (x.reqPerSec / 1000).toFixed(1) + 'k').join(' '),
      ]);
    }
  }
  const wd = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  console.log(how);
  for (const r of table) console.log(r.map((c, i) => (i < 2 || i === 10 ? c.padEnd(wd[i]!) : c.padStart(wd[i]!))).join('  '));
  const bs = med.get('bare|single pair')!;
  const ss = med.get('seclake|single pair')!;
  const bb = med.get('bare|1,000-pair batch')!;
  const sb = med.get('seclake|1,000-pair batch')!;
  const perRound = runs.get('seclake|single pair')!.map((x, i) => x.reqPerSec / runs.get('bare|single pair')![i]!.reqPerSec);
  console.log('');
  console.log(`single pair: seclake/bare = ${(ss.reqPerSec / bs.reqPerSec).toFixed(2)}x (target >= 0.6x; per round ${perRound.map((x) => x.toFixed(2)).join(' ')}), ` +
    `p99 ${ss.p99.toFixed(2)} ms (target < 10 ms)`);
  const cpuPerReq = (r: Run): number => (r.serverCpu * 1e4) / r.reqPerSec;
  if (!Number.isNaN(ss.serverCpu) && !Number.isNaN(bs.serverCpu)) {
    console.log(`single pair, server CPU per request: seclake ${cpuPerReq(ss).toFixed(1)} us vs bare ${cpuPerReq(bs).toFixed(1)} us ` +
      `(bare/seclake = ${(cpuPerReq(bs) / cpuPerReq(ss)).toFixed(2)}x: the throughput ratio to expect when the server, not the machine, is the limit)`);
  }
  console.log(`in-process model cost (parse + predict + format, no HTTP, this process): ${modelCost.singleUs.toFixed(1)} us per single-pair request, ` +
    `${(modelCost.batchPairsPerSec / 1e6).toFixed(2)}M pairs/s on 1,000-pair batches`);
  console.log(`1,000-pair batches: ${(sb.reqPerSec * 1000 / 1e6).toFixed(2)}M pairs/s (target >= 1M); ` +
    `the bare server answered ${(bb.reqPerSec * 1000 / 1e6).toFixed(1)}M pairs/s worth of the same bodies (${(sb.reqPerSec / bb.reqPerSec).toFixed(2)}x)`);
}

if (arg('role', 'main') === 'server') await runServerRole(arg('kind', 'bare'), arg('model', ''));
else await main();
