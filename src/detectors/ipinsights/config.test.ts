import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../core/errors.js';
import { parseHpAssignments, parseHyperparameters, toSageMakerMap } from './config.js';

function fails(input: Record<string, string | number>): ConfigError {
  try {
    parseHyperparameters(input);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('hyperparameters', () => {
  it('has SageMaker defaults (container values for the "required" ones) and ours', () => {
    const hp = parseHyperparameters();
    assert.equal(hp.num_entity_vectors, 100000);
    assert.equal(hp.vector_dim, 128);
    assert.equal(hp.batch_metrics_publish_interval, 1000);
    assert.equal(hp.epochs, 10);
    assert.equal(hp.learning_rate, 0.001);
    assert.equal(hp.mini_batch_size, 10000);
    assert.equal(hp.num_ip_encoder_layers, 1);
    assert.equal(hp.random_negative_sampling_rate, 1);
    assert.equal(hp.shuffled_negative_sampling_rate, 1);
    assert.equal(hp.weight_decay, 0.00001);
    assert.equal(hp.optimizer, 'sgd');
    assert.equal(hp.random_negative_entity, 'uniform');
  });

  it('accepts the string->string map SageMaker sends (the tutorial set), and numbers', () => {
    const hp = parseHyperparameters({
      num_entity_vectors: '20000', random_negative_sampling_rate: '5', vector_dim: '128', mini_batch_size: '1000', epochs: '5', learning_rate: '0.01',
      _tuning_objective_metric: 'validation:discriminator_auc', _kvstore: 'auto_gpu',
    });
    assert.equal(hp.num_entity_vectors, 20000);
    assert.equal(hp.learning_rate, 0.01);
    assert.equal(parseHyperparameters({ vector_dim: 64, weight_decay: ' 0.5 ' }).weight_decay, 0.5);
    assert.deepEqual(toSageMakerMap(hp).random_negative_sampling_rate, '5');
  });

  it('enforces the documented ranges and names the parameter', () => {
    const cases: [Record<string, string>, string][] = [
      [{ num_entity_vectors: '0' }, 'num_entity_vectors: must be an integer between 1 and 250000000'],
      [{ num_entity_vectors: '250000001' }, 'num_entity_vectors'],
      [{ vector_dim: '3' }, 'vector_dim: must be an integer between 4 and 4096'],
      [{ vector_dim: '4097' }, 'vector_dim'],
      [{ epochs: '0' }, 'epochs: must be an integer >= 1'],
      [{ epochs: '2.5' }, 'epochs'],
      [{ learning_rate: '0' }, 'learning_rate: must be a number between 0.000001 and 10'],
      [{ learning_rate: '10.5' }, 'learning_rate'],
      [{ mini_batch_size: '500001' }, 'mini_batch_size'],
      [{ num_ip_encoder_layers: '101' }, 'num_ip_encoder_layers'],
      [{ random_negative_sampling_rate: '501' }, 'random_negative_sampling_rate'],
      [{ shuffled_negative_sampling_rate: '-1' }, 'shuffled_negative_sampling_rate'],
      [{ weight_decay: '11' }, 'weight_decay'],
      [{ batch_metrics_publish_interval: '0' }, 'batch_metrics_publish_interval'],
      [{ vector_dim: 'abc' }, 'vector_dim: must be an integer between 4 and 4096, got "abc"'],
      [{ vector_dim: '' }, 'vector_dim'],
      [{ optimizer: 'lbfgs' }, 'optimizer: must be one of sgd, adam'],
    ];
    for (const [input, msg] of cases) assert.match(fails(input).message, new RegExp(msg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), JSON.stringify(input));
  });

  it('enforces 1 <= R + S <= 500', () => {
    assert.match(fails({ random_negative_sampling_rate: '0', shuffled_negative_sampling_rate: '0' }).message, /random_negative_sampling_rate \+ shuffled_negative_sampling_rate must be between 1 and 500, got 0/);
    assert.match(fails({ random_negative_sampling_rate: '300', shuffled_negative_sampling_rate: '201' }).message, /got 501/);
    assert.equal(parseHyperparameters({ random_negative_sampling_rate: '0', shuffled_negative_sampling_rate: '1' }).random_negative_sampling_rate, 0);
    assert.equal(parseHyperparameters({ random_negative_sampling_rate: '250', shuffled_negative_sampling_rate: '250' }).shuffled_negative_sampling_rate, 250);
  });

  it('rejects typos and reports every problem at once', () => {
    const err = fails({ vector_dimm: '64', epochs: '0' });
    assert.match(err.message, /vector_dimm: unknown hyperparameter/);
    assert.match(err.message, /epochs: must be/);
    assert.deepEqual(new Set(err.path), new Set(['vector_dimm', 'epochs']));
  });

  it('parses --hp name=value assignments', () => {
    assert.deepEqual(parseHpAssignments(['epochs=5', 'vector_dim = 64', 'epochs=6']), { epochs: '6', vector_dim: '64' });
    assert.throws(() => parseHpAssignments(['epochs']), ConfigError);
  });
});
