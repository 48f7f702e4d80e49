/**
 * What a remote debugger (src/gdb/stub.ts, `exec -g PORT`) asks of the process model: where the
 * run loop (kernel/sched/core.ts run) and signal delivery (kernel/signal.ts deliverSignals) stop
 * for it. The debugger sits below the guest, as qemu-user's gdbstub does: it sees the debugged
 * process's signals before the guest's own handlers and tracers, and its breakpoints are engine
 * hooks, never bytes in guest memory (Machine.setBreakpoints).
 */
import { SI_USER, Sig } from './abi.js';
import type { PendingSignal, Task } from './sched.js';

/** Why the guest stopped for the debugger. */
export enum DebugStopReason {
  /** Before the first instruction (qemu-user -g stops there too). */
  Start,
  Breakpoint,
  /** One instruction completed after a step request. */
  Step,
  /** A signal about to be acted on: the debugger decides whether it is delivered (ptrace_signal's rule). */
  Signal,
  /** The debugger interrupted the running guest (GDB's Ctrl-C, byte 0x03). */
  Interrupt,
}

export interface DebugStop {
  reason: DebugStopReason;
  task: Task;
  /** Linux signal number reported: SIGTRAP for breakpoints and steps, the signal itself otherwise. */
  signo: number;
  /** Reason Signal: the dequeued signal, held until the debugger resumes. */
  held?: PendingSignal;
}

/**
 * Run loop iterations (each at most one quantum of one task, kernel/sched/core.ts) after which
 * run() returns to the debugger's event loop, so that an interrupt from GDB is seen while the
 * guest runs. A model choice with no effect on the guest: a return costs far less than a quantum.
 */
export const DEBUG_SLICE_ITERATIONS = 2;

export class DebugControl {
  /** Software breakpoints of the debugged process (addresses of instructions). */
  readonly breakpoints = new Set<bigint>();
  /** The task to run for exactly one instruction, then stop (DebugStopReason.Step). */
  step: Task | undefined;
  /** A step whose instruction was a system call that slept: the step stop comes when the task next runs. */
  stepAfterWake: Task | undefined;
  /** Set where the guest stopped; run() returns while it is set. */
  stop: DebugStop | undefined;
  /** Iterations since run() was entered (DEBUG_SLICE_ITERATIONS). */
  iterations = 0;

  /** @param pid the debugged process (its threads are the debugger's threads; other processes run free). */
  constructor(readonly pid: number) {}

  debugs(t: Task): boolean {
    return t.proc.pid === this.pid;
  }

  /**
   * Resume after a stop: `signal` (Linux number, 0 for none) is what the held signal becomes, as a
   * tracer's PTRACE_CONT data does (ptrace_signal): the same signal is delivered with its siginfo,
   * another one as from the debugger (SI_USER), 0 drops it. A signal given at a stop that held none
   * is queued for the stopped task.
   */
  resume(signal: number, step: Task | undefined): void {
    const s = this.stop;
    this.stop = undefined;
    this.step = step;
    this.iterations = 0;
    if (!s || signal === 0) return;
    const info = s.held && s.held.info.signo === signal ? s.held.info : { signo: signal, code: SI_USER, pid: 0, uid: 0 };
    s.task.pending.unshift({ info, forced: s.held?.forced ?? false, traced: s.held?.traced, debugSeen: true });
  }
}

/** The signal a stop reports: SIGTRAP for breakpoints and steps (the #BP and #DB traps Linux turns into SIGTRAP), SIGINT for an interrupt. */
export const STOP_SIGNAL: Record<Exclude<DebugStopReason, DebugStopReason.Signal>, number> = {
  [DebugStopReason.Start]: Sig.SIGTRAP,
  [DebugStopReason.Breakpoint]: Sig.SIGTRAP,
  [DebugStopReason.Step]: Sig.SIGTRAP,
  [DebugStopReason.Interrupt]: Sig.SIGINT,
};
