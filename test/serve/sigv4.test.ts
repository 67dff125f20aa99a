/** SigV4 verification: the AWS documentation example, and every rejection path. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalPath,
  canonicalRequest,
  formatAmzDate,
  sha256Hex,
  signString,
  signingKey,
  stringToSign,
  verifySigV4,
  type SigV4Request,
} from '../../src/serve/sigv4.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const KEYS = new Map([['AKIDEXAMPLE', SECRET]]);

describe('sigv4', () => {
  it('reproduces the AWS documentation example (IAM ListUsers, 20150830T123600Z)', () => {
    const req: SigV4Request = {
      method: 'GET',
      url: '/?Action=ListUsers&Version=2010-05-08',
      rawHeaders: ['Content-Type', 'application/x-www-form-urlencoded; charset=utf-8', 'Host', 'iam.amazonaws.com', 'X-Amz-Date', '20150830T123600Z'],
      body: Buffer.alloc(0),
    };
    const canonical = canonicalRequest(req, ['content-type', 'host', 'x-amz-date'], sha256Hex(''))!;
    assert.equal(sha256Hex(canonical), 'f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59');
    assert.equal(signingKey(SECRET, '20150830', 'us-east-1', 'iam').toString('hex'), 'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9');
    const sts = stringToSign('20150830T123600Z', '20150830/us-east-1/iam/aws4_request', canonical);
    assert.equal(signString(SECRET, '20150830', 'us-east-1', 'iam', sts), '5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7');
  });

  it('double-encodes and normalises the path like the SDKs do for non-S3 services', () => {
    assert.equal(canonicalPath('/endpoints/my-ep/invocations'), '/endpoints/my-ep/invocations');
    assert.equal(canonicalPath('/endpoints/a%20b/invocations'), '/endpoints/a%2520b/invocations');
    assert.equal(canonicalPath('/a/./b/../c//d/'), '/a/c/d/');
  });

  const now = Date.UTC(2024, 4, 1, 12, 0, 0);
  function signed(opts: { secret?: string; keyId?: string; service?: string; time?: number; body?: string; tamperBody?: string }): SigV4Request {
    const time = opts.time ?? now;
    const amzDate = formatAmzDate(time);
    const date = amzDate.slice(0, 8);
    const body = Buffer.from(opts.body ?? 'user_1,10.0.0.1\n');
    const service = opts.service ?? 'sagemaker';
    const rawHeaders = ['Content-Type', 'text/csv', 'Host', '127.0.0.1:8080', 'X-Amz-Date', amzDate];
    const base: SigV4Request = { method: 'POST', url: '/endpoints/ep/invocations', rawHeaders, body };
    const signedHeaders = ['content-type', 'host', 'x-amz-date'];
    const canonical = canonicalRequest(base, signedHeaders, sha256Hex(body))!;
    const scope = `${date}/us-east-1/${service}/aws4_request`;
    const sig = signString(opts.secret ?? SECRET, date, 'us-east-1', service, stringToSign(amzDate, scope, canonical));
    const auth = `AWS4-HMAC-SHA256 Credential=${opts.keyId ?? 'AKIDEXAMPLE'}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}`;
    return { ...base, rawHeaders: [...rawHeaders, 'Authorization', auth], body: opts.tamperBody !== undefined ? Buffer.from(opts.tamperBody) : body };
  }

  it('accepts a correct signature', () => {
    const r = verifySigV4(signed({}), { keys: KEYS, service: 'sagemaker', now });
    assert.deepEqual(r, { ok: true, accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1' });
  });

  it('rejects a wrong secret, a changed body, an unknown key, another service, a skewed clock and no header', () => {
    const code = (req: SigV4Request): string => {
      const r = verifySigV4(req, { keys: KEYS, service: 'sagemaker', now });
      return r.ok ? 'ok' : r.code;
    };
    assert.equal(code(signed({ secret: 'wrong' })), 'InvalidSignatureException');
    assert.equal(code(signed({ tamperBody: 'user_1,10.0.0.2\n' })), 'InvalidSignatureException');
    assert.equal(code(signed({ keyId: 'AKIDOTHER' })), 'UnrecognizedClientException');
    assert.equal(code(signed({ service: 's3' })), 'InvalidSignatureException');
    assert.equal(code(signed({ time: now - 16 * 60 * 1000 })), 'InvalidSignatureException');
    assert.equal(code(signed({ time: now + 16 * 60 * 1000 })), 'InvalidSignatureException');
    assert.equal(code(signed({ time: now - 14 * 60 * 1000 })), 'ok');
    const noAuth = signed({});
    assert.equal(code({ ...noAuth, rawHeaders: noAuth.rawHeaders.slice(0, -2) }), 'MissingAuthenticationTokenException');
    assert.equal(code({ ...noAuth, rawHeaders: [...noAuth.rawHeaders.slice(0, -2), 'Authorization', 'AWS4-HMAC-SHA256 Credential=x'] }), 'IncompleteSignatureException');
    assert.equal(code({ ...noAuth, rawHeaders: [...noAuth.rawHeaders.slice(0, -2), 'Authorization', 'Bearer abc'] }), 'IncompleteSignatureException');
  });
});
