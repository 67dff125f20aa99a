/**
 * Fuzz: the whole ingest (src/ingest: open, gunzip, sniff, detect, both the bulk and the generic path, quarantine,
 * lake writer, publish) on folders of mutated real samples of every source, random bytes, gzip (whole, truncated,
 * corrupted) and Parquet (the sample objects, truncated or with flipped bytes), into fresh local lakes.
 *
 * Properties: ingest() returns a summary (never throws); every input is ingested, a duplicate, skipped or failed,
 * and a failed or skipped one says why; an ingested input's quarantine holds exactly its rejects, each with a line and
 * a reason; every catalogued object exists and holds the rows the catalog says (read back with DuckDB), and they add
 * up to the input's events; ingesting the same folder again adds nothing. No hang (watchdog), bounded heap.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ingest, type IngestSummary } from '../../src/ingest/ingest.js';
import { readInputs, readObjects } from '../../src/lake/catalog.js';
import { Duck, quoteString } from '../../src/lake/duckdb.js';
import { resolveInLake } from '../../src/lake/layout.js';
import type { SourceType } from '../../src/sources/types.js';
import { REPO, asBytes, describeInput, heapMiB, mutatedJson, mutatedText, params, randomBytes, samples, splicedText, startWatchdog, type Watchdog } from './support.js';

const TEXT_SAMPLES: Record<SourceType, { texts: string[]; json: boolean; ext: string }> = {
  aws_vpc_flow: { texts: [...samples('test/samples/vpc-flow', /\.(log|csv)$/), ...samples('src/sources/aws_vpc_flow/testdata', /\.(log|csv)$/)], json: false, ext: '.log' },
  aws_route53: { texts: samples('test/samples/route53-resolver', /\.jsonl?$/), json: true, ext: '.json' },
  aws_cloudtrail: { texts: samples('src/sources/aws_cloudtrail/testdata', /^(delivery\.json|events\.jsonl)$/), json: true, ext: '.json' },
  ocsf: { texts: samples('src/sources/ocsf/testdata', /\.jsonl$/), json: true, ext: '.jsonl' },
};
const PARQUET = [
  'test/samples/ocsf-examples-spark-authentication/pwSpray.parquet',
  'test/samples/security-lake-ocsf-validation/1.1.0/CLOUD_TRAIL/account_change/CreateUser.test.gz.parquet',
].filter((p) => existsSync(path.join(REPO, p)));
const PARQUET_BYTES = PARQUET.map((p) => readFileSync(path.join(REPO, p)));

interface FileCase {
  name: string;
  bytes: Buffer;
}

const SOURCE_TYPES = Object.keys(TEXT_SAMPLES) as SourceType[];

function textFile(type: SourceType): fc.Arbitrary<FileCase> {
  const { texts, json, ext } = TEXT_SAMPLES[type];
  const text = json ? fc.oneof(mutatedJson(texts), mutatedText(texts), splicedText(texts)) : fc.oneof(mutatedText(texts), splicedText(texts));
  return fc.tuple(asBytes(text), fc.constantFrom('plain', 'plain', 'gzip', 'gzip-truncated', 'gzip-flipped')).map(([bytes, how]) => {
    if (how === 'plain') return { name: `${type}${ext}`, bytes };
    const gz = gzipSync(bytes);
    if (how === 'gzip-truncated') return { name: `${type}${ext}.gz`, bytes: gz.subarray(0, Math.max(10, gz.length >> 1)) };
    if (how === 'gzip-flipped' && gz.length > 20) gz[gz.length >> 1] = gz[gz.length >> 1]! ^ 0x55;
    return { name: `${type}${ext}.gz`, bytes: gz };
  });
}

const parquetFile: fc.Arbitrary<FileCase> = fc
  .tuple(fc.nat({ max: Math.max(0, PARQUET_BYTES.length - 1) }), fc.constantFrom('as-is', 'truncated', 'flipped'), fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }))
  .map(([i, how, at]) => {
    const b = Buffer.from(PARQUET_BYTES[i]!);
    const pos = Math.floor(at * b.length);
    if (how === 'truncated') return { name: 'object.parquet', bytes: b.subarray(0, Math.max(4, pos)) };
    if (how === 'flipped') b[pos] = b[pos]! ^ 0xff;
    return { name: 'object.parquet', bytes: b };
  });

const fileArb: fc.Arbitrary<FileCase> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SOURCE_TYPES).chain(textFile) },
  { weight: 1, arbitrary: randomBytes.map((bytes) => ({ name: 'random.bin', bytes })) },
  ...(PARQUET_BYTES.length > 0 ? [{ weight: 1, arbitrary: parquetFile }] : []),
);

/** The quarantine records of one ingested input. */
function quarantineOf(lakeDir: string, hash: string): Record<string, unknown>[] {
  const rec = readInputs(lakeDir).find((i) => i.input_hash === hash);
  if (!rec?.quarantine) return [];
  return readFileSync(resolveInLake(lakeDir, rec.quarantine), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function checkLake(lakeDir: string, summary: IngestSummary, files: FileCase[], walked: boolean, db: Duck, ctx: string): Promise<void> {
  assert.equal(summary.inputs.length, files.length, `one result per input: ${ctx}`);
  for (const r of summary.inputs) {
    const rctx = `${r.name}: ${r.status} ${r.message ?? ''} (${ctx})`;
    assert.ok(['ingested', 'duplicate', 'skipped', 'failed'].includes(r.status), rctx);
    if (r.status === 'failed' || r.status === 'skipped') assert.ok(typeof r.message === 'string' && r.message.trim() !== '', `${r.status} without a reason: ${rctx}`);
    if (r.status === 'skipped') assert.ok(walked, `skipped although named on the command line: ${rctx}`);
    if (r.status !== 'ingested') continue;
    const q = quarantineOf(lakeDir, r.hash!);
    assert.equal(q.length, r.rejects, `quarantine holds the input's rejects: ${rctx}`);
    for (const rec of q) {
      assert.ok(Number.isInteger(rec.line) && (rec.line as number) >= 1, `quarantined record without a line: ${JSON.stringify(rec).slice(0, 300)} (${rctx})`);
      assert.ok(typeof rec.reason === 'string' && rec.reason.trim() !== '', `quarantined record without a reason: ${rctx}`);
    }
    const objects = readObjects(lakeDir).filter((o) => o.input_hash === r.hash);
    assert.equal(objects.reduce((a, o) => a + o.rows, 0), r.events, `objects hold the input's events: ${rctx}`);
    for (const o of objects) {
      const file = resolveInLake(lakeDir, o.path);
      assert.ok(existsSync(file), `catalogued object missing: ${o.path} (${rctx})`);
      const [row] = await db.all(`SELECT count(*) AS n FROM read_parquet(${quoteString(file)})`);
      assert.equal(Number(row!.n), o.rows, `object rows: ${o.path} (${rctx})`);
    }
  }
}

describe('fuzz: ingest of mutated inputs into a local lake', () => {
  let dog: Watchdog;
  let dir: string;
  let db: Duck;
  let heapBefore = 0;
  let n = 0;

  before(async () => {
    heapBefore = heapMiB();
    dog = startWatchdog();
    dir = mkdtempSync(path.join(tmpdir(), 'seclake-fuzz-ingest-'));
    db = await Duck.open({ threads: 1 });
  });
  after(async () => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
    await dog.stop();
  });

  it('every input ingested, duplicate, skipped or failed with a reason; quarantine and objects add up; a rerun adds nothing', async () => {
    const statuses = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fileArb, { minLength: 1, maxLength: 8 }),
        fc.option(fc.constantFrom(...SOURCE_TYPES), { freq: 4, nil: undefined }),
        fc.boolean(),
        fc.boolean(),
        async (files, sourceType, bulk, walk) => {
          const caseDir = path.join(dir, `case-${++n}`);
          const inDir = path.join(caseDir, 'in');
          const lakeDir = path.join(caseDir, 'lake');
          mkdirSync(inDir, { recursive: true });
          const paths = files.map((f, i) => {
            const p = path.join(inDir, `${String(i).padStart(2, '0')}-${f.name}`);
            writeFileSync(p, f.bytes);
            return p;
          });
          const ctx = `source=${sourceType ?? 'auto'} bulk=${bulk} walk=${walk} files=${files.map((f) => `${f.name} ${describeInput(f.bytes, 120)}`).join(' | ')}`;
          dog.beat(`ingest ${ctx}`);
          try {
            const opts = { lakeDir, paths: walk ? [inDir] : paths, bulk, ...(sourceType ? { sourceType } : {}) };
            const summary = await ingest(opts);
            for (const r of summary.inputs) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            await checkLake(lakeDir, summary, files, walk, db, ctx);
            const again = await ingest(opts);
            const before = summary.inputs.filter((r) => r.status === 'ingested' || r.status === 'duplicate').length;
            assert.equal(again.totals.ingested, 0, `a rerun ingested again: ${JSON.stringify(again.inputs)} (${ctx})`);
            assert.equal(again.totals.duplicates, before, `a rerun: every input published before is a duplicate (${ctx})`);
          } finally {
            rmSync(caseDir, { recursive: true, force: true });
          }
        },
      ),
      params('ingest', 6),
    );
    assert.ok((statuses.get('ingested') ?? 0) > 0 && (statuses.get('failed') ?? 0) + (statuses.get('skipped') ?? 0) > 0, JSON.stringify([...statuses]));
  });

  it('memory stays bounded over all cases', () => {
    const now = heapMiB();
    assert.ok(now - heapBefore < 256, `heap grew from ${heapBefore.toFixed(0)} MiB to ${now.toFixed(0)} MiB`);
  });
});
