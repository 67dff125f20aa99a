/**
 * A finding's evidence: the source row's columns (EVIDENCE_COLUMNS of pair-plan.ts), read back by row number for the
 * records that may become findings only.
 */
import { SqlBindError, type Duck } from '../lake/duckdb.js';
import type { ScoredRecord } from '../findings/types.js';
import type { PairPlanner, Plan } from './pair-plan.js';

/** Row numbers per evidence query. */
const ROWS_PER_QUERY = 2000;

/** JSON-safe copy of a DuckDB value (BigInt -> number, Date -> ms). */
function plain(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== null && x !== undefined) out[k] = plain(x);
    return out;
  }
  return v;
}

/** Attach to each record the evidence columns of its source row, with the plan's evidence query. */
async function readWith(db: Duck, file: string, plan: Plan, records: readonly ScoredRecord[]): Promise<void> {
  const evidence = plan.evidence;
  if (!evidence) return;
  const byRow = new Map<number, ScoredRecord[]>();
  for (const c of records) {
    const list = byRow.get(c.ref.row);
    if (list) list.push(c);
    else byRow.set(c.ref.row, [c]);
  }
  const wanted = [...byRow.keys()];
  for (let i = 0; i < wanted.length; i += ROWS_PER_QUERY) {
    for await (const chunk of db.stream(evidence(wanted.slice(i, i + ROWS_PER_QUERY)), [file])) {
      const names = chunk.columns;
      for (const r of chunk.rows) {
        const event: Record<string, unknown> = {};
        for (let j = 1; j < names.length; j++) {
          const v = r[j];
          if (v === null || v === undefined) continue;
          if (names[j] === 'metadata.uid') event.metadata = { uid: plain(v) };
          else event[names[j]!] = plain(v);
        }
        for (const rec of byRow.get(Number(r[0])) ?? []) rec.event = event;
      }
    }
  }
}

/**
 * Read the evidence of `records` (sorted or not) from `file`. The plan is the one the pairs came from; when it was a
 * source's cached plan naming an evidence column this object lacks, this object's own plan is probed.
 */
export async function readEvidence(db: Duck, file: string, plan: Plan, planner: PairPlanner, source: string | undefined, records: readonly ScoredRecord[]): Promise<void> {
  if (records.length === 0) return;
  try {
    await readWith(db, file, plan, records);
  } catch (err) {
    if (!(err instanceof SqlBindError)) throw err;
    const probed = await planner.probe(db, file, source);
    if (probed) await readWith(db, file, probed, records);
  }
}
