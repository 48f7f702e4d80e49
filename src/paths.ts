import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder holding package.json), found from this module, built or not. */
export const PACKAGE_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'emulator'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('xstate-lab: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
})();

export const PROFILES_DIR = join(PACKAGE_ROOT, 'emulator', 'profiles');
export const SCHEMA_DIR = join(PACKAGE_ROOT, 'emulator', 'schema');
