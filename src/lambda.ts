/**
 * AWS Lambda entry point (bundled to lambda.mjs by scripts/build-lambda.ts; handler `lambda.handler`): an SQS event
 * source batch of S3 / Security Lake object notifications -> per-object scoring and findings ->
 * `{ batchItemFailures }` naming only the failed messages (ReportBatchItemFailures). See docs/aws.md and deploy/sam/.
 *
 * Configuration comes from the environment (src/monitor/aws/lambda-config.ts), validated at the first invocation;
 * clients, the model and the processor are kept for the life of the container. Every line the function writes is
 * JSON (src/monitor/aws/lambda-log.ts), and each invocation ends with one Embedded Metric Format document: Messages,
 * Objects, Records, Findings, Failures, Deferred, Lag.
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSHandler } from 'aws-lambda';
import { errorMessage } from './core/errors.js';
import { log as coreLog } from './core/log.js';
import { emfDocument } from './monitor/aws/emf.js';
import { parseLambdaEnv } from './monitor/aws/lambda-config.js';
import { emptyStats, handleSqsEvent, type BatchStats } from './monitor/aws/lambda-handler.js';
import { LambdaLog, stdoutWrite } from './monitor/aws/lambda-log.js';
import { buildLambdaState, type LambdaState, type ProcessorFactory } from './monitor/aws/lambda-runtime.js';
import { createProcessorFactory } from './monitor/aws/processor-factory.js';

export interface SqsHandler {
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
  /** Release clients and the processor (tests; Lambda never calls it). */
  close(): Promise<void>;
}

export interface HandlerOptions {
  /** Where lines go (default: process.stdout). */
  write?: (line: string) => void;
  /**
   * Also turn the process's other output into JSON lines: seclake's status lines (core/log, stderr text otherwise)
   * and Node's process warnings (the AWS SDK's among them). For the function Lambda runs; not for tests sharing a
   * process.
   */
  captureProcessOutput?: boolean;
  now?: () => number;
}

const DEFAULT_NAMESPACE = 'seclake';

function metricsDocument(stats: BatchStats, namespace: string, functionName: string, requestId: string | undefined, now: number): Record<string, unknown> {
  return emfDocument({
    namespace,
    dimensions: { FunctionName: functionName },
    metrics: [
      { name: 'Messages', unit: 'Count', value: stats.messages },
      { name: 'Objects', unit: 'Count', value: stats.objects },
      { name: 'Records', unit: 'Count', value: stats.records },
      { name: 'Findings', unit: 'Count', value: stats.findings },
      { name: 'Failures', unit: 'Count', value: stats.failures },
      { name: 'Deferred', unit: 'Count', value: stats.deferred },
      { name: 'Lag', unit: 'Milliseconds', value: stats.lagMs },
    ],
    properties: { ...(requestId ? { requestId } : {}), message: 'seclake monitor invocation metrics' },
    timestamp: now,
  });
}

function captureProcessOutput(out: LambdaLog): void {
  Object.assign(coreLog, {
    info: (msg: string) => out.line('INFO', msg),
    warn: (msg: string) => out.line('WARN', msg),
    error: (msg: string) => out.line('ERROR', msg),
  });
  // Node prints warnings as text on stderr through its own 'warning' listener: replace it.
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => out.line('WARN', w.message, { warning: w.name, ...(w.code ? { code: w.code } : {}) }));
}

/** A handler bound to an environment (process.env in Lambda; explicit in tests). */
export function createHandler(env: Record<string, string | undefined> = process.env, factory?: ProcessorFactory, opts: HandlerOptions = {}): SqsHandler {
  const now = opts.now ?? Date.now;
  const out = new LambdaLog(opts.write ?? stdoutWrite, now);
  let captured = false;
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
  const handler = (async (event: SQSEvent, context: Context) => {
    if (opts.captureProcessOutput && !captured) {
      captured = true;
      captureProcessOutput(out);
    }
    out.requestId = context?.awsRequestId;
    const stats = emptyStats();
    let namespace = DEFAULT_NAMESPACE;
    const functionName = env.AWS_LAMBDA_FUNCTION_NAME || context?.functionName || 'seclake-monitor';
    try {
      let s: LambdaState;
      try {
        s = await init();
        namespace = s.env.METRICS_NAMESPACE;
        await s.refresh();
      } catch (err) {
        const n = Array.isArray(event?.Records) ? event.Records.length : 0;
        stats.messages = n;
        stats.failures = n;
        out.log('error', 'seclake monitor cannot start; the whole batch will be retried', { error: errorMessage(err) });
        throw err;
      }
      const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? () => context.getRemainingTimeInMillis() : undefined;
      return await handleSqsEvent(event, s.runtime, {
        log: out.log,
        ...(remaining ? { remainingMs: remaining } : {}),
        reserveMs: s.env.REMAINING_TIME_MARGIN_SECONDS * 1000,
        stats,
        now,
      });
    } finally {
      out.document(metricsDocument(stats, namespace, functionName, out.requestId, now()));
      out.requestId = undefined;
    }
  }) as SqsHandler;
  handler.close = async () => {
    if (!state) return;
    const s = await state.catch(() => undefined);
    state = undefined;
    await s?.close();
  };
  return handler;
}

export const handler = createHandler(process.env, undefined, { captureProcessOutput: true }) satisfies SQSHandler;
