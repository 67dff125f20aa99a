import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Duck } from '../../lake/duckdb.js';
import {
  DEFAULT_PAIR_DEFINITION,
  PAIR_DEFINITIONS,
  PAIR_PRESETS,
  checkDegenerate,
  compileDefinitionSql,
  definitionForModel,
  definitionParts,
  pairDefinition,
  pairPreset,
  recordDefinitionOf,
  specsForSource,
  specsOf,
  type PairDefinition,
} from './definitions.js';

describe('pair record definitions', () => {
  it('names: default = flow-peer + user-login; reference, flow-peer and user-login stay', () => {
    assert.equal(DEFAULT_PAIR_DEFINITION, 'default');
    assert.deepEqual(Object.keys(PAIR_DEFINITIONS).sort(), ['default', 'flow-peer', 'reference', 'user-login']);
    assert.deepEqual(pairDefinition('default').specs.map((s) => s.name), ['flow-peer', 'user-login']);
    assert.equal(pairDefinition('reference').specs[0], PAIR_PRESETS.reference);
    assert.match(pairDefinition('reference').description, /degenerate on v5\+ flow logs/);
    assert.equal(pairPreset('flow-peer'), PAIR_PRESETS['flow-peer']);
  });

  it('an unknown name is a clear error listing the names', () => {
    assert.throws(() => pairDefinition('nope'), /unknown pair definition 'nope'; known: default, flow-peer, user-login, reference/);
    assert.throws(() => pairDefinition('toString'), /unknown pair definition 'toString'/);
    // `default` is several specs: not a single preset.
    assert.throws(() => pairPreset('default'), /'default' has several specs: use pairDefinition/);
  });

  it('the specs that apply to an object of a lake source', () => {
    const def = pairDefinition('default').specs;
    assert.deepEqual(specsForSource(def, 'VPC_FLOW').map((s) => s.name), ['flow-peer']);
    assert.deepEqual(specsForSource(def, 'CLOUD_TRAIL_MGMT').map((s) => s.name), ['user-login']);
    assert.deepEqual(specsForSource(def, 'ROUTE53'), []);
    assert.deepEqual(specsForSource(def, undefined), []);
    assert.deepEqual(specsForSource(specsOf('reference'), 'ROUTE53').map((s) => s.name), ['reference']);
    const any = { name: 'any', sql: 'SELECT 1', sources: [] };
    assert.deepEqual(specsForSource([any], 'S3_DATA'), [any]);
    assert.deepEqual(specsForSource([any], undefined), [any]);
    assert.deepEqual(specsOf(PAIR_PRESETS['user-login']!), [PAIR_PRESETS['user-login']]);
  });

  it('compiles a definition to one UNION ALL over each spec x view, with the monitor expressions', () => {
    const sql = compileDefinitionSql('default');
    const parts = sql.split('\nUNION ALL\n');
    assert.equal(parts.length, 2);
    const fp = PAIR_PRESETS['flow-peer']!;
    assert.equal(parts[0], `SELECT (${fp.entity}) AS entity, (${fp.ip}) AS ip, time FROM vpc_flow WHERE ${fp.where}`);
    assert.match(parts[1]!, /FROM cloudtrail_auth WHERE class_uid = 3002/);
    assert.deepEqual(definitionParts('reference').map((p) => p.view), ['vpc_flow', 'route53']);
    assert.equal(compileDefinitionSql(pairDefinition('reference')), definitionParts('reference').map((p) => p.sql).join('\nUNION ALL\n'));
    // Views default to the sources' views; view names are identifiers only.
    const custom: PairDefinition = { name: 'c', description: '', specs: [{ entity: 'a', ip: 'b', sources: ['ROUTE53'] }] };
    assert.equal(compileDefinitionSql(custom), 'SELECT (a) AS entity, (b) AS ip, time FROM route53');
    assert.throws(() => compileDefinitionSql({ name: 'x', description: '', specs: [{ entity: 'a', ip: 'b', sources: [], views: ['vpc_flow; DROP'] }] }), /not a lake view name/);
    assert.throws(() => compileDefinitionSql({ name: 'x', description: '', specs: [{ entity: 'a', ip: 'b', sources: [] }] }), /give its lake views/);
  });

  it('flow-peer pairs the logging instance with the other end in both directions; reference pairs it with itself', async () => {
    const db = await Duck.open({ threads: 1 });
    try {
      const ep = (ip: string, inst: string | null): string => `{'ip': '${ip}', 'instance_uid': ${inst === null ? 'NULL::VARCHAR' : `'${inst}'`}}`;
      const row = (t: number, dir: number, src: string, dst: string): string => `SELECT ${t}::BIGINT AS time, ${src} AS src_endpoint, ${dst} AS dst_endpoint, {'direction_id': ${dir}} AS connection_info`;
      // OCSF 1.1 from v5 flow logs: an ingress record carries the instance on dst_endpoint, an egress record on src.
      await db.run(
        'CREATE VIEW vpc_flow AS ' +
          [
            row(1, 1, ep('203.0.113.9', null), ep('10.0.0.5', 'i-1')), // ingress: 203.0.113.9 -> i-1
            row(2, 2, ep('10.0.0.5', 'i-1'), ep('198.51.100.7', null)), // egress: i-1 -> 198.51.100.7
            row(3, 1, ep('10.0.0.5', null), ep('10.0.0.6', 'i-2')), // ingress at i-2 from i-1 (10.0.0.5)
          ].join(' UNION ALL '),
      );
      await db.run("CREATE VIEW route53 AS SELECT 4::BIGINT AS time, {'ip': '10.0.0.5', 'instance_uid': 'i-1'} AS src_endpoint");
      const pairsOf = async (name: string): Promise<string[]> =>
        (await db.all(`SELECT entity, ip, time FROM (${compileDefinitionSql(name)}) ORDER BY time`)).map((r) => `${String(r.entity)} ${String(r.ip)} ${String(r.time)}`);
      assert.deepEqual(await pairsOf('flow-peer'), ['i-1 203.0.113.9 1', 'i-1 198.51.100.7 2', 'i-2 10.0.0.5 3']);
      assert.deepEqual(await pairsOf('reference'), ['i-1 10.0.0.5 2', 'i-1 10.0.0.5 4']);
    } finally {
      db.close();
    }
  });

  it('reads the record definition a model header stores', () => {
    assert.deepEqual(recordDefinitionOf({ record_definition: { kind: 'pairs', name: 'default', sql: 'SELECT 1' } }), { name: 'default', sql: 'SELECT 1' });
    assert.deepEqual(recordDefinitionOf({ record_definition: null, extras: { record_definition: { name: 'flow-peer', sql: 'S' } } }), { name: 'flow-peer', sql: 'S' });
    assert.deepEqual(recordDefinitionOf({ record_definition: { kind: 'pairs', name: 'custom' } }), { name: 'custom', sql: '' });
    assert.equal(recordDefinitionOf({ record_definition: null, extras: {} }), undefined);
    assert.equal(recordDefinitionOf(undefined), undefined);
    assert.equal(recordDefinitionOf({ record_definition: { name: 3 } }), undefined);
  });

  it('a model without --pairs scores with its own definition, else default', () => {
    assert.deepEqual(definitionForModel({ record_definition: { kind: 'pairs', name: 'reference', sql: 'S' } }), { name: 'reference' });
    assert.deepEqual(definitionForModel({ record_definition: null, extras: {} }), { name: 'default' });
    const custom = definitionForModel({ record_definition: { kind: 'pairs', name: 'custom', sql: 'SELECT 1' } });
    assert.equal(custom.name, 'default');
    assert.match(custom.note!, /custom query/);
  });
});

describe('checkDegenerate', () => {
  const instances = Array.from({ length: 20 }, (_, i) => `i-${i}`);
  it('flags entities paired only with their own address, and says which definition to use', () => {
    const pairs = instances.flatMap((e, i) => Array.from({ length: 50 }, () => [e, `10.0.0.${i + 1}`] as const));
    const r = checkDegenerate(pairs, { definition: 'reference' });
    assert.equal(r.degenerate, true);
    assert.deepEqual(r.stats, { entities: 20, singleIpEntities: 20, ownAddressEntities: 20 });
    assert.match(r.warning!, /pair definition 'reference'/);
    assert.match(r.warning!, /--pairs default/);
    assert.match(r.warning!, /flow-peer/);
  });

  it('accepts entities with several peers, a few single-address entities, shared addresses and tiny sets', () => {
    const peers = instances.flatMap((e, i) => [0, 1, 2, 3].map((k) => [e, `10.0.${k}.${(i + k) % 20}`] as const));
    assert.equal(checkDegenerate(peers).degenerate, false);
    // Most entities single-address, but it is a shared address (a NAT gateway, a proxy): not an own address.
    const shared = instances.map((e) => [e, '192.0.2.1'] as const);
    assert.equal(checkDegenerate(shared).degenerate, false);
    // 70% single-address: under the 80% share.
    const mixed = instances.flatMap((e, i): [string, string][] => (i < 14 ? [[e, `10.1.0.${i}`]] : [[e, `10.2.0.${i}`], [e, '10.3.0.1']]));
    assert.equal(checkDegenerate(mixed).degenerate, false);
    assert.equal(checkDegenerate([['a', '10.0.0.1'], ['b', '10.0.0.2']]).degenerate, false);
    assert.equal(checkDegenerate([]).degenerate, false);
  });
});
