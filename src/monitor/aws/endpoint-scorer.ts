/**
 * Scoring through a SageMaker-compatible endpoint (SageMaker IP Insights, or `seclake serve`): `InvokeEndpoint` with
 * a headerless `entity,ip` CSV body and `Accept: application/jsonlines; verbose=True`, in chunks under the 6 MB
 * request limit. Verbose responses carry `entity_known: false` for unseen entities and, from a calibrated seclake
 * model, `anomaly_percentile` / `is_anomaly`; the embeddings are dropped.
 *
 * `@aws-sdk/client-sagemaker-runtime` is loaded when the first scorer is created: the Lambda Node.js runtimes ship
 * the AWS SDK v3, and in this package it is a devDependency (install it next to seclake to use endpoints elsewhere).
 */
import { SeclakeError, errorMessage } from '../../core/errors.js';
import type { Pair, ScoreResult } from '../../detectors/ipinsights/wire.js';

/** Request bodies stay under this many bytes (SageMaker's limit is 6,291,456). */
export const MAX_REQUEST_BYTES = 5 * 1024 * 1024;

export class EndpointError extends SeclakeError {
  readonly endpoint: string;
  constructor(endpoint: string, message: string, options?: { cause?: unknown }) {
    super(`endpoint ${endpoint}: ${message}`, options);
    this.name = 'EndpointError';
    this.endpoint = endpoint;
  }
}

export interface EndpointScorerOptions {
  endpointName: string;
  /** e.g. http://127.0.0.1:8080 for seclake serve, or a VPC endpoint. */
  endpointUrl?: string;
  region?: string;
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
}

interface Client {
  send(cmd: unknown): Promise<{ Body?: Uint8Array }>;
  destroy(): void;
}

export class EndpointScorer {
  private constructor(
    private readonly client: Client,
    private readonly Command: new (input: Record<string, unknown>) => unknown,
    readonly endpointName: string,
  ) {}

  static async create(opts: EndpointScorerOptions): Promise<EndpointScorer> {
    let mod: { SageMakerRuntimeClient: new (cfg: Record<string, unknown>) => Client; InvokeEndpointCommand: new (input: Record<string, unknown>) => unknown };
    try {
      mod = (await import('@aws-sdk/client-sagemaker-runtime')) as unknown as typeof mod;
    } catch (err) {
      throw new EndpointError(opts.endpointName, `@aws-sdk/client-sagemaker-runtime is not installed (npm install @aws-sdk/client-sagemaker-runtime): ${errorMessage(err)}`, { cause: err });
    }
    const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    const client = new mod.SageMakerRuntimeClient({ region, ...(opts.endpointUrl ? { endpoint: opts.endpointUrl } : {}) });
    return new EndpointScorer(client, mod.InvokeEndpointCommand, opts.endpointName);
  }

  /** Score pairs in request-sized chunks; results in input order. */
  async score(pairs: readonly Pair[]): Promise<ScoreResult[]> {
    const out: ScoreResult[] = [];
    let i = 0;
    while (i < pairs.length) {
      let body = '';
      const start = i;
      while (i < pairs.length) {
        const line = `${csvField(pairs[i]!.entity)},${csvField(pairs[i]!.ip)}\n`;
        if (body.length > 0 && Buffer.byteLength(body) + Buffer.byteLength(line) > MAX_REQUEST_BYTES) break;
        body += line;
        i++;
      }
      const results = await this.invoke(body, i - start);
      for (const r of results) out.push(r);
    }
    return out;
  }

  private async invoke(body: string, expected: number): Promise<ScoreResult[]> {
    let res;
    try {
      res = await this.client.send(
        new this.Command({ EndpointName: this.endpointName, ContentType: 'text/csv', Accept: 'application/jsonlines; verbose=True', Body: Buffer.from(body) }),
      );
    } catch (err) {
      throw new EndpointError(this.endpointName, `InvokeEndpoint failed: ${errorMessage(err)}`, { cause: err });
    }
    const text = Buffer.from(res.Body ?? new Uint8Array()).toString('utf8');
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    if (lines.length !== expected) throw new EndpointError(this.endpointName, `expected ${expected} predictions, got ${lines.length}`);
    return lines.map((l, k) => {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(l) as Record<string, unknown>;
      } catch (err) {
        throw new EndpointError(this.endpointName, `prediction ${k + 1} is not JSON: ${l.slice(0, 80)}`, { cause: err });
      }
      if (typeof o.dot_product !== 'number') throw new EndpointError(this.endpointName, `prediction ${k + 1} has no dot_product`);
      const r: ScoreResult = { dot_product: o.dot_product, entity_known: o.entity_known !== false };
      if (typeof o.anomaly_percentile === 'number') r.anomaly_percentile = o.anomaly_percentile;
      if (typeof o.is_anomaly === 'boolean') r.is_anomaly = o.is_anomaly;
      return r;
    });
  }

  close(): void {
    this.client.destroy();
  }
}
