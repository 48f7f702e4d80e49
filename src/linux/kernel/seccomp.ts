/**
 * Secure computing (kernel/seccomp.c, Linux 6.18): strict mode, filter mode with classic BPF
 * programs (net/core/filter.c bpf_check_classic and seccomp_check_filter's validation, the
 * interpreter of the seccomp subset), the filters' actions at system call entry
 * (__secure_computing, __seccomp_filter), the seccomp(2) operations and prctl's
 * PR_SET_SECCOMP / PR_GET_SECCOMP.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 *
 * Named assumption `seccomp-no-listener`: SECCOMP_FILTER_FLAG_NEW_LISTENER is refused with -EINVAL
 * (what a kernel whose SECCOMP_FILTER_FLAG_MASK lacks the flag answers, kernels before 5.0) and a
 * warning naming it; a filter returning SECCOMP_RET_USER_NOTIF therefore never has a listener, and
 * the call fails with -ENOSYS exactly as Linux 6.18 does for a notifying filter without one
 * (seccomp_do_user_notification). SECCOMP_GET_ACTION_AVAIL still lists USER_NOTIF (6.18 has it).
 */
import { signalfd_notify } from '../fs/signalfd.js';
import { X86Reg } from '../../../emulator/unicorn.js';
import { Errno, SIG_DFL, SIG_IGN, Sig, Sys } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { PtraceEvent, ptraceEventEnabled } from '../ptrace.js';
import { releaseAtLeast } from './ptrace.js';
import { MASK64, neg, sigBit, TaskState, type Task } from '../sched.js';
import type { SigInfo } from '../signal-frame.js';

/** task->seccomp.mode (include/uapi/linux/seccomp.h SECCOMP_MODE_*; SECCOMP_MODE_DEAD is kernel/seccomp.c's). */
export enum SeccompMode { DISABLED = 0, STRICT = 1, FILTER = 2, DEAD = 3 }
/** seccomp(2) operations (include/uapi/linux/seccomp.h). */
export enum SeccompOp { SET_MODE_STRICT = 0, SET_MODE_FILTER = 1, GET_ACTION_AVAIL = 2, GET_NOTIF_SIZES = 3 }
/** SECCOMP_FILTER_FLAG_* (include/uapi/linux/seccomp.h). */
const FLAG_TSYNC = 1;
const FLAG_LOG = 2;
const FLAG_SPEC_ALLOW = 4;
const FLAG_NEW_LISTENER = 8;
const FLAG_TSYNC_ESRCH = 16;
const FLAG_WAIT_KILLABLE_RECV = 32;
/** SECCOMP_FILTER_FLAG_MASK (kernel/seccomp.c). */
const FILTER_FLAG_MASK = FLAG_TSYNC | FLAG_LOG | FLAG_SPEC_ALLOW | FLAG_NEW_LISTENER | FLAG_TSYNC_ESRCH | FLAG_WAIT_KILLABLE_RECV;
/** SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV's first release (Linux 6.0). */
const WAIT_KILLABLE_RECV_SINCE: readonly [number, number] = [6, 0];
/** Filter return values (include/uapi/linux/seccomp.h SECCOMP_RET_*): the action in the high 16 bits, data in the low 16. */
export enum SeccompRet {
  KILL_PROCESS = 0x80000000, KILL_THREAD = 0x00000000, TRAP = 0x00030000, ERRNO = 0x00050000,
  USER_NOTIF = 0x7fc00000, TRACE = 0x7ff00000, LOG = 0x7ffc0000, ALLOW = 0x7fff0000,
}
const SECCOMP_RET_ACTION_FULL = 0xffff0000;
const SECCOMP_RET_DATA = 0xffff;
/** AUDIT_ARCH_X86_64 (include/uapi/linux/audit.h): EM_X86_64 (62) | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE. */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** sizeof(struct seccomp_data): int nr, __u32 arch, __u64 instruction_pointer, __u64 args[6]. */
export const SECCOMP_DATA_SIZE = 64;
/** struct seccomp_notif_sizes' answers (sizeof seccomp_notif, seccomp_notif_resp, seccomp_data). */
const NOTIF_SIZES = [80, 24, SECCOMP_DATA_SIZE] as const;
/** BPF_MAXINSNS (include/uapi/linux/bpf_common.h) and MAX_INSNS_PER_PATH (kernel/seccomp.c: 256 KiB of sock_filter). */
const BPF_MAXINSNS = 4096;
const MAX_INSNS_PER_PATH = (1 << 18) / 8;
/** The penalty seccomp_attach_filter counts per filter already attached. */
const FILTER_PATH_PENALTY = 4;
/** BPF_MEMWORDS (include/uapi/linux/filter.h): the scratch memory M[]. */
const BPF_MEMWORDS = 16;
/** MAX_ERRNO (include/linux/err.h): SECCOMP_RET_ERRNO's data is clamped to it. */
const MAX_ERRNO = 4095;
/** si_code SYS_SECCOMP (include/uapi/asm-generic/siginfo.h). */
export const SYS_SECCOMP = 1;
/** mode1_syscalls (kernel/seccomp.c): what strict mode lets through. */
const STRICT_ALLOWED: ReadonlySet<number> = new Set([Sys.read, Sys.write, Sys.exit, Sys.rt_sigreturn]);

/** Classic BPF encodings (include/uapi/linux/bpf_common.h, filter.h). */
const enum Bpf {
  LD = 0x00, LDX = 0x01, ST = 0x02, STX = 0x03, ALU = 0x04, JMP = 0x05, RET = 0x06, MISC = 0x07,
  W = 0x00, H = 0x08, B = 0x10,
  IMM = 0x00, ABS = 0x20, IND = 0x40, MEM = 0x60, LEN = 0x80, MSH = 0xa0,
  ADD = 0x00, SUB = 0x10, MUL = 0x20, DIV = 0x30, OR = 0x40, AND = 0x50, LSH = 0x60, RSH = 0x70, NEG = 0x80, MOD = 0x90, XOR = 0xa0,
  JA = 0x00, JEQ = 0x10, JGT = 0x20, JGE = 0x30, JSET = 0x40,
  K = 0x00, X = 0x08, A = 0x10,
  TAX = 0x00, TXA = 0x80,
}

/** struct sock_filter: code, jt, jf, k. */
export interface SockFilter { code: number; jt: number; jf: number; k: number }
/** struct seccomp_filter: the program, `log` (SECCOMP_FILTER_FLAG_LOG), the previous filter. */
export interface SeccompFilter { prog: readonly SockFilter[]; log: boolean; prev: SeccompFilter | undefined }
export interface SeccompState { mode: SeccompMode; filter: SeccompFilter | undefined; filterCount: number }
export const seccompInit = (): SeccompState => ({ mode: SeccompMode.DISABLED, filter: undefined, filterCount: 0 });

const isCondJump = (code: number): boolean =>
  code === (Bpf.JMP | Bpf.JEQ | Bpf.K) || code === (Bpf.JMP | Bpf.JEQ | Bpf.X) || code === (Bpf.JMP | Bpf.JGE | Bpf.K) || code === (Bpf.JMP | Bpf.JGE | Bpf.X)
  || code === (Bpf.JMP | Bpf.JGT | Bpf.K) || code === (Bpf.JMP | Bpf.JGT | Bpf.X) || code === (Bpf.JMP | Bpf.JSET | Bpf.K) || code === (Bpf.JMP | Bpf.JSET | Bpf.X);

/** The codes classic BPF knows (net/core/filter.c chk_code_allowed's table). */
const CLASSIC_CODES: ReadonlySet<number> = new Set([
  ...[Bpf.ADD, Bpf.SUB, Bpf.MUL, Bpf.DIV, Bpf.MOD, Bpf.AND, Bpf.OR, Bpf.XOR, Bpf.LSH, Bpf.RSH].flatMap((op) => [Bpf.ALU | op | Bpf.K, Bpf.ALU | op | Bpf.X]),
  Bpf.ALU | Bpf.NEG,
  ...[Bpf.W, Bpf.H, Bpf.B].flatMap((sz) => [Bpf.LD | sz | Bpf.ABS, Bpf.LD | sz | Bpf.IND]),
  Bpf.LD | Bpf.MEM, Bpf.LD | Bpf.IMM, Bpf.LD | Bpf.W | Bpf.LEN,
  Bpf.LDX | Bpf.B | Bpf.MSH, Bpf.LDX | Bpf.IMM, Bpf.LDX | Bpf.MEM, Bpf.LDX | Bpf.W | Bpf.LEN,
  Bpf.ST, Bpf.STX, Bpf.MISC | Bpf.TAX, Bpf.MISC | Bpf.TXA, Bpf.RET | Bpf.K, Bpf.RET | Bpf.A,
  Bpf.JMP | Bpf.JA, ...[Bpf.JEQ, Bpf.JGT, Bpf.JGE, Bpf.JSET].flatMap((j) => [Bpf.JMP | j | Bpf.K, Bpf.JMP | j | Bpf.X]),
]);

/** The codes seccomp_check_filter lets through unchanged (its explicit list). */
const SECCOMP_CODES: ReadonlySet<number> = new Set([
  Bpf.RET | Bpf.K, Bpf.RET | Bpf.A,
  ...[Bpf.ADD, Bpf.SUB, Bpf.MUL, Bpf.DIV, Bpf.AND, Bpf.OR, Bpf.XOR, Bpf.LSH, Bpf.RSH].flatMap((op) => [Bpf.ALU | op | Bpf.K, Bpf.ALU | op | Bpf.X]),
  Bpf.ALU | Bpf.NEG, Bpf.LD | Bpf.IMM, Bpf.LDX | Bpf.IMM, Bpf.MISC | Bpf.TAX, Bpf.MISC | Bpf.TXA,
  Bpf.LD | Bpf.MEM, Bpf.LDX | Bpf.MEM, Bpf.ST, Bpf.STX, Bpf.JMP | Bpf.JA,
  ...[Bpf.JEQ, Bpf.JGE, Bpf.JGT, Bpf.JSET].flatMap((j) => [Bpf.JMP | j | Bpf.K, Bpf.JMP | j | Bpf.X]),
]);

/**
 * bpf_check_classic() (net/core/filter.c): known codes, no division by a zero constant, shifts by
 * a constant below 32, scratch-memory indexes below BPF_MEMWORDS, jumps inside the program, no
 * unknown ancillary load, a RET last, and check_load_and_stores (no M[k] read before every path
 * wrote it). Then seccomp_check_filter() (kernel/seccomp.c): only its codes, absolute word loads
 * 4-byte aligned inside struct seccomp_data, the LEN loads become immediates. -EINVAL for any fault.
 */
export function seccompPrepareProgram(insns: readonly SockFilter[]): SockFilter[] | Errno {
  const flen = insns.length;
  for (let pc = 0; pc < flen; pc++) {
    const f = insns[pc]!;
    if (!CLASSIC_CODES.has(f.code)) return Errno.EINVAL;
    switch (f.code) {
      case Bpf.ALU | Bpf.DIV | Bpf.K: case Bpf.ALU | Bpf.MOD | Bpf.K: if (f.k === 0) return Errno.EINVAL; break;
      case Bpf.ALU | Bpf.LSH | Bpf.K: case Bpf.ALU | Bpf.RSH | Bpf.K: if (f.k >= 32) return Errno.EINVAL; break;
      case Bpf.LD | Bpf.MEM: case Bpf.LDX | Bpf.MEM: case Bpf.ST: case Bpf.STX: if (f.k >= BPF_MEMWORDS) return Errno.EINVAL; break;
      case Bpf.JMP | Bpf.JA: if (f.k >= flen - pc - 1) return Errno.EINVAL; break;
      // Absolute loads at SKF_AD_OFF and above are a socket's ancillary data: seccomp_check_filter refuses them below in any case.
      default:
        if (isCondJump(f.code) && (pc + f.jt + 1 >= flen || pc + f.jf + 1 >= flen)) return Errno.EINVAL;
    }
  }
  const last = insns[flen - 1]!.code;
  if (last !== (Bpf.RET | Bpf.K) && last !== (Bpf.RET | Bpf.A)) return Errno.EINVAL;
  // check_load_and_stores(): the scratch words valid on every path into each instruction.
  const ALL = 0xffff;
  const masks = new Array<number>(flen).fill(ALL);
  let valid = 0;
  for (let pc = 0; pc < flen; pc++) {
    const f = insns[pc]!;
    valid &= masks[pc]!;
    if (f.code === Bpf.ST || f.code === Bpf.STX) valid |= 1 << f.k;
    else if (f.code === (Bpf.LD | Bpf.MEM) || f.code === (Bpf.LDX | Bpf.MEM)) { if (!(valid & (1 << f.k))) return Errno.EINVAL; }
    else if (f.code === (Bpf.JMP | Bpf.JA)) { masks[pc + 1 + f.k]! &= valid; valid = ALL; }
    else if (isCondJump(f.code)) { masks[pc + 1 + f.jt]! &= valid; masks[pc + 1 + f.jf]! &= valid; valid = ALL; }
  }
  // seccomp_check_filter().
  const out: SockFilter[] = [];
  for (const f of insns) {
    if (f.code === (Bpf.LD | Bpf.W | Bpf.ABS)) {
      if (f.k >= SECCOMP_DATA_SIZE || (f.k & 3)) return Errno.EINVAL;
      out.push({ ...f });
    } else if (f.code === (Bpf.LD | Bpf.W | Bpf.LEN)) out.push({ ...f, code: Bpf.LD | Bpf.IMM, k: SECCOMP_DATA_SIZE });
    else if (f.code === (Bpf.LDX | Bpf.W | Bpf.LEN)) out.push({ ...f, code: Bpf.LDX | Bpf.IMM, k: SECCOMP_DATA_SIZE });
    else if (SECCOMP_CODES.has(f.code)) out.push({ ...f });
    else return Errno.EINVAL;
  }
  return out;
}

/**
 * The classic BPF machine over struct seccomp_data (bpf_prog_run of the converted program): A and
 * X are 32-bit, loads are little-endian words, ALU wraps at 32 bits, a division by X = 0 ends the
 * program with 0 (bpf_convert_filter's check), shifts by X take X mod 32 (the eBPF ALU32 rule).
 */
export function bpfRun(prog: readonly SockFilter[], data: DataView): number {
  let a = 0, x = 0;
  const mem = new Uint32Array(BPF_MEMWORDS);
  for (let pc = 0; pc < prog.length; pc++) {
    const f = prog[pc]!;
    const src = (f.code & Bpf.X) ? x : f.k;
    switch (f.code & 0x07) {
      case Bpf.LD:
        a = (f.code & 0xe0) === Bpf.ABS ? data.getUint32(f.k, true) : (f.code & 0xe0) === Bpf.MEM ? mem[f.k]! : f.k;
        break;
      case Bpf.LDX: x = (f.code & 0xe0) === Bpf.MEM ? mem[f.k]! : f.k; break;
      case Bpf.ST: mem[f.k] = a; break;
      case Bpf.STX: mem[f.k] = x; break;
      case Bpf.ALU:
        switch (f.code & 0xf0) {
          case Bpf.ADD: a = (a + src) >>> 0; break;
          case Bpf.SUB: a = (a - src) >>> 0; break;
          case Bpf.MUL: a = Math.imul(a, src) >>> 0; break;
          case Bpf.DIV: if (src === 0) return 0; a = Math.floor(a / src) >>> 0; break;
          case Bpf.AND: a = (a & src) >>> 0; break;
          case Bpf.OR: a = (a | src) >>> 0; break;
          case Bpf.XOR: a = (a ^ src) >>> 0; break;
          case Bpf.LSH: a = (a << (src & 31)) >>> 0; break;
          case Bpf.RSH: a = a >>> (src & 31); break;
          case Bpf.NEG: a = (-a) >>> 0; break;
        }
        break;
      case Bpf.JMP: {
        const op = f.code & 0xf0;
        if (op === Bpf.JA) { pc += f.k; break; }
        const take = op === Bpf.JEQ ? a === src : op === Bpf.JGT ? a > src : op === Bpf.JGE ? a >= src : (a & src) !== 0;
        pc += take ? f.jt : f.jf;
        break;
      }
      case Bpf.RET: return ((f.code & 0x18) === Bpf.A ? a : f.k) >>> 0;
      case Bpf.MISC: if ((f.code & 0xf8) === Bpf.TXA) a = x; else x = a; break;
    }
  }
  return 0; // unreachable: the check demands a RET last
}

/** populate_seccomp_data(): nr, arch, the instruction pointer after SYSCALL, the six arguments. */
export function populateSeccompData(nr: number, ip: bigint, args: readonly bigint[]): DataView {
  const v = new DataView(new ArrayBuffer(SECCOMP_DATA_SIZE));
  v.setInt32(0, nr, true);
  v.setUint32(4, AUDIT_ARCH_X86_64, true);
  v.setBigUint64(8, ip & MASK64, true);
  args.forEach((x, i) => v.setBigUint64(16 + 8 * i, x & MASK64, true));
  return v;
}

/** ACTION_ONLY(): the action bits compared as a signed 32-bit value (KILL_PROCESS is the least). */
const actionOnly = (ret: number): number => (ret & SECCOMP_RET_ACTION_FULL) | 0;

/** seccomp_run_filters(): every filter from the newest; the least permissive action wins, the first (newest) of equals. */
export function seccomp_run_filters(f: SeccompFilter | undefined, data: DataView): number {
  let ret = SeccompRet.ALLOW as number;
  for (; f; f = f.prev) {
    const cur = bpfRun(f.prog, data);
    if (actionOnly(cur) < actionOnly(ret)) ret = cur;
  }
  return ret >>> 0;
}

/** is_ancestor(): `parent` is `child` or one of its predecessors (none is everyone's). */
const isAncestor = (parent: SeccompFilter | undefined, child: SeccompFilter | undefined): boolean => {
  if (!parent) return true;
  for (let c = child; c; c = c.prev) if (c === parent) return true;
  return false;
};

/** What __secure_computing decided: run the call, skip it (RAX holds its result), or the task stopped / died. */
export enum SeccompVerdict { Run, Skip, Stop }

/**
 * __secure_computing() (kernel/seccomp.c) at system call entry, the task loaded and RAX already
 * -ENOSYS (entry_SYSCALL_64's pt_regs->ax): strict mode kills the thread (do_exit(SIGKILL)) for
 * anything but read, write, exit and rt_sigreturn; filter mode runs the filters over
 * seccomp_data and acts (__seccomp_filter). `ip`: the address after SYSCALL. `recheck`: the
 * filters run again after a PTRACE_EVENT_SECCOMP stop, where SECCOMP_RET_TRACE allows.
 */
export function secureComputing(this: Kernel, t: Task, nr: number, ip: bigint, args: readonly bigint[], recheck: boolean): SeccompVerdict {
  const s = t.seccomp;
  if (s.mode === SeccompMode.DISABLED) return SeccompVerdict.Run;
  // PT_SUSPEND_SECCOMP (PTRACE_O_SUSPEND_SECCOMP, a checkpointing tracer's): no check at all.
  if (t.ptrace && (t.ptrace.options & PTRACE_O_SUSPEND_SECCOMP)) return SeccompVerdict.Run;
  const m = this.loadTask(t);
  const setRax = (v: bigint): void => m.uc.regWrite(X86Reg.RAX, v & MASK64);
  if (s.mode === SeccompMode.STRICT) {
    if (STRICT_ALLOWED.has(nr)) return SeccompVerdict.Run;
    s.mode = SeccompMode.DEAD;
    this.seccompExit(t, Sig.SIGKILL, `seccomp strict mode: system call ${nr}`);
    return SeccompVerdict.Stop;
  }
  const ret = seccomp_run_filters(s.filter, populateSeccompData(nr, ip, args));
  const data = ret & SECCOMP_RET_DATA;
  switch ((ret & SECCOMP_RET_ACTION_FULL) >>> 0) {
    case SeccompRet.ERRNO:
      setRax(-BigInt(Math.min(data, MAX_ERRNO)));
      return SeccompVerdict.Skip;
    case SeccompRet.TRAP:
      setRax(t.origRax); // syscall_rollback()
      this.forceSigSeccomp(t, nr, data, ip, false);
      return SeccompVerdict.Skip;
    case SeccompRet.TRACE:
      if (recheck) return SeccompVerdict.Run;
      if (!t.ptrace || !ptraceEventEnabled(t.ptrace.options, PtraceEvent.SECCOMP)) { setRax(neg(Errno.ENOSYS)); return SeccompVerdict.Skip; }
      // ptrace_event(PTRACE_EVENT_SECCOMP, data): the tracer may change the call; the filters run again after it.
      t.syscallAfterEntryStop = true;
      t.seccompRecheck = true;
      this.ptraceEvent(t, PtraceEvent.SECCOMP, BigInt(data));
      return SeccompVerdict.Stop;
    case SeccompRet.USER_NOTIF:
      // seccomp_do_user_notification() without a listener (assumption `seccomp-no-listener`).
      setRax(neg(Errno.ENOSYS));
      return SeccompVerdict.Skip;
    case SeccompRet.LOG: case SeccompRet.ALLOW:
      return SeccompVerdict.Run;
    default: {
      // KILL_THREAD, KILL_PROCESS and any unknown action: the thread is dead to seccomp.
      s.mode = SeccompMode.DEAD;
      const lastThread = t.proc.threads.filter((x) => x.state !== TaskState.Dead).length === 1;
      if ((ret & SECCOMP_RET_ACTION_FULL) >>> 0 !== SeccompRet.KILL_THREAD || lastThread) {
        setRax(t.origRax);
        this.forceSigSeccomp(t, nr, data, ip, true);
        return SeccompVerdict.Skip;
      }
      this.seccompExit(t, Sig.SIGSYS, `seccomp SECCOMP_RET_KILL_THREAD: system call ${nr}`);
      return SeccompVerdict.Stop;
    }
  }
}

/** PTRACE_O_SUSPEND_SECCOMP (include/uapi/linux/ptrace.h). */
const PTRACE_O_SUSPEND_SECCOMP = 1 << 21;

/**
 * force_sig_seccomp() (kernel/signal.c): SIGSYS, si_code SYS_SECCOMP, si_call_addr the address
 * after SYSCALL, si_errno the filter's data, si_arch, si_syscall. For a kill (`coredump`,
 * HANDLER_EXIT) the action becomes SIG_DFL and immutable (no tracer sees it: SA_IMMUTABLE), for
 * SECCOMP_RET_TRAP (HANDLER_CURRENT) only when the signal is blocked or ignored; it is unblocked.
 */
export function forceSigSeccomp(this: Kernel, t: Task, nr: number, data: number, ip: bigint, coredump: boolean): void {
  const info: SigInfo = { signo: Sig.SIGSYS, code: SYS_SECCOMP, addr: ip, errno: data, syscall: nr, arch: AUDIT_ARCH_X86_64, reason: `seccomp: system call ${nr} refused` };
  const act = t.proc.sigactions[Sig.SIGSYS]!;
  const blocked = (t.sigmask & sigBit(Sig.SIGSYS)) !== 0n;
  if (coredump || blocked || act.handler === SIG_IGN) {
    t.proc.sigactions[Sig.SIGSYS] = { ...act, handler: SIG_DFL };
    t.sigmask &= ~sigBit(Sig.SIGSYS);
  }
  t.pending.push({ info, forced: true, traced: coredump });
  signalfd_notify(t.proc);
}

/**
 * do_exit(sig) of one thread from seccomp (strict mode's SIGKILL, SECCOMP_RET_KILL_THREAD's SIGSYS):
 * PTRACE_EVENT_EXIT first; the last thread's exit code is the signal, so the group ends as killed by it.
 */
export function seccompExit(this: Kernel, t: Task, sig: number, reason: string): void {
  const rest = (): void => {
    const others = t.proc.threads.some((x) => x !== t && x.state !== TaskState.Dead);
    if (others) this.exitThread(t, sig);
    else this.endProcess(t.proc, { signal: sig, reason });
  };
  if (!this.ptraceExitEvent(t, sig, rest)) rest();
}

/** struct sock_fprog from user space: len (u16) at 0, the filter pointer at 8; each sock_filter 8 bytes. */
function readProgram(this: Kernel, t: Task, uargs: bigint): SockFilter[] | Errno {
  const m = t.proc.machine;
  const hdr = m.read(uargs, 16);
  const dv = new DataView(hdr.buffer, hdr.byteOffset, 16);
  const len = dv.getUint16(0, true);
  const ptr = dv.getBigUint64(8, true);
  // seccomp_prepare_filter(): the length; then CAP_SYS_ADMIN or no_new_privs (the model's tasks hold every capability: /proc status CapEff).
  if (len === 0 || len > BPF_MAXINSNS) return Errno.EINVAL;
  if (!t.noNewPrivs && !MODEL_HAS_CAP_SYS_ADMIN) return Errno.EACCES;
  if (ptr === 0n) return Errno.EINVAL; // bpf_check_basics_ok()
  const b = m.read(ptr, len * 8);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: len }, (_, i) => ({ code: v.getUint16(8 * i, true), jt: b[8 * i + 2]!, jf: b[8 * i + 3]!, k: v.getUint32(8 * i + 4, true) }));
}
/** seccomp_actions_avail (kernel/seccomp.c): every action of SeccompRet. */
const AVAILABLE_ACTIONS: ReadonlySet<number> = new Set([SeccompRet.KILL_PROCESS, SeccompRet.KILL_THREAD, SeccompRet.TRAP, SeccompRet.ERRNO,
  SeccompRet.USER_NOTIF, SeccompRet.TRACE, SeccompRet.LOG, SeccompRet.ALLOW].map((x) => x >>> 0));
/** The model's credentials are root's with the full capability set (fs/proc/array.ts CapEff): CAP_SYS_ADMIN in its namespace. */
const MODEL_HAS_CAP_SYS_ADMIN = true;

/** do_seccomp() (kernel/seccomp.c): the seccomp(2) operations. */
export function doSeccomp(this: Kernel, t: Task, op: number, flags: number, uargs: bigint): bigint {
  const m = t.proc.machine;
  const s = t.seccomp;
  switch (op as SeccompOp) {
    case SeccompOp.SET_MODE_STRICT:
      if (flags !== 0 || uargs !== 0n) return neg(Errno.EINVAL);
      if (s.mode !== SeccompMode.DISABLED && s.mode !== SeccompMode.STRICT) return neg(Errno.EINVAL); // seccomp_may_assign_mode
      s.mode = SeccompMode.STRICT;
      return 0n;
    case SeccompOp.SET_MODE_FILTER: {
      // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV came with Linux 6.0: before, it is outside the mask.
      const mask = releaseAtLeast(this.o.kernel.release, WAIT_KILLABLE_RECV_SINCE) ? FILTER_FLAG_MASK : FILTER_FLAG_MASK & ~FLAG_WAIT_KILLABLE_RECV;
      if (flags & ~mask) return neg(Errno.EINVAL);
      if ((flags & FLAG_TSYNC) && (flags & FLAG_NEW_LISTENER) && !(flags & FLAG_TSYNC_ESRCH)) return neg(Errno.EINVAL);
      if ((flags & FLAG_WAIT_KILLABLE_RECV) && !(flags & FLAG_NEW_LISTENER)) return neg(Errno.EINVAL);
      if (flags & FLAG_NEW_LISTENER) {
        if (!this.ptraceWarned.has('seccomp-listener')) {
          this.ptraceWarned.add('seccomp-listener');
          this.o.stderr('xstate-lab: warning: seccomp SECCOMP_FILTER_FLAG_NEW_LISTENER is not modelled (assumption seccomp-no-listener); it returns -EINVAL, as a kernel without the flag does');
        }
        return neg(Errno.EINVAL);
      }
      const prog = readProgram.call(this, t, uargs);
      if (typeof prog === 'number') return neg(prog);
      const checked = seccompPrepareProgram(prog);
      if (typeof checked === 'number') return neg(checked);
      if (s.mode !== SeccompMode.DISABLED && s.mode !== SeccompMode.FILTER) return neg(Errno.EINVAL);
      // seccomp_attach_filter(): the instructions on the longest path, each older filter with a penalty.
      let total = checked.length;
      for (let f = s.filter; f; f = f.prev) total += f.prog.length + FILTER_PATH_PENALTY;
      if (total > MAX_INSNS_PER_PATH) return neg(Errno.ENOMEM);
      const live = t.proc.threads.filter((x) => x !== t && x.state !== TaskState.Dead);
      if (flags & FLAG_TSYNC) {
        // seccomp_can_sync_threads(): every other thread unfiltered or under an ancestor of the caller's filter.
        const bad = live.find((x) => !(x.seccomp.mode === SeccompMode.DISABLED || (x.seccomp.mode === SeccompMode.FILTER && isAncestor(x.seccomp.filter, s.filter))));
        if (bad) return flags & FLAG_TSYNC_ESRCH ? neg(Errno.ESRCH) : BigInt(bad.tid);
      }
      s.filter = { prog: checked, log: (flags & FLAG_LOG) !== 0, prev: s.filter };
      s.filterCount++;
      s.mode = SeccompMode.FILTER;
      if (flags & FLAG_TSYNC) {
        // seccomp_sync_threads(): the caller's chain, its no_new_privs, filter mode for the unfiltered.
        for (const x of live) {
          x.seccomp.filter = s.filter;
          x.seccomp.filterCount = s.filterCount;
          if (t.noNewPrivs) x.noNewPrivs = true;
          if (x.seccomp.mode === SeccompMode.DISABLED) x.seccomp.mode = SeccompMode.FILTER;
        }
      }
      return 0n;
    }
    case SeccompOp.GET_ACTION_AVAIL: {
      if (flags !== 0) return neg(Errno.EINVAL);
      const action = m.readU32(uargs) >>> 0;
      return AVAILABLE_ACTIONS.has(action) ? 0n : neg(Errno.EOPNOTSUPP);
    }
    case SeccompOp.GET_NOTIF_SIZES: {
      if (flags !== 0) return neg(Errno.EINVAL);
      const b = new Uint8Array(6);
      const v = new DataView(b.buffer);
      NOTIF_SIZES.forEach((n, i) => v.setUint16(2 * i, n, true));
      m.write(uargs, b);
      return 0n;
    }
    default: return neg(Errno.EINVAL);
  }
}

/** copy_seccomp() (kernel/fork.c): a new task shares the creator's filter chain, mode and no_new_privs. */
export function copySeccomp(parent: Task, child: Task): void {
  child.seccomp = { ...parent.seccomp };
  child.noNewPrivs = parent.noNewPrivs;
}
