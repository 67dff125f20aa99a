/**
 * Calibration's view of the IP Insights engine: load a model, score pairs (with `entity_known`), and write the
 * calibration into the model header's `calibration` slot atomically (updateModelMetadata: temp file + rename, so a
 * running server's hot reload sees the old or the new file, never half of one).
 */
import { IpInsightsModel, updateModelMetadata } from '../detectors/ipinsights/index.js';
import type { Calibration } from '../detectors/calibration.js';
import type { CalibratableModel, ModelAccess } from './run.js';

export function adaptModel(model: IpInsightsModel): CalibratableModel {
  return {
    scorePairs: (pairs, opts) => model.scorePairs(pairs, { verbose: opts?.verbose === true, source: 'calibration pairs' }),
    entityKnown: (entity) => model.entityInfo(entity).known,
    hyperparameters: () => ({ ...model.header.hyperparameters }),
    metadata: () => {
      const t = model.header.training as unknown as Record<string, unknown>;
      const out: Record<string, unknown> = {};
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

export const ipInsightsAccess: ModelAccess = {
  load: async (file) => adaptModel(await IpInsightsModel.load(file)),
  storeCalibration: async (file: string, calibration: Calibration) => {
    updateModelMetadata(file, { calibration: calibration as unknown as Record<string, unknown> });
  },
};
