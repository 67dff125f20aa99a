import type { Command } from 'commander';
import { ConfigError, errorMessage } from '../../core/errors.js';
import { Duck } from '../../lake/duckdb.js';
import { deriveEvent } from '../../ocsf/derive.js';
import { openEventFile, type EventFile } from '../../ocsf/read-events.js';
import { OCSF_VERSION } from '../../ocsf/schema.js';
import { ValidationCollector, validateEvent, type IssueGroup, type ValidateOptions } from '../../ocsf/validate.js';
import { fmtInt, jsonValue } from '../format.js';

export interface ValidateCliOptions {
  json?: boolean;
  maxErrors?: string;
  derive?: boolean;
  warnRecommended?: boolean;
  regexWarnings?: boolean;
}

/** Result for one file, also the `--json` shape. */
interface FileReport {
  file: string;
  format?: string;
  /** What `where` counts in examples: line, record or row (1-based). */
  unit?: string;
  events: number;
  events_with_errors: number;
  errors: number;
  warnings: number;
  /** Set when --max-errors stopped the check early. */
  stopped_early?: boolean;
  /** Set when the file (or the rest of it) could not be read. */
  read_error?: string;
  issues: { severity: string; code: string; path: string; count: number; first: { where: number; message: string } }[];
}

const UNPARSABLE = 'record_not_json';

async function checkFile(
  file: string,
  duck: () => Promise<Duck>,
  opts: { maxErrors: number; derive: boolean; validate: ValidateOptions },
): Promise<FileReport> {
  const report: FileReport = { file, events: 0, events_with_errors: 0, errors: 0, warnings: 0, issues: [] };
  const collector = new ValidationCollector();
  let ef: EventFile | undefined;
  try {
    ef = await openEventFile(file, duck);
    for await (const rec of ef.records()) {
      if (rec.kind === 'unparsable') {
        collector.add([{ path: '', code: UNPARSABLE, severity: 'error', message: rec.message }], rec.where);
      } else {
        const ev = opts.derive && rec.event !== null && typeof rec.event === 'object' ? deriveEvent(rec.event) : rec.event;
        collector.add(validateEvent(ev, opts.validate), rec.where);
      }
      if (opts.maxErrors > 0 && collector.errors >= opts.maxErrors) {
        report.stopped_early = true;
        break;
      }
    }
  } catch (err) {
    report.read_error = errorMessage(err);
  } finally {
    ef?.close();
  }
  if (ef) {
    report.format = ef.format;
    report.unit = ef.unit;
  }
  const s = collector.summary();
  report.events = s.events;
  report.events_with_errors = s.eventsWithErrors;
  report.errors = s.errors;
  report.warnings = s.warnings;
  report.issues = s.groups.map((g: IssueGroup) => ({ severity: g.severity, code: g.code, path: g.path, count: g.count, first: g.first }));
  return report;
}

function plural(n: number, word: string): string {
  return `${fmtInt(n)} ${word}${n === 1 ? '' : 's'}`;
}

function renderText(reports: FileReport[]): string {
  const out: string[] = [];
  for (const r of reports) {
    const fmt = r.format ? ` (${r.format})` : '';
    const head = `${r.file}${fmt}: ${plural(r.events, 'event')} checked, ${plural(r.errors, 'error')}, ${plural(r.warnings, 'warning')}`;
    out.push(r.events_with_errors > 0 ? `${head} (${plural(r.events_with_errors, 'event')} with errors)` : head);
    for (const g of r.issues) {
      const where = `${r.unit ?? 'record'} ${g.first.where}`;
      out.push(`  ${g.severity.padEnd(7)} ${g.code} at ${g.path === '' ? '(event)' : g.path}: ${fmtInt(g.count)}x`);
      out.push(`          first: ${r.file} ${where}: ${g.first.message}`);
    }
    if (r.stopped_early) out.push(`  stopped after ${plural(r.errors, 'error')} (--max-errors); the rest of the file was not checked`);
    if (r.read_error) out.push(`  unreadable${r.events > 0 ? ` after ${plural(r.events, 'event')}` : ''}: ${r.read_error}`);
  }
  const totals = summarize(reports);
  const unreadable = totals.unreadable > 0 ? `; ${plural(totals.unreadable, 'file')} could not be read` : '';
  out.push(
    `checked ${plural(reports.length, 'file')}, ${plural(totals.events, 'event')} against OCSF ${OCSF_VERSION}: ` +
      `${plural(totals.errors, 'error')}, ${plural(totals.warnings, 'warning')}${unreadable}`,
  );
  return out.join('\n') + '\n';
}

function summarize(reports: FileReport[]): { files: number; events: number; errors: number; warnings: number; unreadable: number } {
  return {
    files: reports.length,
    events: reports.reduce((a, r) => a + r.events, 0),
    errors: reports.reduce((a, r) => a + r.errors, 0),
    warnings: reports.reduce((a, r) => a + r.warnings, 0),
    unreadable: reports.filter((r) => r.read_error !== undefined).length,
  };
}

/**
 * Check `files` and write the report (text, or JSON with `json`) through `write`. Returns the exit code:
 * 1 if any error was found or a file could not be read, else 0. Throws ConfigError for bad options.
 */
export async function runValidate(files: string[], options: ValidateCliOptions, write: (text: string) => void): Promise<number> {
  const maxErrors = Number(options.maxErrors ?? '0');
  if (!Number.isInteger(maxErrors) || maxErrors < 0) {
    throw new ConfigError(`--max-errors: expected a whole number >= 0, got "${options.maxErrors}"`, ['max-errors']);
  }
  let db: Duck | undefined;
  const duck = async (): Promise<Duck> => (db ??= await Duck.open({ threads: 2 }));
  const reports: FileReport[] = [];
  const validate: ValidateOptions = {
    warnMissingRecommended: options.warnRecommended === true,
    regexSeverity: options.regexWarnings ? 'warning' : 'error',
  };
  try {
    for (const file of files) {
      reports.push(await checkFile(file, duck, { maxErrors, derive: options.derive === true, validate }));
    }
  } finally {
    db?.close();
  }
  const totals = summarize(reports);
  const ok = totals.errors === 0 && totals.unreadable === 0;
  write(options.json ? jsonValue({ ocsf_version: OCSF_VERSION, ok, totals, files: reports }) + '\n' : renderText(reports));
  return ok ? 0 : 1;
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description(`Check OCSF events against the OCSF ${OCSF_VERSION} schema (JSON, JSON lines, gzip, or Parquet)`)
    .argument('<file...>', 'files with OCSF events: one JSON event, a JSON array of events, JSON lines (any of them gzip-compressed), or Parquet')
    .option('--json', 'print one JSON object with the results instead of text')
    .option('--max-errors <n>', 'stop checking a file after this many errors (0 = check everything)', '0')
    .option('--derive', 'fill derived attributes (names, type_uid, *_dt, ...) before checking, as ingest does')
    .option('--warn-recommended', 'also warn about missing recommended attributes')
    .option('--regex-warnings', 'report values that do not match their type regex (ip_t, hostname_t, datetime_t, ...) as warnings, like the reference OCSF server, instead of errors')
    .addHelpText(
      'after',
      `
Each file is read whole (JSON document) or record by record (JSON lines, Parquet). Parquet rows are turned
back into OCSF JSON: null members are dropped, MAP columns become objects, and hive partition columns
(region, accountId, eventDay) are ignored.

Checks (as the reference OCSF validator): known class and profiles, required and unknown attributes
(profile-aware: profile attributes count only when metadata.profiles names the profile), value types and
ranges, regex types, enum values and their sibling captions, type_uid and category_uid, object and class
constraints, metadata.version = ${OCSF_VERSION}, observables[].name.

Issues are grouped per file by severity, code and path (array indices folded), with a count and the
first example. Exit code 1 if any error was found or a file could not be read, 0 otherwise.

Examples:
  seclake validate events.jsonl.gz
  seclake validate lake/aws/VPC_FLOW/2.0/region=us-east-1/accountId=123456789012/eventDay=20240131/*.parquet --max-errors 100
  seclake validate --json mapped.json | jq .totals`,
    )
    .action(async (files: string[], options: ValidateCliOptions) => {
      const code = await runValidate(files, options, (text) => process.stdout.write(text));
      if (code !== 0) process.exitCode = code;
    });
}
