/**
 * The IP Insights model file.
 *
 *   bytes 0..11   magic "SECLAKE-IPI\n"
 *   bytes 12..15  format_version (uint32 LE)
 *   bytes 16..19  header capacity C (uint32 LE): bytes reserved for the JSON header
 *   bytes 20..23  header length (uint32 LE): bytes of UTF-8 JSON actually used (rest is spaces)
 *   bytes 24..24+C  JSON header (ModelHeader), padded with spaces; 24 + C is a multiple of 64
 *   then the data region: the sections listed in the header, each at a 64-byte aligned offset
 *   (relative to the start of the data region), little-endian float32 / float64 / uint32 arrays.
 *
 * The header holds the hyperparameters, the encoder spec, the training metadata, a CRC-32 of the data
 * region, and two slots other components may extend without touching the weights: `calibration`
 * (threshold, score distribution) and `extras` (free-form JSON), both rewritten atomically with
 * updateModelMetadata(). Loading refuses a wrong magic or a newer format_version and names the file.
 *
 * Optional sections may follow the weights: `history.*` (history.ts: per-entity training addresses for finding
 * explanations). They need no new format_version: readers locate sections by name, files without them load as
 * before, and readers that predate them ignore them (the file size check covers every listed section).
 */
import { closeSync, copyFileSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync, fsyncSync } from 'node:fs';
import { endianness } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { ModelFileError, errorMessage } from '../../core/errors.js';
import type { Hyperparameters } from './config.js';
import type { EncoderSpec, Layer, Weights } from './model.js';
import type { HistoryData } from './history.js';

export const MODEL_MAGIC = 'SECLAKE-IPI\n';
export const MODEL_FORMAT_VERSION = 1;
const PREAMBLE = 24;
const ALIGN = 64;
/** Extra room left in the header so calibration/extras updates rarely need to rewrite the weights. */
const HEADER_SLACK = 64 * 1024;

export interface SectionInfo {
  name: string;
  dtype: 'float32' | 'float64' | 'uint32';
  shape: number[];
  /** Byte offset from the start of the data region. */
  offset: number;
  bytes: number;
}

export interface TrainingMetadata {
  /** Valid training rows (positive pairs) used. */
  rows: number;
  /** Rows skipped as malformed. */
  bad_rows: number;
  distinct_entities: number;
  ipv6_rows: number;
  epochs: number;
  /** Mean binary cross-entropy over the last epoch (positives + negatives). */
  final_loss: number;
  final_accuracy: number;
  /** validation:discriminator_auc of the last epoch, null without a validation set. */
  validation_auc: number | null;
  validation_rows: number;
  seed: number;
  threads: number;
  /** Earliest and latest event time of the training data (ISO 8601), when the source has times. */
  data_time_range: { start: string; end: string } | null;
  /** Where the pairs came from (file names or "lake:<dir>"). */
  source: string;
  trained_at: string;
  training_seconds: number;
  /** Training records (positives + negatives) per second, as SageMaker counts them. */
  records_per_second: number;
  seclake_version: string;
  /** Per-epoch statistics (the training curve); absent in models trained before it was recorded. */
  epoch_history?: { epoch: number; loss: number; accuracy: number; validation_auc: number | null; seconds: number }[];
}

export interface ModelHeader {
  format: 'seclake-ipinsights';
  format_version: number;
  hyperparameters: Hyperparameters;
  encoder: EncoderSpec;
  training: TrainingMetadata;
  sections: SectionInfo[];
  data_crc32: number;
  /** Reserved for calibration (threshold, score distribution, ...); null until calibrated. */
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

function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new ModelFileError('(model)', 'model files are little-endian; big-endian hosts are not supported');
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

interface SectionData {
  name: string;
  dtype: SectionInfo['dtype'];
  shape: number[];
  data: Float32Array | Float64Array | Uint32Array;
}

/** The optional entity-history sections (history.ts); old files have none and old readers ignore them. */
function historySections(h: HistoryData): SectionData[] {
  const m = h.fp.length;
  return [
    { name: 'history.fingerprint', dtype: 'float64', shape: [m], data: h.fp },
    { name: 'history.size', dtype: 'uint32', shape: [m], data: h.size },
    { name: 'history.offset', dtype: 'uint32', shape: [m + 1], data: h.offset },
    { name: 'history.addr', dtype: 'uint32', shape: [h.addr.length / 4, 4], data: h.addr },
  ];
}

function weightSections(w: Weights): SectionData[] {
  const d = w.dim;
  const out: SectionData[] = [
    { name: 'entity', dtype: 'float32', shape: [w.numEntityVectors, d], data: w.entity },
    { name: 'ip', dtype: 'float32', shape: [w.ip.length / d, d], data: w.ip },
  ];
  w.layers.forEach((layer, k) => {
    if (layer.weight) out.push({ name: `layer${k}.weight`, dtype: 'float32', shape: [d, d], data: layer.weight });
    out.push({ name: `layer${k}.bias`, dtype: 'float32', shape: [d], data: layer.bias });
  });
  out.push({ name: 'population', dtype: 'float32', shape: [d], data: w.population });
  out.push({ name: 'known.fingerprint', dtype: 'float64', shape: [w.knownFp.length], data: w.knownFp });
  out.push({ name: 'known.count', dtype: 'uint32', shape: [w.knownCount.length], data: w.knownCount });
  return out;
}

function encodeHeader(header: ModelHeader, capacity?: number): { json: Buffer; capacity: number } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const cap = capacity ?? alignUp(PREAMBLE + json.length + HEADER_SLACK, ALIGN) - PREAMBLE;
  return { json, capacity: cap };
}

function preamble(capacity: number, jsonLength: number): Buffer {
  const b = Buffer.alloc(PREAMBLE);
  b.write(MODEL_MAGIC, 0, 'latin1');
  b.writeUInt32LE(MODEL_FORMAT_VERSION, 12);
  b.writeUInt32LE(capacity, 16);
  b.writeUInt32LE(jsonLength, 20);
  return b;
}

function headerBlock(json: Buffer, capacity: number): Buffer {
  const block = Buffer.alloc(PREAMBLE + capacity, 0x20);
  preamble(capacity, json.length).copy(block, 0);
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

/**
 * Write a model file atomically (temp file + rename). `header` provides everything but `sections`,
 * `data_crc32` and `format_version`, which are computed here.
 */
export function saveModel(
  file: string,
  header: Omit<ModelHeader, 'sections' | 'data_crc32' | 'format_version' | 'format'>,
  weights: Weights,
  history?: HistoryData,
): ModelHeader {
  assertLittleEndian();
  const secs = weightSections(weights);
  if (history) secs.push(...historySections(history));
  const sections: SectionInfo[] = [];
  let offset = 0;
  let crc = 0;
  for (const s of secs) {
    const bytes = s.data.byteLength;
    sections.push({ name: s.name, dtype: s.dtype, shape: s.shape, offset, bytes });
    offset = alignUp(offset + bytes, ALIGN);
  }
  const dataBytes = offset;
  // CRC over the data region exactly as laid out (zero padding included).
  const pad = new Uint8Array(ALIGN);
  for (let i = 0; i < secs.length; i++) {
    const s = secs[i]!;
    const u8 = new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength);
    crc = crc32(u8, crc);
    const end = i + 1 < secs.length ? sections[i + 1]!.offset : dataBytes;
    const gap = end - (sections[i]!.offset + s.data.byteLength);
    if (gap > 0) crc = crc32(pad.subarray(0, gap), crc);
  }
  const full: ModelHeader = { format: 'seclake-ipinsights', format_version: MODEL_FORMAT_VERSION, ...header, sections, data_crc32: crc };
  const { json, capacity } = encodeHeader(full);
  const tmp = tmpName(file);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    const block = headerBlock(json, capacity);
    writeAll(fd, block, 0);
    const base = block.length;
    for (let i = 0; i < secs.length; i++) {
      const s = secs[i]!;
      writeAll(fd, new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength), base + sections[i]!.offset);
    }
    // Make the file its full length even if the last section ends before an alignment boundary.
    const last = sections[sections.length - 1]!;
    const tail = dataBytes - (last.offset + last.bytes);
    if (tail > 0) writeAll(fd, pad.subarray(0, tail), base + last.offset + last.bytes);
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
  header: ModelHeader;
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

function readHeaderFd(fd: number, file: string): RawHeader {
  const size = fstatSync(fd).size;
  if (size < PREAMBLE) throw new ModelFileError(file, 'not a seclake IP Insights model (file too short)');
  const pre = Buffer.alloc(PREAMBLE);
  readExactly(fd, pre, 0, file);
  if (pre.toString('latin1', 0, 12) !== MODEL_MAGIC) {
    throw new ModelFileError(file, 'not a seclake IP Insights model (bad magic)');
  }
  const version = pre.readUInt32LE(12);
  if (version > MODEL_FORMAT_VERSION) {
    throw new ModelFileError(file, `model format_version ${version} is newer than this seclake supports (${MODEL_FORMAT_VERSION}); upgrade seclake`);
  }
  if (version < 1) throw new ModelFileError(file, `invalid model format_version ${version}`);
  const capacity = pre.readUInt32LE(16);
  const len = pre.readUInt32LE(20);
  if (len > capacity || PREAMBLE + capacity > size) throw new ModelFileError(file, 'corrupt model header (bad lengths)');
  const json = Buffer.alloc(len);
  readExactly(fd, json, PREAMBLE, file);
  let header: ModelHeader;
  try {
    header = JSON.parse(json.toString('utf8')) as ModelHeader;
  } catch (err) {
    throw new ModelFileError(file, `corrupt model header (invalid JSON: ${errorMessage(err)})`, { cause: err });
  }
  if (header.format !== 'seclake-ipinsights' || !Array.isArray(header.sections) || typeof header.hyperparameters !== 'object' || !header.encoder) {
    throw new ModelFileError(file, 'corrupt model header (missing fields)');
  }
  return { header, capacity, dataStart: PREAMBLE + capacity, fileSize: size };
}

/** Read only the header (cheap; no weights). */
export function readModelHeader(file: string): ModelHeader {
  const fd = openFile(file);
  try {
    return readHeaderFd(fd, file).header;
  } finally {
    closeSync(fd);
  }
}

function openFile(file: string): number {
  try {
    return openSync(file, 'r');
  } catch (err) {
    throw new ModelFileError(file, `cannot open model: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Load header and weights (and the entity history, when the file has it); verifies sizes and the CRC.
 * The history sections are optional: files written before they existed load with `history` undefined.
 */
export function loadModelFile(file: string): { header: ModelHeader; weights: Weights; history?: HistoryData } {
  assertLittleEndian();
  const fd = openFile(file);
  try {
    const { header, dataStart, fileSize } = readHeaderFd(fd, file);
    const d = header.hyperparameters.vector_dim;
    const secs = new Map(header.sections.map((s) => [s.name, s]));
    let dataBytes = 0;
    for (const s of header.sections) dataBytes = Math.max(dataBytes, alignUp(s.offset + s.bytes, ALIGN));
    if (dataStart + dataBytes !== fileSize) {
      throw new ModelFileError(file, `model file size ${fileSize} does not match its header (${dataStart + dataBytes}); truncated or corrupt`);
    }
    const data = new ArrayBuffer(dataBytes);
    readExactly(fd, new Uint8Array(data), dataStart, file);
    const crc = crc32(new Uint8Array(data));
    if (crc !== header.data_crc32) throw new ModelFileError(file, 'model weights fail their CRC-32 check; the file is corrupt');
    const f32 = (name: string, expected: number): Float32Array => {
      const s = secs.get(name);
      if (!s || s.dtype !== 'float32' || s.bytes !== expected * 4) throw new ModelFileError(file, `model section ${name} is missing or has the wrong size`);
      return new Float32Array(data, s.offset, expected);
    };
    const hp = header.hyperparameters;
    const nP = header.encoder.num_ip_vectors;
    const layers: Layer[] = header.encoder.layers.map((spec, k) => ({
      weight: spec.weight === 'dense' ? f32(`layer${k}.weight`, d * d) : null,
      bias: f32(`layer${k}.bias`, d),
      activation: spec.activation,
    }));
    const fpSec = secs.get('known.fingerprint');
    const cntSec = secs.get('known.count');
    if (!fpSec || !cntSec || fpSec.dtype !== 'float64' || cntSec.dtype !== 'uint32' || fpSec.bytes / 8 !== cntSec.bytes / 4) {
      throw new ModelFileError(file, 'model section known.* is missing or inconsistent');
    }
    const weights: Weights = {
      dim: d,
      numEntityVectors: hp.num_entity_vectors,
      entity: f32('entity', hp.num_entity_vectors * d),
      ip: f32('ip', nP * d),
      layers,
      population: f32('population', d),
      knownFp: new Float64Array(data, fpSec.offset, fpSec.bytes / 8),
      knownCount: new Uint32Array(data, cntSec.offset, cntSec.bytes / 4),
    };
    const history = readHistory(file, secs, data);
    return history ? { header, weights, history } : { header, weights };
  } finally {
    closeSync(fd);
  }
}

function readHistory(file: string, secs: Map<string, SectionInfo>, data: ArrayBuffer): HistoryData | undefined {
  const fpS = secs.get('history.fingerprint');
  const sizeS = secs.get('history.size');
  const offS = secs.get('history.offset');
  const addrS = secs.get('history.addr');
  if (!fpS && !sizeS && !offS && !addrS) return undefined;
  const bad = (): never => {
    throw new ModelFileError(file, 'model section history.* is incomplete or inconsistent');
  };
  if (!fpS || !sizeS || !offS || !addrS) return bad();
  if (fpS.dtype !== 'float64' || sizeS.dtype !== 'uint32' || offS.dtype !== 'uint32' || addrS.dtype !== 'uint32') return bad();
  const m = fpS.bytes / 8;
  if (sizeS.bytes / 4 !== m || offS.bytes / 4 !== m + 1 || addrS.bytes % 16 !== 0) return bad();
  const h: HistoryData = {
    fp: new Float64Array(data, fpS.offset, m),
    size: new Uint32Array(data, sizeS.offset, m),
    offset: new Uint32Array(data, offS.offset, m + 1),
    addr: new Uint32Array(data, addrS.offset, addrS.bytes / 4),
  };
  if (h.offset[0] !== 0 || h.offset[m] !== h.addr.length / 4) return bad();
  for (let i = 0; i < m; i++) if (h.offset[i + 1]! < h.offset[i]!) return bad();
  return h;
}

/**
 * Rewrite the header's calibration/extras slots atomically: the new file is written next to the old one
 * and renamed over it, so readers (and the server's hot reload) see either the old or the new file.
 * When the new header fits the reserved space only the header bytes of the copy are rewritten.
 */
export function updateModelMetadata(file: string, patch: MetadataPatch): ModelHeader {
  const fd = openFile(file);
  let raw: RawHeader;
  try {
    raw = readHeaderFd(fd, file);
  } finally {
    closeSync(fd);
  }
  const header: ModelHeader = { ...raw.header };
  if (patch.calibration !== undefined) header.calibration = patch.calibration;
  if (patch.extras !== undefined) {
    const extras: Record<string, unknown> = { ...(header.extras ?? {}) };
    for (const [k, v] of Object.entries(patch.extras)) {
      if (v === null) delete extras[k];
      else extras[k] = v;
    }
    header.extras = extras;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const tmp = tmpName(file);
  try {
    if (json.length <= raw.capacity) {
      copyFileSync(file, tmp);
      const out = openSync(tmp, 'r+');
      try {
        writeAll(out, headerBlock(json, raw.capacity), 0);
        fsyncSync(out);
      } finally {
        closeSync(out);
      }
    } else {
      const { capacity } = encodeHeader(header);
      const inFd = openSync(file, 'r');
      const out = openSync(tmp, 'w');
      try {
        const block = headerBlock(json, capacity);
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
  return header;
}
