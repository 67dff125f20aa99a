import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../core/errors.js';
import { pyFloat } from '../../core/py-json.js';
import { parseCsvPairs, splitCsvLine } from '../pairs/csv.js';
import { formatPredictions } from './wire.js';

describe('pyFloat (Python repr of a float, as json.dumps prints it)', () => {
  it('matches Python for the values SageMaker printed and the format edge cases', () => {
    const cases: [number, string][] = [
      [-0.0025198650546371937, '-0.0025198650546371937'],
      [-0.012088463641703129, '-0.012088463641703129'],
      [Math.fround(0.1), '0.10000000149011612'],
      [3, '3.0'],
      [-0, '-0.0'],
      [0, '0.0'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [-1.5e-7, '-1.5e-07'],
      [1e16, '1e+16'],
      [1e15, '1000000000000000.0'],
      [1.2345678901234568e17, '1.2345678901234568e+17'],
      [6.2695699, '6.2695699'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [5e-324, '5e-324'],
    ];
    for (const [x, py] of cases) assert.equal(pyFloat(x), py, String(x));
  });
});

describe('formatPredictions', () => {
  const results = [
    { dot_product: -0.0025198650546371937, entity_embedding: [0.5, -1], ip_embedding: [Math.fround(0.1), 2], entity_known: true },
    { dot_product: 4, entity_embedding: [1, 1], ip_embedding: [2, 2], entity_known: false },
  ];
  it('writes application/json like SageMaker', () => {
    assert.equal(formatPredictions(results, 'application/json', false), '{"predictions": [{"dot_product": -0.0025198650546371937}, {"dot_product": 4.0}]}');
    assert.equal(formatPredictions([], 'application/json', false), '{"predictions": []}');
  });
  it('writes JSON Lines, one record per line', () => {
    assert.equal(formatPredictions(results, 'application/jsonlines', false), '{"dot_product": -0.0025198650546371937}\n{"dot_product": 4.0}\n');
  });
  it('verbose adds ip_embedding and entity_embedding (SageMaker key order), and entity_known only when unknown', () => {
    const v = formatPredictions(results, 'application/jsonlines', true).trimEnd().split('\n');
    assert.equal(v[0], '{"dot_product": -0.0025198650546371937, "ip_embedding": [0.10000000149011612, 2.0], "entity_embedding": [0.5, -1.0]}');
    assert.equal(v[1], '{"dot_product": 4.0, "ip_embedding": [2.0, 2.0], "entity_embedding": [1.0, 1.0], "entity_known": false}');
    const doc = JSON.parse(formatPredictions(results, 'application/json', true)) as { predictions: { dot_product: number; ip_embedding: number[] }[] };
    assert.equal(doc.predictions.length, 2);
    assert.equal(doc.predictions[0]!.ip_embedding[0], Math.fround(0.1));
  });
});

describe('parseCsvPairs', () => {
  it('parses headerless entity,ip lines (trimmed, CRLF, blank lines, trailing newline)', () => {
    assert.deepEqual(parseCsvPairs('entity_id_1, 192.168.1.2\r\nentity_id_2, 10.10.1.2\n\n u3 ,::ffff:1.2.3.4\n', 'req'), [
      { entity: 'entity_id_1', ip: '192.168.1.2' },
      { entity: 'entity_id_2', ip: '10.10.1.2' },
      { entity: 'u3', ip: '::ffff:1.2.3.4' },
    ]);
    assert.deepEqual(parseCsvPairs('', 'req'), []);
  });
  it('supports quoted entities with commas and quotes', () => {
    assert.deepEqual(parseCsvPairs('"a,b",1.2.3.4\n"say ""hi""", 2001:db8::1', 'req'), [
      { entity: 'a,b', ip: '1.2.3.4' },
      { entity: 'say "hi"', ip: '2001:db8::1' },
    ]);
    assert.deepEqual(splitCsvLine('"x" , y'), ['x', ' y']);
    assert.equal(splitCsvLine('"x'), undefined);
  });
  it('throws a ParseError naming the source and line for bad records', () => {
    const check = (body: string, line: number, msg: RegExp): void => {
      assert.throws(
        () => parseCsvPairs(body, 'request.csv'),
        (err: unknown) => err instanceof ParseError && err.line === line && err.file === 'request.csv' && msg.test(err.message) && err.message.startsWith(`request.csv:${line}`),
      );
    };
    check('a,1.2.3.4\nb,1.2.3.4,extra\n', 2, /expected 2 columns \(entity, ip\), got 3/);
    check('a,1.2.3.4\n\njust-one-column\n', 3, /got 1/);
    check(' ,1.2.3.4', 1, /empty entity/);
    check('a,1.2.3.256', 1, /invalid IP address "1.2.3.256"/);
    check('a,1.2.3.4\n"unbalanced,1.2.3.4', 2, /unbalanced quotes/);
  });
});
