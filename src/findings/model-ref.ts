/** The ModelRef of a loaded model, as the contract in types.ts describes it. */
import path from 'node:path';
import type { DetectorDefinition } from '../detectors/types.js';
import type { DetectorRef, ModelRef } from './types.js';

/** What modelRefOf needs from a model (every DetectorModel has it). */
export interface ModelLike {
  path: string;
  header: { data_crc32: number };
  calibration?: { threshold: number } | undefined;
  detector: Pick<DetectorDefinition, 'type' | 'title' | 'score' | 'finding'>;
}

/** The plain-data description of a detector that findings carry. */
export function detectorRefOf(d: ModelLike['detector']): DetectorRef {
  return { type: d.type, title: d.title, score: { ...d.score }, finding_type: d.finding.type };
}

/**
 * name: the file's base name without its extension (unless `opts.name`); version: the data's CRC-32 as 8 hex digits
 * (unless `opts.version`), so retraining gives a new version and re-calibrating does not; threshold: the stored
 * calibration's, when calibrated.
 */
export function modelRefOf(model: ModelLike, opts: { name?: string; version?: string } = {}): ModelRef {
  const base = path.basename(model.path);
  const ext = path.extname(base);
  const ref: ModelRef = {
    name: opts.name ?? (ext && ext !== base ? base.slice(0, -ext.length) : base),
    version: opts.version ?? (model.header.data_crc32 >>> 0).toString(16).padStart(8, '0'),
    detector: detectorRefOf(model.detector),
  };
  const t = model.calibration?.threshold;
  if (typeof t === 'number' && Number.isFinite(t)) ref.threshold = t;
  return ref;
}
