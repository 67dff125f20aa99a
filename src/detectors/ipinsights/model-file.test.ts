import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelFileError } from '../../core/errors.js';
import { IpInsightsModel, readModelHeader, updateModelMetadata, MODEL_FORMAT_VERSION } from './index.js';
import { subnetData, trainTiny } from './test-helpers.js';
import { loadModel, pairsModel } from '../index.js';

let dir: string;
let file: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'seclake-ipi-file-'));
  file = path.join(dir, 'tiny.model');
  await trainTiny(subnetData(10, 20), { epochs: 2 }, { modelPath: file });
});
after(() => rmSync(dir, { recursive: true, force: true }));

function refuses(p: string, msg: RegExp, load: (p: string) => Promise<unknown> = (f) => IpInsightsModel.load(f)): Promise<void> {
  return assert.rejects(load(p), (err: unknown) => err instanceof ModelFileError && err.file === p && err.message.startsWith(p) && msg.test(err.message));
}

describe('model file', () => {
  it('round-trips header and weights', async () => {
    const res = await trainTiny(subnetData(10, 20), { epochs: 2 });
    const m = await IpInsightsModel.load(file);
    assert.equal(m.path, file);
    assert.equal(m.header.format_version, MODEL_FORMAT_VERSION);
    assert.equal(m.header.hyperparameters.vector_dim, 16);
    assert.equal(m.header.training.rows, 200);
    assert.equal(m.header.training.distinct_entities, 10);
    assert.equal(m.header.training.seed, 42);
    assert.equal(m.header.training.epochs, 2);
    assert.ok(Number.isFinite(m.header.training.final_loss));
    assert.equal(m.header.calibration, null);
    assert.deepEqual(m.header.extras, {});
    // Same seed, one thread: the in-memory result equals the file's weights bit for bit.
    assert.deepEqual(Buffer.from(m.weights.entity.buffer, m.weights.entity.byteOffset, m.weights.entity.byteLength), Buffer.from(res.weights.entity.buffer, res.weights.entity.byteOffset, res.weights.entity.byteLength));
    assert.deepEqual(Array.from(m.weights.ip), Array.from(res.weights.ip));
    const fromMem = new IpInsightsModel('mem', res.header, res.weights).scorePairs([{ entity: 'user_3', ip: '10.3.3.4' }]);
    assert.deepEqual(m.scorePairs([{ entity: 'user_3', ip: '10.3.3.4' }]), fromMem);
    assert.deepEqual(readModelHeader(file).hyperparameters, m.header.hyperparameters);
  });

  it('refuses a wrong magic, a newer format version, truncation and corruption, naming the file', async () => {
    const bytes = readFileSync(file);
    const bad = path.join(dir, 'bad-magic.model');
    writeFileSync(bad, Buffer.concat([Buffer.from('NOTAMODEL!!\n'), bytes.subarray(12)]));
    await refuses(bad, /not a seclake model \(bad magic\)/);
    const newer = path.join(dir, 'newer.model');
    const nb = Buffer.from(bytes);
    nb.writeUInt32LE(MODEL_FORMAT_VERSION + 1, 12);
    writeFileSync(newer, nb);
    await refuses(newer, new RegExp(`format_version ${MODEL_FORMAT_VERSION + 1} is newer than this seclake supports \\(${MODEL_FORMAT_VERSION}\\)`));
    const short = path.join(dir, 'short.model');
    writeFileSync(short, bytes.subarray(0, bytes.length - 100));
    await refuses(short, /truncated or corrupt/);
    const flipped = path.join(dir, 'flipped.model');
    const fb = Buffer.from(bytes);
    fb[fb.length - 200]! ^= 0xff;
    writeFileSync(flipped, fb);
    await refuses(flipped, /CRC-32/);
    await refuses(path.join(dir, 'missing.model'), /cannot open model/);
    const tiny = path.join(dir, 'tiny.txt');
    writeFileSync(tiny, 'hello');
    await refuses(tiny, /file too short/);
  });

  it('updateModelMetadata rewrites calibration/extras atomically and keeps the weights', async () => {
    const copy = path.join(dir, 'calibrated.model');
    writeFileSync(copy, readFileSync(file));
    const before = await IpInsightsModel.load(copy);
    const size0 = statSync(copy).size;
    // A calibration as seclake calibrate stores it (the model validates it on load).
    const calibration = {
      version: 1, created_at: '2026-11-28T00:00:00Z', threshold: -1.5, rule: { kind: 'threshold' }, fpr: 0.01, recall: 0.9,
      precision: 0.99, auc: 0.98, average_precision: 0.97, n_normal: 10, n_abnormal: 10, abnormal_source: 'random',
      normal_quantiles: [1, 2, 3], thresholds_at_fpr: [],
    };
    updateModelMetadata(copy, { calibration, extras: { owner: 'calibrate' } });
    let m = await IpInsightsModel.load(copy);
    assert.deepEqual(m.header.calibration, calibration);
    assert.equal(m.calibration?.threshold, -1.5);
    assert.deepEqual(m.header.extras, { owner: 'calibrate' });
    assert.equal(statSync(copy).size, size0, 'small updates fit the reserved header space');
    assert.deepEqual(Array.from(m.weights.entity), Array.from(before.weights.entity));
    // A header bigger than the reserved space moves the data region; weights survive.
    const big = Array.from({ length: 30000 }, (_, i) => i / 7);
    updateModelMetadata(copy, { extras: { distribution: big, owner: null } });
    m = await IpInsightsModel.load(copy);
    assert.equal((m.header.extras.distribution as number[]).length, 30000);
    assert.equal(m.header.extras.owner, undefined);
    assert.deepEqual(m.header.calibration, calibration);
    assert.deepEqual(Array.from(m.weights.ip), Array.from(before.weights.ip));
    assert.deepEqual(m.scorePairs([{ entity: 'user_1', ip: '10.1.1.2' }]), before.scorePairs([{ entity: 'user_1', ip: '10.1.1.2' }]));
    assert.throws(() => updateModelMetadata(path.join(dir, 'nope.model'), { extras: {} }), ModelFileError);
    // A malformed calibration is an error naming the file, not a silently uncalibrated model.
    const bad = path.join(dir, 'badcal.model');
    writeFileSync(bad, readFileSync(copy));
    updateModelMetadata(bad, { calibration: { version: 1, threshold: 'high' } });
    await assert.rejects(IpInsightsModel.load(bad), /badcal\.model: invalid calibration at calibration\./);
    // a corrupt file is not "updated"
    const fd = openSync(copy, 'r+');
    writeSync(fd, Buffer.from('XXXX'), 0, 4, 0);
    closeSync(fd);
    assert.throws(() => updateModelMetadata(copy, { extras: { a: 1 } }), /bad magic/);
  });

  it('loads a model written before the detector platform (SECLAKE-IPI, format_version 1) as an ipinsights model', async () => {
    const legacy = fileURLToPath(new URL('./testdata/legacy-v1.model', import.meta.url));
    const copy = path.join(dir, 'legacy.model');
    writeFileSync(copy, readFileSync(legacy));
    assert.equal(readFileSync(copy).toString('latin1', 0, 12), 'SECLAKE-IPI\n');
    const h = readModelHeader(copy);
    assert.deepEqual(h.detector, { type: 'ipinsights', version: 1 });
    assert.equal(h.record_definition, null);
    assert.equal((h.params as { encoder: { num_ip_vectors: number } }).encoder.num_ip_vectors, 64);
    const m = await IpInsightsModel.load(copy);
    const viaRegistry = pairsModel(await loadModel(copy), 'test');
    assert.equal(viaRegistry.detector.type, 'ipinsights');
    const pairs = [{ entity: 'user_3', ip: '10.3.1.5' }, { entity: 'i-0abc2', ip: '2001:db8:2::1' }, { entity: 'nobody', ip: '8.8.8.8' }];
    const r = m.scorePairs(pairs);
    assert.ok(r.every((x) => Number.isFinite(x.dot_product)));
    assert.deepEqual(Array.from(viaRegistry.scoreBatch(pairs).native), r.map((x) => x.dot_product));
    assert.deepEqual(r.map((x) => x.entity_known), [true, true, false]);
    // Calibrating a legacy file keeps its format (older seclake versions can still read it).
    updateModelMetadata(copy, { extras: { note: 'x' } });
    assert.equal(readFileSync(copy).toString('latin1', 0, 12), 'SECLAKE-IPI\n');
    assert.equal(readModelHeader(copy).extras.note, 'x');
    assert.deepEqual((await IpInsightsModel.load(copy)).scorePairs(pairs), r);
  });

  it('names the detector in the header and refuses a model of another detector', async () => {
    const h = readModelHeader(file);
    assert.equal(h.format, 'seclake-model');
    assert.deepEqual(h.detector, { type: 'ipinsights', version: 1 });
    assert.equal(readFileSync(file).toString('latin1', 0, 12), 'SECLAKE-MDL\n');
    const other = path.join(dir, 'other.model');
    const bytes = Buffer.from(readFileSync(file));
    const len = bytes.readUInt32LE(20);
    const json = bytes.toString('utf8', 24, 24 + len).replace('"type":"ipinsights"', '"type":"nosuchdetx"');
    bytes.write(json, 24, 'utf8');
    writeFileSync(other, bytes);
    await refuses(other, /unknown detector 'nosuchdetx'/, loadModel);
    await refuses(other, /not an IP Insights model/);
  });
});
