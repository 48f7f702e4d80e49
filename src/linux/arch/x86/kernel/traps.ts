/**
 * Exceptions of user code (arch/x86/kernel/traps.c, Linux 6.18): the fault's signal
 * (force_sig_fault) and the XFD #NM path (handle_xfd_event).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import type { GuestFault } from '../../../../../emulator/machine.js';
import { X86_TRAP_MF, fpu__exception_code, xfd_enable_feature } from '../../../../../kernel-model/fpstate.js';
import type { Kernel } from '../../../kernel.js';
import { Task } from '../../../sched.js';

/** X86_TRAP_DB (asm/trapnr.h): the debug exception of a single step. */
export const TRAP_DB = 1;
/** X86_TRAP_NM (arch/x86/include/asm/trapnr.h): device not available, XFD's exception. */
const TRAP_NM = 7;

/**
 * An XFD #NM (traps.c handle_xfd_event): with the process's permission, xfd_enable_feature()
 * gives the task a larger fpstate and the instruction runs again (RIP did not move); without it
 * the caller raises the fault's SIGILL (ILL_ILLOPC). Returns true when handled.
 */
export function handleXfd(this: Kernel, t: Task, f: GuestFault): boolean {
  const xs = t.fpu;
  if (f.trapno !== TRAP_NM || !xs.xfdErr) return false;
  const err = xs.xfdErr;
  xs.xfdErr = 0; // the handler reads and clears IA32_XFD_ERR
  return xfd_enable_feature(xs, t.kfpu, err);
}

export function raiseFault(this: Kernel, t: Task, f: GuestFault): void {
  t.origRax = -1n; // an exception entry, not a system call
  t.proc.machine.syncIn(true);
  let code: number = f.code;
  if (f.trapno === X86_TRAP_MF) {
    // math_error (arch/x86/kernel/traps.c): si_code from the saved FSW and FCW; none for a spurious #MF.
    code = fpu__exception_code(t.fpu, X86_TRAP_MF);
    if (code === 0) return;
  }
  this.sendToThread(t, { signo: f.signal, code, addr: f.addr, trapno: f.trapno, err: f.err ?? 0, reason: f.reason, ...(f.pkey !== undefined ? { pkey: f.pkey } : {}) }, true);
}
