import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../core/errors.js';
import { parseLabels } from './inputs.js';

test('label files: CSV and JSON lines; a finding relabelled counts once with its latest label', () => {
  const csv = parseLabels('entity,ip,label\nalice,10.0.0.1,tp\n"bob, jr",10.0.0.2,FALSE-POSITIVE\n', 'l.csv');
  assert.deepEqual(csv.labels, [
    { entity: 'alice', ip: '10.0.0.1', label: 'true_positive' },
    { entity: 'bob, jr', ip: '10.0.0.2', label: 'false_positive' },
  ]);
  const jl = parseLabels(
    [
      '{"finding_uid":"f1","entity":"i-1","ip":"203.0.113.7","label":"true_positive"}',
      '{"finding_uid":"f2","entity":"i-2","ip":"203.0.113.8","label":"false_positive"}',
      '{"finding_uid":"f1","entity":"i-1","ip":"203.0.113.7","label":"false_positive"}',
      '{"finding_uid":"f3","label":"tp"}',
      '{"entity":"i-3","ip":"198.51.100.1","label":"fp"}',
      '{"entity":"i-3","ip":"198.51.100.1","label":"fp"}',
    ].join('\n'),
    'labels.jsonl',
  );
  assert.deepEqual(jl.labels, [
    { entity: 'i-1', ip: '203.0.113.7', label: 'false_positive' },
    { entity: 'i-2', ip: '203.0.113.8', label: 'false_positive' },
    // Without a finding uid there is nothing to say two lines are the same finding: both count.
    { entity: 'i-3', ip: '198.51.100.1', label: 'false_positive' },
    { entity: 'i-3', ip: '198.51.100.1', label: 'false_positive' },
  ]);
  assert.deepEqual(jl.unresolved, [{ line: 4, finding_uid: 'f3' }]);
});

test('label files: errors name the file, line and field', () => {
  assert.throws(() => parseLabels('a,10.0.0.1,maybe\n', 'x.csv'), (e: unknown) => e instanceof ParseError && /x\.csv.*line 1|label/.test(String(e)));
  assert.throws(() => parseLabels('a,not-an-ip,tp\n', 'x.csv'), (e: unknown) => e instanceof ParseError && /invalid IP/.test(String(e)));
  assert.throws(() => parseLabels('{"label":"tp"}\n', 'y.jsonl'), (e: unknown) => e instanceof ParseError && /needs "entity" and "ip"/.test(String(e)));
});
