/**
 * Signals (kernel/signal.c, Linux 6.18): sending (send_signal_locked, complete_signal's choice of
 * thread), prepare_signal's job control, get_signal's delivery loop and default actions, group
 * stop (do_signal_stop) and its report to the parent (do_notify_parent_cldstop), sigaction,
 * rt_sigsuspend, pause and rt_sigtimedwait.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { coreLimitAllows } from './exit.js';
import { DebugStopReason } from '../debug.js';
import { CORE_DUMP_SIGNALS, DEFAULT_IGNORED, Errno, NSIG, SA_NOCLDSTOP, SA_RESETHAND, SIG_DFL, SIG_IGN, SI_TKILL, SI_USER, SS_DISABLE, SS_ONSTACK, Sig } from '../abi.js';
import { XFEATURE_MASK_USER_DYNAMIC } from '../../../kernel-model/fpu-config.js';
import { MINSIGSTKSZ, on_sig_stack, sigaltstack_size_valid } from '../../../kernel-model/signal.js';
import { ERESTARTNOHAND } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { straceSignal } from '../strace.js';
import { signalfd_notify } from '../fs/signalfd.js';
import { PTRACE_EVENT_STOP } from '../ptrace.js';
import {
  SIGNAL_CLD_CONTINUED, SIGNAL_CLD_MASK, SIGNAL_CLD_STOPPED, SIGNAL_STOP_CONTINUED, SIGNAL_STOP_STOPPED,
  neg, sigBit, UNBLOCKABLE, type PendingSignal, TaskState, Task, Process,
} from '../sched.js';
import { SIGINFO_BYTES, encodeSigInfo, rawSigInfo, type SigInfo } from '../signal-frame.js';

/** si_code SI_KERNEL (include/uapi/asm-generic/siginfo.h): a bad sigreturn frame. */
export const SI_KERNEL = 0x80;
/** sizeof(struct kernel_sigaction) on x86-64 (arch/x86/include/uapi/asm/signal.h). */
const KERNEL_SIGACTION_BYTES = 32;
/** The stop signals (include/linux/signal.h SIG_KERNEL_STOP_MASK): their default action is a group stop. */
export const STOP_SIGNALS: ReadonlySet<number> = new Set([Sig.SIGSTOP, Sig.SIGTSTP, Sig.SIGTTIN, Sig.SIGTTOU]);
/** si_code of SIGCHLD for a stopped and a continued child (include/uapi/asm-generic/siginfo.h). */
export const CLD_STOPPED = 5;
export const CLD_CONTINUED = 6;
/** sizeof(sigset_t) the rt_sig* calls take (include/uapi/asm-generic/signal.h _NSIG / 8). */
const SIGSET_BYTES = 8n;

export function deliverable(this: Kernel, t: Task, p: PendingSignal): boolean {
  return p.forced || (t.sigmask & sigBit(p.info.signo)) === 0n || p.info.signo === Sig.SIGKILL;
}

/** Queue a signal for a thread (tgkill, faults) or a process (kill: the first thread not blocking it). */
export function sendToThread(this: Kernel, t: Task, info: SigInfo, forced = false, onDequeue?: PendingSignal['onDequeue']): void {
  if (t.state === TaskState.Dead) return;
  this.prepareSignal(t.proc, info.signo);
  // SIGKILL wakes a stopped task (TASK_WAKEKILL); other signals wait in its queue until SIGCONT (wants_signal).
  if (info.signo === Sig.SIGKILL && t.state === TaskState.Stopped) t.state = TaskState.Runnable;
  const act = t.proc.sigactions[info.signo]!;
  // sig_ignored(): a blocked signal (blocked or real_blocked) or one for a tracee is queued even when ignored.
  const kept = ((t.sigmask | t.realBlocked) & sigBit(info.signo)) !== 0n || t.ptrace !== undefined;
  if (!forced && !kept && (act.handler === SIG_IGN || (act.handler === SIG_DFL && DEFAULT_IGNORED.has(info.signo))) && info.signo !== Sig.SIGKILL) return;
  if (!forced && legacyQueued(t.pending, info.signo)) return;
  t.pending.push({ info, forced, onDequeue });
  signalfd_notify(t.proc);
  if (info.signo === Sig.SIGKILL && t.state === TaskState.Traced) this.ptraceResume(t, 0, false);
}

/**
 * prepare_signal()'s job control (kernel/signal.c): a stop signal flushes a queued SIGCONT; SIGCONT
 * flushes queued stop signals, cancels a group stop under way and wakes the stopped threads, and
 * records what the parent is to be told (SIGNAL_CLD_CONTINUED after a completed stop,
 * SIGNAL_CLD_STOPPED after one under way) and that a wait may report the continue.
 */
const flushShared = (p: Process, which: (s: number) => boolean): void => {
  for (let k = p.sharedPending.length - 1; k >= 0; k--) if (which(p.sharedPending[k]!.info.signo)) p.sharedPending.splice(k, 1);
};

export function prepareSignal(this: Kernel, p: Process, sig: number): void {
  if (!p.alive) return;
  const live = p.threads.filter((x) => x.state !== TaskState.Dead);
  const flush = (x: Task, which: (s: number) => boolean): void => {
    for (let k = x.pending.length - 1; k >= 0; k--) if (which(x.pending[k]!.info.signo)) x.pending.splice(k, 1);
  };
  if (STOP_SIGNALS.has(sig)) {
    for (const x of live) flush(x, (s) => s === Sig.SIGCONT);
    flushShared(p, (s) => s === Sig.SIGCONT);
    return;
  }
  if (sig !== Sig.SIGCONT) return;
  flushShared(p, (s) => STOP_SIGNALS.has(s));
  for (const x of live) {
    flush(x, (s) => STOP_SIGNALS.has(s));
    x.jobctlStopPending = false;
    if (x.ptrace?.seized) this.ptraceTrapNotify(x);
    else if (x.state === TaskState.Stopped) x.state = TaskState.Runnable; // wake_up_state(t, __TASK_STOPPED)
  }
  const why = p.stopFlags & SIGNAL_STOP_STOPPED ? SIGNAL_CLD_CONTINUED : p.groupStopCount ? SIGNAL_CLD_STOPPED : 0;
  if (why) {
    p.stopFlags = why | SIGNAL_STOP_CONTINUED;
    p.groupStopCount = 0;
    p.groupExitCode = 0;
  }
}

/**
 * do_signal_stop() (kernel/signal.c): the first thread to act on a stop signal starts a group stop
 * (group_exit_code = the signal, every other live thread gets JOBCTL_STOP_PENDING and is woken from
 * its sleep); each thread then stops (task_participate_group_stop), and the last one to stop tells
 * the parent (CLD_STOPPED). A traced thread stops for its tracer instead (do_jobctl_trap: the
 * signal, or PTRACE_EVENT_STOP for a seized one). Returns true when `t` stopped.
 */
export function doSignalStop(this: Kernel, t: Task, signr: number): boolean {
  const p = t.proc;
  if (!t.jobctlStopPending) {
    if (!signr) return false;
    if (!(p.stopFlags & SIGNAL_STOP_STOPPED)) p.groupExitCode = signr;
    p.groupStopCount = 0;
    for (const x of p.threads) {
      if (x.state === TaskState.Dead || (x !== t && x.state === TaskState.Stopped)) continue;
      x.jobctlStopPending = true;
      x.jobctlStopSig = signr;
      p.groupStopCount++;
    }
  }
  const last = this.participateGroupStop(t);
  if (!t.ptrace) {
    t.state = TaskState.Stopped;
    if (last) this.notifyParentCldstop(p, CLD_STOPPED);
    return true;
  }
  const sig = p.groupExitCode || signr;
  if (t.ptrace.seized) {
    const ev = !p.groupStopCount && !(p.stopFlags & SIGNAL_STOP_STOPPED) ? Sig.SIGTRAP : sig;
    this.ptraceStopTask(t, { sig: ev, event: PTRACE_EVENT_STOP, info: { signo: ev, code: ev | (PTRACE_EVENT_STOP << 8), pid: t.tid, uid: 0 }, reported: false });
  } else {
    // ptrace_stop(signr, CLD_STOPPED, 0, NULL): no siginfo (PTRACE_GETSIGINFO -EINVAL).
    this.ptraceStopTask(t, { sig, event: 0, info: { signo: sig, code: SI_USER }, reported: false, noSiginfo: true });
  }
  // ptrace_stop: the real parent hears of a completed group stop only when it is not the tracer.
  if (last && t.ptrace?.tracer !== p.parent) this.notifyParentCldstop(p, CLD_STOPPED);
  return true;
}

/** task_participate_group_stop(): true when `t` is the last thread of a fresh group stop. */
export function participateGroupStop(this: Kernel, t: Task): boolean {
  if (!t.jobctlStopPending) return false;
  t.jobctlStopPending = false;
  const p = t.proc;
  if (p.groupStopCount > 0) p.groupStopCount--;
  if (!p.groupStopCount && !(p.stopFlags & SIGNAL_STOP_STOPPED)) {
    p.stopFlags = SIGNAL_STOP_STOPPED;
    return true;
  }
  return false;
}

/**
 * do_notify_parent_cldstop(tsk, false, why) (kernel/signal.c): SIGCHLD to the real parent with
 * si_code CLD_STOPPED (si_status the stop signal) or CLD_CONTINUED (si_status SIGCONT), si_pid the
 * group leader; none when the parent ignores SIGCHLD or set SA_NOCLDSTOP. A parent in wait is
 * woken by the scheduler's retry.
 */
export function notifyParentCldstop(this: Kernel, p: Process, why: number): void {
  const parent = p.parent;
  if (!parent?.alive) return;
  const act = parent.sigactions[Sig.SIGCHLD]!;
  if (act.handler === SIG_IGN || (act.flags & SA_NOCLDSTOP)) return;
  const status = why === CLD_CONTINUED ? Sig.SIGCONT : p.groupExitCode & 0x7f;
  this.sendToProcess(parent, { signo: Sig.SIGCHLD, code: why, pid: p.pid, uid: 0, status });
}

/**
 * send_signal_locked(PIDTYPE_TGID) (kernel/signal.c): a process-directed signal goes to
 * shared_pending (a standard one once), unless sig_ignored() for the group leader; the threads
 * not blocking it see it (complete_signal's wake-up is the scheduler's retry). SIGKILL takes the
 * thread path, where it wakes stopped and traced threads (complete_signal's fatal case).
 */
export function sendToProcess(this: Kernel, p: Process, info: SigInfo, onDequeue?: PendingSignal['onDequeue']): void {
  const live = p.threads.filter((t) => t.state !== TaskState.Dead);
  if (!live.length) return;
  if (info.signo === Sig.SIGKILL) {
    const t = live.find((x) => (x.sigmask & sigBit(info.signo)) === 0n) ?? live[0]!;
    this.sendToThread(t, info);
    return;
  }
  this.prepareSignal(p, info.signo);
  const leader = live[0]!;
  const act = p.sigactions[info.signo]!;
  const kept = ((leader.sigmask | leader.realBlocked) & sigBit(info.signo)) !== 0n || leader.ptrace !== undefined;
  if (!kept && (act.handler === SIG_IGN || (act.handler === SIG_DFL && DEFAULT_IGNORED.has(info.signo)))) return;
  if (legacyQueued(p.sharedPending, info.signo)) return;
  p.sharedPending.push({ info, forced: false, onDequeue });
  signalfd_notify(p);
}

/** SIGRTMIN (include/uapi/asm-generic/signal.h): signals from it on queue every instance (legacy_queue). */
export const SIGRTMIN = 32;
const legacyQueued = (q: readonly PendingSignal[], sig: number): boolean => sig < SIGRTMIN && q.some((x) => x.info.signo === sig);
/** SYNCHRONOUS_MASK (kernel/signal.c): the fault signals next_signal takes first. */
const SYNCHRONOUS: ReadonlySet<number> = new Set([Sig.SIGSEGV, Sig.SIGBUS, Sig.SIGILL, Sig.SIGTRAP, Sig.SIGFPE, Sig.SIGSYS]);

/** next_signal() over one queue: a synchronous signal first, else the lowest number; the first queued of that number. */
function nextSignal(q: readonly PendingSignal[], ok: (x: PendingSignal) => boolean): number {
  let best = -1;
  q.forEach((x, i) => {
    if (!ok(x)) return;
    if (best < 0) { best = i; return; }
    const a = x.info.signo, b = q[best]!.info.signo;
    const rank = (s: number): number => (SYNCHRONOUS.has(s) ? 0 : 100) + s;
    if (rank(a) < rank(b)) best = i;
  });
  return best;
}

/**
 * dequeue_signal() (kernel/signal.c): the thread's own pending signals first, then the shared
 * ones, each by next_signal; `ok` says which it may take. A signal the tracer already saw
 * (resumed with it) comes before all. A timer's signal runs its onDequeue, which may drop it.
 */
export function dequeueSignal(this: Kernel, t: Task, ok: (x: PendingSignal) => boolean): PendingSignal | undefined {
  for (;;) {
    const traced = t.pending.findIndex((x) => x.traced && ok(x));
    let q: PendingSignal[] = t.pending;
    let k = traced >= 0 ? traced : nextSignal(t.pending, ok);
    if (k < 0) { q = t.proc.sharedPending; k = nextSignal(q, ok); }
    if (k < 0) return undefined;
    const x = q.splice(k, 1)[0]!;
    if (!x.onDequeue) return x;
    const info = x.onDequeue(x.info);
    if (info) return { ...x, info, onDequeue: undefined };
  }
}

/** signal_pending(): a signal `t` would act on is queued for it or its process. */
export function signalPending(this: Kernel, t: Task): boolean {
  return t.pending.some((x) => this.deliverable(t, x)) || t.proc.sharedPending.some((x) => this.deliverable(t, x));
}

/** Deliver what is deliverable before the task runs; false when the task no longer runs. */
export function deliverSignals(this: Kernel, t: Task): boolean {
  while (t.state === TaskState.Runnable) {
    // JOBCTL_TRAP_MASK: PTRACE_INTERRUPT, a seized child's first stop, ptrace_trap_notify.
    if (t.ptrace?.seized && (t.ptrace.interrupt || t.ptrace.trapNotify)) {
      this.doJobctlTrap(t);
      return false;
    }
    // get_signal(): the parent hears of a stop or continue the group's SIGCONT recorded.
    if (t.proc.stopFlags & SIGNAL_CLD_MASK) {
      const why = t.proc.stopFlags & SIGNAL_CLD_CONTINUED ? CLD_CONTINUED : CLD_STOPPED;
      t.proc.stopFlags &= ~SIGNAL_CLD_MASK;
      this.notifyParentCldstop(t.proc, why);
    }
    // A group stop another thread started: this one takes part.
    if (t.jobctlStopPending && this.doSignalStop(t, 0)) return false;
    const p = this.dequeueSignal(t, (x) => this.deliverable(t, x));
    if (!p) {
      // arch_do_signal_or_restart() with no handler to run: an interrupted call is made again.
      this.restartWithoutHandler(t);
      return true;
    }
    const sig = p.info.signo;
    // The remote debugger sees the debugged process's signals first (src/linux/debug.ts) and decides on resuming.
    const dbg = this.debug;
    if (dbg && dbg.debugs(t) && sig !== Sig.SIGKILL && !p.debugSeen) {
      dbg.stop = { reason: DebugStopReason.Signal, task: t, signo: sig, held: p };
      return false;
    }
    // ptrace_signal(): a traced task stops before acting on any signal but SIGKILL; the tracer's
    // resume decides which signal, if any, is then delivered.
    if (t.ptrace && sig !== Sig.SIGKILL && !p.traced) {
      this.ptraceStopTask(t, { sig, event: 0, info: p.info, reported: false, delivery: true });
      return false;
    }
    const act = t.proc.sigactions[sig]!;
    if (this.o.trace && act.handler !== SIG_IGN && !(act.handler === SIG_DFL && DEFAULT_IGNORED.has(sig) && !p.forced)) this.o.trace(`${this.tracePid(t)}${straceSignal(p.info)}`);
    const reason = p.info.reason ?? `signal ${Sig[sig] ?? sig} (si_code ${p.info.code})`;
    const blockedOrIgnored = (t.sigmask & sigBit(sig)) !== 0n || act.handler === SIG_IGN;
    if (sig === Sig.SIGKILL || act.handler === SIG_DFL || (p.forced && blockedOrIgnored)) {
      if (DEFAULT_IGNORED.has(sig) && !p.forced) continue;
      // sig_kernel_stop(): a group stop. SIGTSTP/SIGTTIN/SIGTTOU are dropped in an orphaned process
      // group; named assumption `pgrp-not-orphaned`: the first process's parent is a shell in another
      // process group of the session, so the model's single group is never orphaned.
      if (STOP_SIGNALS.has(sig) && sig !== Sig.SIGKILL && act.handler === SIG_DFL) {
        if (this.doSignalStop(t, sig)) return false;
        continue;
      }
      // do_group_exit -> do_exit: PTRACE_EVENT_EXIT first (message: the signal, 0x80 when a core is written).
      const dumps = CORE_DUMP_SIGNALS.has(sig) && this.o.core !== undefined && !this.coreWritten && coreLimitAllows(t.proc);
      if (this.ptraceExitEvent(t, sig | (dumps ? 0x80 : 0), () => this.killProcess(t.proc, sig, reason, p.info, t))) return false;
      this.killProcess(t.proc, sig, reason, p.info, t);
      return false;
    }
    if (act.handler === SIG_IGN) continue;
    this.restartForHandler(t, act);
    const failed = this.setupFrame(t, p.info, act);
    if (failed) {
      // signal_setup_done -> force_sigsegv: SIGSEGV is forced, and a failing SIGSEGV handler is reset first.
      if (sig === Sig.SIGSEGV) t.proc.sigactions[sig] = { handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n };
      this.sendToThread(t, { signo: Sig.SIGSEGV, code: SI_KERNEL, addr: 0n, reason: `${failed} for ${Sig[sig] ?? sig} (${reason})` }, true);
      continue;
    }
    if (act.flags & SA_RESETHAND) t.proc.sigactions[sig] = { handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n };
  }
  return false;
}

export function sigaction(this: Kernel, p: Process, sig: number, act: bigint, oact: bigint): bigint {
  if (sig < 1 || sig > NSIG || ((sig === Sig.SIGKILL || sig === Sig.SIGSTOP) && act)) return neg(Errno.EINVAL);
  const m = p.machine;
  const cur = p.sigactions[sig]!;
  if (oact) {
    const b = new Uint8Array(KERNEL_SIGACTION_BYTES);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, cur.handler, true);
    v.setBigUint64(8, cur.flags, true);
    v.setBigUint64(16, cur.restorer, true);
    v.setBigUint64(24, cur.mask, true);
    m.write(oact, b);
  }
  if (act) {
    // struct kernel_sigaction: handler, flags, restorer, mask (arch/x86/include/uapi/asm/signal.h).
    const v = new DataView(m.read(act, KERNEL_SIGACTION_BYTES).buffer);
    p.sigactions[sig] = { handler: v.getBigUint64(0, true), flags: v.getBigUint64(8, true), restorer: v.getBigUint64(16, true), mask: v.getBigUint64(24, true) & ~UNBLOCKABLE };
  }
  return 0n;
}

/** find_vpid() for kill(): any task's id, a thread's included, names its thread group. */
export function findProcess(this: Kernel, pid: number): Process | undefined {
  return this.tasks.find((t) => t.tid === pid && t.state !== TaskState.Dead)?.proc ?? this.tasks.find((t) => t.proc.pid === pid)?.proc;
}

/**
 * Sleep until a signal is pending (kernel/signal.c sys_pause, sys_rt_sigsuspend): -ERESTARTNOHAND,
 * which becomes -EINTR once a handler ran, or a new call when none did.
 */
export function sleepUntilSignal(this: Kernel, t: Task, what: string): bigint | 'stop' {
  if (this.signalPending(t)) return neg(ERESTARTNOHAND as Errno);
  return this.block(t, { what, restart: ERESTARTNOHAND });
}

/**
 * rt_sigsuspend (kernel/signal.c sigsuspend): the mask is replaced until a signal comes; the old
 * one is saved (set_restore_sigmask) for the handler's frame, or put back if no handler runs.
 */
export function sigsuspend(this: Kernel, t: Task, set: bigint, size: bigint): bigint | 'stop' {
  if (size !== SIGSET_BYTES) return neg(Errno.EINVAL);
  const mask = t.proc.machine.readU64(set);
  t.savedSigmask = t.sigmask;
  t.sigmask = mask & ~UNBLOCKABLE;
  return this.sleepUntilSignal(t, 'rt_sigsuspend');
}

/**
 * rt_sigtimedwait (kernel/signal.c do_sigtimedwait): a pending signal of the set is taken without
 * running its handler (its siginfo copied out); otherwise the set is unblocked while the thread
 * sleeps, until one comes (its number), the timeout (-EAGAIN) or another signal (-EINTR).
 */
export function sigtimedwait(this: Kernel, t: Task, uthese: bigint, uinfo: bigint, uts: bigint, size: bigint): bigint | 'stop' {
  if (size !== SIGSET_BYTES) return neg(Errno.EINVAL);
  const m = t.proc.machine;
  const these = m.readU64(uthese) & ~UNBLOCKABLE;
  let deadline: bigint | undefined;
  if (uts) {
    const sec = m.readU64(uts), nsec = m.readU64(uts + 8n);
    // timespec64_valid(): a negative second count or nanoseconds out of range are -EINVAL.
    if (BigInt.asIntN(64, sec) < 0n || nsec >= 1_000_000_000n) return neg(Errno.EINVAL);
    deadline = this.clockNs + sec * 1_000_000_000n + nsec;
  }
  const take = (): bigint | undefined => {
    const x = this.dequeueSignal(t, (y) => (these & sigBit(y.info.signo)) !== 0n && !y.forced);
    if (!x) return undefined;
    const info = x.info;
    if (uinfo) m.write(uinfo, encodeSigInfo(info));
    return BigInt(info.signo);
  };
  const now = take();
  if (now !== undefined) return now;
  if (deadline !== undefined && deadline === this.clockNs) return neg(Errno.EAGAIN);
  const blocked = t.sigmask;
  // The set is unblocked while the thread sleeps; real_blocked keeps the mask it had.
  t.realBlocked = blocked;
  t.sigmask = blocked & ~these;
  const done = (r: bigint): bigint => { t.sigmask = blocked; t.realBlocked = 0n; return r; };
  return this.block(t, {
    what: 'rt_sigtimedwait', deadline,
    retry: () => { const r = take(); return r === undefined ? undefined : done(r); },
    onTimeout: () => done(neg(Errno.EAGAIN)),
    interrupted: () => done(neg(Errno.EINTR)),
  });
}

/**
 * rt_sigqueueinfo and rt_tgsigqueueinfo (kernel/signal.c do_rt_sigqueueinfo,
 * do_rt_tgsigqueueinfo): the caller's siginfo with si_signo set to `sig`; -EPERM, before any other
 * check, when its si_code is >= 0 or SI_TKILL and the target is not the caller itself (kill's and
 * the kernel's codes cannot be forged); then kill_proc_info / do_send_specific: -ESRCH for no such
 * task (or one of another group), -EINVAL for a bad signal; 0 checks only.
 */
export function sigqueueinfo(this: Kernel, t: Task, tgid: number | undefined, pid: number, sig: number, uinfo: bigint): bigint {
  const info = rawSigInfo(t.proc.machine.read(uinfo, SIGINFO_BYTES));
  new DataView(info.raw!.buffer).setInt32(0, sig, true);
  info.signo = sig;
  if (tgid !== undefined && (pid <= 0 || tgid <= 0)) return neg(Errno.EINVAL);
  if ((info.code >= 0 || info.code === SI_TKILL) && pid !== t.tid) return neg(Errno.EPERM);
  if (tgid === undefined) {
    const target = pid > 0 ? this.findProcess(pid) : undefined;
    if (!target || !target.alive) return neg(Errno.ESRCH);
    if (sig < 0 || sig > NSIG) return neg(Errno.EINVAL);
    if (sig) this.sendToProcess(target, info);
    return 0n;
  }
  const target = this.tasks.find((x) => x.tid === pid && x.proc.pid === tgid && x.state !== TaskState.Dead);
  if (!target) return neg(Errno.ESRCH);
  if (sig < 0 || sig > NSIG) return neg(Errno.EINVAL);
  if (sig) this.sendToThread(target, info);
  return 0n;
}

/** SS_FLAG_BITS (include/uapi/linux/signal.h): SS_AUTODISARM, the only flag beside the mode. */
export const SS_AUTODISARM = 1 << 31;
const SS_FLAG_BITS = SS_AUTODISARM;

/**
 * do_sigaltstack()'s change (kernel/signal.c, Linux 6.18), for sigaltstack(2) and rt_sigreturn's
 * restore_altstack: -EPERM while `sp` is on the current alternate stack, -EINVAL for a mode other
 * than 0, SS_ONSTACK or SS_DISABLE, nothing to do for the same stack; SS_DISABLE clears it, else
 * the size must be MINSIGSTKSZ at least and fit the frame (sigaltstack_size_valid), -ENOMEM.
 * The flags are kept as given (sas_ss_flags; SS_AUTODISARM acts in setupFrame).
 */
export function doSigaltstack(this: Kernel, t: Task, ss: { sp: bigint; size: bigint; flags: number }, sp: bigint): Errno | 0 {
  const cur = { sp: t.altstack.sp, size: t.altstack.size, enabled: t.altstack.flags !== SS_DISABLE && t.altstack.size !== 0n };
  if (on_sig_stack(cur, sp)) return Errno.EPERM;
  const mode = ss.flags & ~SS_FLAG_BITS;
  if (mode !== SS_DISABLE && mode !== SS_ONSTACK && mode !== 0) return Errno.EINVAL;
  if (t.altstack.sp === ss.sp && t.altstack.size === ss.size && t.altstack.flags === ss.flags) return 0;
  if (mode === SS_DISABLE) { t.altstack = { sp: 0n, size: 0n, flags: ss.flags }; return 0; }
  if (ss.size < BigInt(MINSIGSTKSZ)) return Errno.ENOMEM;
  const perm = t.kfpu.permittedUserFeatures;
  if (!sigaltstack_size_valid(this.fpuCfg, this.o.cpu.standardSize(perm), (perm & XFEATURE_MASK_USER_DYNAMIC) !== 0, ss.size)) return Errno.ENOMEM;
  t.altstack = { sp: ss.sp, size: ss.size, flags: ss.flags };
  return 0;
}

/**
 * What sigaltstack reports as the old stack's flags (do_sigaltstack): sas_ss_flags()
 * (include/linux/sched/signal.h) with the stored SS_FLAG_BITS, even when the stack is disabled.
 */
export function sasSsFlags(t: Task, sp: bigint): number {
  if (!t.altstack.size || t.altstack.flags === SS_DISABLE) return SS_DISABLE | (t.altstack.flags & SS_FLAG_BITS);
  const onStack = on_sig_stack({ sp: t.altstack.sp, size: t.altstack.size, enabled: true }, sp);
  return (onStack ? SS_ONSTACK : 0) | (t.altstack.flags & SS_FLAG_BITS);
}
