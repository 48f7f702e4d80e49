/**
 * Build step (`npm run build`, scripts/setup.sh): write the JSON-schema validators as standalone code
 * into dist/emulator/generated/ (see emulator/precompiled-validator.ts), so that no command compiles
 * a schema at start-up; and iced-x86's enums (emulator/iced.ts), so that no command loads iced-x86
 * before it decodes an instruction; then the exec bundle (src/build-exec-bundle.ts), which `exec`
 * runs through V8's code cache.
 */
import { writeIcedEnums } from '../emulator/iced.js';
import { writeValidator } from '../emulator/precompiled-validator.js';
import { PROFILE_VALIDATOR } from '../emulator/profile.js';
import { SCENARIO_VALIDATOR } from './scenario/load.js';

for (const spec of [PROFILE_VALIDATOR, SCENARIO_VALIDATOR]) writeValidator(spec);
writeIcedEnums();
// Last, and loaded only now (esbuild): the bundle is made of the built modules; the files above are
// written even when it cannot be made.
await (await import('./build-exec-bundle.js')).buildExecBundle();
