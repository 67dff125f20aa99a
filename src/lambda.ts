/**
 * AWS Lambda entry point (compiled to dist/lambda.js; handler `dist/lambda.handler`): an SQS event source batch of
 * S3 / Security Lake object notifications -> per-object scoring and findings -> `{ batchItemFailures }` naming only
 * the failed messages (ReportBatchItemFailures). See docs/aws.md and deploy/sam/.
 *
 * Configuration comes from the environment (src/monitor/aws/lambda-config.ts), validated at the first invocation;
 * clients, the model and the processor are kept for the life of the container.
 */
import { parseLambdaEnv } from './monitor/aws/lambda-config.js';
import { handleSqsEvent, jsonLog, type LambdaContextLike, type SqsBatchResponse, type SqsEvent } from './monitor/aws/lambda-handler.js';
import { buildLambdaState, type LambdaState, type ProcessorFactory } from './monitor/aws/lambda-runtime.js';
import { createProcessorFactory } from './monitor/aws/processor-factory.js';
import { errorMessage } from './core/errors.js';

export type { SqsEvent, SqsBatchResponse } from './monitor/aws/lambda-handler.js';

export interface SqsHandler {
  (event: SqsEvent, context?: LambdaContextLike): Promise<SqsBatchResponse>;
  /** Release clients and the processor (tests; Lambda never calls it). */
  close(): Promise<void>;
}

/** A handler bound to an environment (process.env in Lambda; explicit in tests). */
export function createHandler(env: Record<string, string | undefined> = process.env, factory?: ProcessorFactory): SqsHandler {
  let state: Promise<LambdaState> | undefined;
  const init = (): Promise<LambdaState> => {
    if (!state) {
      state = (async () => {
        const cfg = parseLambdaEnv(env);
        return buildLambdaState(cfg, factory ?? createProcessorFactory({ ...(cfg.MODEL_NAME ? { modelName: cfg.MODEL_NAME } : {}), ...(cfg.PAIRS ? { pairs: cfg.PAIRS } : {}) }));
      })();
      // A failed start is retried by the next invocation (the batch goes back to the queue meanwhile).
      state.catch(() => {
        state = undefined;
      });
    }
    return state;
  };
  const handler = (async (event: SqsEvent, context?: LambdaContextLike) => {
    let s: LambdaState;
    try {
      s = await init();
      await s.refresh();
    } catch (err) {
      jsonLog('error', 'seclake monitor cannot start; the whole batch will be retried', { error: errorMessage(err), requestId: context?.awsRequestId });
      throw err;
    }
    return handleSqsEvent(event, s.runtime);
  }) as SqsHandler;
  handler.close = async () => {
    if (!state) return;
    const s = await state.catch(() => undefined);
    state = undefined;
    await s?.close();
  };
  return handler;
}

export const handler = createHandler();
