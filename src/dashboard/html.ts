/**
 * HTML building for the dashboard. Every value that reaches a page goes through `esc` (finding fields come from logs
 * and are attacker-controlled); markup is built only from constant strings plus escaped values. Pages carry no inline
 * script or style (the Content-Security-Policy forbids both): behaviour lives in /static/app.js, looks in style.css.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escape text for HTML element content and quoted attribute values. */
export function esc(value: unknown): string {
  const s = typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
  return s.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** JSON for display: BigInt as string, 2-space indent. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : v), indent) ?? 'null';
}

/** A cell value as short text: null as '', objects as compact JSON, dates as ISO. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : fmt(value, 6);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  return toJson(value, 0);
}

/** A number with at most `digits` significant digits, no float noise. */
export function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return '–';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const ax = Math.abs(x);
  if (ax >= 1e6 || ax < 1e-4) return x.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, 'e');
  return String(Number(x.toPrecision(digits)));
}

export function fmtInt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return Math.round(x).toLocaleString('en-US');
}

export function fmtPct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return `${(x * 100).toFixed(digits)}%`;
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** Epoch ms (or ISO text) as `YYYY-MM-DD HH:MM:SSZ`. */
export function fmtTime(t: number | string | null | undefined): string {
  if (t === null || t === undefined || t === '') return '–';
  const d = new Date(typeof t === 'number' ? t : String(t));
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

/** `20260101` as `2026-01-01`. */
export function fmtDay(day: string): string {
  return /^\d{8}$/.test(day) ? `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}` : day;
}

export interface Column<T> {
  label: string;
  /** Escaped HTML for the cell. */
  html: (row: T) => string;
  numeric?: boolean;
  /** Extra CSS class of the cells (constant). */
  cls?: string;
}

/** A table from rows and columns; `empty` is shown (escaped) when there are no rows. */
export function table<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  opts: { empty?: string; cls?: string; id?: string; attrs?: Record<string, string>; rowAttrs?: (row: T) => Record<string, string> } = {},
): string {
  const head = columns.map((c) => `<th${c.numeric ? ' class="num"' : ''}>${esc(c.label)}</th>`).join('');
  const body =
    rows.length === 0
      ? `<tr><td class="empty" colspan="${columns.length}">${esc(opts.empty ?? 'Nothing yet.')}</td></tr>`
      : rows.map((r) => `<tr${attrs(opts.rowAttrs?.(r))}>${columns.map((c) => `<td${cellClass(c)}>${c.html(r)}</td>`).join('')}</tr>`).join('');
  return `<table class="${esc(opts.cls ?? 'grid')}"${opts.id ? ` id="${esc(opts.id)}"` : ''}${attrs(opts.attrs)}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function cellClass(c: Column<never>): string {
  const cls = [c.numeric ? 'num' : '', c.cls ?? ''].filter(Boolean).join(' ');
  return cls ? ` class="${cls}"` : '';
}

/** ` name="value"` pairs; names must be constant (they are not escaped), values are. */
function attrs(a: Record<string, string> | undefined): string {
  if (!a) return '';
  return Object.entries(a).map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
}

/** Key/value pairs as a definition table. */
export function kvTable(pairs: readonly [string, string][]): string {
  return `<table class="kv"><tbody>${pairs.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;
}

const SEVERITY_NAMES: Record<number, string> = { 0: 'Unknown', 1: 'Informational', 2: 'Low', 3: 'Medium', 4: 'High', 5: 'Critical', 6: 'Fatal', 99: 'Other' };

export function severityName(id: number | null | undefined): string {
  return id === null || id === undefined ? 'Unknown' : (SEVERITY_NAMES[id] ?? `Severity ${id}`);
}

/** A severity badge; the class is chosen from the numeric id (never from text). */
export function severityBadge(id: number | null | undefined, name?: string | null): string {
  const n = typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= 6 ? id : 0;
  return `<span class="sev sev-${n}">${esc(name || severityName(id))}</span>`;
}

export function labelBadge(label: string | undefined): string {
  if (label === 'true_positive') return '<span class="lbl lbl-tp">true positive</span>';
  if (label === 'false_positive') return '<span class="lbl lbl-fp">false positive</span>';
  return '<span class="lbl lbl-none">unlabelled</span>';
}

export type Tab = 'incidents' | 'findings' | 'suppressions' | 'models' | 'lake';

export interface PageContext {
  /** Mount prefix, e.g. `/ui`. */
  base: string;
  lakeDir: string;
  csrf: string;
  /** Cache-busting version of the static assets. */
  assetVersion: string;
}

/** The page frame: header with tabs, main content. */
export function layout(ctx: PageContext, tab: Tab | undefined, title: string, body: string): string {
  const b = esc(ctx.base);
  const tabLink = (t: Tab, label: string): string =>
    `<a href="${b}/${t === 'incidents' ? '' : t}"${tab === t ? ' class="active" aria-current="page"' : ''}>${esc(label)}</a>`;
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<meta name="csrf-token" content="${esc(ctx.csrf)}">` +
    `<title>${esc(title)} · seclake</title>` +
    `<link rel="icon" href="${b}/static/favicon.svg" type="image/svg+xml">` +
    `<link rel="stylesheet" href="${b}/static/style.css?v=${esc(ctx.assetVersion)}">` +
    `<script src="${b}/static/app.js?v=${esc(ctx.assetVersion)}" defer></script>` +
    `</head><body data-base="${b}">` +
    '<header class="top"><div class="brand">seclake</div><nav>' +
    tabLink('incidents', 'Incidents') +
    tabLink('findings', 'Detections') +
    tabLink('suppressions', 'Suppressions') +
    tabLink('models', 'Models') +
    tabLink('lake', 'Lake') +
    `</nav><div class="lakepath" title="lake directory">${esc(ctx.lakeDir)}</div></header>` +
    `<main>${body}</main></body></html>`
  );
}

/** A standalone page for errors (401, 404) that needs no session. */
export function errorPage(base: string, status: number, title: string, message: string): string {
  const b = esc(base);
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${esc(title)} · seclake</title><link rel="stylesheet" href="${b}/static/style.css"></head>` +
    `<body><header class="top"><div class="brand">seclake</div></header><main><section class="card"><h1>${status} ${esc(title)}</h1>` +
    `<p>${esc(message)}</p></section></main></body></html>`
  );
}
