/**
 * The calibration charts, written as plain SVG (no charting library, no browser): overlaid score histograms with the
 * threshold (the tutorial's figure), the ROC curve (linear and log-FPR panels) and precision-recall curves at several
 * normal:abnormal mixes. Colours are Okabe–Ito; series also differ by line style so they survive greyscale printing.
 */
import { precisionAt, quantiles, type Curve, type OperatingPoint } from './metrics.js';
import {
  COLORS,
  FONT,
  esc,
  fmtNum,
  fmtPct,
  linearScale,
  logScale,
  niceTicks,
  pathD,
  r2,
  simplify,
  textWidth,
  type Scale,
} from './svg.js';

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface LegendItem {
  label: string;
  color: string;
  kind: 'fill' | 'line' | 'dash' | 'dot' | 'marker';
}

const TITLE_SIZE = 18;
const LABEL_SIZE = 13;
const TICK_SIZE = 11.5;

export function svgOpen(width: number, height: number, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="${FONT}" role="img" aria-label="${esc(title)}">` +
    `<title>${esc(title)}</title><rect width="${width}" height="${height}" fill="#ffffff"/>`
  );
}

export function text(x: number, y: number, s: string, opts: { size?: number; anchor?: 'start' | 'middle' | 'end'; weight?: string; color?: string; rotate?: boolean; baseline?: string } = {}): string {
  const size = opts.size ?? LABEL_SIZE;
  const attrs = [
    `x="${r2(x)}"`,
    `y="${r2(y)}"`,
    `font-size="${size}"`,
    `fill="${opts.color ?? COLORS.text}"`,
    opts.anchor ? `text-anchor="${opts.anchor}"` : '',
    opts.weight ? `font-weight="${opts.weight}"` : '',
    opts.baseline ? `dominant-baseline="${opts.baseline}"` : '',
    opts.rotate ? `transform="rotate(-90 ${r2(x)} ${r2(y)})"` : '',
  ].filter(Boolean);
  return `<text ${attrs.join(' ')}>${esc(s)}</text>`;
}

export function titleBlock(width: number, title: string, subtitle?: string): string {
  let s = text(width / 2, 28, title, { size: TITLE_SIZE, anchor: 'middle', weight: 'bold' });
  if (subtitle) s += text(width / 2, 48, subtitle, { size: 12, anchor: 'middle', color: COLORS.muted });
  return s;
}

export interface AxisSpec {
  scale: Scale;
  ticks: number[];
  label: string;
  format?: (v: number) => string;
}

/** Grid, frame, ticks and axis labels for one panel. */
export function axes(box: Box, xa: AxisSpec, ya: AxisSpec): string {
  const fx = xa.format ?? ((v: number) => fmtNum(v));
  const fy = ya.format ?? ((v: number) => fmtNum(v));
  const bottom = box.top + box.height;
  const right = box.left + box.width;
  let s = '<g>';
  for (const t of xa.ticks) {
    const x = xa.scale(t);
    if (x < box.left - 0.5 || x > right + 0.5) continue;
    s += `<line x1="${r2(x)}" y1="${box.top}" x2="${r2(x)}" y2="${bottom}" stroke="${COLORS.grid}" stroke-width="1"/>`;
    s += `<line x1="${r2(x)}" y1="${bottom}" x2="${r2(x)}" y2="${bottom + 5}" stroke="${COLORS.axis}" stroke-width="1"/>`;
    s += text(x, bottom + 18, fx(t), { size: TICK_SIZE, anchor: 'middle', color: COLORS.axis });
  }
  for (const t of ya.ticks) {
    const y = ya.scale(t);
    if (y < box.top - 0.5 || y > bottom + 0.5) continue;
    s += `<line x1="${box.left}" y1="${r2(y)}" x2="${right}" y2="${r2(y)}" stroke="${COLORS.grid}" stroke-width="1"/>`;
    s += `<line x1="${box.left - 5}" y1="${r2(y)}" x2="${box.left}" y2="${r2(y)}" stroke="${COLORS.axis}" stroke-width="1"/>`;
    s += text(box.left - 8, y + 4, fy(t), { size: TICK_SIZE, anchor: 'end', color: COLORS.axis });
  }
  s += `<rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}" fill="none" stroke="${COLORS.axis}" stroke-width="1"/>`;
  s += text(box.left + box.width / 2, bottom + 40, xa.label, { anchor: 'middle' });
  s += text(box.left - 52, box.top + box.height / 2, ya.label, { anchor: 'middle', rotate: true });
  return s + '</g>';
}

function legendSwatch(x: number, y: number, item: LegendItem): string {
  switch (item.kind) {
    case 'fill':
      return `<rect x="${x}" y="${y - 6}" width="22" height="12" fill="${item.color}" fill-opacity="0.35" stroke="${item.color}" stroke-width="2"/>`;
    case 'line':
      return `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${item.color}" stroke-width="2.5"/>`;
    case 'dash':
      return `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${item.color}" stroke-width="2" stroke-dasharray="6 3"/>`;
    case 'dot':
      return `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${item.color}" stroke-width="2" stroke-dasharray="2 3"/>`;
    case 'marker':
      return `<circle cx="${x + 11}" cy="${y}" r="5" fill="${item.color}" stroke="#fff" stroke-width="1.5"/>`;
  }
}

/** A boxed legend; anchored at its top-left, or top-right when `alignRight`. Returns the SVG and its height. */
function legendWidth(items: LegendItem[]): number {
  return Math.max(...items.map((i) => textWidth(i.label, 12))) + 22 + 26;
}

function legend(x: number, y: number, items: LegendItem[], alignRight = false): string {
  const size = 12;
  const lineH = 19;
  const w = legendWidth(items);
  const h = items.length * lineH + 10;
  const left = alignRight ? x - w : x;
  let s = `<g><rect x="${r2(left)}" y="${r2(y)}" width="${r2(w)}" height="${h}" fill="#ffffff" fill-opacity="0.92" stroke="#cccccc" rx="3"/>`;
  items.forEach((item, i) => {
    const cy = y + 5 + lineH * i + lineH / 2;
    s += legendSwatch(left + 8, cy, item);
    s += text(left + 38, cy + 4, item.label, { size });
  });
  return s + '</g>';
}

/** Legend items laid out in centred rows no wider than `maxWidth` (outside the plot area, so they never hide data). */
export function legendLines(items: LegendItem[], maxWidth: number): LegendItem[][] {
  const lines: LegendItem[][] = [[]];
  let used = 0;
  for (const item of items) {
    const w = 30 + textWidth(item.label, 12) + 26;
    if (used + w > maxWidth && lines[lines.length - 1]!.length > 0) {
      lines.push([]);
      used = 0;
    }
    lines[lines.length - 1]!.push(item);
    used += w;
  }
  return lines;
}

export const LEGEND_LINE = 21;

/** Draw legend rows centred at cx, the first row's centre line at y. */
export function legendRows(cx: number, y: number, lines: LegendItem[][]): string {
  const size = 12;
  const gap = 26;
  let s = '<g>';
  lines.forEach((items, row) => {
    const widths = items.map((i) => 30 + textWidth(i.label, size));
    const total = widths.reduce((a, b) => a + b, 0) + gap * (items.length - 1);
    let x = cx - total / 2;
    const cy = y + row * LEGEND_LINE;
    items.forEach((item, i) => {
      s += legendSwatch(x, cy, item);
      s += text(x + 30, cy + 4, item.label, { size });
      x += widths[i]! + gap;
    });
  });
  return s + '</g>';
}

// ---------------------------------------------------------------------------------------------------------------
// Histogram

export interface HistogramInput {
  normal: ArrayLike<number>;
  abnormal: ArrayLike<number>;
  normalLabel: string;
  abnormalLabel: string;
  threshold?: { value: number; label: string };
  /** Further thresholds to mark lightly (e.g. at FPR 0.1% and 5%). */
  marks?: { value: number; label: string }[];
  title?: string;
  subtitle?: string;
  width?: number;
  height?: number;
  /** Force the number of bins (default: Freedman–Diaconis, 30…120). */
  bins?: number;
  /** What the scores are (default dot_product): lower = more anomalous. */
  scoreName?: string;
}

function sorted(xs: ArrayLike<number>): Float64Array {
  return Float64Array.from(xs as ArrayLike<number>).sort();
}

function iqr(s: Float64Array): number {
  const q = quantiles(s, 5);
  return q[3]! - q[1]!;
}

export interface Bins {
  lo: number;
  width: number;
  count: number;
}

/** Shared bins for two samples: range covers the central 99.6% of both and the thresholds; FD width, 30…120 bins. */
export function chooseBins(a: Float64Array, b: Float64Array, include: number[] = [], forced?: number): Bins {
  const qa = quantiles(a, 1001);
  const qb = quantiles(b, 1001);
  let lo = Math.min(qa[2]!, qb[2]!, ...include);
  let hi = Math.max(qa[998]!, qb[998]!, ...include);
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.03;
  lo -= pad;
  hi += pad;
  let count = forced ?? 0;
  if (!count) {
    const fd = (s: Float64Array): number => (2 * iqr(s)) / Math.cbrt(s.length);
    const h = Math.min(...[fd(a), fd(b)].filter((x) => x > 0));
    count = Number.isFinite(h) ? Math.round((hi - lo) / h) : 60;
    count = Math.max(30, Math.min(120, count));
  }
  return { lo, width: (hi - lo) / count, count };
}

function histogram(s: Float64Array, bins: Bins): { density: number[]; outside: number } {
  const counts = new Array<number>(bins.count).fill(0);
  let outside = 0;
  for (const v of s) {
    const k = Math.floor((v - bins.lo) / bins.width);
    if (k < 0 || k >= bins.count) outside++;
    else counts[k]!++;
  }
  return { density: counts.map((c) => c / (s.length * bins.width)), outside };
}

function stepPath(density: number[], bins: Bins, x: Scale, y: Scale, closed: boolean): string {
  const pts: [number, number][] = [[x(bins.lo), y(0)]];
  for (let k = 0; k < density.length; k++) {
    const x0 = x(bins.lo + k * bins.width);
    const x1 = x(bins.lo + (k + 1) * bins.width);
    pts.push([x0, y(density[k]!)], [x1, y(density[k]!)]);
  }
  pts.push([x(bins.lo + bins.count * bins.width), y(0)]);
  return pathD(pts) + (closed ? 'Z' : '');
}

export function histogramSvg(input: HistogramInput): string {
  const width = input.width ?? 900;
  const height = input.height ?? 540;
  const title = input.title ?? 'Score distributions: normal vs abnormal pairs';
  const a = sorted(input.normal);
  const b = sorted(input.abnormal);
  const include = input.threshold ? [input.threshold.value] : [];
  const bins = chooseBins(a, b, include, input.bins);
  const ha = histogram(a, bins);
  const hb = histogram(b, bins);
  const items: LegendItem[] = [
    { label: input.normalLabel, color: COLORS.blue, kind: 'fill' },
    { label: input.abnormalLabel, color: COLORS.vermillion, kind: 'fill' },
  ];
  if (input.threshold) items.push({ label: input.threshold.label, color: COLORS.black, kind: 'dash' });
  const lines = legendLines(items, width - 60);
  const top = 70 + lines.length * LEGEND_LINE + 1;
  const box: Box = { left: 78, top, width: width - 78 - 28, height: height - top - 78 };
  const hiX = bins.lo + bins.count * bins.width;
  const x = linearScale([bins.lo, hiX], [box.left, box.left + box.width]);
  const maxY = (Math.max(...ha.density, ...hb.density) || 1) * 1.08;
  const yTicks = niceTicks(0, maxY, 5);
  const y = linearScale([0, maxY], [box.top + box.height, box.top]);

  let s = svgOpen(width, height, title) + titleBlock(width, title, input.subtitle);
  s += axes(
    box,
    { scale: x, ticks: niceTicks(bins.lo, hiX, 9), label: `${input.scoreName ?? 'dot_product'} (model score; lower = more anomalous)` },
    { scale: y, ticks: yTicks, label: 'Density' },
  );
  s += `<defs><clipPath id="hist-clip"><rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}"/></clipPath></defs>`;
  s += `<g clip-path="url(#hist-clip)">`;
  if (input.threshold) {
    const tx = x(input.threshold.value);
    s += `<rect x="${box.left}" y="${box.top}" width="${r2(Math.max(0, tx - box.left))}" height="${box.height}" fill="${COLORS.vermillion}" fill-opacity="0.05"/>`;
  }
  s += `<path d="${stepPath(hb.density, bins, x, y, true)}" fill="${COLORS.vermillion}" fill-opacity="0.30" stroke="none"/>`;
  s += `<path d="${stepPath(ha.density, bins, x, y, true)}" fill="${COLORS.blue}" fill-opacity="0.30" stroke="none"/>`;
  s += `<path d="${stepPath(hb.density, bins, x, y, false)}" fill="none" stroke="${COLORS.vermillion}" stroke-width="1.6"/>`;
  s += `<path d="${stepPath(ha.density, bins, x, y, false)}" fill="none" stroke="${COLORS.blue}" stroke-width="1.6"/>`;
  // Lighter marks (other FPR budgets): vertical labels, skipped when they would touch the threshold or each other.
  const taken: number[] = input.threshold ? [x(input.threshold.value)] : [];
  for (const m of input.marks ?? []) {
    const mx = x(m.value);
    if (taken.some((t) => Math.abs(t - mx) < 16)) continue;
    taken.push(mx);
    s += `<line x1="${r2(mx)}" y1="${box.top}" x2="${r2(mx)}" y2="${box.top + box.height}" stroke="${COLORS.muted}" stroke-width="1.2" stroke-dasharray="2 3"/>`;
    s += text(mx - 4, box.top + 30, m.label, { size: 10.5, color: COLORS.muted, anchor: 'end', rotate: true });
  }
  s += '</g>';
  if (input.threshold) {
    const tx = x(input.threshold.value);
    s += `<line x1="${r2(tx)}" y1="${box.top}" x2="${r2(tx)}" y2="${box.top + box.height}" stroke="${COLORS.black}" stroke-width="2" stroke-dasharray="7 4"/>`;
    s += text(tx - 6, box.top + 16, '◀ flagged', { size: 11.5, anchor: 'end', weight: 'bold' });
  }
  s += legendRows(width / 2, 66, lines);
  const outside = ha.outside + hb.outside;
  if (outside > 0) {
    s += text(width - 28, height - 12, `${outside.toLocaleString('en-US')} pairs in the outer tails are outside the plotted range`, {
      size: 10.5,
      anchor: 'end',
      color: COLORS.muted,
    });
  }
  return s + '</svg>';
}

// ---------------------------------------------------------------------------------------------------------------
// ROC

export interface RocInput {
  curve: Curve;
  auc: number;
  chosen?: OperatingPoint;
  /** Points at standard FPR budgets, labelled on the log panel. */
  targets?: { target: number; point: OperatingPoint }[];
  title?: string;
  subtitle?: string;
  width?: number;
  height?: number;
  /** What the scores are (default dot_product): lower = more anomalous. */
  scoreName?: string;
}

function curvePoints(curve: Curve, x: Scale, y: Scale): [number, number][] {
  return simplify(curve.points.map((p) => [x(p.fpr), y(p.recall)] as [number, number]), 0.4);
}

export function rocSvg(input: RocInput): string {
  const width = input.width ?? 1000;
  const height = input.height ?? 570;
  const title = input.title ?? 'ROC curve';
  const top = 84;
  const bottomPad = 70;
  const gap = 90;
  const panelW = (width - 78 - 24 - gap) / 2;
  const left: Box = { left: 78, top, width: panelW, height: height - top - bottomPad - 40 };
  const right: Box = { left: 78 + panelW + gap, top, width: panelW, height: left.height };
  const pct = (v: number): string => fmtPct(v, 0);
  const logPct = (v: number): string => (v >= 0.01 ? `${+(v * 100).toPrecision(2)}%` : `${+(v * 100).toPrecision(1)}%`);

  let s = svgOpen(width, height, title) + titleBlock(width, title, input.subtitle);

  // Linear panel.
  const xl = linearScale([0, 1], [left.left, left.left + left.width]);
  const yl = linearScale([0, 1], [left.top + left.height, left.top]);
  const ticks01 = [0, 0.2, 0.4, 0.6, 0.8, 1];
  s += axes(left, { scale: xl, ticks: ticks01, label: 'False positive rate (normal pairs flagged)', format: pct }, { scale: yl, ticks: ticks01, label: 'Recall (abnormal pairs flagged)', format: pct });
  s += `<line x1="${xl(0)}" y1="${yl(0)}" x2="${xl(1)}" y2="${yl(1)}" stroke="${COLORS.muted}" stroke-width="1.2" stroke-dasharray="2 3"/>`;
  s += `<path d="${pathD(curvePoints(input.curve, xl, yl))}" fill="none" stroke="${COLORS.blue}" stroke-width="2.5" stroke-linejoin="round"/>`;
  if (input.chosen) s += `<circle cx="${r2(xl(input.chosen.fpr))}" cy="${r2(yl(input.chosen.recall))}" r="5.5" fill="${COLORS.vermillion}" stroke="#fff" stroke-width="1.5"/>`;
  s += text(left.left + left.width / 2, left.top - 8, 'Linear FPR axis', { size: 12.5, anchor: 'middle', weight: 'bold', color: COLORS.axis });

  // Log panel: from one order of magnitude below 1/n (the smallest non-zero FPR) up to 100%.
  const minFpr = 10 ** Math.floor(Math.log10(1 / input.curve.nNormal));
  const xr = logScale([minFpr, 1], [right.left, right.left + right.width]);
  const yr = linearScale([0, 1], [right.top + right.height, right.top]);
  const logTicks: number[] = [];
  for (let e = Math.log10(minFpr); e <= 0; e++) logTicks.push(10 ** e);
  s += axes(right, { scale: xr, ticks: logTicks, label: 'False positive rate (log scale)', format: logPct }, { scale: yr, ticks: ticks01, label: 'Recall', format: pct });
  s += `<defs><clipPath id="roc-log-clip"><rect x="${right.left}" y="${right.top}" width="${right.width}" height="${right.height}"/></clipPath></defs>`;
  s += `<g clip-path="url(#roc-log-clip)">`;
  for (const t of input.targets ?? []) {
    const tx = xr(t.target);
    s += `<line x1="${r2(tx)}" y1="${right.top}" x2="${r2(tx)}" y2="${right.top + right.height}" stroke="${COLORS.muted}" stroke-width="1" stroke-dasharray="2 3"/>`;
  }
  s += `<path d="${pathD(curvePoints(input.curve, xr, yr))}" fill="none" stroke="${COLORS.blue}" stroke-width="2.5" stroke-linejoin="round"/>`;
  s += '</g>';
  for (const t of input.targets ?? []) {
    s += `<circle cx="${r2(xr(t.target))}" cy="${r2(yr(t.point.recall))}" r="4" fill="#fff" stroke="${COLORS.axis}" stroke-width="1.5"/>`;
  }
  if (input.chosen) s += `<circle cx="${r2(xr(Math.max(input.chosen.fpr, minFpr)))}" cy="${r2(yr(input.chosen.recall))}" r="5.5" fill="${COLORS.vermillion}" stroke="#fff" stroke-width="1.5"/>`;
  s += text(right.left + right.width / 2, right.top - 8, 'Log FPR axis (the low-FPR region)', { size: 12.5, anchor: 'middle', weight: 'bold', color: COLORS.axis });

  const items: LegendItem[] = [
    { label: `ROC, AUC ${input.auc.toFixed(4)}`, color: COLORS.blue, kind: 'line' },
    { label: 'Chance', color: COLORS.muted, kind: 'dot' },
  ];
  if (input.chosen) {
    items.push({ label: `Chosen threshold: FPR ${fmtPct(input.chosen.fpr, 2)}, recall ${fmtPct(input.chosen.recall)}`, color: COLORS.vermillion, kind: 'marker' });
  }
  s += legend(left.left + left.width - 8, left.top + left.height - 8 - (items.length * 19 + 10), items, true);
  if (input.targets && input.targets.length > 0) {
    const budgets = input.targets.map((t) => `FPR ≤ ${logPct(t.target)}: recall ${fmtPct(t.point.recall)} (threshold ${fmtNum(t.point.threshold)})`);
    s += text(width / 2, height - 32, `Hollow markers: ${budgets.join(' · ')}`, { size: 12, anchor: 'middle', color: COLORS.axis });
  }
  s += text(width / 2, height - 12, `${input.curve.nNormal.toLocaleString('en-US')} normal and ${input.curve.nAbnormal.toLocaleString('en-US')} abnormal pairs; a pair is flagged when ${input.scoreName ?? 'dot_product'} < threshold`, {
    size: 11,
    anchor: 'middle',
    color: COLORS.muted,
  });
  return s + '</svg>';
}

// ---------------------------------------------------------------------------------------------------------------
// Precision-recall

export interface PrInput {
  curve: Curve;
  /** Normal pairs per abnormal pair to draw curves for; `undefined` = the evaluation set's own mix. */
  mixes: (number | undefined)[];
  /** Average precision per mix (same order). */
  ap: number[];
  chosen?: OperatingPoint;
  title?: string;
  subtitle?: string;
  width?: number;
  height?: number;
}

const MIX_STYLE: { color: string; dash: string; kind: LegendItem['kind'] }[] = [
  { color: COLORS.blue, dash: '', kind: 'line' },
  { color: COLORS.orange, dash: '8 4', kind: 'dash' },
  { color: COLORS.green, dash: '8 4', kind: 'dash' },
  { color: COLORS.purple, dash: '2 3', kind: 'dot' },
  { color: COLORS.sky, dash: '2 3', kind: 'dot' },
];

export function mixLabel(ratio: number | undefined, curve: Curve): string {
  if (ratio === undefined) {
    const r = curve.nNormal / curve.nAbnormal;
    return `evaluation mix (${fmtNum(r, 3)}:1)`;
  }
  return `${ratio.toLocaleString('en-US')}:1 normal:abnormal`;
}

export function prSvg(input: PrInput): string {
  const width = input.width ?? 900;
  const height = input.height ?? 560;
  const title = input.title ?? 'Precision-recall';
  const items: LegendItem[] = input.mixes.map((ratio, i) => {
    const st = MIX_STYLE[i % MIX_STYLE.length]!;
    return { label: `${mixLabel(ratio, input.curve)}: AP ${input.ap[i]!.toFixed(3)}`, color: st.color, kind: st.kind };
  });
  const chosen = input.chosen && input.chosen.tp > 0 ? input.chosen : undefined;
  if (chosen) items.push({ label: `Chosen threshold (recall ${fmtPct(chosen.recall)})`, color: COLORS.axis, kind: 'marker' });
  const lines = legendLines(items, width - 60);
  const top = 70 + lines.length * LEGEND_LINE + 6;
  const box: Box = { left: 78, top, width: width - 78 - 28, height: height - top - 90 };
  const x = linearScale([0, 1], [box.left, box.left + box.width]);
  const y = linearScale([0, 1.02], [box.top + box.height, box.top]);
  const ticks01 = [0, 0.2, 0.4, 0.6, 0.8, 1];
  const pct = (v: number): string => fmtPct(v, 0);
  let s = svgOpen(width, height, title) + titleBlock(width, title, input.subtitle);
  s += legendRows(width / 2, 66, lines);
  s += axes(box, { scale: x, ticks: ticks01, label: 'Recall (abnormal pairs flagged)', format: pct }, { scale: y, ticks: ticks01, label: 'Precision (flagged pairs that are abnormal)', format: pct });
  s += `<defs><clipPath id="pr-clip"><rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}"/></clipPath></defs><g clip-path="url(#pr-clip)">`;
  input.mixes.forEach((ratio, i) => {
    const st = MIX_STYLE[i % MIX_STYLE.length]!;
    const pts: [number, number][] = [];
    for (const p of input.curve.points) {
      if (p.tp === 0) continue;
      pts.push([x(p.recall), y(precisionAt(p, ratio))]);
    }
    s += `<path d="${pathD(simplify(pts, 0.4))}" fill="none" stroke="${st.color}" stroke-width="2.2" ${st.dash ? `stroke-dasharray="${st.dash}"` : ''} stroke-linejoin="round"/>`;
  });
  s += '</g>';
  if (chosen) {
    input.mixes.forEach((ratio, i) => {
      const st = MIX_STYLE[i % MIX_STYLE.length]!;
      s += `<circle cx="${r2(x(chosen.recall))}" cy="${r2(y(precisionAt(chosen, ratio)))}" r="5" fill="${st.color}" stroke="#fff" stroke-width="1.5"/>`;
    });
  }
  s += text(width / 2, height - 30, 'Precision depends on how rare abnormal pairs are: the same threshold (same recall and FPR) gives', { size: 11, anchor: 'middle', color: COLORS.muted });
  s += text(width / 2, height - 14, 'lower precision the more normal traffic there is per attack. Curves re-weight the normal pairs to each mix.', { size: 11, anchor: 'middle', color: COLORS.muted });
  return s + '</svg>';
}
