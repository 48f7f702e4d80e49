/**
 * Guest programs in scenarios: a C file (musl-gcc -static), an assembly file or a static ELF,
 * run as `xstate-lab exec` would run them with the scenario's CPU and kernel variant (in this
 * process since the matrix work of issue 13; a child `exec` with XSTATE_LAB_GUEST_SPAWN). What it
 * prints as `key: value` lines becomes observations; so do its exit status and the signal that killed it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { KERNEL_VARIANTS, type KernelVariant } from '../../kernel-model/variants.js';
import { threadId } from 'node:worker_threads';
import type { ExecCommandOptions } from '../commands/exec-command.js';
import { runGuestInProcess } from './guest-in-process.js';

/** Shells report death by signal N as 128 + N (as `exec` does). */
const SIGNAL_EXIT_BASE = 128;
const SIGNAL_NAMES: Record<number, string> = { 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM', 24: 'SIGXCPU' };
/**
 * A child `exec` (XSTATE_LAB_GUEST_SPAWN) gets this long (wall clock) before it is killed; a guest
 * run in-process has no wall-clock limit, only its instruction budget (exec's default --max-insns).
 */
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

/** Per C source, in this process: the files its last build hashed and their digest (the run's cache; `musl-gcc -MM` only when they changed). */
const builtGuests = new Map<string, { sources: string[]; digest: string; exe: string }>();

/** The sources' digest with the build key: names relative to the source, then contents. */
function sourcesDigest(path: string, sources: readonly string[]): string {
  const hash = createHash('sha256').update(BUILD_KEY);
  for (const f of sources) hash.update(`\0${f === path ? '' : relative(dirname(path), f)}\0`).update(readFileSync(f));
  return hash.digest('hex');
}

/**
 * The executable for a guest source: C is compiled once per hash of the source and every header
 * it includes from outside the system directories (an edited header rebuilds it); .S/.s and ELF
 * files are run as they are. `folder`: the sources must all be inside it (a scenario's folder).
 * Within one process the header list of the last build is reused while none of its files changed
 * (a matrix runs a guest hundreds of times: one `musl-gcc -MM` per source, not per cell); an edit
 * to any of them asks `musl-gcc -MM` again, as an added #include edits a listed file.
 */
export function guestExecutable(path: string, folder?: string): string {
  if (extname(path) !== '.c') return path;
  const memo = builtGuests.get(path);
  let sources: string[];
  let digest: string | undefined;
  if (memo && existsSync(memo.exe)) {
    let now: string | undefined;
    try { now = sourcesDigest(path, memo.sources); } catch { now = undefined; }
    if (now === memo.digest) { sources = memo.sources; digest = now; } else sources = guestSources(path);
  } else sources = guestSources(path);
  for (const f of sources) {
    if (folder !== undefined) {
      const rel = relative(folder, f);
      if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw new GuestSourceError(`${path} includes ${f}, outside the scenario's folder (${folder})`);
    }
  }
  digest ??= sourcesDigest(path, sources);
  const out = join(cacheDir(), `${digest.slice(0, 16)}`);
  if (!existsSync(out)) {
    // Worker threads share the pid: the thread id keeps two builds of one source apart.
    const tmp = `${out}.${process.pid}.${threadId}.tmp`;
    const r = spawnSync('musl-gcc', ['-static', '-O2', '-o', tmp, path], { encoding: 'utf8' });
    if (r.error) throw new Error(`musl-gcc not found (apt-get install -y musl-tools): ${r.error.message}`);
    if (r.status !== 0) throw new Error(`musl-gcc ${path} failed:\n${r.stderr}`);
    renameSync(tmp, out);
  }
  builtGuests.set(path, { sources, digest, exe: out });
  return out;
}

export interface GuestResult {
  exit: string;
  lines: Record<string, string>;
  stdout: string;
  stderr: string;
}

/**
 * What `exec` is asked for a scenario's guest, one description for both ways of running it: the
 * options `exec` parses (`exec`), the program (the built executable) and its arguments, and the
 * folder it runs in.
 */
export interface GuestRequest { folder: string; exe: string; args: string[]; exec: ExecCommandOptions }

/** The request for a guest of `scenarioFile` with a CPU (what `--cpu` takes) and a kernel variant; `files`: names (relative to the scenario's folder) it may open. */
export function guestRequest(scenarioFile: string, program: string, args: string[], cpu: string, kernel: KernelVariant, files: readonly string[] = []): GuestRequest {
  const folder = realpathSync(dirname(resolve(scenarioFile)));
  const exe = guestExecutable(resolve(folder, program), folder);
  // A variant that is not a named one (a patch) runs as its release's named variant with exactly its behaviours.
  const named = KERNEL_VARIANTS.find((v) => v.id === kernel.baseId) ?? KERNEL_VARIANTS.find((v) => v.release === kernel.release && !v.proposal) ?? KERNEL_VARIANTS[0];
  const sameBehaviours = named.behaviours.length === kernel.behaviours.length && named.behaviours.every((b) => kernel.has(b));
  // Boot options and configuration (kernel-model/cpufeature.ts) go with it.
  const config = kernel.boot.text.filter((t) => t.startsWith('CONFIG_'));
  const boot = kernel.boot.text.filter((t) => !t.startsWith('CONFIG_'));
  return {
    folder, exe, args,
    exec: {
      cpu, kernel: named.id, kernelBehaviours: sameBehaviours ? undefined : kernel.behaviours.join(','),
      boot: boot.length ? boot.join(' ') : undefined, kconfig: config,
      // The guest runs in the scenario's folder and opens the files it was handed by their names there.
      file: files.map((f) => resolve(folder, f)), env: [],
    },
  };
}

/** The request as `exec`'s command line (after `exec`). */
export function guestExecArgs(r: GuestRequest): string[] {
  const o = r.exec;
  const a = ['--cpu', o.cpu, '--kernel', o.kernel];
  if (o.kernelBehaviours !== undefined) a.push('--kernel-behaviours', o.kernelBehaviours);
  if (o.boot !== undefined) a.push('--boot', o.boot);
  for (const c of o.kconfig) a.push('--kconfig', c);
  for (const f of o.file) a.push('--file', f);
  return [...a, '--', r.exe, ...r.args];
}

/** What a guest run leaves: the process status as a shell sees it (128 + N for signal N; -1: none), its stdout and stderr. */
export interface GuestRun { status: number; stdout: string; stderr: string }

/** The guest as a child process: `xstate-lab exec` in the scenario's folder (the way before guests ran in-process; XSTATE_LAB_GUEST_SPAWN). */
export function runGuestSpawned(r: GuestRequest): GuestRun {
  const cli = join(PACKAGE_ROOT, 'dist', 'src', 'cli.js');
  const p = spawnSync(process.execPath, [cli, 'exec', ...guestExecArgs(r)], { cwd: r.folder, encoding: 'utf8', timeout: GUEST_TIMEOUT_MS, maxBuffer: 1 << 26 });
  return { status: p.status ?? -1, stdout: p.stdout ?? '', stderr: p.stderr ?? '' };
}

/** Set (to anything) to run scenario guests as child `exec` processes instead of in this one. */
export const GUEST_SPAWN_ENV = 'XSTATE_LAB_GUEST_SPAWN';

/** The observations of a guest run: its exit (a status, or the signal that killed it) and its `key: value` lines. */
export function guestResult(run: GuestRun): GuestResult {
  const status = run.status;
  const exit = status > SIGNAL_EXIT_BASE && SIGNAL_NAMES[status - SIGNAL_EXIT_BASE] ? SIGNAL_NAMES[status - SIGNAL_EXIT_BASE] : String(status);
  const lines: Record<string, string> = {};
  for (const m of run.stdout.matchAll(/^([A-Za-z_][\w.-]*):\s*(.+)$/gm)) lines[m[1]] = m[2].trim();
  return { exit, lines, stdout: run.stdout, stderr: run.stderr };
}

/**
 * Run a guest with a CPU profile and kernel variant, as `exec` would in the scenario's folder:
 * inside this process (src/scenario/guest-in-process.ts), or as a child `exec` with
 * XSTATE_LAB_GUEST_SPAWN set. Both give the same bytes (test/guest-in-process.test.ts).
 */
export function runGuest(scenarioFile: string, program: string, args: string[], cpu: string, kernel: KernelVariant, files: readonly string[] = []): GuestResult {
  const r = guestRequest(scenarioFile, program, args, cpu, kernel, files);
  return guestResult(process.env[GUEST_SPAWN_ENV] !== undefined ? runGuestSpawned(r) : runGuestInProcess(r));
}
