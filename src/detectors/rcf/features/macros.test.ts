import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Duck } from '../../../lake/duckdb.js';
import { parseDuckType } from '../../../lake/columns.js';
import { columnTree, projection } from './columns.js';
import { installMacros, parseSubnet } from './macros.js';
import { entropy } from './test-data.js';

describe('feature macros (DuckDB)', () => {
  let db: Duck;
  before(async () => {
    db = await Duck.open();
    await installMacros(db, [parseSubnet('100.64.0.0/10'), parseSubnet('2600:1f18::/32')]);
  });
  after(() => db.close());

  async function one(sql: string, params?: Record<string, string>): Promise<unknown> {
    const rows = await db.all(`SELECT ${sql} AS v`, params);
    return rows[0]!.v;
  }

  it('internal addresses: RFC 1918, loopback, link-local, ULA, known subnets; NULL stays NULL', async () => {
    const cases: [string, boolean][] = [
      ['10.1.2.3', true], ['172.16.0.1', true], ['172.31.255.255', true], ['172.32.0.1', false], ['192.168.1.1', true],
      ['127.0.0.1', true], ['169.254.169.254', true], ['8.8.8.8', false], ['11.0.0.1', false],
      ['100.64.0.1', true], ['100.127.255.255', true], ['100.128.0.0', false], // known subnet 100.64.0.0/10
      ['fd12:3456::1', true], ['fc00::1', true], ['fe80::1', true], ['::1', true], ['2001:db8::1', false],
      ['fc::1', false], // 00fc:: is not ULA: groups are compared expanded
      ['2600:1f18:abcd::5', true], ['2600:1f19::5', false], // known subnet 2600:1f18::/32
      ['not an ip', false], ['10.0.0', false],
    ];
    for (const [ip, want] of cases) assert.equal(await one('seclake_ip_internal($ip)', { ip }), want, ip);
    assert.equal(await one('seclake_ip_internal(NULL)'), null);
  });

  it('IPv6 expansion and IPv4 numbers', async () => {
    assert.equal(await one("seclake_ipv6_hex('2001:db8::1')"), '20010db8000000000000000000000001');
    assert.equal(await one("seclake_ipv6_hex('::')"), '0'.repeat(32));
    assert.equal(await one("seclake_ipv6_hex('1::2::3')"), null);
    assert.equal(await one("seclake_ipv6_hex('1:2:3:4:5:6:7:8:9')"), null);
    assert.equal(await one("seclake_ipv4_num('1.2.3.4')"), 16909060);
    assert.equal(await one("seclake_ipv4_num('256.1.1.1')"), null);
  });

  it('registrable domains with the small public-suffix table', async () => {
    const cases: [string, string | null][] = [
      ['www.example.com', 'example.com'], ['a.b.example.co.uk', 'example.co.uk'], ['example.co.uk', 'example.co.uk'],
      ['co.uk', 'co.uk'], ['localhost', 'localhost'], ['x.y.z.amazonaws.com', 'amazonaws.com'], ['4.3.2.1.in-addr.arpa', '1.in-addr.arpa'],
      ['shop.example.com.au', 'example.com.au'], ['1.2.3.4', '1.2.3.4'], ['', null],
    ];
    for (const [name, want] of cases) assert.equal(await one('seclake_etld1($n)', { n: name }), want, name);
    assert.equal(await one("seclake_dns_name(' WWW.Example.COM. ')"), 'www.example.com');
    // Route 53 names as the lake holds them now (absolute, as Security Lake writes them) and as lakes written before
    // held them (trailing dot stripped; the root `.` had no query object): the same name, so the same features.
    assert.equal(await one("seclake_dns_name('s3.amazonaws.com.')"), await one("seclake_dns_name('s3.amazonaws.com')"));
    assert.equal(await one("seclake_dns_name('.')"), null);
    assert.equal(await one('seclake_dns_name(NULL)'), null);
  });

  it('entropy and mean label length', async () => {
    for (const s of ['aab', 'abcd', 'a', 'x1y2z3q9w8e7r6t5', 'aaaaaaaaaaaaaaaa']) {
      const got = (await one('seclake_entropy($s)', { s })) as number;
      assert.ok(Math.abs(got - entropy(s)) < 1e-12, `${s}: ${got} vs ${entropy(s)}`);
    }
    assert.equal(await one("seclake_entropy('')"), null);
    assert.equal(await one("seclake_mean_label_length('ab.cdef')"), 3);
    assert.equal(await one("seclake_mean_label_length('abc')"), 3);
  });
});

describe('columns: the stand-in projection (DuckDB types parsed by the lake: src/lake/columns.test.ts)', () => {
  it('declared columns the view lacks become typed NULLs; structs are rebuilt from the declared fields only', async () => {
    const tree = columnTree(['traffic.bytes', 'traffic.bytes_in', 'src_endpoint.ip', 'connection_info.direction_id', 'action_id'], 'vpc_flow', 4001, 'cols');
    const schema = new Map([
      ['traffic', parseDuckType('STRUCT(packets BIGINT, bytes BIGINT)')],
      ['src_endpoint', parseDuckType('STRUCT(ip VARCHAR, port INTEGER)')],
      ['action_id', parseDuckType('INTEGER')],
    ]);
    const p = projection(tree, schema, 't.');
    assert.deepEqual(p.missing, ['traffic.bytes_in', 'connection_info.direction_id']);
    assert.deepEqual(p.select, [
      'struct_pack("bytes" := CAST(t."traffic"."bytes" AS BIGINT), "bytes_in" := NULL::BIGINT) AS "traffic"',
      'struct_pack("ip" := CAST(t."src_endpoint"."ip" AS VARCHAR)) AS "src_endpoint"',
      'NULL::STRUCT("direction_id" INTEGER) AS "connection_info"',
      'CAST(t."action_id" AS INTEGER) AS "action_id"',
    ]);
    // And it runs.
    const db = await Duck.open();
    try {
      await db.run(`CREATE TABLE v AS SELECT {'packets': 2::BIGINT, 'bytes': 40::BIGINT} AS traffic, {'ip': '10.0.0.1', 'port': 22} AS src_endpoint, 6 AS action_id`);
      const rows = await db.all(`SELECT traffic.bytes AS b, traffic.bytes_in AS bi, connection_info.direction_id AS d, src_endpoint.ip AS ip FROM (SELECT ${p.select.join(', ')} FROM v AS t)`);
      assert.deepEqual(rows, [{ b: 40, bi: null, d: null, ip: '10.0.0.1' }]);
    } finally {
      db.close();
    }
  });
});
