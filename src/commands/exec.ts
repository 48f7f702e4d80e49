/**
 * `xstate-lab exec [--cpu CPU] [--kernel VARIANT] [--max-insns N] [--trace] [--core FILE] [--file PATH]... [-E VAR=VALUE]... [--kvm-vendor MODULE] [-g PORT] [--] PROGRAM [ARGS...]`:
 * run a static x86-64 program (or a .S/.s file, assembled on the fly) on the modelled CPU, as
 * qemu-x86_64 would: stdout/stderr pass through, the exit status is the guest's, death by a
 * signal gives 128 + signal and one line on stderr. With -g PORT the guest waits for GDB first
 * (src/gdb/stub.ts), as under qemu-x86_64 -g.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import type { CpuModel } from '../../emulator/cpu-model.js';
import { InputError } from '../errors.js';
import { assembleToElf } from '../loader/assemble.js';
import { parseElf } from '../loader/elf.js';
import { Sig } from '../linux/abi.js';
import { Kernel, type GuestStdio, type RunResult } from '../linux/kernel.js';
import { detectHostKvmVendor, kvmVendorForCpuVendor } from '../linux/kvm-dev.js';
import { DEFAULT_MAX_INSNS, KvmVendorModule, KVM_VENDOR_NONE, MAX_TCP_PORT, type ExecCommandOptions } from './exec-command.js';
import { parseKernelBoot } from '../../kernel-model/cpufeature.js';
import { BEHAVIOURS, resolveLinuxVariant, type KernelBehaviour, type KernelVariant } from '../../kernel-model/variants.js';

/** Exit status when the guest cannot go on for a reason of the tool's (an instruction the model lacks, a deadlock), as env(1) uses 125. */
export const EXIT_TOOL_FAILURE = 125;
/** Shells report death by signal N as 128 + N. */
const SIGNAL_EXIT_BASE = 128;

export interface ExecOptions {
  cpu: CpuModel;
  /** A variant id, or a variant made with other behaviours (a patch, in scenarios). */
  kernel: string | KernelVariant;
  maxInsns: bigint;
  trace: boolean;
  files: string[];
  env: string[];
  /** --core FILE: where an ELF core goes if the guest dies of a core-dumping signal. */
  core?: string;
  /** The vendor module behind the guest's /dev/kvm; undefined: the guest finds none. */
  kvmVendor?: KvmVendorModule;
  /** -g PORT: stop before the first instruction and wait for GDB on 127.0.0.1:PORT (src/gdb/stub.ts); 0 picks a free port. */
  gdbPort?: number;
  /** Without it the guest has this process's stdio and working directory; a scenario's guest run in-process has buffers and its folder. */
  io?: ExecIo;
}

/**
 * Where a guest run inside another command (a scenario's exec step, src/scenario/guest-in-process.ts)
 * reads, writes and starts its relative paths: what `exec` would have as its stdio and working
 * directory. The tool's own lines (warnings, the death report) go to descriptor 2, as in `exec`.
 */
export interface ExecIo { stdio: GuestStdio; cwd: string }

/** A line of the tool's on stderr: the process's, or the in-process guest's descriptor 2. */
function toolLine(o: ExecOptions, line: string): void {
  if (o.io) o.io.stdio.write(2, Buffer.from(`${line}\n`));
  else process.stderr.write(`${line}\n`);
}

/** Load and run; returns the process exit status. Bad input raises InputError (one line, no stack). */
export function execProgram(program: string, args: string[], o: ExecOptions): number {
  const r = withLoadedKernel(program, args, o, (kernel) => kernel.run());
  return report(program, r, o);
}

/** execProgram under a GDB stub (-g): the same, with GDB driving the run. */
export async function execProgramUnderGdb(program: string, args: string[], o: ExecOptions & { gdbPort: number }): Promise<number> {
  // The stub's modules load only when -g asks for them (start-up, README "Speed").
  const { runUnderGdb } = await import('../gdb/stub.js');
  const r = await withLoadedKernelAsync(program, args, o, (kernel) => runUnderGdb(kernel, { port: o.gdbPort, log: (l) => process.stderr.write(`xstate-lab: ${l}\n`) }));
  return report(program, r, o);
}

async function withLoadedKernelAsync(program: string, args: string[], o: ExecOptions, go: (k: Kernel) => Promise<RunResult>): Promise<RunResult> {
  let pending: Promise<RunResult> | undefined;
  let loaded: Kernel | undefined;
  // Load synchronously (input errors as for exec), then run asynchronously and dispose after.
  withLoadedKernel(program, args, o, (k) => { loaded = k; pending = go(k); return { kind: 'debug-stop' }; }, false);
  try {
    return await pending!;
  } finally {
    loaded!.dispose();
  }
}

/** Assemble (.S/.s), parse and load PROGRAM on a new kernel, then `go`; the kernel is disposed after unless `dispose` is false. */
function withLoadedKernel(program: string, args: string[], o: ExecOptions, go: (k: Kernel) => RunResult, dispose = true): RunResult {
  let exe = program;
  let tmp: string | undefined;
  const ext = extname(program);
  try {
    if (ext === '.S' || ext === '.s') {
      tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-exec-'));
      exe = assembleToElf(program, tmp);
    }
    let bytes: Uint8Array;
    try {
      if (!statSync(exe).isFile()) throw new Error('not a regular file');
      bytes = new Uint8Array(readFileSync(exe));
    } catch (e) {
      throw new InputError(program, undefined, `cannot read: ${(e as Error).message}`);
    }
    const img = parseElf(bytes, program);
    const kernel = new Kernel({
      cpu: o.cpu,
      kernel: typeof o.kernel === 'string' ? resolveLinuxVariant(o.kernel) : o.kernel,
      core: o.core,
      allowedFiles: o.files.map((f) => (o.io ? resolve(o.io.cwd, f) : resolve(f))),
      kvmVendor: o.kvmVendor,
      maxInsns: o.maxInsns,
      trace: o.trace ? (l) => toolLine(o, `[trace] ${l}`) : undefined,
      stderr: (l) => toolLine(o, l),
      stdio: o.io?.stdio,
      cwd: o.io?.cwd,
    });
    let ok = false;
    try {
      kernel.load(img, [program, ...args], o.env, program);
      const result = go(kernel);
      ok = true;
      return result;
    } finally {
      if (dispose || !ok) kernel.dispose();
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

function report(program: string, r: RunResult, o: ExecOptions): number {
  switch (r.kind) {
    case 'exit': return r.code;
    case 'signal':
      toolLine(o, `xstate-lab: ${program}: killed by ${Sig[r.signal] ?? `signal ${r.signal}`}: ${r.reason}`);
      return SIGNAL_EXIT_BASE + r.signal;
    case 'error':
      toolLine(o, `xstate-lab: ${program}: ${r.message}`);
      return EXIT_TOOL_FAILURE;
    case 'debug-stop':
      throw new Error('run() stopped for a debugger that is not attached');
  }
}

/** exec's options checked in the order `exec` reports them, up to the CPU (resolved by the caller). */
export interface CheckedExecOptions { maxInsns: bigint; gdbPort?: number; kernel: KernelVariant }

export function checkExecOptions(o: ExecCommandOptions): CheckedExecOptions {
  let maxInsns = DEFAULT_MAX_INSNS;
  if (o.maxInsns !== undefined) {
    if (!/^[0-9]+$/.test(o.maxInsns) || BigInt(o.maxInsns) === 0n) throw new InputError('<command line>', '--max-insns', `expected a positive whole number, got '${o.maxInsns}'`);
    maxInsns = BigInt(o.maxInsns);
  }
  let gdbPort: number | undefined;
  if (o.gdb !== undefined) {
    if (!/^[0-9]+$/.test(o.gdb) || Number(o.gdb) > MAX_TCP_PORT) throw new InputError('<command line>', '-g/--gdb', `expected a TCP port (0 to ${MAX_TCP_PORT}; 0 picks a free one), got '${o.gdb}'`);
    gdbPort = Number(o.gdb);
  }
  const base = resolveLinuxVariant(o.kernel);
  const kernel = bootedKernel(o.kernelBehaviours === undefined ? base : withExactly(base, o.kernelBehaviours), o.boot, o.kconfig);
  for (const e of o.env) if (!/^[^=]+=/.test(e)) throw new InputError('<command line>', '-E/--env', `'${e}': expected VAR=VALUE (a name, '=', then the value, which may be empty)`);
  if (o.core === '') throw new InputError('<command line>', '--core', 'expected a file name, got an empty one');
  if (o.core !== undefined && existsSync(o.core)) throw new InputError('<command line>', '--core', `'${o.core}' exists; a core file never overwrites one`);
  return { maxInsns, gdbPort, kernel };
}

/** The run's options once the CPU is known (`cpu`: what `--cpu o.cpu` resolved to). */
export function execOptionsFor(o: ExecCommandOptions, c: CheckedExecOptions, cpu: CpuModel): ExecOptions {
  let kvmVendor: KvmVendorModule | undefined;
  if (o.kvmVendor !== undefined) {
    const known = Object.values(KvmVendorModule) as string[];
    if (o.kvmVendor !== KVM_VENDOR_NONE && !known.includes(o.kvmVendor)) throw new InputError('<command line>', '--kvm-vendor', `unknown KVM vendor module '${o.kvmVendor}' (known: ${known.join(', ')}, ${KVM_VENDOR_NONE})`);
    kvmVendor = o.kvmVendor === KVM_VENDOR_NONE ? undefined : o.kvmVendor as KvmVendorModule;
  } else kvmVendor = o.cpu === 'host' ? detectHostKvmVendor() : kvmVendorForCpuVendor(cpu.profile.vendor);
  return { cpu, kernel: c.kernel, maxInsns: c.maxInsns, trace: !!o.trace, files: o.file, env: o.env, core: o.core === undefined ? undefined : resolve(o.core), kvmVendor };
}

/** `exec`'s action: check the options, resolve the CPU (`cpuArg`, as every other command does), run. */
export async function execCommand(prog: string, args: string[], o: ExecCommandOptions, cpuArg: (arg: string) => Promise<CpuModel>): Promise<void> {
  const c = checkExecOptions(o);
  const cpu = await cpuArg(o.cpu);
  const eo = execOptionsFor(o, c, cpu);
  if (c.gdbPort === undefined) process.exitCode = execProgram(prog, args, eo);
  else process.exitCode = await execProgramUnderGdb(prog, args, { ...eo, gdbPort: c.gdbPort });
  // A guest ran, so the code a run compiles is compiled: the exec bundle's code cache may be written now.
  (globalThis as Record<symbol, unknown>)[EXEC_GUEST_RAN] = true;
}

/**
 * Set on globalThis once `exec` has run a guest: src/exec-bundle.ts writes its code cache only
 * then, so that a run ended early (a usage error) does not leave a cache without the machine's code.
 */
export const EXEC_GUEST_RAN = Symbol.for('xstate-lab.exec.guest-ran');

/** The kernel booted with --boot and --kconfig (kernel-model/cpufeature.ts), or as it is without them. */
export function bootedKernel(v: KernelVariant, boot: string | undefined, kconfig: readonly string[]): KernelVariant {
  if (boot === undefined && kconfig.length === 0) return v;
  if (boot !== undefined && boot.trim() === '') throw new InputError('<command line>', '--boot', 'expected kernel options, got none (leave --boot out for none)');
  const b = parseKernelBoot(v, boot ?? '', kconfig);
  if ('error' in b) throw new InputError('<command line>', b.in === 'boot' ? '--boot' : '--kconfig', b.error);
  return v.withBoot(b);
}

/** The --kernel release with exactly the named behaviours (comma-separated; may be empty). */
function withExactly(base: KernelVariant, list: string): KernelVariant {
  const want = list.split(',').filter(Boolean);
  const known = new Set<string>(BEHAVIOURS.map((b) => b.id));
  for (const b of want) if (!known.has(b)) throw new InputError('<command line>', '--kernel-behaviours', `unknown behaviour '${b}'`);
  return base.with(want as KernelBehaviour[], base.behaviours.filter((b) => !want.includes(b)), `${base.id}+custom`);
}
