/**
 * Feature windows from small lakes built here (raw logs through the ingest): each built-in set's values against
 * hand-computed ones, sets and columns the lake lacks, a user-defined set from a config, the watermark and late
 * records.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ingest } from '../../../ingest/ingest.js';
import type { Duck } from '../../../lake/duckdb.js';
import { openLakeQuery } from '../../../lake/views.js';
import { computeFeatureWindows, type ComputeOptions } from './compute.js';
import { parseFeatureConfig, resolveFeatureSets } from './config.js';
import { BUILTIN_FEATURE_SETS } from './sets.js';
import type { ComputeResult } from './types.js';
import {
  A,
  ACCOUNT,
  B,
  HOUR,
  MIN,
  T0,
  entropy,
  hostEvent,
  writeFlows,
  writeHostEvents,
  writeQueries,
  writeTrail,
  type Flow,
} from './test-data.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'seclake-features-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function ingestFiles(lake: string, files: string[]): Promise<void> {
  const s = await ingest({ lakeDir: lake, paths: files });
  assert.equal(s.totals.failed, 0, JSON.stringify(s.inputs.filter((i) => i.status === 'failed')));
  assert.equal(s.totals.rejects, 0, JSON.stringify(s.rejects_by_reason));
}

/** The value of `<set>.<feature>` for an entity and window (undefined when there is no such row). */
function value(r: ComputeResult, entity: string, windowStart: number, feature: string): number | undefined {
  const d = r.featureNames.indexOf(feature);
  assert.ok(d >= 0, `no feature ${feature}`);
  for (let i = 0; i < r.entities.length; i++) {
    if (r.entities[i] === entity && r.windowStart[i] === windowStart) return r.values[i * r.featureNames.length + d];
  }
  return undefined;
}

function row(r: ComputeResult, entity: string, windowStart: number, set: string): Record<string, number> {
  const out: Record<string, number> = {};
  r.featureNames.forEach((f) => {
    if (f.startsWith(`${set}.`)) out[f.slice(set.length + 1)] = value(r, entity, windowStart, f)!;
  });
  return out;
}

function near(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
}

const W0 = T0;
const W1 = T0 + HOUR;
const W2 = T0 + 2 * HOUR;

/** Window 0 and 1 of instance A and B, one record in window 2 (so the watermark closes window 1). */
const FLOWS: Flow[] = [
  { at: A, dir: 'egress', src: A.ip, dst: '10.0.2.20', sport: 40000, dport: 5432, bytes: 1000, packets: 10, t: W0 + 5 * MIN },
  { at: A, dir: 'ingress', src: '10.0.2.20', dst: A.ip, sport: 5432, dport: 40000, bytes: 5000, packets: 20, t: W0 + 5 * MIN },
  { at: A, dir: 'egress', src: A.ip, dst: '8.8.8.8', sport: 40001, dport: 443, bytes: 300, packets: 3, t: W0 + 10 * MIN },
  { at: A, dir: 'ingress', src: '203.0.113.5', dst: A.ip, sport: 51000, dport: 22, bytes: 100, packets: 2, t: W0 + 20 * MIN, action: 'REJECT' },
  { at: A, dir: 'egress', src: A.ip, dst: '8.8.8.8', sport: 40002, dport: 443, bytes: 700, packets: 7, t: W1 + 5 * MIN },
  { at: A, dir: 'egress', src: A.ip, dst: '1.1.1.1', sport: 40003, dport: 53, bytes: 50, packets: 1, t: W1 + 6 * MIN },
  { at: A, dir: 'egress', src: A.ip, dst: '198.51.100.7', sport: 443, dport: 50000, bytes: 2000, packets: 4, t: W1 + 7 * MIN },
  { at: B, dir: 'egress', src: B.ip, dst: '100.64.1.1', sport: 41000, dport: 443, bytes: 400, packets: 4, t: W0 + 30 * MIN },
  { at: A, dir: 'egress', src: A.ip, dst: '8.8.8.8', sport: 40004, dport: 443, bytes: 1, packets: 1, t: W2 + 30 * MIN },
];

const NAMES = ['www.example.com.', 'www.example.com.', 'a.b.example.co.uk.', 'x1y2z3.tunnel.net.'];

const BASE: Omit<ComputeOptions, 'sets'> = { now: T0 + 3 * HOUR, latenessMs: 10 * MIN };

describe('feature windows on a lake with every source', () => {
  let lake: string;
  let db: Duck;
  let r: ComputeResult;

  before(async () => {
    const dir = tmp();
    lake = path.join(dir, 'lake');
    await ingestFiles(lake, [
      writeFlows(dir, '20240301T0300Z_a', FLOWS),
      writeQueries(dir, '20240301T0100Z_a', [
        ...NAMES.map((name, k) => ({ at: A, name, rcode: k === 2 ? 'NXDOMAIN' : 'NOERROR', t: W0 + (k + 1) * MIN })),
        { src: '10.0.9.9', name: 'Example.COM.', t: W0 + 9 * MIN },
        { src: '10.0.9.9', name: 'example.com', t: W0 + 10 * MIN },
        { src: '10.0.9.9', name: '.', rcode: 'SERVFAIL', t: W0 + 11 * MIN },
      ]),
      writeTrail(dir, '20240301T0100Z_a', [
        { user: 'alice', source: 'ec2.amazonaws.com', name: 'DescribeInstances', t: W0 + 1 * MIN, readOnly: true },
        { user: 'alice', source: 'iam.amazonaws.com', name: 'CreateUser', t: W0 + 2 * MIN, readOnly: false },
        { user: 'alice', source: 's3.amazonaws.com', name: 'ListBuckets', t: W0 + 3 * MIN, readOnly: true, error: 'AccessDenied' },
        { user: 'alice', source: 'signin.amazonaws.com', name: 'ConsoleLogin', t: W0 + 4 * MIN },
        { instance: A, source: 'kms.amazonaws.com', name: 'Decrypt', t: W0 + 5 * MIN, readOnly: true },
        { instance: A, source: 'kms.amazonaws.com', name: 'Decrypt', t: W0 + 6 * MIN, readOnly: true, error: 'AccessDeniedException' },
      ]),
      writeHostEvents(dir, 'edr-a', [
        hostEvent(1007, W0 + 1 * MIN, 'web-1', { path: '/usr/bin/curl' }),
        hostEvent(1007, W0 + 2 * MIN, 'web-1', { path: '/usr/bin/curl' }),
        hostEvent(1007, W0 + 3 * MIN, 'web-1', { path: '/bin/bash', activity: 2 }),
        hostEvent(3002, W0 + 4 * MIN, 'web-1', { user: 'bob', failed: true }),
        hostEvent(3002, W0 + 5 * MIN, 'web-1', { user: 'bob' }),
        hostEvent(3002, W0 + 6 * MIN, 'web-1', { user: 'carol' }),
        hostEvent(1001, W0 + 7 * MIN, 'web-1', { path: '/etc/passwd', activity: 3 }),
        hostEvent(1001, W0 + 8 * MIN, 'web-1', { path: '/etc/hosts', activity: 2 }),
        hostEvent(1001, W0 + 9 * MIN, 'web-1', { path: '/data/x', activity: 10 }),
      ]),
    ]);
    db = await openLakeQuery(lake);
    r = await computeFeatureWindows(db, { ...BASE, sets: BUILTIN_FEATURE_SETS });
  });
  after(() => db?.close());

  it('emits the closed windows only, one row per entity and window, every set\'s features', () => {
    assert.equal(r.from, W0);
    assert.equal(r.closedThrough, W2, 'window 2 is open: its newest record minus 10 min is inside it');
    assert.equal(r.watermark, W2 + 20 * MIN);
    assert.deepEqual(r.skipped, []);
    assert.equal(r.featureNames.length, BUILTIN_FEATURE_SETS.reduce((n, s) => n + s.features.length, 0));
    assert.ok(r.featureNames.includes('network.bytes_out') && r.featureNames.includes('host.distinct_files'));
    const keys = r.entities.map((e, i) => `${e}@${r.windowStart[i]! - T0}`);
    assert.deepEqual(keys, [`${A.id}@0`, `${B.id}@0`, 'alice@0', '10.0.9.9@0', 'web-1@0', `${A.id}@${HOUR}`].sort((a, b) => Number(a.split('@')[1]) - Number(b.split('@')[1]) || (a < b ? -1 : 1)));
    assert.ok(!r.windowStart.some((w) => w >= W2));
    assert.equal(r.values.length, r.entities.length * r.featureNames.length);
  });

  it('network: volumes by direction, peers, initiated ports, rejected share, new peers, internal vs external', () => {
    assert.deepEqual(row(r, A.id, W0, 'network'), {
      bytes_in: 5100, bytes_out: 1300, packets_in: 22, packets_out: 13, flows: 4, peers: 3,
      dst_ports: 2, // 5432 and 443 (initiated); the rejected probe hit port 22 inbound
      rejected_share: 0.25, new_peers: 0, // the entity's first window has no history to compare with
      external_bytes_out: 300, external_share: 400 / 6400, internal_peers: 1, external_peers: 2,
    });
    assert.deepEqual(row(r, A.id, W1, 'network'), {
      bytes_in: 0, bytes_out: 2750, packets_in: 0, packets_out: 12, flows: 3, peers: 3,
      dst_ports: 2, // 443 and 53; the reply from port 443 to 50000 is not a connection A initiated
      rejected_share: 0, new_peers: 2, // 1.1.1.1 and 198.51.100.7; 8.8.8.8 was seen in window 0
      external_bytes_out: 2750, external_share: 1, internal_peers: 0, external_peers: 3,
    });
    // 100.64.0.0/10 (carrier-grade NAT) is not RFC 1918: external unless configured as a known subnet.
    assert.equal(value(r, B.id, W0, 'network.external_peers'), 1);
    assert.equal(r.groups[r.entities.indexOf(A.id)], `subnet:${A.subnet}`);
  });

  it('dns: queries, names, registrable domains, NXDOMAIN share, label length and entropy of names', () => {
    const d = row(r, A.id, W0, 'dns');
    assert.equal(d.queries, 4);
    assert.equal(d.distinct_names, 3);
    assert.equal(d.distinct_domains, 3, 'example.com, example.co.uk (a listed public suffix), tunnel.net');
    assert.equal(d.nxdomain_share, 0.25);
    const names = NAMES.map((n) => n.slice(0, -1));
    const labelLen = (n: string): number => n.replaceAll('.', '').length / n.split('.').length;
    near(d.mean_label_length, names.reduce((a, n) => a + labelLen(n), 0) / 4, 'mean label length');
    near(d.name_entropy, names.reduce((a, n) => a + entropy(n.replaceAll('.', '')), 0) / 4, 'entropy');
    // Queries that name no instance: their source address is the entity; names are lower-cased without the dot, so
    // 'Example.COM.' and 'example.com' (the form lakes written before held names in) are one name; the root '.' is a
    // query but no name.
    assert.equal(value(r, '10.0.9.9', W0, 'dns.queries'), 3);
    assert.equal(value(r, '10.0.9.9', W0, 'dns.distinct_names'), 1);
    assert.equal(value(r, '10.0.9.9', W0, 'dns.distinct_domains'), 1);
    near(value(r, '10.0.9.9', W0, 'dns.name_entropy'), entropy('examplecom'), 'entropy of example.com');
    near(value(r, '10.0.9.9', W0, 'dns.mean_label_length'), 'examplecom'.length / 2, 'label length of example.com');
  });

  it('api: calls, distinct APIs, error and access-denied shares, write and IAM calls; a role session joins its instance', () => {
    assert.deepEqual(row(r, 'alice', W0, 'api'), {
      calls: 4, distinct_apis: 4, error_share: 0.25, access_denied_share: 0.25,
      write_calls: 1, // CreateUser (readOnly false); the sign-in carries no readOnly and is not a write by class
      iam_calls: 1,
      new_apis: 0, new_source_ips: 0, // its first window: nothing to compare with
    });
    assert.equal(r.groups[r.entities.indexOf('alice')], `account:${ACCOUNT}`);
    // The instance role's session (assumed-role/app-role/<instance id>) is the instance: same row as its flows.
    assert.deepEqual(row(r, A.id, W0, 'api'), { calls: 2, distinct_apis: 1, error_share: 0.5, access_denied_share: 0.5, write_calls: 0, iam_calls: 0, new_apis: 0, new_source_ips: 0 });
    assert.equal(value(r, A.id, W0, 'network.flows'), 4);
  });

  it('host: process launches, authentication and file activity of a third-party OCSF source, per device', () => {
    assert.deepEqual(row(r, 'web-1', W0, 'host'), {
      process_launches: 2, distinct_processes: 2, auth_attempts: 3, auth_failure_share: 1 / 3, distinct_auth_users: 2,
      file_events: 3, file_modifications: 2, distinct_files: 3,
    });
    // Sets a row has no data for read as 0.
    assert.equal(value(r, 'web-1', W0, 'network.flows'), 0);
    assert.equal(value(r, 'alice', W0, 'host.auth_attempts'), 0);
  });

  it('a column no object has yet reads as NULL', () => {
    // No flow log version fills traffic.bytes_in (a valid OCSF 1.1.0 network_traffic field): the view has it anyway
    // (every source view has its table's fixed schema, src/lake/columns.ts), NULL.
    const cfg = parseFeatureConfig({
      sets: [{
        name: 'split', entity: 'instance', source: ['vpc_flow'],
        columns: { vpc_flow: ['src_endpoint.instance_uid', 'traffic.bytes', 'traffic.bytes_in', 'connection_info.protocol_ver_id'] },
        features: [
          { name: 'bytes_in_field', description: 'traffic.bytes_in', unit: 'bytes', default: -1 },
          { name: 'records', description: 'records', unit: 'count' },
        ],
        sql: 'SELECT src_endpoint.instance_uid AS entity, window_start, sum(traffic.bytes_in) AS bytes_in_field, count(*) AS records FROM vpc_flow WHERE src_endpoint.instance_uid IS NOT NULL GROUP BY ALL',
      }],
    });
    return computeFeatureWindows(db, { ...BASE, sets: resolveFeatureSets(['split'], cfg) }).then((s) => {
      assert.equal(value(s, A.id, W0, 'split.records'), 2, 'the egress records of window 0 carry src_endpoint.instance_uid');
      assert.equal(value(s, A.id, W0, 'split.bytes_in_field'), -1, 'sum of NULLs -> the feature default');
    });
  });

  it('a user-defined set from a config file runs beside the built-in ones; known subnets are internal', async () => {
    const cfg = parseFeatureConfig({
      use: ['network', 'ssh'],
      knownSubnets: ['100.64.0.0/10'],
      sets: [{
        name: 'ssh', description: 'SSH attempts against the instance', entity: 'instance', source: ['vpc_flow'],
        columns: { vpc_flow: ['dst_endpoint.instance_uid', 'dst_endpoint.port', 'src_endpoint.ip', 'connection_info.direction_id'] },
        features: [
          { name: 'attempts', description: 'inbound records to port 22', unit: 'count' },
          { name: 'sources', description: 'distinct sources to port 22', unit: 'count' },
        ],
        sql: `SELECT dst_endpoint.instance_uid AS entity, window_start,
                     count(*) AS attempts, count(DISTINCT src_endpoint.ip) AS sources
              FROM vpc_flow_history WHERE connection_info.direction_id = 1 AND dst_endpoint.port = 22 GROUP BY ALL`,
      }],
    });
    const sets = resolveFeatureSets(undefined, cfg);
    assert.deepEqual(sets.map((s) => s.name), ['network', 'ssh']);
    const s = await computeFeatureWindows(db, { ...BASE, sets, knownSubnets: cfg.knownSubnets });
    assert.deepEqual(s.featureNames.slice(-2), ['ssh.attempts', 'ssh.sources']);
    assert.equal(value(s, A.id, W0, 'ssh.attempts'), 1);
    assert.equal(value(s, A.id, W0, 'ssh.sources'), 1);
    assert.equal(value(s, A.id, W1, 'ssh.attempts'), 0, 'no row of the set for that window: its default');
    assert.equal(value(s, B.id, W0, 'network.internal_peers'), 1, '100.64.1.1 is in a known subnet');
    assert.equal(value(s, B.id, W0, 'network.external_peers'), 0);
  });

  it('a set whose SQL does not fit fails naming the set; so does a missing feature column', async () => {
    const bad = (sql: string) =>
      parseFeatureConfig({
        sets: [{ name: 'bad', entity: 'x', source: ['vpc_flow'], columns: { vpc_flow: ['src_endpoint.ip'] }, features: [{ name: 'n', description: 'n' }], sql }],
      });
    await assert.rejects(
      computeFeatureWindows(db, { ...BASE, sets: bad('SELECT src_endpoint.ip AS entity, window_start, count(dst_endpoint.ip) AS n FROM vpc_flow GROUP BY ALL').sets }),
      /feature set 'bad': its SQL does not run on this lake: .*dst_endpoint/s,
    );
    await assert.rejects(
      computeFeatureWindows(db, { ...BASE, sets: bad('SELECT src_endpoint.ip AS entity, window_start, count(*) AS m FROM vpc_flow GROUP BY ALL').sets }),
      /feature set 'bad': its SQL returns no column n/,
    );
  });
});

describe('feature windows on a lake without some sources', () => {
  it('sets without views or rows are skipped with a message; their features stay, at their defaults', async () => {
    const dir = tmp();
    const lake = path.join(dir, 'lake');
    await ingestFiles(lake, [writeFlows(dir, '20240301T0300Z_a', FLOWS)]);
    const db = await openLakeQuery(lake);
    try {
      const cfg = parseFeatureConfig({
        sets: [{ name: 'elsewhere', entity: 'x', source: ['no_such_view'], columns: { no_such_view: ['x:VARCHAR'] }, features: [{ name: 'n', description: 'n' }], sql: 'SELECT x AS entity, window_start, count(*) AS n FROM no_such_view GROUP BY ALL' }],
      });
      const msgs: string[] = [];
      const r = await computeFeatureWindows(db, { ...BASE, sets: resolveFeatureSets(['network', 'dns', 'api', 'host', 'elsewhere'], cfg), onMessage: (m) => msgs.push(m) });
      assert.deepEqual(r.skipped.map((s) => s.set), ['dns', 'api', 'host', 'elsewhere']);
      assert.match(r.skipped[0]!.reason, /route53 is empty/);
      assert.match(r.skipped[2]!.reason, /ocsf_process_activity is empty/);
      assert.match(r.skipped[3]!.reason, /no view no_such_view/);
      assert.deepEqual(msgs, r.messages);
      assert.ok(msgs.some((m) => /feature set 'api' skipped: cloudtrail_api is empty/.test(m)));
      assert.equal(r.featureNames.length, 13 + 6 + 8 + 8 + 1, 'dimensions do not depend on what the lake holds');
      assert.equal(value(r, A.id, W0, 'network.flows'), 4);
      assert.equal(value(r, A.id, W0, 'dns.queries'), 0);
      assert.equal(value(r, A.id, W0, 'elsewhere.n'), 0);
    } finally {
      db.close();
    }
  });

  it('an empty lake gives no windows and no error', async () => {
    const dir = tmp();
    const db = await openLakeQuery(path.join(dir, 'lake'));
    try {
      const r = await computeFeatureWindows(db, { ...BASE, sets: BUILTIN_FEATURE_SETS });
      assert.equal(r.entities.length, 0);
      assert.equal(r.skipped.length, 4);
      assert.ok(Number.isNaN(r.watermark));
    } finally {
      db.close();
    }
  });
});

describe('watermark and late records', () => {
  it('a window closes when the newest record minus the lateness passes its end; late records are counted, not merged', async () => {
    const dir = tmp();
    const lake = path.join(dir, 'lake');
    const net = resolveFeatureSets(['network']);
    await ingestFiles(lake, [writeFlows(dir, '20240301T0300Z_a', FLOWS)]);
    let db = await openLakeQuery(lake);
    const first = await computeFeatureWindows(db, { ...BASE, sets: net });
    db.close();
    assert.deepEqual([...new Set(first.windowStart)], [W0, W1]);
    assert.equal(first.late.records, 0);
    // With a larger lateness window 1 is still open.
    db = await openLakeQuery(lake);
    const patient = await computeFeatureWindows(db, { ...BASE, sets: net, latenessMs: 45 * MIN });
    db.close();
    assert.deepEqual([...new Set(patient.windowStart)], [W0]);

    // Later: a record for window 0 (already emitted: late), one for window 2 (still open: merged), and newer traffic.
    await ingestFiles(lake, [
      writeFlows(dir, '20240301T0400Z_b', [
        { at: A, dir: 'egress', src: A.ip, dst: '9.9.9.9', sport: 40100, dport: 443, bytes: 999, packets: 9, t: W0 + 50 * MIN },
        { at: A, dir: 'egress', src: A.ip, dst: '9.9.9.9', sport: 40101, dport: 443, bytes: 10, packets: 1, t: W2 + 40 * MIN },
        { at: A, dir: 'egress', src: A.ip, dst: '4.4.4.4', sport: 40103, dport: 443, bytes: 100, packets: 1, t: W2 + 45 * MIN },
        { at: A, dir: 'egress', src: A.ip, dst: '8.8.8.8', sport: 40102, dport: 443, bytes: 5, packets: 1, t: T0 + 3 * HOUR + 30 * MIN },
      ]),
    ]);
    db = await openLakeQuery(lake);
    const msgs: string[] = [];
    const second = await computeFeatureWindows(db, { ...BASE, now: T0 + 4 * HOUR, sets: net, cursor: JSON.parse(JSON.stringify(first.cursor)), onMessage: (m) => msgs.push(m) });
    db.close();
    assert.equal(second.from, W2);
    assert.equal(second.closedThrough, T0 + 3 * HOUR);
    assert.deepEqual([...new Set(second.windowStart)], [W2], 'window 0 is not emitted again');
    assert.equal(value(second, A.id, W2, 'network.flows'), 3, 'the records for the open window are merged');
    assert.equal(value(second, A.id, W2, 'network.bytes_out'), 111);
    // New peers look back past the cursor: 8.8.8.8 (windows 0-2) and 9.9.9.9 (the late record in window 0) are known.
    assert.equal(value(second, A.id, W2, 'network.new_peers'), 1, '4.4.4.4 only');
    assert.deepEqual(second.late, { records: 1, byView: { vpc_flow: 1 }, windows: [{ view: 'vpc_flow', windowStart: W0, records: 1 }] });
    assert.ok(msgs.some((m) => /1 late records arrived for 1 windows already emitted \(vpc_flow: 1\); not merged/.test(m)), msgs.join('\n'));

    // Nothing new: nothing emitted, nothing late.
    db = await openLakeQuery(lake);
    const third = await computeFeatureWindows(db, { ...BASE, now: T0 + 4 * HOUR, sets: net, cursor: second.cursor });
    db.close();
    assert.equal(third.entities.length, 0);
    assert.equal(third.late.records, 0);
    assert.equal(third.cursor.closedThrough, second.cursor.closedThrough);
  });

  it('a window waits for every delivering source: the slowest view within idleMs of the newest holds the watermark', async () => {
    const dir = tmp();
    const lake = path.join(dir, 'lake');
    // Flows reach W2 + 30 min; the DNS object of the same period so far only W1 + 40 min (delivered later).
    await ingestFiles(lake, [
      writeFlows(dir, '20240301T0300Z_a', FLOWS),
      writeQueries(dir, '20240301T0200Z_a', [
        { at: A, name: 'www.example.com.', t: W0 + 5 * MIN },
        { at: A, name: 'www.example.com.', t: W1 + 40 * MIN },
      ]),
    ]);
    const sets = resolveFeatureSets(['network', 'dns']);
    const db = await openLakeQuery(lake);
    try {
      const r = await computeFeatureWindows(db, { ...BASE, sets });
      assert.equal(r.watermark, W1 + 30 * MIN, 'DNS (50 min behind the flows) holds the watermark');
      assert.deepEqual([...new Set(r.windowStart)], [W0], 'window 1 waits for the rest of its DNS queries');
      // A view further behind than idleMs is idle: the windows do not wait for it.
      const idle = await computeFeatureWindows(db, { ...BASE, sets, idleMs: 30 * MIN });
      assert.equal(idle.watermark, W2 + 20 * MIN);
      assert.deepEqual([...new Set(idle.windowStart)], [W0, W1]);
    } finally {
      db.close();
    }
  });

  it('records far in the future do not move the watermark', async () => {
    const dir = tmp();
    const lake = path.join(dir, 'lake');
    await ingestFiles(lake, [
      writeFlows(dir, '20240301T0300Z_a', [...FLOWS, { at: B, dir: 'egress', src: B.ip, dst: '8.8.4.4', sport: 41001, dport: 443, bytes: 1, packets: 1, t: T0 + 30 * HOUR }]),
    ]);
    const db = await openLakeQuery(lake);
    try {
      const r = await computeFeatureWindows(db, { ...BASE, sets: resolveFeatureSets(['network']) });
      assert.deepEqual(r.future, { vpc_flow: 1 });
      assert.equal(r.closedThrough, W2, 'the watermark comes from the newest record at most 15 min past now');
      assert.ok(r.messages.some((m) => /vpc_flow: 1 records are more than 15 min past now/.test(m)));
    } finally {
      db.close();
    }
  });

  it('a cursor is for one window length', async () => {
    const dir = tmp();
    const db = await openLakeQuery(path.join(dir, 'lake'));
    try {
      const cursor = { version: 1 as const, windowMs: HOUR, closedThrough: W1, watermark: W1, counts: {} };
      await assert.rejects(computeFeatureWindows(db, { ...BASE, sets: BUILTIN_FEATURE_SETS, windowMs: 15 * MIN, cursor }), /the feature cursor is for 1 h windows/);
    } finally {
      db.close();
    }
  });
});

describe('api history features: first uses in the history window', () => {
  it('new_apis and new_source_ips count what the entity did not use in the lookback; 0 in its first window', async () => {
    const lake = path.join(tmp(), 'lake');
    const W1 = T0 + HOUR;
    const W2 = T0 + 2 * HOUR;
    await ingestFiles(lake, [
      writeTrail(tmp(), '20240301T0100Z_h', [
        { user: 'bob', source: 'ec2.amazonaws.com', name: 'DescribeInstances', t: T0 + 5 * MIN, readOnly: true },
        // Window 1: the usual call from the usual address, then two APIs bob never called, from a new address.
        { user: 'bob', source: 'ec2.amazonaws.com', name: 'DescribeInstances', t: W1 + 5 * MIN, readOnly: true },
        { user: 'bob', source: 'iam.amazonaws.com', name: 'ListUsers', t: W1 + 6 * MIN, readOnly: true, ip: '203.0.113.9' },
        { user: 'bob', source: 'iam.amazonaws.com', name: 'CreateAccessKey', t: W1 + 7 * MIN, readOnly: false, ip: '203.0.113.9' },
        { user: 'bob', source: 'iam.amazonaws.com', name: 'ListUsers', t: W1 + 8 * MIN, readOnly: true, ip: '203.0.113.9' },
        // Window 2 closes window 1 in both views the calls landed in (API activity; account change for the key).
        { user: 'bob', source: 'iam.amazonaws.com', name: 'ListUsers', t: W2 + 30 * MIN, readOnly: true },
        { user: 'bob', source: 'iam.amazonaws.com', name: 'CreateAccessKey', t: W2 + 31 * MIN, readOnly: false },
      ]),
    ]);
    const db = await openLakeQuery(lake);
    try {
      const r = await computeFeatureWindows(db, { ...BASE, sets: resolveFeatureSets(['api'], parseFeatureConfig({})) });
      assert.deepEqual([value(r, 'bob', T0, 'api.new_apis'), value(r, 'bob', T0, 'api.new_source_ips')], [0, 0], 'its first window: nothing to compare with');
      assert.deepEqual([value(r, 'bob', W1, 'api.new_apis'), value(r, 'bob', W1, 'api.new_source_ips')], [2, 1]);
      assert.equal(value(r, 'bob', W1, 'api.distinct_apis'), 3);
      // Computed from window 1 on, the lookback still sees window 0: the same values.
      const later = await computeFeatureWindows(db, { ...BASE, start: W1, sets: resolveFeatureSets(['api'], parseFeatureConfig({})) });
      assert.deepEqual([value(later, 'bob', W1, 'api.new_apis'), value(later, 'bob', W1, 'api.new_source_ips')], [2, 1]);
    } finally {
      db.close();
    }
  });
});
