/**
 * `seclake demo` as a library: the whole system on one machine.
 *
 *   setup (setup.ts): generate history -> ingest the clean baseline -> train -> calibrate
 *   --once:  ingest the attack period -> monitor it once -> precision/recall of the findings against the labels
 *   live:    serve the SageMaker API + dashboard -> start the embedded monitor (watching <data>/incoming) ->
 *            replay the attack period into the lake -> a live generator drops new objects every few seconds
 *            (sometimes an attack) into <data>/incoming until stopped (SIGINT/SIGTERM or the AbortSignal).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SeclakeError, errorMessage } from '../core/errors.js';
import { mountDashboard } from '../dashboard/index.js';
import { ingest } from '../ingest/ingest.js';
import { startServer } from '../serve/start.js';
import { loadDemoNetworks } from './asn-pools.js';
import type { AttackKind } from './attacks.js';
import { LiveGenerator } from './generate.js';
import { PAIR_SOURCES } from './pairs.js';
import { MATCHING_RULES, evaluateLabels, readLabelsFile, type AlertsPerDay, type Evaluation, type FindingLike, type IncidentLike, type IncidentScores } from '../calibrate/labels-eval.js';
import { STATUS_SUPPRESSED, readEvaluationInputs } from '../calibrate/labels-lake.js';
import { evaluationCharts, evaluationPng, formatAlertsPerDay, formatEvaluation, headline, labelsReportHtml } from '../calibrate/labels-report.js';
import type { DetectionFinding } from '../findings/types.js';
import { runMonitorOnce, startLiveMonitor, type DemoFinding, type DemoModel, type LiveMonitor } from './monitor.js';
import { setupDemo, type DemoSetup, type StepTiming } from './setup.js';
import { DEFAULT_PORT } from './defaults.js';

export { DEFAULT_DATA_DIR, DEFAULT_PORT } from './defaults.js';

export interface DemoOptions {
  dataDir: string;
  port?: number;
  host?: string;
  fresh?: boolean;
  once?: boolean;
  seed?: number;
  days?: number;
  attacks?: readonly AttackKind[];
  /** Live mode: one new object per source every N ms (default 5000). */
  intervalMs?: number;
  /** Live mode: mean time between attacks (default 90 s; 0 = none). */
  attackEveryMs?: number;
  threads?: number;
  /** Traffic volume multiplier (tests). */
  volume?: number;
  /** End of the generated history (default: now). Tests pin it. */
  end?: number;
  /** Live mode: print every detection finding too (default: the incidents only, as the sinks get them). */
  findings?: boolean;
  log?: (line: string) => void;
  /** Live mode stops when this aborts (besides SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Called once the server is listening (tests read the URL). */
  onReady?: (info: { url: string; dashboard: string }) => void;
}

export interface OnceReport {
  data_dir: string;
  /** The setup (generate, ingest, train, calibrate) was found in the folder and reused: its steps are not timed. */
  reused_setup: boolean;
  history: { start: string; end: string; attack_period_start: string };
  steps: StepTiming[];
  total_ms: number;
  models: { name: string; train_pairs: number; entities: number; held_out_pairs: number; threshold: number | null; auc: number; low_support?: boolean }[];
  /** The behaviour model: training and held-out windows, threshold and how it was chosen. */
  behaviour: { name: string; train_windows: number; entities: number; features: number; sets: string[]; held_out_windows: number; threshold: number | null; rule: string; held_out_fpr: number | null };
  findings_by_model: Record<string, number>;
  matching: string;
  /** Finding-level: per detector, per attack kind, combined (suppressed findings left out). */
  evaluation: Evaluation;
  /** Incident-level (the lake's incidents with a member among the run's findings); null when the lake has none. */
  incidents: IncidentScores | null;
  incidents_note?: string;
  /** Suppressed findings (status_id 3) left out. */
  suppressed: number;
  /** Findings and incidents per day over the attack period. */
  alerts_per_day: AlertsPerDay;
  /** The headline in one line (finding and incident precision, attacks found, alerts per day). */
  headline: string;
  /** The evaluation's HTML report and precision-recall PNG (as `seclake evaluate --report --plot` writes them). */
  report_files: { html: string; png: string };
  /** The headline figures. */
  summary: {
    attacks: number;
    finding_precision: number | null;
    attacks_found_by_findings: number;
    incident_precision: number | null;
    attacks_found_by_incidents: number | null;
    findings_per_day: number | null;
    incidents_per_day: number | null;
    /** Average precision of the ranked alerts over attack recall (findings by p-value/percentile, incidents by score). */
    findings_ap: number | null;
    incidents_ap: number | null;
  };
}

export interface DemoResult {
  setup: DemoSetup;
  once?: OnceReport;
}

// The matching rules and the tables live below the demo (src/calibrate/labels-eval.ts, labels-report.ts: `seclake
// evaluate` uses the same); re-exported for the demo's callers.
export { MATCHING_RULES, formatEvaluation };

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

export function formatOnceReport(r: OnceReport): string {
  const lines: string[] = [];
  lines.push('seclake demo --once');
  lines.push(`  history ${r.history.start} .. ${r.history.end}; attacks after ${r.history.attack_period_start}`);
  lines.push('');
  lines.push(`Wall time per step${r.reused_setup ? ' (setup reused from the demo folder; --fresh times every step)' : ''}:`);
  for (const s of r.steps) lines.push(`  ${s.step.padEnd(18)} ${(s.ms / 1000).toFixed(1).padStart(6)} s  ${s.detail}`);
  lines.push(`  ${'total'.padEnd(18)} ${(r.total_ms / 1000).toFixed(1).padStart(6)} s`);
  lines.push('');
  lines.push('Models:');
  for (const m of r.models) {
    lines.push(`  ${m.name.padEnd(14)} ${m.train_pairs.toLocaleString('en-US')} training pairs, ${m.entities} entities; held-out AUC ${Number.isFinite(m.auc) ? m.auc.toFixed(4) : 'n/a (not calibrated)'}, threshold ${m.threshold === null ? 'n/a' : m.threshold.toFixed(3)}${m.low_support ? ' (low support: too few held-out pairs for the FPR budget)' : ''}; ${r.findings_by_model[m.name] ?? 0} findings`);
  }
  const b = r.behaviour;
  lines.push(
    `  ${b.name} (rcf) ${b.train_windows.toLocaleString('en-US')} training windows (${b.entities} entities x ${b.features} features: ${b.sets.join(', ')}); ` +
      `${b.held_out_windows} held-out windows, threshold ${b.threshold === null ? 'n/a' : b.threshold.toFixed(3)} (${b.rule}; ${b.held_out_fpr === null ? 'n/a' : pct(b.held_out_fpr)} of them flagged); ${r.findings_by_model[b.name] ?? 0} findings`,
  );
  lines.push('');
  lines.push(...formatEvaluation(r.evaluation, r.incidents));
  lines.push('');
  if (r.suppressed > 0) lines.push(`Suppressed findings (status_id 3) left out: ${r.suppressed}.`);
  if (r.incidents) {
    const i = r.incidents;
    lines.push(`Incidents: ${i.incidents}, ${i.true_positives} true (a member finding is a true positive), precision ${pct(i.precision)}; attacks found ${i.attacks_detected}/${i.attacks}.`);
  } else lines.push(`Incidents: not evaluated${r.incidents_note ? ` (${r.incidents_note})` : ''}.`);
  lines.push(...formatAlertsPerDay(r.alerts_per_day));
  lines.push('');
  lines.push(`Summary: ${r.headline}`);
  lines.push(`Report: ${r.report_files.html} (precision-recall curves: ${r.report_files.png})`);
  lines.push('');
  lines.push(`Matching: ${r.matching}`);
  return lines.join('\n') + '\n';
}

const numOf = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);

/** What the evaluation reads of a finding of the run: the demo's reading, plus its uid and strength for the ranking. */
function toFindingLike(f: DemoFinding, raw?: DetectionFinding): FindingLike {
  const out: FindingLike = { uid: f.uid, entity: f.entity, ip: f.ip, time: f.time, ...(f.end !== undefined ? { end: f.end } : {}), scope: f.scope, model: f.model, detector: f.detector };
  const u = raw && typeof raw.unmapped === 'object' && raw.unmapped !== null ? (raw.unmapped as Record<string, unknown>) : {};
  const p = numOf(u.p_value);
  if (p !== undefined) out.p_value = p;
  const pc = numOf(u.anomaly_percentile);
  if (pc !== undefined) out.percentile = pc;
  const a = numOf(u.anomaly_score);
  if (a !== undefined) out.anomaly_score = a;
  return out;
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  const dataDir = path.resolve(opts.dataDir);
  log(`seclake demo: a small AWS account, simulated on this machine (${dataDir})`);
  const nets = await loadDemoNetworks();
  const setup = await setupDemo({
    dataDir,
    networks: nets,
    log,
    ...(opts.fresh ? { fresh: true } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.days !== undefined ? { days: opts.days } : {}),
    ...(opts.attacks ? { attacks: opts.attacks } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.volume !== undefined ? { volume: opts.volume } : {}),
    ...(opts.end !== undefined ? { end: opts.end } : {}),
  });
  const timings = [...setup.timings];
  const models: DemoModel[] = [
    { name: 'flows', path: setup.models.flows.path, pairs: setup.models.flows.pairs, detector: 'ipinsights', views: [PAIR_SOURCES.flows.view] },
    { name: 'logins', path: setup.models.logins.path, pairs: setup.models.logins.pairs, detector: 'ipinsights', views: [PAIR_SOURCES.logins.view] },
    // The history (longest-known-prefix) models on the same pairs.
    ...(['flows-history', 'logins-history'] as const).flatMap((n) => {
      const m = setup.models[n];
      return m ? [{ name: n, path: m.path, pairs: m.pairs, detector: 'history', views: [PAIR_SOURCES[m.base].view] }] : [];
    }),
    { name: setup.behaviour.name, path: setup.behaviour.path, detector: 'rcf', views: setup.behaviour.views },
  ];

  if (opts.once) {
    const ta = performance.now();
    const s = await ingest({ lakeDir: setup.lakeDir, paths: setup.attackPeriodFiles });
    if (s.totals.failed > 0 || s.totals.rejects > 0) throw new SeclakeError(`ingesting the attack period: ${s.totals.failed} inputs failed, ${s.totals.rejects} records rejected`);
    timings.push({ step: 'ingest attack day', ms: Math.round(performance.now() - ta), detail: `${s.totals.ingested} objects (${s.totals.duplicates} already in the lake), ${s.totals.events.toLocaleString('en-US')} events, 0 rejects` });
    log(`  ${'ingest attack day'.padEnd(17)} ${((performance.now() - ta) / 1000).toFixed(1).padStart(5)} s  attack period: ${s.totals.events.toLocaleString('en-US')} events`);
    const tm = performance.now();
    const { findings, summary } = await runMonitorOnce({ lakeDir: setup.lakeDir, dataDir, models, afterSeq: setup.baselineSeq });
    const byModel: Record<string, number> = {};
    for (const f of findings) if (f.time >= setup.generated.attackStart && f.time < setup.generated.end) byModel[f.model] = (byModel[f.model] ?? 0) + 1;
    timings.push({ step: 'monitor', ms: Math.round(performance.now() - tm), detail: `${findings.length} findings (${Object.entries(byModel).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'})` });
    log(`  ${'monitor'.padEnd(17)} ${((performance.now() - tm) / 1000).toFixed(1).padStart(5)} s  ${findings.length} findings`);
    // Evaluate the history's attack period only: a reused demo folder may also hold live objects and live labels.
    const { attackStart, end } = setup.generated;
    const labels = readLabelsFile(setup.generated.labelsFile).filter((l) => l.start_ms >= attackStart && l.end_ms < end);
    const raw = summary.found ?? [];
    const all = findings.map((f, i) => ({ f: toFindingLike(f, raw[i]), suppressed: Number(raw[i]?.status_id) === STATUS_SUPPRESSED }));
    const inPeriod = all.filter((x) => x.f.time >= attackStart && x.f.time < end);
    const counted = inPeriod.filter((x) => !x.suppressed).map((x) => x.f);
    // Incidents: the lake's, with a member among this run's findings of the period (the same evaluation as `seclake
    // evaluate`: an incident is true when one of its members is).
    const lakeInputs = await readEvaluationInputs(setup.lakeDir);
    let incidents: IncidentLike[] | null = null;
    if (lakeInputs.incidents) {
      const uids = new Set(counted.map((f) => f.uid));
      incidents = lakeInputs.incidents.filter((i) => i.finding_uids.some((u) => uids.has(u)));
    }
    const full = evaluateLabels(labels, counted, {
      detectors: models.map((m) => ({ name: m.name, detector: m.detector ?? 'ipinsights', ...(m.views ? { views: m.views } : {}) })),
      incidents,
      ...(lakeInputs.incidentsNote ? { incidentsNote: lakeInputs.incidentsNote } : {}),
      members: all.filter((x) => !x.suppressed).map((x) => x.f),
      suppressed: inPeriod.length - counted.length,
      period: { from: attackStart, to: end },
    });
    const evaluation = full.findings;
    const charts = evaluationCharts(full);
    const reportFiles = { html: path.join(dataDir, 'evaluation.html'), png: path.join(dataDir, 'evaluation-pr.png') };
    writeFileSync(reportFiles.html, labelsReportHtml(full, { lake: setup.lakeDir, labelsFile: setup.generated.labelsFile, generatedAt: new Date().toISOString() }, charts));
    writeFileSync(reportFiles.png, evaluationPng(full, charts));
    const once: OnceReport = {
      data_dir: dataDir,
      reused_setup: setup.reused,
      history: { start: new Date(setup.generated.start).toISOString(), end: new Date(setup.generated.end).toISOString(), attack_period_start: new Date(setup.generated.attackStart).toISOString() },
      steps: timings,
      total_ms: Math.round(performance.now() - t0),
      models: (['flows', 'logins', 'flows-history', 'logins-history'] as const).flatMap((k) => {
        const m = setup.models[k];
        return m ? [{ name: k, train_pairs: m.trainPairs, entities: m.entities, held_out_pairs: m.heldOutPairs, threshold: m.threshold, auc: m.auc, ...(m.lowSupport ? { low_support: true } : {}) }] : [];
      }),
      behaviour: {
        name: setup.behaviour.name,
        train_windows: setup.behaviour.trainWindows,
        entities: setup.behaviour.entities,
        features: setup.behaviour.features,
        sets: setup.behaviour.sets,
        held_out_windows: setup.behaviour.heldOutWindows,
        threshold: setup.behaviour.threshold,
        rule: setup.behaviour.rule,
        held_out_fpr: setup.behaviour.fpr,
      },
      findings_by_model: byModel,
      matching: MATCHING_RULES,
      evaluation,
      incidents: full.incidents,
      ...(full.incidents_note !== undefined ? { incidents_note: full.incidents_note } : {}),
      suppressed: full.suppressed,
      alerts_per_day: full.alerts_per_day,
      summary: {
        attacks: evaluation.attacks,
        finding_precision: evaluation.precision,
        attacks_found_by_findings: evaluation.attacks_detected,
        incident_precision: full.incidents?.precision ?? null,
        attacks_found_by_incidents: full.incidents?.attacks_detected ?? null,
        findings_per_day: full.alerts_per_day.findings_per_day,
        incidents_per_day: full.alerts_per_day.incidents_per_day,
        findings_ap: full.curves.combined.ap_attacks,
        incidents_ap: full.curves.incidents?.ap_attacks ?? null,
      },
      headline: headline(full),
      report_files: reportFiles,
    };
    return { setup, once };
  }

  // Live.
  const incoming = path.join(dataDir, 'incoming');
  mkdirSync(incoming, { recursive: true });
  const quiet = { info: () => {}, warn: (m: string) => log(`warning: ${m}`), error: (m: string) => log(`error: ${m}`) };
  let running;
  try {
    running = await startServer({
      models: models.map((m) => ({ name: m.name, path: m.path })),
      port: opts.port ?? DEFAULT_PORT,
      host: opts.host ?? '127.0.0.1',
      workers: 0,
      log: quiet,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new SeclakeError(`cannot listen on ${opts.host ?? '127.0.0.1'}:${opts.port ?? DEFAULT_PORT}: the port is in use (choose another with --port)`, { cause: err });
    }
    throw err;
  }
  const dash = mountDashboard(running.app, { lakeDir: setup.lakeDir, registry: running.app.registry, log: quiet });
  const dashboardUrl = `${running.url}${dash.prefix}/`;
  const homeUrl = `${running.url}/`;
  const exampleInstance = setup.generated.env.instances.find((i) => i.role === 'db')!;
  const exampleUser = setup.generated.env.users[0]!;
  log('');
  log(`Ready in ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
  log(`  Dashboard   ${homeUrl}  (${dashboardUrl}: lake, models, findings)`);
  log(`  API         curl -s ${running.url}/endpoints/flows/invocations -H 'Content-Type: text/csv' --data-binary '${exampleInstance.id},203.0.113.7'`);
  log(`  AWS CLI     AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo aws sagemaker-runtime invoke-endpoint --region us-east-1 \\`);
  log(`                --endpoint-url ${running.url} --endpoint-name logins --content-type text/csv --body '${exampleUser.name},${exampleUser.homeIps[0]}' out.json && cat out.json`);
  const rel = path.relative(process.cwd(), setup.lakeDir);
  const lakeArg = rel === '' ? '.' : rel.startsWith('..') ? setup.lakeDir : rel;
  log(`  SQL         npx seclake query --lake ${lakeArg} "SELECT epoch_ms(time) AS time, severity, model_name, entity, ip, round(dot_product, 2) AS score FROM findings ORDER BY time DESC LIMIT 10"`);
  log(`  Labels      ${setup.generated.labelsFile} (ground truth of the injected attacks)`);
  log('');
  log(`Monitoring: replaying the last day (${setup.attackPeriodFiles.length} objects with ${setup.generated.labels.length} attacks), then new objects every ${((opts.intervalMs ?? 5000) / 1000).toFixed(0)} s in ${incoming}. Ctrl-C stops.`);

  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  opts.signal?.addEventListener('abort', onSignal, { once: true });
  const names = new Map(setup.generated.env.instances.map((i) => [i.id, i.name]));
  let timer: NodeJS.Timeout | undefined;
  let live: LiveGenerator | undefined;
  let monitor: LiveMonitor | undefined;
  let findingsSeen = 0;
  let incidentsSeen = 0;
  let objectsWritten = 0;
  let attacksStarted = 0;
  let lastStatus = Date.now();
  try {
    monitor = await startLiveMonitor({
      lakeDir: setup.lakeDir,
      dataDir,
      models,
      afterSeq: setup.baselineSeq,
      watchDir: incoming,
      onFinding: (f) => {
        findingsSeen++;
        if (!opts.findings) return;
        const what = f.scope === 'pair' ? f.ip : `${new Date(f.time).toISOString().slice(11, 16)}-${new Date(f.end ?? f.time).toISOString().slice(11, 16)}`;
        log(`  finding  ${new Date(f.time).toISOString().slice(0, 19)}Z  ${f.severity.padEnd(8)} ${f.model.padEnd(6)} ${(names.get(f.entity) ?? f.entity).padEnd(10)} ${what.padEnd(15)} score ${f.score.toFixed(2)}`);
      },
      onIncident: (line) => {
        incidentsSeen++;
        log(`  INCIDENT ${line}`);
      },
      onError: (m) => log(`warning: monitor: ${m}`),
    });
    opts.onReady?.({ url: running.url, dashboard: dashboardUrl });
    // Replay the attack period into the lake; the monitor picks the objects up from the catalog.
    const replay = await ingest({ lakeDir: setup.lakeDir, paths: setup.attackPeriodFiles });
    log(`  replayed the last day: ${replay.totals.events.toLocaleString('en-US')} events (${replay.totals.duplicates} objects were already in the lake)`);
    live = new LiveGenerator(
      {
        env: setup.generated.env,
        nets,
        seed: setup.generated.seed,
        logsDir: incoming,
        stagingDir: path.join(dataDir, '.staging'),
        labelsFile: setup.generated.labelsFile,
        attackEveryMs: opts.attackEveryMs ?? 90_000,
        ...(opts.volume !== undefined ? { volume: { scale: opts.volume } } : {}),
      },
      Date.now(),
    );
    const tick = (): void => {
      try {
        const now = Date.now();
        const r = live!.tick(now);
        objectsWritten += r.objects.length;
        attacksStarted += r.started.length;
        if (now - lastStatus >= 60_000) {
          lastStatus = now;
          log(`  live     ${objectsWritten} objects written, ${attacksStarted} attacks started, ${findingsSeen} findings, ${incidentsSeen} incident alerts so far (${homeUrl})`);
        }
        for (const p of r.started) log(`  attack   ${new Date(p.start).toISOString().slice(0, 19)}Z  ${p.id}: ${p.description}`);
      } catch (err) {
        log(`warning: live generator: ${errorMessage(err)}`);
      }
    };
    if (!stop.signal.aborted) {
      timer = setInterval(tick, opts.intervalMs ?? 5000);
      await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
  } finally {
    if (timer) clearInterval(timer);
    live?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    log('Stopping: monitor, dashboard, server ...');
    await monitor?.stop();
    dash.close();
    await running.close({ timeoutMs: 5000 });
    log('Stopped.');
  }
  return { setup };
}
