/**
 * In-process metrics for the inference server, rendered in the Prometheus text exposition format
 * (version 0.0.4). Label values are bounded: `model` is a configured model name or "" (requests that
 * never reached a model), `route` is one of a fixed set, `error_type` comes from the server's own codes.
 */

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
    const out: string[] = [];
    out.push('# HELP seclake_serve_requests_total Requests answered, by model, route and HTTP status.');
    out.push('# TYPE seclake_serve_requests_total counter');
    for (const [k, v] of sorted(this.requests)) {
      const [model, route, status] = k.split(SEP) as [string, string, string];
      out.push(`seclake_serve_requests_total{model="${esc(model)}",route="${route}",status="${status}"} ${v}`);
    }
    out.push('# HELP seclake_serve_errors_total Error replies, by model, route and x-amzn-ErrorType.');
    out.push('# TYPE seclake_serve_errors_total counter');
    for (const [k, v] of sorted(this.errors)) {
      const [model, route, type] = k.split(SEP) as [string, string, string];
      out.push(`seclake_serve_errors_total{model="${esc(model)}",route="${route}",error_type="${esc(type)}"} ${v}`);
    }
    out.push('# HELP seclake_serve_request_duration_seconds Invocation latency from request start to last byte written, by model.');
    out.push('# TYPE seclake_serve_request_duration_seconds histogram');
    for (const [model, h] of sorted(this.latency)) {
      let cum = 0;
      for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
        cum += h.counts[i]!;
        out.push(`seclake_serve_request_duration_seconds_bucket{model="${esc(model)}",le="${LATENCY_BUCKETS[i]}"} ${cum}`);
      }
      cum += h.counts[LATENCY_BUCKETS.length]!;
      out.push(`seclake_serve_request_duration_seconds_bucket{model="${esc(model)}",le="+Inf"} ${cum}`);
      out.push(`seclake_serve_request_duration_seconds_sum{model="${esc(model)}"} ${h.sum}`);
      out.push(`seclake_serve_request_duration_seconds_count{model="${esc(model)}"} ${h.count}`);
    }
    out.push('# HELP seclake_serve_pairs_scored_total (entity, ip) pairs scored, by model.');
    out.push('# TYPE seclake_serve_pairs_scored_total counter');
    for (const [model, v] of sorted(this.pairs)) out.push(`seclake_serve_pairs_scored_total{model="${esc(model)}"} ${v}`);
    out.push('# HELP seclake_serve_model_reloads_total Model reload attempts, by model and result.');
    out.push('# TYPE seclake_serve_model_reloads_total counter');
    for (const [k, v] of sorted(this.reloads)) {
      const [model, result] = k.split(SEP) as [string, string];
      out.push(`seclake_serve_model_reloads_total{model="${esc(model)}",result="${result}"} ${v}`);
    }
    out.push('# HELP seclake_serve_model_generation Number of times the served model has been (re)loaded, by model.');
    out.push('# TYPE seclake_serve_model_generation gauge');
    for (const g of models) out.push(`seclake_serve_model_generation{model="${esc(g.name)}"} ${g.generation}`);
    out.push('# HELP seclake_serve_model_loaded_timestamp_seconds When the served model was loaded (unix time), by model.');
    out.push('# TYPE seclake_serve_model_loaded_timestamp_seconds gauge');
    for (const g of models) {
      out.push(`seclake_serve_model_loaded_timestamp_seconds{model="${esc(g.name)}"} ${(g.loadedAt.getTime() / 1000).toFixed(3)}`);
    }
    out.push('# HELP seclake_serve_in_flight_requests Requests being handled right now.');
    out.push('# TYPE seclake_serve_in_flight_requests gauge');
    out.push(`seclake_serve_in_flight_requests ${this.inFlight}`);
    out.push('# HELP seclake_serve_start_time_seconds When the server started (unix time).');
    out.push('# TYPE seclake_serve_start_time_seconds gauge');
    out.push(`seclake_serve_start_time_seconds ${this.startedAt.toFixed(3)}`);
    return out.join('\n') + '\n';
  }
}

function sorted<V>(m: Map<string, V>): [string, V][] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
