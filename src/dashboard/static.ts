/**
 * The dashboard's static assets, kept in the module (so the compiled CLI in dist/ serves them with no extra files):
 * one stylesheet, one script, one icon. The script builds DOM nodes with textContent only (never innerHTML), so data
 * from logs cannot become markup; it talks only to this server's own API.
 */
import { createHash } from 'node:crypto';

export const STYLE_CSS = `
:root {
  --fg: #1d2330; --muted: #5b6475; --line: #dfe3ea; --bg: #f6f7f9; --card: #ffffff; --accent: #0b63c5;
  --accent-bg: #e8f1fc; --bad: #b42318; --bad-bg: #fdecea; --ok: #067647; --ok-bg: #e7f6ee;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.45; color: var(--fg); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .mono, textarea { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
header.top { display: flex; align-items: center; gap: 28px; padding: 0 24px; height: 54px; background: #fff;
  border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 5; }
.brand { font-weight: 700; font-size: 18px; letter-spacing: 0.2px; }
header nav { display: flex; gap: 4px; }
header nav a { padding: 7px 14px; border-radius: 6px; color: var(--fg); font-weight: 500; }
header nav a:hover { background: var(--bg); text-decoration: none; }
header nav a.active { background: var(--accent-bg); color: var(--accent); }
.lakepath { margin-left: auto; color: var(--muted); font-size: 13px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; max-width: 40%; }
main { max-width: 1400px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 4px 0 14px; }
h2 { font-size: 17px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 14px 0 8px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; margin-bottom: 18px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin-bottom: 18px; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.stat .v { font-size: 24px; font-weight: 650; }
.stat .v.small { font-size: 16px; padding: 5px 0 4px; }
.stat .k { color: var(--muted); font-size: 13px; }
.row2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 18px; }
@media (max-width: 1100px) { .row2 { grid-template-columns: minmax(0, 1fr); } }
.note, .muted { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; }
table.grid th, table.grid td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
table.grid th { font-size: 12.5px; text-transform: uppercase; letter-spacing: 0.3px; color: var(--muted); font-weight: 600; background: #fafbfc; position: sticky; top: 0; }
table.grid tbody tr:hover { background: #f3f6fb; }
table.grid td.num, table.grid th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.empty { color: var(--muted); text-align: center; padding: 18px; }
table.kv th { text-align: left; font-weight: 500; color: var(--muted); padding: 3px 14px 3px 0; white-space: nowrap; vertical-align: top; width: 1%; }
table.kv td { padding: 3px 0; font-variant-numeric: tabular-nums; word-break: break-word; }
.scroll { overflow: auto; max-height: 460px; border: 1px solid var(--line); border-radius: 8px; }
.scroll table.grid th { box-shadow: 0 1px 0 var(--line); }
svg.chart { max-width: 100%; height: auto; display: block; }
.sev { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12.5px; font-weight: 600; white-space: nowrap; }
.sev-0, .sev-1 { background: #eef0f3; color: #4a5263; }
.sev-2 { background: #e8f1fc; color: #0b4f9c; }
.sev-3 { background: #fff4e0; color: #8a5300; }
.sev-4 { background: #fdecea; color: #b42318; }
.sev-5, .sev-6 { background: #b42318; color: #fff; }
.lbl { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12.5px; white-space: nowrap; }
.lbl-tp { background: var(--bad-bg); color: var(--bad); font-weight: 600; }
.lbl-fp { background: var(--ok-bg); color: var(--ok); font-weight: 600; }
.lbl-none { color: var(--muted); }
td.expl { max-width: 560px; color: #333c4d; font-size: 13.5px; }
td.ent { min-width: 170px; max-width: 300px; overflow-wrap: anywhere; }
td.mono { white-space: nowrap; }
.toolbar { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin-bottom: 12px; }
.toolbar label { color: var(--muted); font-size: 13px; }
input[type=text], input[type=search], input[type=number], select, textarea {
  border: 1px solid #c9ced8; border-radius: 6px; padding: 6px 9px; font-size: 14px; background: #fff; color: var(--fg); }
textarea { width: 100%; min-height: 96px; resize: vertical; line-height: 1.4; }
button { border: 1px solid #c9ced8; background: #fff; border-radius: 6px; padding: 6px 14px; font-size: 14px; cursor: pointer; color: var(--fg); }
button:hover { background: var(--bg); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.primary:hover { background: #0a57ad; }
button.tp { border-color: #e4a29c; color: var(--bad); }
button.fp { border-color: #9fd3b7; color: var(--ok); }
button.chip { padding: 3px 10px; font-size: 12.5px; border-radius: 14px; }
button:disabled { opacity: 0.55; cursor: default; }
.live { display: inline-flex; align-items: center; gap: 6px; color: var(--muted); font-size: 13px; }
.live::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: #12b76a; }
.live.stale::before { background: #f79009; }
.error { background: var(--bad-bg); color: var(--bad); border: 1px solid #f3b8b1; border-radius: 8px; padding: 10px 12px; white-space: pre-wrap; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
pre.json { background: #fafbfc; border: 1px solid var(--line); border-radius: 8px; padding: 12px; overflow: auto; max-height: 560px; margin: 0; white-space: pre-wrap; word-break: break-word; }
.flash { animation: flash 2s ease-out; }
@keyframes flash { from { background: #fff6c7; } to { background: transparent; } }
.crumbs { font-size: 13px; margin-bottom: 6px; }
.actions { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #eef0f3; font-size: 12.5px; }
.warn { background: #fff8e6; border: 1px solid #f5d48a; border-radius: 8px; padding: 10px 12px; }
.chip-d { background: #e8f1fc; color: #0b4f9c; margin: 1px 0; }
.low-support { background: #fff4e0; color: #8a5300; }
td.span { white-space: nowrap; font-variant-numeric: tabular-nums; font-size: 13px; }
#incidents-table td.ent { white-space: nowrap; overflow-wrap: normal; max-width: 240px; overflow: hidden; text-overflow: ellipsis; }
#incidents-table td.expl { min-width: 320px; font-size: 13px; }
ol.evidence { list-style: none; padding: 0; margin: 12px 0 0; }
ol.evidence li.member { border-top: 1px solid var(--line); padding: 10px 0; }
.member-head { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.member-head .rank { font-weight: 700; color: var(--muted); min-width: 1.6em; }
.member-summary { margin: 6px 0 0; font-weight: 500; }
.member-expl { margin: 4px 0 0; color: #333c4d; font-size: 13.5px; }
fieldset { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 12px; padding: 8px 12px; }
legend { color: var(--muted); font-size: 13px; padding: 0 4px; }
label.scope-choice { display: block; padding: 3px 0; overflow-wrap: anywhere; }
ul.suppressed-by { margin: 4px 0 12px; padding-left: 18px; font-size: 13.5px; }
.state { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12.5px; background: #eef0f3; color: #4a5263; }
.state-active { background: var(--ok-bg); color: var(--ok); font-weight: 600; }
.state-pending { background: #fff4e0; color: #8a5300; }
button.remove { border-color: #e4a29c; color: var(--bad); padding: 3px 10px; font-size: 13px; }
.support-low { background: #fff8e6; border: 1px solid #f5d48a; border-radius: 8px; padding: 8px 12px; margin: 8px 0; }
.thin { color: #8a5300; font-weight: 600; }
.pill.suppressed { background: #eef0f3; color: #4a5263; font-style: italic; }
details.per-entity-block { margin-top: 12px; }
h4 { font-size: 14px; margin: 12px 0 6px; }
`;

export const APP_JS = `
(function () {
  'use strict';
  var base = document.body.getAttribute('data-base') || '';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmt(x, digits) {
    if (x === null || x === undefined || !isFinite(x)) return '\\u2013';
    if (x === 0) return '0';
    var a = Math.abs(x);
    if (a >= 1e6 || a < 1e-4) return x.toExponential((digits || 4) - 1);
    return String(Number(x.toPrecision(digits || 4)));
  }
  function pct(x) {
    if (x === null || x === undefined || !isFinite(x)) return '\\u2013';
    if (x >= 1) return '100%';
    var p = x * 100;
    var s = p >= 99.9 && p < 100 ? p.toFixed(3) : p >= 99 ? p.toFixed(2) : p.toFixed(1);
    if (p < 100 && Number(s) >= 100) s = '99.999';
    return s + '%';
  }
  function time(t) {
    if (t === null || t === undefined) return '\\u2013';
    var d = new Date(t);
    if (isNaN(d.getTime())) return String(t);
    return d.toISOString().replace('T', ' ').replace(/\\.\\d{3}Z$/, 'Z');
  }
  var SEV = { 0: 'Unknown', 1: 'Informational', 2: 'Low', 3: 'Medium', 4: 'High', 5: 'Critical', 6: 'Fatal', 99: 'Other' };
  function sevBadge(id, name) {
    var n = (typeof id === 'number' && id >= 0 && id <= 6) ? id : 0;
    return el('span', 'sev sev-' + n, name || SEV[id] || 'Unknown');
  }
  function labelBadge(label) {
    if (label === 'true_positive') return el('span', 'lbl lbl-tp', 'true positive');
    if (label === 'false_positive') return el('span', 'lbl lbl-fp', 'false positive');
    return el('span', 'lbl lbl-none', 'unlabelled');
  }
  function api(method, path, body) {
    var opts = { method: method, credentials: 'same-origin', headers: { 'Accept': 'application/json' } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.headers['X-CSRF-Token'] = csrf;
      opts.body = JSON.stringify(body);
    }
    return fetch(base + path, opts).then(function (r) {
      return r.text().then(function (t) {
        var doc = null;
        try { doc = t ? JSON.parse(t) : null; } catch (e) { doc = { message: t }; }
        if (!r.ok) { var err = new Error((doc && doc.message) || ('HTTP ' + r.status)); err.status = r.status; throw err; }
        return doc;
      });
    });
  }

  // ---- findings list: live updates by polling ------------------------------------------------------------
  var table = document.getElementById('findings-table');
  if (table) {
    var tbody = table.querySelector('tbody');
    var status = document.getElementById('live-status');
    var version = table.getAttribute('data-version') || '';
    var query = table.getAttribute('data-query') || '';
    var interval = Number(table.getAttribute('data-poll-ms')) || 3000;
    var known = {};
    Array.prototype.forEach.call(tbody.querySelectorAll('tr[data-uid]'), function (tr) { known[tr.getAttribute('data-uid')] = true; });
    var render = function (items) {
      var rows = [];
      items.forEach(function (f) {
        var tr = el('tr');
        tr.setAttribute('data-uid', f.uid);
        if (!known[f.uid]) tr.className = 'flash';
        known[f.uid] = true;
        tr.appendChild(el('td', 'num', time(f.time)));
        var sev = el('td'); sev.appendChild(sevBadge(f.severity_id, f.severity));
        if (f.suppressed_by !== null && f.suppressed_by !== undefined) {
          var sp = el('span', 'pill suppressed', 'suppressed'); sp.setAttribute('title', 'suppression ' + f.suppressed_by);
          sev.appendChild(document.createTextNode(' ')); sev.appendChild(sp);
        }
        tr.appendChild(sev);
        var ent = el('td', 'ent');
        var a = el('a', null, f.entity || '(no entity)');
        a.setAttribute('href', base + '/findings/' + encodeURIComponent(f.uid));
        ent.appendChild(a); tr.appendChild(ent);
        tr.appendChild(el('td', 'mono', f.ip));
        tr.appendChild(el('td', 'num', fmt(f.dot_product)));
        tr.appendChild(el('td', 'num', pct(f.percentile)));
        tr.appendChild(el('td', 'expl', f.explanation));
        var lb = el('td'); lb.appendChild(labelBadge(f.label)); tr.appendChild(lb);
        rows.push(tr);
      });
      while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
      if (rows.length === 0) {
        var tr = el('tr'); var td = el('td', 'empty', 'No findings yet. They appear here as the monitor writes them.');
        td.setAttribute('colspan', '8'); tr.appendChild(td); tbody.appendChild(tr);
      }
      rows.forEach(function (r) { tbody.appendChild(r); });
      var count = document.getElementById('findings-count');
      if (count) count.textContent = String(items.length);
    };
    var poll = function () {
      if (document.hidden) { setTimeout(poll, interval); return; }
      api('GET', '/api/findings?' + query + (query ? '&' : '') + 'version=' + encodeURIComponent(version)).then(function (doc) {
        if (status) { status.className = 'live'; status.textContent = 'Live \\u00b7 checked ' + new Date().toLocaleTimeString(); }
        if (doc && !doc.unchanged) { version = doc.version; render(doc.findings); }
      }).catch(function () {
        if (status) { status.className = 'live stale'; status.textContent = 'Not updating (server unreachable); retrying'; }
      }).then(function () { setTimeout(poll, interval); });
    };
    setTimeout(poll, interval);
  }

  // ---- incident list: reload when the incidents or verdicts change -----------------------------------------
  var incLive = document.getElementById('incidents-live');
  if (incLive) {
    var incVersion = incLive.getAttribute('data-version') || '';
    var incQuery = incLive.getAttribute('data-query') || '';
    var incInterval = Number(incLive.getAttribute('data-poll-ms')) || 3000;
    var incStatus = document.getElementById('incidents-live-status');
    var incPoll = function () {
      if (document.hidden) { setTimeout(incPoll, incInterval); return; }
      api('GET', '/api/incidents?' + incQuery + (incQuery ? '&' : '') + 'version=' + encodeURIComponent(incVersion)).then(function (doc) {
        if (doc && !doc.unchanged) {
          var a = document.activeElement;
          var typing = a && (a.tagName === 'INPUT' || a.tagName === 'SELECT' || a.tagName === 'TEXTAREA');
          if (!typing) { window.location.reload(); return; }
          incVersion = doc.version;
          if (incStatus) { incStatus.className = 'live stale'; incStatus.textContent = 'Incidents changed: reload to see them'; }
        } else if (incStatus) { incStatus.className = 'live'; incStatus.textContent = 'Live \u00b7 checked ' + new Date().toLocaleTimeString(); }
        setTimeout(incPoll, incInterval);
      }).catch(function () {
        if (incStatus) { incStatus.className = 'live stale'; incStatus.textContent = 'Not updating (server unreachable); retrying'; }
        setTimeout(incPoll, incInterval);
      });
    };
    setTimeout(incPoll, incInterval);
  }

  // ---- finding detail: label buttons ---------------------------------------------------------------------
  var actions = document.getElementById('label-actions');
  if (actions) {
    var uid = actions.getAttribute('data-uid');
    var current = document.getElementById('label-current');
    var msg = document.getElementById('label-message');
    Array.prototype.forEach.call(actions.querySelectorAll('button[data-label]'), function (b) {
      b.addEventListener('click', function () {
        var label = b.getAttribute('data-label');
        var buttons = actions.querySelectorAll('button');
        Array.prototype.forEach.call(buttons, function (x) { x.disabled = true; });
        api('POST', '/api/findings/' + encodeURIComponent(uid) + '/label', { label: label }).then(function (doc) {
          while (current.firstChild) current.removeChild(current.firstChild);
          current.appendChild(labelBadge(doc.label.label));
          msg.textContent = 'Saved at ' + time(doc.label.at) + ' to labels.jsonl; the next seclake calibrate --labels uses it.';
          msg.className = 'note';
        }).catch(function (e) {
          msg.textContent = 'Could not save the label: ' + e.message;
          msg.className = 'error';
        }).then(function () {
          Array.prototype.forEach.call(buttons, function (x) { x.disabled = false; });
        });
      });
    });
  }

  // ---- incident / finding feedback: benign (scoped, expiring suppression) or malicious ------------------------
  var fb = document.getElementById('feedback');
  if (fb) {
    var fbUid = fb.getAttribute('data-uid');
    var fbForm = document.getElementById('feedback-form');
    var fbMsg = document.getElementById('feedback-message');
    var fbCurrent = document.getElementById('verdict-current');
    Array.prototype.forEach.call(fb.querySelectorAll('button[data-verdict]'), function (b) {
      b.addEventListener('click', function () {
        var verdict = b.getAttribute('data-verdict');
        var body = { uid: fbUid, verdict: verdict };
        if (verdict === 'benign') {
          var picked = fbForm.querySelector('input[name="scope"]:checked');
          var scope = picked ? picked.value : '';
          if (scope) body.scope = scope;
          var exp = fbForm.querySelector('select[name="expires"]').value;
          body.expires_days = exp === 'never' ? null : Number(exp);
        }
        var note = fbForm.querySelector('input[name="note"]').value.trim();
        if (note) body.note = note;
        var buttons = fb.querySelectorAll('button');
        Array.prototype.forEach.call(buttons, function (x) { x.disabled = true; });
        api('POST', '/api/feedback', body).then(function (doc) {
          while (fbCurrent.firstChild) fbCurrent.removeChild(fbCurrent.firstChild);
          var v = (doc && doc.verdict && doc.verdict.verdict) || verdict;
          fbCurrent.appendChild(el('span', v === 'malicious' ? 'lbl lbl-tp' : 'lbl lbl-fp', v));
          while (fbMsg.firstChild) fbMsg.removeChild(fbMsg.firstChild);
          var sups = (doc && doc.suppressions) || (doc && doc.suppression ? [doc.suppression] : []);
          if (v === 'benign') {
            fbMsg.appendChild(document.createTextNode('Marked benign; ' + sups.length + ' suppression' + (sups.length === 1 ? '' : 's') + ' in force. '));
            var a = el('a', null, 'See the suppressions');
            a.setAttribute('href', base + '/suppressions');
            a.id = 'feedback-suppressions-link';
            fbMsg.appendChild(a);
          } else {
            fbMsg.appendChild(document.createTextNode('Marked malicious: kept as a labelled example for calibration.'));
          }
          fbMsg.className = 'note saved';
        }).catch(function (e) {
          fbMsg.textContent = 'Could not save the verdict: ' + e.message;
          fbMsg.className = 'error';
        }).then(function () {
          Array.prototype.forEach.call(buttons, function (x) { x.disabled = false; });
        });
      });
    });
  }

  // ---- suppressions: remove ------------------------------------------------------------------------------------
  var supTable = document.getElementById('suppressions-table');
  if (supTable) {
    var supMsg = document.getElementById('suppressions-message');
    Array.prototype.forEach.call(supTable.querySelectorAll('button.remove[data-id]'), function (b) {
      b.addEventListener('click', function () {
        var id = b.getAttribute('data-id');
        b.disabled = true;
        api('POST', '/api/suppressions/' + encodeURIComponent(id) + '/remove', {}).then(function () {
          var tr = b.closest('tr');
          var state = tr ? tr.querySelector('.state') : null;
          if (state) { state.textContent = 'removed'; state.className = 'state state-removed'; }
          if (tr) tr.setAttribute('data-state', 'removed');
          b.parentNode.removeChild(b);
          supMsg.textContent = 'Suppression ' + id + ' removed: matching findings alert again from now on.';
          supMsg.className = 'note saved';
        }).catch(function (e) {
          b.disabled = false;
          supMsg.textContent = 'Could not remove it: ' + e.message;
          supMsg.className = 'error';
        });
      });
    });
  }

  // ---- query box -----------------------------------------------------------------------------------------
  var form = document.getElementById('query-form');
  if (form) {
    var sql = document.getElementById('query-sql');
    var limit = document.getElementById('query-limit');
    var out = document.getElementById('query-result');
    var run = document.getElementById('query-run');
    Array.prototype.forEach.call(document.querySelectorAll('button[data-sql]'), function (b) {
      b.addEventListener('click', function () { sql.value = b.getAttribute('data-sql'); sql.focus(); });
    });
    sql.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      run.disabled = true;
      while (out.firstChild) out.removeChild(out.firstChild);
      out.appendChild(el('p', 'note', 'Running\\u2026'));
      api('POST', '/api/query', { sql: sql.value, limit: Number(limit.value) || 500 }).then(function (doc) {
        while (out.firstChild) out.removeChild(out.firstChild);
        var info = doc.rows.length + ' row' + (doc.rows.length === 1 ? '' : 's') + (doc.truncated ? ' (limit reached; more exist)' : '') + ' \\u00b7 ' + doc.elapsed_ms + ' ms';
        out.appendChild(el('p', 'note', info));
        var wrap = el('div', 'scroll');
        var t = el('table', 'grid'); t.id = 'query-table';
        var thead = el('thead'); var hr = el('tr');
        doc.columns.forEach(function (c) { hr.appendChild(el('th', null, c)); });
        thead.appendChild(hr); t.appendChild(thead);
        var tb = el('tbody');
        doc.rows.forEach(function (r) {
          var tr = el('tr');
          r.forEach(function (v) {
            var s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
            tr.appendChild(el('td', typeof v === 'number' ? 'num' : null, s));
          });
          tb.appendChild(tr);
        });
        if (doc.rows.length === 0) { var tr = el('tr'); var td = el('td', 'empty', 'No rows.'); td.setAttribute('colspan', String(Math.max(1, doc.columns.length))); tr.appendChild(td); tb.appendChild(tr); }
        t.appendChild(tb); wrap.appendChild(t); out.appendChild(wrap);
      }).catch(function (err) {
        while (out.firstChild) out.removeChild(out.firstChild);
        var box = el('div', 'error', err.message);
        box.id = 'query-error';
        out.appendChild(box);
      }).then(function () { run.disabled = false; });
    });
  }
})();
`;

export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0b63c5"/>' +
  '<path d="M7 21c3 3 15 3 18 0M7 15c3 3 15 3 18 0M7 9c3 3 15 3 18 0" stroke="#fff" stroke-width="2.4" fill="none" stroke-linecap="round"/></svg>';

/** Short content hash of the assets, for cache-busting URLs. */
export const ASSET_VERSION = createHash('sha256').update(STYLE_CSS).update(APP_JS).update(FAVICON_SVG).digest('hex').slice(0, 12);
