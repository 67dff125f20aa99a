/** The Random Cut Forest (pure computation over typed arrays). Docs: ../README.md. */
export { RandomCutForest, trainBatch, NIL, MAX_SAMPLE_SIZE } from './forest.js';
export type { ForestOptions, DiVector, BatchOptions } from './forest.js';
export { Thresholder } from './thresholder.js';
export type { ThresholderOptions, ThresholdAndGrade } from './thresholder.js';
export { checkForest } from './check.js';
export type { CheckOptions } from './check.js';
export { ForestInputError, ForestStateError } from './errors.js';
