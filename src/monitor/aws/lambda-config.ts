/**
 * The Lambda handler's configuration: environment variables, validated with zod (all problems reported at once,
 * each naming its variable). Empty strings count as unset, since CloudFormation `!If [cond, value, '']` writes them.
 */
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import { PAIR_DEFINITIONS } from '../../detectors/pairs/definitions.js';
import { parseS3Uri } from './notifications.js';

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optional = <T extends z.ZodTypeAny>(t: T) => z.preprocess(blankToUndefined, t.optional());

const s3Uri = z.string().refine((s) => parseS3Uri(s) !== undefined, { message: 'must be an s3://bucket/key URI' });
const s3ObjectUri = s3Uri.refine((s) => (parseS3Uri(s)?.prefix ?? '') !== '', { message: 'must name an object: s3://bucket/key' });
function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
const httpUrl = z.string().refine(isHttpUrl, { message: 'must be an http(s) URL' });
const intIn = (min: number, max: number, dflt: number) => z.preprocess(blankToUndefined, z.coerce.number().int().min(min).max(max).default(dflt));

export const lambdaEnvSchema = z
  .object({
    /** The model file in S3 (downloaded once per container into TMP_DIR, re-checked by ETag every MODEL_REFRESH_SECONDS). */
    MODEL_S3_URI: optional(s3ObjectUri),
    /** A model file on local disk (a layer, a container image, tests). */
    MODEL_PATH: optional(z.string()),
    /** Score through a SageMaker-compatible endpoint (SageMaker IP Insights, or seclake serve) instead of in-process. */
    ENDPOINT_NAME: optional(z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, 'must be a SageMaker endpoint name')),
    /** The model's name in findings (default: the model file's base name, or the endpoint name). */
    MODEL_NAME: optional(z.string().min(1).max(128)),
    /** Pair definition (a name of PAIR_DEFINITIONS); default: the one the model was trained on (its header says). */
    PAIRS: optional(
      z.string().refine((s) => Object.hasOwn(PAIR_DEFINITIONS, s), { message: `must be one of ${Object.keys(PAIR_DEFINITIONS).join(', ')} (or unset: the model's own definition)` }),
    ),
    /** Where findings go: s3://bucket/prefix. Default: next to the source object (its bucket and lake prefix). */
    FINDINGS_S3_URI: optional(s3Uri),
    /** Dead-letter queue for poison messages (recommended; the SAM template creates one). */
    DLQ_URL: optional(httpUrl),
    /** The source queue's URL (default: from the record's eventSourceARN via GetQueueUrl). */
    QUEUE_URL: optional(httpUrl),
    /** Sinks, `;`-separated specs (seclake monitor --sink syntax). */
    SINKS: optional(z.string()),
    MAX_RECEIVES: intIn(1, 1000, 5),
    BACKOFF_BASE_SECONDS: intIn(0, 43_200, 5),
    BACKOFF_MAX_SECONDS: intIn(0, 43_200, 900),
    MAX_OBJECT_BYTES: intIn(1, 10 * 1024 ** 3, 2 * 1024 ** 3),
    MODEL_REFRESH_SECONDS: intIn(0, 86_400, 300),
    TMP_DIR: z.preprocess(blankToUndefined, z.string().default('/tmp')),
    /** A new message is started only while more than this (plus the batch's longest message so far) is left. */
    REMAINING_TIME_MARGIN_SECONDS: intIn(0, 900, 30),
    /** CloudWatch namespace of the metrics (Embedded Metric Format lines). */
    METRICS_NAMESPACE: z.preprocess(blankToUndefined, z.string().min(1).max(255).refine((s) => !s.startsWith('AWS/'), { message: 'must not start with AWS/ (reserved for AWS services)' }).default('seclake')),
    /** Set by Lambda: the metrics' FunctionName dimension. */
    AWS_LAMBDA_FUNCTION_NAME: optional(z.string()),
    /** Endpoint overrides (VPC endpoints, local emulators). */
    S3_ENDPOINT_URL: optional(httpUrl),
    SQS_ENDPOINT_URL: optional(httpUrl),
    SAGEMAKER_ENDPOINT_URL: optional(httpUrl),
    AWS_REGION: optional(z.string()),
  })
  .superRefine((v, ctx) => {
    const sources = [v.MODEL_S3_URI && 'MODEL_S3_URI', v.MODEL_PATH && 'MODEL_PATH', v.ENDPOINT_NAME && 'ENDPOINT_NAME'].filter(Boolean);
    if (sources.length === 0) ctx.addIssue({ code: 'custom', path: ['MODEL_S3_URI'], message: 'set one of MODEL_S3_URI, MODEL_PATH or ENDPOINT_NAME' });
    if (sources.length > 1) ctx.addIssue({ code: 'custom', path: ['MODEL_S3_URI'], message: `set only one of MODEL_S3_URI, MODEL_PATH and ENDPOINT_NAME (got ${sources.join(', ')})` });
    if (v.BACKOFF_MAX_SECONDS < v.BACKOFF_BASE_SECONDS) ctx.addIssue({ code: 'custom', path: ['BACKOFF_MAX_SECONDS'], message: 'must be at least BACKOFF_BASE_SECONDS' });
  });

export type LambdaEnv = z.infer<typeof lambdaEnvSchema>;

/** Parse the handler's environment; throws ConfigError listing every bad variable. */
export function parseLambdaEnv(env: Record<string, string | undefined>): LambdaEnv {
  const picked: Record<string, unknown> = {};
  for (const k of Object.keys(lambdaEnvSchema.shape)) picked[k] = env[k];
  const r = lambdaEnvSchema.safeParse(picked);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid Lambda environment: ${issues.join('; ')}`, r.error.issues.map((i) => i.path.join('.')));
  }
  return r.data;
}
