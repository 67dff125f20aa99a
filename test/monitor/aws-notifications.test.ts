/**
 * SQS message bodies -> object refs, on real message shapes: a body captured from moto_server's S3 -> SQS
 * notification, the AWS documentation's S3 event and test event, an SNS envelope, EventBridge's Object Created event
 * and Security Lake's subscriber message.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotificationError } from '../../src/monitor/aws/errors.js';
import { decodeS3Key, encodeS3Key, parseLakeKey, parseNotification, parseS3Uri } from '../../src/monitor/aws/notifications.js';
import { localTempName } from '../../src/monitor/aws/s3-object.js';

// Captured from moto_server 5.2.1 (PutObject of "aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20260101/a b+c%.parquet").
const MOTO_BODY =
  '{"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": "2026-11-28T15:23:11.914068", "eventName": "ObjectCreated:Put", "s3": {"s3SchemaVersion": "1.0", "configurationId": "o2l0r8mKH9H6cVLKEtnfGWwWYKMhuez6NgdGrpse3dOOER57bx", "bucket": {"name": "lake", "arn": "arn:aws:s3:::lake"}, "object": {"key": "aws%2FVPC_FLOW%2F2.0%2Fregion%3Dus-east-1%2FaccountId%3D1%2FeventDay%3D20260101%2Fa+b%2Bc%25.parquet", "size": 1, "eTag": "9dd4e461268c8034f5c8564e155c67a6"}}}]}';
const MOTO_TEST_EVENT = '{"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-28T15:23:11.903660", "Bucket": "lake"}';

// The AWS documentation's example (notification-content-structure), two records: a creation and a deletion.
const AWS_S3_EVENT = JSON.stringify({
  Records: [
    {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-west-2',
      eventTime: '1970-01-01T00:00:00.000Z',
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: 'AIDAJDPLRKLG7UEXAMPLE' },
      requestParameters: { sourceIPAddress: '172.16.0.1' },
      responseElements: { 'x-amz-request-id': 'C3D13FE58DE4C810', 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'testConfigRule',
        bucket: { name: 'amzn-s3-demo-bucket', ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: 'arn:aws:s3:::amzn-s3-demo-bucket' },
        object: { key: 'HappyFace.jpg', size: 1024, eTag: 'd41d8cd98f00b204e9800998ecf8427e', versionId: '096fKKXTRTtl3on89fVO.nfljtsv6qko', sequencer: '0055AED6DCD90281E5' },
      },
    },
    {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-west-2',
      eventTime: '1970-01-01T00:00:01.000Z',
      eventName: 'ObjectRemoved:Delete',
      s3: { s3SchemaVersion: '1.0', bucket: { name: 'amzn-s3-demo-bucket' }, object: { key: 'Old.jpg', sequencer: '0055AED6DCD90281E6' } },
    },
  ],
});
const AWS_TEST_EVENT = JSON.stringify({
  Service: 'Amazon S3',
  Event: 's3:TestEvent',
  Time: '2014-10-13T15:57:02.089Z',
  Bucket: 'amzn-s3-demo-bucket',
  RequestId: '5582815E1AEA5ADF',
  HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
});

const SECURITY_LAKE_KEY = 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=645411899653/eventDay=20230726/02c4c95860435b9afa86fb93f7fa776a.gz.parquet';

// EventBridge "Object Created" as an EventBridge rule delivers it to an SQS target.
const EVENTBRIDGE = JSON.stringify({
  version: '0',
  id: '17793124-05d4-b198-2fde-7ededc63b103',
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '111122223333',
  time: '2021-11-12T00:00:00Z',
  region: 'ca-central-1',
  resources: ['arn:aws:s3:::amzn-s3-demo-bucket1'],
  detail: {
    version: '0',
    bucket: { name: 'amzn-s3-demo-bucket1' },
    object: { key: 'example-key', size: 5, etag: 'b1946ac92492d2347c6235b4d2611184', 'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e', sequencer: '617f08299329d189' },
    'request-id': 'N4N7GDK58NMKJ12R',
    requester: '123456789012',
    'source-ip-address': '1.2.3.4',
    reason: 'PutObject',
  },
});

// Security Lake's subscriber notification (no detail-type).
const SECURITY_LAKE = JSON.stringify({
  source: 'aws.s3',
  time: '2023-07-26T02:05:12Z',
  account: '645411899653',
  region: 'us-east-1',
  resources: ['arn:aws:s3:::aws-security-data-lake-us-east-1-abcdefghijklmnopqrstuvwxyz1234'],
  detail: {
    bucket: { name: 'aws-security-data-lake-us-east-1-abcdefghijklmnopqrstuvwxyz1234' },
    object: { key: SECURITY_LAKE_KEY, size: 5120, etag: '8e0a4e9a4b7d4d06a1b0fd1d9e2c1a55' },
    'request-id': 'N4N7GDK58NMKJ12R',
    requester: 'securitylake.amazonaws.com',
  },
});

function sns(message: string): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    TopicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic',
    Subject: 'Amazon S3 Notification',
    Message: message,
    Timestamp: '2012-05-02T00:54:06.655Z',
    SignatureVersion: '1',
    Signature: 'EXAMPLEw6JRN...',
    SigningCertURL: 'https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
    UnsubscribeURL: 'https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0',
  });
}

test('moto S3 notification: key decoded (%2F, + as space, %2B as +, %25 as %)', () => {
  const n = parseNotification(MOTO_BODY, 'm1');
  assert.equal(n.shape, 's3');
  assert.deepEqual(n.ignored, []);
  assert.equal(n.objects.length, 1);
  assert.deepEqual(n.objects[0], {
    bucket: 'lake',
    key: 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20260101/a b+c%.parquet',
    size: 1,
    etag: '9dd4e461268c8034f5c8564e155c67a6',
    eventName: 'ObjectCreated:Put',
    eventTime: '2026-11-28T15:23:11.914068',
  });
});

test('test events are acknowledged with no object (moto and AWS shapes, also via SNS)', () => {
  for (const body of [MOTO_TEST_EVENT, AWS_TEST_EVENT]) {
    const n = parseNotification(body, 't');
    assert.equal(n.shape, 's3-test');
    assert.deepEqual(n.objects, []);
  }
  assert.equal(parseNotification(sns(AWS_TEST_EVENT), 't').shape, 'sns+s3-test');
});

test('AWS S3 event with a creation and a deletion: one object, the deletion ignored with a reason', () => {
  const n = parseNotification(AWS_S3_EVENT, 'm2');
  assert.equal(n.objects.length, 1);
  assert.equal(n.objects[0]!.key, 'HappyFace.jpg');
  assert.equal(n.objects[0]!.versionId, '096fKKXTRTtl3on89fVO.nfljtsv6qko');
  assert.equal(n.objects[0]!.sequencer, '0055AED6DCD90281E5');
  assert.equal(n.ignored.length, 1);
  assert.match(n.ignored[0]!, /Records\[1\].*ObjectRemoved:Delete/);
});

test('several creation records in one message', () => {
  const rec = (key: string) => ({ eventName: 'ObjectCreated:CompleteMultipartUpload', s3: { bucket: { name: 'b1' }, object: { key: encodeS3Key(key), size: 3 } } });
  const n = parseNotification(JSON.stringify({ Records: [rec('aws/a 1.parquet'), rec('aws/b+2.parquet'), rec('aws/c=3.parquet')] }), 'm3');
  assert.deepEqual(n.objects.map((o) => o.key), ['aws/a 1.parquet', 'aws/b+2.parquet', 'aws/c=3.parquet']);
});

test('SNS-wrapped S3 notification', () => {
  const n = parseNotification(sns(MOTO_BODY), 'm4');
  assert.equal(n.shape, 'sns+s3');
  assert.equal(n.objects[0]!.key, 'aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20260101/a b+c%.parquet');
});

test('EventBridge Object Created, direct and via SNS; other detail types ignored', () => {
  const n = parseNotification(EVENTBRIDGE, 'm5');
  assert.equal(n.shape, 'eventbridge');
  assert.deepEqual(n.objects, [
    { bucket: 'amzn-s3-demo-bucket1', key: 'example-key', size: 5, etag: 'b1946ac92492d2347c6235b4d2611184', versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e', sequencer: '617f08299329d189', eventName: 'Object Created', eventTime: '2021-11-12T00:00:00Z' },
  ]);
  assert.equal(parseNotification(sns(EVENTBRIDGE), 'm5').shape, 'sns+eventbridge');
  const deleted = parseNotification(EVENTBRIDGE.replace('Object Created', 'Object Deleted'), 'm6');
  assert.deepEqual(deleted.objects, []);
  assert.match(deleted.ignored[0]!, /Object Deleted/);
});

test('Security Lake subscriber message (no detail-type) and its key layout', () => {
  const n = parseNotification(SECURITY_LAKE, 'm7');
  assert.equal(n.objects.length, 1);
  assert.equal(n.objects[0]!.key, SECURITY_LAKE_KEY);
  assert.deepEqual(parseLakeKey(SECURITY_LAKE_KEY), {
    prefix: '',
    source: 'VPC_FLOW',
    sourceVersion: '2.0',
    region: 'us-east-1',
    accountId: '645411899653',
    eventDay: '20230726',
    file: '02c4c95860435b9afa86fb93f7fa776a.gz.parquet',
  });
  assert.equal(parseLakeKey(`lakes/prod/${SECURITY_LAKE_KEY}`)!.prefix, 'lakes/prod');
  assert.equal(parseLakeKey('ext/seclake_findings/2.0/region=r/accountId=a/eventDay=d/f.parquet')!.source, 'EXT_SECLAKE_FINDINGS');
  assert.equal(parseLakeKey('random/file.parquet'), undefined);
});

test('hand-made events with the body as an object (the reference test event) are accepted', () => {
  const n = parseNotification(JSON.parse(SECURITY_LAKE), 'm8');
  assert.equal(n.objects[0]!.key, SECURITY_LAKE_KEY);
});

test('unknown shapes and broken bodies are NotificationErrors naming the message id', () => {
  const cases: [unknown, RegExp][] = [
    ['', /empty message body/],
    ['not json', /message body is not JSON/],
    ['[1,2]', /got a JSON array/],
    ['{"hello": 1}', /got an object with keys "hello"/],
    [sns('{"nope": true}'), /inside the SNS Message/],
    [sns('{broken'), /SNS Message is not JSON/],
    ['{"Records": [{"eventName": "ObjectCreated:Put"}]}', /Records\[0\]: not an S3 event record/],
    ['{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b1"}, "object": {}}}]}', /missing object key/],
    ['{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {}, "object": {"key": "k"}}}]}', /missing bucket name/],
    ['{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b/../x"}, "object": {"key": "k"}}}]}', /invalid bucket name/],
    ['{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b1"}, "object": {"key": "bad%zzescape"}}}]}', /not valid URL encoding/],
    ['{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b1"}, "object": {"key": "a%00b"}}}]}', /NUL/],
    ['{"detail": {"bucket": {"name": "b1"}, "object": {}}}', /detail: missing object key/],
  ];
  for (const [body, re] of cases) {
    assert.throws(
      () => parseNotification(body, 'msg-42'),
      (err: unknown) => err instanceof NotificationError && err.messageId === 'msg-42' && /^SQS message msg-42: /.test(err.message) && re.test(err.message),
      `${String(body).slice(0, 60)} should fail with ${re}`,
    );
  }
});

test('decodeS3Key / encodeS3Key round trip', () => {
  for (const k of ['a b', 'a+b', 'x/y=z;w:1', 'ünïcode/∑', '%', 'a%2Fb']) assert.equal(decodeS3Key(encodeS3Key(k)), k);
  assert.equal(decodeS3Key('a+b%2Bc'), 'a b+c');
});

test('local temp names never depend on the key (no path traversal)', () => {
  const names = ['../../etc/passwd', '/abs/x.parquet', 'a/../../b', '..', 'C:\\x'].map((key) => localTempName({ bucket: 'b1', key }));
  for (const n of names) assert.match(n, /^[0-9a-f]{32}\.parquet$/);
  assert.equal(new Set(names).size, names.length);
  assert.notEqual(localTempName({ bucket: 'b1', key: 'k' }), localTempName({ bucket: 'b2', key: 'k' }));
});

test('parseS3Uri', () => {
  assert.deepEqual(parseS3Uri('s3://bkt/a/b/'), { bucket: 'bkt', prefix: 'a/b' });
  assert.deepEqual(parseS3Uri('s3://bkt'), { bucket: 'bkt', prefix: '' });
  assert.equal(parseS3Uri('https://x'), undefined);
});
