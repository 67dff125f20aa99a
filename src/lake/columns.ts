/**
 * The fixed schema of the lake's tables, as Security Lake's tables have one per source: every attribute of the
 * source's OCSF classes under the profiles Security Lake applies to that source, typed as Security Lake stores it
 * (`*_dt` TIMESTAMP in UTC, ids and ports INTEGER, `time`, counts and `type_uid` BIGINT, nested objects STRUCTs,
 * arrays LISTs, `unmapped` MAP(VARCHAR, VARCHAR)).
 *
 * A Parquet object (Security Lake's or this lake's) has only the columns and struct fields its records hold. The views
 * and the monitor's per-object queries read objects through `conformSelect`: a SELECT list that exposes every column of
 * the schema whatever the objects hold, by projection and cast only (no per-row work beyond a struct cast):
 *
 * - a column the objects lack is `NULL::<type>`;
 * - a struct column lacking fields is cast, by name, to its own type plus the missing fields (`mergeTypes`: fields the
 *   objects have and the schema does not know are kept, so nothing is dropped);
 * - a `*_dt` column an older lake wrote as VARCHAR (RFC 3339 text) is cast to TIMESTAMP, at any depth;
 * - columns outside the schema (partition columns, attributes of other profiles) pass through unchanged.
 *
 * OCSF objects refer to each other in cycles (`process.parent_process`, `user.groups`...): an object is expanded until
 * it would contain itself, where the attribute is left out (it still reads when an object holds it).
 */
import { LakeError } from '../core/errors.js';
import type { LakeSourceName } from '../core/events.js';
import { baseOfType, classByUid, objectOfAttribute, type OcsfAttribute } from '../ocsf/schema.js';
import { quoteIdent, type Duck } from './duckdb.js';

// ---- DuckDB types ----------------------------------------------------------------------------------------------

/** A parsed DuckDB type. `prim` is any other type, kept as its text (upper-cased when it is plain words). */
export type ColType =
  | { k: 'prim'; name: string }
  | { k: 'struct'; fields: { name: string; type: ColType }[] }
  | { k: 'list'; item: ColType }
  | { k: 'map'; key: ColType; value: ColType };

/** Parse a DuckDB type as DESCRIBE prints it: `STRUCT("ip" VARCHAR, port INTEGER)[]`, `MAP(VARCHAR, VARCHAR)`, ... */
export function parseDuckType(text: string): ColType {
  let i = 0;
  const fail = (what: string): never => {
    throw new LakeError(`cannot parse DuckDB type ${JSON.stringify(text)}: ${what} at ${i}`);
  };
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expect = (c: string): void => {
    ws();
    if (text[i] !== c) fail(`expected '${c}'`);
    i++;
  };
  const name = (): string => {
    ws();
    if (text[i] === '"') {
      let out = '';
      i++;
      for (;;) {
        if (i >= text.length) fail('unterminated name');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            out += '"';
            i += 2;
            continue;
          }
          i++;
          return out;
        }
        out += text[i++];
      }
    }
    const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(i));
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  /** Any other type: words, then a balanced (...) (quotes respected), e.g. DECIMAL(18,3), ENUM('a, b'). */
  const prim = (): ColType => {
    const m = /^[A-Za-z_][A-Za-z0-9_]*(?: [A-Za-z_][A-Za-z0-9_]*)*/.exec(text.slice(i));
    if (!m) fail('expected a type');
    const start = i;
    i += m![0].length;
    if (text[i] === '(') {
      let depth = 0;
      let quote: string | undefined;
      for (; i < text.length; i++) {
        const c = text[i]!;
        if (quote) {
          if (c === quote) {
            if (text[i + 1] === quote) i++;
            else quote = undefined;
          }
        } else if (c === "'" || c === '"') quote = c;
        else if (c === '(') depth++;
        else if (c === ')' && --depth === 0) {
          i++;
          break;
        }
      }
      if (depth !== 0) fail('unbalanced parentheses');
    }
    const t = text.slice(start, i);
    return { k: 'prim', name: /^[A-Za-z_ ]+(\(\s*\d+\s*(,\s*\d+\s*)?\))?$/.test(t) ? t.toUpperCase().replace(/\s+/g, ' ').replace(/\s*,\s*/g, ',').replace(/\(\s*/, '(').replace(/\s*\)/, ')') : t };
  };
  const type = (): ColType => {
    ws();
    let t: ColType;
    const rest = text.slice(i);
    if (/^STRUCT\s*\(/i.test(rest)) {
      i += rest.indexOf('(') + 1;
      const fields: { name: string; type: ColType }[] = [];
      ws();
      if (text[i] === ')') i++;
      else
        for (;;) {
          const n = name();
          fields.push({ name: n, type: type() });
          ws();
          if (text[i] === ',') {
            i++;
            continue;
          }
          expect(')');
          break;
        }
      t = { k: 'struct', fields };
    } else if (/^MAP\s*\(/i.test(rest)) {
      i += rest.indexOf('(') + 1;
      const key = type();
      expect(',');
      const value = type();
      expect(')');
      t = { k: 'map', key, value };
    } else t = prim();
    // List suffixes: T[] (and fixed-size T[n], read as a list).
    for (;;) {
      const m = /^\[\d*\]/.exec(text.slice(i));
      if (!m) break;
      i += m[0].length;
      t = { k: 'list', item: t };
    }
    return t;
  };
  const t = type();
  ws();
  if (i !== text.length) fail('trailing text');
  return t;
}

/** The DuckDB type text of a parsed type (struct field names always quoted). */
export function printDuckType(t: ColType): string {
  switch (t.k) {
    case 'prim':
      return t.name;
    case 'list':
      return `${printDuckType(t.item)}[]`;
    case 'map':
      return `MAP(${printDuckType(t.key)}, ${printDuckType(t.value)})`;
    case 'struct':
      return `STRUCT(${t.fields.map((f) => `${quoteIdent(f.name)} ${printDuckType(f.type)}`).join(', ')})`;
  }
}

// ---- the schema of a source ------------------------------------------------------------------------------------

/** OCSF profiles Security Lake (source version 2) applies to each of its sources. */
const SOURCE_PROFILES: Readonly<Record<string, readonly string[]>> = {
  VPC_FLOW: ['cloud', 'security_control', 'datetime'],
  ROUTE53: ['cloud', 'security_control', 'datetime'],
  CLOUD_TRAIL_MGMT: ['cloud', 'datetime'],
  S3_DATA: ['cloud', 'datetime'],
  LAMBDA_EXECUTION: ['cloud', 'datetime'],
  SH_FINDINGS: ['cloud', 'datetime'],
};

/** Profiles of custom (ext/) sources: the ones seclake's own findings and incidents declare. */
const EXT_PROFILES: readonly string[] = ['cloud', 'datetime'];

/** The OCSF classes each Security Lake source holds (its table's schema is theirs whether or not the lake has any). */
const SOURCE_CLASSES: Readonly<Record<string, readonly number[]>> = {
  VPC_FLOW: [4001],
  ROUTE53: [4003],
  CLOUD_TRAIL_MGMT: [3001, 3002, 6003],
  S3_DATA: [6003],
  LAMBDA_EXECUTION: [6003],
  SH_FINDINGS: [2004],
};

/** The profiles of a source's schema. */
export function sourceProfiles(source: LakeSourceName | string): readonly string[] {
  return SOURCE_PROFILES[source] ?? EXT_PROFILES;
}

/** The OCSF classes a source always holds (none for custom sources: theirs come from the catalog). */
export function sourceClasses(source: LakeSourceName | string): readonly number[] {
  return SOURCE_CLASSES[source] ?? [];
}

const LEAF: Record<string, string> = { string: 'VARCHAR', integer: 'INTEGER', long: 'BIGINT', float: 'DOUBLE', boolean: 'BOOLEAN', json: 'VARCHAR' };

/** The DuckDB type of an attribute of one of `profiles`, its objects expanded unless already on `path`. */
function attributeType(attr: OcsfAttribute, profiles: ReadonlySet<string>, path: readonly string[]): ColType | undefined {
  let t: ColType | undefined;
  const base = baseOfType(attr.type);
  if (attr.type === 'datetime_t') t = { k: 'prim', name: 'TIMESTAMP' };
  else if (base === 'object') t = { k: 'map', key: { k: 'prim', name: 'VARCHAR' }, value: { k: 'prim', name: 'VARCHAR' } };
  else if (base === 'struct') {
    const obj = objectOfAttribute(attr);
    if (!obj || path.includes(obj.name)) return undefined;
    const fields = attributeFields(obj.attributes, profiles, [...path, obj.name]);
    if (fields.length === 0) return undefined;
    t = { k: 'struct', fields };
  } else {
    const leaf = LEAF[base];
    if (!leaf) return undefined;
    t = { k: 'prim', name: leaf };
  }
  return attr.is_array ? { k: 'list', item: t } : t;
}

function attributeFields(attrs: Readonly<Record<string, OcsfAttribute>>, profiles: ReadonlySet<string>, path: readonly string[]): { name: string; type: ColType }[] {
  const out: { name: string; type: ColType }[] = [];
  for (const [name, attr] of Object.entries(attrs)) {
    if (attr.profile && !profiles.has(attr.profile)) continue;
    const t = attributeType(attr, profiles, path);
    if (t) out.push({ name, type: t });
  }
  return out;
}

export interface TableColumn {
  name: string;
  type: ColType;
}

const schemaCache = new Map<string, readonly TableColumn[]>();

/**
 * The columns of a table of OCSF classes `classUids` under `profiles`, in the OCSF schema's order (the first class's
 * attributes, then those the others add; a struct both have holds the union of their fields). Memoized.
 */
export function tableSchema(classUids: readonly number[], profiles: readonly string[]): readonly TableColumn[] {
  const key = `${classUids.join(',')}|${[...profiles].sort().join(',')}`;
  const hit = schemaCache.get(key);
  if (hit) return hit;
  const set = new Set(profiles);
  let cols: TableColumn[] = [];
  for (const uid of classUids) {
    const cls = classByUid(uid);
    if (!cls) continue;
    const fields = attributeFields(cls.attributes, set, []);
    cols = cols.length === 0 ? fields : (mergeTypes({ k: 'struct', fields: cols }, { k: 'struct', fields }) as { k: 'struct'; fields: TableColumn[] }).fields;
  }
  schemaCache.set(key, cols);
  return cols;
}

/** The schema of a source's table: its classes (and `moreClasses`, e.g. those the catalog lists) under its profiles. */
export function sourceSchema(source: LakeSourceName | string, moreClasses: readonly number[] = []): readonly TableColumn[] {
  const classes = [...new Set([...sourceClasses(source), ...[...moreClasses].sort((a, b) => a - b)])];
  return tableSchema(classes, sourceProfiles(source));
}

// ---- conforming data to the schema -----------------------------------------------------------------------------

const TIMESTAMPS = new Set(['VARCHAR', 'TIMESTAMP', 'TIMESTAMP_MS', 'TIMESTAMP_S', 'TIMESTAMP_NS', 'TIMESTAMP WITH TIME ZONE', 'DATE']);
const WIDENS: Record<string, readonly string[]> = {
  BIGINT: ['INTEGER', 'SMALLINT', 'TINYINT', 'UTINYINT', 'USMALLINT', 'UINTEGER'],
  INTEGER: ['SMALLINT', 'TINYINT', 'UTINYINT', 'USMALLINT'],
  DOUBLE: ['FLOAT', 'INTEGER', 'BIGINT', 'SMALLINT', 'TINYINT'],
};

/**
 * The type that holds data of type `actual` as the schema's `target`: the target's fields in its order (each merged),
 * then fields only the data has; a `*_dt` stored as text becomes the target's TIMESTAMP, a narrower integer the
 * target's wider one. Where data and schema disagree otherwise the data's type stays (a cast could fail).
 */
export function mergeTypes(actual: ColType, target: ColType): ColType {
  if (actual.k === 'struct' && target.k === 'struct') {
    const have = new Map(actual.fields.map((f) => [f.name, f.type]));
    const known = new Set(target.fields.map((f) => f.name));
    return {
      k: 'struct',
      fields: [
        ...target.fields.map((f) => {
          const a = have.get(f.name);
          return { name: f.name, type: a ? mergeTypes(a, f.type) : f.type };
        }),
        ...actual.fields.filter((f) => !known.has(f.name)),
      ],
    };
  }
  if (actual.k === 'list' && target.k === 'list') return { k: 'list', item: mergeTypes(actual.item, target.item) };
  if (actual.k === 'map' && target.k === 'map') return { k: 'map', key: mergeTypes(actual.key, target.key), value: mergeTypes(actual.value, target.value) };
  if (actual.k === 'prim' && target.k === 'prim') {
    if (actual.name === target.name) return actual;
    if (target.name === 'TIMESTAMP' && TIMESTAMPS.has(actual.name)) return target;
    if (WIDENS[target.name]?.includes(actual.name)) return target;
  }
  return actual;
}

/** Whether a type has the struct path `segs` (through structs only, as SQL reaches it). */
function hasPath(t: ColType | undefined, segs: readonly string[]): boolean {
  let cur = t;
  for (const s of segs) {
    if (cur?.k !== 'struct') return false;
    cur = cur.fields.find((f) => f.name === s)?.type;
    if (!cur) return false;
  }
  return true;
}

export interface Conformed {
  /**
   * The SELECT list over the data: every schema column in the schema's order (as is, cast, or NULL), then every other
   * column of the data (`* EXCLUDE (...)`), so columns a reader adds (file_row_number, partition columns) stay.
   */
  select: string;
  /** The resulting columns: the schema's, typed as merged with the data (not the pass-through ones). */
  columns: { name: string; type: ColType }[];
  /** Whether the data already has every schema column with its type (the list is then just `*` reordered). */
  exact: boolean;
}

/** The SELECT list that conforms data with columns `actual` (DESCRIBE's names and types) to `schema`. */
export function conformSelect(actual: readonly { name: string; type: string }[], schema: readonly TableColumn[]): Conformed {
  const have = new Map<string, { name: string; type: ColType | undefined; text: string }>();
  for (const c of actual) {
    let t: ColType | undefined;
    try {
      t = parseDuckType(c.type);
    } catch {
      t = undefined; // a type this parser does not know: passed through as it is
    }
    have.set(c.name.toLowerCase(), { name: c.name, type: t, text: c.type });
  }
  const items: string[] = [];
  const columns: { name: string; type: ColType }[] = [];
  const excluded: string[] = [];
  let exact = true;
  for (const col of schema) {
    const a = have.get(col.name.toLowerCase());
    const id = quoteIdent(col.name);
    if (!a) {
      items.push(`NULL::${printDuckType(col.type)} AS ${id}`);
      columns.push({ name: col.name, type: col.type });
      exact = false;
      continue;
    }
    excluded.push(quoteIdent(a.name));
    if (!a.type) {
      items.push(`${quoteIdent(a.name)} AS ${id}`);
      continue;
    }
    const merged = mergeTypes(a.type, col.type);
    const text = printDuckType(merged);
    columns.push({ name: col.name, type: merged });
    if (text === printDuckType(a.type)) items.push(`${quoteIdent(a.name)} AS ${id}`);
    else {
      items.push(`CAST(${quoteIdent(a.name)} AS ${text}) AS ${id}`);
      exact = false;
    }
  }
  // Every other column (also those a reader adds that `actual` does not list, e.g. file_row_number).
  const rest = excluded.length === 0 ? '*' : `* EXCLUDE (${excluded.join(', ')})`;
  return { select: [...items, rest].join(', '), columns, exact };
}

/** The SELECT list of an empty table with the schema's columns (and the partition columns), for `... WHERE false`. */
export function emptySelect(schema: readonly TableColumn[], extra: readonly { name: string; type: string }[] = []): string {
  return [...schema.map((c) => `NULL::${printDuckType(c.type)} AS ${quoteIdent(c.name)}`), ...extra.map((c) => `NULL::${c.type} AS ${quoteIdent(c.name)}`)].join(', ');
}

// ---- one object and the columns a query names (the monitor's pair queries) -------------------------------------

/** Every column path (`["src_endpoint", "instance_uid"]`) a SELECT statement names; [] when it does not parse. */
export async function columnPathsOf(db: Duck, sql: string): Promise<string[][]> {
  const rows = await db.all('SELECT json_serialize_sql($1::VARCHAR) AS j', [sql]);
  let doc: unknown;
  try {
    doc = JSON.parse(String(rows[0]?.j ?? ''));
  } catch {
    return [];
  }
  const seen = new Map<string, string[]>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    if (o.class === 'COLUMN_REF' && Array.isArray(o.column_names) && o.column_names.every((n) => typeof n === 'string')) {
      const names = o.column_names as string[];
      seen.set(names.join('\u0000'), names);
    }
    for (const x of Object.values(o)) walk(x);
  };
  walk(doc);
  return [...seen.values()];
}

export interface AbsentFieldsSelect {
  /** The SELECT list over the object that conforms it to its classes' schema (conformSelect). */
  select: string;
  /** The dotted paths among those asked for that the object lacks and the schema reads as NULL. */
  absent: string[];
}

/**
 * For one object (its `schema`, from DESCRIBE) of the OCSF classes `classUids`: the SELECT list that conforms it to
 * the lake's schema of those classes (see conformSelect), when the object lacks any of the attributes `paths` names
 * that the schema has; undefined when it lacks none (or the schema does not know them: a typo stays unbound). A path
 * may be qualified by a table name or alias (`events.src_endpoint.ip`): a first segment that is neither a column nor a
 * schema column is dropped. `profiles` default to every profile Security Lake applies to its sources.
 */
export function absentFieldsSelect(
  schema: readonly { name: string; type: string }[],
  paths: readonly (readonly string[])[],
  classUids: readonly number[],
  profiles: readonly string[] = ['cloud', 'security_control', 'datetime'],
): AbsentFieldsSelect | undefined {
  if (classUids.length === 0) return undefined;
  const target = tableSchema(classUids, profiles);
  const conformed = conformSelect(schema, target);
  const actual = new Map<string, ColType | undefined>();
  for (const c of schema) {
    try {
      actual.set(c.name, parseDuckType(c.type));
    } catch {
      actual.set(c.name, undefined);
    }
  }
  const merged = new Map(conformed.columns.map((c) => [c.name, c.type]));
  const known = (s: string): boolean => actual.has(s) || merged.has(s);
  const absent = new Set<string>();
  for (const p of paths) {
    if (p.length === 0) continue;
    const segs = !known(p[0]!) && p.length > 1 && known(p[1]!) ? p.slice(1) : p;
    const [col, ...rest] = segs;
    if (!merged.has(col!)) continue;
    const have = actual.has(col!) && (rest.length === 0 || hasPath(actual.get(col!), rest));
    if (!have && (rest.length === 0 || hasPath(merged.get(col!), rest))) absent.add(segs.join('.'));
  }
  if (absent.size === 0) return undefined;
  return { select: conformed.select, absent: [...absent] };
}
