/**
 * The calibration report: one JSON-able summary (what `--json` prints) and a self-contained HTML page holding the
 * numbers, the tables, the model's hyperparameters and the three charts as inline SVG. No scripts, no external
 * resources, so it can be mailed or attached to a ticket.
 */
import type { Calibration } from '../detectors/calibration.js';
import { histogramSvg, mixLabel, prSvg, rocSvg } from './charts.js';
import type { Evaluation, FeedbackEffect } from './evaluate.js';
import { esc, fmtNum, fmtPct } from './svg.js';

export interface InputSummary {
  /** e.g. `normal.csv`, `lake window 2024-01-01T00:00Z .. 2024-01-08T00:00Z`, `generated: asn` */
  source: string;
  /** Pairs read (before dropping unknown entities). */
  pairs: number;
  /** Pairs used in the calibration. */
  used: number;
  /** Pairs whose entity the model never saw in training: reported, not mixed in. */
  unknownEntityPairs: number;
  unknownEntities: number;
  /** A few unknown entities, for the report. */
  unknownExamples: string[];
  /** Their scores' median (≈0 for untouched embedding rows), when any. */
  unknownMedianScore: number | null;
  skippedLines: number;
}

export interface ReportInput {
  /** Model file name as given (shown as is; callers pass a relative or base name). */
  modelName: string;
  hyperparameters: Record<string, unknown>;
  modelMetadata: Record<string, unknown>;
  normal: InputSummary;
  abnormal: InputSummary & { kind: string; description: string };
  evaluation: Evaluation;
  /**
   * The score calibrated on, lower = more anomalous (default dot_product): the detector's native score, or its
   * negation ("−name") for detectors whose anomalies score high.
   */
  scoreName?: string;
  /** Raw scores used (for the histogram). */
  normalScores: ArrayLike<number>;
  abnormalScores: ArrayLike<number>;
  /** `unresolved`: labels naming only a finding uid; `unseen`: labels whose entity the model never saw (not used). */
  feedback?: { effect: FeedbackEffect; unresolved: number; unseen: number; before: Evaluation };
  seed?: number;
  /** Whether the calibration was written to the model file. */
  stored: boolean;
  /** A note on the attribution needed for the ASN data, when it was used. */
  attribution?: string;
}

export interface ReportJson {
  model: string;
  stored: boolean;
  rule: Calibration['rule'];
  threshold: number;
  flag_when: string;
  fpr: number | null;
  recall: number | null;
  precision: number | null;
  auc: number;
  average_precision: number;
  average_precision_by_mix: { ratio: number; ap: number }[];
  confusion: Evaluation['confusion'];
  thresholds_at_fpr: { target_fpr: number; threshold: number; fpr: number; recall: number; precision: number | null; under_resolved: boolean }[];
  mixes: Evaluation['mixes'];
  normal: InputSummary;
  abnormal: InputSummary & { kind: string; description: string };
  normal_score_percentiles: Record<string, number>;
  feedback?: FeedbackEffect & { unresolved: number; unseen: number };
  calibration: Calibration;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Selected percentiles of the normal scores from the stored 0.1%-step quantiles. */
export function normalPercentiles(q: readonly number[]): Record<string, number> {
  const at = (p: number): number => q[Math.round(p * (q.length - 1))]!;
  return { p0_1: at(0.001), p1: at(0.01), p5: at(0.05), p25: at(0.25), p50: at(0.5), p75: at(0.75), p99: at(0.99) };
}

export function reportJson(r: ReportInput): ReportJson {
  const ev = r.evaluation;
  const out: ReportJson = {
    model: r.modelName,
    stored: r.stored,
    rule: ev.calibration.rule,
    threshold: ev.chosen.threshold,
    flag_when: `${r.scoreName ?? 'dot_product'} < ${ev.chosen.threshold}`,
    fpr: finiteOrNull(ev.chosen.fpr),
    recall: finiteOrNull(ev.chosen.recall),
    precision: finiteOrNull(ev.chosen.precision),
    auc: ev.auc,
    average_precision: ev.averagePrecision,
    average_precision_by_mix: ev.apByMix,
    confusion: ev.confusion,
    thresholds_at_fpr: ev.targets.map((t) => ({
      target_fpr: t.target,
      threshold: t.point.threshold,
      fpr: t.point.fpr,
      recall: t.point.recall,
      precision: finiteOrNull(t.point.precision),
      under_resolved: t.underResolved,
    })),
    mixes: ev.mixes,
    normal: r.normal,
    abnormal: r.abnormal,
    normal_score_percentiles: normalPercentiles(ev.normalQuantiles),
    calibration: ev.calibration,
  };
  if (r.feedback) out.feedback = { ...r.feedback.effect, unresolved: r.feedback.unresolved, unseen: r.feedback.unseen };
  return out;
}

export function ruleText(rule: Calibration['rule'], threshold?: number): string {
  switch (rule.kind) {
    case 'max_fpr':
      return `highest recall with FPR ≤ ${fmtPct(rule.max_fpr, 2)}`;
    case 'min_precision':
      return `highest recall with precision ≥ ${fmtPct(rule.min_precision, 1)}` + (rule.ratio !== null ? ` at ${rule.ratio}:1 normal:abnormal` : ' on the evaluation mix');
    case 'threshold':
      return `fixed threshold ${threshold !== undefined ? fmtNum(threshold, 6) : ''}`.trim();
    case 'three_sigma':
      return `normal scores' mean + ${rule.z_factor} std`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Charts (shared by the HTML report and --plot)

/** Legend names for the abnormal sources (the subtitle has the long description). */
const SHORT_KIND: Record<string, string> = {
  random: 'random IPv4',
  shuffled: 'shuffled pairs',
  asn: 'ASN draw_ip',
  file: 'labelled pairs',
};

export function chartsFor(r: ReportInput): { histogram: string; roc: string; pr: string } {
  const ev = r.evaluation;
  const sub = `${r.modelName} · normal: ${r.normal.source} · abnormal: ${r.abnormal.description}`;
  const thr = ev.chosen.threshold;
  const histogram = histogramSvg({
    ...(r.scoreName ? { scoreName: r.scoreName } : {}),
    normal: r.normalScores,
    abnormal: r.abnormalScores,
    normalLabel: `Normal pairs (n=${r.normal.used.toLocaleString('en-US')})`,
    abnormalLabel: `Abnormal: ${SHORT_KIND[r.abnormal.kind] ?? r.abnormal.kind} (n=${r.abnormal.used.toLocaleString('en-US')})`,
    threshold: {
      value: thr,
      label: `Threshold ${fmtNum(thr, 4)}: FPR ${fmtPct(ev.chosen.fpr, 2)}, recall ${fmtPct(ev.chosen.recall)}`,
    },
    marks: ev.targets.map((t) => ({ value: t.point.threshold, label: `FPR ${fmtPct(t.target, 1)}` })),
    subtitle: sub,
  });
  const roc = rocSvg({ curve: ev.curve, auc: ev.auc, chosen: ev.chosen, targets: ev.targets, subtitle: sub, ...(r.scoreName ? { scoreName: r.scoreName } : {}) });
  const pr = prSvg({
    curve: ev.curve,
    mixes: [undefined, 10, 100, 1000],
    ap: [ev.averagePrecision, ...[10, 100, 1000].map((m) => ev.apByMix.find((a) => a.ratio === m)!.ap)],
    chosen: ev.chosen,
    subtitle: sub,
  });
  return { histogram, roc, pr };
}

// ---------------------------------------------------------------------------------------------------------------
// HTML

const CSS = `
body{font-family:"DejaVu Sans",Verdana,Arial,sans-serif;color:#222;max-width:1060px;margin:24px auto;padding:0 16px;line-height:1.45}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:8px 0 12px;font-size:14px}
th,td{border:1px solid #d6d6d6;padding:4px 10px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.kpi{border:1px solid #d6d6d6;border-radius:6px;padding:8px 14px;min-width:130px}
.kpi b{display:block;font-size:22px}.kpi span{color:#555;font-size:13px}
.note{color:#555;font-size:13.5px}.warn{color:#8a4b00}
figure{margin:16px 0}svg{max-width:100%;height:auto}
code{background:#f4f4f4;padding:1px 4px;border-radius:3px}
`;

function row(cells: (string | number)[], header = false, leftCols = 1): string {
  const tag = header ? 'th' : 'td';
  return `<tr>${cells.map((c, i) => `<${tag}${i < leftCols ? ' class="l"' : ''}>${typeof c === 'number' ? esc(c.toLocaleString('en-US')) : c}</${tag}>`).join('')}</tr>`;
}

function kpi(value: string, label: string): string {
  return `<div class="kpi"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;
}

export function reportHtml(r: ReportInput, charts = chartsFor(r)): string {
  const sn = r.scoreName ?? 'dot_product';
  const ev = r.evaluation;
  const c = ev.chosen;
  const j = reportJson(r);
  const h: string[] = [];
  h.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>seclake calibration: ${esc(r.modelName)}</title><style>${CSS}</style></head><body>`);
  h.push(`<h1>Threshold calibration</h1><p class="sub">Model <code>${esc(r.modelName)}</code> · ${esc(ev.calibration.created_at)}${r.seed !== undefined ? ` · seed ${r.seed}` : ''} · ${r.stored ? 'stored in the model file' : '<span class="warn">not stored (dry run)</span>'}</p>`);

  h.push('<h2>Decision</h2>');
  h.push(`<p>Rule: <b>${esc(ruleText(ev.calibration.rule, c.threshold))}</b>. A pair is flagged when <code>${esc(sn)} &lt; ${esc(fmtNum(c.threshold, 6))}</code> (anomaly score <code>−${esc(sn)} &gt; ${esc(fmtNum(-c.threshold, 6))}</code>).</p>`);
  h.push('<div class="kpis">');
  h.push(kpi(ev.auc.toFixed(4), 'ROC AUC'));
  h.push(kpi(ev.averagePrecision.toFixed(4), 'average precision (evaluation mix)'));
  h.push(kpi(fmtNum(c.threshold, 4), `threshold (${esc(sn)})`));
  h.push(kpi(fmtPct(c.fpr, 2), 'false positive rate'));
  h.push(kpi(fmtPct(c.recall, 1), 'recall'));
  h.push(kpi(fmtPct(c.precision, 1), `precision at ${fmtNum(ev.curve.nNormal / ev.curve.nAbnormal, 3)}:1`));
  h.push('</div>');
  h.push('<table>' + row(['', 'flagged', 'not flagged'], true));
  h.push(row(['abnormal pairs', ev.confusion.tp, ev.confusion.fn]));
  h.push(row(['normal pairs', ev.confusion.fp, ev.confusion.tn]) + '</table>');

  h.push('<h2>Thresholds for standard false-positive budgets</h2><table>');
  h.push(row(['FPR budget', `threshold (flag if ${esc(sn)} &lt;)`, 'FPR measured', 'recall', 'precision (evaluation mix)'], true));
  for (const t of ev.targets) {
    h.push(
      row([
        fmtPct(t.target, 1) + (t.underResolved ? ' <span class="warn">*</span>' : ''),
        esc(fmtNum(t.point.threshold, 5)),
        fmtPct(t.point.fpr, 3),
        fmtPct(t.point.recall, 2),
        fmtPct(t.point.precision, 2),
      ]),
    );
  }
  h.push('</table>');
  if (ev.targets.some((t) => t.underResolved)) {
    h.push(`<p class="note warn">* fewer than one normal pair per budget step (${ev.curve.nNormal.toLocaleString('en-US')} normal pairs): the budget cannot be resolved; use more held-out normal traffic.</p>`);
  }

  const sup = ev.calibration.support;
  if (sup) {
    h.push('<h2>Support</h2>');
    h.push(`<p class="note${sup.sufficient ? '' : ' warn'}"><b>${sup.sufficient ? 'Sufficient' : 'Low support'}</b>: ${esc(sup.note)}.</p>`);
  }
  const pe = ev.calibration.per_entity;
  if (pe) {
    const ents = Object.entries(pe.entities).sort((a, b) => b[1].n - a[1].n);
    h.push('<h2>Per-entity thresholds</h2>');
    h.push(
      `<p class="note">Each entity's own ${fmtPct(pe.target_fpr, 2)} quantile of its held-out normal scores, shrunk toward its group's and the global threshold with the weight n / (n + ${pe.prior_n.toLocaleString('en-US')}); ` +
        `an own quantile needs ${pe.min_n.toLocaleString('en-US')} pairs to be measured. ${ents.length} entities, ${Object.keys(pe.groups).length} groups (of at least two entities).</p><table>`,
    );
    h.push(row(['entity', 'group', 'held-out pairs', 'own quantile', `threshold (flag if ${esc(sn)} &lt;)`], true));
    for (const [e, x] of ents.slice(0, 50)) h.push(row([esc(e), esc(x.group ?? ''), x.n.toLocaleString('en-US'), x.own === null ? 'too few' : esc(fmtNum(x.own, 4)), esc(fmtNum(x.threshold, 4))]));
    h.push('</table>');
    if (ents.length > 50) h.push(`<p class="note">… ${ents.length - 50} more (seclake calibrate --json lists every one).</p>`);
  }

  h.push('<h2>Confusion counts by normal:abnormal mix</h2>');
  h.push(`<p class="note">Expected counts at the chosen threshold in ${ev.mixes[0]!.total.toLocaleString('en-US')} pairs. Recall and FPR do not depend on how common attacks are, <b>precision does</b>: at realistic base rates (many normal logins per attack) most alerts are false positives unless the FPR is far below the attack rate.</p><table>`);
  h.push(row(['normal:abnormal', 'abnormal', 'flagged abnormal (TP)', 'missed (FN)', 'normal', 'flagged normal (FP)', 'precision', 'AP'], true));
  for (const m of ev.mixes) {
    const ap = ev.apByMix.find((a) => a.ratio === m.ratio)?.ap;
    h.push(row([`${m.ratio.toLocaleString('en-US')}:1`, m.abnormal, m.tp, m.fn, m.normal, m.fp, fmtPct(m.precision, 2), ap !== undefined ? ap.toFixed(4) : '']));
  }
  h.push('</table>');

  if (r.feedback) {
    const f = r.feedback.effect;
    h.push('<h2>Analyst feedback folded in</h2>');
    h.push(`<p>${f.false_positives} false positive(s) joined the normal set${f.weight > 1 ? ` (each counted ${f.weight}×)` : ''}, ${f.true_positives} true positive(s) joined the abnormal set${r.feedback.unresolved ? `; ${r.feedback.unresolved} label(s) named only a finding uid and could not be resolved to a pair` : ''}${r.feedback.unseen ? `; ${r.feedback.unseen} label(s) name an entity the model never saw and were not used` : ''}.</p><table>`);
    h.push(row(['', 'before', 'after'], true));
    h.push(row(['threshold', esc(fmtNum(f.threshold_before, 5)), esc(fmtNum(f.threshold_after, 5))]));
    h.push(row(['labelled false positives still flagged', `${f.fp_flagged_before} / ${f.false_positives}`, `${f.fp_flagged_after} / ${f.false_positives}`]));
    h.push(row(['labelled true positives flagged', `${f.tp_flagged_before} / ${f.true_positives}`, `${f.tp_flagged_after} / ${f.true_positives}`]));
    h.push(row(['recall (generated/labelled abnormal)', fmtPct(r.feedback.before.chosen.recall, 2), fmtPct(ev.chosen.recall, 2)]));
    h.push(row(['FPR', fmtPct(r.feedback.before.chosen.fpr, 3), fmtPct(ev.chosen.fpr, 3)]) + '</table>');
    if (f.silence_all_fps && f.fp_flagged_after > 0) {
      h.push(`<p class="note">To silence every labelled false positive the threshold would have to be ${esc(fmtNum(f.silence_all_fps.threshold, 5))} or lower (recall ${fmtPct(f.silence_all_fps.recall, 1)}); pass it with <code>--threshold</code>, or count each label more with <code>--label-weight</code>.</p>`);
    }
  }

  h.push('<h2>Score distributions</h2>');
  h.push(`<figure>${charts.histogram}</figure>`);
  h.push(`<p class="note">Normal ${esc(sn)} percentiles: ${Object.entries(j.normal_score_percentiles).map(([k, v]) => `${k.replace('p', '').replace('_', '.')}%: ${esc(fmtNum(v, 4))}`).join(' · ')}. Stored with the model as ${ev.normalQuantiles.length} quantiles, from which <code>anomaly_percentile</code> (share of normal pairs scoring higher) is computed at scoring time.</p>`);
  h.push('<h2>ROC curve</h2>' + `<figure>${charts.roc}</figure>`);
  h.push('<h2>Precision-recall</h2>' + `<figure>${charts.pr}</figure>`);
  h.push(`<p class="note">Average precision by mix: ${ev.apByMix.map((a) => `${esc(mixLabel(a.ratio, ev.curve))} ${a.ap.toFixed(4)}`).join(' · ')}.</p>`);

  h.push('<h2>Inputs</h2><table>');
  h.push(row(['', 'source', 'pairs read', 'used', 'pairs with unseen entity', 'unseen entities', 'skipped lines'], true, 2));
  h.push(row(['normal', ...inputRowsCells(r.normal)], false, 2));
  h.push(row(['abnormal', ...inputRowsCells(r.abnormal)], false, 2));
  h.push('</table>');
  for (const [name, s] of [['normal', r.normal], ['abnormal', r.abnormal]] as const) {
    if (s.unknownEntityPairs > 0) {
      h.push(`<p class="note">${name}: ${s.unknownEntityPairs.toLocaleString('en-US')} pair(s) of ${s.unknownEntities.toLocaleString('en-US')} entit${s.unknownEntities === 1 ? 'y' : 'ies'} the model never saw in training are reported here and left out of the calibration (their scores "will not mean anything"), e.g. ${s.unknownExamples.map((e) => `<code>${esc(e)}</code>`).join(', ')}${s.unknownMedianScore !== null ? `; median ${esc(sn)} ${esc(fmtNum(s.unknownMedianScore, 3))}` : ''}.</p>`);
    }
  }
  h.push(`<p class="note">Abnormal pairs: ${esc(r.abnormal.description)}.</p>`);
  if (r.attribution) h.push(`<p class="note">${r.attribution}</p>`);

  h.push('<h2>Model</h2><table>' + row(['hyperparameter', 'value'], true));
  for (const [k, v] of Object.entries(r.hyperparameters)) h.push(row([esc(k), esc(String(v))]));
  h.push('</table>');
  const meta = Object.entries(r.modelMetadata).filter(([, v]) => v === null || typeof v !== 'object');
  if (meta.length > 0) {
    h.push('<table>' + row(['training metadata', 'value'], true));
    for (const [k, v] of meta) h.push(row([esc(k), esc(String(v))]));
    h.push('</table>');
  }
  h.push(`<p class="note">Generated by <code>seclake calibrate</code>. Convention: higher ${esc(sn)} = more normal; anomaly score = −${esc(sn)}.</p>`);
  h.push('</body></html>\n');
  return h.join('\n');
}

function inputRowsCells(s: InputSummary): (string | number)[] {
  return [esc(s.source), s.pairs, s.used, s.unknownEntityPairs, s.unknownEntities, s.skippedLines];
}
