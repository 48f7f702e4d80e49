/**
 * Real programs as referees (issue 11 item 4): the ordinary C programs of test/programs/, built
 * with `gcc -static` (glibc) and `musl-gcc -static`, the vector-loop programs also for
 * -march=x86-64-v3, x86-64-v4 and sapphirerapids, run natively and under `exec --cpu P`.
 *
 * What a cell is compared with (stdout and exit status):
 * - `--cpu host`: the same binary run natively.
 * - another profile P: the output a native run gives where it does not depend on the CPU. The
 *   programs print nothing CPU-specific; the CPU reaches their output only through glibc's
 *   implementation choices (its ifuncs pick libm's FMA variants, which round differently from the
 *   SSE2 ones) and through the instructions a -march build contains. So the native run is made
 *   with GLIBC_TUNABLES masking the features this host has and P lacks (glibc's own switch,
 *   glibc.cpu.hwcaps), and a build the host cannot run is replaced by the baseline build of the
 *   same program and libc, which the native checks show prints the same (-ffp-contract=off keeps
 *   the builds' arithmetic identical).
 *
 * Used by test/real-programs.test.ts (a modest matrix) and bench/programs.ts (any profiles, with
 * the histogram of instructions that stopped runs as not emulated).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { CpuModel } from '../emulator/cpu-model.js';
import { fpu__init_system_xstate } from '../kernel-model/fpu-config.js';
import { closestVariantTo } from '../kernel-model/variants.js';

/** The package root: the folder holding package.json above this file (bench/ or dist/bench/). */
function packageRoot(): string {
  let d = import.meta.dirname;
  while (!existsSync(join(d, 'package.json'))) {
    const up = dirname(d);
    if (up === d) throw new Error(`no package.json above ${import.meta.dirname}`);
    d = up;
  }
  return d;
}
export const ROOT = packageRoot();
export const PROGRAMS_DIR = join(ROOT, 'test/programs');
const CLI = join(ROOT, 'dist/src/cli.js');

export enum Libc { Glibc = 'glibc', Musl = 'musl' }
/** GCC -march values; Baseline is GCC's default for x86-64. */
export enum March { Baseline = 'x86-64', V3 = 'x86-64-v3', V4 = 'x86-64-v4', SapphireRapids = 'sapphirerapids' }
const COMPILER: Record<Libc, string> = { [Libc.Glibc]: 'gcc', [Libc.Musl]: 'musl-gcc' };
/** Programs whose point is the compiler's vectorized code: built -O3 for every March. */
export const VECTOR_LOOP_PROGRAMS: ReadonlySet<string> = new Set(['loops']);

/** A CPUID feature bit: leaf, sub-leaf, register (0 EAX .. 3 EDX), bit (SDM Vol. 2A CPUID; AMD APM Vol. 3 E.4). */
interface FeatureBit { leaf: number; sub: number; reg: number; bit: number; xcr0?: number }
/** XCR0 bits the OS must enable for AVX (SSE|YMM) and AVX-512 (+ opmask, ZMM_Hi256, Hi16_ZMM): SDM Vol. 1 14.3, 15.2. */
const XCR0_AVX = 0x6, XCR0_AVX512 = 0xe6;
const AVX512 = (reg: number, bit: number, sub = 0): FeatureBit => ({ leaf: 7, sub, reg, bit, xcr0: XCR0_AVX512 });
export const FEATURES: Record<string, FeatureBit> = {
  SSSE3: { leaf: 1, sub: 0, reg: 2, bit: 9 }, FMA: { leaf: 1, sub: 0, reg: 2, bit: 12, xcr0: XCR0_AVX }, SSE4_1: { leaf: 1, sub: 0, reg: 2, bit: 19 },
  SSE4_2: { leaf: 1, sub: 0, reg: 2, bit: 20 }, MOVBE: { leaf: 1, sub: 0, reg: 2, bit: 22 }, POPCNT: { leaf: 1, sub: 0, reg: 2, bit: 23 },
  AVX: { leaf: 1, sub: 0, reg: 2, bit: 28, xcr0: XCR0_AVX }, F16C: { leaf: 1, sub: 0, reg: 2, bit: 29, xcr0: XCR0_AVX },
  BMI1: { leaf: 7, sub: 0, reg: 1, bit: 3 }, AVX2: { leaf: 7, sub: 0, reg: 1, bit: 5, xcr0: XCR0_AVX }, BMI2: { leaf: 7, sub: 0, reg: 1, bit: 8 },
  ERMS: { leaf: 7, sub: 0, reg: 1, bit: 9 }, RTM: { leaf: 7, sub: 0, reg: 1, bit: 11 },
  AVX512F: AVX512(1, 16), AVX512DQ: AVX512(1, 17), AVX512IFMA: AVX512(1, 21), AVX512CD: AVX512(1, 28), AVX512BW: AVX512(1, 30), AVX512VL: AVX512(1, 31),
  AVX512VBMI: AVX512(2, 1), AVX512VBMI2: AVX512(2, 6), GFNI: { leaf: 7, sub: 0, reg: 2, bit: 8 }, VAES: { leaf: 7, sub: 0, reg: 2, bit: 9, xcr0: XCR0_AVX },
  VPCLMULQDQ: { leaf: 7, sub: 0, reg: 2, bit: 10, xcr0: XCR0_AVX }, AVX512VNNI: AVX512(2, 11), AVX512BITALG: AVX512(2, 12), AVX512VPOPCNTDQ: AVX512(2, 14),
  FSRM: { leaf: 7, sub: 0, reg: 3, bit: 4 }, AVX512FP16: AVX512(3, 23), AVX_VNNI: { leaf: 7, sub: 1, reg: 0, bit: 4, xcr0: XCR0_AVX }, AVX512BF16: AVX512(0, 5, 1),
  /** AMX tile state: XCR0 bits 17 (TILECFG) and 18 (TILEDATA), SDM Vol. 1 13.3. */
  AMX_TILE: { leaf: 7, sub: 0, reg: 3, bit: 24, xcr0: 0x60000 },
  LZCNT: { leaf: 0x80000001, sub: 0, reg: 2, bit: 5 }, FMA4: { leaf: 0x80000001, sub: 0, reg: 2, bit: 16, xcr0: XCR0_AVX },
};
/**
 * The features glibc 2.36's tunable glibc.cpu.hwcaps can switch off and its ifuncs consult
 * (sysdeps/x86/cpu-tunables.c, sysdeps/x86_64/multiarch/ifunc-*.h, sysdeps/x86_64/fpu/multiarch).
 */
const GLIBC_HWCAPS = ['SSSE3', 'SSE4_1', 'SSE4_2', 'POPCNT', 'MOVBE', 'AVX', 'FMA', 'FMA4', 'AVX2', 'BMI1', 'BMI2', 'LZCNT', 'ERMS', 'FSRM', 'RTM',
  'AVX512F', 'AVX512DQ', 'AVX512CD', 'AVX512BW', 'AVX512VL'];
/**
 * What each -march level requires: the x86-64 psABI micro-architecture levels (v3, v4), and for
 * sapphirerapids the vector extensions of GCC 12's PTA_SAPPHIRERAPIDS whose instructions its
 * vectorizer and _Float16 code emit.
 */
const V3 = ['AVX', 'AVX2', 'BMI1', 'BMI2', 'F16C', 'FMA', 'LZCNT', 'MOVBE'];
const V4 = [...V3, 'AVX512F', 'AVX512BW', 'AVX512CD', 'AVX512DQ', 'AVX512VL'];
export const MARCH_NEEDS: Record<March, string[]> = {
  [March.Baseline]: [],
  [March.V3]: V3,
  [March.V4]: V4,
  [March.SapphireRapids]: [...V4, 'AVX512IFMA', 'AVX512VBMI', 'AVX512VBMI2', 'AVX512VNNI', 'AVX512BITALG', 'AVX512VPOPCNTDQ', 'AVX512BF16', 'AVX512FP16',
    'AVX_VNNI', 'GFNI', 'VAES', 'VPCLMULQDQ'],
};

/** The features a CPU model offers user space: the CPUID bit, and the XCR0 bits Linux enables where the feature needs OS support. */
export function usableFeatures(cpu: CpuModel): Set<string> {
  const xcr0 = fpu__init_system_xstate(cpu, closestVariantTo(release())).xcr0;
  const osxsave = ((cpu.cpuid.get(1, 0)[2] >>> 27) & 1) === 1;
  const s = new Set<string>();
  for (const [name, f] of Object.entries(FEATURES)) {
    if (((cpu.cpuid.get(f.leaf, f.sub)[f.reg] >>> f.bit) & 1) === 0) continue;
    if (f.xcr0 !== undefined && (!osxsave || (xcr0 & f.xcr0) !== f.xcr0)) continue;
    s.add(name);
  }
  return s;
}

export interface Build {
  program: string;
  libc: Libc;
  march: March;
  /** e.g. strings.glibc, loops.musl.x86-64-v4 */
  id: string;
  flags: string[];
}

export function corpusBuilds(): Build[] {
  const programs = readdirSync(PROGRAMS_DIR).filter((f) => f.endsWith('.c')).map((f) => basename(f, '.c')).sort();
  const out: Build[] = [];
  for (const program of programs) {
    for (const libc of [Libc.Glibc, Libc.Musl]) {
      if (!VECTOR_LOOP_PROGRAMS.has(program)) {
        out.push({ program, libc, march: March.Baseline, id: `${program}.${libc}`, flags: ['-O2'] });
        continue;
      }
      for (const march of Object.values(March)) {
        out.push({ program, libc, march, id: `${program}.${libc}.${march}`, flags: ['-O3', `-march=${march}`, '-ffp-contract=off'] });
      }
    }
  }
  return out;
}

export class CorpusBuildError extends Error {}

/** Builds go to a cache folder keyed by the source, the flags and the compiler's version. */
const CACHE = join(tmpdir(), 'xstate-lab-programs');
const compilerVersions = new Map<Libc, string>();
function compilerVersion(libc: Libc): string {
  let v = compilerVersions.get(libc);
  if (v === undefined) {
    const r = spawnSync(COMPILER[libc], ['--version'], { encoding: 'utf8' });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      throw new CorpusBuildError(`${COMPILER[libc]} not found: apt-get install -y ${libc === Libc.Musl ? 'musl-tools' : 'gcc libc6-dev'}`);
    }
    v = r.stdout;
    compilerVersions.set(libc, v);
  }
  return v;
}

/** The executable of a build, compiled on first use. */
export function buildExecutable(b: Build): string {
  const src = join(PROGRAMS_DIR, `${b.program}.c`);
  const args = ['-static', ...b.flags, '-o'];
  const libs = ['-lm', '-lpthread'];
  const hash = createHash('sha256').update(readFileSync(src)).update(args.join(' ')).update(compilerVersion(b.libc)).digest('hex').slice(0, 16);
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, `${b.id}-${hash}`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(COMPILER[b.libc], [...args, tmp, src, ...libs], { encoding: 'utf8' });
  if (r.status !== 0) throw new CorpusBuildError(`${COMPILER[b.libc]} ${args.join(' ')} ${src} failed:\n${r.stderr}`);
  renameSync(tmp, out);
  return out;
}

export interface Run { stdout: string; stderr: string; status: number }
/** Shells report death by signal N as 128 + N. */
export const SIGNAL_BASE = 128;
export const SIGNUM: Record<string, number> = { SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15, SIGXCPU: 24 };
export const SIGILL_STATUS = SIGNAL_BASE + 4;

/**
 * Runs a process without blocking the event loop (vitest's worker RPC must stay responsive, and
 * spawnSync blocks it for long on a loaded machine); `env` replaces the environment when given.
 */
export function runProcess(cmd: string, args: string[], timeoutMs: number, o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: o.env, cwd: o.cwd });
    const out: Buffer[] = [], err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const status = signal ? SIGNAL_BASE + (SIGNUM[signal] ?? 0) : code ?? -1;
      resolvePromise({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), status });
    });
  });
}

/** GLIBC_TUNABLES for a native run that lets glibc see only what `target` has of what the host has. */
export function glibcMaskFor(host: Set<string>, target: Set<string>): string | undefined {
  const off = GLIBC_HWCAPS.filter((f) => host.has(f) && !target.has(f));
  return off.length ? `glibc.cpu.hwcaps=${off.map((f) => `-${f}`).join(',')}` : undefined;
}

/** Native runs, cached per (executable, tunables). A clean environment: the model's guests get none either. */
const nativeCache = new Map<string, Promise<Run>>();
export function runNative(exe: string, tunables?: string): Promise<Run> {
  const key = `${exe}\0${tunables ?? ''}`;
  let p = nativeCache.get(key);
  if (!p) {
    p = runProcess(exe, [], 60_000, { env: tunables ? { GLIBC_TUNABLES: tunables } : {} });
    nativeCache.set(key, p);
  }
  return p;
}

export function runModel(exe: string, cpu: string): Promise<Run> {
  return runProcess(process.execPath, [CLI, 'exec', '--cpu', cpu, exe], 300_000, { env: {} });
}

export enum Verdict {
  /** stdout and exit status as expected. */
  Equal = 'natively-equal',
  Different = 'different',
  /** The run stopped on an instruction the profile's CPU has and the model does not emulate. */
  Stopped = 'stopped',
  /** The tool could not go on for another reason (status 125). */
  ToolError = 'tool-error',
}
/** `exec`'s status when the tool cannot go on (src/commands/exec.ts EXIT_TOOL_FAILURE). */
const EXIT_TOOL_FAILURE = 125;
const NOT_EMULATED = /instruction not emulated: (\S+) \((.*)\) at 0x/;

export interface Cell {
  build: Build;
  /** The profile id as given to --cpu. */
  cpu: string;
  verdict: Verdict;
  /** For Stopped: the mnemonic (upper case) and the instruction's text. */
  mnemonic?: string;
  instruction?: string;
  /** What the expected output came from: the native run and its tunables, or the baseline build. */
  expectedFrom: string;
  /** For Different: the first line that differs, or the statuses. */
  detail?: string;
  model: Run;
}

export interface Expected { run: Run; from: string }

/**
 * The expected output of a build on a profile (see the file comment), or a reason it has none:
 * the profile lacks a feature the build needs.
 */
export async function expectedOutput(b: Build, cpu: string, features: Set<string>, host: Set<string>): Promise<Expected | string> {
  const lacking = MARCH_NEEDS[b.march].filter((f) => !features.has(f));
  if (lacking.length) return `${cpu} lacks ${lacking.join(', ')}`;
  const hostRuns = MARCH_NEEDS[b.march].every((f) => host.has(f));
  if (cpu === 'host') {
    if (!hostRuns) return `this host lacks ${MARCH_NEEDS[b.march].filter((f) => !host.has(f)).join(', ')}`;
    return { run: await runNative(buildExecutable(b)), from: 'native run' };
  }
  const tunables = b.libc === Libc.Glibc ? glibcMaskFor(host, features) : undefined;
  const source = hostRuns ? b : { ...b, march: March.Baseline, id: b.id.replace(b.march, March.Baseline), flags: b.flags.map((f) => (f.startsWith('-march=') ? `-march=${March.Baseline}` : f)) };
  const from = `native run${hostRuns ? '' : ` of ${source.id}`}${tunables ? ` with GLIBC_TUNABLES=${tunables}` : ''}`;
  return { run: await runNative(buildExecutable(source), tunables), from };
}

export function judge(b: Build, cpu: string, expected: Expected, model: Run): Cell {
  const base = { build: b, cpu, expectedFrom: expected.from, model };
  if (model.status === EXIT_TOOL_FAILURE) {
    const m = NOT_EMULATED.exec(model.stderr);
    if (m) return { ...base, verdict: Verdict.Stopped, mnemonic: m[1], instruction: m[2] };
    return { ...base, verdict: Verdict.ToolError, detail: model.stderr.trim().split('\n').slice(-1)[0] };
  }
  const want = expected.run;
  if (model.stdout === want.stdout && model.status === want.status) return { ...base, verdict: Verdict.Equal };
  let detail = `exit status ${model.status}, expected ${want.status}`;
  if (model.stdout !== want.stdout) {
    const a = model.stdout.split('\n'), e = want.stdout.split('\n');
    const i = a.findIndex((l, k) => l !== e[k]);
    const k = i < 0 ? a.length : i;
    detail = `line ${k + 1}: got '${(a[k] ?? '<end>').slice(0, 160)}', expected '${(e[k] ?? '<end>').slice(0, 160)}'${model.status !== want.status ? `; ${detail}` : ''}`;
  }
  return { ...base, verdict: Verdict.Different, detail };
}

/** Runs tasks with at most `jobs` at a time, keeping the order of results. */
export async function pool<T, R>(items: T[], jobs: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const k = next++;
      out[k] = await f(items[k]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return out;
}

/** Histogram of the mnemonics that stopped runs: mnemonic -> cells. */
export function notEmulatedHistogram(cells: Cell[]): [string, Cell[]][] {
  const m = new Map<string, Cell[]>();
  for (const c of cells) if (c.verdict === Verdict.Stopped) m.set(c.mnemonic!, [...(m.get(c.mnemonic!) ?? []), c]);
  return [...m.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
}

export function describeCell(c: Cell): string {
  const what = c.verdict === Verdict.Stopped ? `stopped: instruction not emulated: ${c.mnemonic} (${c.instruction})`
    : c.verdict === Verdict.Equal ? 'natively-equal' : `${c.verdict}: ${c.detail}`;
  return `${c.build.id} on ${c.cpu}: ${what}  [expected: ${c.expectedFrom}]`;
}
