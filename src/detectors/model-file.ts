/**
 * The model file container, one for every detector.
 *
 *   bytes 0..11   magic "SECLAKE-MDL\n" (models written before the detector platform: "SECLAKE-IPI\n", see below)
 *   bytes 12..15  format_version (uint32 LE)
 *   bytes 16..19  header capacity C (uint32 LE): bytes reserved for the JSON header
 *   bytes 20..23  header length (uint32 LE): bytes of UTF-8 JSON actually used (rest is spaces)
 *   bytes 24..24+C  JSON header (ModelHeader), padded with spaces; 24 + C is a multiple of 64
 *   then the data region: the sections listed in the header, each at a 64-byte aligned offset
 *   (relative to the start of the data region), little-endian float32 / float64 / uint32 arrays, or uint8 bytes (a
 *   detector's own versioned binary state, e.g. a forest's trees).
 *
 * The header names the detector (`detector.type`, `detector.version`), the record definition the model was trained
 * on, its hyperparameters and detector-specific parameters (`params`), the training metadata (with the data time
 * range), a CRC-32 of the data region, and two slots other components may change without touching the data:
 * `calibration` (threshold, score direction, normal-score quantiles) and `extras` (free-form JSON), both rewritten
 * atomically with updateModelMetadata(). Loading refuses a wrong magic or a newer format_version and names the file.
 *
 * Files written by seclake before the detector platform ("SECLAKE-IPI\n", format_version 1, `format:
 * "seclake-ipinsights"`, `encoder` at the top of the header) are IP Insights models: they load as detector
 * `ipinsights` version 1 (their header is presented in the new shape), and updateModelMetadata keeps their format.
 */
import { closeSync, copyFileSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync, fsyncSync } from 'node:fs';
import { endianness } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { ModelFileError, errorMessage } from '../core/errors.js';

export const MODEL_MAGIC = 'SECLAKE-MDL\n';
/** The magic of IP Insights model files written before the detector platform (format_version 1). */
export const LEGACY_IPINSIGHTS_MAGIC = 'SECLAKE-IPI\n';
export const MODEL_FORMAT_VERSION = 2;
const PREAMBLE = 24;
const ALIGN = 64;
/** Extra room left in the header so calibration/extras updates rarely need to rewrite the data. */
const HEADER_SLACK = 64 * 1024;

export type SectionDtype = 'float32' | 'float64' | 'uint32' | 'uint8';
export type SectionArray = Float32Array | Float64Array | Uint32Array | Uint8Array;

export interface SectionInfo {
  name: string;
  dtype: SectionDtype;
  shape: number[];
  /** Byte offset from the start of the data region. */
  offset: number;
  bytes: number;
}

/** A section to write. */
export interface Section {
  name: string;
  dtype: SectionDtype;
  shape: number[];
  data: SectionArray;
}

/** The record definition a model was trained on (the same one the monitor uses to score). */
export interface RecordDefinitionRef {
  /** Record kind: `pairs` (entity, IP) for IP Insights and history. */
  kind: string;
  /** Definition name (`default`, `flow-peer`, `custom`, ...). */
  name: string;
  /** The training query over the lake's views, when the records came from the lake. */
  sql?: string;
}

/** Training metadata every detector records; detectors add their own keys. */
export interface BaseTrainingMetadata {
  /** Training records used. */
  rows: number;
  distinct_entities: number;
  /** Earliest and latest event time of the training data (ISO 8601), when the source has times. */
  data_time_range: { start: string; end: string } | null;
  /** Where the records came from (file names or "lake:<dir>"). */
  source: string;
  trained_at: string;
  training_seconds: number;
  seclake_version: string;
  [key: string]: unknown;
}

export interface ModelHeader<H = Record<string, unknown>, P = Record<string, unknown>, T extends BaseTrainingMetadata = BaseTrainingMetadata> {
  format: 'seclake-model';
  format_version: number;
  detector: { type: string; version: number };
  /** The record definition the model was trained on; null when unknown (models from before it was recorded). */
  record_definition: RecordDefinitionRef | null;
  hyperparameters: H;
  /** Detector-specific structure (e.g. IP Insights' encoder). */
  params: P;
  training: T;
  sections: SectionInfo[];
  data_crc32: number;
  /** Calibration (threshold, direction, score distribution); null until calibrated. */
  calibration: Record<string, unknown> | null;
  /** Free-form metadata other components may add. */
  extras: Record<string, unknown>;
}

export interface MetadataPatch {
  /** Replaces the calibration slot (null clears it). */
  calibration?: Record<string, unknown> | null;
  /** Shallow-merged into extras; a key set to null is removed. */
  extras?: Record<string, unknown>;
}

/** What writeModelFile needs: the header without what it computes. */
export type HeaderInput<H, P, T extends BaseTrainingMetadata> = Omit<ModelHeader<H, P, T>, 'sections' | 'data_crc32' | 'format_version' | 'format'>;

function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new ModelFileError('(model)', 'model files are little-endian; big-endian hosts are not supported');
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function encodeHeader(header: unknown, capacity?: number): { json: Buffer; capacity: number } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const cap = capacity ?? alignUp(PREAMBLE + json.length + HEADER_SLACK, ALIGN) - PREAMBLE;
  return { json, capacity: cap };
}

function headerBlock(json: Buffer, capacity: number, magic: string, version: number): Buffer {
  const block = Buffer.alloc(PREAMBLE + capacity, 0x20);
  block.write(magic, 0, 'latin1');
  block.writeUInt32LE(version, 12);
  block.writeUInt32LE(capacity, 16);
  block.writeUInt32LE(json.length, 20);
  json.copy(block, PREAMBLE);
  return block;
}

function writeAll(fd: number, buf: Uint8Array, pos: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, Math.min(buf.length - off, 1 << 26), pos + off);
    off += n;
  }
}

function tmpName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now().toString(36)}`);
}

/** Lay out sections at 64-byte aligned offsets and compute the CRC of the data region (padding included). */
function layout(secs: readonly Section[]): { sections: SectionInfo[]; dataBytes: number; crc: number } {
  const sections: SectionInfo[] = [];
  let offset = 0;
  for (const s of secs) {
    sections.push({ name: s.name, dtype: s.dtype, shape: s.shape, offset, bytes: s.data.byteLength });
    offset = alignUp(offset + s.data.byteLength, ALIGN);
  }
  const pad = new Uint8Array(ALIGN);
  let crc = 0;
  for (let i = 0; i < secs.length; i++) {
    const s = secs[i]!;
    crc = crc32(new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength), crc);
    const end = i + 1 < secs.length ? sections[i + 1]!.offset : offset;
    const gap = end - (sections[i]!.offset + s.data.byteLength);
    if (gap > 0) crc = crc32(pad.subarray(0, gap), crc);
  }
  return { sections, dataBytes: offset, crc };
}

/** The header a model would get, without writing it (for models kept in memory). */
export function modelHeaderFor<H, P, T extends BaseTrainingMetadata>(header: HeaderInput<H, P, T>, secs: readonly Section[]): ModelHeader<H, P, T> {
  const { sections, crc } = layout(secs);
  return { format: 'seclake-model', format_version: MODEL_FORMAT_VERSION, ...header, sections, data_crc32: crc };
}

/**
 * Write a model file atomically (temp file + fsync + rename). `header` provides everything but `sections`,
 * `data_crc32`, `format` and `format_version`, which are computed here.
 */
export function writeModelFile<H, P, T extends BaseTrainingMetadata>(file: string, header: HeaderInput<H, P, T>, secs: readonly Section[]): ModelHeader<H, P, T> {
  assertLittleEndian();
  const names = new Set<string>();
  for (const s of secs) {
    if (names.has(s.name)) throw new ModelFileError(file, `duplicate model section ${s.name}`);
    names.add(s.name);
  }
  const { sections, dataBytes, crc } = layout(secs);
  const full: ModelHeader<H, P, T> = { format: 'seclake-model', format_version: MODEL_FORMAT_VERSION, ...header, sections, data_crc32: crc };
  const { json, capacity } = encodeHeader(full);
  const tmp = tmpName(file);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    const block = headerBlock(json, capacity, MODEL_MAGIC, MODEL_FORMAT_VERSION);
    writeAll(fd, block, 0);
    const base = block.length;
    for (let i = 0; i < secs.length; i++) {
      const s = secs[i]!;
      writeAll(fd, new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength), base + sections[i]!.offset);
    }
    // Make the file its full length even if the last section ends before an alignment boundary.
    const last = sections[sections.length - 1];
    const end = last ? last.offset + last.bytes : 0;
    if (dataBytes > end) writeAll(fd, new Uint8Array(dataBytes - end), base + end);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new ModelFileError(file, `cannot write model: ${errorMessage(err)}`, { cause: err });
  }
  return full;
}

interface RawHeader {
  /** The header in the current shape. */
  header: ModelHeader;
  /** The header as stored (differs for legacy files). */
  stored: Record<string, unknown>;
  legacy: boolean;
  version: number;
  capacity: number;
  dataStart: number;
  fileSize: number;
}

function readExactly(fd: number, buf: Uint8Array, pos: number, file: string): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, Math.min(buf.length - off, 1 << 26), pos + off);
    if (n === 0) throw new ModelFileError(file, `truncated model file (wanted ${buf.length} bytes at offset ${pos})`);
    off += n;
  }
}

/**
 * A legacy IP Insights header in the current shape: detector ipinsights v1, the encoder under params, the record
 * definition from extras (where seclake recorded it before the container had a slot) or unknown.
 */
function fromLegacy(h: Record<string, unknown>): ModelHeader {
  const extras = (h.extras && typeof h.extras === 'object' ? h.extras : {}) as Record<string, unknown>;
  const rd = extras.record_definition;
  return {
    format: 'seclake-model',
    format_version: 1,
    detector: { type: 'ipinsights', version: 1 },
    record_definition: rd && typeof rd === 'object' ? ({ kind: 'pairs', ...(rd as object) } as RecordDefinitionRef) : null,
    hyperparameters: h.hyperparameters as Record<string, unknown>,
    params: { encoder: h.encoder },
    training: h.training as BaseTrainingMetadata,
    sections: h.sections as SectionInfo[],
    data_crc32: h.data_crc32 as number,
    calibration: (h.calibration ?? null) as Record<string, unknown> | null,
    extras,
  };
}

function readHeaderFd(fd: number, file: string): RawHeader {
  const size = fstatSync(fd).size;
  if (size < PREAMBLE) throw new ModelFileError(file, 'not a seclake model (file too short)');
  const pre = Buffer.alloc(PREAMBLE);
  readExactly(fd, pre, 0, file);
  const magic = pre.toString('latin1', 0, 12);
  const legacy = magic === LEGACY_IPINSIGHTS_MAGIC;
  if (magic !== MODEL_MAGIC && !legacy) throw new ModelFileError(file, 'not a seclake model (bad magic)');
  const version = pre.readUInt32LE(12);
  const max = legacy ? 1 : MODEL_FORMAT_VERSION;
  if (version > max) {
    throw new ModelFileError(file, `model format_version ${version} is newer than this seclake supports (${max}); upgrade seclake`);
  }
  if (version < 1) throw new ModelFileError(file, `invalid model format_version ${version}`);
  const capacity = pre.readUInt32LE(16);
  const len = pre.readUInt32LE(20);
  if (len > capacity || PREAMBLE + capacity > size) throw new ModelFileError(file, 'corrupt model header (bad lengths)');
  const json = Buffer.alloc(len);
  readExactly(fd, json, PREAMBLE, file);
  let stored: Record<string, unknown>;
  try {
    stored = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ModelFileError(file, `corrupt model header (invalid JSON: ${errorMessage(err)})`, { cause: err });
  }
  if (stored === null || typeof stored !== 'object' || !Array.isArray(stored.sections) || typeof stored.hyperparameters !== 'object') {
    throw new ModelFileError(file, 'corrupt model header (missing fields)');
  }
  let header: ModelHeader;
  if (legacy) {
    if (stored.format !== 'seclake-ipinsights' || !stored.encoder) throw new ModelFileError(file, 'corrupt model header (missing fields)');
    header = fromLegacy(stored);
  } else {
    const d = stored.detector as { type?: unknown; version?: unknown } | undefined;
    if (stored.format !== 'seclake-model' || !d || typeof d.type !== 'string' || typeof d.version !== 'number') {
      throw new ModelFileError(file, 'corrupt model header (missing detector type/version)');
    }
    header = { record_definition: null, params: {}, extras: {}, calibration: null, ...stored } as unknown as ModelHeader;
  }
  return { header, stored, legacy, version, capacity, dataStart: PREAMBLE + capacity, fileSize: size };
}

function openFile(file: string): number {
  try {
    return openSync(file, 'r');
  } catch (err) {
    throw new ModelFileError(file, `cannot open model: ${errorMessage(err)}`, { cause: err });
  }
}

/** Read only the header (cheap; no data). Legacy IP Insights files come back in the current shape. */
export function readModelHeader(file: string): ModelHeader {
  const fd = openFile(file);
  try {
    return readHeaderFd(fd, file).header;
  } finally {
    closeSync(fd);
  }
}

/** A loaded container: the header and the data region, with typed views of its sections. */
export class ModelData {
  readonly file: string;
  readonly header: ModelHeader;
  /** The data region (an ArrayBuffer, or a SharedArrayBuffer when shared with worker threads). */
  readonly data: ArrayBufferLike;
  private readonly byName: Map<string, SectionInfo>;

  constructor(file: string, header: ModelHeader, data: ArrayBufferLike) {
    this.file = file;
    this.header = header;
    this.data = data;
    this.byName = new Map(header.sections.map((s) => [s.name, s]));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): SectionInfo | undefined {
    return this.byName.get(name);
  }

  /** A float32 section of exactly `length` elements (any length when omitted); ModelFileError otherwise. */
  f32(name: string, length?: number): Float32Array {
    return this.view(name, 'float32', length, Float32Array);
  }

  f64(name: string, length?: number): Float64Array {
    return this.view(name, 'float64', length, Float64Array);
  }

  u32(name: string, length?: number): Uint32Array {
    return this.view(name, 'uint32', length, Uint32Array);
  }

  /** A uint8 section (bytes). */
  u8(name: string, length?: number): Uint8Array {
    return this.view(name, 'uint8', length, Uint8Array);
  }

  private view<A extends SectionArray>(name: string, dtype: SectionDtype, length: number | undefined, Ctor: { new (b: ArrayBufferLike, o: number, n: number): A; BYTES_PER_ELEMENT: number }): A {
    const s = this.byName.get(name);
    const n = s ? s.bytes / Ctor.BYTES_PER_ELEMENT : -1;
    if (!s || s.dtype !== dtype || !Number.isInteger(n) || (length !== undefined && n !== length)) {
      throw new ModelFileError(this.file, `model section ${name} is missing or has the wrong size`);
    }
    return new Ctor(this.data, s.offset, n);
  }
}

/**
 * The container of a model kept in memory (trained, not written): the sections laid out as a file would hold them.
 * With `shared`, the data region is a SharedArrayBuffer.
 */
export function packModelData(file: string, header: ModelHeader, secs: readonly Section[], shared = false): ModelData {
  const { sections, dataBytes, crc } = layout(secs);
  const data = shared ? new SharedArrayBuffer(dataBytes) : new ArrayBuffer(dataBytes);
  const u8 = new Uint8Array(data);
  for (let i = 0; i < secs.length; i++) {
    const s = secs[i]!;
    u8.set(new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength), sections[i]!.offset);
  }
  return new ModelData(file, { ...header, sections, data_crc32: crc }, data);
}

/** A copy of a container whose data region is a SharedArrayBuffer (worker threads build models over the same memory). */
export function shareModelData(md: ModelData): ModelData {
  if (md.data instanceof SharedArrayBuffer) return md;
  const data = new SharedArrayBuffer(md.data.byteLength);
  new Uint8Array(data).set(new Uint8Array(md.data));
  return new ModelData(md.file, md.header, data);
}

/** Load header and data; verifies the size and the CRC. */
export function readModelFile(file: string): ModelData {
  assertLittleEndian();
  const fd = openFile(file);
  try {
    const { header, dataStart, fileSize } = readHeaderFd(fd, file);
    let dataBytes = 0;
    for (const s of header.sections) dataBytes = Math.max(dataBytes, alignUp(s.offset + s.bytes, ALIGN));
    if (dataStart + dataBytes !== fileSize) {
      throw new ModelFileError(file, `model file size ${fileSize} does not match its header (${dataStart + dataBytes}); truncated or corrupt`);
    }
    const data = new ArrayBuffer(dataBytes);
    readExactly(fd, new Uint8Array(data), dataStart, file);
    if (crc32(new Uint8Array(data)) !== header.data_crc32) throw new ModelFileError(file, 'model data fails its CRC-32 check; the file is corrupt');
    return new ModelData(file, header, data);
  } finally {
    closeSync(fd);
  }
}

/**
 * Rewrite the header's calibration/extras slots atomically: the new file is written next to the old one and renamed
 * over it, so readers (and the server's hot reload) see either the old or the new file. When the new header fits the
 * reserved space only the header bytes of the copy are rewritten. A legacy file keeps its format.
 */
export function updateModelMetadata(file: string, patch: MetadataPatch): ModelHeader {
  const fd = openFile(file);
  let raw: RawHeader;
  try {
    raw = readHeaderFd(fd, file);
  } finally {
    closeSync(fd);
  }
  const stored: Record<string, unknown> = { ...raw.stored };
  if (patch.calibration !== undefined) stored.calibration = patch.calibration;
  if (patch.extras !== undefined) {
    const extras: Record<string, unknown> = { ...((stored.extras as Record<string, unknown> | undefined) ?? {}) };
    for (const [k, v] of Object.entries(patch.extras)) {
      if (v === null) delete extras[k];
      else extras[k] = v;
    }
    stored.extras = extras;
  }
  const magic = raw.legacy ? LEGACY_IPINSIGHTS_MAGIC : MODEL_MAGIC;
  const json = Buffer.from(JSON.stringify(stored), 'utf8');
  const tmp = tmpName(file);
  try {
    if (json.length <= raw.capacity) {
      copyFileSync(file, tmp);
      const out = openSync(tmp, 'r+');
      try {
        writeAll(out, headerBlock(json, raw.capacity, magic, raw.version), 0);
        fsyncSync(out);
      } finally {
        closeSync(out);
      }
    } else {
      const { capacity } = encodeHeader(stored);
      const inFd = openSync(file, 'r');
      const out = openSync(tmp, 'w');
      try {
        const block = headerBlock(json, capacity, magic, raw.version);
        writeAll(out, block, 0);
        const chunk = Buffer.alloc(1 << 24);
        let pos = raw.dataStart;
        let dst = block.length;
        while (pos < raw.fileSize) {
          const n = readSync(inFd, chunk, 0, Math.min(chunk.length, raw.fileSize - pos), pos);
          if (n === 0) break;
          writeAll(out, chunk.subarray(0, n), dst);
          pos += n;
          dst += n;
        }
        fsyncSync(out);
      } finally {
        closeSync(inFd);
        closeSync(out);
      }
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new ModelFileError(file, `cannot update model metadata: ${errorMessage(err)}`, { cause: err });
  }
  return raw.legacy ? fromLegacy(stored) : ({ ...raw.header, ...stored } as unknown as ModelHeader);
}
