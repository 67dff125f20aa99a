/** Content negotiation and the JSON / JSON Lines request parsers. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../src/core/errors.js';
import { negotiateAccept, parseJsonInstances, parseJsonLines, requestFormat } from '../../src/serve/formats.js';

describe('formats', () => {
  it('recognises request content types with parameters and any case', () => {
    assert.equal(requestFormat('text/csv'), 'text/csv');
    assert.equal(requestFormat('Text/CSV; charset=utf-8'), 'text/csv');
    assert.equal(requestFormat('application/jsonlines;charset=UTF-8'), 'application/jsonlines');
    assert.equal(requestFormat('application/octet-stream'), undefined);
    assert.equal(requestFormat(undefined), undefined);
  });

  it('negotiates Accept, including verbose=True in any case and q values', () => {
    assert.deepEqual(negotiateAccept(undefined), { type: 'application/json', verbose: false });
    assert.deepEqual(negotiateAccept('*/*'), { type: 'application/json', verbose: false });
    assert.deepEqual(negotiateAccept('application/jsonlines'), { type: 'application/jsonlines', verbose: false });
    assert.deepEqual(negotiateAccept('application/jsonlines; verbose=True'), { type: 'application/jsonlines', verbose: true });
    assert.deepEqual(negotiateAccept('application/json;verbose=true'), { type: 'application/json', verbose: true });
    assert.deepEqual(negotiateAccept('application/json; Verbose=TRUE'), { type: 'application/json', verbose: true });
    assert.deepEqual(negotiateAccept('application/json; verbose=false'), { type: 'application/json', verbose: false });
    assert.deepEqual(negotiateAccept('application/json;q=0.5, application/jsonlines'), { type: 'application/jsonlines', verbose: false });
    assert.equal(negotiateAccept('text/csv'), undefined);
    assert.equal(negotiateAccept('application/json;q=0'), undefined);
  });

  it('parses both JSON instance shapes, mixed', () => {
    const pairs = parseJsonInstances(
      '{"instances": [{"data": {"features": {"values": ["entity_id_1", "192.168.1.2"]}}}, {"features": ["entity_id_2", "10.10.1.2"]}]}',
      'body',
    );
    assert.deepEqual(pairs, [
      { entity: 'entity_id_1', ip: '192.168.1.2' },
      { entity: 'entity_id_2', ip: '10.10.1.2' },
    ]);
  });

  it('parses JSON Lines in either shape, skipping blank lines and CRLF', () => {
    const pairs = parseJsonLines('{"features": ["a", "1.2.3.4"]}\r\n\r\n{"data": {"features": {"values": ["b", "5.6.7.8"]}}}', 'body');
    assert.deepEqual(pairs, [
      { entity: 'a', ip: '1.2.3.4' },
      { entity: 'b', ip: '5.6.7.8' },
    ]);
  });

  it('names the bad instance or line', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => parseJsonInstances('[]', 'body'), /instances/],
      [() => parseJsonInstances('{"instances": [{"features": ["a"]}]}', 'body'), /instances\[0\].*exactly 2 values/],
      [() => parseJsonInstances('{"instances": [{"features": ["a", "1.2.3.4"]}, {"data": [1, 2]}]}', 'body'), /instances\[1\]/],
      [() => parseJsonInstances('{"instances": [{"features": ["a", null]}]}', 'body'), /ip must be a string/],
      [() => parseJsonInstances('{"instances": [\n\n{"features": ["a", "1.2.3.4"]\n', 'body'), /body:\d+: invalid JSON/],
      [() => parseJsonLines('{"features": ["a", "1.2.3.4"]}\n{"features": ["a", "1.2.3.4"]', 'body'), /body:2: invalid JSON/],
      [() => parseJsonLines('{"features": ["a", "1.2.3.4"]}\n\n["a", "1.2.3.4"]', 'body'), /body:3/],
    ];
    for (const [fn, re] of cases) {
      assert.throws(fn, (err: unknown) => err instanceof ParseError && re.test(err.message), String(re));
    }
  });
});
