import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordParser, parseHeader } from './parse.js';
import { toOcsf, type MapContext } from './to-ocsf.js';

type Obj = Record<string, any>;

const CTX: MapContext = { region: undefined, accountId: undefined, fallbackTimeMs: 1_000 };

/** Map one record of the given header (field names) and values. */
function map(header: string, line: string, ctx: MapContext = CTX): Obj {
  const r = new RecordParser(parseHeader(header, 1)!).parseText(line);
  if (!r.ok) assert.fail(r.reason);
  return toOcsf(r, ctx) as Obj;
}

const V5 =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id ' +
  'instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service ' +
  'flow-direction traffic-path';

test('ACCEPT egress v5: ids only, endpoints by direction, boundary from traffic-path', () => {
  const e = map(V5, '5 123456789012 eni-1 10.0.0.71 52.95.128.179 34210 80 6 7 471 1616729292 1616729349 ACCEPT OK vpc-1 subnet-1 i-0c50d5961bcb2d47b 3 IPv4 10.0.0.71 52.95.128.179 ap-southeast-2 apse2-az3 - - - S3 egress 8');
  assert.deepEqual(e, {
    class_uid: 4001,
    activity_id: 6,
    severity_id: 1,
    action_id: 1,
    disposition_id: 1,
    metadata: {
      product: { name: 'Amazon VPC', vendor_name: 'AWS', feature: { name: 'Flowlogs' }, version: '5' },
      profiles: ['cloud', 'security_control', 'datetime'],
      version: '1.1.0',
    },
    cloud: { provider: 'AWS', region: 'ap-southeast-2', zone: 'apse2-az3', account: { uid: '123456789012' } },
    time: 1616729292000,
    start_time: 1616729292000,
    end_time: 1616729349000,
    src_endpoint: { ip: '10.0.0.71', port: 34210, svc_name: '-', interface_uid: 'eni-1', vpc_uid: 'vpc-1', subnet_uid: 'subnet-1', instance_uid: 'i-0c50d5961bcb2d47b' },
    dst_endpoint: { ip: '52.95.128.179', port: 80, svc_name: 'S3' },
    connection_info: { direction_id: 2, protocol_num: 6, tcp_flags: 3, protocol_ver: 'IPv4', boundary_id: 11 },
    traffic: { packets: 7, bytes: 471 },
    status_code: 'OK',
    observables: [
      { name: 'src_endpoint.ip', type_id: 2, value: '10.0.0.71' },
      { name: 'src_endpoint.instance_uid', type_id: 10, value: 'i-0c50d5961bcb2d47b' },
      { name: 'dst_endpoint.ip', type_id: 2, value: '52.95.128.179' },
    ],
    unmapped: { sublocation_type: '-', sublocation_id: '-' },
  });
  // Nothing derived here: no names, captions, type_uid, category_uid or *_dt.
  for (const k of ['type_uid', 'category_uid', 'class_name', 'activity_name', 'action', 'severity', 'time_dt']) assert.ok(!(k in e), k);
});

test('REJECT ingress: Refuse / Denied / Blocked; interface on dst; traffic-path `-` -> 99 "-"', () => {
  const e = map(V5, '5 123456789012 eni-1 1.2.3.4 172.31.2.52 56858 39938 6 1 40 1649721732 1649721788 REJECT OK vpc-1 subnet-1 i-1 2 IPv4 1.2.3.4 172.31.2.52 us-east-1 use1-az1 - - - - ingress -');
  assert.equal(e.activity_id, 5);
  assert.equal(e.action_id, 2);
  assert.equal(e.disposition_id, 2);
  assert.equal(e.dst_endpoint.interface_uid, 'eni-1');
  assert.equal(e.dst_endpoint.instance_uid, 'i-1');
  assert.equal(e.src_endpoint.interface_uid, undefined);
  assert.deepEqual(e.connection_info, { direction_id: 1, protocol_num: 6, tcp_flags: 2, protocol_ver: 'IPv4', boundary_id: 99, boundary: '-' });
});

test('NODATA / SKIPDATA: Unknown activity, no ips (`-` kept in unmapped), status_code', () => {
  for (const status of ['NODATA', 'SKIPDATA']) {
    const e = map(V5, `5 374946600775 eni-0cc7 - - - - - - - 1646957737 1646957768 - ${status} vpc-1 subnet-1 - - - - - us-east-1 use1-az5 - - - - - -`);
    assert.equal(e.activity_id, 0);
    assert.equal(e.action_id, 0);
    assert.equal(e.disposition_id, 99);
    assert.equal(e.disposition, '-');
    assert.equal(e.status_code, status);
    assert.deepEqual(e.src_endpoint, { svc_name: '-', interface_uid: 'eni-0cc7', vpc_uid: 'vpc-1', subnet_uid: 'subnet-1', instance_uid: '-' });
    assert.deepEqual(e.dst_endpoint, { svc_name: '-' });
    assert.deepEqual(e.connection_info, { direction_id: 99, direction: '-', protocol_ver: '-', boundary_id: 99, boundary: '-' });
    assert.equal(e.traffic, undefined);
    assert.equal(e.observables, undefined);
    assert.deepEqual(e.unmapped, { sublocation_type: '-', sublocation_id: '-', srcaddr: '-', pkt_srcaddr: '-', dstaddr: '-', pkt_dstaddr: '-' });
  }
  // The default format has no svc_name: an endpoint the record says nothing about still names something.
  const v2 = map('version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status', '2 123456789010 eni-1 - - - - - - - 1431280876 1431280934 - NODATA');
  assert.deepEqual(v2.src_endpoint, { interface_uid: 'eni-1' });
  assert.deepEqual(v2.dst_endpoint, { svc_name: '-' });
  assert.deepEqual(v2.connection_info, { direction_id: 0 });
  assert.deepEqual(v2.unmapped, { srcaddr: '-', dstaddr: '-' });
});

test('packet addresses: ip = pkt-*addr, a different interface address goes to intermediate_ips', () => {
  const h = 'instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr';
  const e = map(h, '- eni-1 10.0.0.220 10.0.1.5 203.0.113.5 10.0.1.5');
  assert.deepEqual(e.src_endpoint, { ip: '203.0.113.5', intermediate_ips: ['10.0.0.220'], interface_uid: 'eni-1', instance_uid: '-' });
  assert.deepEqual(e.dst_endpoint, { ip: '10.0.1.5' });
  assert.deepEqual(e.observables, [
    { name: 'src_endpoint.ip', type_id: 2, value: '203.0.113.5' },
    { name: 'src_endpoint.intermediate_ips[]', type_id: 2, value: '10.0.0.220' },
    { name: 'dst_endpoint.ip', type_id: 2, value: '10.0.1.5' },
  ]);
  // No version, action or times in this format.
  assert.equal(e.metadata.product.version, undefined);
  assert.equal(e.activity_id, 0);
  assert.equal(e.action_id, 0);
  assert.equal(e.disposition_id, undefined);
  assert.equal(e.time, CTX.fallbackTimeMs);
  assert.equal(e.start_time, undefined);
  assert.equal(e.connection_info.direction_id, 0);
  // Only pkt addresses present.
  const p = map('pkt-srcaddr pkt-dstaddr', '1.1.1.1 2.2.2.2');
  assert.equal(p.src_endpoint.ip, '1.1.1.1');
});

test('type: IPv6 -> 6, EFA -> 99 with its label; traffic-path outside 1-8 -> 99 with the value', () => {
  const h = 'srcaddr dstaddr type traffic-path flow-direction';
  assert.deepEqual(map(h, '2001:db8::1 2001:db8::2 IPv6 1 egress').connection_info, { direction_id: 2, protocol_ver: 'IPv6', boundary_id: 4 });
  assert.deepEqual(map(h, '10.0.0.1 10.0.0.2 EFA 9 egress').connection_info, { direction_id: 2, protocol_ver: 'EFA', boundary_id: 99, boundary: '9' });
});

test('time: start, else end, else the fallback; end alone gives end_time', () => {
  assert.equal(map('srcaddr end', '1.1.1.1 100').time, 100_000);
  assert.equal(map('srcaddr end', '1.1.1.1 100').end_time, 100_000);
  assert.equal(map('srcaddr start', '1.1.1.1 -').time, CTX.fallbackTimeMs);
});

test('region and account: the record, else the hints; `unknown` account kept; `-` means none', () => {
  const ctx: MapContext = { region: 'eu-west-1', accountId: '999999999999', fallbackTimeMs: 0 };
  assert.deepEqual(map('srcaddr', '1.1.1.1', ctx).cloud, { provider: 'AWS', region: 'eu-west-1', account: { uid: '999999999999' } });
  assert.deepEqual(map('srcaddr region account-id', '1.1.1.1 us-east-2 123456789012', ctx).cloud, {
    provider: 'AWS',
    region: 'us-east-2',
    account: { uid: '123456789012' },
  });
  assert.deepEqual(map('srcaddr region account-id', '1.1.1.1 - unknown', ctx).cloud, { provider: 'AWS', region: 'eu-west-1', account: { uid: 'unknown' } });
  assert.deepEqual(map('srcaddr account-id', '1.1.1.1 -').cloud, { provider: 'AWS' });
});

test('ecs-*, reject-reason and unknown fields land in unmapped with underscore names', () => {
  const e = map('srcaddr ecs-cluster-name ecs-task-arn reject-reason brand-new-field', '1.1.1.1 c1 arn:aws:ecs:us-east-2:1:task/c1/t1 BPA 42');
  assert.deepEqual(e.unmapped, { ecs_cluster_name: 'c1', ecs_task_arn: 'arn:aws:ecs:us-east-2:1:task/c1/t1', reject_reason: 'BPA', brand_new_field: '42' });
});

test('events never share objects (derive mutates them in place)', () => {
  const parser = new RecordParser(parseHeader(V5, 1)!);
  const line = '5 123456789012 eni-1 10.0.0.71 52.95.128.179 34210 80 6 7 471 1616729292 1616729349 ACCEPT OK vpc-1 subnet-1 i-1 3 IPv4 10.0.0.71 52.95.128.179 ap-southeast-2 apse2-az3 - - - S3 egress 8';
  const a = parser.parseText(line);
  const b = parser.parseText(line);
  assert.ok(a.ok && b.ok);
  const ea = toOcsf(a, CTX) as Obj;
  const eb = toOcsf(b, CTX) as Obj;
  const seen = new Set<unknown>();
  const walk = (o: unknown): void => {
    if (o === null || typeof o !== 'object') return;
    seen.add(o);
    for (const v of Object.values(o)) walk(v);
  };
  walk(ea);
  const shared: unknown[] = [];
  const check = (o: unknown): void => {
    if (o === null || typeof o !== 'object') return;
    if (seen.has(o)) shared.push(o);
    for (const v of Object.values(o)) check(v);
  };
  check(eb);
  assert.deepEqual(shared, []);
});
