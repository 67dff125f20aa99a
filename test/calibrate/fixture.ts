/**
 * A small *real* IP Insights model file, built by hand instead of trained so the tests are fast and exact:
 * vector_dim 4, no encoder layers (the IP embedding is the sum of its hashed prefix rows). Every known entity has the
 * embedding (1, 0, 0, 0) and the /8 prefix row of 10.0.0.0/8 holds (6, 0, 0, 0); all other prefix rows are small
 * noise. So known entities score ≈ 6 on 10.x.x.x and ≈ 0 elsewhere, like a trained model that learned "these users
 * log in from 10/8".
 */
import { Rng } from '../../src/core/rng.js';
import { parseHyperparameters } from '../../src/detectors/ipinsights/config.js';
import { entityFingerprint, entityRow } from '../../src/detectors/pairs/hash.js';
import { saveModel } from '../../src/detectors/ipinsights/model-file.js';
import { encoderSpecFor, ipv4Rows, rowsPerIp, type Weights } from '../../src/detectors/ipinsights/model.js';

export const KNOWN_ENTITIES = Array.from({ length: 12 }, (_, i) => `user_${i}`);

export function writeFixtureModel(file: string, entities: readonly string[] = KNOWN_ENTITIES): void {
  const dim = 4;
  const numEntityVectors = 64;
  const numIpVectors = 4096;
  const hp = parseHyperparameters({ vector_dim: dim, num_entity_vectors: numEntityVectors, num_ip_encoder_layers: 0, epochs: 1, num_ip_vectors: numIpVectors });
  const spec = encoderSpecFor(0, numIpVectors);
  const rng = new Rng(7);
  const entity = new Float32Array(numEntityVectors * dim);
  for (const e of entities) entity.set([1, 0, 0, 0], entityRow(e, numEntityVectors) * dim);
  const ip = new Float32Array(numIpVectors * dim);
  for (let i = 0; i < ip.length; i++) ip[i] = (rng.next() - 0.5) * 0.4;
  const rows = new Uint32Array(rowsPerIp(spec));
  ipv4Rows(spec, (10 << 24) >>> 0, rows, 0);
  ip.set([6, 0, 0, 0], rows[0]! * dim); // prefix length 8 is the first rung of the ladder
  const fps = entities.map(entityFingerprint).sort((a, b) => a - b);
  const weights: Weights = {
    dim,
    numEntityVectors,
    entity,
    ip,
    layers: [],
    population: new Float32Array(dim),
    knownFp: Float64Array.from(fps),
    knownCount: Uint32Array.from(fps.map(() => 100)),
  };
  saveModel(
    file,
    {
      hyperparameters: hp,
      encoder: spec,
      training: {
        rows: 1200,
        bad_rows: 0,
        distinct_entities: entities.length,
        ipv6_rows: 0,
        epochs: 1,
        final_loss: 0.1,
        final_accuracy: 0.95,
        validation_auc: null,
        validation_rows: 0,
        seed: 7,
        threads: 1,
        data_time_range: null,
        source: 'fixture',
        trained_at: '2024-01-01T00:00:00.000Z',
        training_seconds: 0,
        records_per_second: 0,
        seclake_version: 'test',
      },
      calibration: null,
      extras: {},
    },
    weights,
  );
}

/** Held-out normal traffic for the fixture: known entities on 10.x.x.x, plus a few pairs of an unseen entity. */
export function fixtureNormalCsv(n = 2000, seed = 11): string {
  const rng = new Rng(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`${rng.pick(KNOWN_ENTITIES)},10.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`);
  for (let i = 0; i < 5; i++) lines.push(`contractor_${i % 2},10.1.2.${i}`);
  return lines.join('\n') + '\n';
}
