/** Test support: the ModelRef of an IP Insights model, as findings tests build them by hand. */
import { ipinsights } from '../detectors/ipinsights/index.js';
import { detectorRefOf } from './model-ref.js';
import type { DetectorRef, ModelRef } from './types.js';

/** The IP Insights detector as findings describe it. */
export const IPI: DetectorRef = detectorRefOf(ipinsights);

/** A ModelRef of an IP Insights model named `name`. */
export function ipiModelRef(name: string, version: string, threshold?: number): ModelRef {
  return { name, version, detector: IPI, ...(threshold !== undefined ? { threshold } : {}) };
}
