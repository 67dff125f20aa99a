/**
 * The demo generator: byte-identical output for the same seed, every object ingests with zero rejects through the
 * real sources, and every labelled record exists where the labels say (file, line/index) with the labelled pair.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDemoNetworks } from '../../src/demo/asn-pools.js';
import { ATTACK_KINDS } from '../../src/demo/attacks.js';
import { generateDemo, LiveGenerator, type GenerateOptions } from '../../src/demo/generate.js';
import { readLabelsFile } from '../../src/demo/labels.js';
import { FLOW_FIELDS } from '../../src/demo/records.js';
import { ingest } from '../../src/ingest/ingest.js';
import { openLakeQuery } from '../../src/lake/views.js';

const END = Date.parse('2026-03-04T12:00:00Z');
const nets = await loadDemoNetworks();

function small(out: string, extra: Partial<GenerateOptions> = {}): GenerateOptions {
  return { out, days: 2, seed: 11, end: END, attackDays: 1, volume: { scale: 0.15 }, networks: nets, ...extra };
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const f = path.join(d, e);
      if (statSync(f).isDirectory()) walk(f);
      else out.push(path.relative(dir, f));
    }
  };
  walk(dir);
  return out;
}

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-demo-gen-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('same seed and end: byte-identical files and labels; another seed differs', async (t) => {
  const dir = tmp(t);
  const a = await generateDemo(small(path.join(dir, 'a')));
  const b = await generateDemo(small(path.join(dir, 'b')));
  const c = await generateDemo(small(path.join(dir, 'c'), { seed: 12 }));
  const fa = listFiles(a.out);
  assert.deepEqual(fa, listFiles(b.out));
  assert.ok(fa.length > 40, `expected many objects, got ${fa.length}`);
  for (const f of fa) assert.ok(readFileSync(path.join(a.out, f)).equals(readFileSync(path.join(b.out, f))), `${f} differs between two runs`);
  const fc = listFiles(c.out);
  assert.notDeepEqual(fc, fa);
  assert.deepEqual(a.labels.map((l) => l.kind), [...ATTACK_KINDS]);
  // Attacks only in the attack period; the history before it is clean.
  for (const l of a.labels) assert.ok(l.start_ms >= a.attackStart && l.end_ms < a.end, `${l.attack_id} outside the attack period`);
});

test('the object keys follow the AWS delivery layout', async (t) => {
  const dir = tmp(t);
  const r = await generateDemo(small(dir, { days: 1, attackDays: 0.5 }));
  const acct = '123456789012';
  for (const o of r.objects) {
    if (o.kind === 'vpc_flow') assert.match(o.key, new RegExp(`^AWSLogs/${acct}/vpcflowlogs/us-east-1/\\d{4}/\\d{2}/\\d{2}/${acct}_vpcflowlogs_us-east-1_fl-[0-9a-f]{17}_\\d{8}T\\d{4}Z_[0-9a-f]{8}\\.log\\.gz$`));
    else if (o.kind === 'route53') assert.match(o.key, new RegExp(`^AWSLogs/${acct}/vpcdnsquerylogs/vpc-[0-9a-f]{17}/\\d{4}/\\d{2}/\\d{2}/${acct}_vpcdnsquerylogs_vpc-[0-9a-f]{17}_\\d{8}T\\d{4}Z_[0-9a-f]{8}\\.log\\.gz$`));
    else assert.match(o.key, new RegExp(`^AWSLogs/${acct}/CloudTrail/us-east-1/\\d{4}/\\d{2}/\\d{2}/${acct}_CloudTrail_us-east-1_\\d{8}T\\d{4}Z_[0-9A-F]{16}\\.json\\.gz$`));
  }
  const flow = r.objects.find((o) => o.kind === 'vpc_flow')!;
  const text = gunzipSync(readFileSync(path.join(r.logsDir, flow.key))).toString('utf8');
  const [header, first] = text.split('\n');
  assert.equal(header, FLOW_FIELDS.join(' '));
  assert.equal(first!.split(' ').length, FLOW_FIELDS.length);
  assert.match(first!, / i-0[0-9a-f]{16} /, 'flow records carry the instance id');
});

test('every generated object ingests with zero rejects, and the labelled records exist as labelled', async (t) => {
  const dir = tmp(t);
  const r = await generateDemo(small(path.join(dir, 'gen')));
  const lakeDir = path.join(dir, 'lake');
  const s = await ingest({ lakeDir, paths: [r.logsDir] });
  assert.equal(s.totals.failed, 0);
  assert.equal(s.totals.rejects, 0, JSON.stringify(s.rejects_by_reason));
  assert.equal(s.totals.ingested, r.objects.length);
  assert.equal(s.totals.events, r.records.vpc_flow + r.records.route53 + r.records.cloudtrail);

  const labels = readLabelsFile(r.labelsFile);
  assert.equal(labels.length, ATTACK_KINDS.length);
  const texts = new Map<string, string>();
  const textOf = (key: string): string => {
    let t0 = texts.get(key);
    if (t0 === undefined) {
      t0 = gunzipSync(readFileSync(path.join(r.logsDir, key))).toString('utf8');
      texts.set(key, t0);
    }
    return t0;
  };
  let checked = 0;
  for (const l of labels) {
    assert.ok(l.records.length > 0, `${l.attack_id} has records`);
    assert.ok(l.category === 'address' || l.category === 'behaviour', `${l.attack_id} category`);
    // Every record names the entity whose log holds it; the behaviour windows sum them up per entity.
    assert.ok(l.records.every((x) => x.entity !== undefined && l.entities.includes(x.entity)), `${l.attack_id}: every record names one of the label's entities`);
    assert.equal(l.behaviour!.reduce((n, w) => n + w.records, 0), l.records.length);
    for (const rec of l.records) {
      const text = textOf(rec.file);
      if (rec.view === 'vpc_flow') {
        const f = text.split('\n')[rec.position - 1]!.split(' ');
        assert.equal(Number(f[10]) * 1000, rec.time);
        assert.equal(f[16], rec.entity, `${rec.file}:${rec.position} instance`);
        assert.equal(f[27] === 'ingress' ? f[3] : f[4], rec.ip, `${rec.file}:${rec.position} peer`);
        // The internal scan's scanner records name the probed address; every other flow names one of the label's addresses.
        if (l.kind !== 'internal_scan' || rec.entity !== l.entity) assert.ok(l.ips.includes(rec.ip!), `${l.attack_id}: ${rec.ip} in ips`);
      } else if (rec.view === 'route53') {
        const q = JSON.parse(text.split('\n')[rec.position - 1]!) as { query_timestamp: string; answers: { Rdata: string }[]; srcids: { instance: string } };
        assert.equal(Date.parse(q.query_timestamp), rec.time);
        assert.equal(q.srcids.instance, rec.entity);
        assert.equal(rec.ip, undefined, 'no pair model scores DNS queries');
        if (l.kind.startsWith('exfiltration')) assert.ok(q.answers.some((a) => l.ips.includes(a.Rdata)));
      } else {
        const ev = (JSON.parse(text) as { Records: { eventTime: string; sourceIPAddress: string; userIdentity: { userName?: string; arn?: string }; eventName: string }[] }).Records[rec.position - 1]!;
        assert.equal(Date.parse(ev.eventTime), rec.time);
        assert.ok(l.ips.includes(ev.sourceIPAddress));
        // A user by name; an instance role's session by its instance id (the last part of the session ARN).
        assert.equal(ev.userIdentity.userName ?? ev.userIdentity.arn!.split('/').pop(), rec.entity);
        if (rec.view === 'cloudtrail_auth') assert.equal(ev.eventName, 'ConsoleLogin');
      }
      checked++;
    }
  }
  assert.ok(checked > 500);

  // In the lake: a labelled pair record of each attack that has one, inside the attack window; the tunnel's queries
  // and the role's denied calls as the views show them.
  const db = await openLakeQuery(lakeDir);
  try {
    for (const l of labels) {
      const rec = l.records.find((x) => x.ip !== undefined);
      if (!rec) continue;
      const view = rec.view === 'cloudtrail_auth' ? 'cloudtrail_auth' : 'vpc_flow';
      const rows = await db.all(
        view === 'vpc_flow'
          ? 'SELECT count(*) AS n FROM vpc_flow WHERE time = $1 AND ((connection_info.direction_id = 1 AND dst_endpoint.instance_uid = $2 AND src_endpoint.ip = $3) OR (connection_info.direction_id = 2 AND src_endpoint.instance_uid = $2 AND dst_endpoint.ip = $3))'
          : 'SELECT count(*) AS n FROM cloudtrail_auth WHERE time = $1 AND actor.user.name = $2 AND src_endpoint.ip = $3',
        [BigInt(rec.time), rec.entity!, rec.ip!],
      );
      assert.ok(Number(rows[0]!.n) >= 1, `${l.attack_id}: labelled record not found in the lake`);
    }
    const dns = labels.find((l) => l.kind === 'dns_tunnelling')!;
    const q = await db.all(
      'SELECT count(*) AS n, count(*) FILTER (WHERE rcode_id = 3) AS nx FROM route53 WHERE src_endpoint.instance_uid = $1 AND query.hostname LIKE $2',
      [dns.entity, `%.${String(dns.details.domain)}.`], // query names as Route 53 logs them: absolute, trailing dot
    );
    assert.equal(Number(q[0]!.n), dns.details.queries);
    assert.ok(Number(q[0]!.nx) > 0);
    const api = labels.find((l) => l.kind === 'api_burst')!;
    const c = await db.all("SELECT count(*) AS n, count(DISTINCT api.operation) AS ops FROM cloudtrail_api WHERE actor.user.uid LIKE $1 AND api.response.error IS NOT NULL AND time BETWEEN $2 AND $3", [
      `%/${api.entity}`,
      BigInt(api.start_ms),
      BigInt(api.end_ms),
    ]);
    assert.equal(Number(c[0]!.n), api.details.denied);
    assert.ok(Number(c[0]!.ops) >= 100, `denied operations ${c[0]!.ops}`);
  } finally {
    db.close();
  }
});

test('live mode writes small objects per tick and labels an attack once all its records are out', async (t) => {
  const dir = tmp(t);
  const base = await generateDemo(small(path.join(dir, 'hist'), { days: 1, attackDays: 0, attacks: [] }));
  const live = new LiveGenerator({ env: base.env, nets, seed: 11, logsDir: path.join(dir, 'live'), labelsFile: path.join(dir, 'labels.jsonl'), attackEveryMs: 0 }, END);
  const first = live.tick(END + 5_000);
  assert.ok(first.objects.length >= 1 && first.objects.some((o) => o.kind === 'vpc_flow'));
  assert.ok(first.objects.every((o) => o.start >= END && o.end < END + 5_000));
  live.startAttack('exfiltration', END + 6_000);
  const completed = [];
  for (let k = 2; k < 400 && completed.length === 0; k++) completed.push(...live.tick(END + k * 5_000).completed);
  assert.equal(completed.length, 1);
  const labels = readLabelsFile(path.join(dir, 'labels.jsonl'));
  assert.equal(labels.length, 1);
  assert.equal(labels[0]!.kind, 'exfiltration');
  // Stopping mid-attack labels the records written so far.
  const t1 = END + 400 * 5_000;
  live.startAttack('scan', t1 + 1_000);
  live.tick(t1 + 20_000);
  const partial = live.close();
  assert.equal(partial.length, 1);
  assert.equal(partial[0]!.details.partial, true);
  assert.ok(partial[0]!.records.length > 0 && partial[0]!.records.every((r) => r.time < t1 + 20_000));
  assert.equal(readLabelsFile(path.join(dir, 'labels.jsonl')).length, 2);
  const s = await ingest({ lakeDir: path.join(dir, 'lake'), paths: [path.join(dir, 'live')] });
  assert.equal(s.totals.rejects, 0);
  assert.equal(s.totals.failed, 0);
});

test('the sign-in history: before the full history, employees\' sign-ins and console calls only, one CloudTrail object a day', async (t) => {
  const dir = tmp(t);
  const r = await generateDemo(small(path.join(dir, 'h'), { days: 1, attackDays: 0.5, signInDays: 5 }));
  assert.equal(r.signInStart, r.start - 4 * 24 * 3_600_000);
  const before = r.objects.filter((o) => o.end < r.start);
  assert.equal(before.length, 4, 'one object per day of the sign-in history');
  assert.ok(before.every((o) => o.kind === 'cloudtrail' && o.start >= r.signInStart), JSON.stringify(before));
  for (const o of before) {
    const events = (JSON.parse(gunzipSync(readFileSync(path.join(r.logsDir, o.key))).toString('utf8')) as { Records: { userIdentity: { type: string }; eventName: string }[] }).Records;
    assert.ok(events.length > 0 && events.every((e) => e.userIdentity.type === 'IAMUser'), 'users only: no instance, no role session');
    assert.ok(events.some((e) => e.eventName === 'ConsoleLogin'));
  }
  // The full history is the same as without a sign-in history (its windows draw from their own generators).
  const plain = await generateDemo(small(path.join(dir, 'p'), { days: 1, attackDays: 0.5, signInDays: 0 }));
  assert.equal(plain.signInStart, plain.start);
  assert.deepEqual(r.objects.filter((o) => o.end >= r.start).map((o) => o.key), plain.objects.map((o) => o.key));
  assert.deepEqual(r.labels, plain.labels);
});
