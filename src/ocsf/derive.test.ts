import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { deriveEvent as derive, formatTimestampMs } from './derive.js';
import { vpcFlowMapped } from './sample-events.js';
import { validateEvent } from './validate.js';

type Ev = Record<string, any>;

/** deriveEvent, typed loosely for assertions on nested members. */
const deriveEvent = (e: Ev): Ev => derive(e) as Ev;

const AWS_V110 = new URL('../../test/samples/ocsf-examples-aws/v1.1.0/', import.meta.url);

function network(extra: Ev = {}): Ev {
  return { class_uid: 4001, activity_id: 6, severity_id: 1, time: 1_706_700_000_000, metadata: { product: { vendor_name: 'AWS', name: 'Amazon VPC' } }, ...extra };
}

describe('deriveEvent: classification', () => {
  it('fills category, class, type and activity from class_uid and activity_id', () => {
    const ev = deriveEvent(network());
    assert.equal(ev.category_uid, 4);
    assert.equal(ev.category_name, 'Network Activity');
    assert.equal(ev.class_name, 'Network Activity');
    assert.equal(ev.type_uid, 400106);
    assert.equal(ev.type_name, 'Network Activity: Traffic');
    assert.equal(ev.activity_name, 'Traffic');
    assert.equal(ev.severity, 'Informational');
  });

  it('uses each class and category caption', () => {
    const ev = deriveEvent({ class_uid: 3002, activity_id: 1, severity_id: 3 });
    assert.equal(ev.category_uid, 3);
    assert.equal(ev.category_name, 'Identity & Access Management');
    assert.equal(ev.class_name, 'Authentication');
    assert.equal(ev.type_uid, 300201);
    assert.equal(ev.type_name, 'Authentication: Logon');
    assert.equal(ev.activity_name, 'Logon');
    assert.equal(ev.severity, 'Medium');
  });

  it('recomputes classification values that a mapping got wrong', () => {
    const ev = deriveEvent(network({ category_uid: 3, type_uid: 12, class_name: 'Nope', activity_name: 'Nope' }));
    assert.equal(ev.category_uid, 4);
    assert.equal(ev.type_uid, 400106);
    assert.equal(ev.class_name, 'Network Activity');
    assert.equal(ev.activity_name, 'Traffic');
  });

  it('leaves events of unknown classes alone (validation reports them), except metadata.version', () => {
    const ev = deriveEvent({ class_uid: 4999, activity_id: 1, severity_id: 1 });
    assert.deepEqual(ev, { class_uid: 4999, activity_id: 1, severity_id: 1, metadata: { version: '1.1.0' } });
    const noClass = deriveEvent({ activity_id: 1 });
    assert.deepEqual(noClass, { activity_id: 1, metadata: { version: '1.1.0' } });
  });

  it('sets no type_uid without an integer activity_id', () => {
    const ev = deriveEvent({ class_uid: 4001, severity_id: 1 });
    assert.equal(ev.type_uid, undefined);
    assert.equal(ev.class_name, 'Network Activity');
    const odd = deriveEvent({ class_uid: 4001, activity_id: '6' });
    assert.equal(odd.type_uid, undefined);
    assert.equal(odd.activity_name, undefined);
  });

  it('returns the same (mutated) object and is idempotent', () => {
    const ev = network();
    assert.equal(deriveEvent(ev), ev);
    const once = structuredClone(ev);
    deriveEvent(ev);
    assert.deepEqual(ev, once);
  });
});

describe('deriveEvent: enum siblings everywhere', () => {
  it('fills nested siblings (connection_info.direction, boundary, action, disposition, status)', () => {
    const ev = deriveEvent(network({ action_id: 2, disposition_id: 2, status_id: 1, connection_info: { direction_id: 1, boundary_id: 4, protocol_ver_id: 4 } }));
    assert.equal(ev.action, 'Denied');
    assert.equal(ev.disposition, 'Blocked');
    assert.equal(ev.status, 'Success');
    assert.deepEqual(ev.connection_info, { direction_id: 1, boundary_id: 4, protocol_ver_id: 4, direction: 'Inbound', boundary: 'Same VPC', protocol_ver: 'Internet Protocol version 4 (IPv4)' });
  });

  it('fills siblings inside arrays of objects and enum arrays (observables[].type, answers[].flags[])', () => {
    const ev = deriveEvent({
      class_uid: 4003,
      activity_id: 6,
      rcode_id: 3,
      observables: [{ name: 'src_endpoint.ip', type_id: 2, value: '10.0.0.1' }, { name: 'query.hostname', type_id: 1, value: 'example.com' }, 'junk'],
      answers: [{ rdata: '1.2.3.4', flag_ids: [1, 3, 4] }, { rdata: '5.6.7.8', flag_ids: [] }],
    });
    assert.equal(ev.rcode, 'NXDomain');
    assert.equal(ev.observables[0].type, 'IP Address');
    assert.equal(ev.observables[1].type, 'Hostname');
    assert.equal(ev.observables[2], 'junk', 'non-objects in object arrays are skipped');
    assert.deepEqual(ev.answers[0].flags, ['Authoritative Answer', 'Recursion Desired', 'Recursion Available']);
    assert.deepEqual(ev.answers[1].flags, []);
  });

  it('fills deep siblings (finding_info.analytic.type, user.type, actor.user.type)', () => {
    const finding = deriveEvent({ class_uid: 2004, activity_id: 1, finding_info: { uid: 'f1', title: 't', analytic: { type_id: 3, name: 'ipinsights' } } });
    assert.equal(finding.finding_info.analytic.type, 'Statistical');
    assert.equal(finding.type_name, 'Detection Finding: Create');
    const auth = deriveEvent({ class_uid: 3002, activity_id: 1, user: { name: 'a', type_id: 2 }, actor: { user: { type_id: 1 } }, auth_protocol_id: 5 });
    assert.equal(auth.user.type, 'Admin');
    assert.equal(auth.actor.user.type, 'User');
    assert.equal(auth.auth_protocol, 'SAML');
  });

  it('keeps the source label for 99 (Other) and sets "Other" only when there is none', () => {
    const ev = deriveEvent(network({ activity_id: 99, activity_name: 'Probe', connection_info: { direction_id: 99, boundary_id: 99, boundary: '-' } }));
    assert.equal(ev.activity_name, 'Probe');
    assert.equal(ev.type_name, 'Network Activity: Other');
    assert.equal(ev.type_uid, 400199);
    assert.equal(ev.connection_info.boundary, '-');
    assert.equal(ev.connection_info.direction, 'Other');
    const flags = deriveEvent({ class_uid: 4003, activity_id: 6, answers: [{ rdata: 'x', flag_ids: [99, 1], flags: ['AD-ish', 'whatever'] }] });
    assert.deepEqual(flags.answers[0].flags, ['AD-ish', 'Authoritative Answer']);
  });

  it('overwrites a wrong caption for values other than 99', () => {
    const ev = deriveEvent(network({ severity: 'Info', connection_info: { direction_id: 2, direction: 'egress' } }));
    assert.equal(ev.severity, 'Informational');
    assert.equal(ev.connection_info.direction, 'Outbound');
  });

  it('does not touch siblings of values the enum does not define', () => {
    const ev = deriveEvent(network({ severity_id: 42, severity: 'Weird', connection_info: { direction_id: 7 } }));
    assert.equal(ev.severity, 'Weird');
    assert.equal(ev.connection_info.direction, undefined);
    const flags = deriveEvent({ class_uid: 4003, activity_id: 6, answers: [{ rdata: 'x', flag_ids: [1, 42] }] });
    assert.equal(flags.answers[0].flags, undefined, 'an undefined flag without a label leaves flags alone');
  });

  it('ignores values of the wrong shape instead of throwing', () => {
    const ev = deriveEvent(network({ src_endpoint: 'x', connection_info: [{ direction_id: 1 }, null, 3], observables: { type_id: 2 } }));
    assert.equal(ev.src_endpoint, 'x');
    assert.equal(ev.connection_info[0].direction, 'Inbound', 'arrays where an object is expected are walked element-wise');
    assert.equal(ev.observables.type, 'IP Address');
  });
});

describe('deriveEvent: metadata.version', () => {
  it('sets 1.1.0 when absent, creating metadata if needed', () => {
    assert.equal(deriveEvent(network()).metadata.version, '1.1.0');
    assert.equal(deriveEvent({ class_uid: 4001, activity_id: 6 }).metadata.version, '1.1.0');
  });

  it('keeps a version that is already there', () => {
    const ev = deriveEvent(network({ metadata: { version: '1.0.0-rc.2', product: { vendor_name: 'x' } } }));
    assert.equal(ev.metadata.version, '1.0.0-rc.2');
  });
});

describe('deriveEvent: datetime profile', () => {
  const withProfile = (extra: Ev = {}): Ev => network({ metadata: { product: { vendor_name: 'x' }, profiles: ['cloud', 'datetime'] }, ...extra });

  it('adds *_dt for every timestamp present, at any depth where the schema has the sibling', () => {
    const ev = deriveEvent(
      withProfile({
        time: 1_706_702_400_123,
        start_time: 1_706_702_400_000,
        end_time: 1_706_702_459_999,
        metadata: { product: { vendor_name: 'x' }, profiles: ['datetime'], logged_time: 0, processed_time: 1_706_702_400_001 },
      }),
    );
    assert.equal(ev.time_dt, '2024-01-31T12:00:00.123Z');
    assert.equal(ev.start_time_dt, '2024-01-31T12:00:00.000Z');
    assert.equal(ev.end_time_dt, '2024-01-31T12:00:59.999Z');
    assert.equal(ev.metadata.logged_time_dt, '1970-01-01T00:00:00.000Z');
    assert.equal(ev.metadata.processed_time_dt, '2024-01-31T12:00:00.001Z');
    const dns = deriveEvent({ class_uid: 4003, activity_id: 1, query_time: 1_000, metadata: { profiles: ['datetime'] } });
    assert.equal(dns.query_time_dt, '1970-01-01T00:00:01.000Z');
    const finding = deriveEvent({ class_uid: 2004, activity_id: 1, metadata: { profiles: ['datetime'] }, finding_info: { uid: 'u', title: 't', created_time: 86_400_000 } });
    assert.equal(finding.finding_info.created_time_dt, '1970-01-02T00:00:00.000Z');
  });

  it('adds nothing without the datetime profile', () => {
    const ev = deriveEvent(network({ start_time: 1, metadata: { product: { vendor_name: 'x' }, profiles: ['cloud'] } }));
    assert.equal(ev.time_dt, undefined);
    assert.equal(ev.start_time_dt, undefined);
  });

  it('keeps existing *_dt values and skips timestamps that are not numbers', () => {
    const ev = deriveEvent(withProfile({ time_dt: '2024-01-31T08:00:00-04:00', start_time: '1706702400000', end_time: 8.64e15 + 1 }));
    assert.equal(ev.time_dt, '2024-01-31T08:00:00-04:00');
    assert.equal(ev.start_time_dt, undefined);
    assert.equal(ev.end_time_dt, undefined, 'outside the Date range');
  });

  it('does not add *_dt where the schema has no such sibling', () => {
    // network_traffic has no timestamp attributes; duration is a long_t, not a timestamp
    const ev = deriveEvent(withProfile({ duration: 1000, traffic: { bytes: 1 } }));
    assert.equal(ev.duration_dt, undefined);
    assert.equal(ev.traffic.bytes_dt, undefined);
  });
});

describe('formatTimestampMs', () => {
  it('matches Date.toISOString for any millisecond in the 4-digit-year range', () => {
    const samples = [0, 1, 999, 1000, 86_399_999, 86_400_000, -1, -86_400_001, 951_782_400_000 /* 2000-02-29 */, 253_402_300_799_999, -62_167_219_200_000];
    let x = 123456789;
    for (let i = 0; i < 2000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      samples.push(Math.floor((x / 2 ** 31) * 4_102_444_800_000)); // 1970..2100
    }
    for (const ms of samples) assert.equal(formatTimestampMs(ms), new Date(ms).toISOString(), String(ms));
  });

  it('truncates fractional milliseconds and rejects what it cannot format', () => {
    assert.equal(formatTimestampMs(1.9), '1970-01-01T00:00:00.001Z');
    assert.equal(formatTimestampMs(Number.NaN), undefined);
    assert.equal(formatTimestampMs(Number.POSITIVE_INFINITY), undefined);
    assert.equal(formatTimestampMs(253_402_300_800_000), undefined, 'year 10000');
    assert.equal(formatTimestampMs(-62_167_219_200_001), undefined, 'year -1');
  });
});

describe('deriveEvent + validateEvent', () => {
  it('a derived mapping output validates without issues', () => {
    for (let i = 0; i < 20; i++) {
      const ev = deriveEvent(vpcFlowMapped(i));
      assert.deepEqual(validateEvent(ev), [], `event ${i}`);
    }
  });

  it('the mapping output without derive is missing the required derived attributes', () => {
    const issues = validateEvent(vpcFlowMapped(1));
    assert.deepEqual(issues.map((i) => `${i.code} ${i.path}`).sort(), [
      'attribute_required_missing category_uid',
      'attribute_required_missing metadata.version',
      'attribute_required_missing type_uid',
    ]);
  });
});

describe('deriveEvent vs the AWS v1.1.0 VPC Flow Logs example', () => {
  it('a minimal ids-only event gets the same names as the AWS example', () => {
    const aws = JSON.parse(readFileSync(new URL('vpc-flowlogs/vpcflowlog.ocsf.json', AWS_V110), 'utf8')) as Ev;
    // The raw record (vpcflowlog.raw.csv): REJECT, ingress, traffic_path "-", start 1649721732, end 1649721788.
    const minimal: Ev = {
      class_uid: 4001,
      activity_id: 5,
      severity_id: 1,
      action_id: 2,
      disposition_id: 2,
      time: 1_649_721_732_000,
      start_time: 1_649_721_732_000,
      end_time: 1_649_721_788_000,
      connection_info: { direction_id: 1, boundary_id: 99, boundary: '-', protocol_num: 6 },
      metadata: { product: { vendor_name: 'AWS', name: 'Amazon VPC' }, profiles: ['cloud', 'security_control', 'datetime'] },
      observables: aws.observables.map((o: Ev) => ({ name: o.name, type_id: o.type_id, value: o.value })),
    };
    const ev = deriveEvent(minimal);
    for (const key of ['category_uid', 'category_name', 'class_name', 'type_uid', 'type_name', 'activity_name', 'severity', 'action', 'disposition']) {
      assert.equal(ev[key], aws[key], key);
    }
    assert.equal(ev.metadata.version, aws.metadata.version);
    assert.equal(ev.connection_info.direction, aws.connection_info.direction);
    assert.equal(ev.connection_info.boundary, aws.connection_info.boundary);
    assert.deepEqual(
      ev.observables.map((o: Ev) => o.type),
      aws.observables.map((o: Ev) => o.type),
    );
    // AWS writes local-offset strings (-04:00); ours are UTC. Same instants.
    for (const key of ['time_dt', 'start_time_dt', 'end_time_dt']) {
      assert.match(ev[key], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, key);
      assert.equal(Date.parse(ev[key]), Date.parse(aws[key]), key);
    }
  });
});
