/** The --sink forms, in a module of their own so `seclake monitor --help` names them without loading the sinks. */
export const SINK_SPEC_HELP = 'stdout | stdout:text | file:PATH | webhook:URL | slack:URL';
