import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { FanoutSink, FileSink, MemorySink, StdoutSink, WebhookSink, createSinks, oneLine, parseSinkSpec, slackText } from './index.js';
import { IncidentBuilder } from '../findings/incidents.js';
import { ConfigError, SinkError } from '../core/errors.js';
import { buildFinding } from '../findings/build.js';
import type { DetectionFinding, Sink } from '../findings/types.js';
import { IPI } from '../findings/test-support.js';

function finding(i: number): DetectionFinding {
  return buildFinding(
    { ref: { object: 'o', row: i }, entity: `e${i}`, ip: '10.0.0.1', time: 1_760_000_000_000, native_score: -3, entity_known: true, entity_count: 1, event: {} },
    { model: { detector: IPI, name: 'm', version: '1' }, kind: 'anomaly' },
  );
}

test('parseSinkSpec builds each sink type and rejects bad specs clearly', () => {
  assert.ok(parseSinkSpec('stdout') instanceof StdoutSink);
  assert.ok(parseSinkSpec('memory') instanceof MemorySink);
  const f = parseSinkSpec('file:/tmp/x/findings.jsonl');
  assert.ok(f instanceof FileSink && f.path === '/tmp/x/findings.jsonl');
  const w = parseSinkSpec('webhook:https://example.com/hook?token=abc');
  assert.ok(w instanceof WebhookSink && w.format === 'json' && w.url === 'https://example.com/hook?token=abc');
  assert.ok(!w.name.includes('token'), w.name);
  const s = parseSinkSpec('slack:https://hooks.slack.com/services/T/B/X', { webhook: { maxAttempts: 2 } });
  assert.ok(s instanceof WebhookSink && s.format === 'slack');
  const bad: [string, RegExp][] = [
    ['syslog:foo', /unknown sink "syslog:foo": expected stdout \| stdout:text \| file:PATH \| webhook:URL \| slack:URL/],
    ['file:', /file needs a path/],
    ['webhook:', /webhook needs a URL/],
    ['webhook:not a url', /is not a URL/],
    ['slack:ftp://x/y', /must be http/],
    ['', /unknown sink/],
  ];
  for (const [spec, re] of bad) assert.throws(() => parseSinkSpec(spec), (e: unknown) => e instanceof ConfigError && re.test(e.message), spec);
});

test('file sink appends JSON lines across instances and creates the directory', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-sink-'));
  try {
    const file = path.join(dir, 'sub', 'findings.jsonl');
    const a = parseSinkSpec(`file:${file}`);
    await a.send([finding(1), finding(2)]);
    await a.send([]);
    await a.close();
    const b = new FileSink({ path: file });
    await b.send([finding(3)]);
    await b.close();
    await b.close(); // idempotent
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as DetectionFinding).finding_info.uid), [finding(1), finding(2), finding(3)].map((f) => f.finding_info.uid));
    // An unwritable path is a SinkError, not a crash.
    const blocked = new FileSink({ path: path.join(file, 'cannot-be-under-a-file.jsonl') });
    await assert.rejects(blocked.send([finding(1)]), SinkError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stdout sink writes one JSON line per finding', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const s = parseSinkSpec('stdout', { stdout: out });
  await s.send([finding(1), finding(2)]);
  await s.close();
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.deepEqual(JSON.parse(lines[1]!), finding(2));
});

test('fanout sends to every sink; one that throws is reported and does not stop the others', async () => {
  const m1 = new MemorySink('m1');
  const m2 = new MemorySink('m2');
  const broken: Sink = {
    name: 'broken',
    send: async () => {
      throw new Error('disk full');
    },
    close: async () => {},
  };
  const reported: string[] = [];
  const fan = new FanoutSink([m1, broken, m2], (s, e) => reported.push(`${s.name}: ${(e as Error).message}`));
  await fan.send([finding(1)]);
  await fan.send([finding(2)]);
  await fan.close();
  assert.equal(m1.findings.length, 2);
  assert.equal(m2.findings.length, 2);
  assert.ok(m1.closed && m2.closed);
  assert.deepEqual(reported, ['broken: disk full', 'broken: disk full']);
  assert.equal(fan.errors.get('broken'), 2);
});

test('createSinks: one fanout over the specs, ConfigError on a bad one', async () => {
  const fan = createSinks(['memory', 'memory']);
  assert.equal(fan.sinks.length, 2);
  await fan.send([finding(1)]);
  assert.deepEqual(fan.sinks.map((s) => (s as MemorySink).findings.length), [1, 1]);
  assert.equal(createSinks([]).sinks.length, 0);
  assert.throws(() => createSinks(['stdout', 'bogus']), ConfigError);
});

test('incidents: stdout:text prints one line a person reads per incident or finding; Slack too; the memory sink keeps them apart', async () => {
  const a = finding(1);
  const b = { ...finding(2), unmapped: { ...(finding(2).unmapped as object), entity: 'e1', p_value: 0.001 } } as DetectionFinding;
  const [rev] = new IncidentBuilder().add([a, b], 'o');
  const inc = rev!.incident;
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString('utf8')));
  const s = parseSinkSpec('stdout:text', { stdout: out });
  assert.ok(s instanceof StdoutSink && s.format === 'text' && s.name === 'stdout:text');
  await s.send([inc, a]);
  const lines = text.split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[2], '');
  assert.match(lines[0]!, /^\[(Low|Medium|High)\] e1: new address 10\.0\.0\.1 \(IP Insights\), 2025-10-09 08:53 UTC \(incident [0-9a-f]{8} r1, score \d+\.\d, 2 findings\)$/);
  assert.equal(lines[0], oneLine(inc));
  assert.match(lines[1]!, /^\[\w+\] Unusual IP address for e1: 10\.0\.0\.1: .* \(finding [0-9a-f]{8}, m\)$/);
  const slack = slackText([inc, a]);
  assert.match(slack, /^seclake: 1 incident, 1 finding\n/);
  assert.match(slack, /incident: e1: new address 10\.0\.0\.1/);
  const m = new MemorySink();
  await m.send([inc, a]);
  assert.equal(m.incidents.length, 1);
  assert.equal(m.findings.length, 1);
  // The JSON format stays one object per line.
  const j = new PassThrough();
  let jt = '';
  j.on('data', (d: Buffer) => (jt += d.toString('utf8')));
  await new StdoutSink({ stream: j }).send([inc]);
  assert.equal((JSON.parse(jt) as { class_uid: number }).class_uid, 2005);
});
