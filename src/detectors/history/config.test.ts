import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../core/errors.js';
import { parseHyperparameters } from './config.js';
import { history } from './index.js';

describe('history hyperparameters', () => {
  it('has defaults for every key', () => {
    assert.deepEqual(parseHyperparameters({}), { max_addresses_per_entity: 4096, max_population_addresses: 1048576, count_half: 10, count_weight: 1 });
    assert.deepEqual(
      history.hyperparameters.map((h) => [h.name, h.default]),
      [['max_addresses_per_entity', 4096], ['max_population_addresses', 1048576], ['count_half', 10], ['count_weight', 1]],
    );
    for (const h of history.hyperparameters) assert.ok(h.description.length > 20, h.name);
  });

  it('accepts SageMaker-style strings and numbers (a full example)', () => {
    assert.deepEqual(parseHyperparameters({ max_addresses_per_entity: ' 64 ', max_population_addresses: 5000, count_half: '2.5', count_weight: '0', ignored: undefined }), {
      max_addresses_per_entity: 64,
      max_population_addresses: 5000,
      count_half: 2.5,
      count_weight: 0,
    });
  });

  it('rejects a typo, naming the key', () => {
    assert.throws(
      () => history.parseHyperparameters({ max_adresses_per_entity: '64' }),
      (err: unknown) => err instanceof ConfigError && err.path.includes('max_adresses_per_entity') && /max_adresses_per_entity: unknown hyperparameter/.test(err.message),
    );
  });

  it('rejects bad values, every one named', () => {
    assert.throws(
      () => parseHyperparameters({ max_addresses_per_entity: '1.5', count_weight: 2, count_half: '0', max_population_addresses: 'lots' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        ['max_addresses_per_entity', 'count_weight', 'count_half', 'max_population_addresses'].every((k) => err.path.includes(k)) &&
        /count_weight: must be a number >= 0 and <= 1, got 2/.test(err.message) &&
        /count_half: must be a number > 0/.test(err.message),
    );
  });
});
