/**
 * The incident pages (the dashboard's first page: the incident list with its timeline; one incident with its
 * evidence, the detectors that agreed and the feedback buttons) and the suppressions page. Rendered on the server
 * from plain data, every value escaped; the script (static.ts) posts the feedback and removals to the JSON API
 * (`POST /api/feedback`, `POST /api/suppressions/<id>/remove`, src/dashboard/feedback.ts) and reloads.
 */
import {
  benignDefaultScope,
  DEFAULT_EXPIRES_DAYS,
  findingFacts,
  networkOf,
  scopeText,
  type SuppressionScope,
  type SuppressionView,
  type VerdictRecord,
} from '../findings/feedback.js';
import { incidentMembersSvg, severityTimelineSvg } from './charts.js';
import type { FindingSummary } from './findings.js';
import { esc, fmt, fmtInt, fmtTime, kvTable, layout, severityBadge, table, toJson, type PageContext } from './html.js';
import type { IncidentDetail, IncidentFilter, IncidentSummary } from './incidents.js';

const SEVERITY_IDS: Readonly<Record<string, number>> = { informational: 1, low: 2, medium: 3, high: 4, critical: 5, fatal: 6 };

/** A duration in words: `45 s`, `12 min`, `3.5 h`, `2.1 d`. */
export function durationText(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${fmt(ms / 3_600_000, 2)} h`;
  return `${fmt(ms / 86_400_000, 2)} d`;
}

/** `2026-11-27 10:00:00Z → 11:30:00Z (1.5 h)`; the second date is written only when it differs. */
export function spanText(start: number | null, end: number | null): string {
  if (start === null) return fmtTime(end);
  if (end === null || end <= start) return fmtTime(start);
  const a = fmtTime(start);
  const b = fmtTime(end);
  return `${a} → ${b.slice(0, 10) === a.slice(0, 10) ? b.slice(11) : b} (${durationText(end - start)})`;
}

/** The combined score and its p-value: `7.2 (p 6.3e-8)`. */
export function scoreText(score: number | null, p: number | null): string {
  if (score === null && p === null) return '–';
  return `${fmt(score, 3)}${p !== null ? ` (p ${fmt(p, 2)})` : ''}`;
}

function chips(items: readonly string[], cls = 'chip-d'): string {
  return items.map((d) => `<span class="pill ${cls}">${esc(d)}</span>`).join(' ');
}

export function verdictBadge(v: VerdictRecord | undefined): string {
  if (!v) return '<span class="lbl lbl-none">none</span>';
  return v.verdict === 'malicious' ? '<span class="lbl lbl-tp">malicious</span>' : '<span class="lbl lbl-fp">benign</span>';
}

function lowSupportPill(low: boolean): string {
  return low ? ' <span class="pill low-support" title="every member comes from a model or calibration with too little data: severity is capped at Medium">low support</span>' : '';
}

// ---- list ---------------------------------------------------------------------------------------------------

export interface IncidentsPageData {
  /** 'none': the lake has no incidents view; 'empty': the view has no objects; 'some': incidents exist. */
  state: 'none' | 'empty' | 'some';
  items: readonly IncidentSummary[];
  /** Incidents matching the filter (the list shows at most `items.length`). */
  total: number;
  times: readonly { time: number; severity_id: number }[];
  statuses: readonly { id: number; name: string; count: number }[];
  verdicts: ReadonlyMap<string, VerdictRecord>;
  /** Detection findings in the lake (for the empty state). */
  findings: number;
}

export function incidentRows(items: readonly IncidentSummary[], base: string, verdicts: ReadonlyMap<string, VerdictRecord>): string {
  return table(
    items,
    [
      { label: 'Severity', html: (i) => severityBadge(i.severity_id, i.severity) + lowSupportPill(i.low_support) },
      {
        label: 'Entity',
        cls: 'ent',
        html: (i) => `<a href="${esc(base)}/incidents/${esc(encodeURIComponent(i.uid))}">${esc(i.entity || '(no entity)')}</a>`,
      },
      { label: 'Time (UTC)', cls: 'span', html: (i) => esc(spanText(i.start_time, i.end_time)) },
      { label: 'Detectors', html: (i) => chips(i.detectors) },
      { label: 'Score', numeric: true, html: (i) => esc(scoreText(i.score, i.p_value)) },
      { label: 'Findings', numeric: true, html: (i) => esc(fmtInt(i.finding_count)) },
      { label: 'Verdict', html: (i) => verdictBadge(verdicts.get(i.uid)) },
      { label: 'Summary', cls: 'expl', html: (i) => esc(i.title || i.message) },
    ],
    { empty: 'No incident matches these filters.', id: 'incidents-table', rowAttrs: (i) => ({ 'data-uid': i.uid }) },
  );
}

function emptyState(ctx: PageContext, data: IncidentsPageData): string {
  const b = esc(ctx.base);
  const why =
    data.state === 'none'
      ? 'This lake has no incidents yet.'
      : 'The lake has an incidents view but no incident has been written to it yet.';
  return (
    `<section class="card" id="incidents-empty"><h2>No incidents</h2><p>${esc(why)}</p>` +
    '<p>Incidents appear as <code>seclake monitor</code> runs: it groups the detection findings of every detector ' +
    '(IP Insights, the history baseline, Random Cut Forest) about the same entity that overlap in time, or come within an hour ' +
    'of each other, into one incident (an OCSF Incident Finding, class 2005) with a combined score: detectors that agree raise ' +
    'it. Suppressed findings never join one.</p>' +
    `<p>${data.findings > 0 ? `The lake holds <strong>${esc(fmtInt(data.findings))}</strong> detection finding(s): ` : 'There are no detection findings either: '}` +
    `see them on the <a href="${b}/findings">Detections</a> page.</p></section>`
  );
}

export function incidentsPage(ctx: PageContext, data: IncidentsPageData, filter: IncidentFilter, live?: { version: string; query: string; pollMs: number }): string {
  const sevOpt = (v: number, label: string): string => `<option value="${v}"${(filter.minSeverity ?? 0) === v ? ' selected' : ''}>${esc(label)}</option>`;
  const statusOpts =
    '<option value="">any</option>' +
    data.statuses.map((s) => `<option value="${esc(s.id)}"${filter.statusId === s.id ? ' selected' : ''}>${esc(`${s.name} (${fmtInt(s.count)})`)}</option>`).join('');
  const filtered = (filter.minSeverity ?? 0) > 0 || filter.statusId !== undefined || !!filter.entity;
  const none = data.state !== 'some';
  const form =
    '<form class="toolbar" method="get" action="" id="incident-filter">' +
    '<label for="i-sev">Severity</label><select id="i-sev" name="severity">' +
    sevOpt(0, 'all') + sevOpt(2, 'Low and above') + sevOpt(3, 'Medium and above') + sevOpt(4, 'High and above') + sevOpt(5, 'Critical') +
    `</select><label for="i-status">Status</label><select id="i-status" name="status">${statusOpts}</select>` +
    `<input type="search" name="entity" placeholder="entity" value="${esc(filter.entity ?? '')}" aria-label="entity">` +
    '<button type="submit">Filter</button>' +
    (filtered ? ` <a href="${esc(ctx.base)}/">clear filters</a>` : '') +
    `<span class="note">Newest first. Detection findings one by one: <a href="${esc(ctx.base)}/findings">Detections</a>.</span>` +
    (live ? `<span class="live" id="incidents-live-status">Live · checked every ${Math.round(live.pollMs / 1000)} s</span>` : '') +
    '</form>';
  // The script polls /api/incidents with this version and reloads the page when the incidents (or verdicts) change.
  const liveAttrs = live
    ? `<div id="incidents-live" data-version="${esc(live.version)}" data-query="${esc(live.query)}" data-poll-ms="${esc(live.pollMs)}"></div>`
    : '';
  const body =
    `<h1>Incidents <span class="pill" id="incidents-count">${esc(fmtInt(data.total))}</span></h1>` +
    liveAttrs +
    (none
      ? emptyState(ctx, data)
      : form +
        `<section class="card" id="incident-timeline"><h2>Incidents over time</h2>${severityTimelineSvg(data.times)}</section>` +
        `<section class="card">${incidentRows(data.items, ctx.base, data.verdicts)}` +
        (data.total > data.items.length ? `<p class="note">The newest ${esc(fmtInt(data.items.length))} of ${esc(fmtInt(data.total))} are shown; filter to see others.</p>` : '') +
        '</section>');
  return layout(ctx, 'incidents', 'Incidents', body);
}

// ---- one incident -------------------------------------------------------------------------------------------

/** The scopes a benign verdict may suppress, the default (each member's own narrowest scope) first. */
export interface ScopeChoice {
  /** The value posted: '' = each member finding's default scope; else scope text (`cidr:…`, `asn:…`, `feature:…`, `entity`). */
  value: string;
  text: string;
}

function scopeWords(s: SuppressionScope, entity: string): string {
  switch (s.kind) {
    case 'cidr':
      return `${entity} with addresses in ${s.cidr}`;
    case 'asn':
      return `${entity} with addresses in AS${s.asn}`;
    case 'feature':
      return `${entity} when its behaviour is driven mostly by ${s.feature}`;
    case 'any':
      return `everything about ${entity} (the whole entity)`;
  }
}

/** The scope choices for an incident's (or finding's) members (pure). */
export function scopeChoices(entity: string, members: readonly Record<string, unknown>[]): ScopeChoice[] {
  const out: ScopeChoice[] = [];
  const seen = new Set<string>();
  const add = (s: SuppressionScope): void => {
    const v = scopeText(s);
    if (seen.has(v)) return;
    seen.add(v);
    out.push({ value: v, text: scopeWords(s, entity) });
  };
  const defaults = members.map((m) => benignDefaultScope(m));
  const distinct = [...new Set(defaults.map(scopeText))];
  if (members.length > 0) {
    out.push({
      value: '',
      text: `each finding's narrowest scope: ${distinct.length <= 3 ? defaults.filter((d, i) => defaults.findIndex((x) => scopeText(x) === scopeText(d)) === i).map((d) => scopeWords(d, entity)).join('; ') : `${distinct.length} scopes (address ranges, ASNs or features of the ${members.length} findings)`}`,
    });
  }
  for (const m of members) {
    const f = findingFacts(m);
    if (f.asn !== undefined) add({ kind: 'asn', asn: f.asn });
    if (f.ip !== undefined) {
      const c = networkOf(f.ip);
      if (c !== undefined) add({ kind: 'cidr', cidr: c });
    }
    if (f.features[0] !== undefined) add({ kind: 'feature', feature: f.features[0] });
  }
  add({ kind: 'any' });
  return out;
}

const EXPIRY_CHOICES: readonly [string, string][] = [
  ['1', '1 day'],
  ['7', '7 days'],
  ['30', '30 days'],
  ['90', '90 days'],
  ['365', '1 year'],
  ['never', 'never (until removed)'],
];

/** The feedback block: current verdict, benign with scope and expiry, malicious. Posts to /api/feedback (static.ts). */
export function feedbackBlock(target: { uid: string; kind: 'incident' | 'finding'; entity: string }, choices: readonly ScopeChoice[], current: VerdictRecord | undefined, active: readonly SuppressionView[], base: string): string {
  const radios = choices
    .map(
      (c, i) =>
        `<label class="scope-choice"><input type="radio" name="scope" value="${esc(c.value)}"${i === 0 ? ' checked' : ''}> ${esc(c.text)}</label>`,
    )
    .join('');
  const expiry = EXPIRY_CHOICES.map(([v, l]) => `<option value="${esc(v)}"${v === String(DEFAULT_EXPIRES_DAYS) ? ' selected' : ''}>${esc(l)}</option>`).join('');
  const mine = active.filter((s) => s.from_uid === target.uid);
  const suppressed =
    mine.length > 0
      ? `<ul class="suppressed-by">${mine.map((s) => `<li>${esc(s.text)} <a href="${esc(base)}/suppressions#s-${esc(s.id)}">manage</a></li>`).join('')}</ul>`
      : '';
  return (
    `<section class="card" id="feedback" data-uid="${esc(target.uid)}" data-kind="${esc(target.kind)}"><h2>Analyst feedback</h2>` +
    `<p>Current verdict: <span id="verdict-current">${verdictBadge(current)}</span>` +
    (current ? ` <span class="note">${esc(`given ${fmtTime(current.at)}${current.by ? ` by ${current.by}` : ''}${current.note ? `: ${current.note}` : ''}`)}</span>` : '') +
    '</p>' +
    suppressed +
    '<form id="feedback-form" autocomplete="off">' +
    '<fieldset><legend>If benign, suppress future findings about</legend>' +
    radios +
    '</fieldset>' +
    `<div class="toolbar"><label for="fb-expiry">Expires after</label><select id="fb-expiry" name="expires">${expiry}</select>` +
    '<label for="fb-note">Note</label><input type="text" id="fb-note" name="note" maxlength="2000" placeholder="why (optional)" size="40"></div>' +
    '<div class="actions"><button type="button" class="fp" data-verdict="benign">Mark benign and suppress</button>' +
    '<button type="button" class="tp" data-verdict="malicious">Mark malicious</button>' +
    `<span id="feedback-message" class="note">Benign adds a scoped, expiring suppression (listed on <a href="${esc(base)}/suppressions">Suppressions</a>) and is an extra normal example at the next calibration; malicious keeps the ${esc(target.kind)} as a labelled example.</span></div>` +
    '</form></section>'
  );
}

function pOf(f: Record<string, unknown> | undefined): number | null {
  const u = f && typeof f.unmapped === 'object' && f.unmapped !== null ? (f.unmapped as Record<string, unknown>) : {};
  const p = Number(u.p_value);
  if (u.p_value !== undefined && u.p_value !== null && Number.isFinite(p)) return p;
  const pct = Number(u.anomaly_percentile);
  if (u.anomaly_percentile !== undefined && u.anomaly_percentile !== null && Number.isFinite(pct)) return 1 - pct;
  return null;
}

interface MemberRow {
  uid: string;
  time: number | null;
  end: number | null;
  detector: string;
  model: string;
  severity: string;
  severity_id: number;
  summary: string;
  /** The p-value the finding weighs in with (the incident's timeline; else from the finding). */
  p: number | null;
  found: FindingSummary | undefined;
  finding: Record<string, unknown> | undefined;
}

function memberRows(d: IncidentDetail): MemberRow[] {
  const rows: MemberRow[] = [];
  const seen = new Set<string>();
  for (const t of d.incident.timeline) {
    if (seen.has(t.finding_uid)) continue;
    seen.add(t.finding_uid);
    const m = d.members.get(t.finding_uid);
    rows.push({
      uid: t.finding_uid,
      time: t.time ?? m?.summary.time ?? null,
      end: t.end,
      detector: t.detector,
      model: t.model || m?.summary.model || '',
      severity: t.severity || m?.summary.severity || '',
      severity_id: SEVERITY_IDS[t.severity.toLowerCase()] ?? m?.summary.severity_id ?? 0,
      summary: t.summary || m?.summary.explanation || '',
      p: t.p_value ?? pOf(m?.finding),
      found: m?.summary,
      finding: m?.finding,
    });
  }
  // Members the timeline does not list (an older incident format): after it, in finding order.
  for (const uid of d.incident.finding_uids) {
    if (seen.has(uid)) continue;
    seen.add(uid);
    const m = d.members.get(uid);
    const u = m && typeof m.finding.unmapped === 'object' && m.finding.unmapped !== null ? (m.finding.unmapped as Record<string, unknown>) : {};
    rows.push({
      uid,
      time: m?.summary.time ?? null,
      end: null,
      detector: typeof u.detector === 'string' ? u.detector : '',
      model: m?.summary.model ?? '',
      severity: m?.summary.severity ?? '',
      severity_id: m?.summary.severity_id ?? 0,
      summary: m?.summary.explanation ?? '',
      p: pOf(m?.finding),
      found: m?.summary,
      finding: m?.finding,
    });
  }
  return rows;
}

function evidenceList(rows: readonly MemberRow[], base: string): string {
  if (rows.length === 0) return '<p class="note">This incident lists no member findings.</p>';
  const items = rows.map((r, i) => {
    const link = `<a href="${esc(base)}/findings/${esc(encodeURIComponent(r.uid))}">detection finding</a>`;
    const expl = r.found
      ? `<p class="member-expl">${esc(r.found.explanation)}</p>`
      : '<p class="note">The detection finding is not in this lake’s findings view (written elsewhere, or its object was removed).</p>';
    const p = r.p;
    return (
      `<li class="member" data-uid="${esc(r.uid)}"><div class="member-head"><span class="rank">${i + 1}</span>` +
      severityBadge(r.severity_id, r.severity) +
      ` <span class="pill chip-d">${esc(r.detector || '?')}</span> <span class="pill">${esc(r.model || '?')}</span> ` +
      `<span class="note">${esc(spanText(r.time, r.end))}${p !== null ? esc(` · p ${fmt(p, 2)}`) : ''}</span> · ${link}</div>` +
      (r.summary && (!r.found || r.summary !== r.found.explanation) ? `<p class="member-summary">${esc(r.summary)}</p>` : '') +
      expl +
      '</li>'
    );
  });
  return `<ol class="evidence" id="incident-evidence">${items.join('')}</ol>`;
}

function detectorsTable(rows: readonly MemberRow[], incident: IncidentSummary): string {
  const by = new Map<string, { models: Set<string>; n: number; best: number | null }>();
  for (const d of incident.detectors) by.set(d, { models: new Set(), n: 0, best: null });
  for (const r of rows) {
    const k = r.detector || '?';
    const e = by.get(k) ?? { models: new Set<string>(), n: 0, best: null };
    if (r.model) e.models.add(r.model);
    e.n++;
    const p = r.p;
    if (p !== null && (e.best === null || p < e.best)) e.best = p;
    by.set(k, e);
  }
  return table(
    [...by.entries()],
    [
      { label: 'Detector', html: ([d]) => `<span class="pill chip-d">${esc(d)}</span>` },
      { label: 'Models', html: ([, e]) => esc([...e.models].join(', ') || '–') },
      { label: 'Findings', numeric: true, html: ([, e]) => esc(fmtInt(e.n)) },
      { label: 'Strongest p', numeric: true, html: ([, e]) => esc(fmt(e.best, 2)) },
    ],
    { empty: 'No detector is named.', id: 'incident-detectors' },
  );
}

export function incidentPage(
  ctx: PageContext,
  d: IncidentDetail,
  feedback: { current: VerdictRecord | undefined; active: readonly SuppressionView[] },
): string {
  const i = d.incident;
  const rows = memberRows(d);
  const head = kvTable([
    ['Severity', severityBadge(i.severity_id, i.severity) + lowSupportPill(i.low_support)],
    ['Entity', `<span class="mono">${esc(i.entity)}</span> · <a href="${esc(ctx.base)}/?entity=${esc(encodeURIComponent(i.entity))}">its incidents</a>`],
    ['Time (UTC)', esc(spanText(i.start_time, i.end_time))],
    ['Combined score', `<strong>${esc(fmt(i.score, 3))}</strong> <span class="note">(−log10 of the combined p-value ${esc(fmt(i.p_value, 3))}: Fisher's method over the strongest finding of each model)</span>`],
    ['Detectors that agreed', chips(i.detectors) || '–'],
    ['Models', esc(i.models.join(', ') || '–')],
    ['Detection findings', esc(fmtInt(i.finding_count))],
    ['Status', esc(i.status ?? '–')],
    ['Revision', esc(`${i.revision ?? '?'} (updated ${fmtTime(i.time)})`)],
    ['Incident uid', `<span class="mono">${esc(i.uid)}</span>`],
  ]);
  const low = i.low_support
    ? '<p class="warn" id="incident-low-support">Every member finding comes from a model or calibration with too little data to support a confident threshold: the severity is capped at Medium. Check the <a href="' +
      esc(ctx.base) +
      '/models">Models</a> page.</p>'
    : '';
  const members = members4chart(rows);
  const revisions =
    d.revisions.length > 1
      ? `<details><summary>Revisions (${d.revisions.length})</summary>${table(d.revisions, [
          { label: 'Revision', numeric: true, html: (r) => esc(r.revision ?? '–') },
          { label: 'Updated (UTC)', numeric: true, html: (r) => esc(fmtTime(r.time)) },
          { label: 'Severity', html: (r) => severityBadge(r.severity_id, r.severity) },
          { label: 'Score', numeric: true, html: (r) => esc(fmt(r.score, 3)) },
          { label: 'Findings', numeric: true, html: (r) => esc(fmtInt(r.finding_count)) },
        ])}</details>`
      : '';
  const memberFindings = rows.map((r) => r.finding).filter((f): f is Record<string, unknown> => f !== undefined);
  const body =
    `<div class="crumbs"><a href="${esc(ctx.base)}/">← Incidents</a></div>` +
    `<h1 id="incident-title">${esc(i.title || `Incident on ${i.entity}`)}</h1>` +
    low +
    `<div class="row2"><section class="card" id="incident-header"><h2>Incident</h2>${i.message ? `<p id="incident-message">${esc(i.message)}</p>` : ''}${head}${revisions}</section>` +
    feedbackBlock({ uid: i.uid, kind: 'incident', entity: i.entity }, scopeChoices(i.entity, memberFindings), feedback.current, feedback.active, ctx.base) +
    '</div>' +
    `<section class="card"><h2>Evidence, strongest first</h2>${incidentMembersSvg(members)}${evidenceList(rows, ctx.base)}</section>` +
    `<section class="card"><h2>Detectors that agreed</h2>${detectorsTable(rows, i)}</section>` +
    `<section class="card"><details><summary>Incident (OCSF Incident Finding 2005)</summary><pre class="json" id="incident-json">${esc(toJson(d.ocsf ?? {}))}</pre></details></section>`;
  return layout(ctx, 'incidents', i.title || 'Incident', body);
}

function members4chart(rows: readonly MemberRow[]): { time: number | null; end: number | null; detector: string; severity_id: number; summary: string }[] {
  return rows.map((r) => ({ time: r.time, end: r.end, detector: r.detector || '?', severity_id: r.severity_id, summary: r.summary }));
}

// ---- suppressions ---------------------------------------------------------------------------------------------

const STATE_ORDER: Readonly<Record<string, number>> = { active: 0, pending: 1, expired: 2, removed: 3 };

function scopeCell(s: SuppressionView): string {
  const t = scopeText(s.scope);
  return `<span class="mono">${esc(t)}</span>`;
}

export function suppressionsPage(
  ctx: PageContext,
  all: readonly SuppressionView[],
  file: string,
  hits: ReadonlyMap<string, { count: number; last_time: number | null }> = new Map(),
): string {
  const sorted = [...all].sort((a, b) => (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) || (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  const active = all.filter((s) => s.state === 'active').length;
  const rows = table(
    sorted,
    [
      { label: 'State', html: (s) => `<span class="state state-${esc(s.state)}">${esc(s.state)}</span>` },
      { label: 'Entity', cls: 'ent', html: (s) => `<span class="mono">${esc(s.entity)}</span>` },
      { label: 'Scope', html: scopeCell },
      { label: 'Model / detector', html: (s) => esc([s.model, s.detector].filter((x) => x !== undefined).join(' / ') || 'any') },
      { label: 'Expires (UTC)', numeric: true, html: (s) => esc(s.expires_at === null ? 'never' : fmtTime(s.expires_at)) },
      { label: 'Explanation', cls: 'expl', html: (s) => esc(s.text) },
      {
        label: 'Silenced',
        numeric: true,
        html: (s) => {
          const h = hits.get(s.id);
          return h && h.count > 0 ? `${esc(fmtInt(h.count))} <span class="note">last ${esc(fmtTime(h.last_time))}</span>` : '0';
        },
      },
      {
        label: 'From',
        html: (s) => (s.from_uid ? `<a href="${esc(ctx.base)}/incidents/${esc(encodeURIComponent(s.from_uid))}" class="from-link" data-uid="${esc(s.from_uid)}">${esc(s.from_uid.slice(0, 12))}…</a>` : '–'),
      },
      {
        label: '',
        html: (s) => (s.state === 'active' || s.state === 'pending' ? `<button type="button" class="remove" data-id="${esc(s.id)}">Remove</button>` : ''),
      },
    ],
    { empty: 'No suppressions. Marking an incident or a finding benign adds one.', id: 'suppressions-table', rowAttrs: (s) => ({ 'data-id': s.id, id: `s-${s.id}` }) },
  );
  const body =
    `<h1>Suppressions <span class="pill" id="suppressions-count">${esc(fmtInt(active))} active</span></h1>` +
    `<p class="note">A suppression silences future findings about one entity inside a scope (an address range, an AS, the feature that drives a behaviour finding, or the whole entity) until it expires: the monitor writes matching findings as Suppressed, they join no incident and go to no sink. ` +
    `Every one is listed here, active first, with why it exists and how many findings it has silenced so far; removing one ends it now (the record stays in <code>${esc(file)}</code>). Also: <code>seclake suppressions list</code>, <code>seclake suppressions remove ID</code>.</p>` +
    `<section class="card">${rows}<p id="suppressions-message" class="note"></p></section>`;
  return layout(ctx, 'suppressions', 'Suppressions', body);
}
