// Invokes a built Lambda artifact once, in this (fresh) process, the way the Lambda Node.js runtime loads a handler
// (aws-lambda-nodejs-runtime-interface-client, src/UserFunction.js): `_HANDLER` is `<module path>.<export path>`,
// resolved under LAMBDA_TASK_ROOT as the extensionless file, then `.js` (CommonJS, no "type": "module" here),
// `.mjs` (imported), `.cjs`. The event is read from the file SECLAKE_EVENT_FILE; the result is written to
// SECLAKE_RESULT_FILE (or, on error, { errorType, errorMessage } as Lambda reports it). Plain JavaScript, no tsx: it
// must run the artifact as Lambda does, with nothing of the repository on the module path.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';

const root = process.env.LAMBDA_TASK_ROOT;
const full = process.env._HANDLER;
if (!root || !full) throw new Error('set LAMBDA_TASK_ROOT and _HANDLER');
const base = path.basename(full);
const moduleRoot = full.slice(0, full.length - base.length);
const m = /^([^.]*)\.(.*)$/.exec(base);
if (!m) throw new Error(`Runtime.MalformedHandlerName: ${full}`);
const file = path.resolve(root, moduleRoot, m[1]);
const require = createRequire(path.join(root, 'package.json'));

async function load() {
  if (existsSync(file)) return require(file);
  if (existsSync(`${file}.js`)) return require(`${file}.js`);
  if (existsSync(`${file}.mjs`)) return import(pathToFileURL(`${file}.mjs`).href);
  if (existsSync(`${file}.cjs`)) return require(`${file}.cjs`);
  throw new Error(`Runtime.ImportModuleError: Cannot find module '${m[1]}' under ${root}`);
}

const mod = await load();
const fn = m[2].split('.').reduce((o, k) => (o ? o[k] : undefined), mod);
if (typeof fn !== 'function') throw new Error(`Runtime.HandlerNotFound: ${full} is undefined or not exported`);
const event = JSON.parse(readFileSync(process.env.SECLAKE_EVENT_FILE, 'utf8'));
const timeoutMs = Number(process.env.SECLAKE_TIMEOUT_SECONDS ?? '300') * 1000;
const deadline = Date.now() + timeoutMs;
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'seclake-monitor';
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION ?? 'us-east-1'}:123456789012:function:${functionName}`,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '1024',
  awsRequestId: process.env.SECLAKE_REQUEST_ID ?? randomUUID(),
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: 'local',
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
};
let result;
try {
  result = await fn(event, context);
} catch (err) {
  result = { errorType: err?.name ?? 'Error', errorMessage: err?.message ?? String(err) };
}
writeFileSync(process.env.SECLAKE_RESULT_FILE, JSON.stringify(result ?? null));
// Lambda freezes the process after the response; here it ends (open sockets and DuckDB would keep it alive).
process.exit(0);
