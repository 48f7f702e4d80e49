/**
 * An arm64 Linux process model: static AArch64 programs run in unicorn's AArch64 mode, one engine
 * (address space) per process, with the system calls a tracer and its tracee need (clone/fork,
 * ptrace, wait4, kill/tgkill, minimal signals, write, exit, brk/mmap and what static glibc's start-up
 * asks). The syscall path follows arch/arm64/kernel/syscall.c el0_svc_common() and the stop rules of
 * kernel-model/arm64/ptrace.ts; ptrace requests follow kernel/ptrace.c ptrace_request() and
 * arch/arm64/kernel/ptrace.c arch_ptrace().
 *
 * Scheduling is deterministic: tasks run in pid order, each for a fixed instruction quantum or
 * until it enters the kernel. Time does not pass (clock_gettime returns a counter of syscalls).
 *
 * Not modelled (each answered and reported, never guessed silently): threads (CLONE_VM), execve
 * after start, signal handlers (a caught signal ends the run with an error), seccomp (the rule that
 * seccomp stops leave x7 alone is in kernel-model/arm64/ptrace.ts and its tests), AArch32 tasks,
 * files other than stdout/stderr.
 */
import { Arm64Reg, EXCP_SWI, Prot, UnicornArm64, xReg } from '../../../emulator/unicorn-arm64.js';
import {
  Arm64StopKind, Errno, NO_SYSCALL, NT_ARM_SYSTEM_CALL, NT_PRSTATUS, ASSUMED_NT_ARM_SYSCALL_REGS, PTRACE_O_TRACESYSGOOD, PtraceSyscallDir,
  el0_svc_entry, emptyPtRegs, gpr_get, gpr_set, otherStop, ptrace_regset_len, ptrace_setoptions, report_syscall_begin, report_syscall_end,
  syscall_regs_get, syscall_regs_set, system_call_get, system_call_set, type Arm64PtRegs, type Arm64StopState,
} from '../../../kernel-model/arm64/ptrace.js';
import type { KernelVariant } from '../../../kernel-model/variants.js';
import { MMAP_BASE, PAGE, loadElf, pageDown, pageUp } from './binfmt-elf.js';
import { Nr, syscallName } from './unistd.js';
import { genericSyscallName } from './syscall-names.js';

/** include/uapi/asm-generic/signal.h numbers the model names. */
export enum Sig {
  SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7, SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10,
  SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14, SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20,
  SIGURG = 23, SIGWINCH = 28,
}
/** Signals whose default action is to be ignored (kernel/signal.c SIG_KERNEL_IGNORE_MASK). */
const IGNORED_BY_DEFAULT = new Set<number>([Sig.SIGCHLD, Sig.SIGURG, Sig.SIGWINCH, Sig.SIGCONT]);

/** include/uapi/linux/ptrace.h request numbers (arm64 adds none the model uses). */
export enum PtraceRequest {
  TRACEME = 0, PEEKTEXT = 1, PEEKDATA = 2, PEEKUSR = 3, POKETEXT = 4, POKEDATA = 5, CONT = 7, KILL = 8, SINGLESTEP = 9,
  GETREGS = 12, SETREGS = 13, ATTACH = 16, DETACH = 17, SYSCALL = 24,
  SETOPTIONS = 0x4200, GETEVENTMSG = 0x4201, GETSIGINFO = 0x4202, GETREGSET = 0x4204, SETREGSET = 0x4205,
}

/** include/uapi/linux/wait.h options. */
const WNOHANG = 1;
const WUNTRACED = 2;
/** include/uapi/linux/sched.h clone flags the model looks at. */
const CLONE_VM = 0x100;
const CLONE_THREAD = 0x10000;
const CLONE_CHILD_CLEARTID = 0x200000;
const CLONE_CHILD_SETTID = 0x1000000;
const CLONE_PARENT_SETTID = 0x100000;
const CSIGNAL = 0xff;
/** include/uapi/asm-generic/mman-common.h. */
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
/** include/uapi/linux/stat.h S_IFIFO: what fstat of stdout/stderr says (a pipe to the model). */
const S_IFIFO = 0o010000;

/** The instructions a task runs before another may run (deterministic round robin). */
const QUANTUM = 200_000;

type Phase = 'start' | 'after-entry-stop' | 'invoke' | 'exit' | 'after-exit-stop';
interface SyscallInProgress { phase: Phase; nr: number }

/** Who traces a task: another task, or the scenario itself (a tracer outside the model). */
export type Tracer = Task | 'scenario';

export class Task {
  state: 'runnable' | 'blocked' | 'stopped' | 'zombie' | 'reaped' = 'runnable';
  pt: Arm64PtRegs = emptyPtRegs();
  sys?: SyscallInProgress;
  tracer?: Tracer;
  ptraceOptions = 0;
  /** TIF_SYSCALL_TRACE (PTRACE_SYSCALL) and TIF_SINGLESTEP (PTRACE_SINGLESTEP). */
  syscallTrace = false;
  singleStep = false;
  stop?: Arm64StopState;
  /** The wait status of the current stop, until a wait4 has reported it. */
  stopStatus?: number;
  stopReported = true;
  /** The signal a signal-delivery stop is about (delivered or not by the tracer's resume). */
  stopSignal = 0;
  exitStatus = 0;
  pending: number[] = [];
  blocked = 0n;
  handlers = new Map<number, bigint>();
  clearChildTid = 0n;
  brkStart = 0n;
  brk = 0n;
  mmapNext = MMAP_BASE;
  /** What the task writes to fd 1 and 2: one sink shared with its forked children (an inherited pipe). */
  out = { text: '' };
  get output(): string { return this.out.text; }
  ptraceMessage = 0n;
  constructor(readonly pid: number, public ppid: number, readonly name: string, readonly uc: UnicornArm64, readonly program: string) {}
}

export interface Arm64RunLimits {
  /**
   * Instructions all tasks together may run before the run stops (a guest that never ends). A
   * slice that ends in a system call is not counted (unicorn does not say how many instructions
   * ran); those are bounded by maxSyscalls.
   */
  maxInsns: number;
  maxSyscalls: number;
}

/** A guest fault the model turns into a signal. */
class GuestFault extends Error {}

export class Arm64Linux {
  readonly tasks: Task[] = [];
  /** What the model met but does not model (an unmodelled syscall, a caught signal...). */
  readonly notModelled: string[] = [];
  private nextPid = 1000;
  private ticks = 0n;
  insns = 0;
  syscalls = 0;
  private svcHit = new WeakSet<Task>();

  constructor(readonly variant: KernelVariant) {}

  private note(what: string): void {
    if (!this.notModelled.includes(what)) this.notModelled.push(what);
  }

  // ---- process creation ----

  private newEngine(t: () => Task): UnicornArm64 {
    const uc = UnicornArm64.open();
    uc.hookIntr((intno) => {
      if (intno !== EXCP_SWI) throw new GuestFault(`exception ${intno}`);
      this.svcHit.add(t());
      uc.emuStop();
    });
    return uc;
  }

  /** A new process running `program` (a static AArch64 ELF), as if a parent forked and it execve'd. */
  spawn(name: string, program: string, argv: string[], tracer?: Tracer, ppid = 1): Task {
    let task!: Task;
    const uc = this.newEngine(() => task);
    task = new Task(this.nextPid++, ppid, name, uc, program);
    const img = loadElf(uc, program, argv.length ? argv : [program]);
    task.pt.pc = img.entry;
    task.pt.sp = img.sp;
    task.brkStart = task.brk = img.brk;
    this.tasks.push(task);
    this.toUser(task);
    if (tracer) {
      // PTRACE_TRACEME then execve: the tracee stops with SIGTRAP after the exec (kernel/ptrace.c
      // ptrace_event(PTRACE_EVENT_EXEC) without PTRACE_O_TRACEEXEC sends SIGTRAP).
      task.tracer = tracer;
      this.signalStop(task, Sig.SIGTRAP);
    }
    return task;
  }

  task(pid: number): Task | undefined {
    return this.tasks.find((t) => t.pid === pid && t.state !== 'reaped');
  }

  // ---- registers between the engine and pt_regs ----

  private fromUser(t: Task): void {
    for (let i = 0; i < 31; i++) t.pt.regs[i] = t.uc.regRead(xReg(i));
    t.pt.sp = t.uc.regRead(Arm64Reg.SP);
    t.pt.pc = t.uc.regRead(Arm64Reg.PC);
    // unicorn runs user code at EL1 (PSTATE 0x3c5 | NZCV); the model shows user space EL0t with NZCV (assumption: DAIF clear at EL0).
    t.pt.pstate = t.uc.regRead(Arm64Reg.NZCV) & 0xf0000000n;
  }

  private toUser(t: Task): void {
    for (let i = 0; i < 31; i++) t.uc.regWrite(xReg(i), t.pt.regs[i]);
    t.uc.regWrite(Arm64Reg.SP, t.pt.sp);
    t.uc.regWrite(Arm64Reg.PC, t.pt.pc);
    t.uc.regWrite(Arm64Reg.NZCV, t.pt.pstate & 0xf0000000n);
  }

  // ---- the scheduler ----

  /** Runs until `done()` holds, nothing can run, or the instruction budget is spent. Returns why it stopped. */
  run(done: () => boolean, limits: Arm64RunLimits): 'done' | 'idle' | 'budget' {
    for (;;) {
      if (done()) return 'done';
      const runnable = this.tasks.filter((t) => t.state === 'runnable' || (t.state === 'blocked' && this.canRetry(t)));
      if (!runnable.length) return 'idle';
      if (this.insns >= limits.maxInsns || this.syscalls >= limits.maxSyscalls) return 'budget';
      for (const t of runnable) {
        if (t.state === 'blocked') t.state = 'runnable';
        this.runTask(t);
        if (done()) return 'done';
      }
    }
  }

  /** A blocked wait4 can make progress when some child has something to report. */
  private canRetry(t: Task): boolean {
    return this.tasks.some((c) => (c.ppid === t.pid || c.tracer === t) && ((c.state === 'zombie') || (c.state === 'stopped' && !c.stopReported)));
  }

  private runTask(t: Task): void {
    if (t.sys) { this.stepSyscall(t); return; }
    if (this.deliverSignals(t)) return;
    this.svcHit.delete(t);
    let err: number;
    const before = t.uc.regRead(Arm64Reg.PC);
    const count = t.singleStep ? 1 : QUANTUM;
    try {
      err = t.uc.emuStart(before, count);
    } catch (e) {
      if (!(e instanceof GuestFault)) throw e;
      this.fromUser(t);
      this.kill(t, Sig.SIGILL);
      return;
    }
    if (err !== 0) { this.fromUser(t); this.kill(t, Sig.SIGSEGV); return; }
    this.fromUser(t);
    if (this.svcHit.has(t)) {
      this.svcHit.delete(t);
      this.syscalls++;
      t.sys = { phase: 'start', nr: 0 };
      this.stepSyscall(t);
      return;
    }
    this.insns += count; // the slice ran its whole quantum
    if (t.singleStep && t.tracer) {
      // A single-step trap: SIGTRAP, no register touched (report_syscall's comment: "pseudo-step traps ... do not nobble any registers").
      t.stop = otherStop(Arm64StopKind.SingleStep, t.ptraceOptions);
      this.enterStop(t, (Sig.SIGTRAP << 8) | 0x7f, Sig.SIGTRAP);
    }
  }

  // ---- the syscall path: el0_svc_common ----

  private stepSyscall(t: Task): void {
    const sys = t.sys!;
    for (;;) {
      switch (sys.phase) {
        case 'start': {
          const scno = Number(BigInt.asIntN(32, t.pt.regs[8])); // el0_svc_common(regs, regs->regs[8], ...): int scno
          sys.nr = scno;
          const traced = t.tracer !== undefined && t.syscallTrace;
          el0_svc_entry(t.pt, scno, traced);
          if (traced) {
            t.stop = report_syscall_begin(this.variant, t.pt, PtraceSyscallDir.ENTER, t.ptraceOptions);
            t.ptraceMessage = BigInt(t.stop.message); // PTRACE_EVENTMSG_SYSCALL_ENTRY
            sys.phase = 'after-entry-stop';
            this.enterStop(t, this.syscallStopStatus(t), Sig.SIGTRAP);
            return;
          }
          sys.phase = 'invoke';
          break;
        }
        case 'after-entry-stop':
          report_syscall_end(t.pt, t.stop!);
          t.stop = undefined;
          // syscall_trace_enter returns regs->syscallno: what NT_ARM_SYSTEM_CALL left there (x8 is not read again).
          sys.phase = t.pt.syscallno === NO_SYSCALL ? 'exit' : 'invoke';
          break;
        case 'invoke': {
          const r = this.invoke(t, t.pt.syscallno);
          if (r === 'block') { t.state = 'blocked'; return; }
          if (r === 'gone') return;
          t.pt.regs[0] = BigInt.asUintN(64, r);
          sys.phase = 'exit';
          break;
        }
        case 'exit':
          // syscall_trace_exit: a stop if TIF_SYSCALL_TRACE or TIF_SINGLESTEP is set now.
          if (t.tracer !== undefined && (t.syscallTrace || t.singleStep)) {
            t.stop = report_syscall_begin(this.variant, t.pt, PtraceSyscallDir.EXIT, t.ptraceOptions, t.singleStep && !t.syscallTrace);
            const pseudoStep = t.stop.kind === Arm64StopKind.SyscallExitPseudoStep;
            t.ptraceMessage = BigInt(t.stop.message); // PTRACE_EVENTMSG_SYSCALL_EXIT, 0 for the pseudo-step
            sys.phase = 'after-exit-stop';
            this.enterStop(t, pseudoStep ? (Sig.SIGTRAP << 8) | 0x7f : this.syscallStopStatus(t), Sig.SIGTRAP);
            return;
          }
          this.finishSyscall(t);
          return;
        case 'after-exit-stop':
          report_syscall_end(t.pt, t.stop!);
          t.stop = undefined;
          this.finishSyscall(t);
          return;
      }
    }
  }

  private finishSyscall(t: Task): void {
    t.sys = undefined;
    t.ptraceMessage = 0n;
    this.toUser(t);
  }

  /** The wait status of a syscall stop: SIGTRAP, | 0x80 with PTRACE_O_TRACESYSGOOD (kernel/ptrace.c ptrace_report_syscall). */
  private syscallStopStatus(t: Task): number {
    const sig = Sig.SIGTRAP | ((t.ptraceOptions & PTRACE_O_TRACESYSGOOD) ? 0x80 : 0);
    return (sig << 8) | 0x7f;
  }

  private enterStop(t: Task, status: number, sig: number): void {
    t.state = 'stopped';
    t.stopStatus = status;
    t.stopReported = false;
    t.stopSignal = sig;
  }

  private signalStop(t: Task, sig: number): void {
    t.stop = otherStop(Arm64StopKind.Signal, t.ptraceOptions);
    this.enterStop(t, (sig << 8) | 0x7f, sig);
  }

  /** Pending unblocked signals at the return to user space; true if the task stopped or died. */
  private deliverSignals(t: Task): boolean {
    for (let i = 0; i < t.pending.length; i++) {
      const sig = t.pending[i];
      const maskable = sig !== Sig.SIGKILL && sig !== Sig.SIGSTOP;
      if (maskable && (t.blocked & (1n << BigInt(sig - 1))) !== 0n) continue;
      t.pending.splice(i, 1);
      if (t.tracer && sig !== Sig.SIGKILL) { this.signalStop(t, sig); return true; }
      return this.act(t, sig);
    }
    return false;
  }

  /** The signal's action once no tracer holds it: default actions only. */
  private act(t: Task, sig: number): boolean {
    const handler = t.handlers.get(sig) ?? 0n;
    if (handler === 1n || (handler === 0n && IGNORED_BY_DEFAULT.has(sig))) return false; // SIG_IGN or default-ignore
    if (handler !== 0n) {
      this.note(`signal handler for signal ${sig} (the run stops: handlers are not modelled)`);
      this.kill(t, sig);
      return true;
    }
    if (sig === Sig.SIGSTOP || sig === Sig.SIGTSTP) {
      this.note('job-control stop of an untraced task');
      this.enterStop(t, (sig << 8) | 0x7f, sig);
      return true;
    }
    this.kill(t, sig);
    return true;
  }

  private kill(t: Task, sig: number): void {
    this.exit(t, sig & 0x7f);
  }

  private exit(t: Task, status: number): void {
    t.state = 'zombie';
    t.exitStatus = status;
    t.sys = undefined;
    t.uc.close();
    // Children of an exiting task are reparented to init (pid 1); tracees are released.
    for (const c of this.tasks) {
      if (c.ppid === t.pid) c.ppid = 1;
      if (c.tracer === t) { c.tracer = undefined; c.syscallTrace = c.singleStep = false; if (c.state === 'stopped') { this.resumeFromStop(c, 0); } }
    }
    // Nobody waits for a child of init or of the scenario: it is reaped at once.
    if (t.ppid === 1 && t.tracer !== 'scenario') { /* kept as zombie so the scenario can read its status */ }
  }

  // ---- system calls ----

  /** The call itself: its return value, 'block' (retry later) or 'gone' (the task exited or stopped). */
  private invoke(t: Task, nr: number): bigint | 'block' | 'gone' {
    const a = t.pt.regs;
    const neg = (e: Errno): bigint => BigInt(-e);
    this.ticks++;
    switch (nr) {
      case Nr.write: case Nr.writev: {
        const fd = Number(a[0]);
        if (fd !== 1 && fd !== 2) return neg(Errno.EINVAL);
        const chunks: { p: bigint; n: number }[] = [];
        if (nr === Nr.write) chunks.push({ p: a[1], n: Number(a[2]) });
        else {
          const iov = t.uc.tryMemRead(a[1], Number(a[2]) * 16);
          if (!iov) return neg(Errno.EFAULT);
          const dv = new DataView(iov.buffer);
          for (let i = 0; i < Number(a[2]); i++) chunks.push({ p: dv.getBigUint64(i * 16, true), n: Number(dv.getBigUint64(i * 16 + 8, true)) });
        }
        let n = 0;
        for (const c of chunks) {
          const b = t.uc.tryMemRead(c.p, c.n);
          if (!b) return n ? BigInt(n) : neg(Errno.EFAULT);
          t.out.text += Buffer.from(b).toString('utf8');
          n += c.n;
        }
        return BigInt(n);
      }
      case Nr.exit: case Nr.exit_group:
        this.exit(t, Number(a[0] & 0xffn) << 8);
        return 'gone';
      case Nr.getpid: case Nr.gettid: return BigInt(t.pid);
      case Nr.getppid: return BigInt(t.ppid);
      case Nr.getuid: case Nr.geteuid: case Nr.getgid: case Nr.getegid: return 0n;
      case Nr.set_tid_address: t.clearChildTid = a[0]; return BigInt(t.pid);
      case Nr.set_robust_list: return 0n;
      case Nr.rseq: this.note('rseq (-ENOSYS: glibc then runs without it)'); return neg(Errno.ENOSYS);
      case Nr.sched_yield: return 0n;
      case Nr.brk: {
        // mm/mmap.c brk: a request below the start or that fails leaves brk as it is; the answer is the current brk.
        const want = a[0];
        if (want >= t.brkStart && want < t.mmapNext - PAGE) {
          const oldTop = pageUp(t.brk), newTop = pageUp(want);
          if (newTop > oldTop) t.uc.memMap(oldTop, Number(newTop - oldTop), Prot.READ | Prot.WRITE);
          else if (newTop < oldTop) t.uc.memUnmap(newTop, Number(oldTop - newTop));
          t.brk = want;
        }
        return t.brk;
      }
      case Nr.mmap: {
        const len = pageUp(a[1]);
        const flags = Number(a[3]);
        if (!(flags & MAP_ANONYMOUS)) { this.note('file-backed mmap'); return neg(Errno.ENOSYS); }
        if (len === 0n) return neg(Errno.EINVAL);
        let addr: bigint;
        if (flags & MAP_FIXED) { addr = a[0]; try { t.uc.memUnmap(addr, Number(len)); } catch { /* nothing mapped there */ } }
        else { t.mmapNext -= len; addr = t.mmapNext; }
        t.uc.memMap(addr, Number(len), Prot.READ | Prot.WRITE | Prot.EXEC);
        t.uc.memProtect(addr, Number(len), protFromLinux(Number(a[2])));
        return addr;
      }
      case Nr.munmap: try { t.uc.memUnmap(pageDown(a[0]), Number(pageUp(a[1]))); } catch { /* unmapped already: Linux answers 0 too */ } return 0n;
      case Nr.mprotect: try { t.uc.memProtect(a[0], Number(pageUp(a[1])), protFromLinux(Number(a[2]))); return 0n; } catch { return neg(Errno.ENOMEM); }
      case Nr.madvise: return 0n;
      case Nr.prlimit64: {
        // RLIMIT_STACK (3) = 8 MiB, others RLIM_INFINITY: named assumption (the model's stack is 8 MiB).
        if (a[3] !== 0n) {
          const v = Number(a[1]) === 3 ? 8n << 20n : 0xffffffffffffffffn;
          const b = Buffer.alloc(16); b.writeBigUInt64LE(v, 0); b.writeBigUInt64LE(v === 8n << 20n ? 0xffffffffffffffffn : v, 8);
          if (!t.uc.tryMemWrite(a[3], b)) return neg(Errno.EFAULT);
        }
        return 0n;
      }
      case Nr.readlinkat: {
        const b = Buffer.from(t.program);
        const n = Math.min(b.length, Number(a[3]));
        if (!t.uc.tryMemWrite(a[2], b.subarray(0, n))) return neg(Errno.EFAULT);
        return BigInt(n);
      }
      case Nr.getrandom: {
        // Deterministic bytes (named assumption): a counter, not randomness.
        const n = Number(a[1]);
        const b = Buffer.alloc(n);
        for (let i = 0; i < n; i++) b[i] = (i * 37 + Number(this.ticks)) & 0xff;
        if (!t.uc.tryMemWrite(a[0], b)) return neg(Errno.EFAULT);
        return BigInt(n);
      }
      case Nr.newfstatat: case Nr.fstat: {
        const fd = Number(BigInt.asIntN(32, a[0]));
        if (fd < 0 || fd > 2) return neg(Errno.EINVAL);
        // struct stat (asm-generic/stat.h, 128 bytes): st_mode at 16 says a FIFO, st_blksize at 56 4096.
        const st = Buffer.alloc(128);
        st.writeUInt32LE(S_IFIFO | 0o600, 16);
        st.writeInt32LE(4096, 56);
        if (!t.uc.tryMemWrite(nr === Nr.fstat ? a[1] : a[2], st)) return neg(Errno.EFAULT);
        return 0n;
      }
      case Nr.ioctl: return BigInt(-25); // ENOTTY: stdout is not a terminal
      case Nr.clock_gettime: {
        const b = Buffer.alloc(16); b.writeBigInt64LE(this.ticks / 1000n, 0); b.writeBigInt64LE((this.ticks % 1000n) * 1000000n, 8);
        return t.uc.tryMemWrite(a[1], b) ? 0n : neg(Errno.EFAULT);
      }
      case Nr.rt_sigprocmask: {
        const how = Number(a[0]);
        if (a[2] !== 0n) { const b = Buffer.alloc(8); b.writeBigUInt64LE(t.blocked); if (!t.uc.tryMemWrite(a[2], b)) return neg(Errno.EFAULT); }
        if (a[1] !== 0n) {
          const b = t.uc.tryMemRead(a[1], 8);
          if (!b) return neg(Errno.EFAULT);
          const set = Buffer.from(b).readBigUInt64LE(0);
          if (how === 0) t.blocked |= set; else if (how === 1) t.blocked &= ~set; else if (how === 2) t.blocked = set; else return neg(Errno.EINVAL);
          t.blocked &= ~((1n << BigInt(Sig.SIGKILL - 1)) | (1n << BigInt(Sig.SIGSTOP - 1))); // cannot be blocked
        }
        return 0n;
      }
      case Nr.rt_sigaction: {
        const sig = Number(a[0]);
        if (sig < 1 || sig > 64 || sig === Sig.SIGKILL || sig === Sig.SIGSTOP) return neg(Errno.EINVAL);
        if (a[2] !== 0n) { const b = Buffer.alloc(32); b.writeBigUInt64LE(t.handlers.get(sig) ?? 0n, 0); if (!t.uc.tryMemWrite(a[2], b)) return neg(Errno.EFAULT); }
        if (a[1] !== 0n) { const b = t.uc.tryMemRead(a[1], 8); if (!b) return neg(Errno.EFAULT); t.handlers.set(sig, Buffer.from(b).readBigUInt64LE(0)); }
        return 0n;
      }
      case Nr.kill: case Nr.tgkill: case Nr.tkill: {
        const pid = Number(BigInt.asIntN(32, nr === Nr.tgkill ? a[1] : a[0]));
        const sig = Number(nr === Nr.tgkill ? a[2] : a[1]);
        const target = this.task(pid);
        if (!target || target.state === 'zombie') return neg(Errno.ESRCH);
        if (sig < 0 || sig > 64) return neg(Errno.EINVAL);
        if (sig === 0) return 0n;
        this.sendSignal(target, sig);
        return 0n;
      }
      case Nr.clone: return this.clone(t, a[0]);
      case Nr.wait4: return this.wait4(t, Number(BigInt.asIntN(32, a[0])), a[1], Number(a[2]));
      case Nr.ptrace: return this.ptrace(t, Number(a[0]), Number(BigInt.asIntN(32, a[1])), a[2], a[3]);
      case Nr.uname: {
        const b = Buffer.alloc(65 * 6);
        ['Linux', 'xstate-lab', this.variant.release, '#1 SMP (model)', 'aarch64', '(none)'].forEach((s, i) => b.write(s, i * 65));
        return t.uc.tryMemWrite(a[0], b) ? 0n : neg(Errno.EFAULT);
      }
      default:
        // A number outside the table (a user-issued syscall(-1) included) or one it leaves unassigned is
        // the kernel's own ENOSYS (invoke_syscall -> do_ni_syscall / sys_ni_syscall); a call the table has is one the model lacks.
        if (genericSyscallName(nr) !== undefined) this.note(`${syscallName(nr)} (-ENOSYS)`);
        return neg(Errno.ENOSYS);
    }
  }

  private sendSignal(target: Task, sig: number): void {
    if (sig === Sig.SIGKILL) { this.kill(target, sig); return; }
    target.pending.push(sig);
    if (target.state === 'blocked') target.state = 'runnable';
  }

  /** clone() as glibc's fork() calls it: a new address space copied from the parent. Threads are not modelled. */
  private clone(t: Task, flags: bigint): bigint {
    const f = Number(flags & 0xffffffffn);
    if (f & (CLONE_VM | CLONE_THREAD)) { this.note('clone with CLONE_VM/CLONE_THREAD (threads)'); return BigInt(-Errno.ENOSYS); }
    let child!: Task;
    const uc = this.newEngine(() => child);
    child = new Task(this.nextPid++, t.pid, `${t.name}.child`, uc, t.program);
    for (const r of t.uc.memRegions()) {
      const size = Number(r.end - r.begin + 1n);
      uc.memMap(r.begin, size, Prot.ALL);
      uc.memWrite(r.begin, t.uc.memRead(r.begin, size));
      uc.memProtect(r.begin, size, r.perms);
    }
    uc.regWrite(Arm64Reg.TPIDR_EL0, t.uc.regRead(Arm64Reg.TPIDR_EL0));
    child.pt = { ...t.pt, regs: [...t.pt.regs] };
    child.pt.regs[0] = 0n; // the child's clone returns 0
    child.brkStart = t.brkStart; child.brk = t.brk; child.mmapNext = t.mmapNext;
    child.handlers = new Map(t.handlers); child.blocked = t.blocked;
    child.out = t.out;
    const a = t.pt.regs;
    const tid = Buffer.alloc(4); tid.writeInt32LE(child.pid);
    // arm64 clone(flags, newsp, parent_tidptr, tls, child_tidptr) (CONFIG_CLONE_BACKWARDS).
    if (f & CLONE_PARENT_SETTID) t.uc.tryMemWrite(a[2], tid);
    if (f & CLONE_CHILD_SETTID) uc.tryMemWrite(a[4], tid);
    if (f & CLONE_CHILD_CLEARTID) child.clearChildTid = a[4];
    if ((f & CSIGNAL) !== Sig.SIGCHLD && (f & CSIGNAL) !== 0) this.note('clone exit signal other than SIGCHLD');
    this.toUser(child);
    this.tasks.push(child);
    return BigInt(child.pid);
  }

  private wait4(t: Task, pid: number, statusPtr: bigint, options: number): bigint | 'block' {
    const mine = this.tasks.filter((c) => c.state !== 'reaped' && (c.ppid === t.pid || c.tracer === t) && (pid === -1 || c.pid === pid));
    if (pid < -1 || pid === 0) this.note('wait4 for a process group');
    if (!mine.length) return BigInt(-Errno.ECHILD);
    const put = (status: number): boolean => statusPtr === 0n || t.uc.tryMemWrite(statusPtr, Buffer.from(new Int32Array([status]).buffer));
    for (const c of mine) {
      if (c.state === 'zombie') {
        if (!put(c.exitStatus)) return BigInt(-Errno.EFAULT);
        c.state = 'reaped';
        return BigInt(c.pid);
      }
      // Traced stops are reported to the tracer without WUNTRACED; job-control stops need it.
      if (c.state === 'stopped' && !c.stopReported && (c.tracer === t || (options & WUNTRACED))) {
        if (!put(c.stopStatus!)) return BigInt(-Errno.EFAULT);
        c.stopReported = true;
        return BigInt(c.pid);
      }
    }
    if (options & WNOHANG) return 0n;
    return 'block';
  }

  // ---- ptrace ----

  /** ptrace(2) from a guest tracer. */
  private ptrace(t: Task, req: number, pid: number, addr: bigint, data: bigint): bigint {
    if (req === PtraceRequest.TRACEME) {
      if (t.tracer) return BigInt(-Errno.EPERM);
      const parent = this.task(t.ppid);
      if (!parent) return BigInt(-Errno.EPERM);
      t.tracer = parent;
      return 0n;
    }
    const target = this.task(pid);
    // ptrace_check_attach: the caller must trace it and it must be stopped.
    if (!target || target.tracer !== t || target.state !== 'stopped') return BigInt(-Errno.ESRCH);
    const r = this.request(target, req, addr, data, {
      read: (p, n) => t.uc.tryMemRead(p, n),
      write: (p, b) => t.uc.tryMemWrite(p, b),
    });
    return r;
  }

  /**
   * One ptrace request on a stopped tracee, for a guest tracer or the scenario (`mem`: the
   * tracer's memory). Returns the syscall's return value (negative errno on failure).
   */
  request(target: Task, req: number, addr: bigint, data: bigint, mem: { read(p: bigint, n: number): Uint8Array | undefined; write(p: bigint, b: Uint8Array): boolean }): bigint {
    const err = (e: Errno): bigint => BigInt(-e);
    switch (req) {
      case PtraceRequest.SYSCALL: case PtraceRequest.CONT: case PtraceRequest.SINGLESTEP: {
        const sig = Number(data);
        if (sig < 0 || sig > 64) return err(Errno.EIO); // ptrace_resume: !valid_signal(data)
        target.syscallTrace = req === PtraceRequest.SYSCALL;
        target.singleStep = req === PtraceRequest.SINGLESTEP;
        this.resumeFromStop(target, sig);
        return 0n;
      }
      case PtraceRequest.KILL: this.kill(target, Sig.SIGKILL); return 0n;
      case PtraceRequest.SETOPTIONS: {
        const e = ptrace_setoptions(this.variant, Number(data & 0xffffffffn));
        if (e) return err(e);
        target.ptraceOptions = Number(data & 0xffffffffn);
        if (target.stop) target.stop.options = target.ptraceOptions;
        return 0n;
      }
      case PtraceRequest.GETEVENTMSG: {
        const b = Buffer.alloc(8); b.writeBigUInt64LE(target.ptraceMessage);
        return mem.write(data, b) ? 0n : err(Errno.EFAULT);
      }
      case PtraceRequest.PEEKTEXT: case PtraceRequest.PEEKDATA: {
        const w = target.uc.tryMemRead(addr, 8);
        if (!w) return err(Errno.EIO);
        return mem.write(data, w) ? 0n : err(Errno.EFAULT);
      }
      case PtraceRequest.POKETEXT: case PtraceRequest.POKEDATA: {
        const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt.asUintN(64, data));
        return target.uc.tryMemWrite(addr, b) ? 0n : err(Errno.EIO);
      }
      case PtraceRequest.GETREGSET: case PtraceRequest.SETREGSET: {
        const iov = mem.read(data, 16);
        if (!iov) return err(Errno.EFAULT);
        const dv = new DataView(iov.buffer, iov.byteOffset, 16);
        const base = dv.getBigUint64(0, true);
        const len = Number(dv.getBigUint64(8, true));
        const r = this.regset(target, req === PtraceRequest.GETREGSET, Number(addr), len, (n) => mem.read(base, n), (b) => mem.write(base, b));
        if (r.errno) return err(r.errno);
        const nl = Buffer.alloc(8); nl.writeBigUInt64LE(BigInt(r.len));
        mem.write(data + 8n, nl); // kiov->iov_len written back
        return 0n;
      }
      default:
        // arm64 has no PTRACE_GETREGS/SETREGS/PEEKUSR for native tasks: ptrace_request's default is -EIO.
        return err(Errno.EIO);
    }
  }

  /** PTRACE_GETREGSET / SETREGSET on a stopped tracee: kernel/ptrace.c ptrace_regset over the arm64 regsets. */
  regset(target: Task, get: boolean, note: number, iovLen: number, read: (n: number) => Uint8Array | undefined, write: (b: Uint8Array) => boolean): { errno: Errno | 0; len: number } {
    const r = ptrace_regset_len(this.variant, note, iovLen);
    if (r.errno) return { errno: r.errno, len: iovLen };
    if (get) {
      let bytes: Uint8Array;
      if (note === NT_PRSTATUS) bytes = gpr_get(this.variant, target.pt, target.stop);
      else if (note === NT_ARM_SYSTEM_CALL) bytes = system_call_get(target.pt);
      else if (note === ASSUMED_NT_ARM_SYSCALL_REGS) bytes = syscall_regs_get(target.pt, target.stop);
      else return { errno: Errno.EINVAL, len: iovLen };
      if (!write(bytes.subarray(0, r.len))) return { errno: Errno.EFAULT, len: iovLen };
      return { errno: 0, len: r.len };
    }
    const b = read(r.len);
    if (!b) return { errno: Errno.EFAULT, len: iovLen };
    let e: Errno | 0;
    if (note === NT_PRSTATUS) e = gpr_set(this.variant, target.pt, target.stop, b);
    else if (note === NT_ARM_SYSTEM_CALL) e = system_call_set(target.pt, b);
    else e = syscall_regs_set(target.pt, target.stop, b);
    // A task stopped outside a syscall returns to user space with pt_regs as they are now.
    return { errno: e, len: r.len };
  }

  /** The tracer resumes a stopped tracee (with `sig` for a signal-delivery stop; other stops ignore it). */
  resumeFromStop(t: Task, sig: number): void {
    const kind = t.stop?.kind;
    // Signal-delivery stops (a signal, a single-step SIGTRAP, the pseudo-step): `sig` is delivered in
    // place of the stopping signal. Syscall stops: include/linux/ptrace.h ptrace_report_syscall()
    // sends a nonzero exit_code as a new signal ("not the same as continuing with a signal").
    const wasSignalStop = kind === Arm64StopKind.Signal || kind === Arm64StopKind.SingleStep || kind === Arm64StopKind.SyscallExitPseudoStep;
    if (sig !== 0 && (kind === Arm64StopKind.SyscallEntry || kind === Arm64StopKind.SyscallExit)) t.pending.push(sig);
    t.state = 'runnable';
    t.stopStatus = undefined;
    t.stopReported = true;
    if (!t.sys) {
      // Not inside a syscall: registers go back to the engine as the tracer left them.
      t.stop = undefined;
      this.toUser(t);
    }
    if (wasSignalStop && sig !== 0) {
      if (this.act(t, sig)) return;
    }
  }
}

/** PROT_READ/WRITE/EXEC (asm-generic/mman-common.h 1/2/4) are unicorn's bits too. */
function protFromLinux(p: number): number {
  return p & 7;
}

/** What running one program to its end gives: its output (and its children's), its wait status, what was not modelled. */
export interface Arm64ProgramResult { output: string; status: number; exit?: number; signal?: number; notModelled: string[]; end: 'done' | 'idle' | 'budget' }

/** Runs a static AArch64 program (and whatever it forks) until it exits. */
export function runArm64Program(variant: KernelVariant, exe: string, argv: string[], limits: Arm64RunLimits = { maxInsns: 400_000_000, maxSyscalls: 200_000 }): Arm64ProgramResult {
  const k = new Arm64Linux(variant);
  const t = k.spawn(argv[0] ?? exe, exe, argv.length ? argv : [exe]);
  try {
    const end = k.run(() => t.state === 'zombie', limits);
    const st = t.exitStatus;
    const exited = t.state === 'zombie' && (st & 0x7f) === 0;
    return { output: t.output, status: st, exit: exited ? (st >> 8) & 0xff : undefined, signal: t.state === 'zombie' && !exited ? st & 0x7f : undefined, notModelled: k.notModelled, end };
  } finally {
    for (const x of k.tasks) x.uc.close();
  }
}
