/**
 * Findings appended to a file as JSON lines. The file (and its directory) is created on first use and opened in
 * append mode, so several runs add to the same file; each send() is one write; close() fsyncs and closes. A torn
 * last line left by a killed writer is repaired before the first append (torn.ts): moved to `<file>.torn` (or, when
 * only its newline was lost, terminated), so the next finding starts on a line of its own.
 */
import { writeSync } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { SinkError, errorMessage } from '../../core/errors.js';
import { faultPoint } from '../../core/fault.js';
import type { Sink } from '../../findings/types.js';
import type { AnyFinding } from '../../findings/incidents.js';
import { repairTornTail } from './torn.js';

export interface FileSinkOptions {
  path: string;
  name?: string;
}

export class FileSink implements Sink {
  readonly name: string;
  readonly path: string;
  private fh: FileHandle | undefined;
  private opening: Promise<FileHandle> | undefined;
  /** Findings written. */
  written = 0;

  constructor(opts: FileSinkOptions) {
    this.path = path.resolve(opts.path);
    this.name = opts.name ?? `file:${opts.path}`;
  }

  private async handle(): Promise<FileHandle> {
    if (this.fh) return this.fh;
    this.opening ??= (async () => {
      await mkdir(path.dirname(this.path), { recursive: true });
      await repairTornTail(this.path);
      return open(this.path, 'a');
    })();
    try {
      this.fh = await this.opening;
    } catch (err) {
      this.opening = undefined;
      throw new SinkError(`cannot open findings file ${this.path}: ${errorMessage(err)}`, false, { cause: err });
    }
    return this.fh;
  }

  async send(findings: readonly AnyFinding[]): Promise<void> {
    if (findings.length === 0) return;
    const fh = await this.handle();
    const text = findings.map((f) => JSON.stringify(f)).join('\n') + '\n';
    try {
      faultPoint('sink-file-mid-append', () => writeSync(fh.fd, text.slice(0, Math.ceil(text.length / 2))));
      await fh.appendFile(text, 'utf8');
    } catch (err) {
      throw new SinkError(`cannot append to findings file ${this.path}: ${errorMessage(err)}`, false, { cause: err });
    }
    this.written += findings.length;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    this.opening = undefined;
    if (!fh) return;
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
