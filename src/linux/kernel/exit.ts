/**
 * Exits and waits (kernel/exit.c, Linux 6.18): death by a signal, do_exit of a thread and of the
 * group, the parent's SIGCHLD, wait4 and waitid.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { reapCputime } from './sched/cputime.js';
import { Rlimit } from './sys.js';
import { GUEST_PAGE } from '../../../emulator/machine.js';
import { CLD_EXITED, CLD_KILLED, CORE_DUMP_SIGNALS, Errno, P_ALL, P_PID, Sig, WEXITED, WNOHANG, WNOWAIT } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { straceExit } from '../strace.js';
import { CLD_TRAPPED, stopStatus } from '../ptrace.js';
import { SIGNAL_STOP_CONTINUED, SIGNAL_STOP_STOPPED, neg, TaskState, Task, Process } from '../sched.js';
import { CLD_CONTINUED, CLD_STOPPED } from './signal.js';
import { completeVforkDone } from './fork.js';
import { SIGINFO_BYTES, type SigInfo, encodeSigInfo } from '../signal-frame.js';

/**
 * do_coredump (fs/coredump.c, 6.18): no core when RLIMIT_CORE is below the ELF format's
 * min_coredump (ELF_EXEC_PAGESIZE, one page). The model's default limit is unlimited (assumption
 * `rlimits-unlimited`), so `--core` writes one unless the guest lowered it.
 */
export function coreLimitAllows(p: Process): boolean {
  return p.rlimits[Rlimit.CORE]!.cur >= GUEST_PAGE;
}

/** Death by a signal's default action; a core-dumping one writes the --core file first (do_coredump). */
export function killProcess(this: Kernel, p: Process, signal: number, reason: string, info?: SigInfo, dumper?: Task): void {
  if (!p.alive) return;
  let why = reason;
  if (info && dumper && CORE_DUMP_SIGNALS.has(signal) && this.o.core && !this.coreWritten && coreLimitAllows(p)) {
    this.coreWritten = true;
    why += this.dumpCore(p, dumper, info);
  }
  this.endProcess(p, { signal, reason: why });
}

export function endProcess(this: Kernel, p: Process, exit: Process['exit']): void {
  if (!p.alive) return;
  p.exit = exit;
  completeVforkDone(p); // exit_mm -> mm_release
  if (this.o.trace && exit) this.o.trace(`${this.tasks.length > 1 ? `[pid ${p.pid}] ` : ''}${straceExit(exit)}`);
  for (const t of p.threads) this.endTask(t);
  // exit_files(): every descriptor is closed (a pipe's other end then sees EOF or EPIPE).
  for (const fd of [...p.files.keys()]) this.closeFd(p, fd);
  // exit_ptrace(): the tracees of a dying tracer are detached and go on.
  for (const t of this.tasks) {
    if (t.ptrace?.tracer !== p || t.state === TaskState.Dead) continue;
    t.ptrace = undefined;
    if (t.state === TaskState.Traced) this.ptraceResume(t, 0, false);
  }
  for (const c of p.children) c.parent = undefined;
  const parent = p.parent;
  if (parent?.alive && p.exitSignal) {
    const status = 'code' in exit! ? exit.code : exit!.signal;
    this.sendToProcess(parent, { signo: p.exitSignal, code: 'code' in exit! ? CLD_EXITED : CLD_KILLED, pid: p.pid, uid: 0, status });
  }
  if (!parent) p.reaped = true;
}

export function endTask(this: Kernel, t: Task): void {
  if (t.state === TaskState.Dead) return;
  t.state = TaskState.Dead;
  t.wait = undefined;
  this.futexWaiters = this.futexWaiters.filter((w) => w !== t);
  if (t.ctx) { t.ctx.free(); t.ctx = undefined; }
}

/** SYS_exit of one thread: CLONE_CHILD_CLEARTID's store and wake (kernel/fork.c mm_release). */
export function exitThread(this: Kernel, t: Task, code: number): void {
  const p = t.proc;
  if (t.clearChildTid && p.threads.some((x) => x !== t && x.state !== TaskState.Dead)) {
    try {
      p.machine.writeU32(t.clearChildTid, 0);
      this.futexWake(p.machine, t.clearChildTid, 1);
    } catch { /* an unmapped address is ignored, as in Linux */ }
  }
  this.endTask(t);
  if (p.threads.every((x) => x.state === TaskState.Dead)) this.endProcess(p, { code: code & 0xff });
}

/** wait options (include/uapi/linux/wait.h): WUNTRACED (= WSTOPPED), WCONTINUED, __WNOTHREAD, __WALL, __WCLONE. */
const WSTOPPED = 2;
const WCONTINUED = 8;
const WAIT_THREAD_FLAGS = 0x20000000 | 0x40000000 | 0x80000000;
/** The status wait4 gives a continued child (include/uapi/linux/wait.h __W_CONTINUED). */
const W_CONTINUED = 0xffff;

/** What a wait reports of one child: its pid, the wait4 status word and the waitid siginfo fields. */
interface ChildReport { pid: number; status: number; code: number; siStatus: number }

/**
 * wait_consider_task() for a child that is not a tracee's stop (kernel/exit.c): a zombie
 * (wait_task_zombie, WEXITED), a completed group stop whose signal no wait reported yet
 * (wait_task_stopped, WSTOPPED: status sig << 8 | 0x7f, CLD_STOPPED), or a continue
 * (wait_task_continued, WCONTINUED: 0xffff, CLD_CONTINUED). WNOWAIT leaves the report in place.
 */
function considerChild(c: Process, flags: number): ChildReport | undefined {
  const keep = (flags & WNOWAIT) !== 0;
  if (!c.alive) {
    if (!(flags & WEXITED)) return undefined;
    const e = c.exit!;
    // The engine goes with the last process using it (a vfork child that exited shares its parent's).
    if (!keep) { c.reaped = true; reapCputime(c.parent, c); if (!c.machine.uc.closed && (!c.parent?.alive || c.parent.machine !== c.machine)) c.machine.close(); }
    // wait status: exit code in bits 15:8, or the signal in bits 6:0 (include/uapi/linux/wait.h W* macros).
    return 'code' in e
      ? { pid: c.pid, status: (e.code & 0xff) << 8, code: CLD_EXITED, siStatus: e.code }
      : { pid: c.pid, status: e.signal & 0x7f, code: CLD_KILLED, siStatus: e.signal };
  }
  if ((flags & WSTOPPED) && (c.stopFlags & SIGNAL_STOP_STOPPED) && c.groupExitCode) {
    const sig = c.groupExitCode;
    if (!keep) c.groupExitCode = 0;
    return { pid: c.pid, status: stopStatus(sig), code: CLD_STOPPED, siStatus: sig };
  }
  if ((flags & WCONTINUED) && (c.stopFlags & SIGNAL_STOP_CONTINUED)) {
    if (!keep) c.stopFlags &= ~SIGNAL_STOP_CONTINUED;
    return { pid: c.pid, status: W_CONTINUED, code: CLD_CONTINUED, siStatus: Sig.SIGCONT };
  }
  return undefined;
}

/** kernel_wait4 (kernel/exit.c): the options it takes, WEXITED implied; -ERESTARTSYS when a signal interrupts the wait. */
export function wait4(this: Kernel, t: Task, pid: number, status: bigint, options: bigint): bigint | 'stop' {
  const p = t.proc;
  if (options & ~BigInt(Number(WNOHANG) | WSTOPPED | WCONTINUED | WAIT_THREAD_FLAGS)) return neg(Errno.EINVAL);
  const flags = Number(options & 0xffffffffn) | WEXITED;
  const matches = (c: Process): boolean => !c.reaped && (pid === -1 || pid === 0 || c.pid === pid);
  const traced = (x: Task): boolean => x.ptrace?.tracer === p && x.state !== TaskState.Dead && (pid === -1 || pid === 0 || x.tid === pid);
  if (!p.children.some(matches) && !this.tasks.some(traced)) return neg(Errno.ECHILD);
  const attempt = (): bigint | undefined => {
    // wait_task_stopped() for tracees: an unreported ptrace stop, W_STOPCODE (with the event for PTRACE_EVENT_STOP).
    const st = this.tasks.find((x) => traced(x) && x.state === TaskState.Traced && !x.ptraceStop!.reported && !x.ptrace?.listening);
    if (st) {
      st.ptraceStop!.reported = true;
      if (status) p.machine.writeU32(status, stopStatus(st.ptraceStop!.sig, st.ptraceStop!.event));
      return BigInt(st.tid);
    }
    for (const c of p.children) {
      if (!matches(c)) continue;
      const r = considerChild(c, flags);
      if (!r) continue;
      if (status) p.machine.writeU32(status, r.status);
      return BigInt(r.pid);
    }
    return undefined;
  };
  const now = attempt();
  if (now !== undefined) return now;
  if (options & WNOHANG) return 0n;
  return this.block(t, { what: 'wait4', retry: attempt });
}

/**
 * waitid (kernel/exit.c): P_ALL or P_PID, WEXITED / WSTOPPED / WCONTINUED (at least one), WNOWAIT;
 * the child's state goes to a siginfo (si_signo SIGCHLD, si_code CLD_EXITED / CLD_KILLED /
 * CLD_STOPPED / CLD_CONTINUED / CLD_TRAPPED, si_pid, si_status).
 */
export function waitid(this: Kernel, t: Task, idtype: number, id: number, infop: bigint, options: number): bigint | 'stop' {
  if (idtype !== P_ALL && idtype !== P_PID) return neg(Errno.EINVAL);
  if (options & ~(Number(WNOHANG) | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | WAIT_THREAD_FLAGS)) return neg(Errno.EINVAL);
  if (!(options & (WEXITED | WSTOPPED | WCONTINUED))) return neg(Errno.EINVAL);
  const p = t.proc;
  const pid = idtype === P_ALL ? -1 : id;
  const matches = (c: Process): boolean => !c.reaped && (pid === -1 || c.pid === pid);
  const traced = (x: Task): boolean => x.ptrace?.tracer === p && x.state !== TaskState.Dead && (pid === -1 || x.tid === pid);
  if (!p.children.some(matches) && !this.tasks.some(traced)) return neg(Errno.ECHILD);
  const attempt = (): bigint | undefined => {
    // Ptrace stops are reported without WSTOPPED (wait_task_stopped's ptrace case): CLD_TRAPPED, si_status the signal.
    const st = this.tasks.find((x) => traced(x) && x.state === TaskState.Traced && !x.ptraceStop!.reported && !x.ptrace?.listening);
    if (st) {
      if (!(options & WNOWAIT)) st.ptraceStop!.reported = true;
      const ev = st.ptraceStop!;
      if (infop) p.machine.write(infop, encodeSigInfo({ signo: Sig.SIGCHLD, code: CLD_TRAPPED, pid: st.tid, uid: 0, status: ev.sig | (ev.event << 8) }));
      return 0n;
    }
    for (const c of p.children) {
      if (!matches(c)) continue;
      const r = considerChild(c, options);
      if (!r) continue;
      if (infop) p.machine.write(infop, encodeSigInfo({ signo: Sig.SIGCHLD, code: r.code, pid: r.pid, uid: 0, status: r.siStatus }));
      return 0n;
    }
    return undefined;
  };
  const now = attempt();
  if (now !== undefined) return now;
  if (options & Number(WNOHANG)) {
    if (infop) p.machine.write(infop, new Uint8Array(SIGINFO_BYTES));
    return 0n;
  }
  return this.block(t, { what: 'waitid', retry: attempt });
}
