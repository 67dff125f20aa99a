/**
 * `seclake models`: what model files hold and which detectors this seclake has (the work; models.ts registers the
 * commands and loads this module when one runs).
 *
 *   seclake models list [--dir DIR | FILE...]   one line per model file (header only; --verify reads the data too)
 *   seclake models show FILE                    one model's header in readable form
 *   seclake models detectors                    the registered detectors, their native score and hyperparameters
 *
 * Every form has --json. Files of any detector are read through the one model container (src/detectors/
 * model-file.ts); a file that cannot be read, names a detector this seclake does not have, or fails its checks is
 * reported with its path and makes the exit status 1.
 */
import { readdirSync, statSync } from 'node:fs';
import { registeredModels } from '../../lake/models.js';
import path from 'node:path';
import { ConfigError, SeclakeError, errorMessage } from '../../core/errors.js';
import { readCalibration, type Calibration } from '../../detectors/calibration.js';
import { DETECTORS, detectorOf, findDetector, modelFromData } from '../../detectors/index.js';
import { readModelFile, readModelHeader, type ModelHeader } from '../../detectors/model-file.js';
import type { DetectorDefinition, ScoreInfo } from '../../detectors/types.js';
import { fmt, fmtBytes, fmtInt, fmtPct, fmtTime } from '../../dashboard/html.js';
import {
  calibrationRuleText,
  detectorText,
  directionWords,
  epochHistory,
  flagOperator,
  flagRule,
  isLegacyHeader,
  modelVersion,
  normalQuantile,
  scoreInfoOf,
  trainingFacts,
  valueText,
} from '../../dashboard/models.js';
import { renderTable } from '../format.js';
import type { ModelsIo } from './models.js';
import { localLake } from '../lake.js';

/** What `models list` and `models show` learn about one file. */
interface Inspected {
  file: string;
  bytes: number | undefined;
  header: ModelHeader | undefined;
  detector: DetectorDefinition | undefined;
  calibration: Calibration | undefined;
  score: ScoreInfo | undefined;
  /** The data region was read and checked (size, CRC-32) and the detector built the model from it. */
  verified: boolean;
  /** Problems, each naming the file: unreadable, unknown detector, bad calibration, failed verification. */
  errors: string[];
}

function inspect(file: string, verify: boolean): Inspected {
  const r: Inspected = { file, bytes: undefined, header: undefined, detector: undefined, calibration: undefined, score: undefined, verified: false, errors: [] };
  try {
    r.bytes = statSync(file).size;
  } catch (err) {
    r.errors.push(`${file}: cannot read model: ${errorMessage(err)}`);
    return r;
  }
  try {
    r.header = readModelHeader(file);
  } catch (err) {
    r.errors.push(errorMessage(err));
    return r;
  }
  r.detector = findDetector(r.header.detector.type);
  if (!r.detector) {
    try {
      detectorOf(r.header.detector.type, file);
    } catch (err) {
      r.errors.push(errorMessage(err));
    }
  } else if (r.header.detector.version > r.detector.version) {
    r.errors.push(`${file}: ${r.header.detector.type} model layout version ${r.header.detector.version} is newer than this seclake's (${r.detector.version}); upgrade seclake`);
  }
  try {
    r.calibration = readCalibration(r.header, file);
  } catch (err) {
    r.errors.push(errorMessage(err));
  }
  r.score = scoreInfoOf(r.header, r.calibration, r.detector);
  if (verify && r.errors.length === 0) {
    try {
      modelFromData(readModelFile(file));
      r.verified = true;
    } catch (err) {
      r.errors.push(errorMessage(err));
    }
  }
  return r;
}

/** `--dir DIR` and FILE arguments -> model files. A directory contributes its `*.model` files (not recursive). */
function modelFiles(dir: string | undefined, args: readonly string[]): string[] {
  if (dir !== undefined && args.length > 0) throw new ConfigError('give either --dir DIR or model files, not both', ['--dir']);
  const targets = args.length > 0 ? [...args] : [dir ?? '.'];
  const out: string[] = [];
  for (const t of targets) {
    let isDir = false;
    try {
      isDir = statSync(t).isDirectory();
    } catch {
      // A missing file is reported by inspect(), naming it.
    }
    if (!isDir) {
      if (dir !== undefined) throw new ConfigError(`--dir ${t}: not a directory`, ['--dir']);
      out.push(t);
      continue;
    }
    const names = readdirSync(t, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.model') && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
    out.push(...names.map((n) => path.join(t, n)));
  }
  return out;
}

function day(iso: string | undefined): string {
  return iso ? fmtTime(iso).slice(0, 10) : '?';
}

function rangeText(h: ModelHeader): string {
  const r = h.training?.data_time_range as { start?: string; end?: string } | null | undefined;
  return r && r.start ? `${day(r.start)} → ${day(r.end)}` : '–';
}

function detectorCell(i: Inspected): string {
  const h = i.header!;
  return `${h.detector.type} v${h.detector.version}${isLegacyHeader(h) ? ' (legacy file)' : ''}${i.detector ? '' : ' (unknown)'}`;
}

function calibrationCell(i: Inspected): string {
  if (!i.calibration) return i.header?.calibration ? 'invalid' : 'not calibrated';
  return `${i.score!.name} ${flagOperator(i.score!.direction)} ${fmt(i.calibration.threshold, 5)}`;
}

function recordsCell(h: ModelHeader): string {
  const rd = h.record_definition;
  return rd ? `${rd.kind}:${rd.name}` : '–';
}

function calibrationJson(cal: Calibration | undefined, score: ScoreInfo | undefined): Record<string, unknown> | null {
  if (!cal) return null;
  return {
    threshold: cal.threshold,
    score_name: score?.name,
    direction: score?.direction,
    rule: cal.rule,
    auc: cal.auc,
    average_precision: cal.average_precision,
    fpr: cal.fpr,
    recall: cal.recall,
    precision: cal.precision,
    n_normal: cal.n_normal,
    n_abnormal: cal.n_abnormal,
    created_at: cal.created_at,
  };
}

/** The `models list --json` entry of one file. */
function listJson(i: Inspected): Record<string, unknown> {
  const h = i.header;
  if (!h) return { file: i.file, bytes: i.bytes ?? null, error: i.errors.join('; ') };
  const t = (h.training ?? {}) as unknown as Record<string, unknown>;
  return {
    file: i.file,
    bytes: i.bytes ?? null,
    version: modelVersion(h),
    format_version: h.format_version,
    legacy: isLegacyHeader(h),
    detector: { type: h.detector.type, version: h.detector.version, title: i.detector?.title ?? null, registered: i.detector !== undefined },
    record_definition: h.record_definition,
    trained_at: t.trained_at ?? null,
    data_time_range: t.data_time_range ?? null,
    rows: t.rows ?? null,
    distinct_entities: t.distinct_entities ?? null,
    calibrated: i.calibration !== undefined,
    calibration: calibrationJson(i.calibration, i.score),
    ...(i.verified ? { verified: true } : {}),
    ...(i.errors.length > 0 ? { error: i.errors.join('; ') } : {}),
  };
}

export function listModels(o: { dir?: string; lake?: string; json?: boolean; verify?: boolean }, files: string[], io: ModelsIo): void {
  if (o.lake !== undefined && (o.dir !== undefined || files.length > 0)) throw new ConfigError('give --lake, --dir or model files, not several', ['--lake']);
  // --lake: the models registered for the lake (seclake train --lake registers what it trains; the monitor runs them).
  const lakeDir = o.lake !== undefined ? localLake(o.lake, 'models list --lake', 'models are registered for local lakes only (<lake>/_seclake/models.json)') : undefined;
  const paths = lakeDir !== undefined ? registeredModels(lakeDir).map((m) => m.path) : modelFiles(o.dir, files);
  const items = paths.map((f) => inspect(f, o.verify === true));
  const failed = items.filter((i) => i.errors.length > 0);
  if (o.json) {
    io.stdout(JSON.stringify(items.map(listJson), null, 2) + '\n');
  } else if (items.length === 0) {
    io.stdout(lakeDir !== undefined ? `No model is registered for the lake ${lakeDir} (seclake train --lake registers one).\n` : `No model files (*.model) in ${path.resolve(o.dir ?? '.')}.\n`);
  } else {
    const readable = items.filter((i) => i.header);
    if (readable.length > 0) {
      io.stdout(
        renderTable(
          ['file', 'detector', 'records', 'trained', 'data', 'rows', 'entities', 'calibration', 'size'],
          readable.map((i) => {
            const h = i.header!;
            const t = (h.training ?? {}) as unknown as Record<string, unknown>;
            return [
              i.file,
              detectorCell(i),
              recordsCell(h),
              typeof t.trained_at === 'string' ? fmtTime(t.trained_at).slice(0, 16) + 'Z' : '–',
              rangeText(h),
              typeof t.rows === 'number' ? fmtInt(t.rows) : '–',
              typeof t.distinct_entities === 'number' ? fmtInt(t.distinct_entities) : '–',
              calibrationCell(i),
              i.bytes !== undefined ? fmtBytes(i.bytes) : '?',
            ];
          }),
          70,
        ) + '\n',
      );
    }
    io.stderr(`(${items.length} model file${items.length === 1 ? '' : 's'}${o.verify ? `, ${items.filter((i) => i.verified).length} verified` : ''}${failed.length ? `, ${failed.length} with problems` : ''})\n`);
  }
  for (const i of failed) for (const e of i.errors) io.stderr(`seclake: ${e}\n`);
  if (failed.length > 0) process.exitCode = 1;
}

/** Aligned `label  value` lines under a heading. */
function section(title: string, rows: readonly [string, string][]): string {
  if (rows.length === 0) return '';
  const w = Math.max(...rows.map(([k]) => k.length));
  return `\n${title}\n` + rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v.replace(/\n/g, `\n  ${' '.repeat(w)}  `)}`).join('\n') + '\n';
}

function showText(i: Inspected): string {
  const h = i.header!;
  const d = i.detector;
  const score = i.score!;
  const rd = h.record_definition;
  const head: [string, string][] = [
    ['file', `${i.file} (${i.bytes !== undefined ? fmtBytes(i.bytes) : '?'})`],
    ['version', `${modelVersion(h)} (data CRC-32; findings carry it)`],
    ['format', isLegacyHeader(h) ? `SECLAKE-IPI format ${h.format_version} (legacy: written before the detector platform, read as ${h.detector.type} v${h.detector.version}; seclake calibrate keeps its format)` : `SECLAKE-MDL format ${h.format_version}`],
    ['detector', detectorText(h, d)],
  ];
  if (d) head.push(['', d.description]);
  head.push(['native score', `${score.name} (${directionWords(score.direction)})`]);
  head.push(['records', rd ? `${rd.kind}, definition '${rd.name}'` : '– (record definition not recorded)']);
  if (rd?.sql) head.push(['query', rd.sql.trim()]);
  if (i.verified) head.push(['checked', `data size and CRC-32 ok; the ${h.detector.type} detector loads it`]);
  let out = section('Model', head).replace(/^\n/, '');

  const defaults = new Map((d?.hyperparameters ?? []).map((x) => [x.name, x.default]));
  out += section(
    'Hyperparameters',
    Object.entries((h.hyperparameters ?? {}) as Record<string, unknown>).map(([k, v]) => {
      const def = defaults.get(k);
      const differs = def !== undefined && (typeof v === 'object' || String(def) !== String(v));
      return [k, `${typeof v === 'object' ? JSON.stringify(v) : String(v)}${differs ? `  (default ${String(def)})` : ''}`];
    }),
  );

  const t = (h.training ?? {}) as unknown as Record<string, unknown>;
  const facts = trainingFacts(t);
  const train: [string, string][] = [...facts.known, ...facts.other].map((f) => [f.label, f.text]);
  const hist = epochHistory(t);
  if (hist.length > 0) {
    const first = hist[0]!;
    const last = hist[hist.length - 1]!;
    train.push(['Epoch history', `${hist.length} epochs, loss ${fmt(first.loss)} → ${fmt(last.loss)}${typeof last.accuracy === 'number' ? `, accuracy ${fmtPct(first.accuracy ?? null, 1)} → ${fmtPct(last.accuracy, 1)}` : ''}`]);
  }
  out += section('Training', train);

  const cal = i.calibration;
  if (cal) {
    const at = (p: number): string => fmt(normalQuantile(cal, p));
    out += section('Calibration', [
      ['threshold', `${fmt(cal.threshold, 5)} (${flagRule(score)})`],
      ['chosen by', calibrationRuleText(cal)],
      ['at the threshold', `FPR ${fmtPct(cal.fpr, 2)}, recall ${fmtPct(cal.recall, 1)}, precision ${fmtPct(cal.precision, 1)}`],
      ['AUC / avg precision', `${fmt(cal.auc, 4)} / ${fmt(cal.average_precision, 4)}`],
      ['calibration set', `${fmtInt(cal.n_normal)} normal, ${fmtInt(cal.n_abnormal)} abnormal (${cal.abnormal_source})`],
      ['normal percentiles', `p1 ${at(0.01)}, p5 ${at(0.05)}, p50 ${at(0.5)}, p95 ${at(0.95)}, p99 ${at(0.99)} (${cal.normal_quantiles.length} quantiles stored)`],
      ...cal.thresholds_at_fpr.map((b): [string, string] => [`at FPR ${fmtPct(b.target_fpr, 1)}`, `threshold ${fmt(b.threshold, 5)}, recall ${fmtPct(b.recall, 1)}, precision ${fmtPct(b.precision, 1)}`]),
      ['analyst feedback', cal.feedback ? `${cal.feedback.false_positives} false positives, ${cal.feedback.true_positives} true positives` : 'none'],
      ['calibrated at', fmtTime(cal.created_at)],
    ]);
  } else {
    out += `\nCalibration\n  ${h.calibration ? 'invalid (see the error below)' : `not calibrated: seclake calibrate --model ${i.file} --lake DIR (or --normal FILE)`}\n`;
  }

  const total = h.sections.reduce((s, x) => s + x.bytes, 0);
  out +=
    `\nSections (${h.sections.length}, ${fmtBytes(total)})\n` +
    renderTable(
      ['name', 'dtype', 'shape', 'bytes'],
      h.sections.map((s) => [s.name, s.dtype, s.shape.join(' x '), fmtInt(s.bytes)]),
      60,
    )
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n') +
    '\n';
  const extras = Object.entries(h.extras ?? {}).filter(([k]) => k !== 'calibration' && k !== 'record_definition');
  if (extras.length > 0) out += section('Extras', extras.map(([k, v]) => [k, valueText(v)]));
  return out;
}

export function showModel(file: string, o: { json?: boolean; verify: boolean }, io: ModelsIo): void {
  const i = inspect(file, o.verify);
  if (!i.header) throw new SeclakeError(i.errors.join('; '));
  if (o.json) {
    io.stdout(
      JSON.stringify(
        {
          file: i.file,
          bytes: i.bytes ?? null,
          version: modelVersion(i.header),
          legacy: isLegacyHeader(i.header),
          detector: { ...i.header.detector, title: i.detector?.title ?? null, registered: i.detector !== undefined },
          score: i.score,
          verified: i.verified,
          ...(i.errors.length > 0 ? { errors: i.errors } : {}),
          header: i.header,
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    io.stdout(showText(i));
  }
  for (const e of i.errors) io.stderr(`seclake: ${e}\n`);
  if (i.errors.length > 0) process.exitCode = 1;
}

function detectorsJson(): Record<string, unknown>[] {
  return DETECTORS.map((d) => ({
    type: d.type,
    version: d.version,
    title: d.title,
    description: d.description,
    records: d.records,
    score: d.score,
    finding_type: d.finding.type,
    hyperparameters: d.hyperparameters,
  }));
}

export function listDetectors(o: { json?: boolean }, io: ModelsIo): void {
  if (o.json) {
    io.stdout(JSON.stringify(detectorsJson(), null, 2) + '\n');
    return;
  }
  let out = '';
  for (const d of DETECTORS) {
    out += `${d.type} (v${d.version}): ${d.title}\n  ${d.description}\n`;
    out += `  records: ${d.records}; native score: ${d.score.name} (${directionWords(d.score.direction)}: ${flagRule(d.score)}); findings: ${d.finding.type}\n`;
    if (d.hyperparameters.length > 0) {
      out += '  hyperparameters (seclake train --hp NAME=VALUE), with defaults:\n';
      const w = Math.max(...d.hyperparameters.map((x) => x.name.length + 3 + String(x.default).length));
      for (const x of d.hyperparameters) out += `    ${`${x.name} = ${String(x.default)}`.padEnd(w)}  ${x.description}\n`;
    }
    out += '\n';
  }
  io.stdout(out.replace(/\n\n$/, '\n'));
}
