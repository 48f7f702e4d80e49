/**
 * Signals (kernel/signal.c, Linux 6.18): sending (send_signal_locked, complete_signal's choice of
 * thread), get_signal's delivery loop and default actions, and sigaction.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { DEFAULT_IGNORED, Errno, NSIG, SA_RESETHAND, SIG_DFL, SIG_IGN, SI_USER, Sig } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { PTRACE_EVENT_STOP } from '../ptrace.js';
import { neg, sigBit, UNBLOCKABLE, type PendingSignal, TaskState, Task, Process } from '../sched.js';
import type { SigInfo } from '../signal-frame.js';

/** si_code SI_KERNEL (include/uapi/asm-generic/siginfo.h): a bad sigreturn frame. */
export const SI_KERNEL = 0x80;
/** sizeof(struct kernel_sigaction) on x86-64 (arch/x86/include/uapi/asm/signal.h). */
const KERNEL_SIGACTION_BYTES = 32;

export function deliverable(this: Kernel, t: Task, p: PendingSignal): boolean {
  return p.forced || (t.sigmask & sigBit(p.info.signo)) === 0n || p.info.signo === Sig.SIGKILL;
}

/** Queue a signal for a thread (tgkill, faults) or a process (kill: the first thread not blocking it). */
export function sendToThread(this: Kernel, t: Task, info: SigInfo, forced = false): void {
  if (t.state === TaskState.Dead) return;
  const act = t.proc.sigactions[info.signo]!;
  if (!forced && (act.handler === SIG_IGN || (act.handler === SIG_DFL && DEFAULT_IGNORED.has(info.signo))) && info.signo !== Sig.SIGKILL) return;
  if (!forced && t.pending.some((p) => p.info.signo === info.signo)) return; // standard signals do not queue
  t.pending.push({ info, forced });
  if (info.signo === Sig.SIGKILL && t.state === TaskState.Traced) this.ptraceResume(t, 0, false);
}

export function sendToProcess(this: Kernel, p: Process, info: SigInfo): void {
  const live = p.threads.filter((t) => t.state !== TaskState.Dead);
  const t = live.find((x) => (x.sigmask & sigBit(info.signo)) === 0n) ?? live[0];
  if (t) this.sendToThread(t, info);
}

/** Deliver what is deliverable before the task runs; false when the task no longer runs. */
export function deliverSignals(this: Kernel, t: Task): boolean {
  while (t.state === TaskState.Runnable) {
    if (t.ptrace?.interrupt) {
      t.ptrace.interrupt = false;
      this.ptraceStopTask(t, { sig: Sig.SIGTRAP, event: PTRACE_EVENT_STOP, info: { signo: Sig.SIGTRAP, code: SI_USER }, reported: false });
      return false;
    }
    const k = t.pending.findIndex((p) => this.deliverable(t, p));
    if (k < 0) return true;
    const p = t.pending.splice(k, 1)[0]!;
    const sig = p.info.signo;
    // ptrace_signal(): a traced task stops before acting on any signal but SIGKILL; the tracer's
    // resume decides which signal, if any, is then delivered.
    if (t.ptrace && sig !== Sig.SIGKILL && !p.traced) {
      this.ptraceStopTask(t, { sig, event: 0, info: p.info, reported: false });
      return false;
    }
    const act = t.proc.sigactions[sig]!;
    const reason = p.info.reason ?? `signal ${Sig[sig] ?? sig} (si_code ${p.info.code})`;
    const blockedOrIgnored = (t.sigmask & sigBit(sig)) !== 0n || act.handler === SIG_IGN;
    if (sig === Sig.SIGKILL || act.handler === SIG_DFL || (p.forced && blockedOrIgnored)) {
      if (DEFAULT_IGNORED.has(sig) && !p.forced) continue;
      this.killProcess(t.proc, sig, reason, p.info, t);
      return false;
    }
    if (act.handler === SIG_IGN) continue;
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

export function findProcess(this: Kernel, pid: number): Process | undefined {
  return this.tasks.find((t) => t.proc.pid === pid)?.proc;
}
