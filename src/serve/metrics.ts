/**
 * In-process metrics for the inference server, rendered in the Prometheus text exposition format (version 0.0.4; the
 * writer, src/core/prometheus.ts, is shared with the monitor's /metrics). Label values are bounded: `model` is a
 * configured model name or "" (requests that never reached a model), `route` is one of a fixed set, `error_type` comes
 * from the server's own codes.
 */
import { histogramSamples, renderMetrics, type MetricFamily } from '../core/prometheus.js';

export type RouteLabel = 'endpoint' | 'invocations' | 'ping' | 'execution_parameters' | 'metrics' | 'mounted' | 'unknown';

/** Latency buckets in seconds (upper bounds); +Inf is implicit. */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

interface Histogram {
  counts: Float64Array; // one per bucket plus +Inf
  sum: number;
  count: number;
}

/** The served models' state, read when rendering. */
export interface ModelGauge {
  name: string;
  generation: number;
  loadedAt: Date;
}

const SEP = '\u0000';

export class ServeMetrics {
  private readonly requests = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  private readonly pairs = new Map<string, number>();
  private readonly reloads = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private inFlight = 0;
  private readonly startedAt = Date.now() / 1000;

  requestStarted(): void {
    this.inFlight++;
  }

  /** Counts one finished request, its latency and (for errors) its error type. */
  requestFinished(model: string, route: RouteLabel, status: number, seconds: number, errorType: string | undefined): void {
    this.inFlight--;
    const key = model + SEP + route + SEP + status;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    if (errorType !== undefined) {
      const ek = model + SEP + route + SEP + errorType;
      this.errors.set(ek, (this.errors.get(ek) ?? 0) + 1);
    }
    if (route === 'endpoint' || route === 'invocations') {
      let h = this.latency.get(model);
      if (h === undefined) {
        h = { counts: new Float64Array(LATENCY_BUCKETS.length + 1), sum: 0, count: 0 };
        this.latency.set(model, h);
      }
      let i = 0;
      while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
      h.counts[i]!++;
      h.sum += seconds;
      h.count++;
    }
  }

  pairsScored(model: string, n: number): void {
    this.pairs.set(model, (this.pairs.get(model) ?? 0) + n);
  }

  reload(model: string, ok: boolean): void {
    const key = model + SEP + (ok ? 'ok' : 'failed');
    this.reloads.set(key, (this.reloads.get(key) ?? 0) + 1);
  }

  /** The number of requests counted so far with this model/route/status (for tests and the dashboard). */
  requestCount(model: string, route: RouteLabel, status: number): number {
    return this.requests.get(model + SEP + route + SEP + status) ?? 0;
  }

  render(models: readonly ModelGauge[] = []): string {
    const split = <V>(m: Map<string, V>): [string[], V][] => sorted(m).map(([k, v]) => [k.split(SEP), v]);
    const families: MetricFamily[] = [
      {
        name: 'seclake_serve_requests_total',
        help: 'Requests answered, by model, route and HTTP status.',
        type: 'counter',
        samples: split(this.requests).map(([[model, route, status], value]) => ({ labels: { model: model!, route: route!, status: status! }, value })),
      },
      {
        name: 'seclake_serve_errors_total',
        help: 'Error replies, by model, route and x-amzn-ErrorType.',
        type: 'counter',
        samples: split(this.errors).map(([[model, route, type], value]) => ({ labels: { model: model!, route: route!, error_type: type! }, value })),
      },
      {
        name: 'seclake_serve_request_duration_seconds',
        help: 'Invocation latency from request start to last byte written, by model.',
        type: 'histogram',
        samples: sorted(this.latency).flatMap(([model, h]) => histogramSamples({ model }, LATENCY_BUCKETS, h.counts, h.sum, h.count)),
      },
      {
        name: 'seclake_serve_pairs_scored_total',
        help: '(entity, ip) pairs scored, by model.',
        type: 'counter',
        samples: sorted(this.pairs).map(([model, value]) => ({ labels: { model }, value })),
      },
      {
        name: 'seclake_serve_model_reloads_total',
        help: 'Model reload attempts, by model and result.',
        type: 'counter',
        samples: split(this.reloads).map(([[model, result], value]) => ({ labels: { model: model!, result: result! }, value })),
      },
      {
        name: 'seclake_serve_model_generation',
        help: 'Number of times the served model has been (re)loaded, by model.',
        type: 'gauge',
        samples: models.map((g) => ({ labels: { model: g.name }, value: g.generation })),
      },
      {
        name: 'seclake_serve_model_loaded_timestamp_seconds',
        help: 'When the served model was loaded (unix time), by model.',
        type: 'gauge',
        samples: models.map((g) => ({ labels: { model: g.name }, value: g.loadedAt.getTime() / 1000 })),
      },
      { name: 'seclake_serve_in_flight_requests', help: 'Requests being handled right now.', type: 'gauge', samples: [{ value: this.inFlight }] },
      { name: 'seclake_serve_start_time_seconds', help: 'When the server started (unix time).', type: 'gauge', samples: [{ value: this.startedAt }] },
    ];
    return renderMetrics(families);
  }
}

function sorted<V>(m: Map<string, V>): [string, V][] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
