/**
 * The dashboard's feedback API (JSON; the pages' buttons and lists call it). Verdicts and suppressions live in the
 * lake's feedback store (src/findings/feedback.ts, docs/feedback.md):
 *
 *   POST /api/feedback                   {target_uid (or uid), target_kind?: 'finding'|'incident', verdict: 'benign'|'malicious',
 *                                         scope?: 'cidr:RANGE'|'asn:N'|'feature:NAME'|'entity', expires_days?: number|null,
 *                                         model_only?: boolean, note?: string}
 *                                        -> {verdict, suppression?, suppressions, unchanged, covered_by, missing}
 *   GET  /api/suppressions[?all=1][&hits=1]  -> {suppressions: [{...record, state, text, removed_at?, removed_by?, hits?}]}
 *                                        (all: expired and removed ones too; hits: {count, last_time} of the findings
 *                                        each has silenced, read from the findings view)
 *   POST /api/suppressions/{id}/remove   -> {removal, suppression, removed}
 *
 * POSTs go through the caller's CSRF check (http.ts Guard.checkCsrf: Origin, Sec-Fetch-Site and the X-CSRF-Token
 * header) and a bounded JSON body, like the query box. Entity, model and address come from the lake, never from the
 * request; `expires_days: null` (never) must be sent explicitly.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../core/errors.js';
import { FeedbackError, MAX_EXPIRES_DAYS, MAX_NOTE_CHARS, giveVerdict, openFeedback, parseScope, suppressionHits, type SuppressionScope } from '../findings/feedback.js';
import { json, readJsonBody, searchParams, type Reply } from './http.js';

/** Largest feedback POST body. */
export const MAX_FEEDBACK_BODY = 16 * 1024;

export interface FeedbackApiContext {
  lakeDir: string;
  /** Checks the method is POST and the request carries a valid CSRF token (throws HttpError 405/403). */
  checkPost(): void;
  /** Checks the method is GET or HEAD (throws HttpError 405). */
  checkGet(): void;
  /** Who acts (the dashboard has no user accounts: default "dashboard"). */
  by?: string;
  log?: { info(msg: string): void };
}

const UID = /^[A-Za-z0-9._:-]{1,128}$/;
const SUPPRESSION_ID = /^\/api\/suppressions\/([0-9a-f]{16})\/remove$/;

function bad(message: string): HttpError {
  return new HttpError(400, 'ValidationError', message);
}

function asHttp(err: unknown): never {
  if (err instanceof FeedbackError) {
    const notFound = /^no (finding|suppression)/.test(err.message);
    // The lake's directory is the server's business, not the page's.
    throw new HttpError(notFound ? 404 : 400, notFound ? 'NotFound' : 'ValidationError', err.message.replace(/ in \/\S+/g, ''));
  }
  throw err;
}

/**
 * Handle a feedback route; undefined when `p` (the path below the dashboard prefix) is not one of them.
 */
export async function feedbackRoute(req: IncomingMessage, p: string, ctx: FeedbackApiContext): Promise<Reply | undefined> {
  const by = ctx.by ?? 'dashboard';
  if (p === '/api/feedback') {
    ctx.checkPost();
    const body = await readJsonBody(req, MAX_FEEDBACK_BODY);
    // `uid` is accepted as another name for `target_uid`.
    const uid = body.target_uid ?? body.uid;
    if (typeof uid !== 'string' || !UID.test(uid)) throw bad('target_uid must be a finding or incident uid');
    if (body.target_kind !== undefined && body.target_kind !== 'finding' && body.target_kind !== 'incident') throw bad('target_kind must be "finding" or "incident"');
    const verdict = body.verdict;
    if (verdict !== 'benign' && verdict !== 'malicious') throw bad('verdict must be "benign" or "malicious"');
    let scope: SuppressionScope | undefined;
    if (body.scope !== undefined && body.scope !== null) {
      if (typeof body.scope !== 'string') throw bad('scope must be a string: cidr:RANGE, asn:NUMBER, feature:NAME or entity');
      try {
        scope = parseScope(body.scope);
      } catch (err) {
        asHttp(err);
      }
    }
    let expires: number | null | undefined;
    if ('expires_days' in body) {
      const e = body.expires_days;
      if (e === null) expires = null;
      else if (typeof e === 'number' && e > 0 && e <= MAX_EXPIRES_DAYS) expires = e;
      else throw bad(`expires_days must be a number of days (more than 0, at most ${MAX_EXPIRES_DAYS}) or null for never`);
    }
    if (verdict === 'malicious' && (scope !== undefined || expires !== undefined || body.model_only === true)) throw bad('scope, expires_days and model_only are for benign verdicts');
    if (body.note !== undefined && (typeof body.note !== 'string' || body.note.length > MAX_NOTE_CHARS)) throw bad(`note must be a string of at most ${MAX_NOTE_CHARS} characters`);
    let res;
    try {
      res = await giveVerdict(ctx.lakeDir, {
        uid,
        verdict,
        ...(scope ? { scope } : {}),
        ...(expires !== undefined ? { expires_days: expires } : {}),
        ...(body.model_only === true ? { model_only: true } : {}),
        ...(typeof body.note === 'string' && body.note.trim() !== '' ? { note: body.note.trim() } : {}),
        by,
      });
    } catch (err) {
      asHttp(err);
    }
    if (body.target_kind !== undefined && body.target_kind !== res.verdict.target_kind && !res.unchanged) {
      // The uid decides; the kind the page sent is only a hint. Say so rather than fail after the fact.
      ctx.log?.info(`Dashboard: ${uid} is a ${res.verdict.target_kind}, the page said ${String(body.target_kind)}`);
    }
    if (!res.unchanged) ctx.log?.info(`Dashboard: ${res.verdict.target_kind} ${uid} marked ${verdict}${res.suppressions.length > 0 ? ` (suppressions ${res.suppressions.map((s) => s.id).join(', ')})` : ''}`);
    return json(res);
  }
  if (p === '/api/suppressions') {
    ctx.checkGet();
    const q = searchParams(req);
    const yes = (k: string): boolean => q.get(k) === '1' || q.get(k) === 'true';
    const all = openFeedback(ctx.lakeDir).suppressions();
    const list = yes('all') ? all : all.filter((s) => s.state === 'active');
    if (!yes('hits')) return json({ suppressions: list });
    // How many findings each has silenced so far (reads the findings view: on request only).
    const hits = await suppressionHits(ctx.lakeDir);
    return json({ suppressions: list.map((s) => ({ ...s, hits: hits.get(s.id) ?? { count: 0, last_time: null } })) });
  }
  const m = SUPPRESSION_ID.exec(p);
  if (m) {
    ctx.checkPost();
    // An empty or JSON body; nothing in it is used.
    if ((req.headers['content-length'] ?? '0') !== '0' || req.headers['transfer-encoding'] !== undefined) await readJsonBody(req, MAX_FEEDBACK_BODY);
    try {
      const r = openFeedback(ctx.lakeDir).removeSuppression(m[1]!, { by });
      if (r.removed) ctx.log?.info(`Dashboard: suppression ${r.suppression.id} removed`);
      return json(r);
    } catch (err) {
      asHttp(err);
    }
  }
  if (p.startsWith('/api/suppressions/')) throw new HttpError(404, 'NotFound', 'Expected POST /api/suppressions/{16 hex digit id}/remove');
  return undefined;
}
