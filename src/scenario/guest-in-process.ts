/**
 * A scenario's guest program run inside this process (a `run` or `run --matrix` worker) exactly as
 * a child `xstate-lab exec` would run it: the same option checks and runner (src/commands/exec.ts),
 * the same Kernel, the guest's stdio in buffers instead of pipes, relative paths from the
 * scenario's folder instead of the child's working directory, and what the command line would
 * print and return for a bad option or a tool error. A run costs its load, sweep and instructions,
 * not a process start-up (README "Speed"). test/guest-in-process.test.ts checks every guest of the
 * corpus both ways for the same bytes.
 */
import { collectCpuidWarnings } from '../../emulator/cpuid-consistency.js';
import type { CpuModel } from '../../emulator/cpu-model.js';
import { resolveCpu } from '../../emulator/profile.js';
import { keepLargeBlocksMapped } from '../../emulator/native-heap.js';
import { checkExecOptions, execOptionsFor, execProgram } from '../commands/exec.js';
import { InputError } from '../errors.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { hostCpuModel } from '../host/capture.js';
import type { GuestStdio } from '../linux/kernel.js';
import { HostProbeError, NativeBuildError } from '../native.js';
import type { GuestRequest, GuestRun } from './guest.js';

/** `--cpu host`: the capture of this machine (as src/cli.ts cpuArg). */
const HOST = 'host';
/** The status Node gives a process that ends on an uncaught exception. */
const EXIT_UNCAUGHT = 1;

/**
 * Per `--cpu` value: its model and the CPUID warnings resolving it prints in a process of its own
 * (a child `exec` prints them on every run; this process resolves each value once).
 */
const cpus = new Map<string, { model: CpuModel; warnings: string[] }>();

function cpuFor(spec: string): { model: CpuModel; warnings: string[] } {
  let c = cpus.get(spec);
  if (!c) {
    const { result, warnings } = collectCpuidWarnings(() => (spec === HOST ? hostCpuModel() : resolveCpu(spec)));
    c = { model: result, warnings };
    cpus.set(spec, c);
  }
  return c;
}

/** An error the host would give a write to the read end of the stdin pipe, or a read of the write ends. */
function badDescriptor(): Error {
  return Object.assign(new Error('EBADF: the descriptor is not open for this'), { code: 'EBADF' });
}

/**
 * Run the request here. Its stdin is at end of file (a child's empty pipe), descriptors 1 and 2
 * collect what it writes; the tool's lines (warnings, a death by signal) go to 2 in the order the
 * child would write them. A guest that dies, runs out of budget or meets an instruction the model
 * lacks is a status like the child's; so is an input error (2, one line) and a tool crash (1 and
 * the stack: the one place where the bytes cannot be the child's, whose stack names its own frames).
 */
export function runGuestInProcess(r: GuestRequest): GuestRun {
  // Without it each guest's closed engines left about a megabyte resident (emulator/native-heap.ts).
  keepLargeBlocksMapped();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdio: GuestStdio = {
    read(fd) {
      if (fd !== 0) throw badDescriptor();
      return 0;
    },
    write(fd, data) {
      if (fd === 0) throw badDescriptor();
      (fd === 2 ? err : out).push(Buffer.from(data));
      return data.length;
    },
  };
  const line = (l: string): void => { err.push(Buffer.from(`${l}\n`)); };
  let status: number;
  try {
    const checked = checkExecOptions(r.exec);
    const cpu = cpuFor(r.exec.cpu);
    for (const w of cpu.warnings) line(w);
    status = execProgram(r.exe, r.args, { ...execOptionsFor(r.exec, checked, cpu.model), io: { stdio, cwd: r.folder } });
  } catch (e) {
    // As src/cli.ts ends a command: one line and status 2 for bad input and tool errors, else Node's uncaught-exception status.
    if (e instanceof InputError || e instanceof NativeBuildError || e instanceof HostProbeError) {
      line(`xstate-lab: ${e.message}`);
      status = EXIT_USAGE;
    } else {
      line(String((e as Error).stack ?? e));
      status = EXIT_UNCAUGHT;
    }
  }
  return { status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
