/**
 * LakeStore: one interface over a local lake directory and an S3 lake (`s3://bucket/prefix`), for the components
 * that read or add whole objects (monitor, query cache, DDL, findings). Findings objects are catalogued (published
 * with publishDerived), so mirroring the catalog (syncLakeToDir) brings them along: no separate findings sync. Keys are lake-relative POSIX paths, the
 * same in both (`aws/VPC_FLOW/2.0/region=.../x.parquet`, `_seclake/quarantine/...`).
 *
 *   const store = openLakeStore('s3://bucket/lake');            // or a directory
 *   for (const o of await store.listCatalog(checkpoint)) {      // objects with seq > checkpoint, in seq order
 *     await store.getObjectToFile(o.path, localFile);            // streamed download (local: a copy)
 *   }
 *   await store.publishStaged(req);                              // what ingest does after writing Parquet locally
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { publishDerived, readInputs, readObjects, type CatalogInput, type CatalogObject, type DerivedObject } from './catalog.js';
import { META_DIR, resolveInLake, resolveLakeDir } from './layout.js';
import { isS3Url, S3Lake, objectMeta, type S3LakeOptions } from './s3.js';
import { objectRelPath, publishInput, quarantineRelPath, type PublishRequest, type PublishResult } from './writer.js';
import type { LakeSourceName, SourceType } from '../core/events.js';

export interface LakeStore {
  readonly kind: 'local' | 's3';
  /** The directory (absolute) or the `s3://bucket/prefix` URL. */
  readonly location: string;
  /** Catalogued objects with seq > afterSeq, in seq order. */
  listCatalog(afterSeq?: number): Promise<CatalogObject[]>;
  /** Every published input. */
  listInputs(): Promise<CatalogInput[]>;
  /** Copy/download one object to a local file (atomic: a partial file is never left at `file`). */
  getObjectToFile(key: string, file: string): Promise<number>;
  /** Store a local file at a lake-relative key (not catalogued: use publishStaged for lake objects). */
  putFile(key: string, file: string): Promise<number>;
  /** Absolute path or s3:// URL of a key, e.g. for SourceRef.object. */
  objectUrl(key: string): string;
  /** Publish an input whose objects were staged by a LakeWriter (local: rename + catalog append; S3: upload + log). */
  publishStaged(req: PublishRequest): Promise<PublishResult>;
  /**
   * Publish a derived object (findings) at its deterministic key `obj.path` from a local file: the file replaces
   * whatever is at the key and the catalog lists the key once, however often it is published (see
   * catalog.publishDerived, S3Lake.publishDerived). The local file is consumed (moved or uploaded and left for the
   * caller to remove).
   */
  publishDerived(obj: DerivedObject, file: string): Promise<{ added: boolean }>;
  /** Keys (lake-relative) and sizes of the stored files under a lake-relative prefix, catalogued or not, in key order. */
  listKeys(prefix: string): Promise<{ key: string; size: number }[]>;
  /** Remove a stored file (not catalogued objects: used for files outside the catalog, e.g. legacy findings). */
  deleteObject(key: string): Promise<void>;
  close(): void;
}

export { isS3Url } from './s3.js';

/** Open a lake: `s3://...` -> S3, anything else (or undefined: $SECLAKE_LAKE / ./seclake-data) -> local directory. */
export function openLakeStore(lake?: string, opts: S3LakeOptions = {}): LakeStore {
  const loc = lake ?? process.env.SECLAKE_LAKE;
  if (isS3Url(loc)) return new S3LakeStore(new S3Lake(loc, opts));
  return new LocalLakeStore(resolveLakeDir(loc));
}

export class LocalLakeStore implements LakeStore {
  readonly kind = 'local' as const;
  constructor(readonly location: string) {}
  listCatalog(afterSeq = 0): Promise<CatalogObject[]> {
    return Promise.resolve(readObjects(this.location, afterSeq));
  }
  listInputs(): Promise<CatalogInput[]> {
    return Promise.resolve(readInputs(this.location));
  }
  getObjectToFile(key: string, file: string): Promise<number> {
    const src = resolveInLake(this.location, key);
    mkdirSync(path.dirname(file), { recursive: true });
    const part = `${file}.part-${process.pid}`;
    copyFileSync(src, part);
    renameSync(part, file);
    return Promise.resolve(statSync(file).size);
  }
  putFile(key: string, file: string): Promise<number> {
    const dest = resolveInLake(this.location, key);
    mkdirSync(path.dirname(dest), { recursive: true });
    const part = `${dest}.part-${process.pid}`;
    copyFileSync(file, part);
    renameSync(part, dest);
    return Promise.resolve(statSync(dest).size);
  }
  objectUrl(key: string): string {
    return resolveInLake(this.location, key);
  }
  publishStaged(req: PublishRequest): Promise<PublishResult> {
    return publishInput({ ...req, lakeDir: this.location });
  }
  async publishDerived(obj: DerivedObject, file: string): Promise<{ added: boolean }> {
    // A copy next to the key first (the file may be on another filesystem), then the atomic move and catalog append.
    const dest = resolveInLake(this.location, obj.path);
    mkdirSync(path.dirname(dest), { recursive: true });
    const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.part-${process.pid}`);
    copyFileSync(file, tmp);
    try {
      return { added: (await publishDerived(this.location, obj, tmp)).added };
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  listKeys(prefix: string): Promise<{ key: string; size: number }[]> {
    const out: { key: string; size: number }[] = [];
    const base = prefix.replace(/\/+$/, '');
    const walk = (dir: string, rel: string): void => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const r = `${rel}/${e.name}`;
        if (e.isDirectory()) walk(path.join(dir, e.name), r);
        else if (e.isFile()) out.push({ key: r, size: statSync(path.join(dir, e.name)).size });
      }
    };
    walk(resolveInLake(this.location, base), base);
    return Promise.resolve(out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));
  }
  deleteObject(key: string): Promise<void> {
    rmSync(resolveInLake(this.location, key), { force: true });
    return Promise.resolve();
  }
  close(): void {}
}

export class S3LakeStore implements LakeStore {
  readonly kind = 's3' as const;
  readonly location: string;
  constructor(readonly lake: S3Lake) {
    this.location = lake.url.replace(/\/+$/, '');
  }
  listCatalog(afterSeq = 0): Promise<CatalogObject[]> {
    return this.lake.listCatalog(afterSeq);
  }
  listInputs(): Promise<CatalogInput[]> {
    return this.lake.listInputs();
  }
  getObjectToFile(key: string, file: string): Promise<number> {
    return this.lake.getObjectToFile(key, file);
  }
  putFile(key: string, file: string): Promise<number> {
    return this.lake.putFile(key, file);
  }
  objectUrl(key: string): string {
    return this.lake.objectUrl(key);
  }
  async publishDerived(obj: DerivedObject, file: string): Promise<{ added: boolean }> {
    return { added: (await this.lake.publishDerived(obj, file)).added };
  }
  /** Upload the staged objects under the Security Lake keys, then append to the S3 catalog. Removes the staging dir. */
  async publishStaged(req: PublishRequest): Promise<PublishResult> {
    try {
      const res = await this.lake.publish({
        inputHash: req.inputHash,
        input: {
          input_hash: req.inputHash,
          input_name: req.inputName,
          source_type: req.sourceType,
          events: req.events,
          rejects: req.rejects,
          ingested_at: new Date().toISOString(),
          ...(req.size !== undefined ? { size: req.size, mtime_ms: req.mtimeMs } : {}),
        },
        objects: req.staged.map((s) => ({
          key: objectRelPath(req.inputHash, s),
          file: s.staged,
          meta: objectMeta({
            source: s.key.source as LakeSourceName,
            sourceType: req.sourceType as SourceType,
            classUid: s.key.classUid,
            region: s.key.region,
            accountId: s.key.accountId,
            eventDay: s.key.eventDay,
            rows: s.rows,
            timeMin: s.timeMin,
            timeMax: s.timeMax,
            inputHash: req.inputHash,
            inputName: req.inputName,
          }),
        })),
        ...(req.quarantineFile && req.rejects > 0 ? { quarantine: { key: quarantineRelPath(req.inputHash), file: req.quarantineFile } } : {}),
      });
      return res.status === 'published' ? { status: 'published', objects: res.objects } : { status: 'duplicate' };
    } finally {
      rmSync(req.stagingDir, { recursive: true, force: true });
    }
  }
  async listKeys(prefix: string): Promise<{ key: string; size: number }[]> {
    const out: { key: string; size: number }[] = [];
    for await (const k of this.lake.listKeys(prefix.endsWith('/') ? prefix : `${prefix}/`)) out.push({ key: k.key, size: k.size });
    return out;
  }
  deleteObject(key: string): Promise<void> {
    return this.lake.deleteObject(key);
  }
  close(): void {
    this.lake.close();
  }
}

/** Default local cache for an S3 lake: $SECLAKE_CACHE, else ~/.cache/seclake/s3/<bucket>/<prefix-hash>. */
export function defaultCacheDir(url: string): string {
  const base = process.env.SECLAKE_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? (homedir() ? path.join(homedir(), '.cache') : tmpdir()), 'seclake', 's3');
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  const tag = createHash('sha256').update(url.replace(/\/+$/, '')).digest('hex').slice(0, 12);
  return path.join(base, `${m?.[1] ?? 'lake'}-${tag}`);
}

export interface SyncResult {
  dir: string;
  objects: number;
  downloaded: number;
  bytes_downloaded: number;
}

/**
 * Mirror a lake's catalogued objects (and catalog, quarantine) into a local directory that is itself a valid
 * local lake, so `seclake query` and the views work unchanged. Objects already present with the catalogued size
 * are kept; objects no longer catalogued are left alone but not listed. The local catalog is rewritten atomically.
 */
export async function syncLakeToDir(store: LakeStore, dir: string, onProgress?: (done: number, total: number) => void): Promise<SyncResult> {
  mkdirSync(dir, { recursive: true });
  const objects = await store.listCatalog(0);
  const inputs = await store.listInputs();
  let downloaded = 0;
  let bytes = 0;
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i]!;
    const local = resolveInLake(dir, o.path);
    if (!(existsSync(local) && statSync(local).size === o.bytes)) {
      bytes += await store.getObjectToFile(o.path, local);
      downloaded++;
    }
    onProgress?.(i + 1, objects.length);
  }
  for (const inp of inputs) {
    if (!inp.quarantine) continue;
    const local = resolveInLake(dir, inp.quarantine);
    if (!existsSync(local)) await store.getObjectToFile(inp.quarantine, local);
  }
  const catDir = path.join(dir, META_DIR, 'catalog');
  mkdirSync(catDir, { recursive: true });
  for (const [name, rows] of [
    ['objects.jsonl', objects],
    ['inputs.jsonl', inputs],
  ] as const) {
    const tmp = path.join(catDir, `${name}.tmp-${process.pid}`);
    writeFileSync(tmp, rows.map((r) => JSON.stringify(r) + '\n').join(''));
    renameSync(tmp, path.join(catDir, name));
  }
  // A stale quarantine file from an earlier sync of a now-void entry would show in `quarantine`: keep only listed ones.
  const qDir = path.join(dir, META_DIR, 'quarantine');
  if (existsSync(qDir)) {
    const keep = new Set(inputs.map((i) => i.quarantine && path.basename(i.quarantine)).filter(Boolean));
    for (const f of readdirSync(qDir)) if (!keep.has(f)) rmSync(path.join(qDir, f), { force: true });
  }
  return { dir, objects: objects.length, downloaded, bytes_downloaded: bytes };
}

/** `seclake query --lake s3://...`: mirror the lake into the cache dir (progress on stderr) and return the dir. */
export async function syncS3LakeForQuery(url: string, o: { cache?: string; s3Endpoint?: string; s3Region?: string }): Promise<string> {
  const store = openLakeStore(url, { ...(o.s3Endpoint ? { endpoint: o.s3Endpoint } : {}), ...(o.s3Region ? { region: o.s3Region } : {}) });
  try {
    const dir = path.resolve(o.cache ?? defaultCacheDir(url));
    const r = await syncLakeToDir(store, dir);
    if (r.downloaded > 0) process.stderr.write(`synced ${url}: ${r.downloaded} of ${r.objects} objects downloaded (${(r.bytes_downloaded / 1e6).toFixed(1)} MB) to ${dir}\n`);
    return dir;
  } finally {
    store.close();
  }
}
