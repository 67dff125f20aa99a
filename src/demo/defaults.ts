/** The demo's defaults, in a module of their own so `seclake demo --help` shows them without loading the pipeline. */
export const DEFAULT_DATA_DIR = './seclake-demo';
export const DEFAULT_PORT = 8080;
