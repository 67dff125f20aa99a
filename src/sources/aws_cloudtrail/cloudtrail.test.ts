import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveEvent } from '../../ocsf/derive.js';
import { validateEvent } from '../../ocsf/validate.js';
import type { OcsfEvent } from '../types.js';
import { assertGolden, collect, deletePath, dtToInstant, fileInput, goldenItems, textInput, validationErrors } from '../ocsf/test-input.js';
import { awsCloudtrail, detectCloudTrail } from './index.js';
import { parseCloudTrail } from './parse.js';
import { apiActivityId, classify, cloudTrailLakeSource, toOcsf } from './to-ocsf.js';

const SAMPLES = fileURLToPath(new URL('../../../test/samples/', import.meta.url));
/** The raw CloudTrail samples bundled with seclake (AWS docs examples flat, invictus-ir files in their folder). */
const CLOUDTRAIL = fileURLToPath(new URL('../../../assets/samples/cloudtrail/', import.meta.url));
const TESTDATA = fileURLToPath(new URL('./testdata/', import.meta.url));
const PAIRS = path.join(SAMPLES, 'ocsf-examples-aws/v1.1.0');

type Obj = Record<string, unknown>;

function mapOne(raw: unknown): Obj {
  const p = parseCloudTrail(raw);
  if (!p.ok) throw new Error(p.reason);
  const m = toOcsf(p.record);
  if (!m.ok) throw new Error(m.reason);
  return deriveEvent(m.event);
}

function errors(ev: OcsfEvent): string[] {
  return validateEvent(ev)
    .filter((i) => i.severity === 'error')
    .map((i) => i.message);
}

function pair(dir: string, name: string): { ours: Obj; expected: Obj } {
  const raw = JSON.parse(readFileSync(path.join(PAIRS, dir, `${name}.raw.json`), 'utf8'));
  const expected = JSON.parse(readFileSync(path.join(PAIRS, dir, `${name}.ocsf.json`), 'utf8')) as Obj;
  const ours = mapOne(raw);
  assert.deepEqual(errors(ours), [], `${dir} validates`);
  return { ours, expected };
}

/**
 * Differences from the AWS samples that hold for all three CloudTrail pairs, each on purpose:
 * - `recipientAccountId` -> `cloud.account.uid` (the samples leave it in unmapped). It is the account whose
 *   trail logged the event, i.e. Security Lake's `accountId` partition; without it, service events with no
 *   caller account would land under the file name's account.
 * - `status_id` 1: the samples carry only the caption `status: "Success"`; the id is authoritative and
 *   derive writes the same caption.
 * - `*_dt`: the samples render local offsets (-04:00/-05:00); derive writes UTC. Compared as instants.
 * - observables: the samples list them in different orders; compared sorted by name.
 */
function normaliseCommon(ours: Obj, expected: Obj): void {
  const cloud = ours.cloud as Obj;
  assert.equal((cloud.account as Obj).uid, (expected.unmapped as Obj).recipientAccountId);
  delete cloud.account;
  deletePath(expected, 'unmapped.recipientAccountId');
  if (Object.keys(expected.unmapped as Obj).length === 0) delete expected.unmapped;
  assert.equal(ours.status_id, 1);
  assert.equal(ours.status, expected.status);
  delete ours.status_id;
  for (const e of [ours, expected]) {
    if (Array.isArray(e.observables)) (e.observables as Obj[]).sort((a, b) => String(a.name).localeCompare(String(b.name)));
  }
}

test('AWS v1.1.0 pair, API Activity: equal except documented differences', () => {
  const { ours, expected } = pair('cloudtrail-api-activity', 'generic_api_activity');
  normaliseCommon(ours, expected);
  // The raw record (eventVersion 1.05) has no eventCategory; the sample writes the constant
  // "Management, Data, and Insights". We infer the category ("Management" unless managementEvent is false),
  // which also picks the lake source.
  assert.equal(((ours.metadata as Obj).product as Obj).feature && (((ours.metadata as Obj).product as Obj).feature as Obj).name, 'Management');
  deletePath(ours, 'metadata.product.feature');
  deletePath(expected, 'metadata.product.feature');
  assert.deepEqual(dtToInstant(ours), dtToInstant(expected));
});

test('AWS v1.1.0 pair, Authentication: equal except documented differences', () => {
  const { ours, expected } = pair('cloudtrail-authentication', 'authentication');
  normaliseCommon(ours, expected);
  // The raw ConsoleLogin has no requestID; the sample writes the literal string "''" as api.request.uid.
  // api.request.uid is required inside api.request, so without a request id we leave api.request out.
  assert.equal(((ours.api as Obj).request as Obj | undefined)?.uid, undefined);
  deletePath(expected, 'api.request');
  // Authentication.user is the subject who signs in: we also carry userIdentity.userName as user.name
  // (and its observable); the sample has the name only on actor.user.
  assert.equal((ours.user as Obj).name, 'anaya');
  deletePath(ours, 'user.name');
  ours.observables = (ours.observables as Obj[]).filter((o) => o.name !== 'user.name');
  assert.deepEqual(dtToInstant(ours), dtToInstant(expected));
});

test('AWS v1.1.0 pair, Account Change: equal except documented differences', () => {
  const { ours, expected } = pair('cloudtrail-account-change', 'account_change');
  normaliseCommon(ours, expected);
  // The sample sets only actor.session.created_time_dt; we set the timestamp_t created_time and derive adds
  // the _dt sibling (same instant).
  assert.equal(((ours.actor as Obj).session as Obj).created_time, Date.parse('2023-11-17T16:43:57Z'));
  deletePath(ours, 'actor.session.created_time');
  assert.deepEqual(dtToInstant(ours), dtToInstant(expected));
});

test('every raw CloudTrail sample (aws-docs + 55 invictus files, 2,919 records) maps with zero rejects and validates', async () => {
  const counts = new Map<string, number>();
  let invictus = 0;
  let files = 0;
  for (const sub of ['', 'invictus-ir']) {
    const dir = path.join(CLOUDTRAIL, sub);
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.json')) continue;
      files++;
      const items = await collect(awsCloudtrail, fileInput(path.join(dir, f)));
      assert.deepEqual(
        items.filter((i) => i.kind === 'reject'),
        [],
        f,
      );
      assert.deepEqual(validationErrors(items), [], f);
      for (const i of items) {
        if (i.kind !== 'event') continue;
        const k = `${i.lakeSource} ${String(i.event.class_uid)}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
        if (sub !== '') invictus++;
      }
    }
  }
  assert.equal(files, 18 + 55);
  assert.equal(invictus, 2900);
  assert.deepEqual(Object.fromEntries([...counts].sort()), {
    'CLOUD_TRAIL_MGMT 3001': 89,
    'CLOUD_TRAIL_MGMT 3002': 60,
    'CLOUD_TRAIL_MGMT 6003': 2768,
    // The two CloudTrail Insights records (Start/End) of the AWS docs example become Detection Findings
    // in a custom source, not API Activity (see README).
    'EXT_cloudtrail_insights 2004': 2,
  });
});

test('the raw CloudTrail records of every ocsf/examples version (rc.2, 1.1.0, 1.5.0) map and validate', async () => {
  const root = path.join(SAMPLES, 'ocsf-examples-aws');
  let n = 0;
  for (const version of readdirSync(root).sort()) {
    for (const sub of readdirSync(path.join(root, version)).filter((d) => d.startsWith('cloudtrail-'))) {
      for (const f of readdirSync(path.join(root, version, sub)).filter((x) => x.endsWith('.raw.json'))) {
        const items = await collect(awsCloudtrail, fileInput(path.join(root, version, sub, f)));
        assert.deepEqual(
          items.map((i) => [i.line, i.kind]),
          [[1, 'event']],
          `${version}/${sub}/${f}`,
        );
        assert.deepEqual(validationErrors(items), [], `${version}/${sub}/${f}`);
        n++;
      }
    }
  }
  assert.equal(n, 9);
  // v1.5.0 writes absent values as "" (`"resources": ""`, `"responseElements": ""`): treated as absent.
  const v15 = await collect(awsCloudtrail, fileInput(path.join(root, 'v1.5.0/cloudtrail-account-change/account_change.raw.json')));
  const ev = (v15[0] as { event: OcsfEvent }).event;
  assert.equal(((ev.api as Obj).response as Obj | undefined)?.data, undefined);
  assert.equal(Object.values(ev.unmapped as Obj).includes(''), false);
});

test('the raw inputs of real Security Lake v1 output (aws-samples validation set, 21 records) map and validate', async () => {
  const root = path.join(SAMPLES, 'security-lake-ocsf-validation/1.0.0-rc.2/CLOUD_TRAIL');
  const classes: Record<string, number> = {};
  for (const kind of ['account_change', 'api_activity', 'authentication']) {
    const dir = path.join(root, kind, 'input');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.decompressed.json'))) {
      const items = await collect(awsCloudtrail, fileInput(path.join(dir, f)));
      assert.deepEqual(items.filter((i) => i.kind === 'reject'), [], f);
      assert.deepEqual(validationErrors(items), [], f);
      for (const i of items) if (i.kind === 'event') classes[`${kind} ${String(i.event.class_uid)}`] = (classes[`${kind} ${String(i.event.class_uid)}`] ?? 0) + 1;
    }
  }
  // Security Lake v1 put these in the same classes (API Activity was 3005 in rc.2, 6003 in 1.1.0).
  assert.deepEqual(classes, { 'account_change 3001': 7, 'api_activity 6003': 7, 'authentication 3002': 7 });
});

test('Insights events become Detection Findings linked by sharedEventID', async () => {
  const items = await collect(awsCloudtrail, fileInput(path.join(CLOUDTRAIL, 'log-file-examples--cloudtrail-insights-event-log-example.json')));
  const ev = items.map((i) => (i.kind === 'event' ? deriveEvent(i.event) : undefined));
  assert.equal(ev.length, 2);
  const [start, end] = ev as Obj[];
  assert.equal(start!.class_uid, 2004);
  assert.equal(start!.activity_id, 1);
  assert.equal(end!.activity_id, 3);
  assert.equal((start!.finding_info as Obj).uid, (end!.finding_info as Obj).uid);
  assert.equal((start!.finding_info as Obj).title, 'CloudTrail Insights: ApiCallRateInsight for ssm.amazonaws.com UpdateInstanceInformation');
  assert.deepEqual((start!.evidences as Obj[])[0], { api: { operation: 'UpdateInstanceInformation', service: { name: 'ssm.amazonaws.com' } } });
  assert.equal((end!.unmapped as Obj)['insightDetails.insightContext.statistics.insightDuration'], '1');
  for (const e of [start!, end!]) assert.deepEqual(errors(e), []);
});

test('golden: delivery.json (data events, AWS service caller, IAM changes, errors, web identity, 2014 event, rejects, insight)', async () => {
  const items = await collect(awsCloudtrail, fileInput(path.join(TESTDATA, 'delivery.json')));
  assert.deepEqual(validationErrors(items), []);
  assertGolden(path.join(TESTDATA, 'delivery.expected.json'), goldenItems(items));
  const byLine = new Map(items.map((i) => [i.line, i]));
  const ev = (line: number): Obj => {
    const it = byLine.get(line);
    assert.ok(it && it.kind === 'event', `record ${line} is an event`);
    return deriveEvent((it as { event: OcsfEvent }).event);
  };
  const lake = (line: number): string | undefined => {
    const it = byLine.get(line);
    return it?.kind === 'event' ? it.lakeSource : undefined;
  };
  // 1-3: data events -> S3_DATA / LAMBDA_EXECUTION / custom source
  assert.deepEqual([lake(1), lake(2), lake(3)], ['S3_DATA', 'LAMBDA_EXECUTION', 'EXT_cloudtrail_data']);
  assert.deepEqual(ev(1).resources, [
    { uid: 'arn:aws:s3:::example-bucket/reports/q1.csv', type: 'AWS::S3::Object' },
    { uid: 'arn:aws:s3:::example-bucket', type: 'AWS::S3::Bucket', owner: { account: { uid: '111111111111' } } },
  ]);
  assert.equal(ev(2).activity_id, 99);
  assert.equal(ev(2).activity_name, 'Invoke', '99 keeps the source label');
  // 4: AssumeRole by an AWS service: Authentication, user = the role session; the caller is only invoked_by
  const e4 = ev(4);
  assert.equal(e4.class_uid, 3002);
  assert.deepEqual(e4.user, { uid: 'arn:aws:iam::111111111111:role/ec2-role', name: 'i-0123456789abcdef0' });
  assert.deepEqual(e4.actor, { invoked_by: 'ec2.amazonaws.com' });
  assert.deepEqual(e4.src_endpoint, { domain: 'ec2.amazonaws.com', svc_name: 'ec2.amazonaws.com' });
  assert.deepEqual(e4.service, { name: 'sts.amazonaws.com' });
  assert.equal((e4.unmapped as Obj)['userIdentity.type'], 'AWSService');
  // 5: UpdateAccessKey Inactive -> Account Change 5 Disable, target bob
  assert.deepEqual([ev(5).class_uid, ev(5).activity_id, (ev(5).user as Obj).name], [3001, 5, 'bob']);
  // 6: CreateAccessKey for oneself (no userName parameter) -> the user named in the response
  assert.deepEqual([ev(6).activity_id, (ev(6).user as Obj).name], [1, 'bob']);
  // 7: group policy: no principal named -> the account
  assert.deepEqual([ev(7).activity_id, ev(7).user], [7, { account: { uid: '111111111111' } }]);
  // 8: failed CreateUser -> Failure with the error code and message
  const e8 = ev(8);
  assert.equal(e8.status_id, 2);
  assert.equal(((e8.api as Obj).response as Obj).error, 'AccessDenied');
  assert.match(String(((e8.api as Obj).response as Obj).message), /not authorized/);
  // 9: web identity: idp from identityProvider, IPv6 source
  assert.deepEqual((ev(9).actor as Obj).idp, { name: 'accounts.google.com' });
  assert.equal((ev(9).src_endpoint as Obj).ip, '2001:db8::10');
  // 10: a 2014 record without requestID: no api.request; requestParameters kept in unmapped
  const e10 = ev(10);
  assert.equal((e10.api as Obj).request, undefined);
  assert.equal((e10.unmapped as Obj)['requestParameters.instancesSet.items'], '[{"instanceId":"i-0000000000000000a"}]');
  assert.equal((e10.unmapped as Obj)['requestParameters.force'], 'false');
  // 11-13: rejects; 14: an ApiErrorRateInsight
  const rejects = items.filter((i) => i.kind === 'reject');
  assert.deepEqual(
    rejects.map((r) => [r.line, r.field, r.reason]),
    [
      [11, 'userIdentity', 'userIdentity: missing or empty (API Activity requires an actor)'],
      [12, 'eventTime', "eventTime: '2024-05-01 10:00:11' is not an ISO-8601 timestamp"],
      [13, 'eventName', 'eventName: missing'],
    ],
  );
  for (const r of rejects) assert.equal(r.kind === 'reject' && JSON.parse(r.raw).eventVersion, '1.09');
  assert.equal(lake(14), 'EXT_cloudtrail_insights');
  assert.equal((ev(14).finding_info as Obj).title, 'CloudTrail Insights: ApiErrorRateInsight for iam.amazonaws.com CreateAccessKey');
});

test('golden: events.jsonl (JSON lines of single events, malformed lines, a Records line)', async () => {
  const items = await collect(awsCloudtrail, fileInput(path.join(TESTDATA, 'events.jsonl')));
  assert.deepEqual(validationErrors(items), []);
  assertGolden(path.join(TESTDATA, 'events.expected.json'), goldenItems(items));
  assert.deepEqual(
    items.map((i) => [i.line, i.kind === 'event' ? `${String(i.event.class_uid)}/${String(i.event.activity_id)}` : i.reason.replace(/^malformed JSON: .*/, 'malformed JSON')]),
    [
      [1, '6003/4'],
      [2, 'malformed JSON'],
      [3, '3002/1'],
      [4, 'eventTime: missing'],
      [6, "eventTime: '2024-13-45T99:00:00Z' is not an ISO-8601 timestamp"],
      [7, "userIdentity: 'bob' is not an object"],
      [8, '3001/3'],
    ],
  );
  const lines = readFileSync(path.join(TESTDATA, 'events.jsonl'), 'utf8').split('\n');
  for (const r of items) if (r.kind === 'reject') assert.equal(r.raw, lines[r.line - 1]);
  const login = deriveEvent((items[2] as { event: OcsfEvent }).event);
  assert.equal(login.status_id, 2, 'ConsoleLogin Failure without errorCode is a failure');
  assert.equal(login.is_mfa, false);
  assert.equal((login.user as Obj).name, 'bob');
  assert.equal(((login.actor as Obj).user as Obj).credential_uid, undefined, 'empty accessKeyId is dropped');
  const first = deriveEvent((items[0] as { event: OcsfEvent }).event);
  assert.deepEqual(first.src_endpoint, { ip: '198.51.100.10', uid: 'vpce-0000000000000000a' });
});

test('null, empty and non-JSON inputs', async () => {
  assert.deepEqual(await collect(awsCloudtrail, textInput('')), []);
  assert.deepEqual(await collect(awsCloudtrail, textInput('{"Records":[]}')), []);
  const bad = await collect(awsCloudtrail, textInput('{\n "Records": [\n  {"eventVersion": "1.08",\n'));
  assert.equal(bad.length, 1);
  assert.deepEqual([bad[0]!.kind, bad[0]!.line], ['reject', 1]);
  assert.match((bad[0] as { reason: string }).reason, /^malformed JSON document: /);
  const nul = await collect(awsCloudtrail, textInput('null\n'));
  assert.deepEqual(
    nul.map((i) => [i.line, i.kind === 'reject' && i.reason]),
    [[1, 'record: not a JSON object (null)']],
  );
});

test('EventBridge events carrying a CloudTrail record are unwrapped', async () => {
  const record = JSON.parse(readFileSync(path.join(PAIRS, 'cloudtrail-api-activity/generic_api_activity.raw.json'), 'utf8')) as Obj;
  const envelope = {
    version: '0',
    id: '6f2d7a8e-0000-4000-8000-000000000000',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.directconnect',
    account: '1111111111111',
    time: '2023-09-21T22:22:52Z',
    region: 'us-east-1',
    resources: [],
    detail: record,
  };
  const head = JSON.stringify(envelope);
  assert.ok(detectCloudTrail(head, 'events.jsonl') >= 0.9);
  const wrapped = await collect(awsCloudtrail, textInput(`${head}\n`));
  const direct = await collect(awsCloudtrail, textInput(JSON.stringify(record)));
  assert.equal(wrapped.length, 1);
  assert.equal(wrapped[0]!.kind, 'event');
  assert.deepEqual(wrapped, direct);
});

test('classification tables', () => {
  assert.equal(classify('ConsoleLogin', 'signin.amazonaws.com'), 3002);
  assert.equal(classify('AssumeRoleWithSAML', 'sts.amazonaws.com'), 3002);
  assert.equal(classify('CreateUser', 'iam.amazonaws.com'), 3001);
  assert.equal(classify('CreateUser', 'mq.amazonaws.com'), 6003, 'other services reuse IAM names');
  assert.equal(classify('DeletePolicy', 'iam.amazonaws.com'), 6003);
  assert.equal(classify('DescribeInstances', 'ec2.amazonaws.com'), 6003);
  assert.deepEqual(
    ['RunInstances', 'GetFunction20150331v2', 'ListBuckets', 'PutBucketPolicy', 'AuthorizeSecurityGroupIngress', 'TerminateInstances', 'Decrypt', 'getObject', ''].map(apiActivityId),
    [1, 2, 2, 3, 3, 4, 99, 2, 99],
  );
  assert.equal(cloudTrailLakeSource(undefined, 'ec2.amazonaws.com'), 'CLOUD_TRAIL_MGMT');
  assert.equal(cloudTrailLakeSource('NetworkActivity', 'ec2.amazonaws.com'), 'EXT_cloudtrail_other');
});

test('detect: CloudTrail samples score high; Route 53, OCSF and the digest/licence files get 0', () => {
  const head = (p: string): string => readFileSync(p, 'utf8').slice(0, 65536);
  for (const f of readdirSync(CLOUDTRAIL).filter((x) => x.endsWith('.json'))) {
    assert.ok(detectCloudTrail(head(path.join(CLOUDTRAIL, f)), f) >= 0.9, f);
  }
  const inv = readdirSync(path.join(CLOUDTRAIL, 'invictus-ir')).filter((x) => x.endsWith('.json'))[0]!;
  assert.ok(detectCloudTrail(head(path.join(CLOUDTRAIL, 'invictus-ir', inv)), inv) >= 0.9);
  assert.equal(detectCloudTrail(head(path.join(CLOUDTRAIL, 'invictus-ir/LICENSE.txt')), 'LICENSE.txt'), 0);
  assert.equal(detectCloudTrail(head(path.join(SAMPLES, 'ocsf-examples-aws/v1.1.0/cloudtrail-api-activity/generic_api_activity.ocsf.json')), 'x'), 0);
  assert.equal(detectCloudTrail(head(fileURLToPath(new URL('../../../assets/samples/route53-resolver/aws-docs-example-firewall-block-ptr.json', import.meta.url))), 'x'), 0);
  assert.equal(detectCloudTrail('{"awsAccountId":"1","digestStartTime":"2024-01-01T00:00:00Z"}', 'x_CloudTrail-Digest_y.json'), 0);
  assert.equal(detectCloudTrail('', 'x.parquet', ['eventVersion', 'eventTime']), 0);
});

test('unmapped keeps every field the mapping did not consume (nothing silently dropped)', () => {
  const raw = JSON.parse(readFileSync(path.join(PAIRS, 'cloudtrail-account-change/account_change.raw.json'), 'utf8')) as Obj;
  const before = structuredClone(raw);
  const ev = mapOne(raw);
  assert.deepEqual(raw, before, 'mapping does not modify the decoded record (rejects quote it)');
  assert.deepEqual(ev.unmapped, {
    'userIdentity.sessionContext.sessionIssuer.type': 'Role',
    'userIdentity.sessionContext.sessionIssuer.principalId': 'AROA2W7SOKHEXAMPLE',
    'userIdentity.sessionContext.sessionIssuer.accountId': '112233445566',
    'userIdentity.sessionContext.sessionIssuer.userName': 'Admin',
    readOnly: 'false',
    managementEvent: 'true',
    sessionCredentialFromConsole: 'true',
  });
});

