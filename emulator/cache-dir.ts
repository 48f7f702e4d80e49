/**
 * The user's cache folder for what xstate-lab builds or derives once and reuses across runs (native
 * helpers, sweep results): $XSTATE_LAB_CACHE, else $XDG_CACHE_HOME/xstate-lab, else
 * ~/.cache/xstate-lab (the temporary folder when there is no home). Never next to the user's files.
 */
import { mkdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** The cache folder (or its subfolder `sub`), created if missing. */
export function cacheDir(sub?: string): string {
  const base = process.env.XSTATE_LAB_CACHE ?? (process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'xstate-lab') : join(homedir() || tmpdir(), '.cache', 'xstate-lab'));
  const d = sub === undefined ? base : join(base, sub);
  mkdirSync(d, { recursive: true });
  return d;
}
