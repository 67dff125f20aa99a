import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BackgroundSink } from './background.js';
import { MemorySink } from './memory/index.js';
import { parseSinkSpec } from './index.js';
import { buildFinding } from '../findings/build.js';
import type { DetectionFinding, Sink } from '../findings/types.js';
import { IPI } from '../findings/test-support.js';

function finding(i: number): DetectionFinding {
  return buildFinding(
    { ref: { object: 'o', row: i }, entity: `e${i}`, ip: '10.0.0.1', time: 1_760_000_000_000, native_score: -3, entity_known: true, entity_count: 1, event: {} },
    { model: { detector: IPI, name: 'm', version: '1' }, kind: 'anomaly' },
  );
}

/** A sink whose deliveries wait until the test opens the gate. */
class GatedSink implements Sink {
  readonly name = 'gated';
  readonly got: string[] = [];
  private gate!: () => void;
  private wait = this.newGate();
  fail = false;
  private newGate(): Promise<void> {
    return new Promise((r) => (this.gate = r));
  }
  open(): void {
    this.gate();
  }
  async send(fs: readonly DetectionFinding[]): Promise<void> {
    await this.wait;
    if (this.fail) throw new Error('down');
    this.got.push(...fs.map((f) => String((f.unmapped as Record<string, unknown>).entity)));
  }
  async close(): Promise<void> {}
}

test('send returns before delivery; batches go out in order; flush waits', async () => {
  const inner = new GatedSink();
  const bg = new BackgroundSink(inner);
  await bg.send([finding(1), finding(2)]);
  await bg.send([finding(3)]);
  assert.deepEqual(inner.got, [], 'nothing delivered yet: the caller did not wait');
  assert.equal(bg.pending, 3);
  inner.open();
  await bg.flush();
  assert.deepEqual(inner.got, ['e1', 'e2', 'e3']);
  assert.deepEqual(bg.stats, { queued: 3, sent: 3, dropped: 0, errors: 0 });
  await bg.close();
});

test('the queue is bounded: the oldest waiting batches are dropped and reported; errors are counted, not thrown', async () => {
  const inner = new GatedSink();
  const drops: string[] = [];
  const bg = new BackgroundSink(inner, { maxQueuedFindings: 3, onDrop: (d) => drops.push(`${d.reason}:${d.findings}`) });
  for (let i = 1; i <= 6; i++) await bg.send([finding(i)]);
  assert.equal(bg.pending, 3);
  inner.open();
  await bg.flush();
  assert.deepEqual(inner.got, ['e1', 'e5', 'e6'], 'the batch in delivery is kept, then the newest (3 at most, in-flight included)');
  assert.deepEqual(drops, ['queue_full:1', 'queue_full:1', 'queue_full:1']);
  inner.fail = true;
  await bg.send([finding(7)]);
  await bg.flush();
  assert.equal(bg.stats.errors, 1);
  assert.deepEqual(drops.at(-1), 'error:1');
  await bg.close();
});

test('close drains, and gives up after its timeout', async () => {
  const m = new MemorySink();
  const bg = new BackgroundSink(m);
  await bg.send([finding(1)]);
  await bg.close();
  assert.equal(m.findings.length, 1);
  assert.ok(m.closed);

  const stuck = new GatedSink();
  const drops: string[] = [];
  const bg2 = new BackgroundSink(stuck, { closeTimeoutMs: 50, onDrop: (d) => drops.push(`${d.reason}:${d.findings}`) });
  await bg2.send([finding(1)]);
  await bg2.send([finding(2), finding(3)]);
  await bg2.close();
  assert.deepEqual(drops, ['close_timeout:2']);
  await bg2.send([finding(4)]); // after close: dropped, not thrown
  assert.equal(bg2.stats.dropped, 3);
  stuck.open();
});

test("parseSinkSpec('webhook:URL', { background: true }) does not wait for a slow endpoint", async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      void released.then(() => res.writeHead(200).end('ok'));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const sink = parseSinkSpec(`webhook:${url}`, { background: true });
    assert.ok(sink instanceof BackgroundSink);
    await sink.send([finding(1)]); // returns although the server has not answered
    assert.equal(sink.pending, 1);
    release();
    await sink.flush();
    assert.equal(bodies.length, 1);
    assert.equal((JSON.parse(bodies[0]!) as unknown[]).length, 1);
    assert.equal(sink.stats.sent, 1);
    await sink.close();
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
