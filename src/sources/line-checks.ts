/**
 * Checks every reader of raw text applies to a line before it becomes a record, shared by the ingest's line
 * splitter (src/ingest/inputs.ts `linesOf`) and readers that split lines themselves (the VPC flow bulk reader), so a
 * line is quarantined with the same reason whichever path reads it:
 *
 * - a line longer than the limit (`--max-line-bytes`) is never held whole: it is a reject with {@link oversizeReason}
 *   and the start of the line;
 * - a line that is not valid UTF-8 is a reject with {@link invalidUtf8Reason} (where the first bad byte is, in the
 *   input and in the line) and its bytes, the bad ones written `\xNN` ({@link rawWithInvalidBytes}): it is never
 *   decoded with U+FFFD in place of the bad bytes, which would alter the evidence.
 *
 * Valid text is checked with `buffer.isUtf8` (native) a whole chunk at a time; the slower per-byte scan here runs only
 * on a chunk that failed that check, to find its bad lines.
 */

/** How much of an oversize line the quarantine keeps. */
export const OVERSIZE_PREFIX_BYTES = 1024;

/** The reason an oversize line is quarantined with. */
export function oversizeReason(maxLineBytes: number): string {
  return `line longer than ${maxLineBytes} bytes (--max-line-bytes)`;
}

/** The raw text an oversize line is quarantined with: its start, and its length. */
export function oversizeRaw(prefix: string, bytes: number): string {
  return `${prefix}…[truncated: the line is ${bytes} bytes]`;
}

/** The start of `b` (at most OVERSIZE_PREFIX_BYTES bytes) as text, cut on a character boundary, bad bytes escaped. */
export function oversizePrefix(b: Uint8Array): string {
  let end = Math.min(b.length, OVERSIZE_PREFIX_BYTES);
  // Do not cut a multi-byte character in two (it would read as a bad byte).
  if (end < b.length) {
    let k = end;
    while (k > end - 4 && k > 0 && (b[k]! & 0xc0) === 0x80) k--;
    if (k > 0 && k > end - 4) end = k;
  }
  return rawWithInvalidBytes(b.subarray(0, end));
}

/**
 * The reason a line that is not valid UTF-8 is quarantined with: the input offset of its first bad byte, the offset
 * in the line and the byte itself (the record names the input and the line).
 */
export function invalidUtf8Reason(inputOffset: number, lineOffset: number, byte: number): string {
  return `invalid UTF-8: byte 0x${byte.toString(16).padStart(2, '0')} at byte offset ${inputOffset} of the input (byte ${lineOffset} of the line)`;
}

/**
 * Index of the first byte of `b[start, end)` that does not start (or continue) a well-formed UTF-8 sequence
 * (Unicode table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF; a sequence cut by `end` is bad), or -1.
 */
export function invalidUtf8At(b: Uint8Array, start = 0, end = b.length): number {
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + n >= end) return i;
    const c1 = b[i + 1]!;
    if (c1 < lo || c1 > hi) return i;
    for (let k = 2; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return -1;
}

/** `b` as text with every byte that is not part of a well-formed UTF-8 sequence written `\xNN`. */
export function rawWithInvalidBytes(b: Uint8Array): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let out = '';
  let from = 0;
  for (;;) {
    const bad = invalidUtf8At(buf, from);
    if (bad < 0) return out + buf.toString('utf8', from);
    out += buf.toString('utf8', from, bad) + `\\x${buf[bad]!.toString(16).padStart(2, '0')}`;
    from = bad + 1;
  }
}
