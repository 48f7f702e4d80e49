/**
 * ptrace (kernel/ptrace.c and arch/x86/kernel/ptrace.c arch_ptrace, Linux 6.18): ptrace stops and
 * resumes, syscall stops, and sys_ptrace's requests.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { GuestMemoryFault, Machine } from '../../../emulator/machine.js';
import { X86Reg } from '../../../emulator/unicorn.js';
import { fpuTaskResumed, fpuTaskStopped } from '../../../kernel-model/context-switch.js';
import { NoteType, USER_I387_STRUCT_SIZE, ptrace_getregset, ptrace_setregset } from '../../../kernel-model/regset.js';
import { Errno, NSIG, SI_USER, Sig } from '../abi.js';
import { SYSCALL_REGS } from '../arch/x86/entry/syscall_64.js';
import type { Kernel } from '../kernel.js';
import { CLD_TRAPPED, PTRACE_EVENT_STOP, PtraceEvent, ptraceEventEnabled, PTRACE_EVENTMSG_SYSCALL_ENTRY, PTRACE_EVENTMSG_SYSCALL_EXIT, PTRACE_O_MASK, PTRACE_O_TRACESYSGOOD, PtraceReq, SYSCALL_TRAP_BIT } from '../ptrace.js';
import { MASK64, neg, SIGNAL_STOP_STOPPED, TaskState, type PtraceStop, Task, Process } from '../sched.js';
import { AUDIT_ARCH_X86_64, SeccompMode, SeccompVerdict } from './seccomp.js';
import { SIGINFO_BYTES, type SigInfo, encodeSigInfo, rawSigInfo } from '../signal-frame.js';
import { USER_REGS_STRUCT_SIZE, encodeUserRegs } from '../user-regs.js';

/**
 * ptrace_stop(): the task (loaded on its engine) stops for its tracer. It is switched out, so
 * switch_fpu_prepare saves its FPU registers into fpstate and thread.pkru, where the regsets
 * read them; the tracer's process gets SIGCHLD (CLD_TRAPPED).
 */
export function ptraceStopTask(this: Kernel, t: Task, stop: PtraceStop): void {
  const tr = t.ptrace!;
  fpuTaskStopped(this.loadTask(t), t);
  t.state = TaskState.Traced;
  t.ptraceStop = stop;
  // "any trap clears pending STOP trap, STOP trap clears NOTIFY" (ptrace_stop).
  tr.interrupt = false;
  if (!stop.noSiginfo && stop.info.code >> 8 === PTRACE_EVENT_STOP) tr.trapNotify = false;
  if (tr.tracer.alive) this.sendToProcess(tr.tracer, { signo: Sig.SIGCHLD, code: CLD_TRAPPED, pid: t.tid, uid: 0, status: stop.sig });
}

/**
 * ptrace_resume() of a stopped tracee: the registers are reloaded from fpstate
 * (restore_fpregs_from_fpstate, TIF_NEED_FPU_LOAD), and `sig` (0: none) is delivered without
 * another stop, as the tracer chose.
 */
export function ptraceResume(this: Kernel, t: Task, sig: number, step: boolean): void {
  const stop = t.ptraceStop;
  const m = this.loadTask(t);
  fpuTaskResumed(m, t);
  t.state = TaskState.Runnable;
  t.ptraceStop = undefined;
  if (t.ptrace) t.ptrace.listening = false;
  if (t.raxAfterStop !== undefined) { m.uc.regWrite(X86Reg.RAX, t.raxAfterStop & MASK64); t.raxAfterStop = undefined; }
  if (t.ptrace) t.ptrace.singlestep = step;
  if (sig && stop) {
    // ptrace_signal(): the stop's siginfo (as PTRACE_SETSIGINFO left it) when the signal is its si_signo, else SI_USER from the tracer.
    const same = stop.delivery ? sig === stop.info.signo : sig === stop.sig && stop.event === 0;
    const info: SigInfo = same ? stop.info : { signo: sig, code: SI_USER, pid: t.ptrace?.tracer.pid ?? 0, uid: 0 };
    t.pending.unshift({ info, forced: false, traced: true });
  }
}

/** A syscall stop: SIGTRAP, with 0x80 under PTRACE_O_TRACESYSGOOD, also as si_code; ptrace_message says entry or exit (ptrace_report_syscall). */
export function syscallStop(this: Kernel, t: Task, message: bigint): PtraceStop {
  const sig = Sig.SIGTRAP | (t.ptrace!.options & PTRACE_O_TRACESYSGOOD ? SYSCALL_TRAP_BIT : 0);
  return { sig, event: 0, info: { signo: Sig.SIGTRAP, code: sig, pid: t.tid, uid: 0 }, reported: false, message };
}

/**
 * The system call a syscall-entry-stop held back, with the registers the tracer left
 * (do_syscall_64: the number is orig_rax as an int; -1, or a call stopped under
 * SYSCALL_WORK_SYSCALL_EMU, is not made and RAX keeps what it holds, -ENOSYS unless the tracer
 * changed it; any other number outside the table gives -ENOSYS). Its exit stop follows when it
 * has completed.
 */
export function syscallAfterEntryStop(this: Kernel, t: Task): void {
  const m = t.proc.machine;
  const a = m.uc.regReadBatch(SYSCALL_REGS);
  const nr = BigInt.asIntN(32, t.origRax);
  const emulated = t.syscallEmulated;
  t.syscallEmulated = false;
  t.syscallExitStopDue = true;
  if (emulated) return;
  if (t.seccomp.mode !== SeccompMode.DISABLED) {
    // __secure_computing() after the entry stop; after a PTRACE_EVENT_SECCOMP stop the call as the
    // tracer left it: skipped if its number is negative or a SIGKILL is pending, else filtered again.
    const recheck = t.seccompRecheck;
    t.seccompRecheck = false;
    if (recheck && (nr < 0n || t.pending.some((x) => x.info.signo === Sig.SIGKILL))) return;
    const v = this.secureComputing(t, Number(nr), m.uc.regRead(X86Reg.RIP), a.slice(1), recheck);
    if (v === SeccompVerdict.Stop) { t.syscallExitStopDue = false; return; }
    if (v === SeccompVerdict.Skip) return;
  }
  if (nr === -1n) return;
  let r: bigint | 'stop' = neg(Errno.ENOSYS);
  if (nr >= 0n) {
    try {
      r = this.syscall(t, Number(nr & 0xffffffffn), a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!);
    } catch (e) {
      if (e instanceof GuestMemoryFault) r = neg(Errno.EFAULT);
      else throw e;
    }
  }
  if (r === 'stop') {
    const fn = t.deferred;
    t.deferred = undefined;
    const v = fn?.();
    if (v !== undefined && t.proc.loaded === t) m.uc.regWrite(X86Reg.RAX, v & MASK64);
  } else m.uc.regWrite(X86Reg.RAX, r & MASK64);
  t.syscallExitStopDue = true;
}

/** The tracee `pid` of the calling process, or why not (-ESRCH); `stopped`: it must be in a ptrace stop (ptrace_check_attach). */
export function tracee(this: Kernel, caller: Process, pid: number, stopped: boolean): Task | bigint {
  const t = this.tasks.find((x) => x.tid === pid && x.state !== TaskState.Dead);
  if (!t || t.ptrace?.tracer !== caller) return neg(Errno.ESRCH);
  // ptrace_freeze_traced(): a listening tracee is not frozen for the request.
  if (stopped && (t.state !== TaskState.Traced || t.ptrace.listening)) return neg(Errno.ESRCH);
  return t;
}

/** sys_ptrace (kernel/ptrace.c, arch/x86/kernel/ptrace.c arch_ptrace). */
export function ptraceSyscall(this: Kernel, t: Task, req: number, pid: number, addr: bigint, data: bigint): bigint {
  const p = t.proc;
  const m = p.machine;
  switch (req as PtraceReq) {
    case PtraceReq.TRACEME: {
      if (t.ptrace || !p.parent?.alive) return neg(Errno.EPERM);
      t.ptrace = { tracer: p.parent, seized: false, options: 0, interrupt: false, singlestep: false, syscalls: false };
      return 0n;
    }
    case PtraceReq.ATTACH: case PtraceReq.SEIZE: {
      const target = this.tasks.find((x) => x.tid === pid && x.state !== TaskState.Dead);
      if (!target) return neg(Errno.ESRCH);
      if (target.proc === p || target.ptrace) return neg(Errno.EPERM);
      const seize = req === PtraceReq.SEIZE;
      if (seize && (addr !== 0n || (data & ~BigInt(PTRACE_O_MASK)) !== 0n)) return neg(Errno.EIO);
      target.ptrace = { tracer: p, seized: seize, options: seize ? Number(data) : 0, interrupt: false, singlestep: false, syscalls: false };
      if (!seize) this.sendToThread(target, { signo: Sig.SIGSTOP, code: SI_USER, pid: p.pid, uid: 0 });
      return 0n;
    }
    default: break;
  }
  const ignoreState = req === PtraceReq.KILL || req === PtraceReq.INTERRUPT;
  const c = this.tracee(p, pid, !ignoreState);
  if (typeof c === 'bigint') return c;
  const tm = (): Machine => this.loadTask(c);
  const resumeSig = (): number | undefined => (data < 0n || data > BigInt(NSIG) ? undefined : Number(data));
  switch (req as PtraceReq) {
    case PtraceReq.KILL: this.sendToThread(c, { signo: Sig.SIGKILL, code: SI_USER, pid: p.pid, uid: 0 }); return 0n;
    case PtraceReq.INTERRUPT: {
      // JOBCTL_TRAP_STOP | JOBCTL_TRAP_NOTIFY; a listening tracee is woken to trap again (ptrace_signal_wake_up).
      if (!c.ptrace!.seized) return neg(Errno.EIO);
      if (c.state !== TaskState.Traced) c.ptrace!.interrupt = true;
      else if (c.ptrace!.listening) { c.ptrace!.interrupt = true; this.ptraceResume(c, 0, false); }
      return 0n;
    }
    case PtraceReq.LISTEN: {
      // Only a seized tracee at a PTRACE_EVENT_STOP trap; a notification already due wakes it at once.
      const stop = c.ptraceStop!;
      if (!c.ptrace!.seized || stop.noSiginfo || stop.info.code >> 8 !== PTRACE_EVENT_STOP) return neg(Errno.EIO);
      c.ptrace!.listening = true;
      if (c.ptrace!.trapNotify) this.ptraceResume(c, 0, false);
      return 0n;
    }
    case PtraceReq.CONT: case PtraceReq.SYSCALL: case PtraceReq.SINGLESTEP: case PtraceReq.DETACH:
    case PtraceReq.SYSEMU: case PtraceReq.SYSEMU_SINGLESTEP: {
      // ptrace_resume(): SYSCALL_TRACE for PTRACE_SYSCALL, SYSCALL_EMU for the SYSEMU pair, a step for the single-step ones.
      const sig = resumeSig();
      if (sig === undefined) return neg(Errno.EIO);
      c.ptrace!.syscalls = req === PtraceReq.SYSCALL;
      c.ptrace!.sysemu = req === PtraceReq.SYSEMU || req === PtraceReq.SYSEMU_SINGLESTEP;
      if (req === PtraceReq.DETACH) {
        c.ptrace = undefined;
        this.ptraceResume(c, sig, false);
      } else this.ptraceResume(c, sig, req === PtraceReq.SINGLESTEP || req === PtraceReq.SYSEMU_SINGLESTEP);
      return 0n;
    }
    case PtraceReq.GETEVENTMSG: m.writeU64(data, c.ptraceStop!.message ?? 0n); return 0n;
    case PtraceReq.SETSIGINFO:
      // ptrace_setsiginfo(): copied over last_siginfo whole; -EINVAL when the stop has none.
      if (c.ptraceStop!.noSiginfo) return neg(Errno.EINVAL);
      c.ptraceStop!.info = rawSigInfo(m.read(data, SIGINFO_BYTES));
      return 0n;
    case PtraceReq.GET_SYSCALL_INFO: return this.ptraceGetSyscallInfo(c, addr, data);
    case PtraceReq.SET_SYSCALL_INFO:
      // Added in Linux 6.16: an older kernel answers the unknown request with -EIO (ptrace_request's default).
      if (!releaseAtLeast(this.o.kernel.release, SET_SYSCALL_INFO_SINCE)) return neg(Errno.EIO);
      return this.ptraceSetSyscallInfo(c, addr, data);
    case PtraceReq.SETOPTIONS:
      if ((data & ~BigInt(PTRACE_O_MASK)) !== 0n) return neg(Errno.EINVAL);
      c.ptrace!.options = Number(data);
      return 0n;
    case PtraceReq.GETSIGINFO:
      // A group stop of a non-seized tracee has no last_siginfo (ptrace_getsiginfo: -EINVAL).
      if (c.ptraceStop!.noSiginfo) return neg(Errno.EINVAL);
      m.write(data, encodeSigInfo(c.ptraceStop!.info));
      return 0n;
    case PtraceReq.PEEKTEXT: case PtraceReq.PEEKDATA: {
      // access_process_vm with FOLL_FORCE: the tracee's pages whatever their protection.
      const cm = tm();
      if (!cm.isMapped(addr, addr + 8n)) return neg(Errno.EIO);
      m.writeU64(data, new DataView(cm.peek(addr, 8).buffer).getBigUint64(0, true));
      return 0n;
    }
    case PtraceReq.POKETEXT: case PtraceReq.POKEDATA: {
      const cm = tm();
      if (!cm.isMapped(addr, addr + 8n)) return neg(Errno.EIO);
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, data & MASK64, true);
      cm.pokeCode(addr, b); // a breakpoint written into code must not leave a stale translation
      return 0n;
    }
    case PtraceReq.PEEKUSR: {
      const v = this.peekUser(c, addr);
      if (typeof v === 'number') return neg(v);
      m.writeU64(data, v & MASK64);
      return 0n;
    }
    case PtraceReq.POKEUSR: return this.pokeUser(c, addr, data);
    case PtraceReq.GETREGS: m.write(data, encodeUserRegs(this.getUserRegs(c))); return 0n;
    case PtraceReq.SETREGS: return this.setUserRegs(c, m.read(data, USER_REGS_STRUCT_SIZE));
    case PtraceReq.GETFPREGS: case PtraceReq.SETFPREGS: {
      // The NT_PRFPREG regset with its full 512 bytes (arch_ptrace -> copy_regset_to/from_user).
      if (req === PtraceReq.GETFPREGS) {
        const r = ptrace_getregset(this.o.cpu, c.kfpu, NoteType.NT_PRFPREG, USER_I387_STRUCT_SIZE);
        if (r.errno) return neg(r.errno);
        m.write(data, r.data!);
        return 0n;
      }
      const r = ptrace_setregset(this.o.cpu, c.kfpu, NoteType.NT_PRFPREG, m.read(data, USER_I387_STRUCT_SIZE), USER_I387_STRUCT_SIZE);
      return r.errno ? neg(r.errno) : 0n;
    }
    case PtraceReq.GETREGSET: case PtraceReq.SETREGSET: return this.ptraceRegset(c, req === PtraceReq.SETREGSET, Number(addr & 0xffffffffn), data);
    default: return neg(Errno.EIO);
  }
}

/** ptrace_regset() (kernel/ptrace.c): the iovec, the regset's size rules, the clamped iov_len written back. */
export function ptraceRegset(this: Kernel, c: Task, set: boolean, note: number, iovAddr: bigint): bigint {
  const m = this.current!.proc.machine;
  const base = m.readU64(iovAddr);
  const len = m.readU64(iovAddr + 8n);
  if (note === NoteType.NT_PRSTATUS) {
    // REGSET64_GENERAL: 27 words of user_regs_struct; a SET of fewer words changes only those.
    if (len % 8n !== 0n) return neg(Errno.EINVAL);
    const n = len < BigInt(USER_REGS_STRUCT_SIZE) ? Number(len) : USER_REGS_STRUCT_SIZE;
    if (set) {
      const cur = encodeUserRegs(this.getUserRegs(c));
      cur.set(m.read(base, n), 0);
      const r = this.setUserRegs(c, cur);
      if (r !== 0n) return r;
    } else m.write(base, encodeUserRegs(this.getUserRegs(c)).subarray(0, n));
    m.writeU64(iovAddr + 8n, BigInt(n));
    return 0n;
  }
  if (note !== NoteType.NT_PRFPREG && note !== NoteType.NT_X86_XSTATE) return neg(Errno.EINVAL);
  const iovLen = len > 0x7fffffffn ? 0x7fffffff : Number(len); // far above any regset: clamped all the same
  if (set) {
    const want = Math.min(iovLen, note === NoteType.NT_PRFPREG ? USER_I387_STRUCT_SIZE : this.fpuCfg.user.maxSize);
    let buf: Uint8Array;
    try { buf = m.read(base, iovLen % 8 ? 0 : want); } catch (e) { if (e instanceof GuestMemoryFault) return neg(Errno.EFAULT); throw e; }
    const r = ptrace_setregset(this.o.cpu, c.kfpu, note, buf, iovLen);
    if (r.errno) return neg(r.errno);
    m.writeU64(iovAddr + 8n, BigInt(r.len));
    return 0n;
  }
  const r = ptrace_getregset(this.o.cpu, c.kfpu, note, iovLen);
  if (r.errno) return neg(r.errno);
  m.write(base, r.data!);
  m.writeU64(iovAddr + 8n, BigInt(r.len));
  return 0n;
}

/**
 * struct ptrace_syscall_info (include/uapi/linux/ptrace.h, 6.16+): op (u8), reserved (u8), flags
 * (u16), arch (u32), instruction and stack pointers, then the union at 24: entry {nr, args[6]},
 * exit {rval, is_error}, seccomp {nr, args[6], ret_data, reserved2}.
 */
const SYSCALL_INFO_UNION = 24;
/** sizeof(struct ptrace_syscall_info). */
const SYSCALL_INFO_SIZE = 88;
/** What ptrace_get_syscall_info returns: the union's end for each op (entry.args[6] 80, exit.is_error 33, seccomp.ret_data 84). */
const SYSCALL_INFO_ENTRY_SIZE = 80;
const SYSCALL_INFO_EXIT_SIZE = 33;
const SYSCALL_INFO_SECCOMP_SIZE = 84; // offsetofend(seccomp.ret_data)
/** PTRACE_SYSCALL_INFO_NONE/ENTRY/EXIT/SECCOMP (include/uapi/linux/ptrace.h). */
enum SyscallInfoOp { NONE = 0, ENTRY = 1, EXIT = 2, SECCOMP = 3 }
/** MAX_ERRNO (include/linux/err.h): a return value in [-4095, -1] is an error (IS_ERR_VALUE). */
const MAX_ERRNO = 4095n;
/** PTRACE_SET_SYSCALL_INFO's first release (Linux 6.16). */
const SET_SYSCALL_INFO_SINCE: readonly [number, number] = [6, 16];

/** Whether a kernel release string (utsname.release) is at least major.minor; an unparsable one counts as the newest. */
export function releaseAtLeast(release: string, [major, minor]: readonly [number, number]): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return true;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

/**
 * ptrace_get_syscall_info_op() (kernel/ptrace.c): by last_siginfo's si_code, SIGTRAP | 0x80 (so
 * only under PTRACE_O_TRACESYSGOOD) with ptrace_message entry or exit, or a PTRACE_EVENT_SECCOMP stop.
 */
function syscallInfoOp(stop: PtraceStop): SyscallInfoOp {
  const code = stop.noSiginfo ? 0 : stop.info.code;
  if (code === (Sig.SIGTRAP | (PtraceEvent.SECCOMP << 8))) return SyscallInfoOp.SECCOMP;
  if (code !== (Sig.SIGTRAP | SYSCALL_TRAP_BIT)) return SyscallInfoOp.NONE;
  if (stop.message === PTRACE_EVENTMSG_SYSCALL_ENTRY) return SyscallInfoOp.ENTRY;
  if (stop.message === PTRACE_EVENTMSG_SYSCALL_EXIT) return SyscallInfoOp.EXIT;
  return SyscallInfoOp.NONE;
}

/**
 * ptrace_get_syscall_info() (kernel/ptrace.c): the op's part, the call's number and arguments
 * (entry, seccomp with ret_data = ptrace_message) or its return value (syscall_get_error:
 * is_error for [-4095, -1]); any other stop gives op NONE. min(size, the op's size) bytes are
 * copied; the op's size is returned.
 */
export function ptraceGetSyscallInfo(this: Kernel, c: Task, userSize: bigint, datap: bigint): bigint {
  const stop = c.ptraceStop!;
  const regs = this.getUserRegs(c);
  const b = new Uint8Array(SYSCALL_INFO_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(4, AUDIT_ARCH_X86_64, true);
  v.setBigUint64(8, regs.rip, true);
  v.setBigUint64(16, regs.rsp, true);
  let size = SYSCALL_INFO_UNION;
  const op = syscallInfoOp(stop);
  b[0] = op;
  if (op === SyscallInfoOp.ENTRY || op === SyscallInfoOp.SECCOMP) {
    v.setBigUint64(SYSCALL_INFO_UNION, regs.orig_rax, true);
    [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9].forEach((x, i) => v.setBigUint64(SYSCALL_INFO_UNION + 8 + 8 * i, x, true));
    size = SYSCALL_INFO_ENTRY_SIZE;
    if (op === SyscallInfoOp.SECCOMP) { v.setUint32(SYSCALL_INFO_ENTRY_SIZE, Number(stop.message ?? 0n), true); size = SYSCALL_INFO_SECCOMP_SIZE; }
  } else if (op === SyscallInfoOp.EXIT) {
    const err = BigInt.asIntN(64, regs.rax) < 0n && BigInt.asIntN(64, regs.rax) >= -MAX_ERRNO;
    v.setBigUint64(SYSCALL_INFO_UNION, regs.rax, true);
    b[SYSCALL_INFO_UNION + 8] = err ? 1 : 0;
    size = SYSCALL_INFO_EXIT_SIZE;
  }
  const n = userSize < BigInt(size) ? Number(userSize) : size;
  if (n) this.current!.proc.machine.write(datap, b.subarray(0, n));
  return BigInt(size);
}

/**
 * ptrace_set_syscall_info() (kernel/ptrace.c, Linux 6.16+): the whole struct is read (a smaller
 * size is -EINVAL, -EFAULT from copy_from_user), reserved and flags must be 0, and the op must be
 * the stop's own (changing the kind of stop is -EINVAL, as is op NONE). Entry and seccomp stops
 * set the number (orig_rax; -ERANGE unless it is an int, sign-extended or not) and, unless the
 * number is -1, the six arguments (each an unsigned long: always on x86-64); seccomp's ret_data
 * and reserved2 are ignored (test/guests/ptrace-seccomp.c). An exit stop sets RAX to rval (syscall_set_return_value:
 * the error or the value, the same register on x86). The pointers are ignored.
 */
export function ptraceSetSyscallInfo(this: Kernel, c: Task, userSize: bigint, datap: bigint): bigint {
  if (userSize < BigInt(SYSCALL_INFO_SIZE)) return neg(Errno.EINVAL);
  let b: Uint8Array;
  try { b = this.current!.proc.machine.read(datap, SYSCALL_INFO_SIZE); } catch (e) { if (e instanceof GuestMemoryFault) return neg(Errno.EFAULT); throw e; }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[1] !== 0 || v.getUint16(2, true) !== 0) return neg(Errno.EINVAL);
  const op = b[0]!;
  if (op !== syscallInfoOp(c.ptraceStop!)) return neg(Errno.EINVAL);
  const uc = this.loadTask(c).uc;
  // ptrace_set_syscall_info_seccomp(): an entry's rules (ret_data and reserved2 are not looked at: measured on 6.18).
  switch (op as SyscallInfoOp) {
    case SyscallInfoOp.SECCOMP: case SyscallInfoOp.ENTRY: {
      const nr = v.getBigUint64(SYSCALL_INFO_UNION, true);
      if (BigInt.asUintN(64, BigInt.asIntN(32, nr)) !== nr) return neg(Errno.ERANGE);
      c.origRax = BigInt.asIntN(32, nr); // syscall_set_nr()
      if (BigInt.asIntN(32, nr) !== -1n) {
        const args = Array.from({ length: 6 }, (_, i) => v.getBigUint64(SYSCALL_INFO_UNION + 8 + 8 * i, true));
        uc.regWriteBatch([X86Reg.RDI, X86Reg.RSI, X86Reg.RDX, X86Reg.R10, X86Reg.R8, X86Reg.R9], args);
      }
      return 0n;
    }
    case SyscallInfoOp.EXIT:
      // The union's rval; a 64-bit long holds any value.
      uc.regWrite(X86Reg.RAX, v.getBigUint64(SYSCALL_INFO_UNION, true));
      return 0n;
    default: return neg(Errno.EINVAL);
  }
}

/**
 * ptrace_init_task() (include/linux/ptrace.h) for a task clone made under an enabled event or
 * CLONE_PTRACE: the same tracer and options (copy_process turns syscall tracing, emulation and
 * stepping off), and a first stop: SIGSTOP pending (no queued siginfo: SI_USER, pid 0), or
 * JOBCTL_TRAP_STOP for a seized tracee (PTRACE_EVENT_STOP).
 */
export function ptraceInitTask(this: Kernel, parent: Task, child: Task): void {
  const tr = parent.ptrace!;
  child.ptrace = { tracer: tr.tracer, seized: tr.seized, options: tr.options, interrupt: tr.seized, singlestep: false, syscalls: false };
  if (!tr.seized) child.pending.push({ info: { signo: Sig.SIGSTOP, code: SI_USER, pid: 0, uid: 0 }, forced: false });
}

/**
 * ptrace_event() (include/linux/ptrace.h) inside a system call: the task stops with SIGTRAP and
 * the event (si_code SIGTRAP | event << 8, ptrace_message `message`). The call's return value
 * `rax` reaches RAX after the stop: at it, RAX still holds the entry's -ENOSYS.
 */
export function ptraceEvent(this: Kernel, t: Task, event: PtraceEvent, message: bigint, rax?: bigint): void {
  const m = this.loadTask(t);
  if (rax !== undefined) { m.uc.regWrite(X86Reg.RAX, neg(Errno.ENOSYS) & MASK64); t.raxAfterStop = rax; }
  const sig = Sig.SIGTRAP;
  this.ptraceStopTask(t, { sig, event, info: { signo: sig, code: sig | (event << 8), pid: t.tid, uid: 0 }, reported: false, message });
}

/**
 * do_exit()'s ptrace_event(PTRACE_EVENT_EXIT, code) (kernel/exit.c): under PTRACE_O_TRACEEXIT the
 * task stops first, ptrace_message the wait status it dies with, and `rest` ends it when the
 * tracer resumes it (a SIGKILL ends the stop too). Returns false when there is no such stop.
 */
export function ptraceExitEvent(this: Kernel, t: Task, code: number, rest: () => void): boolean {
  if (!t.ptrace || !ptraceEventEnabled(t.ptrace.options, PtraceEvent.EXIT)) return false;
  t.exitAfterStop = rest;
  this.ptraceEvent(t, PtraceEvent.EXIT, BigInt(code));
  return true;
}

/** ptrace_trap_notify() (kernel/signal.c): a seized tracee is to trap again (JOBCTL_TRAP_NOTIFY); a listening one is woken for it. */
export function ptraceTrapNotify(this: Kernel, t: Task): void {
  t.ptrace!.trapNotify = true;
  if (t.state === TaskState.Traced && t.ptrace!.listening) this.ptraceResume(t, 0, false);
}

/**
 * do_jobctl_trap() (kernel/signal.c) of a seized tracee: PTRACE_EVENT_STOP with the group stop's
 * signal while one is in effect, else SIGTRAP (si_code signal | PTRACE_EVENT_STOP << 8, si_pid the task).
 */
export function doJobctlTrap(this: Kernel, t: Task): void {
  const p = t.proc;
  const sig = p.groupStopCount || (p.stopFlags & SIGNAL_STOP_STOPPED) ? (t.jobctlStopSig || Sig.SIGSTOP) : Sig.SIGTRAP;
  this.ptraceStopTask(t, { sig, event: PTRACE_EVENT_STOP, info: { signo: sig, code: sig | (PTRACE_EVENT_STOP << 8), pid: t.tid, uid: 0 }, reported: false });
}
