/**
 * The monitor's Prometheus metrics (issue 15): `seclake monitor --metrics-port 0` serves /metrics while it runs, in
 * the embedded mode over a real small lake and in AWS mode (SQS notifications on moto_server). Each scrape is parsed
 * with a strict parser of the text format (test/helpers/prometheus.ts) and the counters must move as objects arrive.
 * AWS mode with --json writes only JSON lines on stderr. The parser itself is checked on text it must refuse.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { renderMetrics } from '../../src/core/prometheus.js';
import { ingest } from '../../src/ingest/ingest.js';
import { parsePrometheusText, sampleValue, type ParsedFamily } from '../helpers/prometheus.js';
import { buildLakeAndModel, DAY0, writeFlowObject } from './fixture.js';
import { buildLakeObjects, flowLog, makeBucketAndQueue, startAwsEnv, trainModel, uploadObject, waitFor, type AwsEnv } from './aws-fixture.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

interface Proc {
  stderr(): string;
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  stop(): Promise<number | null>;
}

function startCli(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (err += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    stderr: () => err,
    async waitFor(re, ms = 60_000) {
      const until = Date.now() + ms;
      for (;;) {
        const m = re.exec(err);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`the monitor exited (${child.exitCode}) before ${re}; stderr:\n${err}`);
        if (Date.now() > until) throw new Error(`no ${re} within ${ms} ms; stderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

async function scrape(url: string): Promise<{ families: Map<string, ParsedFamily>; contentType: string | null }> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return { families: parsePrometheusText(await res.text()), contentType: res.headers.get('content-type') };
}

const value = (f: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number => sampleValue(f, name, labels) ?? Number.NaN;

describe('the strict exposition parser', () => {
  it('reads what the shared writer writes, escapes included', () => {
    const text = renderMetrics([
      { name: 'x_total', help: 'a \\ back\nslash', type: 'counter', samples: [{ labels: { a: 'q"uo\\te\nnl' }, value: 3 }] },
      { name: 'h', help: 'hist', type: 'histogram', samples: [
        { suffix: '_bucket', labels: { le: '1' }, value: 1 },
        { suffix: '_bucket', labels: { le: '+Inf' }, value: 2 },
        { suffix: '_sum', value: 3.5 },
        { suffix: '_count', value: 2 },
      ] },
      { name: 'g', help: 'gauge', type: 'gauge', samples: [{ value: Number.NaN }, { labels: { k: 'v' }, value: -Infinity }] },
    ]);
    const f = parsePrometheusText(text);
    assert.equal(f.get('x_total')!.help, 'a \\ back\nslash');
    assert.equal(sampleValue(f, 'x_total', { a: 'q"uo\\te\nnl' }), 3);
    assert.equal(sampleValue(f, 'h_count'), 2);
    assert.ok(Number.isNaN(sampleValue(f, 'g')!));
    assert.equal(sampleValue(f, 'g', { k: 'v' }), -Infinity);
  });

  it('refuses what the format does not allow', () => {
    const bad: [string, RegExp][] = [
      ['# TYPE a counter\na 1', /end with a newline/],
      ['a 1\n', /before \(or without\) the TYPE/],
      ['# TYPE a counter\na{b="c} 1\n', /unterminated/],
      ['# TYPE a counter\na{b="\\x"} 1\n', /bad escape/],
      ['# TYPE a counter\na{b="c",b="d"} 1\n', /twice/],
      ['# TYPE a counter\na one\n', /not a float/],
      ['# TYPE a counter\na -1\n', /counter a is -1/],
      ['# TYPE a counter\n# TYPE b gauge\nb 1\na 2\n', /not contiguous/],
      ['# TYPE a gauge\n# TYPE a gauge\n', /second TYPE/],
      ['# TYPE a widget\n', /bad type/],
      ['# TYPE 1a gauge\n', /bad metric name/],
      ['# TYPE a gauge\na{__x="1"} 1\n', /bad label name/],
      ['# TYPE a gauge\na 1 2 3\n', /expected/],
      ['# TYPE a gauge\na 1\na 2\n', /duplicate sample/],
      ['# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /not increasing/],
      ['# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n', /equal _count/],
    ];
    for (const [text, re] of bad) assert.throws(() => parsePrometheusText(text), re, JSON.stringify(text));
  });
});

describe('seclake monitor --metrics-port (embedded, a local lake)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'seclake-monitor-metrics-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves /metrics during the run; objects, records and findings counters move as objects arrive; lag and checkpoint age', async () => {
    const { lakeDir, modelPath } = await buildLakeAndModel(dir, 2);
    const p = startCli(['monitor', '--lake', lakeDir, '--model', modelPath, '--pairs', 'flow-peer', '--from-start', '--metrics-port', '0', '--poll-ms', '200', '--checkpoint-ms', '0']);
    try {
      const url = (await p.waitFor(/metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/))[1]!;
      await p.waitFor(/seq 2 VPC_FLOW: \d+ pairs/);
      const first = await scrape(url);
      assert.equal(first.contentType, 'text/plain; version=0.0.4; charset=utf-8');
      const f1 = first.families;
      assert.equal(value(f1, 'seclake_monitor_info', { mode: 'embedded', name: 'default' }), 1);
      assert.equal(value(f1, 'seclake_monitor_objects_total', { outcome: 'done' }), 2);
      const pairs1 = value(f1, 'seclake_monitor_records_total', { kind: 'pairs' });
      assert.ok(pairs1 >= 6000 * 0.9, `records scored: ${pairs1}`);
      const findings1 = sampleValue(f1, 'seclake_monitor_findings_total', { kind: 'detection' }) ?? 0;
      assert.equal(value(f1, 'seclake_monitor_last_seq'), 2);
      assert.equal(value(f1, 'seclake_monitor_lag_objects'), 0);
      assert.equal(value(f1, 'seclake_monitor_lag_seconds'), 0);
      assert.ok(value(f1, 'seclake_monitor_checkpoint_age_seconds') >= 0);
      assert.equal(value(f1, 'seclake_monitor_checkpoint_seq'), 2);
      assert.ok(value(f1, 'seclake_monitor_object_lag_seconds') >= 0);
      for (const name of ['seclake_monitor_objects_total', 'seclake_monitor_records_total', 'seclake_monitor_findings_total', 'seclake_monitor_errors_total']) {
        assert.equal(f1.get(name)?.type, 'counter', name);
      }

      // A new object with an instance reaching addresses it never talks to: the counters move.
      const next = writeFlowObject(dir, 'new', { records: 500, startSec: DAY0 + 2 * 86400, seed: 9, anomalies: [{ instance: 1, peer: '198.51.100.7' }, { instance: 2, peer: '203.0.113.9' }] });
      await ingest({ lakeDir, paths: [next] });
      await p.waitFor(/seq 3 VPC_FLOW: \d+ pairs, [1-9]\d* findings/);
      const f2 = (await scrape(url)).families;
      assert.equal(value(f2, 'seclake_monitor_objects_total', { outcome: 'done' }), 3);
      assert.ok(value(f2, 'seclake_monitor_records_total', { kind: 'pairs' }) >= pairs1 + 500);
      assert.ok(value(f2, 'seclake_monitor_findings_total', { kind: 'detection' }) > findings1);
      assert.ok(value(f2, 'seclake_monitor_newest_seq') >= 3);
      assert.ok(value(f2, 'seclake_monitor_last_seq') >= 3);
      assert.equal(value(f2, 'seclake_monitor_lag_objects'), 0);

      // Anything but GET /metrics is not served.
      assert.equal((await fetch(url.replace('/metrics', '/'))).status, 404);
      assert.equal((await fetch(url, { method: 'POST' })).status, 405);
    } finally {
      assert.equal(await p.stop(), 0, p.stderr());
    }
  });
});

describe('seclake monitor --sqs-queue-url --json --metrics-port (AWS mode, moto_server)', () => {
  let env: AwsEnv | undefined;
  after(async () => env?.close());

  it('every status line is JSON; /metrics counts the object, the message and the queue', async () => {
    env = await startAwsEnv();
    const modelPath = await trainModel(env.tmp, 12);
    const q = await makeBucketAndQueue(env, 'metrics-q');
    const findingsDir = path.join(env.tmp, 'findings');
    mkdirSync(findingsDir, { recursive: true });
    const p = startCli(
      ['monitor', '--model', modelPath, '--pairs', 'reference', '--sqs-queue-url', q.queueUrl, '--dlq-url', q.dlqUrl, '--findings', findingsDir, '--s3-endpoint', env.moto.endpoint, '--region', 'us-east-1', '--wait-seconds', '1', '--json', '--metrics-port', '0'],
      env.moto.env,
    );
    try {
      const url = JSON.parse((await p.waitFor(/^(\{"type":"metrics".*\})$/m))[1]!) as { url: string };
      const [obj] = await buildLakeObjects(env.tmp, 'aws-metrics', flowLog({ instances: 12, records: 400, seed: 10, startSec: 1_764_000_000, anomalies: [{ instance: 0, ip: '203.0.113.1' }] }));
      await uploadObject(env, obj!);
      await p.waitFor(/"type":"processed"/);
      const f = await waitFor('the processed object in /metrics', async () => {
        const fam = (await scrape(url.url)).families;
        return value(fam, 'seclake_monitor_objects_total', { outcome: 'done' }) === 1 ? fam : undefined;
      });
      assert.equal(value(f, 'seclake_monitor_info', { mode: 'aws', name: q.queueUrl }), 1);
      assert.ok(value(f, 'seclake_monitor_records_total', { kind: 'pairs' }) > 0);
      const found = value(f, 'seclake_monitor_findings_total', { kind: 'detection' });
      assert.ok(found >= 1, `findings: ${found}`);
      assert.equal(value(f, 'seclake_monitor_messages_total', { outcome: 'deleted' }), 1);
      for (const state of ['visible', 'in_flight', 'delayed']) assert.ok(value(f, 'seclake_monitor_queue_messages', { state }) >= 0, state);
      assert.ok(value(f, 'seclake_monitor_object_lag_seconds') >= 0);
      assert.ok(value(f, 'seclake_monitor_checkpoint_age_seconds') >= 0);
    } finally {
      assert.equal(await p.stop(), 0, p.stderr());
    }
    // --json: nothing but JSON lines on stderr (no text status line, no SDK warning).
    const lines = p.stderr().split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 3, p.stderr());
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `not a JSON line: ${l}`);
    const types = lines.map((l) => (JSON.parse(l) as { type: string }).type);
    assert.ok(types.includes('start') && types.includes('processed') && types.includes('metrics'), types.join(', '));
    const processed = lines.map((l) => JSON.parse(l) as { type: string; objects?: { status: string; pairs: number; findings: number }[] }).find((e) => e.type === 'processed')!;
    assert.equal(processed.objects?.[0]?.status, 'processed');
    assert.ok((processed.objects?.[0]?.findings ?? 0) >= 1);
    assert.ok((processed.objects?.[0]?.pairs ?? 0) > 0);
    assert.doesNotMatch(p.stderr(), /NodeVersionSupportWarning/);
  });
});
