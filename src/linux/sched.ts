/**
 * The task and the process (include/linux/sched.h task_struct, include/linux/sched/signal.h
 * signal_struct, include/linux/fdtable.h files_struct), and the small helpers every subsystem file
 * of the process model uses.
 */
import { GUEST_PAGE, Machine } from '../../emulator/machine.js';
import { type UnicornContext, X86Reg } from '../../emulator/unicorn.js';
import { XsaveContext } from '../../emulator/xsave.js';
import { TaskFpu } from '../../kernel-model/fpstate.js';
import { KvmHost } from '../../kernel-model/kvm.js';
import { Errno, NSIG, SIG_DFL, SS_DISABLE, Sig } from './abi.js';
import type { PipeFile } from './fs/pipe.js';
import type { SignalFile } from './fs/signalfd.js';
import type { EventFdFile } from './fs/eventfd.js';
import type { EpollFile } from './fs/eventpoll.js';
import type { TimerFdFile } from './fs/timerfd.js';
import type { SocketFile } from './net/socket.js';
import { WaitQueueHead } from './kernel/sched/wait.js';
import type { RseqRegistration } from './kernel/rseq.js';
import type { ItimerState } from './kernel/time/itimer.js';
import type { PosixTimer } from './kernel/time/posix-timers.js';
import type { KvmFile } from './kvm-dev.js';
import { initRlimits, type Rlim } from './kernel/sys.js';
import { mmPkeysInit, type MmPkeys } from './arch/x86/mm/pkeys.js';
import type { SigInfo } from './signal-frame.js';
import { ThreadDebugRegs } from './arch/x86/kernel/hw_breakpoint.js';
import { type SegmentSelectors, initialSelectors } from './arch/x86/kernel/ptrace.js';
import { type SeccompState, seccompInit } from './kernel/seccomp.js';

/** The 64-bit mask of a register value. */
export const MASK64 = (1n << 64n) - 1n;
/** First pid; threads and children count up from here. */
export const FIRST_PID = 1000;
/** A system call's error return: -errno. */
export const neg = (e: Errno): bigint => -BigInt(e);
/** A length rounded up to whole pages (PAGE_ALIGN). */
export const pageAlign = (v: bigint): bigint => (v + GUEST_PAGE - 1n) & ~(GUEST_PAGE - 1n);
/** A signal's bit in a sigset_t (sigmask(): bit sig - 1). */
export const sigBit = (sig: number): bigint => 1n << BigInt(sig - 1);
/** SIGKILL and SIGSTOP: never blocked, caught or ignored (kernel/signal.c sigdelsetmask(..., sigmask(SIGKILL) | sigmask(SIGSTOP))). */
export const UNBLOCKABLE = sigBit(Sig.SIGKILL) | sigBit(Sig.SIGSTOP);

export interface SigAction { handler: bigint; flags: bigint; restorer: bigint; mask: bigint }
/** `traced`: the tracer already saw (or injected) it at a signal-delivery stop. */
export interface PendingSignal {
  info: SigInfo; forced: boolean;
  /** A guest tracer already saw it. */
  traced?: boolean;
  /** The remote debugger (src/linux/debug.ts) already saw it. */
  debugSeen?: boolean;
  /** Run when the signal is dequeued (a POSIX timer's: its overrun, its rearm); undefined drops it (a stale timer signal). */
  onDequeue?: (info: SigInfo) => SigInfo | undefined;
}
/** A syscall the task sleeps in: `retry` returns the result once it can complete. */
export interface Wait {
  what: string;
  retry?: () => bigint | undefined;
  futex?: { machine: Machine; addr: bigint };
  /**
   * Virtual-clock deadline; `onTimeout` gives the result then. A `retry` that the passage of time
   * alone can satisfy must give its time here or in `cpuExpiry`: a lone task's run of several
   * quanta ends where it is reached (sched/core.ts aloneQuanta).
   */
  deadline?: bigint;
  /** A CPU clock's expiry that `retry` waits for (clock_nanosleep on a CPU clock): its sample and the expiry, in ns. */
  cpuExpiry?: { sample: () => bigint; at: bigint };
  onTimeout?: () => bigint;
  /** The result when a signal interrupts the sleep (`restart` without it; a pipe write gives what it wrote). */
  interrupted?: () => bigint;
  /** The restart errno (src/linux/errno.ts) an interrupted sleep returns; ERESTARTSYS without it. */
  restart?: number;
  /** TASK_KILLABLE: only SIGKILL ends the sleep early (a vfork parent's wait_for_vfork_done). */
  killable?: boolean;
}

/**
 * Which task each engine holds (the CPU an address space is loaded on): a property of the engine,
 * since a vfork child runs on its parent's engine (CLONE_VM) while the parent sleeps.
 */
const machineOwner = new WeakMap<Machine, Task>();

/**
 * Traced: in a ptrace stop (TASK_TRACED), until the tracer resumes it. Stopped: in a group stop
 * (TASK_STOPPED), until SIGCONT or SIGKILL.
 */
export enum TaskState { Runnable, Blocked, Traced, Dead, Stopped }

/** signal_struct flags of job control (include/linux/sched/signal.h SIGNAL_STOP_*, SIGNAL_CLD_*). */
export const SIGNAL_STOP_STOPPED = 0x1;
export const SIGNAL_STOP_CONTINUED = 0x2;
export const SIGNAL_CLD_STOPPED = 0x10;
export const SIGNAL_CLD_CONTINUED = 0x20;
export const SIGNAL_CLD_MASK = SIGNAL_CLD_STOPPED | SIGNAL_CLD_CONTINUED;

/** A ptrace stop: the signal it reports (with the event for PTRACE_EVENT_STOP), and whether wait has seen it. */
export interface PtraceStop {
  sig: number; event: number; info: SigInfo; reported: boolean; noSiginfo?: boolean;
  /** task->ptrace_message (PTRACE_GETEVENTMSG): the syscall stop's kind, a new pid, an exit status; 0 without. */
  message?: bigint;
  /** A signal-delivery stop (ptrace_signal): a resume with info's signal delivers info (PTRACE_SETSIGINFO's included). */
  delivery?: boolean;
}
/** A task's tracer and tracing state (task->ptrace, task->parent while traced). */
/** `syscalls`: SYSCALL_WORK_SYSCALL_TRACE (PTRACE_SYSCALL); `sysemu`: SYSCALL_WORK_SYSCALL_EMU (PTRACE_SYSEMU, PTRACE_SYSEMU_SINGLESTEP). */
/**
 * `interrupt`: JOBCTL_TRAP_STOP; `trapNotify`: JOBCTL_TRAP_NOTIFY (a seized tracee re-traps);
 * `listening`: JOBCTL_LISTENING (PTRACE_LISTEN: stopped, but neither waited for nor usable by ptrace).
 */
export interface Tracing {
  tracer: Process; seized: boolean; options: number; interrupt: boolean; singlestep: boolean; syscalls: boolean; sysemu?: boolean;
  trapNotify?: boolean; listening?: boolean;
}

export class Task {
  state = TaskState.Runnable;
  ctx: UnicornContext | undefined;
  /** Register values to apply the next time this task is put on its CPU. */
  readonly pendingRegs = new Map<X86Reg, bigint>();
  /** Work to do on the task once the engine has stopped (sigreturn, clone, fork). */
  deferred: (() => bigint | undefined) | undefined;
  sigmask = 0n;
  readonly pending: PendingSignal[] = [];
  altstack = { sp: 0n, size: 0n, flags: SS_DISABLE };
  clearChildTid = 0n;
  wait: Wait | undefined;
  /** pt_regs.orig_ax: the system call being made, -1 after a fault or interrupt. */
  origRax = -1n;
  ptrace: Tracing | undefined;
  ptraceStop: PtraceStop | undefined;
  /** PTRACE_SYSCALL: the system call stopped at its entry runs when the task is next scheduled; then its exit stop is due. */
  syscallAfterEntryStop = false;
  syscallExitStopDue = false;
  /** The system call stopped at entry under SYSCALL_WORK_SYSCALL_EMU: it is not made (syscall_trace_enter returns -1). */
  syscallEmulated = false;
  /** A system call's return value that reaches RAX only once the ptrace event stop inside it ends (regs->ax is -ENOSYS at the stop). */
  raxAfterStop: bigint | undefined;
  /** do_exit()'s rest after its PTRACE_EVENT_EXIT stop. */
  exitAfterStop: (() => void) | undefined;
  /** What a system call does once the ptrace event stop inside it ends (a vfork parent's wait after PTRACE_EVENT_VFORK). */
  afterEventStop: (() => void) | undefined;
  /** task_cpu() and cpus_mask (src/linux/kernel/sched/affinity.ts). */
  cpu = 0;
  cpusMask = 0n;
  /** The registered struct rseq, and what is due on the next return to user space (kernel/rseq.ts). */
  rseq: RseqRegistration | undefined;
  rseqEvent = false;
  rseqNotify = false;
  /** mm_cid: the lowest concurrency id free in the process when the task was created (assumption `mm-cid-lowest-free`). */
  mmCid = 0;
  /** JOBCTL_STOP_PENDING: this thread is to take part in its group's stop. */
  jobctlStopPending = false;
  /** JOBCTL_STOP_SIGMASK: the signal of the last group stop this thread was part of. */
  jobctlStopSig = 0;
  /** TIF_RESTORE_SIGMASK with current->saved_sigmask: the mask rt_sigsuspend / rt_sigtimedwait replaced. */
  savedSigmask: bigint | undefined;
  /** real_blocked: the mask rt_sigtimedwait keeps while it unblocks the set it waits for. */
  realBlocked = 0n;
  /** current->restart_block.fn: what restart_syscall runs after -ERESTART_RESTARTBLOCK. */
  restartBlock: (() => bigint | 'stop') | undefined;
  /** The selectors ptrace shows and sets (arch/x86/kernel/ptrace.ts), and the debug registers a tracer wrote (thread_struct). */
  segs: SegmentSelectors = initialSelectors();
  debugRegs = new ThreadDebugRegs();
  /**
   * thread.trap_nr, thread.error_code and thread.cr2 (arch/x86/include/asm/processor.h): set by the
   * last exception that signalled this thread, written into every signal frame's sigcontext.
   */
  trapNr = 0;
  errorCode = 0;
  cr2 = 0n;
  /** The thread's CPU time in ns (se.sum_exec_runtime; kernel/sched/cputime.ts). */
  cpuNs = 0n;
  /** task->seccomp (mode and filter chain, kernel/seccomp.ts) and PFA_NO_NEW_PRIVS: inherited by fork and clone, kept by exec. */
  seccomp: SeccompState = seccompInit();
  noNewPrivs = false;
  /** The system call held at a PTRACE_EVENT_SECCOMP stop: run the filters again once the tracer resumes (__seccomp_filter's recheck_after_trace). */
  seccompRecheck = false;
  constructor(readonly tid: number, public proc: Process, public fpu: XsaveContext, public kfpu: TaskFpu) {}
}

export interface OpenFile { kind: 'host'; hostFd: number }
/** A file held in memory: a named file's bytes, or a /proc file (`proc`: its text is made again on a read from offset 0; `list`: a directory's names; fs/proc/base.ts). */
export interface MemFile { kind: 'file'; path: string; data: Buffer; pos: number; proc?: { make: () => Uint8Array; list?: () => string[] } }
export type FileRef = OpenFile | MemFile | KvmFile | PipeFile | SignalFile | EventFdFile | EpollFile | TimerFdFile | SocketFile;

export class Process {
  readonly threads: Task[] = [];
  readonly children: Process[] = [];
  sigactions: SigAction[] = Array.from({ length: NSIG + 1 }, () => ({ handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n }));
  files = new Map<number, FileRef>();
  /** sighand->signalfd_wqh: what a signalfd's poll registers on; every signal queued to a thread of the group wakes it (signalfd_notify). */
  readonly signalfdWait = new WaitQueueHead();
  /** current->fs->umask: 0022 at start (named assumption `umask-022`, the value init and most shells give), inherited by fork. */
  umask = 0o022;
  /** Descriptors with FD_CLOEXEC. */
  cloexec = new Set<number>();
  brkStart = 0n;
  /** mm->start_data and mm->end_data (load_elf_binary): the highest PT_LOAD start and end of file data, for check_data_rlimit. */
  startData = 0n;
  endData = 0n;
  brk = 0n;
  /** Which task the engine of this address space holds (shared by a vfork child and its parent). */
  get loaded(): Task | undefined { return this.machine ? machineOwner.get(this.machine) : undefined; }
  set loaded(t: Task | undefined) {
    if (!this.machine) return;
    if (t) machineOwner.set(this.machine, t);
    else machineOwner.delete(this.machine);
  }
  /** A CLONE_VFORK child's completion (task->vfork_done): set when it execs or exits (complete_vfork_done). */
  vforkDone: { done: boolean } | undefined;
  exit: { code: number } | { signal: number; reason: string } | undefined;
  reaped = false;
  /** Signal the parent gets when this process exits (clone's CSIGNAL byte; SIGCHLD for fork). */
  exitSignal = Sig.SIGCHLD as number;
  /** What a core dump names: the auxv words, the command line and the program (mm->saved_auxv, psargs, comm). */
  auxv: bigint[] = [];
  argv: string[] = [];
  /** mm->arg_start / arg_end: where argv's strings lie (/proc/<pid>/cmdline reads them live). */
  argStart = 0n;
  argEnd = 0n;
  /** mm->context.ldt: the LDT's descriptors, undefined until modify_ldt writes one (arch/x86/kernel/ldt.ts). */
  ldt: bigint[] | undefined;
  exe = '';
  /** The program's file mappings (NT_FILE): address range and the file offset of its start. */
  fileMaps: { start: bigint; end: bigint; offset: bigint }[] = [];
  exePath = '';
  /** This process's KVM: kvm_caps and fpu->guest_perm of the group leader (ARCH_{GET,REQ}_XCOMP_GUEST_PERM, locked by the first vCPU). */
  kvm!: KvmHost;
  /** Job control (signal_struct): SIGNAL_* flags, group_stop_count, group_exit_code (the stop signal until a wait reports it). */
  stopFlags = 0;
  groupStopCount = 0;
  groupExitCode = 0;
  /** ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF (signal_struct real_timer, it[]; kernel/time/itimer.ts). */
  /** signal_struct shared_pending: process-directed signals, taken after the thread's own (dequeue_signal). */
  readonly sharedPending: PendingSignal[] = [];
  /** POSIX timers (signal_struct posix_timers, next_posix_timer_id; kernel/time/posix-timers.ts). */
  readonly posixTimers = new Map<number, PosixTimer>();
  nextTimerId = 0;
  readonly itimers: ItimerState[] = [{ value: 0n, interval: 0n }, { value: 0n, interval: 0n }, { value: 0n, interval: 0n }];
  /** signal_struct rlim[]: inherited by fork, kept by exec (kernel/sys.ts do_prlimit). */
  rlimits: Rlim[] = initRlimits();
  /** The process's CPU time in ns, its gone threads' included (kernel/sched/cputime.ts), and its reaped children's (signal->cutime). */
  cpuNs = 0n;
  childrenCpuNs = 0n;
  /** mm->context's protection keys (arch/x86/mm/pkeys.ts): copied by fork, new at exec. */
  pkeys: MmPkeys = mmPkeysInit(false);
  constructor(readonly pid: number, public machine: Machine, public parent: Process | undefined) {}
  get alive(): boolean { return this.exit === undefined; }
}
