/**
 * The one place a context switch touches extended state (arch/x86/include/asm/fpu/sched.h
 * switch_fpu_prepare / switch_fpu_finish). The x87/SSE registers travel with the unicorn context
 * the scheduler saves; the model's per-thread XsaveContext becomes the machine's current one here.
 * Per-thread XCR0, XFD and PKRU rules (e.g. `pkru-in-thread-struct`) belong in this function.
 */
import type { Machine } from '../emulator/machine.js';
import type { XsaveContext } from '../emulator/xsave.js';

export interface FpuOwner {
  /** The thread's extended state (struct fpu's fpstate, kept live as a register file). */
  fpu: XsaveContext;
}

/** Called by the scheduler for every switch, after the incoming thread's unicorn context is restored. */
export function switchExtendedState(machine: Machine, _prev: FpuOwner | undefined, next: FpuOwner): void {
  if (machine.xs !== next.fpu) machine.setXstate(next.fpu);
}
