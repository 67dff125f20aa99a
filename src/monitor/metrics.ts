/**
 * The monitor's Prometheus metrics (`seclake monitor --metrics-port N`: GET /metrics), in the embedded mode (a local or
 * S3 lake's catalog) and in AWS mode (SQS notifications). Counters follow the monitor's events; the gauges that say
 * how far behind the monitor is are read when scraped (a local catalog at every scrape; an S3 catalog or an SQS queue
 * at most every 5 s):
 *
 *   seclake_monitor_objects_total{outcome}       objects done (done, failed; AWS mode also skipped, already_done)
 *   seclake_monitor_records_total{kind}          records scored: pairs, behaviour windows
 *   seclake_monitor_findings_total{kind}         detection findings written, incident revisions written
 *   seclake_monitor_errors_total{kind}           failed attempts (retry), objects given up (failed), watch-folder
 *                                                ingests that failed (ingest); AWS mode: messages moved aside, SQS errors
 *   seclake_monitor_messages_total{outcome}      AWS mode: messages deleted, retried, moved aside, released
 *   seclake_monitor_last_seq                     embedded: the newest catalog sequence number done
 *   seclake_monitor_newest_seq                   embedded: the newest catalog sequence number
 *   seclake_monitor_lag_objects                  embedded: catalogued objects not yet done (findings objects aside)
 *   seclake_monitor_lag_seconds                  embedded: how long the oldest of them has waited since it was published
 *   seclake_monitor_object_lag_seconds           the last object done: publication (AWS mode: notification) to done
 *   seclake_monitor_queue_messages{state}        AWS mode: the queue's visible, in-flight and delayed messages
 *   seclake_monitor_checkpoint_seq               embedded: the checkpoint's sequence number
 *   seclake_monitor_checkpoint_age_seconds       embedded: since the checkpoint was written; AWS mode: since the last
 *                                                message was finished (deleted), or since the start
 *   seclake_monitor_start_time_seconds           when the monitor started (unix time)
 *   seclake_monitor_info{mode,name}              1
 *
 * A gauge that cannot be read (the S3 catalog or the queue unreachable) is left out of that scrape and counted in
 * seclake_monitor_scrape_errors_total.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SeclakeError, errorMessage } from '../core/errors.js';
import { LabelledValues, PROMETHEUS_CONTENT_TYPE, renderMetrics, type MetricFamily } from '../core/prometheus.js';
import { isDerivedObject, readObjects, type CatalogObject } from '../lake/catalog.js';
import type { LakeStore } from '../lake/store.js';
import type { MonitorEvent as AwsMonitorEvent } from './aws/sqs-monitor.js';
import { readCheckpoint, type MonitorEvent } from './embedded.js';

/** What is read when scraped (each field optional: a mode fills what it has). */
export interface MonitorProbe {
  newestSeq?: number;
  lagObjects?: number;
  lagSeconds?: number;
  checkpointSeq?: number;
  checkpointAgeSeconds?: number;
  queue?: { visible: number; inFlight: number; delayed: number };
}

export interface MonitorMetricsOptions {
  mode: 'embedded' | 'aws';
  /** The checkpoint name (embedded) or the queue URL (AWS mode). */
  name: string;
  /** Reads the gauges of the moment (see embeddedProbe; AWS mode: the queue's depth). */
  probe?: () => Promise<MonitorProbe>;
  /** How long a probe's answer is reused (default 5000 ms; 0: every scrape asks). */
  probeTtlMs?: number;
  now?: () => number;
}

export class MonitorMetrics {
  readonly objects = new LabelledValues(['outcome']);
  readonly records = new LabelledValues(['kind']);
  readonly findings = new LabelledValues(['kind']);
  readonly errors = new LabelledValues(['kind']);
  readonly messages = new LabelledValues(['outcome']);
  private scrapeErrors = 0;
  /** Newest sequence number done (embedded), from the events. */
  lastSeq: number | undefined;
  private objectLagSeconds: number | undefined;
  /** AWS mode: when the last message was finished (ms). */
  private lastDoneAt: number;
  private readonly startedAt: number;
  private probed: { at: number; value: Promise<MonitorProbe> } | undefined;
  private readonly now: () => number;

  constructor(private readonly o: MonitorMetricsOptions) {
    this.now = o.now ?? Date.now;
    this.startedAt = this.now();
    this.lastDoneAt = this.startedAt;
  }

  /** Count an embedded monitor's event. */
  onEvent(e: MonitorEvent): void {
    switch (e.type) {
      case 'start':
        this.lastSeq = e.afterSeq;
        break;
      case 'object':
        this.objects.inc(['done']);
        this.records.inc(['pairs'], e.pairs);
        this.findings.inc(['detection'], e.findings);
        this.findings.inc(['incident'], e.incidents);
        this.objectLagSeconds = e.lagMs / 1000;
        this.lastSeq = Math.max(this.lastSeq ?? 0, e.seq);
        break;
      case 'windows':
        this.records.inc(['windows'], e.windows);
        break;
      case 'failed':
        this.objects.inc(['failed']);
        this.errors.inc(['failed']);
        this.lastSeq = Math.max(this.lastSeq ?? 0, e.seq);
        break;
      case 'retry':
        this.errors.inc(['retry']);
        break;
      case 'ingest-error':
        this.errors.inc(['ingest']);
        break;
      default:
        break;
    }
  }

  /** Count an AWS-mode (SQS) worker's event. */
  onAwsEvent(e: AwsMonitorEvent): void {
    switch (e.type) {
      case 'processed': {
        this.messages.inc(['deleted']);
        this.lastDoneAt = this.now();
        for (const o of e.result.objects) {
          if (o.status === 'processed') {
            this.objects.inc(['done']);
            this.records.inc(['pairs'], o.result.pairs);
            this.findings.inc(['detection'], o.result.findings.length);
          } else this.objects.inc([o.status === 'skipped' ? 'skipped' : 'already_done']);
        }
        if (e.sentAt !== undefined) this.objectLagSeconds = Math.max(0, this.now() - e.sentAt) / 1000;
        break;
      }
      case 'retry':
        this.messages.inc(['retried']);
        this.errors.inc(['retry']);
        break;
      case 'moved-aside':
        this.messages.inc(['moved_aside']);
        this.errors.inc(['moved_aside']);
        this.lastDoneAt = this.now();
        break;
      case 'released':
        this.messages.inc(['released']);
        break;
      case 'error':
        this.errors.inc(['sqs']);
        break;
      default:
        break;
    }
  }

  private async probe(): Promise<MonitorProbe> {
    if (!this.o.probe) return {};
    const ttl = this.o.probeTtlMs ?? 5000;
    const t = this.now();
    if (!this.probed || t - this.probed.at >= ttl) this.probed = { at: t, value: this.o.probe() };
    const p = this.probed;
    try {
      return await p.value;
    } catch {
      this.scrapeErrors++;
      if (this.probed === p) this.probed = undefined; // ask again next scrape
      return {};
    }
  }

  /** The exposition text of the moment. */
  async render(): Promise<string> {
    const p = await this.probe();
    const now = this.now();
    const gauge = (name: string, help: string, value: number | undefined): MetricFamily => ({ name, help, type: 'gauge', samples: value === undefined ? [] : [{ value }] });
    const embedded = this.o.mode === 'embedded';
    const families: MetricFamily[] = [
      { name: 'seclake_monitor_info', help: 'The monitor: its mode (embedded, aws) and name (checkpoint name, or queue URL).', type: 'gauge', samples: [{ labels: { mode: this.o.mode, name: this.o.name }, value: 1 }] },
      { name: 'seclake_monitor_objects_total', help: 'Objects done, by outcome (done, failed; AWS mode also skipped, already_done).', type: 'counter', samples: this.objects.samples() },
      { name: 'seclake_monitor_records_total', help: 'Records scored, by kind (pairs; windows: behaviour windows).', type: 'counter', samples: this.records.samples() },
      { name: 'seclake_monitor_findings_total', help: 'Findings written, by kind (detection findings; incident revisions).', type: 'counter', samples: this.findings.samples() },
      {
        name: 'seclake_monitor_errors_total',
        help: 'Errors, by kind: retry (a failed attempt), failed (an object given up), ingest (a watched file that failed), moved_aside (AWS: a poison message), sqs (AWS: an SQS call that failed).',
        type: 'counter',
        samples: this.errors.samples(),
      },
      ...(embedded
        ? []
        : [{ name: 'seclake_monitor_messages_total', help: 'AWS mode: SQS messages, by outcome (deleted, retried, moved_aside, released).', type: 'counter' as const, samples: this.messages.samples() }]),
      gauge('seclake_monitor_object_lag_seconds', 'The last object done: seconds from its publication (AWS mode: its notification) to done.', this.objectLagSeconds),
      ...(embedded
        ? [
            gauge('seclake_monitor_last_seq', 'The newest catalog sequence number done.', this.lastSeq),
            gauge('seclake_monitor_newest_seq', 'The newest catalog sequence number.', p.newestSeq),
            gauge('seclake_monitor_lag_objects', 'Catalogued objects not yet done (findings objects aside).', p.lagObjects),
            gauge('seclake_monitor_lag_seconds', 'Seconds the oldest object not yet done has waited since it was published (0: caught up).', p.lagSeconds),
            gauge('seclake_monitor_checkpoint_seq', 'The sequence number in the checkpoint on disk.', p.checkpointSeq),
            gauge('seclake_monitor_checkpoint_age_seconds', 'Seconds since the checkpoint was written.', p.checkpointAgeSeconds),
          ]
        : [
            {
              name: 'seclake_monitor_queue_messages',
              help: "AWS mode: the queue's approximate messages, by state (visible, in_flight, delayed).",
              type: 'gauge' as const,
              samples: p.queue ? [
                { labels: { state: 'visible' }, value: p.queue.visible },
                { labels: { state: 'in_flight' }, value: p.queue.inFlight },
                { labels: { state: 'delayed' }, value: p.queue.delayed },
              ] : [],
            },
            gauge('seclake_monitor_checkpoint_age_seconds', 'AWS mode: seconds since the last message was finished (deleted), or since the start.', (now - this.lastDoneAt) / 1000),
          ]),
      { name: 'seclake_monitor_scrape_errors_total', help: 'Scrapes whose lag or queue gauges could not be read (left out of that scrape).', type: 'counter', samples: [{ value: this.scrapeErrors }] },
      gauge('seclake_monitor_start_time_seconds', 'When the monitor started (unix time).', this.startedAt / 1000),
    ];
    return renderMetrics(families);
  }
}

/**
 * The embedded monitor's scrape-time gauges: the catalog after the last object done (a local lake's files, or the
 * S3 lake's catalog through `store`) and the checkpoint file in `lakeDir` (the monitor's state directory).
 */
export function embeddedProbe(o: { lakeDir: string; store?: LakeStore; name: string; lastSeq: () => number | undefined; now?: () => number }): () => Promise<MonitorProbe> {
  const now = o.now ?? Date.now;
  return async () => {
    const cp = readCheckpoint(o.lakeDir, o.name);
    const done = Math.max(o.lastSeq() ?? 0, cp?.seq ?? 0);
    const after: CatalogObject[] = o.store ? await o.store.listCatalog(done) : readObjects(o.lakeDir, done);
    const waiting = after.filter((x) => !isDerivedObject(x));
    let oldest = Infinity;
    for (const x of waiting) {
      const t = Date.parse(x.created_at);
      if (t < oldest) oldest = t;
    }
    const t = now();
    const probe: MonitorProbe = {
      newestSeq: Math.max(done, ...after.map((x) => x.seq)),
      lagObjects: waiting.length,
      lagSeconds: waiting.length === 0 || !Number.isFinite(oldest) ? 0 : Math.max(0, t - oldest) / 1000,
    };
    if (cp) {
      probe.checkpointSeq = cp.seq;
      const at = Date.parse(cp.updated_at);
      if (Number.isFinite(at)) probe.checkpointAgeSeconds = Math.max(0, t - at) / 1000;
    }
    return probe;
  };
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  close(): Promise<void>;
}

/** Serve `metrics` at GET /metrics on host:port (port 0: any free port). Anything else is 404. */
export async function serveMetrics(metrics: MonitorMetrics, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(url === '/metrics' ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' }).end(url === '/metrics' ? 'GET /metrics\n' : 'not found: GET /metrics\n');
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${errorMessage(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(new SeclakeError(`--metrics-port: cannot listen on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the address is already in use' : errorMessage(err)}`, { cause: err }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
