import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveEvent } from '../../ocsf/derive.js';
import { validateEvent } from '../../ocsf/validate.js';
import type { OcsfEvent, SourceItem } from '../types.js';
import { assertGolden, collect, dtToInstant, fileInput, goldenItems, textInput, validationErrors } from '../ocsf/test-input.js';
import { awsRoute53, detectRoute53 } from './index.js';
import { parseRoute53 } from './parse.js';
import { RCODE_ID, toOcsf } from './to-ocsf.js';

const SAMPLES = fileURLToPath(new URL('../../../test/samples/', import.meta.url));
const TESTDATA = fileURLToPath(new URL('./testdata/', import.meta.url));

function mapOne(raw: unknown): OcsfEvent {
  const p = parseRoute53(raw);
  if (!p.ok) throw new Error(p.reason);
  return deriveEvent(toOcsf(p.record));
}

/** An object without its null fields; undefined when none is left. */
function withoutNulls(v: unknown): Record<string, unknown> | undefined {
  const out = Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== null));
  return Object.keys(out).length > 0 ? out : undefined;
}

const events = (items: SourceItem[]): OcsfEvent[] => items.flatMap((i) => (i.kind === 'event' ? [i.event] : []));

test('AWS v1.1.0 and v1.5.0 sample pairs: raw -> OCSF equals the expected event except documented differences', () => {
  for (const version of ['v1.1.0', 'v1.5.0']) {
    const dir = path.join(SAMPLES, `ocsf-examples-aws/${version}/route53`);
    const raw = JSON.parse(readFileSync(path.join(dir, 'route53.raw.json'), 'utf8'));
    const exp = JSON.parse(readFileSync(path.join(dir, 'route53.ocsf.json'), 'utf8')) as Record<string, unknown>;
    const ours = mapOne(raw) as Record<string, unknown>;
    // The trailing dot stays, as AWS writes it (query.hostname and its observable): the validator only warns.
    assert.deepEqual(validateEvent(ours).filter((i) => i.severity === 'error'), [], version);
    assert.equal((ours.query as Record<string, unknown>).hostname, 'ip-127-0-0-62.alert.firewall.canary.', version);
    // 1. The sample carries only the caption `disposition: "Alert"`; we set the authoritative disposition_id 19
    //    (derive then writes the same caption).
    assert.equal(ours.disposition_id, 19);
    assert.equal(ours.disposition, exp.disposition);
    delete ours.disposition_id;
    // 2. metadata.version: we write 1.1.0 (the v1.5.0 sample says 1.5.0; nothing else differs between them).
    (exp.metadata as Record<string, unknown>).version = '1.1.0';
    // 3. time_dt: the sample renders a local offset (-04:00); derive writes UTC. Compare instants.
    assert.deepEqual(dtToInstant(ours), dtToInstant(exp), version);
  }
});

test('real Security Lake output (source version 1 Parquet rows): query and answers as Security Lake wrote them', async () => {
  const dir = path.join(SAMPLES, 'security-lake-ocsf-validation/1.0.0-rc.2/ROUTE53');
  for (let i = 0; i < 4; i++) {
    const items = await collect(awsRoute53, fileInput(path.join(dir, 'inputs', `route53-inputs${i}.json.decompressed.json`)));
    const ours = deriveEvent((items[0] as { event: OcsfEvent }).event);
    const sl = (JSON.parse(readFileSync(path.join(dir, `example${i}.json.gz.rendered.json`), 'utf8')) as Record<string, unknown>[])[0]!;
    assert.deepEqual(ours.query, sl.query, `example${i} query`);
    assert.deepEqual(ours.answers, sl.answers, `example${i} answers`);
    // The Parquet rows hold every field of the Avro schema, null where the record had none: compare without them
    // (in the lake, an absent field reads as NULL all the same).
    assert.deepEqual(ours.src_endpoint, withoutNulls(sl.src_endpoint), `example${i} src_endpoint`);
    assert.deepEqual(ours.dst_endpoint, withoutNulls(sl.dst_endpoint), `example${i} dst_endpoint`);
    assert.deepEqual(ours.connection_info, sl.connection_info, `example${i} connection_info`);
  }
});

test('every raw Route 53 sample maps with zero rejects and validates', async () => {
  const dir = path.join(SAMPLES, 'route53-resolver');
  let n = 0;
  for (const f of readdirSync(dir).sort()) {
    const items = await collect(awsRoute53, fileInput(path.join(dir, f)));
    assert.deepEqual(items.filter((i) => i.kind === 'reject'), [], f);
    assert.deepEqual(validationErrors(items), [], f);
    for (const i of items) assert.equal(i.kind === 'event' && i.lakeSource, 'ROUTE53');
    n += items.length;
  }
  assert.equal(n, 6, '4 JSON lines + 1 pretty-printed AWS docs object + 1 pretty-printed dossier object');
  // The pretty-printed single object is record 1.
  const one = await collect(awsRoute53, fileInput(path.join(dir, 'aws-docs-example-firewall-block-ptr.json')));
  assert.equal(one.length, 1);
  assert.equal(one[0]!.line, 1);
});

test('the raw Route 53 records of every ocsf/examples version (rc.2, 1.1.0, 1.5.0) map and validate', async () => {
  const root = path.join(SAMPLES, 'ocsf-examples-aws');
  for (const version of readdirSync(root).sort()) {
    const file = path.join(root, version, 'route53', 'route53.raw.json');
    const items = await collect(awsRoute53, fileInput(file));
    assert.deepEqual(
      items.map((i) => [i.line, i.kind]),
      [[1, 'event']],
      version,
    );
    assert.deepEqual(validationErrors(items), [], version);
  }
});

test('the raw inputs of real Security Lake v1 Route 53 output map and validate (rcode as v1 mapped it)', async () => {
  const dir = path.join(SAMPLES, 'security-lake-ocsf-validation/1.0.0-rc.2/ROUTE53');
  for (let i = 0; i < 4; i++) {
    const items = await collect(awsRoute53, fileInput(path.join(dir, 'inputs', `route53-inputs${i}.json.decompressed.json`)));
    assert.equal(items.length, 1);
    assert.deepEqual(validationErrors(items), []);
    const v1 = (JSON.parse(readFileSync(path.join(dir, `example${i}.json.gz.rendered.json`), 'utf8')) as Record<string, unknown>[])[0]!;
    const ours = deriveEvent((items[0] as { event: OcsfEvent }).event);
    assert.equal(ours.rcode_id, v1.rcode_id, `example${i} rcode_id`);
    assert.equal(ours.rcode, v1.rcode, `example${i} rcode`);
    assert.equal(ours.time, v1.time, `example${i} time`);
  }
});

test('golden: mixed.jsonl (CNAME+A answers, IPv6, TCP, BLOCK, unknown action and rcode, SRV/root names, extra fields)', async () => {
  const items = await collect(awsRoute53, fileInput(path.join(TESTDATA, 'mixed.jsonl')));
  assert.deepEqual(validationErrors(items), []);
  assertGolden(path.join(TESTDATA, 'mixed.expected.json'), goldenItems(items));
  const ev = events(items).map(deriveEvent);
  // line 1: answers keys lower-cased; only IP answers are observables; srcport is an integer
  assert.deepEqual(ev[0]!.answers, [
    { rdata: 'www.example.com.cdn.example.net.', type: 'CNAME', class: 'IN' },
    { rdata: '198.51.100.7', type: 'A', class: 'IN' },
  ]);
  assert.equal((ev[0]!.src_endpoint as Record<string, unknown>).port, 53211);
  assert.equal(ev[0]!.time, Date.UTC(2024, 4, 1, 10, 0, 0, 123));
  assert.deepEqual(ev[0]!.metadata && (ev[0]!.metadata as Record<string, unknown>).profiles, ['cloud', 'datetime']);
  // line 2: NXDOMAIN -> 3
  assert.equal(ev[1]!.rcode_id, 3);
  assert.equal(ev[1]!.rcode, 'NXDomain');
  // line 3: BLOCK -> Denied / Blocked, security_control declared
  assert.equal(ev[2]!.action_id, 2);
  assert.equal(ev[2]!.disposition_id, 2);
  assert.deepEqual((ev[2]!.metadata as Record<string, unknown>).profiles, ['cloud', 'security_control', 'datetime']);
  // line 4: unknown rcode -> 99 with the source text; unknown action -> action 0, disposition 99 with the text;
  // the SRV name keeps its underscores and its trailing dot in query.hostname (the validator only warns about them)
  assert.equal(ev[3]!.rcode_id, 99);
  assert.equal(ev[3]!.rcode, 'BADCOOKIE2');
  assert.equal(ev[3]!.action_id, 0);
  assert.equal(ev[3]!.disposition_id, 99);
  assert.equal(ev[3]!.disposition, 'COUNT');
  assert.deepEqual(ev[3]!.query, { hostname: '_ldap._tcp.dc.corp.example.', type: 'SRV', class: 'IN' });
  assert.deepEqual(ev[3]!.answers, []);
  assert.equal(ev[3]!.unmapped, undefined);
  // line 5: the root name is query.hostname '.'; no `answers` in the record -> []; unknown srcids key and unknown
  // top-level field kept in unmapped
  assert.deepEqual(ev[4]!.query, { hostname: '.', type: 'NS', class: 'IN' });
  assert.deepEqual(ev[4]!.answers, []);
  assert.deepEqual(ev[4]!.unmapped, { 'srcids.outpost': 'op-0000000000000001', 'new_field.x': '1' });
});

test('golden: a JSON array is numbered by element; a bad element is rejected, the others land', async () => {
  const items = await collect(awsRoute53, fileInput(path.join(TESTDATA, 'array.json')));
  assert.deepEqual(
    items.map((i) => [i.line, i.kind]),
    [
      [1, 'event'],
      [2, 'reject'],
      [3, 'event'],
    ],
  );
  assert.deepEqual(validationErrors(items), []);
  assertGolden(path.join(TESTDATA, 'array.expected.json'), goldenItems(items));
});

test('malformed records are rejected with their line, a reason naming the field, and the raw text', async () => {
  const items = await collect(awsRoute53, fileInput(path.join(TESTDATA, 'malformed.jsonl')));
  const rejects = items.filter((i) => i.kind === 'reject');
  assert.deepEqual(
    rejects.map((r) => [r.line, r.reason]),
    [
      [2, rejects[0]!.reason], // JSON.parse's message varies by Node version
      [3, 'query_timestamp: missing'],
      [4, "query_timestamp: 'yesterday' is not an ISO-8601 timestamp"],
      [5, "srcport: 'abc' is not a port number"],
      [6, 'query_name: missing'],
      [7, "srcaddr: '-' is not an IP address"],
      [8, 'srcaddr: missing (and no srcids.instance)'],
      [9, 'record: not a JSON object (array)'],
      [10, 'record: not a JSON object (null)'],
      [12, 'answers[0].Rdata: missing'],
    ],
  );
  assert.match(rejects[0]!.reason, /^malformed JSON: /);
  assert.deepEqual(
    rejects.map((r) => r.field),
    [undefined, 'query_timestamp', 'query_timestamp', 'srcport', 'query_name', 'srcaddr', 'srcaddr', 'record', 'record', 'answers[0].Rdata'],
  );
  const lines = readFileSync(path.join(TESTDATA, 'malformed.jsonl'), 'utf8').split('\n');
  for (const r of rejects) assert.equal(r.raw, lines[r.line - 1], `raw of line ${r.line}`);
  assert.deepEqual(
    items.filter((i) => i.kind === 'event').map((i) => i.line),
    [1, 13],
  );
  assert.deepEqual(validationErrors(items), []);
});

test('null and empty inputs produce nothing; a non-JSON document is one reject', async () => {
  assert.deepEqual(await collect(awsRoute53, fileInput(path.join(TESTDATA, 'empty.jsonl'))), []);
  assert.deepEqual(await collect(awsRoute53, textInput('\n \n')), []);
  assert.deepEqual(await collect(awsRoute53, textInput('[]')), []);
  const bad = await collect(awsRoute53, textInput('{\n  "query_name": "x.",\n'));
  assert.equal(bad.length, 1);
  assert.equal(bad[0]!.kind, 'reject');
  assert.equal(bad[0]!.line, 1);
  assert.match((bad[0] as { reason: string }).reason, /^malformed JSON document: /);
});

test('rcode table: every named code maps to its OCSF id, case-insensitively', () => {
  const base = { query_timestamp: '2024-01-01T00:00:00Z', query_name: 'a.example.', srcaddr: '10.0.0.1' };
  for (const [name, id] of Object.entries(RCODE_ID)) {
    const ev = mapOne({ ...base, rcode: name.toLowerCase() });
    assert.equal(ev.rcode_id, id, name);
    assert.deepEqual(validateEvent(ev).filter((i) => i.severity === 'error'), [], name);
  }
  const none = mapOne(base);
  assert.equal(none.rcode_id, undefined);
  assert.equal(none.dst_endpoint, undefined, 'no resolver endpoint ids -> no dst_endpoint');
});

test('query.hostname is the query name as delivered; answers is [] when the query got none', () => {
  const base = { query_timestamp: '2024-01-01T00:00:00Z', srcaddr: '10.0.0.1' };
  for (const name of ['s3.amazonaws.com.', 'S3.AmazonAWS.com.', 'no-dot.example', '_dmarc.example.com.', '.']) {
    const ev = mapOne({ ...base, query_name: name });
    assert.equal((ev.query as Record<string, unknown>).hostname, name);
    assert.equal(ev.unmapped, undefined, name);
    assert.deepEqual(
      (ev.observables as Record<string, unknown>[]).filter((o) => o.name === 'query.hostname').map((o) => o.value),
      [name],
    );
    assert.deepEqual(validateEvent(ev).filter((i) => i.severity === 'error'), [], name);
  }
  // A name hostname_t cannot hold at all: no query object, the raw fields in unmapped.
  const bad = mapOne({ ...base, query_name: 'bad name.example.', query_type: 'A' });
  assert.equal(bad.query, undefined);
  assert.deepEqual(bad.unmapped, { query_name: 'bad name.example.', query_type: 'A' });
  for (const answers of [[], null, undefined]) assert.deepEqual(mapOne({ ...base, query_name: 'a.example.', answers }).answers, [], String(answers));
  assert.deepEqual(mapOne({ ...base, query_name: 'a.example.', answers: [{ Rdata: '192.0.2.1', Type: 'A', Class: 'IN' }] }).answers, [
    { rdata: '192.0.2.1', type: 'A', class: 'IN' },
  ]);
});

test('timestamps with and without milliseconds, numeric srcport, ALLOW action', () => {
  const base = { query_name: 'a.example.', srcaddr: '10.0.0.1' };
  assert.equal(mapOne({ ...base, query_timestamp: '2024-01-01T00:00:00Z' }).time, Date.UTC(2024, 0, 1));
  assert.equal(mapOne({ ...base, query_timestamp: '2024-01-01T00:00:00.5Z' }).time, Date.UTC(2024, 0, 1) + 500);
  const ev = mapOne({ ...base, query_timestamp: '2024-01-01T00:00:00Z', srcport: 53, firewall_rule_action: 'ALLOW', firewall_rule_group_id: 'g' });
  assert.equal((ev.src_endpoint as Record<string, unknown>).port, 53);
  assert.equal(ev.action_id, 1);
  assert.equal(ev.disposition_id, 1);
  assert.deepEqual(validateEvent(ev).filter((i) => i.severity === 'error'), []);
});

test('detect: Route 53 samples score high; CloudTrail, OCSF and text get 0', () => {
  const head = (p: string): string => readFileSync(path.join(SAMPLES, p), 'utf8').slice(0, 65536);
  assert.ok(detectRoute53(head('route53-resolver/all-distinct-records.jsonl'), 'x') >= 0.9);
  assert.ok(detectRoute53(head('route53-resolver/aws-docs-example-firewall-block-ptr.json'), 'x') >= 0.9);
  assert.ok(detectRoute53(head('route53-resolver/ocsf-examples-firewall-alert-a.json'), 'x') >= 0.9);
  assert.equal(detectRoute53(head('ocsf-examples-aws/v1.1.0/route53/route53.ocsf.json'), 'x'), 0);
  assert.equal(detectRoute53(readFileSync(fileURLToPath(new URL('../../../assets/samples/cloudtrail/log-file-examples--iam-log-examples-1.json', import.meta.url)), 'utf8').slice(0, 65536), 'x'), 0);
  assert.equal(detectRoute53('version account-id interface-id\n2 1 eni-1', 'x'), 0);
  assert.equal(detectRoute53('', 'x.parquet', ['query_name', 'query_timestamp']), 0);
});
