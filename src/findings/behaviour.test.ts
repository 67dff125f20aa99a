/**
 * buildBehaviourFinding: schema-valid OCSF 2004 for an (entity, window), deterministic uid from (model, entity,
 * window start), severity from the margin beyond the threshold, and the explanation in message and unmapped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateEvent } from '../ocsf/validate.js';
import { BEHAVIOUR_BANDS, behaviourFindingUid, behaviourSeverity, buildBehaviourFinding, windowText, type BehaviourContext, type BehaviourRecord } from './behaviour.js';
import type { ModelRef } from './types.js';

const MODEL: ModelRef = {
  name: 'rcf-network',
  version: '0a1b2c3d',
  threshold: 1.5,
  detector: { type: 'rcf', title: 'Random Cut Forest', score: { name: 'score', direction: 'higher_is_anomalous', default_threshold: 3 }, finding_type: 'Anomalous Behaviour' },
};
const START = Date.UTC(2026, 2, 5, 3);

function record(over: Partial<BehaviourRecord> = {}): BehaviourRecord {
  return {
    entity: 'i-0a11a11a11a11a11a',
    group: 'subnet:subnet-0a11',
    window_start: START,
    window_end: START + 3_600_000,
    native_score: 6.5,
    entity_known: true,
    anomaly_percentile: 0.9995,
    features: { 'network.bytes_out': 1.97e9, 'network.flows': 22 },
    explanation: {
      reason: 'bytes out 1.97 GB in this hour; usually 45.4 MB: 81% of the score',
      details: { score: 6.5, features: [{ feature: 'network.bytes_out', direction: 'high', observed: 1.97e9, usual: 4.54e7, share: 0.81, text: 'bytes out 1.97 GB in this hour; usually 45.4 MB' }] },
    },
    ...over,
  };
}

const CTX: BehaviourContext = { model: MODEL, threshold: 1.5, thresholdSource: 'calibrated', normalMedian: 0.75, sets: ['network'], views: ['vpc_flow'] };

test('a behaviour finding validates, names the window and the features, and is the same every time', () => {
  const f = buildBehaviourFinding(record(), CTX);
  assert.deepEqual(validateEvent(f).filter((i) => i.severity === 'error'), []);
  assert.deepEqual(buildBehaviourFinding(record(), CTX), f, 'deterministic');
  assert.equal(f.finding_info.uid, behaviourFindingUid('rcf-network', 'i-0a11a11a11a11a11a', START));
  assert.notEqual(buildBehaviourFinding(record({ window_start: START + 3_600_000, window_end: START + 7_200_000 }), CTX).finding_info.uid, f.finding_info.uid);
  assert.equal(f.time, START);
  assert.equal(f.start_time, START);
  assert.equal(f.end_time, START + 3_600_000);
  assert.equal(f.finding_info.title, 'Unusual behaviour of i-0a11a11a11a11a11a: bytes out 1.97 GB in this hour; usually 45.4 MB');
  assert.equal(
    f.message,
    'i-0a11a11a11a11a11a behaved unusually in the hour from 2026-03-05T03:00Z (network): bytes out 1.97 GB in this hour; usually 45.4 MB: 81% of the score; ' +
      'score 6.5 > threshold 1.5, more unusual than 99.95% of normal windows',
  );
  const u = f.unmapped as Record<string, unknown>;
  assert.equal(u.kind, 'behaviour');
  assert.equal(u.source_object, 'behaviour:rcf-network/2026-03-05T03:00:00.000Z');
  assert.deepEqual((u.explanation as { details: unknown }).details, record().explanation.details);
  assert.deepEqual((f.evidences as { data: { features: unknown } }[])[0]!.data.features, record().features);
  assert.deepEqual(f.resources, [{ uid: 'i-0a11a11a11a11a11a', type: 'AWS::EC2::Instance', group: { name: 'subnet:subnet-0a11' } }]);
  // margin (6.5 - 1.5) / (1.5 - 0.75) = 6.67: Critical; confidence from the percentile.
  assert.equal(f.severity_id, 5);
  assert.equal(f.confidence_score, 100);
});

test('severity bands by the margin beyond the threshold; an entity without history and an uncalibrated model are said', () => {
  const sev = (score: number): number => behaviourSeverity(score, 1.5, 'higher_is_anomalous', 0.75).severity_id;
  assert.deepEqual([1.6, 2.3, 3.8, 6.0].map(sev), [2, 3, 4, 5]);
  assert.equal(BEHAVIOUR_BANDS.length, 4);
  assert.equal(behaviourSeverity(2, 1.5, 'higher_is_anomalous', undefined).margin, 1 / 3);
  const f = buildBehaviourFinding(record({ entity_known: false, anomaly_percentile: undefined }), { ...CTX, model: { ...MODEL, threshold: undefined }, threshold: 3, thresholdSource: 'default' });
  assert.match(String(f.message), /\(little history of its own: compared with subnet:subnet-0a11\): /);
  assert.match(String(f.message), /score 6\.5 > threshold 3 \(uncalibrated default\)$/);
  assert.equal(windowText(START, START + 900_000), 'the 15-minute window from 2026-03-05T03:00Z');
  assert.equal(windowText(Date.UTC(2026, 2, 5), Date.UTC(2026, 2, 6)), 'the day 2026-03-05');
});
