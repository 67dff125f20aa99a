/**
 * Real AWS clients against the server on 127.0.0.1 (no mocks): the AWS SDK for JavaScript v3, the AWS
 * CLI and boto3 (called exactly as the reference Lambda calls it), with dummy credentials and region.
 * The CLI and boto3 come from the machine image; if they are missing this test fails and says so.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import { tempDir } from './helpers.js';
import { startServer, type TestServer } from './real-model.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LAMBDA_INVOKE = path.join(HERE, 'fixtures', 'lambda_invoke.py');
const CSV = 'i-0dee580a031e28c14,10.0.2.125\ni-05891769c3b7b2879,10.0.3.238\ni-0dee580a031e28c14,10.0.2.145\ni-05891769c3b7b2879,10.0.10.11\n';
const BAD_CSV = 'i-0dee580a031e28c14,10.0.2.125\ni-05891769c3b7b2879\n';
const KEY_ID = 'AKIDSECLAKETEST';
const SECRET = 'seclake-test-secret-key';

function awsEnv(tmp: string, keyId = 'AKIDDUMMY', secret = 'dummy-secret'): NodeJS.ProcessEnv {
  const cfg = path.join(tmp, 'aws-config');
  writeFileSync(cfg, '');
  // The caller's environment minus any AWS settings, plus dummy credentials, a region and empty config files.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  return {
    ...env,
    AWS_ACCESS_KEY_ID: keyId,
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: cfg,
    AWS_SHARED_CREDENTIALS_FILE: cfg,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr: stderr + (err && code === -1 ? String(err) : '') });
    });
  });
}

/** Fails (not skips) with a clear message when a required external client is missing. */
function requireTool(label: string, cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0) {
    assert.fail(`${label} is required for this test (the CI image has it) but is not usable: ` +
      `\`${cmd} ${args.join(' ')}\` ${r.error ? `failed: ${r.error.message}` : `exited ${r.status}: ${r.stderr.trim().slice(0, 300)}`}`);
  }
}

function sdkClient(url: string, keyId = 'AKIDDUMMY', secret = 'dummy-secret', maxAttempts?: number): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: keyId, secretAccessKey: secret }, ...(maxAttempts ? { maxAttempts } : {}) });
}

type Predictions = { predictions: { dot_product: number }[] };

describe('real clients', () => {
  let srv: TestServer;
  let tmp: { dir: string; cleanup: () => void };
  before(async () => {
    srv = await startServer({ name: 'ipinsights-test' });
    tmp = tempDir('clients');
    writeFileSync(path.join(tmp.dir, 'req.csv'), CSV);
    writeFileSync(path.join(tmp.dir, 'bad.csv'), BAD_CSV);
  });
  after(async () => {
    await srv.close();
    tmp.cleanup();
  });

  it('AWS SDK v3 InvokeEndpointCommand: CSV in, JSON out, SageMaker headers surfaced', async () => {
    const client = sdkClient(srv.url);
    try {
      const out = await client.send(new InvokeEndpointCommand({ EndpointName: 'ipinsights-test', ContentType: 'text/csv', Body: new TextEncoder().encode(CSV) }));
      assert.equal(out.ContentType, 'application/json');
      assert.equal(out.InvokedProductionVariant, 'AllTraffic');
      assert.match(out.$metadata.requestId ?? '', /^[0-9a-f-]{36}$/);
      const body = JSON.parse(new TextDecoder().decode(out.Body)) as Predictions;
      assert.equal(body.predictions.length, 4);
      const verbose = await client.send(new InvokeEndpointCommand({ EndpointName: 'ipinsights-test', ContentType: 'application/json', Accept: 'application/jsonlines; verbose=True',
        Body: new TextEncoder().encode(JSON.stringify({ instances: [{ features: ['i-0dee580a031e28c14', '10.0.2.125'] }] })) }));
      assert.equal(verbose.ContentType, 'application/jsonlines');
      const line = JSON.parse(new TextDecoder().decode(verbose.Body).trim()) as Record<string, unknown>;
      assert.ok(Array.isArray(line.entity_embedding) && Array.isArray(line.ip_embedding));
      assert.equal(line.dot_product, body.predictions[0]!.dot_product);
    } finally {
      client.destroy();
    }
  });

  it('AWS SDK v3 throws ModelError (OriginalStatusCode 400, line named) and ValidationError', async () => {
    const client = sdkClient(srv.url);
    try {
      await assert.rejects(
        client.send(new InvokeEndpointCommand({ EndpointName: 'ipinsights-test', ContentType: 'text/csv', Body: new TextEncoder().encode(BAD_CSV) })),
        (err: unknown) => {
          assert.ok(err instanceof ModelError, `expected ModelError, got ${String(err)}`);
          assert.equal(err.name, 'ModelError');
          assert.equal(err.OriginalStatusCode, 400);
          assert.match(err.OriginalMessage ?? '', /:2\b/);
          assert.equal(err.$metadata.httpStatusCode, 424);
          return true;
        },
      );
      await assert.rejects(
        client.send(new InvokeEndpointCommand({ EndpointName: 'no-such-endpoint', ContentType: 'text/csv', Body: new TextEncoder().encode(CSV) })),
        (err: unknown) => {
          assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
          assert.match(err.message, /Endpoint no-such-endpoint not found/);
          return true;
        },
      );
    } finally {
      client.destroy();
    }
  });

  it('AWS CLI v1: aws sagemaker-runtime invoke-endpoint writes the predictions and prints the headers', async () => {
    requireTool('The AWS CLI (`aws`)', 'aws', ['--version']);
    const env = awsEnv(tmp.dir);
    const outFile = path.join(tmp.dir, 'out.json');
    const r = await run('aws', ['sagemaker-runtime', 'invoke-endpoint', '--endpoint-url', srv.url, '--endpoint-name', 'ipinsights-test',
      '--content-type', 'text/csv', '--body', `fileb://${path.join(tmp.dir, 'req.csv')}`, outFile], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ContentType: 'application/json', InvokedProductionVariant: 'AllTraffic' });
    assert.equal((JSON.parse(readFileSync(outFile, 'utf8')) as Predictions).predictions.length, 4);

    const bad = await run('aws', ['sagemaker-runtime', 'invoke-endpoint', '--endpoint-url', srv.url, '--endpoint-name', 'ipinsights-test',
      '--content-type', 'text/csv', '--body', `fileb://${path.join(tmp.dir, 'bad.csv')}`, path.join(tmp.dir, 'bad-out.json')], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /An error occurred \(ModelError\) when calling the InvokeEndpoint operation/);
    assert.match(bad.stderr, /Received client error \(400\)/);
  });

  it('boto3 as the reference Lambda calls it: scores, then ModelError and ValidationError with the right codes', async () => {
    requireTool('python3 with boto3', 'python3', ['-c', 'import boto3']);
    const env = { ...awsEnv(tmp.dir), ENDPOINT_URL: srv.url, ENDPOINT_NAME: 'ipinsights-test', BODY_FILE: path.join(tmp.dir, 'req.csv') };
    const ok = await run('python3', [LAMBDA_INVOKE], env);
    assert.equal(ok.code, 0, ok.stderr);
    const res = JSON.parse(ok.stdout) as { ok: boolean; result: Predictions; ContentType: string; InvokedProductionVariant: string; RequestId: string };
    assert.equal(res.ok, true, ok.stdout);
    assert.equal(res.result.predictions.length, 4);
    assert.equal(res.ContentType, 'application/json');
    assert.equal(res.InvokedProductionVariant, 'AllTraffic');
    assert.match(res.RequestId, /^[0-9a-f-]{36}$/);

    const bad = await run('python3', [LAMBDA_INVOKE], { ...env, BODY_FILE: path.join(tmp.dir, 'bad.csv') });
    assert.equal(bad.code, 0, bad.stderr);
    const me = JSON.parse(bad.stdout) as Record<string, unknown>;
    assert.equal(me.ok, false);
    assert.equal(me.code, 'ModelError');
    assert.equal(me.exception, 'ModelError');
    assert.equal(me.is_model_error, true);
    assert.equal(me.status, 424);
    assert.equal(me.OriginalStatusCode, 400);
    assert.match(String(me.OriginalMessage), /:2\b/);
    assert.match(String(me.message), /Received client error \(400\)/);

    const unknown = await run('python3', [LAMBDA_INVOKE], { ...env, ENDPOINT_NAME: 'no-such-endpoint' });
    const ve = JSON.parse(unknown.stdout) as Record<string, unknown>;
    assert.equal(ve.code, 'ValidationError', unknown.stdout + unknown.stderr);
    assert.equal(ve.is_validation_error, true);
    assert.equal(ve.status, 400);
  });

  it('a body over 6 MiB is a ValidationError for the SDK and for boto3', async () => {
    requireTool('python3 with boto3', 'python3', ['-c', 'import boto3']);
    const big = 'i-0dee580a031e28c14,10.0.2.125\n'.repeat(Math.ceil((6 * 1024 * 1024 + 1) / 31));
    const bigFile = path.join(tmp.dir, 'big.csv');
    writeFileSync(bigFile, big);
    const client = sdkClient(srv.url);
    try {
      await assert.rejects(
        client.send(new InvokeEndpointCommand({ EndpointName: 'ipinsights-test', ContentType: 'text/csv', Body: new TextEncoder().encode(big) })),
        (err: unknown) => err instanceof ValidationError && /too large/.test(err.message),
      );
    } finally {
      client.destroy();
    }
    const r = await run('python3', [LAMBDA_INVOKE], { ...awsEnv(tmp.dir), ENDPOINT_URL: srv.url, ENDPOINT_NAME: 'ipinsights-test', BODY_FILE: bigFile });
    const ve = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(ve.code, 'ValidationError', r.stdout + r.stderr);
  });
});

describe('real clients with SigV4 auth enabled', () => {
  let srv: TestServer;
  let tmp: { dir: string; cleanup: () => void };
  before(async () => {
    srv = await startServer({ name: 'secured', app: { accessKeys: new Map([[KEY_ID, SECRET]]) } });
    tmp = tempDir('sigv4');
    writeFileSync(path.join(tmp.dir, 'req.csv'), CSV);
  });
  after(async () => {
    await srv.close();
    tmp.cleanup();
  });

  it('a correctly signed SDK v3 request passes; a wrong secret or unknown key gets 403', async () => {
    const good = sdkClient(srv.url, KEY_ID, SECRET);
    const wrong = sdkClient(srv.url, KEY_ID, 'not-the-secret', 1);
    const stranger = sdkClient(srv.url, 'AKIDSTRANGER', SECRET, 1);
    try {
      const out = await good.send(new InvokeEndpointCommand({ EndpointName: 'secured', ContentType: 'text/csv', Body: new TextEncoder().encode(CSV) }));
      assert.equal((JSON.parse(new TextDecoder().decode(out.Body)) as Predictions).predictions.length, 4);
      for (const [client, code] of [[wrong, 'InvalidSignatureException'], [stranger, 'UnrecognizedClientException']] as const) {
        await assert.rejects(
          client.send(new InvokeEndpointCommand({ EndpointName: 'secured', ContentType: 'text/csv', Body: new TextEncoder().encode(CSV) })),
          (err: unknown) => {
            const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
            assert.equal(e.$metadata?.httpStatusCode, 403);
            assert.equal(e.name, code);
            return true;
          },
        );
      }
    } finally {
      good.destroy();
      wrong.destroy();
      stranger.destroy();
    }
  });

  it('boto3 and the AWS CLI sign requests the verifier accepts; a wrong secret is refused', async () => {
    requireTool('python3 with boto3', 'python3', ['-c', 'import boto3']);
    requireTool('The AWS CLI (`aws`)', 'aws', ['--version']);
    const env = { ...awsEnv(tmp.dir, KEY_ID, SECRET), ENDPOINT_URL: srv.url, ENDPOINT_NAME: 'secured', BODY_FILE: path.join(tmp.dir, 'req.csv') };
    const ok = JSON.parse((await run('python3', [LAMBDA_INVOKE], env)).stdout) as { ok: boolean };
    assert.equal(ok.ok, true);
    const bad = JSON.parse((await run('python3', [LAMBDA_INVOKE], { ...env, AWS_SECRET_ACCESS_KEY: 'wrong' })).stdout) as Record<string, unknown>;
    assert.equal(bad.code, 'InvalidSignatureException');
    assert.equal(bad.status, 403);
    const cli = await run('aws', ['sagemaker-runtime', 'invoke-endpoint', '--endpoint-url', srv.url, '--endpoint-name', 'secured', '--content-type', 'text/csv',
      '--body', `fileb://${path.join(tmp.dir, 'req.csv')}`, path.join(tmp.dir, 'out.json')], env);
    assert.equal(cli.code, 0, cli.stderr);
  });
});
