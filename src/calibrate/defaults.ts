/** Calibration defaults, in a module of their own so `seclake calibrate --help` shows them without loading the run. */
export const DEFAULT_SAMPLE = 100_000;
export const DEFAULT_SEED = 1;
