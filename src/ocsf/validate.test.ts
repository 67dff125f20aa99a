import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveEvent } from './derive.js';
import { vpcFlowMapped } from './sample-events.js';
import { typeByName } from './schema.js';
import { ValidationCollector, groupPath, isDatetime, isPlainIPv4, validateEvent, validateEvents, type ValidateOptions, type ValidationIssue } from './validate.js';

type Ev = Record<string, any>;

/** A valid, derived Network Activity event (VPC Flow Logs shape). */
function vpc(mutate?: (e: Ev) => void): Ev {
  const e = deriveEvent(vpcFlowMapped(1)) as Ev;
  mutate?.(e);
  return e;
}

/** A valid DNS Activity event. */
function dns(mutate?: (e: Ev) => void): Ev {
  const e = deriveEvent({
    class_uid: 4003,
    activity_id: 6,
    severity_id: 1,
    time: 1_706_700_000_000,
    rcode_id: 0,
    src_endpoint: { ip: '10.0.0.1', port: 5353 },
    query: { hostname: 'example.com', type: 'A', class: 'IN' },
    answers: [{ rdata: '93.184.216.34', type: 'A', class: 'IN', flag_ids: [1, 4] }],
    metadata: { product: { vendor_name: 'AWS', name: 'Route 53' } },
  }) as Ev;
  mutate?.(e);
  return e;
}

/** A valid Authentication event. */
function auth(mutate?: (e: Ev) => void): Ev {
  const e = deriveEvent({
    class_uid: 3002,
    activity_id: 1,
    severity_id: 1,
    time: 1_706_700_000_000,
    user: { name: 'alice', type_id: 1 },
    dst_endpoint: { svc_name: 'signin.aws.amazon.com' },
    metadata: { product: { vendor_name: 'AWS', name: 'CloudTrail' } },
  }) as Ev;
  mutate?.(e);
  return e;
}

function codes(issues: ValidationIssue[]): string[] {
  return issues.map((i) => `${i.severity} ${i.code} ${i.path}`).sort();
}

function check(event: unknown, opts?: ValidateOptions): string[] {
  return codes(validateEvent(event as Ev, opts));
}

function only(event: unknown, expected: string[], opts?: ValidateOptions): ValidationIssue[] {
  const issues = validateEvent(event as Ev, opts);
  assert.deepEqual(codes(issues), [...expected].sort());
  return issues;
}

describe('validateEvent: baseline', () => {
  it('accepts valid derived events of several classes', () => {
    only(vpc(), []);
    only(dns(), []);
    only(auth(), []);
  });

  it('rejects a value that is not an object', () => {
    only(null, ['error event_not_object ']);
    only([vpc()], ['error event_not_object ']);
    only('x', ['error event_not_object ']);
  });
});

describe('class', () => {
  it('must be present, an integer and known', () => {
    only(vpc((e) => delete e.class_uid), ['error attribute_required_missing class_uid']);
    only(vpc((e) => (e.class_uid = '4001')), ['error attribute_wrong_type class_uid']);
    const [issue] = only(vpc((e) => (e.class_uid = 4999)), ['error class_uid_unknown class_uid']);
    assert.equal(issue!.message, 'class_uid: 4999 is not an OCSF 1.1.0 event class');
  });

  it('warns about deprecated classes', () => {
    const ev = deriveEvent({ class_uid: 2001, activity_id: 1, severity_id: 1, time: 1, metadata: { product: { vendor_name: 'x', name: 'y' } }, finding: { uid: 'u', title: 't' } });
    assert.ok(check(ev).includes('warning class_deprecated '));
    assert.ok(check(ev).includes('warning object_deprecated finding'));
    assert.ok(!check(vpc()).some((c) => c.includes('deprecated')));
  });
});

describe('required attributes', () => {
  it('reports missing required attributes at the top level and in objects', () => {
    only(vpc((e) => delete e.time), ['error attribute_required_missing time']);
    only(vpc((e) => delete e.metadata.product.vendor_name), ['error attribute_required_missing metadata.product.vendor_name']);
    only(dns((e) => delete e.query.hostname), ['error attribute_required_missing query.hostname']);
    only(dns((e) => delete e.answers[0].rdata), ['error attribute_required_missing answers[0].rdata']);
  });

  it('treats null as absent', () => {
    only(vpc((e) => (e.time = null)), ['error attribute_required_missing time']);
    only(vpc((e) => (e.message = null)), []);
  });

  it('requires profile attributes only when the profile is declared', () => {
    // cloud profile declared: cloud is required
    only(vpc((e) => delete e.cloud), ['error attribute_required_missing cloud']);
    // security_control declared: action_id is required
    only(vpc((e) => delete e.action_id), ['error attribute_required_missing action_id']);
    // neither declared: not required (and the attributes themselves become unknown, see below)
    only(
      vpc((e) => {
        delete e.cloud;
        for (const k of ['action_id', 'action', 'disposition_id', 'disposition']) delete e[k];
        e.metadata.profiles = ['datetime'];
      }),
      [],
    );
  });

  it('warns about missing recommended attributes only when asked', () => {
    only(dns((e) => delete e.query), []);
    const issues = check(
      dns((e) => delete e.query),
      { warnMissingRecommended: true },
    );
    assert.ok(issues.includes('warning attribute_recommended_missing query'));
    assert.ok(!check(dns(), { warnMissingRecommended: true }).includes('warning attribute_recommended_missing query'));
  });
});

describe('profiles', () => {
  it('rejects unknown profile names', () => {
    const [issue] = only(vpc((e) => e.metadata.profiles.push('linux')), ['error profile_unknown metadata.profiles[3]']);
    assert.match(issue!.message, /unknown profile "linux"/);
    only(vpc((e) => e.metadata.profiles.push('linux/linux_users')), []);
    only(vpc((e) => e.metadata.profiles.push('host')), []);
  });

  it('makes profile attributes unknown when the profile is not declared', () => {
    const [issue] = only(
      vpc((e) => (e.metadata.profiles = ['cloud', 'security_control'])),
      ['error attribute_unknown end_time_dt', 'error attribute_unknown start_time_dt', 'error attribute_unknown time_dt'],
    );
    assert.match(issue!.message, /profile "datetime", which metadata\.profiles does not declare/);
    only(vpc((e) => (e.metadata.profiles = ['cloud', 'security_control', 'datetime'])), []);
  });

  it('applies profiles inside objects too (resource_details.region needs cloud)', () => {
    const base = (profiles: string[]): Ev =>
      deriveEvent({
        class_uid: 6003,
        activity_id: 2,
        severity_id: 1,
        time: 1,
        actor: { user: { name: 'a' } },
        api: { operation: 'GetObject' },
        src_endpoint: { ip: '10.0.0.1' },
        resources: [{ uid: 'arn:aws:s3:::b', region: 'us-east-1' }],
        cloud: { provider: 'AWS' },
        metadata: { product: { vendor_name: 'AWS', name: 'CloudTrail' }, profiles },
      });
    only(base(['cloud']), []);
    only(base([]), ['error attribute_unknown cloud', 'error attribute_unknown resources[0].region']);
  });
});

describe('unknown attributes', () => {
  it('rejects attributes the class or object does not define', () => {
    const [issue] = only(vpc((e) => (e.foo = 1)), ['error attribute_unknown foo']);
    assert.match(issue!.message, /^foo: unknown attribute "foo" \(not defined in class network_activity; source fields belong in unmapped\)$/);
    only(vpc((e) => (e.src_endpoint.foo = 'x')), ['error attribute_unknown src_endpoint.foo']);
    only(vpc((e) => (e.observables[1].foo = 'x')), ['error attribute_unknown observables[1].foo']);
    only(vpc((e) => (e.cloud.account_uid = '123')), ['error attribute_unknown cloud.account_uid']);
  });

  it('reports unknown attributes even when null, and lets unmapped hold anything', () => {
    only(vpc((e) => (e.foo = null)), ['error attribute_unknown foo']);
    only(vpc((e) => (e.unmapped = { any: { thing: [1, 'x', null] }, 'dotted.key': '1' })), []);
    only(vpc((e) => (e.unmapped = 'x')), ['error attribute_wrong_type unmapped']);
    only(vpc((e) => (e.unmapped = ['x'])), ['error attribute_wrong_type unmapped']);
  });
});

describe('types', () => {
  it('string_t: strings up to max_len 65535', () => {
    only(vpc((e) => (e.message = 'x'.repeat(65535))), []);
    const [issue] = only(vpc((e) => (e.message = 'x'.repeat(65536))), ['error attribute_value_exceeds_max_len message']);
    assert.equal(issue!.message, 'message: string of 65536 characters is longer than string_t allows (65535)');
    only(vpc((e) => (e.message = 5)), ['error attribute_wrong_type message']);
  });

  it('integer_t: whole numbers only', () => {
    only(vpc((e) => (e.connection_info.tcp_flags = 3)), []);
    only(vpc((e) => (e.connection_info.tcp_flags = 3.5)), ['error attribute_wrong_type connection_info.tcp_flags']);
    const [issue] = only(vpc((e) => (e.connection_info.tcp_flags = '3')), ['error attribute_wrong_type connection_info.tcp_flags']);
    assert.equal(issue!.message, 'connection_info.tcp_flags: "3" is not a integer_t (expected an integer)');
  });

  it('long_t: whole numbers, bigint accepted', () => {
    only(vpc((e) => (e.traffic.bytes = 2 ** 40)), []);
    only(vpc((e) => (e.traffic.bytes = 2n ** 62n)), []);
    only(vpc((e) => (e.traffic.bytes = '40')), ['error attribute_wrong_type traffic.bytes']);
    only(vpc((e) => (e.traffic.bytes = 2n ** 64n)), ['error attribute_wrong_type traffic.bytes']);
  });

  it('float_t: any finite number', () => {
    only(vpc((e) => (e.src_endpoint.location = { city: 'X', coordinates: [-100.8, 37] })), []);
    only(vpc((e) => (e.src_endpoint.location = { city: 'X', coordinates: ['-100.8', 37] })), ['error attribute_wrong_type src_endpoint.location.coordinates[0]']);
  });

  it('boolean_t: true or false', () => {
    only(auth((e) => (e.is_mfa = true)), []);
    only(auth((e) => (e.is_mfa = 'true')), ['error attribute_wrong_type is_mfa']);
  });

  it('timestamp_t: integer milliseconds', () => {
    only(vpc((e) => (e.end_time = 1_706_700_060_000)), []);
    const [issue] = only(vpc((e) => (e.end_time = '2024-01-31T12:00:00Z')), ['error attribute_wrong_type end_time']);
    assert.equal(issue!.message, 'end_time: "2024-01-31T12:00:00Z" is not a timestamp_t (expected integer milliseconds since the epoch)');
    only(vpc((e) => (e.end_time = 1.5)), ['error attribute_wrong_type end_time']);
  });

  it('datetime_t: RFC 3339 with a T', () => {
    for (const ok of ['2024-01-31T12:00:00Z', '2024-01-31T12:00:00.123456+05:30', '2022-04-11T20:03:08.000-04:00', '2024-01-31T12:00:00']) {
      only(vpc((e) => (e.time_dt = ok)), [], undefined);
    }
    for (const bad of ['2024-01-31 12:00:00Z', '2021-09-07 20:37:30.642000', '2024-01-31', 'yesterday']) {
      only(vpc((e) => (e.time_dt = bad)), ['error attribute_value_regex_not_matched time_dt']);
    }
  });

  it('ip_t: IPv4 and IPv6 (with zone), nothing else', () => {
    for (const ok of ['10.0.0.1', '0.0.0.0', '255.255.255.255', '2001:db8::1', '::1', 'fe80::1%eth0', '::ffff:10.0.0.1', ' 10.0.0.1 ']) {
      only(vpc((e) => (e.src_endpoint.ip = ok)), []);
    }
    for (const bad of ['-', 'AWS Internal', '10.0.0.256', '12.000.22.33', '10.0.0', '2001:db8::g', 'cloudformation.amazonaws.com']) {
      only(vpc((e) => (e.src_endpoint.ip = bad)), ['error attribute_value_regex_not_matched src_endpoint.ip']);
    }
    only(vpc((e) => (e.dst_endpoint.intermediate_ips = ['10.0.0.1', '-'])), ['error attribute_value_regex_not_matched dst_endpoint.intermediate_ips[1]']);
  });

  it('port_t: 0..65535', () => {
    only(vpc((e) => (e.src_endpoint.port = 0)), []);
    only(vpc((e) => (e.src_endpoint.port = 65535)), []);
    const [issue] = only(vpc((e) => (e.src_endpoint.port = 70000)), ['error attribute_value_exceeds_range src_endpoint.port']);
    assert.equal(issue!.message, 'src_endpoint.port: 70000 is not a port_t (0..65535)');
    only(vpc((e) => (e.src_endpoint.port = -1)), ['error attribute_value_exceeds_range src_endpoint.port']);
    only(vpc((e) => (e.src_endpoint.port = '443')), ['error attribute_wrong_type src_endpoint.port']);
  });

  it('hostname_t: labels; a trailing dot and underscores warn', () => {
    only(dns((e) => (e.query.hostname = 'ip-127-0-0-62.alert.firewall.canary')), []);
    // The absolute name, as Route 53 logs it and Security Lake keeps it: a warning, the record is kept.
    only(dns((e) => (e.query.hostname = 'ip-127-0-0-62.alert.firewall.canary.')), ['warning attribute_value_hostname_trailing_dot query.hostname']);
    only(dns((e) => (e.query.hostname = '.')), ['warning attribute_value_hostname_trailing_dot query.hostname']);
    // Underscores are real in DNS (SRV, DMARC): a warning, the record is kept. Other violations stay errors.
    only(dns((e) => (e.query.hostname = '_ldap._tcp.example.com')), ['warning attribute_value_hostname_underscore query.hostname']);
    only(dns((e) => (e.query.hostname = '_ldap._tcp.example.com.')), [
      'warning attribute_value_hostname_trailing_dot query.hostname',
      'warning attribute_value_hostname_underscore query.hostname',
    ]);
    only(dns((e) => (e.query.hostname = 'bad host.example.com')), ['error attribute_value_regex_not_matched query.hostname']);
    only(dns((e) => (e.query.hostname = 'bad host.example.com.')), ['error attribute_value_regex_not_matched query.hostname']);
    only(dns((e) => (e.query.hostname = 'example.com..')), ['error attribute_value_regex_not_matched query.hostname']);
    only(dns((e) => (e.query.hostname = '..')), ['error attribute_value_regex_not_matched query.hostname']);
  });

  it('subnet_t: CIDR (format warning)', () => {
    const withDevice = (subnet: string): Ev => vpc((e) => (e.metadata.profiles.push('host'), (e.device = { hostname: 'h', type_id: 1, subnet })));
    only(withDevice('10.0.0.0/16'), []);
    only(withDevice('2001:db8::/32'), []);
    only(withDevice('10.0.0.0'), ['warning attribute_value_format_invalid device.subnet']);
    only(withDevice('10.0.0.0/33'), ['warning attribute_value_format_invalid device.subnet']);
  });

  it('mac_t, email_t, uuid_t, url_t', () => {
    only(vpc((e) => (e.src_endpoint.mac = '00:11:22:aa:BB:cc')), []);
    only(vpc((e) => (e.src_endpoint.mac = '001122aabbcc')), ['error attribute_value_regex_not_matched src_endpoint.mac']);
    only(auth((e) => (e.user.email_addr = 'alice@example.com')), []);
    only(auth((e) => (e.user.email_addr = 'alice')), ['error attribute_value_regex_not_matched user.email_addr']);
    only(auth((e) => (e.session = { uuid: '123e4567-e89b-12d3-a456-426614174000' })), []);
    only(auth((e) => (e.session = { uuid: 'not-a-uuid' })), ['error attribute_value_regex_not_matched session.uuid']);
    only(auth((e) => (e.http_request = { url: { url_string: 'https://signin.aws.amazon.com/console' } })), []);
    only(auth((e) => (e.http_request = { url: { url_string: 'not a url' } })), ['warning attribute_value_format_invalid http_request.url.url_string']);
  });

  it('json_t: anything; object: any object', () => {
    const api = (data: unknown): Ev =>
      deriveEvent({
        class_uid: 6003,
        activity_id: 2,
        severity_id: 1,
        time: 1,
        actor: { user: { name: 'a' } },
        api: { operation: 'GetObject', request: { uid: 'r', data } },
        src_endpoint: { ip: '10.0.0.1' },
        metadata: { product: { vendor_name: 'AWS', name: 'CloudTrail' } },
      });
    for (const data of [{ a: [1, { b: null }] }, '{"a":1}', 5, true, ['x']]) only(api(data), []);
  });

  it('objects must be objects', () => {
    only(vpc((e) => (e.src_endpoint = '10.0.0.1')), ['error attribute_wrong_type src_endpoint']);
    only(vpc((e) => (e.src_endpoint = [{ ip: '10.0.0.1' }])), ['error attribute_wrong_type src_endpoint']);
  });

  it('regex mismatches can be warnings, as in the reference validator', () => {
    only(vpc((e) => (e.src_endpoint.ip = '-')), ['warning attribute_value_regex_not_matched src_endpoint.ip'], { regexSeverity: 'warning' });
    only(vpc((e) => (e.src_endpoint.port = 70000)), ['error attribute_value_exceeds_range src_endpoint.port'], { regexSeverity: 'warning' });
  });
});

describe('arrays vs scalars', () => {
  it('arrays must be arrays and scalars must not be', () => {
    const [issue] = only(vpc((e) => (e.observables = e.observables[0])), ['error attribute_wrong_type observables']);
    assert.equal(issue!.message, 'observables: an object is not an array (expected an array of observable)');
    only(vpc((e) => (e.dst_endpoint.intermediate_ips = '10.0.0.1')), ['error attribute_wrong_type dst_endpoint.intermediate_ips']);
    only(vpc((e) => (e.dst_endpoint.intermediate_ips = ['10.0.0.1'])), []);
    only(vpc((e) => (e.status_code = ['OK'])), ['error attribute_wrong_type status_code']);
    only(vpc((e) => (e.observables = [])), []);
    only(vpc((e) => e.observables.push(null)), ['error attribute_wrong_type observables[3]']);
  });
});

describe('enums', () => {
  it('integer enum values must be defined', () => {
    const [issue] = only(vpc((e) => ((e.activity_id = 42), (e.type_uid = 400142), delete e.activity_name)), ['error attribute_enum_value_unknown activity_id']);
    assert.match(issue!.message, /^activity_id: 42 is not a defined value of activity_id \(0, 1, 2, 3, 4, 5, 6, 99\)$/);
    only(vpc((e) => ((e.severity_id = 7), delete e.severity)), ['error attribute_enum_value_unknown severity_id']);
    only(vpc((e) => ((e.connection_info.direction_id = 5), delete e.connection_info.direction)), ['error attribute_enum_value_unknown connection_info.direction_id']);
    only(dns((e) => ((e.answers[0].flag_ids = [1, 42]), delete e.answers[0].flags)), ['error attribute_enum_array_value_unknown answers[0].flag_ids[1]']);
    only(dns((e) => (e.activity_id = 3, e.type_uid = 400303, delete e.activity_name)), ['error attribute_enum_value_unknown activity_id'], undefined);
  });

  it('string enums (http_method) only warn', () => {
    const http = (method: string): Ev =>
      deriveEvent({
        class_uid: 4002,
        activity_id: 3,
        severity_id: 1,
        time: 1,
        src_endpoint: { ip: '10.0.0.1' },
        dst_endpoint: { ip: '10.0.0.2' },
        http_request: { http_method: method, url: { path: '/' } },
        http_response: { code: 200 },
        metadata: { product: { vendor_name: 'x', name: 'y' } },
      });
    only(http('GET'), []);
    only(http('PATCH'), ['warning attribute_enum_value_unknown http_request.http_method']);
  });

  it('siblings should carry the caption (warning)', () => {
    const [issue] = only(vpc((e) => (e.activity_name = 'Flow')), ['warning attribute_enum_sibling_incorrect activity_name']);
    assert.equal(issue!.message, `activity_name: "Flow" does not match the caption of activity_id 6 ("Traffic")`);
    only(vpc((e) => (e.connection_info.direction = 'ingress')), ['warning attribute_enum_sibling_incorrect connection_info.direction']);
    only(vpc((e) => (e.observables[0].type = 'IP')), ['warning attribute_enum_sibling_incorrect observables[0].type']);
    only(vpc((e) => (e.class_name = 'Network')), ['warning attribute_enum_sibling_incorrect class_name']);
    only(vpc((e) => (e.type_name = 'Traffic')), ['warning attribute_enum_sibling_incorrect type_name']);
    only(vpc((e) => (e.category_name = 'Network')), ['warning attribute_enum_sibling_incorrect category_name']);
    only(dns((e) => (e.answers[0].flags = ['Authoritative Answer', 'RA'])), ['warning attribute_enum_array_sibling_incorrect answers[0].flags[1]']);
    only(dns((e) => (e.answers[0].flags = ['Authoritative Answer'])), ['warning attribute_enum_array_sibling_missing answers[0].flags[1]']);
  });

  it('for 99 the sibling should be the source label; "Other" is suspicious', () => {
    only(vpc((e) => ((e.connection_info.boundary_id = 99), (e.connection_info.boundary = '-'))), []);
    const [issue] = only(vpc((e) => ((e.connection_info.boundary_id = 99), (e.connection_info.boundary = 'Other'))), [
      'warning attribute_enum_sibling_suspicious_other connection_info.boundary',
    ]);
    assert.match(issue!.message, /^connection_info\.boundary: "Other" for boundary_id 99/);
    only(vpc((e) => ((e.connection_info.boundary_id = 99), delete e.connection_info.boundary)), []);
  });
});

describe('type_uid and category_uid', () => {
  it('type_uid = class_uid * 100 + activity_id', () => {
    const issues = only(vpc((e) => (e.type_uid = 400106 + (e.activity_id === 6 ? -1 : 1))), [
      'error type_uid_incorrect type_uid',
      'warning attribute_enum_sibling_incorrect type_name',
    ]);
    assert.match(issues.find((i) => i.code === 'type_uid_incorrect')!.message, /should be 4001\d\d \(class_uid 4001 \* 100 \+ activity_id \d\)/);
    only(vpc(), []);
  });

  it('category_uid must be the class category', () => {
    const [issue] = only(vpc((e) => (e.category_uid = 3)), ['error category_uid_incorrect category_uid']);
    assert.equal(issue!.message, `category_uid: 3 does not match the class's category (4)`);
    only(vpc((e) => (e.category_uid = 4)), []);
  });
});

describe('constraints', () => {
  it('class level: Authentication needs service or dst_endpoint', () => {
    const [issue] = only(auth((e) => delete e.dst_endpoint), ['error constraint_failed ']);
    assert.equal(issue!.message, 'event: at least one of service, dst_endpoint is required (class authentication)');
    only(auth((e) => ((e.service = { name: 'signin' }), delete e.dst_endpoint)), []);
    only(auth((e) => (e.service = { name: 'signin' })), []);
  });

  it('object level: an endpoint needs an identifying attribute', () => {
    const [issue] = only(vpc((e) => (e.src_endpoint = { port: 443 })), ['error constraint_failed src_endpoint']);
    assert.match(issue!.message, /^src_endpoint: at least one of ip, uid, name, hostname, svc_name, instance_uid, interface_uid, interface_name is required \(object network_endpoint\)$/);
    only(vpc((e) => (e.src_endpoint = { port: 443, svc_name: '-' })), []);
    only(vpc((e) => (e.metadata.product = { vendor_name: 'AWS' })), ['error constraint_failed metadata.product']);
  });

  it('just_one: Authorize Session takes privileges or group, not both', () => {
    const session = (extra: Ev): Ev =>
      deriveEvent({ class_uid: 3003, activity_id: 1, severity_id: 1, time: 1, user: { name: 'root' }, metadata: { product: { vendor_name: 'x', name: 'y' } }, ...extra });
    only(session({ privileges: ['SeDebugPrivilege'] }), []);
    only(session({ group: { name: 'admins' } }), []);
    const [issue] = only(session({ privileges: ['SeDebugPrivilege'], group: { name: 'admins' } }), ['error constraint_failed ']);
    assert.match(issue!.message, /exactly one of privileges, group is required, found 2/);
    only(session({}), ['error constraint_failed ']);
  });

  it('resolves dotted constraint paths (Patch State: device.os.*)', () => {
    const patch = (os: Ev): Ev =>
      deriveEvent({
        class_uid: 5004,
        activity_id: 1,
        severity_id: 1,
        time: 1,
        device: { hostname: 'h', type_id: 1, os: { name: 'Windows', type_id: 100, ...os } },
        metadata: { product: { vendor_name: 'x', name: 'y' } },
      });
    only(patch({ version: '10' }), []);
    only(patch({}), ['error constraint_failed ']);
  });
});

describe('metadata.version', () => {
  it('must be 1.1.0', () => {
    only(vpc(), []);
    const [issue] = only(vpc((e) => (e.metadata.version = '1.0.0-rc.2')), ['error version_incorrect metadata.version']);
    assert.equal(issue!.message, 'metadata.version: "1.0.0-rc.2" is not the schema version this validator checks (1.1.0)');
    only(vpc((e) => delete e.metadata.version), ['error attribute_required_missing metadata.version']);
    only(vpc((e) => (e.metadata.version = 1.1)), ['error attribute_wrong_type metadata.version']);
  });
});

describe('observables', () => {
  it('names must refer to attributes of the class (array segments with or without [])', () => {
    only(dns((e) => (e.observables = [{ name: 'answers[].rdata', type_id: 2, type: 'IP Address', value: '1.2.3.4' }])), []);
    only(dns((e) => (e.observables = [{ name: 'answers.rdata', type_id: 2, type: 'IP Address', value: '1.2.3.4' }])), []);
    only(vpc((e) => (e.observables[2].name = 'dst_endpoint.intermediate_ips[]')), []);
    const [issue] = only(vpc((e) => (e.observables[1].name = 'httpRequest.headers[].value')), ['error observable_name_invalid_reference observables[1].name']);
    assert.match(issue!.message, /"httpRequest\.headers\[\]\.value" does not name an attribute of class network_activity/);
    only(vpc((e) => (e.observables[1].name = 'src_endpoint.ip.x')), ['error observable_name_invalid_reference observables[1].name']);
  });

  it('honours profiles', () => {
    only(vpc((e) => (e.observables[1].name = 'time_dt')), []);
    only(
      vpc((e) => {
        e.metadata.profiles = ['cloud', 'security_control'];
        delete e.time_dt;
        delete e.start_time_dt;
        delete e.end_time_dt;
        e.observables[1].name = 'time_dt';
      }),
      ['error observable_name_invalid_reference observables[1].name'],
    );
  });
});

describe('deprecation', () => {
  it('warns about deprecated attributes', () => {
    const http = (extra: Ev): Ev =>
      deriveEvent({
        class_uid: 4002,
        activity_id: 3,
        severity_id: 1,
        time: 1,
        src_endpoint: { ip: '10.0.0.1' },
        dst_endpoint: { ip: '10.0.0.2' },
        http_request: { http_method: 'GET' },
        http_response: { code: 200 },
        metadata: { product: { vendor_name: 'x', name: 'y' } },
        ...extra,
      });
    const [issue] = only(http({ http_status: 405 }), ['warning attribute_deprecated http_status']);
    assert.equal(issue!.message, 'http_status: attribute is deprecated: Use the http_response.code attribute instead.');
    only(http({}), []);
  });
});

describe('summaries', () => {
  it('groups issues by severity, code and path with indices folded, keeping the first example', () => {
    assert.equal(groupPath('observables[12].name'), 'observables[].name');
    assert.equal(groupPath('answers[0].flag_ids[3]'), 'answers[].flag_ids[]');
    const events = [vpc(), vpc((e) => (e.observables[0].foo = 1)), vpc((e) => ((e.observables[2].foo = 1), (e.src_endpoint.ip = '-'))), 'junk'];
    const s = validateEvents(events as Ev[]);
    assert.equal(s.events, 4);
    assert.equal(s.eventsWithErrors, 3);
    assert.equal(s.errors, 4);
    assert.equal(s.warnings, 0);
    assert.deepEqual(
      s.groups.map((g) => [g.severity, g.code, g.path, g.count, g.first.where]),
      [
        ['error', 'attribute_unknown', 'observables[].foo', 2, 1],
        ['error', 'attribute_value_regex_not_matched', 'src_endpoint.ip', 1, 2],
        ['error', 'event_not_object', '', 1, 3],
      ],
    );
    assert.match(s.groups[0]!.first.message, /^observables\[0\]\.foo: /);
  });

  it('the collector counts warnings apart from errors', () => {
    const c = new ValidationCollector();
    c.add(validateEvent(vpc((e) => (e.activity_name = 'x'))), 7);
    c.add([], 8);
    const s = c.summary();
    assert.deepEqual([s.events, s.eventsWithErrors, s.errors, s.warnings], [2, 0, 0, 1]);
    assert.equal(s.groups[0]!.first.where, 7);
  });
});

describe('hand-written fast paths agree with the schema regexes', () => {
  /** Deterministic pseudo-random strings: valid values with random edits, and random junk. */
  function* variants(seeds: string[], alphabet: string, count: number): Generator<string> {
    let x = 42;
    const rnd = (n: number): number => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
    for (let i = 0; i < count; i++) {
      let s = seeds[rnd(seeds.length)]!;
      for (let k = rnd(3); k >= 0; k--) {
        const pos = rnd(s.length + 1);
        const ch = alphabet[rnd(alphabet.length)]!;
        const op = rnd(3);
        s = op === 0 ? s.slice(0, pos) + ch + s.slice(pos + 1) : op === 1 ? s.slice(0, pos) + ch + s.slice(pos) : s.slice(0, pos) + s.slice(pos + 1);
      }
      yield s;
    }
  }

  it('isDatetime is exactly the datetime_t regex', () => {
    const re = new RegExp(typeByName('datetime_t')!.regex!);
    const seeds = ['2024-01-31T12:00:00.123Z', '2024-01-31T12:00:00Z', '2024-01-31T12:00:00+05:30', '2024-01-31T12:00:00.5-04:00', '2024-01-31T12:00:00', '2021-09-07 20:37:30.642000'];
    let accepted = 0;
    for (const s of variants(seeds, '0123456789-T:.Z+ x', 50_000)) {
      assert.equal(isDatetime(s), re.test(s), JSON.stringify(s));
      if (re.test(s)) accepted++;
    }
    assert.ok(accepted > 1_000, `the variants exercise both outcomes (${accepted} accepted)`);
  });

  it('isPlainIPv4 accepts only what the ip_t regex accepts', () => {
    const re = new RegExp(typeByName('ip_t')!.regex!);
    const seeds = ['10.0.0.1', '192.168.200.24', '255.255.255.255', '0.0.0.0', '12.000.22.33', '1.2.3.4'];
    let accepted = 0;
    for (const s of variants(seeds, '0123456789.:a ', 50_000)) {
      if (isPlainIPv4(s)) {
        accepted++;
        assert.ok(re.test(s), JSON.stringify(s));
      }
    }
    assert.ok(accepted > 1_000, `${accepted} accepted`);
  });
});
