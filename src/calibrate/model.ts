/**
 * Calibration's view of a model of any detector: load it (src/detectors: loadModel), score pairs (native score and
 * whether the entity was known), and write the calibration into the model header's `calibration` slot atomically
 * (updateModelMetadata: temp file + rename, so a running server's hot reload sees the old or the new file, never half
 * of one).
 */
import type { Calibration } from '../detectors/calibration.js';
import { loadModel, pairsModel, updateModelMetadata } from '../detectors/index.js';
import type { DetectorModel } from '../detectors/types.js';
import type { CalibratableModel, ModelAccess } from './run.js';

export function adaptModel(model: DetectorModel): CalibratableModel {
  return {
    score: { name: model.detector.score.name, direction: model.detector.score.direction },
    scorePairs: (pairs) => {
      const { native, known } = model.scoreBatch(pairs);
      const out: { score: number; entity_known: boolean }[] = new Array(pairs.length);
      for (let i = 0; i < pairs.length; i++) {
        // An address the model cannot parse is an error naming the record, as everywhere else.
        if (Number.isNaN(native[i]!)) model.predict([pairs[i]!], { source: 'calibration pairs' });
        out[i] = { score: native[i]!, entity_known: known[i] === 1 };
      }
      return out;
    },
    entityKnown: (entity) => model.entityInfo(entity).known,
    hyperparameters: () => ({ ...model.header.hyperparameters }),
    metadata: () => {
      const t = model.header.training as unknown as Record<string, unknown>;
      const out: Record<string, unknown> = { detector: model.detector.type };
      for (const [k, v] of Object.entries(t ?? {})) {
        if (v !== null && typeof v === 'object') {
          for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) out[`${k}.${k2}`] = v2;
        } else {
          out[k] = v;
        }
      }
      return out;
    },
  };
}

/** Calibration's model access for any detector. */
export const modelAccess: ModelAccess = {
  load: async (file) => adaptModel(pairsModel(await loadModel(file), 'calibration from pairs')),
  storeCalibration: async (file: string, calibration: Calibration) => {
    updateModelMetadata(file, { calibration: calibration as unknown as Record<string, unknown> });
  },
};
