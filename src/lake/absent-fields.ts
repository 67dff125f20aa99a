/**
 * Absent OCSF attributes read as NULL. A Parquet object (Security Lake's or this lake's) has the columns and struct
 * fields its records hold: an attribute that no record of the object has is missing from its schema, not a column of
 * NULLs. A VPC flow object holding only ingress REJECTs (a scanned server) has `src_endpoint` without `instance_uid`,
 * and a query written for the source (a pair definition's `CASE WHEN ... ELSE src_endpoint.instance_uid END`) does
 * not bind to it: DuckDB says `Could not find key "instance_uid" in struct`.
 *
 * `absentFieldsSelect` gives the SELECT list that exposes such an object with the attributes a query names, those it
 * lacks as typed NULLs: a struct column lacking fields is cast (by name) to its own type plus the missing fields, a
 * missing column is `NULL::<type>`. Types come from the OCSF schema of the object's class, so a name the schema does
 * not know (a typo in a definition, an alias) is never made up: the query still fails to bind, as before.
 * `columnPathsOf` lists the column paths a query names, from DuckDB's own parser (`json_serialize_sql`).
 */
import { attributeAt, type AttributeInfo } from '../ocsf/schema.js';
import { quoteIdent, type Duck } from './duckdb.js';

/** A DuckDB type: a struct (parsed, so fields can be added) or any other type, kept as its text. */
type TypeNode = { k: 'struct'; fields: [string, TypeNode][] } | { k: 'raw'; text: string };

/** Split at top-level commas (outside parentheses, brackets and quotes). */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) {
        if (text[i + 1] === quote) i++;
        else quote = undefined;
      }
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

/** Index of the parenthesis closing the one at `open`, or -1. */
function closing(text: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) {
        if (text[i + 1] === quote) i++;
        else quote = undefined;
      }
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Parse a DuckDB type as `describe` prints it (`STRUCT("ip" VARCHAR, "port" INTEGER)`, `VARCHAR[]`, ...). */
export function parseDuckType(text: string): TypeNode {
  const t = text.trim();
  const m = /^STRUCT\s*\(/i.exec(t);
  if (!m || closing(t, m[0].length - 1) !== t.length - 1) return { k: 'raw', text: t };
  const fields: [string, TypeNode][] = [];
  for (const part of splitTopLevel(t.slice(m[0].length, -1))) {
    const p = part.trim();
    if (!p) continue;
    let name: string;
    let rest: string;
    if (p.startsWith('"')) {
      let i = 1;
      name = '';
      for (; i < p.length; i++) {
        if (p[i] === '"') {
          if (p[i + 1] === '"') {
            name += '"';
            i++;
          } else break;
        } else name += p[i];
      }
      rest = p.slice(i + 1);
    } else {
      const sp = p.search(/\s/);
      if (sp < 0) return { k: 'raw', text: t };
      name = p.slice(0, sp);
      rest = p.slice(sp);
    }
    fields.push([name, parseDuckType(rest)]);
  }
  return { k: 'struct', fields };
}

/** The type text of a parsed type. */
export function printDuckType(node: TypeNode): string {
  return node.k === 'raw' ? node.text : `STRUCT(${node.fields.map(([n, t]) => `${quoteIdent(n)} ${printDuckType(t)}`).join(', ')})`;
}

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

/** DuckDB type of an OCSF leaf attribute as the lake stores it (shape.ts), or undefined when it is not a leaf. */
function leafType(info: AttributeInfo): string | undefined {
  const base: Record<string, string> = { string: 'VARCHAR', integer: 'INTEGER', long: 'BIGINT', float: 'DOUBLE', boolean: 'BOOLEAN', json: 'VARCHAR', object: 'MAP(VARCHAR, VARCHAR)' };
  const t = base[info.base];
  if (!t) return undefined;
  return info.isArray ? `${t}[]` : t;
}

/** The attribute at a path in the first of the classes that knows it. */
function attributeIn(classUids: readonly number[], segs: readonly string[]): AttributeInfo | undefined {
  for (const c of classUids) {
    const a = attributeAt(c, segs);
    if (a) return a;
  }
  return undefined;
}

/** Needed sub-paths below a point of a path, as a tree. */
interface Need {
  children: Map<string, Need>;
}

function addNeed(root: Need, segs: readonly string[]): void {
  let n = root;
  for (const s of segs) {
    let c = n.children.get(s);
    if (!c) {
      c = { children: new Map() };
      n.children.set(s, c);
    }
    n = c;
  }
}

/**
 * The type of an absent attribute at `segs` holding the needed sub-paths `need` (typed NULL), or undefined when the
 * OCSF schema does not know it (or it is a list of objects, which no path can reach into).
 */
function absentType(classUids: readonly number[], segs: string[], need: Need, absent: string[]): string | undefined {
  const info = attributeIn(classUids, segs);
  if (!info) return undefined;
  if (need.children.size === 0) {
    const t = leafType(info);
    if (t) absent.push(segs.join('.'));
    return t;
  }
  if (info.base !== 'struct' || info.isArray) return undefined;
  const fields: string[] = [];
  for (const [name, child] of need.children) {
    const t = absentType(classUids, [...segs, name], child, absent);
    if (t) fields.push(`${quoteIdent(name)} ${t}`);
  }
  return fields.length ? `STRUCT(${fields.join(', ')})` : undefined;
}

/** Add the needed absent fields to a struct type in place; whether anything was added. */
function completeStruct(node: TypeNode & { k: 'struct' }, classUids: readonly number[], segs: string[], need: Need, absent: string[]): boolean {
  let changed = false;
  for (const [name, child] of need.children) {
    const field = node.fields.find(([n]) => n === name);
    if (field) {
      const t = field[1];
      if (child.children.size > 0 && t.k === 'struct') changed = completeStruct(t, classUids, [...segs, name], child, absent) || changed;
      continue;
    }
    const t = absentType(classUids, [...segs, name], child, absent);
    if (!t) continue;
    node.fields.push([name, { k: 'raw', text: t }]);
    changed = true;
  }
  return changed;
}

export interface AbsentFieldsSelect {
  /** The SELECT list (`* REPLACE (...), NULL::T AS "c"`) over the object that exposes the absent attributes as NULL. */
  select: string;
  /** The dotted paths added as NULL. */
  absent: string[];
}

/**
 * The SELECT list over an object (its `schema`, from `describe`) that adds the attributes among `paths` it lacks as
 * typed NULLs, for an object of the OCSF classes `classUids`; undefined when it lacks none the OCSF schema knows.
 * A path may be qualified by a table name or alias (`events.src_endpoint.ip`): a first segment that is neither a
 * column nor an OCSF attribute is dropped.
 */
export function absentFieldsSelect(schema: readonly { name: string; type: string }[], paths: readonly (readonly string[])[], classUids: readonly number[]): AbsentFieldsSelect | undefined {
  if (classUids.length === 0) return undefined;
  const types = new Map(schema.map((c) => [c.name, c.type]));
  const known = (s: string): boolean => types.has(s) || attributeIn(classUids, [s]) !== undefined;
  const root: Need = { children: new Map() };
  for (const p of paths) {
    if (p.length === 0) continue;
    const segs = !known(p[0]!) && p.length > 1 && known(p[1]!) ? p.slice(1) : p;
    if (known(segs[0]!)) addNeed(root, segs);
  }
  const replace: string[] = [];
  const added: string[] = [];
  const absent: string[] = [];
  for (const [col, need] of root.children) {
    const type = types.get(col);
    if (type === undefined) {
      const t = absentType(classUids, [col], need, absent);
      if (t) added.push(`NULL::${t} AS ${quoteIdent(col)}`);
      continue;
    }
    if (need.children.size === 0) continue;
    const node = parseDuckType(type);
    if (node.k !== 'struct') continue;
    if (completeStruct(node, classUids, [col], need, absent)) replace.push(`CAST(${quoteIdent(col)} AS ${printDuckType(node)}) AS ${quoteIdent(col)}`);
  }
  if (replace.length === 0 && added.length === 0) return undefined;
  return { select: [replace.length ? `* REPLACE (${replace.join(', ')})` : '*', ...added].join(', '), absent };
}
