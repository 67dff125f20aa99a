/**
 * The columns a feature set reads, and the relation that stands in for each source view: exactly the declared
 * columns, typed, with NULL where the view's objects lack one (a valid OCSF attribute no object has yet). Nested
 * attributes are rebuilt as structs of the declared fields only (`struct_pack`), which also lets DuckDB read only
 * those fields from Parquet (passing a whole struct through decodes every field of it: ~1.5x slower on flow logs);
 * so the declared columns always bind, relations of several views of one set have identical types, and the SQL cannot
 * depend on what an object happens to carry.
 *
 * Column types come from the OCSF 1.1.0 schema of the view's class (VIEW_CLASSES, or the set's `classes`), or from
 * an explicit `path:TYPE`. The view's actual columns are read from `DESCRIBE` (one statement per view), whose
 * STRUCT type strings are parsed here.
 */
import { ConfigError } from '../../../core/errors.js';
import { type ColType } from '../../../lake/columns.js';
import { quoteIdent } from '../../../lake/duckdb.js';
import { attributeAt } from '../../../ocsf/schema.js';

/** OCSF class of each view the feature sets know (lake views and the host-activity views of views.ts). */
export const VIEW_CLASSES: Readonly<Record<string, number>> = {
  vpc_flow: 4001,
  route53: 4003,
  cloudtrail_api: 6003,
  cloudtrail_auth: 3002,
  cloudtrail_account: 3001,
  s3_data: 6003,
  lambda_execution: 6003,
  ocsf_process_activity: 1007,
  ocsf_authentication: 3002,
  ocsf_file_activity: 1001,
};

/** Explicit column types a `path:TYPE` may give. */
export const EXPLICIT_TYPES: readonly string[] = ['VARCHAR', 'BIGINT', 'INTEGER', 'DOUBLE', 'BOOLEAN', 'MAP(VARCHAR, VARCHAR)'];

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A declared column tree: leaves carry a DuckDB type. */
export interface ColumnNode {
  type?: string;
  children?: Map<string, ColumnNode>;
}

/** Columns every relation has whatever is declared. */
const IMPLICIT = new Set(['time', 'window_start']);

function sqlTypeOfBase(base: string): string | undefined {
  switch (base) {
    case 'string':
    case 'json':
      return 'VARCHAR';
    case 'integer':
      return 'INTEGER';
    case 'long':
      return 'BIGINT';
    case 'float':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'object':
      return 'MAP(VARCHAR, VARCHAR)';
    default:
      return undefined;
  }
}

/** Resolve one declared column to its path and DuckDB type; `where` names it in errors (`sets[0].columns.vpc_flow[2]`). */
export function resolveColumn(spec: string, view: string, classUid: number | undefined, where: string): { path: string[]; type: string } {
  const colon = spec.indexOf(':');
  const pathText = (colon >= 0 ? spec.slice(0, colon) : spec).trim();
  const path = pathText.split('.');
  if (path.length === 0 || !path.every((p) => IDENT.test(p))) {
    throw new ConfigError(`${where}: ${JSON.stringify(spec)} is not a column path (dotted identifiers, e.g. traffic.bytes, optionally :TYPE)`, [where]);
  }
  if (colon >= 0) {
    const type = spec.slice(colon + 1).trim().toUpperCase().replace(/\s+/g, ' ').replace(/,\s*/g, ', ');
    if (!EXPLICIT_TYPES.includes(type)) throw new ConfigError(`${where}: type ${JSON.stringify(spec.slice(colon + 1))} is not one of ${EXPLICIT_TYPES.join(', ')}`, [where]);
    return { path, type };
  }
  if (classUid === undefined) {
    throw new ConfigError(`${where}: view ${view} has no known OCSF class: give the column's type (${pathText}:VARCHAR) or the view's class in "classes"`, [where]);
  }
  const info = attributeAt(classUid, path);
  if (!info) throw new ConfigError(`${where}: ${pathText} is not an OCSF 1.1.0 attribute of class ${classUid} (view ${view}); give its type explicitly (${pathText}:VARCHAR) if it is not OCSF`, [where]);
  for (let k = 1; k <= path.length; k++) {
    // attributeAt looks through arrays: a path into or onto a list is not a scalar column.
    if (attributeAt(classUid, path.slice(0, k))?.isArray) {
      throw new ConfigError(`${where}: ${path.slice(0, k).join('.')} is an array; feature columns must be scalar fields outside arrays`, [where]);
    }
  }
  const type = sqlTypeOfBase(info.base);
  if (!type) throw new ConfigError(`${where}: ${pathText} is an object (${info.type}); name a field inside it (e.g. ${pathText}.<field>)`, [where]);
  return { path, type };
}

/** Build the declared tree of one view's columns. */
export function columnTree(specs: readonly string[], view: string, classUid: number | undefined, where: string): Map<string, ColumnNode> {
  const root = new Map<string, ColumnNode>();
  specs.forEach((spec, i) => {
    const at = `${where}[${i}]`;
    const { path, type } = resolveColumn(spec, view, classUid, at);
    if (path.length === 1 && IMPLICIT.has(path[0]!)) return;
    let level = root;
    for (let k = 0; k < path.length; k++) {
      const seg = path[k]!;
      let node = level.get(seg);
      const leaf = k === path.length - 1;
      if (!node) {
        node = leaf ? { type } : { children: new Map() };
        level.set(seg, node);
      } else if (leaf || node.type !== undefined) {
        if (leaf && node.type === type) return;
        throw new ConfigError(`${at}: ${path.slice(0, k + 1).join('.')} is declared both as a field and as an object (or twice with different types)`, [at]);
      }
      if (!leaf) level = node.children!;
    }
  });
  return root;
}

/** The DuckDB type of a declared node. */
function nodeType(node: ColumnNode): string {
  if (node.type !== undefined) return node.type;
  return `STRUCT(${[...node.children!].map(([k, c]) => `${quoteIdent(k)} ${nodeType(c)}`).join(', ')})`;
}

// ---- the stand-in relation ----

/** What a projection left as NULL, for messages: dotted paths. */
export interface Projection {
  /** SELECT list (without `time`/`window_start`). */
  select: string[];
  /** Declared paths the view lacks (read as NULL). */
  missing: string[];
}

/**
 * The SELECT list standing in for a view: each declared column cast to its type, or a typed NULL where the view
 * (per `schema`, its DESCRIBE types by top-level column, parsed by the lake's `parseDuckType`) lacks it; structs
 * rebuilt from the declared fields. `qualifier` prefixes the view's columns (`__src.`).
 */
export function projection(tree: Map<string, ColumnNode>, schema: ReadonlyMap<string, ColType>, qualifier = ''): Projection {
  const missing: string[] = [];
  const expr = (node: ColumnNode, actual: ColType | undefined, sqlPath: string, dotted: string): string => {
    if (node.type !== undefined) {
      if (!actual) {
        missing.push(dotted);
        return `NULL::${node.type}`;
      }
      return `CAST(${sqlPath} AS ${node.type})`;
    }
    if (!actual || actual.k !== 'struct') {
      collectLeaves(node, dotted, missing);
      return `NULL::${nodeType(node)}`;
    }
    const parts = [...node.children!].map(([k, c]) => `${quoteIdent(k)} := ${expr(c, actual.fields.find((f) => f.name === k)?.type, `${sqlPath}.${quoteIdent(k)}`, `${dotted}.${k}`)}`);
    return `struct_pack(${parts.join(', ')})`;
  };
  const select = [...tree].map(([k, node]) => `${expr(node, schema.get(k), qualifier + quoteIdent(k), k)} AS ${quoteIdent(k)}`);
  return { select, missing };
}

function collectLeaves(node: ColumnNode, dotted: string, out: string[]): void {
  if (node.type !== undefined) {
    out.push(dotted);
    return;
  }
  for (const [k, c] of node.children!) collectLeaves(c, `${dotted}.${k}`, out);
}
