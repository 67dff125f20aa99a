/**
 * A long-lived DuckDB connection does not keep the files it reads: the monitor's scan connections and the dashboard
 * read a new object after another for as long as they run, and DuckDB's external file cache (on by default, bounded
 * only by memory_limit, 80% of RAM) held the bytes of every one of them (bench:soak: resident memory +258 MB per 1000
 * objects before, flat after).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Duck, quoteString } from '../../src/lake/duckdb.js';

describe('Duck connections and the files they read', () => {
  let dir: string;
  const files: string[] = [];
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-duck-memory-'));
    const w = await Duck.open({ threads: 1 });
    try {
      for (let i = 0; i < 20; i++) {
        const f = path.join(dir, `object-${i}.parquet`);
        await w.run(`COPY (SELECT range AS id, repeat(md5(CAST(range + ${i} * 100000 AS VARCHAR)), 4) AS payload FROM range(20000)) TO ${quoteString(f)} (FORMAT parquet)`);
        files.push(f);
      }
    } finally {
      w.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reading one object after another caches none of their bytes', async () => {
    const db = await Duck.open({ threads: 1 });
    try {
      for (const f of files) {
        const [row] = await db.all(`SELECT count(*) AS n, max(length(payload)) AS w FROM read_parquet(${quoteString(f)})`);
        assert.equal(row!.n, 20000);
      }
      const cached = await db.all(`SELECT coalesce(sum(memory_usage_bytes), 0) AS b FROM duckdb_memory() WHERE tag = 'EXTERNAL_FILE_CACHE'`);
      assert.equal(Number(cached[0]!.b), 0, 'bytes held by the external file cache after reading 20 objects');
    } finally {
      db.close();
    }
  });
});
