/**
 * Calibration inputs read from files: (entity, ip) pair CSVs and analyst label files.
 *
 * Pair CSV: headerless `entity,ip` like the training file (an `entity,ip` header line is tolerated), with an optional
 * third column `group` (the entity's subnet, account or role, for per-entity thresholds). The IP is the text after the
 * *last* comma (or before it, when the last column is a group and not an address), so entity ids with commas survive. Whitespace around fields is trimmed, blank
 * lines and `#` comments are skipped. A line whose IP does not parse is counted and skipped, not fatal.
 *
 * Label file (feedback from analysts), either
 *   CSV:         `entity,ip,label`
 *   JSON Lines:  {"entity": "...", "ip": "...", "label": "false_positive"}  or  {"finding_uid": "...", "label": "..."}
 * with label `true_positive` | `false_positive` (also `tp` / `fp`, any case). A finding uid alone cannot be turned
 * into a pair without the finding store, so such lines are counted as unresolved unless they also carry entity and ip.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { ParseError, SeclakeError, errorMessage } from '../core/errors.js';

export interface Pair {
  entity: string;
  ip: string;
  /** The entity's group (subnet, account, role) when the normal data gives one: per-entity thresholds shrink toward it. */
  group?: string;
}

export interface SkippedLine {
  line: number;
  reason: string;
}

export interface PairFile {
  pairs: Pair[];
  skipped: number;
  /** The first few skipped lines, for the report. */
  examples: SkippedLine[];
}

const MAX_EXAMPLES = 5;

export async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new SeclakeError(`cannot read ${what} ${file}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Strip an IPv6 zone-less bracket form and check the address; returns undefined when it is not an IP. */
export function cleanIp(raw: string): string | undefined {
  let ip = raw.trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  return isIP(ip) === 0 ? undefined : ip;
}

function* lines(text: string): Generator<[number, string]> {
  let pos = 0;
  let n = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = text.length;
    n++;
    yield [n, text.slice(pos, nl).replace(/\r$/, '')];
    pos = nl + 1;
  }
}

export function parsePairCsv(text: string, source: string): PairFile {
  const pairs: Pair[] = [];
  const examples: SkippedLine[] = [];
  let skipped = 0;
  const skip = (line: number, reason: string): void => {
    skipped++;
    if (examples.length < MAX_EXAMPLES) examples.push({ line, reason });
  };
  for (const [n, raw] of lines(text)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const comma = line.lastIndexOf(',');
    if (comma === -1) {
      skip(n, 'expected two columns (entity, ip)');
      continue;
    }
    let entity = unquote(line.slice(0, comma).trim());
    let ipText = unquote(line.slice(comma + 1).trim());
    let ip = cleanIp(ipText);
    let group: string | undefined;
    if (ip === undefined) {
      // An optional third column: entity,ip,group (the group is not an address; the entity may hold commas).
      const c2 = line.lastIndexOf(',', comma - 1);
      const ip2 = c2 === -1 ? undefined : cleanIp(unquote(line.slice(c2 + 1, comma).trim()));
      if (ip2 !== undefined) {
        group = ipText;
        ipText = unquote(line.slice(c2 + 1, comma).trim());
        ip = ip2;
        entity = unquote(line.slice(0, c2).trim());
      }
    }
    if (ip === undefined) {
      if (n === 1 && pairs.length === 0 && /^[a-z_ ]+$/i.test(ipText)) continue; // header line
      skip(n, `invalid IP address '${ipText.slice(0, 60)}'`);
      continue;
    }
    if (entity === '') {
      skip(n, 'empty entity');
      continue;
    }
    pairs.push(group !== undefined && group !== '' ? { entity, ip, group } : { entity, ip });
  }
  if (pairs.length === 0) throw new ParseError('no (entity, ip) pairs found', { file: source, kind: 'total' });
  return { pairs, skipped, examples };
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replaceAll('""', '"') : s;
}

export async function readPairCsv(file: string): Promise<PairFile> {
  return parsePairCsv(await readText(file, 'pair file'), file);
}

export type AnalystLabel = 'true_positive' | 'false_positive';

export interface LabelledPair extends Pair {
  label: AnalystLabel;
}

export interface LabelFile {
  labels: LabelledPair[];
  /** Lines that name only a finding uid (no entity/ip). */
  unresolved: { line: number; finding_uid: string }[];
}

function parseLabel(raw: unknown, source: string, line: number): AnalystLabel {
  const s = typeof raw === 'string' ? raw.trim().toLowerCase().replaceAll('-', '_') : '';
  if (s === 'true_positive' || s === 'tp') return 'true_positive';
  if (s === 'false_positive' || s === 'fp') return 'false_positive';
  throw new ParseError(`label must be true_positive or false_positive, got ${JSON.stringify(raw)}`, { file: source, line, field: 'label' });
}

/**
 * Parse a label file. A finding labelled again (same `finding_uid`, e.g. changed from true to false positive in the
 * dashboard) counts once, with its latest label.
 */
export function parseLabels(text: string, source: string): LabelFile {
  const labels: LabelledPair[] = [];
  const unresolved: LabelFile['unresolved'] = [];
  /** Index in `labels` of each finding uid's latest label. */
  const byUid = new Map<string, number>();
  const firstContent = text.trimStart();
  const jsonl = firstContent.startsWith('{');
  for (const [n, raw] of lines(text)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (jsonl) {
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch (err) {
        throw new ParseError(`not a JSON object: ${errorMessage(err)}`, { file: source, line: n });
      }
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ParseError('not a JSON object', { file: source, line: n });
      const o = doc as Record<string, unknown>;
      const label = parseLabel(o.label, source, n);
      const entity = typeof o.entity === 'string' ? o.entity.trim() : '';
      const ip = typeof o.ip === 'string' ? cleanIp(o.ip) : undefined;
      const uid = o.finding_uid ?? o.uid;
      if (entity !== '' && ip !== undefined) {
        const prev = typeof uid === 'string' && uid !== '' ? byUid.get(uid) : undefined;
        if (prev !== undefined) labels[prev] = { entity, ip, label };
        else {
          if (typeof uid === 'string' && uid !== '') byUid.set(uid, labels.length);
          labels.push({ entity, ip, label });
        }
        continue;
      }
      if (typeof uid === 'string' && uid !== '') {
        unresolved.push({ line: n, finding_uid: uid });
        continue;
      }
      throw new ParseError('needs "entity" and "ip" (or a "finding_uid")', { file: source, line: n });
    }
    const cols = line.split(',');
    if (cols.length < 3) {
      if (n === 1 && /label/i.test(line)) continue; // header
      throw new ParseError(`expected entity,ip,label, got ${cols.length} column(s)`, { file: source, line: n });
    }
    const labelText = unquote(cols[cols.length - 1]!.trim());
    const ipText = unquote(cols[cols.length - 2]!.trim());
    const entity = unquote(cols.slice(0, -2).join(',').trim());
    if (n === 1 && labels.length === 0 && /^label$/i.test(labelText)) continue; // header
    const ip = cleanIp(ipText);
    if (ip === undefined) throw new ParseError(`invalid IP address '${ipText.slice(0, 60)}'`, { file: source, line: n, field: 'ip' });
    if (entity === '') throw new ParseError('empty entity', { file: source, line: n, field: 'entity' });
    labels.push({ entity, ip, label: parseLabel(labelText, source, n) });
  }
  return { labels, unresolved };
}

export async function readLabels(file: string): Promise<LabelFile> {
  return parseLabels(await readText(file, 'label file'), file);
}
