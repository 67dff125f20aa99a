/**
 * The dashboard's pages, rendered on the server from plain data (every value escaped). The script adds live updates,
 * label buttons and the query box on top; without it the pages still show everything they hold.
 */
import { fmtNum } from '../calibrate/svg.js';
import type { Calibration } from '../detectors/calibration.js';
import type { ScoreInfo } from '../detectors/types.js';
import { barChartSvg, lineChartSvg, scoreHistogramSvg } from './charts.js';
import type { FindingFilter, FindingSummary, SourceEvent } from './findings.js';
import {
  esc,
  fmt,
  fmtBytes,
  fmtDay,
  fmtInt,
  fmtPct,
  fmtTime,
  kvTable,
  labelBadge,
  layout,
  severityBadge,
  table,
  toJson,
  type PageContext,
} from './html.js';
import type { LabelRecord } from './labels.js';
import type { LakeSummary } from './lake-summary.js';
import {
  calibrationRuleText,
  detectorText,
  directionWords,
  epochHistory,
  flagRule,
  isLegacyHeader,
  normalQuantile,
  scoreInfoOf,
  trainingFacts,
  type EpochRow,
  type ModelInfo,
} from './models.js';
import { DEFAULT_ROW_LIMIT, MAX_ROW_LIMIT } from './query.js';
import { feedbackBlock, scopeChoices } from './incident-pages.js';
import type { SuppressionView, VerdictRecord } from '../findings/feedback.js';

const MAX_PARTITION_ROWS = 300;

const EXAMPLE_QUERIES: [string, string][] = [
  ['Events per class', 'SELECT class_uid, class_name, count(*) AS events FROM (\n  SELECT class_uid, class_name FROM vpc_flow\n  UNION ALL SELECT class_uid, class_name FROM route53\n  UNION ALL SELECT class_uid, class_name FROM cloudtrail_api\n) GROUP BY ALL ORDER BY events DESC'],
  ['Instances and source IPs (reference query)', "SELECT src_endpoint.instance_uid AS instance_id, src_endpoint.ip AS sourceip\nFROM vpc_flow\nWHERE src_endpoint.ip IS NOT NULL AND src_endpoint.instance_uid IS NOT NULL\n  AND src_endpoint.instance_uid != '-' AND src_endpoint.ip != '-'\nLIMIT 100"],
  ['Top talkers', 'SELECT src_endpoint.ip AS ip, count(*) AS flows, sum(traffic.bytes) AS bytes\nFROM vpc_flow GROUP BY ALL ORDER BY bytes DESC NULLS LAST LIMIT 20'],
  ['Objects in the catalog', 'SELECT seq, source, class_uid, event_day, rows, path FROM lake_objects ORDER BY seq DESC LIMIT 50'],
  ['Quarantined records', 'SELECT input_name, line, field, reason FROM quarantine LIMIT 100'],
];

function stat(value: string, label: string, small = false): string {
  return `<div class="stat"><div class="v${small ? ' small' : ''}">${esc(value)}</div><div class="k">${esc(label)}</div></div>`;
}

// ---- Lake ---------------------------------------------------------------------------------------------------

export function lakePage(ctx: PageContext, s: LakeSummary, findings: number): string {
  const sources = [...new Set(s.sources.map((r) => r.source))];
  const perDay = table(
    s.days.slice().reverse(),
    [
      { label: 'Day (UTC)', html: (d) => esc(fmtDay(d.day)) },
      ...sources.map((src) => ({ label: src, numeric: true, html: (d: LakeSummary['days'][number]) => esc(d.by_source[src] ? fmtInt(d.by_source[src]) : '') })),
      { label: 'Events', numeric: true, html: (d) => `<strong>${esc(fmtInt(d.events))}</strong>` },
    ],
    { empty: 'The lake is empty. Ingest logs with seclake ingest.' },
  );
  const chart = barChartSvg(
    s.days.map((d) => ({ label: fmtDay(d.day), value: d.events })),
    { title: 'Events per day', yLabel: 'events', width: 1300, height: 230 },
  );
  const parts = s.partitions.slice(0, MAX_PARTITION_ROWS);
  const partTable = table(
    parts,
    [
      { label: 'Source', html: (p) => esc(p.source) },
      { label: 'Region', html: (p) => esc(p.region) },
      { label: 'Account', html: (p) => `<span class="mono">${esc(p.account_id)}</span>` },
      { label: 'Day', html: (p) => esc(fmtDay(p.day)) },
      { label: 'Objects', numeric: true, html: (p) => esc(fmtInt(p.objects)) },
      { label: 'Events', numeric: true, html: (p) => esc(fmtInt(p.events)) },
    ],
    { empty: 'No partitions yet.' },
  );
  const srcTable = table(
    s.sources,
    [
      { label: 'Source', html: (r) => esc(r.source) },
      { label: 'OCSF class', numeric: true, html: (r) => esc(r.class_uid) },
      { label: 'Objects', numeric: true, html: (r) => esc(fmtInt(r.objects)) },
      { label: 'Events', numeric: true, html: (r) => esc(fmtInt(r.events)) },
      { label: 'Size', numeric: true, html: (r) => esc(fmtBytes(r.bytes)) },
      { label: 'First event', numeric: true, html: (r) => esc(fmtTime(r.time_min)) },
      { label: 'Last event', numeric: true, html: (r) => esc(fmtTime(r.time_max)) },
    ],
    { empty: 'No sources yet.' },
  );
  const qTable = table(
    s.quarantine,
    [
      { label: 'Source type', html: (q) => esc(q.source_type) },
      { label: 'Field', html: (q) => `<span class="mono">${esc(q.field)}</span>` },
      { label: 'Reason', html: (q) => esc(q.reason) },
      { label: 'Records', numeric: true, html: (q) => esc(fmtInt(q.count)) },
      { label: 'Example input', html: (q) => `<span class="mono">${esc(q.example_input)}</span>` },
    ],
    { empty: 'Nothing quarantined: every record parsed, mapped and validated.' },
  );
  const examples = EXAMPLE_QUERIES.map(([label, sql]) => `<button type="button" class="chip" data-sql="${esc(sql)}">${esc(label)}</button>`).join(' ');
  const body =
    '<h1>Lake</h1>' +
    '<div class="cards">' +
    stat(fmtInt(s.events), 'events') +
    stat(fmtInt(s.objects), 'Parquet objects') +
    stat(fmtBytes(s.bytes), 'on disk') +
    stat(fmtInt(s.inputs), 'inputs ingested') +
    stat(fmtInt(s.rejects), 'records quarantined') +
    stat(fmtInt(findings), 'findings') +
    stat(s.last_object_at ? fmtTime(s.last_object_at).slice(11) : '–', s.last_object_at ? `last object published (${fmtTime(s.last_object_at).slice(0, 10)})` : 'last object published') +
    '</div>' +
    `<section class="card" id="sources"><h2>Sources</h2>${srcTable}</section>` +
    `<section class="card" id="days"><h2>Events per day</h2>${chart}<h3>Per day and source</h3><div class="scroll">${perDay}</div></section>` +
    `<section class="card" id="partitions"><h2>Partitions</h2><p class="note">source / region / account / day, newest first${s.partitions.length > MAX_PARTITION_ROWS ? ` (first ${MAX_PARTITION_ROWS} of ${fmtInt(s.partitions.length)})` : ''}.</p><div class="scroll">${partTable}</div></section>` +
    `<section class="card" id="quarantine"><h2>Quarantine</h2><p class="note">${esc(fmtInt(s.rejects))} record(s) from ${esc(fmtInt(s.inputs_with_rejects))} input(s) were not ingested; grouped by reason (values removed).</p>${qTable}</section>` +
    '<section class="card" id="query"><h2>Query</h2>' +
    '<p class="note">SQL over the lake views (<code>vpc_flow</code>, <code>route53</code>, <code>cloudtrail_api</code>, <code>cloudtrail_auth</code>, <code>findings</code>, <code>lake_objects</code>, <code>quarantine</code>, the Glue table names, …). ' +
    'Read-only: one SELECT, WITH, FROM, DESCRIBE, SHOW or SUMMARIZE statement; files outside the lake cannot be read. Ctrl+Enter runs it.</p>' +
    `<div class="toolbar">${examples}</div>` +
    '<form id="query-form" autocomplete="off">' +
    '<textarea id="query-sql" name="sql" spellcheck="false" aria-label="SQL query">SHOW TABLES</textarea>' +
    `<div class="toolbar"><button class="primary" id="query-run" type="submit">Run query</button>` +
    `<label for="query-limit">Row limit</label><input id="query-limit" type="number" min="1" max="${MAX_ROW_LIMIT}" value="${DEFAULT_ROW_LIMIT}"></div>` +
    '</form><div id="query-result"></div></section>';
  return layout(ctx, 'lake', 'Lake', body);
}

// ---- Models -------------------------------------------------------------------------------------------------

function calibrationBlock(cal: Calibration, score: ScoreInfo, records: string, findingScores: number[]): string {
  const at = (p: number): number => normalQuantile(cal, p);
  const marks = cal.thresholds_at_fpr
    .filter((t) => Math.abs(t.threshold - cal.threshold) > 1e-12)
    .map((t) => ({ value: t.threshold, label: `FPR ${fmtPct(t.target_fpr, 1)}` }));
  const hist = scoreHistogramSvg({
    quantiles: cal.normal_quantiles,
    threshold: cal.threshold,
    marks,
    findings: findingScores,
    scoreName: score.name,
    direction: score.direction,
    normalLabel: `normal ${records} (calibration)`,
  });
  const budgets = table(
    cal.thresholds_at_fpr,
    [
      { label: 'Target FPR', numeric: true, html: (t) => esc(fmtPct(t.target_fpr, 1)) },
      { label: 'Threshold', numeric: true, html: (t) => esc(fmt(t.threshold)) },
      { label: 'FPR', numeric: true, html: (t) => esc(fmtPct(t.fpr, 2)) },
      { label: 'Recall', numeric: true, html: (t) => esc(fmtPct(t.recall, 1)) },
      { label: 'Precision', numeric: true, html: (t) => esc(fmtPct(t.precision, 1)) },
    ],
    { empty: 'none stored' },
  );
  const kv = kvTable([
    ['AUC (ROC)', `<strong>${esc(fmt(cal.auc, 4))}</strong>`],
    ['Average precision', esc(fmt(cal.average_precision, 4))],
    ['Score', `<span class="mono">${esc(score.name)}</span> (${esc(directionWords(score.direction))})`],
    ['Threshold', `<strong>${esc(fmt(cal.threshold, 5))}</strong> <span class="flag-rule">(${esc(flagRule(score))})</span>`],
    ['Chosen by', esc(calibrationRuleText(cal))],
    ['At the threshold', esc(`FPR ${fmtPct(cal.fpr, 2)} · recall ${fmtPct(cal.recall, 1)} · precision ${fmtPct(cal.precision, 1)}`)],
    ['Calibration set', esc(`${fmtInt(cal.n_normal)} normal ${records}, ${fmtInt(cal.n_abnormal)} abnormal (${cal.abnormal_source})`)],
    ['Normal score percentiles', esc(`p1 ${fmtNum(at(0.01))} · p5 ${fmtNum(at(0.05))} · p25 ${fmtNum(at(0.25))} · p50 ${fmtNum(at(0.5))} · p75 ${fmtNum(at(0.75))} · p99 ${fmtNum(at(0.99))}`)],
    ['Analyst feedback', esc(cal.feedback ? `${cal.feedback.false_positives} false positives, ${cal.feedback.true_positives} true positives folded in` : 'none')],
    ['Calibrated at', esc(fmtTime(cal.created_at))],
  ]);
  return `<h3>Calibration</h3>${supportBlock(cal, records)}<div class="row2"><div>${kv}<h3>Thresholds at false-positive budgets</h3>${budgets}</div><div>${hist}</div></div>${perEntityBlock(cal, records)}`;
}

// Calibration version 2 (issue 14, contract A): read through these shapes so that a version-1 calibration (no
// `support`, no `per_entity`) still renders.
interface SupportView {
  n_normal: number;
  needed_n: number;
  sufficient: boolean;
  fpr_interval?: [number, number];
  note: string;
}
interface EntityThresholdView {
  n: number;
  own: number | null;
  group?: string;
  threshold: number;
}
interface PerEntityView {
  target_fpr: number;
  prior_n: number;
  min_n: number;
  unit?: string;
  groups: Record<string, Omit<EntityThresholdView, 'group'>>;
  entities: Record<string, EntityThresholdView>;
}
type CalibrationV2 = Calibration & { support?: SupportView; per_entity?: PerEntityView };

/**
 * Whether the calibration's held-out set can support its false-positive rate: the stored `support` (version 2), else
 * judged here by the rule of three (3 / rate held-out records) for a max-FPR rule; undefined when nothing says.
 */
export function calibrationSupport(cal: Calibration): SupportView | undefined {
  const c = cal as CalibrationV2;
  if (c.support) return c.support;
  if (cal.rule.kind !== 'max_fpr' || !(cal.rule.max_fpr > 0)) return undefined;
  const needed = Math.ceil(3 / cal.rule.max_fpr - 1e-9);
  const ok = cal.n_normal >= needed;
  return {
    n_normal: cal.n_normal,
    needed_n: needed,
    sufficient: ok,
    note: ok
      ? `enough held-out records to resolve a ${fmtPct(cal.rule.max_fpr, 2)} false-positive rate`
      : `too few held-out records to resolve a ${fmtPct(cal.rule.max_fpr, 2)} false-positive rate (the rule of three needs 3 / rate)`,
  };
}

function supportBlock(cal: Calibration, recordsDefault: string): string {
  const s = calibrationSupport(cal);
  const records = (cal as CalibrationV2).per_entity?.unit ?? recordsDefault;
  if (!s) return '';
  const interval = s.fpr_interval ? ` · false-positive rate 95% interval ${fmtPct(s.fpr_interval[0], 2)}–${fmtPct(s.fpr_interval[1], 2)}` : '';
  const counts = `${fmtInt(s.n_normal)} held-out normal ${records}${s.needed_n > 0 ? ` of ${fmtInt(s.needed_n)} needed` : ''}${interval}`;
  return s.sufficient
    ? `<p class="note support-ok">Support: ${esc(s.note)} (${esc(counts)}).</p>`
    : `<div class="support-low" data-support="low"><strong>Low support.</strong> ${esc(s.note)} (${esc(counts)}). ` +
        'This threshold rests on too little data: the findings it raises say so (low support) and are never High or Critical, and incidents made only of them stay at Medium at most. ' +
        'Calibrate on a longer held-out period to lift the cap.</div>';
}

const MAX_ENTITY_ROWS = 500;

function perEntityBlock(cal: Calibration, records: string): string {
  const pe = (cal as CalibrationV2).per_entity;
  if (!pe) return '';
  const unit = pe.unit ?? records;
  const entries = Object.entries(pe.entities).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const shown = entries.slice(0, MAX_ENTITY_ROWS);
  const source = (e: EntityThresholdView): string => (e.own === null ? (e.group !== undefined ? 'group' : 'global') : 'entity');
  const thin = entries.filter(([, e]) => e.n < pe.min_n).length;
  const rows = table(
    shown,
    [
      { label: 'Entity', cls: 'ent', html: ([name]) => `<span class="mono">${esc(name)}</span>` },
      { label: 'Group', html: ([, e]) => esc(e.group ?? '–') },
      { label: `Held-out ${unit}`, numeric: true, html: ([, e]) => (e.n < pe.min_n ? `<span class="thin" title="fewer than ${esc(fmtInt(pe.min_n))}: too few to measure its own quantile">${esc(fmtInt(e.n))}</span>` : esc(fmtInt(e.n))) },
      { label: 'Own quantile', numeric: true, html: ([, e]) => esc(e.own === null ? 'too few' : fmt(e.own, 4)) },
      { label: 'Threshold used', numeric: true, html: ([, e]) => `<strong>${esc(fmt(e.threshold, 4))}</strong>` },
      { label: 'From', html: ([, e]) => esc(source(e)) },
      { label: 'vs global', numeric: true, html: ([, e]) => esc(`${e.threshold - cal.threshold >= 0 ? '+' : ''}${fmt(e.threshold - cal.threshold, 3)}`) },
    ],
    { empty: 'No entity had held-out records.', cls: 'grid per-entity' },
  );
  const groups = Object.entries(pe.groups);
  const groupTable =
    groups.length > 0
      ? `<h4>Groups</h4>${table(groups, [
          { label: 'Group', html: ([g]) => `<span class="mono">${esc(g)}</span>` },
          { label: `Held-out ${unit}`, numeric: true, html: ([, g]) => esc(fmtInt(g.n)) },
          { label: 'Own quantile', numeric: true, html: ([, g]) => esc(g.own === null ? 'too few' : fmt(g.own, 4)) },
          { label: 'Threshold', numeric: true, html: ([, g]) => esc(fmt(g.threshold, 4)) },
        ])}`
      : '';
  return (
    `<details class="per-entity-block"${entries.length <= 25 ? ' open' : ''}><summary>Per-entity thresholds (${esc(fmtInt(entries.length))} entities, ${esc(fmtInt(thin))} with fewer than ${esc(fmtInt(pe.min_n))} held-out ${esc(unit)})</summary>` +
    `<p class="note">Each entity's own ${esc(fmtPct(pe.target_fpr, 2))} quantile of its held-out normal scores, shrunk toward its group's threshold (and the global ${esc(fmt(cal.threshold, 4))}) with weight n / (n + ${esc(fmt(pe.prior_n, 4))}); an entity with fewer than ${esc(fmtInt(pe.min_n))} ${esc(unit)} cannot measure its own quantile and uses its group's or the global threshold.</p>` +
    `<div class="scroll">${rows}</div>` +
    (entries.length > MAX_ENTITY_ROWS ? `<p class="note">The first ${MAX_ENTITY_ROWS} of ${esc(fmtInt(entries.length))} entities, by name (GET /api/models has them all).</p>` : '') +
    groupTable +
    '</details>'
  );
}

/** The training curve from `training.epoch_history` (loss, and accuracy / validation AUC when recorded). */
function trainingCurve(hist: readonly EpochRow[]): string {
  const acc = hist.filter((e) => typeof e.accuracy === 'number');
  const auc = hist.filter((e) => typeof e.validation_auc === 'number');
  return lineChartSvg(
    [
      { name: 'loss (cross-entropy)', color: '#0072B2', points: hist.map((e) => [e.epoch + 1, e.loss]) },
      ...(acc.length > 0 ? [{ name: 'accuracy', color: '#009E73', dash: true, points: acc.map((e) => [e.epoch + 1, e.accuracy!] as [number, number]) }] : []),
      ...(auc.length > 0 ? [{ name: 'validation AUC', color: '#D55E00', points: auc.map((e) => [e.epoch + 1, e.validation_auc!] as [number, number]) }] : []),
    ],
    { title: 'Training curve', xLabel: 'epoch', yMin: 0, yMax: Math.max(1, ...hist.map((e) => e.loss)) },
  );
}

function modelBlock(base: string, m: ModelInfo, findingScores: number[]): string {
  const findingsLink = m.version ? ` · <a href="${esc(base)}/findings?model=${esc(encodeURIComponent(m.version))}">findings of this version</a>` : '';
  const h = m.header;
  const detectorPill = h ? ` <span class="pill detector" title="detector">${esc(m.detector?.title ?? h.detector.type)}</span>` : '';
  const title = `<h2>${esc(m.name)}${detectorPill} <span class="pill">${esc(m.version ?? '?')}</span></h2><p class="note"><span class="mono">${esc(m.path)}</span>${m.bytes !== undefined ? ` · ${esc(fmtBytes(m.bytes))}` : ''}${findingsLink}</p>`;
  if (m.error || !h) return `<section class="card model" data-model="${esc(m.name)}">${title}<div class="error">${esc(m.error ?? 'unreadable')}</div></section>`;
  const d = m.detector;
  const score = m.score ?? scoreInfoOf(h, m.calibration, d);
  const defaults = new Map((d?.hyperparameters ?? []).map((x) => [x.name, x.default]));
  const hpTable = kvTable(
    Object.entries((h.hyperparameters ?? {}) as Record<string, unknown>).map(([k, v]) => {
      const def = defaults.get(k);
      const differs = def !== undefined && (typeof v === 'object' || String(def) !== String(v));
      return [k, esc(typeof v === 'object' ? toJson(v, 0) : String(v)) + (differs ? ` <span class="note">(default ${esc(String(def))})</span>` : '')];
    }),
  );
  const t = (h.training ?? {}) as Record<string, unknown>;
  const rd = h.record_definition;
  const records = rd?.kind ?? d?.records ?? 'records';
  const rows: [string, string][] = [
    ['Detector', `${esc(detectorText(h, d))}${d ? ` <span class="note">${esc(d.description)}</span>` : ''}`],
    ['Native score', `<span class="mono">${esc(score.name)}</span> (${esc(directionWords(score.direction))})`],
    [
      'Record definition',
      rd
        ? `<span class="mono">${esc(rd.name)}</span> (${esc(rd.kind)})${rd.sql ? `<details class="record-sql"><summary>SQL</summary><pre class="json">${esc(rd.sql)}</pre></details>` : ''}`
        : esc('– (not recorded)'),
    ],
  ];
  if (isLegacyHeader(h)) rows.push(['File format', esc(`SECLAKE-IPI format ${h.format_version}: written before the detector platform, read as ${h.detector.type} v${h.detector.version}`)]);
  const facts = trainingFacts(t);
  for (const f of facts.known) rows.push([f.label, f.mono ? `<span class="mono">${esc(f.text)}</span>` : esc(f.text)]);
  for (const f of facts.other) rows.push([f.label, `<span class="mono">${esc(f.text)}</span>`]);
  const trainKv = kvTable(rows);
  const hist = epochHistory(t);
  const noCurve = 'epochs' in t ? '<p class="note">This model file has no per-epoch history (trained before it was recorded): no training curve; the final values are listed above.</p>' : '';
  const training =
    hist.length > 0
      ? `<div class="row2"><div><h3>Training</h3>${trainKv}</div><div><h3>Training curve</h3>${trainingCurve(hist)}</div></div>`
      : `<div class="training"><h3>Training</h3>${trainKv}${noCurve}</div>`;
  const unknown = d ? '' : `<p class="warn">This seclake has no detector <code>${esc(h.detector.type)}</code>: the model cannot be scored or calibrated here.</p>`;
  const cal = m.calibration
    ? calibrationBlock(m.calibration, score, records, findingScores)
    : '<h3>Calibration</h3><p class="warn">Not calibrated: no threshold or percentiles yet. Run <code>seclake calibrate --model ' + esc(m.path) + ' --lake …</code>; until then findings use the uncalibrated default threshold.</p>';
  return (
    `<section class="card model" data-model="${esc(m.name)}" data-detector="${esc(h.detector.type)}">${title}` +
    unknown +
    training +
    cal +
    `<details><summary>Hyperparameters</summary>${hpTable}</details>` +
    '</section>'
  );
}

export function modelsPage(ctx: PageContext, models: readonly { info: ModelInfo; findingScores: number[] }[]): string {
  const body =
    '<h1>Models</h1>' +
    (models.length === 0
      ? '<section class="card"><p>No models are configured. Start <code>seclake serve --model NAME=PATH --lake DIR</code>.</p></section>'
      : models.map((m) => modelBlock(ctx.base, m.info, m.findingScores)).join(''));
  return layout(ctx, 'models', 'Models', body);
}

// ---- Findings -----------------------------------------------------------------------------------------------

export function findingRows(items: readonly FindingSummary[], base: string, attrs?: Record<string, string>): string {
  return table(
    items,
    [
      { label: 'Time (UTC)', numeric: true, html: (f) => esc(fmtTime(f.time)) },
      {
        label: 'Severity',
        html: (f) => severityBadge(f.severity_id, f.severity) + (f.suppressed_by !== null ? ` <span class="pill suppressed" title="${esc(`suppression ${f.suppressed_by}`)}">suppressed</span>` : ''),
      },
      { label: 'Entity', cls: 'ent', html: (f) => `<a href="${esc(base)}/findings/${esc(encodeURIComponent(f.uid))}">${esc(f.entity || '(no entity)')}</a>` },
      { label: 'IP', cls: 'mono', html: (f) => esc(f.ip) },
      { label: 'Score', numeric: true, html: (f) => esc(fmt(f.dot_product)) },
      { label: 'Percentile', numeric: true, html: (f) => esc(pctText(f.percentile)) },
      { label: 'Explanation', cls: 'expl', html: (f) => esc(f.explanation) },
      { label: 'Label', html: (f) => labelBadge(f.label ?? undefined) },
    ],
    { empty: 'No findings yet. They appear here as the monitor writes them.', id: 'findings-table', rowAttrs: (f) => ({ 'data-uid': f.uid }), ...(attrs ? { attrs } : {}) },
  );
}

/** Same rounding as the findings builder: never shows 100% for a value below 1. */
function pctText(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return '–';
  if (p >= 1) return '100%';
  const pct = p * 100;
  let s = pct >= 99.9 && pct < 100 ? pct.toFixed(3) : pct >= 99 ? pct.toFixed(2) : pct.toFixed(1);
  if (pct < 100 && Number(s) >= 100) s = '99.999';
  return `${s}%`;
}

export function findingsPage(
  ctx: PageContext,
  items: readonly FindingSummary[],
  filter: FindingFilter,
  version: string,
  query: string,
  pollMs: number,
  labels: { file: string; tp: number; fp: number },
): string {
  const sevOpt = (v: number, label: string): string => `<option value="${v}"${(filter.minSeverity ?? 0) === v ? ' selected' : ''}>${esc(label)}</option>`;
  const lblOpt = (v: string, label: string): string => `<option value="${esc(v)}"${(filter.label ?? '') === v ? ' selected' : ''}>${esc(label)}</option>`;
  const rows = findingRows(items, ctx.base, { 'data-version': version, 'data-query': query, 'data-poll-ms': String(pollMs) });
  const body =
    `<h1>Findings <span class="pill" id="findings-count">${items.length}</span></h1>` +
    '<form class="toolbar" method="get" action="">' +
    '<label for="f-sev">Severity</label><select id="f-sev" name="severity">' +
    sevOpt(0, 'all') + sevOpt(2, 'Low and above') + sevOpt(3, 'Medium and above') + sevOpt(4, 'High and above') + sevOpt(5, 'Critical') +
    '</select><label for="f-label">Label</label><select id="f-label" name="label">' +
    lblOpt('', 'any') + lblOpt('unlabelled', 'unlabelled') + lblOpt('true_positive', 'true positive') + lblOpt('false_positive', 'false positive') +
    `</select><input type="search" name="q" placeholder="entity, IP or title" value="${esc(filter.text ?? '')}" aria-label="search">` +
    (filter.modelVersion ? `<input type="hidden" name="model" value="${esc(filter.modelVersion)}"><span class="pill">model ${esc(filter.modelVersion)}</span>` : '') +
    '<button type="submit">Filter</button>' +
    `<span class="live" id="live-status">Live · newest first, checked every ${Math.round(pollMs / 1000)} s</span></form>` +
    `<p class="note" id="label-summary">Analyst labels: ${labels.tp} true positive, ${labels.fp} false positive, in <code>${esc(labels.file)}</code> (open a finding to label it; <code>seclake calibrate --labels</code> folds them in).</p>` +
    `<section class="card">${rows}` +
    (items.length >= (filter.limit ?? 200) ? `<p class="note">The newest ${items.length} are shown; filter by severity, label or text to see others.</p>` : '') +
    '</section>';
  return layout(ctx, 'findings', 'Findings', body);
}

export function findingPage(
  ctx: PageContext,
  f: Record<string, unknown>,
  s: FindingSummary,
  label: LabelRecord | undefined,
  src: SourceEvent,
  feedback?: { current: VerdictRecord | undefined; active: readonly SuppressionView[] },
): string {
  const kv = kvTable([
    ['Severity', severityBadge(s.severity_id, s.severity)],
    ['Time', esc(fmtTime(s.time))],
    ['Entity', `<span class="mono">${esc(s.entity)}</span>`],
    ['IP', `<span class="mono">${esc(s.ip)}</span>`],
    ['Score (dot_product)', esc(fmt(s.dot_product, 5))],
    ['Threshold', esc(fmt(s.threshold, 5))],
    ['Percentile', esc(pctText(s.percentile))],
    ['Kind', esc(s.kind ?? '–')],
    ['Model', esc(`${s.model ?? '?'} (version ${s.model_version ?? '?'})`)],
    ['Occurrences', esc(s.count ?? 1)],
    ['Source', `<span class="mono">${esc(s.source_object ?? '–')}</span> row ${esc(s.source_row ?? '–')}`],
    ['Finding uid', `<span class="mono">${esc(s.uid)}</span>`],
  ]);
  const srcBlock =
    src.status === 'found'
      ? `<pre class="json" id="source-event">${esc(toJson(src.event))}</pre>`
      : `<p class="warn" id="source-event">Source event not shown: ${esc(src.reason)}.</p>`;
  const body =
    `<div class="crumbs"><a href="${esc(ctx.base)}/findings">← Findings</a></div>` +
    `<h1>${esc(s.title || 'Finding')}</h1>` +
    `<section class="card"><p id="explanation">${esc(s.explanation)}</p>` +
    `<div class="actions" id="label-actions" data-uid="${esc(s.uid)}"><span>Label:</span><span id="label-current">${labelBadge(label?.label)}</span>` +
    '<button type="button" class="tp" data-label="true_positive">Mark true positive</button>' +
    '<button type="button" class="fp" data-label="false_positive">Mark false positive</button>' +
    `<span id="label-message" class="note">${label ? esc(`Labelled ${fmtTime(label.at)}.`) : 'Labels are stored in labels.jsonl and folded into the next calibration.'}</span></div></section>` +
    (feedback ? feedbackBlock({ uid: s.uid, kind: 'finding', entity: s.entity }, scopeChoices(s.entity, [f]), feedback.current, feedback.active, ctx.base) : '') +
    `<div class="row2"><section class="card"><h2>Summary</h2>${kv}</section>` +
    `<section class="card"><h2>Source event</h2>${srcBlock}</section></div>` +
    `<section class="card"><h2>Finding (OCSF Detection Finding 2004)</h2><pre class="json" id="finding-json">${esc(toJson(f))}</pre></section>`;
  return layout(ctx, 'findings', s.title || 'Finding', body);
}
