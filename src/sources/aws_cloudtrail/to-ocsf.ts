/**
 * CloudTrail record -> OCSF 1.1.0: Authentication (3002), Account Change (3001) or API Activity (6003),
 * following the AWS-authored ocsf/examples v1.1.0 CloudTrail dossiers; CloudTrail Insights events ->
 * Detection Finding (2004). Sets only `*_id` enums and raw values (plus the source's own label when an
 * `_id` is 99 Other); names, captions, `type_uid`, `category_uid` and `*_dt` come from
 * `src/ocsf/derive.ts`. Raw fields are consumed as they are mapped; what is left goes to `unmapped`
 * with dot-flattened keys.
 * Sections: lookup tables / classification / context / occurrence / primary / class-specific /
 * observables / unmapped.
 */
import type { LakeSourceName, OcsfEvent } from '../types.js';
import { isPlainObject } from '../ocsf/json-records.js';
import { compact, flattenUnmapped, isIpAddress, parseIsoTime, str } from '../ocsf/values.js';
import type { CloudTrailRecord } from './parse.js';

export const OCSF_VERSION = '1.1.0';

export const CLASS_ACCOUNT_CHANGE = 3001;
export const CLASS_AUTHENTICATION = 3002;
export const CLASS_API_ACTIVITY = 6003;
export const CLASS_DETECTION_FINDING = 2004;

const SEVERITY_INFORMATIONAL = 1;
const STATUS_SUCCESS = 1;
const STATUS_FAILURE = 2;
const OTHER = 99;
const OBSERVABLE_IP = 2;
const OBSERVABLE_USER_NAME = 4;
const ANALYTIC_STATISTICAL = 3;

// ---- lookup tables -------------------------------------------------------------------------------

/** Authentication 3002 by eventName (EX-BL list): 1 Logon, 99 Other (with the event name as label). */
export const AUTHENTICATION_ACTIVITY: Readonly<Record<string, number>> = {
  ConsoleLogin: 1,
  ExternalIdPDirectoryLogin: 1,
  UserAuthentication: 1,
  AssumeRole: 1,
  AssumeRoleWithSAML: 1,
  AssumeRoleWithWebIdentity: 1,
  CheckMfa: OTHER,
  CredentialChallenge: OTHER,
  CredentialVerification: OTHER,
};

/**
 * Account Change 3001 by eventName (the EX-BL IAM mutation list, minus DeletePolicy, which like
 * CreatePolicy changes no principal). Activity ids: 1 Create, 2 Enable, 3 Password Change,
 * 4 Password Reset, 5 Disable, 6 Delete, 7 Attach Policy, 8 Detach Policy, 10 MFA Factor Enable,
 * 11 MFA Factor Disable, 99 Other. `UpdateAccessKey` is 2 or 5 by `requestParameters.status`.
 */
export const ACCOUNT_CHANGE_ACTIVITY: Readonly<Record<string, number>> = {
  CreateUser: 1,
  CreateRole: 1,
  CreateServiceLinkedRole: 1,
  CreateAccessKey: 1,
  CreateLoginProfile: 1,
  CreateInstanceProfile: 1,
  CreateVirtualMFADevice: 1,
  CreateAccountAlias: 1,
  ChangePassword: 3,
  PasswordUpdated: 3,
  UpdateLoginProfile: 4,
  DeleteUser: 6,
  DeleteRole: 6,
  DeleteGroup: 6,
  DeleteAccessKey: 6,
  DeleteLoginProfile: 6,
  DeleteServiceLinkedRole: 6,
  DeleteInstanceProfile: 6,
  DeleteVirtualMFADevice: 6,
  DeleteAccountAlias: 6,
  AttachUserPolicy: 7,
  AttachRolePolicy: 7,
  AttachGroupPolicy: 7,
  PutUserPolicy: 7,
  PutRolePolicy: 7,
  PutGroupPolicy: 7,
  PutUserPermissionsBoundary: 7,
  PutRolePermissionsBoundary: 7,
  AddUserToGroup: 7,
  AddRoleToInstanceProfile: 7,
  DetachUserPolicy: 8,
  DetachRolePolicy: 8,
  DetachGroupPolicy: 8,
  DeleteUserPolicy: 8,
  DeleteRolePolicy: 8,
  DeleteGroupPolicy: 8,
  DeleteUserPermissionsBoundary: 8,
  DeleteRolePermissionsBoundary: 8,
  RemoveUserFromGroup: 8,
  RemoveRoleFromInstanceProfile: 8,
  EnableMFADevice: 10,
  DeactivateMFADevice: 11,
  UpdateAccessKey: OTHER,
  UpdateUser: OTHER,
  UpdateRole: OTHER,
  UpdateRoleDescription: OTHER,
  UpdateAssumeRolePolicy: OTHER,
  UpdateGroup: OTHER,
  ResyncMFADevice: OTHER,
  RequestSmsMfaRegistration: OTHER,
  FinalizeSmsMfaRegistration: OTHER,
  TagUser: OTHER,
  UntagUser: OTHER,
  TagRole: OTHER,
  UntagRole: OTHER,
  TagInstanceProfile: OTHER,
  UntagInstanceProfile: OTHER,
  UpdateAccountPasswordPolicy: OTHER,
  DeleteAccountPasswordPolicy: OTHER,
  UpdateAccountName: OTHER,
  UpdateAccountEmailAddress: OTHER,
  EmailUpdated: OTHER,
  AccountNameUpdated: OTHER,
};

/** Account Change names are only taken from these services (other services reuse names like CreateUser). */
const ACCOUNT_CHANGE_SOURCES = new Set(['iam.amazonaws.com', 'signin.amazonaws.com', 'account.amazonaws.com']);

/** API Activity 6003 by the leading verb of eventName (EX-BL, extended): 1 Create, 2 Read, 3 Update, 4 Delete. */
export const API_VERB_ACTIVITY: Readonly<Record<string, number>> = {
  Create: 1,
  Run: 1,
  Generate: 1,
  Allocate: 1,
  Import: 1,
  Copy: 1,
  Get: 2,
  List: 2,
  Describe: 2,
  Search: 2,
  Lookup: 2,
  Head: 2,
  Query: 2,
  Scan: 2,
  Select: 2,
  Update: 3,
  Put: 3,
  Modify: 3,
  Add: 3,
  Remove: 3,
  Start: 3,
  Stop: 3,
  Attach: 3,
  Detach: 3,
  Associate: 3,
  Disassociate: 3,
  Tag: 3,
  Untag: 3,
  Enable: 3,
  Disable: 3,
  Register: 3,
  Deregister: 3,
  Set: 3,
  Change: 3,
  Reset: 3,
  Reboot: 3,
  Authorize: 3,
  Revoke: 3,
  Replace: 3,
  Restore: 3,
  Delete: 4,
  Terminate: 4,
  Release: 4,
  Purge: 4,
};

/** Account Change operations that act on the caller when no user name is given. */
const SELF_SERVICE = /AccessKey|MFADevice|Password|LoginProfile|SSHPublicKey|SigningCertificate|ServiceSpecificCredential/;

// ---- classification ------------------------------------------------------------------------------

export function classify(eventName: string, eventSource: string | undefined): number {
  if (AUTHENTICATION_ACTIVITY[eventName] !== undefined) return CLASS_AUTHENTICATION;
  if (ACCOUNT_CHANGE_ACTIVITY[eventName] !== undefined && (eventSource === undefined || ACCOUNT_CHANGE_SOURCES.has(eventSource))) {
    return CLASS_ACCOUNT_CHANGE;
  }
  return CLASS_API_ACTIVITY;
}

export function apiActivityId(eventName: string): number {
  const m = /^[a-zA-Z][a-z]*/.exec(eventName);
  if (!m) return OTHER;
  const verb = m[0].charAt(0).toUpperCase() + m[0].slice(1);
  return API_VERB_ACTIVITY[verb] ?? OTHER;
}

/** `metadata.product.feature.name`: eventCategory, or for old records (< 1.08) inferred from managementEvent. */
export function featureName(raw: Record<string, unknown>): string {
  const c = str(raw.eventCategory);
  if (c) return c;
  return raw.managementEvent === false ? 'Data' : 'Management';
}

/** Security Lake source for a CloudTrail record: management, S3/Lambda data events, or a custom source. */
export function cloudTrailLakeSource(feature: string | undefined, eventSource: string | undefined): LakeSourceName {
  switch (feature ?? 'Management') {
    case 'Management':
      return 'CLOUD_TRAIL_MGMT';
    case 'Data':
      if (eventSource === 's3.amazonaws.com') return 'S3_DATA';
      if (eventSource === 'lambda.amazonaws.com') return 'LAMBDA_EXECUTION';
      return 'EXT_cloudtrail_data';
    case 'Insight':
    case 'Insights':
      return 'EXT_cloudtrail_insights';
    default:
      return 'EXT_cloudtrail_other';
  }
}

// ---- mapping -------------------------------------------------------------------------------------

export type MapResult = { ok: true; event: OcsfEvent; lakeSource: LakeSourceName } | { ok: false; field: string; reason: string };

type Obj = Record<string, unknown>;

/** Deep copy of a decoded JSON value (plain objects and arrays only; much cheaper than structuredClone). */
function copyJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyJson);
  if (isPlainObject(v)) {
    const out: Obj = {};
    for (const k in v) out[k] = copyJson(v[k]);
    return out;
  }
  return v;
}

/** Objects inside which the mapping removes single fields; everything else is taken or left whole. */
const NESTED_CONSUMED = ['userIdentity', 'additionalEventData', 'insightDetails'];

/**
 * Removes fields from a private copy of the raw record as they are mapped; the rest is `unmapped`.
 * The copy is shallow except for the objects the mapping removes nested fields from.
 */
class Rest {
  readonly obj: Obj;
  constructor(raw: Obj) {
    this.obj = { ...raw };
    for (const k of NESTED_CONSUMED) if (isPlainObject(raw[k])) this.obj[k] = copyJson(raw[k]);
  }

  /** The value at `path` (removed), or undefined. */
  take(...path: string[]): unknown {
    let o: unknown = this.obj;
    for (let i = 0; i < path.length - 1; i++) {
      if (!isPlainObject(o)) return undefined;
      o = o[path[i]!];
    }
    if (!isPlainObject(o)) return undefined;
    const k = path[path.length - 1]!;
    const v = o[k];
    delete o[k];
    return v;
  }

  /** The string at `path` (removed only if it is a non-empty string or a number). */
  str(...path: string[]): string | undefined {
    const v = this.peek(...path);
    const s = str(v);
    if (s !== undefined || v === '') this.take(...path);
    return s;
  }

  peek(...path: string[]): unknown {
    let o: unknown = this.obj;
    for (const p of path) {
      if (!isPlainObject(o)) return undefined;
      o = o[p];
    }
    return o;
  }
}

function jsonText(v: unknown): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : JSON.stringify(v);
}

function boolText(v: unknown, yes: string, no: string): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') return undefined;
  if (v.toLowerCase() === yes) return true;
  if (v.toLowerCase() === no) return false;
  return undefined;
}

function hasIdentity(u: Obj): boolean {
  return u.uid !== undefined || u.name !== undefined || (isPlainObject(u.account) && u.account.uid !== undefined);
}

/** `actor` from `userIdentity` (EX v1.1.0 field map). Consumes what it maps. */
function actorFrom(rest: Rest): Obj {
  const type = str(rest.peek('userIdentity', 'type'));
  const user = compact({
    type,
    uid: rest.str('userIdentity', 'arn'),
    uid_alt: rest.str('userIdentity', 'principalId'),
    name: rest.str('userIdentity', 'userName'),
    credential_uid: rest.str('userIdentity', 'accessKeyId'),
    account: { uid: rest.str('userIdentity', 'accountId') },
  });
  const actor: Obj = {};
  // user.type alone cannot make a user (it needs a uid, name or account): then the type stays in unmapped.
  if (hasIdentity(user)) {
    if (type !== undefined) rest.take('userIdentity', 'type');
    actor.user = user;
  }
  let session: Obj = {};
  const created = rest.peek('userIdentity', 'sessionContext', 'attributes', 'creationDate');
  const createdMs = typeof created === 'string' ? parseIsoTime(created) : undefined;
  if (createdMs !== undefined) {
    session.created_time = createdMs;
    rest.take('userIdentity', 'sessionContext', 'attributes', 'creationDate');
  }
  const mfa = boolText(rest.peek('userIdentity', 'sessionContext', 'attributes', 'mfaAuthenticated'), 'true', 'false');
  if (mfa !== undefined) {
    session.is_mfa = mfa;
    rest.take('userIdentity', 'sessionContext', 'attributes', 'mfaAuthenticated');
  }
  session.issuer = rest.str('userIdentity', 'sessionContext', 'sessionIssuer', 'arn');
  session = compact(session);
  if (Object.keys(session).length > 0) actor.session = session;
  actor.invoked_by = rest.str('userIdentity', 'invokedBy');
  const idp = rest.str('userIdentity', 'sessionContext', 'webIdFederationData', 'federatedProvider') ?? rest.str('userIdentity', 'identityProvider');
  if (idp !== undefined) actor.idp = { name: idp };
  return compact(actor);
}

/** `src_endpoint`: an IP, or a service name / "AWS Internal" (domain per the dossier, svc_name for the constraint). */
function srcEndpointFrom(rest: Rest, raw: Obj): Obj {
  const ep: Obj = {};
  const src = rest.str('sourceIPAddress');
  if (src !== undefined) {
    if (isIpAddress(src)) ep.ip = src;
    else {
      ep.domain = src;
      ep.svc_name = src;
    }
  } else if (raw.eventType === 'AwsServiceEvent' && typeof raw.eventSource === 'string') {
    ep.svc_name = raw.eventSource; // service events are emitted by the service itself
  }
  ep.uid = rest.str('vpcEndpointId');
  return compact(ep);
}

function statusId(raw: Obj): number {
  if (str(raw.errorCode) !== undefined) return STATUS_FAILURE;
  const re = raw.responseElements;
  const name = raw.eventName;
  if (isPlainObject(re) && typeof name === 'string' && typeof re[name] === 'string') {
    const s = (re[name] as string).toLowerCase();
    if (s === 'failure') return STATUS_FAILURE;
  }
  return STATUS_SUCCESS;
}

function resourcesFrom(rest: Rest): Obj[] | undefined {
  const list = rest.peek('resources');
  if (!Array.isArray(list)) return undefined;
  const out: Obj[] = [];
  const left: unknown[] = [];
  for (const r of list) {
    if (!isPlainObject(r)) {
      left.push(r);
      continue;
    }
    const { ARN, accountId, type, ...other } = r;
    const uid = str(ARN);
    if (uid === undefined) {
      left.push(r);
      continue;
    }
    const res: Obj = { uid, type: str(type), owner: { account: { uid: str(accountId) } } };
    out.push(compact(res));
    if (Object.keys(other).length > 0) left.push(other);
  }
  rest.take('resources');
  if (left.length > 0) rest.obj.resources = left;
  return out.length > 0 ? out : undefined;
}

function userFromIdentity(raw: Obj): Obj {
  const ui = isPlainObject(raw.userIdentity) ? raw.userIdentity : {};
  return compact({ uid: str(ui.arn), uid_alt: str(ui.principalId), name: str(ui.userName) });
}

function accountUser(raw: Obj): Obj {
  const ui = isPlainObject(raw.userIdentity) ? raw.userIdentity : {};
  return compact({ account: { uid: str(raw.recipientAccountId) ?? str(ui.accountId) } });
}

/** Authentication `user`: the role for AssumeRole*, else the identity that signs in. */
function authenticationUser(raw: Obj, eventName: string): Obj {
  if (eventName.startsWith('AssumeRole')) {
    const rp = isPlainObject(raw.requestParameters) ? raw.requestParameters : {};
    const u = compact({ uid: str(rp.roleArn), name: str(rp.roleSessionName) });
    if (hasIdentity(u)) return u;
  }
  const u = userFromIdentity(raw);
  return hasIdentity(u) ? u : accountUser(raw);
}

/** Account Change `user`: the principal changed (created user/role, named user/role, the caller, or the account). */
function accountChangeUser(raw: Obj, eventName: string): Obj {
  const rp = isPlainObject(raw.requestParameters) ? raw.requestParameters : {};
  const re = isPlainObject(raw.responseElements) ? raw.responseElements : {};
  const created = isPlainObject(re.user) ? re.user : isPlainObject(re.role) ? re.role : undefined;
  if (created) {
    const u = compact({
      name: str(created.userName) ?? str(created.roleName),
      uid: str(created.arn),
      uid_alt: str(created.userId) ?? str(created.roleId),
    });
    if (hasIdentity(u)) return u;
  }
  const named = str(rp.userName) ?? str(rp.roleName) ?? (isPlainObject(re.accessKey) ? str(re.accessKey.userName) : undefined);
  if (named !== undefined) return { name: named };
  if (SELF_SERVICE.test(eventName)) {
    const u = userFromIdentity(raw);
    if (hasIdentity(u)) return u;
  }
  return accountUser(raw);
}

function accountChangeActivity(raw: Obj, eventName: string): number {
  if (eventName === 'UpdateAccessKey') {
    const rp = isPlainObject(raw.requestParameters) ? raw.requestParameters : {};
    if (rp.status === 'Active') return 2;
    if (rp.status === 'Inactive') return 5;
  }
  return ACCOUNT_CHANGE_ACTIVITY[eventName] ?? OTHER;
}

/** Map one checked CloudTrail record. */
export function toOcsf(rec: CloudTrailRecord): MapResult {
  return rec.kind === 'insight' ? insightToOcsf(rec) : eventToOcsf(rec);
}

function metadataFrom(rest: Rest, feature: string): Obj {
  rest.take('eventCategory');
  return {
    product: {
      name: 'CloudTrail',
      vendor_name: 'AWS',
      version: rest.str('eventVersion'),
      feature: { name: feature },
    },
    profiles: ['cloud', 'datetime'],
    uid: rest.str('eventID'),
    event_code: rest.str('eventType'),
    version: OCSF_VERSION,
  };
}

function cloudFrom(rest: Rest): Obj {
  return { provider: 'AWS', region: rest.str('awsRegion'), account: { uid: rest.str('recipientAccountId') } };
}

function eventToOcsf(rec: CloudTrailRecord): MapResult {
  const raw = rec.raw;
  const rest = new Rest(raw);
  const eventName = raw.eventName as string;
  const eventSource = str(raw.eventSource);
  const classUid = classify(eventName, eventSource);
  const feature = featureName(raw);

  // ---- classification
  let activityId: number;
  if (classUid === CLASS_AUTHENTICATION) activityId = AUTHENTICATION_ACTIVITY[eventName] ?? OTHER;
  else if (classUid === CLASS_ACCOUNT_CHANGE) activityId = accountChangeActivity(raw, eventName);
  else activityId = apiActivityId(eventName);
  const ev: OcsfEvent = { class_uid: classUid, activity_id: activityId, severity_id: SEVERITY_INFORMATIONAL };
  if (activityId === OTHER) ev.activity_name = eventName; // Other: the sibling carries the source's label

  // ---- context
  ev.metadata = metadataFrom(rest, feature);
  ev.cloud = cloudFrom(rest);

  // ---- occurrence
  rest.take('eventTime');
  ev.time = rec.time;

  // ---- primary
  const actor = actorFrom(rest);
  if (Object.keys(actor).length > 0) ev.actor = actor;
  else if (classUid === CLASS_API_ACTIVITY) return { ok: false, field: 'userIdentity', reason: 'userIdentity: missing or empty (API Activity requires an actor)' };
  const src = srcEndpointFrom(rest, raw);
  if (Object.keys(src).length > 0) ev.src_endpoint = src;
  else if (classUid === CLASS_API_ACTIVITY) return { ok: false, field: 'sourceIPAddress', reason: 'sourceIPAddress: missing (API Activity requires src_endpoint)' };
  ev.http_request = { user_agent: rest.str('userAgent') };

  const requestId = rest.str('requestID');
  const api: Obj = {
    operation: rest.str('eventName'),
    service: { name: rest.str('eventSource') },
    version: rest.str('apiVersion'),
    response: {
      data: jsonText(rest.take('responseElements')),
      error: rest.str('errorCode'),
      message: rest.str('errorMessage'),
    },
  };
  if (requestId !== undefined) {
    api.request = { uid: requestId, data: jsonText(rest.take('requestParameters')) };
  }
  // Without a requestID there is no api.request (its uid is required): requestParameters stays in unmapped.
  ev.api = api;
  ev.status_id = statusId(raw);

  // ---- class-specific
  if (classUid === CLASS_AUTHENTICATION) {
    ev.user = authenticationUser(raw, eventName);
    const mfa = boolText(rest.peek('additionalEventData', 'MFAUsed'), 'yes', 'no');
    if (mfa !== undefined) {
      ev.is_mfa = mfa;
      rest.take('additionalEventData', 'MFAUsed');
    }
    const loginTo = rest.str('additionalEventData', 'LoginTo');
    if (loginTo !== undefined) ev.dst_endpoint = { svc_name: loginTo };
    else ev.service = { name: eventSource ?? eventName }; // the class needs service or dst_endpoint
  } else if (classUid === CLASS_ACCOUNT_CHANGE) {
    ev.user = accountChangeUser(raw, eventName);
  } else {
    const resources = resourcesFrom(rest);
    if (resources) ev.resources = resources;
  }

  // ---- observables (as the v1.1.0 samples list them)
  const observables: Obj[] = [];
  const actorUser = isPlainObject(actor.user) ? actor.user : {};
  if (typeof actorUser.name === 'string') observables.push({ name: 'actor.user.name', type_id: OBSERVABLE_USER_NAME, value: actorUser.name });
  if (typeof src.ip === 'string') observables.push({ name: 'src_endpoint.ip', type_id: OBSERVABLE_IP, value: src.ip });
  const user = isPlainObject(ev.user) ? ev.user : {};
  if (typeof user.name === 'string') observables.push({ name: 'user.name', type_id: OBSERVABLE_USER_NAME, value: user.name });
  if (observables.length > 0) ev.observables = observables;

  // ---- unmapped
  const flat = flattenUnmapped(rest.obj);
  if (Object.keys(flat).length > 0) ev.unmapped = flat;

  return { ok: true, event: compact(ev), lakeSource: cloudTrailLakeSource(feature, eventSource) };
}

/**
 * CloudTrail Insights (unusual API call or error rates) are CloudTrail's own detections, not API calls:
 * they become Detection Findings. `finding_info.uid` is the `sharedEventID` that links an insight's
 * Start and End records; Start -> activity 1 Create, End -> 3 Close. The API the insight is about is the
 * finding's evidence; the statistics stay in `unmapped`.
 */
function insightToOcsf(rec: CloudTrailRecord): MapResult {
  const raw = rec.raw;
  const rest = new Rest(raw);
  const feature = featureName(raw);
  const state = rest.str('insightDetails', 'state');
  const activityId = state === 'Start' ? 1 : state === 'End' ? 3 : OTHER;
  const ev: OcsfEvent = { class_uid: CLASS_DETECTION_FINDING, activity_id: activityId, severity_id: SEVERITY_INFORMATIONAL };
  if (activityId === OTHER) ev.activity_name = state ?? 'Unknown insight state';

  ev.metadata = metadataFrom(rest, feature);
  ev.cloud = cloudFrom(rest);
  rest.take('eventTime');
  ev.time = rec.time;

  const insightType = rest.str('insightDetails', 'insightType') ?? 'Insight';
  const eventSource = rest.str('insightDetails', 'eventSource');
  const eventName = rest.str('insightDetails', 'eventName');
  const uid = rest.str('sharedEventID') ?? str((ev.metadata as Obj).uid) ?? `${raw.eventTime}`;
  const about = [eventSource, eventName].filter((x) => x !== undefined).join(' ');
  ev.finding_info = {
    uid,
    title: `CloudTrail Insights: ${insightType}${about ? ` for ${about}` : ''}`,
    types: [insightType],
    analytic: { type_id: ANALYTIC_STATISTICAL, name: insightType },
  };
  if (eventName !== undefined) ev.evidences = [{ api: { operation: eventName, service: { name: eventSource } } }];

  const flat = flattenUnmapped(rest.obj);
  if (Object.keys(flat).length > 0) ev.unmapped = flat;
  return { ok: true, event: compact(ev), lakeSource: cloudTrailLakeSource(feature, undefined) };
}
