/**
 * Exceptions of user code (arch/x86/kernel/traps.c, Linux 6.18): the fault's signal
 * (force_sig_fault) and the XFD #NM path (handle_xfd_event).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { type GuestFault, PfAccess } from '../../../../../emulator/machine.js';
import { X86_TRAP_MF, fpu__exception_code, xfd_enable_feature } from '../../../../../kernel-model/fpstate.js';
import type { Kernel } from '../../../kernel.js';
import { Task } from '../../../sched.js';
import { TASK_SIZE_MAX, TRAP_TRACE } from '../../../ptrace.js';
import { DR_STEP } from './hw_breakpoint.js';

/** X86_TRAP_DB (asm/trapnr.h): the debug exception of a single step. */
export const TRAP_DB = 1;
/** X86_TRAP_NM (arch/x86/include/asm/trapnr.h): device not available, XFD's exception. */
const TRAP_NM = 7;
/** X86_TRAP_PF (asm/trapnr.h). */
const TRAP_PF = 14;
/** The page-fault error code bits (arch/x86/include/asm/trap_pf.h, SDM Vol. 3A 4.7). */
export enum X86Pf { PROT = 1 << 0, WRITE = 1 << 1, USER = 1 << 2, RSVD = 1 << 3, INSTR = 1 << 4, PK = 1 << 5 }

/**
 * The error code of a user page fault as set_signal_archinfo (arch/x86/mm/fault.c, 6.18) leaves it
 * in thread.error_code: the CPU's bits (W for a write, I for an instruction fetch, EFER.NXE being
 * set; PK for a key's denial; P for a present page) with X86_PF_USER, and X86_PF_PROT for a kernel
 * address (so the kernel's page tables do not show). P: Linux's PROT_NONE pages are not present;
 * named assumption `pte-present-when-accessible`: a page of an accessible mapping counts as present
 * (Linux maps it at the first touch, so a write to a read-only page never read has P clear there).
 */
export function pageFaultErrorCode(t: Task, f: GuestFault): number {
  let code = X86Pf.USER;
  if (f.access === PfAccess.Write) code |= X86Pf.WRITE;
  if (f.access === PfAccess.Fetch) code |= X86Pf.INSTR;
  if (f.pkey !== undefined) code |= X86Pf.PK | X86Pf.PROT;
  const r = t.proc.machine.regionAt(f.addr);
  // A file page past the end of the file is never present (filemap_fault fails it).
  if (r && (r.prot & 7) !== 0 && !r.file?.beyondEof) code |= X86Pf.PROT;
  if (f.addr >= TASK_SIZE_MAX) code |= X86Pf.PROT;
  return code;
}

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
  // do_user_addr_fault: a fault in the vsyscall page goes to emulate_vsyscall first.
  if (this.emulate_vsyscall(t, f)) return;
  t.origRax = -1n; // an exception entry, not a system call
  t.proc.machine.syncIn(true);
  let code: number = f.code;
  // exc_debug_user: virtual_dr6 is DR_STEP for the program's own single-step trap, 0 for ICEBP.
  if (f.trapno === TRAP_DB) t.debugRegs.virtualDr6 = f.code === TRAP_TRACE ? DR_STEP : 0n;
  if (f.trapno === X86_TRAP_MF) {
    // math_error (arch/x86/kernel/traps.c): si_code from the saved FSW and FCW; none for a spurious #MF.
    code = fpu__exception_code(t.fpu, X86_TRAP_MF);
    if (code === 0) return;
  }
  // do_trap / set_signal_archinfo / math_error: the thread's trap_nr and error_code (and cr2 for #PF), read by the signal frame.
  t.trapNr = f.trapno;
  t.errorCode = f.trapno === TRAP_PF ? pageFaultErrorCode(t, f) : 0;
  if (f.trapno === TRAP_PF) t.cr2 = f.addr;
  this.sendToThread(t, { signo: f.signal, code, addr: f.addr, trapno: f.trapno, reason: f.reason, ...(f.pkey !== undefined ? { pkey: f.pkey } : {}) }, true);
}
