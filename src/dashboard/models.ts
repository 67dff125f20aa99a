/**
 * What the Models page shows about each model file: hyperparameters, training metadata and curve (from the header),
 * and the calibration slot (AUC, threshold, percentiles, thresholds at FPR budgets). Only the header is read.
 */
import { statSync } from 'node:fs';
import { readCalibration, type Calibration } from '../detectors/calibration.js';
import { errorMessage } from '../core/errors.js';
import { readModelHeader, type ModelHeader } from '../detectors/model-file.js';

/** A model the dashboard shows: its (endpoint) name and file. */
export interface ModelEntry {
  name: string;
  path: string;
}

/** Where the list of models comes from: fixed files, or the inference server's registry (follows reloads). */
export type ModelSource = readonly ModelEntry[] | { names(): string[]; get(name: string): { path: string } | undefined };

export function listModels(src: ModelSource | undefined): ModelEntry[] {
  if (!src) return [];
  if (Array.isArray(src)) return [...(src as readonly ModelEntry[])];
  const reg = src as Exclude<ModelSource, readonly ModelEntry[]>;
  const out: ModelEntry[] = [];
  for (const name of reg.names()) {
    const m = reg.get(name);
    if (m) out.push({ name, path: m.path });
  }
  return out;
}

export interface ModelInfo {
  name: string;
  path: string;
  bytes: number | undefined;
  header: ModelHeader | undefined;
  /** The model version findings carry: data_crc32 as 8 hex digits. */
  version: string | undefined;
  calibration: Calibration | undefined;
  /** Why the header or calibration could not be read. */
  error: string | undefined;
}

export function modelVersion(header: ModelHeader): string {
  return (header.data_crc32 >>> 0).toString(16).padStart(8, '0');
}

export function readModelInfo(entry: ModelEntry): ModelInfo {
  const info: ModelInfo = { ...entry, bytes: undefined, header: undefined, version: undefined, calibration: undefined, error: undefined };
  try {
    info.bytes = statSync(entry.path).size;
    info.header = readModelHeader(entry.path);
    info.version = modelVersion(info.header);
    info.calibration = readCalibration(info.header, entry.path);
  } catch (err) {
    info.error = errorMessage(err);
  }
  return info;
}
