import { Command, Option } from 'commander';
import { ConfigError, SeclakeError, errorMessage } from '../../core/errors.js';
import { log } from '../../core/log.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_INFLIGHT_BYTES, DEFAULT_OFFLOAD_MIN_BYTES } from '../../serve/limits.js';
import { isValidEndpointName, type ModelSpec } from '../../serve/registry.js';
import { DEFAULT_MAX_CONNECTIONS, handleSignals, isLoopbackHost } from '../../serve/server.js';
import { localLake } from '../lake.js';

interface ServeCliOptions {
  model: string[];
  port: string;
  host: string;
  authToken?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  maxBodyBytes: string;
  maxInflightBytes: string;
  maxConnections: string;
  allowedHost: string[];
  watch: boolean;
  reloadDebounceMs: string;
  workers: string;
  lake?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Serve models of any detector (IP Insights, history) over HTTP, compatible with SageMaker InvokeEndpoint (boto3, AWS CLI, AWS SDK)')
    .addOption(new Option('--model <name=path...>', 'a model to serve as endpoint NAME (repeatable; the first is the default for /invocations)').makeOptionMandatory())
    .option('--port <n>', 'port to listen on (0 = any free port)', '8080')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .addOption(new Option('--auth-token <token>', 'require "Authorization: Bearer <token>" on /invocations, /execution-parameters and /metrics').env('SECLAKE_SERVE_AUTH_TOKEN'))
    .addOption(new Option('--access-key-id <id>', 'require SigV4 signatures by this access key on /endpoints/{name}/invocations').env('SECLAKE_SERVE_ACCESS_KEY_ID'))
    .addOption(new Option('--secret-access-key <secret>', 'the secret for --access-key-id').env('SECLAKE_SERVE_SECRET_ACCESS_KEY'))
    .option('--max-body-bytes <n>', 'largest request body accepted', String(DEFAULT_MAX_BODY_BYTES))
    .option('--max-inflight-bytes <n>', 'budget for the request bodies of all requests in flight together; beyond it requests get 503 with Retry-After', String(DEFAULT_MAX_INFLIGHT_BYTES))
    .option('--max-connections <n>', 'most connections open at once; more are closed as soon as they are accepted', String(DEFAULT_MAX_CONNECTIONS))
    .option('--allowed-host <name>', 'when bound to loopback, also accept this Host header name (repeatable; the bound address, localhost, 127.0.0.1 and [::1] always pass; "*" = any Host)', collect, [] as string[])
    .option('--no-watch', 'do not watch model files for changes (SIGHUP still reloads)')
    .option('--reload-debounce-ms <n>', 'quiet time after a model file changes before it is reloaded', '250')
    .option('--workers <n>', `worker threads that score large batches (bodies of ${DEFAULT_OFFLOAD_MIN_BYTES / 1024} KiB or more); "auto" = one per core, 0 = score on the main thread`, 'auto')
    .option('--lake <dir>', 'also serve the web dashboard for this lake at /ui/ (lake, models, findings; see docs/dashboard.md)')
    .addHelpText(
      'after',
      `
Routes:
  POST /endpoints/{name}/invocations   SageMaker runtime API (what boto3, the AWS CLI and the SDKs call)
  POST /invocations, GET /ping         SageMaker container contract (default model)
  GET  /execution-parameters           batch-transform parameters
  GET  /metrics                        Prometheus metrics
  GET  /ui/                            web dashboard (with --lake; with --auth-token open /ui/?token=TOKEN once)

Requests: text/csv, application/json, application/jsonlines. Responses: application/json (default) or
application/jsonlines, in each model's own format (IP Insights: dot_product; add "; verbose=True" to
Accept for the embeddings).

Replacing a model file (e.g. rename a new file into place) or sending SIGHUP reloads without dropping
requests; a bad new file keeps the old model. SIGTERM/SIGINT finish in-flight requests and exit 0.
Limits: --max-connections open connections, --max-inflight-bytes of request bodies in flight (beyond: 503
with Retry-After); bound to loopback, only Host headers naming the bound address, localhost, 127.0.0.1,
[::1] or an --allowed-host name are answered (others: 403, against DNS rebinding).
Secrets can come from SECLAKE_SERVE_AUTH_TOKEN, SECLAKE_SERVE_ACCESS_KEY_ID and
SECLAKE_SERVE_SECRET_ACCESS_KEY instead of the command line. See docs/serve.md.

Examples:
  seclake serve --model logins=./logins.model
  seclake serve --model logins=./logins.model --lake ./seclake-data     # + dashboard on http://127.0.0.1:8080/ui/
  aws sagemaker-runtime invoke-endpoint --endpoint-url http://127.0.0.1:8080 --endpoint-name logins \\
      --content-type text/csv --body fileb://pairs.csv out.json`,
    )
    .action(async (o: ServeCliOptions) => {
      const models = parseModelSpecs(o.model);
      const port = parseIntOption('--port', o.port, 0, 65535);
      const maxBodyBytes = parseIntOption('--max-body-bytes', o.maxBodyBytes, 1, 1 << 30);
      const maxInflightBytes = parseIntOption('--max-inflight-bytes', o.maxInflightBytes, 1, 2 ** 40);
      const maxConnections = parseIntOption('--max-connections', o.maxConnections, 1, 1_000_000);
      if (maxInflightBytes < maxBodyBytes) log.warn(`--max-inflight-bytes ${maxInflightBytes} is below --max-body-bytes ${maxBodyBytes}: bodies larger than the budget always get 503`);
      const debounceMs = parseIntOption('--reload-debounce-ms', o.reloadDebounceMs, 0, 60_000);
      const workers = o.workers === 'auto' ? (await import('../../serve/score-pool.js')).defaultWorkerCount() : parseIntOption('--workers', o.workers, 0, 256);
      if ((o.accessKeyId === undefined) !== (o.secretAccessKey === undefined)) {
        throw new ConfigError('--access-key-id and --secret-access-key must be given together', ['access-key-id', 'secret-access-key']);
      }
      if (o.authToken !== undefined && o.authToken.trim() === '') throw new ConfigError('--auth-token must not be empty', ['auth-token']);
      const accessKeys = o.accessKeyId !== undefined ? new Map([[o.accessKeyId, o.secretAccessKey!]]) : undefined;
      // The dashboard's lake is checked before anything listens.
      const lakeDir = o.lake !== undefined ? localLake(o.lake, 'serve --lake', 'the dashboard reads a local lake directory') : undefined;
      const { startServer } = await import('../../serve/start.js');

      let running;
      try {
        running = await startServer({
          models,
          port,
          host: o.host,
          maxBodyBytes,
          maxInflightBytes,
          maxConnections,
          allowedHosts: o.allowedHost,
          watch: o.watch,
          debounceMs,
          workers,
          log,
          ...(o.authToken !== undefined ? { authToken: o.authToken } : {}),
          ...(accessKeys ? { accessKeys } : {}),
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new SeclakeError(`cannot listen on ${o.host}:${port}: the address is already in use`, { cause: err });
        if (code === 'EADDRNOTAVAIL' || code === 'EACCES') throw new SeclakeError(`cannot listen on ${o.host}:${port}: ${errorMessage(err)}`, { cause: err });
        throw err;
      }
      const names = models.map((m, i) => `${m.name}${i === 0 ? ' (default)' : ''}`).join(', ');
      log.info(`Serving ${names} on ${running.url} (max body ${maxBodyBytes} bytes, in-flight bodies ${maxInflightBytes} bytes, ${maxConnections} connections, ${workers} scoring worker${workers === 1 ? '' : 's'}${o.watch ? ', watching model files' : ''})`);
      if (accessKeys) log.info(`SigV4 required on /endpoints/{name}/invocations (access key ${o.accessKeyId})`);
      else log.info('/endpoints/{name}/invocations accepts any SigV4 signature (no --access-key-id)');
      if (o.authToken !== undefined) log.info('Bearer token required on /invocations, /execution-parameters and /metrics');
      if (running.app.allowedHosts !== undefined) {
        const hostNames = [...new Set([o.host, 'localhost', '127.0.0.1', '[::1]', ...o.allowedHost])];
        log.info(`Host header must name ${hostNames.join(', ')} (DNS rebinding protection; --allowed-host adds names)`);
      }
      if (!isLoopbackHost(o.host) && o.authToken === undefined && !accessKeys) {
        log.warn(`listening on ${o.host} without --auth-token or --access-key-id: anyone who can reach it can score and read /metrics`);
      }
      if (lakeDir !== undefined) {
        const { mountDashboard } = await import('../../dashboard/index.js');
        const dash = mountDashboard(running.app, { lakeDir, registry: running.app.registry, log, ...(o.allowedHost.length > 0 ? { allowedHosts: o.allowedHost.map((h) => h.replace(/:\d+$/, '')) } : {}), ...(o.authToken !== undefined ? { authToken: o.authToken } : {}) });
        log.info(`Dashboard for lake ${dash.lakeDir} on ${running.url}${dash.prefix}/${o.authToken !== undefined ? ' (open it once with ?token=<auth token>)' : ''}`);
      }
      const { closed } = handleSignals(running, log);
      const signal = await closed;
      log.info(`Stopped (${signal})`);
    });
}

/** `NAME=PATH` pairs; names must be valid SageMaker endpoint names and unique. */
export function parseModelSpecs(values: readonly string[]): ModelSpec[] {
  const specs: ModelSpec[] = [];
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw new ConfigError(`--model expects NAME=PATH, got '${v}'`, ['model']);
    const name = v.slice(0, eq);
    const file = v.slice(eq + 1);
    if (!isValidEndpointName(name)) {
      throw new ConfigError(`--model name '${name}' is not a valid endpoint name (letters, digits and single '-' between them, at most 63 characters)`, ['model']);
    }
    if (specs.some((s) => s.name === name)) throw new ConfigError(`--model name '${name}' is given twice`, ['model']);
    specs.push({ name, path: file });
  }
  return specs;
}

function parseIntOption(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${flag} must be an integer from ${min} to ${max}, got '${value}'`, [flag.slice(2)]);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
