/**
 * `exec`'s start-up (README "Speed"): the command line as one script (dist/exec-bundle/, written
 * by the build: src/build-exec-bundle.ts) compiled through V8's code cache. Node 20 loads ES
 * modules one by one (resolving, reading, compiling and linking each: about 0.35 ms a module
 * before any of its code runs) and keeps no compiled code for them; a trivial `exec` loads about
 * 135 modules (1.4 MB). A script can be given the code V8 compiled in an earlier run
 * (`vm.Script` `cachedData`), so neither its parsing nor the compiling of the functions that run
 * is repeated.
 *
 * The bundle is used only when it is current: every input of the build (the modules in dist/,
 * their JSON, commander) still has the size and modification time the manifest recorded, and the
 * script itself too; else (a build with tsc alone, a module edited in dist/) the command runs from
 * the modules, slower and the same. `XSTATE_LAB_NO_EXEC_BUNDLE=1` runs the modules always.
 *
 * The code cache lives in the user's cache folder (emulator/cache-dir.ts, subfolder `code`), one
 * entry per bundle (the digest the build recorded), Node version, architecture and Node flags;
 * an entry carries the SHA-256 of its content and is ignored when that does not match, V8 refuses
 * an entry made under other V8 flags or another V8 (the command then compiles as without one), and
 * a run that found no usable entry and ran a guest (not one ended by a usage error, whose cache
 * would lack the machine's code) writes one when the process exits (temporary file renamed into
 * place; a folder that cannot be written costs time only). At most CODE_CACHE_ENTRIES entries are
 * kept. `XSTATE_LAB_NO_CODE_CACHE=1` turns the cache off. `XSTATE_LAB_STARTUP_TRACE=1` prints what
 * was used on stderr (tests).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Script, constants as vmConstants } from 'node:vm';
import { threadId } from 'node:worker_threads';
import { cacheDir } from '../emulator/cache-dir.js';
import { ICED_V8_FLAGS } from '../emulator/iced-flags.js';

/** dist/exec-bundle/. */
export const EXEC_BUNDLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'exec-bundle');
export const EXEC_BUNDLE_FILE = 'cli-main.cjs';
export const EXEC_BUNDLE_MANIFEST = 'manifest.json';
export const EXEC_BUNDLE_FORMAT = 'xstate-lab.exec-bundle/1';
/** The bundle's function giving a module its own file's URL (its `import.meta.url`). */
export const MODULE_URL_FUNCTION = '__xstateLabModuleUrl';
/** The cache folder's subfolder for compiled code. */
export const CODE_CACHE_SUBDIR = 'code';
/** The Symbol.for name of src/commands/exec.ts EXEC_GUEST_RAN (test/exec-bundle.test.ts checks they agree). */
export const EXEC_GUEST_RAN_NAME = 'xstate-lab.exec.guest-ran';
/** Entries kept (each about 1 MB; one per build of the bundle, Node version and flags). */
const CODE_CACHE_ENTRIES = 8;
/** SHA-256's size: the entry's first bytes, the digest of the rest. */
const DIGEST_BYTES = 32;

/** dist/exec-bundle/manifest.json: the script [file, size, mtimeMs], its SHA-256, and each input [path from the bundle's folder, size, mtimeMs]. */
export interface ExecBundleManifest { format: string; bundle: [string, number, number]; digest: string; inputs: [string, number, number][] }
/** What src/cli-main.ts exports. */
export interface CliMain { main(): Promise<void> }

const trace = (line: string): void => { if (process.env.XSTATE_LAB_STARTUP_TRACE === '1') process.stderr.write(`xstate-lab: start-up: ${line}\n`); };

/** Whether the file has the size and modification time recorded. */
function unchanged(path: string, size: number, mtimeMs: number): boolean {
  const s = statSync(path, { throwIfNoEntry: false });
  return s !== undefined && s.size === size && s.mtimeMs === mtimeMs;
}

/** The manifest when the bundle is current, else undefined (and why, traced). */
function currentManifest(): ExecBundleManifest | undefined {
  let m: ExecBundleManifest;
  try {
    m = JSON.parse(readFileSync(join(EXEC_BUNDLE_DIR, EXEC_BUNDLE_MANIFEST), 'utf8')) as ExecBundleManifest;
  } catch {
    trace('no exec bundle (modules)');
    return undefined;
  }
  if (m.format !== EXEC_BUNDLE_FORMAT || !Array.isArray(m.inputs) || !Array.isArray(m.bundle) || m.bundle[0] !== EXEC_BUNDLE_FILE) {
    trace('exec bundle manifest of another format (modules)');
    return undefined;
  }
  for (const [rel, size, mtime] of [m.bundle, ...m.inputs]) {
    if (!unchanged(join(EXEC_BUNDLE_DIR, rel), size, mtime)) {
      trace(`exec bundle stale: ${rel} changed since the build (modules)`);
      return undefined;
    }
  }
  return m;
}

/** The code-cache entry's path for this bundle under this Node and its flags; undefined when the cache folder cannot be made (costs time only). */
function codeCachePath(m: ExecBundleManifest): string | undefined {
  const key = createHash('sha256').update([m.digest, process.version, process.arch, ...process.execArgv, ICED_V8_FLAGS].join('\0')).digest('hex').slice(0, 32);
  try {
    return join(cacheDir(CODE_CACHE_SUBDIR), `${key}.v8`);
  } catch {
    return undefined;
  }
}

/** The entry's code when its digest is right. */
function readCodeCache(path: string): Buffer | undefined {
  let b: Buffer;
  try { b = readFileSync(path); } catch { return undefined; }
  if (b.length <= DIGEST_BYTES) return undefined;
  const data = b.subarray(DIGEST_BYTES);
  return createHash('sha256').update(data).digest().equals(b.subarray(0, DIGEST_BYTES)) ? data : undefined;
}

function writeCodeCache(path: string, data: Buffer): void {
  try {
    const tmp = `${path}.${process.pid}.${threadId}.tmp`;
    writeFileSync(tmp, Buffer.concat([createHash('sha256').update(data).digest(), data]));
    renameSync(tmp, path);
    const dir = dirname(path);
    const entries = readdirSync(dir).filter((f) => f.endsWith('.v8')).map((f) => ({ f, t: statSync(join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? 0 }));
    entries.sort((a, b) => b.t - a.t);
    for (const e of entries.slice(CODE_CACHE_ENTRIES)) unlinkSync(join(dir, e.f));
    trace('code cache written');
  } catch {
    // A cache that cannot be written costs time only.
  }
}

/**
 * The command line from the exec bundle, compiled through the code cache; undefined when the
 * bundle is missing or stale (the caller runs the modules).
 */
export function loadExecBundle(): CliMain | undefined {
  if (process.env.XSTATE_LAB_NO_EXEC_BUNDLE === '1') return undefined;
  const m = currentManifest();
  if (m === undefined) return undefined;
  const file = join(EXEC_BUNDLE_DIR, EXEC_BUNDLE_FILE);
  // ASCII (the build checks): read as Latin-1, a one-byte string without UTF-8 decoding.
  const source = readFileSync(file, 'latin1');
  // Set before compiling: V8 hashes its flags into a code cache (emulator/iced-flags.ts).
  setFlagsFromString(ICED_V8_FLAGS);
  const useCache = process.env.XSTATE_LAB_NO_CODE_CACHE !== '1';
  const cachePath = useCache ? codeCachePath(m) : undefined;
  const cachedData = cachePath === undefined ? undefined : readCodeCache(cachePath);
  // The CommonJS wrapper (Module.wrap's parameters), so the script is compiled as one function.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
    importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const accepted = cachedData !== undefined && !script.cachedDataRejected;
  trace(`exec bundle; code cache ${!useCache ? 'off' : cachePath === undefined ? 'unavailable' : cachedData === undefined ? 'absent' : accepted ? 'used' : 'refused by V8'}`);
  if (cachePath !== undefined && !accepted) {
    process.once('exit', () => {
      // Only after a guest ran (src/commands/exec.ts EXEC_GUEST_RAN; the symbol's name, as that module is in the bundle).
      if ((globalThis as Record<symbol, unknown>)[Symbol.for(EXEC_GUEST_RAN_NAME)] === true) writeCodeCache(cachePath, script.createCachedData());
      else trace('code cache not written: no guest ran');
    });
  }
  const module = { exports: {} as CliMain };
  (script.runInThisContext() as (e: object, r: NodeRequire, m: object, f: string, d: string) => void)(module.exports, createRequire(file), module, file, EXEC_BUNDLE_DIR);
  return module.exports;
}
