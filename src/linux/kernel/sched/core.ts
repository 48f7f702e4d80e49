/**
 * The scheduler (kernel/sched/core.c, Linux 6.18): deterministic round-robin by tid in fixed
 * instruction quanta, sleeping and waking (the model's wait queues), and the context switch of a
 * task onto its process's engine.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Machine, StopKind } from '../../../../emulator/machine.js';
import { X86Reg } from '../../../../emulator/unicorn.js';
import { switchExtendedState } from '../../../../kernel-model/context-switch.js';
import { Sig } from '../../abi.js';
import { TRAP_DB } from '../../arch/x86/kernel/traps.js';
import { ERESTARTSYS } from '../../errno.js';
import { pipeActivity } from '../../fs/pipe.js';
import type { Kernel, RunResult } from '../../kernel.js';
import { SI_KERNEL } from '../signal.js';
import { NS_PER_INSN } from '../time/posix-timers.js';
import { PTRACE_EVENTMSG_SYSCALL_EXIT, TRAP_HWBKPT, TRAP_TRACE } from '../../ptrace.js';
import { DR_STEP, dataBreakpoints, executeBreakpointAddresses, hw_breakpoint_data_handler, hw_breakpoint_handler } from '../../arch/x86/kernel/hw_breakpoint.js';
import { Quirk } from '../../../../emulator/quirks.js';
import { pushfShowsForcedTf, steppingPushf } from '../../arch/x86/kernel/step.js';
import { MASK64, type Wait, TaskState, Task } from '../../sched.js';
import { DEBUG_SLICE_ITERATIONS, DebugStopReason } from '../../debug.js';

/** Instructions per scheduling quantum when several tasks are runnable, and when one is. */
export const QUANTUM_SHARED = 10_000;
const QUANTUM_ALONE = 1_000_000;

/** Run until the first process exits; returns its status. */
export function run(this: Kernel): RunResult {
  const init = this.init;
  if (!init) throw new Error('Kernel.run before load');
  const dbg = this.debug;
  while (init.alive && !this.fatal) {
    if (dbg) {
      if (dbg.stop || ++dbg.iterations > DEBUG_SLICE_ITERATIONS) { dbg.iterations = 0; return { kind: 'debug-stop' }; }
    }
    const task = this.pick(this.lastPicked);
    if (!task) {
      if (this.wakeOnTimeout()) continue;
      const sleepers = this.tasks.filter((t) => t.state === TaskState.Blocked || t.state === TaskState.Traced || t.state === TaskState.Stopped)
        .map((t) => (t.state === TaskState.Traced ? `tid ${t.tid} in a ptrace stop` : t.state === TaskState.Stopped ? `tid ${t.tid} stopped (${Sig[t.proc.groupExitCode] ?? 'group stop'})` : `tid ${t.tid} in ${t.wait?.what}`));
      return { kind: 'error', message: `deadlock: every task is blocked (${sleepers.join(', ')})` };
    }
    this.idleTimerFires = 0;
    this.lastPicked = task.tid;
    this.switchTo(task);
    if (task.exitAfterStop) {
      const rest = task.exitAfterStop;
      task.exitAfterStop = undefined;
      rest();
      continue;
    }
    if (task.afterEventStop) {
      const rest = task.afterEventStop;
      task.afterEventStop = undefined;
      rest();
      if (task.state !== TaskState.Runnable) continue;
    }
    if (task.syscallAfterEntryStop) {
      task.syscallAfterEntryStop = false;
      this.syscallAfterEntryStop(task);
    }
    if (task.syscallExitStopDue && task.state === TaskState.Runnable) {
      task.syscallExitStopDue = false;
      // syscall_exit_work(): an exit stop under SYSCALL_WORK_SYSCALL_TRACE as it is now (never under EMU, report_single_step).
      if (task.ptrace?.syscalls) { this.ptraceStopTask(task, this.syscallStop(task, PTRACE_EVENTMSG_SYSCALL_EXIT)); continue; }
    }
    if (!this.deliverSignals(task) || task.state !== TaskState.Runnable) continue;
    this.rseqReturnToUser(task);
    if (task.state !== TaskState.Runnable || !task.proc.alive) continue;
    if (dbg && dbg.stepAfterWake === task) {
      dbg.stepAfterWake = undefined;
      dbg.stop = { reason: DebugStopReason.Step, task, signo: Sig.SIGTRAP };
      continue;
    }
    const runnable = this.tasks.filter((t) => t.state === TaskState.Runnable).length;
    const remaining = this.o.maxInsns - this.insns;
    if (remaining <= 0n) {
      this.killProcess(task.proc, Sig.SIGXCPU, `instruction budget exhausted (--max-insns ${this.o.maxInsns}) at rip 0x${task.proc.machine.uc.regRead(X86Reg.RIP).toString(16)}`, { signo: Sig.SIGXCPU, code: SI_KERNEL }, task);
      continue;
    }
    const slice = BigInt(runnable > 1 ? QUANTUM_SHARED : QUANTUM_ALONE);
    const debugged = dbg?.debugs(task) === true;
    const debugStep = debugged && dbg!.step === task;
    const stepping = task.ptrace?.singlestep === true || debugStep;
    // The thread's instruction breakpoints (DR0-DR3 with R/W 00), unless this CPU's never fire, and a debugger's.
    const hwbp = task.proc.machine.cpu.hasQuirk(Quirk.DebugRegistersInert) ? NO_BREAKPOINTS : executeBreakpointAddresses(task.debugRegs);
    const bps = debugged ? (hwbp.size ? new Set([...dbg!.breakpoints, ...hwbp]) : dbg!.breakpoints) : hwbp;
    task.proc.machine.setBreakpoints(bps, task.debugRegs.resumeFlag);
    // The thread's data breakpoints (R/W 01 and 11): memory hooks only while one is enabled, and the
    // task then runs an instruction at a time so that the trap comes right after the access.
    const inert = task.proc.machine.cpu.hasQuirk(Quirk.DebugRegistersInert);
    const watches = inert ? [] : dataBreakpoints(task.debugRegs);
    task.proc.machine.setWatchpoints(watches);
    let quantum = stepping ? 1 : Number(slice < remaining ? slice : remaining);
    // A quantum ends where the next interval timer is due (kernel/time/itimer.ts).
    const toTimer = this.insnsToNextTimer(task);
    if (toTimer !== undefined && toTimer < BigInt(quantum)) quantum = Number(toTimer);
    task.origRax = -1n;
    const m = task.proc.machine;
    // A task alone runs its quanta back to back in one engine run (aloneQuanta).
    const plan = !dbg && runnable === 1 && !stepping && !watches.length && !bps.size && quantum === QUANTUM_ALONE ? this.aloneQuanta(task, remaining, toTimer) : undefined;
    let stop: ReturnType<Machine['run']>;
    if (debugged && dbg!.watchpoints.size && !stepping) {
      // Write watchpoints: one instruction at a time within the same quantum (src/linux/debug.ts).
      let ran = 0;
      do {
        stop = m.run(1);
        ran++;
        const hit = stop.kind === StopKind.Quantum ? dbg!.changedWatchpoint((a, n) => readMapped(m, a, n)) : undefined;
        if (hit !== undefined) { dbg!.stop = { reason: DebugStopReason.Watch, task, signo: Sig.SIGTRAP, watch: hit }; break; }
      } while (stop.kind === StopKind.Quantum && ran < quantum);
      quantum = ran;
    } else if (stepping && task.ptrace?.singlestep) {
      // A PUSHF stepped by ptrace pushes TF (step.c's TF in the saved flags; arch/x86/kernel/step.ts).
      const pushf = steppingPushf(m);
      stop = m.run(quantum);
      if (pushf && stop.kind === StopKind.Quantum) pushfShowsForcedTf(m);
    } else if (watches.length && !stepping) {
      let ran = 0;
      do {
        stop = m.run(1);
        ran++;
      } while (stop.kind === StopKind.Quantum && ran < quantum && !m.peekWatchHits());
      quantum = ran;
    } else {
      if (plan) this.aloneRun = { task, machine: m, settled: 0 };
      try {
        stop = m.run(quantum, plan);
      } finally {
        if (plan) {
          // The quanta that ended before the last: settled as separate runs would have been.
          const done = m.quantaDone;
          while (this.aloneRun!.settled < done) { this.aloneRun!.settled++; this.quantumEnd(task, BigInt(QUANTUM_ALONE)); }
          this.aloneRun = undefined;
          // The last quantum of the plan is lastQuantum long; one the run ended early, a full one.
          if (done === plan.count - 1) quantum = plan.lastQuantum;
        }
      }
      // A run that a fault or a system call ended early is charged what it executed, not its whole
      // quantum (the budget, the virtual clock and the CPU time count instructions that ran; a
      // loop of sched_yield or of caught faults used to exhaust --max-insns a quantum at a time).
      const ran = m.lastRunInsns;
      if (stop.kind !== StopKind.Quantum && ran !== undefined) quantum = Math.min(quantum, Math.max(1, ran));
    }
    const watchHits = watches.length ? m.takeWatchHits() : 0;
    // The CPU clears RF once an instruction completed (SDM Vol. 3 18.3.1.1); hw_breakpoint_handler sets it again.
    task.debugRegs.resumeFlag = false;
    if (stepping && task.ptrace) {
      // The single-step trap (#DB, TRAP_TRACE) once the instruction completed.
      task.ptrace.singlestep = false;
      // A breakpoint stop ran no instruction: no step trap yet.
      if (stop.kind !== StopKind.Fault && stop.kind !== StopKind.Breakpoint && task.state === TaskState.Runnable && task.proc.alive) {
        // exc_debug_user (arch/x86/kernel/traps.c): virtual_dr6 starts as the real DR6's DR_STEP
        // (with the data breakpoints the instruction hit: one #DB, get_si_code gives TRAP_TRACE).
        task.debugRegs.virtualDr6 = DR_STEP;
        // send_sigtrap (arch/x86/kernel/step.c / traps.c): trap_nr X86_TRAP_DB, error_code 0.
        task.trapNr = TRAP_DB; task.errorCode = 0;
        if (watchHits) hw_breakpoint_data_handler(task.debugRegs, watchHits, true);
        this.sendToThread(task, { signo: Sig.SIGTRAP, code: TRAP_TRACE, addr: task.proc.machine.uc.regRead(X86Reg.RIP), trapno: TRAP_DB }, true);
      }
    }
    else if (watchHits && stop.kind !== StopKind.Fault && task.proc.alive) {
      // A data breakpoint's trap (#DB after the access): send_sigtrap with TRAP_HWBKPT and si_addr regs->ip.
      hw_breakpoint_data_handler(task.debugRegs, watchHits, false);
      this.sendToThread(task, { signo: Sig.SIGTRAP, code: TRAP_HWBKPT, addr: m.uc.regRead(X86Reg.RIP), trapno: TRAP_DB }, true);
    }
    const stopRip = stop.kind === StopKind.Breakpoint ? m.uc.regRead(X86Reg.RIP) : undefined;
    if (stopRip !== undefined && !(debugged && dbg!.breakpoints.has(stopRip))) {
      // An instruction breakpoint's #DB (hw_breakpoint_handler), then exc_debug_user's send_sigtrap.
      if (hw_breakpoint_handler(task.debugRegs, stopRip)) { task.trapNr = TRAP_DB; task.errorCode = 0; this.sendToThread(task, { signo: Sig.SIGTRAP, code: TRAP_HWBKPT, addr: stopRip, trapno: TRAP_DB }, true); }
    } else if (debugged && stop.kind === StopKind.Breakpoint) dbg!.stop = { reason: DebugStopReason.Breakpoint, task, signo: Sig.SIGTRAP };
    else if (debugStep && stop.kind !== StopKind.Fault && stop.kind !== StopKind.Unemulated) {
      // The step's trap (#DB). A task now asleep in a system call reports it when it next runs (below).
      dbg!.step = undefined;
      if (task.state === TaskState.Runnable && task.proc.alive) dbg!.stop = { reason: DebugStopReason.Step, task, signo: Sig.SIGTRAP };
      else dbg!.stepAfterWake = task;
    }
    this.quantumEnd(task, BigInt(quantum));
    if (task.deferred) {
      const fn = task.deferred;
      task.deferred = undefined;
      const r = fn();
      if (r !== undefined && task.proc.loaded === task) task.proc.machine.uc.regWrite(X86Reg.RAX, r & MASK64);
    }
    // A system call's writes (read() into a watched buffer) show once it has completed.
    if (debugged && dbg!.watchpoints.size && !dbg!.stop) {
      const hit = dbg!.changedWatchpoint((a, n) => readMapped(m, a, n));
      if (hit !== undefined) dbg!.stop = { reason: DebugStopReason.Watch, task, signo: Sig.SIGTRAP, watch: hit };
    }
    if (stop.kind === StopKind.Fault && stop.fault) {
      if (!this.handleXfd(task, stop.fault)) this.raiseFault(task, stop.fault);
    }
    else if (stop.kind === StopKind.Unemulated) this.fatal = { kind: 'error', message: stop.message ?? 'instruction not emulated' };
  }
  if (this.fatal) return this.fatal;
  const e = init.exit!;
  return 'code' in e ? { kind: 'exit', code: e.code } : { kind: 'signal', signal: e.signal, reason: e.reason };
}

/** What the end of a quantum of `insns` instructions of `task` does to the clocks and timers. */
export function quantumEnd(this: Kernel, task: Task, insns: bigint): void {
  this.insns += insns;
  this.clockNs += insns * NS_PER_INSN;
  this.account_user_time(task, insns * NS_PER_INSN);
  this.runItimers(task, insns * NS_PER_INSN);
}

/**
 * Quanta back to back for a task that runs alone: the scheduler loop's JavaScript between quanta
 * (about 80 us each, README "Speed") is the main cost of plain guest code beyond unicorn's. The
 * engine runs up to `count` quanta of QUANTUM_ALONE without returning, the last `lastQuantum`
 * long; each ends at the block where a run of its own would end (insn-counter.c CW_MORE_QUANTA),
 * and each ended quantum is settled as the loop settles one (quantumEnd), so the guest sees what it
 * saw with one run per quantum. Why that holds: between two quanta of a lone task the loop only
 *  - settles the clocks and timers: done for each quantum, when it ends if nothing looked (below);
 *  - wakes sleepers whose wait the clock or a CPU clock satisfies: the plan ends with the quantum
 *    after which the earliest deadline (Wait.deadline) or CPU-clock expiry (Wait.cpuExpiry) is
 *    reached, as the loop's next pick would see it;
 *  - fires timers and RLIMIT_CPU: the plan ends where insnsToNextTimer ends a quantum (the last
 *    quantum's length), and the budget likewise;
 *  - wakes tasks, delivers signals, runs rseq and ptrace work that a system call of the task made
 *    due (a pipe write, a futex wake, a kill, clone): every system call, and RDTSC, first settles
 *    the quanta ended so far (aloneCatchUp: what it reads of the clocks, the CPU time and the
 *    budget is what one run per quantum gave) and makes the run end with the current quantum, so
 *    that everything after it happens at the same instruction as before;
 *  - an instruction that ends a run itself (a fault, a stop the machine asks for: POPF setting AC,
 *    a PKRU change, unicorn's invalid-instruction path) ends it as before, charging the current
 *    quantum as a run of its own was charged.
 * Nothing else reaches a lone task between quanta: other tasks do not run, and rseq's preemption
 * event comes only from another task running. Not planned (one quantum per run, as before): a GDB
 * stub attached (its interrupt latency, DEBUG_SLICE_ITERATIONS), several tasks runnable (the
 * shared quantum), single steps, watchpoints and instruction breakpoints.
 */
export function aloneQuanta(this: Kernel, task: Task, remaining: bigint, toTimer: bigint | undefined): { count: number; lastQuantum: number } | undefined {
  const q = BigInt(QUANTUM_ALONE);
  const perQuantumNs = q * NS_PER_INSN;
  // The budget and the next timer: quanta of q until what is left of them is q or less.
  const cap = toTimer !== undefined && toTimer < remaining ? toTimer : remaining;
  let count = (cap + q - 1n) / q;
  let last = cap - (count - 1n) * q;
  // Sleepers: the quantum after which the loop's pick would wake the first of them.
  const quantaTo = (left: bigint): bigint => (left <= perQuantumNs ? 1n : (left + perQuantumNs - 1n) / perQuantumNs);
  for (const t of this.tasks) {
    if (t.state !== TaskState.Blocked || !t.wait) continue;
    const w = t.wait;
    let k: bigint | undefined;
    if (w.deadline !== undefined) k = quantaTo(w.deadline - this.clockNs);
    if (w.cpuExpiry) { const c = quantaTo(w.cpuExpiry.at - w.cpuExpiry.sample()); if (k === undefined || c < k) k = c; }
    if (k !== undefined && k < count) { count = k; last = q; }
  }
  if (count <= 1n) return undefined;
  return { count: Number(count), lastQuantum: Number(last) };
}

/**
 * From a system call or a clock read during a run of several quanta (aloneQuanta): settle the
 * quanta that ended so far, and end the run with the current one.
 */
export function aloneCatchUp(this: Kernel): void {
  const r = this.aloneRun;
  if (!r) return;
  const done = r.machine.quantaDone;
  while (r.settled < done) { r.settled++; this.quantumEnd(r.task, BigInt(QUANTUM_ALONE)); }
  r.machine.endAtQuantumEnd();
}

/** No breakpoints: the hooks a run without any keeps. */
const NO_BREAKPOINTS: ReadonlySet<bigint> = new Set();

/** Bytes at [addr, addr+len) if all mapped (a debugger's look, the guest's protections aside), else undefined. */
function readMapped(m: Machine, addr: bigint, len: number): Uint8Array | undefined {
  return m.isMapped(addr, addr + BigInt(len)) ? m.peek(addr, len) : undefined;
}

/** Round-robin by tid: the first runnable task after `last`. */
export function pick(this: Kernel, last: number): Task | undefined {
  // Retry the sleepers until no pipe moves: one's progress (a partial pipe write) may free another.
  let seen: number;
  do {
    seen = pipeActivity.changes;
    for (const t of this.tasks) if (t.state === TaskState.Blocked) this.tryWake(t);
  } while (pipeActivity.changes !== seen);
  const live = this.tasks.filter((t) => t.state === TaskState.Runnable).sort((a, b) => a.tid - b.tid);
  return live.find((t) => t.tid > last) ?? live[0];
}

export function tryWake(this: Kernel, t: Task): void {
  const r = t.wait?.retry?.();
  if (r !== undefined) this.wake(t, r);
  // A killable sleep (TASK_KILLABLE) ends early only for SIGKILL.
  else if (t.wait?.killable) { if (t.pending.some((x) => x.info.signo === Sig.SIGKILL)) this.wake(t, -BigInt(t.wait.restart ?? ERESTARTSYS)); }
  // signal_wake_up(): a deliverable signal, a group stop or a jobctl trap (ptrace_signal_wake_up) ends the sleep with the call's restart errno.
  else if (t.jobctlStopPending || (t.ptrace?.seized && (t.ptrace.interrupt || t.ptrace.trapNotify)) || this.signalPending(t)) this.wake(t, t.wait?.interrupted ? t.wait.interrupted() : -BigInt(t.wait?.restart ?? ERESTARTSYS));
}

export function wake(this: Kernel, t: Task, result: bigint): void {
  if (t.state !== TaskState.Blocked) return;
  t.state = TaskState.Runnable;
  t.wait = undefined;
  t.pendingRegs.set(X86Reg.RAX, result & MASK64);
  this.futexWaiters = this.futexWaiters.filter((w) => w !== t);
}

/** With nothing runnable: jump the virtual clock to the earliest deadline or ITIMER_REAL expiry and wake that sleeper (or fire that timer). */
/** Timer fires in a row with no task run before the scheduler gives up (see wakeOnTimeout). */
const IDLE_TIMER_FIRES_MAX = 10_000;

export function wakeOnTimeout(this: Kernel): boolean {
  let first: Task | undefined;
  for (const t of this.tasks) {
    if (t.state !== TaskState.Blocked || t.wait?.deadline === undefined) continue;
    if (!first || t.wait.deadline < first.wait!.deadline!) first = t;
  }
  // An ITIMER_REAL that is due first: the clock jumps to it and its signal may wake a sleeper.
  const timer = this.nextRealExpiry();
  if (timer !== undefined && (!first || timer < first.wait!.deadline!)) {
    // A periodic timer whose signal wakes nobody would move the clock for ever: after this many
    // fires with nothing run in between, the tasks are reported as deadlocked.
    if (++this.idleTimerFires > IDLE_TIMER_FIRES_MAX) return false;
    if (timer > this.clockNs) this.clockNs = timer;
    this.runItimers(undefined, 0n);
    return true;
  }
  if (!first) return false;
  if (first.wait!.deadline! > this.clockNs) this.clockNs = first.wait!.deadline!;
  this.wake(first, first.wait!.onTimeout ? first.wait!.onTimeout() : 0n);
  return true;
}

/** Put `task` on its process's engine: save the thread there, restore this one, switch extended state. */
export function switchTo(this: Kernel, task: Task): void {
  const p = task.proc;
  const m = p.machine;
  const prev = p.loaded;
  if (prev !== task) {
    if (prev && prev.state !== TaskState.Dead) prev.ctx = m.uc.contextSave(prev.ctx);
    if (task.ctx) m.uc.contextRestore(task.ctx);
    p.loaded = task;
  }
  if (task.pendingRegs.size) {
    m.uc.regWriteBatch([...task.pendingRegs.keys()], [...task.pendingRegs.values()]);
    task.pendingRegs.clear();
  }
  switchExtendedState(m, prev, task);
  // rseq_preempt(): another task ran since this one left user space.
  if (this.current !== task && this.current !== undefined && task.rseq) { task.rseqEvent = true; task.rseqNotify = true; }
  this.current = task;
}

/** Make `t` the task loaded on its process's engine (its registers in unicorn, its xstate on the machine). */
export function loadTask(this: Kernel, t: Task): Machine {
  const p = t.proc;
  const m = p.machine;
  if (p.loaded !== t) {
    if (p.loaded && p.loaded.state !== TaskState.Dead) p.loaded.ctx = m.uc.contextSave(p.loaded.ctx);
    if (t.ctx) m.uc.contextRestore(t.ctx);
    p.loaded = t;
  }
  if (t.pendingRegs.size) {
    m.uc.regWriteBatch([...t.pendingRegs.keys()], [...t.pendingRegs.values()]);
    t.pendingRegs.clear();
  }
  if (m.xs !== t.fpu) m.setXstate(t.fpu);
  return m;
}

export function block(this: Kernel, t: Task, w: Wait): 'stop' {
  t.state = TaskState.Blocked;
  t.wait = w;
  return 'stop';
}

export function defer(this: Kernel, t: Task, fn: () => bigint | undefined): 'stop' {
  t.deferred = fn;
  return 'stop';
}

/** The task a sched_*affinity call names: 0 is the caller (find_process_by_pid). */
export function schedTarget(this: Kernel, t: Task, pid: number): Task | undefined {
  if (pid === 0) return t;
  return this.tasks.find((x) => x.tid === pid && x.state !== TaskState.Dead);
}
