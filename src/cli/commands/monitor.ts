import { Command, Option } from 'commander';
import path from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { log as statusLog } from '../../core/log.js';
import { resolveLakeDir } from '../../lake/layout.js';
import { registeredModels } from '../../lake/models.js';
import { SINK_SPEC_HELP } from '../../sinks/spec.js';
import type { MonitorEvent, MonitorModelSpec, MonitorOptions } from '../../monitor/embedded.js';
import type { MonitorMetrics } from '../../monitor/metrics.js';
import { DEFAULT_PAIR_DEFINITION, PAIR_DEFINITIONS } from '../../detectors/pairs/definitions.js';
import { addAwsMonitorOptions, type AwsCliOptions } from '../../monitor/aws/cli.js';
import { checkLakeDir, checkS3Lake, isS3Lake } from '../lake.js';

interface MonitorCliOptions extends AwsCliOptions {
  lake?: string;
  stateDir?: string;
  model: string[];
  pairs: string[];
  pairsSql?: string;
  pairsSources?: string;
  name: string;
  once?: boolean;
  fromStart?: boolean;
  afterSeq?: string;
  watch?: string;
  sink: string[];
  sinkDetections?: boolean;
  sinkIncidents: boolean;
  incidents: boolean;
  incidentGap: string;
  incidentRejoin: string;
  incidentOpenP: string;
  incidentGroup: string;
  newEntity: 'once' | 'always' | 'never';
  dedupWindow: string;
  threshold?: string;
  pollMs: string;
  checkpointMs: string;
  json?: boolean;
  quiet?: boolean;
  metricsPort?: string;
  metricsHost: string;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function nonNegative(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${flag} must be a number of milliseconds >= 0, got ${JSON.stringify(v)}`, [flag.replace(/^--/, '')]);
  return n;
}

function parseDuration(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(v.trim());
  if (!m) throw new ConfigError(`${flag} ${JSON.stringify(v)}: expected a duration like 30m, 1h, 1d`, [flag]);
  const unit = (m[2] ?? 's').toLowerCase();
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as Record<string, number>)[unit]!;
}

/** What reading model headers takes (loaded when the command runs). */
interface HeaderTools {
  readModelHeader: typeof import('../../detectors/model-file.js').readModelHeader;
  findDetector: typeof import('../../detectors/index.js').findDetector;
  definitionForModel: typeof import('../../detectors/pairs/definitions.js').definitionForModel;
}

async function headerTools(): Promise<HeaderTools> {
  const [{ readModelHeader }, { findDetector }, { definitionForModel }] = await Promise.all([
    import('../../detectors/model-file.js'),
    import('../../detectors/index.js'),
    import('../../detectors/pairs/definitions.js'),
  ]);
  return { readModelHeader, findDetector, definitionForModel };
}

/**
 * The pair definition a model was trained on (record_definition in the model header, written by `train --lake`), when it is a
 * named one; else `default` (a custom --sql query over the lake's views does not apply to single objects: say so).
 */
function trainedDefinition(t: HeaderTools, modelFile: string, say: (line: string) => void): string {
  let chosen: ReturnType<typeof t.definitionForModel>;
  try {
    chosen = t.definitionForModel(t.readModelHeader(modelFile));
  } catch {
    return DEFAULT_PAIR_DEFINITION; // loading the model reports what is wrong with it
  }
  if (chosen.note) say(`${modelFile} was ${chosen.note}: give --pairs or --pairs-sql for the same pairs`);
  return chosen.name;
}

/** Whether a model file is of a detector that scores feature vectors (behaviour windows), from its header. */
function scoresFeatures(t: HeaderTools, modelFile: string): boolean {
  try {
    return t.findDetector(t.readModelHeader(modelFile).detector.type)?.records === 'features';
  } catch {
    return false; // loading the model reports what is wrong with it
  }
}

/**
 * `--model [NAME=]PATH`, paired with `--pairs` by position (one `--pairs` applies to every model); without --pairs,
 * each model's own record definition (trainedDefinition). `say` takes a warning line.
 */
async function modelSpecs(o: MonitorCliOptions, say: (line: string) => void, lakeDir?: string): Promise<MonitorModelSpec[]> {
  let given = o.model;
  if (given.length === 0) {
    // No --model: every model registered for the (local) lake, each with its own record definition.
    if (!lakeDir) throw new ConfigError('--model is required here (a model file from seclake train)', ['model']);
    const all = registeredModels(lakeDir);
    for (const m of all.filter((x) => x.missing)) say(`registered model '${m.name}' is missing (${m.path}); skipped`);
    given = all.filter((x) => !x.missing).map((x) => `${x.name}=${x.path}`);
    if (given.length === 0) {
      throw new ConfigError(`no --model given and no model is registered for the lake ${lakeDir}: train one with \`seclake train --lake ${lakeDir}\` (it registers the model) or give --model FILE`, ['model']);
    }
  }
  if (o.pairs.length > 1 && o.pairs.length !== given.length) {
    throw new ConfigError(`give one --pairs for all models or one per --model (got ${o.pairs.length} for ${given.length})`, ['pairs']);
  }
  const t = await headerTools();
  return given.map((m, i) => {
    const eq = m.indexOf('=');
    const name = eq > 0 && !m.slice(0, eq).includes(path.sep) ? m.slice(0, eq) : undefined;
    const file = name ? m.slice(eq + 1) : m;
    if (scoresFeatures(t, file)) {
      // A behaviour model (rcf trained with --lake) reads the lake's windows with its own feature sets: no pairs.
      if (o.pairsSql !== undefined || o.pairs.length > 1) {
        throw new ConfigError(`${file} scores behaviour windows, not (entity, IP) pairs: --pairs${o.pairsSql !== undefined ? '-sql' : ''} does not apply to it`, ['pairs']);
      }
      return { model: file, ...(name ? { name } : {}) };
    }
    if (o.pairsSql !== undefined) {
      if (o.pairs.length > 0) throw new ConfigError('give --pairs or --pairs-sql, not both', ['pairs']);
      const sources = (o.pairsSources ?? '').split(',').map((x) => x.trim()).filter(Boolean);
      return { model: file, pairs: { name: 'custom', sql: o.pairsSql, sources }, ...(name ? { name } : {}) };
    }
    const pairs = o.pairs.length === 0 ? trainedDefinition(t, file, say) : o.pairs.length === 1 ? o.pairs[0]! : o.pairs[i]!;
    if (!Object.hasOwn(PAIR_DEFINITIONS, pairs)) throw new ConfigError(`--pairs ${pairs}: unknown; known: ${Object.keys(PAIR_DEFINITIONS).join(', ')}`, ['pairs']);
    return { model: file, pairs, ...(name ? { name } : {}) };
  });
}

function describe(e: MonitorEvent, incidentLine: (i: Extract<MonitorEvent, { type: 'incident' }>['incident']) => string): string | undefined {
  switch (e.type) {
    case 'start':
      return `monitoring after catalog seq ${e.afterSeq} with ${e.models.join(', ')}`;
    case 'object':
      return `seq ${e.seq} ${e.source}: ${e.pairs} pairs, ${e.findings} findings${e.incidents ? `, ${e.incidents} incident revisions` : ''} (${e.ms.toFixed(0)} ms) ${e.path}`;
    case 'incident': {
      if (!e.notify) return undefined;
      const u = e.incident.unmapped;
      return `seq ${e.seq}: ${u.revision === 1 ? 'new incident' : `incident update ${u.revision}`} ${incidentLine(e.incident)}`;
    }
    case 'windows': {
      const late = e.lateRecords > 0 ? `; ${e.lateRecords} LATE records for windows already scored (${Object.entries(e.lateByView).map(([v, n]) => `${v}: ${n}`).join(', ')}), counted, not merged` : '';
      return `seq ${e.seq} ${e.model}: ${e.windows} behaviour windows scored, ${e.findings} findings; windows before ${new Date(e.closedThrough).toISOString()} done${late}`;
    }
    case 'retry':
      return `seq ${e.seq}: attempt ${e.attempt} failed, retrying: ${e.reason}`;
    case 'failed':
      return `seq ${e.seq}: FAILED, recorded and skipped: ${e.reason} (${e.path})`;
    case 'ingested':
      return `watch: ${path.basename(e.file)} ${e.status} (${e.events} events, ${e.rejects} rejects)`;
    case 'ingest-error':
      return `watch: ${path.basename(e.file)} failed: ${e.reason}`;
    case 'stop':
      return `stopping: ${e.reason}`;
  }
}

export function registerMonitor(program: Command): void {
  const cmd = program
    .command('monitor')
    .description('Score every new lake object with the lake\'s models (any detector) and write OCSF Detection Findings, fused into Incident Findings (lake; stdout, file, webhook sinks).')
    .option('--lake <dir>', 'lake directory or s3://bucket/prefix (default $SECLAKE_LAKE or ./seclake-data)')
    .option('--state-dir <dir>', 'S3 lake: local directory for the checkpoint, failed list and findings copy (default ~/.cache/seclake/s3/<lake>/monitor)')
    .option('--model <[name=]path>', 'model file; repeat for several models (default: every model registered for the lake by `seclake train --lake`)', collect, [])
    .option(
      '--pairs <name>',
      `pair definition per model (${Object.keys(PAIR_DEFINITIONS).join(', ')}); one for all or one per --model; default: the one each model was trained on, else ${DEFAULT_PAIR_DEFINITION}`,
      collect,
      [],
    )
    .option('--pairs-sql <sql>', 'custom pair query over the view `events` (the object) returning entity, ip, row (= file_row_number) and optionally time; for every model')
    .option('--pairs-sources <list>', 'with --pairs-sql: comma-separated lake sources it applies to (default: every source)')
    .option('--name <name>', 'checkpoint name (several monitors can follow one lake)', 'default')
    .option('--once', 'process the objects after the checkpoint, then exit')
    .option('--from-start', 'first run only: start at the first catalogued object instead of after the newest')
    .option('--after-seq <n>', 'first run only: start after this catalog sequence number')
    .option('--watch <dir>', 'also ingest raw log files dropped into this folder (finished or renamed-in files only)')
    .option('--sink <spec>', `where incidents (and with --sink-detections findings) go, repeatable: ${SINK_SPEC_HELP} (the lake always gets both)`, collect, [])
    .option('--sink-detections', 'also send every detection finding to the sinks (not only incidents); suppressed findings never go')
    .option('--no-sink-incidents', 'send no incidents to the sinks (with --sink-detections: detection findings only, as before incidents)')
    .option('--no-incidents', 'do not fuse findings into incidents (detection findings only; the sinks then get those)')
    .option('--incident-gap <duration>', 'findings of one entity this close in time form one incident', '1h')
    .option('--incident-rejoin <duration>', 'a finding about an address an incident of its entity holds joins it this long after its end (0 = off)', '24h')
    .option('--incident-open-p <p>', 'raise an incident once its combined p-value is at most this (1 = every finding raises one)', '0.01')
    .option('--incident-group <name>', 'the OCSF assignee group of incidents', 'security')
    .addOption(new Option('--new-entity <mode>', 'findings for entities the model never saw').choices(['once', 'always', 'never']).default('once'))
    .option('--dedup-window <duration>', 'identical findings within this event-time window are one finding with a count', '1h')
    .option('--threshold <dot>', 'threshold on dot_product for uncalibrated models (calibrated ones use their own)')
    .option('--poll-ms <ms>', 'catalog poll interval', '1000')
    .option('--checkpoint-ms <ms>', 'most time between checkpoints while objects keep coming (0 = after every object); a crash redoes the objects since, with the same findings', '1000')
    .option('--json', 'print a JSON summary on exit (--once; AWS mode: the totals) and every status line and warning as a JSON line on stderr')
    .option('--quiet', 'no status lines')
    .option('--metrics-port <n>', 'serve Prometheus metrics at http://HOST:N/metrics while monitoring (0 = any free port; the URL is said on stderr)')
    .option('--metrics-host <addr>', 'address the metrics endpoint binds', '127.0.0.1');
  addAwsMonitorOptions(cmd).addHelpText(
    'after',
    `
Embedded mode (default) follows the lake's catalog. Per object: every model whose pair definition covers the
object's source scores its (entity, IP) pairs; findings (OCSF Detection Finding 2004, with an explanation) are written
to <lake>/ext/seclake_findings/; the findings of all models about one entity within --incident-gap of each other
(or about an address one of its incidents holds, within --incident-rejoin) become an incident (OCSF Incident
Finding 2005, <lake>/ext/seclake_incidents/, views \`incidents\` and \`incident_revisions\`; docs/incidents.md); the sinks get new incidents and updates that raise the severity or add a
detector (--sink-detections: the detection findings too); then the checkpoint <lake>/_seclake/monitor/<name>.json moves
on. A finding an analyst's suppression covers (\`seclake feedback benign\`, \`seclake suppressions\`) is written as
Suppressed, joins no incident and goes to no sink. A restart resumes after the last finished object, neither skipping nor doubling. A bad object is retried, then
recorded in <lake>/_seclake/monitor/<name>.failed.jsonl and skipped. A first run starts after the newest object
(score what arrives); --from-start backfills. SIGINT/SIGTERM stop after the current object.

Pair definitions (--pairs; default: the one the model was trained on, recorded by \`train --lake\`, else default):
${Object.values(PAIR_DEFINITIONS).map((d) => `  ${d.name.padEnd(11)} ${d.description}`).join('\n')}
--pairs-sql takes any query over the view \`events\` (one object), e.g.
  --pairs-sql "SELECT actor.user.name AS entity, src_endpoint.ip AS ip, time, file_row_number AS row FROM events WHERE class_uid = 3002"
  --pairs-sources CLOUD_TRAIL_MGMT

AWS mode (--sqs-queue-url): consume S3 / Security Lake notifications, download each object, score it, store the
findings (--findings) and delete the message only when done; it writes and sends detection findings only (no
incidents: they need state across objects). See docs/aws.md.

Metrics (--metrics-port, both modes): objects, records scored, findings, errors, how far behind the newest object
the monitor is (catalogued objects not yet done and how long the oldest has waited; AWS mode: the queue's messages)
and the checkpoint's age, in Prometheus's text format at /metrics (bound to 127.0.0.1 unless --metrics-host).

Without --model, a local lake's registered models run (\`seclake train --lake\` registers what it trains; see
<lake>/_seclake/models.json), each on the sources of the record definition it was trained on.

Behaviour models (\`seclake train --detector rcf --lake\`) follow the lake window by window: at each object that
closes a window (its newest event minus the lateness passes the window's end), the model's feature sets are computed
over the lake as of that object for every window closed since, each (entity, window) is scored against a streaming
copy of the model that then learns it, and those beyond the threshold become findings (finding type "Anomalous
Behaviour") naming the features that drove the score with the entity's usual values. Records arriving for windows
already scored are counted as late (said, and in --json's lateRecords), never merged. The streaming model is saved
next to the checkpoint (<lake>/_seclake/monitor/<name>.<model>.<hash>.forest). Local lakes only (not --sqs-queue-url,
the Lambda, or an S3 lake).

Examples:
  seclake monitor --lake ./lake                       # every model registered for the lake
  seclake monitor --lake ./lake --model flows=flows.model --watch ./incoming
  seclake monitor --lake ./lake --model flows=flows.model --pairs flow-peer --model logins=logins.model --pairs user-login
  seclake monitor --lake ./lake --model ipi.model --once --from-start --json
  seclake monitor --lake ./lake --metrics-port 9464     # + Prometheus metrics on http://127.0.0.1:9464/metrics
  seclake monitor --model ipi.model --sqs-queue-url https://sqs.us-east-1.amazonaws.com/123456789012/sl-sub --findings s3://bucket/findings`,
  );
  cmd.action(async (o: MonitorCliOptions) => {
    const policy = {
      newEntity: o.newEntity,
      windowMs: parseDuration(o.dedupWindow, '--dedup-window'),
      ...(o.threshold !== undefined ? { uncalibratedThreshold: Number(o.threshold) } : {}),
    };
    if (o.threshold !== undefined && !Number.isFinite(Number(o.threshold))) throw new ConfigError(`--threshold must be a number, got ${JSON.stringify(o.threshold)}`, ['threshold']);
    const incidentGap = parseDuration(o.incidentGap, '--incident-gap');
    const incidentRejoin = parseDuration(o.incidentRejoin, '--incident-rejoin');
    const openP = Number(o.incidentOpenP);
    if (!(openP >= 0 && openP <= 1)) throw new ConfigError(`--incident-open-p must be a p-value between 0 and 1, got '${o.incidentOpenP}'`, ['incident-open-p']);
    if (o.afterSeq !== undefined && !Number.isInteger(Number(o.afterSeq))) throw new ConfigError(`--after-seq must be an integer, got ${JSON.stringify(o.afterSeq)}`, ['after-seq']);
    const metricsPort = o.metricsPort === undefined ? undefined : Number(o.metricsPort);
    if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort <= 65535)) {
      throw new ConfigError(`--metrics-port must be a port number from 0 to 65535, got ${JSON.stringify(o.metricsPort)}`, ['metrics-port']);
    }
    // Under --json every status line is a JSON line on stderr: the monitor's events, this command's notes and the
    // warnings of the code it runs (src/core/log.ts, pointed at JSON lines while the command runs).
    const json = (obj: Record<string, unknown>): void => void process.stderr.write(JSON.stringify(obj) + '\n');
    const say = (line: string): void => (o.json ? json({ type: 'warning', message: line }) : void process.stderr.write(`seclake monitor: ${line}\n`));
    const restoreLog = o.json ? logAsJson(json) : undefined;
    try {
      await runMonitorCommand(o, { policy, incidentGap, incidentRejoin, openP, metricsPort, json, say });
    } finally {
      restoreLog?.();
    }
  });
}

/** Point src/core/log.ts's status lines at JSON lines (`{"type":"log","level":...,"message":...}`); returns the undo. */
function logAsJson(json: (obj: Record<string, unknown>) => void): () => void {
  const saved = { ...statusLog };
  statusLog.info = (message) => json({ type: 'log', level: 'info', message });
  statusLog.warn = (message) => json({ type: 'log', level: 'warning', message });
  statusLog.error = (message) => json({ type: 'log', level: 'error', message });
  return () => void Object.assign(statusLog, saved);
}

interface MonitorRun {
  policy: { newEntity: 'once' | 'always' | 'never'; windowMs: number; uncalibratedThreshold?: number };
  incidentGap: number;
  incidentRejoin: number;
  openP: number;
  metricsPort: number | undefined;
  /** Write one JSON status line (stderr). */
  json: (obj: Record<string, unknown>) => void;
  /** Write one status note (a warning): text or, under --json, a JSON line. */
  say: (line: string) => void;
}

/** Start the metrics endpoint (--metrics-port) and say where it is. */
async function startMetrics(o: MonitorCliOptions, r: MonitorRun, metrics: MonitorMetrics): Promise<{ close(): Promise<void> } | undefined> {
  if (r.metricsPort === undefined) return undefined;
  const { serveMetrics } = await import('../../monitor/metrics.js');
  const server = await serveMetrics(metrics, o.metricsHost, r.metricsPort);
  if (o.json) r.json({ type: 'metrics', url: server.url });
  else if (!o.quiet) process.stderr.write(`seclake monitor: metrics on ${server.url}\n`);
  return server;
}

async function runMonitorCommand(o: MonitorCliOptions, r: MonitorRun): Promise<void> {
  const [{ createSinks }, { incidentLine }, { MonitorMetrics, embeddedProbe }] = await Promise.all([
    import('../../sinks/index.js'),
    import('../../findings/incidents.js'),
    import('../../monitor/metrics.js'),
  ]);

  if (o.sqsQueueUrl) {
    const [{ createProcessor }, { awsOptionsFromCli, createAwsMonitor, describeEvent, eventJson }] = await Promise.all([import('../../monitor/processor.js'), import('../../monitor/aws/run.js')]);
    const models = await modelSpecs(o, r.say);
    if (models.length !== 1) throw new ConfigError('AWS mode scores with one model per process (--model)', ['model']);
    const sinks = createSinks(o.sink, { background: true });
    const proc = await createProcessor({ model: models[0]!.model, ...(models[0]!.name ? { modelName: models[0]!.name } : {}), pairs: models[0]!.pairs ?? DEFAULT_PAIR_DEFINITION, policy: r.policy });
    let handle: ReturnType<typeof createAwsMonitor> | undefined;
    const metrics = new MonitorMetrics({ mode: 'aws', name: o.sqsQueueUrl, probe: async () => ({ queue: await handle!.monitor.queueDepth() }) });
    const onEvent = (e: Parameters<typeof describeEvent>[0]): void => {
      metrics.onAwsEvent(e);
      if (o.quiet) return;
      if (o.json) r.json(eventJson(e));
      else process.stderr.write(`seclake monitor: ${describeEvent(e)}\n`);
    };
    let server: { close(): Promise<void> } | undefined;
    try {
      handle = createAwsMonitor(awsOptionsFromCli(o, proc.process, [sinks], onEvent));
      server = await startMetrics(o, r, metrics);
      const stats = await handle.run();
      if (o.json) process.stdout.write(JSON.stringify(stats) + '\n');
    } finally {
      await server?.close();
      handle?.close();
      proc.close();
      await sinks.close();
    }
    return;
  }

  // An S3 lake (docs/s3-lake.md) is followed through its S3 catalog; this monitor's state stays in a local directory.
  const lakeArg = o.lake ?? process.env.SECLAKE_LAKE;
  const s3Lake = isS3Lake(lakeArg) ? lakeArg : undefined;
  if (s3Lake && o.watch) throw new ConfigError('--watch ingests into a local lake; for an S3 lake run `seclake ingest --lake s3://...` on the files', ['watch']);
  const s3Options = { ...(o.s3Endpoint ? { endpoint: o.s3Endpoint } : {}), ...(o.region ? { region: o.region } : {}) };
  // The lake must be one (--watch creates it: the dropped files are its first inputs).
  if (s3Lake) await checkS3Lake(s3Lake, { ...(o.s3Endpoint ? { s3Endpoint: o.s3Endpoint } : {}), ...(o.region ? { s3Region: o.region } : {}) });
  else if (!o.watch) checkLakeDir(resolveLakeDir(o.lake));
  const [{ openLakeStore, defaultCacheDir }, { monitorOnce, startMonitor }] = await Promise.all([import('../../lake/store.js'), import('../../monitor/embedded.js')]);
  const store = s3Lake ? openLakeStore(s3Lake, s3Options) : undefined;
  const lakeDir = s3Lake ? path.resolve(o.stateDir ?? path.join(defaultCacheDir(s3Lake), 'monitor')) : resolveLakeDir(o.lake);
  const sinks = createSinks(o.sink, { background: true });
  let server: { close(): Promise<void> } | undefined;
  try {
    const models = await modelSpecs(o, r.say, s3Lake ? undefined : lakeDir);
    // A local catalog is read at every scrape; an S3 lake's at most every 5 s.
    const probe = embeddedProbe({ lakeDir, ...(store ? { store } : {}), name: o.name, lastSeq: (): number | undefined => metrics.lastSeq });
    const metrics: MonitorMetrics = new MonitorMetrics({ mode: 'embedded', name: o.name, probe, probeTtlMs: store ? 5000 : 0 });
    const onEvent = (e: MonitorEvent): void => {
      metrics.onEvent(e);
      if (o.quiet) return;
      if (o.json) r.json(e as unknown as Record<string, unknown>);
      else {
        const line = describe(e, incidentLine);
        if (line) process.stderr.write(`seclake monitor: ${line}\n`);
      }
    };
    const opts: MonitorOptions = {
      lakeDir,
      ...(store ? { store } : {}),
      models,
      name: o.name,
      policy: r.policy,
      sinks: [sinks],
      // Without incidents the sinks get the detection findings (as before incidents existed).
      sinkDetections: o.sinkDetections === true || !o.incidents,
      sinkIncidents: o.sinkIncidents && o.incidents,
      incidents: o.incidents ? { gapMs: r.incidentGap, rejoinMs: r.incidentRejoin, openP: r.openP, assigneeGroup: { name: o.incidentGroup } } : false,
      pollMs: Number(o.pollMs),
      checkpointMs: nonNegative(o.checkpointMs, '--checkpoint-ms'),
      onEvent,
      ...(o.fromStart ? { start: 'beginning' as const } : o.afterSeq !== undefined ? { start: { afterSeq: Number(o.afterSeq) } } : {}),
      ...(o.watch ? { watchDir: o.watch } : {}),
    };
    server = await startMetrics(o, r, metrics);
    if (o.once) {
      const sum = await monitorOnce(opts);
      if (o.json) process.stdout.write(JSON.stringify(sum) + '\n');
      else if (!o.quiet) {
        const behaviour = sum.windows > 0 || sum.lateRecords > 0 ? `, ${sum.windows} behaviour windows scored${sum.lateRecords ? ` (${sum.lateRecords} late records counted, not merged)` : ''}` : '';
        const suppressed = sum.suppressed ? ` (${sum.suppressed} suppressed)` : '';
        const incidents = o.incidents ? `, ${sum.newIncidents} new incidents (${sum.incidents} incident revisions)` : '';
        process.stderr.write(
          `seclake monitor: ${sum.objects} objects, ${sum.pairs} pairs scored${behaviour}, ${sum.findings} findings${suppressed}${incidents}, ${sum.failed} failed${sum.noPairs ? `, ${sum.noPairs} scored objects gave no pairs` : ''}; checkpoint at seq ${sum.lastSeq}\n`,
        );
      }
      if (sum.failed > 0) process.exitCode = 1;
      return;
    }
    const h = await startMonitor(opts);
    const onSignal = (sig: string): void => void h.stop(sig);
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    const sum = await h.done;
    if (o.json) process.stdout.write(JSON.stringify(sum) + '\n');
  } finally {
    await server?.close();
    store?.close();
    await sinks.close();
  }
}
