import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileSink } from './index.js';
import { repairTornTail } from './torn.js';
import { buildFinding } from '../../findings/build.js';
import type { DetectionFinding } from '../../findings/types.js';
import { IPI } from '../../findings/test-support.js';

function finding(i: number): DetectionFinding {
  return buildFinding(
    { ref: { object: 'o', row: i }, entity: `e${i}`, ip: '10.0.0.1', time: 1_760_000_000_000, native_score: -3, entity_known: true, entity_count: 1, event: {} },
    { model: { detector: IPI, name: 'm', version: '1' }, kind: 'anomaly' },
  );
}

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

test('a torn last line (a writer killed mid-append) is moved to <file>.torn; the next findings start on their own line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-filesink-'));
  try {
    const file = path.join(dir, 'findings.jsonl');
    const whole = [finding(1), finding(2)].map((f) => JSON.stringify(f)).join('\n') + '\n';
    const third = JSON.stringify(finding(3));
    // What a kill in the middle of one write leaves: two whole lines and the first half of the third.
    const fragment = third.slice(0, Math.floor(third.length / 2));
    writeFileSync(file, whole + fragment);
    const sink = new FileSink({ path: file });
    await sink.send([finding(3), finding(4)]);
    await sink.close();
    const got = lines(file);
    assert.equal(got.length, 4, 'two old lines and the two new ones, none glued onto the fragment');
    for (const l of got) JSON.parse(l);
    assert.deepEqual(
      got.map((l) => (JSON.parse(l) as DetectionFinding).finding_info.uid),
      [1, 2, 3, 4].map((i) => finding(i).finding_info.uid),
    );
    assert.equal(readFileSync(`${file}.torn`, 'utf8'), `${fragment}\n`, 'the fragment is kept aside, byte for byte');

    // A second torn tail is appended to the same .torn file; a file that ends well is left alone.
    writeFileSync(file, readFileSync(file, 'utf8') + '{"half":');
    assert.deepEqual(await repairTornTail(file), { bytes: 8, action: 'moved', tornFile: `${file}.torn` });
    assert.equal(readFileSync(`${file}.torn`, 'utf8'), `${fragment}\n{"half":\n`);
    assert.equal(await repairTornTail(file), undefined);
    assert.equal(lines(file).length, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a last line that lost only its newline is kept and terminated; a file without any newline is a fragment as a whole', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-filesink-'));
  try {
    const file = path.join(dir, 'f.jsonl');
    writeFileSync(file, `${JSON.stringify(finding(1))}\n${JSON.stringify(finding(2))}`);
    const sink = new FileSink({ path: file });
    await sink.send([finding(3)]);
    await sink.close();
    assert.equal(lines(file).length, 3);
    for (const l of lines(file)) JSON.parse(l);
    assert.equal(existsSync(`${file}.torn`), false, 'nothing was torn');

    const only = path.join(dir, 'g.jsonl');
    writeFileSync(only, '\u0000\u0000\u0000\u0000');
    const s2 = new FileSink({ path: only });
    await s2.send([finding(5)]);
    await s2.close();
    assert.deepEqual(lines(only).map((l) => (JSON.parse(l) as DetectionFinding).finding_info.uid), [finding(5).finding_info.uid]);
    assert.equal(readFileSync(`${only}.torn`, 'utf8'), '\u0000\u0000\u0000\u0000\n');
    // A new file needs no repair.
    assert.equal(await repairTornTail(path.join(dir, 'none.jsonl')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
