import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duck, quoteString } from '../../lake/duckdb.js';
import { deriveEvent } from '../../ocsf/derive.js';
import type { OcsfEvent, SourceDefinition, SourceItem } from '../types.js';
import { awsCloudtrail, detectCloudTrail } from '../aws_cloudtrail/index.js';
import { awsRoute53, detectRoute53 } from '../aws_route53/index.js';
import { detectOcsf, extSourceName, ocsfLakeSource, ocsfSource } from './index.js';
import { collect, fileInput, parquetInput, textInput, validationErrors } from './test-input.js';

const SAMPLES = fileURLToPath(new URL('../../../test/samples/', import.meta.url));
const TESTDATA = fileURLToPath(new URL('./testdata/', import.meta.url));

type Obj = Record<string, unknown>;

const events = (items: SourceItem[]): OcsfEvent[] => items.flatMap((i) => (i.kind === 'event' ? [i.event] : []));

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = path.join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

test('JSON lines: events pass through unchanged; lake source from metadata.product; bad lines rejected', async () => {
  const file = path.join(TESTDATA, 'events.jsonl');
  const items = await collect(ocsfSource, fileInput(file));
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.deepEqual(
    items.map((i) => [i.line, i.kind === 'event' ? i.lakeSource : i.reason.replace(/^malformed JSON: .*/, 'malformed JSON')]),
    [
      [1, 'ROUTE53'],
      [2, 'VPC_FLOW'],
      [3, 'CLOUD_TRAIL_MGMT'],
      [4, 'S3_DATA'],
      [5, 'LAMBDA_EXECUTION'],
      [6, 'EXT_okta_identity_engine'],
      [7, 'EXT_ocsf'],
      [8, 'malformed JSON'],
      [9, 'class_uid: not an integer'],
      [10, 'class_uid: missing'],
      [11, 'metadata: missing'],
      [12, 'record: not a JSON object (array)'],
    ],
  );
  for (const it of items) {
    if (it.kind === 'event') assert.deepEqual(it.event, JSON.parse(lines[it.line - 1]!), `line ${it.line} passes through`);
    else assert.equal(it.raw, lines[it.line - 1]);
  }
  // The pipeline derives the names; these minimal events then validate.
  assert.deepEqual(validationErrors(items.slice(0, 5)), []);
});

test('empty input and empty array produce nothing; a broken document is one reject at line 1', async () => {
  assert.deepEqual(await collect(ocsfSource, textInput('')), []);
  assert.deepEqual(await collect(ocsfSource, textInput('[]')), []);
  const bad = await collect(ocsfSource, textInput('[\n {"class_uid": 4003,\n'));
  assert.deepEqual(
    bad.map((i) => [i.kind, i.line]),
    [['reject', 1]],
  );
});

test('extSourceName sanitises and bounds custom source names', () => {
  assert.equal(extSourceName('Okta Identity Engine (Prod)'), 'EXT_okta_identity_engine');
  assert.equal(extSourceName('My-Product v2'), 'EXT_my_product_v2');
  assert.equal(extSourceName(undefined), 'EXT_ocsf');
  assert.equal(extSourceName('***'), 'EXT_ocsf');
  assert.equal(extSourceName('a'.repeat(19) + '_bbbb'), `EXT_${'a'.repeat(19)}`);
  assert.equal(ocsfLakeSource({ class_uid: 2004, metadata: { product: { name: 'CloudTrail', feature: { name: 'Insight' } } } }), 'EXT_cloudtrail_insights');
  assert.equal(ocsfLakeSource({ class_uid: 6003, metadata: { product: { name: 'CloudTrail', feature: { name: 'Management, Data, and Insights' } } } }), 'CLOUD_TRAIL_MGMT');
});

async function mapAll(source: SourceDefinition, files: string[]): Promise<{ event: OcsfEvent; lake: string }[]> {
  const out: { event: OcsfEvent; lake: string }[] = [];
  for (const f of files) for (const it of await collect(source, fileInput(f))) if (it.kind === 'event') out.push({ event: deriveEvent(it.event), lake: it.lakeSource });
  return out;
}

test('round trip: our Route 53 and CloudTrail output read back as OCSF keeps events and lake sources', async () => {
  const raw = [
    ...walk(path.join(SAMPLES, 'route53-resolver')).map((f) => ({ f, s: awsRoute53 })),
    ...walk(fileURLToPath(new URL('../../../assets/samples/cloudtrail/', import.meta.url))).filter((f) => !f.includes('invictus-ir')).map((f) => ({ f, s: awsCloudtrail })),
  ];
  const mapped: { event: OcsfEvent; lake: string }[] = [];
  for (const { f, s } of raw) mapped.push(...(await mapAll(s, [f])));
  const jsonl = mapped.map((m) => JSON.stringify(m.event)).join('\n');
  assert.ok(detectOcsf(jsonl.slice(0, 65536), 'x.jsonl') >= 0.9);
  assert.equal(detectRoute53(jsonl.slice(0, 65536), 'x.jsonl'), 0, 'our OCSF output (query.hostname, raw keys in unmapped) does not fool the Route 53 detector');
  const back = await collect(ocsfSource, textInput(jsonl));
  assert.equal(back.length, mapped.length);
  back.forEach((it, i) => {
    assert.equal(it.kind, 'event');
    assert.deepEqual((it as { event: OcsfEvent }).event, mapped[i]!.event);
    assert.equal((it as { lakeSource: string }).lakeSource, mapped[i]!.lake);
  });
});

test('AWS .ocsf.json samples (pretty-printed objects) are detected and read as one event each', async () => {
  const dir = path.join(SAMPLES, 'ocsf-examples-aws/v1.1.0');
  const expectLake: Record<string, string> = {
    route53: 'ROUTE53',
    'vpc-flowlogs': 'VPC_FLOW',
    'cloudtrail-api-activity': 'CLOUD_TRAIL_MGMT',
    'cloudtrail-authentication': 'CLOUD_TRAIL_MGMT',
    'cloudtrail-account-change': 'CLOUD_TRAIL_MGMT',
  };
  for (const [sub, lake] of Object.entries(expectLake)) {
    const f = readdirSync(path.join(dir, sub)).find((x) => x.endsWith('.ocsf.json'))!;
    const file = path.join(dir, sub, f);
    assert.ok(detectOcsf(readFileSync(file, 'utf8'), f) >= 0.9, f);
    const items = await collect(ocsfSource, fileInput(file));
    assert.deepEqual(
      items.map((i) => [i.line, i.kind === 'event' && i.lakeSource]),
      [[1, lake]],
      f,
    );
  }
});

test('Parquet: rows stream through DuckDB, hive partition columns are dropped, events round-trip', async () => {
  const mapped = await mapAll(awsRoute53, [path.join(SAMPLES, 'route53-resolver/all-distinct-records.jsonl')]);
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'seclake-ocsf-')), 'region=us-east-1', 'accountId=123456789012', 'eventDay=20221013');
  mkdirSync(dir, { recursive: true });
  const jsonl = path.join(dir, '..', 'events.jsonl');
  writeFileSync(jsonl, mapped.map((m) => JSON.stringify(m.event)).join('\n'));
  const parquet = path.join(dir, 'part-0.parquet');
  const db = await Duck.open();
  try {
    // `unmapped` as a MAP(VARCHAR, VARCHAR), as the lake stores it (read_json infers a struct).
    await db.run(
      `COPY (SELECT * REPLACE (CAST(unmapped AS MAP(VARCHAR, VARCHAR)) AS unmapped) FROM read_json(${quoteString(jsonl)}, format = 'newline_delimited')) TO ${quoteString(parquet)} (FORMAT parquet)`,
    );
    const types = await db.describe('SELECT unmapped FROM read_parquet($1)', [parquet]);
    assert.match(types[0]!.type, /^MAP\(VARCHAR, VARCHAR\)$/);
  } finally {
    db.close();
  }
  const cols = await (async () => {
    const d = await Duck.open();
    try {
      return (await d.describe('SELECT * FROM read_parquet($1)', [parquet])).map((c) => c.name);
    } finally {
      d.close();
    }
  })();
  assert.ok(detectOcsf('', 'part-0.parquet', cols) >= 0.9);
  assert.equal(detectRoute53('', 'part-0.parquet', cols), 0);
  assert.equal(detectCloudTrail('', 'part-0.parquet', cols), 0);
  const items = await collect(ocsfSource, parquetInput(parquet));
  assert.deepEqual(
    items.map((i) => [i.line, i.kind === 'event' && i.lakeSource]),
    mapped.map((_, i) => [i + 1, 'ROUTE53']),
  );
  events(items).forEach((e, i) => {
    for (const k of ['region', 'accountId', 'eventDay']) assert.equal(k in e, false, `${k} dropped`);
    assert.deepEqual(e, mapped[i]!.event);
  });
  assert.deepEqual(validationErrors(items), []);
});

test('Parquet written by Security Lake (OCSF 1.1.0 EKS, rc.2 VPC) passes through', async () => {
  const eks = await collect(ocsfSource, parquetInput(path.join(SAMPLES, 'security-lake-ocsf-validation/1.1.0/EKS/test.parquet')));
  assert.equal(eks.length, 1);
  const e = eks[0]!;
  assert.ok(e.kind === 'event');
  assert.equal(e.lakeSource, 'EXT_amazon_eks');
  assert.equal(e.event.class_uid, 6003);
  const rendered = JSON.parse(readFileSync(path.join(SAMPLES, 'security-lake-ocsf-validation/1.1.0/EKS/test.rendered.json'), 'utf8')) as Obj[];
  assert.equal((e.event.actor as Obj & { user: Obj }).user.name, ((rendered[0]!.actor as Obj).user as Obj).name);
  assert.equal('containers' in ((e.event.api as Obj).request as Obj), false, 'nulls dropped');
  const vpc = await collect(ocsfSource, parquetInput(path.join(SAMPLES, 'security-lake-ocsf-validation/1.0.0-rc.2/VPC_FLOW/example0.gz.parquet')));
  assert.deepEqual(
    vpc.map((i) => [i.line, i.kind === 'event' && i.lakeSource]),
    [[1, 'VPC_FLOW']],
  );
});

test('an unreadable Parquet file fails as a whole with a ParseError naming it', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'seclake-ocsf-')), 'broken.parquet');
  writeFileSync(file, Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64, 7), Buffer.from('PAR1')]));
  await assert.rejects(collect(ocsfSource, parquetInput(file)), (err: Error) => {
    assert.equal(err.name, 'ParseError');
    assert.ok(err.message.startsWith(`${file}:1: cannot read Parquet after 0 rows: `), err.message);
    return true;
  });
});

test('detectors are mutually exclusive on every sample file', () => {
  const detectors = { aws_route53: detectRoute53, aws_cloudtrail: detectCloudTrail, ocsf: detectOcsf };
  const claimed: Record<string, number> = { aws_route53: 0, aws_cloudtrail: 0, ocsf: 0, none: 0 };
  // The test samples, and the raw CloudTrail bundled in assets/samples/cloudtrail (as `cloudtrail/...`).
  const assets = fileURLToPath(new URL('../../../assets/samples/', import.meta.url));
  for (const file of [...walk(SAMPLES), ...walk(path.join(assets, 'cloudtrail'))]) {
    const bytes = readFileSync(file);
    if (bytes.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b])) || bytes.subarray(0, 4).toString('latin1') === 'PAR1') continue;
    const head = bytes.subarray(0, 65536).toString('utf8');
    const hits = Object.entries(detectors).filter(([, d]) => d(head, path.basename(file)) >= 0.5);
    assert.ok(hits.length <= 1, `${file}: ${hits.map(([n]) => n).join(', ')}`);
    claimed[hits[0]?.[0] ?? 'none']!++;
    const rel = path.relative(file.startsWith(assets) ? assets : SAMPLES, file);
    if (rel.startsWith('route53-resolver')) assert.equal(hits[0]?.[0], 'aws_route53', rel);
    if (rel.startsWith('cloudtrail') && rel.endsWith('.json')) assert.equal(hits[0]?.[0], 'aws_cloudtrail', rel);
    if (rel.endsWith('.ocsf.json')) assert.equal(hits[0]?.[0], 'ocsf', rel);
    if (rel.endsWith('.jsonschema.json')) assert.equal(hits.length, 0, rel);
  }
  assert.ok(claimed.aws_route53! >= 3 && claimed.aws_cloudtrail! >= 73 && claimed.ocsf! >= 10, JSON.stringify(claimed));
});
