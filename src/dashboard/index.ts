/**
 * The seclake web dashboard: server-rendered pages (Incidents, Detections, Suppressions, Models, Lake), a small JSON API behind them, and
 * static assets, all served by `seclake serve` next to the SageMaker runtime API. No framework, no external requests.
 *
 *   const running = await startServer({ models, port: 8080 });
 *   const dash = mountDashboard(running.app, { lakeDir, registry: running.app.registry, authToken });
 *   // -> http://127.0.0.1:8080/ui/   (with a token: open /ui/?token=TOKEN once; a session cookie follows)
 *
 * Routes under the prefix (default `/ui`):
 *   GET  / (and /incidents)        Incidents: timeline by severity, list (filters severity, status, entity), newest first
 *   GET  /incidents/{uid}          one incident: header, evidence strongest first, detectors that agreed, feedback buttons
 *   GET  /suppressions             every suppression with its explanation, expiry and a remove button
 *   GET  /lake                     Lake: sources, events per day/partition, quarantine, query box
 *   GET  /models                   Models: hyperparameters, training curve, calibration (support, per-entity thresholds), score histogram
 *   GET  /findings                 Detections (detection findings): live list (polls /api/findings), filters
 *   GET  /findings/{uid}           one finding: explanation, source event, OCSF JSON, label and feedback buttons
 *   GET  /api/summary | /api/models | /api/findings?severity=&label=&q=&model=&limit=&version= | /api/findings/{uid} | /api/labels
 *   GET  /api/incidents?severity=&status=&entity=&limit=&version= | /api/incidents/{uid}
 *   POST /api/findings/{uid}/label {"label":"true_positive"|"false_positive"}  -> appended to <lake>/_seclake/labels.jsonl
 *   POST /api/query                {"sql":"SELECT ...","limit":500}            -> read-only, sandboxed
 *   GET  /static/{style.css,app.js,favicon.svg}
 *
 * Security: see http.ts (Host check, token -> HttpOnly SameSite=Strict cookie, Origin + CSRF token on POST, body
 * limits, CSP without inline code), html.ts (escaping), query.ts (read-only SQL sandbox), findings.ts (only
 * catalogued objects are read).
 */
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, errorMessage } from '../core/errors.js';
import type { MountedHandler, RouteContext, ServeApp, ServeLogger } from '../serve/app.js';
import type { ServableModel } from '../serve/registry.js';
import { setRootRedirect } from '../serve/server.js';
import { countFindings, findingScores, getFinding, listFindings, sourceEvent, summarize, type FindingFilter } from './findings.js';
import { errorPage, type PageContext } from './html.js';
import { Guard, html, json, readJsonBody, searchParams, send, type Reply, HTML } from './http.js';
import { isAnalystLabel, LabelStore } from './labels.js';
import { lakeSummary } from './lake-summary.js';
import { listModels, modelApiView, readModelInfo, type ModelEntry, type ModelSource } from './models.js';
import { findingPage, findingsPage, lakePage, modelsPage } from './pages.js';
import { incidentPage, incidentsPage, suppressionsPage } from './incident-pages.js';
import { countIncidents, getIncident, incidentStatuses, incidentTimes, incidentsState, listIncidents, type IncidentFilter } from './incidents.js';
import { feedbackPath, openFeedback, suppressionHits } from '../findings/feedback.js';
import { feedbackRoute } from './feedback.js';
import { runLakeQuery, DEFAULT_QUERY_TIMEOUT_MS } from './query.js';
import { fileStamp, LakeReader } from './reader.js';
import { APP_JS, ASSET_VERSION, FAVICON_SVG, STYLE_CSS } from './static.js';

export type { ModelEntry, ModelSource } from './models.js';
export { LabelStore, labelsPath, type LabelRecord } from './labels.js';
export { checkReadOnly, runLakeQuery, QueryRefusedError } from './query.js';

export const DEFAULT_PREFIX = '/ui';
export const DEFAULT_POLL_MS = 3000;
/** Largest POST body (a query or a label). */
export const MAX_POST_BYTES = 64 * 1024;

export interface DashboardOptions {
  /** The lake to show (local directory). */
  lakeDir: string;
  /** Model files to show, by name. */
  modelPaths?: readonly ModelEntry[];
  /** Or the inference server's registry (the Models page follows its reloads). */
  registry?: Exclude<ModelSource, readonly ModelEntry[]>;
  /** Require this bearer token (the serve --auth-token); browsers send it once as `?token=` and get a cookie. */
  authToken?: string;
  /** Mount prefix (default /ui). */
  prefix?: string;
  /** Host names allowed besides IP literals and localhost (no token: DNS-rebinding protection). `*` = any. */
  allowedHosts?: readonly string[];
  /** Redirect `GET /` of the server to the dashboard (default true). */
  rootRedirect?: boolean;
  /** How often the findings list polls (default 3000 ms). */
  pollMs?: number;
  /** Longest a query may run (default 20 s). */
  queryTimeoutMs?: number;
  /** Byte budget of a query's rows as JSON (default 16 MiB); more rows are cut and the result says so. */
  queryMaxBytes?: number;
  /** Memory ceiling of the process running a query (default 2 GiB resident); beyond it the query is stopped. */
  queryMaxMemoryBytes?: number;
  log?: ServeLogger;
}

export interface Dashboard {
  readonly prefix: string;
  readonly lakeDir: string;
  readonly labels: LabelStore;
  /** The handler to mount (paths below the prefix). */
  readonly handler: MountedHandler;
  /** Closes the cached DuckDB connection. */
  close(): void;
}

const STATIC: Record<string, { body: string; type: string }> = {
  '/static/style.css': { body: STYLE_CSS, type: 'text/css; charset=utf-8' },
  '/static/app.js': { body: APP_JS, type: 'text/javascript; charset=utf-8' },
  '/static/favicon.svg': { body: FAVICON_SVG, type: 'image/svg+xml' },
};

function intParam(v: string | null, min: number, max: number): number | undefined {
  if (v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

function filterFrom(q: URLSearchParams): FindingFilter {
  const f: FindingFilter = {};
  const sev = intParam(q.get('severity'), 0, 6);
  if (sev !== undefined) f.minSeverity = sev;
  const text = (q.get('q') ?? '').trim().slice(0, 200);
  if (text) f.text = text;
  const label = q.get('label') ?? '';
  if (label === 'unlabelled' || label === 'true_positive' || label === 'false_positive') f.label = label;
  const limit = intParam(q.get('limit'), 1, 5000);
  if (limit !== undefined) f.limit = limit;
  const model = q.get('model') ?? '';
  if (/^[A-Za-z0-9._-]{1,64}$/.test(model)) f.modelVersion = model;
  return f;
}

/** The filter as a canonical query string (what the live list polls with). */
function filterQuery(f: FindingFilter): string {
  const q = new URLSearchParams();
  if (f.minSeverity) q.set('severity', String(f.minSeverity));
  if (f.label) q.set('label', f.label);
  if (f.text) q.set('q', f.text);
  if (f.limit) q.set('limit', String(f.limit));
  if (f.modelVersion) q.set('model', f.modelVersion);
  return q.toString();
}

function incidentFilterFrom(q: URLSearchParams): IncidentFilter {
  const f: IncidentFilter = {};
  const sev = intParam(q.get('severity'), 0, 6);
  if (sev !== undefined) f.minSeverity = sev;
  const status = intParam(q.get('status'), 0, 99);
  if (status !== undefined) f.statusId = status;
  const entity = (q.get('entity') ?? '').trim().slice(0, 200);
  if (entity) f.entity = entity;
  const limit = intParam(q.get('limit'), 1, 5000);
  if (limit !== undefined) f.limit = limit;
  return f;
}

/** The incident filter as a canonical query string (what the list polls with). */
function incidentFilterQuery(f: IncidentFilter): string {
  const q = new URLSearchParams();
  if (f.minSeverity) q.set('severity', String(f.minSeverity));
  if (f.statusId !== undefined) q.set('status', String(f.statusId));
  if (f.entity) q.set('entity', f.entity);
  if (f.limit) q.set('limit', String(f.limit));
  return q.toString();
}

export function createDashboard(opts: DashboardOptions): Dashboard {
  const prefix = (opts.prefix ?? DEFAULT_PREFIX).replace(/\/+$/, '');
  if (!prefix.startsWith('/') || prefix === '') throw new Error(`dashboard prefix must start with '/' and not be '/': '${opts.prefix}'`);
  const lakeDir = path.resolve(opts.lakeDir);
  const reader = new LakeReader(lakeDir);
  const labels = new LabelStore(lakeDir);
  const guard = new Guard({ cookiePath: prefix, ...(opts.authToken !== undefined ? { authToken: opts.authToken } : {}), ...(opts.allowedHosts ? { allowedHosts: opts.allowedHosts } : {}) });
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const modelSource: ModelSource | undefined = opts.registry ?? opts.modelPaths;
  const log = opts.log;

  const models = (): ModelEntry[] => listModels(modelSource);
  const findingsVersion = (query: string): string => `${reader.findingsStamp()}|${labels.stamp()}|${query}`;
  // The incidents objects, and the verdicts (the list's verdict column).
  const incidentsVersion = (query: string): string => `${reader.incidentsStamp()}|${fileStamp(feedbackPath(lakeDir))}|${query}`;

  async function route(req: IncomingMessage, p: string, session: string): Promise<Reply> {
    const method = req.method ?? 'GET';
    const ctx: PageContext = { base: prefix, lakeDir, csrf: guard.csrfToken(session), assetVersion: ASSET_VERSION };
    const q = searchParams(req);
    const get = method === 'GET' || method === 'HEAD';
    const onlyGet = (): void => {
      if (!get) throw new HttpError(405, 'MethodNotAllowed', `Method ${method.slice(0, 20)} is not allowed here; use GET`);
    };
    const onlyPost = (): void => {
      if (method !== 'POST') throw new HttpError(405, 'MethodNotAllowed', `Method ${method.slice(0, 20)} is not allowed here; use POST`);
      guard.checkCsrf(req, session);
    };

    if (p === '/' || p === '/incidents') {
      onlyGet();
      const filter = incidentFilterFrom(q);
      const iq = incidentFilterQuery(filter);
      const state = await incidentsState(reader);
      const feedback = openFeedback(lakeDir);
      return html(
        incidentsPage(
          ctx,
          {
            state,
            items: await listIncidents(reader, filter),
            total: await countIncidents(reader, filter),
            times: await incidentTimes(reader, filter),
            statuses: await incidentStatuses(reader),
            verdicts: feedback.latestVerdicts(),
            findings: state === 'some' ? 0 : await countFindings(reader),
          },
          filter,
          { version: incidentsVersion(iq), query: iq, pollMs },
        ),
      );
    }
    if (p.startsWith('/incidents/')) {
      onlyGet();
      const uid = decodeSegment(p.slice('/incidents/'.length));
      const d = await getIncident(reader, uid);
      if (!d) {
        // A suppression's origin may be a detection finding: show it there.
        if (await getFinding(reader, uid)) return { status: 303, body: '', type: HTML, headers: { Location: `${prefix}/findings/${encodeURIComponent(uid)}` } };
        throw new HttpError(404, 'NotFound', `No incident with uid ${uid.slice(0, 80)}`);
      }
      const feedback = openFeedback(lakeDir);
      return html(incidentPage(ctx, d, { current: feedback.latestVerdicts().get(uid), active: feedback.suppressions({ activeAt: Date.now() }) }));
    }
    if (p === '/suppressions') {
      onlyGet();
      const feedback = openFeedback(lakeDir);
      const hits = await reader.use((db, views) => (views.findings ? suppressionHits(lakeDir, { db }) : Promise.resolve(new Map())));
      return html(suppressionsPage(ctx, feedback.suppressions(), feedback.file, hits));
    }
    if (p === '/api/incidents') {
      onlyGet();
      const filter = incidentFilterFrom(q);
      const version = incidentsVersion(incidentFilterQuery(filter));
      if (q.get('version') === version) return json({ unchanged: true, version });
      const verdicts = openFeedback(lakeDir).latestVerdicts();
      const items = await listIncidents(reader, filter);
      return json({ version, state: await incidentsState(reader), total: await countIncidents(reader, filter), incidents: items.map((i) => ({ ...i, verdict: verdicts.get(i.uid) ?? null })) });
    }
    if (p.startsWith('/api/incidents/')) {
      onlyGet();
      const uid = decodeSegment(p.slice('/api/incidents/'.length));
      const d = await getIncident(reader, uid);
      if (!d) throw new HttpError(404, 'NotFound', `No incident with uid ${uid.slice(0, 80)}`);
      return json({ incident: d.incident, ocsf: d.ocsf ?? null, revisions: d.revisions, members: [...d.members.values()].map((m) => m.summary), verdict: openFeedback(lakeDir).latestVerdicts().get(uid) ?? null });
    }
    if (p === '/lake') {
      onlyGet();
      return html(lakePage(ctx, await lakeSummary(lakeDir, reader), await countFindings(reader)));
    }
    if (p === '/models') {
      onlyGet();
      const infos = models().map(readModelInfo);
      const withScores = [];
      for (const info of infos) withScores.push({ info, findingScores: info.version && info.calibration ? await findingScores(reader, info.version) : [] });
      return html(modelsPage(ctx, withScores));
    }
    if (p === '/findings') {
      onlyGet();
      const filter = filterFrom(q);
      const fq = filterQuery(filter);
      const version = findingsVersion(fq);
      const latest = labels.latest();
      const items = await listFindings(reader, latest, filter);
      let tp = 0;
      for (const l of latest.values()) if (l.label === 'true_positive') tp++;
      return html(findingsPage(ctx, items, filter, version, fq, pollMs, { file: labels.file, tp, fp: latest.size - tp }));
    }
    if (p.startsWith('/findings/')) {
      onlyGet();
      const uid = decodeSegment(p.slice('/findings/'.length));
      const f = await getFinding(reader, uid);
      if (!f) throw new HttpError(404, 'NotFound', `No finding with uid ${uid.slice(0, 80)}`);
      const s = summarize(f, labels.latest());
      const feedback = openFeedback(lakeDir);
      return html(
        findingPage(ctx, f, s, labels.latest().get(s.uid), await sourceEvent(reader, s.source_object, s.source_row), {
          current: feedback.latestVerdicts().get(s.uid),
          active: feedback.suppressions({ activeAt: Date.now() }),
        }),
      );
    }
    if (p === '/api/summary') {
      onlyGet();
      return json(await lakeSummary(lakeDir, reader));
    }
    if (p === '/api/models') {
      onlyGet();
      return json(models().map((m) => modelApiView(readModelInfo(m))));
    }
    if (p === '/api/labels') {
      onlyGet();
      return json({ file: labels.file, labels: [...labels.latest().values()] });
    }
    if (p === '/api/findings') {
      onlyGet();
      const filter = filterFrom(q);
      const fq = filterQuery(filter);
      const version = findingsVersion(fq);
      if (q.get('version') === version) return json({ unchanged: true, version });
      return json({ version, findings: await listFindings(reader, labels.latest(), filter) });
    }
    if (p === '/api/query') {
      onlyPost();
      const body = await readJsonBody(req, MAX_POST_BYTES);
      if (typeof body.sql !== 'string') throw new HttpError(400, 'ValidationError', 'Expected {"sql": "SELECT ..."}');
      const limit = typeof body.limit === 'number' ? body.limit : undefined;
      return json(
        await runLakeQuery(lakeDir, body.sql, {
          ...(limit !== undefined ? { limit } : {}),
          timeoutMs: opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
          ...(opts.queryMaxBytes !== undefined ? { maxBytes: opts.queryMaxBytes } : {}),
          ...(opts.queryMaxMemoryBytes !== undefined ? { maxMemoryBytes: opts.queryMaxMemoryBytes } : {}),
        }),
      );
    }
    const labelMatch = /^\/api\/findings\/([^/]+)\/label$/.exec(p);
    if (labelMatch) {
      onlyPost();
      const body = await readJsonBody(req, MAX_POST_BYTES);
      if (!isAnalystLabel(body.label)) throw new HttpError(400, 'ValidationError', 'label must be "true_positive" or "false_positive"');
      const uid = decodeSegment(labelMatch[1]!);
      const f = await getFinding(reader, uid);
      if (!f) throw new HttpError(404, 'NotFound', `No finding with uid ${uid.slice(0, 80)}`);
      // Entity and IP come from the finding in the lake, never from the request.
      const s = summarize(f);
      // The same label again (a double click) adds no line: calibration counts every line.
      const current = labels.latest().get(s.uid);
      if (current?.label === body.label) return json({ label: current, unchanged: true });
      const rec = labels.add({ finding_uid: s.uid, entity: s.entity, ip: s.ip, label: body.label });
      log?.info(`Dashboard: finding ${s.uid} labelled ${rec.label}`);
      return json({ label: rec });
    }
    if (p.startsWith('/api/findings/')) {
      onlyGet();
      const uid = decodeSegment(p.slice('/api/findings/'.length));
      const f = await getFinding(reader, uid);
      if (!f) throw new HttpError(404, 'NotFound', `No finding with uid ${uid.slice(0, 80)}`);
      const s = summarize(f, labels.latest());
      return json({ finding: f, summary: s, label: labels.latest().get(s.uid) ?? null, source_event: await sourceEvent(reader, s.source_object, s.source_row) });
    }
    // Feedback API (verdicts, suppressions): src/dashboard/feedback.ts.
    const fb = await feedbackRoute(req, p, { lakeDir, checkPost: onlyPost, checkGet: onlyGet, ...(log ? { log } : {}) });
    if (fb) return fb;
    throw new HttpError(404, 'NotFound', `No dashboard page at ${prefix}${p.slice(0, 200)}`);
  }

  const handler: MountedHandler = async (req: IncomingMessage, res: ServerResponse, rc: RouteContext): Promise<void> => {
    const p = rc.path;
    const isApi = p.startsWith('/api/');
    const fail = (status: number, title: string, message: string, type = 'Error'): void =>
      send(res, isApi ? { ...json({ message }, status), headers: { 'x-amzn-ErrorType': type } } : html(errorPage(prefix, status, title, message), status));
    if (!guard.hostAllowed(req.headers.host)) {
      return fail(403, 'Forbidden', `Host ${String(req.headers.host ?? '').slice(0, 100)} is not allowed; open the dashboard by IP address or localhost (or start serve with an --auth-token)`, 'Forbidden');
    }
    const asset = STATIC[p];
    if (asset) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'Method not allowed', 'Use GET');
      return send(res, { status: 200, body: asset.body, type: asset.type, headers: { 'Cache-Control': 'public, max-age=3600' } });
    }
    const q = searchParams(req);
    const token = q.get('token');
    if (token !== null && (req.method === 'GET' || req.method === 'HEAD')) {
      const cookie = guard.loginCookie(token);
      if (!cookie) return fail(401, 'Unauthorized', 'The token is not valid.', 'UnauthorizedException');
      q.delete('token');
      const rest = q.toString();
      return send(res, { status: 303, body: '', type: HTML, headers: { Location: `${prefix}${p === '/' ? '/' : p}${rest ? `?${rest}` : ''}`, 'Set-Cookie': cookie } });
    }
    const auth = guard.authenticate(req);
    if (!auth.ok) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="seclake"');
      return fail(401, 'Unauthorized', `This dashboard needs the serve token (${auth.reason}): open ${prefix}/?token=YOUR_TOKEN once, or send Authorization: Bearer.`, 'UnauthorizedException');
    }
    try {
      const reply = await route(req, p, auth.session);
      if (req.method === 'HEAD') reply.body = '';
      send(res, reply);
    } catch (err) {
      if (err instanceof HttpError) return fail(err.status, err.errorType, err.message, err.errorType);
      log?.error(`Dashboard ${req.method} ${prefix}${p.slice(0, 200)} failed: ${errorMessage(err)}`);
      return fail(500, 'Internal error', `Internal error: ${errorMessage(err).slice(0, 500)}`, 'InternalFailure');
    }
  };

  return {
    prefix,
    lakeDir,
    labels,
    handler,
    close: () => reader.close(),
  };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'ValidationError', 'Malformed percent-encoding in the path');
  }
}

/**
 * Creates the dashboard and mounts it on a serve app (auth handled by the dashboard itself, see http.ts); `GET /` of
 * the server then redirects to it unless `rootRedirect: false`.
 */
export function mountDashboard<M extends ServableModel>(app: ServeApp<M>, opts: DashboardOptions): Dashboard {
  const dash = createDashboard(opts);
  app.mount(dash.prefix, dash.handler, { auth: 'none' });
  if (opts.rootRedirect !== false) setRootRedirect(app, `${dash.prefix}/`);
  return dash;
}
