/**
 * Reports of an evaluation against labels (labels-eval.ts): the text tables (`seclake evaluate`, `seclake demo
 * --once`), the charts (precision against attack and record recall over the ranking of the alerts, and precision
 * and recall against the number of alerts kept; SVG through charts.ts, PNG through png.ts) and the HTML report.
 */
import type { AlertsPerDay, AttackLabel, Evaluation, LabelsEvaluation, RankCurve, Scores } from './labels-eval.js';
import { LEGEND_LINE, axes, legendLines, legendRows, svgOpen, text, titleBlock, type Box, type LegendItem } from './charts.js';
import { svgToPng } from './png.js';
import { COLORS, esc, fmtNum, linearScale, niceTicks, pathD, r2, simplify } from './svg.js';

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`);
const frac = (a: number, b: number): string => `${a}/${b}`;
const rate = (x: number | null): string => (x === null ? 'n/a' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

function recallText(s: Scores): string {
  const parts: string[] = [];
  if (s.pair_findings > 0 || s.window_findings === 0) parts.push(`pairs ${pct(s.record_recall)} (${frac(s.detected_records, s.scored_records)})`);
  if (s.window_findings > 0) parts.push(`windows ${pct(s.window_record_recall)} (${frac(s.window_detected_records, s.window_records)})`);
  return parts.join(', ');
}

/**
 * The per-detector and combined table, the per-kind table and the per-attack lines of a findings evaluation; with
 * `incidents` (the same labels' incident-level results) an incidents column per kind and per attack.
 */
export function formatEvaluation(e: Evaluation, incidents?: LabelsEvaluation['incidents']): string[] {
  const lines: string[] = [];
  const rows: [string, Scores][] = [...e.per_detector.map((d): [string, Scores] => [`${d.name} (${d.detector})`, d]), ['combined (union)', e]];
  const w = Math.max(18, ...rows.map(([n]) => n.length));
  lines.push(`Detectors (${e.attacks} labelled attacks):`);
  lines.push(`  ${'detector'.padEnd(w)} ${'findings'.padStart(8)} ${'true'.padStart(5)} ${'precision'.padStart(9)}  ${'attacks found'.padEnd(14)} record recall`);
  for (const [name, s] of rows) {
    lines.push(`  ${name.padEnd(w)} ${String(s.findings).padStart(8)} ${String(s.true_positives).padStart(5)} ${pct(s.precision).padStart(9)}  ${`${frac(s.attacks_detected, s.attacks)} ${pct(s.attack_recall)}`.padEnd(14)} ${recallText(s)}`);
  }
  if (incidents) {
    const i = incidents;
    lines.push(`  ${'incidents'.padEnd(w)} ${String(i.incidents).padStart(8)} ${String(i.true_positives).padStart(5)} ${pct(i.precision).padStart(9)}  ${`${frac(i.attacks_detected, i.attacks)} ${pct(i.attack_recall)}`.padEnd(14)} records ${pct(i.record_recall)} (${frac(i.detected_records, i.records)})`);
  }
  const kinds = Object.keys(e.per_kind);
  if (kinds.length > 0) {
    lines.push('');
    lines.push('Per attack kind (attacks found / attacks):');
    const names = e.per_detector.map((d) => d.name);
    const kw = Math.max(30, ...kinds.map((k) => k.length));
    const cw = names.map((n) => Math.max(7, n.length));
    lines.push(`  ${'kind'.padEnd(kw)} ${'category'.padEnd(9)} ${names.map((n, i) => n.padStart(cw[i]!)).join(' ')} ${'combined'.padStart(8)}${incidents ? ` ${'incidents'.padStart(9)}` : ''}`);
    const cell = (s: { per_kind: Scores['per_kind'] }, k: string): string => {
      const x = s.per_kind[k];
      return x ? frac(x.detected, x.attacks) : `0/${e.per_kind[k]!.attacks}`;
    };
    for (const k of kinds) {
      lines.push(`  ${k.padEnd(kw)} ${(e.per_kind[k]!.category ?? '').padEnd(9)} ${e.per_detector.map((d, i) => cell(d, k).padStart(cw[i]!)).join(' ')} ${cell(e, k).padStart(8)}${incidents ? ` ${cell(incidents, k).padStart(9)}` : ''}`);
    }
    const categories = [...new Set(kinds.map((k) => e.per_kind[k]!.category).filter((c): c is string => c !== undefined))];
    if (categories.length > 1) {
      const byCat = (s: { per_kind: Scores['per_kind'] }, c: string): string => {
        let n = 0;
        let d = 0;
        for (const k of kinds) if (e.per_kind[k]!.category === c) {
          n += e.per_kind[k]!.attacks;
          d += s.per_kind[k]?.detected ?? 0;
        }
        return frac(d, n);
      };
      for (const c of categories) lines.push(`  ${`(all ${c} attacks)`.padEnd(kw)} ${''.padEnd(9)} ${e.per_detector.map((d, i) => byCat(d, c).padStart(cw[i]!)).join(' ')} ${byCat(e, c).padStart(8)}${incidents ? ` ${byCat(incidents, c).padStart(9)}` : ''}`);
    }
  }
  lines.push('');
  lines.push('Per attack (combined):');
  e.per_attack.forEach((a, n) => {
    const rec: string[] = [];
    if (a.scored_records > 0) rec.push(`${frac(a.detected_records, a.scored_records)} pair records`);
    if (e.window_findings > 0 && a.window_records > 0) rec.push(`${frac(a.window_detected_records, a.window_records)} window records`);
    const by = a.detected_by.length > 0 ? ` by ${a.detected_by.join(', ')}` : '';
    const inc = incidents ? `; ${incidents.per_attack[n]!.incidents} incident${incidents.per_attack[n]!.incidents === 1 ? '' : 's'}` : '';
    lines.push(`  ${a.detected ? 'FOUND ' : 'missed'} ${a.attack_id.padEnd(36)} ${String(a.findings).padStart(4)} findings${by}${rec.length ? `; ${rec.join(', ')}` : ''}${inc}`);
    lines.push(`         ${a.description}`);
  });
  if (e.false_positive_examples.length > 0) {
    lines.push('');
    lines.push('False positives (first few):');
    for (const f of e.false_positive_examples.slice(0, 5)) {
      const what = f.ip ? f.ip : `window ${new Date(f.time).toISOString().slice(11, 16)}-${new Date(f.end ?? f.time).toISOString().slice(11, 16)}`;
      lines.push(`  ${new Date(f.time).toISOString()}  ${f.model ?? ''} ${f.entity} ${what}`);
    }
  }
  return lines;
}

/** Alerts per day, in one or a few lines. */
export function formatAlertsPerDay(a: AlertsPerDay): string[] {
  const lines = [
    `Alerts per day (${new Date(a.from).toISOString().slice(0, 16)}Z .. ${new Date(a.to).toISOString().slice(0, 16)}Z, ${fmtNum(a.days, 3)} day${a.days === 1 ? '' : 's'}): ` +
      `findings ${a.findings} (${rate(a.findings_per_day)}/day)` +
      (a.incidents === null ? '; incidents n/a' : `, incidents ${a.incidents} (${rate(a.incidents_per_day)}/day)`),
  ];
  if (a.by_day.length > 1) for (const d of a.by_day) lines.push(`  ${d.day}  findings ${String(d.findings).padStart(5)}${d.incidents === null ? '' : `  incidents ${String(d.incidents).padStart(4)}`}`);
  return lines;
}

/** The headline: finding-level and incident-level precision, attacks found, alerts per day. */
export function headline(r: LabelsEvaluation): string {
  const f = r.findings;
  const parts = [`findings: precision ${pct(f.precision)} (${f.true_positives}/${f.findings}), attacks found ${frac(f.attacks_detected, f.attacks)}`];
  if (r.incidents) parts.push(`incidents: precision ${pct(r.incidents.precision)} (${r.incidents.true_positives}/${r.incidents.incidents}), attacks found ${frac(r.incidents.attacks_detected, r.incidents.attacks)}`);
  else parts.push('incidents: n/a');
  const a = r.alerts_per_day;
  parts.push(`alerts per day: ${rate(a.findings_per_day)} findings${a.incidents_per_day === null ? '' : `, ${rate(a.incidents_per_day)} incidents`}`);
  return parts.join('; ');
}

/** The whole text report of `seclake evaluate`. */
export function formatLabelsEvaluation(r: LabelsEvaluation): string[] {
  const lines: string[] = [];
  lines.push(headline(r));
  lines.push('');
  lines.push(...formatEvaluation(r.findings, r.incidents));
  lines.push('');
  if (r.suppressed > 0) lines.push(`Suppressed findings (status_id 3) left out: ${r.suppressed}.`);
  if (r.incidents) {
    const i = r.incidents;
    lines.push(`Incidents: ${i.incidents}, ${i.true_positives} true (a member finding is a true positive), precision ${pct(i.precision)}; attacks found ${frac(i.attacks_detected, i.attacks)}.`);
    if (i.unresolved_members > 0) lines.push(`  ${i.unresolved_members} member finding uid(s) match no finding read (${i.incidents_without_members} incident(s) with none): such members count as not true.`);
    for (const x of i.false_positive_examples.slice(0, 5)) lines.push(`  false: ${new Date(x.time).toISOString()}  ${x.entity}  ${x.finding_uids.length} finding(s)${x.detectors ? ` (${x.detectors.join(', ')})` : ''}${x.score !== undefined ? ` score ${x.score.toFixed(2)}` : ''}`);
  } else {
    lines.push(`Incidents: not evaluated${r.incidents_note ? ` (${r.incidents_note})` : ''}.`);
  }
  lines.push(...formatAlertsPerDay(r.alerts_per_day));
  lines.push('');
  lines.push('Ranking (average precision over attack recall / record recall):');
  for (const c of [r.curves.combined, ...r.curves.per_detector, ...(r.curves.incidents ? [r.curves.incidents] : [])]) {
    const ap = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(3));
    lines.push(`  ${c.name.padEnd(18)} ${String(c.points.length).padStart(6)} alerts  AP ${ap(c.ap_attacks)} / ${ap(c.ap_records)}  ranked by ${c.rank_by}`);
  }
  lines.push('');
  lines.push(`Matching: ${r.matching}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------------------------
// Charts

interface Series {
  label: string;
  color: string;
  dash: '' | 'dash' | 'dot';
  points: [number, number][];
  /** A marker at the last point (all alerts kept: the table's numbers). */
  marker?: boolean;
}

const DASH = { '': '', dash: '8 4', dot: '2 3' } as const;
const KIND: Record<Series['dash'], LegendItem['kind']> = { '': 'line', dash: 'dash', dot: 'dot' };
const PALETTE = [COLORS.blue, COLORS.vermillion, COLORS.green, COLORS.orange, COLORS.purple, COLORS.sky, COLORS.black];

function lineChart(o: { id: string; title: string; subtitle?: string; xLabel: string; yLabel: string; xMax: number; series: Series[]; note?: string; width?: number; height?: number }): string {
  const width = o.width ?? 900;
  const height = o.height ?? 540;
  const items: LegendItem[] = o.series.map((s) => ({ label: s.label, color: s.color, kind: KIND[s.dash] }));
  const lines = legendLines(items, width - 60);
  const top = 70 + lines.length * LEGEND_LINE + 6;
  const box: Box = { left: 78, top, width: width - 78 - 28, height: height - top - (o.note ? 80 : 64) };
  const x = linearScale([0, o.xMax], [box.left, box.left + box.width]);
  const y = linearScale([0, 1.02], [box.top + box.height, box.top]);
  const ticks01 = [0, 0.2, 0.4, 0.6, 0.8, 1];
  const p0 = (v: number): string => `${Math.round(v * 100)}%`;
  const xTicks = o.xMax === 1 ? ticks01 : niceTicks(0, o.xMax, 8);
  let s = svgOpen(width, height, o.title) + titleBlock(width, o.title, o.subtitle);
  s += legendRows(width / 2, 66, lines);
  s += axes(box, { scale: x, ticks: xTicks, label: o.xLabel, ...(o.xMax === 1 ? { format: p0 } : {}) }, { scale: y, ticks: ticks01, label: o.yLabel, format: p0 });
  s += `<defs><clipPath id="${o.id}-clip"><rect x="${box.left - 6}" y="${box.top - 6}" width="${box.width + 12}" height="${box.height + 12}"/></clipPath></defs><g clip-path="url(#${o.id}-clip)">`;
  for (const se of o.series) {
    if (se.points.length === 0) continue;
    const pts = se.points.map(([a, b]): [number, number] => [x(a), y(b)]);
    s += `<path d="${pathD(simplify(pts, 0.4))}" fill="none" stroke="${se.color}" stroke-width="2.2" ${se.dash ? `stroke-dasharray="${DASH[se.dash]}"` : ''} stroke-linejoin="round"/>`;
    if (se.marker) {
      const [a, b] = pts[pts.length - 1]!;
      s += `<circle cx="${r2(a)}" cy="${r2(b)}" r="4.5" fill="${se.color}" stroke="#fff" stroke-width="1.5"/>`;
    }
  }
  s += '</g>';
  if (o.note) s += text(width / 2, height - 14, o.note, { size: 11, anchor: 'middle', color: COLORS.muted });
  return s + '</svg>';
}

const recallPts = (c: RankCurve, which: 'attack_recall' | 'record_recall'): [number, number][] =>
  c.points.filter((p) => p[which] !== null).map((p) => [p[which]!, p.precision]);

/** Precision against attack recall (solid) and record recall (dashed): combined findings and incidents. */
export function prChartSvg(r: LabelsEvaluation): string {
  const series: Series[] = [];
  const add = (c: RankCurve, color: string, name: string): void => {
    series.push({ label: `${name}: attacks (AP ${c.ap_attacks?.toFixed(2) ?? 'n/a'})`, color, dash: '', points: recallPts(c, 'attack_recall'), marker: true });
    series.push({ label: `${name}: records (AP ${c.ap_records?.toFixed(2) ?? 'n/a'})`, color, dash: 'dash', points: recallPts(c, 'record_recall'), marker: true });
  };
  add(r.curves.combined, COLORS.blue, `findings (${r.curves.combined.points.length})`);
  if (r.curves.incidents) add(r.curves.incidents, COLORS.vermillion, `incidents (${r.curves.incidents.points.length})`);
  return lineChart({
    id: 'pr-all',
    title: 'Precision-recall against the labels',
    subtitle: `${r.labels} labelled attacks; findings ranked by ${r.curves.combined.rank_by}${r.curves.incidents ? '; incidents by score' : ''}`,
    xLabel: 'Recall (attacks found, or labelled records covered)',
    yLabel: 'Precision (alerts that are true)',
    xMax: 1,
    series,
    note: 'Each curve keeps the top k alerts for k = 1 .. all; the dot is every alert (the tables\' numbers).',
  });
}

/** Per detector: precision against attack recall (solid) and record recall (dotted). */
export function detectorsChartSvg(r: LabelsEvaluation): string {
  const series: Series[] = [];
  r.curves.per_detector.forEach((c, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    series.push({ label: `${c.name}: attacks`, color, dash: '', points: recallPts(c, 'attack_recall'), marker: true });
    series.push({ label: `${c.name}: records`, color, dash: 'dot', points: recallPts(c, 'record_recall'), marker: true });
  });
  return lineChart({ id: 'pr-det', title: 'Precision-recall per detector', subtitle: 'each detector\'s findings alone, ranked strongest first', xLabel: 'Recall (attacks found, or labelled records covered)', yLabel: 'Precision (findings that are true)', xMax: 1, series });
}

/** Precision (solid), attack recall (dashed) and record recall (dotted) against the number of alerts kept. */
export function rankingChartSvg(r: LabelsEvaluation): string {
  const series: Series[] = [];
  const add = (c: RankCurve, color: string, name: string): void => {
    series.push({ label: `${name} precision`, color, dash: '', points: c.points.map((p) => [p.k, p.precision]) });
    series.push({ label: `${name} attack recall`, color, dash: 'dash', points: c.points.filter((p) => p.attack_recall !== null).map((p) => [p.k, p.attack_recall!]) });
    series.push({ label: `${name} record recall`, color, dash: 'dot', points: c.points.filter((p) => p.record_recall !== null).map((p) => [p.k, p.record_recall!]) });
  };
  add(r.curves.combined, COLORS.blue, 'findings');
  if (r.curves.incidents) add(r.curves.incidents, COLORS.vermillion, 'incidents');
  const xMax = Math.max(1, r.curves.combined.points.length, r.curves.incidents?.points.length ?? 0);
  return lineChart({ id: 'rank', title: 'Precision and recall over the ranking', subtitle: 'the k strongest alerts', xLabel: 'Alerts kept (k strongest)', yLabel: 'Precision / recall', xMax, series });
}

export function evaluationCharts(r: LabelsEvaluation): { pr: string; detectors: string; ranking: string } {
  return { pr: prChartSvg(r), detectors: detectorsChartSvg(r), ranking: rankingChartSvg(r) };
}

/** The charts stacked in one SVG (for one PNG). */
export function stackSvgs(svgs: readonly string[]): string {
  let y = 0;
  let w = 0;
  const parts: string[] = [];
  for (const s of svgs) {
    const m = /^<svg [^>]*width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/.exec(s);
    if (!m) throw new Error('stackSvgs: an SVG without width and height');
    parts.push(s.replace('<svg ', `<svg x="0" y="${y}" `));
    y += Number(m[2]);
    w = Math.max(w, Number(m[1]));
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${y}" viewBox="0 0 ${w} ${y}"><rect width="${w}" height="${y}" fill="#ffffff"/>${parts.join('')}</svg>`;
}

/** The PNG of `seclake evaluate --plot`: the precision-recall chart, per detector, and over the ranking. */
export function evaluationPng(r: LabelsEvaluation, charts = evaluationCharts(r)): Buffer {
  return svgToPng(stackSvgs([charts.pr, charts.detectors, charts.ranking]), 1.5);
}

// ---------------------------------------------------------------------------------------------------------------
// HTML

const CSS = `body{font-family:DejaVu Sans,Verdana,Arial,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em}.sub{color:#666;margin-top:0}table{border-collapse:collapse;margin:1em 0;font-size:14px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:1em 0}.kpi{border:1px solid #ddd;border-radius:4px;padding:8px 12px;min-width:150px}
.kpi b{display:block;font-size:22px}.kpi span{color:#666;font-size:13px}.note{color:#555;font-size:13px}figure{margin:1em 0}
.found{color:#009E73}.missed{color:#D55E00;font-weight:bold}code{background:#f4f4f4;padding:0 3px}`;

const kpi = (value: string, label: string): string => `<div class="kpi"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;
const row = (cells: (string | number)[], head = false): string => `<tr>${cells.map((c) => (head ? `<th>${c}</th>` : `<td>${c}</td>`)).join('')}</tr>`;

export interface ReportMeta {
  lake?: string;
  labelsFile?: string;
  generatedAt?: string;
  labels?: readonly AttackLabel[];
}

/** The HTML report: headline figures, tables, the charts inline, the matching rules. */
export function labelsReportHtml(r: LabelsEvaluation, meta: ReportMeta = {}, charts = evaluationCharts(r)): string {
  const f = r.findings;
  const i = r.incidents;
  const a = r.alerts_per_day;
  const h: string[] = [];
  h.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>seclake evaluation</title><style>${CSS}</style></head><body>`);
  h.push(`<h1>Evaluation against labelled attacks</h1><p class="sub">${[meta.lake ? `lake <code>${esc(meta.lake)}</code>` : '', meta.labelsFile ? `labels <code>${esc(meta.labelsFile)}</code>` : '', `${r.labels} attacks`, meta.generatedAt ? esc(meta.generatedAt) : ''].filter(Boolean).join(' · ')}</p>`);
  h.push('<div class="kpis">');
  h.push(kpi(pct(f.precision), `finding precision (${f.true_positives}/${f.findings})`));
  h.push(kpi(i ? pct(i.precision) : 'n/a', i ? `incident precision (${i.true_positives}/${i.incidents})` : 'incident precision (no incidents)'));
  h.push(kpi(frac(f.attacks_detected, f.attacks), 'attacks found by findings'));
  if (i) h.push(kpi(frac(i.attacks_detected, i.attacks), 'attacks found by incidents'));
  h.push(kpi(rate(a.findings_per_day), 'findings per day'));
  h.push(kpi(rate(a.incidents_per_day), 'incidents per day'));
  h.push('</div>');
  if (r.suppressed > 0) h.push(`<p class="note">${r.suppressed} suppressed finding(s) (status_id 3) are left out of every figure.</p>`);
  if (!i) h.push(`<p class="note">Incidents not evaluated${r.incidents_note ? `: ${esc(r.incidents_note)}` : ''}.</p>`);

  h.push('<h2>Per detector</h2><table>');
  h.push(row(['detector', 'findings', 'true', 'precision', 'attacks found', 'pair record recall', 'window record recall'], true));
  const rr = (d: number, n: number, x: number | null): string => (n > 0 ? `${pct(x)} (${d}/${n})` : 'n/a');
  for (const [name, s] of [...f.per_detector.map((d): [string, Scores] => [`${d.name} (${d.detector})`, d]), ['<b>combined (union)</b>', f] as [string, Scores]]) {
    h.push(row([name.startsWith('<b>') ? name : esc(name), s.findings, s.true_positives, pct(s.precision), `${frac(s.attacks_detected, s.attacks)} (${pct(s.attack_recall)})`, s.pair_findings > 0 ? rr(s.detected_records, s.scored_records, s.record_recall) : '', s.window_findings > 0 ? rr(s.window_detected_records, s.window_records, s.window_record_recall) : '']));
  }
  if (i) h.push(row(['<b>incidents</b>', i.incidents, i.true_positives, pct(i.precision), `${frac(i.attacks_detected, i.attacks)} (${pct(i.attack_recall)})`, '', `${rr(i.detected_records, i.records, i.record_recall)} (any record)`]));
  h.push('</table>');

  const kinds = Object.keys(f.per_kind);
  if (kinds.length > 0) {
    h.push('<h2>Per attack kind</h2><p class="note">Attacks found / attacks.</p><table>');
    h.push(row(['kind', 'category', ...f.per_detector.map((d) => esc(d.name)), 'combined', ...(i ? ['incidents'] : [])], true));
    const cell = (s: { per_kind: Scores['per_kind'] }, k: string): string => {
      const x = s.per_kind[k];
      return x ? frac(x.detected, x.attacks) : `0/${f.per_kind[k]!.attacks}`;
    };
    for (const k of kinds) h.push(row([esc(k), esc(f.per_kind[k]!.category ?? ''), ...f.per_detector.map((d) => cell(d, k)), cell(f, k), ...(i ? [cell(i, k)] : [])]));
    h.push('</table>');
  }

  h.push('<h2>Per attack</h2><table>');
  h.push(row(['attack', 'kind', 'found', 'findings', 'by', ...(i ? ['incidents'] : []), 'description'], true));
  f.per_attack.forEach((x, n) =>
    h.push(row([esc(x.attack_id), esc(x.kind), x.detected ? '<span class="found">found</span>' : '<span class="missed">missed</span>', x.findings, esc(x.detected_by.join(', ')), ...(i ? [i.per_attack[n]!.incidents] : []), `<span style="text-align:left;display:block">${esc(x.description)}</span>`])),
  );
  h.push('</table>');

  h.push('<h2>Alerts per day</h2>');
  h.push(`<p>${esc(new Date(a.from).toISOString())} .. ${esc(new Date(a.to).toISOString())} (${fmtNum(a.days, 3)} days): ${a.findings} findings (${rate(a.findings_per_day)}/day)${a.incidents === null ? '' : `, ${a.incidents} incidents (${rate(a.incidents_per_day)}/day)`}.</p><table>`);
  h.push(row(['day (UTC)', 'findings', ...(a.incidents === null ? [] : ['incidents'])], true));
  for (const d of a.by_day) h.push(row([d.day, d.findings, ...(d.incidents === null ? [] : [d.incidents])]));
  h.push('</table>');

  h.push('<h2>Precision-recall</h2>');
  h.push(`<figure>${charts.pr}</figure>`);
  h.push(`<figure>${charts.detectors}</figure>`);
  h.push(`<figure>${charts.ranking}</figure>`);
  h.push('<table>' + row(['alerts', 'count', 'ranked by', 'AP (attack recall)', 'AP (record recall)'], true));
  for (const c of [r.curves.combined, ...r.curves.per_detector, ...(r.curves.incidents ? [r.curves.incidents] : [])]) h.push(row([esc(c.name), c.points.length, esc(c.rank_by), c.ap_attacks?.toFixed(3) ?? 'n/a', c.ap_records?.toFixed(3) ?? 'n/a']));
  h.push('</table>');

  if (f.false_positive_examples.length > 0) {
    h.push('<h2>False positives (first few)</h2><table>' + row(['time', 'model', 'entity', 'address or window'], true));
    for (const x of f.false_positive_examples) h.push(row([new Date(x.time).toISOString(), esc(x.model ?? ''), esc(x.entity), esc(x.ip ? x.ip : `${new Date(x.time).toISOString().slice(11, 16)}-${new Date(x.end ?? x.time).toISOString().slice(11, 16)}`)]));
    h.push('</table>');
  }
  h.push(`<h2>Matching rules</h2><p class="note">${esc(r.matching)}</p>`);
  h.push('<p class="note">Generated by <code>seclake evaluate</code>; the labels format is docs/labels.md.</p></body></html>\n');
  return h.join('\n');
}
