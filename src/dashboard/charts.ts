/**
 * Small server-side SVG charts for the dashboard, built on the calibration charts' primitives (src/calibrate/svg.ts:
 * scales, nice ticks, number formatting, the Okabe–Ito palette). Sized for a laptop screen; they scale with the page
 * (viewBox) and carry a <title> for screen readers. Text values are escaped; no inline style attributes (CSP).
 */
import { COLORS, FONT, esc, fmtNum, linearScale, niceTicks, pathD, r2, textWidth, type Scale } from '../calibrate/svg.js';

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

function open(width: number, height: number, title: string, cls: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="${esc(cls)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
    `font-family="${FONT}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>`
  );
}

function label(x: number, y: number, s: string, o: { size?: number; anchor?: string; color?: string; weight?: string; rotate?: boolean } = {}): string {
  return (
    `<text x="${r2(x)}" y="${r2(y)}" font-size="${o.size ?? 11}" fill="${o.color ?? COLORS.axis}"` +
    (o.anchor ? ` text-anchor="${o.anchor}"` : '') +
    (o.weight ? ` font-weight="${o.weight}"` : '') +
    (o.rotate ? ` transform="rotate(-90 ${r2(x)} ${r2(y)})"` : '') +
    `>${esc(s)}</text>`
  );
}

function yAxis(box: Box, y: Scale, ticks: number[], fmtY: (v: number) => string): string {
  let s = '';
  for (const t of ticks) {
    const yy = y(t);
    s += `<line x1="${box.left}" x2="${box.left + box.width}" y1="${r2(yy)}" y2="${r2(yy)}" stroke="${COLORS.grid}"/>`;
    s += label(box.left - 6, yy + 4, fmtY(t), { anchor: 'end' });
  }
  return s;
}

function frame(box: Box): string {
  return `<rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}" fill="none" stroke="#bbbbbb"/>`;
}

export interface Bar {
  label: string;
  value: number;
}

/** Vertical bars (e.g. events per day). Labels are thinned so they never overlap. */
export function barChartSvg(bars: readonly Bar[], opts: { title: string; yLabel?: string; width?: number; height?: number }): string {
  const width = opts.width ?? 760;
  const height = opts.height ?? 220;
  const box: Box = { left: 64, top: 14, width: width - 64 - 14, height: height - 14 - 46 };
  let s = open(width, height, opts.title, 'chart bar-chart');
  if (bars.length === 0) return s + label(width / 2, height / 2, 'no data', { anchor: 'middle', size: 13 }) + '</svg>';
  const maxV = Math.max(...bars.map((b) => b.value), 1);
  const ticks = niceTicks(0, maxV, 4);
  const top = Math.max(maxV, ticks[ticks.length - 1]!);
  const y = linearScale([0, top], [box.top + box.height, box.top]);
  s += yAxis(box, y, ticks, (v) => fmtNum(v));
  const slot = box.width / bars.length;
  const bw = Math.max(1, Math.min(48, slot * 0.75));
  const every = Math.max(1, Math.ceil(bars.length / Math.max(1, Math.floor(box.width / (textWidth(bars[0]!.label, 10.5) + 12)))));
  bars.forEach((b, i) => {
    const cx = box.left + slot * (i + 0.5);
    const y0 = y(b.value);
    s += `<rect class="bar" x="${r2(cx - bw / 2)}" y="${r2(y0)}" width="${r2(bw)}" height="${r2(box.top + box.height - y0)}" fill="${COLORS.blue}"><title>${esc(`${b.label}: ${b.value.toLocaleString('en-US')}`)}</title></rect>`;
    if (i % every === 0) s += label(cx, box.top + box.height + 16, b.label, { anchor: 'middle', size: 10.5 });
  });
  s += frame(box);
  if (opts.yLabel) s += label(14, box.top + box.height / 2, opts.yLabel, { anchor: 'middle', rotate: true });
  return s + '</svg>';
}

export interface Series {
  name: string;
  color: string;
  dash?: boolean;
  points: [number, number][];
}

/** Lines over a shared x axis (e.g. loss and accuracy per epoch), each series on its own y range when `ownScale`. */
export function lineChartSvg(series: readonly Series[], opts: { title: string; xLabel: string; width?: number; height?: number; yMin?: number; yMax?: number }): string {
  const width = opts.width ?? 520;
  const height = opts.height ?? 240;
  const box: Box = { left: 56, top: 34, width: width - 56 - 16, height: height - 34 - 42 };
  let s = open(width, height, opts.title, 'chart line-chart');
  const pts = series.flatMap((x) => x.points).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
  if (pts.length === 0) return s + label(width / 2, height / 2, 'no data', { anchor: 'middle', size: 13 }) + '</svg>';
  let x0 = Math.min(...pts.map((p) => p[0]));
  let x1 = Math.max(...pts.map((p) => p[0]));
  if (x1 === x0) {
    x0 -= 0.5;
    x1 += 0.5;
  }
  let lo = opts.yMin ?? Math.min(...pts.map((p) => p[1]));
  let hi = opts.yMax ?? Math.max(...pts.map((p) => p[1]));
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = opts.yMin === undefined ? (hi - lo) * 0.08 : 0;
  const x = linearScale([x0, x1], [box.left, box.left + box.width]);
  const y = linearScale([lo - pad, hi + pad], [box.top + box.height, box.top]);
  s += yAxis(box, y, niceTicks(lo - pad, hi + pad, 4), (v) => fmtNum(v));
  for (const t of niceTicks(x0, x1, 6).filter((t) => Number.isInteger(t))) s += label(x(t), box.top + box.height + 16, String(t), { anchor: 'middle' });
  s += label(box.left + box.width / 2, height - 6, opts.xLabel, { anchor: 'middle', size: 11.5 });
  let lx = box.left;
  for (const ser of series) {
    const p = ser.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b)).map(([a, b]) => [x(a), y(b)] as [number, number]);
    if (p.length === 0) continue;
    const dash = ser.dash ? ' stroke-dasharray="6 3"' : '';
    s += `<path d="${pathD(p)}" fill="none" stroke="${ser.color}" stroke-width="2"${dash}/>`;
    for (const [px, py] of p) s += `<circle cx="${r2(px)}" cy="${r2(py)}" r="3" fill="${ser.color}"/>`;
    s += `<line x1="${lx}" x2="${lx + 20}" y1="16" y2="16" stroke="${ser.color}" stroke-width="2"${dash}/>`;
    s += label(lx + 25, 20, ser.name, { size: 11.5, color: COLORS.text });
    lx += 25 + textWidth(ser.name, 11.5) + 22;
  }
  return s + frame(box) + '</svg>';
}

/**
 * Density of the normal scores as stored by calibration (1001 quantiles: each gap between neighbours holds 0.1% of
 * the normal pairs), with the threshold line, the flagged side shaded (below the threshold for a native score where
 * lower is anomalous, such as dot_product; above it for `higher_is_anomalous`), and, when given, the scores of this
 * model's findings as ticks.
 */
export function scoreHistogramSvg(opts: {
  quantiles: readonly number[];
  threshold: number;
  marks?: { value: number; label: string }[];
  findings?: readonly number[];
  /** The native score's name (default dot_product) and which side of the threshold is flagged (default lower). */
  scoreName?: string;
  direction?: 'lower_is_anomalous' | 'higher_is_anomalous';
  /** Legend of the normal density (default "normal pairs (calibration)"). */
  normalLabel?: string;
  width?: number;
  height?: number;
}): string {
  const width = opts.width ?? 760;
  const higher = opts.direction === 'higher_is_anomalous';
  const height = opts.height ?? 300;
  const q = opts.quantiles;
  const title = 'Score histogram: normal traffic (calibration) and the threshold';
  let s = open(width, height, title, 'chart score-histogram');
  const box: Box = { left: 64, top: 40, width: width - 64 - 16, height: height - 40 - 48 };
  const k = q.length;
  // Plot the central 99.6%, the threshold and the findings' scores; the normal tails beyond are not drawn.
  const fmin = (opts.findings ?? []).reduce((m, f) => (Number.isFinite(f) && f < m ? f : m), Infinity);
  const fmax = (opts.findings ?? []).reduce((m, f) => (Number.isFinite(f) && f > m ? f : m), -Infinity);
  const lo0 = Math.min(q[Math.round(0.002 * (k - 1))]!, opts.threshold, higher ? Infinity : fmin);
  const hi0 = Math.max(q[Math.round(0.998 * (k - 1))]!, opts.threshold, higher ? fmax : -Infinity);
  const span = hi0 > lo0 ? hi0 - lo0 : 1;
  const lo = lo0 - span * 0.04;
  const hi = hi0 + span * 0.04;
  const bins = 60;
  const w = (hi - lo) / bins;
  const mass = new Array<number>(bins).fill(0);
  // Spread each quantile gap's mass uniformly over the bins it covers.
  const per = 1 / (k - 1);
  for (let i = 0; i + 1 < k; i++) {
    const a = q[i]!;
    const b = q[i + 1]!;
    if (b <= a) {
      const bi = Math.floor((a - lo) / w);
      if (bi >= 0 && bi < bins) mass[bi]! += per;
      continue;
    }
    const first = Math.max(0, Math.floor((a - lo) / w));
    const last = Math.min(bins - 1, Math.floor((b - lo) / w));
    for (let bi = first; bi <= last; bi++) {
      const l = Math.max(a, lo + bi * w);
      const r = Math.min(b, lo + (bi + 1) * w);
      if (r > l) mass[bi]! += (per * (r - l)) / (b - a);
    }
  }
  const density = mass.map((m) => m / w);
  const maxD = Math.max(...density, 1e-12) * 1.1;
  const x = linearScale([lo, hi], [box.left, box.left + box.width]);
  const y = linearScale([0, maxD], [box.top + box.height, box.top]);
  s += yAxis(box, y, niceTicks(0, maxD, 4), (v) => fmtNum(v));
  for (const t of niceTicks(lo, hi, 8)) {
    if (t < lo || t > hi) continue;
    s += label(x(t), box.top + box.height + 16, fmtNum(t), { anchor: 'middle' });
  }
  s += label(box.left + box.width / 2, height - 8, `${opts.scoreName ?? 'dot_product'} (${higher ? 'higher' : 'lower'} = more anomalous)`, { anchor: 'middle', size: 11.5 });
  // Flagged region: left of the threshold when lower scores are anomalous, right of it otherwise.
  const tx = x(opts.threshold);
  const right = box.left + box.width;
  s += higher
    ? `<rect class="flagged" x="${r2(Math.min(right, tx))}" y="${box.top}" width="${r2(Math.max(0, right - tx))}" height="${box.height}" fill="${COLORS.vermillion}" fill-opacity="0.06"/>`
    : `<rect class="flagged" x="${box.left}" y="${box.top}" width="${r2(Math.max(0, tx - box.left))}" height="${box.height}" fill="${COLORS.vermillion}" fill-opacity="0.06"/>`;
  const pts: [number, number][] = [[x(lo), y(0)]];
  density.forEach((d, i) => {
    pts.push([x(lo + i * w), y(d)], [x(lo + (i + 1) * w), y(d)]);
  });
  pts.push([x(hi), y(0)]);
  s += `<path class="hist-normal" d="${pathD(pts)}Z" fill="${COLORS.blue}" fill-opacity="0.3" stroke="${COLORS.blue}" stroke-width="1.5"/>`;
  // Labels of neighbouring marks go on successive rows so they never overlap.
  const rowsEnd: number[] = [];
  for (const m of [...(opts.marks ?? [])].sort((a, b) => a.value - b.value)) {
    if (m.value < lo || m.value > hi) continue;
    const mx = x(m.value);
    if (Math.abs(mx - tx) < 14) continue;
    s += `<line x1="${r2(mx)}" x2="${r2(mx)}" y1="${box.top}" y2="${box.top + box.height}" stroke="${COLORS.muted}" stroke-dasharray="2 3"/>`;
    let row = rowsEnd.findIndex((end) => mx + 3 > end + 6);
    if (row < 0) row = rowsEnd.length;
    rowsEnd[row] = mx + 3 + textWidth(m.label, 10);
    s += label(mx + 3, box.top + 32 + row * 13, m.label, { size: 10, color: COLORS.muted });
  }
  let outside = 0;
  for (const f of opts.findings ?? []) {
    if (!(f >= lo && f <= hi)) {
      outside++;
      continue;
    }
    const fx = x(f);
    s += `<line class="finding-tick" x1="${r2(fx)}" x2="${r2(fx)}" y1="${box.top + box.height - 22}" y2="${box.top + box.height}" stroke="${COLORS.vermillion}" stroke-width="2"/>`;
  }
  s += `<line class="threshold" x1="${r2(tx)}" x2="${r2(tx)}" y1="${box.top}" y2="${box.top + box.height}" stroke="${COLORS.black}" stroke-width="2" stroke-dasharray="7 4"/>`;
  // The label goes on the flagged side of the line when it fits there, else on the other (the arrow always points at
  // the flagged side).
  const tl = `threshold ${fmtNum(opts.threshold)}`;
  if (!higher) {
    if (tx - box.left > textWidth(`◀ flagged · ${tl}`, 11) + 10) s += label(tx - 5, box.top + 14, `◀ flagged · ${tl}`, { anchor: 'end', size: 11, weight: 'bold', color: COLORS.text });
    else s += label(tx + 5, box.top + 14, `${tl} (◀ flagged)`, { anchor: 'start', size: 11, weight: 'bold', color: COLORS.text });
  } else if (right - tx > textWidth(`${tl} · flagged ▶`, 11) + 10) s += label(tx + 5, box.top + 14, `${tl} · flagged ▶`, { anchor: 'start', size: 11, weight: 'bold', color: COLORS.text });
  else s += label(tx - 5, box.top + 14, `(flagged ▶) ${tl}`, { anchor: 'end', size: 11, weight: 'bold', color: COLORS.text });
  // Legend above the plot.
  let lx = box.left;
  s += `<rect x="${lx}" y="14" width="18" height="11" fill="${COLORS.blue}" fill-opacity="0.3" stroke="${COLORS.blue}"/>`;
  const normalLabel = opts.normalLabel ?? 'normal pairs (calibration)';
  s += label(lx + 24, 24, normalLabel, { size: 11.5, color: COLORS.text });
  lx += 24 + textWidth(normalLabel, 11.5) + 24;
  s += `<line x1="${lx}" x2="${lx + 20}" y1="19" y2="19" stroke="${COLORS.black}" stroke-width="2" stroke-dasharray="7 4"/>`;
  s += label(lx + 26, 24, 'threshold', { size: 11.5, color: COLORS.text });
  lx += 26 + textWidth('threshold', 11.5) + 24;
  if (opts.findings && opts.findings.length > 0) {
    s += `<line x1="${lx + 6}" x2="${lx + 6}" y1="13" y2="26" stroke="${COLORS.vermillion}" stroke-width="2"/>`;
    const t = `findings' scores (${opts.findings.length}${outside > 0 ? `, ${outside} off-chart` : ''})`;
    s += label(lx + 16, 24, t, { size: 11.5, color: COLORS.text });
  }
  return s + frame(box) + '</svg>';
}

/** Severity colours of the timeline charts (Informational/Unknown grey, Low blue, Medium orange, High vermillion, Critical dark red). */
export const SEVERITY_COLORS: Readonly<Record<number, string>> = { 0: '#9aa1ad', 1: '#9aa1ad', 2: COLORS.sky, 3: COLORS.orange, 4: COLORS.vermillion, 5: '#8b1a10', 6: '#8b1a10' };
const SEVERITY_LABELS: Readonly<Record<number, string>> = { 1: 'Informational', 2: 'Low', 3: 'Medium', 4: 'High', 5: 'Critical' };

const HOUR_MS = 3_600_000;
const BUCKETS = [HOUR_MS, 3 * HOUR_MS, 6 * HOUR_MS, 24 * HOUR_MS, 7 * 24 * HOUR_MS, 30 * 24 * HOUR_MS];

/** The bucket width (ms) that puts `span` ms into at most `max` buckets (hour, 3 h, 6 h, day, week, 30 days). */
export function bucketWidth(spanMs: number, max = 72): number {
  for (const b of BUCKETS) if (spanMs / b < max) return b;
  return BUCKETS[BUCKETS.length - 1]!;
}

function bucketLabel(t: number, width: number): string {
  const iso = new Date(t).toISOString();
  return width < 24 * HOUR_MS ? `${iso.slice(5, 10)} ${iso.slice(11, 13)}h` : iso.slice(0, 10);
}

/**
 * Incidents over time, stacked by severity: one bar per time bucket (UTC-aligned hour, 3 h, 6 h, day, week or 30
 * days, whichever keeps the bars readable), each bar split by severity (lowest at the bottom), a legend of the
 * severities present, and each segment titled with its count. Empty buckets between the first and last incident are
 * drawn as gaps.
 */
export function severityTimelineSvg(items: readonly { time: number; severity_id: number }[], opts: { title?: string; width?: number; height?: number } = {}): string {
  const width = opts.width ?? 1300;
  const height = opts.height ?? 200;
  const title = opts.title ?? 'Incidents over time by severity';
  const box: Box = { left: 56, top: 30, width: width - 56 - 14, height: height - 30 - 40 };
  let s = open(width, height, title, 'chart incident-timeline');
  const pts = items.filter((i) => Number.isFinite(i.time));
  if (pts.length === 0) return s + label(width / 2, height / 2, 'no incidents', { anchor: 'middle', size: 13 }) + '</svg>';
  const sevOf = (id: number): number => (id >= 5 ? 5 : id <= 1 ? 1 : id);
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const p of pts) {
    if (p.time < t0) t0 = p.time;
    if (p.time > t1) t1 = p.time;
  }
  const bw = bucketWidth(t1 - t0 + 1);
  const first = Math.floor(t0 / bw) * bw;
  const n = Math.floor((t1 - first) / bw) + 1;
  const counts: Map<number, number>[] = Array.from({ length: n }, () => new Map<number, number>());
  const present = new Set<number>();
  for (const p of pts) {
    const i = Math.min(n - 1, Math.floor((p.time - first) / bw));
    const sv = sevOf(p.severity_id);
    present.add(sv);
    counts[i]!.set(sv, (counts[i]!.get(sv) ?? 0) + 1);
  }
  const totals = counts.map((c) => [...c.values()].reduce((a, b) => a + b, 0));
  const maxV = Math.max(1, ...totals);
  const ticks = niceTicks(0, maxV, 3).filter((t) => Number.isInteger(t));
  const top = Math.max(maxV, ticks[ticks.length - 1] ?? maxV);
  const y = linearScale([0, top], [box.top + box.height, box.top]);
  s += yAxis(box, y, ticks, (v) => fmtNum(v));
  const slot = box.width / n;
  const barW = Math.max(1, Math.min(40, slot * 0.8));
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(box.width / (textWidth(bucketLabel(first, bw), 10.5) + 14)))));
  const sevs = [...present].sort((a, b) => a - b);
  for (let i = 0; i < n; i++) {
    const cx = box.left + slot * (i + 0.5);
    const lbl = bucketLabel(first + i * bw, bw);
    let acc = 0;
    for (const sv of sevs) {
      const c = counts[i]!.get(sv) ?? 0;
      if (c === 0) continue;
      const yTop = y(acc + c);
      const yBot = y(acc);
      acc += c;
      s +=
        `<rect class="bar sev-bar-${sv}" x="${r2(cx - barW / 2)}" y="${r2(yTop)}" width="${r2(barW)}" height="${r2(Math.max(0.5, yBot - yTop))}" fill="${SEVERITY_COLORS[sv]}">` +
        `<title>${esc(`${lbl}: ${c} ${SEVERITY_LABELS[sv] ?? 'Unknown'}`)}</title></rect>`;
    }
    if (i % every === 0) s += label(cx, box.top + box.height + 16, lbl, { anchor: 'middle', size: 10.5 });
  }
  s += label(box.left + box.width / 2, height - 6, `start of the incident (UTC), per ${bw >= 24 * HOUR_MS ? `${bw / (24 * HOUR_MS)} day(s)` : `${bw / HOUR_MS} hour(s)`}`, { anchor: 'middle', size: 11 });
  let lx = box.left;
  for (const sv of [...sevs].reverse()) {
    const name = SEVERITY_LABELS[sv] ?? 'Unknown';
    s += `<rect x="${lx}" y="10" width="12" height="12" fill="${SEVERITY_COLORS[sv]}"/>`;
    s += label(lx + 17, 20, name, { size: 11.5, color: COLORS.text });
    lx += 17 + textWidth(name, 11.5) + 18;
  }
  return s + frame(box) + '</svg>';
}

/**
 * One incident's members on a time axis, one row per detector: each member a bar from its time to its end (a dot
 * when it has no span), coloured by severity, titled with its summary. Members come strongest first; the chart
 * orders them by time.
 */
export function incidentMembersSvg(
  members: readonly { time: number | null; end: number | null; detector: string; severity_id: number; summary: string }[],
  opts: { width?: number } = {},
): string {
  const width = opts.width ?? 1300;
  const rows = [...new Set(members.map((m) => m.detector || '?'))];
  const rowH = 26;
  const height = 34 + rows.length * rowH + 34;
  const title = 'Evidence over time, one row per detector';
  let s = open(width, height, title, 'chart incident-members');
  const pts = members.filter((m) => m.time !== null && Number.isFinite(m.time));
  if (pts.length === 0) return s + label(width / 2, height / 2, 'no timed evidence', { anchor: 'middle', size: 13 }) + '</svg>';
  const labelW = Math.min(220, Math.max(...rows.map((r) => textWidth(r, 11.5))) + 16);
  const box: Box = { left: labelW, top: 20, width: width - labelW - 14, height: rows.length * rowH };
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const m of pts) {
    t0 = Math.min(t0, m.time!);
    t1 = Math.max(t1, m.end !== null && Number.isFinite(m.end) ? m.end : m.time!);
  }
  if (t1 <= t0) {
    t0 -= 30 * 60_000;
    t1 += 30 * 60_000;
  }
  const pad = (t1 - t0) * 0.03;
  const x = linearScale([t0 - pad, t1 + pad], [box.left, box.left + box.width]);
  rows.forEach((r, i) => {
    const yy = box.top + i * rowH;
    if (i > 0) s += `<line x1="${box.left}" x2="${box.left + box.width}" y1="${yy}" y2="${yy}" stroke="${COLORS.grid}"/>`;
    s += label(box.left - 8, yy + rowH / 2 + 4, r, { anchor: 'end', size: 11.5, color: COLORS.text });
  });
  const spanMs = t1 - t0;
  const ticks = niceTicks(t0 - pad, t1 + pad, 6);
  for (const t of ticks) {
    if (t < t0 - pad || t > t1 + pad) continue;
    const iso = new Date(t).toISOString();
    s += label(x(t), box.top + box.height + 16, spanMs > 2 * 24 * HOUR_MS ? iso.slice(5, 16).replace('T', ' ') : iso.slice(11, 16), { anchor: 'middle', size: 10.5 });
  }
  s += label(box.left + box.width / 2, height - 4, `time (UTC), ${new Date(t0).toISOString().slice(0, 10)}`, { anchor: 'middle', size: 11 });
  for (const m of [...pts].sort((a, b) => a.time! - b.time!)) {
    const i = rows.indexOf(m.detector || '?');
    const cy = box.top + i * rowH + rowH / 2;
    const sv = m.severity_id >= 5 ? 5 : m.severity_id <= 1 ? 1 : m.severity_id;
    const color = SEVERITY_COLORS[sv];
    const tip = `<title>${esc(`${new Date(m.time!).toISOString()}: ${m.summary}`)}</title>`;
    const xa = x(m.time!);
    const xb = m.end !== null && Number.isFinite(m.end) && m.end > m.time! ? x(m.end) : xa;
    s +=
      xb - xa >= 4
        ? `<rect class="member" x="${r2(xa)}" y="${r2(cy - 7)}" width="${r2(xb - xa)}" height="14" rx="3" fill="${color}" fill-opacity="0.85">${tip}</rect>`
        : `<circle class="member" cx="${r2(xa)}" cy="${r2(cy)}" r="6" fill="${color}" stroke="#ffffff">${tip}</circle>`;
  }
  return s + frame(box) + '</svg>';
}
