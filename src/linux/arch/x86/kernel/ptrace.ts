/**
 * The x86 side of ptrace (arch/x86/kernel/ptrace.c, Linux 6.18): putreg's checks of a
 * user_regs_struct.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno } from '../../../abi.js';
import type { Kernel } from '../../../kernel.js';
import { PTRACE_FLAG_MASK, TASK_SIZE_MAX } from '../../../ptrace.js';
import { neg, Task } from '../../../sched.js';
import { decodeUserRegs, writeUserRegs } from '../../../user-regs.js';

/** putreg() for each word of a user_regs_struct: selectors must be user ones, bases below TASK_SIZE_MAX (-EIO). */
export function setUserRegs(this: Kernel, c: Task, b: Uint8Array): bigint {
  const regs = decodeUserRegs(b);
  if (regs.fs_base >= TASK_SIZE_MAX || regs.gs_base >= TASK_SIZE_MAX) return neg(Errno.EIO);
  for (const sel of [regs.cs, regs.ss]) if ((sel & 3n) !== 3n) return neg(Errno.EIO);
  writeUserRegs(this.loadTask(c).uc, regs, PTRACE_FLAG_MASK);
  c.origRax = regs.orig_rax;
  return 0n;
}
