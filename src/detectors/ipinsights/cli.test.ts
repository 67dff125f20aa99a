/**
 * The CLI contract (`seclake train | score | pairs`), run as a user runs it: node --import tsx src/cli/main.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Rng } from '../../core/rng.js';
import { IpInsightsModel } from './index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
let dir: string;

function cli(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', input, env: { ...process.env, CI: '1' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const HP = ['--hp', 'num_entity_vectors=128', '--hp', 'vector_dim=16', '--hp', 'epochs=8', '--hp', 'mini_batch_size=64', '--hp', 'num_ip_vectors=4096', '--hp', 'learning_rate=0.02', '--hp', 'random_negative_sampling_rate=3'];

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'seclake-ipi-cli-'));
  const rng = new Rng(2);
  const lines: string[] = [];
  for (let r = 0; r < 40; r++) for (let u = 0; u < 20; u++) lines.push(`user_${u}, 10.${u}.1.${1 + rng.int(20)}`);
  lines.splice(5, 0, 'user_1,10.1.1.1,extra'); // line 6: three columns
  lines.splice(9, 0, 'user_2,not-an-ip'); // line 10
  lines.splice(12, 0, ',10.1.1.1'); // line 13: empty entity
  writeFileSync(path.join(dir, 'train.csv'), lines.join('\n') + '\n');
  writeFileSync(path.join(dir, 'train.csv.gz'), gzipSync(lines.join('\n') + '\n'));
  writeFileSync(path.join(dir, 'valid.csv'), Array.from({ length: 40 }, (_, i) => `user_${i % 20},10.${i % 20}.1.${1 + (i % 20)}`).join('\n') + '\n');
  writeFileSync(path.join(dir, 'score.csv'), 'user_3,10.3.1.7\r\nuser_3,203.0.113.9\n"user_3",::ffff:10.3.1.7\nnobody,10.3.1.7\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('seclake train / score', () => {
  it('trains from CSV, reports malformed rows with line numbers, prints SageMaker metrics and a JSON summary', () => {
    const model = path.join(dir, 'a.model');
    const r = cli(['train', '--train', path.join(dir, 'train.csv'), '--validation', path.join(dir, 'valid.csv'), '--model', model, '--threads', '1', '--seed', '3', '--json', ...HP]);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { rows: number; bad_rows: number; epochs: number; validation_auc: number; seed: number; threads: number; hyperparameters: { vector_dim: number } };
    assert.equal(s.rows, 800);
    assert.equal(s.bad_rows, 3);
    assert.equal(s.seed, 3);
    assert.equal(s.threads, 1);
    assert.equal(s.hyperparameters.vector_dim, 16);
    assert.ok(s.validation_auc > 0.9);
    assert.match(r.stderr, /skipped 3 malformed rows \(columns: 1, empty_entity: 1, bad_ip: 1\)/);
    assert.match(r.stderr, /train\.csv:6: expected 2 columns \(entity, ip\), got 3/);
    assert.match(r.stderr, /train\.csv:10: invalid IP address "not-an-ip"/);
    assert.match(r.stderr, /train\.csv:13: empty entity/);
    assert.match(r.stderr, /^#quality_metric: host=algo-1, epoch=7, train binary_classification_cross_entropy <loss>=\S+$/m);
    assert.match(r.stderr, /^#quality_metric: host=algo-1, epoch=\d, validation discriminator_auc <score>=\S+$/m);
    assert.match(r.stderr, /^#throughput_metric: host=algo-1, train throughput=\S+ records\/second$/m);
  });

  it('is bit-for-bit reproducible with --seed and --threads 1 (gzip input too)', async () => {
    const a = path.join(dir, 'r1.model');
    const b = path.join(dir, 'r2.model');
    assert.equal(cli(['train', '--train', path.join(dir, 'train.csv'), '--model', a, '--threads', '1', '--seed', '9', ...HP]).status, 0);
    const r = cli(['train', '--train', path.join(dir, 'train.csv.gz'), '--model', b, '--threads', '1', '--seed', '9', ...HP]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Trained .*800 pairs, 20 entities, 8 epochs/);
    const [ma, mb] = [await IpInsightsModel.load(a), await IpInsightsModel.load(b)];
    assert.equal(ma.header.data_crc32, mb.header.data_crc32);
    assert.ok(Buffer.from(ma.weights.entity.buffer).equals(Buffer.from(mb.weights.entity.buffer)));
  });

  it('scores CSV into the SageMaker JSON and JSON Lines bodies; verbose marks unknown entities', () => {
    const model = path.join(dir, 'r1.model');
    const input = path.join(dir, 'score.csv');
    const json = cli(['score', '--model', model, '--input', input]);
    assert.equal(json.status, 0, json.stderr);
    assert.match(json.stdout, /^\{"predictions": \[\{"dot_product": -?\d[^}]*\}, \{"dot_product": [^}]*\}, \{"dot_product": [^}]*\}, \{"dot_product": [^}]*\}\]\}$/);
    const preds = (JSON.parse(json.stdout) as { predictions: { dot_product: number }[] }).predictions;
    assert.ok(preds[0]!.dot_product > 0 && preds[1]!.dot_product < 0, json.stdout);
    assert.equal(preds[0]!.dot_product, preds[2]!.dot_product, 'IPv4-mapped IPv6 scores as IPv4');
    assert.match(json.stderr, /1 of 4 pairs have entities not seen in training/);
    const jl = cli(['score', '--model', model, '--input', input, '--accept', 'application/jsonlines', '--verbose']);
    assert.equal(jl.status, 0, jl.stderr);
    const lines = jl.stdout.split('\n');
    assert.equal(lines.length, 5);
    assert.equal(lines[4], '');
    const recs = lines.slice(0, 4).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(Object.keys(recs[0]!), ['dot_product', 'ip_embedding', 'entity_embedding']);
    assert.deepEqual(Object.keys(recs[3]!), ['dot_product', 'ip_embedding', 'entity_embedding', 'entity_known']);
    assert.equal(recs[3]!.entity_known, false);
    assert.equal((recs[0]!.ip_embedding as number[]).length, 16);
    const stdin = cli(['score', '--model', model, '--input', '-', '--accept', 'application/jsonlines'], 'user_1,10.1.1.3\n');
    assert.equal(stdin.status, 0, stdin.stderr);
    assert.match(stdin.stdout, /^\{"dot_product": \S+\}\n$/);
  });

  it('fails clearly: bad scoring lines name the line, bad hyperparameters name the parameter, no valid rows', () => {
    const model = path.join(dir, 'r1.model');
    writeFileSync(path.join(dir, 'bad.csv'), 'user_1,10.1.1.3\nuser_1,10.1.1.300\n');
    const bad = cli(['score', '--model', model, '--input', path.join(dir, 'bad.csv')]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /bad\.csv:2 field ip: invalid IP address "10\.1\.1\.300"/);
    assert.equal(bad.stdout, '');
    const hp = cli(['train', '--train', path.join(dir, 'train.csv'), '--model', path.join(dir, 'x.model'), '--hp', 'vector_dim=2', '--hp', 'random_negative_sampling_rate=0', '--hp', 'shuffled_negative_sampling_rate=0']);
    assert.equal(hp.status, 2);
    assert.match(hp.stderr, /vector_dim: must be an integer between 4 and 4096, got "2"/);
    writeFileSync(path.join(dir, 'junk.csv'), 'a;b\nc,d,e\n');
    const none = cli(['train', '--train', path.join(dir, 'junk.csv'), '--model', path.join(dir, 'x.model')]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no valid training rows \(2 malformed; first: .*junk\.csv:1: expected 2 columns/);
    const missing = cli(['score', '--model', path.join(dir, 'nope.model'), '--input', path.join(dir, 'score.csv')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope\.model: cannot open model/);
    const help = cli(['train', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--train <file>/);
    assert.match(help.stdout, /num_entity_vectors/);
  });
});

describe('seclake pairs / train --lake', () => {
  it('exports the reference query pairs from an ingested lake and trains on them', () => {
    const lake = path.join(dir, 'lake');
    const rng = new Rng(4);
    const header = 'version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status';
    const rows = [header];
    for (let r = 0; r < 30; r++) {
      for (let i = 0; i < 6; i++) {
        const src = `10.0.${i}.${1 + rng.int(5)}`;
        const t = 1566848875 + r * 60;
        rows.push(`3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0000000000000000${i} eni-1235b8ca12345678${i} 123456789010 IPv4 ${src} 52.213.180.42 43416 443 ${src} 52.213.180.42 6 568 8 ${t} ${t + 50} ACCEPT 2 OK`);
      }
    }
    rows.push(`3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 - eni-1235b8ca123456789 123456789010 IPv4 10.9.9.9 52.213.180.42 43416 443 10.9.9.9 52.213.180.42 6 568 8 1566848875 1566848933 ACCEPT 2 OK`);
    writeFileSync(path.join(dir, 'flow.log'), rows.join('\n') + '\n');
    const ing = cli(['ingest', path.join(dir, 'flow.log'), '--lake', lake]);
    assert.equal(ing.status, 0, ing.stderr);
    const out = path.join(dir, 'pairs.csv');
    // v3 logs without flow-direction: the default definition (flow-peer) reads nothing and says what to use.
    const d = cli(['pairs', '--lake', lake, '--out', out]);
    assert.equal(d.status, 2, d.stderr);
    assert.match(d.stderr, /pair definition 'default' reads nothing in this lake[\s\S]*--pairs reference/);
    const p = cli(['pairs', '--lake', lake, '--out', out, '--pairs', 'reference']);
    assert.equal(p.status, 0, p.stderr);
    const csv = readFileSync(out, 'utf8').trimEnd().split('\n');
    assert.equal(csv.length, 180);
    assert.match(csv[0]!, /^i-0000000000000000\d,10\.0\.\d\.\d$/);
    const model = path.join(dir, 'lake.model');
    const t = cli(['train', '--lake', lake, '--pairs', 'reference', '--model', model, '--threads', '1', '--json', ...HP]);
    assert.equal(t.status, 0, t.stderr);
    const s = JSON.parse(t.stdout) as { rows: number; distinct_entities: number; data_time_range: { start: string; end: string } | null };
    assert.equal(s.rows, 180);
    assert.equal(s.distinct_entities, 6);
    assert.ok(s.data_time_range && s.data_time_range.start.startsWith('2019-08-26'), JSON.stringify(s.data_time_range));
    writeFileSync(path.join(dir, 'lake-score.csv'), 'i-00000000000000002,10.0.2.3\ni-00000000000000002,198.51.100.7\n');
    const sc = cli(['score', '--model', model, '--input', path.join(dir, 'lake-score.csv')]);
    assert.equal(sc.status, 0, sc.stderr);
    const preds = (JSON.parse(sc.stdout) as { predictions: { dot_product: number }[] }).predictions;
    assert.ok(preds[0]!.dot_product > preds[1]!.dot_product + 1, sc.stdout);
  });
});
