/**
 * The monitor's behaviour path over a small real lake (behaviour-fixture.ts): three instances with two days of routine
 * hourly flows, an rcf model trained on them (network set, registered for the lake) and calibrated on a held-out normal
 * day; then hourly objects arrive in which the app server sends 50x its usual bytes to its usual S3 address (hour 75)
 * and the bastion scans its subnet (hour 77). The monitor must write findings for exactly those two (entity, window)s,
 * explained by the features that drove their scores, and the same ones (ids and scores) when it runs in two parts or
 * after a crash before its checkpoint; late records are counted, not merged; AWS mode refuses the model clearly.
 * (kill -9 of `seclake monitor` at the fault points: behaviour-crash.test.ts.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/core/errors.js';
import { ingest } from '../../src/ingest/ingest.js';
import { monitorOnce, monitorDir, readCheckpoint, type MonitorEvent } from '../../src/monitor/embedded.js';
import { createProcessor } from '../../src/monitor/processor.js';
import { validateEvent } from '../../src/ocsf/validate.js';
import { thresholdFor } from '../../src/detectors/calibration.js';
import type { DetectionFinding } from '../../src/findings/types.js';
import { APP, BASTION, EXPECTED, HOUR, T0, buildTrainedLake, findingRows, flagged, lateFlows, writeHours, type FindingRow, type TrainedLake } from './behaviour-fixture.js';

/**
 * Windows after the model's cutoff that hour 80's records close: the model learnt the held-out day when it was
 * calibrated (its cutoff moved from hour 47 to hour 71, whose window was still open), so hours 71..79, three instances.
 */
const WINDOWS = 9 * 3;

describe('behaviour monitor (rcf over hourly network windows)', () => {
  let dir: string;
  let t: TrainedLake;
  /** The findings of one uninterrupted run. */
  let reference: FindingRow[];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-behaviour-'));
    t = await buildTrainedLake(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A copy of the trained lake with the first `n` monitored hours ingested. */
  async function lakeWith(name: string, n = t.monitored.length): Promise<string> {
    const lakeDir = path.join(dir, name);
    cpSync(t.lakeDir, lakeDir, { recursive: true });
    if (n > 0) assert.equal((await ingest({ lakeDir, paths: t.monitored.slice(0, n) })).totals.rejects, 0);
    return lakeDir;
  }
  const modelIn = (lakeDir: string): string => path.join(lakeDir, path.relative(t.lakeDir, t.model));

  it('calibration on the held-out day moved the threshold above every normal window', () => {
    const c = t.calibration;
    assert.equal(c.rule.kind, 'max_fpr');
    assert.equal(c.flagged, 0, 'fewer than 100 windows: at most 1% flags none');
    assert.ok(c.previous && c.previous.flagged > 0, `the training threshold flagged ${c.previous?.flagged} held-out windows`);
    assert.ok(c.threshold > c.previous!.threshold);
  });

  it('finds exactly the injected entity-windows, explained by the features that drove them; the findings view shows them', async () => {
    const lakeDir = await lakeWith('lake-once');
    const events: MonitorEvent[] = [];
    const sum = await monitorOnce({ lakeDir, models: [{ model: modelIn(lakeDir) }], start: { afterSeq: t.startSeq }, onEvent: (e) => events.push(e), collectFindings: true });
    assert.equal(sum.failed, 0);
    assert.equal(sum.objects, t.monitored.length);
    assert.equal(sum.windows, WINDOWS);
    assert.equal(sum.lateRecords, 0);
    assert.equal(sum.findings, 2);
    const found = sum.found as DetectionFinding[];
    assert.deepEqual(flagged(found.map((f) => ({ window_start: Number(f.start_time), entity: String((f.unmapped as Record<string, unknown>).entity) }))), EXPECTED);
    for (const f of found) {
      assert.deepEqual(validateEvent(f).filter((i) => i.severity === 'error'), []);
      assert.equal(f.class_uid, 2004);
      assert.deepEqual(f.finding_info.types, ['Anomalous Behaviour', 'Random Cut Forest']);
      assert.equal(Number(f.end_time) - Number(f.start_time), HOUR);
      assert.equal((f.resources as { uid: string; type: string }[])[0]!.type, 'AWS::EC2::Instance');
    }
    const rows = await findingRows(lakeDir);
    reference = rows;
    assert.deepEqual(flagged(rows), EXPECTED);
    const exfil = rows.find((r) => r.entity === APP.id)!;
    const scan = rows.find((r) => r.entity === BASTION.id)!;
    for (const r of rows) {
      assert.equal(r.kind, 'behaviour');
      assert.equal(r.detector, 'rcf');
      assert.equal(r.ip, null);
      assert.equal(r.window_end - r.window_start, HOUR);
      assert.match(r.message, /behaved unusually in the hour from 2026-03-05T0[35]:00Z \(network\): /);
      assert.match(r.message, /usually [^:;]+: \d+% of the score/);
      // Judged by the entity's threshold (per-entity calibration), said with why; low support: the held-out windows are few.
      assert.match(r.message, /score [\d.]+ > threshold [\d.]+, above \S+'s threshold [\d.]+ \(.*\); the global threshold is [\d.]+; more unusual than [\d.]+% of normal windows \(p = [\d.e-]+ for \S+\)/);
      const ex = JSON.parse(r.explanation) as { threshold_source: string; threshold: number; details: { features: { feature: string; observed: number; usual: number; share: number }[] } };
      assert.equal(ex.threshold_source, 'calibrated');
      assert.equal(ex.threshold, thresholdFor(t.calibration.calibration, r.entity).threshold);
      assert.ok(ex.details.features.length >= 1);
      for (const x of ex.details.features) assert.ok(x.share > 0 && Number.isFinite(x.usual) && Number.isFinite(x.observed), JSON.stringify(x));
    }
    // The exfiltration is explained by what it sent (~2 GB, usually ~45 MB), the scan by its peers, ports, rejects.
    const exFeatures = (JSON.parse(exfil.explanation) as { details: { features: { feature: string; observed: number; usual: number }[] } }).details.features;
    assert.ok(exFeatures.some((x) => /bytes_out|packets_out/.test(x.feature) && x.observed > 20 * x.usual), JSON.stringify(exFeatures));
    assert.match(exfil.message, /bytes out 1\.\d+ GB in this hour; usually 4\d(\.\d)? MB: \d+% of the score/);
    const scanFeatures = (JSON.parse(scan.explanation) as { details: { features: { feature: string }[] } }).details.features.map((x) => x.feature);
    assert.ok(scanFeatures.some((f) => /rejected_share|peers|dst_ports|flows/.test(f)), scanFeatures.join(', '));
    // Far beyond the threshold (High or Critical by margin), but calibrated on a few dozen held-out windows, fewer than
    // the 300 a 1% rate needs: low support caps them at Medium (honest confidence).
    assert.equal(t.calibration.support.sufficient, false);
    assert.deepEqual([exfil.severity, scan.severity], ['Medium', 'Medium']);
    assert.match(exfil.message, /low support \(too few held-out windows for the calibration's rate\), so at most Medium severity/);
    // The windows events add up; the checkpoint holds the cursor, totals and the streaming model's state file (one).
    const w = events.filter((e): e is Extract<MonitorEvent, { type: 'windows' }> => e.type === 'windows');
    assert.equal(w.reduce((s, e) => s + e.windows, 0), WINDOWS);
    const st = readCheckpoint(lakeDir)!.behaviour!['rcf-network']!;
    assert.deepEqual({ windows: st.totals.windows, findings: st.totals.findings, closed: st.totals.closed_through }, { windows: WINDOWS, findings: 2, closed: T0 + 80 * HOUR });
    assert.deepEqual(readdirSync(monitorDir(lakeDir)).filter((f) => f.includes('.forest')), [st.forest]);
    // Nothing new: a second run does nothing and adds nothing.
    const again = await monitorOnce({ lakeDir, models: [{ model: modelIn(lakeDir) }] });
    assert.equal(again.objects, 0);
    assert.equal((await findingRows(lakeDir)).length, 2);
  });

  it('in two parts (a restart from the checkpoint and the saved streaming model): the same finding ids and scores', async () => {
    const parts = await lakeWith('lake-parts', 5);
    const first = await monitorOnce({ lakeDir: parts, models: [{ model: modelIn(parts) }], start: { afterSeq: t.startSeq } });
    assert.ok(first.windows > 0 && first.windows < WINDOWS, `first part scored ${first.windows} windows`);
    assert.ok(readCheckpoint(parts)!.behaviour!['rcf-network']!.forest, 'the first part saved the streaming model');
    assert.equal((await ingest({ lakeDir: parts, paths: t.monitored.slice(5) })).totals.rejects, 0);
    const second = await monitorOnce({ lakeDir: parts, models: [{ model: modelIn(parts) }] });
    assert.equal(first.windows + second.windows, WINDOWS);
    const got = await findingRows(parts);
    assert.deepEqual(got.map((r) => [r.uid, r.native_score]), reference.map((r) => [r.uid, r.native_score]));
  });

  it('a crash after findings were written and before the checkpoint: the rerun writes the same findings, none doubled', async () => {
    const lakeDir = await lakeWith('lake-crash');
    let crashed = false;
    await assert.rejects(
      monitorOnce({
        lakeDir,
        models: [{ model: modelIn(lakeDir) }],
        start: { afterSeq: t.startSeq },
        checkpointMs: 3_600_000,
        onEvent: (e) => {
          // Once the scan's window is written; nothing of this run has been checkpointed.
          if (e.type === 'windows' && e.findings > 0 && e.closedThrough > T0 + 77 * HOUR && !crashed) {
            crashed = true;
            throw new Error('crash');
          }
        },
      }),
      /crash/,
    );
    assert.equal(readCheckpoint(lakeDir), undefined);
    assert.equal((await findingRows(lakeDir)).length, 2, 'both findings were written before the crash');
    const sum = await monitorOnce({ lakeDir, models: [{ model: modelIn(lakeDir) }], start: { afterSeq: t.startSeq } });
    assert.equal(sum.windows, WINDOWS);
    const got = await findingRows(lakeDir);
    assert.deepEqual(got.map((r) => [r.uid, r.native_score]), reference.map((r) => [r.uid, r.native_score]));
  });

  it('late records (for windows already scored) are counted and said, never merged', async () => {
    const lakeDir = await lakeWith('lake-late');
    await monitorOnce({ lakeDir, models: [{ model: modelIn(lakeDir) }], start: { afterSeq: t.startSeq } });
    // Seven records for hour 74 (scored long ago): counted at once, no window reopened.
    const inDir = path.join(dir, 'in-late');
    assert.equal((await ingest({ lakeDir, paths: [lateFlows(inDir, 'late74', 74, 7)] })).totals.rejects, 0);
    const events: MonitorEvent[] = [];
    const late = await monitorOnce({ lakeDir, models: [{ model: modelIn(lakeDir) }], onEvent: (e) => events.push(e) });
    assert.deepEqual({ late: late.lateRecords, windows: late.windows }, { late: 7, windows: 0 });
    const ev = events.find((e): e is Extract<MonitorEvent, { type: 'windows' }> => e.type === 'windows');
    assert.deepEqual(ev && { late: ev.lateRecords, byView: ev.lateByView }, { late: 7, byView: { vpc_flow: 7 } });
    // The next hour closes hour 80; the late records are not counted again.
    assert.equal((await ingest({ lakeDir, paths: [writeHours(inDir, 'h81', 81, 82)] })).totals.rejects, 0);
    const next = await monitorOnce({ lakeDir, models: [{ model: modelIn(lakeDir) }] });
    assert.deepEqual({ late: next.lateRecords, windows: next.windows }, { late: 0, windows: 3 });
    assert.equal(readCheckpoint(lakeDir)!.behaviour!['rcf-network']!.totals.late_records, 7);
    assert.deepEqual((await findingRows(lakeDir)).map((r) => r.uid), reference.map((r) => r.uid));
  });

  it('AWS mode (one object at a time) refuses a behaviour model with a ConfigError naming the embedded monitor', async () => {
    await assert.rejects(createProcessor({ model: t.model }), (err: unknown) => err instanceof ConfigError && /embedded monitor/.test(err.message) && /AWS mode/.test(err.message));
  });
});
