/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests of /metrics endpoints. It
 * throws, naming the line, on anything the format does not allow:
 *
 *   # HELP <metric name> <docstring: \\ and \n escapes only>
 *   # TYPE <metric name> counter|gauge|histogram|summary|untyped      (at most once, before the family's samples)
 *   <metric name>[{<label name>="<value: \\ \" \n escapes only>",...}] <float>[ <timestamp ms>]
 *
 * plus: the text ends with a newline; a family's samples are contiguous and follow its TYPE; label names are unique
 * within a sample and do not start with `__`; a histogram's samples are `_bucket` (with `le`, cumulative, ending with
 * le="+Inf" equal to `_count`), `_sum` and `_count`; a counter is not negative; no two samples have the same name and
 * labels.
 */

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  help?: string;
  type: string;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseFloatStrict(s: string, where: string): number {
  if (!FLOAT.test(s)) throw new Error(`${where}: not a float: ${JSON.stringify(s)}`);
  if (/Inf$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  return s === 'NaN' ? Number.NaN : Number(s);
}

function unescape(s: string, allowQuote: boolean, where: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = s[++i];
    if (n === '\\') out += '\\';
    else if (n === 'n') out += '\n';
    else if (n === '"' && allowQuote) out += '"';
    else throw new Error(`${where}: bad escape \\${n ?? ''}`);
  }
  return out;
}

/** The family a sample name belongs to (a histogram's `_bucket`/`_sum`/`_count` belong to the histogram). */
function familyOf(name: string, families: Map<string, ParsedFamily>): ParsedFamily | undefined {
  const direct = families.get(name);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return undefined;
}

/** Parse one sample line: name, labels and value (an optional timestamp is checked and dropped). */
function parseSample(line: string, where: string): ParsedSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/.exec(line);
  if (!m) throw new Error(`${where}: not a sample line: ${JSON.stringify(line)}`);
  const name = m[1]!;
  let rest = m[2]!;
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    let i = 1;
    for (;;) {
      if (rest[i] === '}') {
        i++;
        break;
      }
      const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(rest.slice(i));
      if (!lm) throw new Error(`${where}: bad label at ${JSON.stringify(rest.slice(i))}`);
      const key = lm[1]!;
      if (!LABEL.test(key) || key.startsWith('__')) throw new Error(`${where}: bad label name ${key}`);
      if (Object.hasOwn(labels, key)) throw new Error(`${where}: label ${key} twice`);
      i += lm[0].length;
      let raw = '';
      for (;;) {
        const c = rest[i];
        if (c === undefined) throw new Error(`${where}: unterminated label value`);
        if (c === '\n') throw new Error(`${where}: newline in a label value`);
        if (c === '\\') {
          raw += c + (rest[i + 1] ?? '');
          i += 2;
          continue;
        }
        if (c === '"') {
          i++;
          break;
        }
        raw += c;
        i++;
      }
      labels[key] = unescape(raw, true, where);
      if (rest[i] === ',') i++;
      else if (rest[i] !== '}') throw new Error(`${where}: expected , or } after label ${key}`);
    }
    rest = rest.slice(i);
  }
  const parts = rest.split(' ');
  if (parts[0] !== '' || parts.length < 2 || parts.length > 3) throw new Error(`${where}: expected " <value>[ <timestamp>]" after the name and labels, got ${JSON.stringify(rest)}`);
  const value = parseFloatStrict(parts[1]!, where);
  if (parts.length === 3 && !/^-?\d+$/.test(parts[2]!)) throw new Error(`${where}: bad timestamp ${JSON.stringify(parts[2])}`);
  return { name, labels, value };
}

export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const families = new Map<string, ParsedFamily>();
  const helps = new Map<string, string>();
  const seen = new Set<string>();
  let current: ParsedFamily | undefined;
  const closed = new Set<string>();
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, idx) => {
    const where = `line ${idx + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) {
        if (/^# (HELP|TYPE)\b/.test(line)) throw new Error(`${where}: malformed ${line}`);
        return; // a plain comment
      }
      const [, kind, name, rest] = m as unknown as [string, string, string, string | undefined];
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name ${JSON.stringify(name)}`);
      if (kind === 'HELP') {
        if (helps.has(name)) throw new Error(`${where}: second HELP for ${name}`);
        helps.set(name, unescape(rest ?? '', false, where));
        const f = families.get(name);
        if (f) f.help = helps.get(name);
        return;
      }
      if (!rest || !TYPES.has(rest)) throw new Error(`${where}: bad type ${JSON.stringify(rest)} for ${name}`);
      if (families.has(name)) throw new Error(`${where}: second TYPE for ${name}`);
      if (current) closed.add(current.name);
      current = { name, type: rest, samples: [], ...(helps.has(name) ? { help: helps.get(name)! } : {}) };
      families.set(name, current);
      return;
    }
    const s = parseSample(line, where);
    const f = familyOf(s.name, families);
    if (!f) throw new Error(`${where}: sample ${s.name} before (or without) the TYPE of its family`);
    if (f !== current) {
      if (closed.has(f.name)) throw new Error(`${where}: samples of ${f.name} are not contiguous`);
      throw new Error(`${where}: sample ${s.name} outside its family's block`);
    }
    const key = `${s.name}{${Object.entries(s.labels).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    if (seen.has(key)) throw new Error(`${where}: duplicate sample ${key}`);
    seen.add(key);
    if (f.type === 'counter' && !(s.value >= 0)) throw new Error(`${where}: counter ${s.name} is ${s.value}`);
    if (f.type === 'histogram' && s.name === `${f.name}_bucket` && !('le' in s.labels)) throw new Error(`${where}: bucket without le`);
    if (f.type === 'histogram' && s.name === f.name) throw new Error(`${where}: histogram sample without a suffix`);
    f.samples.push(s);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: ParsedFamily): void {
  const series = new Map<string, ParsedSample[]>();
  const keyOf = (l: Record<string, string>): string => JSON.stringify(Object.entries(l).filter(([k]) => k !== 'le').sort());
  for (const s of f.samples) {
    const k = keyOf(s.labels);
    if (!series.has(k)) series.set(k, []);
    series.get(k)!.push(s);
  }
  for (const [k, ss] of series) {
    const buckets = ss.filter((s) => s.name === `${f.name}_bucket`);
    const count = ss.find((s) => s.name === `${f.name}_count`);
    if (!count || !ss.some((s) => s.name === `${f.name}_sum`)) throw new Error(`${f.name}${k}: _sum or _count missing`);
    let prevLe = -Infinity;
    let prev = 0;
    for (const b of buckets) {
      const le = parseFloatStrict(b.labels.le!, `${f.name} le`);
      if (!(le > prevLe) || b.value < prev) throw new Error(`${f.name}${k}: buckets not increasing at le=${b.labels.le}`);
      prevLe = le;
      prev = b.value;
    }
    if (prevLe !== Infinity || prev !== count.value) throw new Error(`${f.name}${k}: the +Inf bucket must be last and equal _count`);
  }
}

/** The value of the sample `name` whose labels include `labels`; undefined if there is none. */
export function sampleValue(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
