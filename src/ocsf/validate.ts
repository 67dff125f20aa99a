/**
 * OCSF 1.1.0 event validation, following the rules of the reference validator (ocsf-server
 * `lib/schema/validator2.ex`, summarised in docs: ocsf.md §1.3):
 *
 * - the class (`class_uid`) must be known; `metadata.profiles` may only name known profiles;
 * - attributes contributed by a profile exist only when the event declares that profile;
 * - required attributes must be present (recommended ones optionally warn); unknown attributes are errors
 *   (`unmapped` is the free-form place for source fields);
 * - values must have their attribute's type: arrays vs scalars, string_t max_len, integer/long/float/boolean,
 *   timestamp_t (integer milliseconds), port_t range, regex types (datetime_t, ip_t, hostname_t, mac_t,
 *   email_t, uuid_t), `json_t` anything, `object` any object, OCSF objects checked recursively;
 * - integer enum values must be defined; enum siblings should carry the caption (warning; for 99 "Other"
 *   the sibling should be the source's own label, so a literal "Other" warns);
 * - `type_uid` = class_uid * 100 + activity_id, `category_uid` = the class's category;
 * - object and class constraints (`at_least_one`, `just_one`);
 * - `metadata.version` must be 1.1.0; `observables[].name` must name an attribute of the class.
 *
 * Differences from the reference, on purpose: regex mismatches are errors by default (the reference warns;
 * pass `{ regexSeverity: 'warning' }` to match it), string enums (`http_method`, `cvss.depth`) only warn,
 * sibling mismatches in enum arrays warn like scalar ones, dotted constraint paths (`device.os.sp_name`)
 * are resolved, and a null value counts as absent. `subnet_t` (CIDR) and `url_t` (parsable URL) get
 * format warnings although the schema has no regex for them.
 *
 * Speed: the ingest validates every event, so checkers are compiled once per (profile set, options) into
 * closures per object and attribute, and cached; validating an event only walks the event's own keys.
 */
import { isIP } from 'node:net';
import type { OcsfEvent } from '../core/events.js';
import {
  OCSF_VERSION,
  baseOfType,
  categoryOfClass,
  classByUid,
  objectOfAttribute,
  profileNames,
  typeByName,
  type OcsfAttribute,
  type OcsfClass,
  type OcsfConstraints,
  type OcsfObject,
} from './schema.js';

export type IssueSeverity = 'error' | 'warning';

export interface ValidationIssue {
  /** Dotted attribute path with array indices (`observables[1].type_id`); '' for the event as a whole. */
  path: string;
  /** Stable machine code, mostly the reference validator's (`attribute_unknown`, `type_uid_incorrect`, ...). */
  code: string;
  /** Human message; starts with the path. */
  message: string;
  severity: IssueSeverity;
}

export interface ValidateOptions {
  /** Warn (`attribute_recommended_missing`) for missing recommended attributes. Default false. */
  warnMissingRecommended?: boolean;
  /** Severity of regex-type mismatches (ip_t, hostname_t, datetime_t, ...). Default 'error'. */
  regexSeverity?: IssueSeverity;
}

// ---- issue helpers ----------------------------------------------------------------------------------

type Seg = string | number;

interface Ctx {
  issues: ValidationIssue[];
  /** Path of the object being checked (attribute names and array indices). */
  segs: Seg[];
}

function joinPath(segs: readonly Seg[], key?: Seg): string {
  let out = '';
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  if (key === undefined) return out;
  if (typeof key === 'number') return `${out}[${key}]`;
  return out === '' ? key : `${out}.${key}`;
}

function add(ctx: Ctx, severity: IssueSeverity, code: string, path: string, text: string): void {
  ctx.issues.push({ path, code, severity, message: `${path === '' ? 'event' : path}: ${text}` });
}

/** Issue about the current object (`ctx.segs`) or, with `key`, about its member `key`. */
function here(ctx: Ctx, key: Seg | undefined, severity: IssueSeverity, code: string, text: string): void {
  add(ctx, severity, code, joinPath(ctx.segs, key), text);
}

/**
 * Path of the sibling of an enum attribute. Scalar: the enum is member `key` of the current object.
 * Array element `index`: the array attribute is the last segment of `ctx.segs`.
 */
function siblingPath(ctx: Ctx, sibling: string, index: number | undefined): string {
  if (index === undefined) return joinPath(ctx.segs, sibling);
  return `${joinPath(ctx.segs.slice(0, -1), sibling)}[${index}]`;
}

function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'bigint') return v.toString();
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** Prose from the schema (deprecation notes) without its HTML markup. */
function plainText(s: string): string {
  return s
    .replace(/<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

// ---- compiled checkers ------------------------------------------------------------------------------

/**
 * Checks one value: member `key` of the current object (`ctx.segs`), or element `key` of the array that is
 * the last segment of `ctx.segs`. Pushes issues; returns true when the value has the right type.
 */
type ValueCheck = (v: unknown, ctx: Ctx, key: Seg) => boolean;

type EnumCheck = (v: unknown, ctx: Ctx, owner: Record<string, unknown>, key: Seg, index: number | undefined) => void;

interface AttrCheck {
  /** Fast path for attributes that are a single value without enum or deprecation: the value check. */
  scalar: ValueCheck | undefined;
  /** General path (arrays, enums, deprecated attributes). */
  check: (v: unknown, ctx: Ctx, owner: Record<string, unknown>, key: string) => void;
  /** The object checker for struct attributes (observable name resolution). */
  obj?: ObjCheck;
}

interface ConstraintCheck {
  kind: string;
  keys: string[];
  /** Keys split on dots (class constraints may name nested attributes: `device.os.sp_name`). */
  paths: string[][];
  simple: boolean;
}

interface ObjCheck {
  /** `class authentication` / `object network_endpoint`, for messages. */
  what: string;
  attrs: Record<string, AttrCheck>;
  /** Attributes that exist only with a profile the event did not declare: name -> profile. */
  hidden: Record<string, string>;
  required: string[];
  recommended: string[];
  constraints: ConstraintCheck[];
  /** The free-form `object` type: any keys. */
  freeForm: boolean;
  deprecated?: string;
  /** The generated checker (see generateChecker). */
  fn: (obj: Record<string, unknown>, ctx: Ctx) => void;
}

/** Check an object against its compiled checker. */
function checkObject(oc: ObjCheck, obj: Record<string, unknown>, ctx: Ctx): void {
  oc.fn(obj, ctx);
}

/** Slow path: report the keys of `obj` that the object does not define (or only a missing profile does). */
function reportUnknownKeys(oc: ObjCheck, obj: Record<string, unknown>, ctx: Ctx): void {
  for (const key in obj) {
    if (Object.hasOwn(oc.attrs, key)) continue;
    const profile = oc.hidden[key];
    if (profile !== undefined) {
      here(ctx, key, 'error', 'attribute_unknown', `attribute of profile "${profile}", which metadata.profiles does not declare`);
    } else {
      here(ctx, key, 'error', 'attribute_unknown', `unknown attribute "${key}" (not defined in ${oc.what}; source fields belong in unmapped)`);
    }
  }
}

function reportMissing(oc: ObjCheck, ctx: Ctx, name: string, required: boolean): void {
  if (required) here(ctx, name, 'error', 'attribute_required_missing', `required attribute is missing (${oc.what})`);
  else here(ctx, name, 'warning', 'attribute_recommended_missing', `recommended attribute is missing (${oc.what})`);
}

/**
 * Generate the checker of one object or class as straight-line JavaScript: one named property read per
 * schema attribute (monomorphic inline caches for same-shaped events, and each value check has its own
 * call site), a key count to detect unknown attributes (the slow path names them), then constraints.
 * Property names are embedded as JSON string literals; the schema is our own asset.
 */
function generateChecker(oc: ObjCheck): ObjCheck['fn'] {
  if (oc.freeForm) return () => undefined;
  const deps: unknown[] = [oc, reportUnknownKeys, reportMissing, checkConstraint];
  const dep = (x: unknown): string => {
    deps.push(x);
    return `d${deps.length - 1}`;
  };
  const required = new Set(oc.required);
  const recommended = new Set(oc.recommended);
  const body: string[] = ['let v; let known = 0;'];
  for (const [name, a] of Object.entries(oc.attrs)) {
    const key = JSON.stringify(name);
    const call = a.scalar ? `${dep(a.scalar)}(v, ctx, ${key});` : `${dep(a.check)}(v, ctx, obj, ${key});`;
    const absent = required.has(name) ? ` d2(d0, ctx, ${key}, true);` : recommended.has(name) ? ` d2(d0, ctx, ${key}, false);` : '';
    body.push(`v = obj[${key}];`);
    if (absent) body.push(`if (v !== undefined) { known++; if (v !== null) ${call} else${absent} } else${absent}`);
    else body.push(`if (v !== undefined) { known++; if (v !== null) ${call} }`);
  }
  body.push('let total = 0; for (const k in obj) total++;');
  body.push('if (total !== known) d1(d0, obj, ctx);');
  oc.constraints.forEach((c) => body.push(`d3(${dep(c)}, d0, obj, ctx);`));
  const names = deps.map((_, i) => `d${i}`);
  const factory = new Function(...names, `"use strict"; return function check(obj, ctx) {\n${body.join('\n')}\n};`) as (...d: unknown[]) => ObjCheck['fn'];
  return factory(...deps);
}

function checkConstraint(c: ConstraintCheck, oc: ObjCheck, obj: Record<string, unknown>, ctx: Ctx): void {
  const keys = c.keys;
  if (c.kind === 'at_least_one') {
    if (c.simple) {
      for (let i = 0; i < keys.length; i++) {
        const v = obj[keys[i]!];
        if (v !== undefined && v !== null) return;
      }
    } else {
      for (const p of c.paths) if (present(valueAtPath(obj, p))) return;
    }
    here(ctx, undefined, 'error', 'constraint_failed', `at least one of ${keys.join(', ')} is required (${oc.what})`);
  } else if (c.kind === 'just_one') {
    let count = 0;
    for (const p of c.paths) if (present(valueAtPath(obj, p))) count++;
    if (count !== 1) here(ctx, undefined, 'error', 'constraint_failed', `exactly one of ${keys.join(', ')} is required, found ${count} (${oc.what})`);
  } else {
    here(ctx, undefined, 'error', 'constraint_unknown', `schema constraint "${c.kind}" is not supported (${oc.what})`);
  }
}

function valueAtPath(obj: Record<string, unknown>, path: string[]): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

const FORMAT_HINTS: Record<string, string> = {
  datetime_t: 'RFC 3339 date-time with a "T", e.g. 2024-01-31T12:00:00.000Z',
  ip_t: 'IPv4 or IPv6 address',
  hostname_t: 'DNS labels of letters, digits and inner hyphens, separated by dots',
  mac_t: 'six hex pairs separated by ":" or "-"',
  email_t: 'name@domain',
  uuid_t: '8-4-4-4-12 hex digits',
};

/**
 * Dotted-quad IPv4 without leading zeros (exported for tests): a quick accept for the common case before the schema's long
 * ip_t regex (which accepts exactly these, and more: IPv6, zone ids, surrounding blanks).
 */
export function isPlainIPv4(s: string): boolean {
  const n = s.length;
  if (n < 7 || n > 15) return false;
  let parts = 0;
  let val = 0;
  let digits = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || val > 255) return false;
      parts++;
      val = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57 || (digits > 0 && val === 0) || digits === 3) return false;
    val = val * 10 + (c - 48);
    digits++;
  }
  return parts === 4;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Exactly the datetime_t regex `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[\+-]\d{2}:\d{2})?$`, by hand:
 * every event carries a few of these, and a regex call costs more than this loop. Exported for tests.
 */
export function isDatetime(s: string): boolean {
  const n = s.length;
  if (n < 19) return false;
  for (let i = 0; i < 19; i++) {
    const c = s.charCodeAt(i);
    const ok = i === 4 || i === 7 ? c === 45 : i === 10 ? c === 84 : i === 13 || i === 16 ? c === 58 : isDigit(c);
    if (!ok) return false;
  }
  let i = 19;
  if (i < n && s.charCodeAt(i) === 46) {
    i++;
    const start = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i === start) return false;
  }
  if (i === n) return true;
  const c = s.charCodeAt(i);
  if (c === 90) return i + 1 === n;
  if (c !== 43 && c !== 45) return false;
  return i + 6 === n && isDigit(s.charCodeAt(i + 1)) && isDigit(s.charCodeAt(i + 2)) && s.charCodeAt(i + 3) === 58 && isDigit(s.charCodeAt(i + 4)) && isDigit(s.charCodeAt(i + 5));
}

/** Hand-written accepts tried before a type's regex (which still decides every value they do not accept). */
const QUICK_ACCEPT: Record<string, (s: string) => boolean> = { ip_t: isPlainIPv4, datetime_t: isDatetime };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function isInteger(v: unknown): boolean {
  if (typeof v === 'number') return Number.isInteger(v);
  return typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX;
}

function looksLikeCidr(v: string): boolean {
  const slash = v.indexOf('/');
  if (slash < 0) return false;
  const ip = v.slice(0, slash);
  const bits = v.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return false;
  const kind = isIP(ip);
  return (kind === 4 && Number(bits) <= 32) || (kind === 6 && Number(bits) <= 128);
}

class Compiler {
  private readonly objects = new Map<string, ObjCheck>();
  private readonly scalars = new Map<string, ValueCheck>();
  private readonly classes = new Map<number, ClassCheck | null>();

  constructor(
    private readonly profiles: ReadonlySet<string>,
    private readonly warnRecommended: boolean,
    private readonly regexSeverity: IssueSeverity,
  ) {}

  classCheck(uid: number): ClassCheck | null {
    const hit = this.classes.get(uid);
    if (hit !== undefined) return hit;
    const cls = classByUid(uid);
    const cc = cls ? new ClassCheck(cls, this.compileOwner(cls, `class ${cls.name}`, true)) : null;
    this.classes.set(uid, cc);
    return cc;
  }

  private objCheck(obj: OcsfObject): ObjCheck {
    const hit = this.objects.get(obj.name);
    if (hit) return hit;
    return this.compileOwner(obj, `object ${obj.name}`, false);
  }

  /** Compile a class or object. Objects are registered before their attributes compile (cycles). */
  private compileOwner(owner: OcsfClass | OcsfObject, what: string, isClass: boolean): ObjCheck {
    const oc: ObjCheck = {
      what,
      attrs: Object.create(null) as Record<string, AttrCheck>,
      hidden: Object.create(null) as Record<string, string>,
      required: [],
      recommended: [],
      constraints: compileConstraints(owner.constraints),
      freeForm: !isClass && owner.name === 'object' && Object.keys(owner.attributes).length === 0,
      fn: () => undefined,
    };
    if (owner.deprecated) oc.deprecated = plainText(owner.deprecated.message ?? `deprecated since ${owner.deprecated.since ?? '?'}`);
    if (!isClass) this.objects.set(owner.name, oc);
    for (const [name, attr] of Object.entries(owner.attributes)) {
      if (attr.profile && !this.profiles.has(attr.profile)) {
        oc.hidden[name] = attr.profile;
        continue;
      }
      oc.attrs[name] = this.attrCheck(name, attr, isClass);
      if (attr.requirement === 'required') oc.required.push(name);
      else if (attr.requirement === 'recommended' && this.warnRecommended) oc.recommended.push(name);
    }
    oc.fn = generateChecker(oc);
    return oc;
  }

  private scalarCheck(typeName: string): ValueCheck {
    const hit = this.scalars.get(typeName);
    if (hit) return hit;
    const check = this.buildScalar(typeName);
    this.scalars.set(typeName, check);
    return check;
  }

  private buildScalar(typeName: string): ValueCheck {
    const t = typeByName(typeName);
    const sup = t?.type ? typeByName(t.type) : undefined;
    const base = baseOfType(typeName);
    const maxLen = t?.max_len ?? sup?.max_len;
    const range = t?.range ?? sup?.range;
    const regexText = t?.regex;
    const regex = regexText ? new RegExp(regexText) : undefined;
    const quick = QUICK_ACCEPT[typeName];
    const regexSeverity = this.regexSeverity;
    const hint = FORMAT_HINTS[typeName] ?? (regexText ? `must match ${regexText}` : '');
    const wrong = (ctx: Ctx, key: Seg, v: unknown, expected: string): false => {
      here(ctx, key, 'error', 'attribute_wrong_type', `${show(v)} is not a ${typeName} (expected ${expected})`);
      return false;
    };
    switch (base) {
      case 'string': {
        // Specialised per type so the common case (plain string_t) does only what it must.
        const tooLong = (ctx: Ctx, key: Seg, v: string): false => {
          here(ctx, key, 'error', 'attribute_value_exceeds_max_len', `string of ${v.length} characters is longer than ${typeName} allows (${maxLen})`);
          return false;
        };
        const max = maxLen ?? Number.POSITIVE_INFINITY;
        if (regex !== undefined) {
          const accept = quick ?? ((): boolean => false);
          return function checkPattern(v, ctx, key) {
            if (typeof v !== 'string') return wrong(ctx, key, v, 'a string');
            if (v.length > max) return tooLong(ctx, key, v);
            if (!accept(v) && !regex.test(v)) {
              // DNS names carry underscores (SRV `_ldap._tcp`, `_dmarc`, DKIM) and, as DNS logs write them, the
              // trailing dot of an absolute name (Security Lake keeps Route 53's `s3.amazonaws.com.`; `.` is the
              // root): hostname_t's regex refuses both, but the name is real data, so each is a warning rather than
              // a reason to lose the record.
              if (typeName === 'hostname_t') {
                const dot = v.endsWith('.');
                const name = dot ? v.slice(0, -1) : v;
                if (name.includes('_') || dot) {
                  if (v === '.' || regex.test(name.replaceAll('_', 'a'))) {
                    if (name.includes('_')) here(ctx, key, 'warning', 'attribute_value_hostname_underscore', `${show(v)} has underscores, which hostname_t does not allow`);
                    if (dot) here(ctx, key, 'warning', 'attribute_value_hostname_trailing_dot', `${show(v)} is an absolute DNS name (trailing dot), which hostname_t does not allow`);
                    return true;
                  }
                }
              }
              here(ctx, key, regexSeverity, 'attribute_value_regex_not_matched', `${show(v)} is not a valid ${typeName} (${hint})`);
              return regexSeverity !== 'error';
            }
            return true;
          };
        }
        if (typeName === 'subnet_t') {
          return function checkSubnet(v, ctx, key) {
            if (typeof v !== 'string') return wrong(ctx, key, v, 'a string');
            if (v.length > max) return tooLong(ctx, key, v);
            if (!looksLikeCidr(v)) here(ctx, key, 'warning', 'attribute_value_format_invalid', `${show(v)} is not a subnet_t (CIDR notation, e.g. 10.0.0.0/16)`);
            return true;
          };
        }
        if (typeName === 'url_t') {
          return function checkUrl(v, ctx, key) {
            if (typeof v !== 'string') return wrong(ctx, key, v, 'a string');
            if (v.length > max) return tooLong(ctx, key, v);
            if (!URL.canParse(v)) here(ctx, key, 'warning', 'attribute_value_format_invalid', `${show(v)} is not an absolute URL (url_t)`);
            return true;
          };
        }
        return function checkString(v, ctx, key) {
          if (typeof v !== 'string') return wrong(ctx, key, v, 'a string');
          return v.length > max ? tooLong(ctx, key, v) : true;
        };
      }
      case 'integer':
      case 'long': {
        const expected = typeName === 'timestamp_t' ? 'integer milliseconds since the epoch' : 'an integer';
        if (!range) return function checkInteger(v, ctx, key) {
          return isInteger(v) ? true : wrong(ctx, key, v, expected);
        };
        const [lo, hi] = range;
        return function checkIntegerRange(v, ctx, key) {
          if (!isInteger(v)) return wrong(ctx, key, v, expected);
          if ((v as number) < lo || (v as number) > hi) {
            here(ctx, key, 'error', 'attribute_value_exceeds_range', `${show(v)} is not a ${typeName} (${lo}..${hi})`);
            return false;
          }
          return true;
        };
      }
      case 'float':
        return function checkFloat(v, ctx, key) {
          return typeof v === 'number' && Number.isFinite(v) ? true : wrong(ctx, key, v, 'a number');
        };
      case 'boolean':
        return function checkBoolean(v, ctx, key) {
          return typeof v === 'boolean' ? true : wrong(ctx, key, v, 'true or false');
        };
      case 'json':
        return function checkJson() {
          return true;
        };
      default:
        return function checkUndefinedType(v, ctx, key) {
          here(ctx, key, 'error', 'schema_bug_type_missing', `type ${typeName} of value ${show(v)} is not defined by the schema`);
          return false;
        };
    }
  }

  private attrCheck(name: string, attr: OcsfAttribute, atClassLevel: boolean): AttrCheck {
    const isArray = attr.is_array === true;
    const typeLabel = attr.type;
    let elem: ValueCheck;
    let obj: ObjCheck | undefined;
    if (attr.type === 'object') {
      elem = function checkFreeForm(v, ctx, key) {
        if (isObject(v)) return true;
        here(ctx, key, 'error', 'attribute_wrong_type', `${show(v)} is not an object (free-form object expected)`);
        return false;
      };
    } else if (baseOfType(attr.type) === 'struct') {
      const def = objectOfAttribute(attr);
      if (!def) {
        elem = function checkUndefinedObject(v, ctx, key) {
          here(ctx, key, 'error', 'schema_bug_type_missing', `object type ${attr.type} of value ${show(v)} is not defined by the schema`);
          return false;
        };
      } else {
        const oc = this.objCheck(def);
        obj = oc;
        elem = function checkStruct(v, ctx, key) {
          if (!isObject(v)) {
            here(ctx, key, 'error', 'attribute_wrong_type', `${show(v)} is not a ${def.name} object`);
            return false;
          }
          if (oc.deprecated) here(ctx, key, 'warning', 'object_deprecated', `object ${def.name} is deprecated: ${oc.deprecated}`);
          ctx.segs.push(key);
          checkObject(oc, v, ctx);
          ctx.segs.pop();
          return true;
        };
      }
    } else {
      elem = this.scalarCheck(attr.type);
    }

    // At class level, an unknown class_uid never gets here and a wrong type_uid has its own check; their
    // siblings (class_name, type_name) are still compared. A wrong category_uid gets its own code.
    const mode: EnumMode = !atClassLevel ? 'normal' : name === 'category_uid' ? 'category' : name === 'class_uid' || name === 'type_uid' ? 'siblingOnly' : 'normal';
    const enumCheck = compileEnum(name, attr, mode);
    const deprecated = attr.deprecated ? plainText(attr.deprecated.message ?? `deprecated since ${attr.deprecated.since ?? '?'}`) : undefined;

    let check: AttrCheck['check'];
    if (isArray) {
      check = function checkArray(v, ctx, owner, key) {
        if (deprecated) here(ctx, key, 'warning', 'attribute_deprecated', `attribute is deprecated: ${deprecated}`);
        if (!Array.isArray(v)) {
          here(ctx, key, 'error', 'attribute_wrong_type', `${show(v)} is not an array (expected an array of ${typeLabel})`);
          return;
        }
        const segs = ctx.segs;
        segs.push(key);
        for (let i = 0; i < v.length; i++) {
          if (elem(v[i], ctx, i) && enumCheck) enumCheck(v[i], ctx, owner, i, i);
        }
        segs.pop();
      };
    } else {
      check = function checkAttribute(v, ctx, owner, key) {
        if (deprecated) here(ctx, key, 'warning', 'attribute_deprecated', `attribute is deprecated: ${deprecated}`);
        if (elem(v, ctx, key) && enumCheck) enumCheck(v, ctx, owner, key, undefined);
      };
    }
    // Single values without enum and deprecation skip the wrapper (an array value fails the value check).
    const scalar = !isArray && !enumCheck && !deprecated ? elem : undefined;
    return obj ? { scalar, check, obj } : { scalar, check };
  }
}

type EnumMode = 'normal' | 'category' | 'siblingOnly';

function compileEnum(name: string, attr: OcsfAttribute, mode: EnumMode): EnumCheck | undefined {
  const e = attr.enum;
  if (!e) return undefined;
  const numeric = baseOfType(attr.type) === 'integer' || baseOfType(attr.type) === 'long';
  const captions = new Map<unknown, string>();
  const dense: (string | undefined)[] = [];
  const deprecatedValues = new Map<unknown, string>();
  for (const [k, def] of Object.entries(e)) {
    const key = numeric ? Number(k) : k;
    captions.set(key, def.caption);
    if (typeof key === 'number' && Number.isInteger(key) && key >= 0 && key < 1024) dense[key] = def.caption;
    if (def.deprecated) deprecatedValues.set(key, plainText(def.deprecated.message ?? 'deprecated'));
  }
  const sibling = attr.sibling;
  const known = [...captions.keys()].join(', ');
  return function checkEnum(v, ctx, owner, key, index) {
    const value = typeof v === 'bigint' ? Number(v) : v;
    const caption = typeof value === 'number' && value >= 0 && value < 1024 ? dense[value] : captions.get(value);
    if (caption === undefined) {
      if (mode === 'siblingOnly') return;
      if (mode === 'category') {
        here(ctx, key, 'error', 'category_uid_incorrect', `${show(v)} does not match the class's category (${known})`);
      } else if (numeric) {
        here(ctx, key, 'error', index === undefined ? 'attribute_enum_value_unknown' : 'attribute_enum_array_value_unknown', `${show(v)} is not a defined value of ${name} (${known})`);
      } else {
        here(ctx, key, 'warning', 'attribute_enum_value_unknown', `${show(v)} is not one of the values the schema lists for ${name} (${known})`);
      }
      return;
    }
    if (deprecatedValues.size > 0) {
      const dep = deprecatedValues.get(value);
      if (dep !== undefined) here(ctx, key, 'warning', 'attribute_enum_value_deprecated', `value ${show(v)} of ${name} is deprecated: ${dep}`);
    }
    if (!sibling) return;
    let sib = owner[sibling];
    if (sib === undefined || sib === null) return;
    if (index !== undefined) {
      sib = Array.isArray(sib) ? sib[index] : undefined;
      if (sib === undefined) {
        add(ctx, 'warning', 'attribute_enum_array_sibling_missing', siblingPath(ctx, sibling, index), `missing; ${name}[${index}] is ${show(v)} ("${caption}")`);
        return;
      }
    }
    if (value === 99) {
      if (sib === caption) {
        add(ctx, 'warning', index === undefined ? 'attribute_enum_sibling_suspicious_other' : 'attribute_enum_array_sibling_suspicious_other', siblingPath(ctx, sibling, index), `"${caption}" for ${name} 99; with 99 the sibling should carry the source's own label`);
      }
      return;
    }
    if (sib !== caption) {
      add(ctx, 'warning', index === undefined ? 'attribute_enum_sibling_incorrect' : 'attribute_enum_array_sibling_incorrect', siblingPath(ctx, sibling, index), `${show(sib)} does not match the caption of ${name} ${show(v)} ("${caption}")`);
    }
  };
}

function compileConstraints(c: OcsfConstraints | undefined): ConstraintCheck[] {
  if (!c) return [];
  return Object.entries(c)
    .filter(([, keys]) => Array.isArray(keys))
    .map(([kind, keys]) => {
      const paths = (keys as string[]).map((k) => k.split('.'));
      return { kind, keys: keys as string[], paths, simple: paths.every((p) => p.length === 1) };
    });
}

class ClassCheck {
  readonly uid: number;
  readonly categoryUid: number | undefined;
  private readonly refs = new Map<string, boolean>();

  constructor(
    readonly cls: OcsfClass,
    readonly root: ObjCheck,
  ) {
    this.uid = cls.uid;
    this.categoryUid = categoryOfClass(cls)?.uid;
  }

  /** Whether an observable name (`src_endpoint.ip`, `answers[].rdata`) names an attribute of this class. */
  refersToAttribute(name: string): boolean {
    const hit = this.refs.get(name);
    if (hit !== undefined) return hit;
    let oc: ObjCheck | undefined = this.root;
    let ok = true;
    const parts = name.split('.');
    for (let i = 0; i < parts.length; i++) {
      let seg = parts[i]!;
      if (seg.endsWith('[]')) seg = seg.slice(0, -2);
      const a: AttrCheck | undefined = oc ? oc.attrs[seg] : undefined;
      if (!a) {
        ok = false;
        break;
      }
      if (i < parts.length - 1) oc = a.obj;
    }
    if (this.refs.size > 10_000) this.refs.clear();
    this.refs.set(name, ok);
    return ok;
  }
}

// ---- compiler cache ---------------------------------------------------------------------------------

let knownProfiles: Set<string> | undefined;
const compilers = new Map<string, Compiler>();

interface ProfileInfo {
  /** The declared known profiles, sorted and joined: the compiler cache key. */
  key: string;
  set: Set<string>;
  unknown: [number, string][];
  /** Compiler for the default options, once looked up. */
  defaultCompiler?: Compiler;
}

const profileInfos = new Map<string, ProfileInfo>();
const NO_PROFILES: ProfileInfo = { key: '', set: new Set(), unknown: [] };
let lastProfiles: unknown[] = [];
let lastInfo: ProfileInfo = NO_PROFILES;

function profileInfo(profiles: unknown): ProfileInfo {
  if (!Array.isArray(profiles) || profiles.length === 0) return NO_PROFILES;
  // Consecutive events almost always declare the same profiles: compare with the last list first.
  if (profiles.length === lastProfiles.length) {
    let same = true;
    for (let i = 0; i < profiles.length; i++) {
      if (profiles[i] !== lastProfiles[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastInfo;
  }
  const raw = profiles.map((p) => (typeof p === 'string' ? p : `\u0001${typeof p}`)).join('\u0000');
  let info = profileInfos.get(raw);
  if (!info) {
    knownProfiles ??= new Set(profileNames());
    const set = new Set<string>();
    const unknown: [number, string][] = [];
    profiles.forEach((p, i) => {
      if (typeof p !== 'string') return;
      if (knownProfiles!.has(p)) set.add(p);
      else unknown.push([i, p]);
    });
    info = { key: [...set].sort().join(','), set, unknown };
    if (profileInfos.size > 1000) profileInfos.clear();
    profileInfos.set(raw, info);
  }
  lastProfiles = profiles.slice();
  lastInfo = info;
  return info;
}

function compilerFor(info: ProfileInfo, opts: ValidateOptions | undefined): Compiler {
  const isDefault = opts === undefined || (opts.warnMissingRecommended !== true && (opts.regexSeverity ?? 'error') === 'error');
  if (isDefault && info.defaultCompiler) return info.defaultCompiler;
  const warnRec = opts?.warnMissingRecommended === true;
  const regexSeverity: IssueSeverity = opts?.regexSeverity ?? 'error';
  const key = `${warnRec ? 1 : 0}${regexSeverity}|${info.key}`;
  let c = compilers.get(key);
  if (!c) {
    c = new Compiler(info.set, warnRec, regexSeverity);
    compilers.set(key, c);
  }
  if (isDefault) info.defaultCompiler = c;
  return c;
}

// ---- entry points -----------------------------------------------------------------------------------

/**
 * Validate one OCSF event against the 1.1.0 schema. Returns all issues found (empty when valid).
 * Never throws on odd input.
 */
export function validateEvent(event: OcsfEvent, opts?: ValidateOptions): ValidationIssue[] {
  const ctx: Ctx = { issues: [], segs: [] };
  if (!isObject(event)) {
    add(ctx, 'error', 'event_not_object', '', `${show(event)} is not an OCSF event (a JSON object is expected)`);
    return ctx.issues;
  }
  const classUid = event.class_uid;
  if (!present(classUid)) {
    add(ctx, 'error', 'attribute_required_missing', 'class_uid', 'required attribute is missing; cannot validate further without the class');
    return ctx.issues;
  }
  if (typeof classUid !== 'number' || !Number.isInteger(classUid)) {
    add(ctx, 'error', 'attribute_wrong_type', 'class_uid', `${show(classUid)} is not an integer_t (expected an integer)`);
    return ctx.issues;
  }
  const metadata = event.metadata;
  const info = profileInfo(isObject(metadata) ? metadata.profiles : undefined);
  for (const [i, name] of info.unknown) {
    add(ctx, 'error', 'profile_unknown', `metadata.profiles[${i}]`, `unknown profile "${name}" (OCSF ${OCSF_VERSION} defines ${profileNames().join(', ')})`);
  }
  const cc = compilerFor(info, opts).classCheck(classUid);
  if (!cc) {
    add(ctx, 'error', 'class_uid_unknown', 'class_uid', `${classUid} is not an OCSF ${OCSF_VERSION} event class`);
    return ctx.issues;
  }
  if (cc.root.deprecated) add(ctx, 'warning', 'class_deprecated', '', `class ${cc.cls.name} (${cc.uid}) is deprecated: ${cc.root.deprecated}`);

  checkObject(cc.root, event, ctx);

  const activityId = event.activity_id;
  const typeUid = event.type_uid;
  if (isInteger(activityId) && isInteger(typeUid)) {
    const expected = classUid * 100 + Number(activityId);
    if (Number(typeUid) !== expected) {
      add(ctx, 'error', 'type_uid_incorrect', 'type_uid', `${show(typeUid)} should be ${expected} (class_uid ${classUid} * 100 + activity_id ${show(activityId)})`);
    }
  }
  if (isObject(metadata) && typeof metadata.version === 'string' && metadata.version !== OCSF_VERSION) {
    add(ctx, 'error', 'version_incorrect', 'metadata.version', `"${metadata.version}" is not the schema version this validator checks (${OCSF_VERSION})`);
  }
  const observables = event.observables;
  if (Array.isArray(observables)) {
    for (let i = 0; i < observables.length; i++) {
      const o = observables[i];
      if (!isObject(o) || typeof o.name !== 'string') continue;
      if (!cc.refersToAttribute(o.name)) {
        add(ctx, 'error', 'observable_name_invalid_reference', `observables[${i}].name`, `"${o.name}" does not name an attribute of class ${cc.cls.name} (with the declared profiles)`);
      }
    }
  }
  return ctx.issues;
}

/** Compile the checker for a class and profile set ahead of time (optional; done on first use anyway). */
export function precompileValidator(classUid: number, profiles: string[] = [], opts?: ValidateOptions): boolean {
  return compilerFor(profileInfo(profiles), opts).classCheck(classUid) !== null;
}

// ---- summaries --------------------------------------------------------------------------------------

/** Issues with the same severity, code and path (array indices folded to `[]`), with the first example. */
export interface IssueGroup {
  severity: IssueSeverity;
  code: string;
  path: string;
  count: number;
  /** Where the first one was seen (caller-defined: line, row, record index) and its message. */
  first: { where: number; message: string };
}

export interface ValidationSummary {
  events: number;
  eventsWithErrors: number;
  errors: number;
  warnings: number;
  /** Errors first, then by count (descending), then code/path. */
  groups: IssueGroup[];
}

/** Folds array indices: `observables[3].name` -> `observables[].name`. */
export function groupPath(path: string): string {
  return path.replace(/\[\d+\]/g, '[]');
}

/** Collects issues of many events into groups (for reports). */
export class ValidationCollector {
  events = 0;
  eventsWithErrors = 0;
  errors = 0;
  warnings = 0;
  private readonly groups = new Map<string, IssueGroup>();

  /** Record one validated event and its issues; `where` locates it (line, row, index). */
  add(issues: readonly ValidationIssue[], where: number): void {
    this.events++;
    let hasError = false;
    for (const issue of issues) {
      if (issue.severity === 'error') {
        this.errors++;
        hasError = true;
      } else this.warnings++;
      const path = groupPath(issue.path);
      const key = `${issue.severity}\u0000${issue.code}\u0000${path}`;
      const g = this.groups.get(key);
      if (g) g.count++;
      else this.groups.set(key, { severity: issue.severity, code: issue.code, path, count: 1, first: { where, message: issue.message } });
    }
    if (hasError) this.eventsWithErrors++;
  }

  summary(): ValidationSummary {
    const groups = [...this.groups.values()].sort(
      (a, b) =>
        (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1) ||
        b.count - a.count ||
        a.code.localeCompare(b.code) ||
        a.path.localeCompare(b.path),
    );
    return { events: this.events, eventsWithErrors: this.eventsWithErrors, errors: this.errors, warnings: this.warnings, groups };
  }
}

/** Validate many events and summarise; `where` of each group's first example is the 0-based index. */
export function validateEvents(events: Iterable<OcsfEvent>, opts?: ValidateOptions): ValidationSummary {
  const c = new ValidationCollector();
  let i = 0;
  for (const e of events) c.add(validateEvent(e, opts), i++);
  return c.summary();
}
