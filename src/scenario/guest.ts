/**
 * Guest programs in scenarios: a C file (musl-gcc -static), an assembly file or a static ELF,
 * run under `xstate-lab exec` with the scenario's CPU and kernel variant. What it prints as
 * `key: value` lines becomes observations; so do its exit status and the signal that killed it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { KERNEL_VARIANTS, type KernelVariant } from '../../kernel-model/variants.js';
import { threadId } from 'node:worker_threads';

/** Shells report death by signal N as 128 + N (as `exec` does). */
const SIGNAL_EXIT_BASE = 128;
const SIGNAL_NAMES: Record<number, string> = { 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM', 24: 'SIGXCPU' };
/** A guest gets this long (wall clock) before the step fails; its own budget is --max-insns. */
const GUEST_TIMEOUT_MS = 120_000;

function cacheDir(): string {
  const d = process.env.XSTATE_LAB_CACHE ?? join(homedir() || tmpdir(), '.cache', 'xstate-lab', 'guests');
  mkdirSync(d, { recursive: true });
  return d;
}

/** A guest's source reaches outside the folder it must stay in (a header included from elsewhere). */
export class GuestSourceError extends Error {}

/** What the cache key covers besides the sources: bump when the build changes. */
const BUILD_KEY = 'musl-gcc -static -O2 v2';

/** The files a C guest is built from: the source and its non-system headers (`musl-gcc -MM`), as real paths. */
export function guestSources(path: string): string[] {
  const r = spawnSync('musl-gcc', ['-MM', basename(path)], { cwd: dirname(path), encoding: 'utf8' });
  if (r.error) throw new Error(`musl-gcc not found (apt-get install -y musl-tools): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`musl-gcc -MM ${path} failed:\n${r.stderr}`);
  // Make syntax: "guest.o: guest.c a.h \<newline> b.h", spaces in names escaped as "\ ".
  const deps = r.stdout.replace(/\\\n/g, ' ').replace(/^[^:]*:/, '').split(/(?<!\\)\s+/).filter(Boolean);
  return deps.map((d) => realpathSync(resolve(dirname(path), d.replace(/\\ /g, ' '))));
}

/**
 * The executable for a guest source: C is compiled once per hash of the source and every header
 * it includes from outside the system directories (an edited header rebuilds it); .S/.s and ELF
 * files are run as they are. `folder`: the sources must all be inside it (a scenario's folder).
 */
export function guestExecutable(path: string, folder?: string): string {
  if (extname(path) !== '.c') return path;
  const sources = guestSources(path);
  const hash = createHash('sha256').update(BUILD_KEY);
  for (const f of sources) {
    if (folder !== undefined) {
      const rel = relative(folder, f);
      if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw new GuestSourceError(`${path} includes ${f}, outside the scenario's folder (${folder})`);
    }
    hash.update(`\0${f === path ? '' : relative(dirname(path), f)}\0`).update(readFileSync(f));
  }
  const out = join(cacheDir(), `${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(out)) return out;
  // Worker threads share the pid: the thread id keeps two builds of one source apart.
  const tmp = `${out}.${process.pid}.${threadId}.tmp`;
  const r = spawnSync('musl-gcc', ['-static', '-O2', '-o', tmp, path], { encoding: 'utf8' });
  if (r.error) throw new Error(`musl-gcc not found (apt-get install -y musl-tools): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`musl-gcc ${path} failed:\n${r.stderr}`);
  renameSync(tmp, out);
  return out;
}

export interface GuestResult {
  exit: string;
  lines: Record<string, string>;
  stderr: string;
}

/** Run a guest under exec with a CPU profile and kernel variant; `files`: names (relative to the scenario's folder) it may open. */
export function runGuest(scenarioFile: string, program: string, args: string[], cpu: string, kernel: KernelVariant, files: readonly string[] = []): GuestResult {
  const folder = realpathSync(dirname(resolve(scenarioFile)));
  const src = resolve(folder, program);
  const exe = guestExecutable(src, folder);
  const cli = join(PACKAGE_ROOT, 'dist', 'src', 'cli.js');
  // A variant that is not a named one (a patch) runs as its release's named variant with exactly its behaviours.
  const named = KERNEL_VARIANTS.find((v) => v.id === kernel.baseId) ?? KERNEL_VARIANTS.find((v) => v.release === kernel.release && !v.proposal) ?? KERNEL_VARIANTS[0];
  const sameBehaviours = named.behaviours.length === kernel.behaviours.length && named.behaviours.every((b) => kernel.has(b));
  const kernelArgs = sameBehaviours ? ['--kernel', named.id] : ['--kernel', named.id, '--kernel-behaviours', kernel.behaviours.join(',')];
  // Boot options and configuration (kernel-model/cpufeature.ts) go with it.
  const config = kernel.boot.text.filter((t) => t.startsWith('CONFIG_'));
  const boot = kernel.boot.text.filter((t) => !t.startsWith('CONFIG_'));
  if (boot.length) kernelArgs.push('--boot', boot.join(' '));
  for (const c of config) kernelArgs.push('--kconfig', c);
  // The guest runs in the scenario's folder and opens the files it was handed by their names there.
  const fileArgs = files.flatMap((f) => ['--file', resolve(folder, f)]);
  const r = spawnSync(process.execPath, [cli, 'exec', '--cpu', cpu, ...kernelArgs, ...fileArgs, '--', exe, ...args], { cwd: folder, encoding: 'utf8', timeout: GUEST_TIMEOUT_MS, maxBuffer: 1 << 26 });
  const status = r.status ?? -1;
  const exit = status > SIGNAL_EXIT_BASE && SIGNAL_NAMES[status - SIGNAL_EXIT_BASE] ? SIGNAL_NAMES[status - SIGNAL_EXIT_BASE] : String(status);
  const lines: Record<string, string> = {};
  for (const m of (r.stdout ?? '').matchAll(/^([A-Za-z_][\w.-]*):\s*(.+)$/gm)) lines[m[1]] = m[2].trim();
  return { exit, lines, stderr: r.stderr ?? '' };
}
