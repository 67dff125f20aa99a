/**
 * Ingest: raw inputs -> source detection -> parse/map -> OCSF derive + validate -> lake writer ->
 * publish. One bad record never fails a file (it is quarantined with its reason); an unreadable or
 * unrecognised file fails only itself; re-ingesting the same content adds nothing, unless it is redone:
 * `force`, or (automatically) an input none of whose records was ingested, read again as another source.
 * An empty input is a success with 0 records (recorded like any other).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import { ConfigError, errorMessage } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import { Duck } from '../lake/duckdb.js';
import { readInputs, type CatalogInput, type CatalogObject } from '../lake/catalog.js';
import { classByUid } from '../ocsf/schema.js';
import { META_DIR } from '../lake/layout.js';
import { QuarantineWriter } from '../lake/quarantine.js';
import { LakeWriter, publishInput, type PublishRequest, type PublishResult, type WriterOptions } from '../lake/writer.js';
import type { S3LakeOptions } from '../lake/s3.js';
import { deriveEvent } from '../ocsf/derive.js';
import { validateEvent } from '../ocsf/validate.js';
import { detectSource, sourceByType } from '../sources/index.js';
import type { SourceDefinition, SourceHints, SourceType } from '../sources/types.js';
import {
  DEFAULT_MAX_GZIP_RATIO,
  DEFAULT_MAX_LINE_BYTES,
  expandPaths,
  hintsFromName,
  linesOf,
  openInput,
  removeQuietly,
  spoolStdin,
  type InputLimits,
  type InputRef,
  type OpenedInput,
} from './inputs.js';
import { cleanStaleStaging, makeS3StagingDir, stagingRunId } from './staging.js';

export interface IngestOptions extends WriterOptions {
  /**
   * Lake directory, or `s3://bucket/prefix` for a lake in S3: objects are then staged and written locally (in
   * `stagingDir`, default a temp dir) exactly as for a local lake, uploaded under the same keys and published
   * through the S3 catalog (see src/lake/s3.ts).
   */
  lakeDir: string;
  /** S3 lake only: connection settings (endpoint, region). */
  s3?: S3LakeOptions;
  /** S3 lake only: local staging directory (default: a fresh temp dir, removed afterwards). */
  stagingDir?: string;
  paths: string[];
  /** Force a source type instead of detecting it. */
  sourceType?: SourceType;
  /** Defaults for records that carry no region/account. */
  region?: string;
  accountId?: string;
  /** Validate every event against the OCSF schema (default true). */
  validate?: boolean;
  /**
   * Use a source's bulk path where it offers one (default true; VPC flow text). `false` forces the
   * generic per-event path (tests, debugging). Without validation the generic path is always used.
   */
  bulk?: boolean;
  /**
   * Longest line (record) of a text input in bytes (default 16 MiB): a longer one is skipped while streaming,
   * never held in memory, and quarantined with the reason "line longer than N bytes".
   */
  maxLineBytes?: number;
  /**
   * A gzip input may expand to at most this many times its compressed size, plus 64 MiB (default 250): past
   * that the input fails as a likely decompression bomb, naming the file.
   */
  maxGzipRatio?: number;
  /**
   * Redo inputs already in the lake (local lakes): each is read again and published as the input's next revision,
   * which retracts its earlier objects and quarantine in the same catalog commit (nothing is doubled).
   */
  force?: boolean;
  onProgress?: (p: { inputsDone: number; inputsTotal: number; events: number; current: string }) => void;
}

export type InputStatus = 'ingested' | 'duplicate' | 'skipped' | 'failed';

export interface InputResult {
  name: string;
  status: InputStatus;
  source_type?: SourceType;
  hash?: string;
  events: number;
  rejects: number;
  objects: string[];
  /** Which path wrote the input's events (`bulk`: the source's SQL plan; `generic`: per-event objects). */
  mode?: 'bulk' | 'generic';
  message?: string;
  /**
   * Something the user must hear about this input (the CLI prints it on stderr): every record was quarantined, a
   * symbolic link was not followed.
   */
  warning?: string;
  /** Set when the input was ingested again (a redo): the revision published, and the earlier objects it retracted. */
  revision?: number;
  retracted?: number;
}

export interface IngestSummary {
  lake: string;
  inputs: InputResult[];
  totals: { inputs: number; ingested: number; duplicates: number; skipped: number; failed: number; events: number; rejects: number };
  by_class: { source: string; class_uid: number; class_name: string; events: number }[];
  by_partition: { partition: string; events: number }[];
  rejects_by_reason: { reason: string; count: number }[];
  warnings_by_code: { code: string; count: number }[];
  elapsed_ms: number;
  events_per_sec: number;
}

const MAX_REASON_KEYS = 1000;

/** Reason text without the per-record values, for grouping: "srcport: 'abc' is not an integer" -> "srcport: … is not an integer". */
function reasonKey(reason: string): string {
  return reason.replace(/'[^']*'|"[^"]*"|\b\d+(\.\d+)?\b/g, '…').slice(0, 160);
}

export async function ingest(opts: IngestOptions): Promise<IngestSummary> {
  const t0 = performance.now();
  // An S3 lake stages in a local directory that is shaped like a lake (its catalog stays empty) and publishes to S3.
  const s3Url = /^s3:\/\//i.test(opts.lakeDir) ? opts.lakeDir : undefined;
  if (s3Url && opts.force) throw new ConfigError('--force is not supported for an S3 lake yet: redo an input in a local lake', ['force']);
  let s3Store: import('../lake/store.js').S3LakeStore | undefined;
  if (s3Url) {
    // Loaded only for S3 lakes: the local path does not pay for the AWS SDK.
    const [{ S3Lake }, { S3LakeStore }] = await Promise.all([import('../lake/s3.js'), import('../lake/store.js')]);
    s3Store = new S3LakeStore(new S3Lake(s3Url, opts.s3));
  }
  // Named after this process: an ingest killed mid-run leaves it behind, and the next S3 ingest removes it.
  const ownStaging = s3Url && !opts.stagingDir ? makeS3StagingDir() : undefined;
  const lakeDir = path.resolve(s3Url ? (opts.stagingDir ?? ownStaging!) : opts.lakeDir);
  const publish = s3Store ? (req: PublishRequest) => s3Store.publishStaged(req) : publishInput;
  try {
    return await ingestInto(opts, lakeDir, publish, s3Url, t0, s3Store ? (h) => s3Store.lake.hasInput(h) : undefined);
  } finally {
    s3Store?.close();
    if (ownStaging) rmSync(ownStaging, { recursive: true, force: true });
  }
}

async function ingestInto(
  opts: IngestOptions,
  lakeDir: string,
  publish: (req: PublishRequest) => Promise<PublishResult>,
  s3Url: string | undefined,
  t0: number,
  published?: (hash: string) => Promise<boolean>,
): Promise<IngestSummary> {
  // Every staging entry of this run starts with the run id, which names this process: a later ingest removes
  // them if this one is killed (staging.ts).
  const runId = stagingRunId(randomUUID().slice(0, 8));
  const tmpDir = path.join(lakeDir, META_DIR, 'staging', `${runId}-tmp`);
  const limits: InputLimits = {
    maxLineBytes: opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    maxGzipRatio: opts.maxGzipRatio ?? DEFAULT_MAX_GZIP_RATIO,
  };
  await cleanStaleStaging(lakeDir);
  const refs = expandPaths(opts.paths, lakeDir);
  // Two single-threaded DuckDB instances convert parts: one COPY to Parquet gains little from more
  // threads (the writer is mostly serial) but costs more CPU; two parts at once use a second core.
  const duckTmp = `${runId}-duckdb`;
  const duck = await openConverter(lakeDir, duckTmp, '1GB');
  const duck2 = await openConverter(lakeDir, `${duckTmp}-2`, '512MB').catch((err: unknown) => {
    duck.close();
    throw err;
  });
  const results: InputResult[] = [];
  const byClass = new Map<string, { source: string; class_uid: number; class_name: string; events: number }>();
  const byPartition = new Map<string, number>();
  const reasons = new Map<string, number>();
  const warnings = new Map<string, number>();
  let eventsTotal = 0;
  const known = s3Url ? [] : readInputs(lakeDir);
  try {
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      opts.onProgress?.({ inputsDone: i, inputsTotal: refs.length, events: eventsTotal, current: ref.name });
      if (ref.skip) {
        results.push({ name: ref.name, status: 'skipped', events: 0, rejects: 0, objects: [], message: ref.skip, warning: ref.skip });
        continue;
      }
      const res = await ingestOne(ref, {
        opts,
        lakeDir,
        duck,
        duck2,
        runId: `${runId}-${i}`,
        tmpDir,
        limits,
        known,
        publish,
        ...(published ? { published } : {}),
        onObject: (o) => {
          const k = `${o.source}|${o.class_uid}`;
          const c = byClass.get(k) ?? { source: o.source, class_uid: o.class_uid, class_name: classByUid(o.class_uid)?.caption ?? '', events: 0 };
          c.events += o.rows;
          byClass.set(k, c);
          const part = o.path.slice(0, o.path.lastIndexOf('/'));
          byPartition.set(part, (byPartition.get(part) ?? 0) + o.rows);
          eventsTotal += o.rows;
        },
        onProgress: (n) => opts.onProgress?.({ inputsDone: i, inputsTotal: refs.length, events: eventsTotal + n, current: ref.name }),
        onReject: (reason) => {
          const k = reasonKey(reason);
          if (reasons.has(k) || reasons.size < MAX_REASON_KEYS) reasons.set(k, (reasons.get(k) ?? 0) + 1);
        },
        onWarning: (code) => warnings.set(code, (warnings.get(code) ?? 0) + 1),
      });
      results.push(res);
    }
    opts.onProgress?.({ inputsDone: refs.length, inputsTotal: refs.length, events: eventsTotal, current: '' });
  } finally {
    duck.close();
    duck2.close();
    rmSync(tmpDir, { recursive: true, force: true });
    rmSync(path.join(lakeDir, META_DIR, 'staging', duckTmp), { recursive: true, force: true });
    rmSync(path.join(lakeDir, META_DIR, 'staging', `${duckTmp}-2`), { recursive: true, force: true });
  }
  const elapsed = performance.now() - t0;
  const ingested = results.filter((r) => r.status === 'ingested');
  const events = ingested.reduce((a, r) => a + r.events, 0);
  return {
    lake: s3Url ?? lakeDir,
    inputs: results,
    totals: {
      inputs: results.length,
      ingested: ingested.length,
      duplicates: results.filter((r) => r.status === 'duplicate').length,
      skipped: results.filter((r) => r.status === 'skipped').length,
      failed: results.filter((r) => r.status === 'failed').length,
      events,
      rejects: ingested.reduce((a, r) => a + r.rejects, 0),
    },
    by_class: [...byClass.values()].sort((a, b) => b.events - a.events),
    by_partition: [...byPartition].map(([partition, n]) => ({ partition, events: n })).sort((a, b) => a.partition.localeCompare(b.partition)),
    rejects_by_reason: [...reasons]
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0))
      .slice(0, 20),
    warnings_by_code: [...warnings].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count),
    elapsed_ms: Math.round(elapsed),
    events_per_sec: elapsed > 0 ? Math.round((events / elapsed) * 1000) : 0,
  };
}

async function openConverter(lakeDir: string, tmpName: string, memoryLimit: string): Promise<Duck> {
  const duck = await Duck.open({ memoryLimit, threads: 1 });
  try {
    // DuckDB keeps freed memory for reuse; background threads return it to the OS between conversions.
    await duck.run('SET allocator_background_threads = true');
    await duck.run(`SET temp_directory = '${path.join(lakeDir, META_DIR, 'staging', tmpName).replaceAll("'", "''")}'`);
    return duck;
  } catch (err) {
    duck.close();
    throw err;
  }
}

interface OneCtx {
  opts: IngestOptions;
  lakeDir: string;
  duck: Duck;
  duck2: Duck;
  runId: string;
  tmpDir: string;
  limits: InputLimits;
  known: ReturnType<typeof readInputs>;
  publish: (req: PublishRequest) => Promise<PublishResult>;
  /** S3 lake: is this content already published? Checked before converting (one extra hashing pass). */
  published?: (hash: string) => Promise<boolean>;
  onObject: (o: CatalogObject) => void;
  onProgress: (eventsInInput: number) => void;
  onReject: (reason: string) => void;
  onWarning: (code: string) => void;
}

async function ingestOne(ref: InputRef, ctx: OneCtx): Promise<InputResult> {
  const { opts, lakeDir } = ctx;
  const base: InputResult = { name: ref.name, status: 'failed', events: 0, rejects: 0, objects: [] };
  let cleanup: string[] = [];
  let writer: LakeWriter | undefined;
  try {
    if (ref.name === '-') {
      ref = { ...ref, file: await spoolStdin(ctx.tmpDir) };
      cleanup.push(ref.file);
    }
    const opened = await openInput(ref, ctx.tmpDir, ctx.limits);
    cleanup = cleanup.concat(opened.cleanup);
    if (ref.linkTarget) base.message = `read through the symbolic link to ${ref.linkTarget}`;
    /** The record of this file when none of its records was ingested: it is redone if read as another source. */
    let noneBefore: CatalogInput | undefined;
    if (ref.name !== '-' && !opts.force) {
      const same = ctx.known.find((k) => k.input_name === ref.name && k.size === opened.size && k.mtime_ms === opened.mtimeMs);
      if (same && !noneIngested(same)) {
        return { ...base, status: 'duplicate', hash: same.input_hash, source_type: same.source_type as SourceType, message: 'already ingested (same file)' };
      }
      noneBefore = same;
    }
    // An S3 lake has no local catalog to find a duplicate by size and mtime: hash first, then ask the lake
    // (one HEAD) before doing the work. The hash pass costs ~10% of an ingest; a redelivered object costs only that.
    let preHash: string | undefined;
    if (ctx.published) {
      preHash = await opened.contentHash();
      if (await ctx.published(preHash)) return { ...base, status: 'duplicate', hash: preHash, message: 'already ingested (same content)' };
    }
    if (opened.empty) return await publishEmpty(ref, opened, ctx, base, preHash);
    let source: SourceDefinition | undefined;
    if (opts.sourceType) {
      source = sourceByType(opts.sourceType);
    } else {
      let columns: string[] | undefined;
      if (opened.input.isParquet) {
        columns = (await ctx.duck.describe('SELECT * FROM read_parquet($1)', [opened.input.path])).map((c) => c.name);
      }
      source = detectSource(opened.head, ref.name, columns)?.source;
    }
    if (!source) {
      return {
        ...base,
        status: ref.walked ? 'skipped' : 'failed',
        message: 'not a recognised log format (VPC Flow Logs, Route 53 resolver query logs, CloudTrail, OCSF); use --source to force one',
      };
    }
    base.source_type = source.type;
    if (noneBefore && noneBefore.source_type === source.type) {
      const note = noneIngestedNote(noneBefore);
      return { ...base, status: 'duplicate', hash: noneBefore.input_hash, message: `already ingested (same file); ${note}`, warning: note };
    }
    const hints: SourceHints = { ...hintsFromName(ref.name) };
    if (opts.region && !hints.region) hints.region = opts.region;
    if (opts.accountId && !hints.accountId) hints.accountId = opts.accountId;
    writer = new LakeWriter(lakeDir, ctx.duck, ctx.runId, opts, [ctx.duck2]);
    const quarantine = new QuarantineWriter(path.join(writer.stagingDir, 'quarantine.jsonl'));
    const validate = opts.validate !== false;
    let events = 0;
    const qBase = { input_name: ref.name, input_hash: '', source_type: source.type };
    const pending: { line: number; field?: string; reason: string; raw: string }[] = [];
    let firstReason: string | undefined;
    const reject = (r: { line: number; field?: string; reason: string; raw: string }): void => {
      pending.push(r);
      firstReason ??= r.reason;
      ctx.onReject(r.reason);
    };
    const flushRejects = (): void => {
      if (pending.length > 1) pending.sort((a, b) => a.line - b.line);
      for (const r of pending) quarantine.add({ ...qBase, ...r });
      pending.length = 0;
    };
    /** Lines `input.lines()` could not read (too long, not UTF-8; it yields '' for them): quarantined like any bad record. */
    const skippedRejects = (): void => {
      for (const l of opened.skipped) reject(l);
      opened.skipped.length = 0;
    };
    const bulk = validate && opts.bulk !== false && source.bulk ? await source.bulk(opened.input, hints) : undefined;
    base.mode = bulk ? 'bulk' : 'generic';
    if (bulk) {
      // Rows are checked by the source (see BulkReader); the writer maps them with one COPY per object.
      for await (const b of bulk.batches()) {
        for (const r of b.rejects) reject({ line: r.line, reason: r.reason, raw: r.raw, ...(r.field ? { field: r.field } : {}) });
        for (const w of b.warnings) ctx.onWarning(w);
        if (b.n > 0) {
          writer.addBulk(b, hints);
          if (((events + b.n) >> 16) !== events >> 16) ctx.onProgress(events + b.n);
          events += b.n;
        }
        if (pending.length > 0) flushRejects();
      }
    } else {
      for await (const batch of source.read(opened.input, hints)) {
        for (const item of batch) {
          if (item.kind === 'reject') {
            reject({ line: item.line, reason: item.reason, raw: item.raw, ...(item.field ? { field: item.field } : {}) });
            continue;
          }
          let ev = item.event;
          try {
            ev = deriveEvent(ev);
          } catch (err) {
            reject({ line: item.line, reason: `cannot derive OCSF names: ${errorMessage(err)}`, raw: safeJson(ev) });
            continue;
          }
          if (validate) {
            const issues = validateEvent(ev);
            const errors = issues.filter((x) => x.severity === 'error');
            for (const w of issues) if (w.severity === 'warning') ctx.onWarning(w.code);
            if (errors.length > 0) {
              reject({
                line: item.line,
                field: errors[0]!.path,
                reason: `OCSF validation: ${errors.map((e) => e.message).join('; ')}`,
                raw: safeJson(ev),
              });
              continue;
            }
          }
          const err = writer.add(item, hints);
          if (err) {
            reject({ line: item.line, reason: err, raw: safeJson(ev) });
            continue;
          }
          events++;
          if ((events & 0xffff) === 0) ctx.onProgress(events);
        }
        skippedRejects();
        if (pending.length > 0) flushRejects();
      }
      skippedRejects();
      if (pending.length > 0) flushRejects();
    }
    const staged = await writer.finish();
    const hash = preHash ?? bulk?.contentHash?.() ?? (await opened.contentHash());
    // Quarantine lines carry the input hash: rewrite the staged file's records now that it is known.
    quarantine.close();
    const quarantineFile = quarantine.count > 0 ? await stampHash(quarantine.file, hash) : undefined;
    faultPoint('ingest-after-staging');
    const pub = await ctx.publish({
      lakeDir,
      inputHash: hash,
      inputName: ref.name,
      sourceType: source.type,
      staged,
      events,
      rejects: quarantine.count,
      stagingDir: writer.stagingDir,
      size: ref.name === '-' ? undefined : opened.size,
      mtimeMs: ref.name === '-' ? undefined : opened.mtimeMs,
      ...(quarantineFile ? { quarantineFile } : {}),
      replace: redoRule(opts, source.type),
    });
    writer = undefined;
    if (pub.status === 'duplicate') {
      const note = pub.current && noneIngested(pub.current) ? noneIngestedNote(pub.current) : undefined;
      return { ...base, status: 'duplicate', hash, message: `already ingested (same content)${note ? `; ${note}` : ''}`, ...(note ? { warning: note } : {}) };
    }
    for (const o of pub.objects) ctx.onObject(o);
    const res: InputResult = { ...base, status: 'ingested', hash, events, rejects: quarantine.count, objects: pub.objects.map((o) => o.path) };
    if (pub.revision) {
      res.revision = pub.revision;
      res.retracted = pub.retracted?.length ?? 0;
      res.message = `ingested again (revision ${pub.revision}): the earlier ingest of this content is retracted (${res.retracted} file(s) removed)`;
    }
    if (events === 0 && quarantine.count > 0) {
      res.warning =
        `none of its ${quarantine.count} record(s) was ingested: every one was quarantined as ${source.type} (first reason: ${firstReason ?? '?'}; see seclake quarantine). ` +
        (ctx.published
          ? 'Check the source (--source).'
          : `If ${source.type} is the wrong source, ingest it again with --source <type>: an input none of whose records was ingested is read again as another source (--force redoes any input).`);
    }
    return res;
  } catch (err) {
    return { ...base, status: 'failed', message: errorMessage(err) };
  } finally {
    if (writer) {
      // Conversions may still run on the shared DuckDB instances: let them end before the next input.
      await writer.settle();
      writer.abort();
    }
    removeQuietly(cleanup);
  }
}

/** Stream-rewrite the staged quarantine file with the input hash now that it is known (bounded memory). */
async function stampHash(file: string, hash: string): Promise<string> {
  const out = `${file}.stamped`;
  const ws = createWriteStream(out);
  for await (const line of linesOf(createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>)) {
    if (!line) continue;
    if (!ws.write(JSON.stringify({ ...(JSON.parse(line) as object), input_hash: hash }) + '\n')) {
      await new Promise<void>((r) => ws.once('drain', () => r()));
    }
  }
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.end(() => resolve());
  });
  renameSync(out, file);
  return file;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** Whether none of an input's records was ingested (and some were quarantined): it may be redone as another source. */
function noneIngested(i: CatalogInput): boolean {
  return i.events === 0 && i.rejects > 0;
}

function noneIngestedNote(i: CatalogInput): string {
  return (
    `none of its ${i.rejects} record(s) was ingested (all quarantined as ${i.source_type}): ` +
    'ingest it with --source <type> to read it as another source, or with --force to redo it'
  );
}

/**
 * When an input already recorded is published again (PublishRequest.replace): always with `force`; otherwise only
 * if none of its records was ingested and it is now read as another source (the first ingest had the wrong source).
 */
function redoRule(opts: IngestOptions, sourceType: SourceType): (current: CatalogInput) => boolean {
  if (opts.force) return () => true;
  return (current) => noneIngested(current) && current.source_type !== sourceType;
}

/**
 * An empty input (no bytes, or only blanks): a success with 0 records, recorded like any input (so a rerun skips it
 * as already ingested), with no source to detect.
 */
async function publishEmpty(ref: InputRef, opened: OpenedInput, ctx: OneCtx, base: InputResult, preHash: string | undefined): Promise<InputResult> {
  const hash = preHash ?? (await opened.contentHash());
  const sourceType = ctx.opts.sourceType ?? 'unknown';
  const pub = await ctx.publish({
    lakeDir: ctx.lakeDir,
    inputHash: hash,
    inputName: ref.name,
    sourceType,
    staged: [],
    events: 0,
    rejects: 0,
    stagingDir: path.join(ctx.lakeDir, META_DIR, 'staging', ctx.runId),
    size: ref.name === '-' ? undefined : opened.size,
    mtimeMs: ref.name === '-' ? undefined : opened.mtimeMs,
    ...(ctx.opts.force ? { replace: () => true } : {}),
  });
  const res: InputResult = { ...base, hash, events: 0, rejects: 0, message: 'empty input: 0 records' };
  if (ctx.opts.sourceType) res.source_type = ctx.opts.sourceType;
  if (pub.status === 'duplicate') return { ...res, status: 'duplicate', message: 'empty input: 0 records (already recorded)' };
  return { ...res, status: 'ingested' };
}
