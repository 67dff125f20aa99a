/**
 * Minimal SVG building blocks for the calibration charts: escaping, number formatting, "nice" axis ticks, linear and
 * log scales, text width estimates (no font metrics are available server-side) and a polyline simplifier.
 */

/** Okabe–Ito palette: distinguishable with the common colour-vision deficiencies. */
export const COLORS = {
  blue: '#0072B2',
  vermillion: '#D55E00',
  orange: '#E69F00',
  green: '#009E73',
  purple: '#CC79A7',
  sky: '#56B4E9',
  yellow: '#F0E442',
  black: '#000000',
  grid: '#e6e6e6',
  axis: '#444444',
  text: '#222222',
  muted: '#666666',
} as const;

export const FONT = "DejaVu Sans, Verdana, Arial, sans-serif";

export function esc(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** Round for SVG coordinates (2 decimals is plenty and keeps files small). */
export function r2(x: number): string {
  return (Math.round(x * 100) / 100).toString();
}

/** Approximate rendered width of `text` in DejaVu Sans at `size` px. */
export function textWidth(text: string, size: number): number {
  let w = 0;
  for (const ch of text) {
    if ('il.,:;|!\'()[]'.includes(ch)) w += 0.3;
    else if ('mwMW'.includes(ch)) w += 0.9;
    else if (ch >= 'A' && ch <= 'Z') w += 0.7;
    else if (ch === ' ') w += 0.32;
    else w += 0.6;
  }
  return w * size;
}

/** Format a number for tick labels and legends: compact, no float noise, a proper minus sign. */
export function fmtNum(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const ax = Math.abs(x);
  let s: string;
  if (ax >= 1e5 || ax < 1e-3) s = x.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, 'e');
  else s = Number(x.toPrecision(digits)).toString();
  return s.replace('-', '−');
}

export function fmtPct(x: number, digits = 1): string {
  if (!Number.isFinite(x)) return 'n/a';
  const p = x * 100;
  if (p !== 0 && Math.abs(p) < 0.1) return `${Number(p.toPrecision(2))}%`;
  // Never round a rate that is not exactly 100% (or 0%) up (down) to look like it.
  let d = digits;
  while (d < 4 && ((x < 1 && Number(p.toFixed(d)) >= 100) || (x > 0 && Number(p.toFixed(d)) <= 0))) d++;
  return `${p.toFixed(d)}%`;
}

/** Ticks at 1, 2 or 5 × 10^k covering [lo, hi], about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const out: number[] = [];
  const start = Math.ceil(lo / step - 1e-9);
  const end = Math.floor(hi / step + 1e-9);
  for (let i = start; i <= end; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

export interface Scale {
  (x: number): number;
  domain: [number, number];
  range: [number, number];
}

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  const f = ((x: number) => r0 + (x - d0) * k) as Scale;
  f.domain = domain;
  f.range = range;
  return f;
}

/** Log10 scale; values at or below domain[0] are clamped to it. */
export function logScale(domain: [number, number], range: [number, number]): Scale {
  const l0 = Math.log10(domain[0]);
  const l1 = Math.log10(domain[1]);
  const [r0, r1] = range;
  const f = ((x: number) => r0 + ((Math.log10(Math.max(x, domain[0])) - l0) / (l1 - l0)) * (r1 - r0)) as Scale;
  f.domain = domain;
  f.range = range;
  return f;
}

/**
 * Drop points closer than `tol` px (in both axes) to the last kept one, always keeping the first and the last, so
 * curves with 10⁵ points make small files without a visible change.
 */
export function simplify(points: [number, number][], tol = 0.5): [number, number][] {
  if (points.length <= 2) return points;
  const out: [number, number][] = [points[0]!];
  for (let i = 1; i < points.length - 1; i++) {
    const last = out[out.length - 1]!;
    const p = points[i]!;
    if (Math.abs(p[0] - last[0]) >= tol || Math.abs(p[1] - last[1]) >= tol) out.push(p);
  }
  out.push(points[points.length - 1]!);
  return out;
}

export function pathD(points: [number, number][]): string {
  let d = '';
  for (let i = 0; i < points.length; i++) d += `${i === 0 ? 'M' : 'L'}${r2(points[i]![0])},${r2(points[i]![1])}`;
  return d;
}
