/**
 * The models registered for a local lake: `<lake>/_seclake/models.json`. `seclake train --lake` registers the model
 * it writes (by name: the file's base name without extension), so `seclake monitor` with no --model runs every model
 * of the lake, each on the sources its record definition reads, and the dashboard lists them.
 *
 * A model inside the lake directory is stored by its lake-relative path (the lake can be moved); one elsewhere by
 * its absolute path. The file is rewritten atomically (temp + rename) under the lake lock, so concurrent trainings
 * never lose each other's entry. Entries whose file has gone are reported by `registeredModels` with `missing: true`
 * rather than dropped silently.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LakeError, errorMessage } from '../core/errors.js';
import { withLakeLock } from './catalog.js';
import { META_DIR } from './layout.js';

export const MODELS_FILE = 'models.json';

export interface RegisteredModel {
  /** Endpoint / findings name of the model (unique in the lake). */
  name: string;
  /** Absolute path of the model file. */
  path: string;
  /** Detector type, as the model header names it (informative; the header is authoritative). */
  detector: string;
  registered_at: string;
  /** The file no longer exists. */
  missing?: true;
}

interface StoredModel {
  name: string;
  path: string;
  detector: string;
  registered_at: string;
}

function modelsPath(lakeDir: string): string {
  return path.join(lakeDir, META_DIR, MODELS_FILE);
}

function readStored(lakeDir: string): StoredModel[] {
  const file = modelsPath(lakeDir);
  if (!existsSync(file)) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new LakeError(`${file}: cannot read the lake's model list: ${errorMessage(err)}`, { cause: err });
  }
  const list = (doc as { models?: unknown }).models;
  if (!Array.isArray(list)) throw new LakeError(`${file}: not a model list (no "models" array)`);
  return list.filter((m): m is StoredModel => !!m && typeof (m as StoredModel).name === 'string' && typeof (m as StoredModel).path === 'string');
}

/** The lake's registered models, in registration order (oldest first). */
export function registeredModels(lakeDir: string): RegisteredModel[] {
  const root = path.resolve(lakeDir);
  return readStored(root).map((m) => {
    const abs = path.isAbsolute(m.path) ? m.path : path.join(root, m.path);
    return { name: m.name, path: abs, detector: m.detector ?? 'unknown', registered_at: m.registered_at, ...(existsSync(abs) ? {} : { missing: true as const }) };
  });
}

/** Register (or re-register) a model file under `name`; returns the entry. */
export async function registerModel(lakeDir: string, name: string, file: string, detector: string): Promise<RegisteredModel> {
  const root = path.resolve(lakeDir);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) throw new LakeError(`model name ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-' (at most 63)`);
  const abs = path.resolve(file);
  const rel = path.relative(root, abs);
  const stored: StoredModel = { name, path: rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : abs, detector, registered_at: new Date().toISOString() };
  await withLakeLock(root, () => {
    const list = readStored(root).filter((m) => m.name !== name);
    list.push(stored);
    const out = modelsPath(root);
    const tmp = `${out}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ models: list }, null, 2) + '\n');
    renameSync(tmp, out);
  });
  return { name, path: abs, detector, registered_at: stored.registered_at };
}

/** The model name a file gets by default: its base name without the extension. */
export function modelNameOf(file: string): string {
  const base = path.basename(file);
  const ext = path.extname(base);
  return ext && ext !== base ? base.slice(0, -ext.length) : base;
}
