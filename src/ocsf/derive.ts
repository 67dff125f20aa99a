/**
 * Derive the OCSF fields a mapping does not set itself. Mappings set `class_uid`, `activity_id`, the
 * other `*_id` enums and raw values; `deriveEvent` fills from the schema:
 *
 * - classification: `category_uid`, `category_name`, `class_name`, `type_uid` (class_uid * 100 +
 *   activity_id), `type_name` ("<class>: <activity>"), `activity_name`, `severity`;
 * - every enum sibling string at any depth (`connection_info.direction`, `observables[].type`,
 *   `answers[].flags[]`, ...). For 99 (Other) an existing sibling is kept: it carries the source's label;
 * - `metadata.version` = 1.1.0 when absent;
 * - with the `datetime` profile declared: `<name>_dt` (UTC, `YYYY-MM-DDTHH:MM:SS.sssZ`) next to every
 *   timestamp_t attribute present, wherever the schema defines that sibling. Existing `_dt` values are kept.
 *
 * It runs on every ingested event, so the schema is compiled once into per-object plans listing only the
 * attributes that need work (enums with siblings, timestamps with `_dt` siblings, objects that contain
 * such attributes); deriving an event walks the plan, never the schema.
 */
import type { OcsfEvent } from '../core/events.js';
import {
  OCSF_VERSION,
  baseOfType,
  categoryOfClass,
  classByUid,
  loadSchema,
  objectOfAttribute,
  type OcsfAttribute,
  type OcsfEnumValue,
} from './schema.js';

interface EnumStep {
  id: string;
  sibling: string;
  captions: Captions;
  isArray: boolean;
}

interface TimeStep {
  name: string;
  dt: string;
}

interface ChildStep {
  name: string;
  plan: ObjPlan;
}

interface ObjPlan {
  enums: EnumStep[];
  times: TimeStep[];
  children: ChildStep[];
  /** The generated walker (see generateWalker). */
  fn: (obj: Record<string, unknown>, datetime: boolean) => void;
}

const NOOP = (): void => undefined;

interface ClassPlan {
  uid: number;
  categoryUid: number | undefined;
  plan: ObjPlan;
}

/** Enum captions by integer value: a dense array for small values, a map otherwise. */
type Captions = { dense: (string | undefined)[]; sparse: Map<number, string> };

function captionsOf(e: Record<string, OcsfEnumValue>): Captions {
  const dense: (string | undefined)[] = [];
  const sparse = new Map<number, string>();
  for (const [k, v] of Object.entries(e)) {
    const n = Number(k);
    if (!Number.isInteger(n)) continue;
    if (n >= 0 && n < 1024) dense[n] = v.caption;
    else sparse.set(n, v.caption);
  }
  return { dense, sparse };
}

function captionOf(c: Captions, value: unknown): string | undefined {
  if (typeof value !== 'number') return undefined;
  if (value >= 0 && value < 1024 && Number.isInteger(value)) return c.dense[value];
  return c.sparse.get(value);
}

/** Build the plan for one attribute set; object children are resolved through `objectPlan`. */
function buildPlan(attrs: Record<string, OcsfAttribute>, objectPlan: (name: string) => ObjPlan): ObjPlan {
  const plan: ObjPlan = { enums: [], times: [], children: [], fn: NOOP };
  for (const [name, attr] of Object.entries(attrs)) {
    if (attr.enum && attr.sibling && Object.hasOwn(attrs, attr.sibling)) {
      plan.enums.push({ id: name, sibling: attr.sibling, captions: captionsOf(attr.enum), isArray: attr.is_array === true });
    }
    if (attr.type === 'timestamp_t' && !attr.is_array) {
      const dt = `${name}_dt`;
      if (Object.hasOwn(attrs, dt) && attrs[dt]!.type === 'datetime_t') plan.times.push({ name, dt });
    }
    if (baseOfType(attr.type) === 'struct') {
      const obj = objectOfAttribute(attr);
      if (obj) plan.children.push({ name, plan: objectPlan(obj.name) });
    }
  }
  return plan;
}

interface Compiled {
  objects: Map<string, ObjPlan>;
  classes: Map<number, ClassPlan | null>;
}

let compiled: Compiled | undefined;

/**
 * Build plans for all objects, then drop children that never lead to work (fixpoint over the object
 * graph, which has cycles: process.parent_process, endpoint.proxy_endpoint, ...).
 */
function compileObjects(): Compiled {
  if (compiled) return compiled;
  const schema = loadSchema();
  const objects = new Map<string, ObjPlan>();
  const get = (name: string): ObjPlan => {
    let p = objects.get(name);
    if (!p) {
      p = { enums: [], times: [], children: [], fn: NOOP };
      objects.set(name, p);
    }
    return p;
  };
  for (const [name, obj] of Object.entries(schema.objects)) Object.assign(get(name), buildPlan(obj.attributes, get));
  const useful = new Set<ObjPlan>();
  for (const p of objects.values()) if (p.enums.length > 0 || p.times.length > 0) useful.add(p);
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of objects.values()) {
      if (!useful.has(p) && p.children.some((c) => useful.has(c.plan))) {
        useful.add(p);
        changed = true;
      }
    }
  }
  for (const p of objects.values()) p.children = p.children.filter((c) => useful.has(c.plan));
  for (const p of objects.values()) if (useful.has(p)) p.fn = generateWalker(p);
  compiled = { objects, classes: new Map() };
  return compiled;
}

function classPlan(uid: number): ClassPlan | null {
  const c = compileObjects();
  const hit = c.classes.get(uid);
  if (hit !== undefined) return hit;
  const cls = classByUid(uid);
  let plan: ClassPlan | null = null;
  if (cls) {
    const p = buildPlan(cls.attributes, (name) => c.objects.get(name) ?? { enums: [], times: [], children: [], fn: NOOP });
    p.children = p.children.filter((ch) => ch.plan.enums.length > 0 || ch.plan.times.length > 0 || ch.plan.children.length > 0);
    p.fn = generateWalker(p);
    plan = { uid, categoryUid: categoryOfClass(cls)?.uid, plan: p };
  }
  c.classes.set(uid, plan);
  return plan;
}

/** Compile the plan for a class ahead of time (optional; plans are also built on first use). */
export function precompileDerive(classUid: number): boolean {
  return classPlan(classUid) !== null;
}

// ---- timestamps -------------------------------------------------------------------------------------

const DAY_MS = 86_400_000;
const P2: string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const P3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let cachedDay = Number.NaN;
let cachedPrefix = '';

/**
 * Epoch milliseconds -> `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC), or undefined when not representable with a
 * 4-digit year. The date part is cached per day (events arrive roughly in time order).
 */
export function formatTimestampMs(ms: number): string | undefined {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return undefined;
  const t = Math.floor(ms);
  const day = Math.floor(t / DAY_MS);
  if (day !== cachedDay) {
    const d = new Date(day * DAY_MS);
    const y = d.getUTCFullYear();
    if (Number.isNaN(y) || y < 0 || y > 9999) return undefined;
    cachedPrefix = d.toISOString().slice(0, 11);
    cachedDay = day;
  }
  let rem = t - day * DAY_MS;
  const h = Math.floor(rem / 3_600_000);
  rem -= h * 3_600_000;
  const m = Math.floor(rem / 60_000);
  rem -= m * 60_000;
  const s = Math.floor(rem / 1000);
  return `${cachedPrefix}${P2[h]}:${P2[m]}:${P2[s]}.${P3[rem - s * 1000]}Z`;
}

// ---- walking ----------------------------------------------------------------------------------------

/** Array enums (`flag_ids` -> `flags`): rebuild the sibling array; 99 keeps an existing label. */
function applyArrayEnum(obj: Record<string, unknown>, step: EnumStep): void {
  const value = obj[step.id];
  if (!Array.isArray(value)) return;
  const cur = obj[step.sibling];
  const existing = Array.isArray(cur) ? cur : [];
  const out: unknown[] = new Array(value.length);
  for (let j = 0; j < value.length; j++) {
    const v = value[j];
    const caption = captionOf(step.captions, v);
    const old = existing[j];
    if (v === 99 && typeof old === 'string' && old !== '') out[j] = old;
    else if (caption !== undefined) out[j] = caption;
    else if (typeof old === 'string') out[j] = old;
    else return; // an undefined value without a label: leave the sibling alone
  }
  obj[step.sibling] = out;
}

function walkArray(arr: unknown[], plan: ObjPlan, datetime: boolean): void {
  for (let j = 0; j < arr.length; j++) {
    const el = arr[j];
    if (el !== null && typeof el === 'object' && !Array.isArray(el)) plan.fn(el as Record<string, unknown>, datetime);
  }
}

/**
 * Generate the walker of one plan as straight-line JavaScript: one named property read per step, so events
 * of the same shape hit monomorphic inline caches, instead of looping over steps with computed keys.
 * Property names are embedded as JSON string literals; the schema is our own asset.
 */
function generateWalker(plan: ObjPlan): ObjPlan['fn'] {
  const deps: unknown[] = [formatTimestampMs, applyArrayEnum, walkArray];
  const dep = (x: unknown): string => {
    deps.push(x);
    return `d${deps.length - 1}`;
  };
  const body: string[] = ['let v, c, s;'];
  for (const step of plan.enums) {
    const id = JSON.stringify(step.id);
    const sib = JSON.stringify(step.sibling);
    if (step.isArray) {
      body.push(`v = o[${id}]; if (v !== undefined && v !== null) d1(o, ${dep(step)});`);
      continue;
    }
    const dense = dep(step.captions.dense);
    const sparse = dep(step.captions.sparse);
    body.push(
      `v = o[${id}];`,
      `if (typeof v === 'number') {`,
      `  c = v >= 0 && v < 1024 ? ${dense}[v] : ${sparse}.get(v);`,
      `  if (c !== undefined && (v !== 99 || typeof (s = o[${sib}]) !== 'string' || s === '')) o[${sib}] = c;`,
      `}`,
    );
  }
  if (plan.times.length > 0) {
    body.push('if (dt) {');
    for (const t of plan.times) {
      const name = JSON.stringify(t.name);
      const dtName = JSON.stringify(t.dt);
      body.push(`  v = o[${name}]; if (typeof v === 'number' && o[${dtName}] === undefined) { c = d0(v); if (c !== undefined) o[${dtName}] = c; }`);
    }
    body.push('}');
  }
  for (const child of plan.children) {
    const name = JSON.stringify(child.name);
    const p = dep(child.plan);
    body.push(`v = o[${name}]; if (v !== null && typeof v === 'object') { if (Array.isArray(v)) d2(v, ${p}, dt); else ${p}.fn(v, dt); }`);
  }
  const names = deps.map((_, i) => `d${i}`);
  const factory = new Function(...names, `"use strict"; return function derive(o, dt) {\n${body.join('\n')}\n};`) as (...d: unknown[]) => ObjPlan['fn'];
  return factory(...deps);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Fill derived OCSF attributes in place (see the module comment) and return the same event.
 * Classification fields that are functions of `class_uid`/`activity_id` (`category_uid`, `type_uid`,
 * names) are always recomputed. Events with an unknown or missing `class_uid` only get `metadata.version`;
 * validation reports the rest. Never throws on odd input.
 */
export function deriveEvent(event: OcsfEvent): OcsfEvent {
  let metadata = event.metadata;
  if (metadata === undefined || metadata === null) {
    metadata = {};
    event.metadata = metadata;
  }
  let datetime = false;
  if (isObject(metadata)) {
    if (metadata.version === undefined || metadata.version === null) metadata.version = OCSF_VERSION;
    const profiles = metadata.profiles;
    datetime = Array.isArray(profiles) && profiles.includes('datetime');
  }
  const classUid = event.class_uid;
  if (typeof classUid !== 'number') return event;
  const cp = classPlan(classUid);
  if (!cp) return event;
  if (cp.categoryUid !== undefined) event.category_uid = cp.categoryUid;
  const activityId = event.activity_id;
  if (typeof activityId === 'number' && Number.isInteger(activityId)) event.type_uid = classUid * 100 + activityId;
  cp.plan.fn(event, datetime);
  return event;
}
