// `node --import ./test/cli/loaded.mjs ...`: registers loaded-hook.mjs (see there).
import { register } from 'node:module';

register('./loaded-hook.mjs', import.meta.url);
