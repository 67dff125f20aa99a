/**
 * `seclake feedback benign|malicious <uid>` and `seclake suppressions [list|remove <id>]`: analyst verdicts on
 * findings and incidents, and the scoped, expiring suppressions a benign verdict adds (src/findings/feedback.ts,
 * docs/feedback.md).
 */
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import {
  DEFAULT_EXPIRES_DAYS,
  FeedbackError,
  feedbackLabelsJsonl,
  MAX_EXPIRES_DAYS,
  giveVerdict,
  openFeedback,
  parseScope,
  scopeText,
  suppressionHits,
  type SuppressionHits,
  type SuppressionView,
  type Verdict,
} from '../../findings/feedback.js';
import { renderTable } from '../format.js';
import { localLake } from '../lake.js';

const EXPIRY = /^(\d+(?:\.\d+)?)\s*(h|d|w)?$/i;
const UNIT_DAYS: Record<string, number> = { h: 1 / 24, d: 1, w: 7 };

/** `30d`, `12h`, `2w`, `30` (days) -> days; `never` -> null. */
export function parseExpiry(value: string): number | null {
  const v = value.trim().toLowerCase();
  if (v === 'never') return null;
  const m = EXPIRY.exec(v);
  const days = m ? Number(m[1]) * UNIT_DAYS[(m[2] ?? 'd').toLowerCase()]! : Number.NaN;
  if (!(days > 0 && days <= MAX_EXPIRES_DAYS)) {
    throw new ConfigError(`--expires ${JSON.stringify(value)}: expected a duration such as 30d, 12h or 2w (at most ${MAX_EXPIRES_DAYS} days), or never`, ['--expires']);
  }
  return days;
}

function whoAmI(flag: string | undefined): string | undefined {
  if (flag !== undefined) return flag;
  try {
    return userInfo().username || process.env.USER;
  } catch {
    return process.env.USER;
  }
}

/** The local lake (checked) whose feedback store a command reads and writes. */
function lakeOf(flag: string | undefined, command: string): string {
  return localLake(flag, command, 'verdicts and suppressions are kept in a local lake only (<lake>/_seclake/feedback.jsonl); an S3 lake has no feedback store yet');
}

function expiryCell(s: SuppressionView): string {
  return s.expires_at === null ? 'never' : s.expires_at.slice(0, 16).replace('T', ' ');
}

interface FeedbackOptions {
  lake?: string;
  scope?: string;
  expires?: string;
  note?: string;
  by?: string;
  modelOnly?: boolean;
  json?: boolean;
}

interface SuppressionsOptions {
  lake?: string;
  all?: boolean;
  json?: boolean;
  by?: string;
}

async function listSuppressions(o: SuppressionsOptions): Promise<void> {
  const lakeDir = lakeOf(o.lake, 'suppressions');
  const store = openFeedback(lakeDir);
  const log = store.read();
  for (const s of log.skipped) process.stderr.write(`seclake: ${store.file}:${s.line}: skipped (${s.reason})\n`);
  const all = store.suppressions();
  const list = o.all ? all : all.filter((s) => s.state === 'active');
  // What each one has silenced so far (findings the monitor wrote as suppressed).
  const hits = list.length > 0 ? await suppressionHits(lakeDir) : new Map<string, SuppressionHits>();
  const hitsOf = (id: string): SuppressionHits => hits.get(id) ?? { count: 0, last_time: null };
  if (o.json) {
    process.stdout.write(JSON.stringify({ file: store.file, suppressions: list.map((s) => ({ ...s, hits: hitsOf(s.id) })) }, null, 2) + '\n');
    return;
  }
  if (list.length === 0) {
    const inactive = all.length - list.length;
    process.stdout.write(`No ${o.all ? '' : 'active '}suppressions.${inactive > 0 ? ` (${inactive} expired or removed: --all lists them)` : ''}\n`);
    return;
  }
  process.stdout.write(
    renderTable(
      ['id', 'state', 'entity', 'scope', 'model', 'expires', 'silenced', 'added by'],
      list.map((s) => [s.id, s.state, s.entity, scopeText(s.scope), s.model ?? s.detector ?? 'any', expiryCell(s), hitsOf(s.id).count, s.by ?? '']),
      60,
    ) + '\n\n',
  );
  for (const s of list) {
    const h = hitsOf(s.id);
    const silenced = h.count === 0 ? 'It has silenced no finding yet.' : `It has silenced ${h.count} finding${h.count === 1 ? '' : 's'}${h.last_time !== null ? `, the latest at ${new Date(h.last_time).toISOString().slice(0, 19)}Z` : ''}.`;
    process.stdout.write(`${s.id}: ${s.text}. ${silenced}\n`);
  }
}

export function registerFeedback(program: Command): void {
  const feedback = program
    .command('feedback')
    .description('Mark a finding or incident benign (adds a scoped, expiring suppression) or malicious (keeps it as a labelled example)')
    .argument('<verdict>', 'benign or malicious')
    .argument('<uid>', 'a finding uid (seclake findings --json: finding_info.uid) or an incident uid')
    .option('--lake <dir>', 'lake directory (default: $SECLAKE_LAKE or ./seclake-data); S3 lakes are not supported')
    .option('--scope <scope>', 'benign: what to suppress instead of the default: cidr:RANGE, asn:NUMBER, feature:NAME or entity (everything of the entity)')
    .option('--expires <when>', `benign: how long the suppression lasts: 30d, 12h, 2w, or never (default ${DEFAULT_EXPIRES_DAYS}d)`)
    .option('--model-only', "benign: suppress only findings of the marked finding's model (default: any detector)")
    .option('--note <text>', 'why (kept with the verdict and shown with the suppression)')
    .option('--by <name>', 'who gives the verdict (default: the user name)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
A verdict is appended to <lake>/_seclake/feedback.jsonl (append-only; nothing is ever rewritten).

benign     adds a suppression: \`seclake monitor\` then writes matching findings with status Suppressed
           (status_id 3, unmapped.suppressed_by = the suppression id); they join no incident and reach no sink.
           The default scope is narrow: the entity together with
             - the finding's ASN, when the finding carries one (unmapped.asn), else
             - its address's /24 (IPv6: /64), for a pair finding (IP Insights, history), or
             - its top feature, for a behaviour finding (rcf): findings driven mostly by that feature.
           An incident's benign verdict suppresses each member finding's default scope. --scope entity silences
           everything about the entity (use with care). It expires after ${DEFAULT_EXPIRES_DAYS} days unless --expires says otherwise;
           --expires never must be asked for. The verdict is also a normal example for recalibration.
malicious  keeps the finding (or each member of the incident) as a labelled abnormal example for recalibration, and
           says which active suppressions would hide it.

Entity, model and address come from the finding in the lake, never from the command line. Marking the same target
again with the same verdict adds nothing; a different verdict replaces the earlier one for calibration (the
suppression it added stays until it expires or is removed: \`seclake suppressions remove ID\`).

Examples:
  seclake feedback benign 0f3c9a1e2b7d4c5a8e6f1d2c3b4a5968 --lake ./lake --note "office VPN"
  seclake feedback benign 0f3c9a1e2b7d4c5a8e6f1d2c3b4a5968 --lake ./lake --scope asn:14061 --expires 7d
  seclake feedback benign 7b1e... --lake ./lake --scope feature:network.bytes_out --model-only
  seclake feedback malicious 0f3c9a1e2b7d4c5a8e6f1d2c3b4a5968 --lake ./lake --json
  seclake suppressions --lake ./lake
  seclake feedback export --lake ./lake --model logins --out labels.jsonl   # for seclake calibrate --labels`,
    )
    .action(async (verdictArg: string, uid: string, o: FeedbackOptions) => {
      const verdict = verdictArg.trim().toLowerCase();
      if (verdict !== 'benign' && verdict !== 'malicious') throw new ConfigError(`verdict ${JSON.stringify(verdictArg)}: expected benign or malicious`, ['verdict']);
      if (verdict === 'malicious' && (o.scope !== undefined || o.expires !== undefined || o.modelOnly)) {
        throw new ConfigError('--scope, --expires and --model-only are for benign verdicts (a malicious verdict adds no suppression)', ['--scope']);
      }
      const lakeDir = lakeOf(o.lake, 'feedback');
      const scope = o.scope !== undefined ? parseScope(o.scope) : undefined;
      const expires = o.expires !== undefined ? parseExpiry(o.expires) : undefined;
      const by = whoAmI(o.by);
      const res = await giveVerdict(lakeDir, {
        uid: uid.trim(),
        verdict: verdict as Verdict,
        ...(scope ? { scope } : {}),
        ...(expires !== undefined ? { expires_days: expires } : {}),
        ...(o.modelOnly ? { model_only: true } : {}),
        ...(o.note !== undefined ? { note: o.note } : {}),
        ...(by !== undefined ? { by } : {}),
      });
      if (o.json) {
        process.stdout.write(JSON.stringify(res, null, 2) + '\n');
        return;
      }
      const v = res.verdict;
      const what = `${v.target_kind} ${v.target_uid} (${v.entity}${v.ip ? `, ${v.ip}` : ''}${v.model ? `, model ${v.model}` : ''})`;
      const out: string[] = [];
      out.push(res.unchanged ? `${what} was already marked ${v.verdict} (${v.at}): nothing added.` : `Marked ${what} ${v.verdict}.`);
      if (res.missing.length > 0) out.push(`${res.missing.length} member finding(s) of the incident are not in the findings view and got no scope of their own: ${res.missing.join(', ')}`);
      if (v.verdict === 'benign') {
        const views = openFeedback(lakeDir).suppressions();
        for (const s of res.suppressions) {
          const view = views.find((x) => x.id === s.id);
          out.push(`Suppression ${s.id} (${scopeText(s.scope)}): ${view?.text ?? ''}`);
        }
        if (res.suppressions.length > 0) out.push(`List them with \`seclake suppressions --lake ${lakeDir}\`; remove one with \`seclake suppressions remove ID --lake ${lakeDir}\`.`);
      } else {
        out.push('Kept as a labelled example (abnormal) for recalibration.');
        for (const s of res.covered_by) out.push(`Warning: active suppression ${s.id} hides findings like this one: ${s.text}. Remove it with \`seclake suppressions remove ${s.id} --lake ${lakeDir}\`.`);
      }
      process.stdout.write(out.join('\n') + '\n');
    });

  feedback
    .command('export')
    .description("Write a model's verdicts as the labels file `seclake calibrate --labels` reads (benign = false_positive, malicious = true_positive)")
    .requiredOption('--model <name>', 'model name (the findings\' model_name)')
    .option('--out <file>', 'write to this file (default: stdout)')
    .exitOverride()
    .action((_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ lake?: string; model: string; out?: string }>();
      const r = feedbackLabelsJsonl(lakeOf(o.lake, 'feedback export'), o.model);
      if (o.out !== undefined) writeFileSync(o.out, r.text);
      else process.stdout.write(r.text);
      process.stderr.write(
        `${r.false_positives} benign (false_positive) and ${r.true_positives} malicious (true_positive) examples of model ${o.model}` +
          `${r.without_ip > 0 ? `; ${r.without_ip} behaviour example(s) without an address left out (calibrate takes labels for pair models)` : ''}` +
          `${o.out !== undefined ? ` written to ${o.out}` : ''}\n`,
      );
    });

  const suppressions = program
    .command('suppressions')
    .description('List the suppressions analysts added (active ones; --all for expired and removed too), or remove one')
    .option('--lake <dir>', 'lake directory (default: $SECLAKE_LAKE or ./seclake-data); S3 lakes are not supported')
    .option('--all', 'also list expired and removed suppressions')
    .option('--json', 'print them as JSON (each with its state and explanation)')
    .addHelpText(
      'after',
      `
Each suppression silences findings about one entity within a scope (an address range, an ASN, a behaviour feature,
or the whole entity), optionally of one model, until it expires. The list says, for each, what it silences, until
when, who added it, from which finding or incident, why, and how many findings it has silenced so far (findings
\`seclake monitor\` wrote with status Suppressed and unmapped.suppressed_by = its id).

Examples:
  seclake suppressions --lake ./lake
  seclake suppressions --lake ./lake --all --json
  seclake suppressions remove 4be1c0a9d2f37e65 --lake ./lake`,
    )
    .action(async (o: SuppressionsOptions) => listSuppressions(o));

  suppressions
    .command('list')
    .description('Same as `seclake suppressions`')
    .option('--all', 'also list expired and removed suppressions')
    .option('--json', 'print them as JSON')
    .exitOverride()
    .action(async (_o: unknown, cmd: Command) => listSuppressions(cmd.optsWithGlobals<SuppressionsOptions>()));

  suppressions
    .command('remove')
    .description('Remove (end) a suppression by id (or a unique prefix of at least 6 characters); it stays listed as removed')
    .argument('<id>', 'suppression id, as `seclake suppressions` lists it')
    .option('--by <name>', 'who removes it (default: the user name)')
    .option('--json', 'print the removal as JSON')
    .exitOverride()
    .action((idArg: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<SuppressionsOptions>();
      const lakeDir = lakeOf(o.lake, 'suppressions remove');
      const store = openFeedback(lakeDir);
      const id = idArg.trim().toLowerCase();
      const all = store.suppressions();
      let match = all.filter((s) => s.id === id);
      if (match.length === 0 && id.length >= 6) match = all.filter((s) => s.id.startsWith(id));
      if (match.length === 0) throw new FeedbackError(`no suppression with id ${JSON.stringify(idArg.slice(0, 80))} in ${store.file} (\`seclake suppressions --all --lake ${lakeDir}\` lists them)`);
      if (match.length > 1) throw new FeedbackError(`${JSON.stringify(idArg)} is the start of ${match.length} suppression ids (${match.map((s) => s.id).join(', ')}): give more of it`);
      const by = whoAmI(o.by);
      const r = store.removeSuppression(match[0]!.id, by !== undefined ? { by } : {});
      if (o.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        r.removed
          ? `Removed suppression ${r.suppression.id}: findings about ${r.suppression.entity} (${scopeText(r.suppression.scope)}) are reported again from now on.\n`
          : `Suppression ${r.suppression.id} was already removed (${r.removal.at}).\n`,
      );
    });
}
