/**
 * Fuzz: the endpoint's request bodies (text/csv, application/json instances, application/jsonlines; src/serve/formats.ts)
 * and one invocation's model work (src/serve/score-body.ts) with both detectors' real models (IP Insights and
 * history, trained in-process on a small synthetic set), on mutated valid bodies and random bytes and unicode.
 *
 * Properties: parsing never throws and reports a malformed record as a ParseError naming the body and the record
 * (line, or `instances[i]`) with a reason; the records before it are kept in order; a parsed record has a non-empty
 * trimmed entity. scoreBody either answers (one prediction per record, in the model's wire format, finite scores) or
 * throws a ParseError naming the record at fault, never anything else. No hang (watchdog), bounded heap.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ParseError } from '../../src/core/errors.js';
import { detectorOf, loadModel } from '../../src/detectors/index.js';
import { loadPairsCsv } from '../../src/detectors/pairs/data.js';
import { parseFeatures } from '../../src/serve/features.js';
import { parsePairs, type AcceptChoice, type RequestFormat } from '../../src/serve/formats.js';
import type { ServableModel } from '../../src/serve/registry.js';
import { scoreBody } from '../../src/serve/score-body.js';
import { syntheticPairs, trainTinyModel } from '../serve/real-model.js';
import { asBytes, describeInput, heapMiB, mutatedJson, mutatedText, params, randomBytes, startWatchdog, tokenArb, type Watchdog } from './support.js';

const FORMATS: readonly RequestFormat[] = ['text/csv', 'application/json', 'application/jsonlines'];
const SOURCE: Record<RequestFormat, string> = { 'text/csv': 'text/csv body', 'application/json': 'application/json body', 'application/jsonlines': 'application/jsonlines body' };

const VALID: Record<RequestFormat, string[]> = {
  'text/csv': ['user_1,10.0.0.1\nuser_2, 192.168.1.2\r\nuser_3,2001:db8::7\n', '"user, quoted",10.1.2.3\n"a""b",::ffff:1.2.3.4\n\n', '42,172.16.0.9'],
  'application/json': [
    '{"instances": [{"data": {"features": {"values": ["user_1", "10.0.0.1"]}}}, {"features": ["user_2", "192.168.1.2"]}]}',
    '{"instances": [{"features": [7, "fe80::1"]}]}',
  ],
  'application/jsonlines': ['{"features": ["user_1", "10.0.0.1"]}\n{"data": {"features": {"values": ["user_2", "192.168.1.2"]}}}\n', '{"features": ["u", "0.0.0.0"]}\r\n\r\n'],
};

/** Bodies of the features record kind (SageMaker RCF's, plus seclake's optional entity). */
const VALID_FEATURES: Record<RequestFormat, string[]> = {
  'text/csv': ['1.5,16.0\n2,3\r\n\n-1e3,0.25\n'],
  'application/json': ['{"instances": [{"features": [1.5, 16.0]}, {"data": {"features": {"values": [1, 2]}}, "entity": "i-0abc"}]}'],
  'application/jsonlines': ['{"features": [1, 2], "entity": "i-0abc", "group": "g"}\n{"data": {"features": {"values": [3, 4]}}}\n'],
};

/** A body for a format: its valid bodies mutated (as text, and as JSON), another format's, or random bytes. */
function bodyArb(fmt: RequestFormat, valid: Record<RequestFormat, string[]> = VALID): fc.Arbitrary<Buffer> {
  const own = valid[fmt];
  const all = FORMATS.flatMap((f) => valid[f]);
  const texts = fmt === 'text/csv' ? mutatedText(own) : fc.oneof(mutatedText(own), mutatedJson(own));
  const pairsCsv = fc.array(fc.tuple(fc.oneof(tokenArb, fc.stringMatching(/^[a-z_0-9]{1,12}$/)), fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), tokenArb)), { maxLength: 30 }).map((rows) => rows.map((r) => r.join(',')).join('\n'));
  return fc.oneof(
    { weight: 5, arbitrary: asBytes(texts) },
    { weight: 2, arbitrary: asBytes(pairsCsv) },
    { weight: 1, arbitrary: asBytes(mutatedText(all)) },
    { weight: 2, arbitrary: randomBytes },
  );
}

function checkParseError(err: unknown, fmt: RequestFormat, ctx: string): ParseError {
  assert.ok(err instanceof ParseError, `not a ParseError (${String(err)}): ${ctx}`);
  assert.equal(err.file, SOURCE[fmt], `error does not name the body: ${err.message} (${ctx})`);
  assert.ok(err.line !== undefined || err.field !== undefined || /no records/.test(err.message), `error names no record: ${err.message} (${ctx})`);
  assert.ok(err.message.length > err.file.length + 2, `error without a reason: ${err.message} (${ctx})`);
  return err;
}

describe('fuzz: endpoint request bodies', () => {
  let dog: Watchdog;
  let dir: string;
  let heapBefore = 0;
  const models: { name: string; model: ServableModel }[] = [];

  before(async () => {
    heapBefore = heapMiB();
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-fuzz-bodies-'));
    const csv = path.join(dir, 'history.train.csv');
    writeFileSync(csv, syntheticPairs(5000, 100, 1));
    const histPath = path.join(dir, 'history.model');
    await detectorOf('history').train({ train: await loadPairsCsv([csv]), modelPath: histPath, log: () => {} });
    const ipiPath = await trainTinyModel(dir, 'ipi.model');
    for (const [name, file] of [['ipinsights', ipiPath], ['history', histPath]] as const) models.push({ name, model: await loadModel(file) });
    dog = startWatchdog();
  });

  after(async () => {
    await dog?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const fmt of FORMATS) {
    it(`${fmt}: parsePairs never throws; a malformed record is a ParseError naming it`, () => {
      let parsed = 0;
      let refused = 0;
      fc.assert(
        fc.property(bodyArb(fmt), (bytes) => {
          const text = bytes.toString('utf8');
          const ctx = `${fmt} ${describeInput(text)}`;
          dog.beat(`parse ${ctx}`);
          const p = parsePairs(fmt, text, SOURCE[fmt]);
          assert.equal(p.pairs.length, p.where.length, ctx);
          for (let i = 0; i < p.pairs.length; i++) {
            const r = p.pairs[i]!;
            assert.ok(typeof r.entity === 'string' && r.entity !== '' && r.entity === r.entity.trim(), `bad entity ${JSON.stringify(r.entity)}: ${ctx}`);
            assert.equal(typeof r.ip, 'string', ctx);
            if (i > 0) assert.ok(p.where[i]! > p.where[i - 1]!, `records out of order: ${ctx}`);
          }
          if (p.error) {
            refused++;
            checkParseError(p.error, fmt, ctx);
          } else parsed++;
        }),
        params(`parse-${fmt}`, 600),
      );
      assert.ok(parsed > 0 && refused > 0, `${parsed} parsed, ${refused} refused`);
    });
  }

  for (const fmt of FORMATS) {
    it(`${fmt}: parseFeatures never throws; a malformed record is a ParseError naming it`, () => {
      let parsed = 0;
      let refused = 0;
      fc.assert(
        fc.property(bodyArb(fmt, VALID_FEATURES), fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }), (bytes, dim) => {
          const text = bytes.toString('utf8');
          const ctx = `${fmt} dim=${dim} ${describeInput(text)}`;
          dog.beat(`features ${ctx}`);
          const p = parseFeatures(fmt, text, SOURCE[fmt], dim);
          assert.equal(p.records.length, p.where.length, ctx);
          for (const r of p.records) {
            assert.ok(Array.from(r.values).every((v) => Number.isFinite(v)), `non-finite feature: ${ctx}`);
            if (dim !== undefined) assert.equal(r.values.length, dim, `record of the wrong dimension: ${ctx}`);
          }
          if (p.error) {
            refused++;
            checkParseError(p.error, fmt, ctx);
          } else parsed++;
        }),
        params(`features-${fmt}`, 400),
      );
      assert.ok(parsed > 0 && refused > 0, `${parsed} parsed, ${refused} refused`);
    });
  }

  it('scoreBody with both detectors answers one prediction per record or throws a ParseError naming the record', () => {
    const accept = fc.record({ type: fc.constantFrom('application/json' as const, 'application/jsonlines' as const), verbose: fc.boolean() });
    const input = fc.constantFrom(...FORMATS).chain((fmt) => fc.tuple(fc.constant(fmt), bodyArb(fmt), accept, fc.nat({ max: 1 })));
    let answered = 0;
    let refused = 0;
    fc.assert(
      fc.property(input, ([fmt, bytes, acc, m]) => {
        const { name, model } = models[m]!;
        const text = bytes.toString('utf8');
        const ctx = `${name} ${fmt} accept=${JSON.stringify(acc)} ${describeInput(text)}`;
        dog.beat(`score ${ctx}`);
        let out: { body: string; pairs: number };
        try {
          out = scoreBody(model, fmt, text, acc as AcceptChoice, SOURCE[fmt]);
        } catch (err) {
          refused++;
          checkParseError(err, fmt, ctx);
          return;
        }
        answered++;
        assert.ok(out.pairs > 0, ctx);
        const preds: unknown[] =
          acc.type === 'application/json'
            ? (JSON.parse(out.body) as { predictions: unknown[] }).predictions
            : out.body.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
        assert.equal(preds.length, out.pairs, `one prediction per record: ${ctx}`);
        for (const p of preds) {
          for (const v of Object.values(p as Record<string, unknown>)) if (typeof v === 'number') assert.ok(Number.isFinite(v), `non-finite number in ${JSON.stringify(p)}: ${ctx}`);
        }
      }),
      params('score-body', 300),
    );
    assert.ok(answered > 0 && refused > 0, `${answered} answered, ${refused} refused`);
  });

  it('memory stays bounded over all cases', () => {
    const now = heapMiB();
    assert.ok(now - heapBefore < 256, `heap grew from ${heapBefore.toFixed(0)} MiB to ${now.toFixed(0)} MiB`);
  });
});
