/**
 * A Linux process model for static x86-64 programs: processes and threads on Machines (one
 * unicorn engine per address space), the system calls musl-static programs use, signals with
 * handlers and rt_sigreturn, and a deterministic round-robin scheduler.
 *
 * Determinism: no host clock, no host randomness, no host files but those the user named. Time
 * is a virtual clock advanced by the instructions run; getrandom and AT_RANDOM come from a fixed
 * seed; tasks run in fixed instruction quanta, round-robin by tid.
 *
 * This file holds the kernel's state; the code lives where Linux has it, one file per Linux file
 * (src/linux/kernel/signal.ts for kernel/signal.c, src/linux/fs/pipe.ts for fs/pipe.c,
 * src/linux/mm/mmap.ts for mm/mmap.c, ...). Those functions take the kernel as `this` and are
 * installed as its methods below, so they call one another as `this.name(...)`.
 */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { Machine } from '../../emulator/machine.js';
import { type FpuConfig, fpu__init_system_xstate } from '../../kernel-model/fpu-config.js';
import { type KernelView, kernelView } from '../../kernel-model/kernel-view.js';
import { KvmHost, type KvmVendorModule } from '../../kernel-model/kvm.js';
import type { KernelVariant } from '../../kernel-model/variants.js';
import type { DebugControl } from './debug.js';
import { rseqExtensible } from './kernel/rseq.js';
import { CpuTopology, MODELLED_NR_CPUS } from './kernel/sched/affinity.js';
import { CLOCK_EPOCH_NS, NS_PER_CLOCK_READ } from './kernel/time/posix-timers.js';
import { RDRAND_SEED, SplitMix64 as SplitMix64Rng, type SystemSources } from '../../emulator/general-insns.js';
import { MODELLED_NODE } from './kernel/sched/affinity.js';
import { MASK64, FIRST_PID, Task, Process } from './sched.js';
import { run, pick, tryWake, wake, wakeOnTimeout, switchTo, loadTask, block, defer, schedTarget, quantumEnd, aloneQuanta, aloneCatchUp } from './kernel/sched/core.js';
import { rseqReturnToUser } from './kernel/rseq.js';
import {
  deliverable, sendToThread, sendToProcess, deliverSignals, sigaction, findProcess, prepareSignal, doSignalStop, participateGroupStop,
  notifyParentCldstop, sleepUntilSignal, sigsuspend, sigtimedwait, dequeueSignal, signalPending, sigqueueinfo, doSigaltstack,
} from './kernel/signal.js';
import { handleXfd, raiseFault } from './arch/x86/kernel/traps.js';
import { emulate_vsyscall } from './arch/x86/entry/vsyscall/vsyscall_64.js';
import { setupFrame, sigreturn, restartForHandler, restartWithoutHandler, returnSelectors } from './arch/x86/kernel/signal.js';
import { ptraceStopTask, ptraceResume, syscallStop, syscallAfterEntryStop, tracee, ptraceSyscall, ptraceRegset, ptraceGetSyscallInfo, ptraceSetSyscallInfo,
  ptraceInitTask, ptraceEvent, ptraceExitEvent, ptraceTrapNotify, doJobctlTrap } from './kernel/ptrace.js';
import { setUserRegs, getUserRegs, getreg, putreg, peekUser, pokeUser } from './arch/x86/kernel/ptrace.js';
import { killProcess, endProcess, endTask, exitThread, wait4, waitid } from './kernel/exit.js';
import { load, freshFpu, dumpCore, loadElfBinary } from './fs/binfmt_elf.js';
import { execve } from './fs/exec.js';
import { onSyscall, prlimit, syscall, tracePid, unmodelled } from './arch/x86/entry/syscall_64.js';
import { pipeIo, sigpipe, pipe2 } from './fs/pipe.js';
import { signalfd4, signalfdRead } from './fs/signalfd.js';
import { retain, closeFd, dropReference, dup3, installFd } from './fs/file.js';
import { fcntl } from './fs/fcntl.js';
import { allowed, hostPath, isDevKvm, open } from './fs/open.js';
import { ioctl } from './fs/ioctl.js';
import { pread64, pwrite64, read, write } from './fs/read_write.js';
import { socketRead, socketReadv, socketRelease, socketWrite, sys_connect, sys_recvfrom, sys_recvmsg, sys_sendmsg, sys_sendto, sys_shutdown, sys_socket, sys_socketpair } from './net/socket.js';
import { sys_getcwd } from './fs/d_path.js';
import { writeStat, fstat, statPath, readlink, accessPath } from './fs/stat.js';
import { getdents64 } from './fs/readdir.js';
import { modify_ldt } from './arch/x86/kernel/ldt.js';
import { segmentDescriptor, vdso_encode_cpunode } from './arch/x86/kernel/cpu/common.js';
import { procLookup, procReadlink, procOpen, reopenFdTarget } from './fs/proc/base.js';
import { brk, expandStack, findFree, mmap, munmap } from './mm/mmap.js';
import { do_mprotect_pkey } from './mm/mprotect.js';
import { mremap, mremap_to } from './mm/mremap.js';
import { archPrctl, fpuXstatePrctl } from './arch/x86/kernel/process_64.js';
import { cpuTimerNsLeft, readClock, writeTimespec, readTimespec, timerCreate, timerGettime, timerSettime, timerGetoverrun, timerDelete, posixTimerNextExpiry, runPosixTimers } from './kernel/time/posix-timers.js';
import { hrtimerNanosleep } from './kernel/time/hrtimer.js';
import { itimerGet, itimerSet, getitimer, setitimer, alarm, nextRealExpiry, insnsToNextTimer, runItimers } from './kernel/time/itimer.js';
import { futex, futexWake, futexWait } from './kernel/futex.js';
import { clone, clone3, waitForVforkDone } from './kernel/fork.js';
import { core_sys_select, do_sys_poll } from './fs/select.js';
import { do_epoll_create, do_epoll_wait, epoll_ctl } from './fs/eventpoll.js';
import { do_eventfd, eventfdRead, eventfdWrite } from './fs/eventfd.js';
import { runTimerfds, timerfd_create, timerfd_gettime, timerfd_release, timerfd_settime, timerfdNextExpiry, timerfdRead, type TimerFdCtx } from './fs/timerfd.js';
import { account_user_time, checkRlimitCpu, getrusage, times } from './kernel/sched/cputime.js';
import { prctl } from './kernel/sys.js';
import { secureComputing, forceSigSeccomp, seccompExit, doSeccomp } from './kernel/seccomp.js';
export interface KernelOptions {
  cpu: CpuModel;
  /** The kernel variant (kernel-model/variants.ts): every behaviour the process model shows comes from it. */
  kernel: KernelVariant;
  /** Where an ELF core goes when the guest dies of a core-dumping signal (never overwritten); none without it. */
  core?: string;
  /** Files the guest may open, read-only (absolute paths after resolve). */
  allowedFiles: readonly string[];
  /** The KVM vendor module behind the guest's /dev/kvm; without one the guest finds no /dev/kvm (ENOENT). */
  kvmVendor?: KvmVendorModule;
  maxInsns: bigint;
  trace?: (line: string) => void;
  /** Where warnings and reports go. */
  stderr: (line: string) => void;
  /** The modelled CPU count (src/linux/kernel/sched/affinity.ts, assumption `modelled-cpus`); MODELLED_NR_CPUS without it. */
  nrCpus?: number;
  /**
   * Where descriptors 0-2 read and write: the host's own (exec) without it. A scenario's guest run
   * inside the worker gives buffers here (src/scenario/guest-in-process.ts).
   */
  stdio?: GuestStdio;
  /** The folder relative guest paths start from: the host's working directory without it (a scenario's folder in-process). */
  cwd?: string;
}

/** The guest's standard descriptors when they are not the host's (KernelOptions.stdio); `fd` is 0, 1 or 2. */
export interface GuestStdio {
  /** Bytes read into `into`; 0 at end of file. */
  read(fd: number, into: Uint8Array): number;
  /** Bytes written (all of `data`). */
  write(fd: number, data: Uint8Array): number;
}

export type RunResult =
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: number; reason: string }
  /** The model lacks an instruction, or the guest cannot go on (deadlock): a message, no guest status. */
  | { kind: 'error'; message: string }
  /** With a debugger (Kernel.debug): the guest stopped for it, or a slice ended; run() goes on when called again. */
  | { kind: 'debug-stop' };


/** splitmix64 (Steele, Lea, Flood 2014): the deterministic source of getrandom and AT_RANDOM. */
class SplitMix64 {
  s = 0x786c6162n; // "xlab"
  next(): bigint {
    this.s = (this.s + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 8) {
      let v = this.next();
      for (let k = 0; k < 8 && i + k < n; k++) { out[i + k] = Number(v & 0xffn); v >>= 8n; }
    }
    return out;
  }
}

export class Kernel {
  readonly tasks: Task[] = [];
  current: Task | undefined;
  nextPid = FIRST_PID;
  clockNs = CLOCK_EPOCH_NS;
  /** Every timerfd whose file is open (fs/timerfd.ts): the clock's events beside the itimers and POSIX timers. */
  readonly timerfds = new Set<TimerFdCtx>();
  insns = 0n;
  readonly random = new SplitMix64();
  readonly warned = new Set<number>();
  /** Warnings given once per run, by kind (an unmodelled case of a modelled call). */
  readonly warnedOnce = new Set<string>();
  init: Process | undefined;
  /** One core file per run: the first process that dies of a core-dumping signal writes it. */
  coreWritten = false;
  fatal: RunResult | undefined;
  /** A remote debugger's control (exec -g); none: the run loop never stops for one. */
  debug: DebugControl | undefined;
  /** A lone task's run of several quanta in progress (sched/core.ts aloneQuanta): the quanta settled so far. */
  aloneRun: { task: Task; machine: Machine; settled: number } | undefined;
  /** The tid the scheduler ran last (round-robin from there; kept across run() calls for the debugger). */
  lastPicked = -1;
  /** Futex waiters in the order they went to sleep. */
  futexWaiters: Task[] = [];

  /** fpu__init_system_xstate() of this CPU and variant: XCR0, IA32_XSS, the user and kernel feature sets. */
  readonly fpuCfg: FpuConfig;
  /** What this kernel shows user space of the CPU: AT_HWCAP/AT_HWCAP2/AT_MINSIGSTKSZ and the CR4 bits it sets. */
  readonly view: KernelView;

  /** The modelled CPUs (assumption `modelled-cpus`). */
  readonly topo: CpuTopology;
  /** The kernel has the extensible struct rseq (6.3+: AT_RSEQ_*, node_id, mm_cid). */
  readonly rseqExt: boolean;
  /** Inode numbers of pipes (pipefs). */
  nextPipeIno = 1;
  /** Files execve may run: the program named on the command line (and the --file files, KernelOptions.allowedFiles). */
  readonly execAllowed = new Set<string>();
  /** What RDTSC, RDTSCP, RDPID, RDRAND and RDSEED read (emulator/general-insns.ts). */
  readonly systemSources: SystemSources = {
    // Assumption `modelled-tsc`: the TSC counts nanoseconds of the virtual CLOCK_MONOTONIC (a
    // 1 GHz invariant TSC); a read advances the clock as a clock_gettime does.
    readTsc: () => { this.aloneCatchUp(); this.clockNs += NS_PER_CLOCK_READ; return this.clockNs - CLOCK_EPOCH_NS; },
    // setup_getcpu (arch/x86/kernel/cpu/common.c, 6.18) writes MSR_TSC_AUX = vdso_encode_cpunode(cpu, node).
    tscAux: () => vdso_encode_cpunode(this.current?.cpu ?? 0, MODELLED_NODE),
    random64: () => this.rdrand.next(),
    // LAR/LSL/VERR/VERW: the GDT of the current task's CPU and its process's LDT.
    descriptor: (sel) => this.segmentDescriptor(this.current, sel),
  };
  /** RDRAND/RDSEED's generator: fixed seed, one stream per kernel (determinism). */
  private readonly rdrand = new SplitMix64Rng(RDRAND_SEED);
  /** ITIMER_REAL fires in a row while every task sleeps (kernel/sched/core.ts wakeOnTimeout). */
  idleTimerFires = 0;

  constructor(readonly o: KernelOptions) {
    this.topo = new CpuTopology(o.nrCpus ?? MODELLED_NR_CPUS);
    this.rseqExt = rseqExtensible(o.kernel.release);
    this.fpuCfg = fpu__init_system_xstate(o.cpu, o.kernel);
    this.view = kernelView(o.cpu, o.kernel, this.fpuCfg);
  }

  kvmWarned = false;

  newKvmHost(): KvmHost {
    return new KvmHost(this.o.cpu, this.o.kernel, this.o.kvmVendor);
  }

  readonly kvmWarnings = new Set<string>();
  /** One warning per kind for what a tracer asks that the model cannot show (arch/x86/kernel/ptrace.ts). */
  readonly ptraceWarned = new Set<string>();

  /** Close every engine (after run). */
  dispose(): void {
    const seen = new Set<Machine>();
    for (const t of this.tasks) {
      const m = t.proc.machine;
      if (seen.has(m) || m.uc.closed) continue;
      seen.add(m);
      m.close();
    }
  }
}

/** Every subsystem function, installed as a method of Kernel (declaration merging below). */
const kernelMethods = {
  run, pick, tryWake, wake, wakeOnTimeout, switchTo, loadTask, block, defer, schedTarget, quantumEnd, aloneQuanta, aloneCatchUp,
  rseqReturnToUser,
  deliverable, sendToThread, sendToProcess, deliverSignals, sigaction, findProcess, prepareSignal, doSignalStop, participateGroupStop,
  notifyParentCldstop, sleepUntilSignal, sigsuspend, sigtimedwait, dequeueSignal, signalPending, sigqueueinfo, doSigaltstack,
  handleXfd, raiseFault, emulate_vsyscall,
  setupFrame, sigreturn, restartForHandler, restartWithoutHandler, returnSelectors,
  ptraceStopTask, ptraceResume, syscallStop, syscallAfterEntryStop, tracee, ptraceSyscall, ptraceRegset, ptraceGetSyscallInfo, ptraceSetSyscallInfo,
  ptraceInitTask, ptraceEvent, ptraceExitEvent, ptraceTrapNotify, doJobctlTrap,
  setUserRegs, getUserRegs, getreg, putreg, peekUser, pokeUser,
  killProcess, endProcess, endTask, exitThread, wait4, waitid,
  load, freshFpu, dumpCore, loadElfBinary,
  execve,
  onSyscall, syscall, tracePid, unmodelled, prlimit,
  pipeIo, sigpipe, pipe2,
  signalfd4, signalfdRead,
  retain, closeFd, dropReference, dup3, installFd,
  fcntl,
  allowed, hostPath, isDevKvm, open,
  ioctl,
  read, write, pread64, pwrite64, sys_getcwd,
  sys_socket, sys_connect, socketRead, socketReadv, socketWrite, socketRelease, sys_socketpair, sys_sendto, sys_recvfrom, sys_sendmsg, sys_recvmsg, sys_shutdown,
  writeStat, fstat, statPath, readlink, accessPath,
  getdents64,
  modify_ldt, segmentDescriptor,
  procLookup, procReadlink, procOpen, reopenFdTarget,
  brk, expandStack, findFree, mmap, munmap, do_mprotect_pkey,
  mremap, mremap_to,
  archPrctl, fpuXstatePrctl,
  account_user_time, checkRlimitCpu, getrusage, times, cpuTimerNsLeft,
  readClock, writeTimespec, readTimespec, timerCreate, timerGettime, timerSettime, timerGetoverrun, timerDelete, posixTimerNextExpiry, runPosixTimers,
  hrtimerNanosleep,
  itimerGet, itimerSet, getitimer, setitimer, alarm, nextRealExpiry, insnsToNextTimer, runItimers,
  futex, futexWake, futexWait,
  clone, clone3, waitForVforkDone,
  do_sys_poll, core_sys_select,
  do_epoll_create, epoll_ctl, do_epoll_wait,
  do_eventfd, eventfdRead, eventfdWrite,
  timerfd_create, timerfd_settime, timerfd_gettime, timerfdRead, timerfd_release, timerfdNextExpiry, runTimerfds,
  secureComputing, forceSigSeccomp, seccompExit, doSeccomp, prctl,
};
type KernelMethods = typeof kernelMethods;
export interface Kernel extends KernelMethods {}
Object.assign(Kernel.prototype, kernelMethods);
