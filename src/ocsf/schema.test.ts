import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  OCSF_VERSION,
  allClasses,
  attributeAt,
  attributeDefAt,
  baseOfType,
  categoryByUid,
  categoryOfClass,
  classByName,
  classByUid,
  enumCaption,
  loadSchema,
  objectByName,
  profileByName,
  profileNames,
  typeByName,
} from './schema.js';

describe('schema loading and lookups', () => {
  it('loads OCSF 1.1.0 with 50 classes, 106 objects and 8 profiles', () => {
    const s = loadSchema();
    assert.equal(s.version, OCSF_VERSION);
    assert.equal(allClasses().length, 50);
    assert.equal(Object.keys(s.objects).length, 106);
    assert.deepEqual(profileNames().sort(), ['cloud', 'container', 'datetime', 'host', 'linux/linux_users', 'load_balancer', 'network_proxy', 'security_control']);
    assert.equal(loadSchema(), s, 'cached: the same object on every call');
  });

  it('finds classes by uid and name', () => {
    assert.equal(classByUid(4001)?.name, 'network_activity');
    assert.equal(classByUid(4001)?.caption, 'Network Activity');
    assert.equal(classByUid(3002)?.name, 'authentication');
    assert.equal(classByUid(2004)?.name, 'detection_finding');
    assert.equal(classByUid(0)?.name, 'base_event');
    assert.equal(classByUid(4999), undefined);
    assert.equal(classByUid(3005)?.name, 'user_access', 'rc.2 API Activity uid 3005 is a different class in 1.1.0');
    assert.equal(classByName('dns_activity')?.uid, 4003);
    assert.equal(classByName('nope'), undefined);
  });

  it('knows categories, objects, types and profiles', () => {
    assert.deepEqual(categoryOfClass(classByUid(4001)!), { uid: 4, caption: 'Network Activity' });
    assert.deepEqual(categoryOfClass(classByUid(3002)!), { uid: 3, caption: 'Identity & Access Management' });
    assert.equal(categoryByUid(2)?.caption, 'Findings');
    assert.equal(categoryByUid(9), undefined);
    assert.deepEqual(objectByName('network_endpoint')?.constraints?.at_least_one?.includes('svc_name'), true);
    assert.equal(objectByName('toString'), undefined, 'no prototype leaks');
    assert.deepEqual(typeByName('port_t')?.range, [0, 65535]);
    assert.equal(typeByName('timestamp_t')?.type, 'long_t');
    assert.equal(profileByName('cloud')?.caption, 'Cloud');
    assert.equal(profileByName('linux'), undefined, '"linux" is an extension, not a profile');
  });

  it('resolves enum captions', () => {
    const na = classByUid(4001)!;
    assert.equal(enumCaption(na.attributes.activity_id!, 6), 'Traffic');
    assert.equal(enumCaption(na.attributes.activity_id!, '5'), 'Refuse');
    assert.equal(enumCaption(na.attributes.activity_id!, 7), undefined);
    assert.equal(enumCaption(na.attributes.type_uid!, 400106), 'Network Activity: Traffic');
    const observable = objectByName('observable')!;
    // The compiled schema says "IP Address (Dictionary Type)"; gen-ocsf restores the server's caption.
    assert.equal(enumCaption(observable.attributes.type_id!, 2), 'IP Address');
    assert.equal(enumCaption(observable.attributes.type_id!, 20), 'Endpoint');
  });

  it('maps types to storage bases', () => {
    assert.equal(baseOfType('port_t'), 'integer');
    assert.equal(baseOfType('integer_t'), 'integer');
    assert.equal(baseOfType('timestamp_t'), 'long');
    assert.equal(baseOfType('long_t'), 'long');
    assert.equal(baseOfType('float_t'), 'float');
    assert.equal(baseOfType('boolean_t'), 'boolean');
    assert.equal(baseOfType('datetime_t'), 'string');
    assert.equal(baseOfType('ip_t'), 'string');
    assert.equal(baseOfType('json_t'), 'json');
    assert.equal(baseOfType('object'), 'object');
    assert.equal(baseOfType('network_endpoint'), 'struct');
  });
});

describe('attributeAt', () => {
  it('resolves scalar attributes through objects', () => {
    assert.deepEqual(attributeAt(4001, ['src_endpoint', 'port']), { name: 'port', type: 'port_t', isArray: false, base: 'integer', profile: null });
    assert.deepEqual(attributeAt(4001, ['time']), { name: 'time', type: 'timestamp_t', isArray: false, base: 'long', profile: null });
    assert.equal(attributeAt(4001, ['traffic', 'bytes'])?.base, 'long');
    assert.equal(attributeAt(4001, ['connection_info', 'boundary'])?.base, 'string');
    assert.equal(attributeAt(4001, ['src_endpoint', 'location', 'coordinates'])?.base, 'float');
    assert.equal(attributeAt(4001, ['src_endpoint', 'location', 'coordinates'])?.isArray, true);
    assert.equal(attributeAt(3002, ['is_mfa'])?.base, 'boolean');
    assert.equal(attributeAt(4001, ['src_endpoint', 'intermediate_ips'])?.type, 'ip_t');
    assert.equal(attributeAt(4001, ['src_endpoint', 'intermediate_ips'])?.isArray, true);
  });

  it('describes objects, free-form objects and json', () => {
    assert.deepEqual(attributeAt(4001, ['src_endpoint']), {
      name: 'src_endpoint',
      type: 'network_endpoint',
      objectType: 'network_endpoint',
      isArray: false,
      base: 'struct',
      profile: null,
    });
    assert.deepEqual(attributeAt(4001, ['observables']), { name: 'observables', type: 'observable', objectType: 'observable', isArray: true, base: 'struct', profile: null });
    assert.equal(attributeAt(4001, ['observables[]', 'type_id'])?.base, 'integer', 'a trailing [] on a segment is accepted');
    assert.deepEqual(attributeAt(4001, ['unmapped']), { name: 'unmapped', type: 'object', objectType: 'object', isArray: false, base: 'object', profile: null });
    assert.equal(attributeAt(6003, ['api', 'request', 'data'])?.base, 'json');
  });

  it('reports the contributing profile', () => {
    assert.equal(attributeAt(4001, ['action_id'])?.profile, 'security_control');
    assert.equal(attributeAt(4001, ['time_dt'])?.profile, 'datetime');
    assert.equal(attributeAt(4001, ['cloud'])?.profile, 'cloud');
    assert.equal(attributeAt(6003, ['api'])?.profile, null, 'api is part of API Activity itself');
    assert.equal(attributeAt(4001, ['api'])?.profile, 'cloud', 'but comes from the cloud profile in Network Activity');
  });

  it('returns undefined for unknown paths', () => {
    assert.equal(attributeAt(4001, ['src_endpoint', 'nope']), undefined);
    assert.equal(attributeAt(4001, ['nope']), undefined);
    assert.equal(attributeAt(4001, ['unmapped', 'anything']), undefined, 'no attributes below free-form objects');
    assert.equal(attributeAt(4001, ['time', 'x']), undefined, 'no attributes below scalars');
    assert.equal(attributeAt(4999, ['time']), undefined);
    assert.equal(attributeAt(4001, []), undefined);
    assert.equal(attributeAt(4001, ['__proto__']), undefined);
    assert.equal(attributeDefAt(4001, ['connection_info', 'direction_id'])?.sibling, 'direction');
  });

  it('memoizes per class and path', () => {
    const a = attributeAt(4003, ['query', 'hostname']);
    assert.equal(a?.type, 'hostname_t');
    assert.equal(attributeAt(4003, ['query', 'hostname']), a, 'same object from the cache');
  });
});

describe('generated asset', () => {
  it('carries a DO-NOT-EDIT note, the licence and the notice', () => {
    const raw = JSON.parse(readFileSync(new URL('../../assets/ocsf/schema-1.1.0.json', import.meta.url), 'utf8')) as { $comment: string };
    assert.match(raw.$comment, /^DO NOT EDIT\. Generated by scripts\/gen-ocsf\.ts/);
    assert.match(readFileSync(new URL('../../assets/ocsf/LICENSE', import.meta.url), 'utf8'), /Apache License/);
    assert.match(readFileSync(new URL('../../assets/ocsf/NOTICE', import.meta.url), 'utf8'), /Open Cybersecurity Schema Framework/);
  });
});
