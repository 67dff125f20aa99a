/**
 * A torn last line of a JSON-lines file: a process killed (or a disk filled, or power lost) in the middle of an append
 * leaves the file ending without a newline, and the next append would glue its first line onto the fragment, making
 * one line that is no JSON and losing a finding. `repairTornTail` runs before a file is opened for appending: a
 * fragment that is a whole JSON object (only its newline was lost) is terminated and kept; anything else is appended
 * to `<file>.torn` (fsynced, one line per repair) and cut off the file, so the next append starts on a line of its own.
 */
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { log } from '../../core/log.js';

export interface TornTailRepair {
  /** Bytes after the last newline. */
  bytes: number;
  /** `kept`: a whole JSON line, now terminated; `moved`: appended to `tornFile` and cut off. */
  action: 'kept' | 'moved';
  tornFile?: string;
}

async function readAt(fh: FileHandle, start: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, start + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** Offset just after the last newline of the first `size` bytes (0 when there is none). */
async function afterLastNewline(fh: FileHandle, size: number): Promise<number> {
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - 64 * 1024);
    const buf = await readAt(fh, start, end - start);
    const nl = buf.lastIndexOf(0x0a);
    if (nl >= 0) return start + nl + 1;
    end = start;
  }
  return 0;
}

function isJsonObjectLine(text: string): boolean {
  const t = text.trim();
  if (!t.startsWith('{')) return false;
  try {
    const v: unknown = JSON.parse(t);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/**
 * Repair a torn last line of a JSON-lines file (see the module comment). Undefined when there is nothing to repair
 * (no file, empty, or it ends with a newline).
 */
export async function repairTornTail(file: string): Promise<TornTailRepair | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    if (size === 0) return undefined;
    const last = await readAt(fh, size - 1, 1);
    if (last[0] === 0x0a) return undefined;
    const cut = await afterLastNewline(fh, size);
    const fragment = await readAt(fh, cut, size - cut);
    const text = fragment.toString('utf8');
    if (isJsonObjectLine(text)) {
      await fh.write('\n', size, 'utf8');
      await fh.sync();
      return { bytes: fragment.length, action: 'kept' };
    }
    const tornFile = `${file}.torn`;
    if (text.trim() !== '') {
      const th = await open(tornFile, 'a');
      try {
        await th.appendFile(Buffer.concat([fragment, Buffer.from('\n')]));
        await th.sync();
      } finally {
        await th.close();
      }
    }
    await fh.truncate(cut);
    await fh.sync();
    log.warn(`${file}: a torn last line (${fragment.length} bytes, an interrupted append) was moved to ${path.basename(tornFile)}; appending on a new line`);
    return { bytes: fragment.length, action: 'moved', tornFile };
  } finally {
    await fh.close();
  }
}
