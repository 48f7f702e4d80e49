/**
 * What a remote debugger (src/gdb/stub.ts, `exec -g PORT`) asks of the process model: where the
 * run loop (kernel/sched/core.ts run) and signal delivery (kernel/signal.ts deliverSignals) stop
 * for it. The debugger sits below the guest, as qemu-user's gdbstub does: it sees the debugged
 * process's signals before the guest's own handlers and tracers, and its breakpoints are engine
 * hooks, never bytes in guest memory (Machine.setBreakpoints).
 */
import { SI_USER } from './abi.js';
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
  /** A write watchpoint's bytes changed: after the instruction (or system call) that wrote them, as a data breakpoint traps. */
  Watch,
}

export interface DebugStop {
  reason: DebugStopReason;
  task: Task;
  /** Linux signal number reported: SIGTRAP for breakpoints and steps, the signal itself otherwise. */
  signo: number;
  /** Reason Signal: the dequeued signal, held until the debugger resumes. */
  held?: PendingSignal;
  /** Reason Watch: the watched address. */
  watch?: bigint;
}

/** A write watchpoint: `len` bytes at the address, and what they held when last looked at. */
export interface Watchpoint { len: number; last: Uint8Array | undefined }

/**
 * Run loop iterations (each at most one quantum of one task, kernel/sched/core.ts) after which
 * run() returns to the debugger's event loop, so that an interrupt from GDB is seen while the
 * guest runs. A model choice with no effect on the guest: a return costs far less than a quantum.
 */
export const DEBUG_SLICE_ITERATIONS = 2;

export class DebugControl {
  /** Software breakpoints of the debugged process (addresses of instructions). */
  readonly breakpoints = new Set<bigint>();
  /**
   * Write watchpoints by address. While any is set the debugged process runs one instruction at a
   * time (within its usual quantum, so the schedule stays) and the bytes are compared after each
   * instruction and each system call: a change stops it. Named assumption
   * `watch-on-value-change`: a write of the same value is not seen (GDB itself reports a `watch`
   * only when the value changed).
   */
  readonly watchpoints = new Map<bigint, Watchpoint>();
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

  /** The first watchpoint whose bytes differ from the last look (all of them are brought up to date); undefined if none. */
  changedWatchpoint(read: (addr: bigint, len: number) => Uint8Array | undefined): bigint | undefined {
    let hit: bigint | undefined;
    for (const [addr, w] of this.watchpoints) {
      const now = read(addr, w.len);
      const changed = now !== undefined && w.last !== undefined && !now.every((b, i) => b === w.last![i]);
      w.last = now;
      if (changed && hit === undefined) hit = addr;
    }
    return hit;
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
