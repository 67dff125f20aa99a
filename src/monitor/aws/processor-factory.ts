/**
 * Per-object processors for the AWS mode, on the monitor's processor (src/monitor/processor.ts):
 * - a model file: the processor as is (in-process scoring);
 * - a SageMaker-compatible endpoint: the processor runs over a stand-in model whose synchronous `scorePairs` answers
 *   from scores fetched beforehand. A first pass with a throw-away policy collects the object's pairs (the same pair
 *   query), one batched InvokeEndpoint call per 5 MB scores them, and the second pass is the real one. The object is
 *   read twice; scores, pairs and findings are exactly those of the in-process path for the same weights.
 *   Limits: the endpoint gives no training history (explanations say so), and calibrated percentiles from the endpoint
 *   are not used (the threshold is the policy's uncalibrated one unless a local calibrated model is used).
 */
import { ipinsights } from '../../detectors/ipinsights/index.js';
import { parseIpInto } from '../../detectors/pairs/ip.js';
import type { Pair, ScoreResult } from '../../detectors/ipinsights/wire.js';
import type { BatchScores, DetectorModel, Explanation } from '../../detectors/types.js';
import type { FindingPolicyOptions } from '../../findings/policy.js';
import type { EntityHistory, SourceRef } from '../../findings/types.js';
import type { PairSpec } from '../../detectors/pairs/definitions.js';
import { createProcessor, type ProcessResult } from '../processor.js';
import { EndpointScorer, type EndpointScorerOptions } from './endpoint-scorer.js';
import type { ProcessorFactory, ScoringBackend } from './lambda-runtime.js';

export interface FactoryOptions {
  /** Name used for the model in findings (default: the file's base name, or the endpoint name). */
  modelName?: string;
  pairs?: PairSpec | string;
  policy?: FindingPolicyOptions;
}

const NO_HISTORY: EntityHistory = { size: () => 0, nearest: () => undefined };

/**
 * The part of a DetectorModel the processor uses, answered from pre-fetched endpoint scores. The endpoint speaks
 * SageMaker IP Insights' protocol (dot_product), so findings name the IP Insights detector.
 */
class EndpointModel {
  readonly detector = ipinsights;
  readonly header = { data_crc32: 0 };
  readonly calibration = undefined;
  collecting = true;
  readonly collected: Pair[] = [];
  private readonly scores = new Map<string, ScoreResult>();
  constructor(readonly path: string) {}

  static key(p: Pair): string {
    return `${p.entity}\u0000${p.ip}`;
  }
  fill(pairs: readonly Pair[], results: readonly ScoreResult[]): void {
    this.scores.clear();
    pairs.forEach((p, i) => this.scores.set(EndpointModel.key(p), results[i]!));
  }
  /** Collecting: remember the pairs (scores 0). Then: the endpoint's scores; a pair it was not asked (an invalid address) is NaN. */
  scoreBatch(pairs: readonly Pair[]): BatchScores {
    const out: BatchScores = { native: new Float64Array(pairs.length), known: new Uint8Array(pairs.length) };
    pairs.forEach((p, i) => {
      if (this.collecting) {
        this.collected.push(p);
        out.known[i] = 1;
        return;
      }
      const r = this.scores.get(EndpointModel.key(p));
      out.native[i] = r ? r.dot_product : Number.NaN;
      out.known[i] = r && r.entity_known !== false ? 1 : 0;
    });
    return out;
  }
  explain(): Explanation {
    return { reason: '', details: { scored_by: 'endpoint' } };
  }
  entityInfo(entity: string): { known: boolean; count: number } {
    void entity;
    return { known: true, count: 0 };
  }
  history(): EntityHistory {
    return NO_HISTORY;
  }
}

/** Build processors for the Lambda runtime (and any caller that needs model-file or endpoint scoring). */
export function createProcessorFactory(opts: FactoryOptions = {}): ProcessorFactory {
  return async (backend: ScoringBackend) => {
    if (backend.kind === 'model') {
      const p = await createProcessor({ model: backend.path, ...(opts.modelName ? { modelName: opts.modelName } : {}), ...(opts.pairs ? { pairs: opts.pairs } : {}), ...(opts.policy ? { policy: opts.policy } : {}) });
      return { process: p.process, close: () => p.close() };
    }
    const scorerOpts: EndpointScorerOptions = { endpointName: backend.endpointName, ...(backend.endpointUrl ? { endpointUrl: backend.endpointUrl } : {}), ...(backend.region ? { region: backend.region } : {}) };
    const scorer = await EndpointScorer.create(scorerOpts);
    const stand = new EndpointModel(`${opts.modelName ?? backend.endpointName}.endpoint`);
    const common = { model: stand as unknown as DetectorModel, modelName: opts.modelName ?? backend.endpointName, ...(opts.pairs ? { pairs: opts.pairs } : {}) };
    const collector = await createProcessor({ ...common, policy: {} });
    const real = await createProcessor({ ...common, ...(opts.policy ? { policy: opts.policy } : {}) });
    let busy: Promise<unknown> = Promise.resolve();
    const process = async (file: string, ref: SourceRef): Promise<ProcessResult> => {
      // The stand-in model is shared by both passes: one object at a time.
      const run = busy.then(async () => {
        stand.collecting = true;
        stand.collected.length = 0;
        await collector.process(file, ref);
        // Invalid addresses are not sent (an endpoint rejects the whole request); the real pass counts them as bad.
        const seen = new Map<string, Pair>();
        const words = new Uint32Array(4);
        for (const p of stand.collected) if (parseIpInto(p.ip, words) !== 0) seen.set(EndpointModel.key(p), p);
        const unique = [...seen.values()];
        stand.fill(unique, await scorer.score(unique));
        stand.collecting = false;
        return real.process(file, ref);
      });
      busy = run.catch(() => undefined);
      return run;
    };
    return {
      process,
      close: () => {
        collector.close();
        real.close();
        scorer.close();
      },
    };
  };
}
