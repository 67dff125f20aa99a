/**
 * The DuckDB connections a processor reads objects through: at most `max` open at once (a monitor reads the next
 * objects while it writes the findings of this one). Connections are opened on demand, counted before the await so
 * concurrent callers never open more than `max`, and reused; close() closes them all, including one that finishes
 * opening afterwards.
 */
import { Duck } from '../lake/duckdb.js';

export class ScanPool {
  private readonly all: Duck[] = [];
  private readonly idle: Duck[] = [];
  private readonly waiting: ((d: Duck) => void)[] = [];
  /** Connections opened or being opened. */
  private opened = 0;
  private closed = false;

  constructor(readonly max: number) {}

  /** Run `fn` with a connection of the pool. */
  async with<T>(fn: (db: Duck) => Promise<T>): Promise<T> {
    const db = await this.acquire();
    try {
      return await fn(db);
    } finally {
      this.release(db);
    }
  }

  private async acquire(): Promise<Duck> {
    if (this.closed) throw new Error('the processor is closed');
    const free = this.idle.pop();
    if (free) return free;
    if (this.opened < this.max) {
      this.opened++;
      try {
        const d = await Duck.open({ threads: 1 });
        if (this.closed) {
          d.close();
          throw new Error('the processor is closed');
        }
        this.all.push(d);
        return d;
      } catch (err) {
        this.opened--;
        throw err;
      }
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(d: Duck): void {
    const next = this.waiting.shift();
    if (next) next(d);
    else this.idle.push(d);
  }

  close(): void {
    this.closed = true;
    for (const d of this.all) d.close();
  }
}
