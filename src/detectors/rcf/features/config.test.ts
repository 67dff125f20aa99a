import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../../core/errors.js';
import { loadFeatureConfig, parseDuration, parseFeatureConfig, resolveFeatureSets } from './config.js';
import { BUILTIN_FEATURE_SETS, DEFAULT_FEATURE_SET_NAMES } from './sets.js';

const SET = {
  name: 'mine',
  entity: 'instance',
  source: ['vpc_flow'],
  columns: { vpc_flow: ['src_endpoint.instance_uid'] },
  features: [{ name: 'n', description: 'records' }],
  sql: 'SELECT src_endpoint.instance_uid AS entity, window_start, count(*) AS n FROM vpc_flow GROUP BY ALL',
};

/** The ConfigError a config raises: its message and keys. */
function configError(raw: unknown): { message: string; path: string[] } {
  try {
    parseFeatureConfig(raw, 'features.json');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return { message: err.message, path: err.path };
  }
  assert.fail('expected a ConfigError');
}

describe('feature config', () => {
  it('a valid config: user sets, the sets to use, durations, known subnets', () => {
    const c = parseFeatureConfig({ use: ['dns', 'mine'], window: '15m', lateness: 120000, history: '2d', knownSubnets: ['100.64.0.0/10', '2600:1f18::/32'], sets: [SET] });
    assert.equal(c.windowMs, 15 * 60_000);
    assert.equal(c.latenessMs, 120_000);
    assert.equal(c.historyMs, 2 * 86_400_000);
    assert.deepEqual(c.sets.map((s) => s.name), ['mine']);
    assert.deepEqual(resolveFeatureSets(undefined, c).map((s) => s.name), ['dns', 'mine']);
    assert.deepEqual(resolveFeatureSets(['mine', 'network'], c).map((s) => s.name), ['mine', 'network']);
    assert.deepEqual(resolveFeatureSets().map((s) => s.name), [...DEFAULT_FEATURE_SET_NAMES]);
    assert.deepEqual(DEFAULT_FEATURE_SET_NAMES, ['network', 'dns', 'api', 'host']);
  });

  it('every problem names its key', () => {
    let e = configError({ sets: [{ ...SET, features: [{ name: 'n', description: 'x', transform: 'sqrt' }] }], windw: '1h' });
    assert.match(e.message, /^invalid features\.json: /);
    assert.match(e.message, /sets\[0\]\.features\[0\]\.transform: /);
    assert.match(e.message, /windw: unknown key/);
    assert.deepEqual(e.path.sort(), ['sets[0].features[0].transform', 'windw']);

    e = configError({ sets: [{ ...SET, extra: 1 }] });
    assert.deepEqual(e.path, ['sets[0].extra']);
    e = configError({ sets: [{ ...SET, name: 'Bad-Name' }] });
    assert.deepEqual(e.path, ['sets[0].name']);
    e = configError({ sets: [{ ...SET, name: 'network' }] });
    assert.match(e.message, /sets\[0\]\.name: 'network' is a built-in set/);
    e = configError({ sets: [SET, SET] });
    assert.match(e.message, /sets\[1\]\.name: 'mine' is defined twice/);
    e = configError({ sets: [{ ...SET, features: [{ name: 'n', description: 'a' }, { name: 'n', description: 'b' }] }] });
    assert.match(e.message, /sets\[0\]\.features\[1\]\.name: 'n' appears twice/);
    e = configError({ sets: [{ ...SET, features: [{ name: 'entity', description: 'a' }] }] });
    assert.match(e.message, /sets\[0\]\.features\[0\]\.name: 'entity' is reserved/);
    e = configError({ use: ['nope'] });
    assert.match(e.message, /use\[0\]: unknown feature set 'nope'/);
    e = configError({ knownSubnets: ['10.0.0.0/8', '10.1.2.3'] });
    assert.match(e.message, /knownSubnets\[1\]: "10\.1\.2\.3" is not a CIDR/);
    e = configError({ knownSubnets: ['2600:1f18::/30'] });
    assert.match(e.message, /multiple of 4/);
    e = configError({ window: 'an hour' });
    assert.match(e.message, /window: "an hour" is not a duration/);
  });

  it('columns must be OCSF attributes of the view\'s class, scalar, or explicitly typed', () => {
    let e = configError({ sets: [{ ...SET, columns: { vpc_flow: ['src_endpoint.instance_uid', 'traffic.bites'] } }] });
    assert.match(e.message, /sets\[0\]\.columns\.vpc_flow\[1\]: traffic\.bites is not an OCSF 1\.1\.0 attribute of class 4001/);
    assert.deepEqual(e.path, ['sets[0].columns.vpc_flow[1]']);
    e = configError({ sets: [{ ...SET, columns: { vpc_flow: ['traffic'] } }] });
    assert.match(e.message, /traffic is an object \(network_traffic\); name a field inside it/);
    e = configError({ sets: [{ ...SET, columns: { vpc_flow: ['observables.name'] } }] });
    assert.match(e.message, /is an array/);
    e = configError({ sets: [{ ...SET, source: ['my_view'], columns: { my_view: ['actor.user.name'] } }] });
    assert.match(e.message, /view my_view has no known OCSF class/);
    e = configError({ sets: [{ ...SET, columns: { route53: ['query.hostname'] } }] });
    assert.match(e.message, /columns\.route53: route53 is not one of the set's source views/);
    e = configError({ sets: [{ ...SET, columns: { vpc_flow: ['x:TEXT'] } }] });
    assert.match(e.message, /type "TEXT" is not one of/);
    // A view of another class, typed from the schema; explicit types for anything else.
    const c = parseFeatureConfig({
      sets: [{ ...SET, source: ['my_view'], classes: { my_view: 3002 }, columns: { my_view: ['user.name', 'status_id', 'unmapped', 'vendor_score:DOUBLE'] } }],
    });
    assert.equal(c.sets[0]!.classes!.my_view, 3002);
  });

  it('a config file: JSON errors name the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'seclake-fcfg-'));
    try {
      const good = path.join(dir, 'ok.json');
      writeFileSync(good, JSON.stringify({ sets: [SET] }));
      assert.equal(loadFeatureConfig(good).sets[0]!.name, 'mine');
      const bad = path.join(dir, 'bad.json');
      writeFileSync(bad, '{"sets": [');
      assert.throws(() => loadFeatureConfig(bad), (err: unknown) => err instanceof ConfigError && err.message.startsWith(`${bad}: not valid JSON`));
      writeFileSync(bad, JSON.stringify({ sets: [{ ...SET, sql: '' }] }));
      assert.throws(() => loadFeatureConfig(bad), new RegExp(`invalid feature config ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: sets\\[0\\]\\.sql`));
      assert.throws(() => loadFeatureConfig(path.join(dir, 'missing.json')), /cannot read feature config/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unknown set names list the known ones; durations', () => {
    assert.throws(() => resolveFeatureSets(['netwerk']), /unknown feature set 'netwerk' \(known: network, dns, api, host\)/);
    assert.equal(parseDuration('90s', 'x'), 90_000);
    assert.equal(parseDuration('1.5h', 'x'), 5_400_000);
    assert.equal(parseDuration(5, 'x'), 5);
    assert.throws(() => parseDuration(-1, 'lateness'), /lateness: must be a duration/);
  });

  it('the built-in sets pass their own checks', () => {
    const c = parseFeatureConfig({ sets: [] });
    assert.deepEqual(c.sets, []);
    for (const s of BUILTIN_FEATURE_SETS) assert.ok(s.features.length > 0 && s.source.length > 0, s.name);
  });
});
