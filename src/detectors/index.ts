/**
 * The detector registry: one line per detector (src/detectors/<type>/), and the one function that loads a model of
 * any type. Everything downstream (calibration, monitor, findings, serve, dashboard, `seclake models`) goes through
 * here, never through a detector's folder.
 */
import { ConfigError, ModelFileError } from '../core/errors.js';
import { readModelFile, type ModelData } from './model-file.js';
import type { AnyDetectorModel, DetectorDefinition, FeaturesModel, PairsModel } from './types.js';
import { ipinsights } from './ipinsights/index.js';
import { history } from './history/index.js';
import { rcf } from './rcf/index.js';

/** Registered detectors, by type. Adding a detector: its folder plus one line here. */
export const DETECTORS: readonly DetectorDefinition[] = [
  ipinsights,
  history,
  rcf,
];

/** The default detector of `seclake train`. */
export const DEFAULT_DETECTOR = 'ipinsights';

/** A detector by type, or undefined. */
export function findDetector(type: string): DetectorDefinition | undefined {
  return DETECTORS.find((d) => d.type === type);
}

/** A detector by type; the error lists the known types. */
export function detectorOf(type: string, file?: string): DetectorDefinition {
  const d = findDetector(type);
  if (d) return d;
  const msg = `unknown detector '${type}'; known: ${DETECTORS.map((x) => x.type).join(', ')}`;
  throw file ? new ModelFileError(file, `${msg} (written by a newer seclake?)`) : new ModelFileError('(detector)', msg);
}

/** The model over a loaded container, built by the detector its header names. */
export function modelFromData(md: ModelData): AnyDetectorModel {
  return detectorOf(md.header.detector.type, md.file).load(md);
}

/** Load a model file of any detector; ModelFileError naming the file when it cannot. */
export async function loadModel(file: string): Promise<AnyDetectorModel> {
  return modelFromData(readModelFile(file));
}

/** Whether a model scores (entity, IP) pairs. */
export function isPairsModel(model: AnyDetectorModel): model is PairsModel {
  return model.detector.records === 'pairs';
}

/** Whether a model scores feature vectors. */
export function isFeaturesModel(model: AnyDetectorModel): model is FeaturesModel {
  return model.detector.records === 'features';
}

/** The model as a pairs model, or a ConfigError saying that `use` needs one and what this model is. */
export function pairsModel(model: AnyDetectorModel, use: string): PairsModel {
  if (isPairsModel(model)) return model;
  throw new ConfigError(`${use} needs a model that scores (entity, IP) pairs; ${describeModel(model)} scores ${model.detector.records}`);
}

/** The model as a features model, or a ConfigError saying that `use` needs one and what this model is. */
export function featuresModel(model: AnyDetectorModel, use: string): FeaturesModel {
  if (isFeaturesModel(model)) return model;
  throw new ConfigError(`${use} needs a model that scores feature vectors; ${describeModel(model)} scores ${model.detector.records}`);
}

function describeModel(model: AnyDetectorModel): string {
  return `${model.path || 'the model'} (${model.detector.type})`;
}

export type * from './types.js';
export { readModelHeader, updateModelMetadata, shareModelData, ModelData, type ModelHeader, type RecordDefinitionRef } from './model-file.js';
