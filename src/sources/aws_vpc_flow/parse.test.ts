import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/rng.js';
import {
  DEFAULT_V2_FIELDS,
  FIELDS,
  RecordParser,
  canonicalName,
  cellText,
  compilePlan,
  defaultPlan,
  hintsFromFileName,
  isIPv4,
  isIPv6,
  looksLikeDefaultRecord,
  parseHeader,
  parseUint,
  splitRecord,
  splitWhitespace,
  type FlowRecord,
  type FlowReject,
} from './parse.js';

const V5_HEADER =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id ' +
  'instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service ' +
  'flow-direction traffic-path';
const V5_LINE =
  '5 123456789012 eni-0000000000000000a 10.0.1.4 52.95.128.179 443 34210 6 14 15044 1616729292 1616729349 ACCEPT OK vpc-0a1b2c3d subnet-0a1b ' +
  'i-0c50d5961bcb2d47b 19 IPv4 10.0.1.4 52.95.128.179 ap-southeast-2 apse2-az3 - - - S3 egress 8';

function ok(r: FlowRecord | FlowReject): FlowRecord {
  if (!r.ok) assert.fail(`unexpected reject: ${r.reason}`);
  return r;
}

function rejected(r: FlowRecord | FlowReject): FlowReject {
  if (r.ok) assert.fail('expected a reject');
  return r;
}

test('field names: hyphens, underscores and ${...} are the same field', () => {
  assert.equal(canonicalName('account_id'), 'account-id');
  assert.equal(canonicalName('${log-status}'), 'log-status');
  assert.equal(canonicalName(' Pkt_SrcAddr '), 'pkt-srcaddr');
  assert.equal(Object.keys(FIELDS).length, 40);
  for (const f of DEFAULT_V2_FIELDS) assert.ok(FIELDS[f], f);
});

test('header: any subset in any order; unknown fields go to unmapped; CSV headers', () => {
  const plan = parseHeader('instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr', 1)!;
  assert.equal(plan.count, 6);
  assert.equal(plan.ix.instanceId, 0);
  assert.equal(plan.ix.pktDstaddr, 5);
  assert.equal(plan.ix.version, -1);
  assert.deepEqual(plan.unmapped, []);

  const withUnknown = parseHeader('version srcaddr my-new-field ecs-task-id sublocation-id', 3)!;
  assert.deepEqual(withUnknown.unknown, ['my-new-field']);
  assert.deepEqual(
    withUnknown.unmapped.map((u) => u.key),
    ['my_new_field', 'ecs_task_id', 'sublocation_id'],
  );
  assert.equal(withUnknown.headerLine, 3);

  const csv = parseHeader('account_id,action,az_id,bytes,dstaddr', 1)!;
  assert.equal(csv.delimiter, 'comma');
  assert.equal(csv.ix.azId, 2);

  assert.equal(parseHeader('${version} ${srcaddr}', 1)?.ix.srcaddr, 1);
  // Not headers: records, prose, names that are all unknown.
  assert.equal(parseHeader('2 123456789010 eni-1 - - - - - - - 1 2 - NODATA', 1), undefined);
  assert.equal(parseHeader('hello, this is not a flow log', 1), undefined);
  assert.equal(parseHeader('foo bar baz', 1), undefined);
  assert.equal(parseHeader('{"srcaddr": "1.2.3.4"}', 1), undefined);
});

test('default-format records without a header are recognised', () => {
  assert.ok(looksLikeDefaultRecord('2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK'));
  assert.ok(looksLikeDefaultRecord('2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA'));
  assert.ok(looksLikeDefaultRecord('2 unknown eni-1 2001:db8::1 2001:db8::2 1 2 6 1 1 1 2 REJECT OK'));
  assert.ok(!looksLikeDefaultRecord('2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT'));
  assert.ok(!looksLikeDefaultRecord('x 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK'));
  assert.ok(!looksLikeDefaultRecord('2 123456789010 eni-1 host.example 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK'));
  assert.equal(defaultPlan().count, 14);
});

test('splitting: single spaces, runs of whitespace, CSV with empty and quoted values', () => {
  const plan = parseHeader('a b srcaddr', 1)!;
  assert.deepEqual(splitRecord('x y 1.2.3.4', plan), ['x', 'y', '1.2.3.4']);
  assert.deepEqual(splitRecord('x  y\t1.2.3.4 ', plan), ['x', 'y', '1.2.3.4']);
  assert.deepEqual(splitWhitespace('  a \t b  '), ['a', 'b']);
  assert.deepEqual(splitWhitespace(''), []);
  const csv = parseHeader('srcaddr,dstaddr,note', 1)!;
  assert.deepEqual(splitRecord('1.2.3.4,,x', csv), ['1.2.3.4', '-', 'x']);
  assert.deepEqual(splitRecord('"1.2.3.4","5.6.7.8","a, ""b"""', csv), ['1.2.3.4', '5.6.7.8', 'a, "b"']);
});

test('integers and IP addresses are checked by hand', () => {
  assert.equal(parseUint('0'), 0);
  assert.equal(parseUint('65535'), 65535);
  assert.equal(parseUint('9007199254740991'), Number.MAX_SAFE_INTEGER);
  for (const bad of ['', '-1', '1.5', '1e3', ' 1', 'abc', '12345678901234567']) assert.ok(Number.isNaN(parseUint(bad)), bad);

  for (const good of ['0.0.0.0', '10.0.0.1', '255.255.255.255', '172.31.16.139']) assert.ok(isIPv4(good), good);
  for (const bad of ['256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1..2.3', '1.2.3.', '.1.2.3', 'a.b.c.d', '1.2.3.4 ', '-']) assert.ok(!isIPv4(bad), bad);

  for (const good of ['::', '::1', '2001:db8::1', '2001:db8:1234:a100:8d6e:3477:df66:f105', 'fe80::1%eth0', '::ffff:10.0.0.1', '2001:DB8::A']) {
    assert.ok(isIPv6(good), good);
  }
  for (const bad of ['2001:db8:::1', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::1', ':1:2', '1:2:', 'g::1', '::ffff:999.0.0.1', '2001:db8::1::2']) {
    assert.ok(!isIPv6(bad), bad);
  }
});

test('a v5 record is parsed into typed fields; `-` is kept for strings, dropped for numbers', () => {
  const parser = new RecordParser(parseHeader(V5_HEADER, 1)!);
  const r = ok(parser.parseText(V5_LINE));
  assert.equal(r.version, '5');
  assert.equal(r.srcport, 443);
  assert.equal(r.bytes, 15044);
  assert.equal(r.start, 1616729292);
  assert.equal(r.action, 'ACCEPT');
  assert.equal(r.flowDirection, 'egress');
  assert.equal(r.trafficPath, 8);
  assert.equal(r.pktSrcAwsService, '-');
  assert.deepEqual(r.unmapped, { sublocation_type: '-', sublocation_id: '-' });

  const nodata = ok(parser.parseText('5 123456789012 eni-1 - - - - - - - 1 2 - NODATA vpc-1 subnet-1 - - - - - us-east-1 use1-az1 - - - - - -'));
  assert.equal(nodata.srcaddr, '-');
  assert.equal(nodata.srcport, undefined);
  assert.equal(nodata.bytes, undefined);
  assert.equal(nodata.action, '-');
  assert.equal(nodata.instanceId, '-');
  assert.equal(nodata.flowDirection, '-');
  assert.equal(nodata.trafficPath, '-');
});

test('rejects name the field and the value', () => {
  const parser = new RecordParser(defaultPlan());
  const base = '2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK'.split(' ');
  const at = (i: number, v: string): string => base.map((x, j) => (j === i ? v : x)).join(' ');
  const cases: [string, string, string][] = [
    [at(5, 'abc'), 'srcport', "srcport: 'abc' is not an integer"],
    [at(6, '70000'), 'dstport', 'dstport: 70000 is out of range 0-65535'],
    [at(3, '999.1.1.1'), 'srcaddr', "srcaddr: '999.1.1.1' is not an IP address"],
    [at(12, 'ALLOW'), 'action', "action: 'ALLOW' is not ACCEPT, REJECT or -"],
    [at(7, '300'), 'protocol', 'protocol: 300 is out of range 0-255'],
    [at(0, 'v2'), 'version', "version: 'v2' is not an integer"],
  ];
  for (const [line, field, reason] of cases) {
    const r = rejected(parser.parseText(line));
    assert.equal(r.field, field);
    assert.equal(r.reason, reason);
  }
  const short = rejected(parser.parseText('2 123456789010 eni-1'));
  assert.equal(short.field, undefined);
  assert.equal(short.reason, 'record has 3 fields, expected 14 (default format)');
  const withHeader = new RecordParser(parseHeader(V5_HEADER, 7)!);
  assert.equal(rejected(withHeader.parseText('5 1 2')).reason, 'record has 3 fields, expected 29 (header at line 7)');
  const dir = rejected(withHeader.parseText(V5_LINE.replace('egress', 'sideways')));
  assert.equal(dir.reason, "flow-direction: 'sideways' is not ingress, egress or -");
});

test('the one-pass scanner and the split path agree on clean, odd and broken lines', () => {
  const plan = parseHeader(`${V5_HEADER} ecs-task-id my-field`, 1)!;
  const fast = new RecordParser(plan);
  const slow = new RecordParser(plan);
  const rng = new Rng(7);
  const base = `${V5_LINE} task-1 x`.split(' ');
  const mutations = ['-', '', 'abc', '1x', '99999999999999999', '0', '65536', '256', '::1', '1.2.3.4', 'ingress', 'REJECT', '-1', '--', '\t7'];
  let scanned = 0;
  for (let n = 0; n < 5000; n++) {
    const f = base.slice();
    const k = rng.int(4);
    for (let j = 0; j < k; j++) f[rng.int(f.length)] = mutations[rng.int(mutations.length)]!;
    let line = f.join(rng.next() < 0.1 ? '  ' : ' ');
    if (rng.next() < 0.05) line += ' ';
    if (rng.next() < 0.05) line = line.replace(' ', '\t');
    const viaScan = fast.parseLine(line);
    if (viaScan !== undefined) scanned++;
    const a = fast.parseText(line);
    const b = slow.parse(splitWhitespace(line));
    assert.deepEqual(a, b, line);
  }
  assert.ok(scanned > 1000, `scanner took ${scanned} lines`);
});

test('Parquet/JSON cells become flow log text values', () => {
  assert.equal(cellText(null), '-');
  assert.equal(cellText(''), '-');
  assert.equal(cellText(5), '5');
  assert.equal(cellText(12345678901234n), '12345678901234');
  assert.equal(cellText('IPv4'), 'IPv4');
  const parser = new RecordParser(compilePlan(['version', 'srcport', 'traffic_path', 'srcaddr'], 'columns'));
  const r = ok(parser.parse([5, null, null, '1.2.3.4'].map(cellText)));
  assert.deepEqual([r.version, r.srcport, r.trafficPath, r.srcaddr], ['5', undefined, '-', '1.2.3.4']);
});

test('S3 delivery file names give account, region and delivery time', () => {
  assert.deepEqual(hintsFromFileName('s3://b/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/02/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20240102T0305Z_ab12cd34.log.gz'), {
    accountId: '123456789012',
    region: 'us-east-1',
    timeMs: Date.UTC(2024, 0, 2, 3, 5),
  });
  assert.deepEqual(hintsFromFileName('flows.log'), {});
  assert.deepEqual(hintsFromFileName('/tmp/123456789012_CloudTrail_us-east-1_20240102T0305Z_x.json.gz'), {});
});
