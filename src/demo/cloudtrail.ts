/**
 * CloudTrail records of the demo: console sign-ins and console API calls by IAM users, API calls by the
 * instances' roles (through VPC interface endpoints), and the STS AssumeRole calls EC2 makes for instance profiles.
 * Shapes follow the CloudTrail record contents reference (eventVersion 1.09/1.08).
 */
import type { Rng } from '../core/rng.js';
import type { DemoEnvironment, DemoUser, Instance } from './environment.js';
import { isoSeconds, uuid } from './records.js';

const BROWSERS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36',
];

export function userAgentOf(user: DemoUser): string {
  let h = 0;
  for (const c of user.name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return BROWSERS[h % BROWSERS.length]!;
}

function iamUserIdentity(env: DemoEnvironment, u: DemoUser, withKey: boolean): Record<string, unknown> {
  return {
    type: 'IAMUser',
    principalId: u.principalId,
    arn: u.arn,
    accountId: env.account,
    ...(withKey ? { accessKeyId: u.accessKeyId } : {}),
    userName: u.name,
  };
}

export function consoleLogin(env: DemoEnvironment, rng: Rng, u: DemoUser, t: number, ip: string, ua: string): string {
  return JSON.stringify({
    eventVersion: '1.09',
    userIdentity: iamUserIdentity(env, u, false),
    eventTime: isoSeconds(t),
    eventSource: 'signin.amazonaws.com',
    eventName: 'ConsoleLogin',
    awsRegion: env.region,
    sourceIPAddress: ip,
    userAgent: ua,
    requestParameters: null,
    responseElements: { ConsoleLogin: 'Success' },
    additionalEventData: {
      LoginTo: 'https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1',
      MobileVersion: 'No',
      MFAUsed: 'Yes',
    },
    eventID: uuid(rng),
    readOnly: false,
    eventType: 'AwsConsoleSignIn',
    managementEvent: true,
    recipientAccountId: env.account,
    eventCategory: 'Management',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: 'signin.aws.amazon.com' },
  });
}

/** Read-only console calls a user makes after signing in (service, event name, request parameters). */
export const CONSOLE_CALLS: readonly [string, string, Record<string, unknown> | null][] = [
  ['ec2.amazonaws.com', 'DescribeInstances', { filterSet: {}, instancesSet: {} }],
  ['ec2.amazonaws.com', 'DescribeSecurityGroups', { securityGroupSet: {}, filterSet: {} }],
  ['ec2.amazonaws.com', 'DescribeVpcs', { vpcSet: {}, filterSet: {} }],
  ['s3.amazonaws.com', 'ListBuckets', { Host: 's3.amazonaws.com' }],
  ['cloudwatch.amazonaws.com', 'DescribeAlarms', { maxRecords: 100 }],
  ['logs.amazonaws.com', 'DescribeLogGroups', { limit: 50 }],
  ['rds.amazonaws.com', 'DescribeDBInstances', null],
  ['sts.amazonaws.com', 'GetCallerIdentity', null],
];

/** What an intruder does right after signing in (reconnaissance, then persistence). */
export const INTRUDER_CALLS: readonly [string, string, Record<string, unknown> | null][] = [
  ['sts.amazonaws.com', 'GetCallerIdentity', null],
  ['iam.amazonaws.com', 'ListUsers', { maxItems: 100 }],
  ['iam.amazonaws.com', 'ListAttachedUserPolicies', { userName: 'admin' }],
  ['s3.amazonaws.com', 'ListBuckets', { Host: 's3.amazonaws.com' }],
  ['iam.amazonaws.com', 'CreateAccessKey', null],
];

export function userApiCall(
  env: DemoEnvironment,
  rng: Rng,
  u: DemoUser,
  t: number,
  ip: string,
  ua: string,
  call: readonly [string, string, Record<string, unknown> | null],
): string {
  const [source, name, params] = call;
  const record: Record<string, unknown> = {
    eventVersion: '1.09',
    userIdentity: {
      ...iamUserIdentity(env, u, true),
      sessionContext: { attributes: { creationDate: isoSeconds(t - 60_000), mfaAuthenticated: 'true' } },
    },
    eventTime: isoSeconds(t),
    eventSource: source,
    eventName: name,
    awsRegion: env.region,
    sourceIPAddress: ip,
    userAgent: ua,
    requestParameters: name === 'CreateAccessKey' ? { userName: u.name } : params,
    responseElements:
      name === 'CreateAccessKey'
        ? { accessKey: { userName: u.name, accessKeyId: `AKIA${uuid(rng).replaceAll('-', '').slice(0, 16).toUpperCase()}`, status: 'Active', createDate: new Date(t).toUTCString() } }
        : null,
    requestID: uuid(rng),
    eventID: uuid(rng),
    readOnly: name !== 'CreateAccessKey',
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: env.account,
    eventCategory: 'Management',
    sessionCredentialFromConsole: 'true',
  };
  return JSON.stringify(record);
}

export function roleName(i: Instance): string {
  return `${i.role}-instance-role`;
}

/** The ARN of an instance role's session as CloudTrail names it (`assumed-role/<role>/<instance id>`). */
export function roleSessionArn(env: DemoEnvironment, i: Instance): string {
  return `arn:aws:sts::${env.account}:assumed-role/${roleName(i)}/${i.id}`;
}

export const SDK_JAVA_AGENT = 'aws-sdk-java/2.25.10 Linux/6.1 OpenJDK_64-Bit_Server_VM/21.0.2';

/** What an instance role's call looks like beyond its service and name. */
export interface RoleCallOptions {
  userAgent?: string;
  /** CloudTrail errorCode / errorMessage (e.g. AccessDenied); absent = success. */
  errorCode?: string;
  errorMessage?: string;
  /** Default true. */
  readOnly?: boolean;
  /** Through a VPC interface endpoint (default true): CloudTrail then names the endpoint. */
  vpcEndpoint?: boolean;
}

/**
 * An API call by an instance's role (the EC2 instance profile's session, named after the instance). The source
 * address is the instance's private address, as CloudTrail records calls that reach AWS through the VPC's
 * endpoints; the demo keeps that address for every service.
 */
export function instanceRoleCall(
  env: DemoEnvironment,
  rng: Rng,
  i: Instance,
  t: number,
  source: string,
  name: string,
  params: Record<string, unknown> | null,
  o: RoleCallOptions = {},
): string {
  const role = roleName(i);
  const record: Record<string, unknown> = {
    eventVersion: '1.08',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROA${i.id.slice(2, 14).toUpperCase()}:${i.id}`,
      arn: roleSessionArn(env, i),
      accountId: env.account,
      accessKeyId: `ASIA${i.id.slice(2, 18).toUpperCase()}`,
      sessionContext: {
        sessionIssuer: { type: 'Role', principalId: `AROA${i.id.slice(2, 14).toUpperCase()}`, arn: `arn:aws:iam::${env.account}:role/${role}`, accountId: env.account, userName: role },
        attributes: { creationDate: isoSeconds(t - 1_800_000), mfaAuthenticated: 'false' },
        ec2RoleDelivery: '2.0',
      },
    },
    eventTime: isoSeconds(t),
    eventSource: source,
    eventName: name,
    awsRegion: env.region,
    sourceIPAddress: i.ip,
    userAgent: o.userAgent ?? SDK_JAVA_AGENT,
  };
  if (o.errorCode !== undefined) record.errorCode = o.errorCode;
  if (o.errorMessage !== undefined) record.errorMessage = o.errorMessage;
  Object.assign(record, {
    requestParameters: params,
    responseElements: null,
    requestID: uuid(rng),
    eventID: uuid(rng),
    readOnly: o.readOnly ?? true,
    resources: source === 'kms.amazonaws.com' ? [{ accountId: env.account, type: 'AWS::KMS::Key', ARN: `arn:aws:kms:${env.region}:${env.account}:key/${env.vpcId.slice(4)}-app` }] : undefined,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: env.account,
    vpcEndpointId: o.vpcEndpoint === false ? undefined : `vpce-0${i.subnet.id.slice(8, 24)}`,
    eventCategory: 'Management',
  });
  return JSON.stringify(record);
}

/** An API call by an instance's role through a VPC interface endpoint (source = the instance's private address). */
export function instanceApiCall(env: DemoEnvironment, rng: Rng, i: Instance, t: number, source: string, name: string, params: Record<string, unknown>): string {
  return instanceRoleCall(env, rng, i, t, source, name, params);
}

/** EC2 refreshing an instance profile's credentials (STS AssumeRole invoked by ec2.amazonaws.com). */
export function ec2AssumeRole(env: DemoEnvironment, rng: Rng, i: Instance, t: number): string {
  const role = roleName(i);
  return JSON.stringify({
    eventVersion: '1.08',
    userIdentity: { type: 'AWSService', invokedBy: 'ec2.amazonaws.com' },
    eventTime: isoSeconds(t),
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    awsRegion: env.region,
    sourceIPAddress: 'ec2.amazonaws.com',
    userAgent: 'ec2.amazonaws.com',
    requestParameters: { roleArn: `arn:aws:iam::${env.account}:role/${role}`, roleSessionName: i.id },
    responseElements: {
      credentials: { accessKeyId: `ASIA${i.id.slice(2, 18).toUpperCase()}`, sessionToken: 'IQoJb3JpZ2luX2VjE-demo', expiration: new Date(t + 6 * 3_600_000).toUTCString() },
    },
    requestID: uuid(rng),
    eventID: uuid(rng),
    readOnly: true,
    resources: [{ accountId: env.account, type: 'AWS::IAM::Role', ARN: `arn:aws:iam::${env.account}:role/${role}` }],
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: env.account,
    sharedEventID: uuid(rng),
    eventCategory: 'Management',
  });
}
