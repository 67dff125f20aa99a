/**
 * One DuckDB connection with the lake's views (and the flat `findings` and the `incidents` views of src/findings/), shared by the
 * dashboard's own (fixed, parameterised) queries. Calls are serialised; the views are rebuilt when the lake changes
 * (a new object in the catalog: findings objects are catalogued too; or a legacy findings object converted or
 * removed), and the connection is closed after a quiet minute so an idle dashboard holds no DuckDB memory.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { findingsSourceName, isFindingsSource, listLegacyFindingsObjects } from '../findings/keys.js';
import { findingsView } from '../findings/view.js';
import { incidentRevisionsView, incidentsView } from '../findings/incidents-view.js';
import { readObjects } from '../lake/catalog.js';
import { Duck, type Row, type SqlParams } from '../lake/duckdb.js';
import { META_DIR } from '../lake/layout.js';
import { createLakeViews, registeredLakeViews, type LakeViewDef } from '../lake/views.js';

const IDLE_CLOSE_MS = 60_000;

/** Size and mtime of a file, or '-' when it does not exist: changes whenever the file is appended to. */
export function fileStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.size}:${Math.floor(st.mtimeMs)}`;
  } catch {
    return '-';
  }
}

/**
 * The views above the lake the dashboard reads: the findings view, the incidents views (src/findings/incidents-view.ts)
 * and any other registered one, each name once.
 */
export function dashboardViews(): LakeViewDef[] {
  const out = new Map<string, LakeViewDef>([findingsView, incidentsView, incidentRevisionsView].map((v) => [v.name, v]));
  for (const v of registeredLakeViews()) if (!out.has(v.name)) out.set(v.name, v);
  return [...out.values()];
}

export class LakeReader {
  private db: Duck | undefined;
  private stamp = '';
  private views: Record<string, number> = {};
  private queue: Promise<unknown> = Promise.resolve();
  private idle: NodeJS.Timeout | undefined;
  private closed = false;
  private findingsPaths: { stamp: string; paths: string[] } | undefined;
  private incidentsPaths: { stamp: string; paths: string[] } | undefined;

  constructor(readonly lakeDir: string) {}

  /** Changes whenever an object is published (the catalog is append-only). */
  catalogStamp(): string {
    return fileStamp(path.join(this.lakeDir, META_DIR, 'catalog', 'objects.jsonl'));
  }

  /**
   * Changes whenever findings change: a findings object is published (the catalog changes) or rewritten in place (a
   * source object scored again: the catalogued file's size or mtime), or a legacy (pre-2.0) object comes or goes.
   */
  findingsStamp(): string {
    const cat = this.catalogStamp();
    // The catalogued findings objects, read again only when the catalog changes (it can be large).
    if (this.findingsPaths?.stamp !== cat) {
      this.findingsPaths = { stamp: cat, paths: readObjects(this.lakeDir).filter((o) => isFindingsSource(o.source)).map((o) => o.path) };
    }
    const h = createHash('sha256').update(cat).update('\n');
    for (const p of this.findingsPaths.paths) h.update(p).update('\0').update(fileStamp(path.join(this.lakeDir, p))).update('\n');
    for (const k of listLegacyFindingsObjects(this.lakeDir)) h.update(k).update('\0').update(fileStamp(path.join(this.lakeDir, k))).update('\n');
    return h.digest('hex').slice(0, 16);
  }

  /** Changes whenever an incidents object is published or rewritten in place (not when other objects arrive). */
  incidentsStamp(): string {
    const cat = this.catalogStamp();
    if (this.incidentsPaths?.stamp !== cat) {
      const source = findingsSourceName(2005);
      this.incidentsPaths = { stamp: cat, paths: readObjects(this.lakeDir).filter((o) => o.source === source).map((o) => o.path) };
    }
    const h = createHash('sha256');
    for (const p of this.incidentsPaths.paths) h.update(p).update('\0').update(fileStamp(path.join(this.lakeDir, p))).update('\n');
    return h.digest('hex').slice(0, 16);
  }

  /** Catalog and findings together: what the views depend on. */
  lakeStamp(): string {
    return this.findingsStamp();
  }

  /** Run `fn` with the connection, its views current, and no other call in between. */
  use<T>(fn: (db: Duck, views: Readonly<Record<string, number>>) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closed) throw new Error('the lake reader is closed');
      if (this.idle) clearTimeout(this.idle);
      this.idle = undefined;
      const stamp = this.lakeStamp();
      if (!this.db) {
        this.db = await Duck.open({ threads: 2 });
        this.stamp = '';
      }
      if (stamp !== this.stamp) {
        this.views = (await createLakeViews(this.db, this.lakeDir, { views: dashboardViews() })).views;
        this.stamp = stamp;
      }
      try {
        return await fn(this.db, this.views);
      } finally {
        this.idle = setTimeout(() => this.release(), IDLE_CLOSE_MS);
        this.idle.unref();
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  all(sql: string, params?: SqlParams): Promise<Row[]> {
    return this.use((db) => db.all(sql, params));
  }

  /** Whether a view exists (after a refresh). */
  hasView(name: string): Promise<boolean> {
    return this.use(async (_db, views) => views[name] !== undefined);
  }

  private release(): void {
    this.queue = this.queue.then(() => {
      this.db?.close();
      this.db = undefined;
    });
  }

  close(): void {
    this.closed = true;
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    void this.queue.then(() => {
      this.db?.close();
      this.db = undefined;
    });
  }
}
