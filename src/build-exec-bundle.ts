/**
 * Build step (run by src/generate-validators.ts): the exec bundle, the whole command line
 * (src/cli-main.js and every module it imports, dynamic imports included, commander with them) as
 * one CommonJS script in dist/exec-bundle/, which src/cli.ts runs for `exec` through V8's code
 * cache (src/exec-bundle.ts). It is made from the built modules in dist/, so it is the same code;
 * each module keeps its own `import.meta.url` (its file in dist/), so every file a module finds
 * beside itself (generated validators, iced-x86's enums, profiles, its own source for the sweep's
 * rule identity) is the one the modules find. The packages with native parts or WebAssembly
 * (koffi, iced-x86), those loaded with require() (ajv, yaml) and TypeScript stay outside.
 */
import { build, type Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { PACKAGE_ROOT } from './paths.js';
import { EXEC_BUNDLE_DIR, EXEC_BUNDLE_FILE, EXEC_BUNDLE_FORMAT, EXEC_BUNDLE_MANIFEST, MODULE_URL_FUNCTION, type ExecBundleManifest } from './exec-bundle.js';

/** The highest ASCII code. */
const ASCII_MAX = 0x7f;

/** Packages the bundle leaves to require() at run time (native addons, WebAssembly, what the modules load with createRequire). */
const EXTERNAL_PACKAGES = ['koffi', 'iced-x86', 'ajv', 'ajv/*', 'yaml', 'typescript'];

/** Replaces each built module's `import.meta.url` with its own file's URL, found from the bundle's folder at run time. */
const moduleUrls = (distDir: string): Plugin => ({
  name: 'xstate-lab-module-urls',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      const path = resolve(args.path);
      if (relative(distDir, path).startsWith('..')) return undefined;
      const text = readFileSync(path, 'utf8');
      const rel = relative(EXEC_BUNDLE_DIR, path);
      const out = text.replaceAll('import.meta.url', `${MODULE_URL_FUNCTION}(${JSON.stringify(rel)})`);
      // Anything else of import.meta would be undefined in a CommonJS script: refuse to build.
      const left = /import\.meta\b/.exec(out);
      if (left) throw new Error(`${path}: import.meta used other than as import.meta.url; the exec bundle (src/build-exec-bundle.ts) cannot carry it`);
      return { contents: out, loader: 'js' };
    });
  },
});

/** Writes dist/exec-bundle/ (the script and its manifest); returns the script's path. */
export async function buildExecBundle(): Promise<string> {
  const distDir = join(PACKAGE_ROOT, 'dist');
  const entry = join(distDir, 'src', 'cli-main.js');
  mkdirSync(EXEC_BUNDLE_DIR, { recursive: true });
  const out = join(EXEC_BUNDLE_DIR, EXEC_BUNDLE_FILE);
  const tmp = `${out}.${process.pid}.tmp`;
  const r = await build({
    entryPoints: [entry],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    charset: 'ascii',
    target: 'node20',
    // Function and class names as in the modules (messages and stack traces name them).
    keepNames: true,
    // No comments or indentation: the script is read and kept in one-byte form (ASCII) and smaller.
    minifyWhitespace: true,
    external: EXTERNAL_PACKAGES,
    banner: { js: `const ${MODULE_URL_FUNCTION} = (rel) => require('node:url').pathToFileURL(require('node:path').join(__dirname, rel)).href;` },
    plugins: [moduleUrls(distDir)],
    metafile: true,
    logLevel: 'error',
    write: true,
  });
  // The manifest: every input's size and modification time (src/exec-bundle.ts uses the bundle
  // only while they are unchanged, so a build with tsc alone runs the modules instead).
  const inputs: [string, number, number][] = Object.keys(r.metafile.inputs).map((p) => {
    const abs = resolve(p);
    const s = statSync(abs);
    return [relative(EXEC_BUNDLE_DIR, abs), s.size, s.mtimeMs];
  });
  // src/exec-bundle.ts reads the script as Latin-1 (a one-byte string, no UTF-8 decoding): esbuild
  // escapes every other character in code (charset ascii) and minifyWhitespace drops the comments.
  const nonAscii = readFileSync(tmp).findIndex((b) => b > ASCII_MAX);
  if (nonAscii >= 0) throw new Error(`${out}: a character outside ASCII at byte ${nonAscii}; src/exec-bundle.ts reads the bundle as ASCII`);
  renameSync(tmp, out);
  const s = statSync(out);
  const digest = createHash('sha256').update(readFileSync(out)).digest('hex');
  const manifest: ExecBundleManifest = { format: EXEC_BUNDLE_FORMAT, bundle: [EXEC_BUNDLE_FILE, s.size, s.mtimeMs], digest, inputs };
  const mtmp = join(EXEC_BUNDLE_DIR, `${EXEC_BUNDLE_MANIFEST}.${process.pid}.tmp`);
  writeFileSync(mtmp, JSON.stringify(manifest));
  renameSync(mtmp, join(EXEC_BUNDLE_DIR, EXEC_BUNDLE_MANIFEST));
  return out;
}
